// Holds for the checkout lane (issue #6 item 4): a hold reserves a priced basket in escrow,
// capture sells all or part of it at the hold's prices and ratio, void gives it back, and an
// expired hold is released by the engine itself with a journal entry — before any later command,
// and when the ledger is idle — so the audit's replay agrees. Every refusal moves nothing.

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "ledger/base/coding.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"
#include "rocksdb/db.h"
#include "tests/gate_fs.h"
#include "tests/supermarket_fixture.h"

namespace lovebank {
namespace {

using testing::Basket;
using testing::Checkout;
using testing::DumpStore;
using testing::Refund;
using testing::SetExchangeRatio;
using testing::WithoutRefusals;

v1::Command Hold(const std::string& id, const std::string& member, const std::string& store,
                 const Basket& lines, const std::string& pay_asset = "POINTS",
                 std::uint32_t timeout_seconds = 0) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("terminal");
  auto* hold = command.mutable_authorize_hold();
  hold->set_member(member);
  hold->set_store(store);
  hold->set_pay_asset(pay_asset);
  hold->set_timeout_seconds(timeout_seconds);
  for (const auto& [sku, quantity] : lines) {
    auto* line = hold->add_lines();
    line->set_sku(sku);
    line->set_quantity(quantity);
  }
  return command;
}

v1::Command Capture(const std::string& id, std::uint64_t hold_seq, const Basket& lines = {},
                    const std::string& store = "store:main") {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("terminal");
  auto* capture = command.mutable_capture_hold();
  capture->set_hold_seq(hold_seq);
  capture->set_store(store);
  for (const auto& [sku, quantity] : lines) {
    auto* line = capture->add_lines();
    line->set_sku(sku);
    line->set_quantity(quantity);
  }
  return command;
}

v1::Command Void(const std::string& id, std::uint64_t hold_seq,
                 const std::string& store = "store:main") {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("terminal");
  command.mutable_void_hold()->set_hold_seq(hold_seq);
  command.mutable_void_hold()->set_store(store);
  return command;
}

class Holds : public Supermarket {
 protected:
  // Stops the clock: entries get now_ exactly until the test moves it.
  void StopClock() { step_->store(0); }

  v1::HoldRecord HoldOf(std::uint64_t seq) {
    auto hold = ledger_->GetHold(seq);
    EXPECT_TRUE(hold.ok()) << hold.status();
    return hold.ok() ? *hold : v1::HoldRecord{};
  }

  void ExpectAuditClean() {
    const audit::Report report = AuditDb(dir_.path());
    EXPECT_EQ(report.findings_total, 0u) << Describe(report);
  }
};

TEST_F(Holds, AHoldReservesPointsAndStockThatNothingElseCanSpend) {
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"RICE_5KG", 2}, {"OIL_5L", 1}}));
  EXPECT_EQ(B("m1", "POINTS"), "80.10");
  EXPECT_EQ(B("store:main", "RICE_5KG"), "48");
  EXPECT_EQ(B("store:main", "POINTS"), "0.00");  // nothing sold yet
  EXPECT_EQ(B(std::string(kHoldsAccount), "POINTS"), "119.90");
  EXPECT_EQ(B(std::string(kHoldsAccount), "RICE_5KG"), "2");
  EXPECT_EQ(held.receipt.hold_expires_unix_us, held.receipt.time_unix_us + 600'000'000);
  ASSERT_NE(held.receipt.pricing, nullptr);
  EXPECT_EQ(held.receipt.pricing->total_points_minor(), "11990");
  // The first hold opened the SYSTEM escrow account in its own entry.
  auto escrow = ledger_->GetAccount(kHoldsAccount);
  ASSERT_TRUE(escrow.ok()) << escrow.status();
  EXPECT_EQ(escrow->kind(), v1::ACCOUNT_KIND_SYSTEM);
  EXPECT_EQ(escrow->opened_seq(), held.receipt.seq);
  const v1::HoldRecord hold = HoldOf(held.receipt.seq);
  EXPECT_EQ(hold.state(), v1::HOLD_STATE_OPEN);
  EXPECT_EQ(hold.member(), "m1");
  EXPECT_EQ(hold.expires_unix_us(), held.receipt.hold_expires_unix_us);

  // Held points and goods are not spendable elsewhere.
  EXPECT_REASON(ledger_->Execute(Checkout("c1", "m1", "store:main", {{"OIL_5L", 2}})),
                Reason::kInsufficientBalance);
  Ok(Hold("h2", "m1", "store:main", {{"OIL_5L", 1}}));  // 80.10 - 59.90 = 20.20 left
  EXPECT_REASON(ledger_->Execute(Hold("h3", "m1", "store:main", {{"RICE_5KG", 1}})),
                Reason::kInsufficientBalance);
  Ok(Earn("e:more", "issuer:town", "m2", "10000"));
  EXPECT_REASON(ledger_->Execute(Checkout("c2", "m2", "store:main", {{"OIL_5L", 9}})),
                Reason::kInsufficientStock);  // 10 - 2 held
  Ok(Checkout("c3", "m2", "store:main", {{"OIL_5L", 8}}));
  ExpectAuditClean();
}

