// The replay's speed machinery: the open-addressing account index, prefetching the accounts of
// the next entries, and the repeat check over request-id hashes (FinishReplay).

#include <array>

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {

namespace {

// Whether a value occurs twice in `values`. A counting pass sorts them by their top 8 bits into
// a second buffer, then each of the 256 parts (a few thousand hashes: in cache) is sorted
// alone: a single sort of a million 64-bit hashes misses cache at every level and took ~5 % of
// the replay thread.
bool HasRepeat(const BigVector<std::uint64_t>& values) {
  constexpr int kShift = 56;
  std::array<std::size_t, 257> start{};
  for (std::uint64_t value : values) ++start[(value >> kShift) + 1];
  for (std::size_t part = 1; part < start.size(); ++part) start[part] += start[part - 1];
  BigVector<std::uint64_t> parted(values.size());
  std::array<std::size_t, 257> next = start;
  for (std::uint64_t value : values) parted[next[value >> kShift]++] = value;
  for (std::size_t part = 0; part + 1 < start.size(); ++part) {
    const auto begin = parted.begin() + static_cast<std::ptrdiff_t>(start[part]);
    const auto end = parted.begin() + static_cast<std::ptrdiff_t>(start[part + 1]);
    std::sort(begin, end);
    if (std::adjacent_find(begin, end) != end) return true;
  }
  return false;
}

}  // namespace

std::uint64_t State::AccountIndex::HashOf(std::string_view id) { return absl::HashOf(Absl(id)); }

void State::AccountIndex::Insert(std::uint64_t hash, AccountNode* node) {
  if (2 * (used_ + 1) > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(64, 2 * old.size()), Slot{});
    used_ = 0;
    for (const Slot& slot : old) {
      if (slot.node != nullptr) Insert(slot.hash, slot.node);
    }
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t at = hash & mask;
  while (slots_[at].node != nullptr) at = (at + 1) & mask;
  slots_[at] = Slot{hash, node};
  ++used_;
}

template <class Match>
State::AccountNode* State::AccountIndex::Probe(std::uint64_t hash, Match match) const {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t at = hash & mask;; at = (at + 1) & mask) {
    const Slot& slot = slots_[at];
    if (slot.node == nullptr) return nullptr;
    if (slot.hash == hash && match(*slot.node)) return slot.node;
  }
}

State::AccountNode* State::AccountIndex::Find(std::string_view id, std::uint64_t hash) const {
  return Probe(hash, [id](const AccountNode& node) { return SameId(node.first, id); });
}

void State::AccountIndex::PrefetchSlot(std::uint64_t hash) const {
  if (!slots_.empty()) PrefetchLine(&slots_[hash & (slots_.size() - 1)]);
}

State::AccountNode* State::AccountIndex::PrefetchNode(std::uint64_t hash) const {
  AccountNode* found = Probe(hash, [](const AccountNode&) { return true; });
  if (found != nullptr) {
    // The id, kind, status and balances: what comes before the account's record.
    const char* node = reinterpret_cast<const char*>(found);
    const char* cold = reinterpret_cast<const char*>(&found->second.record);
    for (const char* line = node; line < cold; line += 64) PrefetchLine(line);
  }
  return found;
}

AccountHints PrefetchAccountSlots(const v1::Entry& entry, const ReplayState& state) {
  AccountHints hints;
  const v1::Command& command = entry.command();
  const v1::Move* move = command.has_transfer() ? &command.transfer()
                         : command.has_earn()   ? &command.earn()
                         : command.has_redeem() ? &command.redeem()
                         : command.has_deduct() ? &command.deduct()
                                                : nullptr;
  if (move == nullptr) return hints;
  hints.any = true;
  hints.hashes = {State::AccountIndex::HashOf(move->from()),
                  State::AccountIndex::HashOf(move->to())};
  for (std::uint64_t hash : hints.hashes) state.account_index.PrefetchSlot(hash);
  return hints;
}

void PrefetchAccounts(AccountHints& hints, const ReplayState& state) {
  if (!hints.any) return;
  for (std::size_t i = 0; i < hints.hashes.size(); ++i) {
    hints.candidates[i] = state.account_index.PrefetchNode(hints.hashes[i]);
  }
}

void RememberAccounts(const AccountHints& hints, ReplayState& state) {
  for (std::size_t i = 0; i < hints.candidates.size(); ++i) {
    if (hints.candidates[i] != nullptr) state.recent_accounts[i] = hints.candidates[i];
  }
}

void FinishReplay(State& state) {
  for (const auto& [id, account] : state.accounts) {
    for (const State::Account::Held& held : account.held) {
      state.balances[BalanceKey(id, *held.asset)] = State::Balance{Int128(held.minor), held.seq};
    }
  }
  if (HasRepeat(state.request_hashes)) state.needs_exact = true;
}

}  // namespace lovebank::audit
