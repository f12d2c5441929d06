// The sequencer under concurrent load: 8 threads of random transfers checked against a
// reference model, a hot account drained by 8 spenders (invariants 1, 5, 7; STYLE.md 13), and
// group commit: what arrives during a sync goes into the next write, whole.

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "rocksdb/file_system.h"
#include "tests/gate_fs.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using testing::Earn;
using testing::GateFs;
using testing::OpenLedger;
using testing::TempDir;
using testing::Transfer;

constexpr int kThreads = 8;
constexpr int kTransfersPerThread = 10000;
constexpr int kAccounts = 100;
constexpr int kGroup = 250;  // commands per SubmitMany: many threads' groups share each commit

struct Attempt {
  int from = 0;
  int to = 0;
  long long minor = 0;
  Outcome outcome;
};

TEST(Concurrency, RandomTransfersConserveValueAndMatchAReferenceModel) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  testing::OpenProgramme(*ledger, kAccounts);
  // Every account starts with 100.00 POINTS: 10,000 minor units.
  std::vector<v1::Command> seed;
  for (int i = 1; i <= kAccounts; ++i) {
    seed.push_back(
        Earn("seed:" + std::to_string(i), "issuer:town", "m" + std::to_string(i), "100"));
  }
  for (const auto& outcome : ledger->ExecuteMany(seed)) ASSERT_TRUE(outcome.ok());
  const std::uint64_t start_seq = ledger->GetHead().seq;

  std::vector<std::vector<Attempt>> attempts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(1000 + t);
      auto& mine = attempts[t];
      mine.resize(kTransfersPerThread);
      for (int base = 0; base < kTransfersPerThread; base += kGroup) {
        std::vector<v1::Command> group;
        for (int i = base; i < base + kGroup; ++i) {
          Attempt& attempt = mine[i];
          attempt.from = 1 + static_cast<int>(random() % kAccounts);
          do {
            attempt.to = 1 + static_cast<int>(random() % kAccounts);
          } while (attempt.to == attempt.from);
          // Up to 60.00: large enough that a fair share of transfers are refused.
          attempt.minor = 1 + static_cast<long long>(random() % 6000);
          group.push_back(Transfer(
              "t" + std::to_string(t) + ":" + std::to_string(i), "m" + std::to_string(attempt.from),
              "m" + std::to_string(attempt.to), FormatAmount(Amount::FromMinor(attempt.minor), 2)));
        }
        auto outcomes = ledger->ExecuteMany(std::move(group));
        for (int i = 0; i < kGroup; ++i) mine[base + i].outcome = std::move(outcomes[i]);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  // Reference model: replay accepted transfers in seq order, and check each refusal against the
  // model state at the head it was judged against (decided_at_seq).
  std::map<std::uint64_t, const Attempt*> accepted;
  std::multimap<std::uint64_t, const Attempt*> refused;
  int accepted_count = 0;
  for (const auto& mine : attempts) {
    for (const auto& attempt : mine) {
      if (attempt.outcome.ok()) {
        ASSERT_TRUE(accepted.emplace(attempt.outcome.receipt.seq, &attempt).second);
        ++accepted_count;
      } else {
        ASSERT_EQ(ReasonName(attempt.outcome.reason), ReasonName(Reason::kInsufficientBalance))
            << attempt.outcome.message;
        refused.emplace(attempt.outcome.decided_at_seq, &attempt);
      }
    }
  }
  ASSERT_GT(accepted_count, kThreads * kTransfersPerThread / 4);
  ASSERT_GT(refused.size(), 0u);
  std::vector<long long> model(kAccounts + 1, 10000);
  auto check_refusals_at = [&](std::uint64_t seq) {
    auto [begin, end] = refused.equal_range(seq);
    for (auto it = begin; it != end; ++it) {
      EXPECT_LT(model[it->second->from], it->second->minor)
          << "refused although covered at " << seq;
    }
  };
  check_refusals_at(start_seq);
  std::uint64_t expected_seq = start_seq + 1;
  for (const auto& [seq, attempt] : accepted) {
    ASSERT_EQ(seq, expected_seq++) << "accepted entries are contiguous";
    ASSERT_GE(model[attempt->from], attempt->minor) << "overdraft accepted at seq " << seq;
    model[attempt->from] -= attempt->minor;
    model[attempt->to] += attempt->minor;
    check_refusals_at(seq);
    // The receipt's balances are the model's.
    const auto& after = attempt->outcome.receipt.balances_after;
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(after[0].balance.minor(), Int128(model[attempt->from]));
    EXPECT_EQ(after[1].balance.minor(), Int128(model[attempt->to]));
  }
  EXPECT_EQ(ledger->GetHead().seq, expected_seq - 1);
  long long total = 0;
  for (int i = 1; i <= kAccounts; ++i) {
    auto line = ledger->GetBalance("m" + std::to_string(i), "POINTS");
    ASSERT_TRUE(line.ok());
    EXPECT_EQ(line->balance.minor(), Int128(model[i])) << "m" << i;
    EXPECT_GE(model[i], 0);
    total += model[i];
  }
  EXPECT_EQ(total, 10000LL * kAccounts);  // conservation
  EXPECT_EQ(ledger->GetBalance("issuer:town", "POINTS")->balance.minor(),
            Int128(-10000LL * kAccounts));

  // The same state after a reopen, and every retry replays instead of applying again.
  ledger.reset();
  ledger = OpenLedger(dir.path());
  const auto& first = attempts[0][0];
  const Outcome retry = ledger->Execute(Transfer("t0:0", "m" + std::to_string(first.from),
                                                 "m" + std::to_string(first.to),
                                                 FormatAmount(Amount::FromMinor(first.minor), 2)));
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.reason, first.outcome.reason);
  for (int i = 1; i <= kAccounts; ++i) {
    EXPECT_EQ(ledger->GetBalance("m" + std::to_string(i), "POINTS")->balance.minor(),
              Int128(model[i]));
  }
}

