#include "service/http_gateway.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>
#include <utility>
#include <vector>

// cpp-httplib 0.11.4 (Debian libcpp-httplib-dev): a compiled library built with these options;
// the header must see the same ones (CMake passes the package's pkg-config flags).
#include <httplib.h>

#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/reason.h"
#include "lovebank/v1/api.pb.h"
#include "nlohmann/json.hpp"
#include "service/error_detail.h"

namespace lovebank::service {
namespace {

constexpr std::string_view kPackage = "lovebank.v1.";
// Connections the kernel queues before the listener accepts them (SOMAXCONN's default on Linux
// 5.4+; the kernel caps it at net.core.somaxconn).
constexpr int kHttpListenBacklog = 4096;
// protobuf's JSON parse error (it names the field and quotes a little of the value): this much.
constexpr std::size_t kParseMessageBytesMax = 160;

// The HTTP status of a gRPC code (the usual mapping, as grpc-gateway and Google's APIs use).
int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 412;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

// "FAILED_PRECONDITION" for the code.
std::string CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  const auto index = static_cast<std::size_t>(code);
  return index < std::size(kNames) ? kNames[index] : "UNKNOWN";
}

// The error object: {code, reason, message, decided_at_seq}.
std::string ErrorBody(grpc::StatusCode code, Reason reason, std::string_view message,
                      std::uint64_t decided_at_seq) {
  nlohmann::json body = {{"code", CodeName(code)},
                         {"reason", std::string(ReasonName(reason))},
                         {"message", std::string(message)},
                         {"decided_at_seq", decided_at_seq}};
  // dump with replacement: a message is UTF-8 already; never throw on a stray byte.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The error object of a failed call: its ErrorDetail's reason, or RPC_FAILED when gRPC itself
// failed the call before lovebank decided (a deadline, a message too large, the server stopping).
std::string ErrorBody(const grpc::Status& status) {
  const v1::ErrorDetail detail = ErrorDetailOf(status);
  const Reason reason =
      detail.reason() == v1::REASON_OK ? Reason::kRpcFailed : static_cast<Reason>(detail.reason());
  return ErrorBody(status.error_code(), reason, status.error_message(), detail.decided_at_seq());
}

void SendError(httplib::Response& res, grpc::StatusCode code, Reason reason,
               std::string_view message, std::uint64_t decided_at_seq = 0, int http_status = 0) {
  res.status = http_status != 0 ? http_status : HttpStatusOf(code);
  res.set_content(ErrorBody(code, reason, message, decided_at_seq) + "\n",
                  "application/json; charset=utf-8");
}

void SendError(httplib::Response& res, const grpc::Status& status) {
  res.status = HttpStatusOf(status.error_code());
  res.set_content(ErrorBody(status) + "\n", "application/json; charset=utf-8");
}

void SendRefusal(httplib::Response& res, Reason reason, std::string_view message,
                 int http_status = 0) {
  SendError(res, static_cast<grpc::StatusCode>(ReasonCode(reason)), reason, message, 0,
            http_status);
}

// A client's path as it may appear in a log line's value: printable ASCII but space, quote and
// backslash kept, anything else '?', at most 128 bytes (a newline or a space in a path must not
// forge a line or a field).
std::string LoggablePath(std::string_view path) {
  std::string text(path.substr(0, 128));
  for (char& c : text) {
    if (c <= ' ' || c > '~' || c == '"' || c == '\\') c = '?';
  }
  return text.empty() ? "-" : text;
}

// Splits "host:port" ("[v6]:port" too); std::nullopt when malformed.
std::optional<std::pair<std::string, int>> SplitAddress(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return std::nullopt;
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (char c : address.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  return std::make_pair(host, port);
}

// A message's bytes out of gRPC's buffer; std::nullopt when it cannot be read.
std::optional<std::string> BytesOf(grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return std::nullopt;
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

// One server-streaming call to lovebankd's own server, on a completion queue of its own that the
// HTTP worker thread reading the call (Next) drives: a message is read only when the HTTP client
// took the one before, so a slow phone holds one at most. No gRPC callback client (its threads
// would poll beside lovebankd's own; service/rpc.h).
class StreamCall final {
 public:
  static std::shared_ptr<StreamCall> Start(grpc::GenericStub& stub, const std::string& method,
                                           const std::string& authorization,
                                           const std::string& request, int seconds_max) {
    auto call = std::shared_ptr<StreamCall>(new StreamCall());
    call->context_.set_deadline(std::chrono::system_clock::now() +
                                std::chrono::seconds(seconds_max));
    if (!authorization.empty()) call->context_.AddMetadata("authorization", authorization);
    grpc::Slice slice(request);
    const grpc::ByteBuffer buffer(&slice, 1);
    call->stream_ = stub.PrepareCall(&call->context_, method, &call->queue_);
    call->stream_->StartCall(call.get());
    call->open_ = call->Wait();
    if (call->open_) {
      call->stream_->WriteLast(buffer, grpc::WriteOptions(), call.get());
      call->open_ = call->Wait();
    }
    return call;
  }

  StreamCall(const StreamCall&) = delete;
  StreamCall& operator=(const StreamCall&) = delete;

  // The next message; false once the stream is over (status() says how).
  bool Next(std::string* bytes) {
    while (open_) {
      grpc::ByteBuffer buffer;
      stream_->Read(&buffer, this);
      if (!Wait()) break;
      std::optional<std::string> read = BytesOf(buffer);
      if (read) {
        *bytes = std::move(*read);
        return true;
      }
      context_.TryCancel();  // unreadable: end the call (the HTTP client sees its error line)
    }
    if (open_ || !finished_) {
      open_ = false;
      finished_ = true;
      stream_->Finish(&status_, this);
      Wait();
    }
    return false;
  }
  const grpc::Status& status() const { return status_; }
  // The HTTP client went away: end the call.
  void CancelAndWait() {
    context_.TryCancel();
    std::string ignored;
    while (Next(&ignored)) {
    }
  }

 private:
  StreamCall() = default;

  // The one operation in flight has completed: its result.
  bool Wait() {
    void* tag = nullptr;
    bool ok = false;
    return queue_.Next(&tag, &ok) && ok;
  }

  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;  // after context_: gone before the call is released
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  bool open_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace

// cpp-httplib's ThreadPool queues every accepted connection without limit. This one holds at
// most `max` connections (served or waiting); at the cap, enqueue — called by the listener
// thread right after accept — waits, so the listener stops accepting. Stop unblocks it first.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(int threads, int max) : pool_(static_cast<std::size_t>(threads)), max_(max) {}

  void enqueue(std::function<void()> fn) override {
    {
      absl::MutexLock lock(&mu_);
      if (outstanding_ >= max_ && !unblocked_) {
        ++accept_waits_;
        mu_.Await(absl::Condition(this, &BoundedPool::CanAccept));
      }
      ++outstanding_;
      peak_ = std::max(peak_, outstanding_);
    }
    pool_.enqueue([this, fn = std::move(fn)] {
      fn();
      absl::MutexLock lock(&mu_);
      --outstanding_;
    });
  }
  // Joins the workers once (httplib's ThreadPool joins again on a second call, and must be shut
  // down before it is destroyed: a gateway that never listened shuts it down here).
  void shutdown() override {
    if (!std::exchange(shut_down_, true)) pool_.shutdown();
  }
  ~BoundedPool() override { shutdown(); }
  bool CanAccept() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return outstanding_ < max_ || unblocked_;
  }

  // Lets a waiting listener go (Stop: the listener must see the closed socket and return).
  void Unblock() {
    absl::MutexLock lock(&mu_);
    unblocked_ = true;
  }
  void Fill(HttpGateway::Stats* stats) {
    absl::MutexLock lock(&mu_);
    stats->connections = outstanding_;
    stats->connections_peak = peak_;
    stats->accept_waits = accept_waits_;
  }

 private:
  httplib::ThreadPool pool_;
  const int max_;
  mutable absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  int peak_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t accept_waits_ ABSL_GUARDED_BY(mu_) = 0;
  bool unblocked_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ = false;  // the listener's thread at its end, or the owner after it
};

// What httplib owns (and deletes when it stops listening): a handle on the gateway's own pool,
// which outlives it so that stats() stays valid after Stop.
class PoolHandle final : public httplib::TaskQueue {
 public:
  explicit PoolHandle(BoundedPool* pool) : pool_(pool) {}
  void enqueue(std::function<void()> fn) override { pool_->enqueue(std::move(fn)); }
  void shutdown() override { pool_->shutdown(); }

 private:
  BoundedPool* const pool_;
};

// The pages (clients/web; DESIGN.md "Reaching people"): GET of a file under the web root by a
// path of plain segments only (no "..", no hidden files: httplib has decoded %2e already), a
// directory's index.html, "/" the volunteer's page. Only the kinds of file the pages use are
// served, each with its type, and a policy that lets a page load nothing from anywhere else.
constexpr char kPagePolicy[] =
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";
constexpr std::size_t kPageBytesMax = 4 << 20;

const char* PageContentType(std::string_view path) {
  static constexpr std::pair<std::string_view, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json; charset=utf-8"},
      {".webmanifest", "application/manifest+json"}};
  for (const auto& [suffix, type] : kTypes) {
    if (path.size() > suffix.size() && path.substr(path.size() - suffix.size()) == suffix) {
      return type;
    }
  }
  return nullptr;
}

void HandlePage(const std::string& root, const httplib::Request& req, httplib::Response& res) {
  const auto not_found = [&] {
    SendRefusal(res, Reason::kHttpRouteUnknown,
                Cat("GET ", Excerpt(req.path), " is no page (pages: /app/, /counter/, ...)"), 404);
  };
  std::string path = req.path;
  if (path == "/") {
    res.set_redirect("/app/");
    return;
  }
  if (path.empty() || path[0] != '/') return not_found();
  if (path.back() == '/') path += "index.html";
  for (std::size_t start = 1; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = std::string_view(path).substr(start, end - start);
    const bool plain = !segment.empty() && segment.size() <= 64 && segment[0] != '.' &&
                       std::all_of(segment.begin(), segment.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                       });
    if (!plain) return not_found();
    start = end + 1;
  }
  const std::string file = root + path;
  const char* type = PageContentType(path);
  if (type == nullptr) {
    // "/app": the directory's page, at the address its relative links expect.
    std::error_code error;
    if (std::filesystem::is_directory(file, error)) return res.set_redirect(path + "/");
    return not_found();
  }
  std::ifstream in(file, std::ios::binary);
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  if (!in || error || size > kPageBytesMax || !std::filesystem::is_regular_file(file, error)) {
    return not_found();
  }
  std::string body(static_cast<std::size_t>(size), '\0');
  if (!in.read(body.data(), static_cast<std::streamsize>(body.size()))) return not_found();
  res.set_header("Content-Security-Policy", kPagePolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::move(body), type);
}

class HttpGateway::Impl {
 public:
  HttpOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  Logger* logger = nullptr;
  std::unique_ptr<BoundedPool> pool;  // before server: outlives it
  std::unique_ptr<httplib::Server> server;
  std::thread listener;
  std::atomic<bool> listener_done{false};  // listen_after_bind returned
  int listen_socket = -1;                  // the listening socket (set while binding)
  int port = 0;
  bool stopped = false;
  std::atomic<std::uint64_t> streams_abandoned{0};
  std::atomic<int> streams{0};  // streaming calls answering now

