#include "clients/import.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/reason.h"

namespace lovebank::import {
namespace {

// The row's cell in `name`'s column; "" when the file has no such column or the row is short.
std::string Get(const File& file, const csv::Row& row, const std::string& name) {
  auto it = file.column.find(name);
  return it == file.column.end() || it->second >= row.fields.size() ? "" : row.fields[it->second];
}

// The cell, or `fallback` when the file has no such column or the cell is empty.
std::string GetOr(const File& file, const csv::Row& row, const std::string& name,
                  const std::string& fallback) {
  std::string value = Get(file, row, name);
  return value.empty() ? fallback : value;
}

// Text without the white space around it (the same spaces Squeezed drops): "T01 " is T01.
std::string Trimmed(std::string text) {
  for (bool trimmed = true; trimmed && !text.empty();) {
    trimmed = false;
    for (std::string_view space : {" ", "\t", "\xE3\x80\x80", "\xC2\xA0"}) {
      if (text.starts_with(space)) text.erase(0, space.size()), trimmed = true;
      if (text.ends_with(space)) text.erase(text.size() - space.size()), trimmed = true;
    }
  }
  return text;
}

// Turns a data row into its batch command.
void RowCommand(const File& file, const csv::Row& row, const Defaults& defaults,
                const std::string& id, v1::BatchCommand* out) {
  auto get = [&](const std::string& name) { return Get(file, row, name); };
  const std::string issuer = GetOr(file, row, "issuer", defaults.issuer);
  const std::string store = GetOr(file, row, "store", defaults.store);
  switch (file.kind) {
    case Kind::kMembers: {
      auto* open = out->mutable_open_account();
      open->set_request_id(id);
      open->set_account(get("member_id"));
      open->set_kind(v1::ACCOUNT_KIND_MEMBER);
      open->set_display_name(get("name"));
      open->set_memo(get("village") + " " + get("tags"));
      // "student;poverty-tier:2": what award rules and transfer policies select members by.
      for (auto& tag : SplitList(get("tags"))) open->add_tags(std::move(tag));
      return;
    }
    case Kind::kActivities: {
      auto* earn = out->mutable_earn();
      earn->set_request_id(id);
      earn->set_issuer(issuer);
      earn->set_member(get("member_id"));
      earn->set_asset("HOURS");
      earn->set_amount(get("hours"));
      earn->mutable_activity()->set_name(get("activity"));
      earn->mutable_activity()->set_date(get("date"));
      earn->mutable_activity()->set_team(get("team_name"));
      earn->mutable_activity()->set_category(get("service_category"));
      earn->mutable_activity()->set_id(get("activity_id"));
      earn->set_memo(get("activity_id") + " " + get("team_name"));
      return;
    }
    case Kind::kCatalogue: {
      auto* item = out->mutable_set_item();
      item->set_request_id(id);
      item->set_store(store);
      item->set_sku(get("sku"));
      item->set_name(get("name"));
      item->set_unit(get("unit"));
      item->set_price(GetOr(file, row, "price_points", get("price")));
      // Listed for sale unless the sheet says otherwise.
      const std::string active = get("active");
      item->set_active(active != "0" && active != "false" && active != "否");
      return;
    }
    case Kind::kStock: {
      auto* stock = out->mutable_receive_stock();
      stock->set_request_id(id);
      stock->set_store(store);
      stock->set_issuer(issuer);
      stock->set_sku(get("sku"));
      stock->set_quantity(get("quantity"));
      stock->set_reason(get("reason"));
      stock->set_memo(get("memo"));
      return;
    }
    case Kind::kAwards:
      break;
    case Kind::kTeams:  // MergeTeams: the file is one change of the profile, not a row's command
      return;
  }
  if (file.column.contains("rule")) {  // awards by the programme's rules: the rule sets the amount
    auto* award = out->mutable_award();
    award->set_request_id(id);
    award->set_issuer(issuer);
    award->set_member(get("member_id"));
    award->set_rule(get("rule"));
    award->set_reason(get("reason"));
    award->set_month(GetOr(file, row, "month", defaults.month));
    return;
  }
  const std::string points = get("points");
  if (!points.empty() && points[0] == '-') {  // a deduction
    auto* deduct = out->mutable_deduct();
    deduct->set_request_id(id);
    deduct->set_issuer(issuer);
    deduct->set_member(get("member_id"));
    deduct->set_asset("POINTS");
    deduct->set_amount(points.substr(1));
    deduct->set_reason(get("reason"));
    deduct->set_memo(get("rule"));
    return;
  }
  auto* earn = out->mutable_earn();
  earn->set_request_id(id);
  earn->set_issuer(issuer);
  earn->set_member(get("member_id"));
  earn->set_asset("POINTS");
  earn->set_amount(points);
  earn->set_reason(get("reason"));
  earn->set_memo(get("rule"));
}

// Request ids of a table's rows: SHA-256 over "header,fields,\n" and the row's text. The header's
// part is hashed once and the state copied for each row, so a wide header costs once, not once
// a row.
class RowIds {
 public:
  // `given`: what the rows mean beyond their text (an awards file's month from --month or the
  // file's name), hashed after the header; "" for everything else, whose ids stay as they were.
  RowIds(const csv::Table& table, std::string_view given)
      : primed_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    LOVEBANK_CHECK(primed_ != nullptr &&
                   EVP_DigestInit_ex(primed_.get(), EVP_sha256(), nullptr) == 1);
    for (const auto& field : table.header) {
      EVP_DigestUpdate(primed_.get(), field.data(), field.size());
      EVP_DigestUpdate(primed_.get(), ",", 1);
    }
    EVP_DigestUpdate(primed_.get(), "\n", 1);
    EVP_DigestUpdate(primed_.get(), given.data(), given.size());
  }

