// Volunteer star levels (issue #7 item 4): cumulative earned hours — earned minus earnings
// reversed — that spending, transfers, donations and deductions never lower; the star reached
// under the default or journaled thresholds; persisted, replayed and compared by the audit.

#include "ledger/rules/volunteers.h"

#include "gtest/gtest.h"
#include "ledger/base/coding.h"
#include "ledger/format/journal_format.h"
#include "rocksdb/db.h"
#include "tests/supermarket_fixture.h"

namespace lovebank {
namespace {

using testing::Deduct;
using testing::DumpStore;
using testing::OpenLedger;
using testing::Redeem;
using testing::Reverse;
using testing::Transfer;
using testing::WithoutRefusals;

const auto& Stars = testing::SetStarLevels;

class Volunteers : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = OpenLedger(dir_.path());
    OpenProgramme(*ledger_, 3);
  }

  Outcome Ok(v1::Command command) {
    Outcome outcome = ledger_->Execute(std::move(command));
    EXPECT_TRUE(outcome.ok()) << ReasonName(outcome.reason) << " " << outcome.message;
    return outcome;
  }

  Ledger::VolunteerProfile Profile(const std::string& member) {
    auto profile = ledger_->GetVolunteerProfile(member);
    EXPECT_TRUE(profile.ok()) << profile.status();
    return profile.ok() ? *profile : Ledger::VolunteerProfile{};
  }

  // Cumulative hours, balance and star as "earned/balance/star" (minor units).
  std::string Summary(const std::string& member) {
    const auto profile = Profile(member);
    return Cat(MinorToString(profile.earned_hours_minor), "/",
               MinorToString(profile.balance_hours_minor), "/", profile.star_level);
  }

  void ExpectAuditClean() {
    const audit::Report report = AuditDb(dir_.path());
    EXPECT_EQ(report.findings_total, 0u) << Describe(report);
  }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(Volunteers, TheStarFollowsEarnedHoursAndNeitherSpendingNorGivingLowersIt) {
  EXPECT_EQ(Summary("m1"), "0/0/0");
  Ok(Earn("e1", "issuer:town", "m1", "80", "HOURS"));
  const Outcome second = Ok(Earn("e2", "issuer:town", "m1", "40.50", "HOURS"));
  EXPECT_EQ(Summary("m1"), "12050/12050/1");  // 一星 at 100 hours
  const auto profile = Profile("m1");
  ASSERT_EQ(profile.thresholds_minor.size(), 5u);  // 100/300/600/1000/1500 by default
  EXPECT_EQ(MinorToString(profile.thresholds_minor[1]), "30000");

  // Giving (转赠), spending at the store and a deduction leave the cumulative hours alone.
  Ok(Transfer("t1", "m1", "m2", "100", "HOURS"));
  Ok(Redeem("r1", "m1", "store:main", "10", "HOURS"));
  Ok(Deduct("d1", "m1", "issuer:town", "0.50", "HOURS"));
  EXPECT_EQ(Summary("m1"), "12050/1000/1");
  EXPECT_EQ(Summary("m2"), "0/10000/0");  // received hours are not served hours
  // Points earned are not hours served.
  Ok(Earn("p1", "issuer:town", "m1", "3000"));
  EXPECT_EQ(Summary("m1"), "12050/1000/1");

  // Only reversing an earning lowers it — here below the first star. The reversal takes
  // 40.50 h back from m1's balance of 10.00, so first give m1 enough back.
  Ok(Transfer("t2", "m2", "m1", "50", "HOURS"));
  Ok(Reverse("rv", second.receipt.seq));
  EXPECT_EQ(Summary("m1"), "8000/1950/0");
  ExpectAuditClean();
}

TEST_F(Volunteers, JournaledThresholdsReplaceTheDefaultsAndSurviveReopening) {
  Ok(Earn("e1", "issuer:town", "m1", "90", "HOURS"));
  EXPECT_EQ(Profile("m1").star_level, 0u);
  const Outcome set = Ok(Stars("s1", {"10", "50", "80"}));
  auto profile = Profile("m1");
  EXPECT_EQ(profile.star_level, 3u);  // the top star: no next one
  ASSERT_EQ(profile.thresholds_minor.size(), 3u);
  ledger_.reset();
  ledger_ = OpenLedger(dir_.path());
  EXPECT_EQ(Summary("m1"), "9000/9000/3");
  auto stored = DumpStore(dir_.path());
  v1::StarLevels levels;
  ASSERT_TRUE(levels.ParseFromString(stored.at("meta").at(std::string(meta_key::kStarLevels))));
  EXPECT_EQ(levels.seq(), set.receipt.seq);
  // Refused thresholds change nothing.
  const auto before = WithoutRefusals(DumpStore(dir_.path()));
  EXPECT_EQ(ledger_->Execute(Stars("s2", {"50", "10"})).reason, Reason::kStarLevelsInvalid);
  EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), before);
  // Not a member: no volunteer profile.
  EXPECT_EQ(ReasonOf(ledger_->GetVolunteerProfile("store:main").status()),
            Reason::kAccountKindMismatch);
  EXPECT_EQ(ReasonOf(ledger_->GetVolunteerProfile("nobody").status()), Reason::kAccountUnknown);
  ExpectAuditClean();
}

