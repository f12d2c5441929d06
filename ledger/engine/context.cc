// The rules' view of the engine's state (ledger/rules/context.h): lookups over the state tables,
// the in-flight batches included, on the state the command commits on.

#include "ledger/engine/engine_internal.h"

namespace lovebank {
namespace {

rules::Refusal FailureOf(Outcome outcome) {
  return rules::Refusal{outcome.reason, std::move(outcome.message)};
}

}  // namespace

class EngineContext final : public rules::Context {
 public:
  explicit EngineContext(Engine* engine) : engine_(*engine) {}

  std::uint64_t next_seq() const override { return engine_.head_.seq + 1; }
  std::int64_t entry_time() const override { return engine_.NextEntryTime(); }
  const AssetState* FindAsset(const std::string& code) const override {
    return engine_.FindAsset(code);
  }
  const AccountState* FindAccount(const std::string& account) const override {
    return engine_.FindAccount(account);
  }
  BalanceState Balance(const std::string& account, const std::string& asset) const override {
    return engine_.Balance(account, asset);
  }
  const v1::ItemRecord* FindItem(const std::string& store, const std::string& sku) const override {
    return engine_.items_.Find(ItemKey(store, sku));
  }
  const v1::LimitRecord* FindLimit(const std::string& sku) const override {
    return engine_.limits_.Find(sku);
  }
  bool HasLimits() const override { return !engine_.limits_.empty(); }
  const std::string* FindHousehold(const std::string& member) const override {
    return engine_.households_.Find(member);
  }
  const std::string* FindCardOwner(const std::string& card) const override {
    auto it = engine_.card_owners_.find(card);
    return it == engine_.card_owners_.end() ? nullptr : &it->second;
  }
  const std::string* FindSetting(std::string_view key) const override {
    return engine_.settings_.Find(key);
  }
  bool HasSettings() const override { return !engine_.settings_.empty(); }
  rules::OrRefusal<Int128> Used(const std::string& key) override {
    OrOutcome<Int128> used = engine_.Used(key);
    if (!used.ok()) return FailureOf(std::move(used).outcome());
    return *used;
  }
  rules::OrRefusal<bool> IsReversed(const std::string& key) override {
    OrOutcome<bool> reversed = engine_.IsReversed(key);
    if (!reversed.ok()) return FailureOf(std::move(reversed).outcome());
    return *reversed;
  }

 private:
  Engine& engine_;
};

std::unique_ptr<rules::Context> Engine::MakeContext() {
  return std::make_unique<EngineContext>(this);
}

Outcome Engine::RefuseWith(const v1::Command& command, const std::string& fingerprint,
                           rules::Refusal refusal) {
  // A store that could not be read: neither applied nor refused (nothing remembered).
  if (refusal.reason == Reason::kLedgerUnavailable) return Unavailable(std::move(refusal.message));
  return Refuse(command, fingerprint, refusal.reason, std::move(refusal.message));
}

}  // namespace lovebank