  std::string Of(const csv::Row& row) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    LOVEBANK_CHECK(context != nullptr && EVP_MD_CTX_copy_ex(context.get(), primed_.get()) == 1);
    EVP_DigestUpdate(context.get(), row.text.data(), row.text.size());
    LOVEBANK_CHECK(EVP_DigestFinal_ex(context.get(), digest, &size) == 1 && size == 32);
    return "imp-" + ToHex(std::string_view(reinterpret_cast<const char*>(digest), 16));
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> primed_;
};

}  // namespace

// Text without its white space, for comparing names as people type them ("韦 蕊" is 韦蕊).
std::string Squeezed(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '\t') out.push_back(c);
  }
  // U+3000 (ideographic space), common in Chinese sheets; U+00A0 (no-break space) from web pages.
  for (std::size_t at; (at = out.find("\xE3\x80\x80")) != std::string::npos;) out.erase(at, 3);
  for (std::size_t at; (at = out.find("\xC2\xA0")) != std::string::npos;) out.erase(at, 2);
  return out;
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kMembers:
      return "members";
    case Kind::kActivities:
      return "activities";
    case Kind::kAwards:
      return "awards";
    case Kind::kCatalogue:
      return "catalogue";
    case Kind::kStock:
      return "stock";
    case Kind::kTeams:
      return "teams";
  }
  return "members";
}

bool NeedsIssuer(Kind kind) {
  return kind == Kind::kActivities || kind == Kind::kAwards || kind == Kind::kStock;
}

bool NeedsStore(Kind kind) { return kind == Kind::kCatalogue || kind == Kind::kStock; }

std::string MonthInFileName(std::string_view path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  for (std::size_t at = 0; at + 7 <= path.size(); ++at) {
    const std::string_view candidate = path.substr(at, 7);
    const bool bounded =
        (at == 0 || !std::isdigit(static_cast<unsigned char>(path[at - 1]))) &&
        (at + 7 == path.size() || !std::isdigit(static_cast<unsigned char>(path[at + 7])));
    if (bounded && IsValidMonth(candidate)) return std::string(candidate);
  }
  return "";
}

