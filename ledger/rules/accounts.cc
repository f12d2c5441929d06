// The rules of accounts, assets and principals (ledger/rules/accounts.h).

#include "ledger/rules/accounts.h"

#include <algorithm>

#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/rules/authority.h"

namespace lovebank::rules {

const char* KindName(v1::AccountKind kind) {
  switch (kind) {
    case v1::ACCOUNT_KIND_MEMBER:
      return "MEMBER";
    case v1::ACCOUNT_KIND_STORE:
      return "STORE";
    case v1::ACCOUNT_KIND_ISSUER:
      return "ISSUER";
    case v1::ACCOUNT_KIND_SYSTEM:
      return "SYSTEM";
    default:
      return "UNSPECIFIED";
  }
}

std::variant<OpenedAccount, Refusal> DecideOpenAccount(const v1::OpenAccount& open, bool exists,
                                                       AssetLookup asset) {
  if (exists) return Refusal{Reason::kAccountExists, Cat("account ", open.account(), " exists")};
  OpenedAccount opened;
  for (const auto& budget : open.budgets()) {
    const std::optional<AssetFacts> facts = asset(budget.asset());
    if (!facts) return Refusal{Reason::kAssetUnknown, Cat("no asset ", budget.asset())};
    AmountParse amount = ParseAmount(budget.amount(), facts->scale, facts->maximum_minor);
    if (!amount.ok()) {
      return Refusal{amount.reason,
                     Cat("budget ", Excerpt(budget.amount()), ": ", ReasonName(amount.reason))};
    }
    opened.budgets_minor.emplace_back(budget.asset(), amount.amount.minor());
  }
  v1::AccountRecord& record = opened.record;
  record.set_account(open.account());
  record.set_kind(open.kind());
  record.set_display_name(open.display_name());
  record.set_status(v1::ACCOUNT_STATUS_ACTIVE);
  *record.mutable_budgets() = open.budgets();
  std::vector<std::string> tags(open.tags().begin(), open.tags().end());
  std::sort(tags.begin(), tags.end());
  for (auto& tag : tags) record.add_tags(std::move(tag));
  record.set_card_number(open.card_number());
  record.set_phone(open.phone());
  return opened;
}

std::variant<DefinedAsset, Refusal> DecideDefineAsset(const v1::DefineAsset& define, bool exists) {
  if (exists) return Refusal{Reason::kAssetExists, Cat("asset ", define.code(), " exists")};
  AmountParse maximum = ParseAmount(define.maximum(), define.scale(), MinorAbsoluteMax());
  if (!maximum.ok()) {
    return Refusal{maximum.reason,
                   Cat("maximum ", Excerpt(define.maximum()), ": ", ReasonName(maximum.reason))};
  }
  if (maximum.amount.is_zero()) return Refusal{Reason::kAmountZero, "the maximum is zero"};
  DefinedAsset asset;
  asset.facts = {define.scale(), maximum.amount.minor()};
  asset.record.set_code(define.code());
  asset.record.set_scale(define.scale());
  asset.record.set_maximum_minor(MinorToString(asset.facts.maximum_minor));
  asset.record.set_display_name(define.display_name());
  return asset;
}

std::optional<Refusal> CheckAccountStatus(const v1::SetAccountStatus& set,
                                          const v1::AccountRecord* account) {
  if (account == nullptr)
    return Refusal{Reason::kAccountUnknown, Cat("no account ", set.account())};
  if (account->status() == set.status()) {
    return Refusal{Reason::kAccountStatusUnchanged,
                   Cat("account ", set.account(), " has that status already")};
  }
  return std::nullopt;
}

std::optional<Refusal> CheckGrant(const v1::GrantPrincipal& grant, bool principal_exists,
                                  bool token_taken, AccountLookup account) {
  if (principal_exists) {
    return Refusal{Reason::kPrincipalExists, Cat("principal ", grant.principal(), " exists")};
  }
  if (token_taken) return Refusal{Reason::kTokenHashExists, "another principal holds this token"};
  v1::AccountKind kind = v1::ACCOUNT_KIND_UNSPECIFIED;
  if (grant.role() == v1::ROLE_ISSUER) kind = v1::ACCOUNT_KIND_ISSUER;
  if (grant.role() == v1::ROLE_TERMINAL) kind = v1::ACCOUNT_KIND_STORE;
  if (grant.role() == v1::ROLE_MEMBER) kind = v1::ACCOUNT_KIND_MEMBER;
  for (const auto& id : grant.accounts()) {
    const v1::AccountRecord* bound = account(id);
    if (bound == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", id)};
    if (bound->kind() != kind) {
      return Refusal{Reason::kAccountKindMismatch,
                     Cat(id, " is ", KindName(bound->kind()), ", the role needs ", KindName(kind))};
    }
  }
  return std::nullopt;
}

std::optional<Refusal> CheckRevoke(const std::string& name, const v1::PrincipalRecord* found,
                                   const v1::PrincipalRecord* actor) {
  if (actor != nullptr && actor->role() == v1::ROLE_MEMBER &&
      (found == nullptr || found->role() != v1::ROLE_MEMBER || found->accounts_size() != 1 ||
       actor->accounts_size() != 1 || found->accounts(0) != actor->accounts(0))) {
    // The same answer whether or not `name` exists: a member learns nothing of others.
    return Refusal{Reason::kPermissionDenied,
                   Cat(actor->principal(), " may revoke only its own account's devices")};
  }
  if (found == nullptr) return Refusal{Reason::kPrincipalUnknown, Cat("no principal ", name)};
  if (found->revoked_seq() != 0) {
    return Refusal{Reason::kPrincipalRevoked,
                   Cat("principal ", name, " was revoked by entry ", found->revoked_seq())};
  }
  return std::nullopt;
}

std::optional<Refusal> CheckActivate(const v1::ActivatePrincipal& activate,
                                     const std::string& actor, const v1::PrincipalRecord* found,
                                     std::int64_t time_unix_us, bool token_taken) {
  if (found == nullptr) {
    return Refusal{Reason::kPrincipalUnknown, Cat("no principal ", activate.principal())};
  }
  if (actor != activate.principal()) {
    return Refusal{Reason::kPermissionDenied,
                   Cat(actor, " may not activate ", activate.principal(), ": only itself")};
  }
  if (found->activation_expires_unix_us() == 0) {
    return Refusal{Reason::kActivationClosed,
                   Cat(activate.principal(), " is no device waiting for activation")};
  }
  if (found->activated_seq() != 0) {
    return Refusal{Reason::kActivationClosed,
                   Cat(activate.principal(), " was activated by entry ", found->activated_seq())};
  }
  if (found->revoked_seq() != 0) {
    return Refusal{Reason::kActivationClosed,
                   Cat(activate.principal(), " was revoked by entry ", found->revoked_seq())};
  }
  if (time_unix_us > found->activation_expires_unix_us()) {
    return Refusal{Reason::kActivationClosed,
                   Cat("the activation code of ", activate.principal(), " has expired")};
  }
  if (token_taken) return Refusal{Reason::kTokenHashExists, "another principal holds this token"};
  return std::nullopt;
}

std::optional<Refusal> CheckSetDevicePin(const v1::SetDevicePin& set,
                                         const v1::PrincipalRecord* actor,
                                         const v1::PrincipalRecord* found,
                                         std::int64_t time_unix_us) {
  const bool itself = actor == nullptr || actor->principal() == set.principal();
  if (!itself) {
    // Asked before anything about the target: a member learns nothing of others' devices.
    if (actor->role() != v1::ROLE_ADMIN && actor->role() != v1::ROLE_ISSUER) {
      return Refusal{Reason::kPermissionDenied,
                     Cat(actor->principal(), " may set only its own PIN")};
    }
    if (!set.pin_key_wrapped().empty()) {
      return Refusal{Reason::kPermissionDenied,
                     Cat(actor->principal(), " may clear ", set.principal(),
                         "'s PIN, not set one: only the device's member chooses it")};
    }
  }
  if (found == nullptr || found->role() != v1::ROLE_MEMBER || found->accounts_size() != 1 ||
      found->activated_seq() == 0) {
    return Refusal{Reason::kPrincipalUnknown, Cat("no activated device ", set.principal())};
  }
  if (found->revoked_seq() != 0) {
    return Refusal{Reason::kPrincipalRevoked,
                   Cat("device ", set.principal(), " was revoked by entry ", found->revoked_seq())};
  }
  if (!set.consent().device().empty() && set.consent().device() != set.principal()) {
    return Refusal{Reason::kPaymentCodeInvalid,
                   Cat("payment code: not from ", set.principal(), " itself")};
  }
  // The old PIN proves the change: a phone left unlocked does not give its PIN away.
  const bool required = itself && actor != nullptr && !found->pin_key_wrapped().empty();
  return CheckConsent(
      required, found->accounts(0), set.consent(), found, time_unix_us,
      Cat("changing ", set.principal(), "'s PIN needs a payment code made with its current PIN"));
}

}  // namespace lovebank::rules
