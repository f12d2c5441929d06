// Authority decided by the sequencer (DESIGN.md invariant 8, issue #22 item 2): the checks that
// depend on ledger state are made here, on the state the command commits on, never earlier on a
// request thread. The service maps a token to its principal and a role to the RPCs it may call;
// what an entry undoes, and whether the actor still holds its grant, can only be known here.
//
// The race this closes: the service used to look up a Reverse's target when the request arrived
// and allowed an entry that did not exist yet; by the time the sequencer decided, another
// principal's entry held that seq and was reversed with no second check.

#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"

namespace lovebank {
namespace {

bool IsBoundToAny(const v1::PrincipalRecord& who, const std::vector<v1::Posting>& postings) {
  for (const auto& posting : postings) {
    for (const auto& account : who.accounts()) {
      if (account == posting.account()) return true;
    }
  }
  return false;
}

std::string RoleWord(v1::Role role) {
  const std::string& name = v1::Role_Name(role);
  return name.size() > 5 ? name.substr(5) : name;  // "ROLE_ISSUER" -> "ISSUER"
}

}  // namespace

const v1::PrincipalRecord* Engine::ActorPrincipal(const v1::Command& command) const {
  return principals_.Find(command.actor());
}

std::optional<Outcome> Engine::CheckActor(const v1::Command& command,
                                          const std::string& fingerprint) {
  const v1::PrincipalRecord* who = ActorPrincipal(command);
  if (who == nullptr || who->revoked_seq() == 0) return std::nullopt;
  // Revoked while the command waited in the queue: the grant no longer holds at this seq.
  return Refuse(command, fingerprint, Reason::kPermissionDenied,
                Cat(command.actor(), " was revoked by entry ", who->revoked_seq()));
}

std::optional<Outcome> Engine::CheckMayUndo(const v1::Command& command,
                                            const std::string& fingerprint, std::uint64_t target,
                                            const BatchEntry& entry) {
  const v1::PrincipalRecord* who = ActorPrincipal(command);
  if (who == nullptr || who->role() == v1::ROLE_ADMIN) return std::nullopt;
  const v1::Command::BodyCase kind = entry.kind;
  const bool issuers = kind == v1::Command::kEarn || kind == v1::Command::kDeduct ||
                       kind == v1::Command::kAward || kind == v1::Command::kApprove;
  const bool stores = kind == v1::Command::kRedeem || kind == v1::Command::kCheckout ||
                      kind == v1::Command::kCaptureHold;
  // A refund answers to the rule of a reversal of the sale it refunds; issuers never refund.
  const bool refund = command.has_refund();
  // Grants bind an ISSUER principal to ISSUER accounts and a TERMINAL to STORE accounts only
  // (ApplyGrantPrincipal), so "bound to an account the entry moved" is "its own issuer's
  // entry" or "its own store's sale".
  const bool allowed = ((who->role() == v1::ROLE_ISSUER && issuers && !refund) ||
                        (who->role() == v1::ROLE_TERMINAL && stores)) &&
                       IsBoundToAny(*who, entry.postings);
  if (allowed) return std::nullopt;
  return Refuse(command, fingerprint, Reason::kPermissionDenied,
                Cat(command.actor(), " (", RoleWord(who->role()), ") may not ",
                    refund ? "refund" : "reverse", " entry ", target));
}

}  // namespace lovebank
