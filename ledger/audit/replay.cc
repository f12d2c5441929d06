// The audit's replay of one journal entry: every rule of the engine, coded again from the rules
// (DESIGN.md invariants 1, 2, 5), applied to the audit's own state.

#include "ledger/audit/replay.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/syntax.h"

namespace lovebank::audit {
namespace {

using State = ReplayState;

std::string Text(const Int128& minor) { return MinorToString(minor); }

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
bool SameId(std::string_view a, std::string_view b) {
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
State::Account* FindAccount(State& state, std::string_view id) {
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
void AddAccount(State& state, const std::string& id, State::Account account) {
  auto [it, inserted] = state.accounts.try_emplace(id, std::move(account));
  LOVEBANK_CHECK(inserted);
  state.account_index.Insert(State::AccountIndex::HashOf(id), &*it);
}

absl::string_view Absl(std::string_view text) {
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
std::size_t PostingsDigest(const Postings& postings) {
  std::size_t digest = postings.size();
  for (const PostingView& posting : postings) {
    const auto value = static_cast<RawInt128>(posting.amount);
    digest = absl::HashOf(digest, Absl(posting.account), Absl(posting.asset),
                          static_cast<std::uint64_t>(value),
                          static_cast<std::uint64_t>(static_cast<RawUint128>(value) >> 64));
  }
  return digest;
}

const char* KindName(v1::AccountKind kind) { return v1::AccountKind_Name(kind).c_str(); }

// The rules of one command against the state before the entry. Returns the postings the command
// implies (empty for administrative entries), or std::nullopt when a rule is broken (reported).
struct Expectation {
  bool ok = true;
  bool moves_value = false;
  Postings postings;
};

Expectation ExpectMove(const v1::Move& move, v1::AccountKind from_kind, v1::AccountKind to_kind,
                       bool stock, std::uint64_t seq, State& state, Findings& findings) {
  Expectation expectation;
  expectation.moves_value = true;
  auto violated = [&](std::string what) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a movement the rules allow",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  auto asset = state.assets.find(move.asset());
  if (asset == state.assets.end()) return violated(Cat("unknown asset ", move.asset()));
  if (asset->second.record.stock() != stock) {
    return violated(Cat(move.asset(), stock ? " is not an item's stock" : " is an item's stock"));
  }
  const AmountParse amount =
      ParseAmount(move.amount(), asset->second.scale, asset->second.maximum_minor);
  if (!amount.ok()) return violated(Cat("amount ", move.amount(), ": ", ReasonName(amount.reason)));
  if (amount.amount.is_zero()) return violated("a zero amount");
  const State::Account* from = FindAccount(state, move.from());
  const State::Account* to = FindAccount(state, move.to());
  if (from == nullptr) return violated(Cat("unknown account ", move.from()));
  if (to == nullptr) return violated(Cat("unknown account ", move.to()));
  if (from->kind != from_kind || to->kind != to_kind) {
    return violated(Cat("from ", KindName(from->kind), " to ", KindName(to->kind), " where ",
                        KindName(from_kind), " to ", KindName(to_kind), " is the rule"));
  }
  for (const auto* account : {from, to}) {
    if (account->status != v1::ACCOUNT_STATUS_ACTIVE) {
      return violated(Cat("account ", account->record.account(), " is frozen"));
    }
  }
  expectation.postings.push_back(PostingView{move.from(), move.asset(), -amount.amount.minor()});
  expectation.postings.push_back(PostingView{move.to(), move.asset(), amount.amount.minor()});
  return expectation;
}

Expectation ExpectReverse(std::uint64_t target, std::uint64_t seq, State& state,
                          Findings& findings) {
  Expectation expectation;
  auto invalid = [&](std::string what) {
    findings.Add(FindingKind::kReversalInvalid, seq, "", "an earlier, not yet reversed movement",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  if (target == 0 || target >= seq || target > state.entries.size()) {
    return invalid(Cat("entry ", target, " does not precede it"));
  }
  auto& reversible = state.entries[target - 1];
  if (!reversible.moves_value) return invalid(Cat("entry ", target, " moves no value"));
  if (reversible.reversed_by != 0) {
    return invalid(Cat("entry ", target, " was reversed by ", reversible.reversed_by));
  }
  auto refunded = state.refunded_lines.lower_bound(EncodeFixed64BE(target));
  if (refunded != state.refunded_lines.end() &&
      std::string_view(refunded->first).substr(0, 8) == EncodeFixed64BE(target)) {
    return invalid(Cat("checkout ", target, " has lines refunded by ", refunded->second));
  }
  reversible.reversed_by = seq;
  return expectation;  // postings are checked against the target's digest by the caller
}

const std::string kPoints(kPointsAsset);
const std::string kHours(kHoursAsset);
const google::protobuf::RepeatedPtrField<std::string> kNoTags;

// An account that must exist with `kind` (and be active unless `frozen_ok`); the reason it
// does not, or empty.
std::string AccountProblem(const State& state, const std::string& id, v1::AccountKind kind,
                           bool frozen_ok) {
  auto account = state.accounts.find(id);
  if (account == state.accounts.end()) return Cat("unknown account ", id);
  if (account->second.record.kind() != kind) {
    return Cat(id, " is ", KindName(account->second.record.kind()), ", not ", KindName(kind));
  }
  if (!frozen_ok && account->second.record.status() != v1::ACCOUNT_STATUS_ACTIVE) {
    return Cat("account ", id, " is frozen");
  }
  return "";
}

// A usage key (member 0x00 sku 0x00 period) as "member/sku/period".
std::string ShowKey(std::string key) {
  std::replace(key.begin(), key.end(), '\0', '/');
  return key;
}

// Whose usage a member's baskets count under (the engine's rule, coded again): the member, and
// the household too when grouped; the limit holds for each.
std::vector<std::string> UsageOwnersOf(const State& state, const std::string& member) {
  std::vector<std::string> owners{member};
  auto household = state.households.find(member);
  if (household != state.households.end() && !household->second.empty()) {
    owners.push_back("household:" + household->second);
  }
  return owners;
}

// The recorded pricing must be the one the rules give.
bool SamePricing(const v1::Pricing& expected, const v1::Pricing& recorded) {
  return expected.SerializeAsString() == recorded.SerializeAsString();
}

// A basket priced from the catalogue by the rules (the engine's PriceBasket, coded again):
// the accounts, the lines and, paid with hours, the ratio in force. The problem, or empty.
struct Basket {
  v1::Pricing pricing;
  Int128 total = 0;
  Int128 hours = 0;
  std::string exchange;
};
std::string PriceBasket(const std::string& member, const std::string& store,
                        const google::protobuf::RepeatedPtrField<v1::BasketLine>& lines,
                        const std::string& pay_asset, const State& state, Basket* basket) {
  for (const auto& [id, kind] :
       {std::pair{&member, v1::ACCOUNT_KIND_MEMBER}, std::pair{&store, v1::ACCOUNT_KIND_STORE}}) {
    if (auto problem = AccountProblem(state, *id, kind, false); !problem.empty()) return problem;
  }
  v1::Pricing& pricing = basket->pricing;
  pricing.set_pay_asset(pay_asset);
  for (const auto& line : lines) {
    auto item = state.items.find(ItemKey(store, line.sku()));
    if (item == state.items.end()) return Cat(store, " sells no ", line.sku());
    if (!item->second.active()) return Cat(line.sku(), " is not for sale");
    if (!MinorFromString(item->second.price_minor())) return "an undecodable price";
    basket->total +=
        AddPricedLine(&pricing, line.sku(), line.quantity(), item->second.price_minor());
  }
  pricing.set_total_points_minor(Text(basket->total));
  if (pay_asset == kPoints) return "";
  if (!state.exchange_policy) return "paid with HOURS before any exchange ratio";
  const v1::ExchangePolicy& policy = *state.exchange_policy;
  if (auto problem =
          AccountProblem(state, policy.exchange_account(), v1::ACCOUNT_KIND_ISSUER, false);
      !problem.empty()) {
    return problem;
  }
  auto hours_asset = state.assets.find(kHours);
  auto ratio = MinorFromString(policy.points_per_hour_minor());
  if (hours_asset == state.assets.end() || !ratio) return "no usable HOURS ratio";
  auto hours = PointsToHours(basket->total, *ratio, hours_asset->second.scale, Rounding::kUp);
  if (!hours) return "hours beyond any balance";
  pricing.set_points_per_hour_minor(policy.points_per_hour_minor());
  pricing.set_hours_minor(Text(*hours));
  basket->hours = *hours;
  basket->exchange = policy.exchange_account();
  return "";
}

void CheckPricing(const v1::Pricing& expected, const v1::Entry& entry, std::uint64_t seq,
                  Findings& findings) {
  if (!SamePricing(expected, entry.pricing())) {
    findings.Add(FindingKind::kPostingsMismatch, seq, "",
                 Cat("pricing ", expected.ShortDebugString()),
                 Cat("pricing ", entry.pricing().ShortDebugString()));
  }
}

// Usage under the limits in force: a basket takes its value and units in the periods of `time`
// (reported past a cap); a return gives them back (never below zero).
void TakeUsage(const std::string& member, std::int64_t time, const std::string& sku,
               const Int128& amount, std::uint64_t seq, State& state, Findings& findings) {
  auto limit = state.limits.find(sku);
  if (limit == state.limits.end() || limit->second.maximum_minor() == "0") return;
  for (const std::string& owner : UsageOwnersOf(state, member)) {
    const std::string key = UsageKey(owner, sku, limit->second.period(), time);
    Int128& used = state.usage[key];
    used += amount;
    if (used > *MinorFromString(limit->second.maximum_minor())) {
      findings.Add(FindingKind::kRuleViolated, seq, ShowKey(key),
                   Cat("at most ", limit->second.maximum_minor()), Text(used));
    }
  }
}
void GiveBackUsage(const std::string& member, std::int64_t time, const std::string& sku,
                   const Int128& amount, State& state) {
  auto limit = state.limits.find(sku);
  if (limit == state.limits.end() || limit->second.maximum_minor() == "0" || amount == 0) return;
  for (const std::string& owner : UsageOwnersOf(state, member)) {
    Int128& used = state.usage[UsageKey(owner, sku, limit->second.period(), time)];
    used = used > amount ? used - amount : Int128(0);
  }
}

Expectation ExpectCheckout(const v1::Entry& entry, std::uint64_t seq, State& state,
                           Findings& findings) {
  const v1::Checkout& checkout = entry.command().checkout();
  Expectation expectation;
  expectation.moves_value = true;
  Basket basket;
  if (auto problem = PriceBasket(checkout.member(), checkout.store(), checkout.lines(),
                                 checkout.pay_asset(), state, &basket);
      !problem.empty()) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a checkout the rules allow", problem);
    expectation.ok = false;
    return expectation;
  }
  for (const auto& line : checkout.lines()) {
    expectation.postings.push_back(
        PostingView{checkout.store(), line.sku(), -Int128(line.quantity())});
    expectation.postings.push_back(
        PostingView{checkout.member(), line.sku(), Int128(line.quantity())});
  }
  if (checkout.pay_asset() == kPoints) {
    expectation.postings.push_back(PostingView{checkout.member(), kPoints, -basket.total});
    expectation.postings.push_back(PostingView{checkout.store(), kPoints, basket.total});
  } else {
    expectation.postings.push_back(PostingView{checkout.member(), kHours, -basket.hours});
    expectation.postings.push_back(
        PostingView{state.exchange_policy->exchange_account(), kHours, basket.hours});
    expectation.postings.push_back(
        PostingView{state.exchange_policy->exchange_account(), kPoints, -basket.total});
    expectation.postings.push_back(PostingView{checkout.store(), kPoints, basket.total});
  }
  CheckPricing(basket.pricing, entry, seq, findings);
  // Limits per member and period, at the entry's time.
  TakeUsage(checkout.member(), entry.time_unix_us(), "", basket.total, seq, state, findings);
  for (const auto& line : checkout.lines()) {
    TakeUsage(checkout.member(), entry.time_unix_us(), line.sku(), Int128(line.quantity()), seq,
              state, findings);
  }
  state.sales[seq] =
      State::Sale{checkout.member(), checkout.store(), basket.exchange, std::move(basket.pricing)};
  state.sale_times[seq] = entry.time_unix_us();
  return expectation;
}

// ---- Holds ----

const std::string kEscrow(kHoldsAccount);

Expectation ExpectAuthorizeHold(const v1::Entry& entry, std::uint64_t seq, State& state,
                                Findings& findings) {
  const v1::AuthorizeHold& authorize = entry.command().authorize_hold();
  Expectation expectation;
  Basket basket;
  std::string problem = PriceBasket(authorize.member(), authorize.store(), authorize.lines(),
                                    authorize.pay_asset(), state, &basket);
  auto escrow = state.accounts.find(kEscrow);
  if (problem.empty() && escrow != state.accounts.end() &&
      escrow->second.record.kind() != v1::ACCOUNT_KIND_SYSTEM) {
    problem = Cat(kEscrow, " is not a SYSTEM account");
  }
  if (!problem.empty()) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a hold the rules allow", problem);
    expectation.ok = false;
    return expectation;
  }
  if (escrow == state.accounts.end()) {  // the first hold opens the escrow account
    State::Account account;
    account.record.set_account(kEscrow);
    account.record.set_kind(v1::ACCOUNT_KIND_SYSTEM);
    account.record.set_display_name(std::string(kHoldsAccountName));
    account.record.set_status(v1::ACCOUNT_STATUS_ACTIVE);
    account.record.set_opened_seq(seq);
    account.record.set_status_seq(seq);
    account.Sync();
    AddAccount(state, kEscrow, std::move(account));
  }
  for (const auto& line : authorize.lines()) {
    expectation.postings.push_back(
        PostingView{authorize.store(), line.sku(), -Int128(line.quantity())});
    expectation.postings.push_back(PostingView{kEscrow, line.sku(), Int128(line.quantity())});
  }
  if (authorize.pay_asset() == kPoints) {
    expectation.postings.push_back(PostingView{authorize.member(), kPoints, -basket.total});
    expectation.postings.push_back(PostingView{kEscrow, kPoints, basket.total});
  } else {
    expectation.postings.push_back(PostingView{authorize.member(), kHours, -basket.hours});
    expectation.postings.push_back(PostingView{kEscrow, kHours, basket.hours});
    expectation.postings.push_back(
        PostingView{state.exchange_policy->exchange_account(), kPoints, -basket.total});
    expectation.postings.push_back(PostingView{kEscrow, kPoints, basket.total});
  }
  CheckPricing(basket.pricing, entry, seq, findings);
  TakeUsage(authorize.member(), entry.time_unix_us(), "", basket.total, seq, state, findings);
  for (const auto& line : authorize.lines()) {
    TakeUsage(authorize.member(), entry.time_unix_us(), line.sku(), Int128(line.quantity()), seq,
              state, findings);
  }
  v1::HoldRecord& hold = state.holds[seq];
  hold.set_seq(seq);
  hold.set_member(authorize.member());
  hold.set_store(authorize.store());
  *hold.mutable_pricing() = std::move(basket.pricing);
  hold.set_exchange_account(basket.exchange);
  hold.set_time_unix_us(entry.time_unix_us());
  hold.set_expires_unix_us(HoldExpiresAt(entry.time_unix_us(), authorize.timeout_seconds()));
  hold.set_state(v1::HOLD_STATE_OPEN);
  state.open_holds.emplace(hold.expires_unix_us(), seq);
  return expectation;
}

// Capture, void and release: the hold must be open (and, for capture and void, at the store
// named, before its expiry; for a release, at or after it). The postings return what was not
// captured; the copies of ids live in `state.holds`, which outlives the expectation.
Expectation ExpectCloseHold(const v1::Entry& entry, std::uint64_t seq, State& state,
                            Findings& findings) {
  const v1::Command& command = entry.command();
  Expectation expectation;
  auto violated = [&](std::string what) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a hold closed by the rules",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  const std::uint64_t hold_seq = command.has_capture_hold() ? command.capture_hold().hold_seq()
                                 : command.has_void_hold()  ? command.void_hold().hold_seq()
                                                            : command.release_hold().hold_seq();
  auto found = state.holds.find(hold_seq);
  if (found == state.holds.end() || hold_seq >= seq) return violated(Cat("no hold ", hold_seq));
  v1::HoldRecord& hold = found->second;
  if (hold.state() != v1::HOLD_STATE_OPEN) {
    return violated(Cat("hold ", hold_seq, " was closed by entry ", hold.closed_seq()));
  }
  const std::string& store = command.has_capture_hold() ? command.capture_hold().store()
                             : command.has_void_hold()  ? command.void_hold().store()
                                                        : hold.store();
  if (store != hold.store()) return violated(Cat("hold ", hold_seq, " is at ", hold.store()));
  if (command.has_release_hold() ? entry.time_unix_us() < hold.expires_unix_us()
                                 : entry.time_unix_us() >= hold.expires_unix_us()) {
    return violated(Cat("hold ", hold_seq, " expires at ", hold.expires_unix_us(), "; entry time ",
                        entry.time_unix_us()));
  }
  const v1::Pricing& held = hold.pricing();
  const bool hours = held.pay_asset() == kHours;
  v1::Pricing captured;
  bool capture = command.has_capture_hold();
  if (capture) {
    for (const std::string* id : {&hold.member(), &hold.store()}) {
      if (state.accounts.at(*id).record.status() != v1::ACCOUNT_STATUS_ACTIVE) {
        return violated(Cat("account ", *id, " is frozen"));
      }
    }
    if (command.capture_hold().lines().empty()) {
      captured = held;
    } else {
      captured.set_pay_asset(held.pay_asset());
      Int128 total = 0;
      for (const auto& line : command.capture_hold().lines()) {
        auto priced = std::find_if(held.lines().begin(), held.lines().end(),
                                   [&](const auto& item) { return item.sku() == line.sku(); });
        if (priced == held.lines().end() || line.quantity() > priced->quantity()) {
          return violated(Cat("a capture of ", line.quantity(), " ", line.sku(), " not held"));
        }
        total += AddPricedLine(&captured, line.sku(), line.quantity(), priced->unit_price_minor());
      }
      captured.set_total_points_minor(Text(total));
      if (hours) {
        std::optional<Int128> paid =
            captured.total_points_minor() == held.total_points_minor()
                ? MinorFromString(held.hours_minor())
                : PointsToHours(total, *MinorFromString(held.points_per_hour_minor()),
                                state.assets.at(kHours).scale, Rounding::kUp);
        if (!paid) return violated("hours that do not convert");
        captured.set_points_per_hour_minor(held.points_per_hour_minor());
        captured.set_hours_minor(Text(*paid));
      }
    }
    CheckPricing(captured, entry, seq, findings);
  } else if (entry.has_pricing()) {
    findings.Add(FindingKind::kPostingsMismatch, seq, "", "no pricing",
                 Cat("pricing ", entry.pricing().ShortDebugString()));
  }
  auto move = [&](const std::string& to, const std::string& asset, const Int128& amount) {
    if (amount == 0) return;
    expectation.postings.push_back(PostingView{kEscrow, asset, -amount});
    expectation.postings.push_back(PostingView{to, asset, amount});
  };
  // The captured lines and hours are parsed from `captured`, which dies with this function:
  // the postings name skus through `held` (it lives in state.holds).
  for (const auto& line : held.lines()) {
    std::uint32_t taken = 0;
    for (const auto& sold : captured.lines()) {
      if (sold.sku() == line.sku()) taken = sold.quantity();
    }
    move(hold.member(), line.sku(), Int128(taken));
    move(hold.store(), line.sku(), Int128(line.quantity() - taken));
    GiveBackUsage(hold.member(), hold.time_unix_us(), line.sku(), Int128(line.quantity() - taken),
                  state);
  }
  const Int128 total = *MinorFromString(held.total_points_minor());
  const Int128 sold = capture ? *MinorFromString(captured.total_points_minor()) : Int128(0);
  if (!hours) {
    move(hold.store(), kPoints, sold);
    move(hold.member(), kPoints, total - sold);
  } else {
    const Int128 paid = capture ? *MinorFromString(captured.hours_minor()) : Int128(0);
    move(hold.exchange_account(), kHours, paid);
    move(hold.member(), kHours, *MinorFromString(held.hours_minor()) - paid);
    move(hold.store(), kPoints, sold);
    move(hold.exchange_account(), kPoints, total - sold);
  }
  GiveBackUsage(hold.member(), hold.time_unix_us(), "", total - sold, state);
  state.open_holds.erase({hold.expires_unix_us(), hold_seq});
  hold.set_state(capture                   ? v1::HOLD_STATE_CAPTURED
                 : command.has_void_hold() ? v1::HOLD_STATE_VOIDED
                                           : v1::HOLD_STATE_RELEASED);
  hold.set_closed_seq(seq);
  if (capture) {
    expectation.moves_value = false;  // returned by Refund, not by Reverse
    state.sales[seq] =
        State::Sale{hold.member(), hold.store(), hold.exchange_account(), std::move(captured)};
    state.sale_times[seq] = hold.time_unix_us();
  }
  return expectation;
}

Expectation ExpectRefund(const v1::Entry& entry, std::uint64_t seq, State& state,
                         Findings& findings) {
  const v1::Refund& refund = entry.command().refund();
  const std::uint64_t target = refund.checkout_seq();
  Expectation expectation;
  expectation.moves_value = false;  // a refund is not itself reversible
  auto invalid = [&](std::string what) {
    findings.Add(FindingKind::kReversalInvalid, seq, "", "a refund of lines sold and not refunded",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  auto sale = state.sales.find(target);
  if (sale == state.sales.end() || target >= seq) {
    return invalid(Cat("entry ", target, " is not an earlier checkout or captured hold"));
  }
  if (state.entries[target - 1].reversed_by != 0) {
    return invalid(
        Cat("checkout ", target, " was reversed by ", state.entries[target - 1].reversed_by));
  }
  const v1::Pricing& sold = sale->second.pricing;
  v1::Pricing pricing;
  pricing.set_pay_asset(sold.pay_asset());
  Int128 total = 0;
  for (const auto& line : refund.lines()) {
    auto priced = std::find_if(sold.lines().begin(), sold.lines().end(),
                               [&](const auto& item) { return item.sku() == line.sku(); });
    if (priced == sold.lines().end()) return invalid(Cat("it sold no ", line.sku()));
    if (line.quantity() > priced->quantity())
      return invalid(Cat("more ", line.sku(), " than sold"));
    const std::string key = RefundedLineKey(target, line.sku());
    if (auto earlier = state.refunded_lines.find(key); earlier != state.refunded_lines.end()) {
      return invalid(Cat("line ", line.sku(), " was refunded by ", earlier->second));
    }
    total += AddPricedLine(&pricing, line.sku(), line.quantity(), priced->unit_price_minor());
  }
  pricing.set_total_points_minor(Text(total));
  const std::string& member = sale->second.member;
  const std::string& store = sale->second.store;
  for (const auto& line : refund.lines()) {
    expectation.postings.push_back(PostingView{member, line.sku(), -Int128(line.quantity())});
    expectation.postings.push_back(PostingView{store, line.sku(), Int128(line.quantity())});
  }
  if (sold.pay_asset() == kPoints) {
    expectation.postings.push_back(PostingView{store, kPoints, -total});
    expectation.postings.push_back(PostingView{member, kPoints, total});
  } else {
    const bool whole = Text(total) == sold.total_points_minor();
    std::optional<Int128> hours =
        whole ? MinorFromString(sold.hours_minor())
              : PointsToHours(total, *MinorFromString(sold.points_per_hour_minor()),
                              state.assets.at(kHours).scale, Rounding::kDown);
    if (!hours) return invalid("hours that do not convert");
    pricing.set_points_per_hour_minor(sold.points_per_hour_minor());
    pricing.set_hours_minor(Text(*hours));
    const std::string& exchange = sale->second.exchange;
    expectation.postings.push_back(PostingView{store, kPoints, -total});
    expectation.postings.push_back(PostingView{exchange, kPoints, total});
    if (*hours != 0) {
      expectation.postings.push_back(PostingView{exchange, kHours, -*hours});
      expectation.postings.push_back(PostingView{member, kHours, *hours});
    }
  }
  if (!SamePricing(pricing, entry.pricing())) {
    findings.Add(FindingKind::kPostingsMismatch, seq, "",
                 Cat("pricing ", pricing.ShortDebugString()),
                 Cat("pricing ", entry.pricing().ShortDebugString()));
  }
  for (const auto& line : refund.lines()) {
    state.refunded_lines[RefundedLineKey(target, line.sku())] = seq;
  }
  auto sold_at = state.sale_times.find(target);
  const std::int64_t time = sold_at == state.sale_times.end() ? 0 : sold_at->second;
  GiveBackUsage(member, time, "", total, state);
  for (const auto& line : refund.lines()) {
    GiveBackUsage(member, time, line.sku(), Int128(line.quantity()), state);
  }
  return expectation;
}

// The first microsecond of the programme month after the one holding `time_unix_us`.
std::int64_t NextMonthStart(std::int64_t time_unix_us) {
  using namespace std::chrono;
  const std::string start = PeriodStart(v1::PERIOD_MONTH, time_unix_us);  // "M2026-11-01"
  const year_month next = year{std::stoi(start.substr(1, 4))} /
                              month{static_cast<unsigned>(std::stoi(start.substr(6, 2)))} +
                          months{1};
  const sys_days day = sys_days(next / 1);
  return duration_cast<microseconds>(day.time_since_epoch()).count() -
         kProgrammeUtcOffsetSeconds * 1'000'000;
}

// Moves the programme month on when `entry` starts a later one: the month left behind keeps
// the members' totals as they were after its last entry.
void AdvanceMonth(const v1::Entry& entry, State& state) {
  if (entry.time_unix_us() < state.current_month_end_us) return;
  if (!state.current_month.empty()) {
    ProgrammeMonth& left = state.programme_months[state.current_month];
    left.month = state.current_month;
    left.outstanding_hours_minor = boost::multiprecision::cpp_int(state.member_hours_minor);
    left.outstanding_points_minor = boost::multiprecision::cpp_int(state.member_points_minor);
    left.last_seq = entry.seq() - 1;
  }
  state.current_month = PeriodStart(v1::PERIOD_MONTH, entry.time_unix_us()).substr(1, 7);
  state.current_month_end_us = NextMonthStart(entry.time_unix_us());
}

ProgrammeMonth& MonthFigures(State& state, const std::string& month) {
  ProgrammeMonth& figures = state.programme_months[month];
  figures.month = month;
  return figures;
}

// The month figures of one applied entry (audit.h ProgrammeMonth): hours per team, awards and
// deductions per rule, reversals.
void AddProgrammeMonth(const v1::Entry& entry, const Postings& recorded, State& state) {
  using boost::multiprecision::cpp_int;
  const v1::Command& command = entry.command();
  if (recorded.empty()) return;  // pending, administrative
  auto member_points = [&](std::string_view member) {
    Int128 sum = 0;
    for (const PostingView& posting : recorded) {
      if (posting.account == member && posting.asset == kPointsAsset) sum += posting.amount;
    }
    return sum;
  };
  if (command.has_earn() && command.earn().asset() == kHours) {
    const std::string month = ServiceDay(command.earn(), entry.time_unix_us()).substr(0, 7);
    const std::string& team = command.earn().activity().team();
    ProgrammeMonth& figures = MonthFigures(state, month);
    figures.team_hours_minor[team] += cpp_int(-recorded[0].amount);  // all it earned
    ++figures.team_earnings[team];
    state.earn_teams[entry.seq()] = {month, team};
    return;
  }
  ProgrammeMonth& figures = MonthFigures(state, state.current_month);
  auto count = [&](const std::string& rule, const Int128& to_member) {
    if (to_member > 0) {
      figures.awarded_minor[rule] += cpp_int(to_member);
      ++figures.awards[rule];
    } else if (to_member < 0) {
      figures.deducted_minor[rule] += cpp_int(-to_member);
      ++figures.deductions[rule];
    }
  };
  if (command.has_earn() && command.earn().asset() == kPointsAsset) {
    count("", member_points(command.earn().to()));
  } else if (command.has_deduct() && command.deduct().asset() == kPointsAsset) {
    count("", member_points(command.deduct().from()));
  } else if ((command.has_award() || command.has_approve()) && entry.has_award() &&
             entry.award().asset() == kPointsAsset) {
    count(entry.award().rule(), member_points(entry.award().member()));
  } else if (command.has_reverse()) {
    auto earned = state.earn_teams.find(command.reverse().seq());
    if (earned != state.earn_teams.end()) {
      ProgrammeMonth& served = MonthFigures(state, earned->second.first);
      for (const PostingView& posting : recorded) {
        if (posting.amount > 0)
          served.team_hours_minor[earned->second.second] -= cpp_int(posting.amount);
      }
      --served.team_earnings[earned->second.second];
      return;
    }
    for (const PostingView& posting : recorded) {
      auto account = state.accounts.find(Absl(posting.account));
      if (posting.asset == kPointsAsset && posting.amount < 0 && account != state.accounts.end() &&
          account->second.record.kind() == v1::ACCOUNT_KIND_MEMBER) {
        figures.reversed_points_minor += cpp_int(-posting.amount);
      }
    }
  }
}

// The store's month figures (audit.h StoreMonth) for a value-moving supermarket entry.
void AddStoreMonth(const v1::Entry& entry, State& state) {
  using boost::multiprecision::cpp_int;
  const v1::Command& command = entry.command();
  auto month_of = [&](const std::string& store) -> StoreMonth& {
    const std::string month = PeriodStart(v1::PERIOD_MONTH, entry.time_unix_us()).substr(1, 7);
    StoreMonth& figures = state.store_months[{store, month}];
    figures.store = store;
    figures.month = month;
    return figures;
  };
  auto minor = [](const std::string& text) {
    auto value = MinorFromString(text);
    return value ? cpp_int(*value) : cpp_int(0);
  };
  if (command.has_checkout()) {
    StoreMonth& figures = month_of(command.checkout().store());
    ++figures.baskets;
    figures.points_minor += minor(entry.pricing().total_points_minor());
    if (!entry.pricing().hours_minor().empty())
      figures.hours_minor += minor(entry.pricing().hours_minor());
  } else if (command.has_capture_hold()) {
    auto sale = state.sales.find(entry.seq());
    if (sale == state.sales.end()) return;
    StoreMonth& figures = month_of(sale->second.store);
    ++figures.baskets;
    figures.points_minor += minor(entry.pricing().total_points_minor());
    if (!entry.pricing().hours_minor().empty())
      figures.hours_minor += minor(entry.pricing().hours_minor());
  } else if (command.has_refund()) {
    auto sale = state.sales.find(command.refund().checkout_seq());
    if (sale == state.sales.end()) return;
    StoreMonth& figures = month_of(sale->second.store);
    ++figures.refunds;
    figures.refunded_minor += minor(entry.pricing().total_points_minor());
  } else if (command.has_redeem() && command.redeem().asset() == kPoints) {
    for (const auto& posting : entry.postings()) {
      if (posting.account() == command.redeem().to()) {
        month_of(posting.account()).redeemed_minor += minor(posting.amount_minor());
      }
    }
  } else if (command.has_settle() && command.settle().asset() == kPoints) {
    for (const auto& posting : entry.postings()) {
      if (posting.account() == command.settle().to()) {
        month_of(command.settle().from()).settled_minor += minor(posting.amount_minor());
      }
    }
  }
}

Expectation ExpectAdmin(const v1::Command& command, std::uint64_t seq, State& state,
                        Findings& findings) {
  Expectation expectation;
  auto violated = [&](std::string what) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "an administrative change the rules allow",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  if (command.has_open_account()) {
    const auto& open = command.open_account();
    if (state.accounts.contains(open.account()))
      return violated(Cat("account ", open.account(), " exists"));
    State::Account account;
    for (const auto& budget : open.budgets()) {
      auto asset = state.assets.find(budget.asset());
      if (asset == state.assets.end())
        return violated(Cat("budget in unknown asset ", budget.asset()));
      AmountParse amount =
          ParseAmount(budget.amount(), asset->second.scale, asset->second.maximum_minor);
      if (!amount.ok())
        return violated(Cat("budget ", budget.amount(), ": ", ReasonName(amount.reason)));
      account.budgets_minor[budget.asset()] = amount.amount.minor();
    }
    auto& record = account.record;
    record.set_account(open.account());
    record.set_kind(open.kind());
    record.set_display_name(open.display_name());
    record.set_status(v1::ACCOUNT_STATUS_ACTIVE);
    *record.mutable_budgets() = open.budgets();
    record.set_opened_seq(seq);
    record.set_status_seq(seq);
    std::vector<std::string> tags(open.tags().begin(), open.tags().end());
    std::sort(tags.begin(), tags.end());
    for (auto& tag : tags) record.add_tags(std::move(tag));
    account.Sync();
    AddAccount(state, open.account(), std::move(account));
  } else if (command.has_define_asset()) {
    const auto& define = command.define_asset();
    if (state.assets.contains(define.code()))
      return violated(Cat("asset ", define.code(), " exists"));
    AmountParse maximum = ParseAmount(define.maximum(), define.scale(), MinorAbsoluteMax());
    if (!maximum.ok() || maximum.amount.is_zero())
      return violated(Cat("maximum ", define.maximum()));
    State::Asset asset;
    asset.scale = define.scale();
    asset.maximum_minor = maximum.amount.minor();
    asset.record.set_code(define.code());
    asset.record.set_scale(define.scale());
    asset.record.set_maximum_minor(Text(asset.maximum_minor));
    asset.record.set_display_name(define.display_name());
    asset.record.set_defined_seq(seq);
    state.assets.emplace(define.code(), std::move(asset));
  } else if (command.has_grant_principal()) {
    const auto& grant = command.grant_principal();
    if (state.principals.contains(grant.principal()))
      return violated(Cat("principal ", grant.principal(), " exists"));
    if (!state.token_hashes.insert(grant.token_sha256()).second)
      return violated(Cat("principal ", grant.principal(), " reuses another principal's token"));
    const v1::AccountKind kind = grant.role() == v1::ROLE_ISSUER     ? v1::ACCOUNT_KIND_ISSUER
                                 : grant.role() == v1::ROLE_TERMINAL ? v1::ACCOUNT_KIND_STORE
                                                                     : v1::ACCOUNT_KIND_MEMBER;
    for (const auto& id : grant.accounts()) {
      auto account = state.accounts.find(id);
      if (account == state.accounts.end() || account->second.record.kind() != kind)
        return violated(Cat("principal ", grant.principal(), " bound to ", id,
                            ", not an open account of the role's kind"));
    }
    v1::PrincipalRecord record;
    record.set_principal(grant.principal());
    record.set_role(grant.role());
    *record.mutable_accounts() = grant.accounts();
    record.set_token_sha256(grant.token_sha256());
    record.set_display_name(grant.display_name());
    record.set_granted_seq(seq);
    state.principals.emplace(grant.principal(), std::move(record));
  } else if (command.has_revoke_principal()) {
    auto principal = state.principals.find(command.revoke_principal().principal());
    if (principal == state.principals.end())
      return violated(Cat("unknown principal ", command.revoke_principal().principal()));
    if (principal->second.revoked_seq() != 0) return violated("principal revoked twice");
    principal->second.set_revoked_seq(seq);
  } else if (command.has_set_item()) {
    const auto& set = command.set_item();
    if (auto problem = AccountProblem(state, set.store(), v1::ACCOUNT_KIND_STORE, true);
        !problem.empty()) {
      return violated(problem);
    }
    auto points = state.assets.find(kPoints);
    if (points == state.assets.end()) return violated("no POINTS asset to price in");
    const AmountParse price =
        ParseAmount(set.price(), points->second.scale, points->second.maximum_minor);
    if (!price.ok() || price.amount.is_zero()) return violated(Cat("price ", set.price()));
    auto stock = state.assets.find(set.sku());
    if (stock != state.assets.end() && !stock->second.record.stock()) {
      return violated(Cat(set.sku(), " is an asset, not an item"));
    }
    if (stock == state.assets.end()) {
      State::Asset asset;
      asset.record = StockAssetRecord(set.sku(), set.name(), seq);
      asset.scale = asset.record.scale();
      asset.maximum_minor = *MinorFromString(asset.record.maximum_minor());
      state.assets.emplace(set.sku(), std::move(asset));
    }
    v1::ItemRecord& item = state.items[ItemKey(set.store(), set.sku())];
    if (item.defined_seq() == 0) item.set_defined_seq(seq);
    item.set_store(set.store());
    item.set_sku(set.sku());
    item.set_name(set.name());
    item.set_unit(set.unit());
    item.set_price_minor(Text(price.amount.minor()));
    item.set_active(set.active());
    item.set_changed_seq(seq);
  } else if (command.has_set_exchange_ratio()) {
    const auto& set = command.set_exchange_ratio();
    if (auto problem = AccountProblem(state, set.exchange_account(), v1::ACCOUNT_KIND_ISSUER, true);
        !problem.empty()) {
      return violated(problem);
    }
    auto points = state.assets.find(kPoints);
    if (points == state.assets.end() || !state.assets.contains(kHours)) {
      return violated("the ratio needs HOURS and POINTS");
    }
    const AmountParse ratio =
        ParseAmount(set.points_per_hour(), points->second.scale, points->second.maximum_minor);
    if (!ratio.ok() || ratio.amount.is_zero()) {
      return violated(Cat("points per hour ", set.points_per_hour()));
    }
    v1::ExchangePolicy policy;
    policy.set_points_per_hour_minor(Text(ratio.amount.minor()));
    policy.set_exchange_account(set.exchange_account());
    policy.set_seq(seq);
    state.exchange_policy = std::move(policy);
  } else if (command.has_set_limit()) {
    const auto& set = command.set_limit();
    auto asset = state.assets.find(set.sku().empty() ? kPoints : set.sku());
    if (asset == state.assets.end() || (!set.sku().empty() && !asset->second.record.stock())) {
      return violated(Cat("a limit on ", set.sku().empty() ? kPoints : set.sku()));
    }
    const AmountParse maximum =
        ParseAmount(set.maximum(), asset->second.scale, asset->second.maximum_minor);
    if (!maximum.ok()) return violated(Cat("maximum ", set.maximum()));
    v1::LimitRecord& record = state.limits[set.sku()];
    record.set_sku(set.sku());
    record.set_period(set.period());
    record.set_maximum_minor(Text(maximum.amount.minor()));
    record.set_seq(seq);
  } else if (command.has_set_household()) {
    const auto& set = command.set_household();
    for (const auto& member : set.members()) {
      if (auto problem = AccountProblem(state, member, v1::ACCOUNT_KIND_MEMBER, true);
          !problem.empty()) {
        return violated(problem);
      }
    }
    for (auto& [member, household] : state.households) {
      if (household == set.household() &&
          std::find(set.members().begin(), set.members().end(), member) == set.members().end()) {
        household.clear();
      }
    }
    for (const auto& member : set.members()) state.households[member] = set.household();
  } else if (command.has_set_daily_hours_cap()) {
    auto hours = state.assets.find(kHours);
    if (hours == state.assets.end()) return violated("no asset HOURS");
    const std::string& text = command.set_daily_hours_cap().maximum();
    const AmountParse maximum = ParseAmount(text, hours->second.scale, hours->second.maximum_minor);
    if (!maximum.ok()) return violated(Cat("maximum ", text));
    v1::DailyHoursCap cap;
    cap.set_maximum_minor(Text(maximum.amount.minor()));
    cap.set_seq(seq);
    state.daily_cap = std::move(cap);
  } else if (command.has_set_hours_cap()) {
    const auto& set = command.set_hours_cap();
    auto hours = state.assets.find(kHours);
    if (hours == state.assets.end()) return violated("no asset HOURS");
    const AmountParse maximum =
        ParseAmount(set.maximum(), hours->second.scale, hours->second.maximum_minor);
    if (!maximum.ok()) return violated(Cat("maximum ", set.maximum()));
    v1::HoursCap cap;
    cap.set_maximum_minor(Text(maximum.amount.minor()));
    if (!maximum.amount.is_zero()) {
      if (auto problem = AccountProblem(state, set.pool_account(), v1::ACCOUNT_KIND_SYSTEM, true);
          !problem.empty()) {
        return violated(problem);
      }
      cap.set_pool_account(set.pool_account());
    }
    cap.set_seq(seq);
    state.hours_cap = std::move(cap);
  } else if (command.has_set_star_levels()) {
    auto hours = state.assets.find(kHours);
    if (hours == state.assets.end()) return violated("no asset HOURS");
    v1::StarLevels levels;
    Int128 previous = 0;
    for (const auto& threshold : command.set_star_levels().thresholds()) {
      const AmountParse parsed =
          ParseAmount(threshold, hours->second.scale, hours->second.maximum_minor);
      if (!parsed.ok() || parsed.amount.minor() <= previous) {
        return violated(Cat("star thresholds ascending from above zero; ", threshold));
      }
      previous = parsed.amount.minor();
      levels.add_thresholds_minor(Text(previous));
    }
    levels.set_seq(seq);
    state.star_levels = std::move(levels);
  } else if (command.has_set_account_status()) {
    const auto& set = command.set_account_status();
    auto account = state.accounts.find(set.account());
    if (account == state.accounts.end()) return violated(Cat("unknown account ", set.account()));
    if (account->second.record.status() == set.status()) return violated("status unchanged");
    account->second.record.set_status(set.status());
    account->second.record.set_status_seq(seq);
    account->second.Sync();
  } else {
    // A command routed here without a rule of its own: never passed silently.
    return violated(Cat("no audit rule for command ", static_cast<int>(command.body_case())));
  }
  return expectation;
}

// ---- Programme rules (issue #7): an independent reading of ledger/engine/programme.cc ----

template <class Repeated>
void SetSorted(const Repeated& from, google::protobuf::RepeatedPtrField<std::string>* to) {
  std::vector<std::string> sorted(from.begin(), from.end());
  std::sort(sorted.begin(), sorted.end());
  to->Clear();
  for (auto& item : sorted) to->Add(std::move(item));
}

// The transfer rule for a member giving `asset`: the most restrictive of its tags' policies
// (student POINTS: CLOSED unless a policy says otherwise), else the programme-wide one, else OPEN.
std::pair<v1::TransferRule, std::string> TransferRuleFor(const State& state,
                                                         const State::Account& giver,
                                                         const std::string& asset) {
  std::optional<std::pair<v1::TransferRule, std::string>> strictest;
  // `tagged` spares the record's cache lines for the untagged majority.
  for (const auto& tag : giver.tagged ? giver.record.tags() : kNoTags) {
    std::pair<v1::TransferRule, std::string> rule{v1::TRANSFER_RULE_UNSPECIFIED, ""};
    if (auto policy = state.transfer_policies.find(TransferPolicyKey(asset, tag));
        policy != state.transfer_policies.end()) {
      rule = {policy->second.policy().rule(), policy->second.policy().pool_account()};
    } else if (tag == kStudentTag && asset == kPointsAsset) {
      rule.first = v1::TRANSFER_RULE_CLOSED;
    }
    if (rule.first == v1::TRANSFER_RULE_UNSPECIFIED) continue;
    if (!strictest || rule.first > strictest->first) strictest = rule;
  }
  if (strictest) return *strictest;
  if (state.transfer_policies.empty()) return {v1::TRANSFER_RULE_OPEN, ""};
  if (auto policy = state.transfer_policies.find(TransferPolicyKey(asset, ""));
      policy != state.transfer_policies.end()) {
    return {policy->second.policy().rule(), policy->second.policy().pool_account()};
  }
  return {v1::TRANSFER_RULE_OPEN, ""};
}

Expectation ExpectTransfer(const v1::Move& move, std::uint64_t seq, State& state,
                           Findings& findings) {
  v1::AccountKind to_kind = v1::ACCOUNT_KIND_MEMBER;
  const State::Account* giver = FindAccount(state, move.from());
  if (giver != nullptr && giver->kind == v1::ACCOUNT_KIND_MEMBER) {
    const auto [rule, pool] = TransferRuleFor(state, *giver, move.asset());
    const auto& relatives = giver->record.relatives();
    std::string broken;
    if (rule == v1::TRANSFER_RULE_CLOSED) {
      broken = Cat(move.asset(), " of ", move.from(), " is not transferable");
    } else if (rule == v1::TRANSFER_RULE_FAMILY_OR_POOL) {
      if (!pool.empty() && move.to() == pool) {
        to_kind = v1::ACCOUNT_KIND_SYSTEM;
      } else if (std::find(relatives.begin(), relatives.end(), move.to()) == relatives.end()) {
        broken = Cat(move.to(), " is not registered family of ", move.from());
      }
    }
    if (!broken.empty()) {
      findings.Add(FindingKind::kRuleViolated, seq, "", "a transfer the policy allows", broken);
      Expectation refused;
      refused.ok = false;
      return refused;
    }
  }
  return ExpectMove(move, v1::ACCOUNT_KIND_MEMBER, to_kind, false, seq, state, findings);
}

// The pending record an Approve, Reject or ExpirePending closes, if it is open.
v1::PendingRecord* OpenPendingOf(std::uint64_t target, State& state) {
  auto pending = state.pending.find(target);
  if (pending == state.pending.end() || pending->second.state() != v1::PENDING_STATE_PENDING) {
    return nullptr;
  }
  return &pending->second;
}

void NewPending(v1::PendingRecord pending, const v1::Entry& entry, State& state) {
  pending.set_seq(entry.seq());
  pending.set_maker(entry.command().actor());
  pending.set_time_unix_us(entry.time_unix_us());
  pending.set_expires_unix_us(entry.time_unix_us() + kPendingLifetimeMicros);
  pending.set_state(v1::PENDING_STATE_PENDING);
  state.open_pending.emplace(pending.expires_unix_us(), entry.seq());
  state.pending[entry.seq()] = std::move(pending);
}

void GiveBackAward(const std::string& key, State& state) {
  auto used = state.usage.find(key);
  if (used != state.usage.end() && used->second > 0) used->second -= 1;
}

Expectation ExpectProgramme(const v1::Entry& entry, std::uint64_t seq, State& state,
                            Findings& findings, std::string* touched) {
  const v1::Command& command = entry.command();
  Expectation expectation;
  auto violated = [&](std::string what) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a programme rule kept", std::move(what));
    expectation.ok = false;
    return expectation;
  };
  auto account_of = [&](const std::string& id) -> State::Account* {
    auto account = state.accounts.find(id);
    return account == state.accounts.end() ? nullptr : &account->second;
  };
  auto non_stock = [&](const std::string& code) -> const State::Asset* {
    auto asset = state.assets.find(code);
    return asset == state.assets.end() || asset->second.record.stock() ? nullptr : &asset->second;
  };
  switch (command.body_case()) {
    case v1::Command::kSetAccountTags: {
      State::Account* account = account_of(command.set_account_tags().account());
      if (account == nullptr) return violated("tags for an unknown account");
      SetSorted(command.set_account_tags().tags(), account->record.mutable_tags());
      account->Sync();
      *touched = command.set_account_tags().account();
      break;
    }
    case v1::Command::kSetFamily: {
      const auto& set = command.set_family();
      for (const auto& id : set.relatives()) {
        if (auto problem = AccountProblem(state, id, v1::ACCOUNT_KIND_MEMBER, true);
            !problem.empty()) {
          return violated(problem);
        }
      }
      if (auto problem = AccountProblem(state, set.member(), v1::ACCOUNT_KIND_MEMBER, true);
          !problem.empty()) {
        return violated(problem);
      }
      SetSorted(set.relatives(), account_of(set.member())->record.mutable_relatives());
      *touched = set.member();
      break;
    }
    case v1::Command::kSetTransferPolicy: {
      const auto& set = command.set_transfer_policy();
      if (non_stock(set.asset()) == nullptr) return violated(Cat("a policy for ", set.asset()));
      if (!set.pool_account().empty()) {
        if (auto problem = AccountProblem(state, set.pool_account(), v1::ACCOUNT_KIND_SYSTEM, true);
            !problem.empty()) {
          return violated(problem);
        }
      }
      v1::TransferPolicyRecord& record =
          state.transfer_policies[TransferPolicyKey(set.asset(), set.tag())];
      *record.mutable_policy() = set;
      record.set_seq(seq);
      break;
    }
    case v1::Command::kSetAwardRule: {
      const auto& rule = command.set_award_rule();
      const State::Asset* asset = non_stock(rule.asset());
      if (asset == nullptr) return violated(Cat("a rule in ", rule.asset()));
      const AmountParse amount = ParseAmount(rule.amount(), asset->scale, asset->maximum_minor);
      if (!amount.ok() || amount.amount.is_zero()) return violated(Cat("amount ", rule.amount()));
      v1::AwardRuleRecord& record = state.award_rules[AwardRuleKey(rule.code())];
      if (record.defined_seq() == 0) record.set_defined_seq(seq);
      *record.mutable_rule() = rule;
      SetSorted(rule.eligible_tags(), record.mutable_rule()->mutable_eligible_tags());
      record.set_changed_seq(seq);
      break;
    }
    case v1::Command::kSetApprovalThreshold: {
      const auto& set = command.set_approval_threshold();
      const State::Asset* asset = non_stock(set.asset());
      if (asset == nullptr) return violated(Cat("a threshold for ", set.asset()));
      const AmountParse amount = ParseAmount(set.amount(), asset->scale, asset->maximum_minor);
      if (!amount.ok()) return violated(Cat("amount ", set.amount()));
      v1::ApprovalThresholdRecord& record =
          state.approval_thresholds[ApprovalThresholdKey(set.asset())];
      record.set_asset(set.asset());
      record.set_amount_minor(Text(amount.amount.minor()));
      record.set_seq(seq);
      break;
    }
    case v1::Command::kAward: {
      const auto& award = command.award();
      auto rule_record = state.award_rules.find(AwardRuleKey(award.rule()));
      if (rule_record == state.award_rules.end()) return violated(Cat("no rule ", award.rule()));
      const v1::SetAwardRule& rule = rule_record->second.rule();
      if (!rule.active()) return violated(Cat("rule ", award.rule(), " is retired"));
      for (const auto& [id, kind] : {std::pair{&award.member(), v1::ACCOUNT_KIND_MEMBER},
                                     std::pair{&award.issuer(), v1::ACCOUNT_KIND_ISSUER}}) {
        if (auto problem = AccountProblem(state, *id, kind, false); !problem.empty()) {
          return violated(problem);
        }
      }
      const auto& tags = account_of(award.member())->record.tags();
      for (const auto& tag : rule.eligible_tags()) {
        if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
          return violated(Cat(award.member(), " lacks the tag ", tag, " of ", award.rule()));
        }
      }
      const State::Asset* asset = non_stock(rule.asset());
      const Int128 amount =
          ParseAmount(rule.amount(), asset->scale, asset->maximum_minor).amount.minor();
      v1::AwardFacts facts;
      facts.set_rule(award.rule());
      facts.set_member(award.member());
      facts.set_asset(rule.asset());
      facts.set_amount_minor(Text(amount));
      facts.set_period(AwardPeriod(rule.frequency(), entry.time_unix_us()));
      if (facts.SerializeAsString() != entry.award().SerializeAsString()) {
        findings.Add(FindingKind::kRecordDiffers, seq, "award facts", facts.ShortDebugString(),
                     entry.award().ShortDebugString());
      }
      if (!facts.period().empty()) {
        const std::string key = AwardUsageKey(award.member(), award.rule(), facts.period());
        Int128& used = state.usage[key];
        if (used >= 1)
          return violated(
              Cat(award.member(), " had ", award.rule(), " in ", facts.period(), " already"));
        used += 1;
        state.award_usage_keys[seq] = key;
      }
      if (rule.needs_approval()) {
        v1::PendingRecord pending;
        pending.set_rule(award.rule());
        pending.set_from(rule.deduction() ? award.member() : award.issuer());
        pending.set_to(rule.deduction() ? award.issuer() : award.member());
        pending.set_member(award.member());
        pending.set_asset(rule.asset());
        pending.set_amount_minor(Text(amount));
        pending.set_period(facts.period());
        NewPending(std::move(pending), entry, state);
        *touched = award.member();
        state.award_usage_keys.erase(seq);  // the approval, not this entry, is reversible
      } else {
        expectation.moves_value = true;
        const std::string& payer = rule.deduction() ? award.member() : award.issuer();
        const std::string& payee = rule.deduction() ? award.issuer() : award.member();
        expectation.postings.push_back(PostingView{payer, rule.asset(), -amount});
        expectation.postings.push_back(PostingView{payee, rule.asset(), amount});
      }
      break;
    }
    case v1::Command::kApprove: {
      v1::PendingRecord* pending = OpenPendingOf(command.approve().seq(), state);
      if (pending == nullptr)
        return violated(Cat("entry ", command.approve().seq(), " is not pending"));
      if (command.actor() == pending->maker()) return violated("approved by its own maker");
      for (const std::string* id : {&pending->from(), &pending->to()}) {
        State::Account* account = account_of(*id);
        if (account == nullptr || account->record.status() != v1::ACCOUNT_STATUS_ACTIVE) {
          return violated(Cat("account ", *id, " is not active"));
        }
      }
      const Int128 amount = *MinorFromString(pending->amount_minor());
      expectation.moves_value = true;
      expectation.postings.push_back(PostingView{pending->from(), pending->asset(), -amount});
      expectation.postings.push_back(PostingView{pending->to(), pending->asset(), amount});
      if (!pending->rule().empty()) {
        v1::AwardFacts facts;
        facts.set_rule(pending->rule());
        facts.set_member(pending->member());
        facts.set_asset(pending->asset());
        facts.set_amount_minor(pending->amount_minor());
        facts.set_period(pending->period());
        if (facts.SerializeAsString() != entry.award().SerializeAsString()) {
          findings.Add(FindingKind::kRecordDiffers, seq, "award facts", facts.ShortDebugString(),
                       entry.award().ShortDebugString());
        }
        if (!pending->period().empty()) {
          state.award_usage_keys[seq] =
              AwardUsageKey(pending->member(), pending->rule(), pending->period());
        }
      } else if (entry.has_award()) {
        findings.Add(FindingKind::kRecordDiffers, seq, "award facts",
                     "none on the approval of an earning", entry.award().ShortDebugString());
      }
      pending->set_state(v1::PENDING_STATE_APPROVED);
      pending->set_closed_seq(seq);
      state.open_pending.erase({pending->expires_unix_us(), pending->seq()});
      break;
    }
    case v1::Command::kReject:
    case v1::Command::kExpirePending: {
      const bool expire = command.has_expire_pending();
      const std::uint64_t target = expire ? command.expire_pending().seq() : command.reject().seq();
      v1::PendingRecord* pending = OpenPendingOf(target, state);
      if (pending == nullptr) return violated(Cat("entry ", target, " is not pending"));
      if (expire && entry.time_unix_us() < pending->expires_unix_us()) {
        return violated(Cat("entry ", target, " lapsed before its expiry"));
      }
      if (!pending->rule().empty() && !pending->period().empty()) {
        GiveBackAward(AwardUsageKey(pending->member(), pending->rule(), pending->period()), state);
      }
      pending->set_state(expire ? v1::PENDING_STATE_EXPIRED : v1::PENDING_STATE_REJECTED);
      pending->set_closed_seq(seq);
      state.open_pending.erase({pending->expires_unix_us(), pending->seq()});
      *touched = pending->member();
      break;
    }
    default:
      // A command routed here without a rule of its own: never passed silently.
      return violated(Cat("no audit rule for command ", static_cast<int>(command.body_case())));
  }
  return expectation;
}

}  // namespace

void Findings::Add(FindingKind kind, std::uint64_t seq, std::string where, std::string expected,
                   std::string found) {
  ++total;
  if (kept.size() < kFindingsKept) {
    kept.push_back(Finding{kind, seq, std::move(where), std::move(expected), std::move(found)});
  }
}

std::uint64_t RequestDigest(std::string_view request_key, std::uint64_t seq,
                            const Hash& fingerprint) {
  return absl::HashOf(
      absl::string_view(request_key.data(), request_key.size()), seq,
      absl::string_view(reinterpret_cast<const char*>(fingerprint.data()), fingerprint.size()));
}

std::uint64_t NextLineDigest(std::uint64_t digest, std::uint64_t seq, std::string_view line_bytes) {
  return absl::HashOf(digest, seq, absl::string_view(line_bytes.data(), line_bytes.size()));
}

void AppendLegText(std::string* text, std::string_view asset, std::string_view amount_minor,
                   std::string_view balance_after_minor) {
  text->append(asset).append(" ").append(amount_minor).append(" ").append(balance_after_minor);
  text->push_back(';');
}

std::string LegsText(const v1::StatementLine& line) {
  std::string text;
  for (const auto& leg : line.legs()) {
    AppendLegText(&text, leg.asset(), leg.amount_minor(), leg.balance_after_minor());
  }
  return text;
}

void ReplayEntry(const v1::Entry& entry, const Hash& fingerprint, State& state,
                 Findings& findings) {
  const std::uint64_t seq = entry.seq();
  const v1::Command& command = entry.command();
  if (state.entries.size() < seq) state.entries.resize(seq);

  if (entry.time_unix_us() < state.time_unix_us) {
    findings.Add(FindingKind::kTimeWentBack, seq, "", Cat(">= ", state.time_unix_us),
                 Cat(entry.time_unix_us()));
  }
  state.time_unix_us = std::max(state.time_unix_us, entry.time_unix_us());
  AdvanceMonth(entry, state);
  // Authority, on the grants as they stood before this entry (authority.cc).
  if (std::string problem = AuthorityProblem(entry, state); !problem.empty()) {
    findings.Add(FindingKind::kActorNotAuthorized, seq, Cat("actor ", Excerpt(command.actor())),
                 "an unrevoked grant that permits this command on this target", std::move(problem));
  }

  // An expired hold is released before the engine decides anything later (releases of several
  // expired holds follow one another).
  if (!command.has_release_hold() && !state.open_holds.empty() &&
      state.open_holds.begin()->first <= entry.time_unix_us()) {
    findings.Add(
        FindingKind::kRuleViolated, seq, Cat("hold ", state.open_holds.begin()->second),
        Cat("released at its expiry ", state.open_holds.begin()->first, " before any later entry"),
        Cat("still open at entry time ", entry.time_unix_us()));
  }
  if (!command.has_expire_pending() && !command.has_release_hold() && !state.open_pending.empty() &&
      state.open_pending.begin()->first <= entry.time_unix_us()) {
    findings.Add(
        FindingKind::kRuleViolated, seq, Cat("pending ", state.open_pending.begin()->second),
        Cat("lapsed at its expiry ", state.open_pending.begin()->first, " before any later entry"),
        Cat("still pending at entry time ", entry.time_unix_us()));
  }
  if (entry.has_award() && !command.has_award() && !command.has_approve()) {
    findings.Add(FindingKind::kRecordDiffers, seq, "award facts", "none on this kind of entry",
                 entry.award().ShortDebugString());
  }
  const SyntaxCheck syntax = CheckCommandSyntax(command);
  if (syntax.reason != Reason::kOk) {
    findings.Add(FindingKind::kCommandInvalid, seq, "", "a command the engine accepts",
                 Cat(ReasonName(syntax.reason), ": ", syntax.message));
  }
  const State::Request request{seq, fingerprint};
  // Request ids are each actor's own: unique per (actor, request id).
  std::string request_key = RequestKey(command.actor(), command.request_id());
  if (state.mode == State::Mode::kFast) {
    // A repeated 64-bit hash (FinishReplay looks) is a duplicate request id or (about 1 in 10^7
    // at 10^6 entries) a collision: the exact pass tells which.
    state.request_hashes.push_back(absl::HashOf(absl::string_view(request_key)));
    if (state.compare_store) {
      state.requests_digest += RequestDigest(request_key, seq, request.fingerprint);
    }
  } else if (auto [it, inserted] = state.requests.try_emplace(std::move(request_key), request);
             !inserted) {
    findings.Add(FindingKind::kRequestIdDuplicate, seq,
                 Cat("request ", command.request_id(), " of ", command.actor()),
                 "a request id used once per actor", Cat("also used by entry ", it->second.seq));
  }

  // The recorded postings, decoded.
  Postings recorded;
  for (const auto& posting : entry.postings()) {
    auto amount = MinorFromString(posting.amount_minor());
    if (!amount || *amount == 0) {
      findings.Add(FindingKind::kPostingsMismatch, seq, "", "a non-zero integer amount",
                   posting.amount_minor());
      continue;
    }
    recorded.push_back(PostingView{posting.account(), posting.asset(), *amount});
  }

  Expectation expectation;
  std::string_view touched;  // an account with a statement line but no leg
  std::string touched_text;  // its storage when no command field holds it
  if (syntax.reason != Reason::kOk) {
    // Reported above (kCommandInvalid): nothing the command implies can be judged, and its
    // fields may be out of any range the checks below assume (a scale of 40, found by
    // fuzz/entry_fuzz.cc).
    expectation.ok = false;
  } else {
    switch (command.body_case()) {
      case v1::Command::kEarn: {
        expectation = ExpectMove(command.earn(), v1::ACCOUNT_KIND_ISSUER, v1::ACCOUNT_KIND_MEMBER,
                                 false, seq, state, findings);
        bool needs_approval = false;
        if (auto threshold =
                state.approval_thresholds.find(ApprovalThresholdKey(command.earn().asset()));
            expectation.ok && command.earn().asset() != kHours &&
            threshold != state.approval_thresholds.end() &&
            threshold->second.amount_minor() != "0") {
          // The threshold is cumulative per issuer account, member, asset and programme day:
          // what was posted without approval plus this earning. Approved earnings do not count,
          // reversals give nothing back.
          std::string key = ApprovalUsageKey(command.earn().from(), command.earn().to(),
                                             command.earn().asset(), entry.time_unix_us());
          auto used = state.usage.find(key);
          const Int128 after = (used == state.usage.end() ? Int128(0) : used->second) +
                               expectation.postings[1].amount;
          needs_approval = after > *MinorFromString(threshold->second.amount_minor());
          if (!needs_approval) state.usage[std::move(key)] = after;
        }
        if (needs_approval) {
          // Above the approval threshold: pending, nothing posted until an Approve.
          v1::PendingRecord pending;
          pending.set_from(command.earn().from());
          pending.set_to(command.earn().to());
          pending.set_member(command.earn().to());
          pending.set_asset(command.earn().asset());
          pending.set_amount_minor(Text(expectation.postings[1].amount));
          NewPending(std::move(pending), entry, state);
          expectation.postings.clear();
          expectation.moves_value = false;
          touched = command.earn().to();
          break;
        }
        if (expectation.ok && command.earn().asset() == kHours && state.hours_cap &&
            state.hours_cap->maximum_minor() != "0") {
          // The storage cap: the member up to it, the rest to the donation pool.
          const Int128 amount = expectation.postings[1].amount;
          const Int128 maximum = *MinorFromString(state.hours_cap->maximum_minor());
          // ExpectMove found both accounts and the asset.
          const Int128 held(state.accounts.find(command.earn().to())
                                ->second.HeldMinor(state.assets.find(kHours)->first));
          const Int128 kept = std::min(amount, std::max(Int128(0), maximum - held));
          expectation.postings.pop_back();
          if (kept != 0) expectation.postings.push_back({command.earn().to(), kHours, kept});
          if (kept != amount) {
            expectation.postings.push_back(
                {state.hours_cap->pool_account(), kHours, amount - kept});
          }
          if (kept == 0) touched = command.earn().to();
        }
        break;
      }
      case v1::Command::kDeduct:
        expectation = ExpectMove(command.deduct(), v1::ACCOUNT_KIND_MEMBER, v1::ACCOUNT_KIND_ISSUER,
                                 false, seq, state, findings);
        break;
      case v1::Command::kRedeem:
        expectation = ExpectMove(command.redeem(), v1::ACCOUNT_KIND_MEMBER, v1::ACCOUNT_KIND_STORE,
                                 false, seq, state, findings);
        break;
      case v1::Command::kTransfer:
        expectation = ExpectTransfer(command.transfer(), seq, state, findings);
        break;
      case v1::Command::kSetAccountTags:
      case v1::Command::kSetFamily:
      case v1::Command::kSetTransferPolicy:
      case v1::Command::kSetAwardRule:
      case v1::Command::kSetApprovalThreshold:
      case v1::Command::kAward:
      case v1::Command::kApprove:
      case v1::Command::kReject:
      case v1::Command::kExpirePending:
        expectation = ExpectProgramme(entry, seq, state, findings, &touched_text);
        touched = touched_text;
        break;
      case v1::Command::kReceiveStock:
        expectation = ExpectMove(command.receive_stock(), v1::ACCOUNT_KIND_ISSUER,
                                 v1::ACCOUNT_KIND_STORE, true, seq, state, findings);
        break;
      case v1::Command::kWriteOffStock:
        expectation = ExpectMove(command.write_off_stock(), v1::ACCOUNT_KIND_STORE,
                                 v1::ACCOUNT_KIND_ISSUER, true, seq, state, findings);
        break;
      case v1::Command::kSettle:
        expectation = ExpectMove(command.settle(), v1::ACCOUNT_KIND_STORE, v1::ACCOUNT_KIND_ISSUER,
                                 false, seq, state, findings);
        break;
      case v1::Command::kCheckout:
        expectation = ExpectCheckout(entry, seq, state, findings);
        break;
      case v1::Command::kRefund:
        expectation = ExpectRefund(entry, seq, state, findings);
        break;
      case v1::Command::kAuthorizeHold:
        expectation = ExpectAuthorizeHold(entry, seq, state, findings);
        break;
      case v1::Command::kCaptureHold:
      case v1::Command::kVoidHold:
      case v1::Command::kReleaseHold:
        expectation = ExpectCloseHold(entry, seq, state, findings);
        break;
      case v1::Command::kReverse: {
        const std::uint64_t target = command.reverse().seq();
        expectation = ExpectReverse(target, seq, state, findings);
        if (expectation.ok) {
          Postings negated = recorded;
          for (PostingView& posting : negated) posting.amount = -posting.amount;
          if (PostingsDigest(negated) != state.entries[target - 1].postings_digest) {
            findings.Add(FindingKind::kPostingsMismatch, seq, "",
                         Cat("the postings of entry ", target, " negated"), "other postings");
          }
          // A reversed award gives its frequency back.
          if (auto key = state.award_usage_keys.find(target); key != state.award_usage_keys.end()) {
            GiveBackAward(key->second, state);
          }
        }
        break;
      }
      case v1::Command::kOpenAccount:
        expectation = ExpectAdmin(command, seq, state, findings);
        touched = command.open_account().account();
        break;
      case v1::Command::kSetAccountStatus:
        expectation = ExpectAdmin(command, seq, state, findings);
        touched = command.set_account_status().account();
        break;
      case v1::Command::kDefineAsset:
      case v1::Command::kGrantPrincipal:
      case v1::Command::kRevokePrincipal:
      case v1::Command::kSetItem:
      case v1::Command::kSetExchangeRatio:
      case v1::Command::kSetLimit:
      case v1::Command::kSetHousehold:
      case v1::Command::kSetStarLevels:
      case v1::Command::kSetHoursCap:
      case v1::Command::kSetDailyHoursCap:
        expectation = ExpectAdmin(command, seq, state, findings);
        break;
      case v1::Command::BODY_NOT_SET:
        break;  // reported as kCommandInvalid above
    }
  }
  const std::size_t recorded_digest = PostingsDigest(recorded);
  if (expectation.ok && command.body_case() != v1::Command::kReverse &&
      PostingsDigest(expectation.postings) != recorded_digest) {
    findings.Add(FindingKind::kPostingsMismatch, seq, "",
                 Cat(expectation.postings.size(), " postings implied by the command"),
                 Cat(recorded.size(), " recorded postings that differ"));
  }
  state.entries[seq - 1].moves_value = expectation.moves_value;
  if (expectation.ok) RecordOwner(entry, state);  // refunds name captured holds too
  // Cumulative earned hours (star levels): an Earn of HOURS adds, the reversal of one takes
  // back what it credited; nothing else changes them.
  auto add_earned = [&](std::string_view member, const Int128& delta) {
    v1::VolunteerRecord& record = state.volunteers[std::string(member)];
    const Int128 before = record.earned_hours_minor().empty()
                              ? Int128(0)
                              : *MinorFromString(record.earned_hours_minor());
    record.set_account(std::string(member));
    record.set_earned_hours_minor(Text(before + delta));
    record.set_changed_seq(seq);
  };
  if (expectation.ok && command.has_earn() && command.earn().asset() == kHours) {
    state.entries[seq - 1].earned_hours = true;
    add_earned(command.earn().to(), -expectation.postings[0].amount);  // all it earned
    const std::string day = ServiceDay(command.earn(), entry.time_unix_us());
    if (state.daily_cap && state.daily_cap->maximum_minor() != "0") {
      const std::string key = ServiceDayKey(command.earn().to(), day);
      Int128& used = state.usage[key];
      used -= expectation.postings[0].amount;
      if (used > *MinorFromString(state.daily_cap->maximum_minor())) {
        findings.Add(FindingKind::kRuleViolated, seq, ShowKey(key),
                     Cat("at most ", state.daily_cap->maximum_minor(), " HOURS minor a day"),
                     Text(used));
      }
    }
    state.earn_days[seq] = day;
    if (std::none_of(expectation.postings.begin(), expectation.postings.end(),
                     [&](const PostingView& p) { return p.account == command.earn().to(); })) {
      state.pool_only_earns[seq] = command.earn().to();
    }
  } else if (expectation.ok && command.has_reverse() &&
             state.entries[command.reverse().seq() - 1].earned_hours) {
    // The member: the MEMBER account the reversal takes hours from, or (an earning that went
    // wholly to the pool) the one remembered; the amount: all the earning credited.
    std::string member;
    Int128 earned = 0;
    for (const PostingView& posting : recorded) {
      if (posting.amount > 0) earned += posting.amount;
      auto account = state.accounts.find(Absl(posting.account));
      if (posting.amount < 0 && account != state.accounts.end() &&
          account->second.record.kind() == v1::ACCOUNT_KIND_MEMBER) {
        member = std::string(posting.account);
      }
    }
    if (auto pool_only = state.pool_only_earns.find(command.reverse().seq());
        pool_only != state.pool_only_earns.end()) {
      member = pool_only->second;
    }
    if (!member.empty()) {
      add_earned(member, -earned);
      // The day's recorded hours under the daily cap give it back (never below zero).
      auto day = state.earn_days.find(command.reverse().seq());
      if (day != state.earn_days.end()) {
        auto used = state.usage.find(ServiceDayKey(member, day->second));
        if (used != state.usage.end() && used->second != 0) {
          used->second = used->second > earned ? used->second - earned : Int128(0);
        }
      }
    }
  }
  if (expectation.ok && command.body_case() != v1::Command::kTransfer) {
    AddStoreMonth(entry, state);
    AddProgrammeMonth(entry, recorded, state);
  }
  if (command.body_case() != v1::Command::kTransfer && !recorded.empty()) {
    const std::string& kind =
        v1::Command::descriptor()->FindFieldByNumber(command.body_case())->name();
    for (const PostingView& posting : recorded) {
      if (posting.amount > 0) {
        state.flows[{std::string(posting.asset), kind}] +=
            boost::multiprecision::cpp_int(posting.amount);
      }
    }
  }
  state.entries[seq - 1].postings_digest = recorded_digest;

  // Zero sum per asset (invariant 1).
  absl::InlinedVector<std::pair<std::string_view, Int128>, 2> sums;
  for (const PostingView& posting : recorded) {
    auto sum = std::find_if(sums.begin(), sums.end(),
                            [&](const auto& item) { return item.first == posting.asset; });
    if (sum == sums.end()) {
      sums.emplace_back(posting.asset, posting.amount);
    } else {
      sum->second += posting.amount;
    }
  }
  for (const auto& [asset, sum] : sums) {
    if (sum != 0)
      findings.Add(FindingKind::kZeroSumViolated, seq, std::string(asset), "0", Text(sum));
  }

  // Apply the recorded postings: the derived records follow what the journal says happened.
  // One statement line per account touched, its legs in posting order.
  absl::InlinedVector<std::pair<std::string_view, std::string>, 2> lines;
  auto line_of = [&lines](std::string_view account) -> std::string& {
    for (auto& line : lines) {
      if (line.first == account) return line.second;
    }
    return lines.emplace_back(account, std::string()).second;
  };
  if (!touched.empty()) line_of(touched);
  for (const PostingView& posting : recorded) {
    State::Account* account = FindAccount(state, posting.account);
    auto asset = state.assets.find(posting.asset);
    if (account == nullptr || asset == state.assets.end()) {
      findings.Add(FindingKind::kRuleViolated, seq, Cat(posting.account, "/", posting.asset),
                   "a posting to an open account in a defined asset", "unknown account or asset");
      continue;
    }
    State::Account::Held& held = account->BalanceOf(asset->first);
    const Int128 minor = Int128(held.minor) + posting.amount;
    held.minor = static_cast<RawInt128>(minor);
    held.seq = seq;
    const v1::AccountKind kind = account->kind;
    if (kind == v1::ACCOUNT_KIND_MEMBER) {
      if (posting.asset == kHours) state.member_hours_minor += posting.amount;
      if (posting.asset == kPoints) state.member_points_minor += posting.amount;
    }
    Int128 floor = 0;
    if (kind == v1::ACCOUNT_KIND_ISSUER && asset->second.record.stock()) {
      floor = -asset->second.maximum_minor;  // donated goods: no budget limits them
    } else if (kind == v1::ACCOUNT_KIND_ISSUER) {
      auto budget = account->budgets_minor.find(posting.asset);
      floor = budget == account->budgets_minor.end() ? Int128(0) : Int128(-budget->second);
    }
    if ((posting.amount < 0 && minor < floor) ||
        (posting.amount > 0 && minor > asset->second.maximum_minor)) {
      findings.Add(FindingKind::kBalanceLimit, seq, Cat(posting.account, "/", posting.asset),
                   Cat("between ", Text(floor), " and ", Text(asset->second.maximum_minor)),
                   Text(minor));
    }
    if (state.compare_store) {
      // Exact mode keeps the lines as text to name a difference; fast mode digests them as
      // the bytes the store holds (NextLineDigest).
      (state.mode == State::Mode::kExact ? AppendLegText : AppendStatementLeg)(
          &line_of(posting.account), posting.asset, Text(posting.amount), Text(minor));
    }
  }
  if (!state.compare_store) return;
  for (auto& [account, text] : lines) {
    if (state.mode == State::Mode::kExact) {
      state.statement_lines[std::string(account)].emplace_back(seq, std::move(text));
    } else if (State::Account* found = FindAccount(state, account); found != nullptr) {
      found->lines_digest = NextLineDigest(found->lines_digest, seq, text);
      ++found->lines_count;
    } else {
      state.needs_exact = true;  // a line for an account that does not exist: name it exactly
    }
  }
}

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
