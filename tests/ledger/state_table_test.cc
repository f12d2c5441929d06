// One state table (ledger/engine/state_table.h) is what every piece of the engine's state is:
// its undo per batch, its mark, its staging, its eviction after a durable batch and its load
// must put back exactly what was there, stage exactly what changed, and read exactly its keys.

#include "ledger/engine/state_table.h"

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using Staged = std::map<std::string, std::string>;

// A table of small counters in the usage family: "odd" values leave memory once durable;
// keys starting with "x" are not the table's; "bad" does not decode; "skip" stays in the store.
struct Counters {
  int restores = 0;
  StateTable<int> table;
  Counters() : table(Codec(&restores)) {}

  static TableCodec<int> Codec(int* restores) {
    TableCodec<int> codec;
    codec.family = Family::kUsage;
    codec.what = "counter";
    codec.encode = [](const int& v) { return std::to_string(v); };
    codec.decode = [](std::string_view key,
                      std::string_view value) -> absl::StatusOr<std::optional<int>> {
      if (value == "bad") return absl::DataLossError(Cat("counter ", key, " does not decode"));
      if (value == "skip") return std::optional<int>();
      return std::optional<int>(std::stoi(std::string(value)));
    };
    codec.owns = [](std::string_view key) { return !key.starts_with("x"); };
    codec.evict_when_durable = [](const int& v) { return v % 2 != 0; };
    codec.after_restore = [restores] { ++*restores; };
    return codec;
  }

  Staged Stage() const {
    Staged staged;
    table.StageOpenBatch([&staged](Family family, std::string_view key, std::string_view value) {
      EXPECT_EQ(family, Family::kUsage);
      staged[std::string(key)] = std::string(value);
    });
    return staged;
  }
  std::map<std::string, int> Values() const {
    return std::map<std::string, int>(table.all().begin(), table.all().end());
  }
};

TEST(StateTable, AFailedWriteRestoresWhatEveryInFlightBatchChanged) {
  Counters c;
  c.table.BeginBatch();
  c.table.Set("a", 2);
  c.table.Set("b", 4);
  c.table.Set("a", 6);  // a second change in the batch keeps the first undo record
  EXPECT_EQ(c.Stage(), (Staged{{"a", "6"}, {"b", "4"}}));
  c.table.RetireOldest();  // durable: its undo is gone, its even values stay
  c.table.BeginBatch();
  c.table.Set("a", 8);
  c.table.Set("c", 10);
  c.table.BeginBatch();  // pipelined: a second batch on top of the first
  c.table.Set("a", 12);
  c.table.Set("b", 14);
  EXPECT_EQ(c.Stage(), (Staged{{"a", "12"}, {"b", "14"}}));
  EXPECT_EQ(c.restores, 0);
  c.table.RollBackAll();
  EXPECT_EQ(c.Values(), (std::map<std::string, int>{{"a", 6}, {"b", 4}}));
  EXPECT_EQ(c.restores, 1);
  c.table.RollBackAll();  // nothing in flight: nothing to restore
  EXPECT_EQ(c.restores, 1);
}

TEST(StateTable, RollingBackToTheMarkUndoesOnlyWhatFollowedIt) {
  Counters c;
  c.table.BeginBatch();
  c.table.Set("a", 2);
  c.table.Mark();
  c.table.Set("a", 4);  // changed before the mark: stays in the batch's undo
  c.table.Set("c", 6);  // new since the mark: leaves the batch again
  c.table.RollBackToMark();
  EXPECT_EQ(c.Values(), (std::map<std::string, int>{{"a", 2}}));
  EXPECT_EQ(c.Stage(), (Staged{{"a", "2"}}));
  EXPECT_EQ(c.restores, 1);
  // A mark with no change since restores nothing; a released mark keeps its changes.
  c.table.Mark();
  c.table.RollBackToMark();
  EXPECT_EQ(c.restores, 1);
  c.table.Mark();
  c.table.Set("d", 8);
  c.table.ReleaseMark();
  EXPECT_EQ(c.Stage(), (Staged{{"a", "2"}, {"d", "8"}}));
  c.table.RollBackAll();  // the batch's undo still knows both keys were absent before it
  EXPECT_TRUE(c.Values().empty());
}

TEST(StateTable, ADurableValueLeavesMemoryUnlessALaterBatchChangedIt) {
  Counters c;
  c.table.BeginBatch();
  c.table.Set("odd", 1);
  c.table.Set("kept", 1);
  c.table.Set("even", 2);
  c.table.BeginBatch();
  c.table.Set("kept", 3);  // the later batch still needs it in memory
  c.table.RetireOldest();
  EXPECT_EQ(c.Values(), (std::map<std::string, int>{{"even", 2}, {"kept", 3}}));
  c.table.RetireOldest();
  EXPECT_EQ(c.Values(), (std::map<std::string, int>{{"even", 2}}));
}

TEST(StateTable, LoadReadsItsOwnKeysAndRefusesAValueThatDoesNotDecode) {
  testing::TempDir dir;
  auto store = Store::Open(dir.path(), StoreOptions{});
  ASSERT_TRUE(store.ok()) << store.status();
  auto put = [&](std::string_view key, std::string_view value) {
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put(rocksdb::WriteOptions(), (*store)->handle(Family::kUsage),
                          rocksdb::Slice(key.data(), key.size()),
                          rocksdb::Slice(value.data(), value.size()))
                    .ok());
  };
  put("a", "1");
  put("b", "skip");
  put("x-other", "bad");  // not the table's: never decoded
  {
    Counters c;
    ASSERT_TRUE(c.table.Load(**store).ok());
    EXPECT_EQ(c.Values(), (std::map<std::string, int>{{"a", 1}}));
    EXPECT_EQ(c.restores, 1);  // derived state is built once from what was loaded
  }
  put("c", "bad");
  Counters c;
  absl::Status status = c.table.Load(**store);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("counter c does not decode"), std::string::npos) << status;
}

}  // namespace
}  // namespace lovebank

namespace lovebank {
namespace {

// Loading reads the whole family once into memory: its blocks must not also stay in RocksDB's
// block cache (RocksDB's default, 8 MB per family, counted in a serving lovebankd's RSS).
TEST(StateTable, LoadingLeavesTheBlockCacheEmpty) {
  testing::TempDir dir;
  auto store = Store::Open(dir.path(), StoreOptions{});
  ASSERT_TRUE(store.ok()) << store.status();
  rocksdb::DB* db = (*store)->db();
  rocksdb::ColumnFamilyHandle* usage = (*store)->handle(Family::kUsage);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), usage, Cat("k", 100000 + i), "2").ok());
  }
  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), usage).ok());  // the values in a table file
  auto cached = [&] {
    std::uint64_t bytes = 0;
    EXPECT_TRUE(db->GetIntProperty(usage, "rocksdb.block-cache-usage", &bytes));
    return bytes;
  };
  const std::uint64_t before = cached();
  Counters c;
  ASSERT_TRUE(c.table.Load(**store).ok());
  EXPECT_EQ(c.Values().size(), 5000u);
  EXPECT_EQ(cached(), before) << "the load's blocks went into the block cache";
  // A point read does use the cache (the property measures it).
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), usage, "k100000", &value).ok());
  EXPECT_GT(cached(), before);
}

}  // namespace
}  // namespace lovebank
