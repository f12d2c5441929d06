// Hours buy services (issue #26; docs/exchange.md): a request posted, accepted (its hours held
// in escrow), completed and confirmed moves exactly the hours recorded, under both funding
// models; cancellation, a no-show, an over-claim, a double confirmation, a stranger and an
// expired request are refused or settled as specified; the provider's hours count as served;
// the audit replays it all and finds an edited request. Every refusal moves nothing.

#include <atomic>
#include <map>
#include <set>

#include "gtest/gtest.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"
#include "tests/supermarket_fixture.h"

namespace lovebank {
namespace {

using testing::Grant;

// The fixture's clock starts at 2026-11-01T08:00Z, 16:00 on 1 November in Asia/Shanghai.
constexpr const char* kDay = "2026-11-03";

v1::Command Post(const std::string& id, const std::string& member, const std::string& hours,
                 const std::string& actor = "tester",
                 v1::ServiceKind kind = v1::SERVICE_KIND_REQUEST, const std::string& day = kDay) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor(actor);
  v1::PostService& post = *command.mutable_post_service();
  post.set_kind(kind);
  post.set_member(member);
  post.set_category("陪护");
  post.set_description("陪同去镇卫生院复查");
  post.set_place("柳树村");
  post.set_day(day);
  post.set_time("09:00-11:00");
  post.set_hours(hours);
  return command;
}

v1::Command Step(const std::string& id, const std::string& actor) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor(actor);
  return command;
}

v1::Command Accept(const std::string& id, std::uint64_t seq, const std::string& provider,
                   const std::string& actor = "tester") {
  v1::Command command = Step(id, actor);
  command.mutable_accept_service()->set_service_seq(seq);
  command.mutable_accept_service()->set_provider(provider);
  return command;
}

v1::Command Complete(const std::string& id, std::uint64_t seq, const std::string& hours,
                     const std::string& actor = "tester") {
  v1::Command command = Step(id, actor);
  command.mutable_complete_service()->set_service_seq(seq);
  command.mutable_complete_service()->set_hours(hours);
  return command;
}

v1::Command Confirm(const std::string& id, std::uint64_t seq, const std::string& hours,
                    const std::string& actor = "tester") {
  v1::Command command = Step(id, actor);
  command.mutable_confirm_service()->set_service_seq(seq);
  command.mutable_confirm_service()->set_hours(hours);
  return command;
}

v1::Command Cancel(const std::string& id, std::uint64_t seq, const std::string& actor = "tester") {
  v1::Command command = Step(id, actor);
  command.mutable_cancel_service()->set_service_seq(seq);
  command.mutable_cancel_service()->set_reason("服务者未到");
  return command;
}

v1::Command Dispute(const std::string& id, std::uint64_t seq, const std::string& actor = "tester") {
  v1::Command command = Step(id, actor);
  command.mutable_dispute_service()->set_service_seq(seq);
  command.mutable_dispute_service()->set_reason("只陪了一个小时");
  return command;
}

v1::Command Resolve(const std::string& id, std::uint64_t seq, const std::string& hours,
                    const std::string& actor = "tester") {
  v1::Command command = Step(id, actor);
  command.mutable_resolve_service()->set_service_seq(seq);
  command.mutable_resolve_service()->set_hours(hours);
  command.mutable_resolve_service()->set_reason("社工核实：陪护一小时");
  return command;
}

// `command` made by `actor` (after the first grant the audit checks every actor's grant).
v1::Command As(const std::string& actor, v1::Command command) {
  command.set_actor(actor);
  return command;
}

v1::Command Policy(const std::string& id, const v1::ServicePolicy& policy) {
  v1::Command command = Step(id, "tester");
  *command.mutable_set_setting()->mutable_value()->mutable_service_policy() = policy;
  return command;
}

class Services : public Supermarket {
 protected:
  void StopClock() { step_->store(0); }

  v1::ServiceRecord ServiceOf(std::uint64_t seq) {
    auto service = ledger_->GetService(seq);
    EXPECT_TRUE(service.ok()) << service.status();
    return service.ok() ? *service : v1::ServiceRecord{};
  }

  std::string Served(const std::string& member) {
    auto profile = ledger_->GetVolunteerProfile(member);
    EXPECT_TRUE(profile.ok()) << profile.status();
    return profile.ok() ? FormatAmount(Amount::FromMinor(profile->earned_hours_minor), 2) : "";
  }

  void ExpectAuditClean() {
    const audit::Report report = AuditDb(dir_.path());
    EXPECT_EQ(report.findings_total, 0u) << Describe(report);
  }

  // Everything that a refusal must leave as it was.
  std::string Snapshot() {
    return Cat(ledger_->GetHead().seq, "|", B("m1", "HOURS"), "|", B("m2", "HOURS"), "|",
               B(std::string(kHoldsAccount), "HOURS"));
  }

  // A request of m1 for 2 hours, taken by m2: its seq.
  std::uint64_t Accepted(const std::string& tag) {
    const std::uint64_t seq = Ok(Post("p:" + tag, "m1", "2")).receipt.seq;
    Ok(Accept("a:" + tag, seq, "m2"));
    return seq;
  }
};

