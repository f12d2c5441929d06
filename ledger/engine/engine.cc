#include "ledger/engine/engine.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <span>

#include "absl/container/inlined_vector.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"

namespace lovebank {
namespace {

const char* KindName(v1::AccountKind kind) {
  switch (kind) {
    case v1::ACCOUNT_KIND_MEMBER:
      return "MEMBER";
    case v1::ACCOUNT_KIND_STORE:
      return "STORE";
    case v1::ACCOUNT_KIND_ISSUER:
      return "ISSUER";
    case v1::ACCOUNT_KIND_SYSTEM:
      return "SYSTEM";
    default:
      return "UNSPECIFIED";
  }
}

// Entries a Reverse may undo: every movement of value except reversals and refunds.
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

template <class Record>
absl::Status LoadRecords(Store* store, Family family, std::string_view what,
                         absl::flat_hash_map<std::string, Record>& into) {
  auto it = store->NewIterator(family);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Record record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(Cat(what, " record ", it->key().ToString(), " does not decode"));
    }
    into.emplace(it->key().ToString(), std::move(record));
  }
  return FromRocks(it->status(), Cat("loading ", what));
}

absl::StatusOr<AssetState> DecodeAsset(std::string_view value) {
  AssetState asset;
  if (!asset.record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError("asset record does not decode");
  }
  auto maximum = MinorFromString(asset.record.maximum_minor());
  if (!maximum || asset.record.scale() > kScaleMax) {
    return absl::DataLossError(Cat("asset record ", asset.record.code(), " is invalid"));
  }
  asset.scale = asset.record.scale();
  asset.maximum_minor = *maximum;
  return asset;
}

// An Earn of HOURS past the storage cap: what its entry credited to the donation pool.
Int128 ToPool(const v1::Command& command, std::span<const PostingText> postings) {
  if (!command.has_earn() || command.earn().asset() != kHoursAsset) return 0;
  for (const PostingText& posting : postings) {
    if (posting.account != command.earn().to() && !posting.amount_minor.starts_with('-')) {
      return *MinorFromString(posting.amount_minor);
    }
  }
  return 0;
}

// An Award or an Earn that moved nothing waits for approval; an award's amount is its facts'.
void FillPendingAndAward(const v1::Command& command, std::size_t postings,
                         std::int64_t time_unix_us, const v1::AwardFacts* award,
                         std::uint32_t award_scale, Receipt* receipt) {
  if ((command.has_award() || command.has_earn()) && postings == 0) {
    receipt->pending_expires_unix_us = time_unix_us + kPendingLifetimeMicros;
  }
  if (award != nullptr) {
    receipt->award_minor = *MinorFromString(award->amount_minor());
    receipt->award_decimal = FormatAmount(Amount::FromMinor(receipt->award_minor), award_scale);
  }
}

std::vector<PostingText> PostingTexts(const v1::Entry& entry) {
  std::vector<PostingText> postings;
  postings.reserve(entry.postings_size());
  for (const auto& posting : entry.postings()) {
    postings.push_back({posting.account(), posting.asset(), posting.amount_minor()});
  }
  return postings;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Load(Store* store, Head head,
                                                     std::int64_t head_time_unix_us,
                                                     std::function<std::int64_t()> clock) {
  auto engine =
      std::unique_ptr<Engine>(new Engine(store, head, head_time_unix_us, std::move(clock)));
  {
    auto it = store->NewIterator(Family::kAssets);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      LOVEBANK_ASSIGN_OR_RETURN(AssetState asset, DecodeAsset(it->value().ToStringView()));
      engine->assets_.emplace(it->key().ToString(), std::move(asset));
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading assets"));
  }
  {
    auto it = store->NewIterator(Family::kAccounts);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      AccountState account;
      if (!account.record.ParseFromArray(it->value().data(),
                                         static_cast<int>(it->value().size()))) {
        return absl::DataLossError(
            Cat("account record ", it->key().ToString(), " does not decode"));
      }
      for (const auto& budget : account.record.budgets()) {
        const AssetState* asset = engine->FindAsset(budget.asset());
        if (asset == nullptr) return absl::DataLossError("budget for an unknown asset");
        AmountParse parsed = ParseAmount(budget.amount(), asset->scale, asset->maximum_minor);
        if (!parsed.ok()) return absl::DataLossError("budget does not parse");
        account.budgets_minor[budget.asset()] = parsed.amount.minor();
      }
      engine->accounts_.emplace(it->key().ToString(), std::move(account));
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading accounts"));
  }
  {
    auto it = store->NewIterator(Family::kBalances);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto value = DecodeBalanceValue(it->value().ToStringView());
      if (!value) return absl::DataLossError("balance record does not decode");
      engine->balances_.emplace(it->key().ToString(), BalanceState{value->minor, value->seq});
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading balances"));
  }
  {
    // Every request id ever recorded, accepted or refused, into the filter Replay asks first.
    std::uint64_t estimate = 0;
    for (Family family : {Family::kRequests, Family::kRefusals}) {
      std::uint64_t keys = 0;
      if (store->db()->GetIntProperty(store->handle(family), "rocksdb.estimate-num-keys", &keys)) {
        estimate += keys;
      }
    }
    // A quarter of headroom: later ids go to a filter four times larger
    // (ledger/storage/id_filter.h).
    engine->request_ids_ = IdFilter(static_cast<std::size_t>(estimate + estimate / 4));
    for (Family family : {Family::kRequests, Family::kRefusals}) {
      auto it = store->NewIterator(family);
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        engine->request_ids_.Add(it->key().ToStringView());
      }
      LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading request ids"));
    }
  }
  LOVEBANK_RETURN_IF_ERROR(
      LoadRecords(store, Family::kPrincipals, "principal", engine->principals_));
  for (const auto& [name, record] : engine->principals_) {
    engine->token_hashes_.insert(record.token_sha256());
  }
  LOVEBANK_RETURN_IF_ERROR(LoadRecords(store, Family::kItems, "item", engine->items_));
  LOVEBANK_RETURN_IF_ERROR(LoadRecords(store, Family::kLimits, "limit", engine->limits_));
  LOVEBANK_RETURN_IF_ERROR(
      LoadRecords(store, Family::kVolunteers, "volunteer", engine->volunteers_));
  {
    auto it = store->NewIterator(Family::kHouseholds);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      engine->households_.emplace(it->key().ToString(), it->value().ToString());
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading households"));
  }
  {
    // Open holds only: a closed one is read from the store when a refund needs it.
    auto it = store->NewIterator(Family::kHolds);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::HoldRecord hold;
      if (!hold.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError(Cat("hold ", it->key().ToString(), " does not decode"));
      }
      if (hold.state() == v1::HOLD_STATE_OPEN) {
        engine->holds_.emplace(it->key().ToString(), std::move(hold));
      }
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading holds"));
    engine->RebuildHoldExpiries();
  }
  {
    // Keyed programme rules (meta, by prefix) and every pending record: all kept in memory.
    auto it = store->NewIterator(Family::kMeta);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!IsProgrammeRuleKey(it->key().ToStringView())) continue;
      engine->records_.emplace(
          std::string(1, static_cast<char>(Family::kMeta)) + it->key().ToString(),
          it->value().ToString());
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading programme rules"));
    it = store->NewIterator(Family::kPending);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::PendingRecord pending;
      if (!pending.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
        return absl::DataLossError("pending record does not decode");
      }
      engine->records_.emplace(
          std::string(1, static_cast<char>(Family::kPending)) + it->key().ToString(),
          it->value().ToString());
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading pending records"));
    engine->RebuildPendingExpiries();
  }
  LOVEBANK_ASSIGN_OR_RETURN(auto cap, store->Get(Family::kMeta, meta_key::kHoursCap));
  if (cap.has_value()) {
    v1::HoursCap record;
    if (!record.ParseFromString(*cap)) return absl::DataLossError("hours cap does not decode");
    engine->hours_caps_.emplace(std::string(meta_key::kHoursCap), std::move(record));
  }
  LOVEBANK_ASSIGN_OR_RETURN(auto daily, store->Get(Family::kMeta, meta_key::kDailyHoursCap));
  if (daily.has_value()) {
    v1::DailyHoursCap record;
    if (!record.ParseFromString(*daily)) return absl::DataLossError("daily cap does not decode");
    engine->daily_caps_.emplace(std::string(meta_key::kDailyHoursCap), std::move(record));
  }
  LOVEBANK_ASSIGN_OR_RETURN(auto policy, store->Get(Family::kMeta, meta_key::kExchangePolicy));
  if (policy.has_value()) {
    v1::ExchangePolicy record;
    if (!record.ParseFromString(*policy)) {
      return absl::DataLossError("exchange policy record does not decode");
    }
    engine->policies_.emplace(std::string(meta_key::kExchangePolicy), std::move(record));
  }
  return engine;
}

