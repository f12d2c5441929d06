// Movements of value: the engine's side of ledger/rules/moves.h (earn, deduct, redeem, transfer,
// settle, stock; reversals) — usage counters, hours served, reversed keys — and the engine's own
// primitives: FindEntry, IsReversed, MarkReversed, and Append, which writes an entry.

#include "ledger/rules/moves.h"

#include "ledger/engine/engine_internal.h"
#include "ledger/rules/authority.h"

namespace lovebank {

Outcome Engine::ApplyMove(const v1::Command& command, const std::string& fingerprint,
                          const v1::Move& move, v1::AccountKind from_kind, v1::AccountKind to_kind,
                          bool stock) {
  if (command.has_redeem()) {
    if (auto refused =
            CheckConsent(command, fingerprint, move.from(), move.consent(), NextEntryTime())) {
      return std::move(*refused);
    }
  } else if (command.has_transfer()) {
    // A device with a PIN gives nothing away without a code made with it: its own code.
    const v1::PrincipalRecord* actor = ActorPrincipal(command);
    const bool pin = actor != nullptr && !actor->pin_key_wrapped().empty();
    if (!move.consent().device().empty() && move.consent().device() != command.actor()) {
      return Refuse(command, fingerprint, Reason::kPaymentCodeInvalid,
                    "payment code: a transfer's code is the asking device's own");
    }
    if (auto refused = rules::CheckConsent(
            pin, move.from(), move.consent(), principals_.Find(move.consent().device()),
            NextEntryTime(), Cat(command.actor(), " has a PIN: its transfers need its code"))) {
      return RefuseWith(command, fingerprint, std::move(*refused));
    }
  } else if (move.has_consent()) {
    return Refuse(command, fingerprint, Reason::kPaymentCodeInvalid,
                  "a payment code goes with a Redeem, a Transfer, a Checkout or an AuthorizeHold");
  }
  auto checked =
      Decided(command, fingerprint, rules::CheckMove(move, from_kind, to_kind, stock, *context_));
  if (!checked.ok()) return std::move(checked).outcome();
  const Int128 amount = *checked;
  const bool earns_hours = command.has_earn() && move.asset() == kHoursAsset;
  rules::EarnApproval approval;
  if (command.has_earn()) {
    auto decided = Decided(command, fingerprint, rules::CheckEarnApproval(move, amount, *context_));
    if (!decided.ok()) return std::move(decided).outcome();
    approval = std::move(*decided);
  }
  if (approval.pending) {
    v1::PendingRecord pending;
    pending.set_from(move.from());
    pending.set_to(move.to());
    pending.set_member(move.to());
    pending.set_asset(move.asset());
    pending.set_amount_minor(MinorToString(amount));
    return MakePending(command, fingerprint, std::move(pending), nullptr);
  }
  std::optional<std::pair<std::string, Int128>> day_usage;
  if (earns_hours && settings_.contains(meta_key::kDailyHoursCap)) {
    auto day = CheckDailyHours(command, fingerprint, amount);
    if (!day.ok()) return std::move(day).outcome();
    day_usage = std::move(*day);
  }
  const bool capped = earns_hours && settings_.contains(meta_key::kHoursCap);
  const std::vector<ResolvedPosting> postings =
      capped ? CappedEarn(move, amount)
             : std::vector<ResolvedPosting>{{move.from(), move.asset(), -amount},
                                            {move.to(), move.asset(), amount}};
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  // A member whose whole earning went to the pool still gets the statement line.
  Outcome outcome = Append(command, fingerprint, postings,
                           capped && postings.size() == 2 && postings[1].account != move.to()
                               ? std::vector<std::string>{move.to()}
                               : std::vector<std::string>{});
  if (earns_hours) {
    AddEarnedHours(move.to(), amount, outcome.receipt.seq);
  }
  if (day_usage) usage_.Set(day_usage->first, std::move(day_usage->second));
  if (approval.usage) usage_.Set(approval.usage->first, std::move(approval.usage->second));
  if (command.has_redeem() || command.has_transfer()) SpendConsent(move.consent());
  return outcome;
}

Outcome Engine::ApplyReverse(const v1::Command& command, const std::string& fingerprint) {
  const std::uint64_t target = command.reverse().seq();
  if (target == 0 || target > head_.seq) {
    return Refuse(command, fingerprint, Reason::kEntryUnknown, Cat("no entry ", target));
  }
  OrOutcome<BatchEntry> entry = FindEntry(target);
  if (!entry.ok()) return std::move(entry).outcome();
  if (auto refused = CheckMayUndo(command, fingerprint, target, *entry)) return std::move(*refused);
  if (auto refused = rules::CheckReversal(target, entry->kind, entry->postings,
                                          entry->checkout.get(), *context_)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  // Frozen accounts take part: a correction must stay possible while an account is frozen for
  // investigation. Floors and budgets still hold.
  const std::vector<ResolvedPosting> postings = rules::ReversePostings(entry->postings);
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  // A reversed earning of hours takes back all it earned (the part a cap sent to the donation
  // pool included) from the member's hours served, and gives its day's recorded hours back under
  // the daily cap (never below zero: the cap may be newer than the earning).
  Int128 earned = 0;
  std::string day_key;
  std::optional<Int128> day_used;
  if (!entry->earned_hours_by.empty()) {
    for (const auto& posting : entry->postings) {
      if (posting.amount_minor()[0] != '-') earned += *MinorFromString(posting.amount_minor());
    }
    day_key = ServiceDayKey(entry->earned_hours_by, entry->earned_day);
    OrOutcome<Int128> used = Used(day_key);
    if (!used.ok()) return std::move(used).outcome();
    if (*used != 0) day_used = *used > earned ? *used - earned : Int128(0);
  }
  if (!entry->award_usage_key.empty()) {
    // A reversed award no longer uses up its rule's frequency: it may be awarded again.
    if (auto failure = GiveBackAward(entry->award_usage_key)) return std::move(*failure);
  }
  Outcome outcome = Append(command, fingerprint, postings, {});
  if (outcome.ok()) MarkReversed(EncodeFixed64BE(target), outcome.receipt.seq);
  if (!entry->earned_hours_by.empty()) {
    AddEarnedHours(entry->earned_hours_by, -earned, outcome.receipt.seq);
  }
  if (day_used) usage_.Set(day_key, std::move(*day_used));
  return outcome;
}

OrOutcome<Engine::BatchEntry> Engine::FindEntry(std::uint64_t seq) {
  // In flight: the payload kept by Append (decoded here, on the rare path that needs it, rather
  // than for every entry); committed: the journal.
  std::string_view payload;
  for (const Batch& batch : batches_) {
    if (auto it = batch.entries.find(seq); it != batch.entries.end()) payload = it->second;
  }
  absl::StatusOr<std::optional<std::string>> stored;
  if (payload.empty()) {
    stored = store_->Get(Family::kJournal, EncodeFixed64BE(seq));
    std::optional<StoredEntryView> view;
    if (stored.ok() && stored->has_value()) view = DecodeStoredEntry(**stored);
    if (view) payload = view->payload;
  }
  auto decoded = std::make_shared<v1::Entry>();
  if (payload.empty() ||
      !decoded->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Unavailable(Cat("journal entry ", seq, " cannot be read"));
  }
  BatchEntry entry;
  entry.kind = decoded->command().body_case();
  entry.postings.assign(decoded->postings().begin(), decoded->postings().end());
  if (entry.kind == v1::Command::kEarn && decoded->command().earn().asset() == kHoursAsset) {
    entry.earned_hours_by = decoded->command().earn().to();
    entry.earned_day = ServiceDay(decoded->command().earn(), decoded->time_unix_us());
  }
  if (decoded->has_award() && !decoded->award().period().empty()) {
    entry.award_usage_key = AwardUsageKey(decoded->award().member(), decoded->award().rule(),
                                          decoded->award().period());
  }
  if (entry.kind == v1::Command::kCheckout || entry.kind == v1::Command::kCaptureHold) {
    entry.checkout = std::move(decoded);
  }
  return entry;
}

OrOutcome<bool> Engine::IsReversed(const std::string& key) {
  for (const Batch& batch : batches_) {
    if (batch.reversed.contains(key)) return true;
  }
  auto stored = store_->Get(Family::kReversed, key);
  if (!stored.ok()) return Unavailable(std::string(stored.status().message()));
  return stored->has_value();
}

void Engine::MarkReversed(std::string key, std::uint64_t by_seq) {
  Stage(Family::kReversed, key, EncodeFixed64BE(by_seq));
  if (mark_) mark_->reversed.push_back(key);
  open().reversed.insert(std::move(key));
}

Outcome Engine::CheckLimits(const std::vector<ResolvedPosting>& postings) {
  Outcome outcome;
  if (auto refused = rules::CheckLimits(postings, *context_)) {
    outcome.reason = refused->reason;
    outcome.message = std::move(refused->message);
  }
  return outcome;
}

Outcome Engine::Append(const v1::Command& command, const std::string& fingerprint,
                       const std::vector<ResolvedPosting>& postings,
                       const std::vector<std::string>& touched, const v1::Pricing* pricing,
                       std::optional<std::int64_t> at, const v1::AwardFacts* award) {
  const std::uint64_t seq = head_.seq + 1;
  const std::int64_t time = at.value_or(NextEntryTime());
  // The entry and its statement lines are encoded directly (EncodeEntryPayload,
  // AppendStatementLeg): no message objects, and the command embedded as the serialization its
  // fingerprint was made from when the caller of Apply gave it.
  absl::InlinedVector<std::string, 2> amounts;
  absl::InlinedVector<PostingText, 2> posting_texts;
  amounts.reserve(postings.size());
  for (const auto& posting : postings) amounts.push_back(MinorToString(posting.delta));
  for (std::size_t i = 0; i < postings.size(); ++i) {
    posting_texts.push_back({postings[i].account, postings[i].asset, amounts[i]});
  }
  const bool given = serialized_command_ == &command;
  const std::string own_bytes = given ? std::string() : SerializeCommand(command);
  std::string payload =
      EncodeEntryPayload(seq, time, given ? serialized_ : own_bytes, posting_texts, pricing, award);
  const Hash hash = ChainHash(head_.hash, seq, payload);
  Stage(Family::kJournal, EncodeFixed64BE(seq), EncodeStoredEntry(hash, head_.hash, payload));
  Stage(Family::kRequests, RequestKey(command.actor(), command.request_id()),
        EncodeRequestValue(seq, fingerprint));

  Outcome outcome;
  outcome.receipt.seq = seq;
  outcome.receipt.hash = hash;
  outcome.receipt.time_unix_us = time;
  outcome.decided_at_seq = seq;
  if (pricing != nullptr) outcome.receipt.pricing = std::make_shared<const v1::Pricing>(*pricing);
  outcome.receipt.to_pool_minor = ToPool(command, posting_texts);
  if (award != nullptr || command.has_earn()) {
    const AssetState* award_asset = award != nullptr ? FindAsset(award->asset()) : nullptr;
    FillPendingAndAward(command, postings.size(), time, award,
                        award_asset != nullptr ? award_asset->scale : 0, &outcome.receipt);
  }
  // One statement line per account; postings of one account stay together in entry order.
  absl::InlinedVector<std::pair<std::string_view, std::string>, 2> lines;
  auto line_of = [&lines](std::string_view account) -> std::string& {
    for (auto& [name, line] : lines) {
      if (name == account) return line;
    }
    return lines.emplace_back(account, std::string()).second;
  };
  for (const auto& account : touched) line_of(account);
  absl::InlinedVector<std::pair<std::string_view, Int128>, 2> sums;  // per asset
  for (std::size_t i = 0; i < postings.size(); ++i) {
    const ResolvedPosting& posting = postings[i];
    const std::string key = BalanceKey(posting.account, posting.asset);
    BalanceState balance = BalanceAt(key);
    balance.minor += posting.delta;
    balance.seq = seq;
    auto sum = std::find_if(sums.begin(), sums.end(),
                            [&](const auto& item) { return item.first == posting.asset; });
    if (sum == sums.end()) {
      sums.emplace_back(posting.asset, posting.delta);
    } else {
      sum->second += posting.delta;
    }
    balances_.Set(key, balance);
    AppendStatementLeg(&line_of(posting.account), posting.asset, amounts[i],
                       MinorToString(balance.minor));
    outcome.receipt.balances_after.push_back(
        BalanceLine{posting.account, posting.asset, Amount::FromMinor(balance.minor),
                    Decimal(balance.minor, posting.asset), seq});
  }
  // Double entry (invariant 1): the engine builds only balanced pairs of legs per asset, so
  // every asset's total must be zero.
  for (const auto& [asset, sum] : sums) LOVEBANK_CHECK(sum == 0);
  for (const auto& [account, line] : lines) {
    Stage(Family::kAccountEntries, AccountEntryKey(account, seq), line);
  }
  open().entries.emplace(seq, std::move(payload));
  head_ = Head{seq, hash};
  head_time_unix_us_ = time;
  return outcome;
}

}  // namespace lovebank