TEST_F(Services, AConfirmedServicePaysTheHoursRecordedAndGivesTheRestBackMemberToMember) {
  const std::string escrow(kHoldsAccount);
  const Outcome posted = Ok(Post("p1", "m1", "2"));
  const std::uint64_t seq = posted.receipt.seq;
  v1::ServiceRecord service = ServiceOf(seq);
  EXPECT_EQ(service.state(), v1::SERVICE_STATE_OPEN);
  EXPECT_EQ(service.hours_minor(), "200");
  EXPECT_EQ(service.category(), "陪护");                       // UTF-8 round-trips
  EXPECT_EQ(service.expires_unix_us(), Utc(2026, 11, 3, 16));  // 4 November 00:00 +08:00
  EXPECT_EQ(B("m1", "HOURS"), "20.00");                        // nothing held until someone accepts

  const Outcome accepted = Ok(Accept("a1", seq, "m2"));
  EXPECT_EQ(B("m1", "HOURS"), "18.00");
  EXPECT_EQ(B(escrow, "HOURS"), "2.00");
  service = ServiceOf(seq);
  EXPECT_EQ(service.state(), v1::SERVICE_STATE_ACCEPTED);
  EXPECT_EQ(service.provider(), "m2");
  EXPECT_EQ(service.accepted_seq(), accepted.receipt.seq);
  EXPECT_EQ(service.funding(), v1::SERVICE_FUNDING_MEMBER_TO_MEMBER);
  EXPECT_EQ(service.expires_unix_us(), Utc(2026, 11, 3, 16) + kServiceGraceMicros);

  Ok(Complete("c1", seq, "1.5"));
  EXPECT_EQ(ServiceOf(seq).claimed_minor(), "150");
  EXPECT_EQ(B("m2", "HOURS"), "0.00");  // nothing paid before the confirmation
  // The hours the requester agrees to are the ones recorded: others are refused.
  EXPECT_REASON(ledger_->Execute(Confirm("f:other", seq, "2")), Reason::kServiceClosed);
  const Outcome confirmed = Ok(Confirm("f1", seq, "1.5"));
  EXPECT_EQ(B("m1", "HOURS"), "18.50");
  EXPECT_EQ(B("m2", "HOURS"), "1.50");
  EXPECT_EQ(B(escrow, "HOURS"), "0.00");
  service = ServiceOf(seq);
  EXPECT_EQ(service.state(), v1::SERVICE_STATE_CONFIRMED);
  EXPECT_EQ(service.paid_minor(), "150");
  EXPECT_EQ(service.closed_seq(), confirmed.receipt.seq);
  EXPECT_EQ(service.expires_unix_us(), 0);
  // The provider's time counts as served hours (the star and the certificate), the requester's
  // spending does not lower its own.
  EXPECT_EQ(Served("m2"), "1.50");
  EXPECT_EQ(Served("m1"), "20.00");

  // A retried confirmation is the same receipt, applied once; another one is refused.
  const Outcome again = ledger_->Execute(Confirm("f1", seq, "1.5"));
  EXPECT_TRUE(again.ok());
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.receipt.seq, confirmed.receipt.seq);
  const std::string before = Snapshot();
  const Outcome twice = ledger_->Execute(Confirm("f2", seq, "1.5"));
  EXPECT_REASON(twice, Reason::kServiceClosed);
  EXPECT_NE(twice.message.find("confirmed"), std::string::npos) << twice.message;
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Served("m2"), "1.50");
  ExpectAuditClean();
  // The notice's month is the service's day; one service of 陪护 at 柳树村, 1.50 hours paid.
  const audit::Report report = AuditDb(dir_.path());
  bool counted = false;
  for (const auto& month : report.programme_months) {
    if (month.month != "2026-11") continue;
    const std::pair<std::string, std::string> key{"陪护", "柳树村"};
    ASSERT_TRUE(month.services.contains(key));
    EXPECT_EQ(month.services.at(key), 1u);
    EXPECT_EQ(month.service_hours_minor.at(key), 150);
    counted = true;
  }
  EXPECT_TRUE(counted);
}

TEST_F(Services, ThroughTheProgrammeTheProviderEarnsFromTheIssuerAndTheHoursMoveAlike) {
  v1::ServicePolicy policy;
  policy.set_funding(v1::SERVICE_FUNDING_PROGRAMME);
  policy.set_issuer("issuer:town");
  Ok(Policy("policy", policy));
  const std::uint64_t seq = Accepted("1");
  EXPECT_EQ(ServiceOf(seq).funding(), v1::SERVICE_FUNDING_PROGRAMME);
  EXPECT_EQ(ServiceOf(seq).issuer(), "issuer:town");
  // The funding is the one at the acceptance: a later change does not touch this service.
  Ok(Policy("policy:back", v1::ServicePolicy()));
  Ok(Complete("c1", seq, "2"));
  const std::string issuer_before = B("issuer:town", "HOURS");
  Ok(Confirm("f1", seq, "2"));
  EXPECT_EQ(B("m1", "HOURS"), "18.00");
  EXPECT_EQ(B("m2", "HOURS"), "2.00");
  EXPECT_EQ(B(std::string(kHoldsAccount), "HOURS"), "0.00");
  // Redeemed to the issuer and earned from it: the issuer's two legs cancel.
  EXPECT_EQ(B("issuer:town", "HOURS"), issuer_before);
  EXPECT_EQ(ServiceOf(seq).funding(), v1::SERVICE_FUNDING_PROGRAMME);
  EXPECT_EQ(Served("m2"), "2.00");

  // PROGRAMME funding names an ISSUER account.
  policy.set_issuer("m3");
  EXPECT_REASON(ledger_->Execute(Policy("policy:bad", policy)), Reason::kSettingInvalid);
  ExpectAuditClean();
}