Engine::Engine(Store* store, Head head, std::int64_t head_time_unix_us,
               std::function<std::int64_t()> clock)
    : store_(store), clock_(std::move(clock)), head_(head), head_time_unix_us_(head_time_unix_us) {}

void Engine::BeginBatch(std::size_t expected_commands) {
  LOVEBANK_CHECK(!batch_open_);
  batch_open_ = true;
  Batch& batch = batches_.emplace_back();
  batch.requests.reserve(expected_commands);
  batch.entries.reserve(expected_commands);
  // Room for a transfer's usual records: journal entry, request id, two statement lines.
  auto staged = [&batch](Family family) -> StagedPuts& {
    return batch.staged[static_cast<std::size_t>(family)];
  };
  staged(Family::kJournal).Reserve(expected_commands, 256 * expected_commands);
  staged(Family::kRequests).Reserve(expected_commands, 96 * expected_commands);
  staged(Family::kAccountEntries).Reserve(2 * expected_commands, 128 * expected_commands);
  batch.start_head = head_;
  batch.start_time_unix_us = head_time_unix_us_;
}

Outcome Engine::Apply(const v1::Command& command, const std::string& fingerprint,
                      std::string_view serialized) {
  LOVEBANK_CHECK(batch_open_);
  LOVEBANK_DCHECK(CheckCommandSyntax(command).reason == Reason::kOk);
  LOVEBANK_DCHECK(serialized.empty() || serialized == SerializeCommand(command));
  std::optional<Outcome> earlier = Replay(command, fingerprint);
  if (earlier.has_value()) return std::move(*earlier);
  decide_time_ = std::max(clock_(), head_time_unix_us_);
  if (!hold_expiries_.empty() || !pending_expiries_.empty()) ReleaseExpired();
  if (!serialized.empty()) {
    serialized_command_ = &command;
    serialized_ = serialized;
  }
  Outcome outcome = Decide(command, fingerprint);
  serialized_command_ = nullptr;
  serialized_ = {};
  decide_time_.reset();
  if (outcome.reason != Reason::kLedgerUnavailable) {
    std::string key = RequestKey(command.actor(), command.request_id());
    BatchRequest& request = open().requests[key];
    LOVEBANK_CHECK(fingerprint.size() == request.fingerprint.size());
    std::memcpy(request.fingerprint.data(), fingerprint.data(), fingerprint.size());
    request.outcome = outcome;
    if (mark_) mark_->requests.push_back(std::move(key));
  }
  return outcome;
}

Engine::MarkState::MarkState() = default;

void Engine::Mark() {
  LOVEBANK_CHECK(batch_open_ && !mark_);
  MarkState& mark = mark_.emplace();
  for (std::size_t i = 0; i < kFamilyCount; ++i) mark.staged_sizes[i] = open().staged[i].size();
  mark.head = head_;
  mark.time_unix_us = head_time_unix_us_;
  mark.assets_added = open().assets_added.size();
}

void Engine::ReleaseMark() {
  LOVEBANK_CHECK(batch_open_ && mark_);
  mark_.reset();
}

template <class T, class BatchUndo>
void Engine::RememberForMark(MarkUndo<T>& mark_undo, const BatchUndo& batch_undo,
                             const absl::flat_hash_map<std::string, T>& current,
                             const std::string& key) {
  if (mark_undo.contains(key)) return;
  auto it = current.find(key);
  mark_undo.emplace(
      key, std::make_pair(it == current.end() ? std::nullopt : std::optional<T>(it->second),
                          !batch_undo.contains(key)));
}

