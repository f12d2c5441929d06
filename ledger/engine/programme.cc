// Programme rules (issue #7; docs/programme.md): account tags, family (亲属) and the transfer
// (转赠) policy, the award catalogue with its frequencies, and maker-checker approval of awards
// and of earnings above a threshold. Pending entries lapse after 30 days with a journal entry
// the engine writes itself, like an expired hold.

#include <algorithm>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"
#include "ledger/format/journal_format.h"
#include "ledger/rules/settings.h"

namespace lovebank {
namespace {

const char* PendingStateName(v1::PendingState state) {
  switch (state) {
    case v1::PENDING_STATE_APPROVED:
      return "approved";
    case v1::PENDING_STATE_REJECTED:
      return "rejected";
    case v1::PENDING_STATE_EXPIRED:
      return "expired (not decided within 30 days)";
    default:
      return "pending";
  }
}

std::vector<std::string> Sorted(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::vector<std::string> sorted(items.begin(), items.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

}  // namespace

Outcome Engine::ApplyTransfer(const v1::Command& command, const std::string& fingerprint) {
  const v1::Move& move = command.transfer();
  v1::AccountKind to_kind = v1::ACCOUNT_KIND_MEMBER;
  const AccountState* from = FindAccount(move.from());
  // Unknown accounts and wrong kinds are ApplyMove's to refuse; the policy speaks for members.
  if (from != nullptr && from->record.kind() == v1::ACCOUNT_KIND_MEMBER &&
      (!settings_.empty() || from->record.tags_size() != 0)) {
    // The giver's tags' policies, the most restrictive winning; else the programme-wide one.
    v1::TransferRule rule = v1::TRANSFER_RULE_OPEN;
    std::string pool;
    bool tagged = false;
    for (const auto& tag : from->record.tags()) {
      auto policy = Setting<v1::TransferPolicyRecord>(TransferPolicyKey(move.asset(), tag));
      v1::TransferRule tag_rule = v1::TRANSFER_RULE_UNSPECIFIED;
      if (policy) {
        tag_rule = policy->policy().rule();
      } else if (tag == kStudentTag && move.asset() == kPointsAsset) {
        tag_rule = v1::TRANSFER_RULE_CLOSED;  // the default: student points stay with students
      }
      if (tag_rule == v1::TRANSFER_RULE_UNSPECIFIED) continue;
      if (!tagged || tag_rule > rule) {
        rule = tag_rule;
        pool = policy ? policy->policy().pool_account() : "";
      }
      tagged = true;
    }
    if (!tagged) {
      if (auto policy = Setting<v1::TransferPolicyRecord>(TransferPolicyKey(move.asset(), ""))) {
        rule = policy->policy().rule();
        pool = policy->policy().pool_account();
      }
    }
    if (rule == v1::TRANSFER_RULE_CLOSED) {
      return Refuse(command, fingerprint, Reason::kTransferNotAllowed,
                    Cat(move.asset(), " of ", move.from(),
                        " cannot be given to anyone under the programme's transfer policy"));
    }
    if (rule == v1::TRANSFER_RULE_FAMILY_OR_POOL) {
      const auto& relatives = from->record.relatives();
      if (!pool.empty() && move.to() == pool) {
        to_kind = v1::ACCOUNT_KIND_SYSTEM;
      } else if (std::find(relatives.begin(), relatives.end(), move.to()) == relatives.end()) {
        return Refuse(command, fingerprint, Reason::kNotFamily,
                      Cat(move.to(), " is not registered family of ", move.from(), ": ",
                          move.asset(), " may go only to family",
                          pool.empty() ? std::string() : Cat(" or the donation pool ", pool)));
      }
    }
  }
  return ApplyMove(command, fingerprint, move, v1::ACCOUNT_KIND_MEMBER, to_kind);
}

Outcome Engine::ApplySetAccountTags(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetAccountTags& set = command.set_account_tags();
  const AccountState* account = FindAccount(set.account());
  if (account == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", set.account()));
  }
  AccountState state = *account;
  state.record.clear_tags();
  for (auto& tag : Sorted(set.tags())) state.record.add_tags(std::move(tag));
  Outcome outcome = Append(command, fingerprint, {}, {set.account()});
  accounts_.Set(set.account(), std::move(state));
  return outcome;
}

Outcome Engine::ApplySetFamily(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetFamily& set = command.set_family();
  std::vector<const std::string*> accounts = {&set.member()};
  for (const auto& relative : set.relatives()) accounts.push_back(&relative);
  for (const std::string* id : accounts) {
    const AccountState* account = FindAccount(*id);
    if (account == nullptr) {
      return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", *id));
    }
    if (account->record.kind() != v1::ACCOUNT_KIND_MEMBER) {
      return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                    Cat(*id, " is not a MEMBER account: family links members"));
    }
  }
  AccountState state = *FindAccount(set.member());
  state.record.clear_relatives();
  for (auto& relative : Sorted(set.relatives())) state.record.add_relatives(std::move(relative));
  Outcome outcome = Append(command, fingerprint, {}, {set.member()});
  accounts_.Set(set.member(), std::move(state));
  return outcome;
}

Outcome Engine::ApplySetTransferPolicy(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetTransferPolicy& set = command.set_transfer_policy();
  const AssetState* asset = FindAsset(set.asset());
  if (asset == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, Cat("no asset ", set.asset()));
  }
  if (asset->record.stock()) {
    return Refuse(command, fingerprint, Reason::kAssetIsStock,
                  Cat(set.asset(), " is goods: members do not give goods to each other"));
  }
  if (!set.pool_account().empty()) {
    if (auto refused = CheckDonationPool(command, fingerprint, set.pool_account())) {
      return std::move(*refused);
    }
  }
  v1::TransferPolicyRecord record;
  *record.mutable_policy() = set;
  record.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(TransferPolicyKey(set.asset(), set.tag()), record);
  return outcome;
}

Outcome Engine::ApplySetAwardRule(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetAwardRule& rule = command.set_award_rule();
  const AssetState* asset = FindAsset(rule.asset());
  if (asset == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, Cat("no asset ", rule.asset()));
  }
  if (asset->record.stock()) {
    return Refuse(command, fingerprint, Reason::kAssetIsStock,
                  Cat(rule.asset(), " is goods: awards are points"));
  }
  AmountParse amount = ParseAmount(rule.amount(), asset->scale, asset->maximum_minor);
  if (!amount.ok()) {
    return Refuse(command, fingerprint, amount.reason,
                  Cat("amount ", Excerpt(rule.amount()), ": ", ReasonName(amount.reason)));
  }
  if (amount.amount.is_zero()) {
    return Refuse(command, fingerprint, Reason::kAmountZero, "a rule awards more than nothing");
  }
  const std::string key = AwardRuleKey(rule.code());
  v1::AwardRuleRecord record;
  const std::uint64_t seq = head_.seq + 1;
  if (auto earlier = Setting<v1::AwardRuleRecord>(key)) {
    record.set_defined_seq(earlier->defined_seq());
  } else {
    record.set_defined_seq(seq);
  }
  *record.mutable_rule() = rule;
  *record.mutable_rule()->mutable_eligible_tags() = {};
  for (auto& tag : Sorted(rule.eligible_tags())) record.mutable_rule()->add_eligible_tags(tag);
  record.set_changed_seq(seq);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(key, record);
  return outcome;
}

