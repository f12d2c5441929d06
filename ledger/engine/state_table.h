#pragma once
// One piece of the sequencer's state (balances, accounts, principals, holds, settings, …) as a
// keyed table over one column family: the values in memory, and what every piece of state needs
// written once for all of them (issue #23 item 1):
//   track  — Set remembers a key's value before its first change in the open batch and since the
//            mark, so both can be undone;
//   mark   — all-or-nothing groups inside a batch: RollBackToMark puts back what changed since;
//   stage  — at the end of a batch, every key it changed is written (StageOpenBatch);
//   retire — a durable batch drops its undo records (and values the store may keep alone);
//   restore— a failed write puts back every in-flight batch's changes (RollBackAll);
//   load   — the family read into memory at open (or values read on demand, Cache).
// A table knows its family and its codec; the engine registers each table once (Engine::tables_)
// and drives them all the same way. Not thread-safe: the sequencer's thread only.

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message_lite.h"
#include "ledger/base/check.h"
#include "ledger/base/strings.h"
#include "ledger/storage/store.h"

namespace lovebank {

// What the engine drives on every table; StateTable<T> below is the one implementation.
class StateTableBase {
 public:
  using StageFn = std::function<void(Family, std::string_view key, std::string_view value)>;
  virtual ~StateTableBase() = default;
  // Reads the table's family (its own keys of it) into memory; DataLoss when a value does not
  // decode. Tables loaded on demand read nothing.
  virtual absl::Status Load(Store& store) = 0;
  virtual void BeginBatch() = 0;
  virtual void Mark() = 0;
  virtual void ReleaseMark() = 0;
  virtual void RollBackToMark() = 0;
  // Writes every key the open (last) batch changed, as it stands now.
  virtual void StageOpenBatch(const StageFn& stage) const = 0;
  virtual void RetireOldest() = 0;
  virtual void RollBackAll() = 0;
};

// How a table's values are stored. `encode` and the family are required; the rest optional.
template <class T>
struct TableCodec {
  Family family;
  std::string_view what;  // names the table in load errors: "hold", "account", …
  std::function<std::string(const T&)> encode;
  // A stored value into memory at load: the value, std::nullopt to leave it in the store (read
  // when needed), or DataLoss. Unset: the table is read on demand only (Cache), never loaded.
  std::function<absl::StatusOr<std::optional<T>>(std::string_view key, std::string_view value)>
      decode;
  // The keys of the family that are this table's (meta holds the ledger's own keys too).
  // Unset: every key.
  std::function<bool(std::string_view key)> owns;
  // Whether a value may leave memory once the batch that set it is durable (the store keeps
  // it; e.g. a closed hold). Unset: values stay.
  std::function<bool(const T&)> evict_when_durable;
  // Runs after a rollback restored any value: rebuilds what is derived from the table (an
  // expiry index, the set of token hashes).
  std::function<void()> after_restore;
};

// The codec of a protobuf record stored as its serialization.
template <class Message>
TableCodec<Message> MessageCodec(Family family, std::string_view what) {
  TableCodec<Message> codec;
  codec.family = family;
  codec.what = what;
  codec.encode = [](const Message& m) { return m.SerializeAsString(); };
  codec.decode = [what](std::string_view key,
                        std::string_view value) -> absl::StatusOr<std::optional<Message>> {
    Message message;
    if (!message.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(Cat(what, " record ", key, " does not decode"));
    }
    return std::optional<Message>(std::move(message));
  };
  return codec;
}

template <class T>
class StateTable final : public StateTableBase {
 public:
  // Large values in a node-based map: a slot is a pointer and the key and value one allocation,
  // so the empty slots (up to half of them after a doubling) cost 8 bytes each instead of a
  // whole value — on a ledger of 1M accounts ~470 -> ~250 MB for the accounts alone (with the
  // loads' NewScan, serving 800 -> ~610 MiB, docs/benchmarks.md "Scale"). Today (g++ 12,
  // protobuf 3.21) that is the accounts (192 bytes), services (200), principals (152), pending
  // credits (120) and assets (112). Small values stay in the flat map, where a lookup follows
  // no pointer: the balances (48 bytes), which every transfer reads and writes twice, holds
  // (88), items (80), limits, volunteers, usage, settings.
  static constexpr bool kNodes = sizeof(T) > 96;
  using Map = std::conditional_t<kNodes, absl::node_hash_map<std::string, T>,
                                 absl::flat_hash_map<std::string, T>>;

  explicit StateTable(TableCodec<T> codec) : codec_(std::move(codec)) {
    LOVEBANK_CHECK(codec_.encode != nullptr);
  }

  const T* Find(std::string_view key) const {
    auto it = current_.find(absl::string_view(key.data(), key.size()));
    return it == current_.end() ? nullptr : &it->second;
  }
  // A copy of the value, for rules that change it and Set it back.
  std::optional<T> Get(std::string_view key) const {
    const T* value = Find(key);
    return value == nullptr ? std::nullopt : std::optional<T>(*value);
  }
  bool contains(std::string_view key) const { return Find(key) != nullptr; }
  bool empty() const { return current_.empty(); }
  const Map& all() const { return current_; }

