// Movements of value: earn, deduct, redeem, transfer, settle, stock; reversals; the floors,
// budgets and maxima every posting must respect (CheckLimits); and Append, which writes an entry.

#include "ledger/rules/moves.h"

#include "ledger/engine/engine_internal.h"

namespace lovebank {

Outcome Engine::ApplyMove(const v1::Command& command, const std::string& fingerprint,
                          const v1::Move& move, v1::AccountKind from_kind, v1::AccountKind to_kind,
                          bool stock) {
  const AssetState* asset = FindAsset(move.asset());
  if (asset == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, Cat("no asset ", move.asset()));
  }
  if (asset->record.stock() != stock) {
    return stock ? Refuse(command, fingerprint, Reason::kAssetNotStock,
                          Cat(move.asset(), " is not an item's stock"))
                 : Refuse(command, fingerprint, Reason::kAssetIsStock,
                          Cat(move.asset(),
                              " is goods: they move by stock commands, "
                              "checkouts and refunds"));
  }
  AmountParse amount = ParseAmount(move.amount(), asset->scale, asset->maximum_minor);
  if (!amount.ok()) {
    return Refuse(command, fingerprint, amount.reason,
                  Cat("amount ", Excerpt(move.amount()), ": ", ReasonName(amount.reason)));
  }
  if (amount.amount.is_zero()) {
    return Refuse(command, fingerprint, Reason::kAmountZero, "the amount is zero");
  }
  const AccountState* from = FindAccount(move.from());
  if (from == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", move.from()));
  }
  const AccountState* to = FindAccount(move.to());
  if (to == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", move.to()));
  }
  if (from->record.kind() != from_kind || to->record.kind() != to_kind) {
    return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                  Cat("this moves value from a ", KindName(from_kind), " to a ", KindName(to_kind),
                      " account; ", move.from(), " is ", KindName(from->record.kind()), ", ",
                      move.to(), " is ", KindName(to->record.kind())));
  }
  for (const AccountState* account : {from, to}) {
    if (account->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
      return Refuse(command, fingerprint, Reason::kAccountFrozen,
                    Cat("account ", account->record.account(), " is frozen"));
    }
  }
  const bool earns_hours = command.has_earn() && move.asset() == kHoursAsset;
  // The approval threshold is cumulative: what one issuer account posts to one member in one
  // programme day (Asia/Shanghai) without approval stays at or under it, so splitting an
  // earning (5 x 100 under a threshold of 100) sends the part above it to approval. Approved
  // earnings do not count (a checker saw them); a reversal gives nothing back (the safe side).
  // HOURS have no threshold: the daily hours cap, per member and day across all issuers,
  // guards them.
  std::optional<std::pair<std::string, Int128>> approval_usage;
  std::optional<Int128> threshold;
  if (command.has_earn() && !earns_hours && (threshold = ApprovalThreshold(move.asset()))) {
    std::string key = ApprovalUsageKey(move.from(), move.to(), move.asset(), NextEntryTime());
    OrOutcome<Int128> used = Used(key);
    if (!used.ok()) return std::move(used).outcome();
    if (*used + amount.amount.minor() <= *threshold) {
      approval_usage.emplace(std::move(key), *used + amount.amount.minor());
    }
  }
  if (threshold && !approval_usage) {
    v1::PendingRecord pending;
    pending.set_from(move.from());
    pending.set_to(move.to());
    pending.set_member(move.to());
    pending.set_asset(move.asset());
    pending.set_amount_minor(MinorToString(amount.amount.minor()));
    return MakePending(command, fingerprint, std::move(pending), nullptr);
  }
  std::optional<std::pair<std::string, Int128>> day_usage;
  if (earns_hours && settings_.contains(meta_key::kDailyHoursCap)) {
    auto checked = CheckDailyHours(command, fingerprint, amount.amount.minor());
    if (!checked.ok()) return std::move(checked).outcome();
    day_usage = std::move(*checked);
  }
  const bool capped = earns_hours && settings_.contains(meta_key::kHoursCap);
  const std::vector<ResolvedPosting> postings =
      capped ? CappedEarn(move, amount.amount.minor())
             : std::vector<ResolvedPosting>{{move.from(), move.asset(), -amount.amount.minor()},
                                            {move.to(), move.asset(), amount.amount.minor()}};
  Outcome limits = CheckLimits(postings);
  if (!limits.ok()) return Refuse(command, fingerprint, limits.reason, limits.message);
  // A member whose whole earning went to the pool still gets the statement line.
  Outcome outcome = Append(command, fingerprint, postings,
                           capped && postings.size() == 2 && postings[1].account != move.to()
                               ? std::vector<std::string>{move.to()}
                               : std::vector<std::string>{});
  if (earns_hours) {
    AddEarnedHours(move.to(), amount.amount.minor(), outcome.receipt.seq);
  }
  if (day_usage) usage_.Set(day_usage->first, std::move(day_usage->second));
  if (approval_usage) usage_.Set(approval_usage->first, std::move(approval_usage->second));
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
  if (!IsReversible(entry->kind)) {
    return Refuse(command, fingerprint, Reason::kEntryNotReversible,
                  Cat("entry ", target, " moves no value or is itself a reversal or refund"));
  }
  if (entry->postings.empty()) {
    return Refuse(command, fingerprint, Reason::kEntryNotReversible,
                  Cat("entry ", target,
                      " moved nothing: it waited for approval (reject it "
                      "while pending; reverse its Approve once approved)"));
  }
  OrOutcome<bool> reversed = IsReversed(EncodeFixed64BE(target));
  if (!reversed.ok()) return std::move(reversed).outcome();
  if (*reversed) {
    return Refuse(command, fingerprint, Reason::kEntryAlreadyReversed,
                  Cat("entry ", target, " was reversed already"));
  }
  if (entry->checkout) {
    for (const auto& line : entry->checkout->pricing().lines()) {
      OrOutcome<bool> refunded = IsReversed(RefundedLineKey(target, line.sku()));
      if (!refunded.ok()) return std::move(refunded).outcome();
      if (*refunded) {
        return Refuse(command, fingerprint, Reason::kEntryAlreadyReversed,
                      Cat("line ", line.sku(), " of checkout ", target,
                          " was refunded: refund the other lines instead"));
      }
    }
  }
  // Frozen accounts take part: a correction must stay possible while an account is frozen for
  // investigation. Floors and budgets still hold.
  std::vector<ResolvedPosting> postings;
  for (const auto& posting : entry->postings) {
    auto minor = MinorFromString(posting.amount_minor());
    LOVEBANK_CHECK(minor.has_value());
    postings.push_back({posting.account(), posting.asset(), -*minor});
  }
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
