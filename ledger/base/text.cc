#include "ledger/base/text.h"

#include <array>
#include <cstdint>
#include <string>

namespace lovebank {

std::string ReleaseRequestId(std::uint64_t hold_seq) {
  return std::string(kEngineRequestPrefix) + "release:" + std::to_string(hold_seq);
}

std::string ExpireRequestId(std::uint64_t pending_seq) {
  return std::string(kEngineRequestPrefix) + "expire:" + std::to_string(pending_seq);
}

std::string ServiceExpireRequestId(std::uint64_t service_seq) {
  return std::string(kEngineRequestPrefix) + "service:" + std::to_string(service_seq);
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kTagBytesMax) return false;
  for (char c : tag) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '.' || c == '_' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

bool IsValidRuleCode(std::string_view code) {
  if (code.empty() || code.size() > kRuleCodeBytesMax || code[0] < 'A' || code[0] > 'Z') {
    return false;
  }
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

namespace {

// [A-Za-z0-9._:@-] as a table: one load per byte on the hot paths (every command's ids).
constexpr std::array<bool, 256> kIdentifierBytes = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[static_cast<std::size_t>(c)] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                         (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                                         c == ':' || c == '@' || c == '-';
  }
  return table;
}();

}  // namespace

bool IsValidIdentifier(std::string_view text, std::size_t max_bytes) {
  if (text.empty() || text.size() > max_bytes) return false;
  bool ok = true;
  for (char c : text) ok &= kIdentifierBytes[static_cast<unsigned char>(c)];
  return ok;
}

bool IsValidAssetCode(std::string_view code) {
  if (code.empty() || code.size() > kAssetCodeBytesMax) return false;
  if (code.front() < 'A' || code.front() > 'Z') return false;
  for (char c : code) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool IsValidDate(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return false;
  int parts[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8};
  const std::size_t lengths[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (std::size_t i = starts[p]; i < starts[p] + lengths[p]; ++i) {
      if (date[i] < '0' || date[i] > '9') return false;
      parts[p] = parts[p] * 10 + (date[i] - '0');
    }
  }
  const int year = parts[0], month = parts[1], day = parts[2];
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

bool IsValidMonth(std::string_view month) {
  return month.size() == 7 && IsValidDate(std::string(month) + "-01");
}

namespace {

// Decodes one code point at text[i]; returns its length, or 0 when malformed.
std::size_t DecodeUtf8(std::string_view text, std::size_t i, std::uint32_t* code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  std::uint32_t value = 0;
  std::uint32_t minimum = 0;
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *code_point = value;
  return length;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  std::uint32_t code_point = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = DecodeUtf8(text, i, &code_point);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool IsValidText(std::string_view text, bool allow_line_breaks) {
  std::uint32_t code_point = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = DecodeUtf8(text, i, &code_point);
    if (length == 0) return false;
    const bool control =
        code_point < 0x20 || code_point == 0x7F || (code_point >= 0x80 && code_point <= 0x9F);
    if (control && !(allow_line_breaks && (code_point == '\n' || code_point == '\t'))) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace lovebank
