// The Merkle tree the ledger keeps over its journal (issue #27): proofs for random entries and
// sizes of a 100k-entry ledger verify and corrupted ones do not; the audit recomputes the root;
// a store made before the tree gets it built on open; a damaged tree node is a finding; sizes
// outside the ledger are refused with their reason.

#include <gtest/gtest.h>

#include <random>

#include "ledger/base/coding.h"
#include "ledger/format/merkle.h"
#include "ledger/ledger.h"
#include "tests/supermarket_fixture.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using testing::TempDir;

constexpr int kMembers = 50;

// `entries` transfers among kMembers members in batches, after the programme's own entries.
std::uint64_t Fill(Ledger& ledger, std::uint64_t entries) {
  testing::OpenProgramme(ledger, kMembers);
  std::mt19937_64 random(27);
  for (int m = 1; m <= kMembers; ++m) {
    EXPECT_TRUE(
        ledger.Execute(testing::Earn(Cat("fund", m), "issuer:town", Cat("m", m), "10000")).ok());
  }
  std::uint64_t made = 0;
  while (ledger.GetHead().seq < entries) {
    std::vector<v1::Command> batch;
    for (int i = 0; i < 4096 && ledger.GetHead().seq + batch.size() < entries; ++i, ++made) {
      const std::uint64_t from = 1 + random() % kMembers;
      const std::uint64_t to = 1 + (from + random() % (kMembers - 1)) % kMembers;  // not from
      batch.push_back(testing::Transfer(Cat("t", made), Cat("m", from), Cat("m", to), "0.01"));
    }
    for (const Outcome& outcome : ledger.ExecuteMany(std::move(batch))) EXPECT_TRUE(outcome.ok());
  }
  return ledger.GetHead().seq;
}

// Waits until the tree builder (an idle-priority thread) covers `size` entries. A proof's own
// wait is 10 s, then "retry in a moment": on a loaded machine (CI's parallel tests, a build
// beside them) the builder can take longer for 100,000 entries, so the test retries as a client
// would — with no clock of its own (ctest's timeout bounds it).
void AwaitTree(const Ledger& ledger, std::uint64_t size) {
  for (absl::Status covered = ledger.TreeCovers(size); !covered.ok();
       covered = ledger.TreeCovers(size)) {
    // Only "not there yet" is waited out; a failed builder fails the test.
    ASSERT_NE(covered.message().find("entries so far"), std::string_view::npos) << covered;
  }
}

merkle::Hash Leaf(Ledger& ledger, std::uint64_t seq) {
  auto entry = ledger.GetEntry(seq);
  EXPECT_TRUE(entry.ok());
  return merkle::LeafHash(entry->hash);
}

