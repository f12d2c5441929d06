// IdFilter (ledger/storage/id_filter.h): never a false "no", few false "maybe"s, across its growth.

#include "ledger/storage/id_filter.h"

#include <string>

#include "gtest/gtest.h"

namespace lovebank {
namespace {

TEST(IdFilter, EveryAddedIdIsReportedAcrossGrowth) {
  IdFilter filter;  // first filter: 1,024 ids; 100,000 ids make it grow four times
  auto id = [](int i) { return "checkout-" + std::to_string(i) + "-转赠"; };
  for (int i = 0; i < 100'000; ++i) filter.Add(id(i));
  filter.Add("");
  filter.Add(std::string(64, 'x'));
  EXPECT_EQ(filter.size(), 100'002u);
  int missing = 0;
  for (int i = 0; i < 100'000; ++i) missing += filter.MayContain(id(i)) ? 0 : 1;
  EXPECT_EQ(missing, 0);
  EXPECT_TRUE(filter.MayContain(""));
  EXPECT_TRUE(filter.MayContain(std::string(64, 'x')));
}

TEST(IdFilter, FewFalsePositives) {
  IdFilter filter;
  for (int i = 0; i < 100'000; ++i) filter.Add("t" + std::to_string(i));
  int positives = 0;
  constexpr int kProbes = 100'000;
  for (int i = 0; i < kProbes; ++i) {
    positives += filter.MayContain("u" + std::to_string(i)) ? 1 : 0;
  }
  // ~0.5 % per filter and four filters full: a few per cent at most. A filter that answers
  // "maybe" to everything (or a broken hash) fails this.
  EXPECT_LT(positives, kProbes / 20) << positives;
  // Memory stays in the order of bytes per id, not a copy of the ids.
  EXPECT_LT(filter.memory_bytes(), 100'000u * 8);
}

TEST(IdFilter, SizedUpFrontItStaysOneFilterWithFewerFalsePositives) {
  IdFilter filter(200'000);
  for (int i = 0; i < 100'000; ++i) filter.Add("t" + std::to_string(i));
  int positives = 0;
  for (int i = 0; i < 100'000; ++i) positives += filter.MayContain("u" + std::to_string(i));
  EXPECT_LT(positives, 100'000 / 200) << positives;  // half full: well under 0.5 %
}

}  // namespace
}  // namespace lovebank
