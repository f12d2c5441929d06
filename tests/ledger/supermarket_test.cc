// The love supermarket in the ledger (issue #6): catalogue and stock as journal facts, baskets
// priced by the engine and paid in points or hours, line refunds, settlement — every refusal
// with its reason and no change, races for the last unit and the last points, and the audit's
// replay of all of it (including a rewritten price that the chain alone would not reveal).

#include "ledger/rules/supermarket.h"

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "ledger/audit/audit.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "ledger/ledger.h"
#include "ledger/rules/moves.h"
#include "ledger/storage/store.h"
#include "tests/supermarket_fixture.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using testing::Basket;
using testing::Checkout;
using testing::DumpStore;
using testing::Earn;
using testing::OpenLedger;
using testing::OpenProgramme;
using testing::ReceiveStock;
using testing::Refund;
using testing::SetExchangeRatio;
using testing::SetItem;
using testing::Settle;
using testing::TempDir;
using testing::WithoutRefusals;
using testing::WriteOffStock;

TEST_F(Supermarket, CatalogueItemsAreJournalEntriesAndTheirStockIsAnAsset) {
  auto stored = DumpStore(dir_.path());
  const auto& items = stored.at("items");
  ASSERT_TRUE(items.contains(ItemKey("store:main", "OIL_5L")));
  v1::ItemRecord oil;
  ASSERT_TRUE(oil.ParseFromString(items.at(ItemKey("store:main", "OIL_5L"))));
  EXPECT_EQ(oil.name(), "花生油 5L");
  EXPECT_EQ(oil.unit(), "桶");
  EXPECT_EQ(oil.price_minor(), "5990");
  EXPECT_TRUE(oil.active());
  v1::AssetRecord asset;
  ASSERT_TRUE(asset.ParseFromString(stored.at("assets").at("OIL_5L")));
  EXPECT_TRUE(asset.stock());
  EXPECT_EQ(asset.scale(), 0u);
  EXPECT_EQ(B("store:main", "RICE_5KG"), "50");
  EXPECT_EQ(B("issuer:goods", "RICE_5KG"), "-50");  // donated goods enter through an issuer
  // The donor is named in the journal.
  auto receipt = ledger_->GetEntryByRequestId("tester", "r:rice");
  ASSERT_TRUE(receipt.ok());
  EXPECT_EQ(receipt->entry.command().receive_stock().reason(), "爱心企业 富民米业");

  // Re-pricing keeps the item's first seq and records the change.
  const Outcome repriced = Ok(SetItem("i:oil2", "store:main", "OIL_5L", "花生油 5L", "桶", "55"));
  ASSERT_TRUE(ledger_->GetItems("store:main").ok());
  auto listed = *ledger_->GetItems("store:main");
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].sku(), "OIL_5L");  // SKU order
  EXPECT_EQ(listed[0].price_minor(), "5500");
  EXPECT_EQ(listed[0].defined_seq(), oil.defined_seq());
  EXPECT_EQ(listed[0].changed_seq(), repriced.receipt.seq);
}

TEST_F(Supermarket, CheckoutPricesTheBasketAndMovesPointsAndGoodsInOneEntry) {
  const std::uint64_t head = ledger_->GetHead().seq;
  const Outcome sale = Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 2}, {"OIL_5L", 1}}));
  EXPECT_EQ(sale.receipt.seq, head + 1);
  EXPECT_EQ(B("m1", "POINTS"), "80.10");  // 200 - (2 x 30 + 59.90)
  EXPECT_EQ(B("store:main", "POINTS"), "119.90");
  EXPECT_EQ(B("store:main", "RICE_5KG"), "48");
  EXPECT_EQ(B("m1", "RICE_5KG"), "2");
  EXPECT_EQ(B("m1", "OIL_5L"), "1");
  auto entry = ledger_->GetEntry(sale.receipt.seq);
  ASSERT_TRUE(entry.ok());
  const v1::Pricing& pricing = entry->entry.pricing();
  ASSERT_EQ(pricing.lines_size(), 2);
  EXPECT_EQ(pricing.lines(0).unit_price_minor(), "3000");
  EXPECT_EQ(pricing.lines(0).amount_minor(), "6000");
  EXPECT_EQ(pricing.lines(1).amount_minor(), "5990");
  EXPECT_EQ(pricing.total_points_minor(), "11990");
  ASSERT_EQ(entry->entry.postings_size(), 6);
  EXPECT_EQ(entry->entry.postings(0).account(), "store:main");  // goods first, then payment
  EXPECT_EQ(entry->entry.postings(0).asset(), "RICE_5KG");
  EXPECT_EQ(entry->entry.postings(0).amount_minor(), "-2");
  // The receipt lists every balance the entry moved.
  EXPECT_EQ(sale.receipt.balances_after.size(), 6u);
  EXPECT_TRUE(AuditDb(dir_.path()).clean()) << Describe(AuditDb(dir_.path()));
}

TEST_F(Supermarket, PayingWithHoursUsesTheRatioInForceAndRoundsUpByLessThanOneMinorUnit) {
  Ok(SetExchangeRatio("x1", "3", "issuer:exchange"));
  // 59.90 points at 3 points an hour is 19.966... hours: the member pays 19.97.
  const Outcome sale = Ok(Checkout("c1", "m1", "store:main", {{"OIL_5L", 1}}, "HOURS"));
  EXPECT_EQ(B("m1", "HOURS"), "0.03");
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  EXPECT_EQ(B("issuer:exchange", "HOURS"), "19.97");
  EXPECT_EQ(B("issuer:exchange", "POINTS"), "-59.90");
  EXPECT_EQ(B("store:main", "POINTS"), "59.90");
  auto entry = ledger_->GetEntry(sale.receipt.seq);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->entry.pricing().points_per_hour_minor(), "300");
  EXPECT_EQ(entry->entry.pricing().hours_minor(), "1997");

  // A later ratio applies to later baskets only; the sale keeps the ratio it was made at, and a
  // refund uses it (whole basket: exactly the hours paid).
  Ok(SetExchangeRatio("x2", "10", "issuer:exchange"));
  Ok(Refund("rf1", sale.receipt.seq, {{"OIL_5L", 1}}));
  EXPECT_EQ(B("m1", "HOURS"), "20.00");
  EXPECT_EQ(B("issuer:exchange", "HOURS"), "0.00");
  EXPECT_EQ(B("issuer:exchange", "POINTS"), "0.00");
  Ok(Checkout("c2", "m1", "store:main", {{"RICE_5KG", 2}}, "HOURS"));  // 60 points = 6 h
  EXPECT_EQ(B("m1", "HOURS"), "14.00");
  EXPECT_TRUE(AuditDb(dir_.path()).clean()) << Describe(AuditDb(dir_.path()));
}

