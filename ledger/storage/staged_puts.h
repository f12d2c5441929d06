#pragma once
// StagedPuts: the puts one batch makes to one column family, kept in a single buffer (no
// allocation per key or value) and written to a WriteBatch sorted by key. Internal to ledger/.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lovebank {

class StagedPuts {
 public:
  void Reserve(std::size_t puts, std::size_t bytes);
  void Add(std::string_view key, std::string_view value);
  std::size_t size() const { return puts_.size(); }
  std::size_t bytes() const { return bytes_.size(); }
  // Forgets every put after the first `puts` (an all-or-nothing group rolled back).
  void Truncate(std::size_t puts);
  // Appends a WriteBatch record for every put, sorted by key, under the column family with
  // RocksDB id `family_id`, to `rep`: the representation rocksdb::WriteBatch(std::string&&)
  // takes (RocksDB's write_batch.cc, the WAL's record format) — byte for byte what
  // WriteBatch::Put appends (tests/storage/staged_puts_test.cc), without its per-key calls. Sorted,
  // so the memtable finds each key's place from the previous one's (ledger/storage/memtable.h).
  // Returns the number of records. REQUIRES: every key at most once, so the order changes nothing
  // else.
  std::size_t AppendSorted(std::uint32_t family_id, std::string* rep);
  // The 12-byte header of a WriteBatch representation: sequence (fixed64, RocksDB sets it) and
  // record count (fixed32), both little-endian.
  static constexpr std::size_t kBatchHeaderSize = 12;
  static void SetBatchCount(std::string* rep, std::uint32_t count);

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
