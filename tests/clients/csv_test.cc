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

TEST(Csv, AMissingFileIsNotFound) {
  EXPECT_EQ(Read("/nonexistent/file.csv").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lovebank::csv