TEST(Concurrency, AHotAccountDrainedByEightSpendersNeverGoesBelowZero) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  testing::OpenProgramme(*ledger, 1);
  ASSERT_TRUE(ledger->Execute(Earn("fill", "issuer:town", "m1", "1000")).ok());
  constexpr int kSpendsPerThread = 200;  // 1,600 attempts of 1.00 against 1,000.00
  std::atomic<int> ok{0}, insufficient{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSpendsPerThread; ++i) {
        const Outcome outcome = ledger->Execute(testing::Redeem(
            "spend:" + std::to_string(t) + ":" + std::to_string(i), "m1", "store:main", "1"));
        if (outcome.ok()) {
          ++ok;
          EXPECT_GE(outcome.receipt.balances_after[0].balance.minor(), 0);
        } else if (outcome.reason == Reason::kInsufficientBalance) {
          ++insufficient;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 1000);
  EXPECT_EQ(insufficient.load(), kThreads * kSpendsPerThread - 1000);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ledger->GetBalance("m1", "POINTS")->decimal, "0.00");
  EXPECT_EQ(ledger->GetBalance("store:main", "POINTS")->decimal, "1000.00");
}

// Waits until every submitted command is taken from the queue (decided), at most ~20 s.
void AwaitQueueEmpty(Ledger& ledger) {
  for (int spin = 0; ledger.metrics().queue_depth != 0; ++spin) {
    ASSERT_LT(spin, 20000) << "a command left in the queue";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Declared after the ledger: the gate opens before the ledger closes (its writer may be held).
struct OpenOnExit {
  GateFs* fs;
  ~OpenOnExit() { fs->Open(); }
};

// Issue #29: the commands that arrive while the writer syncs a batch are decided as they come
// and all go into the writer's next write -- one more fsync for all of them, not a small batch
// each waiting behind the one before (which made 4 clients wait for two or three fsyncs).
TEST(Concurrency, CommandsArrivingDuringASyncAllGoIntoTheNextWrite) {
  TempDir dir;
  auto fs = std::make_shared<GateFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::mutex mu;  // the callbacks' state outlives the ledger, which may answer as it closes
  std::condition_variable answered;
  std::vector<Outcome> outcomes;
  // The writer thread's path: a lone write held there while the sequencer decides on.
  auto ledger = OpenLedger(dir.path(), env.get(), /*lone_batches_on_sequencer=*/false);
  // Whatever happens, the gate opens before the ledger closes (its writer may be held).
  const OpenOnExit open_on_exit{fs.get()};
  testing::OpenProgramme(*ledger, 12);
  ASSERT_TRUE(ledger->Execute(Earn("fill", "issuer:town", "m1", "100")).ok());
  const Ledger::Metrics before = ledger->metrics();
  auto submit = [&](int i) {
    ledger->Submit(Transfer("t" + std::to_string(i), "m1", "m" + std::to_string(i + 1), "1"),
                   [&](Outcome outcome) {
                     std::lock_guard lock(mu);
                     outcomes.push_back(std::move(outcome));
                     answered.notify_all();
                   });
  };
  fs->Close();
  submit(1);  // the writer takes it alone and waits inside its fsync
  ASSERT_TRUE(fs->AwaitHeld());
  // Ten callers, one command each, while that fsync lasts. Each is taken and decided before the
  // next comes (the queue empties with the writer held): a sequencer that seals a second batch
  // and then waits for the writer leaves the third in the queue.
  constexpr int kLater = 10;
  for (int i = 2; i <= kLater + 1; ++i) {
    submit(i);
    SCOPED_TRACE("command " + std::to_string(i) + " while the writer syncs");
    ASSERT_NO_FATAL_FAILURE(AwaitQueueEmpty(*ledger));
  }
  EXPECT_EQ(ledger->metrics().batches, before.batches);  // nothing written yet
  fs->Open();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(answered.wait_for(lock, std::chrono::seconds(60),
                                  [&] { return outcomes.size() == kLater + 1; }));
  }
  for (const Outcome& outcome : outcomes) EXPECT_TRUE(outcome.ok()) << outcome.message;
  const Ledger::Metrics after = ledger->metrics();
  // Two writes: the first command's, then the ten in one.
  EXPECT_EQ(after.batches - before.batches, 2u);
  EXPECT_EQ(after.entries - before.entries, static_cast<std::uint64_t>(kLater + 1));
  EXPECT_EQ(ledger->GetBalance("m1", "POINTS")->decimal, "89.00");
}

// Issue #29: a lone command (nothing queued, nothing else being written or answered) is written
// and answered by the sequencer itself: no hand-off to the writer thread, whose wake-up and two
// context switches cost more CPU here than the batch's own decisions. With the option off, the
// writer thread writes and answers it.
TEST(Concurrency, ALoneCommandIsWrittenAndAnsweredOnTheSequencerThread) {
  for (const bool on_sequencer : {true, false}) {
    SCOPED_TRACE(on_sequencer ? "lone batches on the sequencer" : "every batch on the writer");
    TempDir dir;
    auto ledger = OpenLedger(dir.path(), nullptr, on_sequencer);
    testing::OpenProgramme(*ledger, 2);
    ASSERT_TRUE(ledger->Execute(Earn("fill", "issuer:town", "m1", "10")).ok());
    // Execute returns from inside the fill's answer; the thread that answers it finishes that
    // batch a moment later, and only then is nothing else in flight. A relative sleep: the
    // answering thread has a few lines left.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::promise<std::string> answered_on;
    ledger->Submit(Transfer("t", "m1", "m2", "1"), [&answered_on](Outcome outcome) {
      EXPECT_TRUE(outcome.ok()) << outcome.message;
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof name);
      answered_on.set_value(name);
    });
    EXPECT_EQ(answered_on.get_future().get(), on_sequencer ? "lb-sequencer" : "lb-writer");
    EXPECT_EQ(ledger->GetBalance("m2", "POINTS")->decimal, "1.00");
  }
}

