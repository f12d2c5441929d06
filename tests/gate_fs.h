#pragma once
// GateFs: a RocksDB file system for tests that hold the ledger inside a commit's WAL sync.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "rocksdb/file_system.h"

namespace lovebank::testing {

// A file system whose WAL syncs wait while the gate is closed: the test holds the writer inside
// a commit's fsync for as long as it likes, and knows when it is there.
class GateFs : public rocksdb::FileSystemWrapper {
 public:
  GateFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "LovebankGateFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    auto status = target()->NewWritableFile(name, options, &file, dbg);
    if (!status.ok()) return status;
    const bool wal = name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
    *result = std::make_unique<File>(std::move(file), wal ? this : nullptr);
    return status;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      closed_ = false;
    }
    changed_.notify_all();
  }
  // The syncs held at the gate fail when it opens (the bytes were appended; their fate unknown).
  std::atomic<bool> fail_held{false};
  // Waits until a WAL sync is held at the closed gate (false after 60 s: the test fails).
  bool AwaitHeld() {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [this] { return held_ > 0; });
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> target, GateFs* gate)
        : FSWritableFileOwnerWrapper(std::move(target)), gate_(gate) {}
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (gate_ != nullptr && !gate_->Pass()) return rocksdb::IOStatus::IOError("injected");
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (gate_ != nullptr && !gate_->Pass()) return rocksdb::IOStatus::IOError("injected");
      return FSWritableFileOwnerWrapper::Fsync(options, dbg);
    }

   private:
    GateFs* gate_;
  };
  // False: the sync fails (fail_held).
  bool Pass() {
    std::unique_lock lock(mu_);
    const bool waited = closed_;
    ++held_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !closed_; });
    --held_;
    return !(waited && fail_held.load());
  }
  std::mutex mu_;
  std::condition_variable changed_;
  bool closed_ = false;
  int held_ = 0;
};

}  // namespace lovebank::testing