TEST(PointsToHours, RoundsChargesUpAndReturnsDownByLessThanOneMinorUnit) {
  struct Case {
    Int128 points, ratio;
    Rounding rounding;
    Int128 hours;
  } cases[] = {
      {5990, 300, Rounding::kUp, 1997}, {5990, 300, Rounding::kDown, 1996},
      {6000, 300, Rounding::kUp, 2000}, {6000, 300, Rounding::kDown, 2000},
      {1, 1000, Rounding::kUp, 1},      {1, 1000, Rounding::kDown, 0},
      {0, 1000, Rounding::kUp, 0},      {999, 1, Rounding::kUp, 99900},
  };
  for (const auto& c : cases) {
    auto hours = PointsToHours(c.points, c.ratio, 2, c.rounding);
    ASSERT_TRUE(hours.has_value());
    EXPECT_EQ(*hours, c.hours) << MinorToString(c.points) << " / " << MinorToString(c.ratio);
  }
  // 10^36 - 1 points at 0.01 point an hour does not fit: refused, never wrapped.
  EXPECT_FALSE(PointsToHours(MinorAbsoluteMax(), 1, 2, Rounding::kUp).has_value());
}

TEST_F(Supermarket, RefundsReturnLinesAtTheSalePricesOnceEach) {
  const Outcome sale = Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 2}, {"OIL_5L", 1}}));
  Ok(SetItem("i:rice2", "store:main", "RICE_5KG", "东北大米 5kg", "袋", "35"));  // re-priced
  const Outcome back = Ok(Refund("rf1", sale.receipt.seq, {{"RICE_5KG", 1}}));
  EXPECT_EQ(B("m1", "POINTS"), "110.10");  // 80.10 + 30 (the sale's price, not 35)
  EXPECT_EQ(B("store:main", "RICE_5KG"), "49");
  EXPECT_EQ(B("m1", "RICE_5KG"), "1");
  auto entry = ledger_->GetEntry(back.receipt.seq);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->entry.pricing().total_points_minor(), "3000");

  // The same line again, even for the unit not yet returned: refused, nothing moves.
  const auto before = WithoutRefusals(DumpStore(dir_.path()));
  EXPECT_REASON(ledger_->Execute(Refund("rf2", sale.receipt.seq, {{"RICE_5KG", 1}})),
                Reason::kLineAlreadyRefunded);
  // A whole reversal after a line refund would return the refunded line twice.
  EXPECT_REASON(ledger_->Execute(testing::Reverse("rv1", sale.receipt.seq)),
                Reason::kEntryAlreadyReversed);
  EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), before);
  // The other line is still refundable.
  Ok(Refund("rf3", sale.receipt.seq, {{"OIL_5L", 1}}));
  EXPECT_EQ(B("m1", "POINTS"), "170.00");
  EXPECT_TRUE(AuditDb(dir_.path()).clean()) << Describe(AuditDb(dir_.path()));
}

TEST_F(Supermarket, AWholeCheckoutCanBeReversedOnceAndThenNoLineRefunded) {
  const Outcome sale = Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 2}}));
  Ok(testing::Reverse("rv1", sale.receipt.seq));
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  EXPECT_EQ(B("store:main", "RICE_5KG"), "50");
  EXPECT_REASON(ledger_->Execute(Refund("rf1", sale.receipt.seq, {{"RICE_5KG", 1}})),
                Reason::kEntryAlreadyReversed);
  EXPECT_TRUE(AuditDb(dir_.path()).clean()) << Describe(AuditDb(dir_.path()));
}

TEST_F(Supermarket, PartialRefundOfAnHoursBasketReturnsTheHoursRoundedDown) {
  Ok(SetExchangeRatio("x1", "3", "issuer:exchange"));
  // 2 x 30 + 59.90 = 119.90 points = 39.9666 h: charged 39.97 (m1 has 20 h: top up first).
  Ok(Earn("e:more", "issuer:town", "m1", "30", "HOURS"));
  const Outcome sale =
      Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 2}, {"OIL_5L", 1}}, "HOURS"));
  EXPECT_EQ(B("m1", "HOURS"), "10.03");
  Ok(Refund("rf1", sale.receipt.seq, {{"OIL_5L", 1}}));  // 59.90 / 3 = 19.9666: 19.96 back
  EXPECT_EQ(B("m1", "HOURS"), "29.99");
  Ok(Refund("rf2", sale.receipt.seq, {{"RICE_5KG", 2}}));  // 60 / 3 = 20 exactly
  EXPECT_EQ(B("m1", "HOURS"), "49.99");  // 0.01 h short of the 50: the one rounding at the sale
  EXPECT_TRUE(AuditDb(dir_.path()).clean()) << Describe(AuditDb(dir_.path()));
}

TEST_F(Supermarket, StockWriteOffAndSettlementAreJournaledWithTheirReasons) {
  Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 3}}));
  Ok(WriteOffStock("w1", "store:main", "issuer:goods", "RICE_5KG", "2", "受潮变质"));
  EXPECT_EQ(B("store:main", "RICE_5KG"), "45");
  EXPECT_EQ(B("issuer:goods", "RICE_5KG"), "-48");
  Ok(Settle("s1", "store:main", "issuer:town", "90"));
  EXPECT_EQ(B("store:main", "POINTS"), "0.00");
  EXPECT_EQ(B("issuer:town", "POINTS"), "-115.00");  // 205 earned, 90 settled back
  auto report = AuditDb(dir_.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
}

// ---------------------------------------------------------------------------------------------
// Every supermarket refusal: its reason, and nothing changes (invariant 7).

struct Refusal {
  std::string name;
  Reason reason;
  std::function<v1::Command()> make;
};

