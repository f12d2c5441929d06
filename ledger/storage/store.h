#pragma once
// The RocksDB database under a ledger: its column families, synced writes and point reads.
// Thread-safe (RocksDB is); the sequencer is the only writer of a writable Store.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"

namespace lovebank {

// Column families in a fixed order; journal_format.h names their keys and values.
enum class Family : std::size_t {
  kJournal = 0,
  kBalances,
  kRequests,
  kAccounts,
  kAssets,
  kAccountEntries,
  kReversed,
  kRefusals,
  kPrincipals,
  kItems,
  kLimits,
  kUsage,
  kHouseholds,
  kHolds,
  kVolunteers,
  kPending,
  kServices,
  kTree,
  kMeta,
};
inline constexpr std::size_t kFamilyCount = 19;
const char* FamilyName(Family family);

// How many times a read-only open tries before it gives up when the writer beside it replaced
// its WAL during each (store.cc): a writer that fills a 32 MB memtable faster than the open
// replays the WAL. 20 ms x attempt between them.
inline constexpr int kReadOnlyOpenAttempts = 8;

struct StoreOptions {
  bool read_only = false;
  bool create_if_missing = true;
  // Borrowed, may be null (the default Env). Tests pass a fault-injecting Env; it must outlive
  // the Store.
  rocksdb::Env* env = nullptr;
};

class Store {
 public:
  // Opens (or, with create_if_missing, creates) the database at `path` with every column
  // family. A read-only open takes no lock, so an auditor can open a directory that a running
  // writer holds; it sees the state as of its open.
  // Errors: NotFound when the directory holds no database and creation is off or read-only;
  // Unavailable for I/O and lock errors, and for a read-only open beside a writer that replaced
  // its WAL during each of kReadOnlyOpenAttempts; DataLoss for corruption RocksDB detects.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  bool read_only() const { return read_only_; }
  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* handle(Family family) {
    return handles_[static_cast<std::size_t>(family)];
  }

  // Writes `batch` atomically with the WAL synced before returning (DESIGN.md invariant 6).
  // Errors: Unavailable for any RocksDB write or sync failure; the outcome of the write is then
  // unknown (it may surface after a reopen) and the caller must stop writing.
  absl::Status WriteSynced(rocksdb::WriteBatch* batch);

  // Point read. std::nullopt when the key is absent. `snapshot` may be null (latest).
  // Errors: Unavailable / DataLoss from RocksDB.
  absl::StatusOr<std::optional<std::string>> Get(Family family, std::string_view key,
                                                 const rocksdb::Snapshot* snapshot = nullptr);

  // A new iterator over `family`; the caller owns it and must delete it before the Store.
  std::unique_ptr<rocksdb::Iterator> NewIterator(Family family,
                                                 const rocksdb::Snapshot* snapshot = nullptr);
  // The same for a read of the whole family once (loading the state tables and the request ids
  // at open, the tree builder's journal reads): its blocks do not go into the family's block
  // cache (RocksDB's default, 8 MB per family), which they would fill with what the reader
  // copies into memory anyway.
  std::unique_ptr<rocksdb::Iterator> NewScan(Family family,
                                             const rocksdb::Snapshot* snapshot = nullptr);

 private:
  Store() = default;
  bool read_only_ = false;
  // The given Env (or the default) over the WAL's file system (wal_file_system.h). Outlives db_.
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kFamilyCount> handles_{};
};

// How many journal entries the stored Merkle tree covers: the tree family's size record, else
// the meta tree_size of an older store; std::nullopt when there is neither (a store made before
// the tree). Errors: DataLoss for a malformed record; the store's.
absl::StatusOr<std::optional<std::uint64_t>> StoredTreeSize(
    Store& store, const rocksdb::Snapshot* snapshot = nullptr);

// Maps a RocksDB status to an absl status, prefixing `context`.
absl::Status FromRocks(const rocksdb::Status& status, std::string_view context);

}  // namespace lovebank
