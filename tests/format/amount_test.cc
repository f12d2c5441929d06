// Amount parsing and formatting: every refusal named in issue #2, exactness, no wrap-around.

#include "ledger/format/amount.h"

#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace lovebank {
namespace {

Int128 Pow10(int n) {
  Int128 value = 1;
  for (int i = 0; i < n; ++i) value *= 10;
  return value;
}

struct ParseCase {
  const char* text;
  Reason reason;
  long long minor;  // expected when kOk
};

class ParseAmountTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseAmountTest, ScaleTwoMaximumOneMillion) {
  const ParseCase& c = GetParam();
  const AmountParse parsed = ParseAmount(c.text, 2, Int128(100000000));  // 1,000,000.00
  EXPECT_EQ(ReasonName(parsed.reason), ReasonName(c.reason)) << "input: '" << c.text << "'";
  if (c.reason == Reason::kOk) {
    EXPECT_EQ(parsed.amount.minor(), Int128(c.minor)) << c.text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseAmountTest,
    ::testing::Values(
        ParseCase{"0", Reason::kOk, 0}, ParseCase{"0.00", Reason::kOk, 0},
        ParseCase{"1", Reason::kOk, 100}, ParseCase{"1.5", Reason::kOk, 150},
        ParseCase{"1.50", Reason::kOk, 150}, ParseCase{"0.01", Reason::kOk, 1},
        ParseCase{"3000", Reason::kOk, 300000}, ParseCase{"1000000.00", Reason::kOk, 100000000},
        ParseCase{"", Reason::kAmountEmpty, 0}, ParseCase{" 1", Reason::kAmountWhitespace, 0},
        ParseCase{"1 ", Reason::kAmountWhitespace, 0},
        ParseCase{"1\n", Reason::kAmountWhitespace, 0},
        ParseCase{"\t1", Reason::kAmountWhitespace, 0}, ParseCase{"+1", Reason::kAmountSign, 0},
        ParseCase{"-1", Reason::kAmountSign, 0}, ParseCase{"-0", Reason::kAmountSign, 0},
        ParseCase{"1e3", Reason::kAmountExponent, 0}, ParseCase{"1E3", Reason::kAmountExponent, 0},
        ParseCase{"1.0e-2", Reason::kAmountExponent, 0},
        ParseCase{"\xEF\xBC\x91\xEF\xBC\x90", Reason::kAmountNonAsciiDigit, 0},  // "１０"
        ParseCase{"1\xEF\xBC\x90", Reason::kAmountNonAsciiDigit, 0},             // "1０"
        ParseCase{"十", Reason::kAmountInvalidCharacter, 0},
        ParseCase{"1,000", Reason::kAmountInvalidCharacter, 0},
        ParseCase{"1 000", Reason::kAmountInvalidCharacter, 0},
        ParseCase{"1.2.3", Reason::kAmountInvalidCharacter, 0},
        ParseCase{"abc", Reason::kAmountInvalidCharacter, 0},
        ParseCase{"0x10", Reason::kAmountInvalidCharacter, 0},
        ParseCase{"NaN", Reason::kAmountInvalidCharacter, 0},
        ParseCase{"1\0", Reason::kOk, 100},  // C string ends at the NUL: plain "1"
        ParseCase{".5", Reason::kAmountMissingIntegerDigits, 0},
        ParseCase{".", Reason::kAmountMissingIntegerDigits, 0},
        ParseCase{"1.", Reason::kAmountMissingFractionDigits, 0},
        ParseCase{"01", Reason::kAmountLeadingZero, 0},
        ParseCase{"00.5", Reason::kAmountLeadingZero, 0},
        ParseCase{"1.505", Reason::kAmountTooManyDecimals, 0},
        ParseCase{"1.500", Reason::kAmountTooManyDecimals, 0},
        ParseCase{"1000000.01", Reason::kAmountAboveMaximum, 0},
        ParseCase{"99999999999999999999999999999999999999999", Reason::kAmountAboveMaximum, 0}));

// Every string of up to five characters over the characters that matter: the grammar accepts
// exactly (0|[1-9][0-9]*)(\.[0-9]+)? — its one-pass fast path and its named checks agree.
TEST(ParseAmount, GrammarAcceptsExactlyTheDecimalForm) {
  const std::string alphabet = "019.-+e x";
  const std::regex decimal(R"((0|[1-9][0-9]*)(\.[0-9]+)?)");
  std::vector<std::string> strings = {""};
  for (std::size_t begin = 0, length = 0; length < 5; ++length) {
    const std::size_t end = strings.size();
    for (std::size_t i = begin; i < end; ++i) {
      for (char c : alphabet) strings.push_back(strings[i] + c);
    }
    begin = end;
  }
  ASSERT_GT(strings.size(), 60000u);
  for (const std::string& text : strings) {
    EXPECT_EQ(CheckAmountGrammar(text) == Reason::kOk, std::regex_match(text, decimal))
        << "\"" << text << "\"";
  }
}

TEST(ParseAmount, EmbeddedNulIsInvalid) {
  const std::string text("1\0", 2);
  EXPECT_EQ(ParseAmount(text, 2, Int128(1000)).reason, Reason::kAmountInvalidCharacter);
}

TEST(ParseAmount, ScaleZeroRefusesAnyDecimal) {
  EXPECT_EQ(ParseAmount("5", 0, Int128(10)).amount.minor(), Int128(5));
  EXPECT_EQ(ParseAmount("5.0", 0, Int128(10)).reason, Reason::kAmountTooManyDecimals);
}

TEST(ParseAmount, MaximumIsInclusiveAtEveryScale) {
  for (std::uint32_t scale = 0; scale <= kScaleMax; ++scale) {
    const Int128 maximum = Pow10(static_cast<int>(scale) + 3);  // 1000.<scale zeros>
    std::string at = "1000";
    std::string past = "1000";
    if (scale > 0) {
      at += "." + std::string(scale, '0');
      past += "." + std::string(scale - 1, '0') + "1";
    } else {
      past = "1001";
    }
    EXPECT_TRUE(ParseAmount(at, scale, maximum).ok()) << at;
    EXPECT_EQ(ParseAmount(past, scale, maximum).reason, Reason::kAmountAboveMaximum) << past;
  }
}

TEST(ParseAmount, LargestAcceptedMagnitudeIsExact) {
  // 36 nines at scale 0 is exactly the absolute maximum; one more digit is refused, not wrapped.
  const std::string nines(36, '9');
  const AmountParse parsed = ParseAmount(nines, 0, MinorAbsoluteMax());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.amount.minor(), MinorAbsoluteMax());
  EXPECT_EQ(FormatAmount(parsed.amount, 0), nines);
  EXPECT_EQ(ParseAmount(nines + "9", 0, MinorAbsoluteMax()).reason, Reason::kAmountAboveMaximum);
  EXPECT_EQ(ParseAmount("1" + std::string(18, '0'), 18, MinorAbsoluteMax()).reason,
            Reason::kAmountAboveMaximum);
}

