#pragma once
// Programme rules (issue #7; docs/programme.md): account tags, family (亲属) and the transfer
// (转赠) policy, the award catalogue with its frequencies, and maker-checker approval of awards and
// of earnings above a threshold. Free functions over the decision context; the engine keeps the
// pending records and their 30-day lapse and applies what these decide
// (ledger/engine/programme.cc).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/rules/context.h"

namespace lovebank::rules {

// A Transfer under the transfer policy: the kind the receiving account must be (MEMBER, or SYSTEM
// for the policy's donation pool), or TRANSFER_NOT_ALLOWED / NOT_FAMILY. The giver's tags'
// policies apply, the most restrictive winning (student POINTS stay with students by default);
// else the programme-wide one. Unknown accounts and wrong kinds are the move's to refuse.
OrRefusal<v1::AccountKind> TransferRecipientKind(const v1::Move& move, const Context& context);

// SetAccountTags: an existing account; the record with its tags replaced (sorted).
OrRefusal<v1::AccountRecord> DecideAccountTags(const v1::SetAccountTags& set,
                                               const Context& context);
// SetBudget: an ISSUER account (BUDGET_INVALID otherwise), a defined asset, an amount at its
// scale, never below what the issuer has issued, minus its balance (BUDGET_BELOW_ISSUED). The
// account's state with the budget replaced (the record's text and the minor units).
OrRefusal<AccountState> DecideBudget(const v1::SetBudget& set, const Context& context);
// SetFamily: the member and every relative MEMBER accounts; the member's record with its
// relatives replaced (sorted).
// SetAccountContact: the account's record with its new card number and phone; the card number
// free or the account's own (ACCOUNT_CARD_TAKEN).
OrRefusal<v1::AccountRecord> DecideAccountContact(const v1::SetAccountContact& set,
                                                  const Context& context);
// Whether `card` (non-empty) may be `account`'s: no other account holds it.
std::optional<Refusal> CheckCardFree(const std::string& card, const std::string& account,
                                     const Context& context);
OrRefusal<v1::AccountRecord> DecideFamily(const v1::SetFamily& set, const Context& context);
// SetTransferPolicy: an asset that is not goods; a donation pool, when named, a SYSTEM account.
// The record to store (without its seq).
OrRefusal<v1::TransferPolicyRecord> DecideTransferPolicy(const v1::SetTransferPolicy& set,
                                                         const Context& context);
// SetAwardRule: an asset that is not goods, an amount above zero. The record to store (seqs
// set; a rule changed keeps the seq that defined it).
OrRefusal<v1::AwardRuleRecord> DecideAwardRule(const v1::SetAwardRule& rule,
                                               const Context& context);
// SetApprovalThreshold: an asset that is not goods, an amount (0: none). The record (no seq).
OrRefusal<v1::ApprovalThresholdRecord> DecideApprovalThreshold(const v1::SetApprovalThreshold& set,
                                                               const Context& context);
// The approval threshold of `asset` in minor units; std::nullopt when it has none (or 0).
std::optional<Int128> ApprovalThreshold(const std::string& asset, const Context& context);

// An Award by rule: an active rule, an active MEMBER who has the rule's tags and an active ISSUER,
// the rule's frequency not used up in its period. Approved at once (`postings`) or waiting for a
// second principal (`pending`); the frequency counter is `usage_key` (empty: no frequency), to
// hold `used + 1` after the award.
struct AwardDecision {
  v1::AwardFacts facts;
  std::vector<Posting> postings;             // when the rule needs no approval
  std::optional<v1::PendingRecord> pending;  // when it does (seq, maker and times unset)
  std::string usage_key;
  Int128 used = 0;
};
OrRefusal<AwardDecision> DecideAward(const v1::Award& award, Context& context);

// The pending record a Approve or Reject names (`pending`: null when there is none): still
// pending, else PENDING_UNKNOWN or PENDING_CLOSED.
std::optional<Refusal> CheckPendingOpen(const v1::PendingRecord* pending, std::uint64_t seq);

// An Approve by `actor` of `pending`: a principal other than its maker, neither account frozen.
// The entry's legs and, for an award, its facts.
struct ApproveDecision {
  std::vector<Posting> postings;
  std::optional<v1::AwardFacts> facts;
};
OrRefusal<ApproveDecision> DecideApprove(const std::string& actor, const v1::PendingRecord& pending,
                                         const Context& context);

}  // namespace lovebank::rules
