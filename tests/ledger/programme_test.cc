// Programme rules (issue #7 items 2, 3 and 6): account tags, the award catalogue with its
// eligibility and frequencies (Asia/Shanghai calendar and school years), maker-checker approval
// of awards and of earnings above a threshold with journaled rejection and expiry, and the
// transfer (转赠) policy with registered family and the donation pool. Every test ends with a
// clean audit: the audit replays rules, approvals and relationships independently.

#include "gtest/gtest.h"
#include "ledger/base/coding.h"
#include "ledger/base/text.h"
#include "tests/supermarket_fixture.h"

namespace lovebank {
namespace {

v1::Command Base(const std::string& id, const std::string& actor = "tester") {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor(actor);
  return command;
}

v1::Command Tags(const std::string& id, const std::string& account,
                 const std::vector<std::string>& tags) {
  v1::Command command = Base(id);
  command.mutable_set_account_tags()->set_account(account);
  for (const auto& tag : tags) command.mutable_set_account_tags()->add_tags(tag);
  return command;
}

v1::Command Family(const std::string& id, const std::string& member,
                   const std::vector<std::string>& relatives) {
  v1::Command command = Base(id);
  command.mutable_set_family()->set_member(member);
  for (const auto& relative : relatives) command.mutable_set_family()->add_relatives(relative);
  return command;
}

v1::Command Policy(const std::string& id, const std::string& asset, const std::string& tag,
                   v1::TransferRule rule, const std::string& pool = "") {
  v1::Command command = Base(id);
  auto* policy = command.mutable_set_transfer_policy();
  policy->set_asset(asset);
  policy->set_tag(tag);
  policy->set_rule(rule);
  policy->set_pool_account(pool);
  return command;
}

v1::Command Rule(const std::string& id, const std::string& code, const std::string& amount,
                 v1::AwardFrequency frequency, bool deduction = false, bool approval = false,
                 std::vector<std::string> tags = {"student"}, bool active = true) {
  v1::Command command = Base(id);
  auto* rule = command.mutable_set_award_rule();
  rule->set_code(code);
  rule->set_asset("POINTS");
  rule->set_amount(amount);
  rule->set_deduction(deduction);
  for (const auto& tag : tags) rule->add_eligible_tags(tag);
  rule->set_frequency(frequency);
  rule->set_needs_approval(approval);
  rule->set_description("规则 " + code);
  rule->set_active(active);
  return command;
}

v1::Command AwardBy(const std::string& id, const std::string& rule, const std::string& member,
                    const std::string& actor = "social-worker") {
  v1::Command command = Base(id, actor);
  command.mutable_award()->set_rule(rule);
  command.mutable_award()->set_member(member);
  command.mutable_award()->set_issuer("issuer:town");
  command.mutable_award()->set_reason("期中考试进步明显");
  return command;
}

v1::Command Approve(const std::string& id, std::uint64_t seq, const std::string& actor) {
  v1::Command command = Base(id, actor);
  command.mutable_approve()->set_seq(seq);
  return command;
}

v1::Command Reject(const std::string& id, std::uint64_t seq, const std::string& actor) {
  v1::Command command = Base(id, actor);
  command.mutable_reject()->set_seq(seq);
  command.mutable_reject()->set_reason("材料不全");
  return command;
}

v1::Command Threshold(const std::string& id, const std::string& asset, const std::string& amount) {
  v1::Command command = Base(id);
  command.mutable_set_approval_threshold()->set_asset(asset);
  command.mutable_set_approval_threshold()->set_amount(amount);
  return command;
}

// The seed's student rules (seed 002 §三(三)) on the supermarket programme: m1 and m2 are
// students, m2 with poverty tier 1; UNIVERSITY_ADMISSION and LACK_OF_EFFORT need a second
// approver.
class Programme : public Supermarket {
 protected:
  void SetUp() override {
    Supermarket::SetUp();
    Run({Tags("tag:m1", "m1", {"student"}), Tags("tag:m2", "m2", {"student", "poverty-tier:1"}),
         Rule("rule:progress", "STUDENT_PROGRESS", "500", v1::AWARD_FREQUENCY_ONCE_PER_SCHOOL_YEAR),
         Rule("rule:admission", "UNIVERSITY_ADMISSION", "3000", v1::AWARD_FREQUENCY_ONCE_PER_YEAR,
              false, true),
         Rule("rule:effort", "LACK_OF_EFFORT", "100", v1::AWARD_FREQUENCY_UNLIMITED, true, true),
         Rule("rule:tier1", "TIER1_GRANT", "50", v1::AWARD_FREQUENCY_ONCE_EVER, false, false,
              {"poverty-tier:1", "student"})});
  }

