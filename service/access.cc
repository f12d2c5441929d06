#include "service/access.h"

#include <algorithm>

#include "ledger/base/strings.h"

namespace lovebank::service {
namespace {

Decision Allow() { return {true, {}}; }
Decision Deny(std::string why) { return {false, std::move(why)}; }

bool Reads(const Principal& who) {
  return who.role == v1::ROLE_ADMIN || who.role == v1::ROLE_AUDITOR;
}

Decision Bound(const Principal& who, std::string_view account, std::string_view what) {
  if (who.IsBound(account)) return Allow();
  return Deny(Cat(who.name, " (", RoleName(who.role), ") may not ", what, " for ", account));
}

// The accounts an entry's command names or its postings move.
bool Touches(const Principal& who, const v1::Entry& entry) {
  for (const auto& posting : entry.postings()) {
    if (who.IsBound(posting.account())) return true;
  }
  const v1::Command& c = entry.command();
  const v1::Move* move = c.has_earn()              ? &c.earn()
                         : c.has_deduct()          ? &c.deduct()
                         : c.has_redeem()          ? &c.redeem()
                         : c.has_transfer()        ? &c.transfer()
                         : c.has_receive_stock()   ? &c.receive_stock()
                         : c.has_write_off_stock() ? &c.write_off_stock()
                         : c.has_settle()          ? &c.settle()
                                                   : nullptr;
  if (move != nullptr) return who.IsBound(move->from()) || who.IsBound(move->to());
  if (c.has_open_account()) return who.IsBound(c.open_account().account());
  if (c.has_checkout())
    return who.IsBound(c.checkout().member()) || who.IsBound(c.checkout().store());
  if (c.has_set_item()) return who.IsBound(c.set_item().store());
  if (c.has_authorize_hold()) {
    return who.IsBound(c.authorize_hold().member()) || who.IsBound(c.authorize_hold().store());
  }
  if (c.has_capture_hold()) return who.IsBound(c.capture_hold().store());
  if (c.has_void_hold()) return who.IsBound(c.void_hold().store());
  if (c.has_set_account_status()) return who.IsBound(c.set_account_status().account());
  if (c.has_set_account_contact()) return who.IsBound(c.set_account_contact().account());
  if (c.has_set_budget()) return who.IsBound(c.set_budget().account());
  if (c.has_award()) return who.IsBound(c.award().member()) || who.IsBound(c.award().issuer());
  if (c.has_set_account_tags()) return who.IsBound(c.set_account_tags().account());
  if (c.has_set_family()) return who.IsBound(c.set_family().member());
  return false;
}

Decision MayReverse(const Principal& who, const v1::Entry* target) {
  if (who.role == v1::ROLE_ADMIN) return Allow();
  if (target == nullptr) {
    // Unknown entry: a role that can reverse something learns it does not exist.
    if (who.role == v1::ROLE_ISSUER || who.role == v1::ROLE_TERMINAL) return Allow();
    return Deny(Cat(who.name, " (", RoleName(who.role), ") may not reverse entries"));
  }
  const v1::Command& c = target->command();
  if (who.role == v1::ROLE_TERMINAL && c.has_redeem() && who.IsBound(c.redeem().to())) {
    return Allow();
  }
  if (who.role == v1::ROLE_TERMINAL && c.has_checkout() && who.IsBound(c.checkout().store())) {
    return Allow();
  }
  if (who.role == v1::ROLE_TERMINAL && c.has_capture_hold() &&
      who.IsBound(c.capture_hold().store())) {
    return Allow();
  }
  if (who.role == v1::ROLE_ISSUER && ((c.has_earn() && who.IsBound(c.earn().from())) ||
                                      (c.has_deduct() && who.IsBound(c.deduct().to())) ||
                                      (c.has_award() && who.IsBound(c.award().issuer())))) {
    return Allow();
  }
  if (who.role == v1::ROLE_ISSUER && c.has_approve()) {
    // An approved award or earning: the issuer whose account it moved may undo it.
    for (const auto& posting : target->postings()) {
      if (who.IsBound(posting.account())) return Allow();
    }
  }
  return Deny(Cat(who.name, " (", RoleName(who.role), ") may not reverse entry ", target->seq()));
}

}  // namespace

std::string RoleName(v1::Role role) {
  const std::string& name = v1::Role_Name(role);
  return name.size() > 5 ? name.substr(5) : name;
}

Decision MayCommand(const Principal& who, const v1::Command& command,
                    const v1::Entry* reverse_target) {
  switch (command.body_case()) {
    case v1::Command::kEarn:
      if (who.role != v1::ROLE_ISSUER) break;
      return Bound(who, command.earn().from(), "earn");
    case v1::Command::kDeduct:
      if (who.role != v1::ROLE_ISSUER) break;
      return Bound(who, command.deduct().to(), "deduct");
    case v1::Command::kRedeem:
      if (who.role != v1::ROLE_TERMINAL) break;
      return Bound(who, command.redeem().to(), "redeem");
    case v1::Command::kTransfer:
      if (who.role != v1::ROLE_MEMBER) break;
      return Bound(who, command.transfer().from(), "transfer");
    case v1::Command::kReverse:
      return MayReverse(who, reverse_target);
    case v1::Command::kGrantPrincipal:
      // Social workers (issuers) hand members activation codes for their phones.
      if (who.role == v1::ROLE_ISSUER && command.grant_principal().activation_ttl_seconds() != 0) {
        return Allow();
      }
      return MayAdminister(who);
    case v1::Command::kActivatePrincipal:
      // Only Admin.Activate makes it, as the device itself, from the device's code.
      return Deny("a device activates itself with its code (Admin.Activate)");
    case v1::Command::kRevokePrincipal:
      // A member revokes its own devices (a lost phone); the sequencer checks the target is one.
      if (who.role == v1::ROLE_MEMBER) return Allow();
      return MayAdminister(who);
    case v1::Command::kSetDevicePin:
      // A device its own PIN; a social worker (issuer) or an admin clears a forgotten one. The
      // sequencer decides which device and whether setting or clearing.
      if (who.role == v1::ROLE_MEMBER || who.role == v1::ROLE_ISSUER) return Allow();
      return MayAdminister(who);
    case v1::Command::kOpenAccount:
    case v1::Command::kSetAccountStatus:
    case v1::Command::kSetAccountContact:
    case v1::Command::kSetBudget:
      return MayAdminister(who);
    case v1::Command::kCheckout:
      if (who.role != v1::ROLE_TERMINAL) break;
      return Bound(who, command.checkout().store(), "check out");
    case v1::Command::kRefund:
      // A refund answers to the same rule as a reversal of the checkout it refunds.
      if (reverse_target != nullptr && !reverse_target->command().has_checkout() &&
          !reverse_target->command().has_capture_hold()) {
        return who.role == v1::ROLE_ADMIN || who.role == v1::ROLE_TERMINAL
                   ? Allow()  // the ledger refuses it: not a checkout
                   : Deny(Cat(who.name, " (", RoleName(who.role), ") may not refund"));
      }
      if (who.role == v1::ROLE_ISSUER) break;
      return MayReverse(who, reverse_target);
    case v1::Command::kAuthorizeHold:
      if (who.role != v1::ROLE_TERMINAL) break;
      return Bound(who, command.authorize_hold().store(), "hold baskets");
    case v1::Command::kCaptureHold:
      if (who.role != v1::ROLE_TERMINAL) break;
      return Bound(who, command.capture_hold().store(), "capture holds");
    case v1::Command::kVoidHold:
      if (who.role != v1::ROLE_TERMINAL) break;
      return Bound(who, command.void_hold().store(), "void holds");
    case v1::Command::kReleaseHold:  // the engine's own
    case v1::Command::kExpirePending:
      break;
    case v1::Command::kAward:
      if (who.role != v1::ROLE_ISSUER) break;
      return Bound(who, command.award().issuer(), "award");
    case v1::Command::kApprove:
    case v1::Command::kReject:
      // Maker-checker: approvers (and the programme office) decide; the ledger refuses the
      // maker itself.
      if (who.role == v1::ROLE_APPROVER) return Allow();
      return MayAdminister(who);
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
      // The programme office runs the catalogue, prices, stock and settlement: a terminal
      // never sets a price.
      return MayAdminister(who);
    case v1::Command::kSetSetting:
      if (command.set_setting().value().has_signing_key()) {
        return Deny("the signing key changes with `lovebankd --rotate-signing-key` alone");
      }
      return MayAdminister(who);
    case v1::Command::kCosignHead:
      // Witnesses: auditors co-sign heads they verified, with their own keys.
      if (who.role == v1::ROLE_AUDITOR) return Allow();
      break;
    // Services (issue #26): members for their own account, social workers (issuers) and admins
    // for anyone. Who may act on an existing request depends on it: the sequencer decides.
    case v1::Command::kPostService:
      if (who.role == v1::ROLE_MEMBER) return Bound(who, command.post_service().member(), "post");
      if (who.role == v1::ROLE_ISSUER) return Allow();
      return MayAdminister(who);
    case v1::Command::kAcceptService:
      if (who.role == v1::ROLE_MEMBER) {
        return Bound(who, command.accept_service().provider(), "accept");
      }
      if (who.role == v1::ROLE_ISSUER) return Allow();
      return MayAdminister(who);
    case v1::Command::kCompleteService:
    case v1::Command::kConfirmService:
    case v1::Command::kCancelService:
    case v1::Command::kDisputeService:
      if (who.role == v1::ROLE_MEMBER || who.role == v1::ROLE_ISSUER) return Allow();
      return MayAdminister(who);
    case v1::Command::kResolveService:
      if (who.role == v1::ROLE_ISSUER) return Allow();
      return MayAdminister(who);
    case v1::Command::kExpireService:  // the engine's own
    case v1::Command::kDefineAsset:
    case v1::Command::BODY_NOT_SET:
      break;
  }
  return Deny(Cat(who.name, " (", RoleName(who.role), ") may not do this"));
}

Decision MayRead(const Principal& who, Read what, std::string_view account, v1::AccountKind kind) {
  if (Reads(who) || who.IsBound(account)) return Allow();
  const bool member = kind == v1::ACCOUNT_KIND_MEMBER;
  if (who.role == v1::ROLE_ISSUER && member) return Allow();
  if (who.role == v1::ROLE_TERMINAL && member && what != Read::kStatement) return Allow();
  return Deny(Cat(who.name, " (", RoleName(who.role), ") may not read ", account));
}

absl::Status EntryShownTo(const Principal& who, const absl::StatusOr<StoredEntry>& stored) {
  constexpr std::string_view kHidden = "no entry this principal may read";
  if (!stored.ok()) {
    const bool reads_all = who.role == v1::ROLE_ADMIN || who.role == v1::ROLE_AUDITOR;
    return reads_all || ReasonOf(stored.status()) != Reason::kEntryUnknown
               ? stored.status()
               : RefusedStatus(Reason::kPermissionDenied, kHidden);
  }
  if (!MayReadEntry(who, stored->entry).allowed) {
    return RefusedStatus(Reason::kPermissionDenied, kHidden);
  }
  return absl::OkStatus();
}

Decision MayReadEntry(const Principal& who, const v1::Entry& entry) {
  if (Reads(who) || Touches(who, entry)) return Allow();
  return Deny(Cat(who.name, " (", RoleName(who.role), ") may not read entry ", entry.seq()));
}

v1::AccountRecord ShownTo(const Principal& who, v1::AccountRecord record) {
  if (who.role != v1::ROLE_TERMINAL || who.IsBound(record.account())) return record;
  v1::AccountRecord shown;
  shown.set_account(std::move(*record.mutable_account()));
  shown.set_kind(record.kind());
  shown.set_display_name(std::move(*record.mutable_display_name()));
  shown.set_status(record.status());
  shown.set_phone(MaskPhone(record.phone()));  // enough to confirm with the member, no more
  return shown;
}

std::string MaskPhone(std::string_view phone) {
  if (phone.empty()) return "";
  // The first three and the last four digits stay (138****5678), as Chinese receipts print them;
  // a shorter number keeps its last four: what a till may search by, so it learns nothing more.
  const std::size_t keep_head = phone.size() >= 11 ? 3 : 0;
  const std::size_t keep_tail = std::min<std::size_t>(4, phone.size());
  std::string masked(phone.substr(0, keep_head));
  masked.append(phone.size() - keep_head - keep_tail, '*');
  masked.append(phone.substr(phone.size() - keep_tail));
  return masked;
}

Decision MaySelectByTag(const Principal& who) {
  if (who.role != v1::ROLE_TERMINAL) return Allow();
  return Deny(Cat(who.name, " (", RoleName(who.role), ") may not select accounts by tag"));
}

Decision MaySelectByPhone(const Principal& who, std::string_view phone) {
  if (who.role != v1::ROLE_TERMINAL || phone.empty() || phone.size() == 4) return Allow();
  // Trying the 10,000 fillings of 138****5678 would give a till the number the mask hides.
  return Deny(Cat(who.name, " (", RoleName(who.role),
                  ") finds a member by the phone's last 4 digits (尾号) only"));
}

Decision MayAdminister(const Principal& who) {
  if (who.role == v1::ROLE_ADMIN) return Allow();
  return Deny(Cat(who.name, " (", RoleName(who.role), ") is not an admin"));
}

Decision MayListPrincipals(const Principal& who) {
  if (Reads(who) || who.role == v1::ROLE_MEMBER) return Allow();  // a member: its own devices
  return Deny(Cat(who.name, " (", RoleName(who.role), ") may not list principals"));
}

Decision MayImport(const Principal& who) {
  if (who.role == v1::ROLE_ISSUER || who.role == v1::ROLE_ADMIN) return Allow();
  return Deny(Cat(who.name, " (", RoleName(who.role), ") imports nothing: issuers and admins do"));
}

Decision MayAudit(const Principal& who) {
  if (Reads(who)) return Allow();
  return Deny(Cat(who.name, " (", RoleName(who.role), ") is not an auditor"));
}

}  // namespace lovebank::service
