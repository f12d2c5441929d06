// Ledger behaviour against a real RocksDB: the write path, every refusal reason, exactly-once,
// reversals, queries and reopening. Each invariant of DESIGN.md is named where it is tested.

#include "ledger/ledger.h"

#include <atomic>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "ledger/ledger_impl.h"
#include "ledger/rules/authority.h"
#include "tests/test_util.h"

namespace lovebank {

class LedgerTestPeer {
 public:
  static Store& store(Ledger& ledger) { return *ledger.impl_->store; }
};

namespace {

using testing::Deduct;
using testing::DumpStore;
using testing::Earn;
using testing::Grant;
using testing::OpenLedger;
using testing::OpenProgramme;
using testing::Redeem;
using testing::Revoke;
using testing::TempDir;
using testing::Transfer;
using testing::WithoutRefusals;

std::string Balance(Ledger& ledger, const std::string& account,
                    const std::string& asset = "POINTS") {
  auto line = ledger.GetBalance(account, asset);
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? line->decimal : "?";
}

#define EXPECT_REASON(outcome, expected) \
  EXPECT_EQ(ReasonName((outcome).reason), ReasonName(expected)) << (outcome).message

TEST(Ledger, NewLedgerStartsWithTheDefaultAssetsAsJournalEntries) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->GetHead().seq, 2u);
  auto first = ledger->GetEntry(1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->entry.command().define_asset().code(), "HOURS");
  EXPECT_EQ(first->entry.command().define_asset().scale(), 2u);
  EXPECT_EQ(first->prev_hash, GenesisHash(ledger->ledger_id()));
  auto second = ledger->GetEntry(2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->entry.command().define_asset().code(), "POINTS");
  EXPECT_EQ(second->prev_hash, first->hash);
  EXPECT_EQ(ledger->GetHead().hash, second->hash);
}

TEST(Ledger, EarnRedeemTransferMoveExactAmountsWithChineseText) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  auto earn = Earn("earn:1", "issuer:town", "m1", "3000");
  earn.set_memo("考上大学，当年一次性奖励积分3000分");
  const Outcome earned = ledger->Execute(earn);
  ASSERT_TRUE(earned.ok()) << earned.message;
  ASSERT_EQ(earned.receipt.balances_after.size(), 2u);
  EXPECT_EQ(earned.receipt.balances_after[0].account, "issuer:town");
  EXPECT_EQ(earned.receipt.balances_after[0].decimal, "-3000.00");
  EXPECT_EQ(earned.receipt.balances_after[1].decimal, "3000.00");
  EXPECT_EQ(ledger->GetHead().seq, earned.receipt.seq);
  EXPECT_EQ(ledger->GetHead().hash, earned.receipt.hash);

  auto redeem = Redeem("redeem:1", "m1", "store:main", "90.50");
  redeem.set_memo("大米 5kg ×3，食用油 0.5");
  ASSERT_TRUE(ledger->Execute(redeem).ok());
  ASSERT_TRUE(ledger->Execute(Transfer("give:1", "m1", "m2", "0.01")).ok());
  EXPECT_EQ(Balance(*ledger, "m1"), "2909.49");
  EXPECT_EQ(Balance(*ledger, "m2"), "0.01");
  EXPECT_EQ(Balance(*ledger, "store:main"), "90.50");
  EXPECT_EQ(Balance(*ledger, "issuer:town"), "-3000.00");
  EXPECT_EQ(Balance(*ledger, "m1", "HOURS"), "0.00");

  auto account = ledger->GetAccount("store:main");
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->display_name(), "爱心超市");
  auto page = ledger->ListEntries("m1", 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 4u);  // transfer, redeem, earn, account opened
  EXPECT_EQ(page->items[1].command.memo(), "大米 5kg ×3，食用油 0.5");
  EXPECT_EQ(page->items[2].command.memo(), "考上大学，当年一次性奖励积分3000分");
  ASSERT_EQ(page->items[1].legs.size(), 1u);
  EXPECT_EQ(page->items[1].legs[0].amount, "-90.50");
  EXPECT_EQ(page->items[1].legs[0].balance_after, "2909.50");
  EXPECT_TRUE(page->items[3].command.has_open_account());
  EXPECT_TRUE(page->items[3].legs.empty());
}

TEST(Ledger, PostingsSumToZeroPerAssetInEveryEntry) {  // invariant 1
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  ASSERT_TRUE(ledger->Execute(Earn("e1", "issuer:town", "m1", "12.34", "HOURS")).ok());
  ASSERT_TRUE(ledger->Execute(Transfer("t1", "m1", "m2", "2.34", "HOURS")).ok());
  const Outcome reversal = ledger->Execute(testing::Reverse("r1", ledger->GetHead().seq));
  ASSERT_TRUE(reversal.ok()) << reversal.message;
  for (std::uint64_t seq = 1; seq <= ledger->GetHead().seq; ++seq) {
    auto stored = ledger->GetEntry(seq);
    ASSERT_TRUE(stored.ok());
    std::map<std::string, Int128> sums;
    for (const auto& posting : stored->entry.postings()) {
      sums[posting.asset()] += *MinorFromString(posting.amount_minor());
    }
    for (const auto& [asset, sum] : sums) EXPECT_EQ(sum, 0) << "seq " << seq << " " << asset;
  }
}

// ---------------------------------------------------------------------------------------------
// Every refusal reason: the reason is specific, and journal, balances and indexes are unchanged
// (invariant 7). State refusals are remembered for their request id; a retry gets the same.

struct RefusalCase {
  std::string name;
  Reason reason;
  std::function<v1::Command()> make;
};

v1::Command WithMemo(v1::Command command, std::string memo) {
  command.set_memo(std::move(memo));
  return command;
}

