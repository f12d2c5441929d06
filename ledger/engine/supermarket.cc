// The love supermarket (爱心超市) in the sequencer: catalogue items, the exchange ratio,
// checkouts priced from the catalogue and line refunds (issue #6; docs/supermarket.md).

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

}  // namespace

Outcome Engine::ApplySetItem(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetItem& set = command.set_item();
  const AccountState* store = FindAccount(set.store());
  if (store == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", set.store()));
  }
  if (store->record.kind() != v1::ACCOUNT_KIND_STORE) {
    return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                  Cat(set.store(), " is not a STORE account"));
  }
  const AssetState* points = FindAsset(kPoints);
  if (points == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, "no asset POINTS to price in");
  }
  const AssetState* stock = FindAsset(set.sku());
  if (stock != nullptr && !stock->record.stock()) {
    return Refuse(command, fingerprint, Reason::kAssetNotStock,
                  Cat(set.sku(), " is an asset, not an item: choose another SKU"));
  }
  AmountParse price = ParseAmount(set.price(), points->scale, points->maximum_minor);
  if (!price.ok()) {
    return Refuse(command, fingerprint, price.reason,
                  Cat("price ", Excerpt(set.price()), ": ", ReasonName(price.reason)));
  }
  if (price.amount.is_zero()) {
    return Refuse(command, fingerprint, Reason::kAmountZero, "the price is zero");
  }
  const std::uint64_t seq = head_.seq + 1;
  const std::string key = ItemKey(set.store(), set.sku());
  v1::ItemRecord item;
  if (const v1::ItemRecord* earlier = items_.Find(key)) item = *earlier;
  if (item.defined_seq() == 0) item.set_defined_seq(seq);
  item.set_store(set.store());
  item.set_sku(set.sku());
  item.set_name(set.name());
  item.set_unit(set.unit());
  item.set_price_minor(MinorToString(price.amount.minor()));
  item.set_active(set.active());
  item.set_changed_seq(seq);
  Outcome outcome = Append(command, fingerprint, {}, {});
  if (stock == nullptr) {
    // The first SetItem of a SKU anywhere defines its stock asset in the same entry.
    AssetState asset;
    asset.record = StockAssetRecord(set.sku(), set.name(), seq);
    asset.scale = asset.record.scale();
    asset.maximum_minor = *MinorFromString(asset.record.maximum_minor());
    assets_.Set(set.sku(), std::move(asset));
  }
  items_.Set(key, std::move(item));
  return outcome;
}

Outcome Engine::ApplySetExchangeRatio(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetExchangeRatio& set = command.set_exchange_ratio();
  const AssetState* points = FindAsset(kPoints);
  if (points == nullptr || FindAsset(kHours) == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, "the ratio needs HOURS and POINTS");
  }
  const AccountState* exchange = FindAccount(set.exchange_account());
  if (exchange == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown,
                  Cat("no account ", set.exchange_account()));
  }
  if (exchange->record.kind() != v1::ACCOUNT_KIND_ISSUER) {
    return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                  Cat(set.exchange_account(),
                      " is not an ISSUER account: points paid with "
                      "hours enter through an issuer's budget"));
  }
  AmountParse ratio = ParseAmount(set.points_per_hour(), points->scale, points->maximum_minor);
  if (!ratio.ok()) {
    return Refuse(
        command, fingerprint, ratio.reason,
        Cat("points per hour ", Excerpt(set.points_per_hour()), ": ", ReasonName(ratio.reason)));
  }
  if (ratio.amount.is_zero()) {
    return Refuse(command, fingerprint, Reason::kAmountZero, "the ratio is zero");
  }
  v1::ExchangePolicy policy;
  policy.set_points_per_hour_minor(MinorToString(ratio.amount.minor()));
  policy.set_exchange_account(set.exchange_account());
  policy.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(std::string(meta_key::kExchangePolicy), policy);
  return outcome;
}

