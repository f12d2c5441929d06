#include "service/notice.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/cleanup/cleanup.h"
#include "ledger/base/coding.h"
#include "ledger/storage/store.h"
#include "service/metrics.h"

namespace lovebank::service {

bool NoticeCache::Enter() {
  absl::MutexLock lock(&mu_);
  if (in_flight_ >= kNoticeCallsMax) return false;
  ++in_flight_;
  return true;
}

void NoticeCache::Leave() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

absl::StatusOr<std::shared_ptr<const NoticeAudit>> NoticeCache::Get(
    std::uint64_t head_seq, const std::function<std::int64_t()>& clock) {
  // Fresh: younger than the window. A clock that went back makes nothing fresh (the next audit
  // is stamped with the clock as it is now).
  const auto fresh = [&clock](std::int64_t stamped_us, std::int64_t took_us) {
    const std::int64_t age = clock() - stamped_us;
    return age >= 0 && age < std::max(kNoticeRefreshSeconds * 1'000'000, 2 * took_us);
  };
  {
    absl::MutexLock lock(&mu_);
    if (kept_ != nullptr && (kept_->report.head.seq == head_seq || running_ ||
                             fresh(kept_->computed_at_unix_us, kept_->took_us))) {
      return kept_;
    }
    if (running_) {  // nothing kept yet: wait for the first audit
      mu_.Await(absl::Condition(
          +[](bool* running) { return !*running; }, &running_));
      if (kept_ != nullptr) return kept_;
      return failed_.ok() ? absl::UnavailableError("the audit for the notice did not finish")
                          : failed_;
    }
    // A failed audit is not run again at once by the next caller: the same window applies.
    if (kept_ == nullptr && !failed_.ok() && fresh(failed_at_unix_us_, 0)) {
      return failed_;
    }
    running_ = true;
  }
  absl::StatusOr<std::shared_ptr<const NoticeAudit>> ran = absl::InternalError("not run");
  {
    // `running_` ends with the run whatever happens in it.
    absl::Cleanup done = [this, &ran, &clock] {
      absl::MutexLock lock(&mu_);
      running_ = false;
      if (ran.ok()) {
        kept_ = *ran;
        failed_ = absl::OkStatus();
      } else {
        failed_ = ran.status();
        failed_at_unix_us_ = clock();
      }
    };
    ran = Run(clock);
  }
  // A run that failed while an older audit is kept: the older one (its head and time say how
  // old); the failure is lovebankd's to log.
  absl::MutexLock lock(&mu_);
  if (!ran.ok() && kept_ != nullptr) return kept_;
  return ran;
}

absl::StatusOr<std::shared_ptr<const NoticeAudit>> NoticeCache::Run(
    const std::function<std::int64_t()>& clock) {
  const std::int64_t start = clock();
  // A read-only open sees the journal as it is now; the live ledger goes on writing meanwhile.
  StoreOptions options;
  options.read_only = true;
  auto store = Store::Open(path_, options);
  if (!store.ok()) return store.status();
  auto source = audit::StoreSource(**store);
  if (!source.ok()) return source.status();
  audit::Options audit_options;
  // Journal only (the figures; the store's derived records are the Verify call's business),
  // read twice when the fast pass needs naming — from the same read-only view.
  audit_options.reopen = [&store] { return audit::StoreSource(**store); };
  const auto started = std::chrono::steady_clock::now();
  auto report = audit::Run(**source, nullptr, audit_options);
  if (!report.ok()) return report.status();
  if (metrics_ != nullptr) {
    metrics_->CountAudit(report->clean(), static_cast<std::uint64_t>(
                                              std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::steady_clock::now() - started)
                                                  .count()));
  }
  auto audit = std::make_shared<NoticeAudit>();
  audit->report = std::move(*report);
  audit->computed_at_unix_us = clock();
  audit->took_us = std::max<std::int64_t>(0, audit->computed_at_unix_us - start);
  return audit;
}