  void TearDown() override {
    ledger_.reset();
    if (!expect_clean_audit_) return;
    const audit::Report report = AuditDb(dir_.path());
    EXPECT_EQ(report.findings_total, 0u) << Describe(report);
  }

  Outcome Try(v1::Command command) { return ledger_->Execute(std::move(command)); }

  bool expect_clean_audit_ = true;
};

TEST_F(Programme, AwardingByRuleFillsTheAmountAndKeepsEligibilityAndFrequency) {
  const Outcome progress = Ok(AwardBy("a1", "STUDENT_PROGRESS", "m1"));
  EXPECT_EQ(B("m1", "POINTS"), "700.00");
  EXPECT_EQ(MinorToString(progress.receipt.award_minor), "50000");
  EXPECT_EQ(progress.receipt.pending_expires_unix_us, 0);

  struct Case {
    const char* name;
    v1::Command command;
    Reason reason;
  };
  const std::vector<Case> cases = {
      {"second progress award in the school year", AwardBy("a2", "STUDENT_PROGRESS", "m1"),
       Reason::kAwardFrequencyExceeded},
      {"a frozen member", AwardBy("a3", "STUDENT_PROGRESS", "m3"), Reason::kAccountFrozen},
      {"tier-1 grant to a student of no tier", AwardBy("a4", "TIER1_GRANT", "m1"),
       Reason::kNotEligible},
      {"an unknown rule", AwardBy("a5", "SPORTS_DAY", "m1"), Reason::kAwardRuleUnknown},
      {"a malformed rule code", AwardBy("a6", "sports", "m1"), Reason::kAwardRuleInvalid},
      {"a store as the member", AwardBy("a7", "STUDENT_PROGRESS", "store:main"),
       Reason::kAccountKindMismatch},
  };
  for (const auto& c : cases) {
    const auto before = testing::WithoutRefusals(testing::DumpStore(dir_.path()));
    EXPECT_REASON(Try(c.command), c.reason) << c.name;
    EXPECT_EQ(testing::WithoutRefusals(testing::DumpStore(dir_.path())), before) << c.name;
  }
  EXPECT_EQ(B("m1", "POINTS"), "700.00");  // nothing else moved

  Ok(AwardBy("a8", "TIER1_GRANT", "m2"));
  EXPECT_REASON(Try(AwardBy("a9", "TIER1_GRANT", "m2")), Reason::kAwardFrequencyExceeded);
  EXPECT_EQ(B("m2", "POINTS"), "55.00");

  // A retired rule awards nothing more; its earlier awards stand.
  Ok(Rule("rule:progress:retire", "STUDENT_PROGRESS", "500",
          v1::AWARD_FREQUENCY_ONCE_PER_SCHOOL_YEAR, false, false, {"student"}, false));
  EXPECT_REASON(Try(AwardBy("a10", "STUDENT_PROGRESS", "m2")), Reason::kAwardRuleInactive);
}

TEST_F(Programme, ARetryOfARefusedAwardGetsTheSameRefusalEvenAfterTheRuleAllowsIt) {
  const auto refused = Try(AwardBy("r1", "TIER1_GRANT", "m1"));
  EXPECT_REASON(refused, Reason::kNotEligible);
  Ok(Tags("tag:m1:tier", "m1", {"poverty-tier:1", "student"}));
  const auto retry = Try(AwardBy("r1", "TIER1_GRANT", "m1"));
  EXPECT_REASON(retry, Reason::kNotEligible);
  EXPECT_TRUE(retry.replayed);
  Ok(AwardBy("r2", "TIER1_GRANT", "m1"));
}

TEST_F(Programme, FrequenciesFollowTheShanghaiCalendarAndSchoolYearAcrossTheirBoundaries) {
  step_->store(0);
  // 23:59:59 on 31 December 2026 in Shanghai is 15:59:59 UTC.
  now_->store(Utc(2026, 12, 31, 15, 59, 59));
  const Outcome first = Ok(AwardBy("y1", "UNIVERSITY_ADMISSION", "m1"));
  EXPECT_NE(first.receipt.pending_expires_unix_us, 0);
  Ok(Approve("y1:ok", first.receipt.seq, "approver"));
  EXPECT_REASON(Try(AwardBy("y2", "UNIVERSITY_ADMISSION", "m1")), Reason::kAwardFrequencyExceeded);
  now_->store(Utc(2026, 12, 31, 16, 0, 0));  // midnight: 2027 in Shanghai, still 2026 in UTC
  const Outcome next_year = Ok(AwardBy("y3", "UNIVERSITY_ADMISSION", "m1"));
  Ok(Approve("y3:ok", next_year.receipt.seq, "approver"));
  EXPECT_EQ(B("m1", "POINTS"), "6200.00");

  // The school year turns on 1 September: progress in August and again in September.
  now_->store(Utc(2027, 8, 31, 15, 59, 59));
  Ok(AwardBy("s1", "STUDENT_PROGRESS", "m2"));
  EXPECT_REASON(Try(AwardBy("s2", "STUDENT_PROGRESS", "m2")), Reason::kAwardFrequencyExceeded);
  now_->store(Utc(2027, 8, 31, 16, 0, 0));
  Ok(AwardBy("s3", "STUDENT_PROGRESS", "m2"));
  EXPECT_EQ(B("m2", "POINTS"), "1005.00");
}

// Issue #28: an award names the month it is for (last month's sheet imported this month). Its
// frequency period is that month's; a month after the one it is posted in, or more than twelve
// before it, is refused and changes nothing; the audit replays the same (TearDown).
TEST_F(Programme, AnAwardForAnEarlierMonthCountsInThatMonthsPeriod) {
  step_->store(0);
  now_->store(Utc(2027, 9, 3, 2, 0, 0));  // 3 September 2027: school year 2027
  auto for_month = [](v1::Command command, const std::string& month) {
    command.mutable_award()->set_month(month);
    return command;
  };
  // August's progress belongs to school year 2026, so September's is still allowed.
  Ok(for_month(AwardBy("m:aug", "STUDENT_PROGRESS", "m1"), "2027-08"));
  EXPECT_REASON(Try(for_month(AwardBy("m:jul", "STUDENT_PROGRESS", "m1"), "2027-07")),
                Reason::kAwardFrequencyExceeded);
  Ok(AwardBy("m:sep", "STUDENT_PROGRESS", "m1"));
  EXPECT_EQ(B("m1", "POINTS"), "1200.00");
  const auto before = testing::WithoutRefusals(testing::DumpStore(dir_.path()));
  for (const char* month : {"2027-10", "2026-08", "2027-13", "27-09", "2027-9"}) {
    EXPECT_REASON(Try(for_month(AwardBy(Cat("m:bad:", month), "STUDENT_PROGRESS", "m2"), month)),
                  Reason::kAwardMonthInvalid)
        << month;
  }
  EXPECT_EQ(testing::WithoutRefusals(testing::DumpStore(dir_.path())), before);
  Ok(for_month(AwardBy("m:back12", "STUDENT_PROGRESS", "m2"), "2026-09"));  // twelve back
  EXPECT_EQ(B("m2", "POINTS"), "505.00");
}

TEST_F(Programme, ApprovalNeedsADifferentPrincipalAndNothingIsSpendableUntilThen) {
  const Outcome pending = Ok(AwardBy("u1", "UNIVERSITY_ADMISSION", "m1", "maker"));
  EXPECT_NE(pending.receipt.pending_expires_unix_us, 0);
  EXPECT_TRUE(pending.receipt.balances_after.empty());
  EXPECT_EQ(MinorToString(pending.receipt.award_minor), "300000");
  EXPECT_EQ(B("m1", "POINTS"), "200.00");  // not spendable while pending
  const Outcome retry = Try(AwardBy("u1", "UNIVERSITY_ADMISSION", "m1", "maker"));
  EXPECT_TRUE(retry.replayed);  // the original receipt, read back from the journal
  EXPECT_EQ(retry.receipt.seq, pending.receipt.seq);
  EXPECT_EQ(retry.receipt.pending_expires_unix_us, pending.receipt.pending_expires_unix_us);
  EXPECT_EQ(retry.receipt.award_decimal, "3000.00");
  // The statement shows it (a line without legs).
  auto statement = ledger_->ListEntries("m1", 5, "");
  ASSERT_TRUE(statement.ok()) << statement.status();
  ASSERT_FALSE(statement->items.empty());
  EXPECT_EQ(statement->items[0].seq, pending.receipt.seq);
  EXPECT_TRUE(statement->items[0].legs.empty());

  EXPECT_REASON(Try(Approve("u1:self", pending.receipt.seq, "maker")), Reason::kMakerCannotApprove);
  EXPECT_REASON(Try(testing::Reverse("u1:rev", pending.receipt.seq)), Reason::kEntryNotReversible);
  const Outcome approved = Ok(Approve("u1:ok", pending.receipt.seq, "checker"));
  EXPECT_EQ(B("m1", "POINTS"), "3200.00");
  EXPECT_EQ(MinorToString(approved.receipt.award_minor), "300000");
  EXPECT_REASON(Try(Approve("u1:again", pending.receipt.seq, "checker2")), Reason::kPendingClosed);
  EXPECT_REASON(Try(Reject("u1:late", pending.receipt.seq, "checker2")), Reason::kPendingClosed);
  EXPECT_REASON(Try(Approve("u1:none", 3, "checker")), Reason::kPendingUnknown);

  // Reversing the approval undoes the award and gives the year's admission award back.
  Ok(testing::Reverse("u1:undo", approved.receipt.seq));
  EXPECT_EQ(B("m1", "POINTS"), "200.00");
  const Outcome again = Ok(AwardBy("u2", "UNIVERSITY_ADMISSION", "m1", "maker"));
  EXPECT_NE(again.receipt.pending_expires_unix_us, 0);
}

TEST_F(Programme, RejectionAndExpiryAreJournaledAndGiveTheFrequencyBack) {
  const Outcome rejected = Ok(AwardBy("x1", "UNIVERSITY_ADMISSION", "m1", "maker"));
  Ok(Reject("x1:no", rejected.receipt.seq, "checker"));
  EXPECT_REASON(Try(Approve("x1:ok", rejected.receipt.seq, "checker")), Reason::kPendingClosed);
  EXPECT_EQ(B("m1", "POINTS"), "200.00");

  // A deduction for lack of effort waits too, and lapses after 30 days with an engine entry.
  step_->store(0);
  const Outcome deduction = Ok(AwardBy("x2", "LACK_OF_EFFORT", "m1", "maker"));
  now_->fetch_add(kPendingLifetimeMicros);
  const Outcome later = Ok(Earn("x3", "issuer:town", "m2", "1"));
  EXPECT_EQ(later.receipt.seq, deduction.receipt.seq + 2);  // the expiry came first
  auto expiry = ledger_->GetEntry(deduction.receipt.seq + 1);
  ASSERT_TRUE(expiry.ok()) << expiry.status();
  EXPECT_EQ(expiry->entry.command().request_id(), ExpireRequestId(deduction.receipt.seq));
  EXPECT_REASON(Try(Approve("x2:ok", deduction.receipt.seq, "checker")), Reason::kPendingClosed);
  EXPECT_EQ(B("m1", "POINTS"), "200.00");

  // The rejected admission award left the year's one award free.
  const Outcome retry = Ok(AwardBy("x4", "UNIVERSITY_ADMISSION", "m1", "maker"));
  Ok(Approve("x4:ok", retry.receipt.seq, "checker"));
  EXPECT_EQ(B("m1", "POINTS"), "3200.00");
}

TEST_F(Programme, ADeductionCannotTakeMoreThanTheStudentHolds) {
  const Outcome deduction = Ok(AwardBy("d1", "LACK_OF_EFFORT", "m2", "maker"));
  EXPECT_REASON(Try(Approve("d1:ok", deduction.receipt.seq, "checker")),
                Reason::kInsufficientBalance);
  Ok(Earn("d2", "issuer:town", "m2", "95"));
  Ok(Approve("d1:ok2", deduction.receipt.seq, "checker"));
  EXPECT_EQ(B("m2", "POINTS"), "0.00");
  EXPECT_EQ(B("issuer:town", "POINTS"), "-200.00");  // 200 + 5 + 95 out, 100 back
}

TEST_F(Programme, EarningsAboveTheApprovalThresholdWaitForASecondApprover) {
  Ok(Threshold("th", "POINTS", "1000"));
  const Outcome small = Ok(Earn("t1", "issuer:town", "m2", "1000"));
  EXPECT_EQ(small.receipt.pending_expires_unix_us, 0);
  v1::Command big = Earn("t2", "issuer:town", "m2", "1000.01");
  big.set_actor("maker");
  const Outcome pending = Ok(big);
  EXPECT_NE(pending.receipt.pending_expires_unix_us, 0);
  EXPECT_EQ(B("m2", "POINTS"), "1005.00");
  EXPECT_REASON(Try(Approve("t2:self", pending.receipt.seq, "maker")), Reason::kMakerCannotApprove);
  const Outcome approved = Ok(Approve("t2:ok", pending.receipt.seq, "checker"));
  EXPECT_EQ(B("m2", "POINTS"), "2005.01");
  Ok(testing::Reverse("t2:undo", approved.receipt.seq));
  EXPECT_EQ(B("m2", "POINTS"), "1005.00");
  // Hours are guarded by the daily cap, not by approval; "0" turns the threshold off.
  EXPECT_REASON(Try(Threshold("th:h", "HOURS", "10")), Reason::kPendingCommandInvalid);
  Ok(Threshold("th:off", "POINTS", "0"));
  EXPECT_EQ(Ok(Earn("t3", "issuer:town", "m2", "5000")).receipt.pending_expires_unix_us, 0);
}

// Issue #22 item 8: splitting dodged the threshold (5 x 100 POINTS with a threshold of 100 in
// one batch all posted). The threshold is cumulative per issuer account, member and programme
// day (Asia/Shanghai); approved earnings do not count and a reversal gives nothing back. The
// audit (TearDown) replays the same rule.
TEST_F(Programme, SplittingAnEarningDoesNotDodgeTheApprovalThreshold) {
  Ok(Threshold("th", "POINTS", "100"));
  std::vector<v1::Command> split;
  for (int i = 0; i < 5; ++i) {
    split.push_back(Earn("s" + std::to_string(i), "issuer:town", "m2", "40"));
  }
  const std::vector<Outcome> outcomes = ledger_->ExecuteMany(split);
  ASSERT_EQ(outcomes.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(outcomes[i].ok()) << ReasonName(outcomes[i].reason);
    // 40 and 80 are within 100; 120 is not, and neither are the two after it.
    EXPECT_EQ(outcomes[i].receipt.pending_expires_unix_us != 0, i >= 2) << i;
  }
  EXPECT_EQ(B("m2", "POINTS"), "85.00");
  // 20 more fit exactly; then nothing does.
  EXPECT_EQ(Ok(Earn("s5", "issuer:town", "m2", "20")).receipt.pending_expires_unix_us, 0);
  EXPECT_NE(Ok(Earn("s6", "issuer:town", "m2", "0.01")).receipt.pending_expires_unix_us, 0);
  Ok(Approve("s2:ok", outcomes[2].receipt.seq, "checker"));
  EXPECT_EQ(B("m2", "POINTS"), "145.00");
  Ok(testing::Reverse("s0:undo", outcomes[0].receipt.seq));
  EXPECT_NE(Ok(Earn("s7", "issuer:town", "m2", "1")).receipt.pending_expires_unix_us, 0);
  // Each member and each issuer account has its own allowance.
  EXPECT_EQ(Ok(Earn("s8", "issuer:town", "m1", "100")).receipt.pending_expires_unix_us, 0);
  EXPECT_EQ(Ok(Earn("s9", "issuer:exchange", "m2", "100")).receipt.pending_expires_unix_us, 0);
  // The next programme day starts afresh (16:00 Shanghai + 8 h).
  now_->fetch_add(8LL * 3600 * 1'000'000);
  EXPECT_EQ(Ok(Earn("s10", "issuer:town", "m2", "100")).receipt.pending_expires_unix_us, 0);
  EXPECT_NE(Ok(Earn("s11", "issuer:town", "m2", "0.01")).receipt.pending_expires_unix_us, 0);
}

TEST_F(Programme, StudentPointsStayWithStudentsAndHoursGoOnlyToFamilyOrThePool) {
  // Default: a student's POINTS are not transferable; hours and non-students are open.
  EXPECT_REASON(Try(testing::Transfer("g1", "m1", "m2", "1")), Reason::kTransferNotAllowed);
  Ok(testing::Transfer("g2", "m1", "m2", "1", "HOURS"));
  Ok(Tags("tag:m1:none", "m1", {}));
  Ok(testing::Transfer("g3", "m1", "m2", "1"));

  // Shanghai: HOURS only to registered family or the donation pool.
  Run({testing::Open("o:pool", "system:pool", v1::ACCOUNT_KIND_SYSTEM, "爱心时间池"),
       Policy("p:hours", "HOURS", "", v1::TRANSFER_RULE_FAMILY_OR_POOL, "system:pool")});
  EXPECT_REASON(Try(testing::Transfer("g4", "m1", "m2", "1", "HOURS")), Reason::kNotFamily);
  Ok(Family("fam:m1", "m1", {"m2"}));
  Ok(testing::Transfer("g5", "m1", "m2", "1", "HOURS"));
  Ok(testing::Transfer("g6", "m1", "system:pool", "2", "HOURS"));  // a donation
  EXPECT_EQ(B("system:pool", "HOURS"), "2.00");
  EXPECT_REASON(Try(testing::Transfer("g7", "m2", "m1", "1", "HOURS")), Reason::kNotFamily);

  // A tag's policy wins over the programme-wide one; CLOSED closes it for everyone.
  Ok(Policy("p:student-points", "POINTS", "student", v1::TRANSFER_RULE_OPEN));
  Ok(testing::Transfer("g8", "m2", "m1", "1"));
  Ok(Policy("p:points", "POINTS", "", v1::TRANSFER_RULE_CLOSED));
  EXPECT_REASON(Try(testing::Transfer("g9", "m1", "m2", "1")), Reason::kTransferNotAllowed);
  Ok(testing::Transfer("g10", "m2", "m1", "1"));  // m2's student tag keeps its OPEN rule

  struct Case {
    const char* name;
    v1::Command command;
    Reason reason;
  };
  const std::vector<Case> cases = {
      {"tag with a capital", Tags("b1", "m1", {"Student"}), Reason::kTagsInvalid},
      {"tag twice", Tags("b2", "m1", {"student", "student"}), Reason::kTagsInvalid},
      {"tags of an unknown account", Tags("b3", "nobody", {"student"}), Reason::kAccountUnknown},
      {"family with oneself", Family("b4", "m1", {"m1"}), Reason::kFamilyInvalid},
      {"family with a store", Family("b5", "m1", {"store:main"}), Reason::kAccountKindMismatch},
      {"policy without a rule", Policy("b6", "HOURS", "", v1::TRANSFER_RULE_UNSPECIFIED),
       Reason::kTransferPolicyInvalid},
      {"pool with an open rule", Policy("b7", "HOURS", "", v1::TRANSFER_RULE_OPEN, "system:pool"),
       Reason::kTransferPolicyInvalid},
      {"pool that is a member", Policy("b8", "HOURS", "", v1::TRANSFER_RULE_FAMILY_OR_POOL, "m2"),
       Reason::kAccountKindMismatch},
      {"policy for goods", Policy("b9", "RICE_5KG", "", v1::TRANSFER_RULE_OPEN),
       Reason::kAssetIsStock},
      {"rule in hours",
       [] {
         auto c = Rule("b10", "HOURS_RULE", "1", v1::AWARD_FREQUENCY_UNLIMITED);
         c.mutable_set_award_rule()->set_asset("HOURS");
         return c;
       }(),
       Reason::kAwardRuleInvalid},
      {"rule without a frequency", Rule("b11", "R", "1", v1::AWARD_FREQUENCY_UNSPECIFIED),
       Reason::kAwardRuleInvalid},
      {"rule of nothing", Rule("b12", "R", "0", v1::AWARD_FREQUENCY_UNLIMITED),
       Reason::kAmountZero},
      {"approve seq 0", Approve("b13", 0, "checker"), Reason::kPendingCommandInvalid},
      {"reject without a reason",
       [] {
         auto c = Reject("b14", 5, "checker");
         c.mutable_reject()->clear_reason();
         return c;
       }(),
       Reason::kPendingCommandInvalid},
      {"a client's expiry",
       [] {
         auto c = Base("b15");
         c.mutable_expire_pending()->set_seq(5);
         return c;
       }(),
       Reason::kPendingCommandInvalid},
  };
  for (const auto& c : cases) {
    const auto before = testing::WithoutRefusals(testing::DumpStore(dir_.path()));
    EXPECT_REASON(Try(c.command), c.reason) << c.name;
    EXPECT_EQ(testing::WithoutRefusals(testing::DumpStore(dir_.path())), before) << c.name;
  }
}

TEST_F(Programme, RulesPendingAndRelationshipsSurviveAReopen) {
  const Outcome pending = Ok(AwardBy("s1", "UNIVERSITY_ADMISSION", "m1", "maker"));
  Ok(Family("fam:m1", "m1", {"m2"}));
  ledger_.reset();
  Open();
  EXPECT_REASON(Try(AwardBy("s2", "UNIVERSITY_ADMISSION", "m1", "maker")),
                Reason::kAwardFrequencyExceeded);
  EXPECT_REASON(Try(testing::Transfer("s3", "m1", "m2", "1")), Reason::kTransferNotAllowed);
  Ok(Approve("s1:ok", pending.receipt.seq, "checker"));
  EXPECT_EQ(B("m1", "POINTS"), "3200.00");
}

// The audit replays the rules on its own: a journal rewritten so that the maker approved its own
// award, a transfer outside the family, and stored rule records edited behind the engine are
// each named.
TEST_F(Programme, TheAuditCatchesSelfApprovalPolicyBreachesAndEditedRuleRecords) {
  const Outcome pending = Ok(AwardBy("m1", "UNIVERSITY_ADMISSION", "m1", "maker"));
  const Outcome approved = Ok(Approve("m1:ok", pending.receipt.seq, "checker"));
  Ok(Family("fam:m1", "m1", {"m2"}));
  Ok(Policy("p:hours", "HOURS", "", v1::TRANSFER_RULE_FAMILY_OR_POOL));
  const Outcome gift = Ok(testing::Transfer("g1", "m1", "m2", "1", "HOURS"));
  v1::Command cap = Base("cap");
  cap.mutable_set_daily_hours_cap()->set_maximum("2");
  Ok(cap);
  ledger_.reset();
  RewriteJournal(dir_.path(), [&](v1::Entry& entry) {
    if (entry.seq() == approved.receipt.seq) {
      entry.mutable_command()->set_actor("maker");
      return true;
    }
    if (entry.seq() == gift.receipt.seq) {
      // To m3, who is not m1's registered family.
      entry.mutable_command()->mutable_transfer()->set_to("m3");
      return true;
    }
    return false;
  });
  {
    auto store = Store::Open(dir_.path(), StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    v1::AwardRuleRecord rule;
    std::string bytes;
    ASSERT_TRUE(
        (*store)
            ->db()
            ->Get({}, (*store)->handle(Family::kMeta), AwardRuleKey("STUDENT_PROGRESS"), &bytes)
            .ok());
    ASSERT_TRUE(rule.ParseFromString(bytes));
    rule.mutable_rule()->set_amount("5000");
    v1::DailyHoursCap daily;
    daily.set_maximum_minor("2400");
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put({}, (*store)->handle(Family::kMeta), AwardRuleKey("STUDENT_PROGRESS"),
                          rule.SerializeAsString())
                    .ok());
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put({}, (*store)->handle(Family::kMeta),
                          std::string(meta_key::kDailyHoursCap), daily.SerializeAsString())
                    .ok());
  }
  const audit::Report report = AuditDb(dir_.path());
  const std::string text = Describe(report);
  EXPECT_NE(text.find(Cat("RULE_VIOLATED seq=", approved.receipt.seq)), std::string::npos) << text;
  EXPECT_NE(text.find("approved by its own maker"), std::string::npos) << text;
  EXPECT_NE(text.find(Cat("RULE_VIOLATED seq=", gift.receipt.seq)), std::string::npos) << text;
  EXPECT_NE(text.find("[meta award_rule:STUDENT_PROGRESS]"), std::string::npos) << text;
  EXPECT_NE(text.find("[meta daily_hours_cap]"), std::string::npos) << text;
  expect_clean_audit_ = false;  // these findings are the point
}

v1::Command Budget(const std::string& id, const std::string& account, const std::string& asset,
                   const std::string& amount) {
  v1::Command command = testing::SetBudget(id, account, asset, amount);
  command.set_actor("admin");
  return command;
}

// Issue #28: an issuer's budget raised or lowered by a journaled command, never below what the
// issuer has issued; every later earning is held to the budget then in force, across a restart;
// the audit replays the same rule (TearDown: clean).
TEST_F(Programme, AnIssuersBudgetIsRaisedAndLoweredNeverBelowWhatItHasIssued) {
  Ok(Earn("x:1", "issuer:exchange", "m1", "9000"));
  EXPECT_REASON(Try(Earn("x:2", "issuer:exchange", "m1", "1001")), Reason::kBudgetExceeded);
  Ok(Budget("b:raise", "issuer:exchange", "POINTS", "12000"));
  Ok(Earn("x:3", "issuer:exchange", "m1", "1001"));  // 10,001 issued
  const Outcome below = Try(Budget("b:low", "issuer:exchange", "POINTS", "10000.99"));
  EXPECT_REASON(below, Reason::kBudgetBelowIssued);
  EXPECT_TRUE(Try(Budget("b:low", "issuer:exchange", "POINTS", "10000.99")).replayed);
  EXPECT_NE(below.message.find("10001.00 POINTS"), std::string::npos) << below.message;
  // Lowered to exactly what it issued: it issues nothing more until points come back.
  Ok(Budget("b:stop", "issuer:exchange", "POINTS", "10001"));
  EXPECT_REASON(Try(Earn("x:4", "issuer:exchange", "m1", "0.01")), Reason::kBudgetExceeded);
  Ok(testing::Deduct("d:1", "m1", "issuer:exchange", "1"));  // one point back
  // A budget in an asset it had none in: HOURS from 0 to 5.
  EXPECT_REASON(Try(Earn("h:1", "issuer:exchange", "m1", "1", "HOURS")), Reason::kBudgetExceeded);
  Ok(Budget("b:hours", "issuer:exchange", "HOURS", "5"));
  // What is refused, and why.
  EXPECT_REASON(Try(Budget("b:m1", "m1", "POINTS", "5")), Reason::kBudgetInvalid);
  // Donated goods are limited by no budget (an issuer's floor in goods is the asset's maximum).
  EXPECT_REASON(Try(Budget("b:goods", "issuer:goods", "RICE_5KG", "5")), Reason::kBudgetInvalid);
  EXPECT_REASON(Try(Budget("b:nobody", "nobody", "POINTS", "5")), Reason::kAccountUnknown);
  EXPECT_REASON(Try(Budget("b:asset", "issuer:exchange", "GOLD", "5")), Reason::kAssetUnknown);
  EXPECT_REASON(Try(Budget("b:scale", "issuer:exchange", "POINTS", "1.001")),
                Reason::kAmountTooManyDecimals);
  EXPECT_REASON(Try(Budget("b:sign", "issuer:exchange", "POINTS", "-5")), Reason::kAmountSign);
  EXPECT_REASON(Try(Budget("b:empty", "", "POINTS", "5")), Reason::kAccountIdInvalid);
  // The record shows the budgets in force, and they hold after a restart.
  ledger_.reset();
  Open();
  auto record = ledger_->GetAccount("issuer:exchange");
  ASSERT_TRUE(record.ok()) << record.status();
  std::map<std::string, std::string> budgets;
  for (const auto& budget : record->budgets()) budgets[budget.asset()] = budget.amount();
  EXPECT_EQ(budgets, (std::map<std::string, std::string>{{"HOURS", "5"}, {"POINTS", "10001"}}));
  Ok(Earn("x:5", "issuer:exchange", "m1", "1"));  // the point that came back
  EXPECT_REASON(Try(Earn("x:6", "issuer:exchange", "m1", "0.01")), Reason::kBudgetExceeded);
  Ok(Earn("h:2", "issuer:exchange", "m1", "5", "HOURS"));
  EXPECT_REASON(Try(Earn("h:3", "issuer:exchange", "m1", "0.01", "HOURS")),
                Reason::kBudgetExceeded);
}

// The audit's own budget rule, on a journal edited after the fact: a budget lowered below what
// the issuer had issued, and an earning past the budget then in force (the raise it relied on
// edited down).
TEST_F(Programme, TheAuditFindsABudgetBelowWhatWasIssuedAndEarningsPastTheBudgetInForce) {
  Ok(Earn("x:1", "issuer:exchange", "m1", "9000"));
  const std::uint64_t lowered = Ok(Budget("b:1", "issuer:exchange", "POINTS", "9500")).receipt.seq;
  const std::uint64_t raised = Ok(Budget("b:2", "issuer:exchange", "POINTS", "12000")).receipt.seq;
  const std::uint64_t past = Ok(Earn("x:2", "issuer:exchange", "m1", "2500")).receipt.seq;
  ledger_.reset();
  RewriteJournal(dir_.path(), [&](v1::Entry& entry) {
    if (entry.seq() == lowered) {
      entry.mutable_command()->mutable_set_budget()->mutable_budget()->set_amount("8000");
    } else if (entry.seq() == raised) {
      entry.mutable_command()->mutable_set_budget()->mutable_budget()->set_amount("11000");
    } else {
      return false;
    }
    return true;
  });
  const audit::Report report = AuditDb(dir_.path());
  const std::string text = Describe(report);
  EXPECT_NE(text.find(Cat("RULE_VIOLATED seq=", lowered)), std::string::npos) << text;
  EXPECT_NE(text.find("below the 9000.00 it had issued"), std::string::npos) << text;
  EXPECT_NE(text.find(Cat("BALANCE_LIMIT seq=", past)), std::string::npos) << text;
  expect_clean_audit_ = false;  // these findings are the point
}

}  // namespace
}  // namespace lovebank
