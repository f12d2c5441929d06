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
  // Long calls of one kind (GetCertificate, Import) on the gRPC threads at once: with both kinds
  // at their cap, at least one of the --grpc-threads still takes calls.
  int long_calls_max = 1;
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

// One unary call as lovebankd's completion-queue server (service/rpc.cc) hands it to its
// handler: the call's metadata and deadline, and how it ends.
class CallContext {
 public:
  virtual const grpc::ServerContextBase& server_context() const = 0;
  // Sends the response (when `status` is OK) and the status. The last use of the call, of its
  // request and of its response: gRPC may free them all before Finish returns.
  virtual void Finish(grpc::Status status) = 0;

 protected:
  ~CallContext() = default;
};

class ServerStream;

// One server-streaming call as the completion-queue server hands it to its handler (the
// ServerStream below is the handler's side of it).
class StreamContext {
 public:
  virtual const grpc::ServerContextBase& server_context() const = 0;
  virtual void Attach(ServerStream* stream) = 0;
  virtual void Write(const google::protobuf::Message* message) = 0;
  virtual void Finish(grpc::Status status) = 0;

 protected:
  ~StreamContext() = default;
};

// A server-streaming call's handler, with the reactions gRPC's callback API has: at most one
// write at a time (StartWrite, then OnWriteDone), Finish exactly once, OnCancel when the client
// went away or the deadline passed, OnDone last (the stream frees itself there). A write or a
// Finish asked for in the constructor goes out once the handler has returned; no reaction runs
// before then, and never two of one stream at once.
class ServerStream {
 public:
  explicit ServerStream(StreamContext* ctx) : ctx_(ctx) { ctx_->Attach(this); }
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  // `message` must stay unchanged until OnWriteDone.
  void StartWrite(const google::protobuf::Message* message) { ctx_->Write(message); }
  void Finish(grpc::Status status) { ctx_->Finish(std::move(status)); }

  virtual void OnWriteDone(bool /*ok*/) {}
  virtual void OnCancel() {}
  virtual void OnDone() = 0;

 protected:
  virtual ~ServerStream() = default;

 private:
  StreamContext* const ctx_;
};

// Authenticates the caller from the `authorization` metadata. On failure returns null and sets
// `status` to UNAUTHENTICATED with the reason.
std::shared_ptr<const Principal> Authenticate(const Context& context,
                                              const grpc::ServerContextBase& server_context,
                                              grpc::Status* status);

// Authenticates the caller and checks `may` (e.g. MayAudit), recording the principal in
// `record`. False with `status` set (UNAUTHENTICATED or PERMISSION_DENIED) when the call must end.
// The streams' counterpart of UnaryCall::Authenticate + Allowed.
bool Admit(const Context& context, const grpc::ServerContextBase& server_context,
           Decision (*may)(const Principal&), CallRecord* record, grpc::Status* status);

// A unary call's handler side: finish it exactly once with Done, which logs the call and frees
// this object.
class UnaryCall final {
 public:
  UnaryCall(const Context& context, CallContext* ctx, const char* method, std::string request_id);
  UnaryCall(const UnaryCall&) = delete;
  UnaryCall& operator=(const UnaryCall&) = delete;
  // The caller, or null after the call was finished with UNAUTHENTICATED.
  std::shared_ptr<const Principal> Authenticate();
  // True when allowed; otherwise finishes the call with PERMISSION_DENIED.
  bool Allowed(const Decision& decision);
  // True when the client's deadline has passed: then the call is finished with
  // DEADLINE_EXCEEDED and nothing may be submitted (a command enqueued after its deadline would
  // commit with nobody waiting for the receipt). Mutations check it just before enqueueing.
  bool Expired();
  // Finishes the call and frees this object. Done is the last use of the call, of its request
  // and response and of its server context: gRPC may free them all before it returns.
  void Done(grpc::Status status, std::uint64_t seq = 0);
  // Adds `text` to the call's log line (what the caller is not told, e.g. a failure's cause).
  // Before Done.
  void Note(std::string text) { record_.extra = std::move(text); }

 private:
  ~UnaryCall() = default;

  const Context& context_;
  CallContext* const ctx_;
  CallRecord record_;
};

}  // namespace lovebank::service