Outcome Engine::ApplyAward(const v1::Command& command, const std::string& fingerprint) {
  const v1::Award& award = command.award();
  auto record = Setting<v1::AwardRuleRecord>(AwardRuleKey(award.rule()));
  if (!record) {
    return Refuse(command, fingerprint, Reason::kAwardRuleUnknown, Cat("no rule ", award.rule()));
  }
  const v1::SetAwardRule& rule = record->rule();
  if (!rule.active()) {
    return Refuse(command, fingerprint, Reason::kAwardRuleInactive,
                  Cat("rule ", award.rule(), " was retired by entry ", record->changed_seq()));
  }
  const AccountState* member = FindAccount(award.member());
  const AccountState* issuer = FindAccount(award.issuer());
  auto check = [&](const AccountState* account, const std::string& id,
                   v1::AccountKind kind) -> std::optional<Outcome> {
    if (account == nullptr) {
      return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", id));
    }
    if (account->record.kind() != kind) {
      return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                    Cat(id, " is ", v1::AccountKind_Name(account->record.kind()),
                        ", an award needs ", v1::AccountKind_Name(kind)));
    }
    if (account->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refuse(command, fingerprint, Reason::kAccountFrozen,
                    Cat("account ", id, " is frozen"));
    }
    return std::nullopt;
  };
  if (auto refused = check(member, award.member(), v1::ACCOUNT_KIND_MEMBER)) return *refused;
  if (auto refused = check(issuer, award.issuer(), v1::ACCOUNT_KIND_ISSUER)) return *refused;
  const auto& tags = member->record.tags();
  for (const auto& tag : rule.eligible_tags()) {
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
      return Refuse(command, fingerprint, Reason::kNotEligible,
                    Cat(award.member(), " is not eligible for ", award.rule(), ": the rule needs ",
                        "the tag ", tag));
    }
  }
  const std::int64_t time = NextEntryTime();
  v1::AwardFacts facts;
  facts.set_rule(award.rule());
  facts.set_member(award.member());
  facts.set_asset(rule.asset());
  const AssetState* asset = FindAsset(rule.asset());
  const Int128 amount =
      ParseAmount(rule.amount(), asset->scale, asset->maximum_minor).amount.minor();
  facts.set_amount_minor(MinorToString(amount));
  facts.set_period(AwardPeriod(rule.frequency(), time));
  std::string usage_key;
  Int128 used = 0;
  if (!facts.period().empty()) {
    usage_key = AwardUsageKey(award.member(), award.rule(), facts.period());
    OrOutcome<Int128> stored = Used(usage_key);
    if (!stored.ok()) return std::move(stored).outcome();
    used = *stored;
    if (used >= 1) {
      return Refuse(command, fingerprint, Reason::kAwardFrequencyExceeded,
                    Cat(award.member(), " has had ", award.rule(), " already in period ",
                        facts.period(), " (ever: the rule is once ever)"));
    }
  }
  Outcome outcome;
  if (rule.needs_approval()) {
    v1::PendingRecord pending;
    pending.set_rule(award.rule());
    pending.set_from(rule.deduction() ? award.member() : award.issuer());
    pending.set_to(rule.deduction() ? award.issuer() : award.member());
    pending.set_member(award.member());
    pending.set_asset(rule.asset());
    pending.set_amount_minor(facts.amount_minor());
    pending.set_period(facts.period());
    outcome = MakePending(command, fingerprint, std::move(pending), &facts);
  } else {
    const std::string& payer = rule.deduction() ? award.member() : award.issuer();
    const std::string& payee = rule.deduction() ? award.issuer() : award.member();
    std::vector<ResolvedPosting> postings(2);
    postings[0] = {payer, rule.asset(), -amount};
    postings[1] = {payee, rule.asset(), amount};
    Outcome limits = CheckLimits(postings);
    if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
    outcome = Append(command, fingerprint, postings, {}, nullptr, time, &facts);
  }
  if (!usage_key.empty()) usage_.Set(usage_key, used + 1);
  return outcome;
}

