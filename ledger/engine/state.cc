// The sequencer's state: its tables (ledger/engine/state_table.h) with their codecs, loading them,
// and batches and marks over all of them at once, plus what the engine keeps beyond the tables
// (staged journal records, the head, the request outcomes of in-flight batches).

#include "ledger/engine/engine_internal.h"

namespace lovebank {

namespace {

TableCodec<AssetState> AssetCodec() {
  TableCodec<AssetState> codec;
  codec.family = Family::kAssets;
  codec.what = "asset";
  codec.encode = [](const AssetState& asset) { return asset.record.SerializeAsString(); };
  codec.decode = [](std::string_view,
                    std::string_view value) -> absl::StatusOr<std::optional<AssetState>> {
    LOVEBANK_ASSIGN_OR_RETURN(AssetState asset, DecodeAsset(value));
    return std::optional<AssetState>(std::move(asset));
  };
  return codec;
}

// The accounts in a node-based table, the balances in a flat one (state_table.h, kNodes): the
// memory of a million accounts, the speed of every transfer's balances.
static_assert(StateTable<AccountState>::kNodes && !StateTable<BalanceState>::kNodes);

TableCodec<AccountState> AccountCodec(const StateTable<AssetState>& assets) {
  TableCodec<AccountState> codec;
  codec.family = Family::kAccounts;
  codec.what = "account";
  codec.encode = [](const AccountState& account) { return account.record.SerializeAsString(); };
  codec.decode = [&assets](std::string_view key,
                           std::string_view value) -> absl::StatusOr<std::optional<AccountState>> {
    AccountState account;
    if (!account.record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(Cat("account record ", key, " does not decode"));
    }
    for (const auto& budget : account.record.budgets()) {
      const AssetState* asset = assets.Find(budget.asset());
      if (asset == nullptr) return absl::DataLossError("budget for an unknown asset");
      AmountParse parsed = ParseAmount(budget.amount(), asset->scale, asset->maximum_minor);
      if (!parsed.ok()) return absl::DataLossError("budget does not parse");
      account.budgets_minor[budget.asset()] = parsed.amount.minor();
    }
    return std::optional<AccountState>(std::move(account));
  };
  return codec;
}

TableCodec<BalanceState> BalanceCodec() {
  TableCodec<BalanceState> codec;
  codec.family = Family::kBalances;
  codec.what = "balance";
  codec.encode = [](const BalanceState& b) { return EncodeBalanceValue(b.minor, b.seq); };
  codec.decode = [](std::string_view,
                    std::string_view value) -> absl::StatusOr<std::optional<BalanceState>> {
    auto decoded = DecodeBalanceValue(value);
    if (!decoded) return absl::DataLossError("balance record does not decode");
    return std::optional<BalanceState>(BalanceState{decoded->minor, decoded->seq});
  };
  return codec;
}

// Usage is read on demand (Engine::Used): no decode, never loaded whole.
TableCodec<Int128> UsageCodec() {
  TableCodec<Int128> codec;
  codec.family = Family::kUsage;
  codec.what = "usage";
  codec.encode = [](const Int128& used) { return MinorToString(used); };
  return codec;
}

// Values stored as they are: households (the household id) and settings (a record's bytes).
TableCodec<std::string> BytesCodec(Family family, std::string_view what) {
  TableCodec<std::string> codec;
  codec.family = family;
  codec.what = what;
  codec.encode = [](const std::string& value) { return value; };
  codec.decode = [](std::string_view,
                    std::string_view value) -> absl::StatusOr<std::optional<std::string>> {
    return std::optional<std::string>(std::string(value));
  };
  return codec;
}

// Records of which only the live ones stay in memory (open holds, live services): a closed one
// is read from the store when a command names it, and leaves memory once its batch is durable.
template <class Record>
TableCodec<Record> LiveOnlyCodec(Family family, std::string_view what, bool (*live)(const Record&),
                                 std::function<void()> after_restore) {
  auto codec = MessageCodec<Record>(family, what);
  auto parse = codec.decode;
  codec.decode = [parse, live](std::string_view key,
                               std::string_view value) -> absl::StatusOr<std::optional<Record>> {
    auto record = parse(key, value);
    if (record.ok() && *record && !live(**record)) return std::nullopt;
    return record;
  };
  codec.evict_when_durable = [live](const Record& record) { return !live(record); };
  codec.after_restore = std::move(after_restore);
  return codec;
}

}  // namespace

Engine::Engine(Store* store, Head head, std::int64_t head_time_unix_us,
               std::function<std::int64_t()> clock)
    : store_(store),
      clock_(std::move(clock)),
      context_(MakeContext()),
      assets_(AssetCodec()),
      accounts_([this] {
        auto codec = AccountCodec(assets_);
        codec.after_restore = [this] {
          card_owners_.clear();
          for (const auto& [id, account] : accounts_.all()) {
            if (!account.record.card_number().empty()) {
              card_owners_[account.record.card_number()] = id;
            }
          }
        };
        return codec;
      }()),
      balances_(BalanceCodec()),
      principals_([this] {
        auto codec = MessageCodec<v1::PrincipalRecord>(Family::kPrincipals, "principal");
        // Principals are never removed, so their tokens are every token ever granted.
        codec.after_restore = [this] {
          token_hashes_.clear();
          for (const auto& [name, record] : principals_.all()) {
            token_hashes_.insert(record.token_sha256());
            if (!record.activation_sha256().empty()) {
              token_hashes_.insert(record.activation_sha256());
            }
          }
        };
        return codec;
      }()),
      items_(MessageCodec<v1::ItemRecord>(Family::kItems, "item")),
      limits_(MessageCodec<v1::LimitRecord>(Family::kLimits, "limit")),
      usage_(UsageCodec()),
      households_(BytesCodec(Family::kHouseholds, "household")),
      holds_(LiveOnlyCodec<v1::HoldRecord>(
          Family::kHolds, "hold",
          [](const v1::HoldRecord& hold) { return hold.state() == v1::HOLD_STATE_OPEN; },
          [this] { RebuildHoldExpiries(); })),
      volunteers_(MessageCodec<v1::VolunteerRecord>(Family::kVolunteers, "volunteer")),
      pending_([this] {
        auto codec = MessageCodec<v1::PendingRecord>(Family::kPending, "pending");
        codec.after_restore = [this] { RebuildPendingExpiries(); };
        return codec;
      }()),
      services_(LiveOnlyCodec<v1::ServiceRecord>(
          Family::kServices, "service",
          [](const v1::ServiceRecord& service) { return rules::IsLive(service.state()); },
          [this] { RebuildServiceIndexes(); })),
      settings_([] {
        auto codec = BytesCodec(Family::kMeta, "setting");
        codec.owns = IsSettingKey;
        return codec;
      }()),
      tables_{&assets_,     &accounts_, &balances_,   &principals_, &items_,    &limits_,  &usage_,
              &households_, &holds_,    &volunteers_, &pending_,    &services_, &settings_},
      head_(head),
      head_time_unix_us_(head_time_unix_us) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Load(Store* store, Head head,
                                                     std::int64_t head_time_unix_us,
                                                     std::function<std::int64_t()> clock) {
  auto engine =
      std::unique_ptr<Engine>(new Engine(store, head, head_time_unix_us, std::move(clock)));
  for (StateTableBase* table : engine->tables_) LOVEBANK_RETURN_IF_ERROR(table->Load(*store));
  LOVEBANK_ASSIGN_OR_RETURN(auto ledger_id, store->Get(Family::kMeta, meta_key::kLedgerId));
  if (!ledger_id.has_value()) return absl::DataLossError("meta ledger_id is missing");
  engine->ledger_id_ = std::move(*ledger_id);
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
    auto it = store->NewScan(family);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      engine->request_ids_.Add(it->key().ToStringView());
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "loading request ids"));
  }
  return engine;
}

