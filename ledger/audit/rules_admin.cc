// The audit's rules of administrative commands: accounts, assets, principals, the catalogue,
// limits, households and the volunteer settings.

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {

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
    if (auto owner = state.card_owners.find(open.card_number());
        !open.card_number().empty() && owner != state.card_owners.end()) {
      return violated(Cat("card ", open.card_number(), " is ", owner->second, "'s"));
    }
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
    record.set_card_number(open.card_number());
    record.set_phone(open.phone());
    account.Sync();
    AddAccount(state, open.account(), std::move(account));
    if (!open.card_number().empty()) state.card_owners[open.card_number()] = open.account();
  } else if (command.has_set_budget()) {
    // An issuer's budget raised or lowered (issue #28): an ISSUER, a defined asset, an amount at
    // its scale, never below what the issuer has issued so far (minus its balance).
    const auto& set = command.set_budget();
    if (auto problem = AccountProblem(state, set.account(), v1::ACCOUNT_KIND_ISSUER, true);
        !problem.empty()) {
      return violated(Cat("a budget for ", set.account(), ": ", problem));
    }
    auto asset = state.assets.find(set.budget().asset());
    if (asset == state.assets.end())
      return violated(Cat("budget in unknown asset ", set.budget().asset()));
    if (asset->second.record.stock()) return violated(Cat("a budget in goods ", asset->first));
    const AmountParse amount =
        ParseAmount(set.budget().amount(), asset->second.scale, asset->second.maximum_minor);
    if (!amount.ok())
      return violated(Cat("budget ", set.budget().amount(), ": ", ReasonName(amount.reason)));
    State::Account& account = state.accounts.find(set.account())->second;
    const Int128 issued = -Int128(account.HeldMinor(asset->first));
    if (amount.amount.minor() < issued) {
      return violated(Cat("the budget of ", set.account(), " lowered to ", set.budget().amount(),
                          " ", set.budget().asset(), ", below the ",
                          FormatAmount(Amount::FromMinor(issued), asset->second.scale),
                          " it had issued"));
    }
    account.budgets_minor[set.budget().asset()] = amount.amount.minor();
    bool replaced = false;
    for (auto& budget : *account.record.mutable_budgets()) {
      if (budget.asset() != set.budget().asset()) continue;
      budget.set_amount(set.budget().amount());
      replaced = true;
    }
    if (!replaced) *account.record.add_budgets() = set.budget();
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
    if (grant.activation_ttl_seconds() != 0) {
      record.set_activation_expires_unix_us(
          state.time_unix_us + std::int64_t{grant.activation_ttl_seconds()} * 1'000'000);
      record.set_activation_sha256(grant.token_sha256());
    }
    state.principals.emplace(grant.principal(), std::move(record));
  } else if (command.has_activate_principal()) {
    const auto& activate = command.activate_principal();
    auto principal = state.principals.find(activate.principal());
    if (principal == state.principals.end())
      return violated(Cat("unknown principal ", activate.principal()));
    v1::PrincipalRecord& record = principal->second;
    if (record.activation_expires_unix_us() == 0 || record.activated_seq() != 0 ||
        record.revoked_seq() != 0)
      return violated(Cat(activate.principal(), " was not waiting for activation"));
    if (state.time_unix_us > record.activation_expires_unix_us())
      return violated(Cat(activate.principal(), " activated after its code expired"));
    if (!state.token_hashes.insert(activate.token_sha256()).second)
      return violated(Cat(activate.principal(), " activated with another principal's token"));
    record.set_token_sha256(activate.token_sha256());
    record.set_activated_seq(seq);
    record.set_device_name(activate.device_name());
  } else if (command.has_revoke_principal()) {
    auto principal = state.principals.find(command.revoke_principal().principal());
    if (principal == state.principals.end())
      return violated(Cat("unknown principal ", command.revoke_principal().principal()));
    if (principal->second.revoked_seq() != 0) return violated("principal revoked twice");
    principal->second.set_revoked_seq(seq);
  } else if (command.has_set_device_pin()) {
    const auto& set = command.set_device_pin();
    auto principal = state.principals.find(set.principal());
    if (principal == state.principals.end() || principal->second.role() != v1::ROLE_MEMBER ||
        principal->second.activated_seq() == 0 || principal->second.revoked_seq() != 0) {
      return violated(Cat("a PIN for ", set.principal(), ", no activated, unrevoked device"));
    }
    principal->second.set_pin_key_wrapped(set.pin_key_wrapped());
    principal->second.set_pin_wrap_nonce(set.wrap_nonce());
    principal->second.set_pin_seq(seq);
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

}  // namespace lovebank::audit