TEST_F(Volunteers, AnAbortedGroupOfEarningsLeavesNoHoursBehind) {
  auto outcomes = ledger_->ExecuteMany({Earn("g1", "issuer:town", "m1", "150", "HOURS"),
                                        Earn("g2", "issuer:town", "nobody", "1", "HOURS")},
                                       /*all_or_nothing=*/true);
  EXPECT_EQ(outcomes[1].reason, Reason::kAccountUnknown);
  EXPECT_EQ(Summary("m1"), "0/0/0");
  EXPECT_FALSE(DumpStore(dir_.path()).at("volunteers").contains("m1"));
  Ok(Earn("g3", "issuer:town", "m1", "150", "HOURS"));
  EXPECT_EQ(Summary("m1"), "15000/15000/1");
  ExpectAuditClean();
}

TEST_F(Volunteers, TheAuditFindsCumulativeHoursEditedBehindTheEngine) {
  Ok(Earn("e1", "issuer:town", "m1", "120", "HOURS"));
  ledger_.reset();
  {
    auto store = Store::Open(dir_.path(), StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    v1::VolunteerRecord record;
    record.set_account("m1");
    record.set_earned_hours_minor("150000");  // a five-star volunteer on paper
    record.set_changed_seq(1);
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put(rocksdb::WriteOptions(), (*store)->handle(Family::kVolunteers), "m1",
                          record.SerializeAsString())
                    .ok());
  }
  const audit::Report report = AuditDb(dir_.path());
  ASSERT_EQ(report.findings_total, 1u) << Describe(report);
  EXPECT_EQ(report.findings[0].kind, audit::FindingKind::kRecordDiffers);
  EXPECT_EQ(report.findings[0].where, "volunteers m1");
}

v1::Command Cap(const std::string& id, const std::string& maximum, const std::string& pool) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("tester");
  command.mutable_set_hours_cap()->set_maximum(maximum);
  command.mutable_set_hours_cap()->set_pool_account(pool);
  return command;
}

std::string Hours(Ledger& ledger, const std::string& account) {
  auto line = ledger.GetBalance(account, "HOURS");
  return line.ok() ? line->decimal : "?";
}

