// Hours buy services (issue #26; docs/exchange.md): the engine's side of ledger/rules/services.h —
// the service records, their expiries, the count of what each member has standing, and the
// engine's own ExpireService before it decides anything later, so replay sees what happened.

#include "ledger/rules/services.h"

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"
#include "ledger/rules/authority.h"
#include "ledger/rules/volunteers.h"

namespace lovebank {

void Engine::RebuildServiceIndexes() {
  service_expiries_.clear();
  live_services_by_member_.clear();
  for (const auto& [key, service] : services_.all()) {
    if (!rules::IsLive(service.state())) continue;
    ++live_services_by_member_[service.member()];
    if (service.expires_unix_us() != 0) {
      service_expiries_.emplace(service.expires_unix_us(), service.seq());
    }
  }
}

void Engine::SetService(v1::ServiceRecord record) {
  const std::string key = EncodeFixed64BE(record.seq());
  if (const v1::ServiceRecord* old = services_.Find(key);
      old != nullptr && rules::IsLive(old->state())) {
    service_expiries_.erase({old->expires_unix_us(), old->seq()});
    if (--live_services_by_member_[old->member()] == 0) {
      live_services_by_member_.erase(old->member());
    }
  }
  if (rules::IsLive(record.state())) {
    ++live_services_by_member_[record.member()];
    if (record.expires_unix_us() != 0) {
      service_expiries_.emplace(record.expires_unix_us(), record.seq());
    }
  }
  services_.Set(key, std::move(record));
}

OrOutcome<std::optional<v1::ServiceRecord>> Engine::FindService(std::uint64_t seq) {
  const std::string key = EncodeFixed64BE(seq);
  if (const v1::ServiceRecord* service = services_.Find(key)) {
    return std::optional<v1::ServiceRecord>(*service);
  }
  auto stored = store_->Get(Family::kServices, key);
  v1::ServiceRecord service;
  if (stored.ok() && !stored->has_value()) return std::optional<v1::ServiceRecord>();
  if (!stored.ok() || !service.ParseFromString(**stored)) {
    return Unavailable(Cat("service ", seq, " cannot be read"));
  }
  return std::optional<v1::ServiceRecord>(std::move(service));
}

void Engine::ExpireServicesDue(std::int64_t now) {
  std::vector<std::uint64_t> due;
  for (const auto& [expires, seq] : service_expiries_) {
    if (expires > now) break;
    due.push_back(seq);
  }
  for (std::uint64_t seq : due) {
    v1::Command command;
    command.set_request_id(ServiceExpireRequestId(seq));
    command.set_actor(std::string(kEngineActor));
    command.mutable_expire_service()->set_service_seq(seq);
    // A lapse that cannot go (the hours it gives back would pass HOURS' maximum) leaves the
    // service as it is; the next command tries again.
    ApplyServiceStep(command, CommandFingerprint(command));
  }
}

Outcome Engine::ApplyPostService(const v1::Command& command, const std::string& fingerprint) {
  const v1::PostService& post = command.post_service();
  v1::ServiceRecord asked;
  asked.set_seq(head_.seq + 1);
  asked.set_member(post.member());
  if (auto refused = rules::CheckServiceActor(command, ActorPrincipal(command), asked)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  const auto live = live_services_by_member_.find(post.member());
  OrOutcome<rules::ServiceChange> change =
      Decided(command, fingerprint,
              rules::DecidePost(command, live == live_services_by_member_.end() ? 0 : live->second,
                                *context_));
  if (!change.ok()) return std::move(change).outcome();
  return ApplyServiceChange(command, fingerprint, std::move(*change));
}

Outcome Engine::ApplyServiceStep(const v1::Command& command, const std::string& fingerprint) {
  const std::uint64_t seq = rules::ServiceSeqOf(command);
  const bool engine_own = command.has_expire_service();
  OrOutcome<std::optional<v1::ServiceRecord>> found = FindService(seq);
  if (!found.ok()) return std::move(found).outcome();
  if (!found->has_value()) {
    return Refuse(command, fingerprint, Reason::kServiceUnknown, Cat("no service ", seq));
  }
  const v1::PrincipalRecord* who = ActorPrincipal(command);
  if (!engine_own) {
    if (auto refused = rules::CheckServiceActor(command, who, **found)) {
      return RefuseWith(command, fingerprint, std::move(*refused));
    }
  }
  if (command.has_confirm_service()) {
    // A device with a PIN pays nothing without a code made with it: its own (as a Transfer).
    const v1::PaymentConsent& consent = command.confirm_service().consent();
    if (!consent.device().empty() && consent.device() != command.actor()) {
      return Refuse(command, fingerprint, Reason::kPaymentCodeInvalid,
                    "payment code: a confirmation's code is the confirming device's own");
    }
    const bool pin = who != nullptr && !who->pin_key_wrapped().empty();
    if (auto refused = rules::CheckConsent(
            pin, (*found)->member(), consent, principals_.Find(consent.device()), NextEntryTime(),
            Cat(command.actor(), " has a PIN: its confirmations need its code"))) {
      return RefuseWith(command, fingerprint, std::move(*refused));
    }
  }
  OrOutcome<rules::ServiceChange> change =
      Decided(command, fingerprint, rules::DecideStep(command, who, std::move(**found), *context_));
  if (!change.ok()) return std::move(change).outcome();
  return ApplyServiceChange(command, fingerprint, std::move(*change));
}

Outcome Engine::ApplyServiceChange(const v1::Command& command, const std::string& fingerprint,
                                   rules::ServiceChange change) {
  // The hours a provider is paid count as served on the service's day: under the daily cap like
  // an Earn of HOURS (the same usage), so members cannot trade hours back and forth for stars.
  std::optional<std::pair<std::string, Int128>> day_usage;
  if (change.served != 0) {
    const auto cap = Setting<v1::DailyHoursCap>(meta_key::kDailyHoursCap);
    if (cap && cap->maximum_minor() != "0") {
      const v1::ServiceRecord& service = change.record;
      std::string key = ServiceDayKey(service.provider(), service.day());
      OrOutcome<Int128> used = Used(key);
      if (!used.ok()) return std::move(used).outcome();
      const AssetState* hours = FindAsset(std::string(kHoursAsset));
      if (auto refused = rules::CheckDailyHours(
              service.provider(), service.day(), *used, change.served,
              *MinorFromString(cap->maximum_minor()), hours == nullptr ? 0 : hours->scale)) {
        return RefuseWith(command, fingerprint, std::move(*refused));
      }
      day_usage.emplace(std::move(key), *used + change.served);
    }
  }
  if (!change.postings.empty()) {
    if (auto refused = CheckEscrowPostings(command, fingerprint, change.postings)) {
      return std::move(*refused);
    }
    OpenEscrow();
  }
  // Steps that move nothing still show in the requester's (or offerer's) statement.
  Outcome outcome =
      Append(command, fingerprint, change.postings,
             change.postings.empty() ? std::vector<std::string>{change.record.member()}
                                     : std::vector<std::string>{});
  if (change.served != 0) {
    AddEarnedHours(change.record.provider(), change.served, outcome.receipt.seq);
  }
  if (day_usage) usage_.Set(day_usage->first, std::move(day_usage->second));
  if (command.has_confirm_service()) SpendConsent(command.confirm_service().consent());
  SetService(std::move(change.record));
  return outcome;
}

}  // namespace lovebank
