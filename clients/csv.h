#pragma once
// CSV files as spreadsheets export them (RFC 4180): comma-separated, fields optionally in double
// quotes ("" inside quotes is one quote), CRLF or LF line ends, a header line first. The text is
// UTF-8 (a byte-order mark, which Excel adds, is dropped), or GBK/GB18030 — what Excel on Chinese
// Windows saves as "CSV" — or UTF-16 with its mark, both converted to UTF-8 on reading. Used by
// `lovebank import`, `lovebank rules load`, lovebankd's Programme.Import and the demo.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lovebank::csv {

struct Row {
  std::size_t line = 0;  // 1-based line number in the file (the header is line 1)
  std::string text;      // the row as it appears in the file, without its line end
  std::vector<std::string> fields;
};

struct Table {
  std::string encoding;  // what the file was: "UTF-8", "GB18030" or "UTF-16"
  std::vector<std::string> header;
  std::vector<Row> rows;  // blank lines skipped
};

// Errors: NotFound (cannot open), InvalidArgument (an unterminated quote, with its line; not
// text in any of the encodings above).
absl::StatusOr<Table> Read(const std::string& path);
// The same from the file's bytes already in memory.
absl::StatusOr<Table> Parse(const std::string& bytes);

// The bytes as UTF-8 text, and in *encoding what they were: valid UTF-8 is taken as it is (a
// GBK file with Chinese in it is practically never valid UTF-8), a UTF-16 byte-order mark means
// UTF-16, anything else must be GB18030. Errors: InvalidArgument (none of them; NUL bytes).
absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string* encoding);

// One cell of a CSV file lovebank writes: quoted when it holds a comma, a quote or a line break
// (RFC 4180), and neutralised when a spreadsheet would run it as a formula: a cell that begins
// with '=', '+', '-', '@', a tab or a carriage return gets a leading apostrophe (OWASP "CSV
// injection"), unless the whole cell is a plain decimal number such as "-30.00". Every cell of
// every CSV the CLI writes goes through here: a team named =HYPERLINK(...) stays text.
std::string Field(const std::string& text);

}  // namespace lovebank::csv