TEST_F(Services, OverClaimsConfirmationsOutOfTurnAndTakingTwiceAreRefusedAndMoveNothing) {
  const std::uint64_t seq = Accepted("1");
  std::string before = Snapshot();
  // More than held.
  EXPECT_REASON(ledger_->Execute(Complete("c:over", seq, "2.01")), Reason::kServiceOverHeld);
  // Not yet completed.
  const Outcome early = ledger_->Execute(Confirm("f:early", seq, "2"));
  EXPECT_REASON(early, Reason::kServiceClosed);
  EXPECT_NE(early.message.find("not recorded"), std::string::npos) << early.message;
  // Taken already.
  EXPECT_REASON(ledger_->Execute(Accept("a:again", seq, "m1")), Reason::kServiceClosed);
  // Wrong scale, zero.
  EXPECT_REASON(ledger_->Execute(Complete("c:scale", seq, "1.005")),
                Reason::kAmountTooManyDecimals);
  EXPECT_REASON(ledger_->Execute(Complete("c:zero", seq, "0")), Reason::kAmountZero);
  EXPECT_EQ(Snapshot(), before);
  // Unknown service; a member serving itself; an offer taken; a day over; a frozen member.
  EXPECT_REASON(ledger_->Execute(Confirm("f:none", 999, "1")), Reason::kServiceUnknown);
  const std::uint64_t own = Ok(Post("p:own", "m1", "1")).receipt.seq;
  EXPECT_REASON(ledger_->Execute(Accept("a:own", own, "m1")), Reason::kServiceNotAllowed);
  const std::uint64_t offer =
      Ok(Post("p:offer", "m2", "", "tester", v1::SERVICE_KIND_OFFER)).receipt.seq;
  EXPECT_REASON(ledger_->Execute(Accept("a:offer", offer, "m1")), Reason::kServiceClosed);
  EXPECT_REASON(
      ledger_->Execute(Post("p:past", "m1", "1", "tester", v1::SERVICE_KIND_REQUEST, "2026-11-01")),
      Reason::kOk);  // today is not over yet
  EXPECT_REASON(
      ledger_->Execute(Post("p:over", "m1", "1", "tester", v1::SERVICE_KIND_REQUEST, "2026-10-31")),
      Reason::kServiceClosed);
  EXPECT_REASON(
      ledger_->Execute(Post("p:far", "m1", "1", "tester", v1::SERVICE_KIND_REQUEST, "2027-03-01")),
      Reason::kServiceNotAllowed);
  EXPECT_REASON(ledger_->Execute(Post("p:frozen", "m3", "1")), Reason::kAccountFrozen);
  EXPECT_REASON(ledger_->Execute(Accept("a:frozen", own, "m3")), Reason::kAccountFrozen);
  // Without the hours to hold: m2 holds none.
  const std::uint64_t poor = Ok(Post("p:poor", "m2", "1")).receipt.seq;
  before = Snapshot();
  EXPECT_REASON(ledger_->Execute(Accept("a:poor", poor, "m1")), Reason::kInsufficientBalance);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(ServiceOf(poor).state(), v1::SERVICE_STATE_OPEN);
  // Syntax: a member serving itself named as the provider, an offer with hours, seq 0.
  v1::Command self = Post("p:self", "m1", "1");
  self.mutable_post_service()->set_provider("m1");
  EXPECT_REASON(ledger_->Execute(self), Reason::kServiceInvalid);
  EXPECT_REASON(
      ledger_->Execute(Post("p:offer-hours", "m2", "1", "tester", v1::SERVICE_KIND_OFFER)),
      Reason::kServiceInvalid);
  EXPECT_REASON(ledger_->Execute(Confirm("f:zero", 0, "1")), Reason::kServiceInvalid);
  EXPECT_REASON(ledger_->Execute(Confirm("f:no-hours", seq, "")), Reason::kServiceInvalid);
  v1::Command client_expiry = Step("lovebank:service:5", "lovebank");
  client_expiry.mutable_expire_service()->set_service_seq(5);
  EXPECT_REASON(ledger_->Execute(client_expiry), Reason::kServiceInvalid);
  ExpectAuditClean();
}

