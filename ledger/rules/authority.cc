// Authority decided by the sequencer (ledger/rules/authority.h).
//
// The race this closes: the service used to look up a Reverse's target when the request arrived
// and allowed an entry that did not exist yet; by the time the sequencer decided, another
// principal's entry held that seq and was reversed with no second check.

#include "ledger/rules/authority.h"

#include "ledger/base/strings.h"

namespace lovebank::rules {
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

std::optional<Refusal> CheckActor(const std::string& actor, const v1::PrincipalRecord* who) {
  if (who == nullptr || who->revoked_seq() == 0) return std::nullopt;
  // Revoked while the command waited in the queue: the grant no longer holds at this seq.
  return Refusal{Reason::kPermissionDenied,
                 Cat(actor, " was revoked by entry ", who->revoked_seq())};
}

std::optional<Refusal> CheckMayUndo(const std::string& actor, const v1::PrincipalRecord* who,
                                    bool refund, std::uint64_t target, v1::Command::BodyCase kind,
                                    const std::vector<v1::Posting>& postings) {
  if (who == nullptr || who->role() == v1::ROLE_ADMIN) return std::nullopt;
  const bool issuers = kind == v1::Command::kEarn || kind == v1::Command::kDeduct ||
                       kind == v1::Command::kAward || kind == v1::Command::kApprove;
  const bool stores = kind == v1::Command::kRedeem || kind == v1::Command::kCheckout ||
                      kind == v1::Command::kCaptureHold;
  // A refund answers to the rule of a reversal of the sale it refunds; issuers never refund.
  // Grants bind an ISSUER principal to ISSUER accounts and a TERMINAL to STORE accounts only
  // (rules/accounts.h CheckGrant), so "bound to an account the entry moved" is "its own
  // issuer's entry" or "its own store's sale".
  const bool allowed = ((who->role() == v1::ROLE_ISSUER && issuers && !refund) ||
                        (who->role() == v1::ROLE_TERMINAL && stores)) &&
                       IsBoundToAny(*who, postings);
  if (allowed) return std::nullopt;
  return Refusal{Reason::kPermissionDenied, Cat(actor, " (", RoleWord(who->role()), ") may not ",
                                                refund ? "refund" : "reverse", " entry ", target)};
}

std::optional<Refusal> CheckConsent(bool required, const std::string& member,
                                    const v1::PaymentConsent& consent,
                                    const v1::PrincipalRecord* device, std::int64_t time_unix_us,
                                    std::string_view why_required) {
  if (consent.device().empty()) {
    if (!required) return std::nullopt;
    return Refusal{Reason::kPaymentCodeRequired,
                   why_required.empty()
                       ? Cat("the programme requires ", member, "'s payment code (付款码)")
                       : std::string(why_required)};
  }
  const auto invalid = [&](const std::string& why) {
    return Refusal{Reason::kPaymentCodeInvalid, Cat("payment code: ", why)};
  };
  if (device == nullptr || device->role() != v1::ROLE_MEMBER || device->accounts_size() != 1 ||
      device->accounts(0) != member || device->activated_seq() == 0) {
    return invalid(Cat("not from a device of ", member));
  }
  if (device->revoked_seq() != 0) {
    return invalid(Cat("its device was revoked by entry ", device->revoked_seq()));
  }
  // In 128 bits: any counter and any time compare without overflow.
  const Int128 window_start = Int128(consent.counter() / 10) * kConsentWindowSeconds * 1'000'000;
  const Int128 skew = Int128(kConsentSkewSeconds) * 1'000'000;
  if (window_start < Int128(time_unix_us) - skew || window_start > Int128(time_unix_us) + skew) {
    return invalid(
        Cat("expired (its window is more than ", kConsentSkewSeconds, " s from the entry's time)"));
  }
  if (consent.counter() <= device->last_consent_counter()) {
    return invalid("used already (each code pays once)");
  }
  if (consent.pin_seq() != device->pin_seq()) {
    return invalid(Cat("made before the device's PIN changed (entry ", device->pin_seq(), ")"));
  }
  return std::nullopt;
}

}  // namespace lovebank::rules
