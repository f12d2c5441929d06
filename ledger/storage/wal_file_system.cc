#include "ledger/storage/wal_file_system.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace lovebank {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSSequentialFile;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

// RocksDB's WAL format (db/log_format.h, unchanged since LevelDB): 32 KB blocks of records,
// each a header (CRC 4 bytes, payload length 2, type 1; 4 more bytes of log number for the
// recyclable types 5-8) and its payload. A record never crosses a block; fewer than a header's
// bytes left at a block's end are a zero trailer the writer pads and every reader skips. The
// writer never writes type 0 ("reserved for preallocated files").
constexpr std::size_t kBlockSize = 32768;
constexpr std::size_t kHeaderSize = 7;
constexpr std::size_t kRecyclableHeaderSize = 11;

std::string Key(const std::string& name) {
  return std::filesystem::path(name).lexically_normal().string();
}

// A WAL read from the start, up to (not including) its first record header of type 0: the
// first record its writer had not yet written when this reader got there. It reads the target
// in whole blocks, follows the records' lengths through each block as RocksDB's log reader
// does, and serves reads of any size from the block.
// A record another process was still writing (its header there, some of its payload not) is
// passed on: its checksum fails in RocksDB's reader, which reports it, and with paranoid_checks
// (store.cc) recovery stops there under kPointInTimeRecovery, as at a torn tail. Without
// paranoid_checks RocksDB would go on to the next block: a gap. A WAL this process is writing
// is read only up to what its writer had appended when the block was read (`written`): never
// half a record (a backup's first look at a new WAL would fail on one).
// Assumes WAL recycling off (store.cc does not set recycle_log_file_num): a recycled WAL holds
// an older log's records after the new ones, and its writer pads up to 10 zero bytes.
class WalPrefixFile : public rocksdb::FSSequentialFileOwnerWrapper {
 public:
  WalPrefixFile(std::unique_ptr<FSSequentialFile> target,
                std::shared_ptr<const std::atomic<std::uint64_t>> written)
      : FSSequentialFileOwnerWrapper(std::move(target)),
        written_(std::move(written)),
        block_(new char[kBlockSize]) {}

  IOStatus Read(std::size_t n, const IOOptions& options, Slice* result, char* scratch,
                IODebugContext* dbg) override {
    std::size_t done = 0;
    const IOStatus status = Advance(n, scratch, options, dbg, &done);
    *result = Slice(scratch, done);
    return status;
  }

  IOStatus Skip(std::uint64_t n) override {
    std::size_t done = 0;
    return Advance(n, nullptr, IOOptions(), nullptr, &done);
  }

  // Reads at an offset bypass the records' order; RocksDB uses them only for direct I/O.
  IOStatus PositionedRead(std::uint64_t, std::size_t, const IOOptions&, Slice*, char*,
                          IODebugContext*) override {
    return IOStatus::NotSupported("positioned reads of a WAL");
  }

 private:
  // Copies (or, with `out` null, passes over) up to `n` bytes; fewer only at the end.
  IOStatus Advance(std::uint64_t n, char* out, const IOOptions& options, IODebugContext* dbg,
                   std::size_t* done) {
    while (*done < n) {
      if (served_ == usable_) {
        if (ended_) break;
        const IOStatus status = LoadBlock(options, dbg);
        if (!status.ok()) return status;
        continue;
      }
      const std::size_t take = static_cast<std::size_t>(
          std::min<std::uint64_t>(n - *done, static_cast<std::uint64_t>(usable_ - served_)));
      if (out != nullptr) std::memcpy(out + *done, block_.get() + served_, take);
      served_ += take;
      *done += take;
    }
    return IOStatus::OK();
  }

