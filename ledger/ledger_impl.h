#pragma once
// Ledger::Impl: the sequencer (queue + writer thread) and the store the queries read.
// Internal to ledger/.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "ledger/engine.h"
#include "ledger/ledger.h"
#include "ledger/store.h"

namespace lovebank {

class Ledger::Impl {
 public:
  // A command waiting in the queue. States: queued (in queue_) -> taken (in the writer's
  // local batch) -> decided (Engine::Apply) -> completed (done called after the write).
  struct Pending {
    v1::Command command;
    std::string fingerprint;
    Callback done;
  };

  LedgerOptions options;
  std::unique_ptr<Store> store;
  std::string ledger_id;
  std::unique_ptr<Engine> engine;  // null when read-only; touched by the writer thread only

  // Refuses a whole group when it does not fit; otherwise appends it in order and wakes the
  // writer. Returns the refusal reason or kOk.
  Reason Enqueue(std::vector<Pending>* group);
  void StartWriter();
  void StopWriter();
  void WriterLoop();
  // Decides and commits one batch; completes every command of it.
  void CommitBatch(std::vector<Pending>* batch);

  Head head() const {
    std::lock_guard<std::mutex> lock(head_mu_);
    return head_;
  }
  void set_head(Head head) {
    std::lock_guard<std::mutex> lock(head_mu_);
    head_ = head;
  }
  std::uint32_t ScaleOf(const std::string& asset, const rocksdb::Snapshot* snapshot);

  std::atomic<bool> failed{false};

 private:
  mutable std::mutex head_mu_;
  Head head_ ABSL_GUARDED_BY(head_mu_);

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace lovebank