std::vector<RefusalCase> RefusalCases() {
  using testing::Open;
  using testing::Reverse;
  using testing::SetStatus;
  auto define = [](const std::string& code, std::uint32_t scale, const std::string& maximum,
                   const std::string& name) {
    v1::Command command;
    command.set_request_id("define:" + code + ":" + std::to_string(scale) + maximum);
    command.set_actor("tester");
    auto* define_asset = command.mutable_define_asset();
    define_asset->set_code(code);
    define_asset->set_scale(scale);
    define_asset->set_maximum(maximum);
    define_asset->set_display_name(name);
    return command;
  };
  auto amount = [](const std::string& id, const std::string& text) {
    return Earn(id, "issuer:town", "m1", text);
  };
  auto stars = testing::SetStarLevels;
  return {
      {"no star thresholds", Reason::kStarLevelsInvalid, [stars] { return stars("s1", {}); }},
      {"eleven star thresholds", Reason::kStarLevelsInvalid,
       [stars] {
         return stars("s2", {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"});
       }},
      {"star thresholds not ascending", Reason::kStarLevelsInvalid,
       [stars] {
         return stars("s3", {"100", "300", "300"});
       }},
      {"a zero star threshold", Reason::kStarLevelsInvalid,
       [stars] {
         return stars("s4", {"0", "300"});
       }},
      {"a star threshold with three decimals", Reason::kAmountTooManyDecimals,
       [stars] { return stars("s5", {"100.005"}); }},
      {"request id empty", Reason::kRequestIdInvalid,
       [] { return Earn("", "issuer:town", "m1", "1"); }},
      {"request id with space", Reason::kRequestIdInvalid,
       [] { return Earn("a b", "issuer:town", "m1", "1"); }},
      {"actor empty", Reason::kActorInvalid,
       [] {
         auto c = Earn("x1", "issuer:town", "m1", "1");
         c.set_actor("");
         return c;
       }},
      {"memo too long", Reason::kMemoInvalid,
       [] { return WithMemo(Earn("x2", "issuer:town", "m1", "1"), std::string(513, 'a')); }},
      {"memo 171 Chinese characters (513 bytes)", Reason::kMemoInvalid,
       [] {
         std::string memo;
         for (int i = 0; i < 171; ++i) memo += "爱";
         return WithMemo(Earn("x3", "issuer:town", "m1", "1"), memo + "a");
       }},
      {"memo invalid UTF-8", Reason::kMemoInvalid,
       [] { return WithMemo(Earn("x4", "issuer:town", "m1", "1"), "\xE6\xB2"); }},
      {"no body", Reason::kCommandMissing,
       [] {
         v1::Command c;
         c.set_request_id("x5");
         c.set_actor("tester");
         return c;
       }},
      {"account id Chinese", Reason::kAccountIdInvalid,
       [] { return Transfer("x6", "m1", "韦蕊", "1"); }},
      {"account id too long", Reason::kAccountIdInvalid,
       [] { return Transfer("x7", "m1", std::string(65, 'm'), "1"); }},
      {"asset code lower case", Reason::kAssetCodeInvalid,
       [] { return Earn("x8", "issuer:town", "m1", "1", "points"); }},
      {"display name empty", Reason::kDisplayNameInvalid,
       [] { return Open("x9", "m9", v1::ACCOUNT_KIND_MEMBER, ""); }},
      {"display name 129 bytes", Reason::kDisplayNameInvalid,
       [] { return Open("x10", "m9", v1::ACCOUNT_KIND_MEMBER, std::string(129, 'n')); }},
      {"display name with newline", Reason::kDisplayNameInvalid,
       [] { return Open("x11", "m9", v1::ACCOUNT_KIND_MEMBER, "韦\n蕊"); }},
      {"kind unspecified", Reason::kAccountKindInvalid,
       [] { return Open("x12", "m9", v1::ACCOUNT_KIND_UNSPECIFIED, "x"); }},
      {"kind out of range", Reason::kAccountKindInvalid,
       [] { return Open("x13", "m9", static_cast<v1::AccountKind>(99), "x"); }},
      {"status unspecified", Reason::kAccountStatusInvalid,
       [] { return SetStatus("x14", "m1", v1::ACCOUNT_STATUS_UNSPECIFIED); }},
      {"scale 19", Reason::kScaleInvalid, [=] { return define("STARS", 19, "1", "星"); }},
      {"same account", Reason::kSameAccount, [] { return Transfer("x15", "m1", "m1", "1"); }},
      {"budget on a member", Reason::kBudgetInvalid,
       [] {
         auto c = Open("x16", "m9", v1::ACCOUNT_KIND_MEMBER, "x");
         auto* budget = c.mutable_open_account()->add_budgets();
         budget->set_asset("POINTS");
         budget->set_amount("1");
         return c;
       }},
      {"amount empty", Reason::kAmountEmpty, [=] { return amount("a1", ""); }},
      {"amount sign", Reason::kAmountSign, [=] { return amount("a2", "-5"); }},
      {"amount whitespace", Reason::kAmountWhitespace, [=] { return amount("a3", "5 "); }},
      {"amount exponent", Reason::kAmountExponent, [=] { return amount("a4", "5e2"); }},
      {"amount full-width", Reason::kAmountNonAsciiDigit, [=] { return amount("a5", "５"); }},
      {"amount junk", Reason::kAmountInvalidCharacter, [=] { return amount("a6", "5元"); }},
      {"amount .5", Reason::kAmountMissingIntegerDigits, [=] { return amount("a7", ".5"); }},
      {"amount 1.", Reason::kAmountMissingFractionDigits, [=] { return amount("a8", "1."); }},
      {"amount 05", Reason::kAmountLeadingZero, [=] { return amount("a9", "05"); }},
      {"amount 1.005", Reason::kAmountTooManyDecimals, [=] { return amount("a10", "1.005"); }},
      {"amount past maximum", Reason::kAmountAboveMaximum,
       [=] { return amount("a11", "1000000000000000"); }},
      {"amount zero", Reason::kAmountZero, [=] { return amount("a12", "0.00"); }},
      {"request id of the engine's", Reason::kRequestIdReserved,
       [] { return Transfer("lovebank:release:1", "m1", "m2", "1"); }},
      {"request id reused", Reason::kRequestIdReused,
       [] { return Earn("setup:earn", "issuer:town", "m1", "101"); }},
      {"asset unknown", Reason::kAssetUnknown,
       [] { return Earn("s1", "issuer:town", "m1", "1", "STARS"); }},
      {"account unknown", Reason::kAccountUnknown,
       [] { return Earn("s2", "issuer:town", "nobody", "1"); }},
      {"entry unknown", Reason::kEntryUnknown, [] { return Reverse("s3", 9999); }},
      {"entry zero", Reason::kEntryUnknown, [] { return Reverse("s3b", 0); }},
      {"account exists", Reason::kAccountExists,
       [] { return Open("s4", "m1", v1::ACCOUNT_KIND_MEMBER, "重复"); }},
      {"a card number in lower case", Reason::kAccountCardInvalid,
       [] { return testing::SetContact("s4c", "m1", "c0001"); }},
      {"a phone of letters", Reason::kAccountPhoneInvalid,
       [] { return testing::SetContact("s4p", "m1", "", "phone"); }},
      {"a device PIN's wrapped key without its nonce", Reason::kDevicePinInvalid,
       [] {
         v1::Command command;
         command.set_request_id("s4pin");
         command.set_actor("admin");
         command.mutable_set_device_pin()->set_principal("m1.phone");
         command.mutable_set_device_pin()->set_pin_key_wrapped(std::string(32, 'w'));
         return command;
       }},
      {"a card another holds", Reason::kAccountCardTaken,
       [] { return testing::SetContact("s4t", "m1", "C0003"); }},
      {"an account opened with a card another holds", Reason::kAccountCardTaken,
       [] {
         v1::Command open = Open("s4o", "m9", v1::ACCOUNT_KIND_MEMBER, "新");
         open.mutable_open_account()->set_card_number("C0003");
         return open;
       }},
      {"asset exists", Reason::kAssetExists, [=] { return define("POINTS", 2, "10", "积分"); }},
      {"earn from a store", Reason::kAccountKindMismatch,
       [] { return Earn("s5", "store:main", "m1", "1"); }},
      {"redeem to a member", Reason::kAccountKindMismatch,
       [] { return Redeem("s6", "m1", "m3", "1"); }},
      {"transfer to a frozen account", Reason::kAccountFrozen,
       [] { return Transfer("s7", "m1", "m2", "1"); }},
      {"reverse an administrative entry", Reason::kEntryNotReversible,
       [] { return Reverse("s8", 1); }},
      {"reverse a reversal", Reason::kEntryNotReversible,
       [] { return Reverse("s9", 0); }},  // seq filled in by the test: the setup reversal
      {"reverse twice", Reason::kEntryAlreadyReversed,
       [] { return Reverse("s10", 0); }},  // seq filled in: the reversed setup entry
      {"freeze a frozen account", Reason::kAccountStatusUnchanged,
       [] { return SetStatus("s11", "m2", v1::ACCOUNT_STATUS_FROZEN); }},
      {"spend more than held", Reason::kInsufficientBalance,
       [] { return Redeem("s12", "m1", "store:main", "100.01"); }},
      {"earn past the issuer budget", Reason::kBudgetExceeded,
       [] { return Earn("s13", "issuer:town", "m3", "999900.01"); }},
      {"a budget below what the issuer issued", Reason::kBudgetBelowIssued,
       [] { return testing::SetBudget("s13b", "issuer:town", "POINTS", "0"); }},
      {"a setting written onto a record it did not read", Reason::kSettingChanged,
       [] {
         v1::Command c;
         c.set_request_id("s13c");
         c.set_actor("tester");
         c.mutable_set_setting()->mutable_value()->mutable_programme_profile()->set_name("镇");
         c.mutable_set_setting()->set_if_seq(5);  // never set: its record is seq 0
         return c;
       }},
      {"balance past the asset maximum", Reason::kBalanceAboveMaximum,
       [] { return Earn("s14", "issuer:tiny2", "m3", "5", "TINY"); }},
      {"activity without a name", Reason::kActivityInvalid,
       [] {
         auto c = Earn("t1", "issuer:town", "m1", "2", "HOURS");
         c.mutable_earn()->mutable_activity()->set_date("2026-11-01");
         return c;
       }},
      {"activity on 2026-02-29", Reason::kActivityInvalid,
       [] {
         auto c = Earn("t2", "issuer:town", "m1", "2", "HOURS");
         c.mutable_earn()->mutable_activity()->set_name("敬老院探访");
         c.mutable_earn()->mutable_activity()->set_date("2026-02-29");
         return c;
       }},
      {"reason of 257 bytes", Reason::kMoveReasonInvalid,
       [] {
         auto c = Deduct("t3", "m1", "issuer:town", "1");
         c.mutable_deduct()->set_reason(std::string(257, 'r'));
         return c;
       }},
      {"principal name with a space", Reason::kPrincipalInvalid,
       [] { return Grant("t4", "bad name", v1::ROLE_AUDITOR, {}, 'a'); }},
      {"role unspecified", Reason::kRoleInvalid,
       [] { return Grant("t5", "p5", v1::ROLE_UNSPECIFIED, {}, 'a'); }},
      {"terminal with two stores", Reason::kRoleAccountsInvalid,
       [] {
         return Grant("t6", "p6", v1::ROLE_TERMINAL, {"store:main", "store:b"}, 'a');
       }},
      {"auditor bound to an account", Reason::kRoleAccountsInvalid,
       [] { return Grant("t7", "p7", v1::ROLE_AUDITOR, {"m1"}, 'a'); }},
      {"token hash of 31 bytes", Reason::kTokenHashInvalid,
       [] {
         auto c = Grant("t8", "p8", v1::ROLE_AUDITOR, {}, 'a');
         c.mutable_grant_principal()->mutable_token_sha256()->pop_back();
         return c;
       }},
      {"revoke an unknown principal", Reason::kPrincipalUnknown,
       [] { return Revoke("t9", "nobody"); }},
      {"grant an existing name", Reason::kPrincipalExists,
       [] { return Grant("t10", "p:existing", v1::ROLE_AUDITOR, {}, 'z'); }},
      {"grant a revoked name", Reason::kPrincipalExists,
       [] { return Grant("t11", "p:revoked", v1::ROLE_AUDITOR, {}, 'z'); }},
      {"grant a token another principal holds", Reason::kTokenHashExists,
       [] { return Grant("t12", "p12", v1::ROLE_AUDITOR, {}, 'e'); }},
      {"terminal bound to a member", Reason::kAccountKindMismatch,
       [] { return Grant("t13", "p13", v1::ROLE_TERMINAL, {"m1"}, 'b'); }},
      {"member bound to an unknown account", Reason::kAccountUnknown,
       [] { return Grant("t14", "p14", v1::ROLE_MEMBER, {"nobody"}, 'b'); }},
      {"revoke twice", Reason::kPrincipalRevoked, [] { return Revoke("t15", "p:revoked"); }},
      // Witnesses and the signing key (issue #27; the rest in tests/ledger/witness_test.cc).
      {"co-signature of tree size 0", Reason::kCosignatureInvalid,
       [] {
         v1::Command c;
         c.set_request_id("t16");
         c.set_actor("tester");
         v1::CosignHead* cosign = c.mutable_cosign_head();
         cosign->set_root(std::string(32, 'r'));
         cosign->set_witness_key(std::string(32, 'k'));
         cosign->set_signature(std::string(64, 's'));
         return c;
       }},
      {"co-signature that does not verify", Reason::kCosignatureInvalid,
       [] {
         v1::Command c;
         c.set_request_id("t17");
         c.set_actor("tester");
         v1::CosignHead* cosign = c.mutable_cosign_head();
         cosign->set_tree_size(1);
         cosign->set_root(std::string(32, 'r'));
         cosign->set_witness_key(std::string(32, 'k'));
         cosign->set_signature(std::string(64, 's'));
         return c;
       }},
      {"signing key change its old key did not endorse", Reason::kSigningKeyChangeInvalid,
       [] {
         v1::Command c;
         c.set_request_id("t18");
         c.set_actor("lovebankd");
         v1::SigningKeyChange* change =
             c.mutable_set_setting()->mutable_value()->mutable_signing_key();
         change->set_old_key(std::string(32, 'o'));
         change->set_new_key(std::string(32, 'n'));
         change->set_endorsement(std::string(64, 'e'));
         change->set_acceptance(std::string(64, 'a'));
         return c;
       }},
  };
}

class RefusalTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  // m1 holds 100 POINTS, m2 is frozen, m3 holds 6 TINY (maximum 10) from issuer:tiny and card
  // C0003, and
  // issuer:tiny2 has TINY budget left; issuer:town has 999,900 of its 1,000,000 POINTS budget
  // left; entry `reversed_seq_` was reversed by `reversal_seq_`.
  void SetUp() override {
    ledger_ = OpenLedger(dir_.path());
    OpenProgramme(*ledger_, 3);
    v1::Command tiny;
    tiny.set_request_id("setup:tiny");
    tiny.set_actor("tester");
    auto* define = tiny.mutable_define_asset();
    define->set_code("TINY");
    define->set_scale(0);
    define->set_maximum("10");
    define->set_display_name("小");
    ASSERT_TRUE(ledger_->Execute(tiny).ok());
    auto issuer = testing::Open("setup:tiny-issuer", "issuer:tiny", v1::ACCOUNT_KIND_ISSUER, "小");
    auto* budget = issuer.mutable_open_account()->add_budgets();
    budget->set_asset("TINY");
    budget->set_amount("10");
    ASSERT_TRUE(ledger_->Execute(issuer).ok());
    issuer.set_request_id("setup:tiny-issuer2");
    issuer.mutable_open_account()->set_account("issuer:tiny2");
    ASSERT_TRUE(ledger_->Execute(issuer).ok());
    ASSERT_TRUE(ledger_->Execute(Earn("setup:tiny-earn", "issuer:tiny", "m3", "6", "TINY")).ok());
    ASSERT_TRUE(ledger_->Execute(Earn("setup:earn", "issuer:town", "m1", "100")).ok());
    ASSERT_TRUE(ledger_->Execute(testing::SetContact("setup:card", "m3", "C0003")).ok());
    ASSERT_TRUE(ledger_->Execute(Earn("setup:earn2", "issuer:town", "m3", "100")).ok());
    reversed_seq_ = ledger_->GetHead().seq;
    const Outcome reversal = ledger_->Execute(testing::Reverse("setup:reverse", reversed_seq_));
    ASSERT_TRUE(reversal.ok()) << reversal.message;
    reversal_seq_ = reversal.receipt.seq;
    ASSERT_TRUE(
        ledger_->Execute(testing::SetStatus("setup:freeze", "m2", v1::ACCOUNT_STATUS_FROZEN)).ok());
    ASSERT_TRUE(
        ledger_->Execute(testing::Grant("setup:p1", "p:existing", v1::ROLE_ADMIN, {}, 'e')).ok());
    ASSERT_TRUE(
        ledger_->Execute(testing::Grant("setup:p2", "p:revoked", v1::ROLE_AUDITOR, {}, 'r')).ok());
    ASSERT_TRUE(ledger_->Execute(testing::Revoke("setup:p3", "p:revoked")).ok());
  }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  std::uint64_t reversed_seq_ = 0;
  std::uint64_t reversal_seq_ = 0;
};

TEST_P(RefusalTest, RefusesWithItsReasonAndChangesNothing) {
  const RefusalCase c = RefusalCases()[GetParam()];
  SCOPED_TRACE(c.name);
  v1::Command command = c.make();
  if (c.name == "reverse a reversal") command.mutable_reverse()->set_seq(reversal_seq_);
  if (c.name == "reverse twice") command.mutable_reverse()->set_seq(reversed_seq_);

  const Head head = ledger_->GetHead();
  const auto before = DumpStore(dir_.path());
  const Outcome outcome = ledger_->Execute(command);
  EXPECT_REASON(outcome, c.reason);
  EXPECT_FALSE(outcome.message.empty());
  EXPECT_FALSE(outcome.replayed);
  const auto after = DumpStore(dir_.path());
  EXPECT_EQ(WithoutRefusals(after), WithoutRefusals(before));
  EXPECT_EQ(ledger_->GetHead().seq, head.seq);
  EXPECT_EQ(ledger_->GetHead().hash, head.hash);

  const auto& refusals_after = after.at("refusals");
  const std::string key = RequestKey(command.actor(), command.request_id());
  const bool remembered = refusals_after.contains(key) && !before.at("refusals").contains(key);
  EXPECT_EQ(remembered, IsRememberedReason(c.reason));
  if (IsRememberedReason(c.reason)) {
    EXPECT_EQ(outcome.decided_at_seq, head.seq);
  }

  // A retry gets the same refusal; a remembered one says it is a replay.
  const Outcome retry = ledger_->Execute(command);
  EXPECT_REASON(retry, c.reason);
  EXPECT_EQ(retry.replayed, IsRememberedReason(c.reason));
  EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), WithoutRefusals(before));
}

