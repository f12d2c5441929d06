#pragma once
// The Merkle tree over the journal, as the ledger keeps it (issue #27; ledger/format/merkle.h,
// docs/journal-format.md "The tree"). Internal to ledger/.
//
// The tree is derived data and stays off the commit path: a builder thread integrates
// committed entries into the `tree` family after the group commit that made them durable, in
// its own (unsynced) WriteBatches, each recording the size it reached in meta `tree_size` — a
// crash loses at most the tail of the tree, which the next open integrates again from the
// journal. Queries for a size the builder has not reached wait for it (usually milliseconds).
//
// The builder gathers: after a commit it waits up to its gather wait (LedgerOptions::
// tree_gather_wait, 20 ms) for kTreeGatherEntries more entries before it integrates, unless a query
// waits (WaitFor hurries it) or the ledger closes. Each of its writes goes through RocksDB's one
// write queue, where a commit that arrives meanwhile waits behind it — and the builder runs at idle
// priority, so on a busy machine that wait was a commit's largest delay at low concurrency (one
// tree write per commit; docs/benchmarks.md, issue #29).
//
// Stored nodes: levels kTreeStoredLevelMin and up (one put per 16 entries); lower ones are
// hashed from the journal's entry hashes when a proof needs them (at most 8 entries read).

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ledger/engine/outcome.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/merkle.h"
#include "ledger/storage/store.h"

namespace lovebank {

// Node (level, index) of the tree as stored in `store` (levels below kTreeStoredLevelMin from
// the journal). Errors: DataLoss for a missing node or entry, the store's otherwise.
merkle::NodeReader TreeReader(Store& store);

// The builder integrates at once when this many entries wait.
inline constexpr std::uint64_t kTreeGatherEntries = 1024;

// Thread-safe.
class TreeBuilder {
 public:
  TreeBuilder(Store* store, absl::Duration gather_wait)
      : store_(store), gather_wait_(gather_wait) {}
  ~TreeBuilder() { Stop(); }

  // Reads the frontier at the stored tree size. Errors: DataLoss (a stored size past
  // `head_seq`, a missing node), the store's.
  absl::Status Load(std::uint64_t head_seq);
  // Starts the thread: `wait_for_head(after, timeout, cancel)` returns the committed head once it
  // is past `after` (Ledger::Impl::WaitForHead); `wake` re-evaluates such a wait.
  void Start(
      std::function<Head(std::uint64_t, absl::Duration, const std::atomic<bool>*)> wait_for_head,
      std::function<void()> wake);
  // Integrates everything committed (call after the writer stopped), then ends the thread.
  void Stop();

  // Waits at most `timeout` until `size` entries are integrated. OK when they are; Unavailable
  // when not yet, or when the builder failed (its error).
  absl::Status WaitFor(std::uint64_t size, absl::Duration timeout);

  struct Progress {
    std::uint64_t size = 0;    // entries integrated
    std::uint64_t writes = 0;  // writes since Start
  };
  Progress progress();

 private:
  void Loop();
  absl::Status Integrate(std::uint64_t to_seq);

  Store* const store_;
  const absl::Duration gather_wait_;
  merkle::Frontier frontier_;  // the builder thread's own once started
  std::function<Head(std::uint64_t, absl::Duration, const std::atomic<bool>*)> wait_for_head_;
  std::function<void()> wake_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> wanted_{0};  // the largest size a query waited for
  std::atomic<bool> hurry_{false};        // set after wanted_ or stopping_: ends a gathering
  std::thread thread_;
  absl::Mutex mu_;
  std::uint64_t built_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t writes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lovebank
