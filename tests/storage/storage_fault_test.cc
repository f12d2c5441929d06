// Storage faults injected under RocksDB through a wrapping FileSystem: a failed write or sync
// changes nothing that was acknowledged, the ledger refuses writes until reopened (STYLE.md 5,
// DESIGN.md invariants 6 and 7), and reopening recovers a consistent, exactly-once state.

#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using testing::DumpStore;
using testing::Earn;
using testing::FaultEnv;
using testing::TempDir;

std::string Points(Ledger& ledger, const std::string& account) {
  auto line = ledger.GetBalance(account, "POINTS");
  return line.ok() ? line->decimal : std::string(line.status().message());
}

class StorageFaultTest : public ::testing::TestWithParam<const char*> {
 protected:
  void Inject(bool on) {
    const std::string mode = GetParam();
    if (mode == "append") fault_.fs->fail_wal_append = on;
    if (mode == "sync") fault_.fs->fail_wal_sync = on;
    if (mode == "disk-full") fault_.fs->disk_full = on;
  }
  TempDir dir_;
  FaultEnv fault_;
};

TEST_P(StorageFaultTest, FailedCommitChangesNothingAndTheLedgerFailsClosedUntilReopened) {
  auto ledger = testing::OpenLedger(dir_.path(), fault_.env.get());
  ASSERT_TRUE(ledger);
  testing::OpenProgramme(*ledger, 2);
  const Outcome kept = ledger->Execute(Earn("kept", "issuer:town", "m1", "50"));
  ASSERT_TRUE(kept.ok());
  const Head head = ledger->GetHead();
  const auto before = DumpStore(dir_.path());

  Inject(true);
  const auto lost = Earn("lost", "issuer:town", "m1", "7");
  const Outcome failed = ledger->Execute(lost);
  EXPECT_EQ(ReasonName(failed.reason), ReasonName(Reason::kLedgerUnavailable)) << failed.message;
  EXPECT_GT(fault_.fs->injected.load(), 0);
  EXPECT_TRUE(ledger->failed());
  // Reads still answer from committed state; the head did not move.
  EXPECT_EQ(ledger->GetHead().seq, head.seq);
  EXPECT_EQ(Points(*ledger, "m1"), "50.00");

  // Sticky: even with the fault gone, every write is refused until the ledger is reopened.
  Inject(false);
  EXPECT_EQ(ledger->Execute(Earn("after", "issuer:town", "m2", "1")).reason,
            Reason::kLedgerUnavailable);
  EXPECT_EQ(ledger->Execute(testing::Redeem("r", "m1", "store:main", "1")).reason,
            Reason::kLedgerUnavailable);
  ledger.reset();

  // Reopen: the acknowledged entry is there. A failed WAL append or a full disk wrote nothing;
  // after a failed sync the bytes may have reached the file, so the entry may surface — either
  // way exactly once, and a retry of the same request id settles it.
  ledger = testing::OpenLedger(dir_.path(), fault_.env.get());
  ASSERT_TRUE(ledger);
  EXPECT_FALSE(ledger->failed());
  auto entry = ledger->GetEntry(kept.receipt.seq);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->hash, kept.receipt.hash);
  if (std::string(GetParam()) != "sync") {
    EXPECT_EQ(ledger->GetHead().seq, head.seq);
    EXPECT_EQ(ledger->GetHead().hash, head.hash);
    EXPECT_EQ(testing::WithoutRefusals(DumpStore(dir_.path())), testing::WithoutRefusals(before));
  }
  const Outcome retried = ledger->Execute(lost);
  ASSERT_TRUE(retried.ok()) << retried.message;
  EXPECT_EQ(Points(*ledger, "m1"), "57.00");
  EXPECT_EQ(ledger->Execute(lost).receipt.seq, retried.receipt.seq);
  EXPECT_EQ(Points(*ledger, "m1"), "57.00");
  EXPECT_EQ(Points(*ledger, "issuer:town"), "-57.00");
}

INSTANTIATE_TEST_SUITE_P(Faults, StorageFaultTest,
                         ::testing::Values("append", "sync", "disk-full"));

TEST(StorageFault, EveryCommandOfTheFailedGroupCommitIsRefused) {
  TempDir dir;
  FaultEnv fault;
  auto ledger = testing::OpenLedger(dir.path(), fault.env.get());
  testing::OpenProgramme(*ledger, 3);
  fault.fs->fail_wal_append = true;
  const auto outcomes =
      ledger->ExecuteMany({Earn("a", "issuer:town", "m1", "1"), Earn("b", "issuer:town", "m2", "1"),
                           testing::Redeem("c", "m3", "store:main", "1")});
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(ReasonName(outcome.reason), ReasonName(Reason::kLedgerUnavailable));
  }
  fault.fs->fail_wal_append = false;
  ledger.reset();
  ledger = testing::OpenLedger(dir.path(), fault.env.get());
  // The state refusal of "c" was part of the failed batch, so it is not remembered either.
  EXPECT_EQ(ledger->Execute(Earn("fill", "issuer:town", "m3", "5")).reason, Reason::kOk);
  EXPECT_TRUE(ledger->Execute(testing::Redeem("c", "m3", "store:main", "1")).ok());
}

}  // namespace
}  // namespace lovebank

namespace lovebank {
namespace {

// A write fails while later batches are already decided on top of it: all of them are refused
// and the in-memory state is rolled back with them, so nothing they decided leaks into the
// ledger after a reopen.
TEST(StorageFault, BatchesDecidedOnTopOfAFailedOneAreRefusedToo) {
  TempDir dir;
  FaultEnv fault;
  LedgerOptions options;
  options.path = dir.path();
  options.env = fault.env.get();
  options.batch_size_max = 1;
  auto opened = Ledger::Open(options);
  ASSERT_TRUE(opened.ok());
  testing::OpenProgramme(**opened, 2);
  ASSERT_TRUE((*opened)->Execute(Earn("fill", "issuer:town", "m1", "100")).ok());
  fault.fs->fail_wal_append = true;
  std::vector<v1::Command> commands;
  for (int i = 0; i < 20; ++i) {
    commands.push_back(testing::Transfer("t" + std::to_string(i), "m1", "m2", "1"));
  }
  for (const auto& outcome : (*opened)->ExecuteMany(commands)) {
    EXPECT_EQ(ReasonName(outcome.reason), ReasonName(Reason::kLedgerUnavailable));
  }
  fault.fs->fail_wal_append = false;
  opened->reset();
  auto ledger = testing::OpenLedger(dir.path(), fault.env.get());
  EXPECT_EQ(Points(*ledger, "m1"), "100.00");
  EXPECT_EQ(Points(*ledger, "m2"), "0.00");
  const auto outcomes = ledger->ExecuteMany(commands);
  for (const auto& outcome : outcomes) EXPECT_TRUE(outcome.ok() && !outcome.replayed);
  EXPECT_EQ(Points(*ledger, "m2"), "20.00");
}

}  // namespace
}  // namespace lovebank
