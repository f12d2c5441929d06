#include "ledger/storage/store.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "ledger/storage/memtable.h"
#include "ledger/storage/wal_file_system.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace lovebank {

const char* FamilyName(Family family) {
  static constexpr const char* kNames[kFamilyCount] = {
      cf::kJournal,        cf::kBalances, cf::kRequests,   cf::kAccounts,   cf::kAssets,
      cf::kAccountEntries, cf::kReversed, cf::kRefusals,   cf::kPrincipals, cf::kItems,
      cf::kLimits,         cf::kUsage,    cf::kHouseholds, cf::kHolds,      cf::kVolunteers,
      cf::kPending,        cf::kServices, cf::kTree,       cf::kMeta};
  return kNames[static_cast<std::size_t>(family)];
}

absl::Status FromRocks(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return absl::OkStatus();
  const std::string message = Cat(context, ": ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return absl::UnavailableError(message);
}

namespace {

rocksdb::ColumnFamilyOptions FamilyOptions(Family family) {
  rocksdb::ColumnFamilyOptions options;
  // 32 MB memtables instead of RocksDB's 64 MB: a smaller skiplist keeps the writer's inserts
  // in cache (with RocksDB's skiplist, 64 -> 16 MB took 6.9 -> 5.4 us of write per transfer),
  // and a larger one means fewer, larger level-0 files, so fewer level-0 -> level-1 merges per
  // byte. With our memtable (ledger/storage/memtable.h) 16 -> 32 MB costs the writer ~0.1 us per
  // transfer and halves compaction in a sustained run: ~60 s steady 148k -> 168k transfers/s,
  // compaction 3.6 -> 2.2 us per transfer (docs/benchmarks.md, 2026-11-24). Memory: at most
  // two memtables per busy family (journal, statement lines, request ids), ~200 MB. No
  // compression for the two levels that flushes and the first compactions rewrite constantly.
  options.write_buffer_size = 32 << 20;
  options.compression_per_level = {rocksdb::kNoCompression, rocksdb::kNoCompression,
                                   rocksdb::kSnappyCompression};
  // Our memtable (ledger/storage/memtable.h): a batch's puts arrive at each family sorted, and it
  // searches for each key from where the previous one went, without the checking comparisons
  // Debian's RocksDB (built without NDEBUG) runs in its own skiplist (docs/benchmarks.md).
  static const std::shared_ptr<rocksdb::MemTableRepFactory> memtable = NewFingerSkipListFactory();
  options.memtable_factory = memtable;
  // Balances are rewritten with every batch that moves them: updated in place in the memtable
  // (their value has a fixed size, 24 bytes) instead of a new skiplist node per version, so the
  // memtable holds one node per balance and its inserts stay in cache (writer ~-1.2 us per
  // transfer, docs/benchmarks.md). The price, which queries.cc pays: a read through a snapshot
  // may see a value written after it (ReadBalance detects that by its seq), and an iterator may
  // see a value mid-update (balance values are read with Get, which takes the update's lock).
  // Requires allow_concurrent_memtable_write = false: there is one writer thread anyway.
  if (family == Family::kBalances) options.inplace_update_support = true;
  // Statement lines and request ids arrive spread over their whole key range (every flush
  // overlaps every other), so each level-0 -> level-1 compaction rewrites all of level 1: in a
  // sustained run that costs more CPU than the sequencer (ledger_bench Steady for ~60 s: 5.6 us
  // per transfer with RocksDB's defaults). Compacting 16 flushes at a time instead of 4, into a
  // level 1 of up to 512 MB, rewrites level 1 a quarter as often (2.3 us per transfer there,
  // docs/benchmarks.md). The price: up to 16-40 level-0 files for a statement page or a
  // request-id lookup to look into (their bloom filters answer the lookups' misses).
  if (family == Family::kAccountEntries || family == Family::kRequests) {
    options.level0_file_num_compaction_trigger = 16;
    options.level0_slowdown_writes_trigger = 40;
    options.level0_stop_writes_trigger = 64;
    options.max_bytes_for_level_base = 512 << 20;
  }
  // requests and refusals are probed once per command, and nearly always for an id that is not
  // there: bloom filters in the SST files and the memtable make those misses cheap.
  if (family == Family::kRequests || family == Family::kRefusals) {
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    options.memtable_whole_key_filtering = true;
    options.memtable_prefix_bloom_size_ratio = 0.05;
  }
  return options;
}

// The WAL files in `path`, sorted (none when it cannot be listed).
std::vector<std::string> WalFiles(const std::string& path) {
  std::vector<std::string> wals;
  std::error_code error;
  for (const auto& file : std::filesystem::directory_iterator(path, error)) {
    std::string name = file.path().filename().string();
    if (IsWalFile(name)) wals.push_back(std::move(name));
  }
  std::sort(wals.begin(), wals.end());
  return wals;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing && !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.max_background_jobs = 2;
  // Also what stops a WAL's replay at a record its writer had half written when a reader beside
  // it read the WAL (wal_file_system.cc): without it RocksDB reads on past the bad record.
  db_options.paranoid_checks = true;
  // One writer thread writes every batch, so concurrent memtable inserts buy nothing; and the
  // balances family's in-place updates require them off (for read-only opens too).
  db_options.allow_concurrent_memtable_write = false;
  // Rarely written families (accounts, assets, balances updated in place) keep old WAL files
  // alive until something flushes them; RocksDB's default allows ~2 GB of WAL before it forces
  // that flush, all of which a restart after a crash would replay. 256 MB bounds it.
  db_options.max_total_wal_size = 256 << 20;
  // The WAL preallocated with its size, and read only as far as its records (wal_file_system.h):
  // for a writer its synced appends, for a reader beside it (the audit, a backup) a WAL whose
  // unwritten rest is not skipped over.
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(NewSizedWalFileSystem(
      options.env != nullptr ? options.env->GetFileSystem() : rocksdb::FileSystem::Default()));
  db_options.env = env.get();
  // A read-only open is the audit's: it reads every table file from end to end. Mapped reads
  // spare it a pread and a copy out of the page cache per block (audit journal only ~660k ->
  // ~790k entries/s, docs/benchmarks.md). Safe beside a running writer: table files are never
  // changed in place, and a mapping outlives a compaction's unlink of the file.
  if (options.read_only) db_options.allow_mmap_reads = true;

  if ((options.read_only || !options.create_if_missing) &&
      !std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
    return absl::NotFoundError(Cat("no lovebank ledger at ", path));
  }
  if (options.read_only) {
    // A ledger last written by an older lovebankd lacks the column families added since; a
    // writer adds them when it opens the ledger, a read-only open cannot. Say so plainly.
    std::vector<std::string> existing;
    if (rocksdb::DB::ListColumnFamilies(db_options, path, &existing).ok()) {
      for (std::size_t i = 0; i < kFamilyCount; ++i) {
        const std::string name = FamilyName(static_cast<Family>(i));
        if (std::find(existing.begin(), existing.end(), name) == existing.end()) {
          return absl::FailedPreconditionError(
              Cat(path, " was last written by an older lovebankd (no column family ", name,
                  "): open it once with this version's lovebankd, which adds it, then audit"));
        }
      }
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  // The default family is unused; its write buffer is the others' only because RocksDB sizes
  // the WAL's preallocation by the largest (1.1 x 32 MB instead of 1.1 x 64 MB).
  rocksdb::ColumnFamilyOptions unused;
  unused.write_buffer_size = FamilyOptions(Family::kJournal).write_buffer_size;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, unused);
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    const auto family = static_cast<Family>(i);
    descriptors.emplace_back(FamilyName(family), FamilyOptions(family));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status;
  if (!options.read_only) {
    status = rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
  } else {
    // A read-only open beside a running writer reads the MANIFEST, then lists the WAL files to
    // replay what no table file holds yet. Two races with the writer, each answered by opening
    // again, which reads the newer MANIFEST:
    // - the MANIFEST names a table file the writer's compaction has since deleted: the open
    //   fails ("No such file");
    // - a WAL the MANIFEST still needs is flushed and deleted before the listing: the open
    //   succeeds without that WAL's commits, a gap in the middle (tests/storage/wal_test.cc
    //   saw it within seconds beside a busy writer). An open during which the set of WAL
    //   files did not change cannot have missed one: a WAL deleted during it was there before
    //   it, and one created and deleted during it leaves a newer one created during it.
    for (int attempt = 1;; ++attempt) {
      const std::vector<std::string> wals = WalFiles(path);
      handles.clear();
      status = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw);
      if (status.ok() && WalFiles(path) == wals) break;
      const bool again = status.ok() || status.ToString().find("No such file") != std::string::npos;
      if (status.ok()) {
        for (auto* handle : handles) raw->DestroyColumnFamilyHandle(handle);
        delete raw;
        raw = nullptr;
        status = rocksdb::Status::Busy(Cat("the writer replaced its WAL during each of ",
                                           kReadOnlyOpenAttempts, " read-only opens; try again")
                                           .c_str());
      }
      if (!again || attempt == kReadOnlyOpenAttempts) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
    }
  }
  if (!status.ok()) return FromRocks(status, Cat("opening ", path));
  auto store = std::unique_ptr<Store>(new Store());
  store->read_only_ = options.read_only;
  store->env_ = std::move(env);
  store->db_.reset(raw);
  LOVEBANK_CHECK(handles.size() == kFamilyCount + 1);
  // handles[0] is the default family, which lovebank does not use; RocksDB owns its handle.
  raw->DestroyColumnFamilyHandle(handles[0]);
  for (std::size_t i = 0; i < kFamilyCount; ++i) store->handles_[i] = handles[i + 1];
  return store;
}

Store::~Store() {
  if (!db_) return;
  if (!read_only_) {
    // Flush the memtables on a clean close so that the next open (and every read-only audit,
    // which cannot write) need not replay up to 16 MB of WAL per column family. A failure here
    // changes nothing durable: the WAL still holds everything.
    std::vector<rocksdb::ColumnFamilyHandle*> families(handles_.begin(), handles_.end());
    db_->Flush(rocksdb::FlushOptions(), families).PermitUncheckedError();
  }
  for (auto* handle : handles_) {
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle);
  }
  db_->Close().PermitUncheckedError();
}

absl::Status Store::WriteSynced(rocksdb::WriteBatch* batch) {
  LOVEBANK_CHECK(!read_only_);
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  const rocksdb::Status status = db_->Write(write_options, batch);
  if (status.ok()) return absl::OkStatus();
  return absl::UnavailableError(Cat("storage write failed: ", status.ToString()));
}

absl::StatusOr<std::optional<std::string>> Store::Get(Family family, std::string_view key,
                                                      const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  std::string value;
  const rocksdb::Status status =
      db_->Get(read_options, handle(family), rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return FromRocks(status, Cat("reading ", FamilyName(family)));
  return std::optional<std::string>(std::move(value));
}

std::unique_ptr<rocksdb::Iterator> Store::NewIterator(Family family,
                                                      const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(read_options, handle(family)));
}

std::unique_ptr<rocksdb::Iterator> Store::NewScan(Family family,
                                                  const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  read_options.fill_cache = false;
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(read_options, handle(family)));
}

absl::StatusOr<std::optional<std::uint64_t>> StoredTreeSize(Store& store,
                                                            const rocksdb::Snapshot* snapshot) {
  for (const auto& [family, key] :
       {std::pair{Family::kTree, kTreeSizeKey}, std::pair{Family::kMeta, meta_key::kTreeSize}}) {
    LOVEBANK_ASSIGN_OR_RETURN(auto bytes, store.Get(family, key, snapshot));
    if (!bytes) continue;
    if (bytes->size() != 8) return absl::DataLossError("the tree's size record is malformed");
    return GetFixed64BE(bytes->data());
  }
  return std::optional<std::uint64_t>();
}

}  // namespace lovebank
