#pragma once
// CSV files as spreadsheets export them (RFC 4180): comma-separated (or tab-separated when the
// header line has tabs and no comma), fields optionally in double quotes ("" inside quotes is one
// quote), CRLF or LF line ends, a header line first. The text is
// UTF-8 (a byte-order mark, which Excel adds, is dropped), or GBK/GB18030 — what Excel on Chinese
// Windows saves as "CSV" — or UTF-16 with its mark, both converted to UTF-8 on reading. Used by
// `lovebank import`, `lovebank rules load`, lovebankd's Programme.Import and the demo.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lovebank::csv {

// A row of more fields is refused (no spreadsheet has them; it bounds what a file can cost).
inline constexpr std::size_t kFieldsMax = 256;

struct Row {
  std::size_t line = 0;  // 1-based line number in the file (the header is line 1)
  std::string text;      // the row as it appears in the file, without its line end
  std::vector<std::string> fields;
};

struct Table {
  std::string encoding;  // what the file was: "UTF-8", "GB18030" or "UTF-16"
  std::vector<std::string> header;
  std::vector<Row> rows;  // blank lines and lines of empty fields only (",,,") skipped
};

// Errors: NotFound (cannot open), InvalidArgument (an unterminated quote, with its line; not
// text in any of the encodings above).
absl::StatusOr<Table> Read(const std::string& path);
// The same from the file's bytes already in memory, in `encoding` (as ToUtf8 takes it).
absl::StatusOr<Table> Parse(const std::string& bytes, std::string_view encoding = "auto");

// The bytes as UTF-8 text, and in *encoding what they were. `given` "" or "auto": valid UTF-8 is
// taken as it is (a GBK file with Chinese in it is practically never valid UTF-8), a UTF-16
// byte-order mark means UTF-16, bytes that are mostly UTF-8 with a few invalid ones are refused
// naming the line (read as GB18030 they would decode into other characters without an error),
// anything else must be GB18030. Or named (case aside): "utf-8",
// "gbk", "gb2312" and "gb18030" (all read as GB18030, which contains the others), "utf-16".
// Errors: InvalidArgument (not text in that encoding; NUL bytes; an unknown name); Internal
// (glibc cannot convert: its gconv modules are missing).
absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string* encoding,
                                   std::string_view given = "auto");

// One cell of a CSV file lovebank writes: quoted when it holds a comma, a quote or a line break
// (RFC 4180), and neutralised when a spreadsheet would run it as a formula: a cell that begins
// with '=', '+', '-', '@', a tab or a carriage return gets a leading apostrophe (OWASP "CSV
// injection"), unless the whole cell is a plain decimal number such as "-30.00". Every cell of
// every CSV the CLI writes goes through here: a team named =HYPERLINK(...) stays text.
std::string Field(const std::string& text);

}  // namespace lovebank::csv