std::vector<Refusal> Refusals() {
  Basket hundred_one;
  for (int i = 0; i < 101; ++i) hundred_one.push_back({Cat("SKU", i), 1});
  return {
      {"unknown item", Reason::kItemUnknown,
       [] {
         return Checkout("q1", "m1", "store:main", {{"SOAP", 1}});
       }},
      {"item of another store", Reason::kItemUnknown,
       [] {
         return Checkout("q2", "m1", "store:b", {{"RICE_5KG", 1}});
       }},
      {"inactive item", Reason::kItemInactive,
       [] {
         return Checkout("q3", "m1", "store:main", {{"PEN", 1}});
       }},
      {"more than the stock", Reason::kInsufficientStock,
       [] {
         return Checkout("q4", "m1", "store:main", {{"OIL_5L", 11}});
       }},
      {"more than the points", Reason::kInsufficientBalance,
       [] {
         return Checkout("q5", "m2", "store:main", {{"RICE_5KG", 1}});
       }},
      {"more than the hours", Reason::kInsufficientBalance,
       [] {
         return Checkout("q5h", "m2", "store:main", {{"RICE_5KG", 1}}, "HOURS");
       }},
      {"frozen member", Reason::kAccountFrozen,
       [] {
         return Checkout("q6", "m3", "store:main", {{"RICE_5KG", 1}});
       }},
      {"member as the store", Reason::kAccountKindMismatch,
       [] {
         return Checkout("q7", "m1", "m2", {{"RICE_5KG", 1}});
       }},
      {"unknown member", Reason::kAccountUnknown,
       [] {
         return Checkout("q8", "nobody", "store:main", {{"RICE_5KG", 1}});
       }},
      {"paid in stock", Reason::kPayAssetInvalid,
       [] {
         return Checkout("q9", "m1", "store:main", {{"RICE_5KG", 1}}, "RICE_5KG");
       }},
      {"empty basket", Reason::kBasketInvalid,
       [] { return Checkout("q10", "m1", "store:main", {}); }},
      {"a SKU twice", Reason::kBasketInvalid,
       [] {
         return Checkout("q11", "m1", "store:main", {{"RICE_5KG", 1}, {"RICE_5KG", 1}});
       }},
      {"quantity zero", Reason::kBasketInvalid,
       [] {
         return Checkout("q12", "m1", "store:main", {{"RICE_5KG", 0}});
       }},
      {"quantity 10,001", Reason::kBasketInvalid,
       [] {
         return Checkout("q13", "m1", "store:main", {{"RICE_5KG", 10001}});
       }},
      {"101 lines", Reason::kBasketInvalid,
       [hundred_one] { return Checkout("q14", "m1", "store:main", hundred_one); }},
      {"lower-case SKU", Reason::kAssetCodeInvalid,
       [] {
         return Checkout("q15", "m1", "store:main", {{"rice", 1}});
       }},
      {"receive points as stock", Reason::kAssetNotStock,
       [] { return ReceiveStock("q16", "issuer:goods", "store:main", "POINTS", "1", "某人"); }},
      {"receive without a donor", Reason::kMoveReasonMissing,
       [] { return ReceiveStock("q17", "issuer:goods", "store:main", "RICE_5KG", "1", ""); }},
      {"receive half a bag", Reason::kAmountTooManyDecimals,
       [] { return ReceiveStock("q18", "issuer:goods", "store:main", "RICE_5KG", "0.5", "某人"); }},
      {"write off more than held", Reason::kInsufficientStock,
       [] { return WriteOffStock("q19", "store:main", "issuer:goods", "OIL_5L", "11", "过期"); }},
      {"redeem goods as money", Reason::kAssetIsStock,
       [] { return testing::Redeem("q20", "m1", "store:main", "1", "RICE_5KG"); }},
      {"an item named POINTS", Reason::kAssetNotStock,
       [] { return SetItem("q21", "store:main", "POINTS", "积分", "个", "1"); }},
      {"an item with no unit", Reason::kItemUnitInvalid,
       [] { return SetItem("q22", "store:main", "SOAP", "香皂", "", "3"); }},
      {"an item priced at zero", Reason::kAmountZero,
       [] { return SetItem("q23", "store:main", "SOAP", "香皂", "块", "0"); }},
      {"an item priced in thousandths", Reason::kAmountTooManyDecimals,
       [] { return SetItem("q24", "store:main", "SOAP", "香皂", "块", "2.505"); }},
      {"an item for a member account", Reason::kAccountKindMismatch,
       [] { return SetItem("q25", "m1", "SOAP", "香皂", "块", "3"); }},
      {"hours before any ratio", Reason::kExchangeRatioUnset,
       [] {
         return Checkout("q26", "m1", "store:main", {{"RICE_5KG", 1}}, "HOURS");
       }},
      {"a ratio through a store", Reason::kAccountKindMismatch,
       [] { return SetExchangeRatio("q27", "10", "store:main"); }},
      {"a ratio of zero", Reason::kAmountZero,
       [] { return SetExchangeRatio("q28", "0", "issuer:exchange"); }},
      {"refund of a non-checkout", Reason::kRefundInvalid,
       [] {
         return Refund("q29", 3, {{"RICE_5KG", 1}});
       }},
      {"refund of an unknown entry", Reason::kEntryUnknown,
       [] {
         return Refund("q30", 999999, {{"RICE_5KG", 1}});
       }},
      {"refund of a SKU not sold", Reason::kRefundInvalid,
       [] {
         return Refund("q31", 0, {{"OIL_5L", 1}});
       }},  // seq: the setup checkout
      {"refund of more than sold", Reason::kRefundInvalid,
       [] {
         return Refund("q32", 0, {{"RICE_5KG", 2}});
       }},
      {"settle goods", Reason::kAssetIsStock,
       [] { return Settle("q33", "store:main", "issuer:town", "1", "RICE_5KG"); }},
      {"a limit without a period", Reason::kPeriodInvalid,
       [] { return SetLimit("q35", "RICE_5KG", v1::PERIOD_UNSPECIFIED, "2"); }},
      {"a limit on points as an item", Reason::kAssetNotStock,
       [] { return SetLimit("q36", "POINTS", v1::PERIOD_MONTH, "2"); }},
      {"a limit of half a bag", Reason::kAmountTooManyDecimals,
       [] { return SetLimit("q37", "RICE_5KG", v1::PERIOD_MONTH, "1.5"); }},
      {"past a limit", Reason::kLimitExceeded,
       [] {
         return Checkout("q38", "m1", "store:main", {{"RICE_5KG", 1}});
       }},  // limit: 1/day
      {"settle more than the store holds", Reason::kInsufficientBalance,
       [] { return Settle("q34", "store:main", "issuer:town", "1000"); }},
  };
}