TEST_F(Services, OnlyTheRequesterTheProviderAndSocialWorkersActAndTheSequencerDecides) {
  Run({testing::Open("o:m4", "m4", v1::ACCOUNT_KIND_MEMBER, "路人"),
       Grant("g:admin", "admin", v1::ROLE_ADMIN, {}, 'a'),
       As("admin", Grant("g:m1", "phone:m1", v1::ROLE_MEMBER, {"m1"}, '1')),
       As("admin", Grant("g:m2", "phone:m2", v1::ROLE_MEMBER, {"m2"}, '2')),
       As("admin", Grant("g:m4", "phone:m4", v1::ROLE_MEMBER, {"m4"}, '4')),
       As("admin", Grant("g:sw", "worker", v1::ROLE_ISSUER, {"issuer:town"}, 's')),
       As("admin", Grant("g:till", "till", v1::ROLE_TERMINAL, {"store:main"}, 't'))});
  // A member posts for itself only; a social worker for anyone.
  EXPECT_REASON(ledger_->Execute(Post("p:other", "m1", "2", "phone:m2")),
                Reason::kPermissionDenied);
  EXPECT_REASON(ledger_->Execute(Post("p:till", "m1", "2", "till")), Reason::kPermissionDenied);
  const std::uint64_t seq = Ok(Post("p1", "m1", "2", "phone:m1")).receipt.seq;
  Ok(Post("p:sw", "m1", "1", "worker"));
  // A member accepts as itself only.
  EXPECT_REASON(ledger_->Execute(Accept("a:as-other", seq, "m2", "phone:m4")),
                Reason::kPermissionDenied);
  Ok(Accept("a1", seq, "m2", "phone:m2"));
  // The requester does not record the provider's time, a stranger nothing.
  EXPECT_REASON(ledger_->Execute(Complete("c:requester", seq, "2", "phone:m1")),
                Reason::kPermissionDenied);
  EXPECT_REASON(ledger_->Execute(Complete("c:stranger", seq, "2", "phone:m4")),
                Reason::kPermissionDenied);
  Ok(Complete("c1", seq, "2", "phone:m2"));
  const std::string before = Snapshot();
  // The provider does not confirm its own service; a stranger cannot; nor a till.
  EXPECT_REASON(ledger_->Execute(Confirm("f:provider", seq, "2", "phone:m2")),
                Reason::kPermissionDenied);
  EXPECT_REASON(ledger_->Execute(Confirm("f:stranger", seq, "2", "phone:m4")),
                Reason::kPermissionDenied);
  EXPECT_REASON(ledger_->Execute(Confirm("f:till", seq, "2", "till")), Reason::kPermissionDenied);
  EXPECT_REASON(ledger_->Execute(Cancel("x:stranger", seq, "phone:m4")), Reason::kPermissionDenied);
  EXPECT_REASON(ledger_->Execute(Dispute("d:stranger", seq, "phone:m4")),
                Reason::kPermissionDenied);
  EXPECT_EQ(Snapshot(), before);
  // A social worker that took no part does not raise a dispute (then resolve it alone).
  EXPECT_REASON(ledger_->Execute(Dispute("d:worker", seq, "worker")), Reason::kPermissionDenied);
  // The requester disputes; only a social worker resolves.
  Ok(Dispute("d1", seq, "phone:m1"));
  EXPECT_REASON(ledger_->Execute(Resolve("r:member", seq, "2", "phone:m1")),
                Reason::kPermissionDenied);
  EXPECT_REASON(ledger_->Execute(Resolve("r:provider", seq, "2", "phone:m2")),
                Reason::kPermissionDenied);
  Ok(Resolve("r1", seq, "1", "worker"));
  EXPECT_EQ(B("m2", "HOURS"), "1.00");
  EXPECT_EQ(B("m1", "HOURS"), "19.00");
  EXPECT_EQ(ServiceOf(seq).state(), v1::SERVICE_STATE_RESOLVED);
  EXPECT_EQ(Served("m2"), "1.00");
  // A device revoked while its confirmation waited is refused by the sequencer.
  const std::uint64_t next = Ok(Post("p2", "m1", "1", "phone:m1")).receipt.seq;
  Ok(Accept("a2", next, "m4", "worker"));  // the social worker assigns m4
  Ok(Complete("c2", next, "1", "worker"));
  Ok(As("admin", testing::Revoke("rv:m1", "phone:m1")));
  EXPECT_REASON(ledger_->Execute(Confirm("f2", next, "1", "phone:m1")), Reason::kPermissionDenied);
  // Maker-checker: the social worker who assigned the provider and recorded the time does not
  // also pay it out; another (here the admin) does.
  EXPECT_REASON(ledger_->Execute(Confirm("f2:sw", next, "1", "worker")),
                Reason::kMakerCannotApprove);
  EXPECT_EQ(B("m4", "HOURS"), "0.00");
  Ok(Confirm("f2:admin", next, "1", "admin"));
  EXPECT_EQ(B("m4", "HOURS"), "1.00");
  ExpectAuditClean();
}

TEST_F(Services, ADeviceWithAPinConfirmsWithItsOwnCodeMadeWithIt) {
  v1::Command grant = Grant("g:admin", "admin", v1::ROLE_ADMIN, {}, 'a');
  v1::Command phone = As("admin", Grant("g:m1", "phone:m1", v1::ROLE_MEMBER, {"m1"}, '1'));
  phone.mutable_grant_principal()->set_activation_ttl_seconds(3600);
  Run({grant, phone, testing::Activate("act:m1", "phone:m1", 'p')});
  v1::Command pin = Step("pin:m1", "phone:m1");
  pin.mutable_set_device_pin()->set_principal("phone:m1");
  pin.mutable_set_device_pin()->set_pin_key_wrapped(std::string(32, 'w'));
  pin.mutable_set_device_pin()->set_wrap_nonce(std::string(16, 'n'));
  const std::uint64_t pin_seq = Ok(pin).receipt.seq;
  const std::uint64_t seq = Ok(Post("p1", "m1", "2", "phone:m1")).receipt.seq;
  Ok(Accept("a1", seq, "m2", "admin"));
  Ok(Complete("c1", seq, "2", "admin"));
  StopClock();
  const std::string before = Snapshot();
  const Outcome bare = ledger_->Execute(Confirm("f:bare", seq, "2", "phone:m1"));
  EXPECT_REASON(bare, Reason::kPaymentCodeRequired);
  EXPECT_EQ(Snapshot(), before);
  v1::Command coded = Confirm("f:coded", seq, "2", "phone:m1");
  v1::PaymentConsent& consent = *coded.mutable_confirm_service()->mutable_consent();
  consent.set_device("phone:m1");
  consent.set_counter(static_cast<std::uint64_t>(now_->load() / 1'000'000 / 30) * 10);
  consent.set_pin_seq(pin_seq);
  Ok(coded);
  EXPECT_EQ(B("m2", "HOURS"), "2.00");
  ExpectAuditClean();
}