namespace {

// Puts back the values a mark remembered into `current` and drops the batch-undo records that
// were created after the mark. `on_erase` runs for each key that did not exist at the mark.
template <class T, class BatchUndo, class OnErase>
void RestoreMarked(absl::flat_hash_map<std::string, std::pair<std::optional<T>, bool>>& marked,
                   absl::flat_hash_map<std::string, T>& current, BatchUndo& batch_undo,
                   OnErase on_erase) {
  for (auto& [key, saved] : marked) {
    auto& [old, new_to_batch] = saved;
    if (old.has_value()) {
      current[key] = std::move(*old);
    } else {
      on_erase(current.at(key));
      current.erase(key);
    }
    if (new_to_batch) batch_undo.erase(key);
  }
}

// Puts back every value a batch's undo map remembered (nullopt: the key did not exist).
template <class T>
void RestoreAll(absl::flat_hash_map<std::string, std::optional<T>>& undo,
                absl::flat_hash_map<std::string, T>& current) {
  for (auto& [key, old] : undo) {
    if (old.has_value()) {
      current[key] = std::move(*old);
    } else {
      current.erase(key);
    }
  }
}

}  // namespace

void Engine::RollBackToMark() {
  LOVEBANK_CHECK(batch_open_ && mark_);
  MarkState& mark = *mark_;
  Batch& batch = open();
  for (std::size_t i = 0; i < kFamilyCount; ++i) batch.staged[i].Truncate(mark.staged_sizes[i]);
  RestoreMarked(mark.balances, balances_, batch.balances_undo, [](const BalanceState&) {});
  RestoreMarked(mark.accounts, accounts_, batch.accounts_undo, [](const AccountState&) {});
  RestoreMarked(mark.principals, principals_, batch.principals_undo,
                [this](const v1::PrincipalRecord& p) { token_hashes_.erase(p.token_sha256()); });
  RestoreMarked(mark.items, items_, batch.items_undo, [](const v1::ItemRecord&) {});
  RestoreMarked(mark.policies, policies_, batch.policies_undo, [](const v1::ExchangePolicy&) {});
  RestoreMarked(mark.limits, limits_, batch.limits_undo, [](const v1::LimitRecord&) {});
  RestoreMarked(mark.usage, usage_, batch.usage_undo, [](const Int128&) {});
  RestoreMarked(mark.households, households_, batch.households_undo, [](const std::string&) {});
  RestoreMarked(mark.volunteers, volunteers_, batch.volunteers_undo,
                [](const v1::VolunteerRecord&) {});
  RestoreMarked(mark.star_levels, star_levels_, batch.star_levels_undo,
                [](const v1::StarLevels&) {});
  RestoreMarked(mark.hours_caps, hours_caps_, batch.hours_caps_undo, [](const v1::HoursCap&) {});
  RestoreMarked(mark.daily_caps, daily_caps_, batch.daily_caps_undo,
                [](const v1::DailyHoursCap&) {});
  if (!mark.holds.empty()) {
    RestoreMarked(mark.holds, holds_, batch.holds_undo, [](const v1::HoldRecord&) {});
    RebuildHoldExpiries();
  }
  if (!mark.records.empty()) {
    RestoreMarked(mark.records, records_, batch.records_undo, [](const std::string&) {});
    RebuildPendingExpiries();
  }
  for (std::size_t i = mark.assets_added; i < batch.assets_added.size(); ++i) {
    assets_.erase(batch.assets_added[i]);
  }
  batch.assets_added.resize(mark.assets_added);
  for (std::uint64_t seq = mark.head.seq + 1; seq <= head_.seq; ++seq) batch.entries.erase(seq);
  for (const std::string& key : mark.reversed) batch.reversed.erase(key);
  for (const std::string& id : mark.requests) batch.requests.erase(id);
  head_ = mark.head;
  head_time_unix_us_ = mark.time_unix_us;
  mark_.reset();
}

std::optional<Outcome> Engine::Replay(const v1::Command& command, const std::string& fingerprint) {
  const std::string& id = command.request_id();
  const std::string key = RequestKey(command.actor(), id);
  auto reused = [&id]() {
    Outcome outcome;
    outcome.reason = Reason::kRequestIdReused;
    outcome.message = Cat("request id ", id, " was used before for other content");
    return outcome;
  };
  for (const Batch& batch : batches_) {
    auto it = batch.requests.find(key);
    if (it == batch.requests.end()) continue;
    if (std::string_view(reinterpret_cast<const char*>(it->second.fingerprint.data()),
                         it->second.fingerprint.size()) != fingerprint) {
      return reused();
    }
    Outcome outcome = it->second.outcome;
    outcome.replayed = true;
    return outcome;
  }
  // Not in flight and never recorded for certain: no need to read the store (nearly every
  // command; a false positive only costs the two reads below).
  if (!request_ids_.MayContain(key)) return std::nullopt;
  auto unavailable = [](const absl::Status& status) {
    Outcome outcome;
    outcome.reason = Reason::kLedgerUnavailable;
    outcome.message = std::string(status.message());
    return outcome;
  };
  auto accepted = store_->Get(Family::kRequests, key);
  if (!accepted.ok()) return unavailable(accepted.status());
  if (accepted->has_value()) {
    auto value = DecodeRequestValue(**accepted);
    if (!value) return unavailable(absl::DataLossError("request record does not decode"));
    if (value->fingerprint != fingerprint) return reused();
    auto receipt = ReadReceipt(*store_, value->seq, [this](const std::string& asset) {
      const AssetState* state = FindAsset(asset);
      return state == nullptr ? 0u : state->scale;
    });
    if (!receipt.ok()) return unavailable(receipt.status());
    Outcome outcome;
    outcome.receipt = std::move(*receipt);
    outcome.decided_at_seq = value->seq;
    outcome.replayed = true;
    return outcome;
  }
  auto refused = store_->Get(Family::kRefusals, key);
  if (!refused.ok()) return unavailable(refused.status());
  if (refused->has_value()) {
    v1::Refusal refusal;
    if (!refusal.ParseFromString(**refused)) {
      return unavailable(absl::DataLossError("refusal record does not decode"));
    }
    if (refusal.fingerprint() != fingerprint) return reused();
    Outcome outcome;
    outcome.reason = static_cast<Reason>(refusal.reason());
    outcome.message = refusal.message();
    outcome.decided_at_seq = refusal.head_seq();
    outcome.replayed = true;
    return outcome;
  }
  return std::nullopt;
}

