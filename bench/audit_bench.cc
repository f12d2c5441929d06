// Audit replay throughput: a ledger of ~1,000,000 journal entries (10,000 members, random
// transfers) is built once through the engine, then audited: chain + hashes + decode + replay
// (journal only, as for an export file) and the full audit with every derived record compared.
// Reported as entries/s (items_per_second). Results: docs/benchmarks.md.

#include <cstdlib>
#include <filesystem>
#include <random>

#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "ledger/audit/audit.h"
#include "ledger/ledger.h"
#include "ledger/storage/store.h"

namespace lovebank {
namespace {

constexpr int kMembers = 10000;
constexpr std::uint64_t kEntriesTarget = 1000000;

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
    auto setup = bench::FundedProgramme(kMembers, "100000");
    ledger->ExecuteMany(std::move(setup));
    std::mt19937 random(7);
    std::uint64_t id = 0;
    while (ledger->GetHead().seq < kEntriesTarget) {
      auto group = bench::RandomTransfers(8192, kMembers, &id, &random);
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
  double reader_seconds = 0;
  double replay_seconds = 0;
  for (auto _ : state) {
    auto source = std::move(*audit::StoreSource(*store));
    audit::Options options;
    // As lovebank-audit --file does: the journal can be read again, so the fast pass applies.
    options.reopen = [&store]() { return audit::StoreSource(*store); };
    auto report = audit::Run(*source, compare_store ? store.get() : nullptr, options);
    if (!report.ok() || !report->clean()) state.SkipWithError("the audit did not come out clean");
    entries += report->entries;
    reader_seconds += report->reader_cpu_seconds;
    replay_seconds += report->replay_cpu_seconds;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(entries));
  state.counters["entries"] = static_cast<double>(entries / state.iterations());
  // CPU per entry of the two pipeline stages: the busier one bounds entries/s, and unlike wall
  // time it barely moves with this shared machine's load.
  state.counters["reader_us"] = reader_seconds * 1e6 / static_cast<double>(entries);
  state.counters["replay_us"] = replay_seconds * 1e6 / static_cast<double>(entries);
}

void BM_AuditJournalOnly(benchmark::State& state) { Audit(state, false); }
void BM_AuditWithStore(benchmark::State& state) { Audit(state, true); }
BENCHMARK(BM_AuditJournalOnly)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_AuditWithStore)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace lovebank

BENCHMARK_MAIN();