// While the sequencer syncs a lone command itself, the commands that come meanwhile wait in
// the queue (nothing decides them during that sync) and then all go into one write after it.
TEST(Concurrency, CommandsQueuedDuringALoneWriteOnTheSequencerGoIntoOneWrite) {
  TempDir dir;
  auto fs = std::make_shared<GateFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::mutex mu;  // the callbacks' state outlives the ledger
  std::condition_variable answered;
  std::vector<std::string> order;
  auto ledger = OpenLedger(dir.path(), env.get());
  const OpenOnExit open_on_exit{fs.get()};
  testing::OpenProgramme(*ledger, 12);
  ASSERT_TRUE(ledger->Execute(Earn("fill", "issuer:town", "m1", "100")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the fill's batch finished
  const Ledger::Metrics before = ledger->metrics();
  auto submit = [&](int i) {
    const std::string id = "t" + std::to_string(i);
    ledger->Submit(Transfer(id, "m1", "m" + std::to_string(i + 1), "1"), [&, id](Outcome outcome) {
      EXPECT_TRUE(outcome.ok()) << id << " " << outcome.message;
      std::lock_guard lock(mu);
      order.push_back(id);
      answered.notify_all();
    });
  };
  fs->Close();
  submit(1);  // the sequencer writes it itself and waits inside its fsync
  ASSERT_TRUE(fs->AwaitHeld());
  constexpr int kLater = 10;
  for (int i = 2; i <= kLater + 1; ++i) submit(i);
  EXPECT_EQ(ledger->metrics().queue_depth, static_cast<std::size_t>(kLater))
      << "commands were decided during the lone write: it is not on the sequencer";
  fs->Open();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(answered.wait_for(lock, std::chrono::seconds(60),
                                  [&] { return order.size() == kLater + 1; }));
    EXPECT_EQ(order.front(), "t1");
  }
  const Ledger::Metrics after = ledger->metrics();
  EXPECT_EQ(after.batches - before.batches, 2u);  // the lone command's, then the ten in one
  EXPECT_EQ(after.entries - before.entries, static_cast<std::uint64_t>(kLater + 1));
  EXPECT_EQ(ledger->GetBalance("m1", "POINTS")->decimal, "89.00");
}

// Declared after the ledger in a test that holds a sync or an answer: opens the gate and
// releases the held answer before the ledger closes, whatever the test's assertions did.
struct ReleaseOnExit {
  GateFs* fs;
  std::mutex* mu;
  std::condition_variable* changed;
  bool* release;
  ~ReleaseOnExit() {
    fs->Open();
    {
      std::lock_guard lock(*mu);
      *release = true;
    }
    changed->notify_all();
  }
};

// Issue #29: answering callers (a gRPC answer is a sendmsg each) does not hold up the next
// write. When more commands are waiting, the writer hands a written batch's callbacks to the
// completer thread and syncs the next batch at once; callers are still answered in the order
// their batches were written.
TEST(Concurrency, ASlowAnswerDoesNotHoldTheNextWriteAndAnswersKeepTheirOrder) {
  TempDir dir;
  auto fs = std::make_shared<GateFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::mutex mu;  // the callbacks' state outlives the ledger
  std::condition_variable changed;
  bool release_first = false;
  std::vector<std::string> answered;
  // The writer thread's path: a lone write held there while the sequencer decides on.
  auto ledger = OpenLedger(dir.path(), env.get(), /*lone_batches_on_sequencer=*/false);
  // Whatever happens, nothing stays held when the ledger closes.
  const ReleaseOnExit release_on_exit{fs.get(), &mu, &changed, &release_first};
  testing::OpenProgramme(*ledger, 3);
  ASSERT_TRUE(ledger->Execute(Earn("fill", "issuer:town", "m1", "100")).ok());
  const std::uint64_t start = ledger->GetHead().seq;

  fs->Close();
  // The first caller's answer takes as long as the test likes (a slow client connection).
  ledger->Submit(Transfer("first", "m1", "m2", "1"), [&](Outcome outcome) {
    EXPECT_TRUE(outcome.ok()) << outcome.message;
    std::unique_lock lock(mu);
    changed.wait(lock, [&] { return release_first; });
    answered.push_back("first");
    changed.notify_all();
  });
  ASSERT_TRUE(fs->AwaitHeld());
  ledger->Submit(Transfer("second", "m1", "m3", "1"), [&](Outcome outcome) {
    EXPECT_TRUE(outcome.ok()) << outcome.message;
    std::lock_guard lock(mu);
    answered.push_back("second");
    changed.notify_all();
  });
  for (int spin = 0; ledger->metrics().queue_depth != 0; ++spin) {  // decided, waiting
    ASSERT_LT(spin, 20000);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  fs->Open();
  // Both entries become durable while the first answer is still held.
  const Head head = ledger->WaitForHead(start + 1, absl::Seconds(60));
  ASSERT_EQ(head.seq, start + 2) << "the second write waited for the first batch's answer";
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(answered.empty()) << "the second caller was answered before the first";
    release_first = true;
  }
  changed.notify_all();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(
        changed.wait_for(lock, std::chrono::seconds(60), [&] { return answered.size() == 2; }));
  }
  EXPECT_EQ(answered, (std::vector<std::string>{"first", "second"}));
}

