#pragma once
// Movements of value as rules: earn, deduct, redeem, transfer, settle and stock moves; the
// approval threshold of earnings; reversals; the floors and ceilings every posting must respect.
// The engine applies what they decide (ledger/engine/moves.cc) and writes the entry (Append).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/rules/context.h"

namespace lovebank::rules {

// A move of `move.amount()` of `move.asset()` from a `from_kind` to a `to_kind` account: the
// asset defined and of the right sort (`stock`: goods moved by stock commands; else not goods),
// the amount valid in its scale and above zero, both accounts existing, of their kinds and not
// frozen. The amount in minor units.
OrRefusal<Int128> CheckMove(const v1::Move& move, v1::AccountKind from_kind,
                            v1::AccountKind to_kind, bool stock, const Context& context);

// An Earn under an approval threshold for its asset (HOURS have none: the daily cap guards them).
// The threshold is cumulative: what one issuer account posts to one member in one programme day
// (Asia/Shanghai) without approval stays at or under it, so splitting an earning sends the part
// above it to approval. Approved earnings do not count (a checker saw them); a reversal gives
// nothing back (the safe side). `pending`: the earning waits for approval; `usage`: the counter
// and its value after an earning that goes through now.
struct EarnApproval {
  bool pending = false;
  std::optional<std::pair<std::string, Int128>> usage;
};
OrRefusal<EarnApproval> CheckEarnApproval(const v1::Move& earn, const Int128& amount,
                                          Context& context);

// Entries a Reverse may undo: every movement of value except reversals and refunds.
bool IsReversible(v1::Command::BodyCase kind);

// A Reverse of entry `target`, a `kind` that moved `postings` (`sold`: the entry when it is a
// checkout or a captured hold, else null): reversible, it moved something (a pending award or
// earning moved nothing), not reversed already, and no line of a sale refunded.
std::optional<Refusal> CheckReversal(std::uint64_t target, v1::Command::BodyCase kind,
                                     const std::vector<v1::Posting>& postings,
                                     const v1::Entry* sold, Context& context);

// The legs that undo `postings`.
std::vector<Posting> ReversePostings(const std::vector<v1::Posting>& postings);

// Floors and ceilings for postings about to be applied: a member or store never below zero
// (INSUFFICIENT_BALANCE, or INSUFFICIENT_STOCK for goods), an issuer never past its budget
// (BUDGET_EXCEEDED; donated goods have none), no balance above its asset's maximum
// (BALANCE_ABOVE_MAXIMUM). REQUIRES: every account and asset named exists.
std::optional<Refusal> CheckLimits(const std::vector<Posting>& postings, const Context& context);

}  // namespace lovebank::rules
