// Holds for the checkout lane (issue #6 item 4; docs/supermarket.md "Holds"): authorize moves a
// priced basket into the SYSTEM escrow account, capture sells all or part of it at the hold's
// prices and ratio, void gives it back, and the engine itself releases an expired hold with a
// journal entry before it decides anything later, so replay sees exactly what happened.

#include <algorithm>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"

namespace lovebank {
namespace {

const std::string kPoints(kPointsAsset);
const std::string kHours(kHoursAsset);
const std::string kEscrow(kHoldsAccount);

const char* StateName(v1::HoldState state) {
  switch (state) {
    case v1::HOLD_STATE_CAPTURED:
      return "captured";
    case v1::HOLD_STATE_VOIDED:
      return "voided";
    case v1::HOLD_STATE_RELEASED:
      return "released at its expiry";
    default:
      return "open";
  }
}

}  // namespace

std::optional<std::int64_t> Engine::NextHoldExpiry() const {
  std::optional<std::int64_t> next;
  if (!hold_expiries_.empty()) next = hold_expiries_.begin()->first;
  if (!pending_expiries_.empty() && (!next || pending_expiries_.begin()->first < *next)) {
    next = pending_expiries_.begin()->first;
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
  OrOutcome<PricedBasket> basket =
      PriceBasket(command, fingerprint, authorize.member(), authorize.store(), authorize.lines(),
                  authorize.pay_asset(), time);
  if (!basket.ok()) return std::move(basket).outcome();
  PricedBasket& priced = *basket;
  const AccountState* escrow = FindAccount(kEscrow);
  if (escrow != nullptr && escrow->record.kind() != v1::ACCOUNT_KIND_SYSTEM) {
    return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                  Cat(kEscrow, " holds the held goods and payments and must be a SYSTEM account"));
  }
  // Goods first, as at a checkout; everything goes into escrow.
  std::vector<ResolvedPosting> postings;
  for (const auto& line : authorize.lines()) {
    postings.push_back({authorize.store(), line.sku(), -Int128(line.quantity())});
    postings.push_back({kEscrow, line.sku(), Int128(line.quantity())});
  }
  if (authorize.pay_asset() == kPoints) {
    postings.push_back({authorize.member(), kPoints, -priced.total});
    postings.push_back({kEscrow, kPoints, priced.total});
  } else {
    postings.push_back({authorize.member(), kHours, -priced.hours});
    postings.push_back({kEscrow, kHours, priced.hours});
    postings.push_back({priced.exchange, kPoints, -priced.total});
    postings.push_back({kEscrow, kPoints, priced.total});
  }
  // A new escrow account holds only what this entry puts in it: no ceiling to check yet.
  std::vector<ResolvedPosting> checked;
  for (const auto& posting : postings) {
    if (escrow != nullptr || posting.account != kEscrow) checked.push_back(posting);
  }
  Outcome limits = CheckLimits(checked);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  const std::uint64_t seq = head_.seq + 1;
  if (escrow == nullptr) {
    // The first hold opens the escrow account in its own entry.
    AccountState state;
    state.record.set_account(kEscrow);
    state.record.set_kind(v1::ACCOUNT_KIND_SYSTEM);
    state.record.set_display_name(std::string(kHoldsAccountName));
    state.record.set_status(v1::ACCOUNT_STATUS_ACTIVE);
    state.record.set_opened_seq(seq);
    state.record.set_status_seq(seq);
    accounts_.Set(kEscrow, std::move(state));
  }
  Outcome outcome = Append(command, fingerprint, postings, {}, &priced.pricing, time);
  for (auto& [key, used] : priced.usage) usage_.Set(key, std::move(used));
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

OrOutcome<v1::HoldRecord> Engine::OpenHold(const v1::Command& command,
                                           const std::string& fingerprint, std::uint64_t hold_seq,
                                           const std::string& store) {
  OrOutcome<std::optional<v1::HoldRecord>> hold = FindHold(hold_seq);
  if (!hold.ok()) return std::move(hold).outcome();
  if (!hold->has_value() || (*hold)->store() != store) {
    return Refuse(command, fingerprint, Reason::kHoldUnknown,
                  Cat(store, " has no hold ", hold_seq));
  }
  if ((*hold)->state() != v1::HOLD_STATE_OPEN) {
    return Refuse(command, fingerprint, Reason::kHoldClosed,
                  Cat("hold ", hold_seq, " was ", StateName((*hold)->state()), " by entry ",
                      (*hold)->closed_seq()));
  }
  return std::move(**hold);
}

Outcome Engine::ApplyCaptureHold(const v1::Command& command, const std::string& fingerprint) {
  const v1::CaptureHold& capture = command.capture_hold();
  OrOutcome<v1::HoldRecord> hold =
      OpenHold(command, fingerprint, capture.hold_seq(), capture.store());
  if (!hold.ok()) return std::move(hold).outcome();
  for (const std::string* id : {&hold->member(), &hold->store()}) {
    if (FindAccount(*id)->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refuse(command, fingerprint, Reason::kAccountFrozen,
                    Cat("account ", *id, " is frozen: void the hold instead"));
    }
  }
  // The captured basket at the hold's prices: everything held, or the lines named.
  const v1::Pricing& held = hold->pricing();
  v1::Pricing captured;
  captured.set_pay_asset(held.pay_asset());
  Int128 total = 0;
  if (capture.lines().empty()) {
    captured = held;
  } else {
    for (const auto& line : capture.lines()) {
      auto priced = std::find_if(held.lines().begin(), held.lines().end(),
                                 [&](const auto& item) { return item.sku() == line.sku(); });
      if (priced == held.lines().end() || line.quantity() > priced->quantity()) {
        return Refuse(command, fingerprint, Reason::kBasketInvalid,
                      Cat("hold ", hold->seq(), " holds ",
                          priced == held.lines().end() ? 0 : priced->quantity(), " of ", line.sku(),
                          ", not ", line.quantity()));
      }
      total += AddPricedLine(&captured, line.sku(), line.quantity(), priced->unit_price_minor());
    }
    captured.set_total_points_minor(MinorToString(total));
    if (held.pay_asset() == kHours) {
      // The hold's ratio (a later change does not touch it); the whole basket costs exactly
      // the hours held, a part of it the hours rounded up (never more than held).
      const bool whole = captured.total_points_minor() == held.total_points_minor();
      std::optional<Int128> hours =
          whole ? MinorFromString(held.hours_minor())
                : PointsToHours(total, *MinorFromString(held.points_per_hour_minor()),
                                FindAsset(kHours)->scale, Rounding::kUp);
      LOVEBANK_CHECK(hours.has_value());
      captured.set_points_per_hour_minor(held.points_per_hour_minor());
      captured.set_hours_minor(MinorToString(*hours));
    }
  }
  return CloseHold(command, fingerprint, std::move(*hold), &captured, v1::HOLD_STATE_CAPTURED);
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
  const v1::Pricing& held = hold.pricing();
  const bool hours = held.pay_asset() == kHours;
  // Each line: what was captured to the member, the rest back to the store.
  std::vector<ResolvedPosting> postings;
  std::vector<std::pair<std::string, std::uint32_t>> returned;
  auto move = [&postings](const std::string& to, const std::string& asset, const Int128& amount) {
    if (amount == 0) return;
    postings.push_back({kEscrow, asset, -amount});
    postings.push_back({to, asset, amount});
  };
  for (const auto& line : held.lines()) {
    std::uint32_t taken = 0;
    if (captured != nullptr) {
      for (const auto& sold : captured->lines()) {
        if (sold.sku() == line.sku()) taken = sold.quantity();
      }
    }
    move(hold.member(), line.sku(), Int128(taken));
    move(hold.store(), line.sku(), Int128(line.quantity() - taken));
    if (line.quantity() > taken) returned.emplace_back(line.sku(), line.quantity() - taken);
  }
  // The payment: the captured value to the store, the rest back where it came from.
  const Int128 total = *MinorFromString(held.total_points_minor());
  const Int128 sold =
      captured == nullptr ? Int128(0) : *MinorFromString(captured->total_points_minor());
  if (!hours) {
    move(hold.store(), kPoints, sold);
    move(hold.member(), kPoints, total - sold);
  } else {
    const Int128 held_hours = *MinorFromString(held.hours_minor());
    const Int128 paid = captured == nullptr ? Int128(0) : *MinorFromString(captured->hours_minor());
    move(hold.exchange_account(), kHours, paid);
    move(hold.member(), kHours, held_hours - paid);
    move(hold.store(), kPoints, sold);
    move(hold.exchange_account(), kPoints, total - sold);
  }
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) {
    // The engine's own release is not a request: nothing to remember.
    if (command.has_release_hold()) return limits;
    return Refuse(command, fingerprint, limits.reason, limits.message);
  }
  // The limits counted the whole hold in its period: give back what was not sold.
  auto usage = GiveBackUsage(hold.member(), hold.time_unix_us(), total - sold, returned);
  if (!usage.ok()) return std::move(usage).outcome();
  Outcome outcome = Append(command, fingerprint, postings, {}, captured);
  for (auto& [key, used] : *usage) usage_.Set(key, std::move(used));
  hold.set_state(state);
  hold.set_closed_seq(outcome.receipt.seq);
  SetHold(std::move(hold));
  return outcome;
}

}  // namespace lovebank