TEST_F(Services, CancellingANoShowGivesTheHoursBackAndAProviderWithdrawingReopensTheRequest) {
  const std::uint64_t open = Ok(Post("p:open", "m1", "2")).receipt.seq;
  Ok(Cancel("x:open", open));
  EXPECT_EQ(ServiceOf(open).state(), v1::SERVICE_STATE_CANCELLED);
  EXPECT_REASON(ledger_->Execute(Accept("a:late", open, "m2")), Reason::kServiceClosed);

  const std::uint64_t noshow = Accepted("noshow");
  EXPECT_EQ(B("m1", "HOURS"), "18.00");
  Ok(Cancel("x:noshow", noshow));
  EXPECT_EQ(B("m1", "HOURS"), "20.00");
  EXPECT_EQ(B(std::string(kHoldsAccount), "HOURS"), "0.00");
  EXPECT_EQ(ServiceOf(noshow).state(), v1::SERVICE_STATE_CANCELLED);
  EXPECT_REASON(ledger_->Execute(Complete("c:late", noshow, "2")), Reason::kServiceClosed);

  // The provider's own device withdraws: the hours go back and anyone may take it again.
  Run({Grant("g:admin", "admin", v1::ROLE_ADMIN, {}, 'a'),
       As("admin", Grant("g:m2", "phone:m2", v1::ROLE_MEMBER, {"m2"}, '2'))});
  const std::uint64_t withdrawn = Ok(Post("p:w", "m1", "2", "admin")).receipt.seq;
  Ok(Accept("a:w", withdrawn, "m2", "phone:m2"));
  Ok(Cancel("x:w", withdrawn, "phone:m2"));
  v1::ServiceRecord service = ServiceOf(withdrawn);
  EXPECT_EQ(service.state(), v1::SERVICE_STATE_OPEN);
  EXPECT_EQ(service.provider(), "");
  EXPECT_EQ(service.accepted_seq(), 0u);
  EXPECT_EQ(B("m1", "HOURS"), "20.00");
  Ok(Accept("a:w2", withdrawn, "m2", "admin"));
  EXPECT_EQ(B("m1", "HOURS"), "18.00");
  ExpectAuditClean();
}

TEST_F(Services, AnOpenRequestLapsesAtTheEndOfItsDayAndAnAcceptedOneAWeekLaterWithItsHoursBack) {
  StopClock();
  const std::uint64_t open = Ok(Post("p:open", "m1", "2")).receipt.seq;
  const std::uint64_t taken = Accepted("taken");
  const std::int64_t day_end = Utc(2026, 11, 3, 16);
  // One microsecond before the end of the day a command finds it still open...
  now_->store(day_end - 1);
  Ok(Earn("e:before", "issuer:town", "m2", "1"));
  EXPECT_EQ(ServiceOf(open).state(), v1::SERVICE_STATE_OPEN);
  // ...at the end of it the engine closes it before deciding anything later.
  now_->store(day_end);
  const std::uint64_t head = ledger_->GetHead().seq;
  const Outcome late = ledger_->Execute(Accept("a:late", open, "m2"));
  EXPECT_REASON(late, Reason::kServiceClosed);
  EXPECT_NE(late.message.find("expired"), std::string::npos) << late.message;
  auto lapse = ledger_->GetEntry(head + 1);
  ASSERT_TRUE(lapse.ok()) << lapse.status();
  EXPECT_EQ(lapse->entry.command().request_id(), ServiceExpireRequestId(open));
  EXPECT_EQ(lapse->entry.command().actor(), kEngineActor);
  EXPECT_EQ(lapse->entry.time_unix_us(), day_end);
  EXPECT_EQ(ServiceOf(open).state(), v1::SERVICE_STATE_EXPIRED);
  // The accepted one stands a week more (the provider may still record it), then lapses and
  // its hours go back; it survives a restart meanwhile.
  EXPECT_EQ(ServiceOf(taken).state(), v1::SERVICE_STATE_ACCEPTED);
  ledger_.reset();
  Open();
  EXPECT_EQ(B("m1", "HOURS"), "18.00");
  now_->store(day_end + kServiceGraceMicros);
  Ok(Earn("e:after", "issuer:town", "m2", "1"));  // any command: the lapse comes first
  EXPECT_EQ(ServiceOf(taken).state(), v1::SERVICE_STATE_EXPIRED);
  EXPECT_EQ(B("m1", "HOURS"), "20.00");
  EXPECT_REASON(ledger_->Execute(Complete("c:late", taken, "2")), Reason::kServiceClosed);
  ExpectAuditClean();
}