Outcome Engine::Decide(const v1::Command& command, const std::string& fingerprint) {
  if (auto refused = CheckActor(command, fingerprint)) return std::move(*refused);
  switch (command.body_case()) {
    case v1::Command::kEarn:
      return ApplyMove(command, fingerprint, command.earn(), v1::ACCOUNT_KIND_ISSUER,
                       v1::ACCOUNT_KIND_MEMBER);
    case v1::Command::kDeduct:
      return ApplyMove(command, fingerprint, command.deduct(), v1::ACCOUNT_KIND_MEMBER,
                       v1::ACCOUNT_KIND_ISSUER);
    case v1::Command::kRedeem:
      return ApplyMove(command, fingerprint, command.redeem(), v1::ACCOUNT_KIND_MEMBER,
                       v1::ACCOUNT_KIND_STORE);
    case v1::Command::kTransfer:
      return ApplyTransfer(command, fingerprint);
    case v1::Command::kReverse:
      return ApplyReverse(command, fingerprint);
    case v1::Command::kOpenAccount:
      return ApplyOpenAccount(command, fingerprint);
    case v1::Command::kDefineAsset:
      return ApplyDefineAsset(command, fingerprint);
    case v1::Command::kSetAccountStatus:
      return ApplySetAccountStatus(command, fingerprint);
    case v1::Command::kGrantPrincipal:
      return ApplyGrantPrincipal(command, fingerprint);
    case v1::Command::kRevokePrincipal:
      return ApplyRevokePrincipal(command, fingerprint);
    case v1::Command::kReceiveStock:
      return ApplyMove(command, fingerprint, command.receive_stock(), v1::ACCOUNT_KIND_ISSUER,
                       v1::ACCOUNT_KIND_STORE, /*stock=*/true);
    case v1::Command::kWriteOffStock:
      return ApplyMove(command, fingerprint, command.write_off_stock(), v1::ACCOUNT_KIND_STORE,
                       v1::ACCOUNT_KIND_ISSUER, /*stock=*/true);
    case v1::Command::kSettle:
      return ApplyMove(command, fingerprint, command.settle(), v1::ACCOUNT_KIND_STORE,
                       v1::ACCOUNT_KIND_ISSUER);
    case v1::Command::kCheckout:
      return ApplyCheckout(command, fingerprint);
    case v1::Command::kRefund:
      return ApplyRefund(command, fingerprint);
    case v1::Command::kSetItem:
      return ApplySetItem(command, fingerprint);
    case v1::Command::kSetExchangeRatio:
      return ApplySetExchangeRatio(command, fingerprint);
    case v1::Command::kSetLimit:
      return ApplySetLimit(command, fingerprint);
    case v1::Command::kSetHousehold:
      return ApplySetHousehold(command, fingerprint);
    case v1::Command::kAuthorizeHold:
      return ApplyAuthorizeHold(command, fingerprint);
    case v1::Command::kCaptureHold:
      return ApplyCaptureHold(command, fingerprint);
    case v1::Command::kVoidHold:
      return ApplyVoidHold(command, fingerprint);
    case v1::Command::kSetStarLevels:
      return ApplySetStarLevels(command, fingerprint);
    case v1::Command::kSetHoursCap:
      return ApplySetHoursCap(command, fingerprint);
    case v1::Command::kSetDailyHoursCap:
      return ApplySetDailyHoursCap(command, fingerprint);
    case v1::Command::kSetAccountTags:
      return ApplySetAccountTags(command, fingerprint);
    case v1::Command::kSetFamily:
      return ApplySetFamily(command, fingerprint);
    case v1::Command::kSetTransferPolicy:
      return ApplySetTransferPolicy(command, fingerprint);
    case v1::Command::kSetAwardRule:
      return ApplySetAwardRule(command, fingerprint);
    case v1::Command::kAward:
      return ApplyAward(command, fingerprint);
    case v1::Command::kSetApprovalThreshold:
      return ApplySetApprovalThreshold(command, fingerprint);
    case v1::Command::kApprove:
      return ApplyApprove(command, fingerprint);
    case v1::Command::kReject:
      return ApplyReject(command, fingerprint);
    case v1::Command::kReleaseHold:
    case v1::Command::kExpirePending:
      break;  // written by ReleaseExpired only; Ledger::Submit refuses them from clients
    case v1::Command::BODY_NOT_SET:
      break;
  }
  LOVEBANK_CHECK(false && "no command without a body, ReleaseHold or ExpirePending reaches Decide");
  return {};
}

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
  AccountState* from = FindAccount(move.from());
  if (from == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", move.from()));
  }
  AccountState* to = FindAccount(move.to());
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
    Outcome failure;
    std::optional<Int128> used = Used(key, &failure);
    if (!used) return failure;
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
  if (earns_hours && !daily_caps_.empty()) {
    if (auto refused = CheckDailyHours(command, fingerprint, amount.amount.minor(), &day_usage)) {
      return std::move(*refused);
    }
  }
  const bool capped = earns_hours && !hours_caps_.empty();
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
  if (day_usage) SetUsage(day_usage->first, std::move(day_usage->second));
  if (approval_usage) SetUsage(approval_usage->first, std::move(approval_usage->second));
  return outcome;
}