class SupermarketRefusal : public Supermarket, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(SupermarketRefusal, RefusesWithItsReasonAndChangesNothing) {
  const Refusal c = Refusals()[GetParam()];
  SCOPED_TRACE(c.name);
  // A limit counts purchases from the moment it is set (docs/supermarket.md "Limits").
  if (c.name == "past a limit") Ok(SetLimit("setup:limit", "RICE_5KG", v1::PERIOD_DAY, "1"));
  const Outcome sale = Ok(Checkout("setup:sale", "m1", "store:main", {{"RICE_5KG", 1}}));
  if (c.name == "more than the hours") Ok(SetExchangeRatio("setup:ratio", "10", "issuer:exchange"));
  v1::Command command = c.make();
  if (command.has_refund() && command.refund().checkout_seq() == 0) {
    command.mutable_refund()->set_checkout_seq(sale.receipt.seq);
  }
  const auto before = WithoutRefusals(DumpStore(dir_.path()));
  const Head head = ledger_->GetHead();
  const Outcome outcome = ledger_->Execute(command);
  EXPECT_REASON(outcome, c.reason);
  EXPECT_FALSE(outcome.message.empty());
  EXPECT_EQ(ledger_->GetHead().seq, head.seq);
  EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), before);
  EXPECT_REASON(ledger_->Execute(command), c.reason);  // a retry: the same refusal
}

INSTANTIATE_TEST_SUITE_P(AllReasons, SupermarketRefusal,
                         ::testing::Range<std::size_t>(0, Refusals().size()));

TEST(SupermarketRefusalCoverage, EverySupermarketReasonHasARefusalCase) {
  std::set<Reason> covered;
  for (const auto& c : Refusals()) covered.insert(c.reason);
  for (Reason reason :
       {Reason::kBasketInvalid, Reason::kPayAssetInvalid, Reason::kItemUnitInvalid,
        Reason::kItemUnknown, Reason::kItemInactive, Reason::kAssetNotStock, Reason::kAssetIsStock,
        Reason::kInsufficientStock, Reason::kRefundInvalid, Reason::kExchangeRatioUnset,
        Reason::kPeriodInvalid, Reason::kLimitExceeded}) {
    // kHouseholdInvalid: AHouseholdSharesItsLimits...
    EXPECT_TRUE(covered.contains(reason)) << ReasonName(reason);
  }
  // kLineAlreadyRefunded: RefundsReturnLinesAtTheSalePricesOnceEach.
}

// ---------------------------------------------------------------------------------------------
// Races: two terminals, one last unit; two baskets, one member's last points.

TEST_F(Supermarket, TwoTerminalsRacingForTheLastUnitExactlyOneWins) {
  Run({Earn("e:m2b", "issuer:town", "m2", "100")});
  for (int round = 0; round < 10; ++round) {
    const std::string sku = Cat("LAST", round);
    Run({SetItem(Cat("i:last", round), "store:main", sku, "最后一袋", "袋", "1"),
         ReceiveStock(Cat("r:last", round), "issuer:goods", "store:main", sku, "1", "某企业")});
    std::vector<Outcome> outcomes(2);
    std::thread a([&] {
      outcomes[0] = ledger_->Execute(Checkout(Cat("a", round), "m1", "store:main", {{sku, 1}}));
    });
    std::thread b([&] {
      outcomes[1] = ledger_->Execute(Checkout(Cat("b", round), "m2", "store:main", {{sku, 1}}));
    });
    a.join();
    b.join();
    EXPECT_EQ(outcomes[0].ok() + outcomes[1].ok(), 1);
    for (const Outcome& outcome : outcomes) {
      if (!outcome.ok()) {
        EXPECT_REASON(outcome, Reason::kInsufficientStock);
      }
    }
    EXPECT_EQ(B("store:main", sku), "0");
  }
  EXPECT_TRUE(AuditDb(dir_.path()).clean());
}

TEST_F(Supermarket, TwoBasketsRacingForAMembersLastPointsExactlyOneWins) {
  // m1 holds 200 points; each basket costs 150.
  Run({SetItem("i:bike", "store:main", "BIKE", "自行车", "辆", "150"),
       ReceiveStock("r:bike", "issuer:goods", "store:main", "BIKE", "5", "某企业")});
  std::vector<Outcome> outcomes(2);
  std::thread a([&] {
    outcomes[0] = ledger_->Execute(Checkout("a", "m1", "store:main", {{"BIKE", 1}}));
  });
  std::thread b([&] {
    outcomes[1] = ledger_->Execute(Checkout("b", "m1", "store:main", {{"BIKE", 1}}));
  });
  a.join();
  b.join();
  EXPECT_EQ(outcomes[0].ok() + outcomes[1].ok(), 1);
  for (const Outcome& outcome : outcomes) {
    if (!outcome.ok()) {
      EXPECT_REASON(outcome, Reason::kInsufficientBalance);
    }
  }
  EXPECT_EQ(B("m1", "POINTS"), "50.00");
  EXPECT_EQ(B("store:main", "BIKE"), "4");
}

TEST_F(Supermarket, StateSurvivesReopeningAndRetriesReturnTheOriginalReceipt) {
  Ok(SetExchangeRatio("x1", "10", "issuer:exchange"));
  const Outcome sale = Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 1}}, "HOURS"));
  ledger_.reset();
  ledger_ = OpenLedger(dir_.path());
  const Outcome retry =
      ledger_->Execute(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 1}}, "HOURS"));
  EXPECT_TRUE(retry.ok());
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.receipt.seq, sale.receipt.seq);
  EXPECT_EQ(B("m1", "HOURS"), "17.00");
  Ok(Checkout("c2", "m1", "store:main", {{"RICE_5KG", 1}}, "HOURS"));  // the ratio reloaded
  EXPECT_EQ(B("m1", "HOURS"), "14.00");
  Ok(Refund("rf1", sale.receipt.seq, {{"RICE_5KG", 1}}));  // the sale reloaded from the journal
  EXPECT_REASON(ledger_->Execute(Refund("rf2", sale.receipt.seq, {{"RICE_5KG", 1}})),
                Reason::kLineAlreadyRefunded);
}

