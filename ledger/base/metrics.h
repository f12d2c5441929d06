#pragma once
// Histograms for lovebankd's /metrics (issue #28): lock-free to observe on the commit path, read
// as a snapshot, rendered in the Prometheus text format by service/metrics.cc.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace lovebank {

// Microseconds: from a fast call (50 µs) to a stalled disk (2.5 s).
inline constexpr std::array<std::uint64_t, 15> kLatencyBoundsUs = {
    50,     100,    250,     500,     1'000,   2'500,     5'000,    10'000,
    25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000};
// Commands per batch: 1 up to the largest batch (8,192).
inline constexpr std::array<std::uint64_t, 14> kBatchSizeBounds = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};

// Counts of observed values per bucket (value <= bound; the last bucket: above every bound), and
// their sum. At most 16 bounds.
class Histogram {
 public:
  static constexpr std::size_t kBoundsMax = 16;
  explicit Histogram(std::span<const std::uint64_t> bounds) : bounds_(bounds) {}
  void Observe(std::uint64_t value) {
    std::size_t bucket = 0;
    while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }
  struct Snapshot {
    std::span<const std::uint64_t> bounds;
    std::array<std::uint64_t, kBoundsMax + 1> counts{};  // per bucket, not cumulative
    std::uint64_t sum = 0;
  };
  Snapshot Read() const {
    Snapshot snapshot{bounds_};
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      snapshot.counts[i] = counts_[i].load(std::memory_order_relaxed);
    }
    snapshot.sum = sum_.load(std::memory_order_relaxed);
    return snapshot;
  }

 private:
  std::span<const std::uint64_t> bounds_;
  std::array<std::atomic<std::uint64_t>, kBoundsMax + 1> counts_{};
  std::atomic<std::uint64_t> sum_{0};
};

}  // namespace lovebank