INSTANTIATE_TEST_SUITE_P(AllReasons, RefusalTest,
                         ::testing::Range<std::size_t>(0, RefusalCases().size()));

TEST(RefusalCoverage, EveryCommandReasonHasARefusalCase) {
  std::set<Reason> covered;
  for (const auto& c : RefusalCases()) covered.insert(c.reason);
  // Reasons that commands cannot produce in the table above, each tested elsewhere:
  // busy/unavailable/read-only (QueueFull, StorageFaultTest, ReadOnly), cursor/page/as-of
  // (queries).
  const std::set<Reason> elsewhere = {
      Reason::kOk, Reason::kLedgerBusy, Reason::kLedgerUnavailable, Reason::kLedgerReadOnly,
      // lovebankd's start-up check (ServiceTest.AStateForged...):
      Reason::kLedgerUnverified, Reason::kCursorInvalid, Reason::kPageSizeInvalid,
      Reason::kSeqBeyondHead,
      // Service rules and access (tests/service/service_test.cc):
      Reason::kActivityMissing, Reason::kMoveReasonMissing, Reason::kBatchSizeInvalid,
      Reason::kEntryTargetInvalid, Reason::kBatchAborted, Reason::kTokenMissing,
      Reason::kTokenUnknown, Reason::kPermissionDenied,
      // The love supermarket (tests/ledger/supermarket_test.cc):
      Reason::kBasketInvalid, Reason::kPayAssetInvalid, Reason::kItemUnitInvalid,
      Reason::kItemUnknown, Reason::kItemInactive, Reason::kAssetNotStock, Reason::kAssetIsStock,
      Reason::kInsufficientStock, Reason::kRefundInvalid, Reason::kLineAlreadyRefunded,
      Reason::kExchangeRatioUnset, Reason::kPeriodInvalid, Reason::kLimitExceeded,
      Reason::kHouseholdInvalid, Reason::kHoldCommandInvalid, Reason::kHoldUnknown,
      Reason::kHoldClosed,
      // Programme rules (tests/ledger/programme_test.cc):
      Reason::kTagsInvalid, Reason::kFamilyInvalid, Reason::kAwardRuleInvalid,
      Reason::kTransferPolicyInvalid, Reason::kPendingCommandInvalid, Reason::kTransferNotAllowed,
      Reason::kNotFamily, Reason::kAwardRuleUnknown, Reason::kAwardRuleInactive,
      Reason::kNotEligible, Reason::kAwardFrequencyExceeded, Reason::kPendingUnknown,
      Reason::kPendingClosed, Reason::kMakerCannotApprove,
      // Settings (tests/ledger/settings_test.cc):
      Reason::kSettingInvalid,
      // HTTP/JSON (tests/service/http_test.cc):
      Reason::kHttpBodyInvalid, Reason::kHttpBodyTooLarge, Reason::kHttpRouteUnknown,
      // Operations (tests/service/service_test.cc, the backup and Verify tests):
      Reason::kBackupPathInvalid, Reason::kBackupExists, Reason::kDigestInvalid,
      // Transport (tests/service/http_test.cc, ACallThatGrpcItselfFailsIsNamedRpcFailed):
      Reason::kRpcFailed,
      // Live updates (tests/service/service_test.cc, WatchEntries*; http_test.cc, streams):
      Reason::kWatchersFull, Reason::kHttpStreamsFull,
      // Members' devices (tests/service/service_test.cc, Activation*):
      Reason::kActivationCodeUnknown, Reason::kActivationClosed,
      // Payment codes (tests/service/service_test.cc, PaymentCode*):
      Reason::kPaymentCodeRequired, Reason::kPaymentCodeInvalid,
      // A device's PIN (tests/service/service_test.cc, ADevicePin*):
      Reason::kPaymentCodeLocked,
      // The monthly notice and the certificate (tests/service/service_test.cc, *Notice*,
      // *Certificate*):
      Reason::kMonthInvalid, Reason::kAuditUnclean, Reason::kDateRangeInvalid,
      Reason::kCertificateTooLarge,
      // Importing a file (tests/service/service_test.cc, *Import*):
      Reason::kImportFileInvalid, Reason::kImportTooLarge,
      // Services (tests/ledger/services_test.cc):
      Reason::kServiceUnknown, Reason::kServiceClosed, Reason::kServiceOverHeld,
      Reason::kServiceCategoryUnknown, Reason::kServiceNotAllowed, Reason::kServiceInvalid,
      // Proofs (tests/ledger/tree_test.cc, SizesOutsideTheLedger*):
      Reason::kTreeSizeInvalid,
      // A head 262,144 entries behind (tests/ledger/witness_test.cc, AHeadTooFarBehindIsStale).
      Reason::kCosignHeadStale,
      // An award for a month out of range (tests/ledger/programme_test.cc,
      // AnAwardForAnEarlierMonthCountsInThatMonthsPeriod: by syntax and by the entry's month).
      Reason::kAwardMonthInvalid};
  for (std::uint32_t value = 0; value < kReasonValueEnd; ++value) {
    const auto reason = static_cast<Reason>(value);
    if (ReasonName(reason) == "UNKNOWN_REASON" || elsewhere.contains(reason)) continue;
    EXPECT_TRUE(covered.contains(reason)) << ReasonName(reason) << " has no refusal case";
  }
}

// ---------------------------------------------------------------------------------------------
// Exactly once (invariant 5).

TEST(ExactlyOnce, RetryWithSameContentReturnsTheOriginalReceiptAndAppliesNothing) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 1);
  const auto command = Earn("checkout-7f3a", "issuer:town", "m1", "500");
  const Outcome first = ledger->Execute(command);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first.replayed);
  const auto before = DumpStore(dir.path());
  const Outcome retry = ledger->Execute(command);
  ASSERT_TRUE(retry.ok()) << retry.message;
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.receipt.seq, first.receipt.seq);
  EXPECT_EQ(retry.receipt.hash, first.receipt.hash);
  EXPECT_EQ(retry.receipt.time_unix_us, first.receipt.time_unix_us);
  ASSERT_EQ(retry.receipt.balances_after.size(), first.receipt.balances_after.size());
  for (std::size_t i = 0; i < retry.receipt.balances_after.size(); ++i) {
    EXPECT_EQ(retry.receipt.balances_after[i].decimal, first.receipt.balances_after[i].decimal);
  }
  EXPECT_EQ(DumpStore(dir.path()), before);
  EXPECT_EQ(Balance(*ledger, "m1"), "500.00");
}