  IOStatus LoadBlock(const IOOptions& options, IODebugContext* dbg) {
    block_start_ += loaded_;
    loaded_ = served_ = usable_ = 0;
    // Before the read: every byte below it was appended before the read began.
    const std::uint64_t written = written_ != nullptr ? written_->load(std::memory_order_acquire)
                                                      : std::numeric_limits<std::uint64_t>::max();
    while (loaded_ < kBlockSize) {
      Slice got;
      const IOStatus status =
          target()->Read(kBlockSize - loaded_, options, &got, block_.get() + loaded_, dbg);
      if (!status.ok()) return status;
      if (got.empty()) break;
      if (got.data() != block_.get() + loaded_) {
        std::memmove(block_.get() + loaded_, got.data(), got.size());
      }
      loaded_ += got.size();
    }
    ended_ = loaded_ < kBlockSize;  // the file's end
    if (block_start_ + loaded_ > written) {
      loaded_ = static_cast<std::size_t>(std::max(written, block_start_) - block_start_);
      ended_ = true;
    }
    usable_ = loaded_;
    const auto* bytes = reinterpret_cast<const unsigned char*>(block_.get());
    while (next_header_ < block_start_ + loaded_) {
      const std::size_t at = static_cast<std::size_t>(next_header_ - block_start_);
      if (kBlockSize - at < kHeaderSize) {  // the block's trailer
        next_header_ = block_start_ + kBlockSize;
        continue;
      }
      if (at + kHeaderSize > loaded_) break;  // cut by the file's end: RocksDB's reader judges
      const unsigned type = bytes[at + 6];
      if (type == 0) {
        usable_ = at;
        ended_ = true;
        break;
      }
      const std::size_t length = bytes[at + 4] | (std::size_t{bytes[at + 5]} << 8);
      next_header_ += (type >= 5 && type <= 8 ? kRecyclableHeaderSize : kHeaderSize) + length;
    }
    return IOStatus::OK();
  }

  const std::shared_ptr<const std::atomic<std::uint64_t>> written_;  // null: not ours
  std::unique_ptr<char[]> block_;
  std::uint64_t block_start_ = 0;  // the file offset of block_[0]
  std::size_t loaded_ = 0;         // bytes of the file in block_
  std::size_t usable_ = 0;         // of which readers get these
  std::size_t served_ = 0;         // of which they have had these
  std::uint64_t next_header_ = 0;  // the file offset of the next record's header
  bool ended_ = false;
};

// What this process has written to each WAL it has open for writing.
class WrittenSizes {
 public:
  std::shared_ptr<std::atomic<std::uint64_t>> Add(const std::string& name) {
    auto written = std::make_shared<std::atomic<std::uint64_t>>(0);
    std::lock_guard<std::mutex> lock(mu_);
    sizes_[Key(name)] = written;
    return written;
  }
  void Remove(const std::string& name, const std::atomic<std::uint64_t>* written) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = sizes_.find(Key(name));
    if (it != sizes_.end() && it->second.get() == written) sizes_.erase(it);
  }
  // What this process has written to `name` so far; null when it is not writing it.
  std::shared_ptr<const std::atomic<std::uint64_t>> Find(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = sizes_.find(Key(name));
    if (it == sizes_.end()) return nullptr;
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::atomic<std::uint64_t>>> sizes_;
};

