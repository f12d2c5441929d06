#include "ledger/storage/id_filter.h"

#include <algorithm>
#include <array>

#include "absl/hash/hash.h"

namespace lovebank {
namespace {

constexpr std::size_t kMinimumCapacity = 1024;
constexpr std::size_t kBitsPerId = 12;
constexpr std::size_t kGrowth = 4;

// 64 bits of a string's hash, mixed again so that the block index (high bits) and the bit
// positions (low bits) are independent.
std::uint64_t HashOf(std::string_view id) {
  std::uint64_t hash = absl::Hash<std::string_view>{}(id);
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdULL;
  hash ^= hash >> 33;
  return hash;
}

}  // namespace

IdFilter::IdFilter(std::size_t expected) {
  filters_.push_back(MakeFilter(std::max(expected, kMinimumCapacity)));
}

IdFilter::Filter IdFilter::MakeFilter(std::size_t capacity) {
  Filter filter;
  filter.capacity = capacity;
  filter.blocks.assign((capacity * kBitsPerId + 511) / 512, Block{});
  return filter;
}

std::array<std::uint16_t, IdFilter::kProbes> IdFilter::BitsOf(std::uint64_t hash) {
  // Double hashing over the low 32 bits: 9 bits (a position in the 512-bit block) per probe.
  std::uint32_t h1 = static_cast<std::uint32_t>(hash);
  const std::uint32_t h2 = (h1 >> 16) | (h1 << 16) | 1;
  std::array<std::uint16_t, kProbes> bits{};
  for (auto& bit : bits) {
    bit = static_cast<std::uint16_t>(h1 & 511);
    h1 += h2;
  }
  return bits;
}

std::size_t IdFilter::BlockOf(const Filter& filter, std::uint64_t hash) {
  // The high bits pick the block (multiply-shift: no modulo, any number of blocks).
  __extension__ using Wide = unsigned __int128;
  return static_cast<std::size_t>((static_cast<Wide>(hash) * filter.blocks.size()) >> 64);
}

void IdFilter::Add(std::string_view id) {
  Filter* newest = &filters_.back();
  if (newest->count >= newest->capacity) {
    filters_.push_back(MakeFilter(newest->capacity * kGrowth));
    newest = &filters_.back();
  }
  const std::uint64_t hash = HashOf(id);
  Block& block = newest->blocks[BlockOf(*newest, hash)];
  for (std::uint16_t bit : BitsOf(hash)) block.words[bit >> 6] |= std::uint64_t{1} << (bit & 63);
  ++newest->count;
  ++count_;
}

bool IdFilter::MayContain(std::string_view id) const {
  const std::uint64_t hash = HashOf(id);
  const auto bits = BitsOf(hash);
  // A fresh id (the common case) is looked up in every filter, one cache miss each: fetch all
  // the blocks at once so the misses overlap instead of queueing.
  for (const Filter& filter : filters_) __builtin_prefetch(&filter.blocks[BlockOf(filter, hash)]);
  return std::any_of(filters_.begin(), filters_.end(), [&](const Filter& filter) {
    const Block& block = filter.blocks[BlockOf(filter, hash)];
    return std::all_of(bits.begin(), bits.end(), [&block](std::uint16_t bit) {
      return (block.words[bit >> 6] >> (bit & 63) & 1) != 0;
    });
  });
}

std::size_t IdFilter::memory_bytes() const {
  std::size_t bytes = 0;
  for (const auto& filter : filters_) bytes += filter.blocks.size() * sizeof(Block);
  return bytes;
}

}  // namespace lovebank
