// The audit's rules of the love supermarket: pricing from the catalogue, limits and usage,
// checkouts, holds and refunds (an independent reading of ledger/engine/supermarket.cc and
// holds.cc).

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {

// Whose usage a member's baskets count under (the engine's rule, coded again): the member, and
// the household too when grouped; the limit holds for each.
std::vector<std::string> UsageOwnersOf(const State& state, const std::string& member) {
  std::vector<std::string> owners{member};
  auto household = state.households.find(member);
  if (household != state.households.end() && !household->second.empty() &&
      "household:" + household->second != member) {  // one key, counted once
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

void OpenEscrow(std::uint64_t seq, State& state) {
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
  if (escrow == state.accounts.end()) OpenEscrow(seq, state);  // the first hold opens it
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

}  // namespace lovebank::audit
