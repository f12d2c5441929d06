// Movements of value as rules (ledger/rules/moves.h).

#include "ledger/rules/moves.h"

#include "ledger/base/strings.h"

namespace lovebank::rules {

std::optional<Refusal> CheckLimits(const std::vector<Posting>& postings, const Context& context) {
  for (const auto& posting : postings) {
    const AccountState* account = context.FindAccount(posting.account);
    const AssetState* asset = context.FindAsset(posting.asset);
    LOVEBANK_CHECK(account != nullptr && asset != nullptr);
    const Int128 before = context.Balance(posting.account, posting.asset).minor;
    const Int128 after = before + posting.delta;  // |both| <= 10^36: cannot overflow
    if (posting.delta < 0) {
      Int128 floor = 0;
      const bool issuer = account->record.kind() == v1::ACCOUNT_KIND_ISSUER;
      if (issuer && asset->record.stock()) {
        // Donated goods are not a promise of the programme: no budget limits them.
        floor = -asset->maximum_minor;
      } else if (issuer) {
        auto it = account->budgets_minor.find(posting.asset);
        floor = it == account->budgets_minor.end() ? Int128(0) : Int128(-it->second);
      }
      if (after < floor) {
        return Refusal{issuer                  ? Reason::kBudgetExceeded
                       : asset->record.stock() ? Reason::kInsufficientStock
                                               : Reason::kInsufficientBalance,
                       Cat(posting.account, " holds ", context.Decimal(before, posting.asset), " ",
                           posting.asset, "; ", context.Decimal(-posting.delta, posting.asset),
                           " would take it below ", context.Decimal(floor, posting.asset))};
      }
    } else if (after > asset->maximum_minor) {
      return Refusal{Reason::kBalanceAboveMaximum,
                     Cat(posting.account, " would hold more than the maximum of ",
                         context.Decimal(asset->maximum_minor, posting.asset), " ", posting.asset)};
    }
  }
  return std::nullopt;
}

}  // namespace lovebank::rules