// Issue #7 item 5: a storage cap on stored HOURS; earnings past it land in the donation pool in
// the same entry, the receipt says how much, the star still counts every hour served, and the
// totals tie.
TEST_F(Volunteers, EarningsPastTheStorageCapLandInTheDonationPool) {
  Ok(testing::Open("o:pool", "system:pool", v1::ACCOUNT_KIND_SYSTEM, "爱心时间池"));
  Ok(Cap("c1", "100", "system:pool"));
  Ok(Earn("e1", "issuer:town", "m1", "80", "HOURS"));
  const Outcome split = Ok(Earn("e2", "issuer:town", "m1", "30", "HOURS"));
  EXPECT_EQ(MinorToString(split.receipt.to_pool_minor), "1000");
  EXPECT_EQ(Hours(*ledger_, "m1"), "100.00");
  EXPECT_EQ(Hours(*ledger_, "system:pool"), "10.00");
  // At the cap: the whole earning goes to the pool, and the member's statement still shows it.
  const Outcome pooled = Ok(Earn("e3", "issuer:town", "m1", "5", "HOURS"));
  EXPECT_EQ(MinorToString(pooled.receipt.to_pool_minor), "500");
  EXPECT_EQ(Hours(*ledger_, "m1"), "100.00");
  auto statement = ledger_->ListEntries("m1", 1, "");
  ASSERT_TRUE(statement.ok()) << statement.status();
  ASSERT_EQ(statement->items.size(), 1u);
  EXPECT_EQ(statement->items[0].seq, pooled.receipt.seq);
  EXPECT_EQ(Summary("m1"), "11500/10000/1");  // every hour served counts toward the star
  // Spending makes room again.
  Ok(Transfer("t1", "m1", "m2", "50", "HOURS"));
  Ok(Earn("e4", "issuer:town", "m1", "60", "HOURS"));
  EXPECT_EQ(Hours(*ledger_, "m1"), "100.00");
  EXPECT_EQ(Hours(*ledger_, "system:pool"), "25.00");
  EXPECT_EQ(Hours(*ledger_, "issuer:town"), "-175.00");  // = 100 + 50 + 25: the totals tie

  // Reversing a pooled earning takes it back from the pool and lowers the member's hours served.
  Ok(Reverse("r3", pooled.receipt.seq));
  EXPECT_EQ(Hours(*ledger_, "system:pool"), "20.00");
  EXPECT_EQ(Summary("m1"), "17000/10000/1");  // 80 + 30 + 60 served
  Ok(Reverse("r2", split.receipt.seq));       // 20 from m1, 10 from the pool
  EXPECT_EQ(Hours(*ledger_, "system:pool"), "10.00");
  EXPECT_EQ(Summary("m1"), "14000/8000/1");

  // Refusals change nothing; "0" lifts the cap.
  const auto before = WithoutRefusals(DumpStore(dir_.path()));
  EXPECT_EQ(ledger_->Execute(Cap("c2", "50", "m2")).reason, Reason::kAccountKindMismatch);
  EXPECT_EQ(ledger_->Execute(Cap("c3", "50", "nobody")).reason, Reason::kAccountUnknown);
  EXPECT_EQ(ledger_->Execute(Cap("c4", "-5", "system:pool")).reason, Reason::kAmountSign);
  EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), before);
  Ok(Cap("c5", "0", ""));
  ledger_.reset();
  ledger_ = OpenLedger(dir_.path());
  Ok(Earn("e5", "issuer:town", "m1", "70", "HOURS"));
  EXPECT_EQ(Hours(*ledger_, "m1"), "150.00");
  ExpectAuditClean();
}

v1::Command Served(const std::string& id, const std::string& member, const std::string& hours,
                   const std::string& date) {
  v1::Command command = Earn(id, "issuer:town", member, hours, "HOURS");
  command.mutable_earn()->mutable_activity()->set_name("社区服务");
  command.mutable_earn()->mutable_activity()->set_date(date);
  return command;
}

v1::Command DailyCap(const std::string& id, const std::string& maximum) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("tester");
  command.mutable_set_daily_hours_cap()->set_maximum(maximum);
  return command;
}

// Issue #7 item 1's daily cap (Shanghai: at most 2 hours a day): per member and day of service
// (the activity's date), refused past it with the cap named, given back by a reversal.
TEST_F(Volunteers, TheDailyCapCountsHoursPerMemberAndDayOfService) {
  Ok(DailyCap("d1", "2"));
  Ok(Served("s1", "m1", "1.50", "2026-11-05"));
  const auto before = WithoutRefusals(DumpStore(dir_.path()));
  const Outcome over = ledger_->Execute(Served("s2", "m1", "1", "2026-11-05"));
  EXPECT_EQ(over.reason, Reason::kLimitExceeded);
  EXPECT_NE(over.message.find("at most 2.00 HOURS recorded per day; 1.50 recorded for 2026-11-05"),
            std::string::npos)
      << over.message;
  EXPECT_EQ(WithoutRefusals(DumpStore(dir_.path())), before);
  const Outcome half = Ok(Served("s3", "m1", "0.50", "2026-11-05"));  // exactly 2
  Ok(Served("s4", "m1", "2", "2026-11-06"));                          // another day
  Ok(Served("s5", "m2", "2", "2026-11-05"));                          // another member
  // A reversal gives the day's hours back.
  Ok(Reverse("r3", half.receipt.seq));
  Ok(Served("s6", "m1", "0.50", "2026-11-05"));
  EXPECT_EQ(ledger_->Execute(Served("s7", "m1", "0.01", "2026-11-05")).reason,
            Reason::kLimitExceeded);
  // Persisted; "0" turns it off.
  ledger_.reset();
  ledger_ = OpenLedger(dir_.path());
  EXPECT_EQ(ledger_->Execute(Served("s8", "m1", "0.01", "2026-11-05")).reason,
            Reason::kLimitExceeded);
  Ok(DailyCap("d2", "0"));
  Ok(Served("s9", "m1", "5", "2026-11-05"));
  EXPECT_EQ(Summary("m1"), "900/900/0");  // 1.50 + 0.50 - 0.50 + 2 + 0.50 + 5
  ExpectAuditClean();
}