TEST_F(Services, OnceItsDayHasBegunANoShowIsADisputeNotTheRequestersCancellation) {
  Run({Grant("g:admin", "admin", v1::ROLE_ADMIN, {}, 'a'),
       As("admin", Grant("g:m1", "phone:m1", v1::ROLE_MEMBER, {"m1"}, '1')),
       As("admin", Grant("g:m2", "phone:m2", v1::ROLE_MEMBER, {"m2"}, '2')),
       As("admin", Grant("g:sw", "worker", v1::ROLE_ISSUER, {"issuer:town"}, 's'))});
  StopClock();
  const std::uint64_t seq = Ok(Post("p1", "m1", "2", "phone:m1")).receipt.seq;
  Ok(Accept("a1", seq, "m2", "phone:m2"));
  // Before the day: no dispute yet (nothing can have gone wrong), a cancellation is fine.
  EXPECT_REASON(ledger_->Execute(Dispute("d:early", seq, "phone:m1")), Reason::kServiceClosed);
  // The day begins (3 November 00:00 in Asia/Shanghai): the work may be done, so the requester
  // alone no longer takes the hours back; it disputes, and a social worker decides.
  now_->store(Utc(2026, 11, 2, 16));
  const std::string before = Snapshot();
  EXPECT_REASON(ledger_->Execute(Cancel("x:late", seq, "phone:m1")), Reason::kServiceClosed);
  EXPECT_EQ(Snapshot(), before);
  Ok(Dispute("d1", seq, "phone:m1"));
  EXPECT_EQ(ServiceOf(seq).expires_unix_us(), 0);  // held until decided, never lapses
  Ok(Resolve("r1", seq, "0", "worker"));
  EXPECT_EQ(B("m1", "HOURS"), "20.00");
  ExpectAuditClean();
}

TEST_F(Services, AProviderWithdrawingFromARequestAskedOfItLeavesItAskedOfIt) {
  Run({Grant("g:admin", "admin", v1::ROLE_ADMIN, {}, 'a'),
       As("admin", Grant("g:m2", "phone:m2", v1::ROLE_MEMBER, {"m2"}, '2'))});
  v1::Command booked = Post("p1", "m1", "2", "admin");
  booked.mutable_post_service()->set_provider("m2");
  const std::uint64_t seq = Ok(booked).receipt.seq;
  Ok(Accept("a1", seq, "m2", "phone:m2"));
  Ok(Cancel("x1", seq, "phone:m2"));
  EXPECT_EQ(ServiceOf(seq).state(), v1::SERVICE_STATE_OPEN);
  EXPECT_EQ(ServiceOf(seq).provider(), "m2");
  Run({As("admin", testing::Open("o:m4", "m4", v1::ACCOUNT_KIND_MEMBER, "路人"))});
  EXPECT_REASON(ledger_->Execute(Accept("a:other", seq, "m4", "admin")),
                Reason::kServiceNotAllowed);
  ExpectAuditClean();
}

TEST_F(Services, ServedHoursCountUnderTheDailyCapAndThroughTheProgrammeUnderTheStorageCap) {
  // The daily cap: 2 hours a day, of earnings and services together.
  v1::Command daily = Step("cap:daily", "tester");
  daily.mutable_set_daily_hours_cap()->set_maximum("2");
  Ok(daily);
  v1::Command earned = Earn("e:m2:hours", "issuer:town", "m2", "1.5", "HOURS");
  earned.mutable_earn()->mutable_activity()->set_name("敬老");
  earned.mutable_earn()->mutable_activity()->set_date(kDay);
  Ok(earned);
  const std::uint64_t seq = Accepted("1");
  Ok(Complete("c1", seq, "2"));
  EXPECT_REASON(ledger_->Execute(Confirm("f:over", seq, "2")), Reason::kLimitExceeded);
  daily.set_request_id("cap:daily:off");
  daily.mutable_set_daily_hours_cap()->set_maximum("0");
  Ok(daily);
  Ok(Confirm("f1", seq, "2"));
  EXPECT_EQ(B("m2", "HOURS"), "3.50");
  // The storage cap: through the programme the provider's credit is an earning, past the cap to
  // the pool; member to member it is a transfer the cap does not touch.
  Run({testing::Open("o:pool", "system:pool", v1::ACCOUNT_KIND_SYSTEM, "爱心时间池")});
  v1::Command cap = Step("cap", "tester");
  cap.mutable_set_hours_cap()->set_maximum("4");
  cap.mutable_set_hours_cap()->set_pool_account("system:pool");
  Ok(cap);
  const std::uint64_t plain = Accepted("2");
  Ok(Complete("c2", plain, "2"));
  Ok(Confirm("f2", plain, "2"));
  EXPECT_EQ(B("m2", "HOURS"), "5.50");  // past the cap: a transfer
  v1::ServicePolicy policy;
  policy.set_funding(v1::SERVICE_FUNDING_PROGRAMME);
  policy.set_issuer("issuer:town");
  Ok(Policy("policy", policy));
  const std::uint64_t funded = Accepted("3");
  Ok(Complete("c3", funded, "2"));
  Ok(Confirm("f3", funded, "2"));
  EXPECT_EQ(B("m2", "HOURS"), "5.50");  // already past 4: the programme's 2 go to the pool
  EXPECT_EQ(B("system:pool", "HOURS"), "2.00");
  EXPECT_EQ(Served("m2"), "7.50");  // 1.5 earned + 2 + 2 + 2 served
  ExpectAuditClean();
}