void Engine::Mark() {
  LOVEBANK_CHECK(batch_open_ && !mark_);
  MarkState& mark = mark_.emplace();
  for (std::size_t i = 0; i < kFamilyCount; ++i) mark.staged_sizes[i] = open().staged[i].size();
  mark.head = head_;
  mark.time_unix_us = head_time_unix_us_;
  for (StateTableBase* table : tables_) table->Mark();
}

void Engine::ReleaseMark() {
  LOVEBANK_CHECK(batch_open_ && mark_);
  for (StateTableBase* table : tables_) table->ReleaseMark();
  mark_.reset();
}

void Engine::RollBackToMark() {
  LOVEBANK_CHECK(batch_open_ && mark_);
  MarkState& mark = *mark_;
  Batch& batch = open();
  for (std::size_t i = 0; i < kFamilyCount; ++i) batch.staged[i].Truncate(mark.staged_sizes[i]);
  for (StateTableBase* table : tables_) table->RollBackToMark();
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
  const StateTableBase::StageFn stage = [this](Family family, std::string_view key,
                                               std::string_view value) {
    Stage(family, key, value);
  };
  for (const StateTableBase* table : tables_) table->StageOpenBatch(stage);
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
  for (StateTableBase* table : tables_) table->RetireOldest();
  batches_.pop_front();
}

void Engine::RollBackAll() {
  LOVEBANK_CHECK(!batch_open_);
  if (!batches_.empty()) {
    head_ = batches_.front().start_head;
    head_time_unix_us_ = batches_.front().start_time_unix_us;
  }
  batches_.clear();
  for (StateTableBase* table : tables_) table->RollBackAll();
}

void Engine::Stage(Family family, std::string_view key, std::string_view value) {
  if (family == Family::kRequests || family == Family::kRefusals) request_ids_.Add(key);
  open().staged[static_cast<std::size_t>(family)].Add(key, value);
}

const AssetState* Engine::FindAsset(const std::string& code) const { return assets_.Find(code); }

const AccountState* Engine::FindAccount(const std::string& account) const {
  return accounts_.Find(account);
}

BalanceState Engine::Balance(const std::string& account, const std::string& asset) const {
  return BalanceAt(BalanceKey(account, asset));
}

BalanceState Engine::BalanceAt(const std::string& key) const {
  const BalanceState* balance = balances_.Find(key);
  return balance == nullptr ? BalanceState{} : *balance;
}

void Engine::SetHold(v1::HoldRecord record) {
  const std::string key = EncodeFixed64BE(record.seq());
  if (const v1::HoldRecord* old = holds_.Find(key);
      old != nullptr && old->state() == v1::HOLD_STATE_OPEN) {
    hold_expiries_.erase({old->expires_unix_us(), old->seq()});
  }
  if (record.state() == v1::HOLD_STATE_OPEN) {
    hold_expiries_.emplace(record.expires_unix_us(), record.seq());
  }
  holds_.Set(key, std::move(record));
}

OrOutcome<Int128> Engine::Used(const std::string& key) {
  if (const Int128* cached = usage_.Find(key)) return *cached;
  auto stored = store_->Get(Family::kUsage, key);
  std::optional<Int128> used;
  if (stored.ok()) used = stored->has_value() ? MinorFromString(**stored) : Int128(0);
  if (!used) return Unavailable("a usage record cannot be read");
  usage_.Cache(key, *used);  // the committed value: nothing to undo
  return *used;
}

}  // namespace lovebank