TEST(FormatAmount, RoundTripsAndPadsDecimals) {
  EXPECT_EQ(FormatAmount(Amount::FromMinor(150), 2), "1.50");
  EXPECT_EQ(FormatAmount(Amount::FromMinor(5), 2), "0.05");
  EXPECT_EQ(FormatAmount(Amount::FromMinor(0), 2), "0.00");
  EXPECT_EQ(FormatAmount(Amount::FromMinor(-5), 2), "-0.05");
  EXPECT_EQ(FormatAmount(Amount::FromMinor(-300000), 2), "-3000.00");
  EXPECT_EQ(FormatAmount(Amount::FromMinor(7), 0), "7");
  EXPECT_EQ(FormatAmount(Amount::FromMinor(1), 18), "0.000000000000000001");
  for (long long minor : {0LL, 1LL, 99LL, 100LL, 123456789LL}) {
    const std::string text = FormatAmount(Amount::FromMinor(minor), 2);
    EXPECT_EQ(ParseAmount(text, 2, MinorAbsoluteMax()).amount.minor(), Int128(minor)) << text;
  }
}

TEST(FormatAmount, DigitsAcrossThe64BitBoundaryAreExact) {
  // The digits come from a 64-bit loop once the magnitude fits: check both sides of 2^64 and
  // the largest magnitude, against digits computed independently by repeated doubling.
  auto decimal_power_of_two = [](int exponent) {
    std::string digits = "1";  // least significant digit first
    for (int i = 0; i < exponent; ++i) {
      int carry = 0;
      for (char& digit : digits) {
        const int value = (digit - '0') * 2 + carry;
        digit = static_cast<char>('0' + value % 10);
        carry = value / 10;
      }
      if (carry != 0) digits.push_back(static_cast<char>('0' + carry));
    }
    return std::string(digits.rbegin(), digits.rend());
  };
  Int128 two_64 = 1;
  for (int i = 0; i < 64; ++i) two_64 *= 2;
  const std::string two_64_digits = decimal_power_of_two(64);  // 18446744073709551616
  EXPECT_EQ(MinorToString(two_64), two_64_digits);
  EXPECT_EQ(MinorToString(two_64 - 1), "18446744073709551615");
  EXPECT_EQ(MinorToString(two_64 + 1), "18446744073709551617");
  EXPECT_EQ(MinorToString(-two_64), "-" + two_64_digits);
  EXPECT_EQ(FormatAmount(Amount::FromMinor(two_64), 2), "184467440737095516.16");
  EXPECT_EQ(FormatAmount(Amount::FromMinor(-(two_64 - 1)), 18), "-18.446744073709551615");
  EXPECT_EQ(FormatAmount(Amount::FromMinor(MinorAbsoluteMax()), 18),
            std::string(18, '9') + "." + std::string(18, '9'));
  EXPECT_EQ(FormatAmount(Amount::FromMinor(-MinorAbsoluteMax()), 0), "-" + std::string(36, '9'));
  for (const Int128& minor : {two_64 - 1, two_64, two_64 + 1, -two_64, MinorAbsoluteMax()}) {
    EXPECT_EQ(MinorFromString(MinorToString(minor)), minor);
  }
}

