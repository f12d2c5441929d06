// clients/csv.h: the CSV reader of `lovebank import` and the demo.

#include "clients/csv.h"

#include "gtest/gtest.h"

namespace lovebank::csv {
namespace {

TEST(Csv, ReadsQuotedFieldsCrlfABomAndKeepsLineNumbersAndText) {
  auto table = Parse(
      "\xEF\xBB\xBF"
      "member_id,name,memo\r\n"
      "V1,韦蕊,\"大米, 5kg\"\r\n"
      "\r\n"
      "V2,\"说 \"\"你好\"\"\",\r\n"
      "V3,\"两\nlines\",x");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->header, (std::vector<std::string>{"member_id", "name", "memo"}));
  ASSERT_EQ(table->rows.size(), 3u);
  EXPECT_EQ(table->rows[0].fields, (std::vector<std::string>{"V1", "韦蕊", "大米, 5kg"}));
  EXPECT_EQ(table->rows[0].line, 2u);
  EXPECT_EQ(table->rows[0].text, "V1,韦蕊,\"大米, 5kg\"");
  EXPECT_EQ(table->rows[1].fields, (std::vector<std::string>{"V2", "说 \"你好\"", ""}));
  EXPECT_EQ(table->rows[1].line, 4u);  // the blank line 3 is skipped but counted
  EXPECT_EQ(table->rows[2].fields, (std::vector<std::string>{"V3", "两\nlines", "x"}));
}

TEST(Csv, AnUnterminatedQuoteIsAnErrorNamingItsLine) {
  auto table = Parse("a,b\n1,2\n3,\"oops\n");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(table.status().message().find("line 3"), std::string::npos) << table.status();
}

// What Excel on Chinese Windows saves as "CSV" is GBK; its "Unicode text" is UTF-16 with a mark.
// Both read as the same UTF-8 table a UTF-8 file gives; text in none of them is an error.
TEST(Csv, GbkAndUtf16FilesReadAsTheirUtf8Text) {
  auto utf8 = Parse("member_id,name\nV1,韦蕊\n");
  ASSERT_TRUE(utf8.ok()) << utf8.status();
  EXPECT_EQ(utf8->encoding, "UTF-8");
  auto gbk = Parse("member_id,name\nV1,\xCE\xA4\xC8\xEF\n");
  ASSERT_TRUE(gbk.ok()) << gbk.status();
  EXPECT_EQ(gbk->encoding, "GB18030");
  EXPECT_EQ(gbk->rows.at(0).fields, utf8->rows.at(0).fields);
  EXPECT_EQ(gbk->rows.at(0).text, "V1,韦蕊");
  const std::string utf16("\xFF\xFEm\0,\0n\0\n\0V\0,\0\xE6\x97\x4A\x85\n\0", 20);
  auto wide = Parse(utf16);
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_EQ(wide->encoding, "UTF-16");
  EXPECT_EQ(wide->header, (std::vector<std::string>{"m", "n"}));
  EXPECT_EQ(wide->rows.at(0).fields, (std::vector<std::string>{"V", "韦蕊"}));
  for (const std::string& bad : {std::string("a,b\n1,\xFF\n"), std::string("a,b\n1,\0\n", 8),
                                 std::string("a,b\n1,\xCE\n")}) {
    auto table = Parse(bad);
    ASSERT_FALSE(table.ok()) << bad;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// A UTF-8 file with a stray byte is refused naming its line: read as GB18030 it would decode
// into other characters without an error (V1,闊﹁晩), and its corrected version would be new rows.
// Named encodings are read as named; an unknown name and a missing converter are told apart.
TEST(Csv, AMostlyUtf8FileWithAStrayByteIsRefusedNamingTheLine) {
  auto stray = Parse("member_id,name\nV1,韦蕊\nV2,黄敏\nV3,Jos\xE9\n");
  ASSERT_FALSE(stray.ok());
  EXPECT_EQ(stray.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(stray.status().message().find("line 4"), std::string::npos) << stray.status();
  auto forced = Parse("member_id,name\nV1,\xCE\xA4\xC8\xEF\n", "GBK");
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(forced->rows.at(0).fields.at(1), "韦蕊");
  EXPECT_FALSE(Parse("member_id,name\nV1,\xCE\xA4\xC8\xEF\n", "utf-8").ok());
  auto unknown = Parse("a,b\n1,2\n", "latin-9");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("latin-9"), std::string::npos);
  // A GBK character cut off by the end of the file (iconv's EINVAL), and an odd UTF-16 length.
  EXPECT_FALSE(Parse("a,b\n1,\xCE").ok());
  EXPECT_FALSE(Parse(std::string("\xFF\xFEm\0,\0n\0\n", 9)).ok());
}

// What spreadsheets also write: tab-separated text (Excel's "Unicode text"), rows of empty cells
// (a cleared row), and — from nobody — a row of thousands of fields, which is refused.
TEST(Csv, TabsClearedRowsAndTooManyFields) {
  auto tabs = Parse("member_id\tname\nV1\t韦蕊, 南溪村\n");
  ASSERT_TRUE(tabs.ok()) << tabs.status();
  EXPECT_EQ(tabs->header, (std::vector<std::string>{"member_id", "name"}));
  EXPECT_EQ(tabs->rows.at(0).fields, (std::vector<std::string>{"V1", "韦蕊, 南溪村"}));
  auto cleared = Parse("a,b\n1,2\n,\n,,,\n3,4\n");
  ASSERT_TRUE(cleared.ok());
  ASSERT_EQ(cleared->rows.size(), 2u);
  EXPECT_EQ(cleared->rows[1].line, 5u);
  auto wide = Parse("a,b\n" + std::string(kFieldsMax, ',') + "\n");
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.status().message().find("line 2"), std::string::npos) << wide.status();
  EXPECT_TRUE(Parse("a,b\n" + std::string(kFieldsMax - 1, ',') + "x\n").ok());  // 256 fields
}

TEST(Csv, AMissingFileIsNotFound) {
  EXPECT_EQ(Read("/nonexistent/file.csv").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lovebank::csv
