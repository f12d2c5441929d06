// In-process durable commits: transfers submitted in groups of 1, 64 and 1024 commands, each
// group awaited until its group commit (one WriteBatch, one WAL fsync) has returned.
// Reported as transfers/s (items_per_second). Results: docs/benchmarks.md.

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>

#include "benchmark/benchmark.h"
#include "ledger/ledger.h"

namespace lovebank {
namespace {

constexpr int kAccounts = 1000;

v1::Command Command(const std::string& id) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("bench");
  return command;
}

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
    std::vector<v1::Command> setup;
    auto issuer = Command("open:issuer");
    issuer.mutable_open_account()->set_account("issuer");
    issuer.mutable_open_account()->set_kind(v1::ACCOUNT_KIND_ISSUER);
    issuer.mutable_open_account()->set_display_name("镇爱心银行");
    auto* budget = issuer.mutable_open_account()->add_budgets();
    budget->set_asset("POINTS");
    budget->set_amount("999999999999");
    setup.push_back(issuer);
    for (int i = 0; i < kAccounts; ++i) {
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
      move->set_amount("1000000");
      setup.push_back(earn);
    }
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

std::vector<v1::Command> Transfers(std::size_t count, std::uint64_t* next_id,
                                   std::mt19937* random) {
  std::vector<v1::Command> commands;
  commands.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto command = Command("t" + std::to_string((*next_id)++));
    command.set_memo("转赠");
    auto* move = command.mutable_transfer();
    const int from = static_cast<int>((*random)() % kAccounts);
    const int to = (from + 1 + static_cast<int>((*random)() % (kAccounts - 1))) % kAccounts;
    move->set_from("m" + std::to_string(from));
    move->set_to("m" + std::to_string(to));
    move->set_asset("POINTS");
    move->set_amount("1.25");
    commands.push_back(std::move(command));
  }
  return commands;
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
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::vector<v1::Command>> groups;
    for (std::size_t g = 0; g < outstanding; ++g)
      groups.push_back(Transfers(batch, &next_id, &random));
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
  if (refused.load() != 0) state.SkipWithError("transfers were refused");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch * outstanding));
  state.counters["batch"] = static_cast<double>(batch);
  state.counters["outstanding"] = static_cast<double>(outstanding);
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

}  // namespace
}  // namespace lovebank

BENCHMARK_MAIN();