TEST_F(Services, TheAuditFindsAServiceConfirmedByAStrangerAndAServiceEntryReversed) {
  Run({Grant("g:admin", "admin", v1::ROLE_ADMIN, {}, 'a'),
       As("admin", Grant("g:m1", "phone:m1", v1::ROLE_MEMBER, {"m1"}, '1')),
       As("admin", Grant("g:m2", "phone:m2", v1::ROLE_MEMBER, {"m2"}, '2'))});
  const std::uint64_t seq = Ok(Post("p1", "m1", "2", "phone:m1")).receipt.seq;
  const std::uint64_t accepted = Ok(Accept("a1", seq, "m2", "phone:m2")).receipt.seq;
  Ok(Complete("c1", seq, "2", "phone:m2"));
  const std::uint64_t confirmed = Ok(Confirm("f1", seq, "2", "phone:m1")).receipt.seq;
  const std::uint64_t last = Ok(Post("p:last", "m1", "1", "phone:m1")).receipt.seq;
  ExpectAuditClean();
  ledger_.reset();
  // The provider's device made the confirmation, and the last entry became a reversal of the
  // acceptance (its postings negated): the chain re-made around both.
  std::vector<v1::Posting> held;
  RewriteJournal(dir_.path(), [&](v1::Entry& entry) {
    if (entry.seq() == accepted) held.assign(entry.postings().begin(), entry.postings().end());
    if (entry.seq() == confirmed) {
      entry.mutable_command()->set_actor("phone:m2");
      return true;
    }
    if (entry.seq() == last) {
      v1::Command reverse = As("admin", testing::Reverse("x:accept", accepted));
      *entry.mutable_command() = reverse;
      entry.clear_postings();
      for (const auto& posting : held) {
        v1::Posting& undo = *entry.add_postings();
        undo = posting;
        undo.set_amount_minor(posting.amount_minor()[0] == '-' ? posting.amount_minor().substr(1)
                                                               : "-" + posting.amount_minor());
      }
      return true;
    }
    return false;
  });
  const audit::Report report = AuditDb(dir_.path());
  bool stranger = false, reversed = false;
  for (const auto& finding : report.findings) {
    if (finding.seq == confirmed && finding.kind == audit::FindingKind::kActorNotAuthorized) {
      stranger = true;
    }
    if (finding.seq == last && finding.kind == audit::FindingKind::kReversalInvalid &&
        finding.found.find("moves no value") != std::string::npos) {
      reversed = true;
    }
  }
  EXPECT_TRUE(stranger) << Describe(report);
  EXPECT_TRUE(reversed) << Describe(report);
}

// The audit's own rules of who pays out and how, each caught on a journal edited after the fact
// (the engine refuses all of these when they are asked): a confirmation by a device with a PIN
// without its code, by the social worker who recorded the time, of other hours than recorded,
// and a requester's cancellation of an accepted request once its day began.
TEST_F(Services, TheAuditFindsPayoutsTheRulesForbidInAnEditedJournal) {
  v1::Command phone = As("admin", Grant("g:m1", "phone:m1", v1::ROLE_MEMBER, {"m1"}, '1'));
  phone.mutable_grant_principal()->set_activation_ttl_seconds(3600);
  Run({Grant("g:admin", "admin", v1::ROLE_ADMIN, {}, 'a'), phone,
       testing::Activate("act:m1", "phone:m1", 'p'),
       As("admin", Grant("g:sw", "worker", v1::ROLE_ISSUER, {"issuer:town"}, 's'))});
  v1::Command pin = Step("pin:m1", "phone:m1");
  pin.mutable_set_device_pin()->set_principal("phone:m1");
  pin.mutable_set_device_pin()->set_pin_key_wrapped(std::string(32, 'w'));
  pin.mutable_set_device_pin()->set_wrap_nonce(std::string(16, 'n'));
  Ok(pin);
  // Three services of m1: two assigned and recorded by the admin and confirmed by the worker,
  // one assigned and recorded by the worker and confirmed by the admin — until the journal is
  // edited to say otherwise.
  std::vector<std::uint64_t> confirmations;
  for (const std::string tag : {"a", "b", "c"}) {
    const std::uint64_t seq = Ok(Post("p:" + tag, "m1", "2", "phone:m1")).receipt.seq;
    Ok(Accept("a:" + tag, seq, "m2", tag == "b" ? "worker" : "admin"));
    Ok(Complete("c:" + tag, seq, "2", tag == "b" ? "worker" : "admin"));
    confirmations.push_back(
        Ok(Confirm("f:" + tag, seq, "2", tag == "b" ? "admin" : "worker")).receipt.seq);
  }
  // A fourth, cancelled by the worker after its day began (a worker may).
  StopClock();
  const std::uint64_t late = Ok(Post("p:d", "m1", "1", "phone:m1")).receipt.seq;
  Ok(Accept("a:d", late, "m2", "worker"));
  now_->store(Utc(2026, 11, 2, 17));
  const std::uint64_t cancelled = Ok(Cancel("x:d", late, "worker")).receipt.seq;
  ExpectAuditClean();
  ledger_.reset();
  RewriteJournal(dir_.path(), [&](v1::Entry& entry) {
    v1::Command& c = *entry.mutable_command();
    if (entry.seq() == confirmations[0]) {
      c.set_actor("phone:m1");  // the PIN device, with no code
    } else if (entry.seq() == confirmations[1]) {
      c.set_actor("worker");  // who recorded the time
    } else if (entry.seq() == confirmations[2]) {
      c.mutable_confirm_service()->set_hours("1.5");  // not what was recorded
    } else if (entry.seq() == cancelled) {
      c.set_actor("phone:m1");  // the requester, once the day began
    } else {
      return false;
    }
    return true;
  });
  const audit::Report report = AuditDb(dir_.path());
  std::map<std::uint64_t, std::set<audit::FindingKind>> found;
  for (const auto& finding : report.findings) found[finding.seq].insert(finding.kind);
  EXPECT_TRUE(found[confirmations[0]].contains(audit::FindingKind::kRuleViolated))
      << Describe(report);  // the member's consent
  EXPECT_TRUE(found[confirmations[1]].contains(audit::FindingKind::kActorNotAuthorized))
      << Describe(report);
  EXPECT_TRUE(found[confirmations[2]].contains(audit::FindingKind::kRuleViolated))
      << Describe(report);
  EXPECT_TRUE(found[cancelled].contains(audit::FindingKind::kRuleViolated)) << Describe(report);
}

