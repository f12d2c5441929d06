#pragma once
// Authority decided by the sequencer (DESIGN.md invariant 8, issue #22 item 2): the checks that
// depend on ledger state, made on the state the command commits on, never earlier on a request
// thread. The service maps a token to its principal and a role to the RPCs it may call; whether
// the actor still holds its grant, and what an entry undoes, can only be known in the sequencer.
// The engine gathers the facts (ledger/engine/authority.cc); the audit checks the same
// independently (ledger/audit/authority.cc).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/rules/rule.h"
#include "lovebank/v1/journal.pb.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank::rules {

// The actor's grant still holds: a principal revoked while its command waited in the queue is
// refused PERMISSION_DENIED. `who`: the actor's grant, null when the actor is no principal (the
// engine's own commands, and library callers that are not the service).
std::optional<Refusal> CheckActor(const std::string& actor, const v1::PrincipalRecord* who);

// Whether `who` may reverse (or, with `refund`, refund) entry `target`, a `kind` that moved
// `postings`: admins any; an issuer the earnings, deductions, awards and approvals that moved
// its own accounts; a terminal its own store's redemptions, checkouts and captured holds.
std::optional<Refusal> CheckMayUndo(const std::string& actor, const v1::PrincipalRecord* who,
                                    bool refund, std::uint64_t target, v1::Command::BodyCase kind,
                                    const std::vector<v1::Posting>& postings);

// Payment codes (issue #24 item 3): a code's window is 30 s; a code is good within 90 s of the
// entry's time either way (a phone's clock a little off, a slow till).
inline constexpr std::int64_t kConsentWindowSeconds = 30;
inline constexpr std::int64_t kConsentSkewSeconds = 90;

// A member's consent at the till (PaymentConsent), decided on the state the command commits on:
// no consent (empty device) is refused PAYMENT_CODE_REQUIRED when `required`; given, it must
// name an activated, unrevoked MEMBER device of `member` (`device`, its record or null), a window
// within kConsentSkewSeconds of `time_unix_us`, and a counter above the device's last one.
// `why_required`: the refusal's message when required and absent (default: the programme's
// setting). The code's pin_seq must be the device's (a code made before a PIN change is refused).
std::optional<Refusal> CheckConsent(bool required, const std::string& member,
                                    const v1::PaymentConsent& consent,
                                    const v1::PrincipalRecord* device, std::int64_t time_unix_us,
                                    std::string_view why_required = "");

}  // namespace lovebank::rules