OrOutcome<Engine::PricedBasket> Engine::PriceBasket(
    const v1::Command& command, const std::string& fingerprint, const std::string& member,
    const std::string& store, const google::protobuf::RepeatedPtrField<v1::BasketLine>& lines,
    const std::string& pay_asset, std::int64_t time) {
  PricedBasket basket;
  PricedBasket* const priced = &basket;
  for (const auto& [id, kind] :
       {std::pair{&member, v1::ACCOUNT_KIND_MEMBER}, std::pair{&store, v1::ACCOUNT_KIND_STORE}}) {
    const AccountState* account = FindAccount(*id);
    if (account == nullptr) {
      return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", *id));
    }
    if (account->record.kind() != kind) {
      return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                    Cat("a basket moves value from a MEMBER to a STORE; ", *id, " is not a ",
                        kind == v1::ACCOUNT_KIND_MEMBER ? "MEMBER" : "STORE"));
    }
    if (account->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refuse(command, fingerprint, Reason::kAccountFrozen,
                    Cat("account ", *id, " is frozen"));
    }
  }
  if (FindAsset(kPoints) == nullptr || FindAsset(pay_asset) == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, Cat("no asset ", pay_asset));
  }
  // Price the basket from the store's catalogue.
  v1::Pricing& pricing = priced->pricing;
  pricing.set_pay_asset(pay_asset);
  Int128 total = 0;
  for (const auto& line : lines) {
    const v1::ItemRecord* item = items_.Find(ItemKey(store, line.sku()));
    if (item == nullptr) {
      return Refuse(command, fingerprint, Reason::kItemUnknown,
                    Cat(store, " sells no ", line.sku()));
    }
    if (!item->active()) {
      return Refuse(command, fingerprint, Reason::kItemInactive,
                    Cat(line.sku(), " (", item->name(), ") is not for sale"));
    }
    total += AddPricedLine(&pricing, line.sku(), line.quantity(), item->price_minor());
  }
  pricing.set_total_points_minor(MinorToString(total));
  priced->total = total;
  // Limits per member and period (the basket's value, then each line's item), in programme time.
  auto within_limit = [&](const std::string& sku, const Int128& amount) -> std::optional<Outcome> {
    const v1::LimitRecord* limit = limits_.Find(sku);
    if (limit == nullptr || limit->maximum_minor() == "0") return std::nullopt;
    const Int128 maximum = *MinorFromString(limit->maximum_minor());
    for (const std::string& owner : UsageOwners(member)) {
      const std::string key = UsageKey(owner, sku, limit->period(), time);
      OrOutcome<Int128> used = Used(key);
      if (!used.ok()) return std::move(used).outcome();
      if (*used + amount > maximum) {
        const std::string what = sku.empty() ? "baskets worth" : sku;
        const std::string unit = sku.empty() ? " POINTS" : "";
        const std::string per = v1::Period_Name(limit->period()).substr(7);
        return Refuse(
            command, fingerprint, Reason::kLimitExceeded,
            Cat(owner == member ? member : Cat(member, "'s ", owner), " may take ", what,
                " at most ", sku.empty() ? Decimal(maximum, kPoints) : MinorToString(maximum), unit,
                " per ", per, " (", key.substr(key.rfind('\0') + 2), "); ",
                sku.empty() ? Decimal(*used, kPoints) : MinorToString(*used), " used, this basket ",
                sku.empty() ? Decimal(amount, kPoints) : MinorToString(amount)));
      }
      priced->usage.emplace_back(key, *used + amount);
    }
    return std::nullopt;
  };
  if (!limits_.empty()) {
    if (auto refused = within_limit("", total)) return std::move(*refused);
    for (const auto& line : lines) {
      if (auto refused = within_limit(line.sku(), Int128(line.quantity()))) {
        return std::move(*refused);
      }
    }
  }
  if (pay_asset == kPoints) return basket;
  auto policy = Setting<v1::ExchangePolicy>(meta_key::kExchangePolicy);
  if (!policy) {
    return Refuse(command, fingerprint, Reason::kExchangeRatioUnset,
                  "no HOURS -> POINTS exchange ratio has been set");
  }
  priced->exchange = policy->exchange_account();
  if (FindAccount(priced->exchange)->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
    return Refuse(command, fingerprint, Reason::kAccountFrozen,
                  Cat("exchange account ", priced->exchange, " is frozen"));
  }
  const Int128 ratio = *MinorFromString(policy->points_per_hour_minor());
  std::optional<Int128> hours =
      PointsToHours(total, ratio, FindAsset(kHours)->scale, Rounding::kUp);
  if (!hours) {
    return Refuse(command, fingerprint, Reason::kBalanceAboveMaximum,
                  "the basket is worth more hours than any balance holds");
  }
  pricing.set_points_per_hour_minor(policy->points_per_hour_minor());
  pricing.set_hours_minor(MinorToString(*hours));
  priced->hours = *hours;
  return basket;
}