Outcome Engine::ApplySetApprovalThreshold(const v1::Command& command,
                                          const std::string& fingerprint) {
  const v1::SetApprovalThreshold& set = command.set_approval_threshold();
  const AssetState* asset = FindAsset(set.asset());
  if (asset == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, Cat("no asset ", set.asset()));
  }
  if (asset->record.stock()) {
    return Refuse(command, fingerprint, Reason::kAssetIsStock,
                  Cat(set.asset(), " is goods: it is never earned"));
  }
  AmountParse amount = ParseAmount(set.amount(), asset->scale, asset->maximum_minor);
  if (!amount.ok()) {
    return Refuse(command, fingerprint, amount.reason,
                  Cat("amount ", Excerpt(set.amount()), ": ", ReasonName(amount.reason)));
  }
  v1::ApprovalThresholdRecord record;
  record.set_asset(set.asset());
  record.set_amount_minor(MinorToString(amount.amount.minor()));
  record.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(ApprovalThresholdKey(set.asset()), record);
  return outcome;
}

std::optional<Int128> Engine::ApprovalThreshold(const std::string& asset) const {
  if (settings_.empty()) return std::nullopt;
  auto threshold = Setting<v1::ApprovalThresholdRecord>(ApprovalThresholdKey(asset));
  if (!threshold) return std::nullopt;
  const Int128 limit = *MinorFromString(threshold->amount_minor());
  if (limit == 0) return std::nullopt;
  return limit;
}

