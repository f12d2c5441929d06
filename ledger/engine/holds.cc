// Holds for the checkout lane (issue #6 item 4; docs/supermarket.md "Holds"): the engine's side
// of ledger/rules/holds.h — the hold records, their expiries and the escrow account — and the
// engine's own release of an expired hold with a journal entry before it decides anything later,
// so replay sees exactly what happened.

#include "ledger/rules/holds.h"

#include <algorithm>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"

namespace lovebank {
namespace {

const std::string kEscrow(kHoldsAccount);

}  // namespace

std::optional<std::int64_t> Engine::NextHoldExpiry() const {
  std::optional<std::int64_t> next;
  if (!hold_expiries_.empty()) next = hold_expiries_.begin()->first;
  if (!pending_expiries_.empty() && (!next || pending_expiries_.begin()->first < *next)) {
    next = pending_expiries_.begin()->first;
  }
  if (!service_expiries_.empty() && (!next || service_expiries_.begin()->first < *next)) {
    next = service_expiries_.begin()->first;
  }
  return next;
}

void Engine::RebuildHoldExpiries() {
  hold_expiries_.clear();
  for (const auto& [key, hold] : holds_.all()) {
    if (hold.state() == v1::HOLD_STATE_OPEN)
      hold_expiries_.emplace(hold.expires_unix_us(), hold.seq());
  }
}

void Engine::ReleaseExpired() {
  LOVEBANK_CHECK(batch_open_);
  const bool pinned = decide_time_.has_value();
  if (!pinned) decide_time_ = std::max(clock_(), head_time_unix_us_);
  const std::int64_t now = *decide_time_;
  std::vector<std::uint64_t> due;
  for (const auto& [expires, seq] : hold_expiries_) {
    if (expires > now) break;
    due.push_back(seq);
  }
  for (std::uint64_t seq : due) {
    v1::Command command;
    command.set_request_id(ReleaseRequestId(seq));
    command.set_actor(std::string(kEngineActor));
    command.mutable_release_hold()->set_hold_seq(seq);
    // A release that cannot go (a balance it returns to would pass its asset's maximum) leaves
    // the hold open; the next command tries again.
    CloseHold(command, CommandFingerprint(command), *holds_.Find(EncodeFixed64BE(seq)), nullptr,
              v1::HOLD_STATE_RELEASED);
  }
  if (!pending_expiries_.empty()) ExpirePendingDue(now);
  if (!service_expiries_.empty()) ExpireServicesDue(now);
  if (!pinned) decide_time_.reset();
}

OrOutcome<std::optional<v1::HoldRecord>> Engine::FindHold(std::uint64_t seq) {
  const std::string key = EncodeFixed64BE(seq);
  if (const v1::HoldRecord* hold = holds_.Find(key)) return std::optional<v1::HoldRecord>(*hold);
  auto stored = store_->Get(Family::kHolds, key);
  v1::HoldRecord hold;
  if (stored.ok() && !stored->has_value()) return std::optional<v1::HoldRecord>();
  if (!stored.ok() || !hold.ParseFromString(**stored)) {
    return Unavailable(Cat("hold ", seq, " cannot be read"));
  }
  return std::optional<v1::HoldRecord>(std::move(hold));
}

Outcome Engine::ApplyAuthorizeHold(const v1::Command& command, const std::string& fingerprint) {
  const v1::AuthorizeHold& authorize = command.authorize_hold();
  const std::int64_t time = NextEntryTime();
  if (auto refused =
          CheckConsent(command, fingerprint, authorize.member(), authorize.consent(), time)) {
    return std::move(*refused);
  }
  OrOutcome<PricedBasket> basket =
      PriceBasket(command, fingerprint, authorize.member(), authorize.store(), authorize.lines(),
                  authorize.pay_asset(), time);
  if (!basket.ok()) return std::move(basket).outcome();
  PricedBasket& priced = *basket;
  const std::vector<ResolvedPosting> postings = rules::AuthorizePostings(authorize, priced);
  if (auto refused = CheckEscrowPostings(command, fingerprint, postings)) {
    return std::move(*refused);
  }
  const std::uint64_t seq = head_.seq + 1;
  OpenEscrow();
  Outcome outcome = Append(command, fingerprint, postings, {}, &priced.pricing, time);
  for (auto& [key, used] : priced.usage) usage_.Set(key, std::move(used));
  SpendConsent(authorize.consent());
  const std::int64_t expires = HoldExpiresAt(time, authorize.timeout_seconds());
  v1::HoldRecord hold;
  hold.set_seq(seq);
  hold.set_member(authorize.member());
  hold.set_store(authorize.store());
  *hold.mutable_pricing() = std::move(priced.pricing);
  hold.set_exchange_account(priced.exchange);
  hold.set_time_unix_us(time);
  hold.set_expires_unix_us(expires);
  hold.set_state(v1::HOLD_STATE_OPEN);
  SetHold(std::move(hold));
  outcome.receipt.hold_expires_unix_us = expires;
  return outcome;
}

std::optional<Outcome> Engine::CheckEscrowPostings(const v1::Command& command,
                                                   const std::string& fingerprint,
                                                   const std::vector<ResolvedPosting>& postings) {
  const AccountState* escrow = FindAccount(kEscrow);
  if (auto refused = rules::CheckEscrow(escrow)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  // A new escrow account holds only what this entry puts in it: no ceiling to check yet.
  std::vector<ResolvedPosting> checked;
  for (const auto& posting : postings) {
    if (escrow != nullptr || posting.account != kEscrow) checked.push_back(posting);
  }
  Outcome limits = CheckLimits(checked);
  if (limits.ok()) return std::nullopt;
  // The engine's own lapse is not a request: nothing to remember.
  if (command.has_expire_service()) return limits;
  return Refuse(command, fingerprint, limits.reason, limits.message);
}

void Engine::OpenEscrow() {
  if (FindAccount(kEscrow) != nullptr) return;
  // The first hold (or service accepted) opens the escrow account in its own entry.
  const std::uint64_t seq = head_.seq + 1;
  AccountState state;
  state.record.set_account(kEscrow);
  state.record.set_kind(v1::ACCOUNT_KIND_SYSTEM);
  state.record.set_display_name(std::string(kHoldsAccountName));
  state.record.set_status(v1::ACCOUNT_STATUS_ACTIVE);
  state.record.set_opened_seq(seq);
  state.record.set_status_seq(seq);
  accounts_.Set(kEscrow, std::move(state));
}

OrOutcome<v1::HoldRecord> Engine::OpenHold(const v1::Command& command,
                                           const std::string& fingerprint, std::uint64_t hold_seq,
                                           const std::string& store) {
  OrOutcome<std::optional<v1::HoldRecord>> hold = FindHold(hold_seq);
  if (!hold.ok()) return std::move(hold).outcome();
  if (auto refused = rules::CheckHoldOpen(hold->has_value() ? &**hold : nullptr, hold_seq, store)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  return std::move(**hold);
}

Outcome Engine::ApplyCaptureHold(const v1::Command& command, const std::string& fingerprint) {
  const v1::CaptureHold& capture = command.capture_hold();
  OrOutcome<v1::HoldRecord> hold =
      OpenHold(command, fingerprint, capture.hold_seq(), capture.store());
  if (!hold.ok()) return std::move(hold).outcome();
  auto captured = rules::DecideCapture(capture, *hold, *context_);
  if (auto* refusal = std::get_if<rules::Refusal>(&captured)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  return CloseHold(command, fingerprint, std::move(*hold), &std::get<v1::Pricing>(captured),
                   v1::HOLD_STATE_CAPTURED);
}

Outcome Engine::ApplyVoidHold(const v1::Command& command, const std::string& fingerprint) {
  const v1::VoidHold& void_hold = command.void_hold();
  OrOutcome<v1::HoldRecord> hold =
      OpenHold(command, fingerprint, void_hold.hold_seq(), void_hold.store());
  if (!hold.ok()) return std::move(hold).outcome();
  return CloseHold(command, fingerprint, std::move(*hold), nullptr, v1::HOLD_STATE_VOIDED);
}

Outcome Engine::CloseHold(const v1::Command& command, const std::string& fingerprint,
                          v1::HoldRecord hold, const v1::Pricing* captured, v1::HoldState state) {
  rules::HoldClose close = rules::CloseHoldPostings(hold, captured);
  const std::vector<ResolvedPosting>& postings = close.postings;
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) {
    // The engine's own release is not a request: nothing to remember.
    if (command.has_release_hold()) return limits;
    return Refuse(command, fingerprint, limits.reason, limits.message);
  }
  // The limits counted the whole hold in its period: give back what was not sold.
  auto usage = GiveBackUsage(hold.member(), hold.time_unix_us(), close.unsold, close.returned);
  if (!usage.ok()) return std::move(usage).outcome();
  Outcome outcome = Append(command, fingerprint, postings, {}, captured);
  for (auto& [key, used] : *usage) usage_.Set(key, std::move(used));
  hold.set_state(state);
  hold.set_closed_seq(outcome.receipt.seq);
  SetHold(std::move(hold));
  return outcome;
}

}  // namespace lovebank