// ---------------------------------------------------------------------------------------------
// The rules on their own (ledger/rules/volunteers.h): facts in, a decision out, no engine.

TEST(VolunteerRules, TheStorageCapKeepsWhatFitsAndNeverLessThanNothing) {
  EXPECT_EQ(rules::KeptUnderCap(300, 0, 0), 300) << "no cap: all of it";
  EXPECT_EQ(rules::KeptUnderCap(300, 9800, 10000), 200) << "up to the cap";
  EXPECT_EQ(rules::KeptUnderCap(300, 10000, 10000), 0) << "at the cap: nothing";
  EXPECT_EQ(rules::KeptUnderCap(300, 12000, 10000), 0) << "above a lowered cap: nothing";
  EXPECT_EQ(rules::KeptUnderCap(300, 0, 10000), 300);
}

TEST(VolunteerRules, TheDailyCapHoldsAtItsBoundaryAndNamesTheDay) {
  EXPECT_FALSE(rules::CheckDailyHours("V00001", "2026-11-03", 600, 200, 800, 2));
  auto refused = rules::CheckDailyHours("V00001", "2026-11-03", 600, 201, 800, 2);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, Reason::kLimitExceeded);
  EXPECT_EQ(refused->message,
            "V00001 may have at most 8.00 HOURS recorded per day; 6.00 recorded for 2026-11-03, "
            "this earning 2.01");
}

TEST(VolunteerRules, StarLevelsRiseStrictlyAndNeedTheHoursAsset) {
  const rules::AssetFacts hours{2, Int128(100000000)};
  v1::SetStarLevels asked;
  asked.add_thresholds("10");
  asked.add_thresholds("50.5");
  auto decided = rules::DecideStarLevels(asked, &hours);
  ASSERT_TRUE(std::holds_alternative<v1::StarLevels>(decided));
  const auto& levels = std::get<v1::StarLevels>(decided);
  ASSERT_EQ(levels.thresholds_minor_size(), 2);
  EXPECT_EQ(levels.thresholds_minor(1), "5050");
  asked.add_thresholds("50.5");
  EXPECT_EQ(std::get<rules::Refusal>(rules::DecideStarLevels(asked, &hours)).reason,
            Reason::kStarLevelsInvalid);
  EXPECT_EQ(std::get<rules::Refusal>(rules::DecideStarLevels(asked, nullptr)).reason,
            Reason::kAssetUnknown);
  v1::SetHoursCap cap;
  cap.set_maximum("100");
  cap.set_pool_account("pool");
  v1::AccountRecord member;
  member.set_kind(v1::ACCOUNT_KIND_MEMBER);
  EXPECT_EQ(std::get<rules::Refusal>(rules::DecideHoursCap(cap, &hours, &member)).reason,
            Reason::kAccountKindMismatch);
  EXPECT_EQ(std::get<rules::Refusal>(rules::DecideHoursCap(cap, &hours, nullptr)).reason,
            Reason::kAccountUnknown);
  cap.set_maximum("0");  // no cap: no pool needed
  EXPECT_TRUE(std::holds_alternative<v1::HoursCap>(rules::DecideHoursCap(cap, &hours, nullptr)));
}

}  // namespace
}  // namespace lovebank
