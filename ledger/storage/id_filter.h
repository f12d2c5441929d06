#pragma once
// IdFilter: an in-memory, approximate set of the request ids the ledger has ever recorded (the
// requests and refusals families). The sequencer asks it before looking a new request id up in
// RocksDB: "no" is certain, so a command with a fresh id skips both point reads (nearly every
// command), and "maybe" falls back to the reads, so a false positive costs time, never a
// wrong answer. Ids are only ever added: an id of a batch that was rolled back stays "maybe".
//
// Blocked Bloom filters (one 64-byte block per id, 7 bits set in it, 12 bits per id: ~0.5 %
// false positives per full filter). When the newest filter holds its capacity, a new one four
// times as large is added; a lookup asks every filter (6 of them from 1,024 to 1M ids), so the
// false-positive rate stays at a few per cent and no filter is ever rebuilt. Memory: ~1.5 bytes
// per id at capacity, up to ~6 right after a growth (1M ids: 1.5-6 MB).
//
// Not thread-safe: owned by the sequencer's engine.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace lovebank {

class IdFilter {
 public:
  // `expected` sizes the first filter (at least 1,024 ids).
  explicit IdFilter(std::size_t expected = 0);

  void Add(std::string_view id);
  // false: `id` was never added. true: it probably was.
  bool MayContain(std::string_view id) const;

  std::size_t size() const { return count_; }
  std::size_t memory_bytes() const;

 private:
  struct Block {
    alignas(64) std::uint64_t words[8];
  };
  struct Filter {
    std::vector<Block> blocks;
    std::size_t capacity = 0;
    std::size_t count = 0;
  };
  static constexpr std::size_t kProbes = 7;
  static Filter MakeFilter(std::size_t capacity);
  static std::array<std::uint16_t, kProbes> BitsOf(std::uint64_t hash);
  static std::size_t BlockOf(const Filter& filter, std::uint64_t hash);

  std::vector<Filter> filters_;
  std::size_t count_ = 0;
};

}  // namespace lovebank