// A write that fails with commands behind it: every command is refused LEDGER_UNAVAILABLE, the
// ledger refuses writes until reopened, and after the reopen nothing of the later commands is
// there — the failed write's own entry may surface (its bytes reached the WAL before the sync
// failed), once. On the writer thread, the later commands are decided on top of the failed one
// (the next batch open, not yet sealed); on the sequencer (a lone write there), they are queued.
void AWriteThatFailsRefusesTheCommandsBehindIt(bool lone_batches_on_sequencer) {
  TempDir dir;
  auto fs = std::make_shared<GateFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::mutex mu;  // the callbacks' state outlives the ledger
  std::condition_variable changed;
  bool unused = false;
  std::map<std::string, Outcome> outcomes;
  auto ledger = OpenLedger(dir.path(), env.get(), lone_batches_on_sequencer);
  const ReleaseOnExit release_on_exit{fs.get(), &mu, &changed, &unused};
  testing::OpenProgramme(*ledger, 5);
  ASSERT_TRUE(ledger->Execute(Earn("fill", "issuer:town", "m1", "100")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the fill's batch finished
  const Head head = ledger->GetHead();
  auto points = [&ledger](const std::string& account) {
    auto line = ledger->GetBalance(account, "POINTS");
    return line.ok() ? line->decimal : std::string(line.status().message());
  };
  std::vector<v1::Command> commands;
  for (int i = 2; i <= 5; ++i) {
    commands.push_back(Transfer("t" + std::to_string(i), "m1", "m" + std::to_string(i), "1"));
  }
  auto submit = [&](const v1::Command& command) {
    ledger->Submit(command, [&, id = command.request_id()](Outcome outcome) {
      std::lock_guard lock(mu);
      outcomes.emplace(id, std::move(outcome));
      changed.notify_all();
    });
  };
  fs->Close();
  submit(commands[0]);  // written alone, its sync held
  ASSERT_TRUE(fs->AwaitHeld());
  for (std::size_t i = 1; i < commands.size(); ++i) submit(commands[i]);
  if (lone_batches_on_sequencer) {  // queued: the sequencer is inside the held sync
    EXPECT_EQ(ledger->metrics().queue_depth, commands.size() - 1);
  } else {  // decided into the open batch
    ASSERT_NO_FATAL_FAILURE(AwaitQueueEmpty(*ledger));
  }
  fs->fail_held = true;
  fs->Open();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(60),
                                 [&] { return outcomes.size() == commands.size(); }));
    for (const auto& [id, outcome] : outcomes) {
      EXPECT_EQ(ReasonName(outcome.reason), ReasonName(Reason::kLedgerUnavailable)) << id;
    }
  }
  EXPECT_TRUE(ledger->failed());
  EXPECT_EQ(ledger->GetHead().seq, head.seq);
  EXPECT_EQ(points("m1"), "100.00");
  EXPECT_EQ(ledger->Execute(Transfer("after", "m1", "m2", "1")).reason, Reason::kLedgerUnavailable);
  fs->fail_held = false;
  ledger.reset();

  ledger = OpenLedger(dir.path(), env.get());
  ASSERT_TRUE(ledger);
  const bool surfaced = ledger->GetHead().seq == head.seq + 1;
  EXPECT_LE(ledger->GetHead().seq, head.seq + 1) << "nothing of the open batch was written";
  EXPECT_EQ(points("m1"), surfaced ? "99.00" : "100.00");
  for (int i = 3; i <= 5; ++i) {
    EXPECT_EQ(points("m" + std::to_string(i)), "0.00");
  }
  // Retried, each settles exactly once.
  for (const Outcome& outcome : ledger->ExecuteMany(commands)) EXPECT_TRUE(outcome.ok());
  EXPECT_EQ(points("m1"), "96.00");
  EXPECT_EQ(ledger->GetHead().seq, head.seq + commands.size());
}

