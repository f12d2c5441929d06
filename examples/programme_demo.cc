// lovebank-demo: runs one month of a town's love-bank programme through the ledger.
//
// Loads the sample programme in examples/data (1,000 members, a month of volunteer activities,
// student awards and deductions, a love-supermarket catalogue), records it in a ledger at --db,
// spends some points at the love supermarket, and prints what happened: outcomes by reason,
// the top volunteers, one member's statement and the digest to publish. Running it again on the
// same --db applies nothing twice: every row has a request id derived from its content.
//
//   lovebank-demo --db DIR [--data DIR]
// Exit codes: 0 ok, 1 a row was refused for an unexpected reason, 2 usage or storage error.

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "clients/csv.h"
#include "ledger/ledger.h"

namespace lovebank {
namespace {

using Row = std::vector<std::string>;

// The rows of one of the sample files (clients/csv.h: the same reader `lovebank import` uses).
std::vector<Row> ReadCsv(const std::string& path) {
  auto table = csv::Read(path);
  if (!table.ok()) {
    std::cerr << table.status().message() << "\n";
    std::exit(2);
  }
  std::vector<Row> rows;
  for (auto& row : table->rows) rows.push_back(std::move(row.fields));
  return rows;
}

v1::Command Base(const std::string& id, const std::string& actor, const std::string& memo) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor(actor);
  command.set_memo(memo);
  return command;
}

v1::Command Move(v1::Command command, v1::Move* (v1::Command::*body)(), const std::string& from,
                 const std::string& to, const std::string& asset, const std::string& amount) {
  v1::Move* move = (command.*body)();
  move->set_from(from);
  move->set_to(to);
  move->set_asset(asset);
  move->set_amount(amount);
  return command;
}

struct Tally {
  std::map<std::string, int> by_reason;
  int replayed = 0;
  bool unexpected = false;
};

void Run(Ledger& ledger, std::vector<v1::Command> commands, Tally* tally,
         const std::vector<Reason>& expected_refusals = {}) {
  constexpr std::size_t kChunk = 1000;
  for (std::size_t start = 0; start < commands.size(); start += kChunk) {
    std::vector<v1::Command> chunk(commands.begin() + start,
                                   commands.begin() + std::min(commands.size(), start + kChunk));
    for (const Outcome& outcome : ledger.ExecuteMany(std::move(chunk))) {
      ++tally->by_reason[std::string(ReasonName(outcome.reason))];
      if (outcome.replayed) ++tally->replayed;
      const bool expected =
          outcome.ok() || std::find(expected_refusals.begin(), expected_refusals.end(),
                                    outcome.reason) != expected_refusals.end();
      if (!expected) {
        tally->unexpected = true;
        std::cerr << "refused: " << ReasonName(outcome.reason) << ": " << outcome.message << "\n";
      }
    }
  }
}

std::string Date(std::int64_t unix_us) {
  const std::time_t seconds = unix_us / 1000000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M", &tm);
  return buffer;
}

int Main(int argc, char** argv) {
  std::string db;
  std::string data = LOVEBANK_EXAMPLE_DATA_DIR;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--db")
      db = argv[i + 1];
    else if (flag == "--data")
      data = argv[i + 1];
  }
  if (db.empty() || argc % 2 == 0) {
    std::cerr << "usage: lovebank-demo --db DIR [--data DIR]\n";
    return 2;
  }
  LedgerOptions options;
  options.path = db;
  auto opened = Ledger::Open(options);
  if (!opened.ok()) {
    std::cerr << "cannot open the ledger at " << db << ": " << opened.status() << "\n";
    return 2;
  }
  Ledger& ledger = **opened;
  const std::string actor = "社工小李";
  Tally tally;

  // 1. Accounts: the town's issuer, the love supermarket, every member.
  std::vector<v1::Command> commands;
  auto issuer = Base("open:issuer:town", actor, "开户");
  issuer.mutable_open_account()->set_account("issuer:town");
  issuer.mutable_open_account()->set_kind(v1::ACCOUNT_KIND_ISSUER);
  issuer.mutable_open_account()->set_display_name("河头店镇爱心银行");
  for (const char* asset : {"HOURS", "POINTS"}) {
    auto* budget = issuer.mutable_open_account()->add_budgets();
    budget->set_asset(asset);
    budget->set_amount(std::string(asset) == "HOURS" ? "100000" : "1000000");
  }
  commands.push_back(issuer);
  auto store = Base("open:store:main", actor, "开户");
  store.mutable_open_account()->set_account("store:main");
  store.mutable_open_account()->set_kind(v1::ACCOUNT_KIND_STORE);
  store.mutable_open_account()->set_display_name("河头店镇爱心超市");
  commands.push_back(store);
  std::map<std::string, std::string> names;
  for (const Row& row : ReadCsv(data + "/members.csv")) {
    names[row.at(0)] = row.at(1);
    auto open = Base("open:" + row.at(0), actor, row.at(2) + " " + row.at(3));
    open.mutable_open_account()->set_account(row.at(0));
    open.mutable_open_account()->set_kind(v1::ACCOUNT_KIND_MEMBER);
    open.mutable_open_account()->set_display_name(row.at(1));
    commands.push_back(open);
  }
  Run(ledger, std::move(commands), &tally);

