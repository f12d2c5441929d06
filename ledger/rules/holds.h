#pragma once
// Holds for the checkout lane as rules (issue #6 item 4; docs/supermarket.md "Holds"): authorize
// moves a priced basket (rules/supermarket.h PriceBasket) into the SYSTEM escrow account, capture
// sells all or part of it at the hold's prices and ratio, void and the engine's release at expiry
// give it back. The engine keeps the holds, their expiries and the escrow account
// (ledger/engine/holds.cc) and applies what these decide.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/rules/context.h"
#include "ledger/rules/supermarket.h"

namespace lovebank::rules {

// The escrow account, when it exists, is a SYSTEM account (null: the first hold opens it).
std::optional<Refusal> CheckEscrow(const AccountState* escrow);

// An authorization's legs: the goods first, as at a checkout, then the payment; everything into
// escrow (HOURS paid: the member's hours and the exchange account's points).
std::vector<Posting> AuthorizePostings(const v1::AuthorizeHold& authorize,
                                       const PricedBasket& priced);

// The hold `hold_seq` a capture or void at `store` names (`hold`: null when there is none):
// HOLD_UNKNOWN when it is not this store's, HOLD_CLOSED once captured, voided or released.
std::optional<Refusal> CheckHoldOpen(const v1::HoldRecord* hold, std::uint64_t hold_seq,
                                     const std::string& store);

// A capture: the member and store not frozen; the captured basket at the hold's prices —
// everything held, or the lines named (each at most what is held; HOURS at the hold's ratio, the
// whole basket exactly the hours held, a part rounded up).
OrRefusal<v1::Pricing> DecideCapture(const v1::CaptureHold& capture, const v1::HoldRecord& hold,
                                     const Context& context);

// Closing a hold (`captured`: the captured pricing; null for a void or a release): each line's
// captured units to the member and the rest back to the store, the captured value to the store and
// the rest back where it came from.
struct HoldClose {
  std::vector<Posting> postings;
  std::vector<std::pair<std::string, std::uint32_t>> returned;  // units not sold, by SKU
  Int128 unsold = 0;  // POINTS of value not sold (given back to the limits' usage)
};
HoldClose CloseHoldPostings(const v1::HoldRecord& hold, const v1::Pricing* captured);

}  // namespace lovebank::rules
