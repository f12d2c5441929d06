// Audit replay throughput: a ledger of ~1,000,000 journal entries (10,000 members, random
// transfers) is built once through the engine, then audited: chain + hashes + decode + replay
// (journal only, as for an export file) and the full audit with every derived record compared.
// Reported as entries/s (items_per_second). Results: docs/benchmarks.md.

#include <cstdlib>
#include <filesystem>
#include <random>

#include "benchmark/benchmark.h"
#include "ledger/audit/audit.h"
#include "ledger/ledger.h"
#include "ledger/store.h"

namespace lovebank {
namespace {

constexpr int kMembers = 10000;
constexpr std::uint64_t kEntriesTarget = 1000000;

v1::Command Command(std::string id) {
  v1::Command command;
  command.set_request_id(std::move(id));
  command.set_actor("bench");
  return command;
}

// Builds the ledger once per process, removed at exit; or, with LOVEBANK_AUDIT_BENCH_LEDGER=DIR,
// builds it there once and keeps it for later runs (and for profiling lovebank-audit on it).
const std::string& LedgerPath() {
  static const std::string path = [] {
    if (const char* kept = std::getenv("LOVEBANK_AUDIT_BENCH_LEDGER")) {
      if (std::filesystem::exists(std::filesystem::path(kept) / "CURRENT"))
        return std::string(kept);
    }
    std::string made;
    if (const char* kept = std::getenv("LOVEBANK_AUDIT_BENCH_LEDGER")) {
      made = kept;
    } else {
      std::string pattern =
          (std::filesystem::temp_directory_path() / "lovebank-audit-bench-XXXXXX").string();
      made = mkdtemp(pattern.data());
      std::atexit([] { std::filesystem::remove_all(LedgerPath()); });
    }
    LedgerOptions options;
    options.path = made;
    auto ledger = std::move(*Ledger::Open(options));
    std::vector<v1::Command> setup;
    auto issuer = Command("open:issuer");
    issuer.mutable_open_account()->set_account("issuer");
    issuer.mutable_open_account()->set_kind(v1::ACCOUNT_KIND_ISSUER);
    issuer.mutable_open_account()->set_display_name("镇爱心银行");
    auto* budget = issuer.mutable_open_account()->add_budgets();
    budget->set_asset("POINTS");
    budget->set_amount("999999999999");
    setup.push_back(issuer);
    for (int i = 0; i < kMembers; ++i) {
      auto open = Command("open:" + std::to_string(i));
      open.mutable_open_account()->set_account("m" + std::to_string(i));
      open.mutable_open_account()->set_kind(v1::ACCOUNT_KIND_MEMBER);
      open.mutable_open_account()->set_display_name("志愿者" + std::to_string(i));
      setup.push_back(open);
      auto earn = Command("fund:" + std::to_string(i));
      auto* move = earn.mutable_earn();
      move->set_from("issuer");
      move->set_to("m" + std::to_string(i));
      move->set_asset("POINTS");
      move->set_amount("100000");
      setup.push_back(earn);
    }
    ledger->ExecuteMany(std::move(setup));
    std::mt19937 random(7);
    std::uint64_t id = 0;
    while (ledger->GetHead().seq < kEntriesTarget) {
      std::vector<v1::Command> group;
      for (int i = 0; i < 8192; ++i) {
        auto command = Command("t" + std::to_string(id++));
        command.set_memo("转赠");
        auto* move = command.mutable_transfer();
        const int from = static_cast<int>(random() % kMembers);
        move->set_from("m" + std::to_string(from));
        move->set_to("m" + std::to_string((from + 1 + random() % (kMembers - 1)) % kMembers));
        move->set_asset("POINTS");
        move->set_amount("1.25");
        group.push_back(std::move(command));
      }
      ledger->ExecuteMany(std::move(group));
    }
    return made;
  }();
  return path;
}

void Audit(benchmark::State& state, bool compare_store) {
  StoreOptions read_only;
  read_only.read_only = true;
  auto store = std::move(*Store::Open(LedgerPath(), read_only));
  std::uint64_t entries = 0;
  for (auto _ : state) {
    auto source = std::move(*audit::StoreSource(*store));
    audit::Options options;
    // As lovebank-audit --file does: the journal can be read again, so the fast pass applies.
    options.reopen = [&store]() { return audit::StoreSource(*store); };
    auto report = audit::Run(*source, compare_store ? store.get() : nullptr, options);
    if (!report.ok() || !report->clean()) state.SkipWithError("the audit did not come out clean");
    entries += report->entries;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(entries));
  state.counters["entries"] = static_cast<double>(entries / state.iterations());
}

void BM_AuditJournalOnly(benchmark::State& state) { Audit(state, false); }
void BM_AuditWithStore(benchmark::State& state) { Audit(state, true); }
BENCHMARK(BM_AuditJournalOnly)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_AuditWithStore)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace lovebank

BENCHMARK_MAIN();
