#pragma once
// String concatenation for messages. Debian's Abseil is built with its own absl::string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW 0), so absl::StrCat does not take std::string_view; this
// takes strings, string views, C strings and integers.

#include <concepts>
#include <string>
#include <string_view>

namespace lovebank {

inline void AppendPiece(std::string* out, std::string_view piece) { out->append(piece); }
template <std::integral T>
void AppendPiece(std::string* out, T value) {
  out->append(std::to_string(value));
}

template <class... Pieces>
std::string Cat(const Pieces&... pieces) {
  std::string out;
  (AppendPiece(&out, pieces), ...);
  return out;
}

}  // namespace lovebank
