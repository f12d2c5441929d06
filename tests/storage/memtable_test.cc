// The finger skiplist (ledger/storage/memtable.h) is every family's memtable: through a real
// RocksDB whose data stays in that memtable, reads, iterators in both directions, seeks and
// snapshots must agree with a std::map model after puts and deletes in sorted, random and
// descending batches — and keep agreeing after a flush and a reopen; readers running beside the
// writer must only ever see a sorted, growing set of keys.

#include "ledger/storage/memtable.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using Model = std::map<std::string, std::string>;

rocksdb::Options FingerOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.allow_concurrent_memtable_write = false;
  options.memtable_factory = NewFingerSkipListFactory();
  options.write_buffer_size = 256 << 20;  // nothing leaves the memtable unless flushed
  return options;
}

std::unique_ptr<rocksdb::DB> OpenDb(const std::string& path,
                                    const rocksdb::Options& options = FingerOptions()) {
  rocksdb::DB* db = nullptr;
  const rocksdb::Status status = rocksdb::DB::Open(options, path, &db);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

// Keys that share prefixes and vary in every way bytewise order cares about: empty, 0x00 and
// 0xFF bytes, a Chinese account, lengths past 127 bytes (two-byte varint sizes).
std::string RandomKey(std::mt19937_64& random) {
  static const std::vector<std::string> prefixes = {
      "", "a", "acct:", "acct:\xE5\xBC\xA0\xE4\xB8\x89", std::string("\0", 1), "\xFF", "zz"};
  std::string key = prefixes[random() % prefixes.size()];
  const std::size_t extra = random() % 8 == 0 ? 100 + random() % 200 : random() % 6;
  for (std::size_t i = 0; i < extra; ++i) {
    const unsigned pick = random() % 4;
    key.push_back(pick == 0 ? '\0' : pick == 1 ? '\xFF' : static_cast<char>('a' + random() % 3));
  }
  return key;
}

std::string RandomValue(std::mt19937_64& random) {
  return std::string(random() % 8 == 0 ? 128 + random() % 300 : random() % 20,
                     static_cast<char>('A' + random() % 26));
}

Model Scan(rocksdb::DB& db, const rocksdb::Snapshot* snapshot, bool backwards) {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read));
  Model seen;
  std::optional<std::string> previous;
  for (backwards ? it->SeekToLast() : it->SeekToFirst(); it->Valid();
       backwards ? it->Prev() : it->Next()) {
    const std::string key = it->key().ToString();
    if (previous) {
      EXPECT_TRUE(backwards ? key < *previous : key > *previous);
    }
    previous = key;
    seen.emplace(key, it->value().ToString());
  }
  EXPECT_TRUE(it->status().ok());
  return seen;
}

// Every read path against the model, through `snapshot` (null: the latest state).
void ExpectMatches(rocksdb::DB& db, const Model& model, const rocksdb::Snapshot* snapshot,
                   std::mt19937_64& random) {
  EXPECT_EQ(Scan(db, snapshot, false), model);
  EXPECT_EQ(Scan(db, snapshot, true), model);
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  for (const auto& [key, value] : model) {
    std::string got;
    ASSERT_TRUE(db.Get(read, key, &got).ok()) << "missing key of size " << key.size();
    EXPECT_EQ(got, value);
  }
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read));
  for (int i = 0; i < 300; ++i) {
    const std::string target = RandomKey(random);
    std::string got;
    const rocksdb::Status status = db.Get(read, target, &got);
    EXPECT_EQ(status.IsNotFound(), !model.contains(target));

    it->Seek(target);
    const auto at_or_after = model.lower_bound(target);
    ASSERT_EQ(it->Valid(), at_or_after != model.end());
    if (it->Valid()) {
      EXPECT_EQ(it->key().ToString(), at_or_after->first);
    }

    it->SeekForPrev(target);
    const auto after = model.upper_bound(target);
    ASSERT_EQ(it->Valid(), after != model.begin());
    if (it->Valid()) {
      EXPECT_EQ(it->key().ToString(), std::prev(after)->first);
      it->Prev();  // and one step back from there
      const auto before = std::prev(after);
      ASSERT_EQ(it->Valid(), before != model.begin());
      if (it->Valid()) {
        EXPECT_EQ(it->key().ToString(), std::prev(before)->first);
      }
    }
  }
}

