// The love supermarket as rules (ledger/rules/supermarket.h).

#include "ledger/rules/supermarket.h"

#include <algorithm>

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"

namespace lovebank::rules {
namespace {

const std::string kPoints(kPointsAsset);
const std::string kHours(kHoursAsset);

}  // namespace

OrRefusal<ItemDecision> DecideSetItem(const v1::SetItem& set, const Context& context) {
  const AccountState* store = context.FindAccount(set.store());
  if (store == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", set.store())};
  if (store->record.kind() != v1::ACCOUNT_KIND_STORE) {
    return Refusal{Reason::kAccountKindMismatch, Cat(set.store(), " is not a STORE account")};
  }
  const AssetState* points = context.FindAsset(kPoints);
  if (points == nullptr) return Refusal{Reason::kAssetUnknown, "no asset POINTS to price in"};
  const AssetState* stock = context.FindAsset(set.sku());
  if (stock != nullptr && !stock->record.stock()) {
    return Refusal{Reason::kAssetNotStock,
                   Cat(set.sku(), " is an asset, not an item: choose another SKU")};
  }
  AmountParse price = ParseAmount(set.price(), points->scale, points->maximum_minor);
  if (!price.ok()) {
    return Refusal{price.reason,
                   Cat("price ", Excerpt(set.price()), ": ", ReasonName(price.reason))};
  }
  if (price.amount.is_zero()) return Refusal{Reason::kAmountZero, "the price is zero"};
  const std::uint64_t seq = context.next_seq();
  ItemDecision decision;
  v1::ItemRecord& item = decision.item;
  if (const v1::ItemRecord* earlier = context.FindItem(set.store(), set.sku())) item = *earlier;
  if (item.defined_seq() == 0) item.set_defined_seq(seq);
  item.set_store(set.store());
  item.set_sku(set.sku());
  item.set_name(set.name());
  item.set_unit(set.unit());
  item.set_price_minor(MinorToString(price.amount.minor()));
  item.set_active(set.active());
  item.set_changed_seq(seq);
  if (stock == nullptr) {
    // The first SetItem of a SKU anywhere defines its stock asset in the same entry.
    AssetState& asset = decision.new_stock.emplace();
    asset.record = StockAssetRecord(set.sku(), set.name(), seq);
    asset.scale = asset.record.scale();
    asset.maximum_minor = *MinorFromString(asset.record.maximum_minor());
  }
  return decision;
}

OrRefusal<v1::ExchangePolicy> DecideExchangeRatio(const v1::SetExchangeRatio& set,
                                                  const Context& context) {
  const AssetState* points = context.FindAsset(kPoints);
  if (points == nullptr || context.FindAsset(kHours) == nullptr) {
    return Refusal{Reason::kAssetUnknown, "the ratio needs HOURS and POINTS"};
  }
  const AccountState* exchange = context.FindAccount(set.exchange_account());
  if (exchange == nullptr) {
    return Refusal{Reason::kAccountUnknown, Cat("no account ", set.exchange_account())};
  }
  if (exchange->record.kind() != v1::ACCOUNT_KIND_ISSUER) {
    return Refusal{Reason::kAccountKindMismatch, Cat(set.exchange_account(),
                                                     " is not an ISSUER account: points paid with "
                                                     "hours enter through an issuer's budget")};
  }
  AmountParse ratio = ParseAmount(set.points_per_hour(), points->scale, points->maximum_minor);
  if (!ratio.ok()) {
    return Refusal{ratio.reason, Cat("points per hour ", Excerpt(set.points_per_hour()), ": ",
                                     ReasonName(ratio.reason))};
  }
  if (ratio.amount.is_zero()) return Refusal{Reason::kAmountZero, "the ratio is zero"};
  v1::ExchangePolicy policy;
  policy.set_points_per_hour_minor(MinorToString(ratio.amount.minor()));
  policy.set_exchange_account(set.exchange_account());
  return policy;
}

OrRefusal<PricedBasket> PriceBasket(const std::string& member, const std::string& store,
                                    const google::protobuf::RepeatedPtrField<v1::BasketLine>& lines,
                                    const std::string& pay_asset, std::int64_t time,
                                    Context& context) {
  PricedBasket priced;
  for (const auto& [id, kind] :
       {std::pair{&member, v1::ACCOUNT_KIND_MEMBER}, std::pair{&store, v1::ACCOUNT_KIND_STORE}}) {
    const AccountState* account = context.FindAccount(*id);
    if (account == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", *id)};
    if (account->record.kind() != kind) {
      return Refusal{Reason::kAccountKindMismatch,
                     Cat("a basket moves value from a MEMBER to a STORE; ", *id, " is not a ",
                         kind == v1::ACCOUNT_KIND_MEMBER ? "MEMBER" : "STORE")};
    }
    if (account->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refusal{Reason::kAccountFrozen, Cat("account ", *id, " is frozen")};
    }
  }
  if (context.FindAsset(kPoints) == nullptr || context.FindAsset(pay_asset) == nullptr) {
    return Refusal{Reason::kAssetUnknown, Cat("no asset ", pay_asset)};
  }
  // Price the basket from the store's catalogue.
  v1::Pricing& pricing = priced.pricing;
  pricing.set_pay_asset(pay_asset);
  Int128 total = 0;
  for (const auto& line : lines) {
    const v1::ItemRecord* item = context.FindItem(store, line.sku());
    if (item == nullptr) return Refusal{Reason::kItemUnknown, Cat(store, " sells no ", line.sku())};
    if (!item->active()) {
      return Refusal{Reason::kItemInactive,
                     Cat(line.sku(), " (", item->name(), ") is not for sale")};
    }
    total += AddPricedLine(&pricing, line.sku(), line.quantity(), item->price_minor());
  }
  pricing.set_total_points_minor(MinorToString(total));
  priced.total = total;
  // Limits per member and period (the basket's value, then each line's item), in programme time.
  auto within_limit = [&](const std::string& sku, const Int128& amount) -> std::optional<Refusal> {
    const v1::LimitRecord* limit = context.FindLimit(sku);
    if (limit == nullptr || limit->maximum_minor() == "0") return std::nullopt;
    const Int128 maximum = *MinorFromString(limit->maximum_minor());
    for (const std::string& owner : UsageOwners(member, context)) {
      const std::string key = UsageKey(owner, sku, limit->period(), time);
      OrRefusal<Int128> found = context.Used(key);
      if (auto* failed = std::get_if<Refusal>(&found)) return std::move(*failed);
      const Int128 used = std::get<Int128>(found);
      if (used + amount > maximum) {
        const std::string what = sku.empty() ? "baskets worth" : sku;
        const std::string unit = sku.empty() ? " POINTS" : "";
        const std::string per = v1::Period_Name(limit->period()).substr(7);
        auto shown = [&](const Int128& value) {
          return sku.empty() ? context.Decimal(value, kPoints) : MinorToString(value);
        };
        return Refusal{Reason::kLimitExceeded,
                       Cat(owner == member ? member : Cat(member, "'s ", owner), " may take ", what,
                           " at most ", shown(maximum), unit, " per ", per, " (",
                           key.substr(key.rfind('\0') + 2), "); ", shown(used),
                           " used, this basket ", shown(amount))};
      }
      priced.usage.emplace_back(key, used + amount);
    }
    return std::nullopt;
  };
  if (context.HasLimits()) {
    if (auto refused = within_limit("", total)) return std::move(*refused);
    for (const auto& line : lines) {
      if (auto refused = within_limit(line.sku(), Int128(line.quantity()))) {
        return std::move(*refused);
      }
    }
  }
  if (pay_asset == kPoints) return priced;
  auto policy = context.Setting<v1::ExchangePolicy>(meta_key::kExchangePolicy);
  if (!policy) {
    return Refusal{Reason::kExchangeRatioUnset, "no HOURS -> POINTS exchange ratio has been set"};
  }
  priced.exchange = policy->exchange_account();
  if (context.FindAccount(priced.exchange)->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
    return Refusal{Reason::kAccountFrozen, Cat("exchange account ", priced.exchange, " is frozen")};
  }
  const Int128 ratio = *MinorFromString(policy->points_per_hour_minor());
  std::optional<Int128> hours =
      PointsToHours(total, ratio, context.FindAsset(kHours)->scale, Rounding::kUp);
  if (!hours) {
    return Refusal{Reason::kBalanceAboveMaximum,
                   "the basket is worth more hours than any balance holds"};
  }
  pricing.set_points_per_hour_minor(policy->points_per_hour_minor());
  pricing.set_hours_minor(MinorToString(*hours));
  priced.hours = *hours;
  return priced;
}

std::vector<Posting> CheckoutPostings(const v1::Checkout& checkout, const PricedBasket& priced) {
  std::vector<Posting> postings;
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
  return postings;
}

OrRefusal<std::vector<std::pair<std::string, Int128>>> GiveBackUsage(
    const std::string& member, std::int64_t time, const Int128& total,
    const std::vector<std::pair<std::string, std::uint32_t>>& lines, Context& context) {
  std::vector<std::pair<std::string, Int128>> usage;
  if (!context.HasLimits()) return usage;
  auto give_back = [&](const std::string& sku, const Int128& amount) -> std::optional<Refusal> {
    const v1::LimitRecord* limit = context.FindLimit(sku);
    if (limit == nullptr || limit->maximum_minor() == "0" || amount == 0) return std::nullopt;
    for (const std::string& owner : UsageOwners(member, context)) {
      const std::string key = UsageKey(owner, sku, limit->period(), time);
      OrRefusal<Int128> found = context.Used(key);
      if (auto* failed = std::get_if<Refusal>(&found)) return std::move(*failed);
      const Int128 used = std::get<Int128>(found);
      usage.emplace_back(key, used > amount ? used - amount : Int128(0));
    }
    return std::nullopt;
  };
  if (auto failure = give_back("", total)) return std::move(*failure);
  for (const auto& [sku, quantity] : lines) {
    if (auto failure = give_back(sku, Int128(quantity))) return std::move(*failure);
  }
  return usage;
}

std::optional<Refusal> CheckRefundable(std::uint64_t target, const v1::Entry* sold,
                                       Context& context) {
  if (sold == nullptr) {
    return Refusal{Reason::kRefundInvalid,
                   Cat("entry ", target, " is not a checkout or a captured hold")};
  }
  OrRefusal<bool> reversed = context.IsReversed(EncodeFixed64BE(target));
  if (auto* failed = std::get_if<Refusal>(&reversed)) return std::move(*failed);
  if (std::get<bool>(reversed)) {
    return Refusal{Reason::kEntryAlreadyReversed,
                   Cat("checkout ", target, " was reversed as a whole")};
  }
  return std::nullopt;
}

OrRefusal<RefundDecision> DecideRefund(const v1::Refund& refund, const v1::Entry& sold_entry,
                                       const Sale& sale, Context& context) {
  const std::uint64_t target = refund.checkout_seq();
  const v1::Pricing& sold = sold_entry.pricing();
  RefundDecision decision;
  v1::Pricing& pricing = decision.pricing;
  pricing.set_pay_asset(sold.pay_asset());
  Int128 total = 0;
  for (const auto& line : refund.lines()) {
    auto priced = std::find_if(sold.lines().begin(), sold.lines().end(),
                               [&](const auto& item) { return item.sku() == line.sku(); });
    if (priced == sold.lines().end()) {
      return Refusal{Reason::kRefundInvalid, Cat("sale ", target, " sold no ", line.sku())};
    }
    if (line.quantity() > priced->quantity()) {
      return Refusal{Reason::kRefundInvalid, Cat("sale ", target, " sold ", priced->quantity(),
                                                 " of ", line.sku(), ", not ", line.quantity())};
    }
    OrRefusal<bool> refunded = context.IsReversed(RefundedLineKey(target, line.sku()));
    if (auto* failed = std::get_if<Refusal>(&refunded)) return std::move(*failed);
    if (std::get<bool>(refunded)) {
      return Refusal{Reason::kLineAlreadyRefunded,
                     Cat("line ", line.sku(), " of sale ", target, " was refunded already")};
    }
    total += AddPricedLine(&pricing, line.sku(), line.quantity(), priced->unit_price_minor());
    decision.returned.emplace_back(line.sku(), line.quantity());
  }
  pricing.set_total_points_minor(MinorToString(total));
  decision.total = total;
  std::vector<Posting>& postings = decision.postings;
  for (const auto& line : refund.lines()) {
    postings.push_back({sale.member, line.sku(), -Int128(line.quantity())});
    postings.push_back({sale.store, line.sku(), Int128(line.quantity())});
  }
  if (sold.pay_asset() == kPoints) {
    postings.push_back({sale.store, kPoints, -total});
    postings.push_back({sale.member, kPoints, total});
  } else {
    // Paid with hours: the points go back to the exchange account the sale used and the hours
    // to the member at the sale's ratio; returning the whole basket returns exactly the hours
    // paid, a part of it the hours rounded down.
    LOVEBANK_CHECK(!sale.exchange.empty());
    const bool whole = total == *MinorFromString(sold.total_points_minor());
    std::optional<Int128> hours =
        whole ? MinorFromString(sold.hours_minor())
              : PointsToHours(total, *MinorFromString(sold.points_per_hour_minor()),
                              context.FindAsset(kHours)->scale, Rounding::kDown);
    LOVEBANK_CHECK(hours.has_value());  // at most the hours paid
    pricing.set_points_per_hour_minor(sold.points_per_hour_minor());
    pricing.set_hours_minor(MinorToString(*hours));
    postings.push_back({sale.store, kPoints, -total});
    postings.push_back({sale.exchange, kPoints, total});
    if (*hours != 0) {
      postings.push_back({sale.exchange, kHours, -*hours});
      postings.push_back({sale.member, kHours, *hours});
    }
  }
  return decision;
}

OrRefusal<v1::LimitRecord> DecideLimit(const v1::SetLimit& set, const Context& context) {
  const std::string& code = set.sku().empty() ? kPoints : set.sku();
  const AssetState* asset = context.FindAsset(code);
  if (asset == nullptr) return Refusal{Reason::kAssetUnknown, Cat("no asset ", code)};
  if (!set.sku().empty() && !asset->record.stock()) {
    return Refusal{Reason::kAssetNotStock,
                   Cat(set.sku(), " is not an item: limits are on items or on basket value")};
  }
  AmountParse maximum = ParseAmount(set.maximum(), asset->scale, asset->maximum_minor);
  if (!maximum.ok()) {
    return Refusal{maximum.reason,
                   Cat("maximum ", Excerpt(set.maximum()), ": ", ReasonName(maximum.reason))};
  }
  v1::LimitRecord record;
  record.set_sku(set.sku());
  record.set_period(set.period());
  record.set_maximum_minor(MinorToString(maximum.amount.minor()));
  return record;
}

absl::InlinedVector<std::string, 2> UsageOwners(const std::string& member, const Context& context) {
  absl::InlinedVector<std::string, 2> owners{member};
  const std::string* household = context.FindHousehold(member);
  if (household != nullptr && !household->empty()) {
    // A member account may itself be named "household:<id>": one key, counted once.
    std::string key = Cat("household:", *household);
    if (key != member) owners.push_back(std::move(key));
  }
  return owners;
}

std::optional<Refusal> CheckHousehold(const v1::SetHousehold& set, const Context& context) {
  for (const auto& member : set.members()) {
    const AccountState* account = context.FindAccount(member);
    if (account == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", member)};
    if (account->record.kind() != v1::ACCOUNT_KIND_MEMBER) {
      return Refusal{Reason::kAccountKindMismatch, Cat(member, " is not a MEMBER account")};
    }
  }
  return std::nullopt;
}

}  // namespace lovebank::rules