TEST_F(Holds, CaptureSellsAllOrPartAtTheHoldsPricesAndReturnsTheRest) {
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"RICE_5KG", 2}, {"OIL_5L", 1}}));
  // The price changes after the hold: the capture keeps the hold's prices.
  Ok(SetItem("i:rice2", "store:main", "RICE_5KG", "东北大米 5kg", "袋", "35"));
  const Outcome captured = Ok(Capture("cap1", held.receipt.seq, {{"RICE_5KG", 1}}));
  ASSERT_NE(captured.receipt.pricing, nullptr);
  EXPECT_EQ(captured.receipt.pricing->total_points_minor(), "3000");
  EXPECT_EQ(B("m1", "POINTS"), "170.00");  // 200 - 30
  EXPECT_EQ(B("m1", "RICE_5KG"), "1");
  EXPECT_EQ(B("m1", "OIL_5L"), "0");
  EXPECT_EQ(B("store:main", "RICE_5KG"), "49");
  EXPECT_EQ(B("store:main", "OIL_5L"), "10");
  EXPECT_EQ(B("store:main", "POINTS"), "30.00");
  EXPECT_EQ(B(std::string(kHoldsAccount), "POINTS"), "0.00");
  const v1::HoldRecord hold = HoldOf(held.receipt.seq);
  EXPECT_EQ(hold.state(), v1::HOLD_STATE_CAPTURED);
  EXPECT_EQ(hold.closed_seq(), captured.receipt.seq);

  // Idempotent: the same request id answers with the same receipt; another capture or a void
  // is refused naming how the hold closed.
  const Outcome again = ledger_->Execute(Capture("cap1", held.receipt.seq, {{"RICE_5KG", 1}}));
  EXPECT_TRUE(again.ok() && again.replayed);
  EXPECT_EQ(again.receipt.seq, captured.receipt.seq);
  const Outcome second = ledger_->Execute(Capture("cap2", held.receipt.seq));
  EXPECT_REASON(second, Reason::kHoldClosed);
  EXPECT_NE(second.message.find("captured"), std::string::npos) << second.message;
  EXPECT_REASON(ledger_->Execute(Void("v1", held.receipt.seq)), Reason::kHoldClosed);

  // A captured hold is a sale: its lines are refunded at the hold's prices, not reversed.
  EXPECT_REASON(ledger_->Execute(testing::Reverse("rv", captured.receipt.seq)),
                Reason::kEntryNotReversible);
  Ok(Refund("rf", captured.receipt.seq, {{"RICE_5KG", 1}}));
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  EXPECT_REASON(ledger_->Execute(Refund("rf2", captured.receipt.seq, {{"RICE_5KG", 1}})),
                Reason::kLineAlreadyRefunded);
  ExpectAuditClean();
}

TEST_F(Holds, VoidGivesEverythingBackOnce) {
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"OIL_5L", 3}}));
  EXPECT_EQ(B("m1", "POINTS"), "20.30");
  const Outcome voided = Ok(Void("v1", held.receipt.seq));
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  EXPECT_EQ(B("store:main", "OIL_5L"), "10");
  EXPECT_EQ(B(std::string(kHoldsAccount), "OIL_5L"), "0");
  EXPECT_EQ(voided.receipt.pricing, nullptr);
  EXPECT_TRUE(ledger_->Execute(Void("v1", held.receipt.seq)).replayed);
  EXPECT_REASON(ledger_->Execute(Void("v2", held.receipt.seq)), Reason::kHoldClosed);
  EXPECT_REASON(ledger_->Execute(Capture("c1", held.receipt.seq)), Reason::kHoldClosed);
  EXPECT_EQ(HoldOf(held.receipt.seq).state(), v1::HOLD_STATE_VOIDED);
  ExpectAuditClean();
}