TEST(TreeTest, ProofsOfA100kEntryLedgerVerifyAndCorruptedOnesDoNot) {
  TempDir dir;
  std::uint64_t head = 0;
  merkle::Hash root{};
  {
    auto ledger = testing::OpenLedger(dir.path());
    head = Fill(*ledger, 100000);
    ASSERT_GE(head, 100000u);
    AwaitTree(*ledger, head);
    root = *ledger->TreeRoot(head);
    std::mt19937_64 random(9162);
    for (int i = 0; i < 300; ++i) {
      const std::uint64_t size = 1 + random() % head, seq = 1 + random() % size;
      const merkle::Hash size_root = *ledger->TreeRoot(size);
      auto path = ledger->InclusionProof(seq, size);
      ASSERT_TRUE(path.ok()) << path.status();
      const merkle::Hash leaf = Leaf(*ledger, seq);
      ASSERT_EQ(merkle::VerifyInclusion(seq - 1, size, leaf, *path, size_root),
                merkle::ProofProblem::kNone)
          << seq << " in " << size;
      if (!path->empty()) {  // corrupted: one bit of one hash, or a hash dropped
        auto bent = *path;
        bent[random() % bent.size()][random() % 32] ^= 1;
        EXPECT_EQ(merkle::VerifyInclusion(seq - 1, size, leaf, bent, size_root),
                  merkle::ProofProblem::kRootMismatch);
        bent = *path;
        bent.pop_back();
        EXPECT_EQ(merkle::VerifyInclusion(seq - 1, size, leaf, bent, size_root),
                  merkle::ProofProblem::kLengthInvalid);
      }
      // Another entry's leaf, or the proof against the head's root.
      if (size > 1) {
        const std::uint64_t other = seq == size ? seq - 1 : seq + 1;
        EXPECT_NE(merkle::VerifyInclusion(seq - 1, size, Leaf(*ledger, other), *path, size_root),
                  merkle::ProofProblem::kNone);
      }
      if (size != head) {
        EXPECT_NE(merkle::VerifyInclusion(seq - 1, size, leaf, *path, root),
                  merkle::ProofProblem::kNone);
      }
      const std::uint64_t first = 1 + random() % size;
      auto consistency = ledger->ConsistencyProof(first, head);
      ASSERT_TRUE(consistency.ok());
      const merkle::Hash first_root = *ledger->TreeRoot(first);
      EXPECT_EQ(merkle::VerifyConsistency(first, head, first_root, root, *consistency),
                merkle::ProofProblem::kNone)
          << first;
      if (!consistency->empty()) {
        auto bent = *consistency;
        bent[random() % bent.size()][random() % 32] ^= 0x40;
        EXPECT_EQ(merkle::VerifyConsistency(first, head, first_root, root, bent),
                  merkle::ProofProblem::kRootMismatch);
      }
    }
  }
  // The audit recomputes the root from the journal and checks every stored node.
  const audit::Report report = AuditDb(dir.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
  EXPECT_EQ(report.tree_size, head);
  EXPECT_EQ(report.tree_root, root);
}

TEST(TreeTest, SizesOutsideTheLedgerAreRefusedWithTheirReason) {
  TempDir dir;
  auto ledger = testing::OpenLedger(dir.path());
  testing::OpenProgramme(*ledger, 2);
  const std::uint64_t head = ledger->GetHead().seq;
  EXPECT_EQ(*ledger->TreeRoot(0), merkle::EmptyRoot());
  EXPECT_EQ(ReasonOf(ledger->TreeRoot(head + 1).status()), Reason::kTreeSizeInvalid);
  EXPECT_EQ(ReasonOf(ledger->InclusionProof(0, head).status()), Reason::kTreeSizeInvalid);
  EXPECT_EQ(ReasonOf(ledger->InclusionProof(head, head - 1).status()), Reason::kTreeSizeInvalid);
  EXPECT_EQ(ReasonOf(ledger->InclusionProof(1, head + 1).status()), Reason::kTreeSizeInvalid);
  EXPECT_EQ(ReasonOf(ledger->ConsistencyProof(0, head).status()), Reason::kTreeSizeInvalid);
  EXPECT_EQ(ReasonOf(ledger->ConsistencyProof(head, head - 1).status()), Reason::kTreeSizeInvalid);
  EXPECT_EQ(ReasonOf(ledger->ConsistencyProof(1, head + 1).status()), Reason::kTreeSizeInvalid);
  EXPECT_TRUE(ledger->ConsistencyProof(head, head)->empty());
}

// Deletes every tree node and the tree size: a store as lovebank made it before the tree.
void ForgetTree(const std::string& path) {
  auto store = Store::Open(path, StoreOptions{});
  ASSERT_TRUE(store.ok());
  rocksdb::WriteBatch batch;
  auto it = (*store)->NewIterator(Family::kTree);
  for (it->SeekToFirst(); it->Valid(); it->Next())
    batch.Delete((*store)->handle(Family::kTree), it->key());
  batch.Delete((*store)->handle(Family::kMeta), meta_key::kTreeSize);
  ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
}

TEST(TreeTest, AStoreMadeBeforeTheTreeGetsItBuiltOnOpen) {
  TempDir dir;
  merkle::Hash root{};
  std::uint64_t head = 0;
  {
    auto ledger = testing::OpenLedger(dir.path());
    head = Fill(*ledger, 70000);  // more than one rebuild batch of 65,536
    AwaitTree(*ledger, head);
    root = *ledger->TreeRoot(head);
  }
  ForgetTree(dir.path());
  EXPECT_TRUE(AuditDb(dir.path()).clean());  // not built yet: no finding, its writer builds it
  {
    auto ledger = testing::OpenLedger(dir.path());
    AwaitTree(*ledger, head);
    EXPECT_EQ(*ledger->TreeRoot(head), root);
    ASSERT_TRUE(ledger->Execute(testing::Transfer("after", "m1", "m2", "1")).ok());
    auto path = ledger->InclusionProof(3, head + 1);
    ASSERT_TRUE(path.ok());
    EXPECT_EQ(
        merkle::VerifyInclusion(2, head + 1, Leaf(*ledger, 3), *path, *ledger->TreeRoot(head + 1)),
        merkle::ProofProblem::kNone);
  }
  const audit::Report report = AuditDb(dir.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
  EXPECT_EQ(report.tree_size, head + 1);
}

// The builder gathers commits (issue #29: one tree write per commit put the idle-priority builder
// in the commits' write queue): with a gather wait of two minutes, single commits are not
// integrated one by one; a proof query has them integrated at once, in one write; closing the
// ledger integrates the rest without waiting out the gather, and a reopen finds the tree
// complete. (On a loaded machine the idle-priority builder may get no CPU within the 200 ms, so
// the no-write check can miss a broken gather there; it cannot fail a working one.)
TEST(TreeTest, TheBuilderGathersCommitsUntilAQueryOrTheCloseNeedsThem) {
  TempDir dir;
  std::uint64_t head = 0;
  absl::Time closing;
  {
    LedgerOptions options;
    options.path = dir.path();
    options.clock_unix_us = testing::SteppingClock();
    options.tree_gather_wait = absl::Minutes(2);  // longer than any step of this test
    auto opened = Ledger::Open(std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status();
    Ledger& ledger = **opened;
    testing::OpenProgramme(ledger, 3);
    ASSERT_TRUE(ledger.TreeRoot(ledger.GetHead().seq).ok());  // the programme's entries in
    const Ledger::Metrics before = ledger.metrics();
    EXPECT_EQ(before.tree_size, ledger.GetHead().seq);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(ledger.Execute(testing::Earn(Cat("e", i), "issuer:town", "m1", "1")).ok());
    }
    absl::SleepFor(absl::Milliseconds(200));  // a builder that did not gather would have written
    head = ledger.GetHead().seq;
    EXPECT_EQ(ledger.metrics().tree_size, before.tree_size);
    EXPECT_EQ(ledger.metrics().tree_writes, before.tree_writes);

    auto path = ledger.InclusionProof(head, head);  // hurries it (else Unavailable after 10 s)
    ASSERT_TRUE(path.ok()) << path.status();
    EXPECT_EQ(
        merkle::VerifyInclusion(head - 1, head, Leaf(ledger, head), *path, *ledger.TreeRoot(head)),
        merkle::ProofProblem::kNone);
    EXPECT_EQ(ledger.metrics().tree_size, head);
    EXPECT_EQ(ledger.metrics().tree_writes, before.tree_writes + 1);  // five commits, one write

    ASSERT_TRUE(ledger.Execute(testing::Earn("last", "issuer:town", "m1", "1")).ok());
    ++head;
    closing = absl::Now();
  }  // the close integrates the last entry
  // Not a speed check: a close that waited out the gather would take the full two minutes.
  EXPECT_LT(absl::Now() - closing, absl::Minutes(1));
  auto store = Store::Open(dir.path(), StoreOptions{});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(StoredTreeSize(**store).value(), head);
}

// Stores of 2026-12-05 kept the tree's size in the meta family (written with the WAL); the tree
// family keeps it now (written without): such a store opens, its tree grows on, and the old
// record goes with the first new one.
TEST(TreeTest, AStoreWithTheSizeInMetaMovesItIntoTheTreeFamily) {
  TempDir dir;
  std::uint64_t head = 0;
  {
    auto ledger = testing::OpenLedger(dir.path());
    testing::OpenProgramme(*ledger, 3);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(ledger->Execute(testing::Earn(Cat("e", i), "issuer:town", "m1", "1")).ok());
    }
    head = ledger->GetHead().seq;
  }
  {
    auto store = Store::Open(dir.path(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    auto size = (*store)->Get(Family::kTree, kTreeSizeKey);
    ASSERT_TRUE(size.ok() && size->has_value());
    EXPECT_EQ(GetFixed64BE((*size)->data()), head);  // a clean close keeps the unlogged tree
    rocksdb::WriteBatch batch;
    batch.Delete((*store)->handle(Family::kTree), kTreeSizeKey);
    batch.Put((*store)->handle(Family::kMeta), meta_key::kTreeSize, EncodeFixed64BE(head));
    ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
  }
  {
    auto ledger = testing::OpenLedger(dir.path());
    ASSERT_TRUE(ledger->Execute(testing::Earn("after", "issuer:town", "m1", "1")).ok());
    ++head;
    ASSERT_TRUE(ledger->TreeRoot(head).ok());
  }
  const audit::Report report = AuditDb(dir.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
  auto store = Store::Open(dir.path(), StoreOptions{});
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->Get(Family::kMeta, meta_key::kTreeSize)->has_value());
  EXPECT_EQ(StoredTreeSize(**store).value(), head);
}

TEST(TreeTest, ADamagedTreeNodeIsAnAuditFinding) {
  TempDir dir;
  {
    auto ledger = testing::OpenLedger(dir.path());
    testing::OpenProgramme(*ledger, 3);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(ledger->Execute(testing::Earn(Cat("e", i), "issuer:town", "m1", "1")).ok());
    }
  }
  {
    auto store = Store::Open(dir.path(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    rocksdb::WriteBatch batch;
    batch.Put((*store)->handle(Family::kTree), TreeNodeKey(4, 1), std::string(32, 'x'));
    batch.Put((*store)->handle(Family::kTree), TreeNodeKey(5, 1000), std::string(32, 'y'));
    ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
  }
  const audit::Report report = AuditDb(dir.path());
  const std::string text = Describe(report);
  EXPECT_NE(text.find("RECORD_DIFFERS seq=0 [tree level 4]"), std::string::npos) << text;
  EXPECT_NE(text.find("[tree level 5]"), std::string::npos) << text;
}

}  // namespace
}  // namespace lovebank
