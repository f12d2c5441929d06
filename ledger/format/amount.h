#pragma once
// Exact amounts: fixed-point integers in an asset's minor unit (DESIGN.md invariant 4).
//
// An amount of 1.50 HOURS at scale 2 is 150 minor units. Minor units are held in
// boost::multiprecision::checked_int128_t, whose every overflow throws instead of wrapping;
// this file turns those throws into explicit results. All magnitudes the ledger accepts are at
// most kMinorAbsoluteMax = 10^36 - 1, far inside both checked_int128_t (±(2^128-1)) and
// __int128 (2^127-1 ≈ 1.7·10^38), so the sum or difference of two accepted values never
// overflows either type; the checked type still guards every operation.

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/format/reason.h"

namespace lovebank {

using Int128 = boost::multiprecision::checked_int128_t;
// GCC's 128-bit integers, for fixed-width encodings and hashing; __extension__ keeps
// -Wpedantic quiet. Every accepted value (|v| <= 10^36 - 1) converts exactly.
__extension__ typedef __int128 RawInt128;
__extension__ typedef unsigned __int128 RawUint128;

// The largest scale (decimal places) an asset may have.
inline constexpr std::uint32_t kScaleMax = 18;
// The largest number of decimal digits in any accepted magnitude, and that magnitude.
inline constexpr int kMinorDigitsMax = 36;
const Int128& MinorAbsoluteMax();  // 10^36 - 1

// An exact quantity of one asset in minor units. A value type; thread-compatible.
// Signed: balances of ISSUER accounts and postings are negative; amounts in requests are not.
class Amount {
 public:
  constexpr Amount() = default;
  static Amount FromMinor(Int128 minor) { return Amount(std::move(minor)); }

  const Int128& minor() const { return minor_; }
  bool is_zero() const { return minor_ == 0; }
  bool is_negative() const { return minor_ < 0; }

  // Checked arithmetic: std::nullopt when the result overflows Int128 (never a wrap).
  std::optional<Amount> Plus(const Amount& other) const;
  std::optional<Amount> Minus(const Amount& other) const;
  Amount Negated() const { return Amount(-minor_); }

  friend bool operator==(const Amount& a, const Amount& b) { return a.minor_ == b.minor_; }
  friend bool operator<(const Amount& a, const Amount& b) { return a.minor_ < b.minor_; }
  friend bool operator<=(const Amount& a, const Amount& b) { return a.minor_ <= b.minor_; }
  friend bool operator>(const Amount& a, const Amount& b) { return a.minor_ > b.minor_; }

 private:
  explicit Amount(Int128 minor) : minor_(std::move(minor)) {}
  Int128 minor_ = 0;
};

// The outcome of parsing a decimal string: an amount, or the specific reason it was refused
// (one of the kAmount* reasons).
struct AmountParse {
  Reason reason = Reason::kOk;
  Amount amount;
  bool ok() const { return reason == Reason::kOk; }
};

// Parses a decimal string such as "1.50" into minor units at `scale` decimal places.
//
// Grammar (ASCII only): digits, optionally '.' and 1..scale digits. No sign, no white space, no
// exponent, no leading zero ("0.5" is fine, "00.5" is not), at least one digit on both sides of
// a '.', so "1." and ".5" are refused. Zero ("0", "0.00") parses; callers that need a positive
// amount refuse it themselves with kAmountZero.
//
// Returns kOk and the amount, or: kAmountEmpty, kAmountWhitespace (leading/trailing),
// kAmountSign, kAmountExponent, kAmountNonAsciiDigit (full-width "１"), kAmountInvalidCharacter,
// kAmountMissingIntegerDigits, kAmountMissingFractionDigits, kAmountLeadingZero,
// kAmountTooManyDecimals (more than `scale` decimals, even trailing zeros), kAmountAboveMaximum
// (more than `maximum_minor` minor units). Checked in that order.
// REQUIRES: scale <= kScaleMax; 0 <= maximum_minor <= MinorAbsoluteMax().
AmountParse ParseAmount(std::string_view text, std::uint32_t scale, const Int128& maximum_minor);

// The grammar part of ParseAmount, independent of any asset: every refusal above except
// kAmountTooManyDecimals and kAmountAboveMaximum. Used before the asset's scale is known.
Reason CheckAmountGrammar(std::string_view text);

// Formats minor units as a decimal string with exactly `scale` decimals: 150 at scale 2 ->
// "1.50", -5 -> "-0.05", 7 at scale 0 -> "7". The inverse of ParseAmount for non-negative values.
// REQUIRES: scale <= kScaleMax.
std::string FormatAmount(const Amount& amount, std::uint32_t scale);

// Minor units as a base-10 integer string: "-150", "0". Used inside stored records.
std::string MinorToString(const Int128& minor);

// Parses MinorToString's output strictly (optional '-', no leading zeros, no "-0", magnitude
// at most MinorAbsoluteMax()). std::nullopt on anything else.
std::optional<Int128> MinorFromString(std::string_view text);

// Converts POINTS to HOURS at an exchange ratio (docs/supermarket.md "Paying with hours"):
// `points_minor` (>= 0, in POINTS minor units) at `points_per_hour_minor` (> 0, POINTS minor
// units per whole hour) is points_minor / points_per_hour_minor hours, expressed in HOURS minor
// units at `hours_scale`, rounded up (a charge: the member pays at most one minor unit more
// than the exact value) or down (a return: at most one minor unit less). Exact arithmetic;
// std::nullopt when the result passes MinorAbsoluteMax().
enum class Rounding { kUp, kDown };
std::optional<Int128> PointsToHours(const Int128& points_minor, const Int128& points_per_hour_minor,
                                    std::uint32_t hours_scale, Rounding rounding);

// 16-byte big-endian two's complement encoding of a value within ±MinorAbsoluteMax().
void AppendMinorFixed16(std::string* out, const Int128& minor);
Int128 DecodeMinorFixed16(const char* sixteen_bytes);

}  // namespace lovebank
