#pragma once
// Importing a programme office's CSV file: members to open, a month of volunteer activities, or
// student awards — the rows made into batch commands, one request id per row derived from its
// text. One code for `lovebank import` (which sends the commands in SubmitBatch chunks) and
// lovebankd's Programme.Import (the desk page's upload), so a file imported both ways applies
// nothing twice and both tell a row's outcome with the same word. No gRPC in it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "clients/csv.h"
#include "lovebank/v1/api.pb.h"

namespace lovebank::import {

// The files, told apart by their header's columns (docs/cli.md "lovebank import").
enum class Kind { kMembers, kActivities, kAwards };
// "members", "activities", "awards".
std::string_view KindName(Kind kind);

// A file read and recognised.
struct File {
  Kind kind = Kind::kMembers;
  csv::Table table;
};

// Decodes (csv::Parse: UTF-8, GBK/GB18030, UTF-16) and recognises the file. Errors:
// InvalidArgument with a message for a person: not text, an unterminated quote, no rows, or a
// header that is none of the three files (the columns each needs are named).
absl::StatusOr<File> Read(const std::string& bytes);

// One data row of the file.
struct Row {
  std::size_t line = 0;      // in the file (the header is line 1)
  std::string request_id;    // RowRequestId
  std::size_t same_as = 0;   // not 0: the same text as this earlier line; not sent
  v1::BatchCommand command;  // when same_as == 0
};

// The rows as batch commands; activities and awards come from `issuer` (an ISSUER account),
// members are opened by an admin (issuer unused).
std::vector<Row> Commands(const File& file, const std::string& issuer);

// The request id of an imported CSV row: "imp-" and 32 hex of SHA-256 over the header and the
// row's own text (as UTF-8), so loading the same rows again — from another file, another
// encoding, the CLI or the desk — applies nothing twice.
std::string RowRequestId(const csv::Table& table, const csv::Row& row);

// "student;poverty-tier:2" -> {"student", "poverty-tier:2"} (empty items dropped): the tag lists
// of the members file and of a rules file.
std::vector<std::string> SplitList(const std::string& text, char separator = ';');

// A row's outcome in one word: OK, PENDING_APPROVAL (recorded, waits for an approver),
// ALREADY_APPLIED (this row was imported before: nothing new), or the refusal's reason name.
inline constexpr std::string_view kDuplicateRow = "DUPLICATE_ROW";  // a row the file repeats
std::string Outcome(const v1::BatchResult& result);

// What happened to a file's rows, counted by outcome.
struct Tally {
  std::uint64_t applied = 0;
  std::uint64_t pending = 0;
  std::uint64_t already_applied = 0;
  std::uint64_t refused = 0;
  std::uint64_t duplicate_rows = 0;
  void Count(std::string_view outcome);
};

}  // namespace lovebank::import
