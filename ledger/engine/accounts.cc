// Accounts, assets and principals: the engine's side of ledger/rules/accounts.h — the facts from
// the state tables, the decision applied as the entry and its records.

#include "ledger/rules/accounts.h"

#include "ledger/engine/engine_internal.h"
#include "ledger/rules/programme.h"

namespace lovebank {
namespace {

const v1::AccountRecord* RecordOf(const AccountState* account) {
  return account == nullptr ? nullptr : &account->record;
}

}  // namespace

Outcome Engine::ApplyOpenAccount(const v1::Command& command, const std::string& fingerprint) {
  const v1::OpenAccount& open = command.open_account();
  auto decided =
      rules::DecideOpenAccount(open, FindAccount(open.account()) != nullptr,
                               [this](const std::string& code) -> std::optional<rules::AssetFacts> {
                                 const AssetState* asset = FindAsset(code);
                                 if (asset == nullptr) return std::nullopt;
                                 return rules::AssetFacts{asset->scale, asset->maximum_minor};
                               });
  if (auto* refusal = std::get_if<rules::Refusal>(&decided)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  auto& opened = std::get<rules::OpenedAccount>(decided);
  if (!open.card_number().empty()) {
    if (auto taken = rules::CheckCardFree(open.card_number(), open.account(), *context_)) {
      return RefuseWith(command, fingerprint, std::move(*taken));
    }
  }
  const std::uint64_t seq = head_.seq + 1;
  AccountState state;
  state.record = std::move(opened.record);
  state.record.set_opened_seq(seq);
  state.record.set_status_seq(seq);
  for (auto& [asset, minor] : opened.budgets_minor) state.budgets_minor[asset] = minor;
  Outcome outcome = Append(command, fingerprint, {}, {open.account()});
  LOVEBANK_CHECK(outcome.receipt.seq == seq);
  SetAccount(open.account(), std::move(state));
  return outcome;
}

void Engine::SetAccount(const std::string& account, AccountState state) {
  if (const AccountState* before = FindAccount(account);
      before != nullptr && !before->record.card_number().empty()) {
    card_owners_.erase(before->record.card_number());
  }
  if (!state.record.card_number().empty()) card_owners_[state.record.card_number()] = account;
  accounts_.Set(account, std::move(state));
}

Outcome Engine::ApplyDefineAsset(const v1::Command& command, const std::string& fingerprint) {
  const v1::DefineAsset& define = command.define_asset();
  auto decided = rules::DecideDefineAsset(define, FindAsset(define.code()) != nullptr);
  if (auto* refusal = std::get_if<rules::Refusal>(&decided)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  auto& defined = std::get<rules::DefinedAsset>(decided);
  AssetState asset;
  asset.scale = defined.facts.scale;
  asset.maximum_minor = defined.facts.maximum_minor;
  asset.record = std::move(defined.record);
  asset.record.set_defined_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  assets_.Set(define.code(), std::move(asset));
  return outcome;
}

Outcome Engine::ApplySetAccountStatus(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetAccountStatus& set = command.set_account_status();
  const AccountState* account = FindAccount(set.account());
  if (auto refused = rules::CheckAccountStatus(set, RecordOf(account))) {
    return RefuseWith(command, fingerprint, std::move(*refused));
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
  if (auto refused =
          rules::CheckGrant(grant, principals_.contains(grant.principal()),
                            token_hashes_.contains(grant.token_sha256()),
                            [this](const std::string& id) { return RecordOf(FindAccount(id)); })) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  v1::PrincipalRecord record;
  record.set_principal(grant.principal());
  record.set_role(grant.role());
  *record.mutable_accounts() = grant.accounts();
  record.set_token_sha256(grant.token_sha256());
  record.set_display_name(grant.display_name());
  record.set_granted_seq(head_.seq + 1);
  if (grant.activation_ttl_seconds() != 0) {
    record.set_activation_expires_unix_us(NextEntryTime() +
                                          std::int64_t{grant.activation_ttl_seconds()} * 1'000'000);
    record.set_activation_sha256(grant.token_sha256());
  }
  Outcome outcome = Append(command, fingerprint, {}, {});
  token_hashes_.insert(grant.token_sha256());
  principals_.Set(grant.principal(), std::move(record));
  return outcome;
}

Outcome Engine::ApplyActivatePrincipal(const v1::Command& command, const std::string& fingerprint) {
  const v1::ActivatePrincipal& activate = command.activate_principal();
  const v1::PrincipalRecord* found = principals_.Find(activate.principal());
  if (auto refused = rules::CheckActivate(activate, command.actor(), found, NextEntryTime(),
                                          token_hashes_.contains(activate.token_sha256()))) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  v1::PrincipalRecord record = *found;
  record.set_token_sha256(activate.token_sha256());
  record.set_activated_seq(head_.seq + 1);
  record.set_device_name(activate.device_name());
  Outcome outcome = Append(command, fingerprint, {}, {});
  token_hashes_.insert(activate.token_sha256());
  principals_.Set(activate.principal(), std::move(record));
  return outcome;
}

Outcome Engine::ApplyRevokePrincipal(const v1::Command& command, const std::string& fingerprint) {
  const std::string& name = command.revoke_principal().principal();
  const v1::PrincipalRecord* found = principals_.Find(name);
  if (auto refused = rules::CheckRevoke(name, found, ActorPrincipal(command))) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  v1::PrincipalRecord record = *found;
  record.set_revoked_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  principals_.Set(name, std::move(record));
  return outcome;
}

Outcome Engine::ApplySetDevicePin(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetDevicePin& set = command.set_device_pin();
  const v1::PrincipalRecord* found = principals_.Find(set.principal());
  if (auto refused =
          rules::CheckSetDevicePin(set, ActorPrincipal(command), found, NextEntryTime())) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  v1::PrincipalRecord record = *found;
  record.set_pin_key_wrapped(set.pin_key_wrapped());
  record.set_pin_wrap_nonce(set.wrap_nonce());
  record.set_pin_seq(head_.seq + 1);
  if (!set.consent().device().empty()) record.set_last_consent_counter(set.consent().counter());
  Outcome outcome = Append(command, fingerprint, {}, {});
  principals_.Set(set.principal(), std::move(record));
  return outcome;
}

}  // namespace lovebank
