// Movements of value as rules (ledger/rules/moves.h).

#include "ledger/rules/moves.h"

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"
#include "ledger/rules/accounts.h"
#include "ledger/rules/programme.h"

namespace lovebank::rules {

OrRefusal<Int128> CheckMove(const v1::Move& move, v1::AccountKind from_kind,
                            v1::AccountKind to_kind, bool stock, const Context& context) {
  const AssetState* asset = context.FindAsset(move.asset());
  if (asset == nullptr) return Refusal{Reason::kAssetUnknown, Cat("no asset ", move.asset())};
  if (asset->record.stock() != stock) {
    return stock ? Refusal{Reason::kAssetNotStock, Cat(move.asset(), " is not an item's stock")}
                 : Refusal{Reason::kAssetIsStock, Cat(move.asset(),
                                                      " is goods: they move by stock commands, "
                                                      "checkouts and refunds")};
  }
  AmountParse amount = ParseAmount(move.amount(), asset->scale, asset->maximum_minor);
  if (!amount.ok()) {
    return Refusal{amount.reason,
                   Cat("amount ", Excerpt(move.amount()), ": ", ReasonName(amount.reason))};
  }
  if (amount.amount.is_zero()) return Refusal{Reason::kAmountZero, "the amount is zero"};
  const AccountState* from = context.FindAccount(move.from());
  if (from == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", move.from())};
  const AccountState* to = context.FindAccount(move.to());
  if (to == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", move.to())};
  if (from->record.kind() != from_kind || to->record.kind() != to_kind) {
    return Refusal{Reason::kAccountKindMismatch,
                   Cat("this moves value from a ", KindName(from_kind), " to a ", KindName(to_kind),
                       " account; ", move.from(), " is ", KindName(from->record.kind()), ", ",
                       move.to(), " is ", KindName(to->record.kind()))};
  }
  for (const AccountState* account : {from, to}) {
    if (account->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refusal{Reason::kAccountFrozen,
                     Cat("account ", account->record.account(), " is frozen")};
    }
  }
  return amount.amount.minor();
}

OrRefusal<EarnApproval> CheckEarnApproval(const v1::Move& earn, const Int128& amount,
                                          Context& context) {
  EarnApproval approval;
  if (earn.asset() == kHoursAsset) return approval;
  const std::optional<Int128> threshold = ApprovalThreshold(earn.asset(), context);
  if (!threshold) return approval;
  std::string key = ApprovalUsageKey(earn.from(), earn.to(), earn.asset(), context.entry_time());
  OrRefusal<Int128> used = context.Used(key);
  if (auto* failed = std::get_if<Refusal>(&used)) return std::move(*failed);
  const Int128 after = std::get<Int128>(used) + amount;
  if (after <= *threshold) {
    approval.usage.emplace(std::move(key), after);
  } else {
    approval.pending = true;
  }
  return approval;
}

bool IsReversible(v1::Command::BodyCase kind) {
  switch (kind) {
    case v1::Command::kEarn:
    case v1::Command::kDeduct:
    case v1::Command::kRedeem:
    case v1::Command::kTransfer:
    case v1::Command::kReceiveStock:
    case v1::Command::kWriteOffStock:
    case v1::Command::kSettle:
    case v1::Command::kCheckout:
    case v1::Command::kAward:
    case v1::Command::kApprove:
      return true;
    default:
      return false;
  }
}

std::optional<Refusal> CheckReversal(std::uint64_t target, v1::Command::BodyCase kind,
                                     const std::vector<v1::Posting>& postings,
                                     const v1::Entry* sold, Context& context) {
  if (!IsReversible(kind)) {
    return Refusal{Reason::kEntryNotReversible,
                   Cat("entry ", target, " moves no value or is itself a reversal or refund")};
  }
  if (postings.empty()) {
    return Refusal{Reason::kEntryNotReversible,
                   Cat("entry ", target,
                       " moved nothing: it waited for approval (reject it "
                       "while pending; reverse its Approve once approved)")};
  }
  OrRefusal<bool> reversed = context.IsReversed(EncodeFixed64BE(target));
  if (auto* failed = std::get_if<Refusal>(&reversed)) return std::move(*failed);
  if (std::get<bool>(reversed)) {
    return Refusal{Reason::kEntryAlreadyReversed, Cat("entry ", target, " was reversed already")};
  }
  if (sold != nullptr) {
    for (const auto& line : sold->pricing().lines()) {
      OrRefusal<bool> refunded = context.IsReversed(RefundedLineKey(target, line.sku()));
      if (auto* failed = std::get_if<Refusal>(&refunded)) return std::move(*failed);
      if (std::get<bool>(refunded)) {
        return Refusal{Reason::kEntryAlreadyReversed,
                       Cat("line ", line.sku(), " of checkout ", target,
                           " was refunded: refund the other lines instead")};
      }
    }
  }
  return std::nullopt;
}

std::vector<Posting> ReversePostings(const std::vector<v1::Posting>& postings) {
  std::vector<Posting> reversed;
  reversed.reserve(postings.size());
  for (const auto& posting : postings) {
    auto minor = MinorFromString(posting.amount_minor());
    LOVEBANK_CHECK(minor.has_value());
    reversed.push_back({posting.account(), posting.asset(), -*minor});
  }
  return reversed;
}

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
