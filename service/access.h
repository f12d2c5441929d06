#pragma once
// Authorization: which principal may do what (docs/api.md "Roles"). Pure functions over the
// principal and the request's facts; the service calls them after authentication and before
// anything reaches the ledger, so a denied request changes nothing (invariant 7).
//
//   admin     accounts (open, status), principals, any reversal, reads everything
//   issuer    Earn from / Deduct to its ISSUER accounts, reverses those entries, reads its own
//             accounts and every MEMBER account (a social worker looks up the people served)
//   terminal  Redeem into its STORE, reverses that store's redemptions, reads its store and
//             the account and balance of any MEMBER (the member being served)
//   member    Transfer from its account, reads its own account, balance, statement and entries
//   auditor   reads everything, the Audit service

#include <string>

#include "ledger/ledger.h"
#include "service/auth.h"

namespace lovebank::service {

struct Decision {
  bool allowed = false;
  std::string why;  // when denied: for the PERMISSION_DENIED message
};

// A mutating command. `reverse_target` is the entry a Reverse names (looked up by the caller,
// null when it does not exist: the ledger then refuses it as unknown, if the role may reverse).
Decision MayCommand(const Principal& who, const v1::Command& command,
                    const v1::Entry* reverse_target);

enum class Read {
  kAccount,    // GetAccount
  kBalance,    // GetBalance
  kStatement,  // ListEntries
};
// Reading `account` of `kind` (ACCOUNT_KIND_UNSPECIFIED when the account does not exist).
Decision MayRead(const Principal& who, Read what, std::string_view account, v1::AccountKind kind);
// GetEntry: an entry is visible to admins and auditors, and to others when it touches one of
// their bound accounts.
Decision MayReadEntry(const Principal& who, const v1::Entry& entry);
// What `who` is told of an entry it asked for (GetEntry, GetInclusionProof): OK when it may read
// it; the ledger's refusal when `who` reads everything or the refusal is not ENTRY_UNKNOWN; else —
// and for an entry it may not read — the same PERMISSION_DENIED, so no principal learns whether
// an entry it may not see exists.
absl::Status EntryShownTo(const Principal& who, const absl::StatusOr<StoredEntry>& stored);
// What GetAccount and ListAccounts show `who` of a record it may read: a till gets the checkout
// view (id, kind, name, status, the phone masked) of an account it is not bound to — a name to
// greet, a status to check and digits to confirm with the member, never a member's tags, family,
// budgets, card number or whole phone. Everyone else gets the whole record.
v1::AccountRecord ShownTo(const Principal& who, v1::AccountRecord record);
// A phone as a till shows it: "13812345678" -> "138****5678"; a shorter number keeps its last
// four digits only.
std::string MaskPhone(std::string_view phone);
// ListAccounts' phone filter: a till gives the last 4 digits only (the whole number would let it
// recover the digits the mask hides by trying them).
Decision MaySelectByPhone(const Principal& who, std::string_view phone);
// ListAccounts' tag filter: not for a till (it would select members by what ShownTo hides).
Decision MaySelectByTag(const Principal& who);

Decision MayAdminister(const Principal& who);      // OpenAccount, SetAccountStatus, principals
Decision MayListPrincipals(const Principal& who);  // admin, auditor
Decision MayAudit(const Principal& who);           // the Audit service: auditor, admin
// Programme.Import: whoever may make some file's commands — issuers (activities, awards) and
// admins (members, catalogue, stock) — asked before the file is read, so nobody else makes the
// server decode one; each row's command is then decided as in SubmitBatch.
Decision MayImport(const Principal& who);

// "ISSUER" for ROLE_ISSUER.
std::string RoleName(v1::Role role);

}  // namespace lovebank::service
