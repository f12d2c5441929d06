// The audit's rules of movements (earn, deduct, redeem, settle, stock) and reversals, and the
// account checks every area uses.

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {

Expectation ExpectMove(const v1::Move& move, v1::AccountKind from_kind, v1::AccountKind to_kind,
                       bool stock, std::uint64_t seq, State& state, Findings& findings) {
  Expectation expectation;
  expectation.moves_value = true;
  auto violated = [&](std::string what) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a movement the rules allow",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  auto asset = state.assets.find(move.asset());
  if (asset == state.assets.end()) return violated(Cat("unknown asset ", move.asset()));
  if (asset->second.record.stock() != stock) {
    return violated(Cat(move.asset(), stock ? " is not an item's stock" : " is an item's stock"));
  }
  const AmountParse amount =
      ParseAmount(move.amount(), asset->second.scale, asset->second.maximum_minor);
  if (!amount.ok()) return violated(Cat("amount ", move.amount(), ": ", ReasonName(amount.reason)));
  if (amount.amount.is_zero()) return violated("a zero amount");
  const State::Account* from = FindAccount(state, move.from());
  const State::Account* to = FindAccount(state, move.to());
  if (from == nullptr) return violated(Cat("unknown account ", move.from()));
  if (to == nullptr) return violated(Cat("unknown account ", move.to()));
  if (from->kind != from_kind || to->kind != to_kind) {
    return violated(Cat("from ", KindName(from->kind), " to ", KindName(to->kind), " where ",
                        KindName(from_kind), " to ", KindName(to_kind), " is the rule"));
  }
  for (const auto* account : {from, to}) {
    if (account->status != v1::ACCOUNT_STATUS_ACTIVE) {
      return violated(Cat("account ", account->record.account(), " is frozen"));
    }
  }
  expectation.postings.push_back(PostingView{move.from(), move.asset(), -amount.amount.minor()});
  expectation.postings.push_back(PostingView{move.to(), move.asset(), amount.amount.minor()});
  return expectation;
}

Expectation ExpectReverse(std::uint64_t target, std::uint64_t seq, State& state,
                          Findings& findings) {
  Expectation expectation;
  auto invalid = [&](std::string what) {
    findings.Add(FindingKind::kReversalInvalid, seq, "", "an earlier, not yet reversed movement",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  if (target == 0 || target >= seq || target > state.entries.size()) {
    return invalid(Cat("entry ", target, " does not precede it"));
  }
  auto& reversible = state.entries[target - 1];
  if (!reversible.moves_value) return invalid(Cat("entry ", target, " moves no value"));
  if (reversible.reversed_by != 0) {
    return invalid(Cat("entry ", target, " was reversed by ", reversible.reversed_by));
  }
  auto refunded = state.refunded_lines.lower_bound(EncodeFixed64BE(target));
  if (refunded != state.refunded_lines.end() &&
      std::string_view(refunded->first).substr(0, 8) == EncodeFixed64BE(target)) {
    return invalid(Cat("checkout ", target, " has lines refunded by ", refunded->second));
  }
  reversible.reversed_by = seq;
  return expectation;  // postings are checked against the target's digest by the caller
}

// An account that must exist with `kind` (and be active unless `frozen_ok`); the reason it
// does not, or empty.
std::string AccountProblem(const State& state, const std::string& id, v1::AccountKind kind,
                           bool frozen_ok) {
  auto account = state.accounts.find(id);
  if (account == state.accounts.end()) return Cat("unknown account ", id);
  if (account->second.record.kind() != kind) {
    return Cat(id, " is ", KindName(account->second.record.kind()), ", not ", KindName(kind));
  }
  if (!frozen_ok && account->second.record.status() != v1::ACCOUNT_STATUS_ACTIVE) {
    return Cat("account ", id, " is frozen");
  }
  return "";
}

// A usage key (member 0x00 sku 0x00 period) as "member/sku/period".
std::string ShowKey(std::string key) {
  std::replace(key.begin(), key.end(), '\0', '/');
  return key;
}

}  // namespace lovebank::audit
