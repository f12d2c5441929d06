#pragma once
// The monthly public notice as lovebankd serves it (Audit.GetNotice, issue #25 item 4): the
// figures of `lovebank report`, from lovebankd's own audit of its journal (the audit library,
// journal only), kept while they are fresh. No gRPC here.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ledger/audit/audit.h"
#include "ledger/format/journal_format.h"
#include "lovebank/v1/api.pb.h"

namespace lovebank::service {

class Metrics;  // service/metrics.h

// A kept audit is fresh while the head has not moved, and for this long after it finished (or
// twice as long as it ran, when that is longer: a refreshing screen never keeps a core busy).
inline constexpr std::int64_t kNoticeRefreshSeconds = 10;
// Calls that may wait at once for the first audit (nothing kept yet); more: LEDGER_BUSY. Well
// under the HTTP listener's threads, which a waiting call holds.
inline constexpr int kNoticeCallsMax = 4;

// One audit of the journal, when it finished, and how long it ran.
struct NoticeAudit {
  audit::Report report;
  std::int64_t computed_at_unix_us = 0;
  std::int64_t took_us = 0;
};

// Thread-safe. Shared by the calls that use it (each call's thread holds a reference), so a
// call that outlives the server's shutdown still has it.
class NoticeCache {
 public:
  // `metrics` (borrowed, may be null) counts each audit run.
  explicit NoticeCache(std::string ledger_path, Metrics* metrics = nullptr)
      : path_(std::move(ledger_path)), metrics_(metrics) {}

  // A place among the calls in flight: false when kNoticeCallsMax are in flight already. Each
  // true is followed by one Leave.
  bool Enter();
  void Leave();

  // The audit the notices come from, with the ledger's head now at `head_seq` and lovebankd's
  // `clock`: the kept one when fresh; when a newer one is being made, or the newer one failed,
  // the kept one at once (its head and time say how old it is); else a new audit of the journal
  // run by this caller (one at a time; callers that find none kept wait for it). Errors, only
  // while nothing is kept: the audit could not run (the store could not be opened or read) —
  // returned again without a new run for the freshness window.
  absl::StatusOr<std::shared_ptr<const NoticeAudit>> Get(
      std::uint64_t head_seq, const std::function<std::int64_t()>& clock);

 private:
  absl::StatusOr<std::shared_ptr<const NoticeAudit>> Run(
      const std::function<std::int64_t()>& clock);

  const std::string path_;
  Metrics* const metrics_;
  absl::Mutex mu_;
  std::shared_ptr<const NoticeAudit> kept_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  // The last run's failure (OK after a success) and when, so a failing audit is not rerun by
  // every caller.
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  std::int64_t failed_at_unix_us_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

// The notice of `month` (IsValidMonth) from `audit` (clean): figures as decimals, each team,
// rule and store with the profile's display name when it gives one.
v1::Notice NoticeFrom(const NoticeAudit& audit, const std::string& month);

}  // namespace lovebank::service