  // 2. A month of volunteer service, stored as HOURS.
  commands.clear();
  for (const Row& row : ReadCsv(data + "/activities-2026-11.csv")) {
    commands.push_back(Move(Base("act:" + row.at(0) + ":" + row.at(5), actor,
                                 row.at(1) + " " + row.at(3) + " " + row.at(4)),
                            &v1::Command::mutable_earn, "issuer:town", row.at(5), "HOURS",
                            row.at(7)));
  }
  Run(ledger, std::move(commands), &tally);

  // 3. Student incentives (seed 002 三(三)): awards earn POINTS, deductions take them back; a
  // deduction from a student holding fewer points is refused (INSUFFICIENT_BALANCE).
  commands.clear();
  for (const Row& row : ReadCsv(data + "/student-awards-2026-11.csv")) {
    const std::string& points = row.at(3);
    const std::string id = "award:2026-11:" + row.at(0) + ":" + row.at(2);
    if (!points.empty() && points[0] == '-') {
      commands.push_back(Move(Base(id, actor, row.at(4)), &v1::Command::mutable_deduct, row.at(0),
                              "issuer:town", "POINTS", points.substr(1)));
    } else {
      commands.push_back(Move(Base(id, actor, row.at(4)), &v1::Command::mutable_earn, "issuer:town",
                              row.at(0), "POINTS", points));
    }
  }
  Run(ledger, std::move(commands), &tally, {Reason::kInsufficientBalance});

  // 4. The love supermarket: every student with points buys a bag of rice and a school bag;
  // volunteers do not hold POINTS yet (hours-for-goods comes with issue #6) and are refused.
  const auto catalog = ReadCsv(data + "/catalog.csv");
  commands.clear();
  std::set<std::string> students;
  for (const Row& row : ReadCsv(data + "/student-awards-2026-11.csv")) students.insert(row.at(0));
  for (const std::string& student : students) {
    for (const Row& item : {catalog.at(0), catalog.at(6)}) {
      commands.push_back(Move(Base("sale:2026-11-30:" + student + ":" + item.at(0), "收银台1",
                                   item.at(1) + " 1" + item.at(2)),
                              &v1::Command::mutable_redeem, student, "store:main", "POINTS",
                              item.at(3)));
    }
  }
  commands.push_back(Move(Base("sale:2026-11-30:V00001:SKU001", "收银台1", "大米 5kg 1袋"),
                          &v1::Command::mutable_redeem, "V00001", "store:main", "POINTS", "30.00"));
  Run(ledger, std::move(commands), &tally, {Reason::kInsufficientBalance});

  // Report.
  std::cout << "lovebank demo: 河头店镇 爱心银行 / 爱心超市, 2026-11\n\nOutcomes:\n";
  for (const auto& [reason, count] : tally.by_reason)
    std::cout << "  " << reason << ": " << count << "\n";
  std::cout << "  (of these, answered from an earlier run: " << tally.replayed << ")\n\n";

  std::vector<std::pair<Int128, std::string>> hours;
  for (const auto& [member, name] : names) {
    auto line = ledger.GetBalance(member, "HOURS");
    if (line.ok()) hours.emplace_back(line->balance.minor(), member);
  }
  std::sort(hours.rbegin(), hours.rend());
  std::cout << "Top volunteers by stored hours:\n";
  for (std::size_t i = 0; i < 5 && i < hours.size(); ++i) {
    std::cout << "  " << hours[i].second << " " << names[hours[i].second] << "  "
              << FormatAmount(Amount::FromMinor(hours[i].first), 2) << " h\n";
  }
  const std::string student = "S00854";
  std::cout << "\nStatement of " << student << " " << names[student] << " (newest first):\n";
  auto page = ledger.ListEntries(student, 10, "");
  if (page.ok()) {
    for (const auto& item : page->items) {
      std::cout << "  #" << item.seq << " " << Date(item.time_unix_us) << "  "
                << item.command.memo();
      for (const auto& leg : item.legs)
        std::cout << "  " << leg.amount << " " << leg.asset << " → " << leg.balance_after;
      std::cout << "\n";
    }
  }
  const Head head = ledger.GetHead();
  std::cout << "\nDigest to publish (公示): seq " << head.seq << " hash " << HashToHex(head.hash)
            << "\n";
  return tally.unexpected ? 1 : 0;
}

}  // namespace
}  // namespace lovebank

int main(int argc, char** argv) { return lovebank::Main(argc, argv); }