Outcome Engine::MakePending(const v1::Command& command, const std::string& fingerprint,
                            v1::PendingRecord pending, const v1::AwardFacts* award) {
  const std::int64_t time = NextEntryTime();
  const std::string member = pending.member();
  Outcome outcome = Append(command, fingerprint, {}, {member}, nullptr, time, award);
  pending.set_seq(outcome.receipt.seq);
  pending.set_maker(command.actor());
  pending.set_time_unix_us(time);
  pending.set_expires_unix_us(time + kPendingLifetimeMicros);
  pending.set_state(v1::PENDING_STATE_PENDING);
  pending_expiries_.emplace(pending.expires_unix_us(), pending.seq());
  pending_.Set(EncodeFixed64BE(pending.seq()), pending);
  return outcome;
}

OrOutcome<v1::PendingRecord> Engine::OpenPending(const v1::Command& command,
                                                 const std::string& fingerprint,
                                                 std::uint64_t seq) {
  const v1::PendingRecord* pending = pending_.Find(EncodeFixed64BE(seq));
  if (pending == nullptr) {
    return Refuse(command, fingerprint, Reason::kPendingUnknown,
                  Cat("entry ", seq, " is no award or earning waiting for approval"));
  }
  if (pending->state() != v1::PENDING_STATE_PENDING) {
    return Refuse(command, fingerprint, Reason::kPendingClosed,
                  Cat("entry ", seq, " was ", PendingStateName(pending->state()), " by entry ",
                      pending->closed_seq()));
  }
  return *pending;
}

Outcome Engine::ApplyApprove(const v1::Command& command, const std::string& fingerprint) {
  OrOutcome<v1::PendingRecord> pending = OpenPending(command, fingerprint, command.approve().seq());
  if (!pending.ok()) return std::move(pending).outcome();
  if (command.actor() == pending->maker()) {
    return Refuse(command, fingerprint, Reason::kMakerCannotApprove,
                  Cat(command.actor(), " made entry ", pending->seq(),
                      ": a different principal must approve it"));
  }
  for (const std::string* id : {&pending->from(), &pending->to()}) {
    const AccountState* account = FindAccount(*id);
    LOVEBANK_CHECK(account != nullptr);
    if (account->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refuse(command, fingerprint, Reason::kAccountFrozen,
                    Cat("account ", *id, " is frozen"));
    }
  }
  const Int128 amount = *MinorFromString(pending->amount_minor());
  const std::vector<ResolvedPosting> postings = {{pending->from(), pending->asset(), -amount},
                                                 {pending->to(), pending->asset(), amount}};
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  std::optional<v1::AwardFacts> facts;
  if (!pending->rule().empty()) {
    facts.emplace();
    facts->set_rule(pending->rule());
    facts->set_member(pending->member());
    facts->set_asset(pending->asset());
    facts->set_amount_minor(pending->amount_minor());
    facts->set_period(pending->period());
  }
  Outcome outcome =
      Append(command, fingerprint, postings, {}, nullptr, std::nullopt, facts ? &*facts : nullptr);
  pending->set_state(v1::PENDING_STATE_APPROVED);
  pending->set_closed_seq(outcome.receipt.seq);
  pending_expiries_.erase({pending->expires_unix_us(), pending->seq()});
  pending_.Set(EncodeFixed64BE(pending->seq()), *pending);
  return outcome;
}

