// The audit shares decoding with the engine but not state: a bug in the engine's balance
// bookkeeping must show up as findings. The bug is simulated by corrupting the engine's own
// in-memory balance; the engine then writes wrong balances and statement lines, and accepts a
// spend it should have refused, through its normal write path.

#include "gtest/gtest.h"
#include "ledger/audit/audit.h"
#include "ledger/base/strings.h"
#include "ledger/ledger_impl.h"
#include "tests/test_util.h"

namespace lovebank {

class EngineTestPeer {
 public:
  // The engine believes `account` holds `extra_minor` more than it does.
  static void CorruptBalance(Engine& engine, const std::string& account, const std::string& asset,
                             long long extra_minor) {
    engine.balances_.UntrackedForTest(BalanceKey(account, asset))->minor += extra_minor;
  }
};

class LedgerTestPeer {
 public:
  // REQUIRES: no command in flight (the sequencer is idle between commands).
  static Engine& engine(Ledger& ledger) { return *ledger.impl_->engine; }
};

namespace {

bool Has(const audit::Report& report, audit::FindingKind kind, std::string_view where,
         std::uint64_t seq = 0) {
  for (const auto& f : report.findings) {
    if (f.kind == kind && f.where.find(where) != std::string::npos && (seq == 0 || f.seq == seq)) {
      return true;
    }
  }
  return false;
}

TEST(AuditEngineBug, AWrongInMemoryBalanceIsCaughtByTheIndependentReplay) {
  testing::TempDir dir;
  std::uint64_t overdraft_seq = 0;
  {
    auto ledger = testing::OpenLedger(dir.path());
    testing::OpenProgramme(*ledger, 2);
    ASSERT_TRUE(ledger->Execute(testing::Earn("e1", "issuer:town", "m1", "100")).ok());
    // The "bug": one extra fen for m1 in the engine's bookkeeping.
    EngineTestPeer::CorruptBalance(LedgerTestPeer::engine(*ledger), "m1", "POINTS", 1);
    ASSERT_TRUE(ledger->Execute(testing::Redeem("buy", "m1", "store:main", "30")).ok());
    // The engine now lets m1 spend the fen that does not exist.
    const Outcome overdraft = ledger->Execute(testing::Redeem("buy2", "m1", "store:main", "70.01"));
    ASSERT_TRUE(overdraft.ok()) << "the simulated bug should let this through";
    overdraft_seq = overdraft.receipt.seq;
  }
  StoreOptions read_only;
  read_only.read_only = true;
  auto store = Store::Open(dir.path(), read_only);
  ASSERT_TRUE(store.ok());
  auto source = audit::StoreSource(**store);
  ASSERT_TRUE(source.ok());
  auto report = audit::Run(**source, store->get(), audit::Options{});
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->clean());
  // The journal's postings are right; the engine's derived records and its limit check are not.
  EXPECT_TRUE(Has(*report, audit::FindingKind::kBalanceLimit, "m1/POINTS", overdraft_seq));
  EXPECT_TRUE(Has(*report, audit::FindingKind::kRecordDiffers, "balances m1/POINTS"));
  EXPECT_TRUE(
      Has(*report, audit::FindingKind::kRecordDiffers, Cat("account_entries m1@", overdraft_seq)));
}

}  // namespace
}  // namespace lovebank
