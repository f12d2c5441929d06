// The love supermarket (爱心超市) in the sequencer: the engine's side of
// ledger/rules/supermarket.h — the facts through the decision context, the decisions applied as
// entries, catalogue and limit records, usage counters and refunded lines (issue #6;
// docs/supermarket.md).

#include <algorithm>

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"
#include "ledger/rules/moves.h"

namespace lovebank {

Outcome Engine::ApplySetItem(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetItem& set = command.set_item();
  auto decided = rules::DecideSetItem(set, *context_);
  if (auto* refusal = std::get_if<rules::Refusal>(&decided)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  auto& decision = std::get<rules::ItemDecision>(decided);
  Outcome outcome = Append(command, fingerprint, {}, {});
  if (decision.new_stock) assets_.Set(set.sku(), std::move(*decision.new_stock));
  items_.Set(ItemKey(set.store(), set.sku()), std::move(decision.item));
  return outcome;
}

Outcome Engine::ApplySetExchangeRatio(const v1::Command& command, const std::string& fingerprint) {
  return ApplyDecided(command, fingerprint,
                      rules::DecideExchangeRatio(command.set_exchange_ratio(), *context_),
                      meta_key::kExchangePolicy);
}

OrOutcome<Engine::PricedBasket> Engine::PriceBasket(
    const v1::Command& command, const std::string& fingerprint, const std::string& member,
    const std::string& store, const google::protobuf::RepeatedPtrField<v1::BasketLine>& lines,
    const std::string& pay_asset, std::int64_t time) {
  auto priced = rules::PriceBasket(member, store, lines, pay_asset, time, *context_);
  if (auto* refusal = std::get_if<rules::Refusal>(&priced)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  return std::move(std::get<PricedBasket>(priced));
}

Outcome Engine::ApplyCheckout(const v1::Command& command, const std::string& fingerprint) {
  const v1::Checkout& checkout = command.checkout();
  const std::int64_t time = NextEntryTime();
  if (auto refused =
          CheckConsent(command, fingerprint, checkout.member(), checkout.consent(), time)) {
    return std::move(*refused);
  }
  OrOutcome<PricedBasket> basket =
      PriceBasket(command, fingerprint, checkout.member(), checkout.store(), checkout.lines(),
                  checkout.pay_asset(), time);
  if (!basket.ok()) return std::move(basket).outcome();
  const std::vector<ResolvedPosting> postings = rules::CheckoutPostings(checkout, *basket);
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  Outcome outcome = Append(command, fingerprint, postings, {}, &basket->pricing, time);
  for (auto& [key, used] : basket->usage) usage_.Set(key, std::move(used));
  SpendConsent(checkout.consent());
  return outcome;
}

OrOutcome<std::vector<std::pair<std::string, Int128>>> Engine::GiveBackUsage(
    const std::string& member, std::int64_t time, const Int128& total,
    const std::vector<std::pair<std::string, std::uint32_t>>& lines) {
  auto usage = rules::GiveBackUsage(member, time, total, lines, *context_);
  if (auto* failure = std::get_if<rules::Refusal>(&usage)) {
    return Unavailable(std::move(failure->message));
  }
  return std::move(std::get<std::vector<std::pair<std::string, Int128>>>(usage));
}

OrOutcome<Engine::Sale> Engine::SaleOf(const BatchEntry& entry) {
  const v1::Entry& sold = *entry.checkout;
  Sale sale;
  if (sold.command().has_checkout()) {
    sale.member = sold.command().checkout().member();
    sale.store = sold.command().checkout().store();
    sale.time_unix_us = sold.time_unix_us();
    for (const auto& posting : entry.postings) {
      if (posting.asset() == kHoursAsset && posting.amount_minor()[0] != '-') {
        sale.exchange = posting.account();
      }
    }
    return sale;
  }
  // A captured hold: the hold says who, where, through which exchange and in which period.
  OrOutcome<std::optional<v1::HoldRecord>> hold =
      FindHold(sold.command().capture_hold().hold_seq());
  if (!hold.ok()) return std::move(hold).outcome();
  if (!hold->has_value()) return Unavailable("the captured hold cannot be read");
  const v1::HoldRecord& held = **hold;
  sale.member = held.member();
  sale.store = held.store();
  sale.exchange = held.exchange_account();
  sale.time_unix_us = held.time_unix_us();
  return sale;
}

Outcome Engine::ApplyRefund(const v1::Command& command, const std::string& fingerprint) {
  const v1::Refund& refund = command.refund();
  const std::uint64_t target = refund.checkout_seq();
  if (target == 0 || target > head_.seq) {
    return Refuse(command, fingerprint, Reason::kEntryUnknown, Cat("no entry ", target));
  }
  OrOutcome<BatchEntry> entry = FindEntry(target);
  if (!entry.ok()) return std::move(entry).outcome();
  if (auto refused = CheckMayUndo(command, fingerprint, target, *entry)) return std::move(*refused);
  if (auto refused = rules::CheckRefundable(target, entry->checkout.get(), *context_)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  OrOutcome<Sale> sale = SaleOf(*entry);
  if (!sale.ok()) return std::move(sale).outcome();
  auto decided = rules::DecideRefund(refund, *entry->checkout, *sale, *context_);
  if (auto* refusal = std::get_if<rules::Refusal>(&decided)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  auto& decision = std::get<rules::RefundDecision>(decided);
  // Like a reversal, a refund goes through while an account is frozen; floors still hold.
  Outcome limits = CheckLimits(decision.postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  // The returned value and units go back to the sale's period under each limit now in force
  // (never below zero: the sale may predate the limit).
  auto usage = GiveBackUsage(sale->member, sale->time_unix_us, decision.total, decision.returned);
  if (!usage.ok()) return std::move(usage).outcome();
  Outcome outcome = Append(command, fingerprint, decision.postings, {}, &decision.pricing);
  for (auto& [key, used] : *usage) usage_.Set(key, std::move(used));
  if (outcome.ok()) {
    for (const auto& line : refund.lines()) {
      MarkReversed(RefundedLineKey(target, line.sku()), outcome.receipt.seq);
    }
  }
  return outcome;
}

Outcome Engine::ApplySetLimit(const v1::Command& command, const std::string& fingerprint) {
  auto decided = rules::DecideLimit(command.set_limit(), *context_);
  if (auto* refusal = std::get_if<rules::Refusal>(&decided)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  v1::LimitRecord& record = std::get<v1::LimitRecord>(decided);
  record.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  // A maximum of 0 lifts the limit; the record stays (with 0) so the change is visible, and a
  // 0 limit is not enforced.
  const std::string sku = record.sku();  // the key, before the record moves into the table
  limits_.Set(sku, std::move(record));
  return outcome;
}

Outcome Engine::ApplySetHousehold(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetHousehold& set = command.set_household();
  if (auto refused = rules::CheckHousehold(set, *context_)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  Outcome outcome = Append(command, fingerprint, {}, {});
  // Members of this household that the new list leaves out leave it (sorted: a deterministic
  // order for the undo records).
  std::vector<std::string> leaving;
  for (const auto& [member, household] : households_.all()) {
    if (household == set.household() &&
        std::find(set.members().begin(), set.members().end(), member) == set.members().end()) {
      leaving.push_back(member);
    }
  }
  std::sort(leaving.begin(), leaving.end());
  for (const auto& member : leaving) {
    households_.Set(member, std::string());
  }
  for (const auto& member : set.members()) {
    households_.Set(member, set.household());
  }
  return outcome;
}

}  // namespace lovebank