  // A place among the streaming calls at once, held until the call has ended (or the answer
  // failed): given back before the last chunk goes out, so a client that saw its stream end
  // finds the place free (the response object may outlive the answer a while).
  struct StreamSlot {
    std::atomic<int>* count;
    std::atomic<bool> held{true};
    void Release() {
      if (held.exchange(false)) count->fetch_sub(1, std::memory_order_relaxed);
    }
    ~StreamSlot() { Release(); }
  };
  std::shared_ptr<StreamSlot> TakeStreamSlot() {
    const int max =
        options.streams_max > 0 ? options.streams_max : std::max(1, options.threads / 2);
    if (streams.fetch_add(1, std::memory_order_relaxed) >= max) {
      streams.fetch_sub(1, std::memory_order_relaxed);
      return nullptr;
    }
    return std::shared_ptr<StreamSlot>(new StreamSlot{&streams});
  }

  // One unary call to lovebankd's own server: the response bytes or the failed status.
  grpc::Status Call(const std::string& method, const std::string& authorization,
                    const std::string& request, std::string* response) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    grpc::Slice slice(request);
    grpc::ByteBuffer request_buffer(&slice, 1);
    grpc::ByteBuffer response_buffer;
    // On a completion queue of this thread's (no gRPC callback client: service/rpc.h).
    grpc::CompletionQueue queue;
    auto call = stub->PrepareUnaryCall(&context, method, request_buffer, &queue);
    call->StartCall();
    grpc::Status status;
    call->Finish(&response_buffer, &status, &status);
    void* tag = nullptr;
    bool ok = false;
    if (!queue.Next(&tag, &ok) || !ok) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the call did not complete");
    }
    if (!status.ok()) return status;
    std::optional<std::string> bytes = BytesOf(response_buffer);
    if (!bytes) return grpc::Status(grpc::StatusCode::INTERNAL, "the response cannot be read");
    *response = std::move(*bytes);
    return status;
  }

  void HandleRpc(const httplib::Request& req, httplib::Response& res) {
    const std::string service_name = Cat(kPackage, req.matches[1].str());
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
    const google::protobuf::MethodDescriptor* method =
        service == nullptr ? nullptr : service->FindMethodByName(req.matches[2].str());
    if (method == nullptr) {
      SendRefusal(res, Reason::kHttpRouteUnknown,
                  Cat("no RPC ", Excerpt(req.matches[1].str()), ".", Excerpt(req.matches[2].str()),
                      " (POST /v1/<Service>/<Method>)"));
      return;
    }
    if (method->client_streaming()) {
      SendRefusal(
          res, Reason::kHttpRouteUnknown,
          Cat(service->name(), ".", method->name(), " streams its request: served over gRPC only"));
      return;
    }
    if (!IsValidUtf8(req.body)) {
      SendRefusal(res, Reason::kHttpBodyInvalid, "the body is not UTF-8");
      return;
    }
    const google::protobuf::Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type());
    std::unique_ptr<google::protobuf::Message> request(prototype->New());
    google::protobuf::util::JsonParseOptions parse;
    parse.ignore_unknown_fields = false;  // a misspelt field is an error, never silently dropped
    const std::string_view body = req.body.empty() ? std::string_view("{}") : req.body;
    if (auto parsed = google::protobuf::util::JsonStringToMessage(
            google::protobuf::StringPiece(body.data(), body.size()), request.get(), parse);
        !parsed.ok()) {
      SendRefusal(res, Reason::kHttpBodyInvalid,
                  Cat("the body is not a ", method->input_type()->name(), ": ",
                      Utf8Prefix(std::string_view(parsed.message().data(), parsed.message().size()),
                                 kParseMessageBytesMax)));
      return;
    }
    const std::string full_method = Cat("/", service->full_name(), "/", method->name());
    if (method->server_streaming()) {
      Stream(req, res, full_method, *method->output_type(), request->SerializeAsString());
      return;
    }
    std::string response_bytes;
    const grpc::Status status = Call(full_method, req.get_header_value("Authorization"),
                                     request->SerializeAsString(), &response_bytes);
    if (!status.ok()) {
      SendError(res, status);
      return;
    }
    std::unique_ptr<google::protobuf::Message> response(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(method->output_type())
            ->New());
    if (!response->ParseFromString(response_bytes)) {
      SendRefusal(res, Reason::kLedgerUnavailable, "the response does not decode");
      return;
    }
    std::string json;
    if (!ToJson(*response, &json)) {
      SendRefusal(res, Reason::kLedgerUnavailable, "the response cannot be written as JSON");
      return;
    }
    res.status = 200;
    res.set_content(json + "\n", "application/json; charset=utf-8");
  }

  static bool ToJson(const google::protobuf::Message& message, std::string* json) {
    google::protobuf::util::JsonPrintOptions print;
    print.always_print_primitive_fields = true;  // a zero balance is "0", not a missing field
    return google::protobuf::util::MessageToJsonString(message, json, print).ok();
  }

  // A server-streaming RPC as newline-delimited JSON, one response message per line. A failure
  // before the first message is an ordinary error answer; after it (the status line was sent),
  // the last line is the error object.
  void Stream(const httplib::Request& req, httplib::Response& res, const std::string& method,
              const google::protobuf::Descriptor& output, const std::string& request) {
    auto slot = TakeStreamSlot();
    if (slot == nullptr) {
      SendRefusal(res, Reason::kHttpStreamsFull,
                  "this listener answers its limit of streaming calls already; retry later");
      return;
    }
    auto call =
        StreamCall::Start(*stub, method, req.get_header_value("Authorization"), request,
                          options.stream_seconds_max > 0 ? options.stream_seconds_max
                                                         : HttpOptions().stream_seconds_max);
    std::string first;
    if (!call->Next(&first)) {
      const grpc::Status status = call->status();
      if (!status.ok()) {
        SendError(res, status);
      } else {
        res.status = 200;
        res.set_content("", "application/x-ndjson; charset=utf-8");
      }
      return;
    }
    const google::protobuf::Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(&output);
    res.status = 200;
    res.set_chunked_content_provider(
        "application/x-ndjson; charset=utf-8",
        [call, slot, prototype, pending = std::move(first), started = false](
            std::size_t, httplib::DataSink& sink) mutable {
          std::string bytes;
          if (!started) {
            bytes = std::move(pending);
            started = true;
          } else if (!call->Next(&bytes)) {
            const grpc::Status status = call->status();
            slot->Release();
            if (!status.ok()) {
              const std::string line = ErrorBody(status) + "\n";
              sink.write(line.data(), line.size());
            }
            sink.done();
            return true;
          }
          std::unique_ptr<google::protobuf::Message> message(prototype->New());
          std::string line;
          if (!message->ParseFromString(bytes) || !ToJson(*message, &line)) return false;
          line += "\n";
          return sink.write(line.data(), line.size());
        },
        [this, call](bool success) {
          if (success) return;
          streams_abandoned.fetch_add(1, std::memory_order_relaxed);
          call->CancelAndWait();
        });
  }

  void HandleHealth(httplib::Response& res) {
    std::string response;
    // grpc.health.v1.Health/Check with an empty request (the whole server); the answer is
    // HealthCheckResponse{status: SERVING = 1}, i.e. the two bytes 08 01.
    const grpc::Status status = Call("/grpc.health.v1.Health/Check", "", "", &response);
    const bool serving = status.ok() && response == std::string("\x08\x01", 2);
    res.status = serving ? 200 : 503;
    res.set_content(serving ? "{\"status\":\"SERVING\"}\n" : "{\"status\":\"NOT_SERVING\"}\n",
                    "application/json; charset=utf-8");
  }
};

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Start(
    const HttpOptions& options, std::shared_ptr<grpc::Channel> channel, Logger* logger) {
  auto address = SplitAddress(options.listen_address);
  if (!address) {
    return absl::InvalidArgumentError(
        Cat("--http-listen ", options.listen_address, " is not HOST:PORT"));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->channel = std::move(channel);
  impl->stub = std::make_unique<grpc::GenericStub>(impl->channel);
  impl->logger = logger;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return absl::InvalidArgumentError("HTTPS needs both --tls-cert and --tls-key");
    }
    auto server = std::make_unique<httplib::SSLServer>(
        options.tls_cert_file.c_str(), options.tls_key_file.c_str(),
        options.tls_client_ca_file.empty() ? nullptr : options.tls_client_ca_file.c_str());
    if (!server->is_valid()) {
      return absl::InvalidArgumentError("the TLS certificate or key cannot be used for HTTPS");
    }
    impl->server = std::move(server);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *impl->server;
  // No SO_REUSEPORT (cpp-httplib sets it by default, like gRPC): a second lovebankd on the same
  // port must fail to bind, not share the clients. SO_REUSEADDR only lets a restart rebind.
  // The listening socket is remembered so that its backlog can be raised once it listens.
  server.set_socket_options([self = impl.get()](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    self->listen_socket = sock;
  });
  const int threads = std::max(1, options.threads);
  const int connections_max = std::max(threads, options.connections_max);
  impl->pool = std::make_unique<BoundedPool>(threads, connections_max);
  server.new_task_queue = [pool = impl->pool.get()] { return new PoolHandle(pool); };
  server.set_payload_max_length(options.body_bytes_max);
  // No Nagle: an answer's headers and body are separate writes, and Nagle held the body until the
  // client's delayed ACK of the headers (40 ms a call on loopback; docs/benchmarks.md).
  server.set_tcp_nodelay(true);
  server.set_read_timeout(options.read_timeout_seconds, 0);
  server.set_write_timeout(options.write_timeout_seconds, 0);
  server.set_keep_alive_timeout(options.keep_alive_seconds);
  server.set_keep_alive_max_count(static_cast<std::size_t>(options.keep_alive_requests_max));
  Impl* self = impl.get();
  server.Post(
      R"(/v1/([A-Za-z0-9_]{1,64})/([A-Za-z0-9_]{1,64}))",
      [self](const httplib::Request& req, httplib::Response& res) { self->HandleRpc(req, res); });
  server.Get("/healthz",
             [self](const httplib::Request&, httplib::Response& res) { self->HandleHealth(res); });
  if (options.metrics_text) {
    // Prometheus scrapes this (docs/operations.md): counts and times, nothing about anyone — but
    // how busy the tills are and how many wrong codes are tried is nobody else's business, so it
    // answers this machine only (a scraper elsewhere comes through a tunnel or a proxy).
    server.Get("/metrics", [text = options.metrics_text](const httplib::Request& req,
                                                         httplib::Response& res) {
      const std::string& peer = req.remote_addr;
      const bool loopback =
          peer.rfind("127.", 0) == 0 || peer == "::1" || peer.rfind("::ffff:127.", 0) == 0;
      if (!loopback) {
        SendRefusal(res, Reason::kPermissionDenied,
                    "GET /metrics answers on lovebankd's own machine only (docs/operations.md)",
                    403);
        return;
      }
      res.set_content(text(), "text/plain; version=0.0.4; charset=utf-8");
    });
  }
  if (!options.web_root.empty()) {
    server.Get(".*",
               [root = options.web_root](const httplib::Request& req, httplib::Response& res) {
                 HandlePage(root, req, res);
               });
  }
  // What cpp-httplib answers itself (no route, a body over the limit, a bad request line) gets
  // the same JSON error shape as everything else.
  const std::size_t body_max = options.body_bytes_max;
  server.set_error_handler([body_max](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const int status = res.status;
    if (status == 413) {
      SendRefusal(res, Reason::kHttpBodyTooLarge,
                  Cat("the body is larger than ", body_max, " bytes"), 413);
    } else if (status == 404 || status == 405) {
      SendRefusal(
          res, Reason::kHttpRouteUnknown,
          Cat(Excerpt(req.method), " ", Excerpt(req.path),
              " is no lovebank route (POST /v1/<Service>/<Method>, GET /healthz, GET /metrics)"),
          status);
    } else {
      SendRefusal(res, Reason::kHttpBodyInvalid,
                  Cat("the request is malformed (HTTP ", status, ")"), status);
    }
  });
  // One line per HTTP request beside the gRPC call's own line (which names the principal and the
  // outcome): who connected, what they asked for, what they got.
  // Counted before the response is written (httplib's post-routing handler; its logger runs
  // after): a client that has its answer finds it in /metrics.
  if (options.count_status) {
    server.set_post_routing_handler(
        [count = options.count_status](const httplib::Request&, httplib::Response& res) {
          count(res.status);
        });
  }
  server.set_logger([logger](const httplib::Request& req, const httplib::Response& res) {
    logger->LogFields(
        res.status < 400 ? LogLevel::kInfo : LogLevel::kWarn,
        Cat("http_method=", LoggablePath(req.method), " path=", LoggablePath(req.path),
            " peer=", LoggablePath(req.remote_addr), " status=", res.status));
  });
  server.set_exception_handler(
      [self](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        self->logger->Log(LogLevel::kError, "http: a request handler threw");
        SendRefusal(res, Reason::kLedgerUnavailable, "internal error", 500);
      });
  const auto& [host, port] = *address;
  impl->port =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (impl->port <= 0) {
    return absl::UnavailableError(
        Cat("cannot listen for HTTP on ", options.listen_address, " (in use?)"));
  }
  // cpp-httplib 0.11 listens with a backlog of 5 (compiled into Debian's library): a burst of
  // phones connecting at once overflowed it, and each dropped SYN cost its client a 1 s, then 2 s
  // retransmit (p999 of 1-2 s at 64 clients; docs/benchmarks.md). listen() again on the listening
  // socket raises the backlog (Linux keeps the socket and its queue).
  if (impl->listen_socket >= 0 && ::listen(impl->listen_socket, kHttpListenBacklog) != 0) {
    return absl::UnavailableError(
        Cat("cannot raise the HTTP listen backlog on ", options.listen_address, ": errno ", errno));
  }
  // Bound and listening already (connections wait in the backlog): accept from here on.
  impl->listener = std::thread([self] {
    self->server->listen_after_bind();
    self->listener_done.store(true);
  });
  logger->Log(LogLevel::kInfo, Cat("lovebankd serving HTTP/JSON on port ", impl->port,
                                   options.tls_cert_file.empty() ? ", plaintext" : ", TLS"));
  return std::unique_ptr<HttpGateway>(new HttpGateway(std::move(impl)));
}

HttpGateway::HttpGateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpGateway::~HttpGateway() { Stop(); }

int HttpGateway::port() const { return impl_->port; }

HttpGateway::Stats HttpGateway::stats() const {
  Stats stats;
  if (impl_->pool != nullptr) impl_->pool->Fill(&stats);
  stats.streams_abandoned = impl_->streams_abandoned.load(std::memory_order_relaxed);
  stats.streams = impl_->streams.load(std::memory_order_relaxed);
  return stats;
}

void HttpGateway::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->pool != nullptr) impl_->pool->Unblock();
  // httplib's stop() does nothing until its listener thread has marked itself running, so a Stop
  // right after Start would leave the listener accepting forever: ask until it has returned.
  while (impl_->listener.joinable() && !impl_->listener_done.load()) {
    impl_->server->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl_->listener.joinable()) impl_->listener.join();
}

}  // namespace lovebank::service