TEST_F(Holds, AtItsExpiryAHoldIsReleasedBeforeTheNextCommandAndACaptureOneMicrosecondEarlierWins) {
  StopClock();
  const Outcome first = Ok(Hold("h1", "m1", "store:main", {{"RICE_5KG", 1}}, "POINTS", 60));
  const Outcome second = Ok(Hold("h2", "m1", "store:main", {{"RICE_5KG", 1}}, "POINTS", 60));
  const std::int64_t expires = first.receipt.time_unix_us + 60'000'000;
  ASSERT_EQ(first.receipt.hold_expires_unix_us, expires);
  ASSERT_EQ(second.receipt.hold_expires_unix_us, expires);  // the clock stood still

  // One microsecond before the expiry the capture goes through...
  now_->store(expires - 1);
  const Outcome captured = Ok(Capture("cap1", first.receipt.seq));
  EXPECT_EQ(captured.receipt.time_unix_us, expires - 1);
  // ...at the expiry the hold is released first, and the capture finds it closed.
  now_->store(expires);
  const std::uint64_t head = ledger_->GetHead().seq;
  const Outcome late = ledger_->Execute(Capture("cap2", second.receipt.seq));
  EXPECT_REASON(late, Reason::kHoldClosed);
  EXPECT_NE(late.message.find("released"), std::string::npos) << late.message;
  EXPECT_EQ(late.decided_at_seq, head + 1);
  auto release = ledger_->GetEntry(head + 1);
  ASSERT_TRUE(release.ok()) << release.status();
  EXPECT_EQ(release->entry.command().request_id(), ReleaseRequestId(second.receipt.seq));
  EXPECT_EQ(release->entry.command().actor(), kEngineActor);
  EXPECT_EQ(release->entry.command().release_hold().hold_seq(), second.receipt.seq);
  EXPECT_EQ(release->entry.time_unix_us(), expires);
  EXPECT_EQ(HoldOf(second.receipt.seq).state(), v1::HOLD_STATE_RELEASED);
  EXPECT_EQ(HoldOf(second.receipt.seq).closed_seq(), head + 1);
  EXPECT_EQ(B("m1", "POINTS"), "170.00");  // one bag sold, the other's points back
  EXPECT_EQ(B("store:main", "RICE_5KG"), "49");
  ExpectAuditClean();
}

TEST_F(Holds, AnIdleLedgerReleasesAnExpiredHoldByItself) {
  StopClock();
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"OIL_5L", 1}}, "POINTS", 30));
  now_->store(held.receipt.hold_expires_unix_us + 5);
  // No command arrives; the sequencer wakes within a second and releases the hold.
  v1::HoldRecord hold;
  for (int i = 0; i < 100 && hold.state() != v1::HOLD_STATE_RELEASED; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    hold = HoldOf(held.receipt.seq);
  }
  EXPECT_EQ(hold.state(), v1::HOLD_STATE_RELEASED);
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  ExpectAuditClean();
}