Outcome Engine::ApplyReverse(const v1::Command& command, const std::string& fingerprint) {
  const std::uint64_t target = command.reverse().seq();
  if (target == 0 || target > head_.seq) {
    return Refuse(command, fingerprint, Reason::kEntryUnknown, Cat("no entry ", target));
  }
  Outcome failure;
  std::optional<BatchEntry> entry = FindEntry(target, &failure);
  if (!entry) return failure;
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
  std::optional<bool> reversed = IsReversed(EncodeFixed64BE(target), &failure);
  if (!reversed) return failure;
  if (*reversed) {
    return Refuse(command, fingerprint, Reason::kEntryAlreadyReversed,
                  Cat("entry ", target, " was reversed already"));
  }
  if (entry->checkout) {
    for (const auto& line : entry->checkout->pricing().lines()) {
      std::optional<bool> refunded = IsReversed(RefundedLineKey(target, line.sku()), &failure);
      if (!refunded) return failure;
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
    std::optional<Int128> used = Used(day_key, &failure);
    if (!used) return failure;
    if (*used != 0) day_used = *used > earned ? *used - earned : Int128(0);
  }
  if (!entry->award_usage_key.empty()) {
    // A reversed award no longer uses up its rule's frequency: it may be awarded again.
    if (!GiveBackAward(entry->award_usage_key, &failure)) return failure;
  }
  Outcome outcome = Append(command, fingerprint, postings, {});
  if (outcome.ok()) MarkReversed(EncodeFixed64BE(target), outcome.receipt.seq);
  if (!entry->earned_hours_by.empty()) {
    AddEarnedHours(entry->earned_hours_by, -earned, outcome.receipt.seq);
  }
  if (day_used) SetUsage(day_key, std::move(*day_used));
  return outcome;
}

std::optional<Engine::BatchEntry> Engine::FindEntry(std::uint64_t seq, Outcome* failure) {
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
    failure->reason = Reason::kLedgerUnavailable;
    failure->message = Cat("journal entry ", seq, " cannot be read");
    return std::nullopt;
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

std::optional<bool> Engine::IsReversed(const std::string& key, Outcome* failure) {
  for (const Batch& batch : batches_) {
    if (batch.reversed.contains(key)) return true;
  }
  auto stored = store_->Get(Family::kReversed, key);
  if (!stored.ok()) {
    failure->reason = Reason::kLedgerUnavailable;
    failure->message = std::string(stored.status().message());
    return std::nullopt;
  }
  return stored->has_value();
}

void Engine::MarkReversed(std::string key, std::uint64_t by_seq) {
  Stage(Family::kReversed, key, EncodeFixed64BE(by_seq));
  if (mark_) mark_->reversed.push_back(key);
  open().reversed.insert(std::move(key));
}

Outcome Engine::ApplyOpenAccount(const v1::Command& command, const std::string& fingerprint) {
  const v1::OpenAccount& open = command.open_account();
  if (FindAccount(open.account()) != nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountExists,
                  Cat("account ", open.account(), " exists"));
  }
  AccountState state;
  for (const auto& budget : open.budgets()) {
    const AssetState* asset = FindAsset(budget.asset());
    if (asset == nullptr) {
      return Refuse(command, fingerprint, Reason::kAssetUnknown, Cat("no asset ", budget.asset()));
    }
    AmountParse amount = ParseAmount(budget.amount(), asset->scale, asset->maximum_minor);
    if (!amount.ok()) {
      return Refuse(command, fingerprint, amount.reason,
                    Cat("budget ", Excerpt(budget.amount()), ": ", ReasonName(amount.reason)));
    }
    state.budgets_minor[budget.asset()] = amount.amount.minor();
  }
  const std::uint64_t seq = head_.seq + 1;
  auto* record = &state.record;
  record->set_account(open.account());
  record->set_kind(open.kind());
  record->set_display_name(open.display_name());
  record->set_status(v1::ACCOUNT_STATUS_ACTIVE);
  *record->mutable_budgets() = open.budgets();
  record->set_opened_seq(seq);
  record->set_status_seq(seq);
  std::vector<std::string> tags(open.tags().begin(), open.tags().end());
  std::sort(tags.begin(), tags.end());
  for (auto& tag : tags) record->add_tags(std::move(tag));
  Outcome outcome = Append(command, fingerprint, {}, {open.account()});
  LOVEBANK_CHECK(outcome.receipt.seq == seq);
  SetAccount(open.account(), std::move(state));
  return outcome;
}

Outcome Engine::ApplyDefineAsset(const v1::Command& command, const std::string& fingerprint) {
  const v1::DefineAsset& define = command.define_asset();
  if (FindAsset(define.code()) != nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetExists,
                  Cat("asset ", define.code(), " exists"));
  }
  AmountParse maximum = ParseAmount(define.maximum(), define.scale(), MinorAbsoluteMax());
  if (!maximum.ok()) {
    return Refuse(command, fingerprint, maximum.reason,
                  Cat("maximum ", Excerpt(define.maximum()), ": ", ReasonName(maximum.reason)));
  }
  if (maximum.amount.is_zero()) {
    return Refuse(command, fingerprint, Reason::kAmountZero, "the maximum is zero");
  }
  AssetState asset;
  asset.scale = define.scale();
  asset.maximum_minor = maximum.amount.minor();
  asset.record.set_code(define.code());
  asset.record.set_scale(define.scale());
  asset.record.set_maximum_minor(MinorToString(asset.maximum_minor));
  asset.record.set_display_name(define.display_name());
  asset.record.set_defined_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  Stage(Family::kAssets, define.code(), asset.record.SerializeAsString());
  assets_.emplace(define.code(), std::move(asset));
  open().assets_added.push_back(define.code());
  return outcome;
}

Outcome Engine::ApplySetAccountStatus(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetAccountStatus& set = command.set_account_status();
  AccountState* account = FindAccount(set.account());
  if (account == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", set.account()));
  }
  if (account->record.status() == set.status()) {
    return Refuse(command, fingerprint, Reason::kAccountStatusUnchanged,
                  Cat("account ", set.account(), " has that status already"));
  }
  AccountState state = *account;
  state.record.set_status(set.status());
  state.record.set_status_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {set.account()});
  SetAccount(set.account(), std::move(state));
  return outcome;
}