std::uint64_t IntProperty(rocksdb::DB& db, const std::string& name) {
  std::uint64_t value = 0;
  EXPECT_TRUE(db.GetIntProperty(name, &value)) << name;
  return value;
}

std::string TableFiles(rocksdb::DB& db) {
  std::string value;
  EXPECT_TRUE(db.GetProperty("rocksdb.num-files-at-level0", &value));
  return value;
}

TEST(FingerSkipList, AgreesWithAModelInSortedRandomAndDescendingBatches) {
  testing::TempDir dir;
  auto db = OpenDb(dir.path());
  std::mt19937_64 random(20261124);
  Model model;
  std::vector<std::pair<const rocksdb::Snapshot*, Model>> snapshots;

  for (int round = 0; round < 200; ++round) {
    // Each batch's distinct keys in one of three orders: sorted as StagedPuts sends them,
    // descending, or as they came.
    Model changes;  // key -> value, "" marks a delete of a key chosen from the model
    std::vector<std::string> deletes;
    const int size = 1 + static_cast<int>(random() % 200);
    for (int i = 0; i < size; ++i) {
      if (!model.empty() && random() % 6 == 0) {
        auto it = model.lower_bound(RandomKey(random));
        if (it == model.end()) it = model.begin();
        deletes.push_back(it->first);
      } else {
        changes[RandomKey(random)] = RandomValue(random);
      }
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> ops;
    for (const auto& [key, value] : changes) ops.emplace_back(key, value);
    for (const auto& key : deletes) {
      if (!changes.contains(key)) ops.emplace_back(key, std::nullopt);
    }
    std::sort(ops.begin(), ops.end());
    ops.erase(std::unique(ops.begin(), ops.end(),
                          [](const auto& a, const auto& b) { return a.first == b.first; }),
              ops.end());
    if (round % 3 == 1) std::reverse(ops.begin(), ops.end());
    if (round % 3 == 2) std::shuffle(ops.begin(), ops.end(), random);

    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : ops) {
      if (value) {
        ASSERT_TRUE(batch.Put(key, *value).ok());
        model[key] = *value;
      } else {
        ASSERT_TRUE(batch.Delete(key).ok());
        model.erase(key);
      }
    }
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
    if (round % 30 == 10) snapshots.emplace_back(db->GetSnapshot(), model);
  }
  ASSERT_GT(model.size(), 3000u);
  // Everything above was read from the memtable alone: no table file yet.
  EXPECT_GT(IntProperty(*db, "rocksdb.num-entries-active-mem-table"), model.size());
  EXPECT_EQ(TableFiles(*db), "0");

  ExpectMatches(*db, model, nullptr, random);
  // Snapshots see their version of overwritten and deleted keys: the sequence order within a
  // user key.
  for (const auto& [snapshot, then] : snapshots) ExpectMatches(*db, then, snapshot, random);
  for (const auto& [snapshot, then] : snapshots) db->ReleaseSnapshot(snapshot);

  // A flush writes the memtable in its order into a table file; after a reopen the WAL is
  // empty and everything is read from that file.
  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
  EXPECT_EQ(TableFiles(*db), "1");
  ExpectMatches(*db, model, nullptr, random);
  db.reset();
  db = OpenDb(dir.path());
  ExpectMatches(*db, model, nullptr, random);
}

TEST(FingerSkipList, ReplaysTheWalIntoItselfOnReopen) {
  testing::TempDir dir;
  std::mt19937_64 random(7);
  Model model;
  {
    auto db = OpenDb(dir.path());
    for (int i = 0; i < 3000; ++i) {
      const std::string key = RandomKey(random);
      const std::string value = RandomValue(random);
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, value).ok());
      model[key] = value;
    }
    // Closed without a flush: the reopen rebuilds the memtable from the WAL.
    ASSERT_TRUE(db->Close().ok());
  }
  rocksdb::Options options = FingerOptions();
  options.avoid_flush_during_recovery = true;
  auto db = OpenDb(dir.path(), options);
  EXPECT_EQ(TableFiles(*db), "0");
  ExpectMatches(*db, model, nullptr, random);
}

