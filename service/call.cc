#include "service/call.h"

#include "grpc/support/time.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "service/convert.h"

namespace lovebank::service {

namespace {

// A client's request id as it may appear in a log line: request ids are [A-Za-z0-9._:@-]{1,128},
// but a refused one can hold anything, so anything else becomes '?' and it is cut at 128 bytes
// (a newline in a request id must not forge a log line).
std::string Loggable(std::string_view request_id) {
  if (request_id.empty()) return "-";
  std::string text(request_id.substr(0, kRequestIdBytesMax));
  for (char& c : text) {
    if (!IsValidIdentifier(std::string_view(&c, 1), 1)) c = '?';
  }
  return text;
}

}  // namespace

void LogCall(const Context& context, const CallRecord& record) {
  const bool ok = record.status.ok();
  const LogLevel level = ok ? LogLevel::kInfo : LogLevel::kWarn;
  const bool logged = context.logger->Enabled(level);
  if (!logged && context.metrics == nullptr) return;
  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - record.start)
                           .count();
  std::string outcome = "OK";
  if (!ok) {
    const v1::ErrorDetail detail = ErrorDetailOf(record.status);
    outcome = detail.reason() != v1::REASON_OK
                  ? v1::Reason_Name(detail.reason()).substr(7)
                  : Cat("code_", static_cast<int>(record.status.error_code()));
  }
  if (context.metrics != nullptr) {
    context.metrics->CountCall(record.method, outcome,
                               static_cast<std::uint64_t>(std::max<std::int64_t>(latency, 0)));
  }
  if (!logged) return;
  std::string line = Cat("rpc=", record.method, " request_id=", Loggable(record.request_id),
                         " principal=", record.principal, " outcome=", outcome);
  if (record.seq != 0) line += Cat(" seq=", record.seq);
  if (!record.extra.empty()) line += Cat(" ", record.extra);
  line += Cat(" latency_us=", latency);
  context.logger->LogFields(level, line);
}

std::shared_ptr<const Principal> Authenticate(const Context& context,
                                              const grpc::ServerContextBase& server_context,
                                              grpc::Status* status) {
  const auto& metadata = server_context.client_metadata();
  auto it = metadata.find("authorization");
  std::string_view header;
  if (it != metadata.end()) header = std::string_view(it->second.data(), it->second.size());
  Authentication auth = context.principals->Authenticate(header);
  if (auth.reason != Reason::kOk) {
    *status =
        ToStatus(auth.reason, auth.reason == Reason::kTokenMissing
                                  ? "send the metadata authorization: Bearer <token>"
                                  : "no principal holds this token (revoked or never issued)");
    return nullptr;
  }
  return auth.principal;
}

bool Admit(const Context& context, const grpc::ServerContextBase& server_context,
           Decision (*may)(const Principal&), CallRecord* record, grpc::Status* status) {
  auto who = Authenticate(context, server_context, status);
  if (who == nullptr) return false;
  record->principal = who->name;
  const Decision decision = may(*who);
  if (!decision.allowed) {
    *status = ToStatus(Reason::kPermissionDenied, decision.why);
    return false;
  }
  return true;
}

UnaryCall::UnaryCall(const Context& context, CallContext* ctx, const char* method,
                     std::string request_id)
    : context_(context), ctx_(ctx) {
  record_.method = method;
  record_.request_id = std::move(request_id);
}

std::shared_ptr<const Principal> UnaryCall::Authenticate() {
  grpc::Status status;
  auto principal = service::Authenticate(context_, ctx_->server_context(), &status);
  if (principal == nullptr) {
    Done(std::move(status));
    return nullptr;
  }
  record_.principal = principal->name;
  // Fail closed on a ledger whose state on disk disagrees with its journal: nothing derived
  // from that state is served; the journal itself (the Audit service) still is.
  const std::string_view method = record_.method;
  if (!context_.unverified.empty() && method != "GetDigest" && method != "WhoAmI") {
    Done(ToStatus(Reason::kLedgerUnverified, context_.unverified));
    return nullptr;
  }
  return principal;
}

bool UnaryCall::Allowed(const Decision& decision) {
  if (decision.allowed) return true;
  Done(ToStatus(Reason::kPermissionDenied, decision.why));
  return false;
}

bool UnaryCall::Expired() {
  // In gRPC's own clock (the deadline's clock type, monotonic for calls): a wall-clock step never
  // expires a call early. (A client's cancel is not seen here: on the completion-queue API a
  // unary call learns of it only from one more event per call, which every call would pay for.
  // A command submitted for a cancelled call commits like any other: its retry with the same
  // request id gets the receipt.)
  const gpr_timespec deadline = ctx_->server_context().raw_deadline();
  if (gpr_time_cmp(deadline, gpr_now(deadline.clock_type)) > 0) return false;
  Done(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                    "the deadline passed before the ledger received the request: nothing was "
                    "applied; retry with the same request id"));
  return true;
}

void UnaryCall::Done(grpc::Status status, std::uint64_t seq) {
  record_.status = status;
  record_.seq = seq;
  // Logged and counted before the answer leaves: a client that has its answer finds its call in
  // /metrics and the log (CI's HttpTest.MetricsCount… once scraped between the two).
  LogCall(context_, record_);
  CallContext* const ctx = ctx_;
  delete this;
  ctx->Finish(std::move(status));
}

}  // namespace lovebank::service
