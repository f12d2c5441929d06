// The WAL preallocated with its size (ledger/storage/wal_file_system.h): a live or dead WAL is
// longer than its records, the rest zeros. Every reader must stop where the records stop — a
// read-only open and a backup beside a running writer see a prefix of the commits, never one
// with a gap — and recovery after a crash must read every synced record.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/sha256.h"
#include "ledger/ledger.h"
#include "ledger/storage/store.h"
#include "ledger/storage/wal_file_system.h"
#include "rocksdb/utilities/checkpoint.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using testing::Earn;
using testing::TempDir;

constexpr std::size_t kBlock = 32768;

// `db`'s largest WAL file and its size (0 when there is none).
std::pair<std::string, std::uintmax_t> LargestWal(const std::string& db) {
  std::pair<std::string, std::uintmax_t> largest{"", 0};
  for (const auto& file : std::filesystem::directory_iterator(db)) {
    if (file.path().extension() == ".log" && file.file_size() >= largest.second) {
      largest = {file.path().string(), file.file_size()};
    }
  }
  return largest;
}

// Whether the last `bytes` bytes of `path` are all zero.
bool EndsInZeros(const std::string& path, std::uintmax_t size, std::size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(size - bytes));
  std::string tail(bytes, '\1');
  in.read(tail.data(), static_cast<std::streamsize>(bytes));
  return in.gcount() == static_cast<std::streamsize>(bytes) &&
         tail.find_first_not_of('\0') == std::string::npos;
}

constexpr int kEarns = 40;

TEST(WalFileSystem, ADeadProcessLeavesAZeroTailThatRecoveryReadsAsTheLogsEnd) {
  TempDir dir;
  const std::string db = dir.path();
  const std::string head_file = dir.Sub("head");
  // The child commits and dies without closing anything (no flush, no trim), as a SIGKILL
  // leaves it. This test comes first in the file: a run of the whole binary forks before any
  // RocksDB thread exists (CTest runs each test in its own process anyway).
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto ledger = testing::OpenLedger(db);
    if (!ledger) ::_exit(3);
    testing::OpenProgramme(*ledger, 2);
    Outcome last;
    for (int i = 0; i < kEarns; ++i) {
      last = ledger->Execute(Earn(Cat("e", i), "issuer:town", i % 2 == 0 ? "m1" : "m2", "1.25"));
      if (!last.ok()) ::_exit(4);
    }
    std::ofstream(head_file) << last.receipt.seq << " " << ToHex(HashBytes(last.receipt.hash));
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::uint64_t seq = 0;
  std::string hash;
  std::ifstream(head_file) >> seq >> hash;
  ASSERT_GT(seq, static_cast<std::uint64_t>(kEarns));

  // The live WAL is preallocated past its records (RocksDB's 1.1 x the 32 MB write buffer),
  // and its tail reads as zeros. Without the sized preallocation it ends at its last record.
  const auto [wal, size] = LargestWal(db);
  ASSERT_FALSE(wal.empty());
  EXPECT_GE(size, std::uintmax_t{32} << 20) << wal;
  EXPECT_TRUE(EndsInZeros(wal, size, 4096)) << wal;

  // A read-only open (the audit's) reads the WAL with its zero tail: every commit is there.
  const auto dump = testing::DumpStore(db);
  EXPECT_EQ(dump.at("journal").size(), seq) << "journal entries seen by a read-only open";

  // The writer's recovery: the head the child last acknowledged, every balance, and commits go on.
  auto ledger = testing::OpenLedger(db);
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->GetHead().seq, seq);
  EXPECT_EQ(ToHex(HashBytes(ledger->GetHead().hash)), hash);
  EXPECT_EQ(ledger->GetBalance("m1", "POINTS")->decimal, "25.00");
  EXPECT_EQ(ledger->GetBalance("m2", "POINTS")->decimal, "25.00");
  const Outcome retried = ledger->Execute(Earn("e0", "issuer:town", "m1", "1.25"));
  ASSERT_TRUE(retried.ok()) << retried.message;
  EXPECT_LE(retried.receipt.seq, seq) << "a retry of an acknowledged command is its first answer";
  const Outcome next = ledger->Execute(Earn("after", "issuer:town", "m2", "1"));
  ASSERT_TRUE(next.ok()) << next.message;
  EXPECT_EQ(next.receipt.seq, seq + 1);
  ledger.reset();

  // A clean close trims the live WAL to its records.
  const auto [closed_wal, closed_size] = LargestWal(db);
  EXPECT_LT(closed_size, std::uintmax_t{1} << 20) << closed_wal;
}

