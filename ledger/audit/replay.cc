// The audit's replay of one journal entry: every rule of the engine, coded again from the rules
// (DESIGN.md invariants 1, 2, 5), applied to the audit's own state.

#include "ledger/audit/replay.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "ledger/ledger.h"
#include "ledger/strings.h"

namespace lovebank::audit {
namespace {

using State = ReplayState;

std::string Text(const Int128& minor) { return MinorToString(minor); }

absl::string_view Absl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// A posting whose strings live in the entry (or command) being replayed: no copies on the hot
// path. A movement has two; a small inline capacity avoids the heap for them.
struct PostingView {
  std::string_view account;
  std::string_view asset;
  Int128 amount;
};
using Postings = absl::InlinedVector<PostingView, 2>;

// An order-sensitive digest of postings. |amount| <= 10^36 < 2^127, so the two 64-bit halves
// of its RawInt128 form identify it exactly.
std::size_t PostingsDigest(const Postings& postings) {
  std::size_t digest = postings.size();
  for (const PostingView& posting : postings) {
    const auto value = static_cast<RawInt128>(posting.amount);
    digest = absl::HashOf(digest, Absl(posting.account), Absl(posting.asset),
                          static_cast<std::uint64_t>(value),
                          static_cast<std::uint64_t>(static_cast<RawUint128>(value) >> 64));
  }
  return digest;
}

const char* KindName(v1::AccountKind kind) { return v1::AccountKind_Name(kind).c_str(); }

// The rules of one command against the state before the entry. Returns the postings the command
// implies (empty for administrative entries), or std::nullopt when a rule is broken (reported).
struct Expectation {
  bool ok = true;
  bool moves_value = false;
  Postings postings;
};

Expectation ExpectMove(const v1::Move& move, v1::AccountKind from_kind, v1::AccountKind to_kind,
                       std::uint64_t seq, State& state, Findings& findings) {
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
  const AmountParse amount =
      ParseAmount(move.amount(), asset->second.scale, asset->second.maximum_minor);
  if (!amount.ok()) return violated(Cat("amount ", move.amount(), ": ", ReasonName(amount.reason)));
  if (amount.amount.is_zero()) return violated("a zero amount");
  auto from = state.accounts.find(move.from());
  auto to = state.accounts.find(move.to());
  if (from == state.accounts.end()) return violated(Cat("unknown account ", move.from()));
  if (to == state.accounts.end()) return violated(Cat("unknown account ", move.to()));
  if (from->second.record.kind() != from_kind || to->second.record.kind() != to_kind) {
    return violated(Cat("from ", KindName(from->second.record.kind()), " to ",
                        KindName(to->second.record.kind()), " where ", KindName(from_kind), " to ",
                        KindName(to_kind), " is the rule"));
  }
  for (const auto* account : {&from->second, &to->second}) {
    if (account->record.status() != v1::ACCOUNT_STATUS_ACTIVE) {
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
  reversible.reversed_by = seq;
  return expectation;  // postings are checked against the target's digest by the caller
}

Expectation ExpectAdmin(const v1::Command& command, std::uint64_t seq, State& state,
                        Findings& findings) {
  Expectation expectation;
  auto violated = [&](std::string what) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "an administrative change the rules allow",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  if (command.has_open_account()) {
    const auto& open = command.open_account();
    if (state.accounts.contains(open.account()))
      return violated(Cat("account ", open.account(), " exists"));
    State::Account account;
    for (const auto& budget : open.budgets()) {
      auto asset = state.assets.find(budget.asset());
      if (asset == state.assets.end())
        return violated(Cat("budget in unknown asset ", budget.asset()));
      AmountParse amount =
          ParseAmount(budget.amount(), asset->second.scale, asset->second.maximum_minor);
      if (!amount.ok())
        return violated(Cat("budget ", budget.amount(), ": ", ReasonName(amount.reason)));
      account.budgets_minor[budget.asset()] = amount.amount.minor();
    }
    auto& record = account.record;
    record.set_account(open.account());
    record.set_kind(open.kind());
    record.set_display_name(open.display_name());
    record.set_status(v1::ACCOUNT_STATUS_ACTIVE);
    *record.mutable_budgets() = open.budgets();
    record.set_opened_seq(seq);
    record.set_status_seq(seq);
    state.accounts.emplace(open.account(), std::move(account));
  } else if (command.has_define_asset()) {
    const auto& define = command.define_asset();
    if (state.assets.contains(define.code()))
      return violated(Cat("asset ", define.code(), " exists"));
    AmountParse maximum = ParseAmount(define.maximum(), define.scale(), MinorAbsoluteMax());
    if (!maximum.ok() || maximum.amount.is_zero())
      return violated(Cat("maximum ", define.maximum()));
    State::Asset asset;
    asset.scale = define.scale();
    asset.maximum_minor = maximum.amount.minor();
    asset.record.set_code(define.code());
    asset.record.set_scale(define.scale());
    asset.record.set_maximum_minor(Text(asset.maximum_minor));
    asset.record.set_display_name(define.display_name());
    asset.record.set_defined_seq(seq);
    state.assets.emplace(define.code(), std::move(asset));
  } else if (command.has_grant_principal()) {
    const auto& grant = command.grant_principal();
    if (state.principals.contains(grant.principal()))
      return violated(Cat("principal ", grant.principal(), " exists"));
    if (!state.token_hashes.insert(grant.token_sha256()).second)
      return violated(Cat("principal ", grant.principal(), " reuses another principal's token"));
    const v1::AccountKind kind = grant.role() == v1::ROLE_ISSUER     ? v1::ACCOUNT_KIND_ISSUER
                                 : grant.role() == v1::ROLE_TERMINAL ? v1::ACCOUNT_KIND_STORE
                                                                     : v1::ACCOUNT_KIND_MEMBER;
    for (const auto& id : grant.accounts()) {
      auto account = state.accounts.find(id);
      if (account == state.accounts.end() || account->second.record.kind() != kind)
        return violated(Cat("principal ", grant.principal(), " bound to ", id,
                            ", not an open account of the role's kind"));
    }
    v1::PrincipalRecord record;
    record.set_principal(grant.principal());
    record.set_role(grant.role());
    *record.mutable_accounts() = grant.accounts();
    record.set_token_sha256(grant.token_sha256());
    record.set_display_name(grant.display_name());
    record.set_granted_seq(seq);
    state.principals.emplace(grant.principal(), std::move(record));
  } else if (command.has_revoke_principal()) {
    auto principal = state.principals.find(command.revoke_principal().principal());
    if (principal == state.principals.end())
      return violated(Cat("unknown principal ", command.revoke_principal().principal()));
    if (principal->second.revoked_seq() != 0) return violated("principal revoked twice");
    principal->second.set_revoked_seq(seq);
  } else if (command.has_set_account_status()) {
    const auto& set = command.set_account_status();
    auto account = state.accounts.find(set.account());
    if (account == state.accounts.end()) return violated(Cat("unknown account ", set.account()));
    if (account->second.record.status() == set.status()) return violated("status unchanged");
    account->second.record.set_status(set.status());
    account->second.record.set_status_seq(seq);
  }
  return expectation;
}

}  // namespace

void Findings::Add(FindingKind kind, std::uint64_t seq, std::string where, std::string expected,
                   std::string found) {
  ++total;
  if (kept.size() < kFindingsKept) {
    kept.push_back(Finding{kind, seq, std::move(where), std::move(expected), std::move(found)});
  }
}

std::uint64_t RequestDigest(std::string_view request_id, std::uint64_t seq,
                            const Hash& fingerprint) {
  return absl::HashOf(
      absl::string_view(request_id.data(), request_id.size()), seq,
      absl::string_view(reinterpret_cast<const char*>(fingerprint.data()), fingerprint.size()));
}

std::uint64_t NextLineDigest(std::uint64_t digest, std::uint64_t seq, std::string_view legs_text) {
  return absl::HashOf(digest, seq, absl::string_view(legs_text.data(), legs_text.size()));
}

void AppendLegText(std::string* text, std::string_view asset, std::string_view amount_minor,
                   std::string_view balance_after_minor) {
  text->append(asset).append(" ").append(amount_minor).append(" ").append(balance_after_minor);
  text->push_back(';');
}

std::string LegsText(const v1::StatementLine& line) {
  std::string text;
  for (const auto& leg : line.legs()) {
    AppendLegText(&text, leg.asset(), leg.amount_minor(), leg.balance_after_minor());
  }
  return text;
}

void ReplayEntry(const v1::Entry& entry, const std::string& fingerprint, State& state,
                 Findings& findings) {
  const std::uint64_t seq = entry.seq();
  const v1::Command& command = entry.command();
  if (state.entries.size() < seq) state.entries.resize(seq);

  if (entry.time_unix_us() < state.time_unix_us) {
    findings.Add(FindingKind::kTimeWentBack, seq, "", Cat(">= ", state.time_unix_us),
                 Cat(entry.time_unix_us()));
  }
  state.time_unix_us = std::max(state.time_unix_us, entry.time_unix_us());

  const SyntaxCheck syntax = CheckCommandSyntax(command);
  if (syntax.reason != Reason::kOk) {
    findings.Add(FindingKind::kCommandInvalid, seq, "", "a command the engine accepts",
                 Cat(ReasonName(syntax.reason), ": ", syntax.message));
  }
  State::Request request{seq, {}};
  std::copy(fingerprint.begin(), fingerprint.end(), request.fingerprint.begin());
  if (state.mode == State::Mode::kFast) {
    // A repeated 64-bit hash is a duplicate request id or (about 1 in 10^7 at 10^6 entries) a
    // collision: the exact pass tells which.
    if (!state.request_hashes.insert(absl::HashOf(absl::string_view(command.request_id())))
             .second) {
      state.needs_exact = true;
    }
    state.requests_digest += RequestDigest(command.request_id(), seq, request.fingerprint);
  } else if (auto [it, inserted] = state.requests.try_emplace(command.request_id(), request);
             !inserted) {
    findings.Add(FindingKind::kRequestIdDuplicate, seq, Cat("request ", command.request_id()),
                 "a request id used once", Cat("also used by entry ", it->second.seq));
  }

  // The recorded postings, decoded.
  Postings recorded;
  for (const auto& posting : entry.postings()) {
    auto amount = MinorFromString(posting.amount_minor());
    if (!amount || *amount == 0) {
      findings.Add(FindingKind::kPostingsMismatch, seq, "", "a non-zero integer amount",
                   posting.amount_minor());
      continue;
    }
    recorded.push_back(PostingView{posting.account(), posting.asset(), *amount});
  }

  Expectation expectation;
  std::string_view touched;  // an account with a statement line but no leg
  switch (command.body_case()) {
    case v1::Command::kEarn:
      expectation = ExpectMove(command.earn(), v1::ACCOUNT_KIND_ISSUER, v1::ACCOUNT_KIND_MEMBER,
                               seq, state, findings);
      break;
    case v1::Command::kDeduct:
      expectation = ExpectMove(command.deduct(), v1::ACCOUNT_KIND_MEMBER, v1::ACCOUNT_KIND_ISSUER,
                               seq, state, findings);
      break;
    case v1::Command::kRedeem:
      expectation = ExpectMove(command.redeem(), v1::ACCOUNT_KIND_MEMBER, v1::ACCOUNT_KIND_STORE,
                               seq, state, findings);
      break;
    case v1::Command::kTransfer:
      expectation = ExpectMove(command.transfer(), v1::ACCOUNT_KIND_MEMBER, v1::ACCOUNT_KIND_MEMBER,
                               seq, state, findings);
      break;
    case v1::Command::kReverse: {
      const std::uint64_t target = command.reverse().seq();
      expectation = ExpectReverse(target, seq, state, findings);
      if (expectation.ok) {
        Postings negated = recorded;
        for (PostingView& posting : negated) posting.amount = -posting.amount;
        if (PostingsDigest(negated) != state.entries[target - 1].postings_digest) {
          findings.Add(FindingKind::kPostingsMismatch, seq, "",
                       Cat("the postings of entry ", target, " negated"), "other postings");
        }
      }
      break;
    }
    case v1::Command::kOpenAccount:
      expectation = ExpectAdmin(command, seq, state, findings);
      touched = command.open_account().account();
      break;
    case v1::Command::kSetAccountStatus:
      expectation = ExpectAdmin(command, seq, state, findings);
      touched = command.set_account_status().account();
      break;
    case v1::Command::kDefineAsset:
    case v1::Command::kGrantPrincipal:
    case v1::Command::kRevokePrincipal:
      expectation = ExpectAdmin(command, seq, state, findings);
      break;
    case v1::Command::BODY_NOT_SET:
      break;  // reported as kCommandInvalid above
  }
  if (expectation.ok && command.body_case() != v1::Command::kReverse &&
      PostingsDigest(expectation.postings) != PostingsDigest(recorded)) {
    findings.Add(FindingKind::kPostingsMismatch, seq, "",
                 Cat(expectation.postings.size(), " postings implied by the command"),
                 Cat(recorded.size(), " recorded postings that differ"));
  }
  state.entries[seq - 1].moves_value = expectation.moves_value;
  state.entries[seq - 1].postings_digest = PostingsDigest(recorded);

  // Zero sum per asset (invariant 1).
  absl::InlinedVector<std::pair<std::string_view, Int128>, 2> sums;
  for (const PostingView& posting : recorded) {
    auto sum = std::find_if(sums.begin(), sums.end(),
                            [&](const auto& item) { return item.first == posting.asset; });
    if (sum == sums.end()) {
      sums.emplace_back(posting.asset, posting.amount);
    } else {
      sum->second += posting.amount;
    }
  }
  for (const auto& [asset, sum] : sums) {
    if (sum != 0)
      findings.Add(FindingKind::kZeroSumViolated, seq, std::string(asset), "0", Text(sum));
  }

  // Apply the recorded postings: the derived records follow what the journal says happened.
  // One statement line per account touched, its legs in posting order, as LegsText writes them.
  absl::InlinedVector<std::pair<std::string_view, std::string>, 2> lines;
  auto line_of = [&lines](std::string_view account) -> std::string& {
    for (auto& line : lines) {
      if (line.first == account) return line.second;
    }
    return lines.emplace_back(account, std::string()).second;
  };
  if (!touched.empty()) line_of(touched);
  for (const PostingView& posting : recorded) {
    auto account = state.accounts.find(Absl(posting.account));
    auto asset = state.assets.find(posting.asset);
    if (account == state.accounts.end() || asset == state.assets.end()) {
      findings.Add(FindingKind::kRuleViolated, seq, Cat(posting.account, "/", posting.asset),
                   "a posting to an open account in a defined asset", "unknown account or asset");
      continue;
    }
    State::Balance& balance = state.balances[BalanceKey(posting.account, posting.asset)];
    balance.minor += posting.amount;
    balance.seq = seq;
    Int128 floor = 0;
    if (account->second.record.kind() == v1::ACCOUNT_KIND_ISSUER) {
      auto budget = account->second.budgets_minor.find(posting.asset);
      floor = budget == account->second.budgets_minor.end() ? Int128(0) : Int128(-budget->second);
    }
    if ((posting.amount < 0 && balance.minor < floor) ||
        (posting.amount > 0 && balance.minor > asset->second.maximum_minor)) {
      findings.Add(FindingKind::kBalanceLimit, seq, Cat(posting.account, "/", posting.asset),
                   Cat("between ", Text(floor), " and ", Text(asset->second.maximum_minor)),
                   Text(balance.minor));
    }
    if (state.compare_statements) {
      AppendLegText(&line_of(posting.account), posting.asset, Text(posting.amount),
                    Text(balance.minor));
    }
  }
  if (!state.compare_statements) return;
  for (auto& [account, text] : lines) {
    if (state.mode == State::Mode::kExact) {
      state.statement_lines[std::string(account)].emplace_back(seq, std::move(text));
    } else if (auto found = state.accounts.find(Absl(account)); found != state.accounts.end()) {
      found->second.lines_digest = NextLineDigest(found->second.lines_digest, seq, text);
      ++found->second.lines_count;
    } else {
      state.needs_exact = true;  // a line for an account that does not exist: name it exactly
    }
  }
}

}  // namespace lovebank::audit
