// StagedPuts writes its puts to the WriteBatch in key order (bytewise, as RocksDB orders keys),
// whatever order they were staged in, each with its own value — as the very records
// rocksdb::WriteBatch::Put appends, in any column family.

#include "ledger/storage/staged_puts.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/comparator.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace lovebank {
namespace {

class Collect : public rocksdb::WriteBatch::Handler {
 public:
  rocksdb::Status PutCF(std::uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    EXPECT_EQ(family, 0u);
    puts.emplace_back(key.ToString(), value.ToString());
    return rocksdb::Status::OK();
  }
  std::vector<std::pair<std::string, std::string>> puts;
};

using Puts = std::vector<std::pair<std::string, std::string>>;

// A WriteBatch of `staged`'s records in the default family.
rocksdb::WriteBatch BatchOf(StagedPuts& staged, std::uint32_t family_id = 0) {
  std::string rep(StagedPuts::kBatchHeaderSize, '\0');
  const std::size_t count = staged.AppendSorted(family_id, &rep);
  StagedPuts::SetBatchCount(&rep, static_cast<std::uint32_t>(count));
  return rocksdb::WriteBatch(std::move(rep));
}

Puts Written(StagedPuts& staged) {
  rocksdb::WriteBatch write = BatchOf(staged);
  EXPECT_EQ(write.Count(), staged.size());
  Collect collect;
  EXPECT_TRUE(write.Iterate(&collect).ok());
  return collect.puts;
}

// Enough of a column family handle for WriteBatch::Put: its id and the default comparator.
class FakeFamily : public rocksdb::ColumnFamilyHandle {
 public:
  explicit FakeFamily(std::uint32_t id) : id_(id) {}
  const std::string& GetName() const override { return name_; }
  std::uint32_t GetID() const override { return id_; }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override {
    return rocksdb::Status::NotSupported();
  }
  const rocksdb::Comparator* GetComparator() const override {
    return rocksdb::BytewiseComparator();
  }

 private:
  std::uint32_t id_;
  std::string name_ = "fake";
};

// Family ids of one and two varint bytes (0 has no id in the record), keys and values with
// one-, two- and three-byte length varints: the records are RocksDB's own, byte for byte.
TEST(StagedPuts, RecordsAreWhatWriteBatchPutWrites) {
  std::mt19937 random(11);
  for (const std::uint32_t family_id : {0u, 1u, 16u, 127u, 128u, 300u}) {
    StagedPuts staged;
    std::map<std::string, std::string> expected;
    for (int i = 0; i < 200; ++i) {
      const std::size_t key_size = i % 50 == 0 ? 200 : 1 + random() % 20;
      const std::size_t value_size = i % 40 == 0 ? 20000 : i % 7 == 0 ? 0 : random() % 150;
      std::string key(key_size, '\0');
      for (char& c : key) c = static_cast<char>(random());
      if (expected.contains(key)) continue;
      const std::string value(value_size, static_cast<char>('a' + i % 26));
      staged.Add(key, value);
      expected.emplace(key, value);
    }
    FakeFamily family(family_id);
    rocksdb::WriteBatch theirs;
    for (const auto& [key, value] : expected) {
      ASSERT_TRUE(theirs.Put(&family, key, value).ok());
    }
    const rocksdb::WriteBatch ours = BatchOf(staged, family_id);
    EXPECT_EQ(ours.Count(), theirs.Count());
    EXPECT_TRUE(ours.Data() == theirs.Data()) << "family " << family_id;
  }
}

// Keys built to defeat a comparison that looked at too little: long shared prefixes, keys that
// are prefixes of others, 0x00 bytes (also right where padding would go), bytes >= 0x80 (must
// sort above ASCII), and differences before, inside and after the 8 bytes after the prefix.
TEST(StagedPuts, WritesInBytewiseKeyOrderWithEachValue) {
  std::mt19937 random(7);
  const std::string alphabet = std::string("\x00\x01", 2) + "Aaz\x7f\x80\xe7\xff";
  for (int round = 0; round < 200; ++round) {
    std::map<std::string, std::string> expected;
    const std::string prefix(random() % 12, 'p');
    const int count = 1 + static_cast<int>(random() % 300);
    while (static_cast<int>(expected.size()) < count) {
      std::string key = prefix;
      const std::size_t length = random() % 20;
      for (std::size_t i = 0; i < length; ++i) key.push_back(alphabet[random() % alphabet.size()]);
      expected.emplace(key, "v" + std::to_string(random()));
    }
    Puts order(expected.begin(), expected.end());
    std::shuffle(order.begin(), order.end(), random);
    StagedPuts staged;
    for (const auto& [key, value] : order) staged.Add(key, value);
    const auto written = Written(staged);
    ASSERT_EQ(written, Puts(expected.begin(), expected.end())) << "round " << round;
  }
}

TEST(StagedPuts, StatementLikeKeysSortByAccountThenSeq) {
  StagedPuts staged;
  std::vector<std::string> keys;
  for (const std::string account : {"member:b", "member:a", "member:张三", "member:a0"}) {
    for (int seq : {300, 2, 70000}) {
      std::string key = account;
      key.push_back('\0');
      for (int shift = 56; shift >= 0; shift -= 8) {
        key.push_back(static_cast<char>((static_cast<std::uint64_t>(seq) >> shift) & 0xFF));
      }
      keys.push_back(key);
      staged.Add(key, "line");
    }
  }
  std::sort(keys.begin(), keys.end());
  const auto written = Written(staged);
  ASSERT_EQ(written.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(written[i].first, keys[i]) << i;
}

TEST(StagedPuts, TruncateForgetsTheLaterPuts) {
  StagedPuts staged;
  staged.Add("c", "1");
  staged.Add("a", "2");
  staged.Add("b", "3");
  staged.Truncate(1);
  staged.Add("a", "4");
  EXPECT_EQ(Written(staged), (Puts{{"a", "4"}, {"c", "1"}}));
}

}  // namespace
}  // namespace lovebank
