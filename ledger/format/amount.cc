#include "ledger/format/amount.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>

#include "ledger/base/check.h"

namespace lovebank {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Full-width digits U+FF10..U+FF19 are EF BC 90..99 in UTF-8: the usual way a Chinese input
// method produces "１０". Named separately so a terminal can say exactly what went wrong.
bool ContainsFullWidthDigit(std::string_view text) {
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == 0xEF &&
        static_cast<unsigned char>(text[i + 1]) == 0xBC &&
        static_cast<unsigned char>(text[i + 2]) >= 0x90 &&
        static_cast<unsigned char>(text[i + 2]) <= 0x99) {
      return true;
    }
  }
  return false;
}

Int128 MakeAbsoluteMax() {
  Int128 value = 1;
  for (int i = 0; i < kMinorDigitsMax; ++i) value *= 10;
  return value - 1;
}

}  // namespace

const Int128& MinorAbsoluteMax() {
  static const Int128 value = MakeAbsoluteMax();
  return value;
}

std::optional<Amount> Amount::Plus(const Amount& other) const {
  try {
    return Amount(minor_ + other.minor_);
  } catch (const std::overflow_error&) {
    return std::nullopt;
  }
}

std::optional<Amount> Amount::Minus(const Amount& other) const {
  try {
    return Amount(minor_ - other.minor_);
  } catch (const std::overflow_error&) {
    return std::nullopt;
  }
}

Reason CheckAmountGrammar(std::string_view text) {
  // The usual amount, settled in one pass: digits without a leading zero (or "0"), then
  // optionally '.' and at least one digit. Anything else takes the checks below, which name
  // what is wrong; they accept exactly these strings too.
  {
    std::size_t i = 0;
    while (i < text.size() && IsDigit(text[i])) ++i;
    const std::size_t integer_digits = i;
    if (integer_digits > 0 && (integer_digits == 1 || text.front() != '0')) {
      if (i == text.size()) return Reason::kOk;
      if (text[i] == '.') {
        const std::size_t fraction_begin = ++i;
        while (i < text.size() && IsDigit(text[i])) ++i;
        if (i == text.size() && i > fraction_begin) return Reason::kOk;
      }
    }
  }
  if (text.empty()) return Reason::kAmountEmpty;
  if (IsSpace(text.front()) || IsSpace(text.back())) return Reason::kAmountWhitespace;
  if (text.front() == '+' || text.front() == '-') return Reason::kAmountSign;
  if (text.find_first_of("eE") != std::string_view::npos) return Reason::kAmountExponent;
  if (ContainsFullWidthDigit(text)) return Reason::kAmountNonAsciiDigit;
  const std::size_t dot = text.find('.');
  const std::string_view integer = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  for (char c : integer) {
    if (!IsDigit(c)) return Reason::kAmountInvalidCharacter;
  }
  for (char c : fraction) {
    if (!IsDigit(c)) return Reason::kAmountInvalidCharacter;  // includes a second '.'
  }
  if (integer.empty()) return Reason::kAmountMissingIntegerDigits;
  if (dot != std::string_view::npos && fraction.empty()) {
    return Reason::kAmountMissingFractionDigits;
  }
  if (integer.size() > 1 && integer.front() == '0') return Reason::kAmountLeadingZero;
  return Reason::kOk;
}

AmountParse ParseAmount(std::string_view text, std::uint32_t scale, const Int128& maximum_minor) {
  LOVEBANK_CHECK(scale <= kScaleMax);
  LOVEBANK_DCHECK(maximum_minor >= 0 && maximum_minor <= MinorAbsoluteMax());
  AmountParse result;
  result.reason = CheckAmountGrammar(text);
  if (!result.ok()) return result;
  const std::size_t dot = text.find('.');
  const std::string_view integer = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (fraction.size() > scale) {
    result.reason = Reason::kAmountTooManyDecimals;
    return result;
  }
  // integer digits + scale bounds the digits of the minor value; past 36 it is above any
  // maximum, and stopping here keeps the accumulation below from ever overflowing.
  if (integer.size() + scale > static_cast<std::size_t>(kMinorDigitsMax)) {
    result.reason = Reason::kAmountAboveMaximum;
    return result;
  }
  Int128 minor = 0;
  for (char c : integer) minor = minor * 10 + (c - '0');
  for (char c : fraction) minor = minor * 10 + (c - '0');
  for (std::size_t i = fraction.size(); i < scale; ++i) minor *= 10;
  if (minor > maximum_minor) {
    result.reason = Reason::kAmountAboveMaximum;
    return result;
  }
  result.amount = Amount::FromMinor(std::move(minor));
  return result;
}

