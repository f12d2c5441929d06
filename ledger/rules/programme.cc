// Programme rules (ledger/rules/programme.h).

#include "ledger/rules/programme.h"

#include <algorithm>

#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"
#include "ledger/rules/volunteers.h"

namespace lovebank::rules {
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

// An asset a programme rule names: defined, and not goods (`why`: what goods are not).
OrRefusal<const AssetState*> NotGoods(const std::string& code, std::string_view why,
                                      const Context& context) {
  const AssetState* asset = context.FindAsset(code);
  if (asset == nullptr) return Refusal{Reason::kAssetUnknown, Cat("no asset ", code)};
  if (asset->record.stock()) return Refusal{Reason::kAssetIsStock, Cat(code, " is goods: ", why)};
  return asset;
}

}  // namespace

OrRefusal<v1::AccountKind> TransferRecipientKind(const v1::Move& move, const Context& context) {
  const AccountState* from = context.FindAccount(move.from());
  if (from == nullptr || from->record.kind() != v1::ACCOUNT_KIND_MEMBER ||
      (!context.HasSettings() && from->record.tags_size() == 0)) {
    return v1::ACCOUNT_KIND_MEMBER;
  }
  // The giver's tags' policies, the most restrictive winning; else the programme-wide one.
  v1::TransferRule rule = v1::TRANSFER_RULE_OPEN;
  std::string pool;
  bool tagged = false;
  for (const auto& tag : from->record.tags()) {
    auto policy = context.Setting<v1::TransferPolicyRecord>(TransferPolicyKey(move.asset(), tag));
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
    if (auto policy =
            context.Setting<v1::TransferPolicyRecord>(TransferPolicyKey(move.asset(), ""))) {
      rule = policy->policy().rule();
      pool = policy->policy().pool_account();
    }
  }
  if (rule == v1::TRANSFER_RULE_CLOSED) {
    return Refusal{Reason::kTransferNotAllowed,
                   Cat(move.asset(), " of ", move.from(),
                       " cannot be given to anyone under the programme's transfer policy")};
  }
  if (rule == v1::TRANSFER_RULE_FAMILY_OR_POOL) {
    const auto& relatives = from->record.relatives();
    if (!pool.empty() && move.to() == pool) return v1::ACCOUNT_KIND_SYSTEM;
    if (std::find(relatives.begin(), relatives.end(), move.to()) == relatives.end()) {
      return Refusal{Reason::kNotFamily,
                     Cat(move.to(), " is not registered family of ", move.from(), ": ",
                         move.asset(), " may go only to family",
                         pool.empty() ? std::string() : Cat(" or the donation pool ", pool))};
    }
  }
  return v1::ACCOUNT_KIND_MEMBER;
}

OrRefusal<v1::AccountRecord> DecideAccountTags(const v1::SetAccountTags& set,
                                               const Context& context) {
  const AccountState* account = context.FindAccount(set.account());
  if (account == nullptr)
    return Refusal{Reason::kAccountUnknown, Cat("no account ", set.account())};
  v1::AccountRecord record = account->record;
  record.clear_tags();
  for (auto& tag : Sorted(set.tags())) record.add_tags(std::move(tag));
  return record;
}

