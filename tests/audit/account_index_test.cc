// The audit replay's account index (ReplayState::AccountIndex, ledger/audit/replay.h): every
// account inserted is found by its id through growth and through hash collisions, nothing else
// is, and the ids are compared in full whatever their length.

#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "ledger/audit/replay.h"

namespace lovebank::audit {
namespace {

using Index = ReplayState::AccountIndex;

TEST(AccountIndexTest, FindsEveryAccountThroughGrowthAndCollisions) {
  std::deque<ReplayState::AccountNode> nodes;  // nodes never move, as in ReplayState::accounts
  Index index;
  EXPECT_EQ(index.Find("m1", Index::HashOf("m1")), nullptr);  // empty
  // Ids of every length from 1 to 40 bytes (the comparison takes 4- and 8-byte words from both
  // ends), non-ASCII among them; every fourth under one shared hash, so that they collide.
  constexpr int kAccounts = 5000;
  auto id_of = [](int i) {
    std::string id = "m" + std::to_string(i);
    id.append(static_cast<std::size_t>(i % 40), i % 7 == 0 ? '\xe7' : 'x');
    return id;
  };
  auto hash_of = [](int i, const std::string& id) {
    return i % 4 == 0 ? std::uint64_t{42} : Index::HashOf(id);
  };
  for (int i = 0; i < kAccounts; ++i) {
    const std::string id = id_of(i);
    ReplayState::AccountNode& node = nodes.emplace_back(id, ReplayState::Account{});
    node.second.lines_count = static_cast<std::uint64_t>(i);
    index.Insert(hash_of(i, id), &node);
    index.PrefetchSlot(hash_of(i, id));  // changes nothing
    index.PrefetchNode(hash_of(i, id));
  }
  for (int i = 0; i < kAccounts; ++i) {
    const std::string id = id_of(i);
    const ReplayState::AccountNode* found = index.Find(id, hash_of(i, id));
    ASSERT_NE(found, nullptr) << id;
    EXPECT_EQ(found->first, id);
    EXPECT_EQ(found->second.lines_count, static_cast<std::uint64_t>(i));
    // The candidate for a hash no other id shares is the account itself; for the shared hash,
    // the first account inserted under it.
    EXPECT_EQ(index.PrefetchNode(hash_of(i, id)), i % 4 == 0 ? index.Find("m0", 42) : found);
    // The same hash with an id differing in its last or first byte only.
    std::string last = id;
    last.back() ^= 1;
    EXPECT_EQ(index.Find(last, hash_of(i, id)), nullptr) << last;
    std::string first = id;
    first.front() ^= 1;
    EXPECT_EQ(index.Find(first, hash_of(i, id)), nullptr) << first;
  }
  EXPECT_EQ(index.Find("", Index::HashOf("")), nullptr);
  EXPECT_EQ(index.Find("m1x", 42), nullptr);  // a colliding hash, no such id
}

}  // namespace
}  // namespace lovebank::audit
