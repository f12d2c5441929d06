// Accounts, assets and principals: opening, status, definitions, grants and revocations.

#include "ledger/engine/engine_internal.h"

namespace lovebank {

Outcome Engine::ApplyOpenAccount(const v1::Command& command, const std::string& fingerprint) {
  const v1::OpenAccount& open = command.open_account();
  if (FindAccount(open.account()) != nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountExists,
                  Cat("account ", open.account(), " exists"));
  }
  AccountState state;
  for (const auto& budget : open.budgets()) {
    const AssetState* asset = FindAsset(budget.asset());
    if (asset == nullptr) {
      return Refuse(command, fingerprint, Reason::kAssetUnknown, Cat("no asset ", budget.asset()));
    }
    AmountParse amount = ParseAmount(budget.amount(), asset->scale, asset->maximum_minor);
    if (!amount.ok()) {
      return Refuse(command, fingerprint, amount.reason,
                    Cat("budget ", Excerpt(budget.amount()), ": ", ReasonName(amount.reason)));
    }
    state.budgets_minor[budget.asset()] = amount.amount.minor();
  }
  const std::uint64_t seq = head_.seq + 1;
  auto* record = &state.record;
  record->set_account(open.account());
  record->set_kind(open.kind());
  record->set_display_name(open.display_name());
  record->set_status(v1::ACCOUNT_STATUS_ACTIVE);
  *record->mutable_budgets() = open.budgets();
  record->set_opened_seq(seq);
  record->set_status_seq(seq);
  std::vector<std::string> tags(open.tags().begin(), open.tags().end());
  std::sort(tags.begin(), tags.end());
  for (auto& tag : tags) record->add_tags(std::move(tag));
  Outcome outcome = Append(command, fingerprint, {}, {open.account()});
  LOVEBANK_CHECK(outcome.receipt.seq == seq);
  accounts_.Set(open.account(), std::move(state));
  return outcome;
}

Outcome Engine::ApplyDefineAsset(const v1::Command& command, const std::string& fingerprint) {
  const v1::DefineAsset& define = command.define_asset();
  if (FindAsset(define.code()) != nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetExists,
                  Cat("asset ", define.code(), " exists"));
  }
  AmountParse maximum = ParseAmount(define.maximum(), define.scale(), MinorAbsoluteMax());
  if (!maximum.ok()) {
    return Refuse(command, fingerprint, maximum.reason,
                  Cat("maximum ", Excerpt(define.maximum()), ": ", ReasonName(maximum.reason)));
  }
  if (maximum.amount.is_zero()) {
    return Refuse(command, fingerprint, Reason::kAmountZero, "the maximum is zero");
  }
  AssetState asset;
  asset.scale = define.scale();
  asset.maximum_minor = maximum.amount.minor();
  asset.record.set_code(define.code());
  asset.record.set_scale(define.scale());
  asset.record.set_maximum_minor(MinorToString(asset.maximum_minor));
  asset.record.set_display_name(define.display_name());
  asset.record.set_defined_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  assets_.Set(define.code(), std::move(asset));
  return outcome;
}

Outcome Engine::ApplySetAccountStatus(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetAccountStatus& set = command.set_account_status();
  const AccountState* account = FindAccount(set.account());
  if (account == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", set.account()));
  }
  if (account->record.status() == set.status()) {
    return Refuse(command, fingerprint, Reason::kAccountStatusUnchanged,
                  Cat("account ", set.account(), " has that status already"));
  }
  AccountState state = *account;
  state.record.set_status(set.status());
  state.record.set_status_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {set.account()});
  accounts_.Set(set.account(), std::move(state));
  return outcome;
}

Outcome Engine::ApplyGrantPrincipal(const v1::Command& command, const std::string& fingerprint) {
  const v1::GrantPrincipal& grant = command.grant_principal();
  if (principals_.contains(grant.principal())) {
    return Refuse(command, fingerprint, Reason::kPrincipalExists,
                  Cat("principal ", grant.principal(), " exists"));
  }
  if (token_hashes_.contains(grant.token_sha256())) {
    return Refuse(command, fingerprint, Reason::kTokenHashExists,
                  "another principal holds this token");
  }
  v1::AccountKind kind = v1::ACCOUNT_KIND_UNSPECIFIED;
  if (grant.role() == v1::ROLE_ISSUER) kind = v1::ACCOUNT_KIND_ISSUER;
  if (grant.role() == v1::ROLE_TERMINAL) kind = v1::ACCOUNT_KIND_STORE;
  if (grant.role() == v1::ROLE_MEMBER) kind = v1::ACCOUNT_KIND_MEMBER;
  for (const auto& id : grant.accounts()) {
    const AccountState* account = FindAccount(id);
    if (account == nullptr) {
      return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", id));
    }
    if (account->record.kind() != kind) {
      return Refuse(
          command, fingerprint, Reason::kAccountKindMismatch,
          Cat(id, " is ", KindName(account->record.kind()), ", the role needs ", KindName(kind)));
    }
  }
  v1::PrincipalRecord record;
  record.set_principal(grant.principal());
  record.set_role(grant.role());
  *record.mutable_accounts() = grant.accounts();
  record.set_token_sha256(grant.token_sha256());
  record.set_display_name(grant.display_name());
  record.set_granted_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  token_hashes_.insert(grant.token_sha256());
  principals_.Set(grant.principal(), std::move(record));
  return outcome;
}

Outcome Engine::ApplyRevokePrincipal(const v1::Command& command, const std::string& fingerprint) {
  const std::string& name = command.revoke_principal().principal();
  const v1::PrincipalRecord* found = principals_.Find(name);
  if (found == nullptr) {
    return Refuse(command, fingerprint, Reason::kPrincipalUnknown, Cat("no principal ", name));
  }
  if (found->revoked_seq() != 0) {
    return Refuse(command, fingerprint, Reason::kPrincipalRevoked,
                  Cat("principal ", name, " was revoked by entry ", found->revoked_seq()));
  }
  v1::PrincipalRecord record = *found;
  record.set_revoked_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  principals_.Set(name, std::move(record));
  return outcome;
}

}  // namespace lovebank
