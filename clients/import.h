#pragma once
// Importing a programme office's CSV file: members to open, a month of volunteer activities,
// student awards, the supermarket's catalogue or a delivery of donated stock — the rows made into
// batch commands, one request id per row derived from its text. One code for `lovebank import`
// (which sends the commands in SubmitBatch chunks) and lovebankd's Programme.Import (the desk
// page's upload), so a file imported both ways applies nothing twice and both tell a row's
// outcome with the same word. No gRPC in it.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "clients/csv.h"
#include "lovebank/v1/api.pb.h"

namespace lovebank::import {

// The files, told apart by their header's columns (docs/cli.md "lovebank import").
enum class Kind { kMembers, kActivities, kAwards, kCatalogue, kStock, kTeams };
// "members", "activities", "awards", "catalogue", "stock", "teams".
std::string_view KindName(Kind kind);
// Whether the file's commands come from an ISSUER account (activities, awards, stock's donor)
// and go to a STORE (catalogue, stock).
bool NeedsIssuer(Kind kind);
bool NeedsStore(Kind kind);

// A file read and recognised.
struct File {
  Kind kind = Kind::kMembers;
  csv::Table table;
  std::map<std::string, std::size_t> column;  // each column's index by its header name
};

// Decodes (csv::Parse: UTF-8, GBK/GB18030, UTF-16, or `encoding` as csv::ToUtf8 takes it) and
// recognises the file. Errors: InvalidArgument with a message for a person: not text, an
// unterminated quote, no rows, or a header that is none of the files (the columns each needs
// are named).
absl::StatusOr<File> Read(const std::string& bytes, std::string_view encoding = "auto");

// The outcomes of rows never sent: a row the file repeats, and a row whose member_name is not
// its account's name (a wrong id is caught before it credits somebody else).
inline constexpr std::string_view kDuplicateRow = "DUPLICATE_ROW";
inline constexpr std::string_view kNameMismatch = "NAME_MISMATCH";
// An activity row whose team_name is not the name the programme's teams give its team_id.
inline constexpr std::string_view kTeamMismatch = "TEAM_MISMATCH";
// A teams row that cannot be a team (id, name or category malformed; an id or name twice).
inline constexpr std::string_view kTeamInvalid = "TEAM_INVALID";

// One data row of the file.
struct Row {
  std::size_t line = 0;      // in the file (the header is line 1)
  std::string request_id;    // RowRequestId
  std::string held;          // not empty: kDuplicateRow or kNameMismatch; the row is not sent
  std::string message;       // why it is held
  std::size_t same_as = 0;   // kDuplicateRow: the earlier line
  v1::BatchCommand command;  // when not held
};

// Where the rows' accounts come from when the file has no `issuer` / `store` column.
struct Defaults {
  std::string issuer;  // activities, awards, stock: an ISSUER account
  std::string store;   // catalogue, stock: a STORE account
  // Awards by rule: the month they are for (Award.month, YYYY-MM) when a row has no `month`
  // column; "" = the month they are posted in.
  std::string month;
  // Activities: the programme's teams (ProgrammeProfile.teams), id -> name. A row naming a known
  // team_id under another team_name is held (kTeamMismatch); ids not listed are not checked.
  std::map<std::string, std::string> teams;
};

// The month a file's name gives (the first YYYY-MM in it with a month 01-12, not part of a longer
// number): "student-awards-2026-11.csv" -> "2026-11", "名单_2026-11_导出2026-12-01.csv" ->
// "2026-11" (not the export date); "" when it names none.
std::string MonthInFileName(std::string_view path);
// The account's display name, or std::nullopt when there is no such account (the ledger then
// refuses the row itself).
using NameOf = std::function<std::optional<std::string>(const std::string& account)>;

// The rows as batch commands. A row with a member_name is held (kNameMismatch) when `name_of`
// gives its account another name (white space aside).
std::vector<Row> Commands(const File& file, const Defaults& defaults, const NameOf& name_of);

// A teams file (team_id,team_name[,service_category]) merged into the programme's profile: each
// row adds its team or renames it / changes its category by id; teams the file does not name
// stay. Rows that cannot be a team are held (kTeamInvalid, or kDuplicateRow for a row repeated
// word for word), and the rest still merge.
struct TeamsMerge {
  v1::ProgrammeProfile profile;  // `current` with the file's teams
  std::vector<Row> rows;         // every data row; `held` set on those not merged
  std::uint64_t added = 0, changed = 0, unchanged = 0;
  std::set<std::size_t> unchanged_lines;  // rows whose team the profile has as they say
  bool Changed() const { return added + changed > 0; }
};
TeamsMerge MergeTeams(const File& file, const v1::ProgrammeProfile& current);
// The SetSetting request id of a merge: "imp-teams-" and 32 hex of SHA-256 over the profile seq
// it was merged into and the merged profile, so a retried import sends the same id, and the same
// file imported after the profile changed is a new change (never taken for the old one).
std::string TeamsRequestId(const v1::ProgrammeProfile& merged, std::uint64_t profile_seq);

// A name without its white space (spaces, tabs, U+3000, U+00A0), to compare names as people type
// them: "韦 蕊" is 韦蕊, "小雨滴 志愿者服务队" is 小雨滴志愿者服务队.
std::string Squeezed(std::string_view text);

// The accounts whose names Commands asks for: each member_id of a file with a member_name column,
// once.
std::vector<std::string> NamedMembers(const File& file);

// The rows refused (by line: why, e.g. "ACCOUNT_UNKNOWN: account V09999 is unknown") as a CSV
// file to correct and import again: a UTF-8 BOM (Excel reads it), the file's header plus `retry`
// and `refusal` (kept where the file has them), each refused row with its retry count one higher
// — so its request id is new: its first try was refused, never applied, so the corrected row
// applies once, and the same rejected file imported twice applies nothing twice — and its
// refusal. Cells through csv::Field (no spreadsheet formulas). "" when `refused` is empty.
std::string RejectedRows(const File& file, const std::map<std::size_t, std::string>& refused);

// The request id of an imported CSV row: "imp-" and 32 hex of SHA-256 over the header and the
// row's own text (as UTF-8), so loading the same rows again — from another file, another
// encoding, the CLI or the desk — applies nothing twice.
std::string RowRequestId(const csv::Table& table, const csv::Row& row);

// "student;poverty-tier:2" -> {"student", "poverty-tier:2"} (empty items dropped): the tag lists
// of the members file and of a rules file.
std::vector<std::string> SplitList(const std::string& text, char separator = ';');

// A row's outcome in one word: OK, PENDING_APPROVAL (recorded, waits for an approver),
// ALREADY_APPLIED (this row was imported before: nothing new), or the refusal's reason name.
std::string Outcome(const v1::BatchResult& result);
// True for the outcomes that are refusals: all but OK, PENDING_APPROVAL, ALREADY_APPLIED and
// DUPLICATE_ROW.
bool IsRefusal(std::string_view outcome);
// True for the rows that go to the rejected rows file (RejectedRows): those the ledger refused
// for a reason it remembers under the row's request id (ACCOUNT_UNKNOWN, BUDGET_EXCEEDED,
// ACCOUNT_FROZEN, NOT_ELIGIBLE, …; ledger/format/reason.h IsRememberedReason) — the original
// row can never apply after that, so its corrected copy applies at most once — except
// ACCOUNT_EXISTS (nothing to correct: a "corrected" id would open a second account for the same
// person). Not: syntax refusals (they may come from the issuer or store given, not the row:
// correct the original or the flags), momentary ones (LEDGER_BUSY: run the same file again),
// NAME_MISMATCH and REQUEST_ID_REUSED — a copy of any of these could apply a second time.
bool Retryable(const v1::BatchResult& result);

// What happened to a file's rows, counted by outcome.
struct Tally {
  std::uint64_t applied = 0;
  std::uint64_t pending = 0;
  std::uint64_t already_applied = 0;
  std::uint64_t refused = 0;
  std::uint64_t duplicate_rows = 0;
  std::map<std::string, std::uint64_t> refused_by_reason;  // e.g. ACCOUNT_UNKNOWN -> 3
  void Count(std::string_view outcome);
};

}  // namespace lovebank::import