OrRefusal<AccountState> DecideBudget(const v1::SetBudget& set, const Context& context) {
  const AccountState* account = context.FindAccount(set.account());
  if (account == nullptr)
    return Refusal{Reason::kAccountUnknown, Cat("no account ", set.account())};
  if (account->record.kind() != v1::ACCOUNT_KIND_ISSUER) {
    return Refusal{Reason::kBudgetInvalid,
                   Cat(set.account(), " is not an ISSUER account: only issuers have budgets")};
  }
  const std::string& asset_code = set.budget().asset();
  const AssetState* asset = context.FindAsset(asset_code);
  if (asset == nullptr) return Refusal{Reason::kAssetUnknown, Cat("no asset ", asset_code)};
  if (asset->record.stock()) {
    return Refusal{Reason::kBudgetInvalid,
                   Cat(asset_code, " is goods: donated stock is limited by no budget")};
  }
  AmountParse amount = ParseAmount(set.budget().amount(), asset->scale, asset->maximum_minor);
  if (!amount.ok()) {
    return Refusal{amount.reason,
                   Cat("budget ", Excerpt(set.budget().amount()), ": ", ReasonName(amount.reason))};
  }
  const Int128 issued = -context.Balance(set.account(), asset_code).minor;
  if (amount.amount.minor() < issued) {
    return Refusal{
        Reason::kBudgetBelowIssued,
        Cat(set.account(), " has issued ", FormatAmount(Amount::FromMinor(issued), asset->scale),
            " ", asset_code, ": its budget cannot go below that")};
  }
  AccountState state = *account;
  bool replaced = false;
  for (auto& budget : *state.record.mutable_budgets()) {
    if (budget.asset() != asset_code) continue;
    budget.set_amount(set.budget().amount());
    replaced = true;
  }
  if (!replaced) *state.record.add_budgets() = set.budget();
  state.budgets_minor[asset_code] = amount.amount.minor();
  return state;
}

std::optional<Refusal> CheckCardFree(const std::string& card, const std::string& account,
                                     const Context& context) {
  const std::string* owner = context.FindCardOwner(card);
  if (owner == nullptr || *owner == account) return std::nullopt;
  return Refusal{Reason::kAccountCardTaken, Cat("card ", card, " is ", *owner, "'s")};
}

OrRefusal<v1::AccountRecord> DecideAccountContact(const v1::SetAccountContact& set,
                                                  const Context& context) {
  const AccountState* account = context.FindAccount(set.account());
  if (account == nullptr) {
    return Refusal{Reason::kAccountUnknown, Cat("no account ", set.account())};
  }
  if (!set.card_number().empty()) {
    if (auto taken = CheckCardFree(set.card_number(), set.account(), context)) return *taken;
  }
  v1::AccountRecord record = account->record;
  record.set_card_number(set.card_number());
  record.set_phone(set.phone());
  return record;
}