absl::StatusOr<File> Read(const std::string& bytes, std::string_view encoding) {
  auto table = csv::Parse(bytes, encoding);
  if (!table.ok()) return table.status();
  File file;
  for (std::size_t i = 0; i < table->header.size(); ++i) file.column.emplace(table->header[i], i);
  auto has = [&file](std::initializer_list<const char*> names) {
    return std::all_of(names.begin(), names.end(),
                       [&file](const char* name) { return file.column.contains(name); });
  };
  // Activities first: an activities file names its members too.
  if (has({"member_id", "hours", "activity", "date"})) {
    file.kind = Kind::kActivities;
  } else if (has({"member_id", "points", "reason"})) {
    file.kind = Kind::kAwards;
  } else if (has({"member_id", "name"}) && !has({"hours"}) && !has({"points"})) {
    file.kind = Kind::kMembers;
  } else if (has({"sku", "name", "unit"}) && (has({"price_points"}) || has({"price"}))) {
    file.kind = Kind::kCatalogue;
  } else if (has({"sku", "quantity", "reason"})) {
    file.kind = Kind::kStock;
  } else if (has({"team_id", "team_name"}) && !has({"member_id"})) {
    file.kind = Kind::kTeams;
  } else {
    return absl::InvalidArgumentError(
        "not a file lovebank imports: its header needs member_id,name (members), "
        "member_id,date,activity,hours (activities), member_id,points,reason (awards), "
        "sku,name,unit,price_points (catalogue), sku,quantity,reason (stock) or "
        "team_id,team_name,service_category (teams)");
  }
  if (table->rows.empty()) {
    return absl::InvalidArgumentError("the file has no rows under its header");
  }
  // A rejected rows sheet (RejectedRows) wrote an apostrophe before cells a spreadsheet would run
  // as formulas (csv::Field): the cell's value is what follows it. The row's text, and so its
  // request id, stays as read.
  if (has({"retry", "refusal"})) {
    for (csv::Row& row : table->rows) {
      for (std::string& cell : row.fields) {
        if (cell.size() >= 2 && cell[0] == '\'' &&
            std::string_view("=+-@\t\r").find(cell[1]) != std::string_view::npos) {
          cell.erase(0, 1);
        }
      }
    }
  }
  file.table = *std::move(table);
  return file;
}

std::vector<std::string> NamedMembers(const File& file) {
  std::vector<std::string> members;
  if (!file.column.contains("member_name") || file.kind == Kind::kMembers) return members;
  std::set<std::string> seen;
  for (const csv::Row& row : file.table.rows) {
    std::string member = Get(file, row, "member_id");
    if (!member.empty() && !Get(file, row, "member_name").empty() && seen.insert(member).second) {
      members.push_back(std::move(member));
    }
  }
  return members;
}

std::vector<Row> Commands(const File& file, const Defaults& defaults, const NameOf& name_of) {
  std::vector<Row> rows;
  rows.reserve(file.table.rows.size());
  std::map<std::string, std::size_t> first_line;  // request id -> line
  const bool named = file.column.contains("member_name") && file.kind != Kind::kMembers;
  // November's and December's sheets may hold the same row (the same child, rule and reason):
  // the month the file is for is part of each row's id, so neither is taken for the other.
  const bool month_given = file.kind == Kind::kAwards && file.column.contains("rule") &&
                           !file.column.contains("month") && !defaults.month.empty();
  const RowIds ids(file.table, month_given ? "month=" + defaults.month + "\n" : "");
  for (const csv::Row& row : file.table.rows) {
    Row& out = rows.emplace_back();
    out.line = row.line;
    out.request_id = ids.Of(row);
    if (auto [it, inserted] = first_line.emplace(out.request_id, row.line); !inserted) {
      out.held = kDuplicateRow;
      out.same_as = it->second;
      out.message = Cat("the same row as line ", it->second);
      continue;
    }
    if (file.kind == Kind::kActivities && !defaults.teams.empty()) {
      const std::string team_id = Trimmed(Get(file, row, "team_id"));
      const std::string written = Get(file, row, "team_name");
      auto team = defaults.teams.find(team_id);
      if (team != defaults.teams.end() && !written.empty() &&
          Squeezed(team->second) != Squeezed(written)) {
        out.held = kTeamMismatch;
        out.message = Cat("team_name is ", written, " but team ", team_id, " is ", team->second,
                          ": check the team's id");
        continue;
      }
    }
    if (named) {
      const std::string written = Get(file, row, "member_name");
      const std::string member = Get(file, row, "member_id");
      std::optional<std::string> name;
      if (!written.empty() && !member.empty()) name = name_of(member);
      if (name && Squeezed(*name) != Squeezed(written)) {
        out.held = kNameMismatch;
        out.message = Cat("member_name is ", written, " but ", member, " is ", *name,
                          ": check the member's id");
        continue;
      }
    }
    RowCommand(file, row, defaults, out.request_id, &out.command);
  }
  return rows;
}

