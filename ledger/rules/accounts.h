#pragma once
// The rules of accounts, assets and principals: opening an account, defining an asset, changing
// an account's status, granting and revoking a principal. Free functions over the facts they
// consult; the engine gathers the facts and applies the decision (ledger/engine/accounts.cc).

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "ledger/rules/rule.h"
#include "lovebank/v1/journal.pb.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank::rules {

// "MEMBER" for ACCOUNT_KIND_MEMBER (messages).
const char* KindName(v1::AccountKind kind);

// An asset by code, std::nullopt when it is not defined.
using AssetLookup = absl::FunctionRef<std::optional<AssetFacts>(const std::string& code)>;
// An account's record by id, null when it does not exist.
using AccountLookup = absl::FunctionRef<const v1::AccountRecord*(const std::string& id)>;

// OpenAccount: a new id; each budget an amount of a defined asset. The account to keep (its
// record without the seqs, active, tags sorted; the budgets in minor units), or why not.
struct OpenedAccount {
  v1::AccountRecord record;
  std::vector<std::pair<std::string, Int128>> budgets_minor;
};
std::variant<OpenedAccount, Refusal> DecideOpenAccount(const v1::OpenAccount& open, bool exists,
                                                       AssetLookup asset);

// DefineAsset: a new code, a maximum above zero in the asset's own scale. The asset to keep (its
// record without defined_seq), or why not.
struct DefinedAsset {
  v1::AssetRecord record;
  AssetFacts facts;
};
std::variant<DefinedAsset, Refusal> DecideDefineAsset(const v1::DefineAsset& define, bool exists);

// SetAccountStatus: an existing account, a status it does not have yet.
std::optional<Refusal> CheckAccountStatus(const v1::SetAccountStatus& set,
                                          const v1::AccountRecord* account);

// GrantPrincipal: a new name, a token no principal holds, and bound accounts of the role's kind
// (ISSUER accounts for an issuer, a STORE for a terminal, a MEMBER for a member).
std::optional<Refusal> CheckGrant(const v1::GrantPrincipal& grant, bool principal_exists,
                                  bool token_taken, AccountLookup account);

// RevokePrincipal: a principal that exists and is not revoked yet.
// `actor` (null: not a principal, e.g. a library caller) revokes `name`: admins any principal, a
// member only its own devices (MEMBER principals bound to its account).
std::optional<Refusal> CheckRevoke(const std::string& name, const v1::PrincipalRecord* found,
                                   const v1::PrincipalRecord* actor);
// A device's activation (ActivatePrincipal) by `actor` at `time_unix_us`: the principal exists,
// is the actor, waits for activation, is not revoked, its code has not expired, and the new
// token is nobody's.
std::optional<Refusal> CheckActivate(const v1::ActivatePrincipal& activate,
                                     const std::string& actor, const v1::PrincipalRecord* found,
                                     std::int64_t time_unix_us, bool token_taken);

// A device's PIN (SetDevicePin) by `actor` (null: a library caller) at `time_unix_us`: the
// target is an activated, unrevoked MEMBER device; the device itself sets, changes or clears it,
// an admin or an issuer (a social worker) only clears it; a member's other devices nothing. The
// device with a PIN proves it with a code made with it (`consent`, CheckConsent, required); a
// consent given must be the target device's own.
std::optional<Refusal> CheckSetDevicePin(const v1::SetDevicePin& set,
                                         const v1::PrincipalRecord* actor,
                                         const v1::PrincipalRecord* found,
                                         std::int64_t time_unix_us);

}  // namespace lovebank::rules