// A release that cannot go (m1's points at the asset's maximum) leaves its hold open and the
// idle sequencer tries again a second later — and a hold that expires after that failed try is
// still released while idle (the back-off once stayed at a second for good, and only the next
// command released anything). Like the idle release above, it needs the sequencer's timed wait
// to end: under libfaketime absl's timed waits (an absolute CLOCK_REALTIME deadline) never do,
// which is why scripts/faketime-check.sh leaves the ledger's own suites out.
TEST_F(Holds, AnIdleLedgerKeepsReleasingAfterAReleaseThatCannotGo) {
  StopClock();
  Ok(Earn("e:m2b", "issuer:town", "m2", "50"));
  const Outcome stuck = Ok(Hold("h1", "m1", "store:main", {{"OIL_5L", 1}}, "POINTS", 30));
  const Outcome later = Ok(Hold("h2", "m2", "store:main", {{"RICE_5KG", 1}}, "POINTS", 60));
  // m1 topped up to POINTS' maximum: the held 59.90 has no room to come back.
  Ok(testing::SetBudget("b:town", "issuer:town", "POINTS", "999999999999999.99"));
  Ok(Earn("e:top1", "issuer:town", "m1", "999999999999744.99"));  // the town's budget left
  Ok(Earn("e:top2", "issuer:exchange", "m1", "114.90"));
  ASSERT_EQ(B("m1", "POINTS"), "999999999999999.99");
  now_->store(stuck.receipt.hold_expires_unix_us + 5);
  // The sequencer wakes within a second, tries to release the oil, and cannot (2.5 s: that try
  // surely comes before the rice's hold expires, even on a loaded machine).
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ASSERT_EQ(HoldOf(stuck.receipt.seq).state(), v1::HOLD_STATE_OPEN);
  now_->store(later.receipt.hold_expires_unix_us + 5);
  v1::HoldRecord hold;
  for (int i = 0; i < 100 && hold.state() != v1::HOLD_STATE_RELEASED; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    hold = HoldOf(later.receipt.seq);
  }
  EXPECT_EQ(hold.state(), v1::HOLD_STATE_RELEASED) << "no command came: the idle sequencer";
  EXPECT_EQ(HoldOf(stuck.receipt.seq).state(), v1::HOLD_STATE_OPEN);
  EXPECT_EQ(B("m2", "POINTS"), "55.00");  // the rice's 30 back
  ExpectAuditClean();
}

// The writer's syncs can be held (tests/gate_fs.h), and every batch goes to the writer thread.
class HoldsBehindAGate : public Holds {
 protected:
  HoldsBehindAGate() {
    env_ = gate_env_.get();
    lone_batches_on_sequencer_ = false;
  }
  void TearDown() override {
    gate_->Open();
    ledger_.reset();  // before the file system it writes through
  }
  std::shared_ptr<testing::GateFs> gate_ = std::make_shared<testing::GateFs>();
  std::unique_ptr<rocksdb::Env> gate_env_ = rocksdb::NewCompositeEnv(gate_);
};

// A hold that expires while the writer syncs a batch: the sequencer opens a batch to release it
// and waits for the writer; when that write ends the release is written, with no command
// coming. (The writer once signalled the sequencer only when it held decided commands or some
// were queued, and a release-only batch counted as neither: the release waited for the next
// command, and a close meanwhile waited forever.) Like the idle releases above it needs the
// sequencer's timed wait to end, which under libfaketime it never does (not a date dependency).
TEST_F(HoldsBehindAGate, AHoldThatExpiresWhileTheWriterSyncsIsReleasedWhenTheSyncEnds) {
  StopClock();
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"OIL_5L", 1}}, "POINTS", 30));
  ASSERT_EQ(B("m1", "POINTS"), "140.10");
  gate_->Close();
  std::promise<Outcome> earned;
  ledger_->Submit(testing::Earn("e:m2x", "issuer:town", "m2", "1"),
                  [&earned](Outcome outcome) { earned.set_value(std::move(outcome)); });
  ASSERT_TRUE(gate_->AwaitHeld());
  now_->store(held.receipt.hold_expires_unix_us + 5);
  // The idle sequencer wakes within a second (its timed wait for the hold's expiry), opens the
  // release and waits for the writer. A relative sleep (the test clock is stopped).
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  gate_->Open();
  EXPECT_TRUE(earned.get_future().get().ok());
  v1::HoldRecord hold;
  for (int i = 0; i < 100 && hold.state() != v1::HOLD_STATE_RELEASED; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    hold = HoldOf(held.receipt.seq);
  }
  EXPECT_EQ(hold.state(), v1::HOLD_STATE_RELEASED) << "no command came after the sync";
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  ExpectAuditClean();
}

TEST_F(Holds, AnOpenHoldSurvivesReopeningAndExpiresAfterIt) {
  StopClock();
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"OIL_5L", 1}}, "POINTS", 120));
  ledger_.reset();
  Open();
  EXPECT_EQ(HoldOf(held.receipt.seq).state(), v1::HOLD_STATE_OPEN);
  EXPECT_EQ(B("m1", "POINTS"), "140.10");
  now_->store(held.receipt.hold_expires_unix_us);
  Ok(Earn("e:after", "issuer:town", "m2", "1"));  // any command: the release comes first
  EXPECT_EQ(HoldOf(held.receipt.seq).state(), v1::HOLD_STATE_RELEASED);
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  ExpectAuditClean();
}