// ---------------------------------------------------------------------------------------------
// The audit: a rewritten price is found even when whoever rewrote it recomputed the chain.

TEST_F(Supermarket, TheAuditFindsAPriceRewrittenWithARecomputedChain) {
  const Outcome sale = Ok(Checkout("c1", "m1", "store:main", {{"OIL_5L", 1}}));
  ledger_.reset();
  // Rewrite the oil's SetItem entry to 5.99 and re-chain every later entry.
  std::uint64_t oil_seq = 0;
  RewriteJournal(dir_.path(), [&oil_seq](v1::Entry& entry) {
    if (!entry.command().has_set_item() || entry.command().set_item().sku() != "OIL_5L") {
      return false;
    }
    entry.mutable_command()->mutable_set_item()->set_price("5.99");
    oil_seq = entry.seq();
    return true;
  });
  ASSERT_NE(oil_seq, 0u);
  const auto report = AuditDb(dir_.path());
  EXPECT_FALSE(report.clean());
  const std::string text = Describe(report);
  // The sale's recorded pricing no longer follows from the catalogue, and the stored item
  // record disagrees with the replayed one.
  EXPECT_NE(text.find(Cat("POSTINGS_MISMATCH seq=", sale.receipt.seq)), std::string::npos) << text;
  EXPECT_NE(text.find("items store:main/OIL_5L"), std::string::npos) << text;
}

TEST_F(Supermarket, TheAuditFindsAStoredItemRecordEditedBehindTheEngine) {
  ledger_.reset();
  {
    auto store = Store::Open(dir_.path(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    v1::ItemRecord rice;
    std::string value;
    auto* items = (*store)->handle(Family::kItems);
    ASSERT_TRUE((*store)->db()->Get({}, items, ItemKey("store:main", "RICE_5KG"), &value).ok());
    ASSERT_TRUE(rice.ParseFromString(value));
    rice.set_price_minor("1");
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put(sync, items, ItemKey("store:main", "RICE_5KG"), rice.SerializeAsString())
                    .ok());
  }
  const auto report = AuditDb(dir_.path());
  EXPECT_NE(Describe(report).find("RECORD_DIFFERS seq=0 [items store:main/RICE_5KG]"),
            std::string::npos)
      << Describe(report);
}

// ---------------------------------------------------------------------------------------------
// Limits per member and period, in programme time (Asia/Shanghai).

TEST(PeriodStart, PeriodsFollowShanghaiTimeAcrossTheYearBoundary) {
  // 2026-12-31 23:59:59 in Shanghai is 15:59:59 UTC; a second later it is 2027.
  EXPECT_EQ(PeriodStart(v1::PERIOD_YEAR, Utc(2026, 12, 31, 15, 59, 59)), "Y2026-01-01");
  EXPECT_EQ(PeriodStart(v1::PERIOD_YEAR, Utc(2026, 12, 31, 16)), "Y2027-01-01");
  EXPECT_EQ(PeriodStart(v1::PERIOD_MONTH, Utc(2026, 12, 31, 16)), "M2027-01-01");
  EXPECT_EQ(PeriodStart(v1::PERIOD_DAY, Utc(2026, 12, 31, 16)), "D2027-01-01");
  EXPECT_EQ(PeriodStart(v1::PERIOD_DAY, Utc(2026, 12, 31, 15)), "D2026-12-31");
  // Weeks start on Monday: Sunday 2026-11-22 belongs to the week of Monday 2026-11-16; Monday
  // 2026-11-23 00:00 in Shanghai (16:00 UTC the day before) starts the next one.
  EXPECT_EQ(PeriodStart(v1::PERIOD_WEEK, Utc(2026, 11, 22, 15, 59)), "W2026-11-16");
  EXPECT_EQ(PeriodStart(v1::PERIOD_WEEK, Utc(2026, 11, 22, 16)), "W2026-11-23");
  // A week across a year boundary keeps its Monday: 2027-01-01 is a Friday.
  EXPECT_EQ(PeriodStart(v1::PERIOD_WEEK, Utc(2027, 1, 1, 4)), "W2026-12-28");
}

TEST_F(Supermarket, AnItemLimitPerMonthIsEnforcedAndNamedAndRefundsGiveItBack) {
  Ok(SetLimit("l1", "RICE_5KG", v1::PERIOD_MONTH, "2"));
  Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 1}}));
  const Outcome second = Ok(Checkout("c2", "m1", "store:main", {{"RICE_5KG", 1}}));
  const auto before = WithoutRefusals(DumpStore(dir_.path()));
  const Outcome third = ledger_->Execute(Checkout("c3", "m1", "store:main", {{"RICE_5KG", 1}}));
  EXPECT_REASON(third, Reason::kLimitExceeded);
  EXPECT_NE(third.message.find("RICE_5KG at most 2 per MONTH (2026-11-01); 2 used"),
            std::string::npos)
      << third.message;
  EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), before);
  // Another member has their own count.
  Ok(Earn("e:m2more", "issuer:town", "m2", "100"));
  Ok(Checkout("c4", "m2", "store:main", {{"RICE_5KG", 2}}));
  // A returned bag frees its place in the month of the sale.
  Ok(Refund("rf1", second.receipt.seq, {{"RICE_5KG", 1}}));
  Ok(Checkout("c5", "m1", "store:main", {{"RICE_5KG", 1}}));
  // December is a new month in Shanghai from 2026-11-30T16:00Z.
  now_->store(Utc(2026, 11, 30, 16));
  Ok(Checkout("c6", "m1", "store:main", {{"RICE_5KG", 2}}));
  EXPECT_REASON(ledger_->Execute(Checkout("c7", "m1", "store:main", {{"RICE_5KG", 1}})),
                Reason::kLimitExceeded);
  const auto report = AuditDb(dir_.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
}