Outcome Engine::ApplyReject(const v1::Command& command, const std::string& fingerprint) {
  OrOutcome<v1::PendingRecord> pending = OpenPending(command, fingerprint, command.reject().seq());
  if (!pending.ok()) return std::move(pending).outcome();
  return ClosePending(command, fingerprint, std::move(*pending), v1::PENDING_STATE_REJECTED);
}

std::optional<Outcome> Engine::GiveBackAward(const std::string& usage_key) {
  OrOutcome<Int128> used = Used(usage_key);
  if (!used.ok()) return std::move(used).outcome();
  usage_.Set(usage_key, *used > 0 ? *used - 1 : Int128(0));
  return std::nullopt;
}

Outcome Engine::ClosePending(const v1::Command& command, const std::string& fingerprint,
                             v1::PendingRecord pending, v1::PendingState state) {
  if (!pending.rule().empty() && !pending.period().empty()) {
    if (auto failure =
            GiveBackAward(AwardUsageKey(pending.member(), pending.rule(), pending.period()))) {
      return std::move(*failure);
    }
  }
  Outcome outcome = Append(command, fingerprint, {}, {pending.member()});
  pending.set_state(state);
  pending.set_closed_seq(outcome.receipt.seq);
  pending_expiries_.erase({pending.expires_unix_us(), pending.seq()});
  pending_.Set(EncodeFixed64BE(pending.seq()), pending);
  return outcome;
}

void Engine::ExpirePendingDue(std::int64_t now) {
  std::vector<std::uint64_t> due;
  for (const auto& [expires, seq] : pending_expiries_) {
    if (expires > now) break;
    due.push_back(seq);
  }
  for (std::uint64_t seq : due) {
    v1::Command command;
    command.set_request_id(ExpireRequestId(seq));
    command.set_actor(std::string(kEngineActor));
    command.mutable_expire_pending()->set_seq(seq);
    auto pending = pending_.Get(EncodeFixed64BE(seq));
    LOVEBANK_CHECK(pending.has_value());
    ClosePending(command, CommandFingerprint(command), std::move(*pending),
                 v1::PENDING_STATE_EXPIRED);
  }
}

void Engine::RebuildPendingExpiries() {
  pending_expiries_.clear();
  for (const auto& [key, pending] : pending_.all()) {
    if (pending.state() == v1::PENDING_STATE_PENDING) {
      pending_expiries_.emplace(pending.expires_unix_us(), pending.seq());
    }
  }
}

Outcome Engine::ApplySetSetting(const v1::Command& command, const std::string& fingerprint) {
  rules::SettingFacts facts;
  facts.asset = [this](const std::string& code) -> const v1::AssetRecord* {
    const AssetState* asset = FindAsset(code);
    return asset == nullptr ? nullptr : &asset->record;
  };
  facts.account = [this](const std::string& id) -> const v1::AccountRecord* {
    const AccountState* account = FindAccount(id);
    return account == nullptr ? nullptr : &account->record;
  };
  auto decided = rules::DecideSetting(command.set_setting().value(), facts);
  if (auto* refusal = std::get_if<rules::Refusal>(&decided)) {
    return Refuse(command, fingerprint, refusal->reason, std::move(refusal->message));
  }
  v1::SettingRecord record;
  *record.mutable_value() = std::move(std::get<v1::SettingValue>(decided));
  record.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(SettingKey(record.value()), record);
  return outcome;
}

}  // namespace lovebank
