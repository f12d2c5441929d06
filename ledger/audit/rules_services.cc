// The audit's rules of services (issue #26; docs/exchange.md), written apart from the engine's
// (ledger/rules/services.cc) from the documented rules: a request's hours leave the requester
// for the escrow "system:holds" at its acceptance and leave the escrow at its confirmation,
// resolution, cancellation or lapse — paid to the provider, the rest back. Each entry must be a
// step its service's state allows; the record each step leaves is kept for the comparison with
// the store's services family (compare.cc).

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {
namespace {

const std::string kEscrowAccount(kHoldsAccount);

bool Live(v1::ServiceState state) {
  return state == v1::SERVICE_STATE_OPEN || state == v1::SERVICE_STATE_ACCEPTED ||
         state == v1::SERVICE_STATE_COMPLETED || state == v1::SERVICE_STATE_DISPUTED;
}

v1::ServicePolicy PolicyOf(const State& state) {
  auto it = state.settings.find(SettingKeyOf<v1::ServicePolicy>());
  return it == state.settings.end() ? v1::ServicePolicy() : it->second.value().service_policy();
}

// `text` as HOURS minor units above zero (or zero when `zero_ok`), within the asset; nullopt
// when it is not.
std::optional<Int128> Hours(const std::string& text, bool zero_ok, const State& state) {
  auto asset = state.assets.find(kHours);
  if (asset == state.assets.end()) return std::nullopt;
  AmountParse parsed = ParseAmount(text, asset->second.scale, asset->second.maximum_minor);
  if (!parsed.ok() || (!zero_ok && parsed.amount.minor() == 0)) return std::nullopt;
  return parsed.amount.minor();
}

bool CarriesOne(const State& state, const std::string& member,
                const google::protobuf::RepeatedPtrField<std::string>& tags) {
  if (tags.empty()) return true;
  const v1::AccountRecord& record = state.accounts.find(member)->second.record;
  for (const auto& tag : tags) {
    for (const auto& own : record.tags()) {
      if (own == tag) return true;
    }
  }
  return false;
}

void Index(v1::ServiceRecord& service, bool add, State& state) {
  if (!Live(service.state())) return;
  if (add) {
    ++state.live_services_by_member[service.member()];
    if (service.expires_unix_us() != 0) {
      state.service_expiries.emplace(service.expires_unix_us(), service.seq());
    }
  } else {
    if (--state.live_services_by_member[service.member()] == 0) {
      state.live_services_by_member.erase(service.member());
    }
    state.service_expiries.erase({service.expires_unix_us(), service.seq()});
  }
}

}  // namespace

Expectation ExpectService(const v1::Entry& entry, std::uint64_t seq, State& state,
                          Findings& findings, std::string* touched) {
  const v1::Command& command = entry.command();
  Expectation expectation;
  auto violated = [&](std::string what) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a service step its rules allow",
                 std::move(what));
    expectation.ok = false;
    return expectation;
  };
  const std::int64_t time = entry.time_unix_us();
  if (command.has_post_service()) {
    const v1::PostService& post = command.post_service();
    const bool request = post.kind() == v1::SERVICE_KIND_REQUEST;
    if (std::string problem = AccountProblem(state, post.member(), v1::ACCOUNT_KIND_MEMBER, false);
        !problem.empty()) {
      return violated(problem);
    }
    if (request && !post.provider().empty()) {
      if (std::string problem =
              AccountProblem(state, post.provider(), v1::ACCOUNT_KIND_MEMBER, false);
          !problem.empty()) {
        return violated(problem);
      }
    }
    const std::int64_t day_end = ProgrammeDayEnd(post.day());
    if (day_end <= time) return violated(Cat("posted for ", post.day(), ", a day already over"));
    if (day_end - time > (kServiceDaysAheadMax + 1) * 86400 * std::int64_t{1'000'000}) {
      return violated(Cat("posted for ", post.day(), ", too far ahead"));
    }
    if (auto live = state.live_services_by_member.find(post.member());
        live != state.live_services_by_member.end() && live->second >= kServiceOpenPerMemberMax) {
      return violated(Cat(post.member(), " already had ", live->second, " services standing"));
    }
    v1::ServiceRecord service;
    service.set_seq(seq);
    service.set_kind(post.kind());
    service.set_member(post.member());
    service.set_category(post.category());
    service.set_description(post.description());
    service.set_place(post.place());
    service.set_day(post.day());
    service.set_time(post.time());
    service.set_provider(post.provider());
    service.set_asked_provider(post.provider());
    service.set_state(v1::SERVICE_STATE_OPEN);
    service.set_posted_by(command.actor());
    service.set_time_unix_us(time);
    service.set_expires_unix_us(day_end);
    service.set_changed_seq(seq);
    if (request) {
      const v1::ServicePolicy policy = PolicyOf(state);
      if (!CarriesOne(state, post.member(), policy.spender_tags())) {
        return violated(Cat(post.member(), " carries no tag the policy lets spend hours"));
      }
      std::string hours = post.hours();
      const v1::ServiceCategory* category = nullptr;
      for (const auto& known : policy.categories()) {
        if (known.name() == post.category()) category = &known;
      }
      if (!policy.categories().empty() && category == nullptr) {
        return violated(Cat(Excerpt(post.category()), " is no category of the programme"));
      }
      if (hours.empty()) hours = category == nullptr ? "" : category->standard_hours();
      std::optional<Int128> minor = Hours(hours, false, state);
      if (!minor) return violated("a request without valid hours");
      service.set_hours_minor(Text(*minor));
    }
    *touched = post.member();
    Index(service, true, state);
    state.services[seq] = std::move(service);
    return expectation;
  }

  const std::uint64_t service_seq =
      command.has_accept_service()     ? command.accept_service().service_seq()
      : command.has_complete_service() ? command.complete_service().service_seq()
      : command.has_confirm_service()  ? command.confirm_service().service_seq()
      : command.has_cancel_service()   ? command.cancel_service().service_seq()
      : command.has_dispute_service()  ? command.dispute_service().service_seq()
      : command.has_resolve_service()  ? command.resolve_service().service_seq()
                                       : command.expire_service().service_seq();
  auto found = state.services.find(service_seq);
  if (found == state.services.end()) return violated(Cat("no service ", service_seq));
  v1::ServiceRecord before = found->second;
  v1::ServiceRecord after = before;
  after.set_changed_seq(seq);
  const v1::ServiceState now = before.state();
  const Int128 held =
      before.hours_minor().empty() ? Int128(0) : *MinorFromString(before.hours_minor());
  // The postings' views outlive this function and its copies of the record: an account id as
  // the state's own accounts table keeps it (a stable node), or "" for an account that does not
  // exist (the postings then differ from the recorded ones: reported).
  auto Lasting = [&state](const std::string& account) -> std::string_view {
    auto it = state.accounts.find(account);
    return it == state.accounts.end() ? std::string_view() : std::string_view(it->first);
  };
  // Paid from the escrow, the rest back to the requester; through the programme the provider's
  // credit is an Earn's: past the storage cap, to the pool. Service entries are not reversible:
  // they move value but are no `moves_value` entry a Reverse may name.
  auto pay = [&](const Int128& paid) {
    Int128 kept = paid;
    if (paid != 0 && after.funding() == v1::SERVICE_FUNDING_PROGRAMME && state.hours_cap &&
        state.hours_cap->maximum_minor() != "0") {
      const State::Account* provider = FindAccount(state, after.provider());
      const Int128 balance = provider == nullptr
                                 ? Int128(0)
                                 : Int128(provider->HeldMinor(state.assets.find(kHours)->first));
      kept = std::min(
          paid, std::max(Int128(0), *MinorFromString(state.hours_cap->maximum_minor()) - balance));
    }
    expectation.postings.push_back({kEscrowAccount, kHours, -held});
    if (kept != 0) expectation.postings.push_back({Lasting(after.provider()), kHours, kept});
    if (kept != paid) {
      expectation.postings.push_back({state.hours_cap->pool_account(), kHours, paid - kept});
    }
    if (paid != held) {
      expectation.postings.push_back({Lasting(after.member()), kHours, held - paid});
    }
  };
  auto active = [&](const std::string& id) {
    return AccountProblem(state, id, v1::ACCOUNT_KIND_MEMBER, false);
  };
  const std::int64_t day_start =
      before.day().empty() ? 0 : ProgrammeDayEnd(before.day()) - std::int64_t{86400} * 1'000'000;
  auto close = [&](v1::ServiceState state_after) {
    after.set_state(state_after);
    after.set_closed_seq(seq);
    after.set_expires_unix_us(0);
  };
  const v1::PrincipalRecord* who = nullptr;
  if (auto principal = state.principals.find(command.actor()); principal != state.principals.end())
    who = &principal->second;
  switch (command.body_case()) {
    case v1::Command::kAcceptService: {
      const std::string& provider = command.accept_service().provider();
      if (before.kind() != v1::SERVICE_KIND_REQUEST) return violated("an offer accepted");
      if (now != v1::SERVICE_STATE_OPEN) return violated("a service taken twice");
      if (provider == before.member()) return violated("a member serving itself");
      if (!before.provider().empty() && before.provider() != provider) {
        return violated(Cat("a request for ", before.provider(), " taken by ", provider));
      }
      for (const std::string* id : {&provider, &before.member()}) {
        if (std::string problem = AccountProblem(state, *id, v1::ACCOUNT_KIND_MEMBER, false);
            !problem.empty()) {
          return violated(problem);
        }
      }
      const v1::ServicePolicy policy = PolicyOf(state);
      if (!CarriesOne(state, before.member(), policy.spender_tags())) {
        return violated(Cat(before.member(), " carries no tag the policy lets spend hours"));
      }
      if (policy.funding() == v1::SERVICE_FUNDING_PROGRAMME) {
        if (std::string problem =
                AccountProblem(state, policy.issuer(), v1::ACCOUNT_KIND_ISSUER, false);
            !problem.empty()) {
          return violated(problem);
        }
        after.set_funding(v1::SERVICE_FUNDING_PROGRAMME);
        after.set_issuer(policy.issuer());
      } else {
        after.set_funding(v1::SERVICE_FUNDING_MEMBER_TO_MEMBER);
      }
      auto escrow = state.accounts.find(kEscrowAccount);
      if (escrow == state.accounts.end()) {  // the first hold or service opens the escrow
        OpenEscrow(seq, state);
      } else if (escrow->second.record.kind() != v1::ACCOUNT_KIND_SYSTEM) {
        return violated(Cat(kEscrowAccount, " is not a SYSTEM account"));
      }
      expectation.postings = {{Lasting(before.member()), kHours, -held},
                              {kEscrowAccount, kHours, held}};
      after.set_provider(provider);
      after.set_state(v1::SERVICE_STATE_ACCEPTED);
      after.set_accepted_seq(seq);
      after.set_accepted_by(command.actor());
      after.set_expires_unix_us(ProgrammeDayEnd(before.day()) + kServiceGraceMicros);
      break;
    }
    case v1::Command::kCompleteService: {
      if (now != v1::SERVICE_STATE_ACCEPTED && now != v1::SERVICE_STATE_COMPLETED) {
        return violated("a service completed that was not taken");
      }
      std::optional<Int128> claimed = Hours(command.complete_service().hours(), false, state);
      if (!claimed || *claimed > held) return violated("more hours recorded than held");
      if (std::string problem = active(before.provider()); !problem.empty()) {
        return violated(problem);
      }
      after.set_claimed_minor(Text(*claimed));
      after.set_completed_by(command.actor());
      after.set_state(v1::SERVICE_STATE_COMPLETED);
      after.set_expires_unix_us(0);
      *touched = before.member();
      break;
    }
    case v1::Command::kConfirmService:
      if (now != v1::SERVICE_STATE_COMPLETED) return violated("a service confirmed out of turn");
      if (Hours(command.confirm_service().hours(), false, state) !=
          MinorFromString(before.claimed_minor())) {
        return violated("a confirmation of other hours than the provider recorded");
      }
      for (const std::string* id : {&before.member(), &before.provider()}) {
        if (std::string problem = active(*id); !problem.empty()) return violated(problem);
      }
      pay(*MinorFromString(before.claimed_minor()));
      after.set_paid_minor(before.claimed_minor());
      close(v1::SERVICE_STATE_CONFIRMED);
      break;
    case v1::Command::kResolveService: {
      if (now != v1::SERVICE_STATE_DISPUTED) return violated("a service resolved undisputed");
      std::optional<Int128> paid = Hours(command.resolve_service().hours(), true, state);
      if (!paid || *paid > held) return violated("a decision paying more than held");
      if (*paid != 0) {
        for (const std::string* id : {&before.member(), &before.provider()}) {
          if (std::string problem = active(*id); !problem.empty()) return violated(problem);
        }
      }
      pay(*paid);
      after.set_paid_minor(Text(*paid));
      close(v1::SERVICE_STATE_RESOLVED);
      break;
    }
    case v1::Command::kDisputeService:
      if (now != v1::SERVICE_STATE_COMPLETED &&
          !(now == v1::SERVICE_STATE_ACCEPTED && time >= day_start)) {
        return violated("a service disputed out of turn");
      }
      after.set_state(v1::SERVICE_STATE_DISPUTED);
      after.set_expires_unix_us(0);
      *touched = before.member();
      break;
    case v1::Command::kCancelService:
    case v1::Command::kExpireService: {
      const bool expire = command.has_expire_service();
      if (now != v1::SERVICE_STATE_OPEN && now != v1::SERVICE_STATE_ACCEPTED) {
        return violated(expire ? "a service lapsed that could not" : "a service cancelled late");
      }
      if (expire && time < before.expires_unix_us()) return violated("a service lapsed early");
      if (before.accepted_seq() != 0) {
        pay(0);
      } else {
        *touched = before.member();
      }
      // The provider's own device withdrawing from an accepted request opens it again.
      const bool withdraws = !expire && who != nullptr && who->role() == v1::ROLE_MEMBER &&
                             now == v1::SERVICE_STATE_ACCEPTED && who->accounts_size() == 1 &&
                             who->accounts(0) == before.provider() &&
                             who->accounts(0) != before.member();
      const bool worker =
          who != nullptr && (who->role() == v1::ROLE_ISSUER || who->role() == v1::ROLE_ADMIN);
      if (!expire && !withdraws && who != nullptr && !worker && now == v1::SERVICE_STATE_ACCEPTED &&
          time >= day_start) {
        return violated("an accepted service cancelled by its requester once its day began");
      }
      if (withdraws) {
        after.set_state(v1::SERVICE_STATE_OPEN);
        after.set_accepted_seq(0);
        after.clear_accepted_by();
        after.clear_funding();
        after.clear_issuer();
        after.set_provider(before.asked_provider());
        after.set_expires_unix_us(ProgrammeDayEnd(before.day()));
      } else {
        close(expire ? v1::SERVICE_STATE_EXPIRED : v1::SERVICE_STATE_CANCELLED);
      }
      break;
    }
    default:
      return violated("no step of a service");
  }
  if (command.has_confirm_service() || command.has_resolve_service()) {
    const Int128 paid = *MinorFromString(after.paid_minor());
    if (paid != 0) {
      AddEarnedHours(after.provider(), paid, seq, state);
      // Served on the service's day: under the daily cap, with the day's earnings.
      if (state.daily_cap && state.daily_cap->maximum_minor() != "0") {
        const std::string key = ServiceDayKey(after.provider(), after.day());
        Int128& used = state.usage[key];
        used += paid;
        if (used > *MinorFromString(state.daily_cap->maximum_minor())) {
          findings.Add(FindingKind::kRuleViolated, seq, ShowKey(key),
                       Cat("at most ", state.daily_cap->maximum_minor(), " HOURS minor a day"),
                       Text(used));
        }
      }
    }
  }
  Index(found->second, false, state);
  Index(after, true, state);
  found->second = std::move(after);
  return expectation;
}

}  // namespace lovebank::audit
