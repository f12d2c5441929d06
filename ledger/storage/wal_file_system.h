#pragma once
// The file system every Store opens RocksDB with: the WAL preallocated with its size, and every
// reader of a WAL stopped where its records end.
//
// Why: RocksDB preallocates each WAL ahead (1.1 x the largest write buffer) but, on Linux, with
// FALLOC_FL_KEEP_SIZE, so each synced append still grows the file and ext4 journals the new
// size before fdatasync returns. With the size set by the preallocation, a commit's write lands
// inside the file and its sync flushes the data alone (a synced 8-key write 204-230 -> 134-168
// us here; ledger_bench 1 x 1 1.42x; docs/benchmarks.md) — what PostgreSQL gets from its
// preallocated WAL segments.
//
// The price, which this file pays: a WAL that is still being written, or whose writer died, is
// longer than its records, and the rest reads as zeros. RocksDB's log reader skips a zero-type
// header to the next 32 KB block ("reserved for preallocated files") without a word, so a
// reader beside the writer (a read-only open such as the audit, a backup's copy of the live
// WAL) could read a block while the writer is in it, skip its unwritten rest, and find the
// writer's later records in the next block: a silent gap. Here every sequential read of a WAL
// ends at the first zero-type header at a record boundary, where the records end, and the size
// of a WAL this process is writing is the bytes written to it, not the file's.

#include <memory>
#include <string>

#include "rocksdb/file_system.h"

namespace lovebank {

// Whether `name` (a path or a file name) is a WAL file: "<number>.log".
bool IsWalFile(const std::string& name);

// `target`'s files, with WAL files ("<number>.log") preallocated with their size, read up to
// their first unwritten record, and (while this process writes them) sized by what was written.
std::shared_ptr<rocksdb::FileSystem> NewSizedWalFileSystem(
    std::shared_ptr<rocksdb::FileSystem> target);

}  // namespace lovebank