// A WAL being written: counts the bytes appended, the WAL's size for as long as it is open
// (closed, RocksDB trims it to them: PosixWritableFile::Close).
class CountedWalFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CountedWalFile(std::unique_ptr<FSWritableFile> target, std::string name,
                 std::shared_ptr<WrittenSizes> sizes)
      : FSWritableFileOwnerWrapper(std::move(target)),
        name_(std::move(name)),
        sizes_(std::move(sizes)),
        written_(sizes_->Add(name_)) {}
  ~CountedWalFile() override { sizes_->Remove(name_, written_.get()); }

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    return Count(target()->Append(data, options, dbg), data.size());
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& info, IODebugContext* dbg) override {
    return Count(target()->Append(data, options, info, dbg), data.size());
  }
  IOStatus PositionedAppend(const Slice& data, std::uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    return At(target()->PositionedAppend(data, offset, options, dbg), offset + data.size());
  }
  IOStatus PositionedAppend(const Slice& data, std::uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& info,
                            IODebugContext* dbg) override {
    return At(target()->PositionedAppend(data, offset, options, info, dbg), offset + data.size());
  }
  IOStatus Truncate(std::uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    IOStatus status = target()->Truncate(size, options, dbg);
    if (status.ok()) written_->store(size, std::memory_order_release);
    return status;
  }
  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    IOStatus status = target()->Close(options, dbg);
    sizes_->Remove(name_, written_.get());
    return status;
  }

 private:
  IOStatus Count(IOStatus status, std::size_t bytes) {
    if (status.ok()) written_->fetch_add(bytes, std::memory_order_acq_rel);
    return status;
  }
  IOStatus At(IOStatus status, std::uint64_t end) {
    if (status.ok()) {
      std::uint64_t seen = written_->load(std::memory_order_acquire);
      while (seen < end && !written_->compare_exchange_weak(seen, end)) {
      }
    }
    return status;
  }

  const std::string name_;
  const std::shared_ptr<WrittenSizes> sizes_;
  const std::shared_ptr<std::atomic<std::uint64_t>> written_;
};

class SizedWalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit SizedWalFileSystem(std::shared_ptr<rocksdb::FileSystem> target)
      : FileSystemWrapper(std::move(target)), sizes_(std::make_shared<WrittenSizes>()) {}
  const char* Name() const override { return "LovebankSizedWal"; }

  // RocksDB's PosixFileSystem keeps FALLOC_FL_KEEP_SIZE on for WAL files only for a test of
  // its transaction-log iterator ("it's faster if fallocate_with_keep_size is false").
  FileOptions OptimizeForLogWrite(const FileOptions& file_options,
                                  const rocksdb::DBOptions& db_options) const override {
    FileOptions options = target()->OptimizeForLogWrite(file_options, db_options);
    options.fallocate_with_keep_size = false;
    return options;
  }

  IOStatus NewWritableFile(const std::string& name, const FileOptions& options,
                           std::unique_ptr<FSWritableFile>* result, IODebugContext* dbg) override {
    IOStatus status = target()->NewWritableFile(name, options, result, dbg);
    if (status.ok() && IsWalFile(name)) {
      *result = std::make_unique<CountedWalFile>(std::move(*result), name, sizes_);
    }
    return status;
  }

  IOStatus NewSequentialFile(const std::string& name, const FileOptions& options,
                             std::unique_ptr<FSSequentialFile>* result,
                             IODebugContext* dbg) override {
    IOStatus status = target()->NewSequentialFile(name, options, result, dbg);
    if (status.ok() && IsWalFile(name))
      *result = std::make_unique<WalPrefixFile>(std::move(*result), sizes_->Find(name));
    return status;
  }

  // A WAL this process is writing: what it has written (a backup copies the live WAL up to its
  // size). Any other file, or a WAL a dead process left: the file system's size.
  IOStatus GetFileSize(const std::string& name, const IOOptions& options, std::uint64_t* size,
                       IODebugContext* dbg) override {
    if (IsWalFile(name)) {
      if (const auto written = sizes_->Find(name)) {
        *size = written->load(std::memory_order_acquire);
        return IOStatus::OK();
      }
    }
    return target()->GetFileSize(name, options, size, dbg);
  }

 private:
  const std::shared_ptr<WrittenSizes> sizes_;
};

}  // namespace

// RocksDB's info logs are LOG and LOG.old.*; its WALs "%06llu.log".
bool IsWalFile(const std::string& name) {
  const std::string base = std::filesystem::path(name).filename().string();
  const std::size_t dot = base.size() > 4 ? base.size() - 4 : 0;
  return dot > 0 && base.compare(dot, 4, ".log") == 0 &&
         std::all_of(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(dot),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::shared_ptr<rocksdb::FileSystem> NewSizedWalFileSystem(
    std::shared_ptr<rocksdb::FileSystem> target) {
  return std::make_shared<SizedWalFileSystem>(std::move(target));
}

}  // namespace lovebank