Outcome Engine::ApplyGrantPrincipal(const v1::Command& command, const std::string& fingerprint) {
  const v1::GrantPrincipal& grant = command.grant_principal();
  if (principals_.contains(grant.principal())) {
    return Refuse(command, fingerprint, Reason::kPrincipalExists,
                  Cat("principal ", grant.principal(), " exists"));
  }
  if (token_hashes_.contains(grant.token_sha256())) {
    return Refuse(command, fingerprint, Reason::kTokenHashExists,
                  "another principal holds this token");
  }
  v1::AccountKind kind = v1::ACCOUNT_KIND_UNSPECIFIED;
  if (grant.role() == v1::ROLE_ISSUER) kind = v1::ACCOUNT_KIND_ISSUER;
  if (grant.role() == v1::ROLE_TERMINAL) kind = v1::ACCOUNT_KIND_STORE;
  if (grant.role() == v1::ROLE_MEMBER) kind = v1::ACCOUNT_KIND_MEMBER;
  for (const auto& id : grant.accounts()) {
    const AccountState* account = FindAccount(id);
    if (account == nullptr) {
      return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", id));
    }
    if (account->record.kind() != kind) {
      return Refuse(
          command, fingerprint, Reason::kAccountKindMismatch,
          Cat(id, " is ", KindName(account->record.kind()), ", the role needs ", KindName(kind)));
    }
  }
  v1::PrincipalRecord record;
  record.set_principal(grant.principal());
  record.set_role(grant.role());
  *record.mutable_accounts() = grant.accounts();
  record.set_token_sha256(grant.token_sha256());
  record.set_display_name(grant.display_name());
  record.set_granted_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  token_hashes_.insert(grant.token_sha256());
  SetPrincipal(grant.principal(), std::move(record));
  return outcome;
}

Outcome Engine::ApplyRevokePrincipal(const v1::Command& command, const std::string& fingerprint) {
  const std::string& name = command.revoke_principal().principal();
  auto it = principals_.find(name);
  if (it == principals_.end()) {
    return Refuse(command, fingerprint, Reason::kPrincipalUnknown, Cat("no principal ", name));
  }
  if (it->second.revoked_seq() != 0) {
    return Refuse(command, fingerprint, Reason::kPrincipalRevoked,
                  Cat("principal ", name, " was revoked by entry ", it->second.revoked_seq()));
  }
  v1::PrincipalRecord record = it->second;
  record.set_revoked_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetPrincipal(name, std::move(record));
  return outcome;
}

Outcome Engine::CheckLimits(const std::vector<ResolvedPosting>& postings) {
  Outcome outcome;
  for (const auto& posting : postings) {
    const AccountState* account = FindAccount(posting.account);
    const AssetState* asset = FindAsset(posting.asset);
    LOVEBANK_CHECK(account != nullptr && asset != nullptr);
    const Int128 before = Balance(posting.account, posting.asset).minor;
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
        outcome.reason = issuer                  ? Reason::kBudgetExceeded
                         : asset->record.stock() ? Reason::kInsufficientStock
                                                 : Reason::kInsufficientBalance;
        outcome.message = Cat(posting.account, " holds ", Decimal(before, posting.asset), " ",
                              posting.asset, "; ", Decimal(-posting.delta, posting.asset),
                              " would take it below ", Decimal(floor, posting.asset));
        return outcome;
      }
    } else if (after > asset->maximum_minor) {
      outcome.reason = Reason::kBalanceAboveMaximum;
      outcome.message = Cat(posting.account, " would hold more than the maximum of ",
                            Decimal(asset->maximum_minor, posting.asset), " ", posting.asset);
      return outcome;
    }
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
    SetBalance(key, balance);
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

Outcome Engine::Refuse(const v1::Command& command, const std::string& fingerprint, Reason reason,
                       std::string message) {
  LOVEBANK_DCHECK(reason != Reason::kOk);
  Outcome outcome;
  outcome.reason = reason;
  outcome.message = std::move(message);
  outcome.decided_at_seq = head_.seq;
  RememberRefusal(command, fingerprint, outcome);
  return outcome;
}

void Engine::RememberRefusal(const v1::Command& command, const std::string& fingerprint,
                             const Outcome& outcome) {
  if (!IsRememberedReason(outcome.reason)) return;
  v1::Refusal refusal;
  refusal.set_fingerprint(fingerprint);
  refusal.set_reason(static_cast<std::uint32_t>(outcome.reason));
  refusal.set_message(outcome.message);
  refusal.set_head_seq(outcome.decided_at_seq);
  Stage(Family::kRefusals, RequestKey(command.actor(), command.request_id()),
        refusal.SerializeAsString());
}

rocksdb::WriteBatch Engine::FinishBatch() {
  LOVEBANK_CHECK(batch_open_ && !mark_);
  batch_open_ = false;
  Batch& batch = open();
  for (const auto& [key, old] : batch.balances_undo) {
    const BalanceState& now = balances_.at(key);
    Stage(Family::kBalances, key, EncodeBalanceValue(now.minor, now.seq));
  }
  for (const auto& [account, old] : batch.accounts_undo) {
    Stage(Family::kAccounts, account, accounts_.at(account).record.SerializeAsString());
  }
  for (const auto& [name, old] : batch.principals_undo) {
    Stage(Family::kPrincipals, name, principals_.at(name).SerializeAsString());
  }
  for (const auto& [key, old] : batch.items_undo) {
    Stage(Family::kItems, key, items_.at(key).SerializeAsString());
  }
  for (const auto& [key, old] : batch.policies_undo) {
    Stage(Family::kMeta, key, policies_.at(key).SerializeAsString());
  }
  for (const auto& [key, old] : batch.limits_undo) {
    Stage(Family::kLimits, key, limits_.at(key).SerializeAsString());
  }
  for (const auto& [key, old] : batch.usage_undo) {
    Stage(Family::kUsage, key, MinorToString(usage_.at(key)));
  }
  for (const auto& [member, old] : batch.households_undo) {
    Stage(Family::kHouseholds, member, households_.at(member));
  }
  for (const auto& [key, old] : batch.holds_undo) {
    Stage(Family::kHolds, key, holds_.at(key).SerializeAsString());
  }
  for (const auto& [member, old] : batch.volunteers_undo) {
    Stage(Family::kVolunteers, member, volunteers_.at(member).SerializeAsString());
  }
  for (const auto& [key, old] : batch.star_levels_undo) {
    Stage(Family::kMeta, key, star_levels_.at(key).SerializeAsString());
  }
  for (const auto& [key, old] : batch.hours_caps_undo) {
    Stage(Family::kMeta, key, hours_caps_.at(key).SerializeAsString());
  }
  for (const auto& [key, old] : batch.daily_caps_undo) {
    Stage(Family::kMeta, key, daily_caps_.at(key).SerializeAsString());
  }
  for (const auto& [key, old] : batch.records_undo) {
    Stage(static_cast<Family>(static_cast<unsigned char>(key[0])), key.substr(1), records_.at(key));
  }
  if (head_.seq != batch.start_head.seq) {
    Stage(Family::kMeta, std::string(meta_key::kHeadSeq), EncodeFixed64BE(head_.seq));
    Stage(Family::kMeta, std::string(meta_key::kHeadHash),
          std::string(reinterpret_cast<const char*>(head_.hash.data()), 32));
  }
  std::size_t bytes = StagedPuts::kBatchHeaderSize;
  for (const auto& puts : batch.staged) bytes += puts.bytes() + 16 * puts.size();
  std::string rep(StagedPuts::kBatchHeaderSize, '\0');
  rep.reserve(bytes);  // one allocation: no regrowing copies
  std::size_t count = 0;
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    count += batch.staged[i].AppendSorted(store_->handle(static_cast<Family>(i))->GetID(), &rep);
    batch.staged[i] = StagedPuts();
  }
  LOVEBANK_CHECK(count <= UINT32_MAX);
  StagedPuts::SetBatchCount(&rep, static_cast<std::uint32_t>(count));
  return rocksdb::WriteBatch(std::move(rep));
}