TEST(ExactlyOnce, EveryRequestIdIsRecognisedAfterAReopen) {
  // The sequencer asks an in-memory filter of request ids before the store; a reopen must load
  // every recorded id into it (more than its first filter holds), accepted and refused alike.
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  std::vector<v1::Command> earns;
  for (int i = 0; i < 3000; ++i) {
    earns.push_back(WithMemo(Earn("earn-" + std::to_string(i), "issuer:town", "m1", "1"), "爱心"));
  }
  auto execute_all = [&earns](Ledger& on) {  // in parts within the queue's capacity
    std::vector<Outcome> outcomes;
    for (std::size_t at = 0; at < earns.size(); at += 500) {
      for (auto& outcome : on.ExecuteMany({earns.begin() + at, earns.begin() + at + 500})) {
        outcomes.push_back(std::move(outcome));
      }
    }
    return outcomes;
  };
  for (const auto& outcome : execute_all(*ledger)) ASSERT_TRUE(outcome.ok()) << outcome.message;
  const auto overdraw = Transfer("overdraw", "m2", "m1", "5");
  EXPECT_REASON(ledger->Execute(overdraw), Reason::kInsufficientBalance);
  ledger.reset();
  ledger = OpenLedger(dir.path());
  const auto before = DumpStore(dir.path());
  for (const auto& outcome : execute_all(*ledger)) {
    ASSERT_TRUE(outcome.ok() && outcome.replayed) << outcome.message;
  }
  const Outcome refusal = ledger->Execute(overdraw);
  EXPECT_REASON(refusal, Reason::kInsufficientBalance);
  EXPECT_TRUE(refusal.replayed);
  EXPECT_REASON(ledger->Execute(Earn("earn-2999", "issuer:town", "m2", "1")),
                Reason::kRequestIdReused);
  EXPECT_EQ(DumpStore(dir.path()), before);
  EXPECT_EQ(Balance(*ledger, "m1"), "3000.00");
}

TEST(ExactlyOnce, SameIdOtherContentIsRefusedAndChangesNothing) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  ASSERT_TRUE(ledger->Execute(Earn("r1", "issuer:town", "m1", "500")).ok());
  const auto before = DumpStore(dir.path());
  for (const auto& other :
       {Earn("r1", "issuer:town", "m1", "501"), Earn("r1", "issuer:town", "m2", "500"),
        Earn("r1", "issuer:town", "m1", "500.00"),
        WithMemo(Earn("r1", "issuer:town", "m1", "500"), "不同"),
        Transfer("r1", "m1", "m2", "500")}) {
    EXPECT_REASON(ledger->Execute(other), Reason::kRequestIdReused);
  }
  EXPECT_EQ(DumpStore(dir.path()), before);
}

// #23 item 4: an all-or-nothing group above the configured batch_size_max CHECK-aborted the
// process (a client's SubmitBatch could reach it); it is refused whole instead.
TEST(ExactlyOnce, AnAllOrNothingGroupAboveTheBatchLimitIsRefusedWholeNotACrash) {
  TempDir dir;
  LedgerOptions options;
  options.path = dir.path();
  options.batch_size_max = 4;
  auto opened = Ledger::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Ledger> ledger = std::move(*opened);
  EXPECT_EQ(ledger->batch_size_max(), 4u);
  OpenProgramme(*ledger, 1);
  const std::uint64_t head = ledger->GetHead().seq;
  std::vector<v1::Command> group;
  for (int i = 0; i < 5; ++i) group.push_back(Earn(Cat("big-", i), "issuer:town", "m1", "1"));
  for (const Outcome& outcome : ledger->ExecuteMany(group, /*all_or_nothing=*/true)) {
    EXPECT_REASON(outcome, Reason::kBatchSizeInvalid);
  }
  EXPECT_EQ(ledger->GetHead().seq, head);
  group.pop_back();
  for (const Outcome& outcome : ledger->ExecuteMany(group, /*all_or_nothing=*/true)) {
    EXPECT_TRUE(outcome.ok()) << outcome.message;
  }
  EXPECT_EQ(Balance(*ledger, "m1"), "4.00");
}

TEST(ExactlyOnce, DuplicatesInsideOneGroupCommitApplyOnce) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 1);
  const auto outcomes = ledger->ExecuteMany({Earn("d1", "issuer:town", "m1", "10"),
                                             Earn("d1", "issuer:town", "m1", "10"),
                                             Earn("d1", "issuer:town", "m1", "11")});
  ASSERT_TRUE(outcomes[0].ok());
  ASSERT_TRUE(outcomes[1].ok());
  EXPECT_TRUE(outcomes[1].replayed);
  EXPECT_EQ(outcomes[1].receipt.seq, outcomes[0].receipt.seq);
  EXPECT_REASON(outcomes[2], Reason::kRequestIdReused);
  EXPECT_EQ(Balance(*ledger, "m1"), "10.00");
}

TEST(ExactlyOnce, ARememberedRefusalNeverFlipsEvenAfterTheStateChanges) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 1);
  const auto spend = Redeem("pay-1", "m1", "store:main", "30");
  EXPECT_REASON(ledger->Execute(spend), Reason::kInsufficientBalance);
  ASSERT_TRUE(ledger->Execute(Earn("top-up", "issuer:town", "m1", "100")).ok());
  const Outcome retry = ledger->Execute(spend);
  EXPECT_REASON(retry, Reason::kInsufficientBalance);
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(Balance(*ledger, "m1"), "100.00");
  // ... also across a reopen: the refusal is durable.
  ledger.reset();
  ledger = OpenLedger(dir.path());
  EXPECT_REASON(ledger->Execute(spend), Reason::kInsufficientBalance);
  EXPECT_REASON(ledger->Execute(Redeem("pay-1", "m1", "store:main", "20")),
                Reason::kRequestIdReused);
  EXPECT_EQ(Balance(*ledger, "m1"), "100.00");
}

// ---------------------------------------------------------------------------------------------
// Reversal (invariant 2: corrections are new entries; an entry is reversed once).

TEST(Reversal, UndoesOnceAndOnlyOnce) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 1);
  const Outcome sale = ledger->Execute(Earn("e", "issuer:town", "m1", "100")),
                redeem = ledger->Execute(Redeem("buy", "m1", "store:main", "30"));
  ASSERT_TRUE(sale.ok() && redeem.ok());
  const Outcome refund = ledger->Execute(testing::Reverse("refund-1", redeem.receipt.seq));
  ASSERT_TRUE(refund.ok()) << refund.message;
  EXPECT_EQ(Balance(*ledger, "m1"), "100.00");
  EXPECT_EQ(Balance(*ledger, "store:main"), "0.00");
  auto entry = ledger->GetEntry(refund.receipt.seq);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->entry.command().reverse().seq(), redeem.receipt.seq);
  ASSERT_EQ(entry->entry.postings_size(), 2);
  // The original postings negated, in the same order: the member gets back, the store gives.
  EXPECT_EQ(entry->entry.postings(0).account(), "m1");
  EXPECT_EQ(entry->entry.postings(0).amount_minor(), "3000");
  EXPECT_EQ(entry->entry.postings(1).account(), "store:main");
  EXPECT_EQ(entry->entry.postings(1).amount_minor(), "-3000");
  EXPECT_REASON(ledger->Execute(testing::Reverse("refund-2", redeem.receipt.seq)),
                Reason::kEntryAlreadyReversed);
  EXPECT_EQ(Balance(*ledger, "m1"), "100.00");
  // The original journal entry is untouched.
  auto original = ledger->GetEntry(redeem.receipt.seq);
  ASSERT_TRUE(original.ok());
  EXPECT_EQ(original->hash, redeem.receipt.hash);
}

TEST(Reversal, InsideOneBatchTheSecondReversalIsRefused) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 1);
  const std::uint64_t next = ledger->GetHead().seq + 1;
  const auto outcomes =
      ledger->ExecuteMany({Earn("e", "issuer:town", "m1", "5"), testing::Reverse("r1", next),
                           testing::Reverse("r2", next)});
  ASSERT_TRUE(outcomes[0].ok());
  ASSERT_TRUE(outcomes[1].ok()) << outcomes[1].message;
  EXPECT_REASON(outcomes[2], Reason::kEntryAlreadyReversed);
  EXPECT_EQ(Balance(*ledger, "m1"), "0.00");
}

TEST(Reversal, CannotTakeAMemberBelowZero) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 1);
  const Outcome earn = ledger->Execute(Earn("e", "issuer:town", "m1", "50"));
  ASSERT_TRUE(ledger->Execute(Redeem("spend", "m1", "store:main", "40")).ok());
  EXPECT_REASON(ledger->Execute(testing::Reverse("undo-earn", earn.receipt.seq)),
                Reason::kInsufficientBalance);
  EXPECT_EQ(Balance(*ledger, "m1"), "10.00");
}

TEST(Reversal, WorksOnAFrozenAccount) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 1);
  const Outcome earn = ledger->Execute(Earn("e", "issuer:town", "m1", "50"));
  ASSERT_TRUE(ledger->Execute(testing::SetStatus("f", "m1", v1::ACCOUNT_STATUS_FROZEN)).ok());
  EXPECT_REASON(ledger->Execute(Redeem("spend", "m1", "store:main", "1")), Reason::kAccountFrozen);
  EXPECT_TRUE(ledger->Execute(testing::Reverse("undo", earn.receipt.seq)).ok());
  EXPECT_EQ(Balance(*ledger, "m1"), "0.00");
}

// ---------------------------------------------------------------------------------------------
// Limits and budgets (invariant 1: only issuers go below zero, down to their budget).

TEST(Budget, IssuerMayGoDownToExactlyMinusItsBudget) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  ASSERT_TRUE(
      ledger->Execute(testing::OpenIssuer("i", "issuer:a", "发放方", "100.00", "2.5")).ok());
  ASSERT_TRUE(ledger->Execute(testing::Open("m", "m1", v1::ACCOUNT_KIND_MEMBER, "学生")).ok());
  EXPECT_TRUE(ledger->Execute(Earn("e1", "issuer:a", "m1", "99.99")).ok());
  EXPECT_REASON(ledger->Execute(Earn("e2", "issuer:a", "m1", "0.02")), Reason::kBudgetExceeded);
  EXPECT_TRUE(ledger->Execute(Earn("e3", "issuer:a", "m1", "0.01")).ok());
  EXPECT_EQ(Balance(*ledger, "issuer:a"), "-100.00");
  EXPECT_TRUE(ledger->Execute(Earn("h1", "issuer:a", "m1", "2.50", "HOURS")).ok());
  EXPECT_REASON(ledger->Execute(Earn("h2", "issuer:a", "m1", "0.01", "HOURS")),
                Reason::kBudgetExceeded);
  // A deduction gives budget back.
  EXPECT_TRUE(ledger->Execute(testing::Deduct("d1", "m1", "issuer:a", "10")).ok());
  EXPECT_TRUE(ledger->Execute(Earn("e4", "issuer:a", "m1", "10")).ok());
}