TEST_F(Services, ADisputeWaitsForASocialWorkerWhosDecisionPaysAtMostTheHoursHeld) {
  const std::uint64_t seq = Accepted("1");
  Ok(Complete("c1", seq, "2"));
  EXPECT_REASON(ledger_->Execute(Resolve("r:early", seq, "1")), Reason::kServiceClosed);
  Ok(Dispute("d1", seq));
  EXPECT_REASON(ledger_->Execute(Confirm("f:disputed", seq, "2")), Reason::kServiceClosed);
  EXPECT_REASON(ledger_->Execute(Resolve("r:over", seq, "2.5")), Reason::kServiceOverHeld);
  Ok(Resolve("r:none", seq, "0"));
  EXPECT_EQ(B("m1", "HOURS"), "20.00");  // nothing paid: everything back
  EXPECT_EQ(B("m2", "HOURS"), "0.00");
  EXPECT_EQ(ServiceOf(seq).paid_minor(), "0");
  EXPECT_EQ(Served("m2"), "0.00");
  ExpectAuditClean();
}

TEST_F(Services, CategoriesStandardHoursAndWhoMaySpendAreTheProgrammesPolicy) {
  v1::ServicePolicy policy;
  auto* care = policy.add_categories();
  care->set_name("陪护");
  care->set_standard_hours("2");
  policy.add_categories()->set_name("理发");
  policy.add_spender_tags("elder");
  Ok(Policy("policy", policy));
  // m1 carries no "elder" tag: it may offer but not ask.
  EXPECT_REASON(ledger_->Execute(Post("p:untagged", "m1", "")), Reason::kServiceNotAllowed);
  Ok(Post("p:offer", "m1", "", "tester", v1::SERVICE_KIND_OFFER));
  v1::Command tags = Step("t:m1", "tester");
  tags.mutable_set_account_tags()->set_account("m1");
  tags.mutable_set_account_tags()->add_tags("elder");
  Ok(tags);
  // No hours named: the category's standard 2 hours.
  const std::uint64_t seq = Ok(Post("p:standard", "m1", "")).receipt.seq;
  EXPECT_EQ(ServiceOf(seq).hours_minor(), "200");
  v1::Command unknown = Post("p:unknown", "m1", "1");
  unknown.mutable_post_service()->set_category("跑腿");
  EXPECT_REASON(ledger_->Execute(unknown), Reason::kServiceCategoryUnknown);
  v1::Command no_rate = Post("p:no-rate", "m1", "");
  no_rate.mutable_post_service()->set_category("理发");
  EXPECT_REASON(ledger_->Execute(no_rate), Reason::kServiceCategoryUnknown);
  // A policy's rules of its own.
  v1::ServicePolicy bad;
  bad.add_categories()->set_name("陪护");
  bad.add_categories()->set_name("陪护");
  EXPECT_REASON(ledger_->Execute(Policy("policy:twice", bad)), Reason::kSettingInvalid);
  bad.clear_categories();
  bad.add_categories()->set_name("陪护");
  bad.mutable_categories(0)->set_standard_hours("0.001");
  EXPECT_REASON(ledger_->Execute(Policy("policy:scale", bad)), Reason::kSettingInvalid);
  ExpectAuditClean();
}

TEST_F(Services, AMemberHasAtMostTwentyServicesStanding) {
  for (std::size_t i = 0; i < kServiceOpenPerMemberMax; ++i) {
    Ok(Post(Cat("p", i), "m1", "1"));
  }
  EXPECT_REASON(ledger_->Execute(Post("p:one-more", "m1", "1")), Reason::kServiceNotAllowed);
  Ok(Cancel("x:first", ledger_->GetHead().seq));
  Ok(Post("p:room", "m1", "1"));
  ExpectAuditClean();
}

TEST_F(Services, TheAuditFindsAnEditedRequest) {
  const std::uint64_t seq = Accepted("1");
  Ok(Complete("c1", seq, "2"));
  Ok(Confirm("f1", seq, "2"));
  ExpectAuditClean();
  ledger_.reset();
  // The request said 2 hours; someone makes it say 3 and re-chains the journal.
  RewriteJournal(dir_.path(), [seq](v1::Entry& entry) {
    if (entry.seq() != seq) return false;
    entry.mutable_command()->mutable_post_service()->set_hours("3");
    return true;
  });
  const audit::Report report = AuditDb(dir_.path());
  EXPECT_GT(report.findings_total, 0u);
  bool postings = false;
  for (const auto& finding : report.findings) {
    if (finding.kind == audit::FindingKind::kPostingsMismatch && finding.seq == seq + 1) {
      postings = true;
    }
  }
  EXPECT_TRUE(postings) << Describe(report);
}

}  // namespace
}  // namespace lovebank