TEST(Concurrency, AWriteThatFailsWhileTheNextBatchIsOpenRefusesBoth) {
  AWriteThatFailsRefusesTheCommandsBehindIt(/*lone_batches_on_sequencer=*/false);
}

TEST(Concurrency, ALoneWriteThatFailsOnTheSequencerRefusesTheCommandsQueuedBehindIt) {
  AWriteThatFailsRefusesTheCommandsBehindIt(/*lone_batches_on_sequencer=*/true);
}

// Four transfers from m1 with the first one's answer held at the completer: a written (its
// answer held), b written (its answers behind a's), c written (the writer holds its answers:
// two batches already wait, ledger_impl.h kCompletingMax), d sealed behind it, not written.
class AnAnswerHeld : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = OpenLedger(dir_.path(), env_.get(), /*lone_batches_on_sequencer=*/false);
    testing::OpenProgramme(*ledger_, 5);
    ASSERT_TRUE(ledger_->Execute(Earn("fill", "issuer:town", "m1", "100")).ok());
    start_ = ledger_->GetHead().seq;
    fs_->Close();
    Submit("a", "m2", /*hold=*/true);
    ASSERT_TRUE(fs_->AwaitHeld());
    Submit("b", "m3");  // decided while a syncs: a's answers go to the completer
    ASSERT_NO_FATAL_FAILURE(AwaitQueueEmpty(*ledger_));
    fs_->Open();
    ASSERT_EQ(ledger_->WaitForHead(start_ + 1, absl::Seconds(60)).seq, start_ + 2);
    Submit("c", "m4");  // written; two batches already wait for answers: the writer waits
    ASSERT_EQ(ledger_->WaitForHead(start_ + 2, absl::Seconds(60)).seq, start_ + 3);
    Submit("d", "m5");  // sealed, but the writer holds c's answers: not written
    ASSERT_NO_FATAL_FAILURE(AwaitQueueEmpty(*ledger_));
    // A relative sleep, not a timed wait on the head: absl's timed waits take an absolute
    // deadline, which never comes under faketime (the suite runs at other dates too).
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  void Submit(const std::string& id, const std::string& to, bool hold = false) {
    ledger_->Submit(Transfer(id, "m1", to, "1"), [this, id, hold](Outcome outcome) {
      EXPECT_TRUE(outcome.ok()) << id << " " << outcome.message;
      std::unique_lock lock(mu_);
      if (hold) changed_.wait(lock, [this] { return release_first_; });
      answered_.push_back(id);
      changed_.notify_all();
    });
  }
  void ReleaseFirst() {
    {
      std::lock_guard lock(mu_);
      release_first_ = true;
    }
    changed_.notify_all();
  }
  std::vector<std::string> Answered() {
    std::lock_guard lock(mu_);
    return answered_;
  }

  TempDir dir_;
  std::shared_ptr<GateFs> fs_ = std::make_shared<GateFs>();
  std::unique_ptr<rocksdb::Env> env_ = rocksdb::NewCompositeEnv(fs_);
  std::mutex mu_;  // the callbacks' state outlives the ledger
  std::condition_variable changed_;
  bool release_first_ = false;
  std::vector<std::string> answered_;
  std::uint64_t start_ = 0;
  std::unique_ptr<Ledger> ledger_;
  // Whatever happens, nothing stays held when the ledger closes (destroyed before it).
  const ReleaseOnExit release_on_exit_{fs_.get(), &mu_, &changed_, &release_first_};
};