TEST_F(Holds, AHoursHoldKeepsItsRatioWhenTheRatioChangesBeforeCapture) {
  Ok(SetExchangeRatio("x1", "10", "issuer:exchange"));
  const Outcome held =
      Ok(Hold("h1", "m1", "store:main", {{"RICE_5KG", 1}, {"OIL_5L", 1}}, "HOURS"));
  EXPECT_EQ(held.receipt.pricing->hours_minor(), "899");  // 89.90 points / 10 = 8.99 h
  EXPECT_EQ(B("m1", "HOURS"), "11.01");
  EXPECT_EQ(B("issuer:exchange", "POINTS"), "-89.90");  // the points are held too
  Ok(SetExchangeRatio("x2", "5", "issuer:exchange"));
  const Outcome captured = Ok(Capture("cap", held.receipt.seq, {{"OIL_5L", 1}}));
  // 59.90 points at the hold's 10 per hour, rounded up: 5.99 h (at the new ratio: 11.98 h).
  EXPECT_EQ(captured.receipt.pricing->points_per_hour_minor(), "1000");
  EXPECT_EQ(captured.receipt.pricing->hours_minor(), "599");
  EXPECT_EQ(B("m1", "HOURS"), "14.01");
  EXPECT_EQ(B("issuer:exchange", "POINTS"), "-59.90");
  EXPECT_EQ(B("issuer:exchange", "HOURS"), "5.99");
  EXPECT_EQ(B("store:main", "POINTS"), "59.90");
  // The whole of a captured hours basket refunds exactly the hours paid.
  Ok(Refund("rf", captured.receipt.seq, {{"OIL_5L", 1}}));
  EXPECT_EQ(B("m1", "HOURS"), "20.00");
  EXPECT_EQ(B("issuer:exchange", "POINTS"), "0.00");
  ExpectAuditClean();
}

TEST_F(Holds, LimitsCountAHoldAndGetBackWhatWasNotSold) {
  Ok(SetLimit("l1", "RICE_5KG", v1::PERIOD_MONTH, "2"));
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"RICE_5KG", 2}}));
  EXPECT_REASON(ledger_->Execute(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 1}})),
                Reason::kLimitExceeded);
  Ok(Capture("cap", held.receipt.seq, {{"RICE_5KG", 1}}));
  Ok(Checkout("c2", "m1", "store:main", {{"RICE_5KG", 1}}));  // the uncaptured bag came back
  EXPECT_REASON(ledger_->Execute(Hold("h2", "m1", "store:main", {{"RICE_5KG", 1}})),
                Reason::kLimitExceeded);
  ExpectAuditClean();
}

struct HoldRefusal {
  std::string name;
  std::function<v1::Command(std::uint64_t hold_seq)> command;
  Reason reason;
};

