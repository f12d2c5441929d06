#pragma once
// The rules of volunteers' hours as programmes run them (issue #7; docs/programme.md): the star
// levels cumulative hours reach, the storage cap (hours past it go to a donation pool) and the
// daily cap on the hours recorded for one member and day. Free functions over the few facts they
// consult; the engine gathers the facts in the sequencer, on the state it commits on, and applies
// what they decide (ledger/engine/volunteers.cc). The audit has its own rules and shares none.

#include <optional>
#include <string>
#include <variant>

#include "ledger/rules/rule.h"
#include "lovebank/v1/journal.pb.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank::rules {

// SetStarLevels: each threshold an amount of HOURS, each above the one before it and above zero.
// The levels to store (without their seq), or why not. `hours`: null when HOURS is not defined.
std::variant<v1::StarLevels, Refusal> DecideStarLevels(const v1::SetStarLevels& asked,
                                                       const AssetFacts* hours);

// SetHoursCap: a maximum of HOURS (0: no cap) and, with a cap, its donation pool, which must be
// an existing SYSTEM account (`pool`: its record, null when it does not exist).
std::variant<v1::HoursCap, Refusal> DecideHoursCap(const v1::SetHoursCap& asked,
                                                   const AssetFacts* hours,
                                                   const v1::AccountRecord* pool);

// SetDailyHoursCap: a maximum of HOURS recorded per member and day (0: none).
std::variant<v1::DailyHoursCap, Refusal> DecideDailyHoursCap(const v1::SetDailyHoursCap& asked,
                                                             const AssetFacts* hours);

// A donation pool (of the hours cap or a transfer policy) is an existing SYSTEM account.
std::optional<Refusal> CheckDonationPool(const std::string& pool_account,
                                         const v1::AccountRecord* pool);

// An Earn of `amount` HOURS to a member holding `held` under a storage cap of `maximum` (0: no
// cap): what the member keeps, the rest going to the pool.
Int128 KeptUnderCap(const Int128& amount, const Int128& held, const Int128& maximum);

// An Earn of `amount` HOURS for `member` on `day`, with `used` recorded that day already, under a
// daily cap of `maximum`: LIMIT_EXCEEDED past it. `scale`: the HOURS asset's, for the message.
std::optional<Refusal> CheckDailyHours(const std::string& member, const std::string& day,
                                       const Int128& used, const Int128& amount,
                                       const Int128& maximum, std::uint32_t scale);

}  // namespace lovebank::rules
