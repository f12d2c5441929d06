#pragma once
// Live updates (Ledger.WatchEntries, issue #24 item 5): the hub behind every watch.
//
// One thread waits for the ledger's head to move (Ledger::WaitForHead: the writer wakes it as it
// publishes a batch; nothing runs on the writer's thread), reads the new entries once to learn
// which accounts they moved, and wakes the watches that follow those accounts (every journal
// watch). Each watch then reads what it has not sent from the ledger itself, one write at a time,
// so a slow phone holds back nobody else and the hub keeps no entries. About every
// kWatchTickMillis the hub also ticks every watch (its idle limit).
//
// Limits, each refused with WATCHERS_FULL: watchers_max at once in all (lovebankd
// --watchers-max) and kWatchesPerPrincipalMax per principal (one leaked token cannot take them
// all). No gRPC here.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "ledger/ledger.h"

namespace lovebank::service {

inline constexpr std::size_t kWatchersMaxDefault = 1024;
inline constexpr std::size_t kWatchesPerPrincipalMax = 8;
inline constexpr int kWatchTickMillis = 250;
// New entries the hub reads at once to find the accounts they moved; when more came in one
// wake-up, every watch is woken instead (each finds its own).
inline constexpr std::size_t kWatchScanMax = 4096;

class WatchHub {
 public:
  // One watch as the hub sees it; the stream implements it. Every call may come from the hub's
  // thread at any time until the watch is removed, and must not block for long.
  enum class CloseReason { kStopping, kRevoked };
  class Watch {
   public:
    virtual ~Watch() = default;
    virtual void Wake() = 0;                                           // there may be news
    virtual void Tick(std::chrono::steady_clock::time_point now) = 0;  // the idle limit
    virtual void Close(CloseReason why) = 0;                           // end the stream
  };

  enum class Admission { kOk, kFull, kPrincipalFull, kStopping };

  WatchHub(Ledger* ledger, std::size_t watchers_max);
  ~WatchHub();  // Stop
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Registers `watch` of `account` ("": the whole journal) for `principal`.
  Admission Add(std::shared_ptr<Watch> watch, const std::string& principal,
                const std::string& account);
  // Forgets a watch (when its stream is done); nothing when it is not registered.
  void Remove(const Watch* watch);
  // Ends every watch of `principal` (its token was revoked: it may read nothing more).
  void CloseFor(const std::string& principal);
  // Refuses new watches, closes every watch, waits up to `grace` for their streams to end, and
  // joins the thread. Idempotent.
  void Stop(absl::Duration grace = absl::Seconds(5));

  std::size_t size() const;
  std::size_t watchers_max() const { return watchers_max_; }

 private:
  struct Entry {
    std::shared_ptr<Watch> watch;
    std::string principal;
    std::string account;
  };
  void Loop();

  Ledger* const ledger_;
  const std::size_t watchers_max_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<const Watch*, Entry> watches_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::size_t> per_principal_ ABSL_GUARDED_BY(mu_);
  std::size_t account_watches_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> cancel_{false};  // set by Stop: the hub thread's wait ends at once
  std::thread thread_;
};

}  // namespace lovebank::service