Outcome Engine::ApplyCheckout(const v1::Command& command, const std::string& fingerprint) {
  const v1::Checkout& checkout = command.checkout();
  const std::int64_t time = NextEntryTime();
  OrOutcome<PricedBasket> basket =
      PriceBasket(command, fingerprint, checkout.member(), checkout.store(), checkout.lines(),
                  checkout.pay_asset(), time);
  if (!basket.ok()) return std::move(basket).outcome();
  PricedBasket& priced = *basket;
  // Goods first: a basket the shelf cannot fill is refused as INSUFFICIENT_STOCK whatever the
  // member holds.
  std::vector<ResolvedPosting> postings;
  for (const auto& line : checkout.lines()) {
    postings.push_back({checkout.store(), line.sku(), -Int128(line.quantity())});
    postings.push_back({checkout.member(), line.sku(), Int128(line.quantity())});
  }
  if (checkout.pay_asset() == kPoints) {
    postings.push_back({checkout.member(), kPoints, -priced.total});
    postings.push_back({checkout.store(), kPoints, priced.total});
  } else {
    postings.push_back({checkout.member(), kHours, -priced.hours});
    postings.push_back({priced.exchange, kHours, priced.hours});
    postings.push_back({priced.exchange, kPoints, -priced.total});
    postings.push_back({checkout.store(), kPoints, priced.total});
  }
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  Outcome outcome = Append(command, fingerprint, postings, {}, &priced.pricing, time);
  for (auto& [key, used] : priced.usage) usage_.Set(key, std::move(used));
  return outcome;
}

OrOutcome<std::vector<std::pair<std::string, Int128>>> Engine::GiveBackUsage(
    const std::string& member, std::int64_t time, const Int128& total,
    const std::vector<std::pair<std::string, std::uint32_t>>& lines) {
  std::vector<std::pair<std::string, Int128>> usage;
  if (limits_.empty()) return usage;
  auto give_back = [&](const std::string& sku, const Int128& amount) -> std::optional<Outcome> {
    const v1::LimitRecord* limit = limits_.Find(sku);
    if (limit == nullptr || limit->maximum_minor() == "0" || amount == 0) return std::nullopt;
    for (const std::string& owner : UsageOwners(member)) {
      const std::string key = UsageKey(owner, sku, limit->period(), time);
      OrOutcome<Int128> used = Used(key);
      if (!used.ok()) return std::move(used).outcome();
      usage.emplace_back(key, *used > amount ? *used - amount : Int128(0));
    }
    return std::nullopt;
  };
  if (auto failure = give_back("", total)) return std::move(*failure);
  for (const auto& [sku, quantity] : lines) {
    if (auto failure = give_back(sku, Int128(quantity))) return std::move(*failure);
  }
  return usage;
}

