#pragma once
// lovebankd's Prometheus metrics (issue #28; docs/operations.md "Monitoring"): calls by RPC and
// outcome, their latency, HTTP requests by status, audit runs, and the ledger's own (group
// commits, batch sizes, commit latency, fsync time, queue depth, refusals by reason), rendered
// in the Prometheus text exposition format at GET /metrics on the HTTP listener. Counts and
// durations only: no account, principal, token or amount appears in them.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ledger/base/metrics.h"
#include "ledger/ledger.h"

namespace lovebank::service {

// Microseconds of a long job (an audit of the journal): 10 ms to 10 minutes.
inline constexpr std::array<std::uint64_t, 12> kJobBoundsUs = {
    10'000,    50'000,     100'000,    500'000,    1'000'000,   2'500'000,
    5'000'000, 10'000'000, 30'000'000, 60'000'000, 180'000'000, 600'000'000};

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished call: its RPC ("Ledger.Transfer"), outcome ("OK", a Reason name, or the gRPC
  // code's name) and latency. At most kSeriesMax (method, outcome) pairs are kept; more go to
  // outcome "OTHER" (bounded memory whatever clients send).
  void CountCall(std::string_view method, std::string_view outcome, std::uint64_t latency_us);
  void CountHttp(int status);
  // An audit lovebankd ran for Audit.GetNotice: clean or not, and how long.
  void CountAudit(bool clean, std::uint64_t duration_us);

  // Every series as Prometheus text (version 0.0.4), with the ledger's snapshot and the time
  // lovebankd has been up.
  std::string Render(const Ledger::Metrics& ledger, double uptime_seconds) const;

  static constexpr std::size_t kSeriesMax = 1024;

 private:
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> calls_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::uint64_t> http_ ABSL_GUARDED_BY(mu_);
  std::uint64_t audits_clean_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t audits_unclean_ ABSL_GUARDED_BY(mu_) = 0;
  Histogram call_us_{kLatencyBoundsUs};
  Histogram audit_us_{kJobBoundsUs};
};

}  // namespace lovebank::service