TEST(QueueFull, AGroupThatDoesNotFitIsRefusedBusyAndChangesNothing) {
  TempDir dir;
  LedgerOptions options;
  options.path = dir.path();
  options.queue_depth_max = 4;
  auto ledger = Ledger::Open(options);
  ASSERT_TRUE(ledger.ok());
  const auto before = DumpStore(dir.path());
  std::vector<v1::Command> five;
  for (int i = 0; i < 5; ++i) {
    five.push_back(testing::Open("o" + std::to_string(i), "m" + std::to_string(i),
                                 v1::ACCOUNT_KIND_MEMBER, "x"));
  }
  for (const Outcome& outcome : (*ledger)->ExecuteMany(five)) {
    EXPECT_REASON(outcome, Reason::kLedgerBusy);
  }
  EXPECT_EQ(DumpStore(dir.path()), before);
  five.pop_back();
  for (const Outcome& outcome : (*ledger)->ExecuteMany(five)) EXPECT_TRUE(outcome.ok());
}

// ---------------------------------------------------------------------------------------------
// Queries.

TEST(Statement, PagesNewestFirstWithOpaqueCursorsAndNoGapsOrRepeats) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 1);
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 24; ++i) {
    const Outcome outcome =
        ledger->Execute(Earn("e" + std::to_string(i), "issuer:town", "m1", std::to_string(i + 1)));
    ASSERT_TRUE(outcome.ok());
    seqs.push_back(outcome.receipt.seq);
  }
  seqs.insert(seqs.begin(),
              ledger->GetEntryByRequestId("tester", "open:m1")->seq);  // account opened
  std::vector<std::uint64_t> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = ledger->ListEntries("m1", 10, cursor);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& item : page->items) seen.push_back(item.seq);
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  std::reverse(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen, seqs);
  auto first = ledger->ListEntries("m1", 1, "");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->items[0].legs[0].balance_after, "300.00");  // 1+2+...+24

  EXPECT_EQ(ReasonOf(ledger->ListEntries("m1", 0, "").status()), Reason::kPageSizeInvalid);
  EXPECT_EQ(ReasonOf(ledger->ListEntries("m1", kStatementPageSizeMax + 1, "").status()),
            Reason::kPageSizeInvalid);
  EXPECT_TRUE(ledger->ListEntries("m1", kStatementPageSizeMax, "").ok());
  for (const char* bad :
       {"x", "c1.zz00000000000000", "c1.0000000000000000", "c2.0000000000000005"}) {
    EXPECT_EQ(ReasonOf(ledger->ListEntries("m1", 5, bad).status()), Reason::kCursorInvalid) << bad;
  }
  EXPECT_EQ(ReasonOf(ledger->ListEntries("nobody", 5, "").status()), Reason::kAccountUnknown);
  EXPECT_EQ(ReasonOf(ledger->ListEntries("bad id", 5, "").status()), Reason::kAccountIdInvalid);
}

TEST(Balances, AValueUpdatedInPlaceAfterASnapshotIsReadAsOfTheSnapshot) {
  // The balances family is updated in place in the memtable (store.cc): a read through an older
  // snapshot gets the newer value, and ReadBalance must answer as of the snapshot's head.
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  const Outcome earned = ledger->Execute(Earn("e1", "issuer:town", "m1", "100"));
  ASSERT_TRUE(earned.ok());
  Store& store = LedgerTestPeer::store(*ledger);
  const rocksdb::Snapshot* snapshot = store.db()->GetSnapshot();
  const std::uint64_t head = ledger->GetHead().seq;
  ASSERT_TRUE(ledger->Execute(Earn("e2", "issuer:town", "m1", "50")).ok());
  ASSERT_TRUE(ledger->Execute(Transfer("t1", "m1", "m2", "30")).ok());

  auto raw = store.Get(Family::kBalances, BalanceKey("m1", "POINTS"), snapshot);
  ASSERT_TRUE(raw.ok() && raw->has_value());
  // What makes the check necessary (a newer value through the old snapshot); should RocksDB
  // or the options ever stop doing this, the check below still holds.
  EXPECT_EQ(DecodeBalanceValue(**raw)->minor, Int128(12000));
  auto balance = ReadBalance(store, "m1", "POINTS", head, snapshot);
  ASSERT_TRUE(balance.ok()) << balance.status();
  EXPECT_EQ(balance->minor, Int128(10000));
  EXPECT_EQ(balance->seq, earned.receipt.seq);
  auto never = ReadBalance(store, "m2", "POINTS", head, snapshot);
  ASSERT_TRUE(never.ok());
  EXPECT_EQ(never->minor, Int128(0));
  store.db()->ReleaseSnapshot(snapshot);
  // Without a snapshot, at the current head: the current value.
  auto now = ReadBalance(store, "m1", "POINTS", ledger->GetHead().seq, nullptr);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->minor, Int128(12000));
  EXPECT_EQ(Balance(*ledger, "m1"), "120.00");
  EXPECT_EQ(Balance(*ledger, "m2"), "30.00");
}

TEST(Balances, AsOfAPastSeqAndRefusals) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  const std::uint64_t opened = ledger->GetHead().seq;
  const Outcome a = ledger->Execute(Earn("a", "issuer:town", "m1", "10"));
  const Outcome b = ledger->Execute(Earn("b", "issuer:town", "m2", "7", "HOURS"));
  const Outcome c = ledger->Execute(Transfer("c", "m1", "m2", "4"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto at = [&](const std::string& account, const std::string& asset, std::uint64_t seq) {
    auto line = ledger->GetBalance(account, asset, seq);
    EXPECT_TRUE(line.ok()) << line.status();
    return line.ok() ? line->decimal : "?";
  };
  EXPECT_EQ(at("m1", "POINTS", opened), "0.00");
  EXPECT_EQ(at("m1", "POINTS", a.receipt.seq), "10.00");
  EXPECT_EQ(at("m1", "POINTS", b.receipt.seq), "10.00");
  EXPECT_EQ(at("m1", "POINTS", c.receipt.seq), "6.00");
  EXPECT_EQ(at("m2", "POINTS", b.receipt.seq), "0.00");
  EXPECT_EQ(at("m2", "HOURS", b.receipt.seq), "7.00");
  auto all = ledger->GetBalances("m2", b.receipt.seq);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].asset, "HOURS");
  EXPECT_EQ((*all)[0].decimal, "7.00");
  EXPECT_EQ((*all)[1].asset, "POINTS");
  EXPECT_EQ((*all)[1].decimal, "0.00");
  EXPECT_EQ(ReasonOf(ledger->GetBalance("m1", "POINTS", c.receipt.seq + 1).status()),
            Reason::kSeqBeyondHead);
  EXPECT_EQ(ReasonOf(ledger->GetBalance("m1", "STARS").status()), Reason::kAssetUnknown);
  EXPECT_EQ(ReasonOf(ledger->GetBalance("m1", "stars").status()), Reason::kAssetCodeInvalid);
  EXPECT_EQ(ReasonOf(ledger->GetBalance("m9", "POINTS").status()), Reason::kAccountUnknown);
  EXPECT_EQ(ReasonOf(ledger->GetEntry(0).status()), Reason::kEntryUnknown);
  EXPECT_EQ(ReasonOf(ledger->GetEntry(c.receipt.seq + 1).status()), Reason::kEntryUnknown);
  auto by_id = ledger->GetEntryByRequestId("tester", "c");
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->seq, c.receipt.seq);
  EXPECT_EQ(ReasonOf(ledger->GetEntryByRequestId("tester", "zzz").status()), Reason::kEntryUnknown);
}

// ---------------------------------------------------------------------------------------------
// Durability and recovery (invariants 2, 3, 6).

TEST(Reopen, GivesIdenticalBalancesStatementsEntriesAndDigest) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 5);
  std::mt19937 random(7);
  for (int i = 0; i < 300; ++i) {
    const std::string from = "m" + std::to_string(1 + random() % 5);
    const std::string to = "m" + std::to_string(1 + random() % 5);
    if (i % 3 == 0) {
      ledger->Execute(
          Earn("e" + std::to_string(i), "issuer:town", to, std::to_string(random() % 50 + 1)));
    } else if (from != to) {
      ledger->Execute(
          Transfer("t" + std::to_string(i), from, to, std::to_string(random() % 20 + 1) + ".5"));
    }
  }
  const Head head = ledger->GetHead();
  std::map<std::string, std::string> balances;
  std::map<std::string, std::vector<std::uint64_t>> statements;
  for (int m = 1; m <= 5; ++m) {
    const std::string account = "m" + std::to_string(m);
    balances[account] = Balance(*ledger, account);
    auto page = ledger->ListEntries(account, 1000, "");
    ASSERT_TRUE(page.ok());
    for (const auto& item : page->items) statements[account].push_back(item.seq);
  }
  const auto dump = DumpStore(dir.path());
  ledger.reset();
  ledger = OpenLedger(dir.path());
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->GetHead().seq, head.seq);
  EXPECT_EQ(ledger->GetHead().hash, head.hash);
  EXPECT_EQ(DumpStore(dir.path()), dump);
  for (int m = 1; m <= 5; ++m) {
    const std::string account = "m" + std::to_string(m);
    EXPECT_EQ(Balance(*ledger, account), balances[account]);
    std::vector<std::uint64_t> seqs;
    auto page = ledger->ListEntries(account, 1000, "");
    ASSERT_TRUE(page.ok());
    for (const auto& item : page->items) seqs.push_back(item.seq);
    EXPECT_EQ(seqs, statements[account]);
  }
  // The chain continues from the same head.
  const Outcome next = ledger->Execute(Earn("after-reopen", "issuer:town", "m1", "1"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.receipt.seq, head.seq + 1);
  EXPECT_EQ(ledger->GetEntry(next.receipt.seq)->prev_hash, head.hash);
}

