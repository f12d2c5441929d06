#pragma once
// Ledger::Impl: the sequencer, writer and completer threads, and the store the queries read.
// Internal to ledger/.

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ledger/engine/engine.h"
#include "ledger/format/journal_format.h"
#include "ledger/ledger.h"
#include "ledger/storage/store.h"
#include "ledger/tree.h"

namespace lovebank {

class Ledger::Impl {
 public:
  // A command waiting in the queue. States: queued (in queue_) -> taken and decided into the
  // sequencer's open batch (Engine::Apply) -> sealed with it -> completed (done called after
  // the write, by the thread that wrote it or the completer thread).
  struct Pending {
    // Takes `submitted` with its serialization and fingerprint, made once here.
    void SetCommand(v1::Command submitted) {
      serialized = SerializeCommand(submitted);
      fingerprint = FingerprintOfSerialized(serialized);
      command = std::move(submitted);
    }
    v1::Command command;
    std::string serialized;  // SerializeCommand(command): hashed for the fingerprint, journaled
    std::string fingerprint;
    Callback done;
    // On the first command of an all-or-nothing group: the group's size (the sequencer decides
    // the group inside one batch and keeps all of it or none). 0 otherwise.
    std::size_t group_size = 0;
    std::chrono::steady_clock::time_point queued;  // for Metrics::commit_us
  };

