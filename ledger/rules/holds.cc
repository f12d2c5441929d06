// Holds for the checkout lane as rules (ledger/rules/holds.h).

#include "ledger/rules/holds.h"

#include <algorithm>

#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"

namespace lovebank::rules {
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

std::optional<Refusal> CheckEscrow(const AccountState* escrow) {
  if (escrow == nullptr || escrow->record.kind() == v1::ACCOUNT_KIND_SYSTEM) return std::nullopt;
  return Refusal{Reason::kAccountKindMismatch,
                 Cat(kEscrow, " holds the held goods and payments and must be a SYSTEM account")};
}

std::vector<Posting> AuthorizePostings(const v1::AuthorizeHold& authorize,
                                       const PricedBasket& priced) {
  std::vector<Posting> postings;
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
  return postings;
}

std::optional<Refusal> CheckHoldOpen(const v1::HoldRecord* hold, std::uint64_t hold_seq,
                                     const std::string& store) {
  if (hold == nullptr || hold->store() != store) {
    return Refusal{Reason::kHoldUnknown, Cat(store, " has no hold ", hold_seq)};
  }
  if (hold->state() != v1::HOLD_STATE_OPEN) {
    return Refusal{Reason::kHoldClosed, Cat("hold ", hold_seq, " was ", StateName(hold->state()),
                                            " by entry ", hold->closed_seq())};
  }
  return std::nullopt;
}

OrRefusal<v1::Pricing> DecideCapture(const v1::CaptureHold& capture, const v1::HoldRecord& hold,
                                     const Context& context) {
  for (const std::string* id : {&hold.member(), &hold.store()}) {
    if (context.FindAccount(*id)->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refusal{Reason::kAccountFrozen,
                     Cat("account ", *id, " is frozen: void the hold instead")};
    }
  }
  const v1::Pricing& held = hold.pricing();
  if (capture.lines().empty()) return held;
  v1::Pricing captured;
  captured.set_pay_asset(held.pay_asset());
  Int128 total = 0;
  for (const auto& line : capture.lines()) {
    auto priced = std::find_if(held.lines().begin(), held.lines().end(),
                               [&](const auto& item) { return item.sku() == line.sku(); });
    if (priced == held.lines().end() || line.quantity() > priced->quantity()) {
      return Refusal{
          Reason::kBasketInvalid,
          Cat("hold ", hold.seq(), " holds ", priced == held.lines().end() ? 0 : priced->quantity(),
              " of ", line.sku(), ", not ", line.quantity())};
    }
    total += AddPricedLine(&captured, line.sku(), line.quantity(), priced->unit_price_minor());
  }
  captured.set_total_points_minor(MinorToString(total));
  if (held.pay_asset() == kHours) {
    // The hold's ratio (a later change does not touch it); the whole basket costs exactly the
    // hours held, a part of it the hours rounded up (never more than held).
    const bool whole = captured.total_points_minor() == held.total_points_minor();
    std::optional<Int128> hours =
        whole ? MinorFromString(held.hours_minor())
              : PointsToHours(total, *MinorFromString(held.points_per_hour_minor()),
                              context.FindAsset(kHours)->scale, Rounding::kUp);
    LOVEBANK_CHECK(hours.has_value());
    captured.set_points_per_hour_minor(held.points_per_hour_minor());
    captured.set_hours_minor(MinorToString(*hours));
  }
  return captured;
}

HoldClose CloseHoldPostings(const v1::HoldRecord& hold, const v1::Pricing* captured) {
  const v1::Pricing& held = hold.pricing();
  HoldClose close;
  auto move = [&close](const std::string& to, const std::string& asset, const Int128& amount) {
    if (amount == 0) return;
    close.postings.push_back({kEscrow, asset, -amount});
    close.postings.push_back({to, asset, amount});
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
    if (line.quantity() > taken) close.returned.emplace_back(line.sku(), line.quantity() - taken);
  }
  const Int128 total = *MinorFromString(held.total_points_minor());
  const Int128 sold =
      captured == nullptr ? Int128(0) : *MinorFromString(captured->total_points_minor());
  if (held.pay_asset() != kHours) {
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
  close.unsold = total - sold;
  return close;
}

}  // namespace lovebank::rules
