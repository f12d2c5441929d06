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

// How much of a client's text a message quotes: a refusal of a 3,000-digit amount must not carry
// it whole (gRPC's metadata limit is 8 KB; a longer status turns into RESOURCE_EXHAUSTED).
inline constexpr std::size_t kExcerptBytesMax = 32;

// The longest prefix of `text` of at most `bytes_max` bytes that ends on a UTF-8 character
// boundary (a continuation byte never starts the cut-off rest).
inline std::string_view Utf8Prefix(std::string_view text, std::size_t bytes_max) {
  if (text.size() <= bytes_max) return text;
  std::size_t cut = bytes_max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

// `text` for a message: whole when at most kExcerptBytesMax bytes, else its first bytes (cut at
// a UTF-8 character boundary) and "… (N bytes)".
inline std::string Excerpt(std::string_view text) {
  if (text.size() <= kExcerptBytesMax) return std::string(text);
  return Cat(Utf8Prefix(text, kExcerptBytesMax), "… (", text.size(), " bytes)");
}

}  // namespace lovebank
