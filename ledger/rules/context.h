#pragma once
// The decision context: what the rules of movements, the love supermarket, holds and the
// programme read of the ledger's state while the sequencer decides one command. The engine
// implements it over its state tables (ledger/engine/context.cc), the in-flight batches
// included, so a rule sees exactly the state its command commits on (DESIGN invariant 8). Rules
// read through it and return their decision; the engine applies it (journal entry, records).
//
// A lookup that needs the store (usage counters, reversed entries) can fail: it answers a
// Refusal of kLedgerUnavailable, which the rule hands back as it is (the engine then neither
// applies nor refuses the command).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "ledger/base/check.h"
#include "ledger/rules/rule.h"
#include "lovebank/v1/journal.pb.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank {

// The state's records as rules read them (the engine's tables hold these).
struct AssetState {
  std::uint32_t scale = 0;
  Int128 maximum_minor = 0;
  v1::AssetRecord record;
};

struct AccountState {
  v1::AccountRecord record;
  absl::flat_hash_map<std::string, Int128> budgets_minor;  // ISSUER only
};

struct BalanceState {
  Int128 minor = 0;
  std::uint64_t seq = 0;
};

namespace rules {

// One leg of an entry a rule decides: `delta` minor units of `asset` to (or, negative, from)
// `account`.
struct Posting {
  std::string account;
  std::string asset;
  Int128 delta;
};

// A value, or the refusal in its way.
template <class T>
using OrRefusal = std::variant<T, Refusal>;

class Context {
 public:
  virtual ~Context() = default;

  // The seq the command's entry gets if accepted (the head's plus one) and its time.
  virtual std::uint64_t next_seq() const = 0;
  virtual std::int64_t entry_time() const = 0;

  virtual const AssetState* FindAsset(const std::string& code) const = 0;
  virtual const AccountState* FindAccount(const std::string& account) const = 0;
  virtual BalanceState Balance(const std::string& account, const std::string& asset) const = 0;
  // The love supermarket's catalogue and limits (by SKU, "" for the basket's value).
  virtual const v1::ItemRecord* FindItem(const std::string& store,
                                         const std::string& sku) const = 0;
  virtual const v1::LimitRecord* FindLimit(const std::string& sku) const = 0;
  virtual bool HasLimits() const = 0;
  // The household a member belongs to; null or empty when none.
  virtual const std::string* FindHousehold(const std::string& member) const = 0;
  // The account whose card number `card` is; null when none.
  virtual const std::string* FindCardOwner(const std::string& card) const = 0;
  // A setting's stored bytes by meta key; null when none is set. HasSettings: any at all (a
  // programme without settings skips the policy lookups of every transfer).
  virtual const std::string* FindSetting(std::string_view key) const = 0;
  virtual bool HasSettings() const = 0;

  // The amount used under a usage key (0 when none), in flight, cached or committed.
  virtual OrRefusal<Int128> Used(const std::string& key) = 0;
  // Whether a key of the reversed family (a whole entry, a refunded line) is set.
  virtual OrRefusal<bool> IsReversed(const std::string& key) = 0;

  // A setting parsed from its bytes; std::nullopt when none is set.
  template <class Message>
  std::optional<Message> Setting(std::string_view key) const {
    const std::string* bytes = FindSetting(key);
    if (bytes == nullptr) return std::nullopt;
    Message message;
    LOVEBANK_CHECK(message.ParseFromString(*bytes));
    return message;
  }
  // `minor` formatted at the scale of `asset` (scale 0 when it is not defined).
  std::string Decimal(const Int128& minor, const std::string& asset) const;
};

}  // namespace rules
}  // namespace lovebank
