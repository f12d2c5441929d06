#include "service/metrics.h"

#include <cstdio>

#include "ledger/base/strings.h"
#include "ledger/format/reason.h"
#include "service/log.h"

namespace lovebank::service {
namespace {

// A number as the text format writes it ("0.00025", "2.5").
std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += Cat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

// A histogram with cumulative buckets; `scale` turns the recorded unit into the exposed one
// (microseconds into seconds: 1e-6; counts: 1).
void HistogramText(std::string& out, std::string_view name, std::string_view help,
                   const Histogram::Snapshot& snapshot, double scale) {
  Header(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < snapshot.bounds.size(); ++i) {
    cumulative += snapshot.counts[i];
    const double bound = static_cast<double>(snapshot.bounds[i]) * scale;
    out += Cat(name, "_bucket{le=\"", Number(bound), "\"} ", cumulative, "\n");
  }
  cumulative += snapshot.counts[snapshot.bounds.size()];
  out += Cat(name, "_bucket{le=\"+Inf\"} ", cumulative, "\n", name, "_sum ",
             Number(static_cast<double>(snapshot.sum) * scale), "\n", name, "_count ", cumulative,
             "\n");
}

}  // namespace

void Metrics::CountCall(std::string_view method, std::string_view outcome,
                        std::uint64_t latency_us) {
  call_us_.Observe(latency_us);
  absl::MutexLock lock(&mu_);
  std::pair<std::string, std::string> key{std::string(method), std::string(outcome)};
  auto it = calls_.find(key);
  if (it == calls_.end()) {
    if (calls_.size() >= kSeriesMax) key.second = "OTHER";
    it = calls_.emplace(std::move(key), 0).first;
  }
  ++it->second;
}

void Metrics::CountHttp(int status) {
  absl::MutexLock lock(&mu_);
  if (http_.size() < 64 || http_.contains(status)) ++http_[status];
}

void Metrics::CountAudit(bool clean, std::uint64_t duration_us) {
  audit_us_.Observe(duration_us);
  absl::MutexLock lock(&mu_);
  ++(clean ? audits_clean_ : audits_unclean_);
}

std::string Metrics::Render(const Ledger::Metrics& ledger, double uptime_seconds) const {
  std::string out;
  Header(out, "lovebank_up_seconds", "gauge", "Seconds since lovebankd started.");
  out += Cat("lovebank_up_seconds ", Number(uptime_seconds), "\n");
  Header(out, "lovebank_head_seq", "gauge", "The committed journal head: entries in the ledger.");
  out += Cat("lovebank_head_seq ", ledger.head_seq, "\n");
  Header(out, "lovebank_commits_total", "counter", "Group commits written and synced.");
  out += Cat("lovebank_commits_total ", ledger.batches, "\n");
  Header(out, "lovebank_entries_committed_total", "counter", "Journal entries committed.");
  out += Cat("lovebank_entries_committed_total ", ledger.entries, "\n");
  Header(out, "lovebank_commands_decided_total", "counter",
         "Commands the sequencer decided, applied or refused.");
  out += Cat("lovebank_commands_decided_total ", ledger.commands, "\n");
  Header(out, "lovebank_queue_depth", "gauge", "Commands waiting for the sequencer.");
  out += Cat("lovebank_queue_depth ", ledger.queue_depth, "\n");
  Header(out, "lovebank_batches_in_flight", "gauge", "Sealed batches not yet written.");
  out += Cat("lovebank_batches_in_flight ", ledger.batches_in_flight, "\n");
  Header(out, "lovebank_tree_size", "gauge", "Entries the Merkle tree's builder has integrated.");
  out += Cat("lovebank_tree_size ", ledger.tree_size, "\n");
  Header(out, "lovebank_tree_writes_total", "counter", "The Merkle tree builder's writes.");
  out += Cat("lovebank_tree_writes_total ", ledger.tree_writes, "\n");
  HistogramText(out, "lovebank_batch_commands", "Commands per group commit.", ledger.batch_commands,
                1);
  HistogramText(out, "lovebank_commit_latency_seconds",
                "A command's time from queued to decided and durable.", ledger.commit_us, 1e-6);
  HistogramText(out, "lovebank_fsync_seconds", "Each group commit's synced write.", ledger.sync_us,
                1e-6);
  Header(out, "lovebank_refusals_total", "counter", "Commands the ledger refused, by reason.");
  for (std::size_t value = 1; value < ledger.refusals.size(); ++value) {
    if (ledger.refusals[value] == 0) continue;
    out += Cat("lovebank_refusals_total{reason=", Quoted(ReasonName(static_cast<Reason>(value))),
               "} ", ledger.refusals[value], "\n");
  }
  absl::MutexLock lock(&mu_);
  Header(out, "lovebank_calls_total", "counter", "RPCs answered (gRPC and HTTP/JSON), by outcome.");
  for (const auto& [key, count] : calls_) {
    out += Cat("lovebank_calls_total{method=", Quoted(key.first), ",outcome=", Quoted(key.second),
               "} ", count, "\n");
  }
  HistogramText(out, "lovebank_call_latency_seconds", "An RPC's time in lovebankd.",
                call_us_.Read(), 1e-6);
  Header(out, "lovebank_http_requests_total", "counter", "HTTP requests, by status.");
  for (const auto& [status, count] : http_) {
    out += Cat("lovebank_http_requests_total{status=\"", status, "\"} ", count, "\n");
  }
  Header(out, "lovebank_audit_runs_total", "counter",
         "Audits lovebankd ran for the monthly notices, by result.");
  out += Cat("lovebank_audit_runs_total{result=\"clean\"} ", audits_clean_, "\n",
             "lovebank_audit_runs_total{result=\"findings\"} ", audits_unclean_, "\n");
  HistogramText(out, "lovebank_audit_duration_seconds", "An audit's time.", audit_us_.Read(), 1e-6);
  return out;
}

}  // namespace lovebank::service