TeamsMerge MergeTeams(const File& file, const v1::ProgrammeProfile& current) {
  TeamsMerge merge;
  merge.profile = current;
  auto* teams = merge.profile.mutable_teams();
  auto find = [teams](auto&& matches) -> v1::ProgrammeProfile::Team* {
    for (auto& team : *teams) {
      if (matches(team)) return &team;
    }
    return nullptr;
  };
  std::map<std::string, std::size_t> first_line;  // the row's text -> line
  std::map<std::string, std::size_t> id_line;     // a team id -> the file's line naming it
  for (const csv::Row& row : file.table.rows) {
    Row& out = merge.rows.emplace_back();
    out.line = row.line;
    auto hold = [&out](std::string_view why, std::string message) {
      out.held = why;
      out.message = std::move(message);
    };
    if (auto [it, inserted] = first_line.emplace(row.text, row.line); !inserted) {
      out.same_as = it->second;
      hold(kDuplicateRow, Cat("the same row as line ", it->second));
      continue;
    }
    const std::string id = Trimmed(Get(file, row, "team_id"));
    const std::string name = Trimmed(Get(file, row, "team_name"));
    const std::string category = Trimmed(Get(file, row, "service_category"));
    if (!IsValidAccountId(id)) {
      hold(kTeamInvalid, Cat("team_id ", Excerpt(id), " is not 1-", kAccountIdBytesMax,
                             " of A-Z a-z 0-9 . _ : @ -"));
      continue;
    }
    if (name.empty() || name.size() > kDisplayNameBytesMax) {
      hold(kTeamInvalid, Cat("team_name is 1-", kDisplayNameBytesMax, " bytes"));
      continue;
    }
    if (category.size() > kServiceCategoryBytesMax) {
      hold(kTeamInvalid, Cat("service_category is at most ", kServiceCategoryBytesMax, " bytes"));
      continue;
    }
    if (!IsValidText(name, false) || !IsValidText(category, false)) {  // e.g. Alt+Enter in a cell
      hold(kTeamInvalid, "team_name and service_category are one line of text");
      continue;
    }
    if (auto [it, inserted] = id_line.emplace(id, row.line); !inserted) {
      hold(kTeamInvalid, Cat("team ", id, " is also on line ", it->second, ": keep one"));
      continue;
    }
    const auto* other = find([&](const auto& team) {
      return Squeezed(team.name()) == Squeezed(name) && team.id() != id;
    });
    if (other != nullptr) {
      hold(kTeamInvalid, Cat("team ", other->id(), " is already called ", name));
      continue;
    }
    v1::ProgrammeProfile::Team* team = find([&](const auto& listed) { return listed.id() == id; });
    if (team != nullptr && team->name() == name && team->category() == category) {
      ++merge.unchanged;
      merge.unchanged_lines.insert(row.line);
      continue;
    }
    // A whole setting is at most kSettingBytesMax. A team costs its id, name and category plus at
    // most 10 bytes of framing (3 tags and lengths, the repeated field's tag and 2-byte length);
    // the SetSetting around the profile at most 19 (two tags and 3-byte lengths, if_seq's tag and
    // 10-byte varint): 29 <= kTeamFramingBytes. A row that does not grow the profile passes.
    constexpr std::size_t kTeamFramingBytes = 48;
    const std::size_t content = id.size() + name.size() + category.size();
    const std::size_t old_content =
        team == nullptr ? 0 : team->id().size() + team->name().size() + team->category().size();
    const bool grows = team == nullptr || content > old_content;
    if (grows && merge.profile.ByteSizeLong() - old_content + content + kTeamFramingBytes >
                     kSettingBytesMax) {
      hold(kTeamInvalid, Cat("the programme's profile would be over ", kSettingBytesMax,
                             " bytes: shorter names, or fewer teams"));
      continue;
    }
    if (team == nullptr) {
      if (teams->size() >= static_cast<int>(kSettingListMax)) {
        hold(kTeamInvalid, Cat("the programme holds at most ", kSettingListMax, " teams"));
        continue;
      }
      team = teams->Add();
      team->set_id(id);
      ++merge.added;
    } else {
      ++merge.changed;
    }
    team->set_name(name);
    team->set_category(category);
  }
  return merge;
}

