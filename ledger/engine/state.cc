// The sequencer's state: loading it from the store, batches and marks with their undo, staging
// the derived records, and the tracked maps every rule reads and sets (issue #23 item 1 will make
// these one registered table per piece of state).

#include "ledger/engine/engine_internal.h"

namespace lovebank {

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

}  // namespace lovebank
