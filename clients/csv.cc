#include "clients/csv.h"

#include <iconv.h>

#include <algorithm>
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
// that encoding (an invalid or incomplete sequence). Internal when glibc has no such converter
// (its gconv modules missing): the file is not to blame.
absl::StatusOr<std::optional<std::string>> Convert(std::string_view bytes, const char* from) {
  iconv_t converter = iconv_open("UTF-8", from);
  if (converter == reinterpret_cast<iconv_t>(-1)) {
    return absl::InternalError(Cat("this system cannot convert ", from, " (iconv_open failed)"));
  }
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
    if (errno != E2BIG) return std::optional<std::string>();  // EILSEQ, EINVAL: not this encoding
    const std::size_t used = out.size() - out_left;
    out.resize(out.size() * 2);
    out_next = out.data() + used;
    out_left = out.size() - used;
  }
  out.resize(out.size() - out_left);
  return std::optional<std::string>(std::move(out));
}

// Whether bytes that are not valid UTF-8 are still mostly UTF-8 — Chinese in 3-byte sequences
// with a stray byte or two — rather than GBK, where most characters are invalid UTF-8 and a valid
// 3-byte sequence turns up by chance (~2 in 100 characters). Such a file read as GB18030 would
// decode into other characters without an error, and its corrected version would then import
// every row a second time. The line of the first invalid byte, or 0 when the bytes look like GBK.
std::size_t MostlyUtf8(std::string_view bytes) {
  std::size_t valid = 0, invalid = 0, first_bad_line = 0, line = 1;
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if (c == '\n') ++line;
      ++i;
      continue;
    }
    const std::size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (length >= 3 && i + length <= bytes.size() && IsValidUtf8(bytes.substr(i, length))) {
      ++valid;
      i += length;
      continue;
    }
    if (length == 2 && i + 2 <= bytes.size() && IsValidUtf8(bytes.substr(i, 2))) {
      i += 2;  // a 2-byte sequence says little: GBK pairs often look like one
      continue;
    }
    if (invalid++ == 0) first_bad_line = line;
    ++i;
  }
  return valid > invalid ? first_bad_line : 0;
}

}  // namespace

absl::StatusOr<std::string> ToUtf8(std::string_view bytes, std::string* encoding,
                                   std::string_view given) {
  std::string named;
  for (char c : given) named.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  const bool automatic = named.empty() || named == "auto";
  if (!automatic && named != "utf-8" && named != "utf8" && named != "gbk" && named != "gb18030" &&
      named != "gb2312" && named != "utf-16") {
    return absl::InvalidArgumentError(
        Cat("encoding \"", Excerpt(given), "\" is none of auto, utf-8, gbk, gb18030, utf-16"));
  }
  absl::StatusOr<std::optional<std::string>> text = std::optional<std::string>();
  if (named == "utf-8" || named == "utf8") {
    *encoding = "UTF-8";
    if (IsValidUtf8(bytes)) text = std::optional<std::string>(bytes);
  } else if (named == "gbk" || named == "gb18030" || named == "gb2312") {
    *encoding = "GB18030";
    text = Convert(bytes, "GB18030");
  } else if (named == "utf-16" || bytes.substr(0, 2) == "\xFF\xFE" ||
             bytes.substr(0, 2) == "\xFE\xFF") {
    *encoding = "UTF-16";  // Excel's "Unicode text"; iconv reads the byte order from the mark
    text = Convert(bytes, "UTF-16");
  } else if (IsValidUtf8(bytes)) {
    *encoding = "UTF-8";
    text = std::optional<std::string>(bytes);
  } else if (const std::size_t line = MostlyUtf8(bytes); line != 0) {
    return absl::InvalidArgumentError(
        Cat("line ", line,
            " holds bytes that are not UTF-8 in a file that otherwise is: correct "
            "it, or name the encoding (--encoding gbk) if the file really is GBK"));
  } else {
    *encoding = "GB18030";  // contains GBK and GB2312
    text = Convert(bytes, "GB18030");
  }
  if (!text.ok()) return text.status();
  if (!text->has_value()) {
    if (automatic) {
      return absl::InvalidArgumentError(
          "the file is not text in UTF-8 or GBK/GB18030 (save it from Excel as \"CSV UTF-8\")");
    }
    return absl::InvalidArgumentError(Cat("the file is not text in ", *encoding));
  }
  if ((*text)->find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the file holds NUL bytes: not a CSV text file");
  }
  return **std::move(text);
}

absl::StatusOr<Table> Parse(const std::string& bytes, std::string_view given_encoding) {
  std::string encoding;
  auto decoded = ToUtf8(bytes, &encoding, given_encoding);
  if (!decoded.ok()) return decoded.status();
  std::string_view text = *decoded;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Table table;
  table.encoding = encoding;
  // Comma-separated, or tab-separated when the header line has tabs and no comma (what Excel
  // saves as "Unicode text").
  const std::string_view first_line = text.substr(0, text.find_first_of("\r\n"));
  const char separator =
      first_line.find(',') == std::string_view::npos && first_line.find('\t') != std::string::npos
          ? '\t'
          : ',';
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
      } else if (c == separator) {
        if (row.fields.size() + 1 >= kFieldsMax) {
          return absl::InvalidArgumentError(
              Cat("line ", row.line, " has more than ", kFieldsMax, " fields"));
        }
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
    // Blank, or only separators (",,,,": a spreadsheet's cleared row).
    if (std::all_of(row.fields.begin(), row.fields.end(),
                    [](const std::string& cell) { return cell.empty(); })) {
      continue;
    }
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
