#pragma once
// Hours buy services (issue #26; docs/exchange.md) as rules: who may take each step of a request
// or offer, what state it must be in, and what each step moves. A request runs like a hold at
// the checkout: its hours go from the requester to the escrow "system:holds" when a provider
// accepts, and leave it when the service is confirmed (paid, the rest back), resolved by a social
// worker, cancelled or expired (all back). The engine applies what these decide
// (ledger/engine/services.cc); the audit has its own (ledger/audit/rules_services.cc).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/rules/context.h"

namespace lovebank::rules {

// The programme's service policy: the setting, or the default (member to member, any category,
// any member may spend hours on services).
v1::ServicePolicy ServicePolicyOf(const Context& context);

// Whether the actor may make `command` (a service command other than ExpireService) on
// `service` as it now stands (for a PostService: `service` is the record the posting would
// make). Social workers are ISSUER principals (and admins): they post and act for any member.
// A member's device acts for its own account only: posts for it, accepts as it, completes what
// it provides, confirms what it asked, cancels or disputes where it takes part. Resolving a
// dispute is a social worker's alone. A null principal (the engine's own, a library caller)
// may. PERMISSION_DENIED otherwise.
std::optional<Refusal> CheckServiceActor(const v1::Command& command, const v1::PrincipalRecord* who,
                                         const v1::ServiceRecord& service);

// What one step changes: the record after it, the postings of its entry (none for posting,
// completing and disputing) and the hours the provider served (a confirmation or resolution
// that paid some: they count for the star and the certificate).
struct ServiceChange {
  v1::ServiceRecord record;
  std::vector<Posting> postings;
  Int128 served = 0;
};

// A posting: the member an active MEMBER (and, directed, the provider another); the day not
// over and at most kServiceDaysAheadMax days ahead; for a request, the category one of the
// policy's (when it lists any), the hours the asked ones or the category's standard, valid in
// HOURS' scale, and the member carrying a spender tag (when the policy names some); at most
// kServiceOpenPerMemberMax open postings of the member (`open_by_member`, this one not counted).
OrRefusal<ServiceChange> DecidePost(const v1::Command& command, std::size_t open_by_member,
                                    const Context& context);

// A step on an existing service: AcceptService, CompleteService, ConfirmService, CancelService,
// DisputeService, ResolveService or ExpireService. REQUIRES: `service` is the record the
// command names and CheckServiceActor allowed the actor (not asked for ExpireService).
OrRefusal<ServiceChange> DecideStep(const v1::Command& command, const v1::PrincipalRecord* who,
                                    v1::ServiceRecord service, const Context& context);

// Whether a service in `state` still takes steps (open, accepted, completed or disputed).
bool IsLive(v1::ServiceState state);

// The seq a service command names (0 for PostService).
std::uint64_t ServiceSeqOf(const v1::Command& command);

}  // namespace lovebank::rules
