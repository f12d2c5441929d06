// The audit's replay of one journal entry: every rule of the engine, coded again from the rules
// (DESIGN.md invariants 1, 2, 5), applied to the audit's own state. The rules live by area in
// rules_*.cc (replay_rules.h); this file holds the dispatch and the per-entry checks.

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {

void Findings::Add(FindingKind kind, std::uint64_t seq, std::string where, std::string expected,
                   std::string found) {
  ++total;
  if (kept.size() < kFindingsKept) {
    kept.push_back(Finding{kind, seq, std::move(where), std::move(expected), std::move(found)});
  }
}

std::uint64_t RequestDigest(std::string_view request_key, std::uint64_t seq,
                            const Hash& fingerprint) {
  return absl::HashOf(
      absl::string_view(request_key.data(), request_key.size()), seq,
      absl::string_view(reinterpret_cast<const char*>(fingerprint.data()), fingerprint.size()));
}

std::uint64_t NextLineDigest(std::uint64_t digest, std::uint64_t seq, std::string_view line_bytes) {
  return absl::HashOf(digest, seq, absl::string_view(line_bytes.data(), line_bytes.size()));
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

void AddEarnedHours(std::string_view member, const Int128& delta, std::uint64_t seq, State& state) {
  v1::VolunteerRecord& record = state.volunteers[std::string(member)];
  const Int128 before = record.earned_hours_minor().empty()
                            ? Int128(0)
                            : *MinorFromString(record.earned_hours_minor());
  record.set_account(std::string(member));
  record.set_earned_hours_minor(Text(before + delta));
  record.set_changed_seq(seq);
}

void ReplayEntry(const v1::Entry& entry, const Hash& fingerprint, State& state,
                 Findings& findings) {
  const std::uint64_t seq = entry.seq();
  const v1::Command& command = entry.command();
  if (state.entries.size() < seq) state.entries.resize(seq);

  if (entry.time_unix_us() < state.time_unix_us) {
    findings.Add(FindingKind::kTimeWentBack, seq, "", Cat(">= ", state.time_unix_us),
                 Cat(entry.time_unix_us()));
  }
  state.time_unix_us = std::max(state.time_unix_us, entry.time_unix_us());
  AdvanceMonth(entry, state);
  // Authority, on the grants as they stood before this entry (authority.cc).
  if (std::string problem = AuthorityProblem(entry, state); !problem.empty()) {
    findings.Add(FindingKind::kActorNotAuthorized, seq, Cat("actor ", Excerpt(command.actor())),
                 "an unrevoked grant that permits this command on this target", std::move(problem));
  }
  if (std::string problem = ConsentProblem(entry, state); !problem.empty()) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "the member's consent the rules require",
                 std::move(problem));
  }

  // An expired hold is released before the engine decides anything later (releases of several
  // expired holds follow one another).
  if (!command.has_release_hold() && !state.open_holds.empty() &&
      state.open_holds.begin()->first <= entry.time_unix_us()) {
    findings.Add(
        FindingKind::kRuleViolated, seq, Cat("hold ", state.open_holds.begin()->second),
        Cat("released at its expiry ", state.open_holds.begin()->first, " before any later entry"),
        Cat("still open at entry time ", entry.time_unix_us()));
  }
  if (!command.has_expire_pending() && !command.has_release_hold() && !state.open_pending.empty() &&
      state.open_pending.begin()->first <= entry.time_unix_us()) {
    findings.Add(
        FindingKind::kRuleViolated, seq, Cat("pending ", state.open_pending.begin()->second),
        Cat("lapsed at its expiry ", state.open_pending.begin()->first, " before any later entry"),
        Cat("still pending at entry time ", entry.time_unix_us()));
  }
  // A service lapses the same way (after the releases and lapses of that instant).
  if (!command.has_expire_service() && !command.has_expire_pending() &&
      !command.has_release_hold() && !state.service_expiries.empty() &&
      state.service_expiries.begin()->first <= entry.time_unix_us()) {
    findings.Add(FindingKind::kRuleViolated, seq,
                 Cat("service ", state.service_expiries.begin()->second),
                 Cat("lapsed at its expiry ", state.service_expiries.begin()->first,
                     " before any later entry"),
                 Cat("still standing at entry time ", entry.time_unix_us()));
  }
  if (entry.has_award() && !command.has_award() && !command.has_approve()) {
    findings.Add(FindingKind::kRecordDiffers, seq, "award facts", "none on this kind of entry",
                 entry.award().ShortDebugString());
  }
  const SyntaxCheck syntax = CheckCommandSyntax(command);
  if (syntax.reason != Reason::kOk) {
    findings.Add(FindingKind::kCommandInvalid, seq, "", "a command the engine accepts",
                 Cat(ReasonName(syntax.reason), ": ", syntax.message));
  }
  const State::Request request{seq, fingerprint};
  // Request ids are each actor's own: unique per (actor, request id).
  std::string request_key = RequestKey(command.actor(), command.request_id());
  if (state.mode == State::Mode::kFast) {
    // A repeated 64-bit hash (FinishReplay looks) is a duplicate request id or (about 1 in 10^7
    // at 10^6 entries) a collision: the exact pass tells which.
    state.request_hashes.push_back(absl::HashOf(absl::string_view(request_key)));
    if (state.compare_store) {
      state.requests_digest += RequestDigest(request_key, seq, request.fingerprint);
    }
  } else if (auto [it, inserted] = state.requests.try_emplace(std::move(request_key), request);
             !inserted) {
    findings.Add(FindingKind::kRequestIdDuplicate, seq,
                 Cat("request ", command.request_id(), " of ", command.actor()),
                 "a request id used once per actor", Cat("also used by entry ", it->second.seq));
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
  std::string touched_text;  // its storage when no command field holds it
  if (syntax.reason != Reason::kOk) {
    // Reported above (kCommandInvalid): nothing the command implies can be judged, and its
    // fields may be out of any range the checks below assume (a scale of 40, found by
    // fuzz/entry_fuzz.cc).
    expectation.ok = false;
  } else {
    switch (command.body_case()) {
      case v1::Command::kEarn: {
        expectation = ExpectMove(command.earn(), v1::ACCOUNT_KIND_ISSUER, v1::ACCOUNT_KIND_MEMBER,
                                 false, seq, state, findings);
        bool needs_approval = false;
        if (auto threshold =
                state.approval_thresholds.find(ApprovalThresholdKey(command.earn().asset()));
            expectation.ok && command.earn().asset() != kHours &&
            threshold != state.approval_thresholds.end() &&
            threshold->second.amount_minor() != "0") {
          // The threshold is cumulative per issuer account, member, asset and programme day:
          // what was posted without approval plus this earning. Approved earnings do not count,
          // reversals give nothing back.
          std::string key = ApprovalUsageKey(command.earn().from(), command.earn().to(),
                                             command.earn().asset(), entry.time_unix_us());
          auto used = state.usage.find(key);
          const Int128 after = (used == state.usage.end() ? Int128(0) : used->second) +
                               expectation.postings[1].amount;
          needs_approval = after > *MinorFromString(threshold->second.amount_minor());
          if (!needs_approval) state.usage[std::move(key)] = after;
        }
        if (needs_approval) {
          // Above the approval threshold: pending, nothing posted until an Approve.
          v1::PendingRecord pending;
          pending.set_from(command.earn().from());
          pending.set_to(command.earn().to());
          pending.set_member(command.earn().to());
          pending.set_asset(command.earn().asset());
          pending.set_amount_minor(Text(expectation.postings[1].amount));
          NewPending(std::move(pending), entry, state);
          expectation.postings.clear();
          expectation.moves_value = false;
          touched = command.earn().to();
          break;
        }
        if (expectation.ok && command.earn().asset() == kHours && state.hours_cap &&
            state.hours_cap->maximum_minor() != "0") {
          // The storage cap: the member up to it, the rest to the donation pool.
          const Int128 amount = expectation.postings[1].amount;
          const Int128 maximum = *MinorFromString(state.hours_cap->maximum_minor());
          // ExpectMove found both accounts and the asset.
          const Int128 held(state.accounts.find(command.earn().to())
                                ->second.HeldMinor(state.assets.find(kHours)->first));
          const Int128 kept = std::min(amount, std::max(Int128(0), maximum - held));
          expectation.postings.pop_back();
          if (kept != 0) expectation.postings.push_back({command.earn().to(), kHours, kept});
          if (kept != amount) {
            expectation.postings.push_back(
                {state.hours_cap->pool_account(), kHours, amount - kept});
          }
          if (kept == 0) touched = command.earn().to();
        }
        break;
      }
      case v1::Command::kDeduct:
        expectation = ExpectMove(command.deduct(), v1::ACCOUNT_KIND_MEMBER, v1::ACCOUNT_KIND_ISSUER,
                                 false, seq, state, findings);
        break;
      case v1::Command::kRedeem:
        expectation = ExpectMove(command.redeem(), v1::ACCOUNT_KIND_MEMBER, v1::ACCOUNT_KIND_STORE,
                                 false, seq, state, findings);
        break;
      case v1::Command::kTransfer:
        expectation = ExpectTransfer(command.transfer(), seq, state, findings);
        break;
      case v1::Command::kSetAccountTags:
      case v1::Command::kSetAccountContact:
      case v1::Command::kSetFamily:
      case v1::Command::kSetTransferPolicy:
      case v1::Command::kSetAwardRule:
      case v1::Command::kSetApprovalThreshold:
      case v1::Command::kAward:
      case v1::Command::kApprove:
      case v1::Command::kReject:
      case v1::Command::kExpirePending:
        expectation = ExpectProgramme(entry, seq, state, findings, &touched_text);
        touched = touched_text;
        break;
      case v1::Command::kReceiveStock:
        expectation = ExpectMove(command.receive_stock(), v1::ACCOUNT_KIND_ISSUER,
                                 v1::ACCOUNT_KIND_STORE, true, seq, state, findings);
        break;
      case v1::Command::kWriteOffStock:
        expectation = ExpectMove(command.write_off_stock(), v1::ACCOUNT_KIND_STORE,
                                 v1::ACCOUNT_KIND_ISSUER, true, seq, state, findings);
        break;
      case v1::Command::kSettle:
        expectation = ExpectMove(command.settle(), v1::ACCOUNT_KIND_STORE, v1::ACCOUNT_KIND_ISSUER,
                                 false, seq, state, findings);
        break;
      case v1::Command::kCheckout:
        expectation = ExpectCheckout(entry, seq, state, findings);
        break;
      case v1::Command::kRefund:
        expectation = ExpectRefund(entry, seq, state, findings);
        break;
      case v1::Command::kAuthorizeHold:
        expectation = ExpectAuthorizeHold(entry, seq, state, findings);
        break;
      case v1::Command::kCaptureHold:
      case v1::Command::kVoidHold:
      case v1::Command::kReleaseHold:
        expectation = ExpectCloseHold(entry, seq, state, findings);
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
          // A reversed award gives its frequency back.
          if (auto key = state.award_usage_keys.find(target); key != state.award_usage_keys.end()) {
            GiveBackAward(key->second, state);
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
      case v1::Command::kSetBudget:
        expectation = ExpectAdmin(command, seq, state, findings);
        touched = command.set_budget().account();
        break;
      case v1::Command::kDefineAsset:
      case v1::Command::kGrantPrincipal:
      case v1::Command::kActivatePrincipal:
      case v1::Command::kRevokePrincipal:
      case v1::Command::kSetDevicePin:
      case v1::Command::kSetItem:
      case v1::Command::kSetExchangeRatio:
      case v1::Command::kSetLimit:
      case v1::Command::kSetHousehold:
      case v1::Command::kSetStarLevels:
      case v1::Command::kSetHoursCap:
      case v1::Command::kSetDailyHoursCap:
        expectation = ExpectAdmin(command, seq, state, findings);
        break;
      case v1::Command::kSetSetting:
        expectation = ExpectSetting(command, seq, state, findings);
        break;
      case v1::Command::kCosignHead:
        // No postings, no state but the latest of each witness; its signature, root and time
        // are the reader's to check (audit.cc), who holds the tree.
        // Each witness (principal and key) shown once, by the largest head it co-signed.
        if (Cosigned& latest =
                state.cosignatures[{command.actor(), command.cosign_head().witness_key()}];
            latest.seq == 0 || command.cosign_head().tree_size() >= latest.cosign.tree_size()) {
          latest = Cosigned{seq, command.actor(), command.cosign_head()};
        }
        break;
      case v1::Command::kPostService:
      case v1::Command::kAcceptService:
      case v1::Command::kCompleteService:
      case v1::Command::kConfirmService:
      case v1::Command::kCancelService:
      case v1::Command::kDisputeService:
      case v1::Command::kResolveService:
      case v1::Command::kExpireService:
        expectation = ExpectService(entry, seq, state, findings, &touched_text);
        touched = touched_text;
        break;
      case v1::Command::BODY_NOT_SET:
        break;  // reported as kCommandInvalid above
    }
  }
  const std::size_t recorded_digest = PostingsDigest(recorded);
  if (expectation.ok && command.body_case() != v1::Command::kReverse &&
      PostingsDigest(expectation.postings) != recorded_digest) {
    findings.Add(FindingKind::kPostingsMismatch, seq, "",
                 Cat(expectation.postings.size(), " postings implied by the command"),
                 Cat(recorded.size(), " recorded postings that differ"));
  }
  state.entries[seq - 1].moves_value = expectation.moves_value;
  if (expectation.ok) RecordOwner(entry, state);  // refunds name captured holds too
  // Cumulative earned hours (star levels): an Earn of HOURS adds, the reversal of one takes
  // back what it credited; nothing else changes them.
  auto add_earned = [&](std::string_view member, const Int128& delta) {
    AddEarnedHours(member, delta, seq, state);
  };
  if (expectation.ok && command.has_earn() && command.earn().asset() == kHours) {
    state.entries[seq - 1].earned_hours = true;
    add_earned(command.earn().to(), -expectation.postings[0].amount);  // all it earned
    const std::string day = ServiceDay(command.earn(), entry.time_unix_us());
    if (state.daily_cap && state.daily_cap->maximum_minor() != "0") {
      const std::string key = ServiceDayKey(command.earn().to(), day);
      Int128& used = state.usage[key];
      used -= expectation.postings[0].amount;
      if (used > *MinorFromString(state.daily_cap->maximum_minor())) {
        findings.Add(FindingKind::kRuleViolated, seq, ShowKey(key),
                     Cat("at most ", state.daily_cap->maximum_minor(), " HOURS minor a day"),
                     Text(used));
      }
    }
    state.earn_days[seq] = day;
    if (std::none_of(expectation.postings.begin(), expectation.postings.end(),
                     [&](const PostingView& p) { return p.account == command.earn().to(); })) {
      state.pool_only_earns[seq] = command.earn().to();
    }
  } else if (expectation.ok && command.has_reverse() &&
             state.entries[command.reverse().seq() - 1].earned_hours) {
    // The member: the MEMBER account the reversal takes hours from, or (an earning that went
    // wholly to the pool) the one remembered; the amount: all the earning credited.
    std::string member;
    Int128 earned = 0;
    for (const PostingView& posting : recorded) {
      if (posting.amount > 0) earned += posting.amount;
      auto account = state.accounts.find(Absl(posting.account));
      if (posting.amount < 0 && account != state.accounts.end() &&
          account->second.record.kind() == v1::ACCOUNT_KIND_MEMBER) {
        member = std::string(posting.account);
      }
    }
    if (auto pool_only = state.pool_only_earns.find(command.reverse().seq());
        pool_only != state.pool_only_earns.end()) {
      member = pool_only->second;
    }
    if (!member.empty()) {
      add_earned(member, -earned);
      // The day's recorded hours under the daily cap give it back (never below zero).
      auto day = state.earn_days.find(command.reverse().seq());
      if (day != state.earn_days.end()) {
        auto used = state.usage.find(ServiceDayKey(member, day->second));
        if (used != state.usage.end() && used->second != 0) {
          used->second = used->second > earned ? used->second - earned : Int128(0);
        }
      }
    }
  }
  if (expectation.ok && command.body_case() != v1::Command::kTransfer) {
    AddStoreMonth(entry, state);
    AddProgrammeMonth(entry, recorded, state);
  }
  if (command.body_case() != v1::Command::kTransfer && !recorded.empty()) {
    const std::string& kind =
        v1::Command::descriptor()->FindFieldByNumber(command.body_case())->name();
    for (const PostingView& posting : recorded) {
      if (posting.amount > 0) {
        state.flows[{std::string(posting.asset), kind}] +=
            boost::multiprecision::cpp_int(posting.amount);
      }
    }
  }
  state.entries[seq - 1].postings_digest = recorded_digest;

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
  // One statement line per account touched, its legs in posting order.
  absl::InlinedVector<std::pair<std::string_view, std::string>, 2> lines;
  auto line_of = [&lines](std::string_view account) -> std::string& {
    for (auto& line : lines) {
      if (line.first == account) return line.second;
    }
    return lines.emplace_back(account, std::string()).second;
  };
  if (!touched.empty()) line_of(touched);
  Int128 owed_hours = 0;
  Int128 owed_points = 0;
  for (const PostingView& posting : recorded) {
    State::Account* account = FindAccount(state, posting.account);
    auto asset = state.assets.find(posting.asset);
    if (account == nullptr || asset == state.assets.end()) {
      findings.Add(FindingKind::kRuleViolated, seq, Cat(posting.account, "/", posting.asset),
                   "a posting to an open account in a defined asset", "unknown account or asset");
      continue;
    }
    State::Account::Held& held = account->BalanceOf(asset->first);
    const Int128 minor = Int128(held.minor) + posting.amount;
    held.minor = static_cast<RawInt128>(minor);
    held.seq = seq;
    const v1::AccountKind kind = account->kind;
    if (kind == v1::ACCOUNT_KIND_MEMBER) {
      if (posting.asset == kHours) owed_hours += posting.amount;
      if (posting.asset == kPoints) owed_points += posting.amount;
    }
    Int128 floor = 0;
    if (kind == v1::ACCOUNT_KIND_ISSUER && asset->second.record.stock()) {
      floor = -asset->second.maximum_minor;  // donated goods: no budget limits them
    } else if (kind == v1::ACCOUNT_KIND_ISSUER) {
      auto budget = account->budgets_minor.find(posting.asset);
      floor = budget == account->budgets_minor.end() ? Int128(0) : Int128(-budget->second);
    }
    if ((posting.amount < 0 && minor < floor) ||
        (posting.amount > 0 && minor > asset->second.maximum_minor)) {
      findings.Add(FindingKind::kBalanceLimit, seq, Cat(posting.account, "/", posting.asset),
                   Cat("between ", Text(floor), " and ", Text(asset->second.maximum_minor)),
                   Text(minor));
    }
    if (state.compare_store) {
      // Exact mode keeps the lines as text to name a difference; fast mode digests them as
      // the bytes the store holds (NextLineDigest).
      (state.mode == State::Mode::kExact ? AppendLegText : AppendStatementLeg)(
          &line_of(posting.account), posting.asset, Text(posting.amount), Text(minor));
    }
  }
  AddOwed(owed_hours, owed_points, state);
  if (!state.compare_store) return;
  for (auto& [account, text] : lines) {
    if (state.mode == State::Mode::kExact) {
      state.statement_lines[std::string(account)].emplace_back(seq, std::move(text));
    } else if (State::Account* found = FindAccount(state, account); found != nullptr) {
      found->lines_digest = NextLineDigest(found->lines_digest, seq, text);
      ++found->lines_count;
    } else {
      state.needs_exact = true;  // a line for an account that does not exist: name it exactly
    }
  }
}

}  // namespace lovebank::audit