TEST_F(Holds, EveryRefusalHasItsReasonAndMovesNothing) {
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"RICE_5KG", 2}}));
  const std::uint64_t seq = held.receipt.seq;
  auto client_release = [](std::uint64_t hold_seq) {
    v1::Command command;
    command.set_request_id(ReleaseRequestId(hold_seq));
    command.set_actor(std::string(kEngineActor));
    command.mutable_release_hold()->set_hold_seq(hold_seq);
    return command;
  };
  const std::vector<HoldRefusal> cases = {
      {"timeout past a day",
       [](std::uint64_t) {
         return Hold("r1", "m1", "store:main", {{"OIL_5L", 1}}, "POINTS", 86401);
       },
       Reason::kHoldCommandInvalid},
      {"hold seq 0", [](std::uint64_t) { return Capture("r2", 0); }, Reason::kHoldCommandInvalid},
      {"a release from a client", client_release, Reason::kHoldCommandInvalid},
      {"an engine request id (its own reason since #23: nothing to do with holds)",
       [](std::uint64_t) {
         return Checkout("lovebank:x", "m1", "store:main", {{"OIL_5L", 1}});
       },
       Reason::kRequestIdReserved},
      {"no such hold", [](std::uint64_t) { return Capture("r3", 999); }, Reason::kHoldUnknown},
      {"not a hold's seq", [](std::uint64_t s) { return Void("r4", s - 1); }, Reason::kHoldUnknown},
      {"another store's hold", [](std::uint64_t s) { return Capture("r5", s, {}, "store:b"); },
       Reason::kHoldUnknown},
      {"capture of a SKU not held",
       [](std::uint64_t s) {
         return Capture("r6", s, {{"OIL_5L", 1}});
       },
       Reason::kBasketInvalid},
      {"capture of more than held",
       [](std::uint64_t s) {
         return Capture("r7", s, {{"RICE_5KG", 3}});
       },
       Reason::kBasketInvalid},
      {"hold past the member's points",
       [](std::uint64_t) {
         return Hold("r8", "m2", "store:main", {{"RICE_5KG", 1}});
       },
       Reason::kInsufficientBalance},
      {"hold past the shelf",
       [](std::uint64_t) {
         return Hold("r9", "m1", "store:main", {{"OIL_5L", 11}});
       },
       Reason::kInsufficientStock},
      {"hold of an item not for sale",
       [](std::uint64_t) {
         return Hold("r10", "m1", "store:main", {{"PEN", 1}});
       },
       Reason::kItemInactive},
      {"hold for a frozen member",
       [](std::uint64_t) {
         return Hold("r11", "m3", "store:main", {{"PEN", 1}});
       },
       Reason::kAccountFrozen},
      {"hold paid with hours before a ratio",
       [](std::uint64_t) {
         return Hold("r12", "m1", "store:main", {{"OIL_5L", 1}}, "HOURS");
       },
       Reason::kExchangeRatioUnset},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto before = WithoutRefusals(DumpStore(dir_.path()));
    EXPECT_REASON(ledger_->Execute(c.command(seq)), c.reason);
    EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), before);
  }
  // A member frozen after the hold: the capture is refused, the void goes through.
  Ok(testing::SetStatus("f:m1", "m1", v1::ACCOUNT_STATUS_FROZEN));
  EXPECT_REASON(ledger_->Execute(Capture("r13", seq)), Reason::kAccountFrozen);
  Ok(Void("v", seq));
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  ExpectAuditClean();
}

TEST_F(Holds, TwoTerminalsRacingToCaptureAndVoidOneHoldExactlyOneWins) {
  // Enough points for every round's capture, whichever side wins (a bag is 30 points).
  Ok(Earn("e:rounds", "issuer:town", "m1", "300"));
  for (int round = 0; round < 10; ++round) {
    const Outcome held = Ok(Hold(Cat("h", round), "m1", "store:main", {{"RICE_5KG", 1}}));
    std::atomic<int> ready{0};
    Outcome capture;
    Outcome voided;
    std::thread a([&] {
      ++ready;
      while (ready < 2) {
      }
      capture = ledger_->Execute(Capture(Cat("c", round), held.receipt.seq));
    });
    std::thread b([&] {
      ++ready;
      while (ready < 2) {
      }
      voided = ledger_->Execute(Void(Cat("v", round), held.receipt.seq));
    });
    a.join();
    b.join();
    EXPECT_NE(capture.ok(), voided.ok()) << capture.message << " / " << voided.message;
    EXPECT_EQ((capture.ok() ? voided : capture).reason, Reason::kHoldClosed);
  }
  EXPECT_EQ(B(std::string(kHoldsAccount), "POINTS"), "0.00");
  ExpectAuditClean();
}

// Many lanes at once: holds, captures and voids pipelined through group commit; every hold ends
// closed, escrow ends empty, stock and points are conserved and the audit is clean.
TEST_F(Holds, ManyLanesHoldingCapturingAndVoidingAtOnceConserveEverything) {
  Ok(Earn("e:big", "issuer:town", "m2", "100000"));
  Ok(ReceiveStock("r:more", "issuer:goods", "store:main", "RICE_5KG", "1000", "县慈善总会"));
  constexpr int kLanes = 8;
  constexpr int kRounds = 40;
  std::atomic<int> captured{0};
  std::vector<std::thread> lanes;
  for (int lane = 0; lane < kLanes; ++lane) {
    lanes.emplace_back([&, lane] {
      for (int round = 0; round < kRounds; ++round) {
        const std::string id = Cat("l", lane, "-", round);
        const Outcome held =
            ledger_->Execute(Hold("h" + id, "m2", "store:main", {{"RICE_5KG", 2}}));
        if (!held.ok()) continue;
        const Outcome closed =
            round % 2 == 0
                ? ledger_->Execute(Capture("c" + id, held.receipt.seq, {{"RICE_5KG", 1}}))
                : ledger_->Execute(Void("v" + id, held.receipt.seq));
        EXPECT_TRUE(closed.ok()) << closed.message;
        if (closed.ok() && round % 2 == 0) ++captured;
      }
    });
  }
  for (auto& lane : lanes) lane.join();
  EXPECT_EQ(captured.load(), kLanes * kRounds / 2);
  EXPECT_EQ(B(std::string(kHoldsAccount), "RICE_5KG"), "0");
  EXPECT_EQ(B(std::string(kHoldsAccount), "POINTS"), "0.00");
  EXPECT_EQ(B("m2", "RICE_5KG"), Cat(captured.load()));
  EXPECT_EQ(B("store:main", "RICE_5KG"), Cat(1050 - captured.load()));
  EXPECT_EQ(B("store:main", "POINTS"), Cat(30 * captured.load(), ".00"));
  ExpectAuditClean();
}