// A record header of RocksDB's WAL format: CRC (not checked here), length, type.
std::string Header(std::size_t length, char type) {
  std::string header(4, '\x5a');
  header += static_cast<char>(length & 0xff);
  header += static_cast<char>(length >> 8);
  header += type;
  return header;
}

// Everything a sequential read of `path` through the WAL file system returns, in reads of
// `chunk` bytes (Skip for every other read when `skip` is set).
std::string ReadThrough(const std::string& path, std::size_t chunk, bool skip = false,
                        std::shared_ptr<rocksdb::FileSystem> fs = nullptr) {
  if (!fs) fs = NewSizedWalFileSystem(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::FSSequentialFile> file;
  EXPECT_TRUE(fs->NewSequentialFile(path, rocksdb::FileOptions(), &file, nullptr).ok());
  std::string all;
  std::string scratch(chunk, '\0');
  for (int i = 0;; ++i) {
    if (skip && i % 2 == 1) {
      // Skipped bytes are marked, so that where they fell shows in the result.
      EXPECT_TRUE(file->Skip(chunk).ok());
      all.append(chunk, '#');
      continue;
    }
    rocksdb::Slice got;
    EXPECT_TRUE(file->Read(chunk, rocksdb::IOOptions(), &got, scratch.data(), nullptr).ok());
    all.append(got.data(), got.size());
    if (got.size() < chunk) return all;
  }
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Block 0: two records and a 5-byte trailer. Blocks 1-2: a record in two fragments. Then the
// unwritten rest of block 2, and in block 3 a record written after a reader saw block 2.
std::string LiveWal(std::size_t* records_end) {
  std::string wal = Header(100, 1) + std::string(100, 'a');
  const std::size_t second = kBlock - wal.size() - 7 - 5;
  wal += Header(second, 1) + std::string(second, 'b');
  wal += std::string(5, '\0');
  EXPECT_EQ(wal.size(), kBlock);
  wal += Header(kBlock - 7, 2) + std::string(kBlock - 7, 'c');
  wal += Header(1000, 4) + std::string(1000, 'd');
  *records_end = wal.size();
  wal.resize(3 * kBlock, '\0');
  wal += Header(50, 1) + std::string(50, 'e');
  wal.resize(5 * kBlock, '\0');
  return wal;
}

TEST(WalFileSystem, AReadOfAWalEndsAtTheFirstUnwrittenRecordWhateverTheReadSize) {
  TempDir dir;
  std::size_t records_end = 0;
  const std::string wal = LiveWal(&records_end);
  WriteFile(dir.Sub("000012.log"), wal);
  for (const std::size_t chunk :
       {std::size_t{1}, std::size_t{7}, std::size_t{4096}, kBlock, std::size_t{100000}}) {
    const std::string read = ReadThrough(dir.Sub("000012.log"), chunk);
    EXPECT_EQ(read.size(), records_end) << "reads of " << chunk;
    EXPECT_TRUE(read == wal.substr(0, records_end)) << "reads of " << chunk;
  }
  // Skips go through the same records.
  const std::string skipped = ReadThrough(dir.Sub("000012.log"), 4096, true);
  ASSERT_GE(skipped.size(), records_end);
  for (std::size_t i = 0; i < records_end; ++i) {
    if (skipped[i] != '#') {
      ASSERT_EQ(skipped[i], wal[i]) << "at " << i;
    }
  }
  // A zero type at a record's start ends it, even with a length (a header half written).
  std::string half = Header(10, 1) + std::string(10, 'a') + Header(30, 0) + std::string(30, 'x');
  WriteFile(dir.Sub("000013.log"), half);
  EXPECT_TRUE(ReadThrough(dir.Sub("000013.log"), 4096) == half.substr(0, 17));
}

TEST(WalFileSystem, AWholeWalAndOtherFilesReadToTheirEnd) {
  TempDir dir;
  std::size_t records_end = 0;
  const std::string wal = LiveWal(&records_end);
  // Zeros in a payload are data (a block of them, so that the records after stay on the
  // block grid); a trimmed WAL (a closed one) has no unwritten rest.
  const std::string whole = wal.substr(0, records_end);
  const std::string zeros = Header(kBlock - 7, 1) + std::string(kBlock - 7, '\0');
  WriteFile(dir.Sub("000007.log"), zeros + whole);
  EXPECT_TRUE(ReadThrough(dir.Sub("000007.log"), 4096) == zeros + whole);
  // Not a WAL: read as it is, zeros and all.
  for (const char* name : {"MANIFEST-000005", "LOG", "000012.sst", "x.log", "LOG.old.1"}) {
    WriteFile(dir.Sub(name), wal);
    EXPECT_TRUE(ReadThrough(dir.Sub(name), 4096) == wal) << name;
  }
}

// A WAL this process is writing is read, and sized, only as far as its writer's appends have
// returned: bytes of a record still being written (here put there behind the writer's back) are
// not read, though they are in the file.
TEST(WalFileSystem, AWalThisProcessWritesIsReadOnlyAsFarAsItsAppendsReturned) {
  TempDir dir;
  const std::string path = dir.Sub("000020.log");
  auto fs = NewSizedWalFileSystem(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::FSWritableFile> writer;
  ASSERT_TRUE(fs->NewWritableFile(path, rocksdb::FileOptions(), &writer, nullptr).ok());
  const std::string first = Header(100, 1) + std::string(100, 'a');
  const std::string second = Header(300, 1) + std::string(300, 'b');
  ASSERT_TRUE(writer->Append(first, rocksdb::IOOptions(), nullptr).ok());
  {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(static_cast<std::streamoff>(first.size()));
    file.write(second.data(), 200);  // the header and part of the payload
    ASSERT_TRUE(file.good());
  }
  EXPECT_TRUE(ReadThrough(path, 4096, false, fs) == first);
  std::uint64_t size = 0;
  ASSERT_TRUE(fs->GetFileSize(path, rocksdb::IOOptions(), &size, nullptr).ok());
  EXPECT_EQ(size, first.size());
  // Another file system (another process's) reads what the file holds.
  EXPECT_EQ(ReadThrough(path, 4096).size(), first.size() + 200);

  ASSERT_TRUE(writer->Append(second, rocksdb::IOOptions(), nullptr).ok());
  EXPECT_TRUE(ReadThrough(path, 4096, false, fs) == first + second);
  ASSERT_TRUE(fs->GetFileSize(path, rocksdb::IOOptions(), &size, nullptr).ok());
  EXPECT_EQ(size, first.size() + second.size());
  ASSERT_TRUE(writer->Close(rocksdb::IOOptions(), nullptr).ok());
}

// `count` journal keys 0..count-1 in the store at `path` opened read-only, or a failure
// naming the first gap.
::testing::AssertionResult HoldsAPrefix(const std::string& path, std::uint64_t* count) {
  StoreOptions read_only;
  read_only.read_only = true;
  auto store = Store::Open(path, read_only);
  if (!store.ok()) return ::testing::AssertionFailure() << store.status();
  auto it = (*store)->NewIterator(Family::kJournal);
  std::uint64_t next = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++next) {
    if (it->key().size() != 8 || GetFixed64BE(it->key().data()) != next) {
      return ::testing::AssertionFailure()
             << "after " << next << " entries the next is " << GetFixed64BE(it->key().data());
    }
  }
  if (!it->status().ok()) return ::testing::AssertionFailure() << it->status().ToString();
  *count = next;
  return ::testing::AssertionSuccess();
}

// The journal family's key for `i`, as these tests write it.
void PutRecord(Store& store, std::uint64_t i, std::size_t value_size) {
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(
      batch.Put(store.handle(Family::kJournal), EncodeFixed64BE(i), std::string(value_size, 'v'))
          .ok());
  ASSERT_TRUE(store.WriteSynced(&batch).ok());
}

// The newest WAL file in `db`.
std::string LiveWal(const std::string& db) {
  std::string newest;
  for (const auto& file : std::filesystem::directory_iterator(db)) {
    const std::string name = file.path().filename().string();
    if (IsWalFile(name) && name > newest) newest = name;
  }
  return newest.empty() ? newest : db + "/" + newest;
}

// A reader's view of a WAL whose block it read while the writer was in it: the writer had
// written up to `written`, the reader saw zeros from there to the block's end, and then the
// writer's next record filled that block exactly and the one after it began the next block,
// which the reader read after. RocksDB's reader alone skips the zeros and takes the record in
// the next block: a gap. Through the WAL file system the view ends where the writer was.
TEST(WalFileSystem, AReaderThatSawABlockBeforeItsWriterFinishedItSkipsNothing) {
  TempDir dir;
  const std::string db = dir.Sub("db");
  const std::string copy = dir.Sub("copy");
  auto opened = Store::Open(db, StoreOptions());
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  for (std::uint64_t i = 0; i < 10; ++i) PutRecord(store, i, 1000);
  const std::string wal = LiveWal(db);
  ASSERT_FALSE(wal.empty());
  std::uint64_t written = 0;
  ASSERT_TRUE(store.db()->GetEnv()->GetFileSize(wal, &written).ok());
  const std::size_t rest = kBlock - written % kBlock;
  ASSERT_GT(rest, std::size_t{200});
  // A record of exactly the rest of the block: its header (7 bytes) and a write batch.
  std::size_t value = rest - 7 - 40;
  for (;; ++value) {
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(
        batch.Put(store.handle(Family::kJournal), EncodeFixed64BE(10), std::string(value, 'v'))
            .ok());
    ASSERT_LE(batch.GetDataSize(), rest - 7);
    if (batch.GetDataSize() == rest - 7) break;
  }
  PutRecord(store, 10, value);
  std::uint64_t filled = 0;
  ASSERT_TRUE(store.db()->GetEnv()->GetFileSize(wal, &filled).ok());
  ASSERT_EQ(filled, written + rest) << "the record fills the block";
  PutRecord(store, 11, 1000);

  std::filesystem::create_directory(copy);
  for (const auto& file : std::filesystem::directory_iterator(db)) {
    std::filesystem::copy_file(file.path(), copy + "/" + file.path().filename().string());
  }
  {
    std::fstream view(copy + "/" + std::filesystem::path(wal).filename().string(),
                      std::ios::binary | std::ios::in | std::ios::out);
    view.seekp(static_cast<std::streamoff>(written));
    const std::string zeros(rest, '\0');
    view.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    ASSERT_TRUE(view.good());
  }
  std::uint64_t count = 0;
  ASSERT_TRUE(HoldsAPrefix(copy, &count));
  EXPECT_EQ(count, 10u) << "the view ends where its writer was";
  ASSERT_TRUE(HoldsAPrefix(db, &count));
  EXPECT_EQ(count, 12u);
}

// A file system that runs `hook` once, when a read-only open lists the directory for WALs
// after reading the MANIFEST (the second MANIFEST read: Store::Open reads it first to list
// the column families).
class HookAfterManifest : public rocksdb::FileSystemWrapper {
 public:
  explicit HookAfterManifest(std::function<void()> hook)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), hook_(std::move(hook)) {}
  const char* Name() const override { return "HookAfterManifest"; }
  rocksdb::IOStatus NewSequentialFile(const std::string& name, const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSSequentialFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
    if (std::filesystem::path(name).filename().string().rfind("MANIFEST-", 0) == 0) {
      ++manifest_reads_;
    }
    return target()->NewSequentialFile(name, options, result, dbg);
  }
  rocksdb::IOStatus GetChildren(const std::string& dir, const rocksdb::IOOptions& options,
                                std::vector<std::string>* result,
                                rocksdb::IODebugContext* dbg) override {
    if (manifest_reads_ >= 2 && hook_) {
      std::function<void()> hook = std::move(hook_);
      hook_ = nullptr;
      hook();
    }
    return target()->GetChildren(dir, options, result, dbg);
  }
  bool fired() const { return !hook_; }

 private:
  std::function<void()> hook_;
  int manifest_reads_ = 0;
};

// A read-only open beside a writer reads the MANIFEST and then lists the WALs; between the two
// the writer flushes, deletes the WAL the MANIFEST still needed, and writes on into a new one.
// The open then holds the new WAL's records without the deleted one's (RocksDB does not check):
// Store::Open sees the WAL files change during the open and opens again.
TEST(WalFileSystem, AReadOnlyOpenDuringWhichTheWriterReplacesItsWalOpensAgain) {
  TempDir dir;
  const std::string db = dir.Sub("db");
  auto opened = Store::Open(db, StoreOptions());
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  for (std::uint64_t i = 0; i < 20; ++i) PutRecord(store, i, 1000);
  auto hooked = std::make_shared<HookAfterManifest>([&] {
    const std::string old_wal = LiveWal(db);
    for (std::uint64_t i = 20; i < 40; ++i) PutRecord(store, i, 1000);
    std::vector<rocksdb::ColumnFamilyHandle*> families;
    for (std::size_t f = 0; f < kFamilyCount; ++f) {
      families.push_back(store.handle(static_cast<Family>(f)));
    }
    ASSERT_TRUE(store.db()->Flush(rocksdb::FlushOptions(), families).ok());
    // RocksDB deletes the flushed WAL in the background, soon after.
    for (int i = 0; i < 1000 && std::filesystem::exists(old_wal); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_FALSE(std::filesystem::exists(old_wal)) << "the flushed WAL is deleted";
    for (std::uint64_t i = 40; i < 60; ++i) PutRecord(store, i, 1000);
  });
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(hooked);
  StoreOptions read_only;
  read_only.read_only = true;
  read_only.env = env.get();
  auto reader = Store::Open(db, read_only);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(hooked->fired());
  auto it = (*reader)->NewIterator(Family::kJournal);
  std::uint64_t next = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++next) {
    ASSERT_EQ(GetFixed64BE(it->key().data()), next) << "after " << next << " entries";
  }
  EXPECT_EQ(next, 60u) << "the open again sees every write";
}

// Backups taken while a writer appends records of 0.5-40 KB (several a block, or several
// blocks each), with and without a flush first: each holds a prefix of the writes. The live
// WAL is copied up to what its writer has written (the file is longer: preallocated); copied
// to the file's size, through a reader that ends at the records, a backup fails ("file too
// small").
TEST(WalFileSystem, BackupsBesideAWriterHoldAPrefixOfItsWrites) {
  TempDir dir;
  const std::string db = dir.Sub("db");
  auto opened = Store::Open(db, StoreOptions());
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Store> store = std::move(*opened);

  constexpr std::uint64_t kWrites = 3000;
  std::atomic<std::uint64_t> written{0};
  std::thread writer([&] {
    std::mt19937 random(29);
    std::uniform_int_distribution<std::size_t> size(512, 40 << 10);
    rocksdb::WriteOptions options;
    for (std::uint64_t i = 0; i < kWrites; ++i) {
      rocksdb::WriteBatch batch;
      if (!batch
               .Put(store->handle(Family::kJournal), EncodeFixed64BE(i),
                    std::string(size(random), 'v'))
               .ok()) {
        return;
      }
      options.sync = i % 16 == 0;
      if (!store->db()->Write(options, &batch).ok()) return;
      written.store(i + 1);
    }
  });
  std::uint64_t seen = 0;
  for (int round = 0; round < 8; ++round) {
    rocksdb::Checkpoint* raw = nullptr;
    ASSERT_TRUE(rocksdb::Checkpoint::Create(store->db(), &raw).ok());
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    const std::string copy = dir.Sub(Cat("backup", round));
    // Without a flush first (the largest log_size_for_flush) the copy is mostly live WAL.
    const rocksdb::Status status = checkpoint->CreateCheckpoint(
        copy, round % 2 == 0 ? std::numeric_limits<std::uint64_t>::max() : 0);
    ASSERT_TRUE(status.ok()) << status.ToString();
    std::uint64_t count = 0;
    ASSERT_TRUE(HoldsAPrefix(copy, &count)) << "backup " << round;
    EXPECT_GE(count, seen) << "a later backup holds no fewer";
    seen = count;
    std::filesystem::remove_all(copy);
  }
  writer.join();
  ASSERT_EQ(written.load(), kWrites);
  std::uint64_t count = 0;
  ASSERT_TRUE(HoldsAPrefix(db, &count));
  EXPECT_EQ(count, kWrites);
}

}  // namespace
}  // namespace lovebank
