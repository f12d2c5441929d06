#pragma once
// StagedPuts: the puts one batch makes to one column family, kept in a single buffer (no
// allocation per key or value) and written to a WriteBatch sorted by key. Internal to ledger/.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdb/write_batch.h"

namespace lovebank {

class StagedPuts {
 public:
  void Reserve(std::size_t puts, std::size_t bytes);
  void Add(std::string_view key, std::string_view value);
  std::size_t size() const { return puts_.size(); }
  std::size_t bytes() const { return bytes_.size(); }
  // Forgets every put after the first `puts` (an all-or-nothing group rolled back).
  void Truncate(std::size_t puts);
  // Puts everything into `write` under `family`, sorted by key: RocksDB's memtable skiplist then
  // reuses its insertion splice from one key to the next (docs/benchmarks.md). REQUIRES: every
  // key at most once, so the order changes nothing else.
  void WriteSorted(rocksdb::ColumnFamilyHandle* family, rocksdb::WriteBatch* write);

 private:
  struct Put {
    std::uint32_t offset;
    std::uint32_t key_size;
    std::uint32_t value_size;
    // While sorting: the 8 key bytes after the prefix all keys share, big-endian, zero-padded.
    std::uint64_t head = 0;
  };
  std::string_view KeyOf(const Put& put) const {
    return std::string_view(bytes_).substr(put.offset, put.key_size);
  }
  std::string bytes_;  // key ‖ value of every put, in staging order
  std::vector<Put> puts_;
};

}  // namespace lovebank