// The limit on written batches waiting for their answers: the backlog cannot grow past it.
TEST_F(AnAnswerHeld, WrittenBatchesWaitingForTheirAnswersAreBounded) {
  EXPECT_EQ(ledger_->GetHead().seq, start_ + 3);
  EXPECT_TRUE(Answered().empty());
  ReleaseFirst();
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(changed_.wait_for(lock, std::chrono::seconds(60),
                                  [this] { return answered_.size() == 4; }));
  }
  EXPECT_EQ(Answered(), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(ledger_->GetHead().seq, start_ + 4);
}

// Closing the ledger meanwhile: the close waits for the held answer, then writes and answers
// everything it was given, in order, instead of dropping the rest.
TEST_F(AnAnswerHeld, ClosingTheLedgerAnswersEveryWrittenBatchInOrder) {
  ASSERT_EQ(ledger_->GetHead().seq, start_ + 3);
  std::atomic<bool> closed{false};
  std::thread closer([this, &closed] {
    ledger_.reset();
    closed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // relative time (faketime)
  EXPECT_FALSE(closed.load()) << "the close waits for the held answer";
  EXPECT_TRUE(Answered().empty());
  ReleaseFirst();
  closer.join();
  EXPECT_EQ(Answered(), (std::vector<std::string>{"a", "b", "c", "d"}));
  ledger_ = OpenLedger(dir_.path(), env_.get());
  ASSERT_TRUE(ledger_);
  EXPECT_EQ(ledger_->GetHead().seq, start_ + 4);
  EXPECT_EQ(ledger_->GetBalance("m1", "POINTS")->decimal, "96.00");
}

}  // namespace
}  // namespace lovebank
