#pragma once
// Movements of value as rules: the floors and ceilings every posting must respect.

#include <optional>
#include <vector>

#include "ledger/rules/context.h"

namespace lovebank::rules {

// Floors and ceilings for postings about to be applied: a member or store never below zero
// (INSUFFICIENT_BALANCE, or INSUFFICIENT_STOCK for goods), an issuer never past its budget
// (BUDGET_EXCEEDED; donated goods have none), no balance above its asset's maximum
// (BALANCE_ABOVE_MAXIMUM). REQUIRES: every account and asset named exists.
std::optional<Refusal> CheckLimits(const std::vector<Posting>& postings, const Context& context);

}  // namespace lovebank::rules