TEST(Reopen, RefusesABrokenChainTail) {
  TempDir dir;
  {
    auto ledger = OpenLedger(dir.path());
    OpenProgramme(*ledger, 1);
    ASSERT_TRUE(ledger->Execute(Earn("e", "issuer:town", "m1", "1")).ok());
  }
  std::uint64_t head = 0;
  {
    auto store = Store::Open(dir.path(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    auto it = (*store)->NewIterator(Family::kJournal);
    it->SeekToLast();
    head = GetFixed64BE(it->key().data());
    std::string value = it->value().ToString();
    value.back() ^= 0x01;  // one bit of the payload
    ASSERT_TRUE((*store)->db()->Put({}, (*store)->handle(Family::kJournal), it->key(), value).ok());
  }
  LedgerOptions options;
  options.path = dir.path();
  auto reopened = Ledger::Open(options);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(reopened.status().message()).find(std::to_string(head)), std::string::npos)
      << reopened.status();
}

// Store format 2 keys request ids by actor and counts usage differently: a ledger of format 1
// would be read wrongly, so it is refused, naming both versions.
TEST(Reopen, RefusesALedgerOfAnotherStoreFormatNamingBothVersions) {
  TempDir dir;
  { OpenProgramme(*OpenLedger(dir.path()), 1); }
  {
    auto store = Store::Open(dir.path(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    std::string version;
    PutFixed32BE(&version, 1);
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put({}, (*store)->handle(Family::kMeta),
                          std::string(meta_key::kFormatVersion), version)
                    .ok());
  }
  LedgerOptions options;
  options.path = dir.path();
  auto reopened = Ledger::Open(options);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("store format version 1; this lovebank reads "
                                             "version 2"),
            std::string::npos)
      << reopened.status();
}

TEST(Reopen, RefusesAJournalThatRunsPastTheMetaHead) {
  TempDir dir;
  {
    auto ledger = OpenLedger(dir.path());
    OpenProgramme(*ledger, 1);
  }
  {
    auto store = Store::Open(dir.path(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(
        (*store)->db()->Put({}, (*store)->handle(Family::kJournal), EncodeFixed64BE(99), "x").ok());
  }
  LedgerOptions options;
  options.path = dir.path();
  auto reopened = Ledger::Open(options);
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss) << reopened.status();
}

TEST(ReadOnly, OpensBesideARunningWriterAndRefusesWrites) {
  TempDir dir;
  auto writer = OpenLedger(dir.path());
  OpenProgramme(*writer, 1);
  ASSERT_TRUE(writer->Execute(Earn("e", "issuer:town", "m1", "8")).ok());
  LedgerOptions options;
  options.path = dir.path();
  options.read_only = true;
  auto reader = Ledger::Open(options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->GetHead().hash, writer->GetHead().hash);
  auto balance = (*reader)->GetBalance("m1", "POINTS");
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->decimal, "8.00");
  EXPECT_REASON((*reader)->Execute(Earn("e2", "issuer:town", "m1", "1")), Reason::kLedgerReadOnly);
  // The writer goes on undisturbed.
  EXPECT_TRUE(writer->Execute(Earn("e3", "issuer:town", "m1", "1")).ok());
}

TEST(ReadOnly, ADirectoryWithoutALedgerIsNotFound) {
  TempDir dir;
  LedgerOptions options;
  options.path = dir.Sub("none");
  options.read_only = true;
  EXPECT_EQ(Ledger::Open(options).status().code(), absl::StatusCode::kNotFound);
  options.read_only = false;
  options.create_if_missing = false;
  EXPECT_EQ(Ledger::Open(options).status().code(), absl::StatusCode::kNotFound);
}

// A read-only open (an auditor's) of a ledger an older lovebankd wrote, without a column family
// added since, says what to do instead of RocksDB's "Column family not found"; a writer's open
// adds the family and the read-only open works again.
TEST(ReadOnly, ALedgerFromAnOlderVersionNamesTheMissingFamily) {
  TempDir dir;
  OpenLedger(dir.path()).reset();
  {
    auto store = Store::Open(dir.path(), StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->db()->DropColumnFamily((*store)->handle(Family::kPending)).ok());
  }
  StoreOptions read_only;
  read_only.read_only = true;
  const absl::Status status = Store::Open(dir.path(), read_only).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("older lovebankd (no column family pending)"), std::string::npos)
      << status;
  OpenLedger(dir.path()).reset();  // a writer adds it back
  EXPECT_TRUE(Store::Open(dir.path(), read_only).ok());
}

TEST(Time, EntryTimesNeverGoBackwards) {
  TempDir dir;
  LedgerOptions options;
  options.path = dir.path();
  auto now = std::make_shared<std::int64_t>(2000000);
  options.clock_unix_us = [now] { return *now; };
  auto ledger = Ledger::Open(options);
  ASSERT_TRUE(ledger.ok());
  *now = 1000000;  // the clock steps back (NTP)
  const Outcome outcome =
      (*ledger)->Execute(testing::Open("o", "m1", v1::ACCOUNT_KIND_MEMBER, "x"));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome.receipt.time_unix_us, 2000000);
}

}  // namespace
}  // namespace lovebank

namespace lovebank {
namespace {

// With one command per batch, every command is decided while earlier batches may still be on
// their way to disk: each must see the effects, request ids and reversals of the ones before.
TEST(Pipeline, BatchesDecidedBeforeEarlierOnesAreDurableSeeTheirEffects) {
  TempDir dir;
  LedgerOptions options;
  options.path = dir.path();
  options.batch_size_max = 1;
  auto opened = Ledger::Open(options);
  ASSERT_TRUE(opened.ok());
  Ledger& ledger = **opened;
  OpenProgramme(ledger, 50);
  const std::uint64_t first = ledger.GetHead().seq + 1;
  // Each dependent command comes right after the one it depends on, so it is decided while
  // that one is most likely still in flight.
  std::vector<v1::Command> commands;
  commands.push_back(Earn("start", "issuer:town", "m1", "10"));  // 0: seq first
  commands.push_back(Earn("start", "issuer:town", "m1", "10"));  // 1: retry, replayed
  for (int i = 1; i < 50; ++i) {                                 // 2..50: pass it on
    commands.push_back(Transfer("pass" + std::to_string(i), "m" + std::to_string(i),
                                "m" + std::to_string(i + 1), "10"));
  }
  commands.push_back(testing::Reverse("undo-last", first + 49));        // 51: m50 gives back
  commands.push_back(testing::Reverse("undo-last-again", first + 49));  // 52: once only
  commands.push_back(Earn("start", "issuer:town", "m1", "11"));         // 53: reuse, refused
  commands.push_back(Transfer("spend-nothing", "m50", "m1", "0.01"));   // 54: m50 is empty
  const auto outcomes = ledger.ExecuteMany(commands);
  ASSERT_TRUE(outcomes[0].ok());
  EXPECT_EQ(outcomes[0].receipt.seq, first);
  EXPECT_TRUE(outcomes[1].ok() && outcomes[1].replayed);
  EXPECT_EQ(outcomes[1].receipt.seq, first);
  for (int i = 2; i <= 50; ++i) {
    ASSERT_TRUE(outcomes[i].ok()) << i << ": " << outcomes[i].message;
    EXPECT_EQ(outcomes[i].receipt.seq, first + i - 1);
  }
  EXPECT_TRUE(outcomes[51].ok()) << outcomes[51].message;
  EXPECT_REASON(outcomes[52], Reason::kEntryAlreadyReversed);
  EXPECT_REASON(outcomes[53], Reason::kRequestIdReused);
  EXPECT_REASON(outcomes[54], Reason::kInsufficientBalance);
  EXPECT_EQ(Balance(ledger, "m49"), "10.00");
  EXPECT_EQ(Balance(ledger, "m50"), "0.00");
}

}  // namespace
}  // namespace lovebank

namespace lovebank {
namespace {

// A crash between writing the meta records of a new ledger and committing its first entries
// leaves an empty journal: the next open must still create the default assets.
TEST(Reopen, AnEmptyJournalGetsTheDefaultAssets) {
  TempDir dir;
  std::string ledger_id;
  {
    auto ledger = OpenLedger(dir.path());
    ledger_id = ledger->ledger_id();
  }
  {
    auto store = Store::Open(dir.path(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    auto& db = *(*store)->db();
    rocksdb::WriteBatch batch;
    // As a crash before the first commit leaves it: no entries, no tree over them.
    batch.Delete((*store)->handle(Family::kMeta), meta_key::kTreeSize);
    for (Family family : {Family::kJournal, Family::kRequests, Family::kAssets, Family::kTree}) {
      auto it = (*store)->NewIterator(family);
      for (it->SeekToFirst(); it->Valid(); it->Next())
        batch.Delete((*store)->handle(family), it->key());
    }
    const Hash genesis = GenesisHash(ledger_id);
    batch.Put((*store)->handle(Family::kMeta), std::string(meta_key::kHeadSeq), EncodeFixed64BE(0));
    batch.Put((*store)->handle(Family::kMeta), std::string(meta_key::kHeadHash),
              std::string(reinterpret_cast<const char*>(genesis.data()), 32));
    ASSERT_TRUE(db.Write({}, &batch).ok());
  }
  auto ledger = OpenLedger(dir.path());
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->GetHead().seq, 2u);
  EXPECT_EQ(ledger->GetEntry(2)->entry.command().define_asset().code(), "POINTS");
}

// ---------------------------------------------------------------------------------------------
// Principals: grants and revocations are journal entries (who was allowed what).

TEST(Principals, GrantAndRevokeAreJournaledAndSurviveAReopen) {
  TempDir dir;
  std::uint64_t grant_seq = 0;
  std::uint64_t revoke_seq = 0;
  {
    auto ledger = OpenLedger(dir.path());
    OpenProgramme(*ledger, 1);
    const Outcome grant =
        ledger->Execute(Grant("g1", "till:1", v1::ROLE_TERMINAL, {"store:main"}, 't'));
    ASSERT_TRUE(grant.ok()) << grant.message;
    grant_seq = grant.receipt.seq;
    ASSERT_TRUE(ledger->Execute(Grant("g2", "app:m1", v1::ROLE_MEMBER, {"m1"}, 'm')).ok());
    const Outcome revoke = ledger->Execute(Revoke("g3", "app:m1"));
    ASSERT_TRUE(revoke.ok()) << revoke.message;
    revoke_seq = revoke.receipt.seq;
    EXPECT_TRUE(revoke.receipt.balances_after.empty());
    auto entry = ledger->GetEntry(grant_seq);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(entry->entry.command().grant_principal().token_sha256(), std::string(32, 't'));
  }
  auto ledger = OpenLedger(dir.path());
  auto principals = ledger->ListPrincipals();
  ASSERT_TRUE(principals.ok()) << principals.status();
  ASSERT_EQ(principals->size(), 2u);
  EXPECT_EQ((*principals)[0].principal(), "app:m1");
  EXPECT_EQ((*principals)[0].revoked_seq(), revoke_seq);
  EXPECT_EQ((*principals)[1].principal(), "till:1");
  EXPECT_EQ((*principals)[1].role(), v1::ROLE_TERMINAL);
  EXPECT_EQ((*principals)[1].granted_seq(), grant_seq);
  EXPECT_EQ((*principals)[1].revoked_seq(), 0u);
  EXPECT_EQ((*principals)[1].display_name(), "收银台");
  // The reloaded engine still knows both names and both tokens.
  EXPECT_REASON(ledger->Execute(Grant("g4", "app:m1", v1::ROLE_AUDITOR, {}, 'x')),
                Reason::kPrincipalExists);
  EXPECT_REASON(ledger->Execute(Grant("g5", "other", v1::ROLE_AUDITOR, {}, 'm')),
                Reason::kTokenHashExists);
}

TEST(ReadJournal, ReturnsTheExactStoredRecordsWithinItsLimits) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  const std::uint64_t head = ledger->GetHead().seq;
  auto all = ledger->ReadJournal(1, head, 1000, 1 << 20);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), head);
  for (const JournalRecord& record : *all) {
    auto stored = ledger->GetEntry(record.seq);
    ASSERT_TRUE(stored.ok());
    auto view = DecodeStoredEntry(record.value);
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ(view->hash, stored->hash);
    EXPECT_EQ(std::string(view->payload), stored->payload);
  }
  auto two = ledger->ReadJournal(2, head, 2, 1 << 20);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].seq, 2u);
  EXPECT_EQ((*two)[1].seq, 3u);
  auto one_byte = ledger->ReadJournal(1, head, 1000, 1);  // the first record always fits
  ASSERT_TRUE(one_byte.ok());
  EXPECT_EQ(one_byte->size(), 1u);
  auto empty = ledger->ReadJournal(head + 1, head, 10, 1 << 20);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(ReasonOf(ledger->ReadJournal(1, head + 1, 10, 1 << 20).status()),
            Reason::kSeqBeyondHead);
}

