// In-process durable commits: transfers submitted in groups of 1, 64 and 1024 commands, each
// group awaited until its group commit (one WriteBatch, one WAL fsync) has returned.
// Reported as transfers/s (items_per_second). Results: docs/benchmarks.md.

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "ledger/ledger.h"

namespace lovebank {
namespace {

constexpr int kAccounts = 1000;

// A ledger in a fresh directory with kAccounts members holding 1,000,000 POINTS each.
class BenchLedger {
 public:
  explicit BenchLedger(std::size_t batch_size_max = kBatchSizeMaxDefault) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lovebank-bench-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
    LedgerOptions options;
    options.path = path_;
    options.batch_size_max = batch_size_max;
    ledger_ = std::move(*Ledger::Open(options));
    const auto setup = bench::FundedProgramme(kAccounts, "1000000");
    for (const auto& outcome : ledger_->ExecuteMany(setup)) {
      if (!outcome.ok()) std::abort();
    }
  }
  ~BenchLedger() {
    ledger_.reset();
    std::filesystem::remove_all(path_);
  }
  Ledger& ledger() { return *ledger_; }

 private:
  std::string path_;
  std::unique_ptr<Ledger> ledger_;
};

// Items, counters and the CPU per transfer of the two pipeline stages (thread CPU: steadier
// than wall time on a shared machine, and it tells which stage limits).
void ReportTransfers(benchmark::State& state, std::int64_t refused, std::size_t batch,
                     std::size_t outstanding, std::size_t transfers,
                     const std::map<std::string, double>& cpu_before) {
  if (refused != 0) state.SkipWithError("transfers were refused");
  state.SetItemsProcessed(static_cast<std::int64_t>(transfers));
  state.counters["batch"] = static_cast<double>(batch);
  state.counters["outstanding"] = static_cast<double>(outstanding);
  auto cpu_after = bench::ThreadCpuSecondsByName();
  std::string client;  // the benchmark's own thread: building and submitting the commands
  std::getline(std::ifstream("/proc/thread-self/comm"), client);
  // RocksDB's background threads: flushes (high priority pool) and compactions (low).
  for (const auto& [thread, counter] :
       {std::pair<std::string, const char*>{"lb-sequencer", "seq_us"},
        {"lb-writer", "writer_us"},
        {"lb-tree", "tree_us"},
        {"rocksdb:high", "flush_us"},
        {"rocksdb:low", "compact_us"},
        {client, "client_us"}}) {
    const double before = cpu_before.count(thread) ? cpu_before.at(thread) : 0.0;
    state.counters[counter] = (cpu_after[thread] - before) * 1e6 / static_cast<double>(transfers);
  }
}

// range(0): commands per group (and per group commit: the sequencer takes at most that many).
// range(1): groups outstanding at once, as when several terminals or an importer submit
// together. With 1 the client waits for each commit before building the next group, so the
// sequencer idles while it does; with 4 the sequencer decides one batch while the writer thread
// writes the previous one.
void BM_DurableTransfers(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const auto outstanding = static_cast<std::size_t>(state.range(1));
  BenchLedger bench(batch);
  std::uint64_t next_id = 0;
  std::mt19937 random(42);
  std::atomic<std::int64_t> refused{0};
  const auto cpu_before = bench::ThreadCpuSecondsByName();
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::vector<v1::Command>> groups;
    for (std::size_t g = 0; g < outstanding; ++g)
      groups.push_back(bench::RandomTransfers(batch, kAccounts, &next_id, &random));
    state.ResumeTiming();
    std::mutex mu;
    std::condition_variable done;
    std::size_t remaining = outstanding;
    for (auto& group : groups) {
      bench.ledger().SubmitMany(std::move(group), [&](std::vector<Outcome> outcomes) {
        for (const Outcome& outcome : outcomes) refused += outcome.ok() ? 0 : 1;
        std::lock_guard<std::mutex> lock(mu);
        if (--remaining == 0) done.notify_one();
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    done.wait(lock, [&] { return remaining == 0; });
  }
  ReportTransfers(state, refused.load(), batch, outstanding,
                  state.iterations() * batch * outstanding, cpu_before);
}
// The same commits as a steady stream: `outstanding` groups are kept in flight all the time (a
// new one is submitted as soon as one completes), as when terminals keep a server busy, instead
// of each iteration submitting `outstanding` groups and waiting for all of them (which leaves the
// pipeline filling and draining once per iteration). One iteration is one group. The client
// thread builds each group while the others are in flight (request ids set on a copy of one of
// 16 prepared groups), so its cost competes with the ledger's threads as a server's would.
void BM_DurableTransfersSteady(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const auto outstanding = static_cast<std::size_t>(state.range(1));
  BenchLedger bench(batch);
  std::uint64_t next_id = 0;
  std::mt19937 random(42);
  std::vector<std::vector<v1::Command>> prepared;
  for (int i = 0; i < 16; ++i) {
    prepared.push_back(bench::RandomTransfers(batch, kAccounts, &next_id, &random));
  }
  std::atomic<std::int64_t> refused{0};
  std::mutex mu;
  std::condition_variable done;
  std::size_t in_flight = 0;
  std::size_t next_group = 0;
  const auto cpu_before = bench::ThreadCpuSecondsByName();
  for (auto _ : state) {
    std::vector<v1::Command> group = prepared[next_group++ % prepared.size()];
    for (auto& command : group) command.set_request_id("s" + std::to_string(next_id++));
    {
      std::unique_lock<std::mutex> lock(mu);
      done.wait(lock, [&] { return in_flight < outstanding; });
      ++in_flight;
    }
    bench.ledger().SubmitMany(std::move(group), [&](std::vector<Outcome> outcomes) {
      for (const Outcome& outcome : outcomes) refused += outcome.ok() ? 0 : 1;
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      done.notify_one();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    done.wait(lock, [&] { return in_flight == 0; });
  }
  ReportTransfers(state, refused.load(), batch, outstanding, state.iterations() * batch,
                  cpu_before);
}

BENCHMARK(BM_DurableTransfers)
    ->ArgNames({"batch", "outstanding"})
    ->Args({1, 1})
    ->Args({64, 1})
    ->Args({1024, 1})
    ->Args({1, 4})
    ->Args({64, 4})
    ->Args({1024, 4})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_DurableTransfersSteady)
    ->ArgNames({"batch", "outstanding"})
    ->Args({1024, 2})
    ->Args({1024, 4})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace lovebank

BENCHMARK_MAIN();
