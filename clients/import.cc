#include "clients/import.h"

#include <openssl/sha.h>

#include <map>

#include "ledger/base/coding.h"

namespace lovebank::import {
namespace {

using Columns = std::map<std::string, std::size_t>;

// Turns a data row into its batch command.
void RowCommand(Kind kind, const Columns& column, const csv::Row& row, const std::string& issuer,
                const std::string& id, v1::BatchCommand* out) {
  auto get = [&](const std::string& name) -> std::string {
    auto it = column.find(name);
    return it == column.end() || it->second >= row.fields.size() ? "" : row.fields[it->second];
  };
  switch (kind) {
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
    case Kind::kAwards:
      break;
  }
  if (column.contains("rule")) {  // awards by the programme's rules: the rule sets the amount
    auto* award = out->mutable_award();
    award->set_request_id(id);
    award->set_issuer(issuer);
    award->set_member(get("member_id"));
    award->set_rule(get("rule"));
    award->set_reason(get("reason"));
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

Columns ColumnsOf(const csv::Table& table) {
  Columns column;
  for (std::size_t i = 0; i < table.header.size(); ++i) column.emplace(table.header[i], i);
  return column;
}

}  // namespace

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kMembers:
      return "members";
    case Kind::kActivities:
      return "activities";
    case Kind::kAwards:
      return "awards";
  }
  return "members";
}

absl::StatusOr<File> Read(const std::string& bytes) {
  auto table = csv::Parse(bytes);
  if (!table.ok()) return table.status();
  const Columns column = ColumnsOf(*table);
  File file;
  // Activities first: an activities file names its members too.
  if (column.contains("member_id") && column.contains("hours") && column.contains("activity") &&
      column.contains("date")) {
    file.kind = Kind::kActivities;
  } else if (column.contains("member_id") && column.contains("points") &&
             column.contains("reason")) {
    file.kind = Kind::kAwards;
  } else if (column.contains("member_id") && column.contains("name") && !column.contains("hours") &&
             !column.contains("points")) {
    file.kind = Kind::kMembers;
  } else {
    return absl::InvalidArgumentError(
        "not a members, activities or awards file: its header needs member_id,name (members), "
        "member_id,date,activity,hours (activities) or member_id,points,reason (awards)");
  }
  if (table->rows.empty()) {
    return absl::InvalidArgumentError("the file has no rows under its header");
  }
  file.table = *std::move(table);
  return file;
}

std::vector<Row> Commands(const File& file, const std::string& issuer) {
  const Columns column = ColumnsOf(file.table);
  std::vector<Row> rows;
  rows.reserve(file.table.rows.size());
  std::map<std::string, std::size_t> first_line;  // request id -> line
  for (const csv::Row& row : file.table.rows) {
    Row& out = rows.emplace_back();
    out.line = row.line;
    out.request_id = RowRequestId(file.table, row);
    if (auto [it, inserted] = first_line.emplace(out.request_id, row.line); !inserted) {
      out.same_as = it->second;
      continue;
    }
    RowCommand(file.kind, column, row, issuer, out.request_id, &out.command);
  }
  return rows;
}

std::string RowRequestId(const csv::Table& table, const csv::Row& row) {
  std::string header;
  for (const auto& field : table.header) header += field + ",";
  const std::string text = header + "\n" + row.text;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return "imp-" + ToHex(std::string_view(reinterpret_cast<const char*>(digest), 16));
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
  }
}

}  // namespace lovebank::import
