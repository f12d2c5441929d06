// The audit's programme rules: tags, family, transfer policy, award rules, awards and approvals.

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {

// ---- Programme rules (issue #7): an independent reading of ledger/engine/programme.cc ----

template <class Repeated>
void SetSorted(const Repeated& from, google::protobuf::RepeatedPtrField<std::string>* to) {
  std::vector<std::string> sorted(from.begin(), from.end());
  std::sort(sorted.begin(), sorted.end());
  to->Clear();
  for (auto& item : sorted) to->Add(std::move(item));
}

// The transfer rule for a member giving `asset`: the most restrictive of its tags' policies
// (student POINTS: CLOSED unless a policy says otherwise), else the programme-wide one, else OPEN.
std::pair<v1::TransferRule, std::string> TransferRuleFor(const State& state,
                                                         const State::Account& giver,
                                                         const std::string& asset) {
  std::optional<std::pair<v1::TransferRule, std::string>> strictest;
  // `tagged` spares the record's cache lines for the untagged majority.
  for (const auto& tag : giver.tagged ? giver.record.tags() : kNoTags) {
    std::pair<v1::TransferRule, std::string> rule{v1::TRANSFER_RULE_UNSPECIFIED, ""};
    if (auto policy = state.transfer_policies.find(TransferPolicyKey(asset, tag));
        policy != state.transfer_policies.end()) {
      rule = {policy->second.policy().rule(), policy->second.policy().pool_account()};
    } else if (tag == kStudentTag && asset == kPointsAsset) {
      rule.first = v1::TRANSFER_RULE_CLOSED;
    }
    if (rule.first == v1::TRANSFER_RULE_UNSPECIFIED) continue;
    if (!strictest || rule.first > strictest->first) strictest = rule;
  }
  if (strictest) return *strictest;
  if (state.transfer_policies.empty()) return {v1::TRANSFER_RULE_OPEN, ""};
  if (auto policy = state.transfer_policies.find(TransferPolicyKey(asset, ""));
      policy != state.transfer_policies.end()) {
    return {policy->second.policy().rule(), policy->second.policy().pool_account()};
  }
  return {v1::TRANSFER_RULE_OPEN, ""};
}

Expectation ExpectTransfer(const v1::Move& move, std::uint64_t seq, State& state,
                           Findings& findings) {
  v1::AccountKind to_kind = v1::ACCOUNT_KIND_MEMBER;
  const State::Account* giver = FindAccount(state, move.from());
  if (giver != nullptr && giver->kind == v1::ACCOUNT_KIND_MEMBER) {
    const auto [rule, pool] = TransferRuleFor(state, *giver, move.asset());
    const auto& relatives = giver->record.relatives();
    std::string broken;
    if (rule == v1::TRANSFER_RULE_CLOSED) {
      broken = Cat(move.asset(), " of ", move.from(), " is not transferable");
    } else if (rule == v1::TRANSFER_RULE_FAMILY_OR_POOL) {
      if (!pool.empty() && move.to() == pool) {
        to_kind = v1::ACCOUNT_KIND_SYSTEM;
      } else if (std::find(relatives.begin(), relatives.end(), move.to()) == relatives.end()) {
        broken = Cat(move.to(), " is not registered family of ", move.from());
      }
    }
    if (!broken.empty()) {
      findings.Add(FindingKind::kRuleViolated, seq, "", "a transfer the policy allows", broken);
      Expectation refused;
      refused.ok = false;
      return refused;
    }
  }
  return ExpectMove(move, v1::ACCOUNT_KIND_MEMBER, to_kind, false, seq, state, findings);
}

// The pending record an Approve, Reject or ExpirePending closes, if it is open.
v1::PendingRecord* OpenPendingOf(std::uint64_t target, State& state) {
  auto pending = state.pending.find(target);
  if (pending == state.pending.end() || pending->second.state() != v1::PENDING_STATE_PENDING) {
    return nullptr;
  }
  return &pending->second;
}

void NewPending(v1::PendingRecord pending, const v1::Entry& entry, State& state) {
  pending.set_seq(entry.seq());
  pending.set_maker(entry.command().actor());
  pending.set_time_unix_us(entry.time_unix_us());
  pending.set_expires_unix_us(entry.time_unix_us() + kPendingLifetimeMicros);
  pending.set_state(v1::PENDING_STATE_PENDING);
  state.open_pending.emplace(pending.expires_unix_us(), entry.seq());
  state.pending[entry.seq()] = std::move(pending);
}

void GiveBackAward(const std::string& key, State& state) {
  auto used = state.usage.find(key);
  if (used != state.usage.end() && used->second > 0) used->second -= 1;
}

Expectation ExpectProgramme(const v1::Entry& entry, std::uint64_t seq, State& state,
                            Findings& findings, std::string* touched) {
  const v1::Command& command = entry.command();
  Expectation expectation;
  auto violated = [&](std::string what) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a programme rule kept", std::move(what));
    expectation.ok = false;
    return expectation;
  };
  auto account_of = [&](const std::string& id) -> State::Account* {
    auto account = state.accounts.find(id);
    return account == state.accounts.end() ? nullptr : &account->second;
  };
  auto non_stock = [&](const std::string& code) -> const State::Asset* {
    auto asset = state.assets.find(code);
    return asset == state.assets.end() || asset->second.record.stock() ? nullptr : &asset->second;
  };
  switch (command.body_case()) {
    case v1::Command::kSetAccountTags: {
      State::Account* account = account_of(command.set_account_tags().account());
      if (account == nullptr) return violated("tags for an unknown account");
      SetSorted(command.set_account_tags().tags(), account->record.mutable_tags());
      account->Sync();
      *touched = command.set_account_tags().account();
      break;
    }
    case v1::Command::kSetAccountContact: {
      const auto& set = command.set_account_contact();
      State::Account* account = account_of(set.account());
      if (account == nullptr) return violated("a contact for an unknown account");
      if (!set.card_number().empty()) {
        auto owner = state.card_owners.find(set.card_number());
        if (owner != state.card_owners.end() && owner->second != set.account()) {
          return violated(Cat("card ", set.card_number(), " is ", owner->second, "'s"));
        }
      }
      state.card_owners.erase(account->record.card_number());
      if (!set.card_number().empty()) state.card_owners[set.card_number()] = set.account();
      account->record.set_card_number(set.card_number());
      account->record.set_phone(set.phone());
      *touched = set.account();
      break;
    }
    case v1::Command::kSetFamily: {
      const auto& set = command.set_family();
      for (const auto& id : set.relatives()) {
        if (auto problem = AccountProblem(state, id, v1::ACCOUNT_KIND_MEMBER, true);
            !problem.empty()) {
          return violated(problem);
        }
      }
      if (auto problem = AccountProblem(state, set.member(), v1::ACCOUNT_KIND_MEMBER, true);
          !problem.empty()) {
        return violated(problem);
      }
      SetSorted(set.relatives(), account_of(set.member())->record.mutable_relatives());
      *touched = set.member();
      break;
    }
    case v1::Command::kSetTransferPolicy: {
      const auto& set = command.set_transfer_policy();
      if (non_stock(set.asset()) == nullptr) return violated(Cat("a policy for ", set.asset()));
      if (!set.pool_account().empty()) {
        if (auto problem = AccountProblem(state, set.pool_account(), v1::ACCOUNT_KIND_SYSTEM, true);
            !problem.empty()) {
          return violated(problem);
        }
      }
      v1::TransferPolicyRecord& record =
          state.transfer_policies[TransferPolicyKey(set.asset(), set.tag())];
      *record.mutable_policy() = set;
      record.set_seq(seq);
      break;
    }
    case v1::Command::kSetAwardRule: {
      const auto& rule = command.set_award_rule();
      const State::Asset* asset = non_stock(rule.asset());
      if (asset == nullptr) return violated(Cat("a rule in ", rule.asset()));
      const AmountParse amount = ParseAmount(rule.amount(), asset->scale, asset->maximum_minor);
      if (!amount.ok() || amount.amount.is_zero()) return violated(Cat("amount ", rule.amount()));
      v1::AwardRuleRecord& record = state.award_rules[AwardRuleKey(rule.code())];
      if (record.defined_seq() == 0) record.set_defined_seq(seq);
      *record.mutable_rule() = rule;
      SetSorted(rule.eligible_tags(), record.mutable_rule()->mutable_eligible_tags());
      record.set_changed_seq(seq);
      break;
    }
    case v1::Command::kSetApprovalThreshold: {
      const auto& set = command.set_approval_threshold();
      const State::Asset* asset = non_stock(set.asset());
      if (asset == nullptr) return violated(Cat("a threshold for ", set.asset()));
      const AmountParse amount = ParseAmount(set.amount(), asset->scale, asset->maximum_minor);
      if (!amount.ok()) return violated(Cat("amount ", set.amount()));
      v1::ApprovalThresholdRecord& record =
          state.approval_thresholds[ApprovalThresholdKey(set.asset())];
      record.set_asset(set.asset());
      record.set_amount_minor(Text(amount.amount.minor()));
      record.set_seq(seq);
      break;
    }
    case v1::Command::kAward: {
      const auto& award = command.award();
      auto rule_record = state.award_rules.find(AwardRuleKey(award.rule()));
      if (rule_record == state.award_rules.end()) return violated(Cat("no rule ", award.rule()));
      const v1::SetAwardRule& rule = rule_record->second.rule();
      if (!rule.active()) return violated(Cat("rule ", award.rule(), " is retired"));
      if (!award.month().empty()) {
        if (std::string problem = AwardMonthProblem(award.month(), entry.time_unix_us());
            !problem.empty()) {
          return violated(problem);
        }
      }
      for (const auto& [id, kind] : {std::pair{&award.member(), v1::ACCOUNT_KIND_MEMBER},
                                     std::pair{&award.issuer(), v1::ACCOUNT_KIND_ISSUER}}) {
        if (auto problem = AccountProblem(state, *id, kind, false); !problem.empty()) {
          return violated(problem);
        }
      }
      const auto& tags = account_of(award.member())->record.tags();
      for (const auto& tag : rule.eligible_tags()) {
        if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
          return violated(Cat(award.member(), " lacks the tag ", tag, " of ", award.rule()));
        }
      }
      const State::Asset* asset = non_stock(rule.asset());
      const Int128 amount =
          ParseAmount(rule.amount(), asset->scale, asset->maximum_minor).amount.minor();
      v1::AwardFacts facts;
      facts.set_rule(award.rule());
      facts.set_member(award.member());
      facts.set_asset(rule.asset());
      facts.set_amount_minor(Text(amount));
      facts.set_period(AwardPeriod(rule.frequency(), AwardTime(award, entry.time_unix_us())));
      if (facts.SerializeAsString() != entry.award().SerializeAsString()) {
        findings.Add(FindingKind::kRecordDiffers, seq, "award facts", facts.ShortDebugString(),
                     entry.award().ShortDebugString());
      }
      if (!facts.period().empty()) {
        const std::string key = AwardUsageKey(award.member(), award.rule(), facts.period());
        Int128& used = state.usage[key];
        if (used >= 1)
          return violated(
              Cat(award.member(), " had ", award.rule(), " in ", facts.period(), " already"));
        used += 1;
        state.award_usage_keys[seq] = key;
      }
      if (rule.needs_approval()) {
        v1::PendingRecord pending;
        pending.set_rule(award.rule());
        pending.set_from(rule.deduction() ? award.member() : award.issuer());
        pending.set_to(rule.deduction() ? award.issuer() : award.member());
        pending.set_member(award.member());
        pending.set_asset(rule.asset());
        pending.set_amount_minor(Text(amount));
        pending.set_period(facts.period());
        NewPending(std::move(pending), entry, state);
        *touched = award.member();
        state.award_usage_keys.erase(seq);  // the approval, not this entry, is reversible
      } else {
        expectation.moves_value = true;
        const std::string& payer = rule.deduction() ? award.member() : award.issuer();
        const std::string& payee = rule.deduction() ? award.issuer() : award.member();
        expectation.postings.push_back(PostingView{payer, rule.asset(), -amount});
        expectation.postings.push_back(PostingView{payee, rule.asset(), amount});
      }
      break;
    }
    case v1::Command::kApprove: {
      v1::PendingRecord* pending = OpenPendingOf(command.approve().seq(), state);
      if (pending == nullptr)
        return violated(Cat("entry ", command.approve().seq(), " is not pending"));
      if (command.actor() == pending->maker()) return violated("approved by its own maker");
      for (const std::string* id : {&pending->from(), &pending->to()}) {
        State::Account* account = account_of(*id);
        if (account == nullptr || account->record.status() != v1::ACCOUNT_STATUS_ACTIVE) {
          return violated(Cat("account ", *id, " is not active"));
        }
      }
      const Int128 amount = *MinorFromString(pending->amount_minor());
      expectation.moves_value = true;
      expectation.postings.push_back(PostingView{pending->from(), pending->asset(), -amount});
      expectation.postings.push_back(PostingView{pending->to(), pending->asset(), amount});
      if (!pending->rule().empty()) {
        v1::AwardFacts facts;
        facts.set_rule(pending->rule());
        facts.set_member(pending->member());
        facts.set_asset(pending->asset());
        facts.set_amount_minor(pending->amount_minor());
        facts.set_period(pending->period());
        if (facts.SerializeAsString() != entry.award().SerializeAsString()) {
          findings.Add(FindingKind::kRecordDiffers, seq, "award facts", facts.ShortDebugString(),
                       entry.award().ShortDebugString());
        }
        if (!pending->period().empty()) {
          state.award_usage_keys[seq] =
              AwardUsageKey(pending->member(), pending->rule(), pending->period());
        }
      } else if (entry.has_award()) {
        findings.Add(FindingKind::kRecordDiffers, seq, "award facts",
                     "none on the approval of an earning", entry.award().ShortDebugString());
      }
      pending->set_state(v1::PENDING_STATE_APPROVED);
      pending->set_closed_seq(seq);
      state.open_pending.erase({pending->expires_unix_us(), pending->seq()});
      break;
    }
    case v1::Command::kReject:
    case v1::Command::kExpirePending: {
      const bool expire = command.has_expire_pending();
      const std::uint64_t target = expire ? command.expire_pending().seq() : command.reject().seq();
      v1::PendingRecord* pending = OpenPendingOf(target, state);
      if (pending == nullptr) return violated(Cat("entry ", target, " is not pending"));
      if (expire && entry.time_unix_us() < pending->expires_unix_us()) {
        return violated(Cat("entry ", target, " lapsed before its expiry"));
      }
      if (!pending->rule().empty() && !pending->period().empty()) {
        GiveBackAward(AwardUsageKey(pending->member(), pending->rule(), pending->period()), state);
      }
      pending->set_state(expire ? v1::PENDING_STATE_EXPIRED : v1::PENDING_STATE_REJECTED);
      pending->set_closed_seq(seq);
      state.open_pending.erase({pending->expires_unix_us(), pending->seq()});
      *touched = pending->member();
      break;
    }
    default:
      // A command routed here without a rule of its own: never passed silently.
      return violated(Cat("no audit rule for command ", static_cast<int>(command.body_case())));
  }
  return expectation;
}

}  // namespace lovebank::audit
