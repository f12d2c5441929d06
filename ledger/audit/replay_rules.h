#pragma once
// Internal to the audit: the replay's shared helpers (the account lookup on the hot path, the
// postings an entry implies) and the rule areas, one file each — moves (rules_moves.cc), the
// love supermarket and its holds (rules_supermarket.cc), administrative commands
// (rules_admin.cc), programme rules (rules_programme.cc), the notice's month figures
// (report_months.cc) — as the engine's own areas in ledger/engine/. ReplayEntry (replay.cc)
// dispatches over the command oneof with an exhaustive switch; the speed machinery (account
// index, prefetch, the repeat check) is in replay_index.cc.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "ledger/audit/replay.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/syntax.h"

namespace lovebank::audit {

using State = ReplayState;

inline std::string Text(const Int128& minor) { return MinorToString(minor); }

// Starts loading the cache line at `address`. An asm statement on x86-64: GCC 12 dropped a
// __builtin_prefetch at the end of a probe loop with no other effect once inlined (the loop
// went with it; PrefetchAccounts compiled to a bare `ret`).
inline void PrefetchLine(const void* address) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 (%0)" : : "r"(address));
#else
  __builtin_prefetch(address);
#endif
}

// Whether two account ids are equal, without a call to memcmp for the usual short ones.
inline bool SameId(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const std::size_t n = a.size();
  // Two words each, the first and the last `Word` bytes (overlapping when n < 2 words).
  auto same_ends = [&a, &b, n]<class Word>(Word) {
    Word a0, a1, b0, b1;
    std::memcpy(&a0, a.data(), sizeof(Word));
    std::memcpy(&a1, a.data() + n - sizeof(Word), sizeof(Word));
    std::memcpy(&b0, b.data(), sizeof(Word));
    std::memcpy(&b1, b.data() + n - sizeof(Word), sizeof(Word));
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  };
  if (n >= 8 && n <= 16) return same_ends(std::uint64_t{});
  if (n >= 4 && n < 8) return same_ends(std::uint32_t{});
  return a == b;
}

// The account `id`, or null (ReplayState::recent_accounts).
inline State::Account* FindAccount(State& state, std::string_view id) {
  for (State::AccountNode* recent : state.recent_accounts) {
    if (recent != nullptr && SameId(recent->first, id)) return &recent->second;
  }
  State::AccountNode* found = state.account_index.Find(id, State::AccountIndex::HashOf(id));
  if (found == nullptr) return nullptr;
  state.recent_accounts_next ^= 1;
  state.recent_accounts[state.recent_accounts_next] = found;
  return &found->second;
}

// Opens `account` as `id` (which must not exist) in `accounts` and its index.
inline void AddAccount(State& state, const std::string& id, State::Account account) {
  auto [it, inserted] = state.accounts.try_emplace(id, std::move(account));
  LOVEBANK_CHECK(inserted);
  state.account_index.Insert(State::AccountIndex::HashOf(id), &*it);
}

inline absl::string_view Absl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// A posting whose strings live in the entry (or command) being replayed: no copies on the hot
// path. A movement has two; a small inline capacity avoids the heap for them.
struct PostingView {
  std::string_view account;
  std::string_view asset;
  Int128 amount;
};
using Postings = absl::InlinedVector<PostingView, 2>;

// An order-sensitive digest of postings. |amount| <= 10^36 < 2^127, so the two 64-bit halves
// of its RawInt128 form identify it exactly.
inline std::size_t PostingsDigest(const Postings& postings) {
  std::size_t digest = postings.size();
  for (const PostingView& posting : postings) {
    const auto value = static_cast<RawInt128>(posting.amount);
    digest = absl::HashOf(digest, Absl(posting.account), Absl(posting.asset),
                          static_cast<std::uint64_t>(value),
                          static_cast<std::uint64_t>(static_cast<RawUint128>(value) >> 64));
  }
  return digest;
}

inline const char* KindName(v1::AccountKind kind) { return v1::AccountKind_Name(kind).c_str(); }

// The rules of one command against the state before the entry. Returns the postings the command
// implies (empty for administrative entries), or std::nullopt when a rule is broken (reported).
struct Expectation {
  bool ok = true;
  bool moves_value = false;
  Postings postings;
};

inline const std::string kPoints(kPointsAsset);
inline const std::string kHours(kHoursAsset);
inline const google::protobuf::RepeatedPtrField<std::string> kNoTags;

Expectation ExpectMove(const v1::Move& move, v1::AccountKind from_kind, v1::AccountKind to_kind,
                       bool stock, std::uint64_t seq, State& state, Findings& findings);

Expectation ExpectReverse(std::uint64_t target, std::uint64_t seq, State& state,
                          Findings& findings);

std::string AccountProblem(const State& state, const std::string& id, v1::AccountKind kind,
                           bool frozen_ok);

std::string ShowKey(std::string key);

Expectation ExpectCheckout(const v1::Entry& entry, std::uint64_t seq, State& state,
                           Findings& findings);

// Opens the SYSTEM escrow "system:holds" at entry `seq` (the first hold or service accepted).
void OpenEscrow(std::uint64_t seq, State& state);

Expectation ExpectAuthorizeHold(const v1::Entry& entry, std::uint64_t seq, State& state,
                                Findings& findings);

Expectation ExpectCloseHold(const v1::Entry& entry, std::uint64_t seq, State& state,
                            Findings& findings);

Expectation ExpectRefund(const v1::Entry& entry, std::uint64_t seq, State& state,
                         Findings& findings);

void AdvanceMonth(const v1::Entry& entry, State& state);

void AddProgrammeMonth(const v1::Entry& entry, const Postings& recorded, State& state);

// Counts what one entry changed in members' HOURS and POINTS in state.owed_month (and, when that
// is an earlier month, in the current month's "posted for earlier months").
void AddOwed(const Int128& hours_minor, const Int128& points_minor, State& state);

void AddStoreMonth(const v1::Entry& entry, State& state);

Expectation ExpectAdmin(const v1::Command& command, std::uint64_t seq, State& state,
                        Findings& findings);

Expectation ExpectTransfer(const v1::Move& move, std::uint64_t seq, State& state,
                           Findings& findings);

// Programme settings (rules_settings.cc): one rule per SettingValue field.
Expectation ExpectSetting(const v1::Command& command, std::uint64_t seq, State& state,
                          Findings& findings);

void NewPending(v1::PendingRecord pending, const v1::Entry& entry, State& state);

void GiveBackAward(const std::string& key, State& state);

Expectation ExpectProgramme(const v1::Entry& entry, std::uint64_t seq, State& state,
                            Findings& findings, std::string* touched);

// Services (rules_services.cc): every service command, the engine's ExpireService included.
Expectation ExpectService(const v1::Entry& entry, std::uint64_t seq, State& state,
                          Findings& findings, std::string* touched);

// Adds `delta` to a member's cumulative served hours (VolunteerRecord) as of entry `seq`.
void AddEarnedHours(std::string_view member, const Int128& delta, std::uint64_t seq, State& state);

}  // namespace lovebank::audit