TEST_F(Supermarket, ABasketValueLimitPerWeekCountsPointsAndHoursBaskets) {
  Ok(SetExchangeRatio("x1", "10", "issuer:exchange"));
  Ok(SetLimit("l1", "", v1::PERIOD_WEEK, "100"));
  Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 2}}));           // 60 points
  Ok(Checkout("c2", "m1", "store:main", {{"RICE_5KG", 1}}, "HOURS"));  // 30 points' worth
  const Outcome over = ledger_->Execute(Checkout("c3", "m1", "store:main", {{"RICE_5KG", 1}}));
  EXPECT_REASON(over, Reason::kLimitExceeded);
  EXPECT_NE(over.message.find("baskets worth at most 100.00 POINTS per WEEK"), std::string::npos)
      << over.message;
  // Lifting the limit (maximum 0) lets the basket through.
  Ok(SetLimit("l2", "", v1::PERIOD_WEEK, "0"));
  Ok(Checkout("c4", "m1", "store:main", {{"RICE_5KG", 1}}));
  EXPECT_TRUE(AuditDb(dir_.path()).clean());
}

TEST_F(Supermarket, UsageSurvivesReopeningAndAnEditedUsageRecordIsFound) {
  Ok(SetLimit("l1", "OIL_5L", v1::PERIOD_YEAR, "1"));
  Ok(Checkout("c1", "m1", "store:main", {{"OIL_5L", 1}}));
  ledger_.reset();
  Open();
  EXPECT_REASON(ledger_->Execute(Checkout("c2", "m1", "store:main", {{"OIL_5L", 1}})),
                Reason::kLimitExceeded);
  ledger_.reset();
  {
    auto store = Store::Open(dir_.path(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    const std::string key = UsageKey("m1", "OIL_5L", v1::PERIOD_YEAR, Utc(2026, 11, 1, 8));
    std::string value;
    ASSERT_TRUE((*store)->db()->Get({}, (*store)->handle(Family::kUsage), key, &value).ok());
    EXPECT_EQ(value, "1");
    ASSERT_TRUE((*store)->db()->Put(sync, (*store)->handle(Family::kUsage), key, "0").ok());
  }
  const auto report = AuditDb(dir_.path());
  EXPECT_NE(Describe(report).find("RECORD_DIFFERS seq=0 [usage m1/OIL_5L/Y2026-01-01]"),
            std::string::npos)
      << Describe(report);
}

// All-or-nothing groups roll back every supermarket change in memory too (Engine::Mark /
// RollBackToMark over items, new stock assets, the ratio, limits, usage and refunded lines):
// after an aborted group the next commands are judged as if it never happened.
TEST_F(Supermarket, AnAbortedAllOrNothingGroupLeavesNoSupermarketStateBehind) {
  Ok(SetLimit("l0", "OIL_5L", v1::PERIOD_MONTH, "1"));
  const Outcome sale = Ok(Checkout("c0", "m1", "store:main", {{"RICE_5KG", 2}}));
  const auto before = WithoutRefusals(DumpStore(dir_.path()));
  std::vector<v1::Command> group = {
      SetItem("g1", "store:main", "SOAP", "香皂", "块", "3"),  // defines the SOAP asset
      ReceiveStock("g2", "issuer:goods", "store:main", "SOAP", "5", "某企业"),
      SetExchangeRatio("g3", "10", "issuer:exchange"),
      SetLimit("g4", "RICE_5KG", v1::PERIOD_MONTH, "1"),
      Checkout("g5", "m1", "store:main", {{"SOAP", 1}, {"OIL_5L", 1}}, "HOURS"),  // uses all
      Refund("g6", sale.receipt.seq, {{"RICE_5KG", 1}}),
      Checkout("g7", "m2", "store:main", {{"RICE_5KG", 1}}),  // m2 holds 5 points: refused
  };
  const std::vector<Outcome> outcomes = ledger_->ExecuteMany(group, /*all_or_nothing=*/true);
  ASSERT_EQ(outcomes.size(), group.size());
  for (std::size_t i = 0; i + 1 < outcomes.size(); ++i) {
    EXPECT_REASON(outcomes[i], Reason::kBatchAborted);
  }
  EXPECT_REASON(outcomes.back(), Reason::kInsufficientBalance);
  EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), before);
  // In memory too: no SOAP, no ratio, no rice limit, the oil limit unused, the line unrefunded.
  EXPECT_REASON(ledger_->Execute(Checkout("n1", "m1", "store:main", {{"SOAP", 1}})),
                Reason::kItemUnknown);
  EXPECT_REASON(
      ledger_->Execute(ReceiveStock("n2", "issuer:goods", "store:main", "SOAP", "1", "x")),
      Reason::kAssetUnknown);
  EXPECT_REASON(ledger_->Execute(Checkout("n3", "m1", "store:main", {{"OIL_5L", 1}}, "HOURS")),
                Reason::kExchangeRatioUnset);
  Ok(Checkout("n4", "m1", "store:main", {{"RICE_5KG", 2}}));  // no rice limit
  Ok(Checkout("n5", "m1", "store:main", {{"OIL_5L", 1}}));    // the oil limit was not used
  Ok(Refund("n6", sale.receipt.seq, {{"RICE_5KG", 1}}));      // the line was not refunded
  // The same group without the refused command goes through whole.
  group.pop_back();
  for (auto& command : group) command.set_request_id(command.request_id() + "-again");
  group[4] = Checkout("g5-again", "m2", "store:main", {{"SOAP", 1}});  // m2: 3 of 5 points
  group[5] = Refund("g6-again", sale.receipt.seq, {{"RICE_5KG", 1}});  // refunded above
  group.pop_back();
  for (const Outcome& outcome : ledger_->ExecuteMany(group, /*all_or_nothing=*/true)) {
    EXPECT_TRUE(outcome.ok()) << ReasonName(outcome.reason) << " " << outcome.message;
  }
  EXPECT_EQ(B("m2", "SOAP"), "1");
  const auto report = AuditDb(dir_.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
}

TEST_F(Supermarket, AHouseholdSharesItsLimitsAndAMemberWhoLeavesTakesOnlyTheirOwn) {
  Ok(Earn("e:m2more", "issuer:town", "m2", "200"));
  Ok(SetLimit("l1", "RICE_5KG", v1::PERIOD_MONTH, "2"));
  Ok(SetHousehold("h1", "hh:017", {"m1", "m2"}));
  Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 1}}));
  Ok(Checkout("c2", "m2", "store:main", {{"RICE_5KG", 1}}));
  const Outcome third = ledger_->Execute(Checkout("c3", "m1", "store:main", {{"RICE_5KG", 1}}));
  EXPECT_REASON(third, Reason::kLimitExceeded);
  EXPECT_NE(third.message.find("m1's household:hh:017 may take RICE_5KG at most 2"),
            std::string::npos)
      << third.message;
  EXPECT_NE(third.message.find("m1's household:hh:017 may take RICE_5KG at most 2"),
            std::string::npos)
      << third.message;
  // m2 leaves the household: from now on m2 counts alone, with the bag bought in the household
  // (a member's own count goes on in and out of households).
  Ok(SetHousehold("h2", "hh:017", {"m1"}));
  EXPECT_REASON(ledger_->Execute(Checkout("c4:2", "m2", "store:main", {{"RICE_5KG", 2}})),
                Reason::kLimitExceeded);
  Ok(Checkout("c4", "m2", "store:main", {{"RICE_5KG", 1}}));
  EXPECT_REASON(ledger_->Execute(Checkout("c5", "m1", "store:main", {{"RICE_5KG", 1}})),
                Reason::kLimitExceeded);  // the household's 2 of this month still count
  auto stored = DumpStore(dir_.path());
  EXPECT_EQ(stored.at("households").at("m1"), "hh:017");
  EXPECT_EQ(stored.at("households").at("m2"), "");
  EXPECT_REASON(ledger_->Execute(SetHousehold("h3", "hh:018", {"store:main"})),
                Reason::kAccountKindMismatch);
  EXPECT_REASON(ledger_->Execute(SetHousehold("h4", "hh:018", {"m1", "m1"})),
                Reason::kHouseholdInvalid);
  ledger_.reset();
  Open();  // households reload
  EXPECT_REASON(ledger_->Execute(Checkout("c6", "m1", "store:main", {{"RICE_5KG", 1}})),
                Reason::kLimitExceeded);
  const auto report = AuditDb(dir_.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
}