  // Ledger::Metrics, counted as commands are refused and batches written.
  void CountRefusal(Reason reason) {
    const auto value = static_cast<std::uint32_t>(reason);
    if (value < kReasonValueEnd) metric_refusals[value].fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<std::uint64_t> metric_batches{0};
  std::atomic<std::uint64_t> metric_entries{0};
  std::atomic<std::uint64_t> metric_commands{0};
  std::array<std::atomic<std::uint64_t>, kReasonValueEnd> metric_refusals{};
  Histogram metric_batch_commands{kBatchSizeBounds};
  Histogram metric_commit_us{kLatencyBoundsUs};
  Histogram metric_sync_us{kLatencyBoundsUs};

  LedgerOptions options;
  std::unique_ptr<Store> store;
  std::string ledger_id;
  // Null when read-only. Touched by whoever has the sequencer's role: its thread, or a caller it
  // is lent to (RunLone), one at a time, handed over under mu_.
  std::unique_ptr<Engine> engine;
  // The Merkle tree's builder (tree.h): null when read-only. Started after, stopped after, the
  // writer.
  std::unique_ptr<TreeBuilder> tree;

  // A decided batch on its way to disk. States: open (the sequencer decides into it) -> sealed
  // (in to_write_) -> writing (owned by the writer thread; a lone batch by the sequencer's, see
  // LedgerOptions::lone_batches_on_sequencer, or by its caller's, lone_commands_on_caller) ->
  // answering (the writing thread's, or in to_complete_ for the completer thread) -> completed
  // (callbacks run) -> retired by the sequencer (RetireWritten).
  struct Sealed {
    std::vector<Pending> commands;
    std::vector<Outcome> outcomes;
    rocksdb::WriteBatch write;
    Head head_after;
    bool engine_batch = false;  // decided in an engine batch (not refused after a failed write)
    bool written = false;       // set by the writing thread: durably written
  };
  // At most this many sealed batches the writer has not finished writing: one being written,
  // one full and waiting (beside the open batch the sequencer decides into).
  static constexpr std::size_t kBatchesInFlightMax = 2;
  // At most this many written batches waiting for the completer to answer their callers. So the
  // engine holds at most 1 open + kBatchesInFlightMax at the writer + kCompletingMax answering
  // (+ one the writer answers itself) batches.
  static constexpr std::size_t kCompletingMax = 2;

  // Refuses a whole group when it does not fit; otherwise appends it in order and wakes the
  // sequencer, or (LedgerOptions::lone_commands_on_caller) runs a lone command to its answer on
  // the calling thread when the sequencer is idle. Returns the refusal reason or kOk.
  Reason Enqueue(std::vector<Pending>* group);
  // The calling thread, lent the sequencer's role (sequencer_lent_) and the writer stage
  // (at_writer_), decides `pending` alone in a batch, gives the role back, writes the batch and
  // answers it (AfterWrite).
  void RunLone(Pending pending);
  std::size_t QueueDepth();
  std::size_t BatchesInFlight();
  void StartThreads();
  void StopThreads();
  // Sequencer thread: takes queued commands, decides them in the engine, hands sealed batches
  // to the writer.
  void SequencerLoop();
  // Decides `commands` from index `first` on into the open engine batch, all-or-nothing groups
  // as wholes.
  void Decide(std::vector<Pending>& commands, std::vector<Outcome>& outcomes, std::size_t first);
  // Writer thread: writes sealed batches in order, publishes the head, and completes them
  // itself or hands them to the completer thread.
  void WriterLoop();
  // Writes a sealed batch (or refuses it after a failed write) and publishes the head; sets
  // `sealed.written` when durably written. The writer thread's, or the sequencer's for a lone
  // batch.
  void WriteSealed(Sealed& sealed);
  // After WriteSealed: frees the writer stage for the next batch and answers the batch's
  // callers, here or on the completer thread when more is coming. `by_caller`: the batch of a
  // caller lent the role (RunLone), which lets the writer thread go on once it is answered or
  // handed to the completer.
  void AfterWrite(Sealed sealed, bool by_caller = false);
  void CompleterLoop();
  // Runs a written (or refused) batch's callbacks and gives it back to the sequencer.
  void Complete(Sealed& sealed);
  // Sequencer side: retires (or, after a failed write and when `may_roll_back` -- no batch
  // open -- rolls back) batches the writer finished.
  void RetireWritten(bool may_roll_back);

  Head head() const {
    absl::MutexLock lock(&head_mu_);
    return head_;
  }
  void set_head(Head head) {
    absl::MutexLock lock(&head_mu_);
    head_ = head;
  }
  Head WaitForHead(std::uint64_t after_seq, absl::Duration timeout,
                   const std::atomic<bool>* cancel) const {
    absl::MutexLock lock(&head_mu_);
    const auto past = [this, after_seq, cancel]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(head_mu_) {
      return head_.seq > after_seq || (cancel != nullptr && cancel->load());
    };
    head_mu_.AwaitWithTimeout(absl::Condition(&past), timeout);
    return head_;
  }
  // An unlock makes absl re-evaluate the waiters' conditions (their `cancel` among them).
  void WakeHeadWaiters() const { absl::MutexLock lock(&head_mu_); }
  std::uint32_t ScaleOf(const std::string& asset, const rocksdb::Snapshot* snapshot);

  std::atomic<bool> failed{false};

 private:
  // absl::Mutex, not std::mutex: clang's -Wthread-safety checks every ABSL_GUARDED_BY below
  // (the sanitizer build compiles with it as an error).
  mutable absl::Mutex head_mu_;
  Head head_ ABSL_GUARDED_BY(head_mu_);

  // The command queue: request threads -> sequencer.
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Sealed batches not yet written (AfterWrite counts one down, under mu_, when a write
  // returns): the sequencer seals the open batch when this is 0.
  std::size_t at_writer_ ABSL_GUARDED_BY(mu_) = 0;
  // While at_writer_ != 0, Enqueue wakes the sequencer only once this many commands are queued.
  std::size_t wake_depth_ ABSL_GUARDED_BY(mu_) = 1;
  // The sequencer holds an open batch, not sealed yet (the writer's next write).
  bool sequencer_holds_ ABSL_GUARDED_BY(mu_) = false;
  // The sequencer thread waits with nothing open, taken or queued (between its rounds): its
  // role may be lent to a submitting thread (RunLone).
  bool sequencer_idle_ ABSL_GUARDED_BY(mu_) = false;
  // The role is lent: the engine is the borrower's; the sequencer thread waits until it is back.
  bool sequencer_lent_ ABSL_GUARDED_BY(mu_) = false;
  // The sequencer thread woke while the role was lent (a command, a hold's expiry, the close)
  // and waits for it back: the borrower wakes it when it gives the role back.
  bool sequencer_waits_for_role_ ABSL_GUARDED_BY(mu_) = false;
  // Commands in a row that found the ledger idle; more than kIdleStreakForCaller: one runs on its
  // caller's thread.
  std::size_t idle_streak_ ABSL_GUARDED_BY(mu_) = 0;
  static constexpr std::size_t kIdleStreakForCaller = 2;

  // The pipeline: sequencer -> writer (sealed batches) and writer -> sequencer (finished ones).
  absl::Mutex pipe_mu_;
  absl::CondVar pipe_wake_;   // room at the completer; a batch completed (in_flight_)
  absl::CondVar write_wake_;  // the writer's: a sealed batch in to_write_, or stopping
  std::deque<Sealed> to_write_ ABSL_GUARDED_BY(pipe_mu_);
  std::size_t in_flight_ ABSL_GUARDED_BY(pipe_mu_) = 0;  // sealed, not yet completed
  // A caller lent the role (RunLone) writes its batch, or answers it: the writer thread writes
  // nothing meanwhile, so that batches are written, and answered, in the order decided (the
  // sequencer may seal the next one during the caller's write). Set by RunLone, cleared by the
  // same caller in AfterWrite once its batch is answered or in line at the completer; no other
  // caller is lent the role before that (Enqueue).
  bool caller_stage_ ABSL_GUARDED_BY(pipe_mu_) = false;
  std::size_t written_ok_ ABSL_GUARDED_BY(pipe_mu_) = 0;  // completed, not yet retired
  // Completed batches, freed by the sequencer (RetireWritten): a batch of 1,024 transfers is
  // ~10,000 small allocations (commands, outcomes, the WriteBatch) whose freeing would otherwise
  // fall to the writer, the pipeline's busier stage.
  std::vector<Sealed> spent_ ABSL_GUARDED_BY(pipe_mu_);
  bool write_failed_ ABSL_GUARDED_BY(pipe_mu_) = false;
  bool writer_stopping_ ABSL_GUARDED_BY(pipe_mu_) = false;
  // Written batches for the completer thread, in order, and how many it has not finished.
  absl::CondVar complete_wake_;
  std::deque<Sealed> to_complete_ ABSL_GUARDED_BY(pipe_mu_);
  std::size_t completing_ ABSL_GUARDED_BY(pipe_mu_) = 0;
  bool completer_stopping_ ABSL_GUARDED_BY(pipe_mu_) = false;

  std::thread sequencer_;
  std::thread writer_;
  std::thread completer_;
};

// The balance of `account` in `asset` as of `head`, the head seq read through `snapshot`
// (queries.cc). Zero when the account never held the asset.
absl::StatusOr<BalanceState> ReadBalance(Store& store, std::string_view account,
                                         std::string_view asset, std::uint64_t head,
                                         const rocksdb::Snapshot* snapshot);

}  // namespace lovebank