void Engine::RetireOldest() {
  LOVEBANK_CHECK(!batches_.empty() && !(batch_open_ && batches_.size() == 1));
  // Holds this batch closed are durable now: forget them (FindHold reads the store) unless a
  // later in-flight batch changed them too; only open holds stay in memory for good.
  for (const auto& entry : batches_.front().holds_undo) {
    const std::string& key = entry.first;
    auto hold = holds_.find(key);
    if (hold == holds_.end() || hold->second.state() == v1::HOLD_STATE_OPEN) continue;
    if (std::none_of(batches_.begin() + 1, batches_.end(),
                     [&key](const Batch& later) { return later.holds_undo.contains(key); })) {
      holds_.erase(hold);
    }
  }
  batches_.pop_front();
}

void Engine::RollBackAll() {
  LOVEBANK_CHECK(!batch_open_);
  for (auto batch = batches_.rbegin(); batch != batches_.rend(); ++batch) {
    RestoreAll(batch->balances_undo, balances_);
    RestoreAll(batch->accounts_undo, accounts_);
    for (auto& [name, old] : batch->principals_undo) {
      if (!old.has_value()) token_hashes_.erase(principals_.at(name).token_sha256());
    }
    RestoreAll(batch->principals_undo, principals_);
    RestoreAll(batch->items_undo, items_);
    RestoreAll(batch->policies_undo, policies_);
    RestoreAll(batch->limits_undo, limits_);
    RestoreAll(batch->usage_undo, usage_);
    RestoreAll(batch->households_undo, households_);
    RestoreAll(batch->holds_undo, holds_);
    RestoreAll(batch->volunteers_undo, volunteers_);
    RestoreAll(batch->star_levels_undo, star_levels_);
    RestoreAll(batch->hours_caps_undo, hours_caps_);
    RestoreAll(batch->daily_caps_undo, daily_caps_);
    RestoreAll(batch->records_undo, records_);
    for (const auto& code : batch->assets_added) assets_.erase(code);
    head_ = batch->start_head;
    head_time_unix_us_ = batch->start_time_unix_us;
  }
  batches_.clear();
  RebuildHoldExpiries();
  RebuildPendingExpiries();
}

void Engine::Stage(Family family, std::string_view key, std::string_view value) {
  if (family == Family::kRequests || family == Family::kRefusals) request_ids_.Add(key);
  open().staged[static_cast<std::size_t>(family)].Add(key, value);
}

const AssetState* Engine::FindAsset(const std::string& code) const {
  auto it = assets_.find(code);
  return it == assets_.end() ? nullptr : &it->second;
}

AccountState* Engine::FindAccount(const std::string& account) {
  auto it = accounts_.find(account);
  return it == accounts_.end() ? nullptr : &it->second;
}

BalanceState Engine::Balance(const std::string& account, const std::string& asset) const {
  return BalanceAt(BalanceKey(account, asset));
}

BalanceState Engine::BalanceAt(const std::string& key) const {
  auto it = balances_.find(key);
  return it == balances_.end() ? BalanceState{} : it->second;
}

template <class T>
void Engine::Track(absl::flat_hash_map<std::string, T>& current,
                   absl::flat_hash_map<std::string, std::optional<T>>& batch_undo,
                   MarkUndo<T>* mark_undo, const std::string& key, T value) {
  if (mark_undo != nullptr) RememberForMark(*mark_undo, batch_undo, current, key);
  // One lookup in each map: the undo record is made (absent: nullopt) only on the first change
  // in this batch.
  auto it = current.find(key);
  auto [undo, first_change] = batch_undo.try_emplace(key);
  if (first_change && it != current.end()) undo->second = it->second;
  if (it != current.end()) {
    it->second = std::move(value);
  } else {
    current.emplace(key, std::move(value));
  }
}

void Engine::SetBalance(const std::string& key, BalanceState value) {
  Track(balances_, open().balances_undo, mark_ ? &mark_->balances : nullptr, key, std::move(value));
}

void Engine::SetAccount(const std::string& account, AccountState state) {
  Track(accounts_, open().accounts_undo, mark_ ? &mark_->accounts : nullptr, account,
        std::move(state));
}

void Engine::SetPrincipal(const std::string& name, v1::PrincipalRecord record) {
  Track(principals_, open().principals_undo, mark_ ? &mark_->principals : nullptr, name,
        std::move(record));
}

void Engine::SetItemRecord(const std::string& key, v1::ItemRecord record) {
  Track(items_, open().items_undo, mark_ ? &mark_->items : nullptr, key, std::move(record));
}

void Engine::SetPolicy(v1::ExchangePolicy policy) {
  Track(policies_, open().policies_undo, mark_ ? &mark_->policies : nullptr,
        std::string(meta_key::kExchangePolicy), std::move(policy));
}