TEST(FingerSkipList, InPlaceUpdatesKeepOneNodePerKey) {
  testing::TempDir dir;
  rocksdb::Options options = FingerOptions();
  options.inplace_update_support = true;  // as the balances family
  auto db = OpenDb(dir.path(), options);
  for (int round = 0; round < 50; ++round) {
    rocksdb::WriteBatch batch;
    for (int account = 0; account < 100; ++account) {
      const std::string value = std::to_string(1'000'000 + round * 1000 + account);
      ASSERT_TRUE(batch.Put("acct" + std::to_string(account), value).ok());
    }
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  EXPECT_EQ(IntProperty(*db, "rocksdb.num-entries-active-mem-table"), 100u);
  for (int account = 0; account < 100; ++account) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "acct" + std::to_string(account), &value).ok());
    EXPECT_EQ(value, std::to_string(1'000'000 + 49 * 1000 + account));
  }
}

// The keys a ledger writes at random places over and over: a group's next line (a statement
// line: an account's prefix, then a growing 8-byte sequence) and a value's new version. The
// hints place most of them without a search (MemtableHintedInserts), and every read path still
// agrees with the model, now and through a snapshot taken halfway.
TEST(FingerSkipList, HintsPlaceAGroupsNextLineAndAKeysNewVersion) {
  testing::TempDir dir;
  auto db = OpenDb(dir.path());
  std::mt19937_64 random(29);
  Model model;
  Model halfway;
  const rocksdb::Snapshot* snapshot = nullptr;
  const std::uint64_t hinted_before = MemtableHintedInserts();
  std::uint64_t puts = 0;
  std::uint64_t seq = 0;
  for (int round = 0; round < 600; ++round) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 6; ++i) {
      // Accounts of several lengths, one a Chinese name, sharing prefixes with one another.
      const std::uint64_t account = random() % 200;
      std::string key = "line:" + std::string(account % 3, '\xFF') + "\xE5\xBC\xA0" +
                        std::to_string(account) + std::string(1, '\0');
      for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(++seq >> shift));
      const std::string value = RandomValue(random);
      ASSERT_TRUE(batch.Put(key, value).ok());
      model[key] = value;
      ++puts;
    }
    for (int i = 0; i < 3; ++i) {
      const std::string key = "ver:" + std::to_string(random() % 100);
      const std::string value = RandomValue(random);
      ASSERT_TRUE(batch.Put(key, value).ok());
      model[key] = value;
      ++puts;
    }
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
    if (round == 300) {
      snapshot = db->GetSnapshot();
      halfway = model;
    }
  }
  const std::uint64_t hinted = MemtableHintedInserts() - hinted_before;
  EXPECT_GT(hinted, puts / 2) << "of " << puts;  // 3 in 4 nodes are one level high
  EXPECT_LE(hinted, puts);
  // Keys that go to the front of the list, one before the other: their node before is the
  // list's head, which is never a hint.
  for (int i = 0; i < 50; ++i) {
    std::string key(1, '\x01');
    for (int shift = 56; shift >= 0; shift -= 8)
      key.push_back(static_cast<char>(static_cast<std::uint64_t>(99 - i) >> shift));
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, "front").ok());
    model[key] = "front";
    ++puts;
  }
  const std::string first = model.begin()->first;  // a new version of it goes first of all
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), first, "first again").ok());
  model[first] = "first again";
  ++puts;
  ExpectMatches(*db, model, nullptr, random);
  // Seeks among the hinted keys themselves: each finds its key, and the next one after it.
  std::vector<std::string> keys;
  for (const auto& [key, value] : model) keys.push_back(key);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (std::size_t i = 0; i < keys.size(); i += 1 + random() % 7) {
    it->Seek(keys[i]);
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ(it->key().ToString(), keys[i]);
    it->Next();
    ASSERT_EQ(it->Valid(), i + 1 < keys.size());
    if (it->Valid()) {
      EXPECT_EQ(it->key().ToString(), keys[i + 1]);
    }
  }
  it.reset();
  ExpectMatches(*db, halfway, snapshot, random);
  db->ReleaseSnapshot(snapshot);
  EXPECT_EQ(IntProperty(*db, "rocksdb.num-entries-active-mem-table"), puts);
}