std::string TeamsRequestId(const v1::ProgrammeProfile& merged, std::uint64_t profile_seq) {
  // No map fields in a profile: its serialization is one byte string per value.
  const std::string bytes = Cat("teams\n", profile_seq, "\n", merged.SerializeAsString());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  LOVEBANK_CHECK(EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) ==
                     1 &&
                 size == 32);
  return "imp-teams-" + ToHex(std::string_view(reinterpret_cast<const char*>(digest), 16));
}

std::string RejectedRows(const File& file, const std::map<std::size_t, std::string>& refused) {
  if (refused.empty()) return "";
  std::vector<std::string> header = file.table.header;
  auto column = [&header](const char* name) {
    auto it = std::find(header.begin(), header.end(), name);
    if (it != header.end()) return static_cast<std::size_t>(it - header.begin());
    header.emplace_back(name);
    return header.size() - 1;
  };
  const std::size_t retry = column("retry");
  const std::size_t refusal = column("refusal");
  auto line_of = [](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) text += ',';
      text += csv::Field(cells[i]);
    }
    return text + "\r\n";
  };
  std::string out = "\xEF\xBB\xBF" + line_of(header);
  for (const csv::Row& row : file.table.rows) {
    auto why = refused.find(row.line);
    if (why == refused.end()) continue;
    std::vector<std::string> cells = row.fields;
    cells.resize(header.size());
    std::uint64_t tries = 0;
    for (char c : cells[retry]) {
      if (c < '0' || c > '9' || tries > 1'000'000) break;
      tries = tries * 10 + static_cast<std::uint64_t>(c - '0');
    }
    cells[retry] = std::to_string(tries + 1);
    cells[refusal] = why->second;
    out += line_of(cells);
  }
  return out;
}

std::string RowRequestId(const csv::Table& table, const csv::Row& row) {
  return RowIds(table, "").Of(row);
}

std::vector<std::string> SplitList(const std::string& text, char separator) {
  std::vector<std::string> items;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find(separator, start), text.size());
    if (end > start) items.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

std::string Outcome(const v1::BatchResult& result) {
  if (result.reason() != v1::REASON_OK) {
    return v1::Reason_Name(result.reason()).substr(7);  // "REASON_" dropped
  }
  if (result.receipt().replayed()) return "ALREADY_APPLIED";
  if (result.receipt().pending()) return "PENDING_APPROVAL";
  return "OK";
}

bool IsRefusal(std::string_view outcome) {
  return outcome != "OK" && outcome != "PENDING_APPROVAL" && outcome != "ALREADY_APPLIED" &&
         outcome != kDuplicateRow;
}

bool Retryable(const v1::BatchResult& result) {
  const auto reason = static_cast<Reason>(result.reason());
  return result.reason() != v1::REASON_OK && IsRememberedReason(reason) &&
         reason != Reason::kAccountExists;
}

void Tally::Count(std::string_view outcome) {
  if (outcome == "OK") {
    ++applied;
  } else if (outcome == "PENDING_APPROVAL") {
    ++pending;
  } else if (outcome == "ALREADY_APPLIED") {
    ++already_applied;
  } else if (outcome == kDuplicateRow) {
    ++duplicate_rows;
  } else {
    ++refused;
    ++refused_by_reason[std::string(outcome)];
  }
}

}  // namespace lovebank::import