TEST(Amount, ArithmeticOverflowIsAnErrorNotAWrap) {
  // checked_int128_t is signed-magnitude with range ±(2^128-1).
  Int128 half = 1;
  for (int i = 0; i < 127; ++i) half *= 2;
  const Int128 top = (half - 1) + half;  // 2^128 - 1, the largest magnitude
  const Amount big = Amount::FromMinor(top);
  EXPECT_FALSE(big.Plus(Amount::FromMinor(1)).has_value());
  EXPECT_FALSE(big.Negated().Minus(Amount::FromMinor(1)).has_value());
  ASSERT_TRUE(big.Minus(Amount::FromMinor(1)).has_value());
  EXPECT_EQ(big.Minus(Amount::FromMinor(1))->minor(), top - 1);
  EXPECT_EQ(Amount::FromMinor(2).Plus(Amount::FromMinor(3))->minor(), Int128(5));
}

TEST(MinorString, StrictRoundTrip) {
  for (const char* text :
       {"0", "1", "-1", "150", "-300000", "999999999999999999999999999999999999"}) {
    auto value = MinorFromString(text);
    ASSERT_TRUE(value.has_value()) << text;
    EXPECT_EQ(MinorToString(*value), text);
  }
  for (const char* text :
       {"", "-", "-0", "01", "+1", "1.0", " 1", "1000000000000000000000000000000000000"}) {
    EXPECT_FALSE(MinorFromString(text).has_value()) << text;
  }
}

TEST(MinorFixed16, RoundTripsAndSortsNegativesBeforePositives) {
  for (const Int128& value :
       {Int128(0), Int128(1), Int128(-1), MinorAbsoluteMax(), Int128(-MinorAbsoluteMax())}) {
    std::string bytes;
    AppendMinorFixed16(&bytes, value);
    ASSERT_EQ(bytes.size(), 16u);
    EXPECT_EQ(DecodeMinorFixed16(bytes.data()), value);
  }
  std::string minus_one;
  AppendMinorFixed16(&minus_one, Int128(-1));
  EXPECT_EQ(minus_one, std::string(16, '\xFF'));
}

}  // namespace
}  // namespace lovebank