  // Sets `key` to `value` in the open batch, remembering the old value for the batch's undo and
  // the mark's. REQUIRES: a batch is open.
  void Set(const std::string& key, T value) {
    LOVEBANK_DCHECK(!batches_.empty());
    Undo& undo = batches_.back();
    auto it = current_.find(key);
    if (mark_.has_value() && !mark_->contains(key)) {
      mark_->emplace(
          key, std::make_pair(it == current_.end() ? std::nullopt : std::optional<T>(it->second),
                              !undo.contains(key)));
    }
    // One lookup in each map: the undo record is made (absent: nullopt) only on the first
    // change in this batch.
    auto [old, first_change] = undo.try_emplace(key);
    if (first_change && it != current_.end()) old->second = it->second;
    if (it != current_.end()) {
      it->second = std::move(value);
    } else {
      current_.emplace(key, std::move(value));
    }
  }

  // Tests only: the value in memory, changed behind the undo and the store (a simulated
  // bookkeeping bug for the audit to catch). Null when absent.
  T* UntrackedForTest(std::string_view key) {
    auto it = current_.find(absl::string_view(key.data(), key.size()));
    return it == current_.end() ? nullptr : &it->second;
  }

  // Keeps a committed value read from the store (a table read on demand): nothing to undo.
  void Cache(std::string key, T value) { current_.emplace(std::move(key), std::move(value)); }

  absl::Status Load(Store& store) override {
    if (!codec_.decode) return absl::OkStatus();
    auto it = store.NewScan(codec_.family);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key = it->key().ToStringView();
      if (codec_.owns && !codec_.owns(key)) continue;
      auto value = codec_.decode(key, it->value().ToStringView());
      if (!value.ok()) return value.status();
      if (value->has_value()) current_.emplace(std::string(key), std::move(**value));
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), Cat("loading ", codec_.what)));
    if (codec_.after_restore) codec_.after_restore();
    return absl::OkStatus();
  }

  void BeginBatch() override { batches_.emplace_back(); }

  void Mark() override {
    LOVEBANK_CHECK(!mark_.has_value());
    mark_.emplace();
  }
  void ReleaseMark() override { mark_.reset(); }

  void RollBackToMark() override {
    LOVEBANK_CHECK(mark_.has_value() && !batches_.empty());
    Undo& undo = batches_.back();
    const bool restored = !mark_->empty();
    for (auto& [key, saved] : *mark_) {
      auto& [old, new_to_batch] = saved;
      if (old.has_value()) {
        current_[key] = std::move(*old);
      } else {
        current_.erase(key);
      }
      if (new_to_batch) undo.erase(key);
    }
    mark_.reset();
    if (restored && codec_.after_restore) codec_.after_restore();
  }

  void StageOpenBatch(const StageFn& stage) const override {
    LOVEBANK_CHECK(!batches_.empty() && !mark_.has_value());
    for (const auto& entry : batches_.back()) {
      stage(codec_.family, entry.first, codec_.encode(current_.at(entry.first)));
    }
  }

  void RetireOldest() override {
    LOVEBANK_CHECK(!batches_.empty());
    if (codec_.evict_when_durable) {
      for (const auto& entry : batches_.front()) {
        const std::string& key = entry.first;
        auto it = current_.find(key);
        if (it == current_.end() || !codec_.evict_when_durable(it->second)) continue;
        bool later = false;
        for (std::size_t i = 1; i < batches_.size() && !later; ++i) {
          later = batches_[i].contains(key);
        }
        if (!later) current_.erase(it);  // a later in-flight batch changed it: keep it
      }
    }
    batches_.pop_front();
  }

  void RollBackAll() override {
    LOVEBANK_CHECK(!mark_.has_value());
    bool restored = false;
    for (auto batch = batches_.rbegin(); batch != batches_.rend(); ++batch) {
      for (auto& [key, old] : *batch) {
        restored = true;
        if (old.has_value()) {
          current_[key] = std::move(*old);
        } else {
          current_.erase(key);
        }
      }
    }
    batches_.clear();
    if (restored && codec_.after_restore) codec_.after_restore();
  }

 private:
  // A batch's undo: each key it changed, with its value before (nullopt: absent).
  using Undo = absl::flat_hash_map<std::string, std::optional<T>>;
  const TableCodec<T> codec_;
  Map current_;
  std::deque<Undo> batches_;  // in flight, oldest first; back() is the open one
  // Since Mark: each key changed, its value then and whether it entered the open batch's undo
  // after the mark (then it leaves it again).
  std::optional<absl::flat_hash_map<std::string, std::pair<std::optional<T>, bool>>> mark_;
};

}  // namespace lovebank
