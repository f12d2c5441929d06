// The audit's BigVector (ledger/audit/big_vector.h): a vector that grows from the usual
// allocator into 2 MB-aligned mappings keeps every element, and frees what it mapped.

#include "ledger/audit/big_vector.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace lovebank::audit {
namespace {

TEST(BigVectorTest, GrowingPastTwoMegabytesKeepsEveryElementInAnAlignedBlock) {
  BigVector<std::uint64_t> values;
  constexpr std::uint64_t kCount = 3'000'000;  // 24 MB: several reallocations past 2 MB
  for (std::uint64_t i = 0; i < kCount; ++i) values.push_back(i * 2654435761u);
  ASSERT_EQ(values.size(), kCount);
  for (std::uint64_t i = 0; i < kCount; ++i) ASSERT_EQ(values[i], i * 2654435761u) << i;
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(values.data()) % (std::size_t{2} << 20), 0u);
  values.shrink_to_fit();  // a mapped block of another size: unmapped by the size it was given
  BigVector<std::uint64_t> copy = values;
  EXPECT_EQ(copy, values);
  BigVector<std::uint64_t> small(10, 7);  // below 2 MB: the usual allocator
  EXPECT_EQ(small[9], 7u);
}

}  // namespace
}  // namespace lovebank::audit
