#pragma once
// What every RPC handler shares: the service context, authentication from metadata, and the
// per-call record that becomes the call's one log line. Includes gRPC: service/ .cc files only.

#include <chrono>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "ledger/format/signature.h"
#include "ledger/ledger.h"
#include "lovebank/v1/api.pb.h"
#include "service/access.h"
#include "service/auth.h"
#include "service/log.h"
#include "service/metrics.h"
#include "service/notice.h"
#include "service/payment.h"
#include "service/seal.h"
#include "service/watch.h"

namespace lovebank::service {

// Borrowed by every service; owned by the Server, which outlives them.
struct Context {
  Ledger* ledger = nullptr;
  Principals* principals = nullptr;
  Logger* logger = nullptr;
  const CursorSeal* cursors = nullptr;        // ListAccounts' page cursors
  WatchHub* watches = nullptr;                // WatchEntries' streams
  const PaymentKey* payments = nullptr;       // payment codes' secrets
  PaymentCodeGuard* payment_guard = nullptr;  // wrong codes per device: the lock
  std::function<std::int64_t()> clock;        // lovebankd's clock (unix µs): payment code windows
  // Not empty when the start-up check found the derived state on disk disagreeing with the
  // journal (server.cc VerifyOnDisk): every call but the Audit service's (the journal, the
  // digest) and WhoAmI is refused UNAVAILABLE, LEDGER_UNVERIFIED, with this text. Set before
  // serving, never changed after.
  std::string unverified;
  // The audits the monthly notices come from (Audit.GetNotice).
  std::shared_ptr<NoticeCache> notices;
  // The ledger's Ed25519 key (data dir signing.key): it signs tree heads and certificates.
  const signature::SigningKey* signer = nullptr;
  // Where people reach lovebankd's /verify/ page (--public-url + "/verify/"), for certificates'
  // QR codes; empty: the QR holds the signed summary alone.
  std::string verify_url;
  // Counts every call for /metrics (service/metrics.h); may be null (tests).
  Metrics* metrics = nullptr;
};

// The head of the tree of the first `tree_size` entries (0..head), signed with the ledger's
// key. Refusals: kTreeSizeInvalid. Storage errors as the ledger's.
absl::StatusOr<v1::SignedTreeHead> SignedHead(const Context& context, std::uint64_t tree_size);

// The facts of one call for its log line.
struct CallRecord {
  const char* method = "";
  std::string request_id;
  std::string principal = "-";
  grpc::Status status;
  std::uint64_t seq = 0;  // the entry a mutation committed (or replayed)
  std::string extra;      // e.g. "records=1024"
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};
void LogCall(const Context& context, const CallRecord& record);

// Authenticates the caller from the `authorization` metadata. On failure returns null and sets
// `status` to UNAUTHENTICATED with the reason.
std::shared_ptr<const Principal> Authenticate(const Context& context,
                                              const grpc::CallbackServerContext& server_context,
                                              grpc::Status* status);

// Authenticates the caller and checks `may` (e.g. MayAudit), recording the principal in
// `record`. False with `status` set (UNAUTHENTICATED or PERMISSION_DENIED) when the call must end.
// The streaming reactors' counterpart of UnaryCall::Authenticate + Allowed.
bool Admit(const Context& context, const grpc::CallbackServerContext& server_context,
           Decision (*may)(const Principal&), CallRecord* record, grpc::Status* status);

// A unary call: finish it exactly once with Done; it logs and frees itself in OnDone.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(const Context& context, grpc::CallbackServerContext* server_context, const char* method,
            std::string request_id);
  // The caller, or null after the call was finished with UNAUTHENTICATED.
  std::shared_ptr<const Principal> Authenticate();
  // True when allowed; otherwise finishes the call with PERMISSION_DENIED.
  bool Allowed(const Decision& decision);
  // True when the client's deadline has passed or it cancelled: then the call is finished with
  // DEADLINE_EXCEEDED and nothing may be submitted (a command enqueued after its deadline would
  // commit with nobody waiting for the receipt). Mutations check it just before enqueueing.
  bool Expired();
  // Finishes the call. Done is the last use of the call, of its request and response and of
  // its server context: once the handler has returned, gRPC may run OnDone (and free them all)
  // inside Done, on the calling thread (InternalInlineable, below).
  void Done(grpc::Status status, std::uint64_t seq = 0);
  // Adds `text` to the call's log line (what the caller is not told, e.g. a failure's cause).
  // Before Done.
  void Note(std::string text) { record_.extra = std::move(text); }
  void OnDone() override;
  void OnCancel() override {}
  // Both reactions are trivial (OnDone frees the call, OnCancel does nothing), so gRPC may run
  // them on the thread that completes the call instead of handing OnDone to its executor: one
  // wake-up and ~20 µs of CPU less per unary call (issue #29; grpc::ServerContext's own default
  // reactor is marked so for the same reason). They must stay trivial: never block, never
  // call back into gRPC.
  bool InternalInlineable() override { return true; }

 private:
  const Context& context_;
  grpc::CallbackServerContext* const server_context_;
  CallRecord record_;
};

}  // namespace lovebank::service