// ---------------------------------------------------------------------------------------------
// All-or-nothing batches.

TEST(AllOrNothing, OneRefusedCommandAbortsTheGroupAndChangesNothing) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 3);
  ASSERT_TRUE(ledger->Execute(Earn("seed", "issuer:town", "m1", "100")).ok());
  const Head head = ledger->GetHead();
  const auto before = DumpStore(dir.path());
  // m1 -> m2 50, m2 -> m3 50 (funded by the first), then an overdraft, then a new account.
  std::vector<v1::Command> group = {Transfer("g1", "m1", "m2", "50"),
                                    Transfer("g2", "m2", "m3", "50"),
                                    Redeem("g3", "m1", "store:main", "60"),
                                    testing::Open("g4", "m9", v1::ACCOUNT_KIND_MEMBER, "新成员"),
                                    Grant("g5", "app:m9", v1::ROLE_MEMBER, {"m9"}, 'n')};
  const auto outcomes = ledger->ExecuteMany(group, /*all_or_nothing=*/true);
  ASSERT_EQ(outcomes.size(), 5u);
  EXPECT_REASON(outcomes[0], Reason::kBatchAborted);
  EXPECT_REASON(outcomes[1], Reason::kBatchAborted);
  EXPECT_REASON(outcomes[2], Reason::kInsufficientBalance);
  EXPECT_REASON(outcomes[3], Reason::kBatchAborted);
  EXPECT_REASON(outcomes[4], Reason::kBatchAborted);
  EXPECT_NE(outcomes[0].message.find("INSUFFICIENT_BALANCE"), std::string::npos);
  EXPECT_EQ(ledger->GetHead().seq, head.seq);
  EXPECT_EQ(ledger->GetHead().hash, head.hash);
  // Nothing moved; the only record written is the remembered refusal of g3.
  EXPECT_EQ(testing::WithoutRefusals(DumpStore(dir.path())), testing::WithoutRefusals(before));

  // The refusal never flips, even once m1 could pay: the same batch again, or g3 alone, is
  // refused the same way (found by the crash loop's retries, tests/service/crash_test.cc).
  ASSERT_TRUE(ledger->Execute(Earn("top-up", "issuer:town", "m1", "100")).ok());
  const Head topped = ledger->GetHead();
  const auto again = ledger->ExecuteMany(group, true);
  EXPECT_REASON(again[2], Reason::kInsufficientBalance);
  EXPECT_EQ(again[2].message, outcomes[2].message);
  for (std::size_t i : {0, 1, 3, 4}) EXPECT_REASON(again[i], Reason::kBatchAborted);
  EXPECT_REASON(ledger->Execute(group[2]), Reason::kInsufficientBalance);
  EXPECT_EQ(ledger->GetHead().seq, topped.seq);

  // The aborted commands were never decided, so nothing of theirs was burned: with a new id for
  // the refused one, the same ids go through; and the in-memory state was restored exactly (m9
  // and app:m9 can be created, m1 still holds 200).
  group[2] = Redeem("g3-again", "m1", "store:main", "150");
  const auto retried = ledger->ExecuteMany(group, true);
  for (const Outcome& outcome : retried) ASSERT_TRUE(outcome.ok()) << outcome.message;
  for (std::size_t i = 0; i < retried.size(); ++i) {
    EXPECT_EQ(retried[i].receipt.seq, topped.seq + 1 + i);
    EXPECT_FALSE(retried[i].replayed);
  }
  EXPECT_EQ(ledger->GetBalance("m1", "POINTS")->decimal, "0.00");
  EXPECT_EQ(ledger->GetBalance("m3", "POINTS")->decimal, "50.00");
  // A second retry of the whole batch replays every receipt.
  const auto replayed = ledger->ExecuteMany(group, true);
  for (std::size_t i = 0; i < replayed.size(); ++i) {
    EXPECT_TRUE(replayed[i].ok() && replayed[i].replayed) << replayed[i].message;
    EXPECT_EQ(replayed[i].receipt.seq, retried[i].receipt.seq);
  }
}

// A programme card is one account's at a time (issue #24 item 4): the sequencer's card index
// follows an all-or-nothing group that rolls back (the card stays free) and a reopen (rebuilt
// from the accounts).
TEST(AllOrNothing, ACardIsOneAccountsAcrossARolledBackGroupAndAReopen) {
  TempDir dir;
  auto contact = [](const std::string& id, const std::string& account, const std::string& card) {
    return testing::SetContact(id, account, card, "13812345678");
  };
  {
    auto ledger = OpenLedger(dir.path());
    OpenProgramme(*ledger, 3);
    const auto outcomes = ledger->ExecuteMany(
        {contact("c1", "m1", "C0001"), Redeem("r1", "m1", "store:main", "60")}, true);
    EXPECT_REASON(outcomes[0], Reason::kBatchAborted);
    EXPECT_REASON(outcomes[1], Reason::kInsufficientBalance);
    EXPECT_TRUE(ledger->Execute(contact("c2", "m2", "C0001")).ok()) << "the card stayed free";
    // In one group, the card taken by an earlier command of the group.
    const auto group =
        ledger->ExecuteMany({contact("c3", "m3", "C0002"), contact("c4", "m1", "C0002")});
    EXPECT_TRUE(group[0].ok());
    EXPECT_REASON(group[1], Reason::kAccountCardTaken);
    EXPECT_TRUE(ledger->Execute(contact("c5", "m2", "C0001")).ok()) << "its own card again";
  }
  auto ledger = OpenLedger(dir.path());
  EXPECT_REASON(ledger->Execute(contact("c6", "m1", "C0001")), Reason::kAccountCardTaken);
  EXPECT_REASON(ledger->Execute(contact("c7", "m1", "C0002")), Reason::kAccountCardTaken);
  EXPECT_TRUE(ledger->Execute(contact("c8", "m1", "C0003")).ok());
  v1::AccountRecord m1 = *ledger->GetAccount("m1");
  EXPECT_EQ(m1.card_number(), "C0003");
  EXPECT_EQ(m1.phone(), "13812345678");
}

TEST(AllOrNothing, ASyntaxRefusalAbortsTheGroupBeforeTheQueue) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  const Head head = ledger->GetHead();
  const auto outcomes = ledger->ExecuteMany(
      {Earn("s1", "issuer:town", "m1", "5"), Earn("s2", "issuer:town", "m2", "5.001")}, true);
  EXPECT_REASON(outcomes[0], Reason::kBatchAborted);
  EXPECT_REASON(outcomes[1], Reason::kAmountTooManyDecimals);
  EXPECT_EQ(ledger->GetHead().seq, head.seq);
}

TEST(AllOrNothing, GroupsStayWholeAmongConcurrentSingleCommands) {
  TempDir dir;
  LedgerOptions options;
  options.path = dir.path();
  options.batch_size_max = 8;  // groups of 5 cannot share a batch with much else
  auto opened = Ledger::Open(options);
  ASSERT_TRUE(opened.ok());
  auto ledger = std::move(*opened);
  OpenProgramme(*ledger, 2);
  std::atomic<int> done{0};
  std::vector<std::vector<Outcome>> groups(20);
  for (int g = 0; g < 20; ++g) {
    std::vector<v1::Command> group;
    for (int k = 0; k < 5; ++k) {
      group.push_back(Earn(Cat("g", g, "-", k), "issuer:town", "m1", "1"));
    }
    if (g % 2 == 1) group.push_back(Redeem(Cat("g", g, "-bad"), "m2", "store:main", "1"));
    ledger->SubmitMany(
        group,
        [&, g](std::vector<Outcome> outcomes) {
          groups[g] = std::move(outcomes);
          done.fetch_add(1);
        },
        true);
    ledger->Submit(Earn(Cat("single", g), "issuer:town", "m2", "0.01"), [&](Outcome) {});
  }
  while (done.load() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int g = 0; g < 20; ++g) {
    for (const Outcome& outcome : groups[g]) EXPECT_EQ(outcome.ok(), g % 2 == 0) << outcome.message;
    if (g % 2 == 0) {
      for (int k = 1; k < 5; ++k) {  // one group, consecutive entries
        EXPECT_EQ(groups[g][k].receipt.seq, groups[g][0].receipt.seq + k);
      }
    }
  }
  ledger.reset();
  auto reopened = OpenLedger(dir.path());
  EXPECT_EQ(reopened->GetBalance("m1", "POINTS")->decimal, "50.00");  // 10 groups x 5 x 1
}

}  // namespace
}  // namespace lovebank

