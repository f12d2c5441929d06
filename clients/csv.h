#pragma once
// CSV files as spreadsheets export them (RFC 4180): UTF-8, comma-separated, fields optionally in
// double quotes ("" inside quotes is one quote), CRLF or LF line ends, a header line first. A
// UTF-8 byte-order mark (Excel adds one) is dropped. Used by `lovebank import` and the demo.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lovebank::csv {

struct Row {
  std::size_t line = 0;  // 1-based line number in the file (the header is line 1)
  std::string text;      // the row as it appears in the file, without its line end
  std::vector<std::string> fields;
};

struct Table {
  std::vector<std::string> header;
  std::vector<Row> rows;  // blank lines skipped
};

// Errors: NotFound (cannot open), InvalidArgument (an unterminated quote, with its line).
absl::StatusOr<Table> Read(const std::string& path);
// The same from text already in memory.
absl::StatusOr<Table> Parse(const std::string& text);

// One cell of a CSV file lovebank writes: quoted when it holds a comma, a quote or a line break
// (RFC 4180), and neutralised when a spreadsheet would run it as a formula: a cell that begins
// with '=', '+', '-', '@', a tab or a carriage return gets a leading apostrophe (OWASP "CSV
// injection"), unless the whole cell is a plain decimal number such as "-30.00". Every cell of
// every CSV the CLI writes goes through here: a team named =HYPERLINK(...) stays text.
std::string Field(const std::string& text);

}  // namespace lovebank::csv
