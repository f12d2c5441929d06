#include "clients/csv.h"

#include <iconv.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"

namespace lovebank::csv {
namespace {

// `bytes` converted from `from` to UTF-8 by glibc's iconv; std::nullopt when they are not text in
// that encoding (an invalid or incomplete sequence).
std::optional<std::string> Convert(std::string_view bytes, const char* from) {
  iconv_t converter = iconv_open("UTF-8", from);
  if (converter == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  absl::Cleanup close = [converter] { iconv_close(converter); };
  std::string out(bytes.size() * 2 + 16, '\0');  // GB18030 -> UTF-8 grows by at most 3/2
  char* in_next = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  char* out_next = out.data();
  std::size_t out_left = out.size();
  while (in_left > 0) {
    if (iconv(converter, &in_next, &in_left, &out_next, &out_left) !=
        static_cast<std::size_t>(-1)) {
      continue;
    }
    if (errno != E2BIG) return std::nullopt;  // EILSEQ, EINVAL: not this encoding
    const std::size_t used = out.size() - out_left;
    out.resize(out.size() * 2);
    out_next = out.data() + used;
    out_left = out.size() - used;
  }
  out.resize(out.size() - out_left);
  return out;
}

}  // namespace

absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string* encoding) {
  std::optional<std::string> text;
  if (bytes.substr(0, 2) == "\xFF\xFE" || bytes.substr(0, 2) == "\xFE\xFF") {
    *encoding = "UTF-16";  // Excel's "Unicode text"; iconv reads the byte order from the mark
    text = Convert(bytes, "UTF-16");
  } else if (IsValidUtf8(bytes)) {
    *encoding = "UTF-8";
    text = std::string(bytes);
  } else {
    *encoding = "GB18030";  // contains GBK and GB2312
    text = Convert(bytes, "GB18030");
  }
  if (!text) {
    return absl::InvalidArgumentError(
        "the file is not text in UTF-8 or GBK/GB18030 (save it from Excel as \"CSV UTF-8\")");
  }
  if (text->find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the file holds NUL bytes: not a CSV text file");
  }
  return *std::move(text);
}

absl::StatusOr<Table> Parse(const std::string& bytes) {
  std::string encoding;
  auto decoded = ToUtf8(bytes, &encoding);
  if (!decoded.ok()) return decoded.status();
  std::string_view text = *decoded;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Table table;
  table.encoding = encoding;
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