OrOutcome<Engine::Sale> Engine::SaleOf(const BatchEntry& entry) {
  const v1::Entry& sold = *entry.checkout;
  Sale sale;
  if (sold.command().has_checkout()) {
    sale.member = sold.command().checkout().member();
    sale.store = sold.command().checkout().store();
    sale.time_unix_us = sold.time_unix_us();
    for (const auto& posting : entry.postings) {
      if (posting.asset() == kHours && posting.amount_minor()[0] != '-') {
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
  if (!entry->checkout) {
    return Refuse(command, fingerprint, Reason::kRefundInvalid,
                  Cat("entry ", target, " is not a checkout or a captured hold"));
  }
  OrOutcome<bool> reversed = IsReversed(EncodeFixed64BE(target));
  if (!reversed.ok()) return std::move(reversed).outcome();
  if (*reversed) {
    return Refuse(command, fingerprint, Reason::kEntryAlreadyReversed,
                  Cat("checkout ", target, " was reversed as a whole"));
  }
  OrOutcome<Sale> sale = SaleOf(*entry);
  if (!sale.ok()) return std::move(sale).outcome();
  const v1::Pricing& sold = entry->checkout->pricing();
  v1::Pricing pricing;
  pricing.set_pay_asset(sold.pay_asset());
  Int128 total = 0;
  std::vector<std::pair<std::string, std::uint32_t>> returned;
  for (const auto& line : refund.lines()) {
    auto priced = std::find_if(sold.lines().begin(), sold.lines().end(),
                               [&](const auto& item) { return item.sku() == line.sku(); });
    if (priced == sold.lines().end()) {
      return Refuse(command, fingerprint, Reason::kRefundInvalid,
                    Cat("sale ", target, " sold no ", line.sku()));
    }
    if (line.quantity() > priced->quantity()) {
      return Refuse(command, fingerprint, Reason::kRefundInvalid,
                    Cat("sale ", target, " sold ", priced->quantity(), " of ", line.sku(), ", not ",
                        line.quantity()));
    }
    OrOutcome<bool> refunded = IsReversed(RefundedLineKey(target, line.sku()));
    if (!refunded.ok()) return std::move(refunded).outcome();
    if (*refunded) {
      return Refuse(command, fingerprint, Reason::kLineAlreadyRefunded,
                    Cat("line ", line.sku(), " of sale ", target, " was refunded already"));
    }
    total += AddPricedLine(&pricing, line.sku(), line.quantity(), priced->unit_price_minor());
    returned.emplace_back(line.sku(), line.quantity());
  }
  pricing.set_total_points_minor(MinorToString(total));
  std::vector<ResolvedPosting> postings;
  for (const auto& line : refund.lines()) {
    postings.push_back({sale->member, line.sku(), -Int128(line.quantity())});
    postings.push_back({sale->store, line.sku(), Int128(line.quantity())});
  }
  if (sold.pay_asset() == kPoints) {
    postings.push_back({sale->store, kPoints, -total});
    postings.push_back({sale->member, kPoints, total});
  } else {
    // Paid with hours: the points go back to the exchange account the sale used and the hours
    // to the member at the sale's ratio; returning the whole basket returns exactly the hours
    // paid, a part of it the hours rounded down.
    LOVEBANK_CHECK(!sale->exchange.empty());
    const bool whole = total == *MinorFromString(sold.total_points_minor());
    std::optional<Int128> hours =
        whole ? MinorFromString(sold.hours_minor())
              : PointsToHours(total, *MinorFromString(sold.points_per_hour_minor()),
                              FindAsset(kHours)->scale, Rounding::kDown);
    LOVEBANK_CHECK(hours.has_value());  // at most the hours paid
    pricing.set_points_per_hour_minor(sold.points_per_hour_minor());
    pricing.set_hours_minor(MinorToString(*hours));
    postings.push_back({sale->store, kPoints, -total});
    postings.push_back({sale->exchange, kPoints, total});
    if (*hours != 0) {
      postings.push_back({sale->exchange, kHours, -*hours});
      postings.push_back({sale->member, kHours, *hours});
    }
  }
  // Like a reversal, a refund goes through while an account is frozen; floors still hold.
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  // The returned value and units go back to the sale's period under each limit now in force
  // (never below zero: the sale may predate the limit).
  auto usage = GiveBackUsage(sale->member, sale->time_unix_us, total, returned);
  if (!usage.ok()) return std::move(usage).outcome();
  Outcome outcome = Append(command, fingerprint, postings, {}, &pricing);
  for (auto& [key, used] : *usage) usage_.Set(key, std::move(used));
  if (outcome.ok()) {
    for (const auto& line : refund.lines()) {
      MarkReversed(RefundedLineKey(target, line.sku()), outcome.receipt.seq);
    }
  }
  return outcome;
}

Outcome Engine::ApplySetLimit(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetLimit& set = command.set_limit();
  const AssetState* asset = FindAsset(set.sku().empty() ? kPoints : set.sku());
  if (asset == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown,
                  Cat("no asset ", set.sku().empty() ? kPoints : set.sku()));
  }
  if (!set.sku().empty() && !asset->record.stock()) {
    return Refuse(command, fingerprint, Reason::kAssetNotStock,
                  Cat(set.sku(), " is not an item: limits are on items or on basket value"));
  }
  AmountParse maximum = ParseAmount(set.maximum(), asset->scale, asset->maximum_minor);
  if (!maximum.ok()) {
    return Refuse(command, fingerprint, maximum.reason,
                  Cat("maximum ", Excerpt(set.maximum()), ": ", ReasonName(maximum.reason)));
  }
  v1::LimitRecord record;
  record.set_sku(set.sku());
  record.set_period(set.period());
  record.set_maximum_minor(MinorToString(maximum.amount.minor()));
  record.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  // A maximum of 0 lifts the limit; the record stays (with 0) so the change is visible, and a
  // 0 limit is not enforced.
  limits_.Set(set.sku(), std::move(record));
  return outcome;
}

absl::InlinedVector<std::string, 2> Engine::UsageOwners(const std::string& member) const {
  absl::InlinedVector<std::string, 2> owners{member};
  const std::string* household = households_.Find(member);
  if (household != nullptr && !household->empty()) {
    // A member account may itself be named "household:<id>": one key, counted once.
    std::string key = Cat("household:", *household);
    if (key != member) owners.push_back(std::move(key));
  }
  return owners;
}

Outcome Engine::ApplySetHousehold(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetHousehold& set = command.set_household();
  for (const auto& member : set.members()) {
    const AccountState* account = FindAccount(member);
    if (account == nullptr) {
      return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", member));
    }
    if (account->record.kind() != v1::ACCOUNT_KIND_MEMBER) {
      return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                    Cat(member, " is not a MEMBER account"));
    }
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