OrRefusal<v1::AccountRecord> DecideFamily(const v1::SetFamily& set, const Context& context) {
  std::vector<const std::string*> accounts = {&set.member()};
  for (const auto& relative : set.relatives()) accounts.push_back(&relative);
  for (const std::string* id : accounts) {
    const AccountState* account = context.FindAccount(*id);
    if (account == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", *id)};
    if (account->record.kind() != v1::ACCOUNT_KIND_MEMBER) {
      return Refusal{Reason::kAccountKindMismatch,
                     Cat(*id, " is not a MEMBER account: family links members")};
    }
  }
  v1::AccountRecord record = context.FindAccount(set.member())->record;
  record.clear_relatives();
  for (auto& relative : Sorted(set.relatives())) record.add_relatives(std::move(relative));
  return record;
}

OrRefusal<v1::TransferPolicyRecord> DecideTransferPolicy(const v1::SetTransferPolicy& set,
                                                         const Context& context) {
  auto asset = NotGoods(set.asset(), "members do not give goods to each other", context);
  if (auto* refusal = std::get_if<Refusal>(&asset)) return std::move(*refusal);
  if (!set.pool_account().empty()) {
    const AccountState* pool = context.FindAccount(set.pool_account());
    if (auto refused = CheckDonationPool(set.pool_account(), pool ? &pool->record : nullptr)) {
      return std::move(*refused);
    }
  }
  v1::TransferPolicyRecord record;
  *record.mutable_policy() = set;
  return record;
}

OrRefusal<v1::AwardRuleRecord> DecideAwardRule(const v1::SetAwardRule& rule,
                                               const Context& context) {
  auto found = NotGoods(rule.asset(), "awards are points", context);
  if (auto* refusal = std::get_if<Refusal>(&found)) return std::move(*refusal);
  const AssetState* asset = std::get<const AssetState*>(found);
  AmountParse amount = ParseAmount(rule.amount(), asset->scale, asset->maximum_minor);
  if (!amount.ok()) {
    return Refusal{amount.reason,
                   Cat("amount ", Excerpt(rule.amount()), ": ", ReasonName(amount.reason))};
  }
  if (amount.amount.is_zero())
    return Refusal{Reason::kAmountZero, "a rule awards more than nothing"};
  const std::uint64_t seq = context.next_seq();
  v1::AwardRuleRecord record;
  if (auto earlier = context.Setting<v1::AwardRuleRecord>(AwardRuleKey(rule.code()))) {
    record.set_defined_seq(earlier->defined_seq());
  } else {
    record.set_defined_seq(seq);
  }
  *record.mutable_rule() = rule;
  *record.mutable_rule()->mutable_eligible_tags() = {};
  for (auto& tag : Sorted(rule.eligible_tags())) record.mutable_rule()->add_eligible_tags(tag);
  record.set_changed_seq(seq);
  return record;
}

OrRefusal<v1::ApprovalThresholdRecord> DecideApprovalThreshold(const v1::SetApprovalThreshold& set,
                                                               const Context& context) {
  auto found = NotGoods(set.asset(), "it is never earned", context);
  if (auto* refusal = std::get_if<Refusal>(&found)) return std::move(*refusal);
  const AssetState* asset = std::get<const AssetState*>(found);
  AmountParse amount = ParseAmount(set.amount(), asset->scale, asset->maximum_minor);
  if (!amount.ok()) {
    return Refusal{amount.reason,
                   Cat("amount ", Excerpt(set.amount()), ": ", ReasonName(amount.reason))};
  }
  v1::ApprovalThresholdRecord record;
  record.set_asset(set.asset());
  record.set_amount_minor(MinorToString(amount.amount.minor()));
  return record;
}

std::optional<Int128> ApprovalThreshold(const std::string& asset, const Context& context) {
  if (!context.HasSettings()) return std::nullopt;
  auto threshold = context.Setting<v1::ApprovalThresholdRecord>(ApprovalThresholdKey(asset));
  if (!threshold) return std::nullopt;
  const Int128 limit = *MinorFromString(threshold->amount_minor());
  if (limit == 0) return std::nullopt;
  return limit;
}

OrRefusal<AwardDecision> DecideAward(const v1::Award& award, Context& context) {
  auto record = context.Setting<v1::AwardRuleRecord>(AwardRuleKey(award.rule()));
  if (!record) return Refusal{Reason::kAwardRuleUnknown, Cat("no rule ", award.rule())};
  const v1::SetAwardRule& rule = record->rule();
  if (!rule.active()) {
    return Refusal{Reason::kAwardRuleInactive,
                   Cat("rule ", award.rule(), " was retired by entry ", record->changed_seq())};
  }
  if (!award.month().empty()) {
    if (std::string problem = AwardMonthProblem(award.month(), context.entry_time());
        !problem.empty()) {
      return Refusal{Reason::kAwardMonthInvalid, std::move(problem)};
    }
  }
  const AccountState* member = context.FindAccount(award.member());
  auto check = [&](const AccountState* account, const std::string& id,
                   v1::AccountKind kind) -> std::optional<Refusal> {
    if (account == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", id)};
    if (account->record.kind() != kind) {
      return Refusal{Reason::kAccountKindMismatch,
                     Cat(id, " is ", v1::AccountKind_Name(account->record.kind()),
                         ", an award needs ", v1::AccountKind_Name(kind))};
    }
    if (account->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refusal{Reason::kAccountFrozen, Cat("account ", id, " is frozen")};
    }
    return std::nullopt;
  };
  if (auto refused = check(member, award.member(), v1::ACCOUNT_KIND_MEMBER)) return *refused;
  if (auto refused =
          check(context.FindAccount(award.issuer()), award.issuer(), v1::ACCOUNT_KIND_ISSUER)) {
    return *refused;
  }
  const auto& tags = member->record.tags();
  for (const auto& tag : rule.eligible_tags()) {
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
      return Refusal{Reason::kNotEligible, Cat(award.member(), " is not eligible for ",
                                               award.rule(), ": the rule needs ", "the tag ", tag)};
    }
  }
  AwardDecision decision;
  v1::AwardFacts& facts = decision.facts;
  facts.set_rule(award.rule());
  facts.set_member(award.member());
  facts.set_asset(rule.asset());
  const AssetState* asset = context.FindAsset(rule.asset());
  const Int128 amount =
      ParseAmount(rule.amount(), asset->scale, asset->maximum_minor).amount.minor();
  facts.set_amount_minor(MinorToString(amount));
  facts.set_period(AwardPeriod(rule.frequency(), AwardTime(award, context.entry_time())));
  if (!facts.period().empty()) {
    decision.usage_key = AwardUsageKey(award.member(), award.rule(), facts.period());
    OrRefusal<Int128> used = context.Used(decision.usage_key);
    if (auto* failed = std::get_if<Refusal>(&used)) return std::move(*failed);
    decision.used = std::get<Int128>(used);
    if (decision.used >= 1) {
      return Refusal{Reason::kAwardFrequencyExceeded,
                     Cat(award.member(), " has had ", award.rule(), " already in period ",
                         facts.period(), " (ever: the rule is once ever)")};
    }
  }
  const std::string& payer = rule.deduction() ? award.member() : award.issuer();
  const std::string& payee = rule.deduction() ? award.issuer() : award.member();
  if (rule.needs_approval()) {
    v1::PendingRecord& pending = decision.pending.emplace();
    pending.set_rule(award.rule());
    pending.set_from(payer);
    pending.set_to(payee);
    pending.set_member(award.member());
    pending.set_asset(rule.asset());
    pending.set_amount_minor(facts.amount_minor());
    pending.set_period(facts.period());
  } else {
    decision.postings = {{payer, rule.asset(), -amount}, {payee, rule.asset(), amount}};
  }
  return decision;
}

std::optional<Refusal> CheckPendingOpen(const v1::PendingRecord* pending, std::uint64_t seq) {
  if (pending == nullptr) {
    return Refusal{Reason::kPendingUnknown,
                   Cat("entry ", seq, " is no award or earning waiting for approval")};
  }
  if (pending->state() != v1::PENDING_STATE_PENDING) {
    return Refusal{Reason::kPendingClosed,
                   Cat("entry ", seq, " was ", PendingStateName(pending->state()), " by entry ",
                       pending->closed_seq())};
  }
  return std::nullopt;
}

OrRefusal<ApproveDecision> DecideApprove(const std::string& actor, const v1::PendingRecord& pending,
                                         const Context& context) {
  if (actor == pending.maker()) {
    return Refusal{Reason::kMakerCannotApprove, Cat(actor, " made entry ", pending.seq(),
                                                    ": a different principal must approve it")};
  }
  for (const std::string* id : {&pending.from(), &pending.to()}) {
    const AccountState* account = context.FindAccount(*id);
    LOVEBANK_CHECK(account != nullptr);
    if (account->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refusal{Reason::kAccountFrozen, Cat("account ", *id, " is frozen")};
    }
  }
  ApproveDecision decision;
  const Int128 amount = *MinorFromString(pending.amount_minor());
  decision.postings = {{pending.from(), pending.asset(), -amount},
                       {pending.to(), pending.asset(), amount}};
  if (!pending.rule().empty()) {
    v1::AwardFacts& facts = decision.facts.emplace();
    facts.set_rule(pending.rule());
    facts.set_member(pending.member());
    facts.set_asset(pending.asset());
    facts.set_amount_minor(pending.amount_minor());
    facts.set_period(pending.period());
  }
  return decision;
}

}  // namespace lovebank::rules