void Engine::SetLimitRecord(const std::string& sku, v1::LimitRecord record) {
  Track(limits_, open().limits_undo, mark_ ? &mark_->limits : nullptr, sku, std::move(record));
}

void Engine::SetHouseholdOf(const std::string& member, std::string household) {
  Track(households_, open().households_undo, mark_ ? &mark_->households : nullptr, member,
        std::move(household));
}

void Engine::SetHold(v1::HoldRecord record) {
  const std::string key = EncodeFixed64BE(record.seq());
  if (auto it = holds_.find(key); it != holds_.end() && it->second.state() == v1::HOLD_STATE_OPEN) {
    hold_expiries_.erase({it->second.expires_unix_us(), it->second.seq()});
  }
  if (record.state() == v1::HOLD_STATE_OPEN) {
    hold_expiries_.emplace(record.expires_unix_us(), record.seq());
  }
  Track(holds_, open().holds_undo, mark_ ? &mark_->holds : nullptr, key, std::move(record));
}

void Engine::SetVolunteer(const std::string& member, v1::VolunteerRecord record) {
  Track(volunteers_, open().volunteers_undo, mark_ ? &mark_->volunteers : nullptr, member,
        std::move(record));
}

void Engine::SetStarLevelsRecord(v1::StarLevels levels) {
  Track(star_levels_, open().star_levels_undo, mark_ ? &mark_->star_levels : nullptr,
        std::string(meta_key::kStarLevels), std::move(levels));
}

void Engine::SetHoursCapRecord(v1::HoursCap cap) {
  Track(hours_caps_, open().hours_caps_undo, mark_ ? &mark_->hours_caps : nullptr,
        std::string(meta_key::kHoursCap), std::move(cap));
}

void Engine::SetDailyHoursCapRecord(v1::DailyHoursCap cap) {
  Track(daily_caps_, open().daily_caps_undo, mark_ ? &mark_->daily_caps : nullptr,
        std::string(meta_key::kDailyHoursCap), std::move(cap));
}

const std::string* Engine::FindRecord(Family family, std::string_view key) const {
  std::string full(1, static_cast<char>(family));
  full.append(key);
  auto it = records_.find(full);
  return it == records_.end() ? nullptr : &it->second;
}

void Engine::SetRecord(Family family, std::string_view key,
                       const google::protobuf::Message& record) {
  std::string full(1, static_cast<char>(family));
  full.append(key);
  Track(records_, open().records_undo, mark_ ? &mark_->records : nullptr, full,
        record.SerializeAsString());
}

void Engine::SetUsage(const std::string& key, Int128 used) {
  Track(usage_, open().usage_undo, mark_ ? &mark_->usage : nullptr, key, std::move(used));
}

std::optional<Int128> Engine::Used(const std::string& key, Outcome* failure) {
  if (auto it = usage_.find(key); it != usage_.end()) return it->second;
  auto stored = store_->Get(Family::kUsage, key);
  std::optional<Int128> used;
  if (stored.ok()) used = stored->has_value() ? MinorFromString(**stored) : Int128(0);
  if (!used) {
    failure->reason = Reason::kLedgerUnavailable;
    failure->message = "a usage record cannot be read";
    return std::nullopt;
  }
  usage_.emplace(key, *used);  // the committed value: nothing to undo
  return used;
}

std::int64_t Engine::NextEntryTime() const {
  return std::max(decide_time_ ? *decide_time_ : clock_(), head_time_unix_us_);
}

std::string Engine::Decimal(const Int128& minor, const std::string& asset) const {
  const AssetState* state = FindAsset(asset);
  return FormatAmount(Amount::FromMinor(minor), state == nullptr ? 0 : state->scale);
}

absl::StatusOr<Receipt> ReadReceipt(
    Store& store, std::uint64_t seq,
    const std::function<std::uint32_t(const std::string&)>& scale_of,
    const rocksdb::Snapshot* snapshot) {
  LOVEBANK_ASSIGN_OR_RETURN(auto stored,
                            store.Get(Family::kJournal, EncodeFixed64BE(seq), snapshot));
  if (!stored.has_value()) return absl::DataLossError(Cat("journal entry ", seq, " is missing"));
  auto view = DecodeStoredEntry(*stored);
  v1::Entry entry;
  if (!view ||
      !entry.ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size()))) {
    return absl::DataLossError(Cat("journal entry ", seq, " does not decode"));
  }
  Receipt receipt;
  receipt.seq = seq;
  receipt.hash = view->hash;
  receipt.time_unix_us = entry.time_unix_us();
  if (entry.has_pricing()) receipt.pricing = std::make_shared<const v1::Pricing>(entry.pricing());
  receipt.to_pool_minor = ToPool(entry.command(), PostingTexts(entry));
  FillPendingAndAward(entry.command(), entry.postings_size(), entry.time_unix_us(),
                      entry.has_award() ? &entry.award() : nullptr,
                      entry.has_award() ? scale_of(entry.award().asset()) : 0, &receipt);
  if (entry.command().has_authorize_hold()) {
    receipt.hold_expires_unix_us =
        HoldExpiresAt(entry.time_unix_us(), entry.command().authorize_hold().timeout_seconds());
  }
  for (const auto& posting : entry.postings()) {
    LOVEBANK_ASSIGN_OR_RETURN(
        auto line_bytes,
        store.Get(Family::kAccountEntries, AccountEntryKey(posting.account(), seq), snapshot));
    v1::StatementLine line;
    if (!line_bytes.has_value() || !line.ParseFromString(*line_bytes)) {
      return absl::DataLossError(
          Cat("statement line ", posting.account(), "@", seq, " is missing"));
    }
    for (const auto& leg : line.legs()) {
      if (leg.asset() != posting.asset()) continue;
      auto minor = MinorFromString(leg.balance_after_minor());
      if (!minor) return absl::DataLossError("statement balance does not decode");
      receipt.balances_after.push_back(
          BalanceLine{posting.account(), posting.asset(), Amount::FromMinor(*minor),
                      FormatAmount(Amount::FromMinor(*minor), scale_of(posting.asset())), seq});
    }
  }
  return receipt;
}

}  // namespace lovebank
