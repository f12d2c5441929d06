#include "service/http_gateway.h"

#include <sys/socket.h>

#include <future>
#include <regex>
#include <thread>
#include <utility>

// cpp-httplib 0.11.4 (Debian libcpp-httplib-dev): a compiled library built with these options;
// the header must see the same ones (CMake passes the package's pkg-config flags).
#include <httplib.h>

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

void SendError(httplib::Response& res, grpc::StatusCode code, Reason reason,
               std::string_view message, std::uint64_t decided_at_seq = 0, int http_status = 0) {
  nlohmann::json body = {{"code", CodeName(code)},
                         {"reason", std::string(ReasonName(reason))},
                         {"message", std::string(message)},
                         {"decided_at_seq", decided_at_seq}};
  res.status = http_status != 0 ? http_status : HttpStatusOf(code);
  // dump with replacement: a message is UTF-8 already; never throw on a stray byte.
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json; charset=utf-8");
}

void SendRefusal(httplib::Response& res, Reason reason, std::string_view message,
                 int http_status = 0) {
  SendError(res, static_cast<grpc::StatusCode>(ReasonCode(reason)), reason, message, 0,
            http_status);
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

}  // namespace

class HttpGateway::Impl {
 public:
  HttpOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  Logger* logger = nullptr;
  std::unique_ptr<httplib::Server> server;
  std::thread listener;
  int port = 0;
  bool stopped = false;

  // One unary call to lovebankd's own server: the response bytes or the failed status.
  grpc::Status Call(const std::string& method, const std::string& authorization,
                    const std::string& request, std::string* response) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    grpc::Slice slice(request);
    grpc::ByteBuffer request_buffer(&slice, 1);
    grpc::ByteBuffer response_buffer;
    std::promise<grpc::Status> done;
    stub->UnaryCall(&context, method, grpc::StubOptions(), &request_buffer, &response_buffer,
                    [&done](grpc::Status status) { done.set_value(std::move(status)); });
    grpc::Status status = done.get_future().get();
    if (!status.ok()) return status;
    std::vector<grpc::Slice> slices;
    if (!response_buffer.Dump(&slices).ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the response cannot be read");
    }
    response->clear();
    for (const grpc::Slice& s : slices) {
      response->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
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
    if (method->client_streaming() || method->server_streaming()) {
      SendRefusal(
          res, Reason::kHttpStreamingUnsupported,
          Cat(service->name(), ".", method->name(), " streams its answer: call it over gRPC"));
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
    std::string response_bytes;
    const grpc::Status status =
        Call(Cat("/", service->full_name(), "/", method->name()),
             req.get_header_value("Authorization"), request->SerializeAsString(), &response_bytes);
    if (!status.ok()) {
      const v1::ErrorDetail detail = ErrorDetailOf(status);
      const Reason reason = detail.reason() == v1::REASON_OK ? Reason::kLedgerUnavailable
                                                             : static_cast<Reason>(detail.reason());
      SendError(res, status.error_code(), reason, status.error_message(), detail.decided_at_seq());
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
    google::protobuf::util::JsonPrintOptions print;
    print.always_print_primitive_fields = true;  // a zero balance is "0", not a missing field
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(*response, &json, print).ok()) {
      SendRefusal(res, Reason::kLedgerUnavailable, "the response cannot be written as JSON");
      return;
    }
    res.status = 200;
    res.set_content(json + "\n", "application/json; charset=utf-8");
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
  server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const int threads = std::max(1, options.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(options.body_bytes_max);
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
      SendRefusal(res, Reason::kHttpRouteUnknown,
                  Cat(Excerpt(req.method), " ", Excerpt(req.path),
                      " is no lovebank route (POST /v1/<Service>/<Method>, GET /healthz)"),
                  status);
    } else {
      SendRefusal(res, Reason::kHttpBodyInvalid,
                  Cat("the request is malformed (HTTP ", status, ")"), status);
    }
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
  // Bound and listening already (connections wait in the backlog): accept from here on.
  impl->listener = std::thread([self] { self->server->listen_after_bind(); });
  logger->Log(LogLevel::kInfo, Cat("lovebankd serving HTTP/JSON on port ", impl->port,
                                   options.tls_cert_file.empty() ? ", plaintext" : ", TLS"));
  return std::unique_ptr<HttpGateway>(new HttpGateway(std::move(impl)));
}

HttpGateway::HttpGateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpGateway::~HttpGateway() { Stop(); }

int HttpGateway::port() const { return impl_->port; }

void HttpGateway::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->server->stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

}  // namespace lovebank::service
