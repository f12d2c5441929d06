#include "ledger/base/text.h"

#include "gtest/gtest.h"

namespace lovebank {
namespace {

TEST(Identifier, AccountIdsAreOneToSixtyFourSafeBytes) {
  EXPECT_TRUE(IsValidAccountId("V00001"));
  EXPECT_TRUE(IsValidAccountId("store:main@town-1_a.b"));
  EXPECT_TRUE(IsValidAccountId(std::string(64, 'a')));
  EXPECT_FALSE(IsValidAccountId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidAccountId(""));
  EXPECT_FALSE(IsValidAccountId("韦蕊"));
  EXPECT_FALSE(IsValidAccountId("a b"));
  EXPECT_FALSE(IsValidAccountId("a/b"));
  EXPECT_FALSE(IsValidAccountId(std::string("a\0b", 3)));
  EXPECT_TRUE(IsValidRequestId(std::string(128, 'r')));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'r')));
}

// Every byte value, alone and between two valid ones: exactly [A-Za-z0-9._:@-] is allowed.
TEST(Identifier, EveryByteValueIsJudgedByTheCharacterSet) {
  const std::string allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-";
  for (int c = 0; c < 256; ++c) {
    const std::string byte(1, static_cast<char>(c));
    const bool expected = allowed.find(static_cast<char>(c)) != std::string::npos;
    EXPECT_EQ(IsValidAccountId(byte), expected) << c;
    EXPECT_EQ(IsValidAccountId("m" + byte + "1"), expected) << c;
  }
}

TEST(AssetCode, UpperCaseStartingWithALetter) {
  EXPECT_TRUE(IsValidAssetCode("HOURS"));
  EXPECT_TRUE(IsValidAssetCode("SKU_001"));
  EXPECT_FALSE(IsValidAssetCode("hours"));
  EXPECT_FALSE(IsValidAssetCode("1HOURS"));
  EXPECT_FALSE(IsValidAssetCode("_X"));
  EXPECT_FALSE(IsValidAssetCode(""));
  EXPECT_FALSE(IsValidAssetCode(std::string(17, 'A')));
}

TEST(Utf8, AcceptsChineseRefusesMalformed) {
  EXPECT_TRUE(IsValidUtf8("河头店镇爱心超市"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));   // U+1F600
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE6\xB2"));          // truncated 河
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

TEST(Text, NamesRefuseControlsMemosAllowLineBreaks) {
  EXPECT_TRUE(IsValidText("吕姣菁", false));
  EXPECT_FALSE(IsValidText("a\nb", false));
  EXPECT_TRUE(IsValidText("重阳节\n敬老活动", true));
  EXPECT_FALSE(IsValidText(std::string("a\0b", 3), true));
  EXPECT_FALSE(IsValidText("\x1B[31m", true));  // terminal escape
  EXPECT_FALSE(IsValidText("\xC2\x85", true));  // C1 control NEL
  EXPECT_FALSE(IsValidText("\xE6\xB2", true));
}

}  // namespace
}  // namespace lovebank
