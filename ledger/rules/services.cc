// Hours buy services as rules (ledger/rules/services.h).

#include "ledger/rules/services.h"

#include <algorithm>

#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"
#include "ledger/rules/volunteers.h"

namespace lovebank::rules {
namespace {

const std::string kHours(kHoursAsset);
const std::string kEscrow(kHoldsAccount);

const char* StateName(v1::ServiceState state) {
  switch (state) {
    case v1::SERVICE_STATE_OPEN:
      return "open";
    case v1::SERVICE_STATE_ACCEPTED:
      return "accepted";
    case v1::SERVICE_STATE_COMPLETED:
      return "completed, waiting for its confirmation";
    case v1::SERVICE_STATE_DISPUTED:
      return "disputed, waiting for a social worker";
    case v1::SERVICE_STATE_CONFIRMED:
      return "confirmed";
    case v1::SERVICE_STATE_RESOLVED:
      return "resolved";
    case v1::SERVICE_STATE_CANCELLED:
      return "cancelled";
    case v1::SERVICE_STATE_EXPIRED:
      return "expired";
    default:
      return "unknown";
  }
}

Refusal Closed(const v1::ServiceRecord& service, std::string_view step) {
  return Refusal{Reason::kServiceClosed,
                 Cat("service ", service.seq(), " is ", StateName(service.state()),
                     service.closed_seq() != 0 ? Cat(" (entry ", service.closed_seq(), ")") : "",
                     ": it cannot be ", step)};
}

bool SocialWorker(const v1::PrincipalRecord& who) {
  return who.role() == v1::ROLE_ISSUER || who.role() == v1::ROLE_ADMIN;
}

// The one account a member's device acts for; empty for any other principal.
const std::string& DeviceAccount(const v1::PrincipalRecord& who) {
  static const std::string kNone;
  return who.role() == v1::ROLE_MEMBER && who.accounts_size() == 1 ? who.accounts(0) : kNone;
}

std::optional<Refusal> ActiveMember(const std::string& account, const Context& context) {
  const AccountState* state = context.FindAccount(account);
  if (state == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", account)};
  if (state->record.kind() != v1::ACCOUNT_KIND_MEMBER) {
    return Refusal{Reason::kAccountKindMismatch, Cat(account, " is not a MEMBER account")};
  }
  if (state->record.status() == v1::ACCOUNT_STATUS_FROZEN) {
    return Refusal{Reason::kAccountFrozen, Cat("account ", account, " is frozen")};
  }
  return std::nullopt;
}

std::optional<Refusal> CheckSpender(const std::string& member, const v1::ServicePolicy& policy,
                                    const Context& context) {
  if (policy.spender_tags().empty()) return std::nullopt;
  const v1::AccountRecord& record = context.FindAccount(member)->record;
  for (const auto& tag : policy.spender_tags()) {
    if (std::find(record.tags().begin(), record.tags().end(), tag) != record.tags().end()) {
      return std::nullopt;
    }
  }
  std::string tags;
  for (const auto& tag : policy.spender_tags()) tags += (tags.empty() ? "" : ", ") + tag;
  return Refusal{Reason::kServiceNotAllowed,
                 Cat("the programme lets members tagged ", tags, " spend hours on services; ",
                     member, " carries none of them")};
}

// `hours` in HOURS' minor units: above zero (`zero_ok`: or zero) and within the asset.
OrRefusal<Int128> ParseHours(const std::string& hours, bool zero_ok, const Context& context) {
  const AssetState* asset = context.FindAsset(kHours);
  if (asset == nullptr) return Refusal{Reason::kAssetUnknown, "no HOURS asset"};
  AmountParse parsed = ParseAmount(hours, asset->scale, asset->maximum_minor);
  if (!parsed.ok()) {
    return Refusal{parsed.reason, Cat("hours ", Excerpt(hours), ": ", ReasonName(parsed.reason))};
  }
  if (!zero_ok && parsed.amount.minor() == 0) {
    return Refusal{Reason::kAmountZero, "hours must be above 0"};
  }
  return parsed.amount.minor();
}

// The escrow pays `paid` of the service's held hours and gives the rest back to the requester.
// Member to member, the provider gets them (as a transfer: no storage cap); through the programme,
// the requester's hours are redeemed to the issuer and the provider earns as many from it, as an
// Earn: under the storage cap (SetHoursCap) the part past it goes to the donation pool. The
// issuer's two legs cancel, so the entry shows the net (docs/exchange.md "Funding").
void Pay(const Int128& paid, const Context& context, ServiceChange* change) {
  v1::ServiceRecord& service = change->record;
  const Int128 held = *MinorFromString(service.hours_minor());
  Int128 kept = paid;
  std::string pool;
  if (paid != 0 && service.funding() == v1::SERVICE_FUNDING_PROGRAMME) {
    if (auto cap = context.Setting<v1::HoursCap>(meta_key::kHoursCap);
        cap && cap->maximum_minor() != "0") {
      kept = KeptUnderCap(paid, context.Balance(service.provider(), kHours).minor,
                          *MinorFromString(cap->maximum_minor()));
      pool = cap->pool_account();
    }
  }
  if (held != 0) change->postings.push_back({kEscrow, kHours, -held});
  if (kept != 0) change->postings.push_back({service.provider(), kHours, kept});
  if (kept != paid) change->postings.push_back({pool, kHours, paid - kept});
  if (held != paid) change->postings.push_back({service.member(), kHours, held - paid});
  service.set_paid_minor(MinorToString(paid));
  change->served = paid;
}

// Everything held goes back to the requester (no postings when nothing was held).
void GiveBack(const Context& context, ServiceChange* change) {
  if (change->record.accepted_seq() != 0) Pay(0, context, change);
  change->record.clear_paid_minor();
}

// The first microsecond of programme day `day`.
std::int64_t DayStart(const std::string& day) {
  return ProgrammeDayEnd(day) - std::int64_t{86400} * 1'000'000;
}

void Close(v1::ServiceState state, std::uint64_t seq, ServiceChange* change) {
  change->record.set_state(state);
  change->record.set_closed_seq(seq);
  change->record.set_expires_unix_us(0);
}

}  // namespace

v1::ServicePolicy ServicePolicyOf(const Context& context) {
  auto setting = context.Setting<v1::SettingRecord>(SettingKeyOf<v1::ServicePolicy>());
  if (!setting) return {};
  return setting->value().service_policy();
}

bool IsLive(v1::ServiceState state) {
  return state == v1::SERVICE_STATE_OPEN || state == v1::SERVICE_STATE_ACCEPTED ||
         state == v1::SERVICE_STATE_COMPLETED || state == v1::SERVICE_STATE_DISPUTED;
}

std::uint64_t ServiceSeqOf(const v1::Command& command) {
  switch (command.body_case()) {
    case v1::Command::kAcceptService:
      return command.accept_service().service_seq();
    case v1::Command::kCompleteService:
      return command.complete_service().service_seq();
    case v1::Command::kConfirmService:
      return command.confirm_service().service_seq();
    case v1::Command::kCancelService:
      return command.cancel_service().service_seq();
    case v1::Command::kDisputeService:
      return command.dispute_service().service_seq();
    case v1::Command::kResolveService:
      return command.resolve_service().service_seq();
    case v1::Command::kExpireService:
      return command.expire_service().service_seq();
    default:
      return 0;
  }
}

std::optional<Refusal> CheckServiceActor(const v1::Command& command, const v1::PrincipalRecord* who,
                                         const v1::ServiceRecord& service) {
  if (who == nullptr) return std::nullopt;
  if (SocialWorker(*who)) {
    // A dispute is a party's: a social worker raises one only for a request it posted for a
    // member (without a phone) — and then, having posted it, does not resolve it.
    if (command.has_dispute_service() && who->principal() != service.posted_by()) {
      return Refusal{Reason::kPermissionDenied,
                     Cat(who->principal(), " did not post service ", service.seq(),
                         ": its requester or provider disputes it")};
    }
    // Maker-checker: a social worker pays out (confirms or resolves) only a service it did not
    // post, assign or record; the requester's own device, or another social worker, does.
    if ((command.has_confirm_service() || command.has_resolve_service()) &&
        (who->principal() == service.posted_by() || who->principal() == service.accepted_by() ||
         who->principal() == service.completed_by())) {
      return Refusal{Reason::kMakerCannotApprove,
                     Cat(who->principal(), " posted, assigned or recorded service ", service.seq(),
                         ": the requester or another social worker confirms it")};
    }
    return std::nullopt;
  }
  const std::string& own = DeviceAccount(*who);
  const bool requester = !own.empty() && own == service.member();
  const bool provider = !own.empty() && own == service.provider() && service.accepted_seq() != 0;
  bool allowed = false;
  switch (command.body_case()) {
    case v1::Command::kPostService:
      allowed = requester;  // the member the posting is for
      break;
    case v1::Command::kAcceptService:
      allowed = !own.empty() && own == command.accept_service().provider();
      break;
    case v1::Command::kCompleteService:
      allowed = provider;
      break;
    case v1::Command::kConfirmService:
      allowed = requester;
      break;
    case v1::Command::kCancelService:
      allowed = requester || provider;
      break;
    case v1::Command::kDisputeService:
      allowed = requester || provider;
      break;
    default:
      allowed = false;  // ResolveService: social workers only
  }
  if (allowed) return std::nullopt;
  return Refusal{Reason::kPermissionDenied,
                 Cat(command.actor(), " takes no part in service ", service.seq(),
                     command.has_resolve_service() ? ": a social worker resolves a dispute" : "")};
}

OrRefusal<ServiceChange> DecidePost(const v1::Command& command, std::size_t open_by_member,
                                    const Context& context) {
  const v1::PostService& post = command.post_service();
  if (auto refused = ActiveMember(post.member(), context)) return std::move(*refused);
  const bool request = post.kind() == v1::SERVICE_KIND_REQUEST;
  if (request && !post.provider().empty()) {
    if (auto refused = ActiveMember(post.provider(), context)) return std::move(*refused);
  }
  const std::int64_t now = context.entry_time();
  const std::int64_t expires = ProgrammeDayEnd(post.day());
  if (expires <= now) {
    return Refusal{Reason::kServiceClosed, Cat("the day ", post.day(), " is over")};
  }
  if (expires - now > (kServiceDaysAheadMax + 1) * 86400 * std::int64_t{1'000'000}) {
    return Refusal{Reason::kServiceNotAllowed,
                   Cat("a service is posted at most ", kServiceDaysAheadMax, " days ahead")};
  }
  if (open_by_member >= kServiceOpenPerMemberMax) {
    return Refusal{Reason::kServiceNotAllowed,
                   Cat(post.member(), " has ", kServiceOpenPerMemberMax,
                       " requests and offers standing: cancel one first")};
  }
  ServiceChange change;
  v1::ServiceRecord& service = change.record;
  const std::uint64_t seq = context.next_seq();
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
  service.set_time_unix_us(now);
  service.set_expires_unix_us(expires);
  service.set_changed_seq(seq);
  if (!request) return change;
  const v1::ServicePolicy policy = ServicePolicyOf(context);
  if (auto refused = CheckSpender(post.member(), policy, context)) return std::move(*refused);
  std::string hours = post.hours();
  if (!policy.categories().empty() || hours.empty()) {
    auto category =
        std::find_if(policy.categories().begin(), policy.categories().end(),
                     [&](const auto& known) { return known.name() == post.category(); });
    if (category == policy.categories().end() && !policy.categories().empty()) {
      return Refusal{Reason::kServiceCategoryUnknown,
                     Cat(Excerpt(post.category()), " is not one of the programme's categories")};
    }
    if (hours.empty()) {
      if (category == policy.categories().end() || category->standard_hours().empty()) {
        return Refusal{
            Reason::kServiceCategoryUnknown,
            Cat(Excerpt(post.category()), " has no standard hours: the request names its hours")};
      }
      hours = category->standard_hours();
    }
  }
  OrRefusal<Int128> minor = ParseHours(hours, /*zero_ok=*/false, context);
  if (auto* refusal = std::get_if<Refusal>(&minor)) return std::move(*refusal);
  service.set_hours_minor(MinorToString(std::get<Int128>(minor)));
  return change;
}

OrRefusal<ServiceChange> DecideStep(const v1::Command& command, const v1::PrincipalRecord* who,
                                    v1::ServiceRecord service, const Context& context) {
  const std::uint64_t seq = context.next_seq();
  ServiceChange change;
  change.record = std::move(service);
  v1::ServiceRecord& record = change.record;
  record.set_changed_seq(seq);
  const v1::ServiceState state = record.state();
  const bool request = record.kind() == v1::SERVICE_KIND_REQUEST;
  switch (command.body_case()) {
    case v1::Command::kAcceptService: {
      const std::string& provider = command.accept_service().provider();
      if (!request) {
        return Refusal{Reason::kServiceClosed,
                       Cat("service ", record.seq(),
                           " is an offer: ask for it with a request naming its provider")};
      }
      if (state != v1::SERVICE_STATE_OPEN) return Closed(record, "accepted");
      if (provider == record.member()) {
        return Refusal{Reason::kServiceNotAllowed, "a member does not serve itself"};
      }
      if (!record.provider().empty() && record.provider() != provider) {
        return Refusal{Reason::kServiceNotAllowed,
                       Cat("service ", record.seq(), " asks ", record.provider(), " for it")};
      }
      if (auto refused = ActiveMember(provider, context)) return std::move(*refused);
      if (auto refused = ActiveMember(record.member(), context)) return std::move(*refused);
      const v1::ServicePolicy policy = ServicePolicyOf(context);
      if (auto refused = CheckSpender(record.member(), policy, context)) {
        return std::move(*refused);
      }
      if (policy.funding() == v1::SERVICE_FUNDING_PROGRAMME) {
        const AccountState* issuer = context.FindAccount(policy.issuer());
        if (issuer == nullptr || issuer->record.kind() != v1::ACCOUNT_KIND_ISSUER ||
            issuer->record.status() != v1::ACCOUNT_STATUS_ACTIVE) {
          return Refusal{Reason::kServiceNotAllowed,
                         Cat("the programme pays services through ", policy.issuer(),
                             ", which is not an active ISSUER account")};
        }
        record.set_issuer(policy.issuer());
      }
      record.set_funding(policy.funding() == v1::SERVICE_FUNDING_PROGRAMME
                             ? v1::SERVICE_FUNDING_PROGRAMME
                             : v1::SERVICE_FUNDING_MEMBER_TO_MEMBER);
      const Int128 held = *MinorFromString(record.hours_minor());
      change.postings = {{record.member(), kHours, -held}, {kEscrow, kHours, held}};
      record.set_provider(provider);
      record.set_state(v1::SERVICE_STATE_ACCEPTED);
      record.set_accepted_seq(seq);
      record.set_accepted_by(command.actor());
      record.set_expires_unix_us(ProgrammeDayEnd(record.day()) + kServiceGraceMicros);
      return change;
    }
    case v1::Command::kCompleteService: {
      if (state != v1::SERVICE_STATE_ACCEPTED && state != v1::SERVICE_STATE_COMPLETED) {
        return Closed(record, "completed");
      }
      OrRefusal<Int128> hours =
          ParseHours(command.complete_service().hours(), /*zero_ok=*/false, context);
      if (auto* refusal = std::get_if<Refusal>(&hours)) return std::move(*refusal);
      const Int128 claimed = std::get<Int128>(hours);
      if (claimed > *MinorFromString(record.hours_minor())) {
        return Refusal{Reason::kServiceOverHeld,
                       Cat("service ", record.seq(), " holds ",
                           context.Decimal(*MinorFromString(record.hours_minor()), kHours),
                           " hours: at most that is recorded (a longer service is a new request)")};
      }
      if (auto refused = ActiveMember(record.provider(), context)) return std::move(*refused);
      record.set_claimed_minor(MinorToString(claimed));
      record.set_completed_by(command.actor());
      record.set_state(v1::SERVICE_STATE_COMPLETED);
      record.set_expires_unix_us(0);
      return change;
    }
    case v1::Command::kConfirmService:
      if (state != v1::SERVICE_STATE_COMPLETED) {
        return state == v1::SERVICE_STATE_ACCEPTED
                   ? Refusal{Reason::kServiceClosed,
                             Cat("service ", record.seq(),
                                 ": the provider has not recorded the time yet")}
                   : Closed(record, "confirmed");
      }
      {
        OrRefusal<Int128> agreed =
            ParseHours(command.confirm_service().hours(), /*zero_ok=*/false, context);
        if (auto* refusal = std::get_if<Refusal>(&agreed)) return std::move(*refusal);
        const Int128 claimed = *MinorFromString(record.claimed_minor());
        if (std::get<Int128>(agreed) != claimed) {
          return Refusal{Reason::kServiceClosed,
                         Cat("service ", record.seq(), ": the provider records ",
                             context.Decimal(claimed, kHours), " hours, not ",
                             context.Decimal(std::get<Int128>(agreed), kHours),
                             ": look at it again before confirming")};
        }
        for (const std::string* id : {&record.member(), &record.provider()}) {
          if (auto refused = ActiveMember(*id, context)) return std::move(*refused);
        }
        Pay(claimed, context, &change);
      }
      Close(v1::SERVICE_STATE_CONFIRMED, seq, &change);
      return change;
    case v1::Command::kResolveService: {
      if (state != v1::SERVICE_STATE_DISPUTED) return Closed(record, "resolved");
      OrRefusal<Int128> hours =
          ParseHours(command.resolve_service().hours(), /*zero_ok=*/true, context);
      if (auto* refusal = std::get_if<Refusal>(&hours)) return std::move(*refusal);
      const Int128 paid = std::get<Int128>(hours);
      if (paid > *MinorFromString(record.hours_minor())) {
        return Refusal{Reason::kServiceOverHeld,
                       Cat("service ", record.seq(), " holds ",
                           context.Decimal(*MinorFromString(record.hours_minor()), kHours),
                           " hours: a decision pays at most that")};
      }
      if (paid != 0) {
        for (const std::string* id : {&record.member(), &record.provider()}) {
          if (auto refused = ActiveMember(*id, context)) return std::move(*refused);
        }
      }
      Pay(paid, context, &change);
      Close(v1::SERVICE_STATE_RESOLVED, seq, &change);
      return change;
    }
    case v1::Command::kDisputeService:
      // Completed; or accepted once its day has begun (a no-show: the hours stay held until a
      // social worker decides).
      if (state != v1::SERVICE_STATE_COMPLETED &&
          !(state == v1::SERVICE_STATE_ACCEPTED &&
            context.entry_time() >= DayStart(record.day()))) {
        return Closed(record, "disputed");
      }
      record.set_state(v1::SERVICE_STATE_DISPUTED);
      record.set_expires_unix_us(0);
      return change;
    case v1::Command::kCancelService: {
      if (state != v1::SERVICE_STATE_OPEN && state != v1::SERVICE_STATE_ACCEPTED) {
        return Closed(record, "cancelled");
      }
      // The provider's own device withdraws from an accepted request: its hours go back and it
      // is open again, for anyone (or for the provider it was directed to).
      const bool withdraws =
          who != nullptr && who->role() == v1::ROLE_MEMBER && state == v1::SERVICE_STATE_ACCEPTED &&
          DeviceAccount(*who) == record.provider() && DeviceAccount(*who) != record.member();
      // Once the service's day has begun the requester does not cancel an accepted request
      // alone (the work may be done): a no-show is a dispute, decided by a social worker.
      if (!withdraws && state == v1::SERVICE_STATE_ACCEPTED && who != nullptr &&
          !SocialWorker(*who) && context.entry_time() >= DayStart(record.day())) {
        return Refusal{Reason::kServiceClosed, Cat("service ", record.seq(),
                                                   "'s day has begun: dispute it instead "
                                                   "(a social worker decides)")};
      }
      GiveBack(context, &change);
      if (withdraws) {
        record.set_state(v1::SERVICE_STATE_OPEN);
        record.set_accepted_seq(0);
        record.clear_funding();
        record.clear_issuer();
        record.set_expires_unix_us(ProgrammeDayEnd(record.day()));
        record.clear_accepted_by();
        // Open again: for anyone, or still only for the provider the requester asked for.
        record.set_provider(record.asked_provider());
        return change;
      }
      Close(v1::SERVICE_STATE_CANCELLED, seq, &change);
      return change;
    }
    case v1::Command::kExpireService:
      GiveBack(context, &change);
      Close(v1::SERVICE_STATE_EXPIRED, seq, &change);
      return change;
    default:
      break;
  }
  LOVEBANK_CHECK(false && "DecideStep of a command that is no step of a service");
  return change;
}

}  // namespace lovebank::rules
