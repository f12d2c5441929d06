#pragma once
// The love supermarket (爱心超市) as rules (issue #6; docs/supermarket.md): catalogue items, the
// exchange ratio, baskets priced from the catalogue under the limits per member and period, line
// refunds, households. Free functions over the decision context (ledger/rules/context.h); the
// engine applies what they decide (ledger/engine/supermarket.cc), holds price with PriceBasket.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "ledger/rules/context.h"

namespace lovebank::rules {

// SetItem: the item record to keep (seqs set) and, for a SKU new anywhere, the stock asset the
// same entry defines.
struct ItemDecision {
  v1::ItemRecord item;
  std::optional<AssetState> new_stock;
};
OrRefusal<ItemDecision> DecideSetItem(const v1::SetItem& set, const Context& context);

// SetExchangeRatio: HOURS and POINTS defined, an ISSUER exchange account, a ratio above zero.
// The policy to store (without its seq).
OrRefusal<v1::ExchangePolicy> DecideExchangeRatio(const v1::SetExchangeRatio& set,
                                                  const Context& context);

// SetLimit: an amount of POINTS (basket value) or units of an item per period. The record to keep
// (without its seq); a maximum of 0 lifts the limit.
OrRefusal<v1::LimitRecord> DecideLimit(const v1::SetLimit& set, const Context& context);

// SetHousehold: every member named is a MEMBER account.
std::optional<Refusal> CheckHousehold(const v1::SetHousehold& set, const Context& context);

// Whose usage a member's baskets count under: the member, and "household:<id>" too when grouped.
// A limit holds for each: joining a household never lifts what the member used.
absl::InlinedVector<std::string, 2> UsageOwners(const std::string& member, const Context& context);

// What a checkout or a hold checks and prices: the accounts (an active MEMBER and STORE), the
// basket from the store's catalogue, the limits and (paid with HOURS) the ratio.
struct PricedBasket {
  v1::Pricing pricing;
  Int128 total = 0;
  Int128 hours = 0;                                   // HOURS only
  std::string exchange;                               // HOURS only
  std::vector<std::pair<std::string, Int128>> usage;  // usage keys -> used after the basket
};
OrRefusal<PricedBasket> PriceBasket(const std::string& member, const std::string& store,
                                    const google::protobuf::RepeatedPtrField<v1::BasketLine>& lines,
                                    const std::string& pay_asset, std::int64_t time,
                                    Context& context);

// A checkout's legs: the goods first (a basket the shelf cannot fill is INSUFFICIENT_STOCK
// whatever the member holds), then the payment (HOURS through the exchange account).
std::vector<Posting> CheckoutPostings(const v1::Checkout& checkout, const PricedBasket& priced);

// The usage keys and values after giving back `total` POINTS of value and `lines`' units to the
// periods of `time` under each limit now in force (never below zero).
OrRefusal<std::vector<std::pair<std::string, Int128>>> GiveBackUsage(
    const std::string& member, std::int64_t time, const Int128& total,
    const std::vector<std::pair<std::string, std::uint32_t>>& lines, Context& context);

// A sale a Refund returns lines of: a checkout, or a captured hold.
struct Sale {
  std::string member;
  std::string store;
  std::string exchange;           // paid with HOURS: the exchange account
  std::int64_t time_unix_us = 0;  // limits count in this time's periods
};

// Refund of entry `target`: `sold` is the entry when it is a checkout or a captured hold (null
// otherwise). REFUND_INVALID for another entry, ENTRY_ALREADY_REVERSED when reversed as a whole.
std::optional<Refusal> CheckRefundable(std::uint64_t target, const v1::Entry* sold,
                                       Context& context);

// The refund of `refund`'s lines of `sold` (a refundable sale): each line sold and not refunded
// yet, priced at the sale's prices (HOURS at the sale's ratio, the whole basket exactly the hours
// paid, a part rounded down), the legs back, and the lines it returns.
struct RefundDecision {
  v1::Pricing pricing;
  Int128 total = 0;
  std::vector<Posting> postings;
  std::vector<std::pair<std::string, std::uint32_t>> returned;
};
OrRefusal<RefundDecision> DecideRefund(const v1::Refund& refund, const v1::Entry& sold,
                                       const Sale& sale, Context& context);

}  // namespace lovebank::rules