// A family whose keys land at random (request ids) seldom has a hint in the right place: after
// a few thousand tries its memtable drops them for good, and costs no comparisons for them.
TEST(FingerSkipList, HintsAreDroppedWhereKeysAreRandom) {
  testing::TempDir dir;
  auto db = OpenDb(dir.path());
  std::mt19937_64 random(7);
  Model model;
  auto put = [&](const std::string& key) {
    model[key] = RandomValue(random);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, model[key]).ok());
  };
  for (int i = 0; i < 8000; ++i) put("req:" + std::to_string(random()));
  const std::uint64_t hinted_before = MemtableHintedInserts();
  std::uint64_t seq = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string key = "line:" + std::to_string(random() % 50) + std::string(1, '\0');
    for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(++seq >> shift));
    put(key);
  }
  EXPECT_EQ(MemtableHintedInserts() - hinted_before, 0u);
  ExpectMatches(*db, model, nullptr, random);
}

// One writer commits batches (ascending, and random keys) while readers scan, seek and get:
// a reader only ever sees keys in order, and at least every key committed before it started.
// Iterators are also handed between threads to be destroyed elsewhere (their storage is
// recycled per thread).
TEST(FingerSkipList, ReadersBesideTheWriterSeeASortedGrowingSet) {
  testing::TempDir dir;
  auto db = OpenDb(dir.path());
  constexpr int kBatches = 300;
  std::atomic<int> committed{0};  // batches whose Write returned
  auto key_of = [](int batch, int i) {
    char key[32];
    std::snprintf(key, sizeof key, "seq%06d-%03d", batch, i);
    return std::string(key);
  };
  std::thread writer([&] {
    std::mt19937_64 random(99);
    for (int batch = 0; batch < kBatches; ++batch) {
      rocksdb::WriteBatch write;
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(write.Put(key_of(batch, i), "v").ok());
      for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(write.Put("rnd" + std::to_string(random()), "r").ok());
      }
      ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &write).ok());
      committed.store(batch + 1, std::memory_order_release);
    }
  });
  std::atomic<bool> failed{false};
  std::vector<std::unique_ptr<rocksdb::Iterator>> handed_over[2];
  auto reader = [&](int id) {
    std::mt19937_64 random(id);
    while (committed.load(std::memory_order_acquire) < kBatches && !failed) {
      const int before = committed.load(std::memory_order_acquire);
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
      int seq_keys = 0;
      std::string previous;
      for (it->Seek("seq"); it->Valid() && it->key().starts_with("seq"); it->Next()) {
        if (seq_keys > 0 && it->key().ToString() <= previous) failed = true;
        previous = it->key().ToString();
        ++seq_keys;
      }
      if (seq_keys < before * 50) failed = true;
      if (before > 0) {
        std::string value;
        const int batch = static_cast<int>(random() % before);
        if (!db->Get(rocksdb::ReadOptions(), key_of(batch, 49), &value).ok()) failed = true;
        it->SeekForPrev(key_of(batch, 49));
        if (!it->Valid() || it->key().ToString() != key_of(batch, 49)) failed = true;
      }
      handed_over[id].push_back(std::move(it));
      // Destroy the other reader's iterators here (a race-free hand-over is not the point:
      // each side only touches its own vector until both have joined).
      if (handed_over[id].size() > 20) handed_over[id].erase(handed_over[id].begin());
    }
  };
  std::thread reader_a(reader, 0);
  std::thread reader_b(reader, 1);
  writer.join();
  reader_a.join();
  reader_b.join();
  EXPECT_FALSE(failed);
  // Iterators made on the reader threads, destroyed on this one.
  handed_over[0].clear();
  handed_over[1].clear();
  int seq_keys = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("seq"); it->Valid() && it->key().starts_with("seq"); it->Next()) ++seq_keys;
  EXPECT_EQ(seq_keys, kBatches * 50);
}

}  // namespace
}  // namespace lovebank
