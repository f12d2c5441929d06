// Programme rules (issue #7; docs/programme.md): the engine's side of ledger/rules/programme.h
// and settings.h — tags, family, the transfer (转赠) policy, award rules, awards and maker-checker
// approval applied as entries and records. The pending records are the engine's own: they lapse
// after 30 days with a journal entry the engine writes itself, like an expired hold.

#include "ledger/rules/programme.h"

#include <algorithm>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"
#include "ledger/format/journal_format.h"
#include "ledger/rules/settings.h"

namespace lovebank {

Outcome Engine::ApplyTransfer(const v1::Command& command, const std::string& fingerprint) {
  const v1::Move& move = command.transfer();
  auto to_kind = Decided(command, fingerprint, rules::TransferRecipientKind(move, *context_));
  if (!to_kind.ok()) return std::move(to_kind).outcome();
  return ApplyMove(command, fingerprint, move, v1::ACCOUNT_KIND_MEMBER, *to_kind);
}

Outcome Engine::ApplySetAccountTags(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetAccountTags& set = command.set_account_tags();
  auto record = Decided(command, fingerprint, rules::DecideAccountTags(set, *context_));
  if (!record.ok()) return std::move(record).outcome();
  AccountState state = *FindAccount(set.account());
  state.record = std::move(*record);
  Outcome outcome = Append(command, fingerprint, {}, {set.account()});
  accounts_.Set(set.account(), std::move(state));
  return outcome;
}

Outcome Engine::ApplySetBudget(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetBudget& set = command.set_budget();
  auto state = Decided(command, fingerprint, rules::DecideBudget(set, *context_));
  if (!state.ok()) return std::move(state).outcome();
  Outcome outcome = Append(command, fingerprint, {}, {set.account()});
  accounts_.Set(set.account(), std::move(*state));
  return outcome;
}

Outcome Engine::ApplySetFamily(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetFamily& set = command.set_family();
  auto record = Decided(command, fingerprint, rules::DecideFamily(set, *context_));
  if (!record.ok()) return std::move(record).outcome();
  AccountState state = *FindAccount(set.member());
  state.record = std::move(*record);
  Outcome outcome = Append(command, fingerprint, {}, {set.member()});
  accounts_.Set(set.member(), std::move(state));
  return outcome;
}

Outcome Engine::ApplySetAccountContact(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetAccountContact& set = command.set_account_contact();
  auto record = Decided(command, fingerprint, rules::DecideAccountContact(set, *context_));
  if (!record.ok()) return std::move(record).outcome();
  AccountState state = *FindAccount(set.account());
  state.record = std::move(*record);
  Outcome outcome = Append(command, fingerprint, {}, {set.account()});
  SetAccount(set.account(), std::move(state));
  return outcome;
}

Outcome Engine::ApplySetTransferPolicy(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetTransferPolicy& set = command.set_transfer_policy();
  return ApplyDecided(command, fingerprint, rules::DecideTransferPolicy(set, *context_),
                      TransferPolicyKey(set.asset(), set.tag()));
}

Outcome Engine::ApplySetAwardRule(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetAwardRule& rule = command.set_award_rule();
  auto record = Decided(command, fingerprint, rules::DecideAwardRule(rule, *context_));
  if (!record.ok()) return std::move(record).outcome();
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(AwardRuleKey(rule.code()), *record);
  return outcome;
}

Outcome Engine::ApplyAward(const v1::Command& command, const std::string& fingerprint) {
  auto decided = Decided(command, fingerprint, rules::DecideAward(command.award(), *context_));
  if (!decided.ok()) return std::move(decided).outcome();
  rules::AwardDecision& award = *decided;
  Outcome outcome;
  if (award.pending) {
    outcome = MakePending(command, fingerprint, std::move(*award.pending), &award.facts);
  } else {
    Outcome limits = CheckLimits(award.postings);
    if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
    outcome =
        Append(command, fingerprint, award.postings, {}, nullptr, NextEntryTime(), &award.facts);
  }
  if (!award.usage_key.empty()) usage_.Set(award.usage_key, award.used + 1);
  return outcome;
}

Outcome Engine::ApplySetApprovalThreshold(const v1::Command& command,
                                          const std::string& fingerprint) {
  const v1::SetApprovalThreshold& set = command.set_approval_threshold();
  return ApplyDecided(command, fingerprint, rules::DecideApprovalThreshold(set, *context_),
                      ApprovalThresholdKey(set.asset()));
}

std::optional<Int128> Engine::ApprovalThreshold(const std::string& asset) const {
  return rules::ApprovalThreshold(asset, *context_);
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
  if (auto refused = rules::CheckPendingOpen(pending, seq)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  return *pending;
}

Outcome Engine::ApplyApprove(const v1::Command& command, const std::string& fingerprint) {
  OrOutcome<v1::PendingRecord> pending = OpenPending(command, fingerprint, command.approve().seq());
  if (!pending.ok()) return std::move(pending).outcome();
  auto decided =
      Decided(command, fingerprint, rules::DecideApprove(command.actor(), *pending, *context_));
  if (!decided.ok()) return std::move(decided).outcome();
  const std::vector<ResolvedPosting>& postings = decided->postings;
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  const std::optional<v1::AwardFacts>& facts = decided->facts;
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
  // The signing key changes by lovebankd alone (`--rotate-signing-key`); the service refuses
  // it to every principal, and the sequencer to every other actor.
  if (command.set_setting().value().has_signing_key() && command.actor() != kLovebankdActor) {
    return Refuse(command, fingerprint, Reason::kPermissionDenied,
                  Cat(command.actor(), " may not change the signing key: lovebankd does"));
  }
  // A read-change-write (if_seq): only onto the record it read.
  if (command.set_setting().has_if_seq()) {
    const auto current = Setting<v1::SettingRecord>(SettingKey(command.set_setting().value()));
    const std::uint64_t current_seq = current ? current->seq() : 0;
    if (current_seq != command.set_setting().if_seq()) {
      return Refuse(command, fingerprint, Reason::kSettingChanged,
                    Cat("the setting was written at entry ", current_seq, ", not ",
                        command.set_setting().if_seq(), " as read: read it again"));
    }
  }
  facts.ledger_id = ledger_id_;
  if (auto in_force = Setting<v1::SettingRecord>(SettingKeyOf<v1::SigningKeyChange>())) {
    facts.signing_key = in_force->value().signing_key().new_key();
  }
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

Outcome Engine::ApplyCosignHead(const v1::Command& command, const std::string& fingerprint) {
  if (auto refused =
          rules::CheckCosign(command.cosign_head(), command.actor(), ledger_id_, head_.seq + 1)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  return Append(command, fingerprint, {}, {});
}

}  // namespace lovebank
