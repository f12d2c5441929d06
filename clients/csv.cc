#include "clients/csv.h"

#include <fstream>
#include <sstream>

#include "ledger/base/strings.h"

namespace lovebank::csv {

absl::StatusOr<Table> Parse(const std::string& input) {
  std::string_view text = input;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Table table;
  std::size_t line = 1;
  std::size_t i = 0;
  bool first = true;
  while (i < text.size()) {
    Row row;
    row.line = line;
    const std::size_t start = i;
    std::string field;
    bool quoted = false;
    bool end_of_row = false;
    while (!end_of_row) {
      if (i == text.size()) {
        if (quoted)
          return absl::InvalidArgumentError(Cat("line ", row.line, ": unterminated quote"));
        end_of_row = true;
        break;
      }
      const char c = text[i++];
      if (quoted) {
        if (c == '"' && i < text.size() && text[i] == '"') {
          field.push_back('"');
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else {
          if (c == '\n') ++line;
          field.push_back(c);
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        row.fields.push_back(std::move(field));
        field.clear();
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && i < text.size() && text[i] == '\n') ++i;
        end_of_row = true;
      } else {
        field.push_back(c);
      }
    }
    row.fields.push_back(std::move(field));
    std::size_t end = i;
    while (end > start && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
    row.text = std::string(text.substr(start, end - start));
    ++line;
    if (row.text.empty()) continue;
    if (first) {
      table.header = std::move(row.fields);
      first = false;
    } else {
      table.rows.push_back(std::move(row));
    }
  }
  return table;
}

absl::StatusOr<Table> Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(Cat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str());
}

namespace {

// A plain decimal number ("-30.00", "12"): an optional minus, digits, optionally a point and
// digits.
bool IsPlainDecimal(const std::string& text) {
  std::size_t i = text.size() > 1 && text[0] == '-' ? 1 : 0;
  const std::size_t digits_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == digits_start) return false;
  if (i == text.size()) return true;
  if (text[i] != '.') return false;
  const std::size_t fraction_start = ++i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  return i == text.size() && i > fraction_start;
}

}  // namespace

std::string Field(const std::string& text) {
  std::string cell = text;
  if (!cell.empty() && std::string_view("=+-@\t\r").find(cell.front()) != std::string_view::npos &&
      !IsPlainDecimal(cell)) {
    cell.insert(cell.begin(), '\'');
  }
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace lovebank::csv
