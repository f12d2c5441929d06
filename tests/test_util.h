#pragma once
// Helpers shared by the ledger tests: temp directories, command builders, a raw dump of every
// column family (to prove that a refusal changed nothing) and a fault-injecting file system.

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/storage/store.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace lovebank::testing {

// A fresh directory under the system temp dir, removed with its contents at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A fixed clock for deterministic entry times: 2026-11-01 08:00:00 UTC plus one second per read.
std::function<std::int64_t()> SteppingClock();
// A clock that starts at `start_unix_us` and advances with the monotonic clock: for servers
// whose tests wait for real time to pass (hold expiries) yet must not depend on today's date.
std::function<std::int64_t()> ClockStartingAt(std::int64_t start_unix_us);
// 2026-11-20T08:00:00Z: inside the sample month (examples/data), like the daemon tests' clock.
inline constexpr std::int64_t kTestServerClockStartUnixUs = 1795161600000000;

// `lone_batches_on_sequencer`: LedgerOptions' (off for tests that hold a lone write on the
// writer thread).
std::unique_ptr<Ledger> OpenLedger(const std::string& path, rocksdb::Env* env = nullptr,
                                   bool lone_batches_on_sequencer = true);
// The same with the options `adjust` changes (after the path, env and test clock are set).
std::unique_ptr<Ledger> OpenLedgerWith(const std::string& path,
                                       const std::function<void(LedgerOptions&)>& adjust);

// Rewrites the journal's last entry (seq `head_seq`) of the closed ledger at `path` with `edit`
// and recomputes its hash and the stored head: a consistent forgery of the tail that only the
// audit's rules can find (the ledger opens it: its chain checks out).
void RewriteHead(const std::string& path, std::uint64_t head_seq,
                 const std::function<void(v1::Entry&)>& edit);

v1::Command Earn(const std::string& id, const std::string& issuer, const std::string& member,
                 const std::string& amount, const std::string& asset = "POINTS");
v1::Command Deduct(const std::string& id, const std::string& member, const std::string& issuer,
                   const std::string& amount, const std::string& asset = "POINTS");
v1::Command Redeem(const std::string& id, const std::string& member, const std::string& store,
                   const std::string& amount, const std::string& asset = "POINTS");
v1::Command Transfer(const std::string& id, const std::string& from, const std::string& to,
                     const std::string& amount, const std::string& asset = "POINTS");
v1::Command Reverse(const std::string& id, std::uint64_t seq);
// SetStarLevels with these thresholds (the body is set even when there are none).
v1::Command SetStarLevels(const std::string& id, const std::vector<std::string>& thresholds);
v1::Command Open(const std::string& id, const std::string& account, v1::AccountKind kind,
                 const std::string& name);
v1::Command OpenIssuer(const std::string& id, const std::string& account, const std::string& name,
                       const std::string& points_budget, const std::string& hours_budget = "0");
v1::Command SetStatus(const std::string& id, const std::string& account, v1::AccountStatus status);
// SetBudget: `account`'s (an issuer's) budget in `asset` set to `amount`.
v1::Command SetBudget(const std::string& id, const std::string& account, const std::string& asset,
                      const std::string& amount);
// A grant whose token hash is 32 bytes of `token_byte`.
v1::Command Grant(const std::string& id, const std::string& principal, v1::Role role,
                  std::vector<std::string> accounts, char token_byte);
v1::Command Revoke(const std::string& id, const std::string& principal);
// SetAccountContact: `account`'s card number and phone (issue #24 item 4).
v1::Command SetContact(const std::string& id, const std::string& account, const std::string& card,
                       const std::string& phone = "");
// A member's device `device` (granted with an activation_ttl_seconds) activating itself, its
// token's hash 32 bytes of `token_byte`.
v1::Command Activate(const std::string& id, const std::string& device, char token_byte);

// The love supermarket (issue #6).
v1::Command SetItem(const std::string& id, const std::string& store, const std::string& sku,
                    const std::string& name, const std::string& unit, const std::string& price,
                    bool active = true);
v1::Command ReceiveStock(const std::string& id, const std::string& issuer, const std::string& store,
                         const std::string& sku, const std::string& quantity,
                         const std::string& donor);
v1::Command WriteOffStock(const std::string& id, const std::string& store,
                          const std::string& issuer, const std::string& sku,
                          const std::string& quantity, const std::string& why);
v1::Command Settle(const std::string& id, const std::string& store, const std::string& issuer,
                   const std::string& amount, const std::string& asset = "POINTS");
// Lines as {sku, quantity}.
using Basket = std::vector<std::pair<std::string, std::uint32_t>>;
v1::Command Checkout(const std::string& id, const std::string& member, const std::string& store,
                     const Basket& lines, const std::string& pay_asset = "POINTS");
v1::Command Refund(const std::string& id, std::uint64_t checkout_seq, const Basket& lines);
v1::Command SetExchangeRatio(const std::string& id, const std::string& points_per_hour,
                             const std::string& exchange_account);

// Every key and value of every column family: family name -> key -> value. Without the Merkle
// tree (the tree family and meta tree_size), which its own thread builds behind the commits.
using StoreDump = std::map<std::string, std::map<std::string, std::string>>;
// Reads the store at `path` through a read-only open (works beside an open writer).
StoreDump DumpStore(const std::string& path);
// The dump without the families a remembered refusal may add to (refusals).
StoreDump WithoutRefusals(StoreDump dump);

// Opens the ledger with a standard programme: issuer "issuer:town" (budget 1,000,000 POINTS
// and 100,000 HOURS), store "store:main" (爱心超市), members m1..m<members>.
void OpenProgramme(Ledger& ledger, int members);

// A file system that fails WAL appends or syncs on demand (a wrapping RocksDB FileSystem).
class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  FaultFs();
  const char* Name() const override { return "LovebankFaultFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  std::atomic<bool> fail_wal_append{false};
  std::atomic<bool> fail_wal_sync{false};
  std::atomic<bool> disk_full{false};  // every append to any file fails with NoSpace
  std::atomic<int> injected{0};        // failures returned so far
  // A fault at a random point of a commit: after `countdown` more WAL appends and syncs, the flag
  // `then` points to (one of the three above) is switched on. -1: off.
  std::atomic<long> countdown{-1};
  std::atomic<std::atomic<bool>*> then{nullptr};
};

// An Env over FaultFs. Owns both.
struct FaultEnv {
  std::shared_ptr<FaultFs> fs = std::make_shared<FaultFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
};

}  // namespace lovebank::testing