namespace {

// Writes the decimal digits of `magnitude` backwards ending at `end`; returns where they begin.
// Most amounts fit 64 bits, whose division is several times cheaper than the 128-bit one.
char* WriteDigits(RawUint128 magnitude, char* end) {
  char* begin = end;
  while (magnitude > std::numeric_limits<std::uint64_t>::max()) {
    *--begin = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  }
  auto small = static_cast<std::uint64_t>(magnitude);
  do {
    *--begin = static_cast<char>('0' + static_cast<int>(small % 10));
    small /= 10;
  } while (small != 0);
  return begin;
}

RawUint128 Magnitude(const Int128& minor) {
  // Our own digits rather than Int128::str(): faster on the hot path, and Boost's str() trips a
  // false GCC 12 -Wrestrict at -O3. |minor| <= 10^36 - 1 fits __int128.
  LOVEBANK_DCHECK(minor <= MinorAbsoluteMax() && minor >= -MinorAbsoluteMax());
  const auto value = static_cast<RawInt128>(minor);
  return value < 0 ? static_cast<RawUint128>(-value) : static_cast<RawUint128>(value);
}

}  // namespace

std::string FormatAmount(const Amount& amount, std::uint32_t scale) {
  LOVEBANK_CHECK(scale <= kScaleMax);
  // Sign, up to 36 digits, the point and leading zeros up to the scale: well inside 96 bytes.
  char buffer[96];
  char* const end = buffer + sizeof(buffer);
  char* begin = WriteDigits(Magnitude(amount.minor()), end);
  // At least one integer digit: 5 at scale 2 is "0.05".
  while (end - begin < static_cast<std::ptrdiff_t>(scale) + 1) *--begin = '0';
  if (scale > 0) {
    // Shift the integer digits left by one to open the place of the point.
    char* const point = end - scale;
    std::copy(begin, point, begin - 1);
    --begin;
    *(point - 1) = '.';
  }
  if (amount.is_negative()) *--begin = '-';
  return std::string(begin, end);
}

std::string MinorToString(const Int128& minor) {
  char buffer[48];
  char* const end = buffer + sizeof(buffer);
  char* begin = WriteDigits(Magnitude(minor), end);
  if (minor < 0) *--begin = '-';
  return std::string(begin, end);
}

std::optional<Int128> MinorFromString(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  const std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.size() > static_cast<std::size_t>(kMinorDigitsMax)) {
    return std::nullopt;
  }
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  if (negative && digits == "0") return std::nullopt;
  Int128 value = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? Int128(-value) : value;
}

void AppendMinorFixed16(std::string* out, const Int128& minor) {
  LOVEBANK_DCHECK(minor <= MinorAbsoluteMax() && minor >= -MinorAbsoluteMax());
  const auto value = static_cast<RawInt128>(minor);
  const auto bits = static_cast<RawUint128>(value);
  for (int shift = 120; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(static_cast<unsigned char>(bits >> shift)));
  }
}

Int128 DecodeMinorFixed16(const char* sixteen_bytes) {
  RawUint128 bits = 0;
  for (int i = 0; i < 16; ++i) {
    bits = (bits << 8) | static_cast<unsigned char>(sixteen_bytes[i]);
  }
  return Int128(static_cast<RawInt128>(bits));
}

std::optional<Int128> PointsToHours(const Int128& points_minor, const Int128& points_per_hour_minor,
                                    std::uint32_t hours_scale, Rounding rounding) {
  using boost::multiprecision::cpp_int;
  LOVEBANK_CHECK(points_minor >= 0 && points_per_hour_minor > 0 && hours_scale <= kScaleMax);
  const cpp_int numerator =
      cpp_int(points_minor) * boost::multiprecision::pow(cpp_int(10), hours_scale);
  const cpp_int denominator(points_per_hour_minor);
  cpp_int quotient = numerator / denominator;
  if (rounding == Rounding::kUp && quotient * denominator != numerator) ++quotient;
  if (quotient > cpp_int(MinorAbsoluteMax())) return std::nullopt;
  return quotient.convert_to<Int128>();
}

}  // namespace lovebank