v1::Notice NoticeFrom(const NoticeAudit& audit, const std::string& month) {
  const audit::NoticeFigures figures = audit::NoticeOf(audit.report, month);
  // HOURS and POINTS have scale 2 by genesis.
  const auto decimal = [](const boost::multiprecision::cpp_int& minor) {
    return audit::DecimalText(minor, 2);
  };
  const auto name = [&figures](const std::string& id) {
    auto it = figures.names.find(id);
    return it == figures.names.end() ? std::string() : it->second;
  };
  const audit::ProgrammeMonth& f = figures.figures;
  v1::Notice notice;
  notice.set_month(month);
  *notice.mutable_profile() = figures.profile;
  boost::multiprecision::cpp_int hours_total = 0;
  for (const auto& [team, hours] : f.team_hours_minor) {
    v1::NoticeTeam* wire = notice.add_teams();
    wire->set_team(team);
    wire->set_name(name(team));
    wire->set_earnings(f.team_earnings.at(team));
    wire->set_hours(decimal(hours));
    hours_total += hours;
  }
  notice.set_hours_total(decimal(hours_total));
  std::map<std::string, v1::NoticeRule> rules;
  for (const auto& [rule, amount] : f.awarded_minor) {
    v1::NoticeRule& wire = rules[rule];
    wire.set_awards(f.awards.at(rule));
    wire.set_awarded(decimal(amount));
  }
  for (const auto& [rule, amount] : f.deducted_minor) {
    v1::NoticeRule& wire = rules[rule];
    wire.set_deductions(f.deductions.at(rule));
    wire.set_deducted(decimal(amount));
  }
  for (auto& [rule, wire] : rules) {
    wire.set_rule(rule);
    wire.set_name(name(rule));
    *notice.add_rules() = std::move(wire);
  }
  notice.set_reversed_points(decimal(f.reversed_points_minor));
  for (const auto& [key, hours] : f.service_hours_minor) {
    v1::NoticeService* wire = notice.add_services();
    wire->set_category(key.first);
    wire->set_place(key.second);
    wire->set_services(f.services.at(key));
    wire->set_hours(decimal(hours));
  }
  for (const audit::StoreMonth& store : figures.stores) {
    v1::NoticeStore* wire = notice.add_stores();
    wire->set_store(store.store);
    wire->set_name(name(store.store));
    wire->set_baskets(store.baskets);
    wire->set_points(decimal(store.points_minor));
    wire->set_hours(decimal(store.hours_minor));
    wire->set_refunds(store.refunds);
    wire->set_refunded(decimal(store.refunded_minor));
    wire->set_redeemed(decimal(store.redeemed_minor));
  }
  notice.set_outstanding_hours(decimal(f.outstanding_hours_minor));
  notice.set_outstanding_points(decimal(f.outstanding_points_minor));
  for (const audit::ProgrammeMonth::Recipient& recipient : f.recipients) {
    v1::NoticeRecipient* wire = notice.add_recipients();
    wire->set_member(recipient.member);
    wire->set_name(recipient.name);
    wire->set_rule(recipient.rule);
    wire->set_rule_name(name(recipient.rule));
    wire->set_points(decimal(recipient.amount_minor));
    wire->set_reason(recipient.reason);
    wire->set_reversed(recipient.reversed);
  }
  notice.set_earlier_entries(f.earlier_entries);
  notice.set_earlier_hours(decimal(f.earlier_hours_minor));
  notice.set_earlier_points(decimal(f.earlier_points_minor));
  notice.set_head_seq(audit.report.head.seq);
  notice.set_head_hash(HashToHex(audit.report.head.hash));
  notice.set_computed_at_unix_us(audit.computed_at_unix_us);
  for (const audit::Cosigned& cosigned : audit.report.cosignatures) {
    v1::Cosignature* wire = notice.add_cosignatures();
    wire->set_tree_size(cosigned.cosign.tree_size());
    wire->set_root(ToHex(cosigned.cosign.root()));
    wire->set_time_unix_us(cosigned.cosign.time_unix_us());
    wire->set_witness_key(ToHex(cosigned.cosign.witness_key()));
    wire->set_signature(ToHex(cosigned.cosign.signature()));
    wire->set_auditor(cosigned.auditor);
    wire->set_seq(cosigned.seq);
  }
  return notice;
}

}  // namespace lovebank::service