namespace lovebank {
namespace {

using testing::Earn;
using testing::Grant;
using testing::Open;
using testing::Redeem;
using testing::Reverse;
using testing::Revoke;

v1::Command As(v1::Command command, const std::string& actor) {
  command.set_actor(actor);
  return command;
}

// The rule on its own (ledger/rules/authority.h): who may undo which entry, from the grant and
// the entry's facts alone.
TEST(Authority, TheUndoRuleFollowsTheRoleAndTheAccountsTheEntryMoved) {
  auto principal = [](v1::Role role, std::string account) {
    v1::PrincipalRecord who;
    who.set_role(role);
    if (!account.empty()) who.add_accounts(std::move(account));
    return who;
  };
  std::vector<v1::Posting> sale(2);
  sale[0].set_account("m1");
  sale[1].set_account("store:main");
  const auto till = principal(v1::ROLE_TERMINAL, "store:main");
  const auto other_till = principal(v1::ROLE_TERMINAL, "store:east");
  const auto worker = principal(v1::ROLE_ISSUER, "issuer:town");
  const auto admin = principal(v1::ROLE_ADMIN, "");
  using rules::CheckMayUndo;
  EXPECT_FALSE(CheckMayUndo("till", &till, false, 7, v1::Command::kCheckout, sale));
  EXPECT_FALSE(CheckMayUndo("till", &till, true, 7, v1::Command::kCheckout, sale));
  EXPECT_FALSE(CheckMayUndo("admin", &admin, false, 7, v1::Command::kCheckout, sale));
  EXPECT_FALSE(CheckMayUndo("library", nullptr, false, 7, v1::Command::kCheckout, sale));
  auto refused = CheckMayUndo("till-2", &other_till, true, 7, v1::Command::kCheckout, sale);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, Reason::kPermissionDenied);
  EXPECT_EQ(refused->message, "till-2 (TERMINAL) may not refund entry 7");
  EXPECT_TRUE(CheckMayUndo("worker", &worker, false, 7, v1::Command::kCheckout, sale));
  std::vector<v1::Posting> earning(2);
  earning[0].set_account("issuer:town");
  earning[1].set_account("m1");
  EXPECT_FALSE(CheckMayUndo("worker", &worker, false, 8, v1::Command::kEarn, earning));
  EXPECT_TRUE(CheckMayUndo("worker", &worker, true, 8, v1::Command::kEarn, earning))
      << "issuers never refund";
  EXPECT_TRUE(CheckMayUndo("till", &till, false, 8, v1::Command::kEarn, earning));
  v1::PrincipalRecord revoked = worker;
  revoked.set_revoked_seq(9);
  EXPECT_EQ(rules::CheckActor("worker", &revoked)->message, "worker was revoked by entry 9");
  EXPECT_FALSE(rules::CheckActor("worker", &worker));
}

// Issue #22 item 2, DESIGN.md invariant 8: which entry a principal may undo, and whether its
// grant still holds, is decided by the sequencer against the journaled grants at the seq it
// commits, whatever a request thread checked before.
TEST(Authority, TheSequencerDecidesUndoingAndRevocationOnTheStateItCommitsOn) {
  testing::TempDir dir;
  auto ledger = testing::OpenLedger(dir.path());
  testing::OpenProgramme(*ledger, 2);
  ASSERT_TRUE(
      ledger->Execute(Open("o-other", "store:other", v1::ACCOUNT_KIND_STORE, "别的超市")).ok());
  ASSERT_TRUE(ledger->Execute(Grant("g1", "till-1", v1::ROLE_TERMINAL, {"store:main"}, 'a')).ok());
  ASSERT_TRUE(ledger->Execute(Grant("g2", "till-2", v1::ROLE_TERMINAL, {"store:other"}, 'b')).ok());
  ASSERT_TRUE(ledger->Execute(Grant("g3", "worker", v1::ROLE_ISSUER, {"issuer:town"}, 'c')).ok());
  ASSERT_TRUE(ledger->Execute(Grant("g4", "app", v1::ROLE_MEMBER, {"m1"}, 'd')).ok());
  const Outcome earned = ledger->Execute(As(Earn("e1", "issuer:town", "m1", "100"), "worker"));
  ASSERT_TRUE(earned.ok());
  const Outcome sale = ledger->Execute(As(Redeem("r1", "m1", "store:main", "10"), "till-1"));
  ASSERT_TRUE(sale.ok());
  const std::uint64_t head = ledger->GetHead().seq;
  struct Case {
    std::string actor;
    std::uint64_t target;
    Reason reason;
  };
  const std::vector<Case> cases = {
      {"till-2", sale.receipt.seq, Reason::kPermissionDenied},    // another store's sale
      {"worker", sale.receipt.seq, Reason::kPermissionDenied},    // an issuer, a sale
      {"app", sale.receipt.seq, Reason::kPermissionDenied},       // a member
      {"till-1", earned.receipt.seq, Reason::kPermissionDenied},  // a terminal, an earning
      {"till-1", sale.receipt.seq, Reason::kOk},                  // its own store's sale
      {"worker", earned.receipt.seq, Reason::kOk},                // its own issuer's earning
  };
  int n = 0;
  for (const Case& c : cases) {
    const Outcome outcome = ledger->Execute(As(Reverse(Cat("rev-", n++), c.target), c.actor));
    EXPECT_EQ(outcome.reason, c.reason)
        << c.actor << " reversing " << c.target << ": " << outcome.message;
  }
  EXPECT_EQ(ledger->GetHead().seq, head + 2);  // the two allowed reversals only

  // A principal revoked after its request was authenticated: the sequencer refuses it.
  ASSERT_TRUE(ledger->Execute(Revoke("rv1", "till-1")).ok());
  ASSERT_TRUE(ledger->Execute(As(Earn("e2", "issuer:town", "m1", "50"), "worker")).ok());
  const Outcome late = ledger->Execute(As(Redeem("r2", "m1", "store:main", "10"), "till-1"));
  EXPECT_EQ(late.reason, Reason::kPermissionDenied) << late.message;
  EXPECT_NE(late.message.find("revoked by entry"), std::string::npos) << late.message;
}

// A payment code's consent (issue #24 item 3) is decided by the sequencer on the state it commits
// on: an activated, unrevoked device of the paying member; a window within 90 s of the entry's
// time, compared without overflow for any counter; each counter once; on a sale only.
TEST(Authority, APaymentConsentIsDecidedOnTheStateItCommitsOn) {
  TempDir dir;
  auto ledger = OpenLedger(dir.path());
  OpenProgramme(*ledger, 2);
  ASSERT_TRUE(ledger->Execute(Grant("g1", "till-1", v1::ROLE_TERMINAL, {"store:main"}, 'a')).ok());
  ASSERT_TRUE(ledger->Execute(Grant("g2", "worker", v1::ROLE_ISSUER, {"issuer:town"}, 'b')).ok());
  for (const auto& [device, member, fill] :
       {std::tuple{"m1.phone", "m1", 'p'}, std::tuple{"m2.phone", "m2", 'q'},
        std::tuple{"m1.unactivated", "m1", 'r'}}) {
    v1::Command grant = Grant(Cat("g-", device), device, v1::ROLE_MEMBER, {member}, fill);
    grant.mutable_grant_principal()->set_activation_ttl_seconds(3600);
    ASSERT_TRUE(ledger->Execute(grant).ok());
    if (std::string_view(device) == "m1.unactivated") continue;
    const v1::Command activate =
        lovebank::testing::Activate(Cat("a-", device), device, static_cast<char>(fill + 10));
    ASSERT_TRUE(ledger->Execute(activate).ok());
  }
  ASSERT_TRUE(ledger->Execute(As(Earn("e1", "issuer:town", "m1", "100"), "worker")).ok());
  const std::uint64_t now = static_cast<std::uint64_t>(
      ledger->GetEntry(ledger->GetHead().seq)->entry.time_unix_us() / 30'000'000);
  auto sale = [&](const std::string& id, const std::string& device, std::uint64_t counter) {
    v1::Command redeem = As(Redeem(id, "m1", "store:main", "10"), "till-1");
    redeem.mutable_redeem()->mutable_consent()->set_device(device);
    redeem.mutable_redeem()->mutable_consent()->set_counter(counter);
    return ledger->Execute(redeem);
  };
  const Outcome paid = sale("r1", "m1.phone", now * 10 + 3);
  ASSERT_TRUE(paid.ok()) << paid.message;
  struct Case {
    std::string device;
    std::uint64_t counter;
    const char* why;
  };
  const std::vector<Case> refused = {
      {"m1.phone", now * 10 + 3, "used again"},
      {"m1.phone", now * 10 + 2, "an earlier code of the same phone"},
      {"m2.phone", now * 10 + 4, "another member's phone"},
      {"m1.unactivated", now * 10 + 4, "a device never activated"},
      {"nobody", now * 10 + 4, "no such device"},
      {"m1.phone", (now - 10) * 10 + 4, "five minutes old"},
      {"m1.phone", (now + 10) * 10 + 4, "five minutes ahead"},
      {"m1.phone", ~std::uint64_t{0} - 9, "a window past 64 bits in microseconds"},
  };
  const std::uint64_t head = ledger->GetHead().seq;
  int n = 0;
  for (const Case& c : refused) {
    const Outcome outcome = sale(Cat("r-bad-", n++), c.device, c.counter);
    EXPECT_EQ(outcome.reason, Reason::kPaymentCodeInvalid) << c.why << ": " << outcome.message;
  }
  // A consent on a Move that pays nothing of a member's at a till.
  v1::Command settle = As(testing::Settle("s1", "store:main", "issuer:town", "10"), "till-1");
  settle.mutable_settle()->mutable_consent()->set_device("m1.phone");
  settle.mutable_settle()->mutable_consent()->set_counter(now * 10 + 5);
  EXPECT_EQ(ledger->Execute(settle).reason, Reason::kPaymentCodeInvalid);
  EXPECT_EQ(ledger->GetHead().seq, head);  // PAYMENT_CODE_INVALID is not remembered: no entry
  // A refusal that is not remembered does not hold its request id even while its batch is in
  // flight (both tries in one group here: one batch): the till's retry of the same sale with the
  // phone's next code pays — it is not REQUEST_ID_REUSED.
  std::vector<v1::Command> tries;
  for (const std::uint64_t counter : {now * 10 + 3, now * 10 + 4}) {
    tries.push_back(As(Redeem("r2", "m1", "store:main", "10"), "till-1"));
    tries.back().mutable_redeem()->mutable_consent()->set_device("m1.phone");
    tries.back().mutable_redeem()->mutable_consent()->set_counter(counter);
  }
  const std::vector<Outcome> tried = ledger->ExecuteMany(tries);
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_EQ(tried[0].reason, Reason::kPaymentCodeInvalid) << tried[0].message;
  ASSERT_TRUE(tried[1].ok()) << tried[1].message;
  // Then the device is revoked, and its codes stop at once.
  ASSERT_TRUE(ledger->Execute(Revoke("rv1", "m1.phone")).ok());
  EXPECT_EQ(sale("r3", "m1.phone", now * 10 + 5).reason, Reason::kPaymentCodeInvalid);
}

}  // namespace
}  // namespace lovebank
