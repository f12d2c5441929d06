// A ledger of a given size for the scale figures (issue #29 item 5): an issuer, `--members`
// members each opened and funded, then random member-to-member transfers until the journal holds
// `--entries` entries — written through the engine (real RocksDB, every entry chained and
// durable), in groups of 4,096 commands. lovebankd, the audit and the CLI then run on it
// (bench/scale.sh). Prints the rate it wrote at.
//
//   make_ledger --db DIR --members 1000000 --entries 10000000

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "CLI/CLI.hpp"
#include "bench/bench_util.h"
#include "ledger/ledger.h"

int main(int argc, char** argv) {
  using namespace lovebank;
  CLI::App app("make_ledger: a ledger of a given size, written through the engine");
  std::string db;
  int members = 10000;
  std::uint64_t entries = 1000000;
  app.add_option("--db", db, "the new ledger's directory (must not hold a ledger)")->required();
  // 100,000 POINTS each, within the issuer's budget of 999,999,999,999.
  app.add_option("--members", members, "members opened and funded")->check(CLI::Range(2, 9999999));
  app.add_option("--entries", entries, "journal entries in all (transfers make up the rest)");
  CLI11_PARSE(app, argc, argv);
  if (std::filesystem::exists(std::filesystem::path(db) / "CURRENT")) {
    std::fprintf(stderr, "make_ledger: %s already holds a ledger\n", db.c_str());
    return 2;
  }
  LedgerOptions options;
  options.path = db;
  auto opened = Ledger::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "make_ledger: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<Ledger> ledger = std::move(*opened);
  constexpr int kGroup = 4096;
  const auto started = std::chrono::steady_clock::now();
  auto run = [&](std::vector<v1::Command> commands) {
    for (const Outcome& outcome : ledger->ExecuteMany(std::move(commands))) {
      if (!outcome.ok()) {
        std::fprintf(stderr, "make_ledger: refused: %s\n", outcome.message.c_str());
        std::exit(1);
      }
    }
  };
  run(bench::FundedProgramme(0, "0"));  // the issuer alone
  for (int first = 0; first < members; first += kGroup / 2) {
    run(bench::FundedMembers(first, std::min(kGroup / 2, members - first), "100000"));
  }
  std::mt19937 random(7);
  std::uint64_t id = 0;
  for (std::uint64_t head = ledger->GetHead().seq; head < entries; head = ledger->GetHead().seq) {
    run(bench::RandomTransfers(std::min<std::uint64_t>(kGroup, entries - head), members, &id,
                               &random));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::uint64_t head = ledger->GetHead().seq;
  std::printf("make_ledger: %d members, %llu entries in %.1f s (%.0f entries/s)\n", members,
              static_cast<unsigned long long>(head), seconds, static_cast<double>(head) / seconds);
  return 0;
}