// Issue #22 item 8: joining a household lifted a member's cap (3 bags with a maximum of 2: the
// household's count started at 0). A limit holds for the member and for the household.
TEST_F(Supermarket, JoiningAHouseholdNeverLiftsWhatAMemberUsedAlone) {
  Ok(Earn("e:m2more", "issuer:town", "m2", "200"));
  Ok(SetLimit("l1", "RICE_5KG", v1::PERIOD_MONTH, "2"));
  Ok(Checkout("c1", "m1", "store:main", {{"RICE_5KG", 2}}));  // m1's two of the month, alone
  Ok(SetHousehold("h1", "hh:017", {"m1", "m2"}));
  const Outcome third = ledger_->Execute(Checkout("c2", "m1", "store:main", {{"RICE_5KG", 1}}));
  EXPECT_REASON(third, Reason::kLimitExceeded);
  EXPECT_NE(third.message.find("m1 may take RICE_5KG at most 2"), std::string::npos)
      << third.message;
  // The household's own count: m2's two bags fill it, and then neither member takes more.
  Ok(Checkout("c3", "m2", "store:main", {{"RICE_5KG", 2}}));
  const Outcome full = ledger_->Execute(Checkout("c4", "m2", "store:main", {{"RICE_5KG", 1}}));
  EXPECT_REASON(full, Reason::kLimitExceeded);
  EXPECT_NE(full.message.find("m2 may take RICE_5KG at most 2"), std::string::npos) << full.message;
  auto stored = DumpStore(dir_.path());
  const std::string month = std::string("\0RICE_5KG\0M2026-11-01", 21);
  EXPECT_EQ(stored.at("usage").at("m1" + month), "2");
  EXPECT_EQ(stored.at("usage").at("m2" + month), "2");
  EXPECT_EQ(stored.at("usage").at("household:hh:017" + month), "2");
  // A refund gives back to both counts.
  Ok(Refund("f1", ledger_->GetEntryByRequestId("tester", "c3")->seq, {{"RICE_5KG", 1}}));
  Ok(Checkout("c5", "m2", "store:main", {{"RICE_5KG", 1}}));
  const auto report = AuditDb(dir_.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
}

// Issue #22 item 8: request ids were global, so a member could squat a till's predictable id
// (till1-20261203-000777) and the till's sale was refused REQUEST_ID_REUSED. An id is its
// actor's own; exactly-once holds per actor, and the audit agrees.
TEST_F(Supermarket, ARequestIdIsItsActorsOwnSoNoOneCanSquatAnother) {
  const std::string id = "till1-20261203-000777";
  v1::Command squat = testing::Transfer(id, "m1", "m2", "1");
  squat.set_actor("m1");
  v1::Command sale = testing::Redeem(id, "m1", "store:main", "5");
  sale.set_actor("till1");
  const Outcome squatted = Ok(squat);
  const Outcome sold = Ok(sale);
  EXPECT_NE(sold.receipt.seq, squatted.receipt.seq);
  EXPECT_FALSE(sold.replayed);
  // Retries answer per actor; other content under an actor's own id is still refused.
  const Outcome retry = ledger_->Execute(sale);
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.receipt.seq, sold.receipt.seq);
  EXPECT_EQ(ledger_->Execute(squat).receipt.seq, squatted.receipt.seq);
  v1::Command other = testing::Redeem(id, "m1", "store:main", "6");
  other.set_actor("till1");
  EXPECT_REASON(ledger_->Execute(other), Reason::kRequestIdReused);
  EXPECT_EQ(B("m1", "POINTS"), "194.00");
  // A refusal remembered for one actor answers that actor only.
  v1::Command big = testing::Redeem("r-big", "m2", "store:main", "1000");
  big.set_actor("till1");
  EXPECT_REASON(ledger_->Execute(big), Reason::kInsufficientBalance);
  v1::Command mine = testing::Earn("r-big", "issuer:town", "m2", "1");
  mine.set_actor("issuer-app");
  Ok(mine);
  // Looked up by id, each actor finds its own entry.
  EXPECT_EQ(ledger_->GetEntryByRequestId("till1", id)->seq, sold.receipt.seq);
  EXPECT_EQ(ledger_->GetEntryByRequestId("m1", id)->seq, squatted.receipt.seq);
  EXPECT_EQ(ReasonOf(ledger_->GetEntryByRequestId("tester", id).status()), Reason::kEntryUnknown);
  ledger_.reset();
  Open();  // the ids reload per actor
  EXPECT_TRUE(ledger_->Execute(sale).replayed);
  v1::Command again = testing::Redeem(id, "m1", "store:main", "5");
  again.set_actor("till2");
  EXPECT_FALSE(Ok(again).replayed);
  const auto report = AuditDb(dir_.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
}

// ---------------------------------------------------------------------------------------------
// The rules on their own (ledger/rules/supermarket.h, moves.h): a decision context made of a few
// maps stands in for the engine, so each rule is entered and checked without a ledger.

class MapContext final : public rules::Context {
 public:
  std::uint64_t next_seq() const override { return 10; }
  std::int64_t entry_time() const override { return 0; }
  const AssetState* FindAsset(const std::string& code) const override { return Find(assets, code); }
  const AccountState* FindAccount(const std::string& id) const override {
    return Find(accounts, id);
  }
  BalanceState Balance(const std::string& account, const std::string& asset) const override {
    auto it = balances.find(account + "/" + asset);
    return it == balances.end() ? BalanceState{} : BalanceState{it->second, 1};
  }
  const v1::ItemRecord* FindItem(const std::string& store, const std::string& sku) const override {
    return Find(items, store + "/" + sku);
  }
  const v1::LimitRecord* FindLimit(const std::string& sku) const override {
    return Find(limits, sku);
  }
  bool HasLimits() const override { return !limits.empty(); }
  const std::string* FindHousehold(const std::string&) const override { return nullptr; }
  const std::string* FindCardOwner(const std::string&) const override { return nullptr; }
  const std::string* FindSetting(std::string_view) const override { return nullptr; }
  bool HasSettings() const override { return false; }
  rules::OrRefusal<Int128> Used(const std::string& key) override {
    if (unreadable) return rules::Refusal{Reason::kLedgerUnavailable, "disk gone"};
    auto it = used.find(key);
    return it == used.end() ? Int128(0) : it->second;
  }
  rules::OrRefusal<bool> IsReversed(const std::string&) override { return false; }

  template <class Map>
  static const typename Map::mapped_type* Find(const Map& map, const std::string& key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  }
  std::map<std::string, AssetState> assets;
  std::map<std::string, AccountState> accounts;
  std::map<std::string, Int128> balances;
  std::map<std::string, v1::ItemRecord> items;
  std::map<std::string, v1::LimitRecord> limits;
  std::map<std::string, Int128> used;
  bool unreadable = false;
};

TEST(SupermarketRules, ABasketIsPricedFromTheCatalogueUnderItsLimitsWithoutAnEngine) {
  MapContext context;
  context.assets["POINTS"] = {2, Int128(1000000000), {}};
  context.assets["RICE"].record.set_stock(true);
  context.assets["RICE"].maximum_minor = 1000;
  for (auto [id, kind] :
       {std::pair{"m1", v1::ACCOUNT_KIND_MEMBER}, std::pair{"shop", v1::ACCOUNT_KIND_STORE}}) {
    context.accounts[id].record.set_account(id);
    context.accounts[id].record.set_kind(kind);
  }
  v1::ItemRecord rice;
  rice.set_name("大米 5kg");
  rice.set_price_minor("3000");
  rice.set_active(true);
  context.items["shop/RICE"] = rice;
  google::protobuf::RepeatedPtrField<v1::BasketLine> lines;
  lines.Add()->set_sku("RICE");
  lines[0].set_quantity(2);
  auto priced = rules::PriceBasket("m1", "shop", lines, "POINTS", 0, context);
  ASSERT_TRUE(std::holds_alternative<rules::PricedBasket>(priced));
  EXPECT_EQ(std::get<rules::PricedBasket>(priced).total, 6000);
  v1::Checkout checkout;
  checkout.set_member("m1");
  checkout.set_store("shop");
  checkout.set_pay_asset("POINTS");
  *checkout.mutable_lines() = lines;
  // The member holds 50.00 POINTS: the floor refuses the 60.00 basket, goods checked first.
  context.balances["shop/RICE"] = 5;
  context.balances["m1/POINTS"] = 5000;
  auto refused = rules::CheckLimits(
      rules::CheckoutPostings(checkout, std::get<rules::PricedBasket>(priced)), context);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, Reason::kInsufficientBalance);
  EXPECT_EQ(refused->message, "m1 holds 50.00 POINTS; 60.00 would take it below 0.00");
  context.balances["shop/RICE"] = 1;
  EXPECT_EQ(rules::CheckLimits(
                rules::CheckoutPostings(checkout, std::get<rules::PricedBasket>(priced)), context)
                ->reason,
            Reason::kInsufficientStock);
  // A basket-value limit of 100.00 POINTS a month with 50.00 used: 60.00 more is refused, and a
  // store that cannot be read hands its failure back untouched.
  v1::LimitRecord limit;
  limit.set_period(v1::PERIOD_MONTH);
  limit.set_maximum_minor("10000");
  context.limits[""] = limit;
  context.used[UsageKey("m1", "", v1::PERIOD_MONTH, 0)] = 5000;
  auto limited = rules::PriceBasket("m1", "shop", lines, "POINTS", 0, context);
  ASSERT_TRUE(std::holds_alternative<rules::Refusal>(limited));
  EXPECT_EQ(std::get<rules::Refusal>(limited).reason, Reason::kLimitExceeded);
  context.unreadable = true;
  auto failed = rules::PriceBasket("m1", "shop", lines, "POINTS", 0, context);
  EXPECT_EQ(std::get<rules::Refusal>(failed).reason, Reason::kLedgerUnavailable);
  context.unreadable = false;
  context.items["shop/RICE"].set_active(false);
  EXPECT_EQ(std::get<rules::Refusal>(rules::PriceBasket("m1", "shop", lines, "POINTS", 0, context))
                .message,
            "RICE (大米 5kg) is not for sale");
  lines[0].set_sku("OIL");
  EXPECT_EQ(std::get<rules::Refusal>(rules::PriceBasket("m1", "shop", lines, "POINTS", 0, context))
                .reason,
            Reason::kItemUnknown);
}

}  // namespace
}  // namespace lovebank
