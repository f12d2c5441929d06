// The audit's authority rule (DESIGN.md invariant 8, issue #22 item 3), coded again from
// docs/api.md "Roles" and ledger/engine/authority.cc, not shared with the service or the engine:
// every entry's actor held, at the seq it was decided, an unrevoked journaled grant whose role and
// bound accounts permit that command on that target as it then stood.
//
// From the first GrantPrincipal on. A journal's first entries are the ledger's own (genesis
// assets, actor "lovebank") and, on a ledger made with the library alone (the demo, benchmarks),
// everything: there is no principal to hold a grant before the first one is granted. On a ledger
// lovebankd made, the first admin is granted right after genesis, so every client entry is
// checked. (Rewriting a journal from its start to drop the grants changes every hash after
// them: the published digests catch that.)

#include "ledger/audit/replay.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"

namespace lovebank::audit {
namespace {

// The bootstrap actor: lovebankd grants the first admin of a ledger without principals.
constexpr std::string_view kBootstrapActor = kLovebankdActor;

bool Bound(const v1::PrincipalRecord& who, std::string_view account) {
  for (const auto& id : who.accounts()) {
    if (id == account) return true;
  }
  return false;
}

std::string RoleWord(v1::Role role) {
  const std::string& name = v1::Role_Name(role);
  return name.size() > 5 ? name.substr(5) : name;
}

bool IssuerUndoes(std::uint8_t kind) {
  return kind == v1::Command::kEarn || kind == v1::Command::kDeduct ||
         kind == v1::Command::kAward || kind == v1::Command::kApprove;
}
bool StoreUndoes(std::uint8_t kind) {
  return kind == v1::Command::kRedeem || kind == v1::Command::kCheckout ||
         kind == v1::Command::kCaptureHold;
}

// Whether `who` may undo (reverse, or refund lines of) entry `target` as it stood.
bool MayUndo(const v1::PrincipalRecord& who, std::uint64_t target, bool refund,
             const ReplayState& state) {
  if (who.role() == v1::ROLE_ADMIN) return true;
  if (target == 0 || target > state.entries.size()) return false;
  const ReplayState::Reversible& entry = state.entries[target - 1];
  if (entry.owner == 0) return false;
  const std::string& owner = state.owners[entry.owner - 1];
  if (who.role() == v1::ROLE_ISSUER)
    return !refund && IssuerUndoes(entry.kind) && Bound(who, owner);
  if (who.role() == v1::ROLE_TERMINAL) return StoreUndoes(entry.kind) && Bound(who, owner);
  return false;
}

// Services (docs/exchange.md "Who does what"): social workers (issuers) and admins act on any;
// a member's device posts and accepts for its own account, completes what it provides,
// confirms what it asked, cancels or disputes where it takes part; only social workers resolve.
bool PermitsService(const v1::PrincipalRecord& who, const v1::Command& c,
                    const ReplayState& state) {
  if (who.role() == v1::ROLE_ISSUER || who.role() == v1::ROLE_ADMIN) {
    // A social worker disputes only a request it posted for a member; it pays out (confirms,
    // resolves) only a service it did not post, assign or record (maker-checker).
    if (c.has_dispute_service()) {
      auto service = state.services.find(c.dispute_service().service_seq());
      return service == state.services.end() || service->second.posted_by() == who.principal();
    }
    if (!c.has_confirm_service() && !c.has_resolve_service()) return true;
    auto service = state.services.find(c.has_confirm_service() ? c.confirm_service().service_seq()
                                                               : c.resolve_service().service_seq());
    return service == state.services.end() || (service->second.posted_by() != who.principal() &&
                                               service->second.accepted_by() != who.principal() &&
                                               service->second.completed_by() != who.principal());
  }
  if (who.role() != v1::ROLE_MEMBER) return false;
  if (c.has_post_service()) return Bound(who, c.post_service().member());
  if (c.has_accept_service()) return Bound(who, c.accept_service().provider());
  const std::uint64_t seq = c.has_complete_service()  ? c.complete_service().service_seq()
                            : c.has_confirm_service() ? c.confirm_service().service_seq()
                            : c.has_cancel_service()  ? c.cancel_service().service_seq()
                            : c.has_dispute_service() ? c.dispute_service().service_seq()
                                                      : 0;
  auto service = state.services.find(seq);
  if (service == state.services.end()) return false;
  const bool requester = Bound(who, service->second.member());
  const bool provider =
      service->second.accepted_seq() != 0 && Bound(who, service->second.provider());
  if (c.has_complete_service()) return provider;
  if (c.has_confirm_service()) return requester;
  return requester || provider;  // cancel, dispute
}

// Whether `who` (an unrevoked principal) may make `command`.
bool Permits(const v1::PrincipalRecord& who, const v1::Command& c, const ReplayState& state) {
  const v1::Role role = who.role();
  switch (c.body_case()) {
    case v1::Command::kEarn:
      return role == v1::ROLE_ISSUER && Bound(who, c.earn().from());
    case v1::Command::kDeduct:
      return role == v1::ROLE_ISSUER && Bound(who, c.deduct().to());
    case v1::Command::kAward:
      return role == v1::ROLE_ISSUER && Bound(who, c.award().issuer());
    case v1::Command::kRedeem:
      return role == v1::ROLE_TERMINAL && Bound(who, c.redeem().to());
    case v1::Command::kTransfer:
      return role == v1::ROLE_MEMBER && Bound(who, c.transfer().from());
    case v1::Command::kCheckout:
      return role == v1::ROLE_TERMINAL && Bound(who, c.checkout().store());
    case v1::Command::kAuthorizeHold:
      return role == v1::ROLE_TERMINAL && Bound(who, c.authorize_hold().store());
    case v1::Command::kCaptureHold:
      return role == v1::ROLE_TERMINAL && Bound(who, c.capture_hold().store());
    case v1::Command::kVoidHold:
      return role == v1::ROLE_TERMINAL && Bound(who, c.void_hold().store());
    case v1::Command::kReverse:
      return MayUndo(who, c.reverse().seq(), /*refund=*/false, state);
    case v1::Command::kRefund:
      return MayUndo(who, c.refund().checkout_seq(), /*refund=*/true, state);
    case v1::Command::kApprove:
    case v1::Command::kReject:
      return role == v1::ROLE_APPROVER || role == v1::ROLE_ADMIN;
    case v1::Command::kGrantPrincipal:
      // Issuers (social workers) grant members' devices that wait for activation.
      return role == v1::ROLE_ADMIN ||
             (role == v1::ROLE_ISSUER && c.grant_principal().activation_ttl_seconds() != 0);
    case v1::Command::kActivatePrincipal:
      return who.principal() == c.activate_principal().principal();
    case v1::Command::kRevokePrincipal: {
      if (role == v1::ROLE_ADMIN) return true;
      // A member revokes its own account's devices.
      auto target = state.principals.find(c.revoke_principal().principal());
      return role == v1::ROLE_MEMBER && who.accounts_size() == 1 &&
             target != state.principals.end() && target->second.role() == v1::ROLE_MEMBER &&
             target->second.accounts_size() == 1 && target->second.accounts(0) == who.accounts(0);
    }
    case v1::Command::kSetDevicePin:
      // The device itself; admins and issuers (social workers) clear a forgotten PIN.
      return who.principal() == c.set_device_pin().principal() ||
             ((role == v1::ROLE_ADMIN || role == v1::ROLE_ISSUER) &&
              c.set_device_pin().pin_key_wrapped().empty());
    case v1::Command::kOpenAccount:
    case v1::Command::kSetAccountStatus:
    case v1::Command::kSetBudget:
    case v1::Command::kSetAccountContact:
    case v1::Command::kSetAccountTags:
    case v1::Command::kSetFamily:
    case v1::Command::kSetTransferPolicy:
    case v1::Command::kSetAwardRule:
    case v1::Command::kSetApprovalThreshold:
    case v1::Command::kSetStarLevels:
    case v1::Command::kSetHoursCap:
    case v1::Command::kSetDailyHoursCap:
    case v1::Command::kSetItem:
    case v1::Command::kSetExchangeRatio:
    case v1::Command::kSetLimit:
    case v1::Command::kSetHousehold:
    case v1::Command::kReceiveStock:
    case v1::Command::kWriteOffStock:
    case v1::Command::kSettle:
      return role == v1::ROLE_ADMIN;
    case v1::Command::kSetSetting:
      // The signing key changes by lovebankd alone, its old key's endorsement its authority.
      return role == v1::ROLE_ADMIN && !c.set_setting().value().has_signing_key();
    case v1::Command::kCosignHead:
      return role == v1::ROLE_AUDITOR;  // witnesses
    case v1::Command::kPostService:
    case v1::Command::kAcceptService:
    case v1::Command::kCompleteService:
    case v1::Command::kConfirmService:
    case v1::Command::kCancelService:
    case v1::Command::kDisputeService:
      return PermitsService(who, c, state);
    case v1::Command::kResolveService:
      return (role == v1::ROLE_ISSUER || role == v1::ROLE_ADMIN) && PermitsService(who, c, state);
    case v1::Command::kExpireService:  // the engine's own
    case v1::Command::kDefineAsset:    // genesis: the engine's own
    case v1::Command::kReleaseHold:    // the engine's own
    case v1::Command::kExpirePending:  // the engine's own
    case v1::Command::BODY_NOT_SET:
      return false;
  }
  return false;
}

}  // namespace

std::string AuthorityProblem(const v1::Entry& entry, const ReplayState& state) {
  const v1::Command& c = entry.command();
  const std::string& actor = c.actor();
  if (actor == kEngineActor) {
    // The engine writes genesis, hold releases and lapses of pending entries; nothing else.
    if (c.has_define_asset() || c.has_release_hold() || c.has_expire_pending() ||
        c.has_expire_service()) {
      return "";
    }
    return Cat("the engine's actor ", actor, " made a client's command");
  }
  if (state.principals.empty()) {
    // Before the first grant: the ledger's own setup (see the top of this file); the first
    // grant itself is lovebankd's bootstrap of an admin, or a library caller's.
    return "";
  }
  if (actor == kBootstrapActor && c.has_set_setting() &&
      c.set_setting().value().has_signing_key()) {
    return "";  // `lovebankd --rotate-signing-key`: the rule checks the old key endorsed it
  }
  if (actor == kBootstrapActor) {
    return Cat(actor,
               " may only change the signing key and grant the first admin of a ledger without "
               "principals");
  }
  auto it = state.principals.find(actor);
  if (it == state.principals.end()) return Cat(Excerpt(actor), " was never granted");
  const v1::PrincipalRecord& who = it->second;
  if (who.revoked_seq() != 0) {
    return Cat(actor, " was revoked by entry ", who.revoked_seq());
  }
  if (who.activation_expires_unix_us() != 0 && who.activated_seq() == 0 &&
      !c.has_activate_principal()) {
    return Cat(actor, " is a device not yet activated: its code authenticates nothing else");
  }
  if (!Permits(who, c, state)) {
    return Cat(actor, " (", RoleWord(who.role()), ") may not make this ",
               v1::Command::descriptor()->FindFieldByNumber(c.body_case())->name());
  }
  return "";
}

void RecordOwner(const v1::Entry& entry, ReplayState& state) {
  const v1::Command& c = entry.command();
  std::string_view owner;
  switch (c.body_case()) {
    case v1::Command::kEarn:
      owner = c.earn().from();
      break;
    case v1::Command::kDeduct:
      owner = c.deduct().to();
      break;
    case v1::Command::kAward:
      owner = c.award().issuer();
      break;
    case v1::Command::kRedeem:
      owner = c.redeem().to();
      break;
    case v1::Command::kCheckout:
      owner = c.checkout().store();
      break;
    case v1::Command::kCaptureHold:
      owner = c.capture_hold().store();
      break;
    case v1::Command::kApprove:
      // The approved award or earning moves value from its issuer: the posting that pays.
      for (const auto& posting : entry.postings()) {
        if (!posting.amount_minor().empty() && posting.amount_minor()[0] == '-') {
          owner = posting.account();
          break;
        }
      }
      break;
    default:
      return;
  }
  if (owner.empty()) return;
  auto [it, added] = state.owner_ids.try_emplace(std::string(owner), 0);
  if (added) {
    state.owners.emplace_back(owner);
    it->second = static_cast<std::uint32_t>(state.owners.size());
  }
  ReplayState::Reversible& reversible = state.entries[entry.seq() - 1];
  reversible.kind = static_cast<std::uint8_t>(c.body_case());
  reversible.owner = it->second;
}

std::string ConsentProblem(const v1::Entry& entry, ReplayState& state) {
  const v1::Command& c = entry.command();
  const v1::PaymentConsent* consent = nullptr;
  std::string member;
  if (c.has_checkout()) {
    consent = &c.checkout().consent();
    member = c.checkout().member();
  } else if (c.has_authorize_hold()) {
    consent = &c.authorize_hold().consent();
    member = c.authorize_hold().member();
  } else if (c.has_redeem()) {
    consent = &c.redeem().consent();
    member = c.redeem().from();
  } else if (c.has_transfer()) {
    // A device with a PIN gives nothing away without its own code made with it.
    auto actor = state.principals.find(c.actor());
    const bool pin = actor != state.principals.end() && !actor->second.pin_key_wrapped().empty();
    const v1::PaymentConsent& given = c.transfer().consent();
    if (given.device().empty()) {
      return pin ? Cat("a transfer by ", c.actor(), ", a device with a PIN, without its code") : "";
    }
    if (given.device() != c.actor()) {
      return Cat("a transfer by ", Excerpt(c.actor()), " with a code of ", Excerpt(given.device()));
    }
    consent = &given;
    member = c.transfer().from();
  } else if (c.has_confirm_service()) {
    // As a transfer: a requester's device with a PIN confirms with its own code made with it.
    auto actor = state.principals.find(c.actor());
    const bool pin = actor != state.principals.end() && !actor->second.pin_key_wrapped().empty();
    const v1::PaymentConsent& given = c.confirm_service().consent();
    if (given.device().empty()) {
      return pin ? Cat("a confirmation by ", c.actor(), ", a device with a PIN, without its code")
                 : "";
    }
    if (given.device() != c.actor()) {
      return Cat("a confirmation by ", Excerpt(c.actor()), " with a code of ",
                 Excerpt(given.device()));
    }
    auto service = state.services.find(c.confirm_service().service_seq());
    if (service == state.services.end()) return "";  // reported by the service rules
    consent = &given;
    member = service->second.member();
  } else if (c.has_set_device_pin()) {
    // A device with a PIN proves it to change it (the replay checks the device itself).
    const v1::SetDevicePin& set = c.set_device_pin();
    auto device = state.principals.find(set.principal());
    if (device == state.principals.end() || device->second.accounts_size() != 1) return "";
    if (set.consent().device().empty()) {
      if (c.actor() == set.principal() && !device->second.pin_key_wrapped().empty()) {
        return Cat(set.principal(), "'s PIN changed with no code made with it");
      }
      return "";
    }
    if (set.consent().device() != set.principal()) {
      return Cat("a code of ", Excerpt(set.consent().device()), " proves ", set.principal(),
                 "'s PIN");
    }
    consent = &set.consent();
    member = device->second.accounts(0);
  } else {
    // Every other Move pays nothing of a member's at a till.
    const v1::Move* move = c.has_earn()              ? &c.earn()
                           : c.has_deduct()          ? &c.deduct()
                           : c.has_receive_stock()   ? &c.receive_stock()
                           : c.has_write_off_stock() ? &c.write_off_stock()
                           : c.has_settle()          ? &c.settle()
                                                     : nullptr;
    if (move != nullptr && move->has_consent())
      return "a payment code on a command that pays nothing";
    return "";
  }
  if (consent->device().empty()) {
    auto policy = state.settings.find("setting:payment_code_required");
    if (policy != state.settings.end() && policy->second.value().payment_code_required()) {
      return Cat("no payment code of ", member, " while the programme requires one");
    }
    return "";
  }
  auto device = state.principals.find(consent->device());
  if (device == state.principals.end() || device->second.role() != v1::ROLE_MEMBER ||
      device->second.accounts_size() != 1 || device->second.accounts(0) != member ||
      device->second.activated_seq() == 0 || device->second.revoked_seq() != 0) {
    return Cat("payment code of ", Excerpt(consent->device()), ", no active device of ", member);
  }
  // In 128 bits: a forged counter or time cannot overflow the comparison.
  constexpr std::int64_t kWindowUs = 30'000'000;
  constexpr std::int64_t kSkewUs = 90'000'000;
  const Int128 window_start = Int128(consent->counter() / 10) * kWindowUs;
  const Int128 time = entry.time_unix_us();
  if (window_start < time - kSkewUs || window_start > time + kSkewUs) {
    return Cat("payment code of window ", consent->counter() / 10, " at entry time ",
               entry.time_unix_us());
  }
  if (consent->counter() <= device->second.last_consent_counter()) {
    return Cat("payment code ", consent->counter(), " of ", consent->device(), " used again");
  }
  if (consent->pin_seq() != device->second.pin_seq()) {
    return Cat("payment code of ", consent->device(), " checked against PIN entry ",
               consent->pin_seq(), ", its PIN is entry ", device->second.pin_seq());
  }
  device->second.set_last_consent_counter(consent->counter());
  return "";
}

}  // namespace lovebank::audit