TEST_F(Holds, AnAllOrNothingGroupThatFailsLeavesNoHoldBehind) {
  const std::uint64_t head = ledger_->GetHead().seq;
  auto outcomes = ledger_->ExecuteMany({Hold("g1", "m1", "store:main", {{"RICE_5KG", 1}}),
                                        Checkout("g2", "m2", "store:main", {{"OIL_5L", 1}})},
                                       /*all_or_nothing=*/true);
  EXPECT_REASON(outcomes[1], Reason::kInsufficientBalance);
  EXPECT_EQ(ledger_->GetHead().seq, head);
  EXPECT_REASON(ledger_->Execute(Capture("c", head + 1)), Reason::kHoldUnknown);
  // The same hold then goes through whole, and its escrow account is opened by it.
  const Outcome held = Ok(Hold("g3", "m1", "store:main", {{"RICE_5KG", 1}}));
  EXPECT_EQ(ledger_->GetAccount(kHoldsAccount)->opened_seq(), held.receipt.seq);
  ExpectAuditClean();
}

TEST_F(Holds, TheAuditFindsAHoldRecordEditedBehindTheEngine) {
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"RICE_5KG", 2}}));
  ledger_.reset();
  {
    auto store = Store::Open(dir_.path(), StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    v1::HoldRecord hold;
    auto stored = (*store)->Get(Family::kHolds, EncodeFixed64BE(held.receipt.seq));
    ASSERT_TRUE(stored.ok() && stored->has_value());
    ASSERT_TRUE(hold.ParseFromString(**stored));
    hold.set_expires_unix_us(hold.expires_unix_us() + 3'600'000'000);  // an hour longer
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put(rocksdb::WriteOptions(), (*store)->handle(Family::kHolds),
                          EncodeFixed64BE(held.receipt.seq), hold.SerializeAsString())
                    .ok());
  }
  const audit::Report report = AuditDb(dir_.path());
  ASSERT_EQ(report.findings_total, 1u) << Describe(report);
  EXPECT_EQ(report.findings[0].kind, audit::FindingKind::kRecordDiffers);
  EXPECT_EQ(report.findings[0].where, Cat("holds hold ", held.receipt.seq));
}

TEST_F(Holds, TheAuditFindsACaptureMovedPastItsHoldsExpiryWithARecomputedChain) {
  StopClock();
  const Outcome held = Ok(Hold("h1", "m1", "store:main", {{"RICE_5KG", 1}}, "POINTS", 60));
  const Outcome captured = Ok(Capture("cap", held.receipt.seq));
  ledger_.reset();
  // The capture claims a time after the expiry: the hold should have been released first.
  RewriteJournal(dir_.path(), [&](v1::Entry& entry) {
    if (entry.seq() != captured.receipt.seq) return false;
    entry.set_time_unix_us(held.receipt.hold_expires_unix_us);
    return true;
  });
  const audit::Report report = AuditDb(dir_.path());
  const std::string text = Describe(report);
  EXPECT_NE(
      text.find(Cat("RULE_VIOLATED seq=", captured.receipt.seq, " [hold ", held.receipt.seq, "]")),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(Cat("hold ", held.receipt.seq, " expires at ", held.receipt.hold_expires_unix_us)),
      std::string::npos)
      << text;
}

}  // namespace
}  // namespace lovebank
