#pragma once
// lovebankd's HTTP/JSON listener (issue #24 item 1): phones, mini-programs and browsers cannot
// speak gRPC, so every unary RPC of every lovebank service is also served as
//
//   POST /v1/<Service>/<Method>        e.g. POST /v1/Ledger/GetBalance
//   Authorization: Bearer <token>
//   body: the request message as proto3 JSON (an empty body is {})
//
// One transcoder for all of them, built on protobuf's JSON mapping and the services' descriptors:
// the body becomes the request message, the call goes to lovebankd's own gRPC server in process
// (so the same token check, role check, limits and reasons apply), and the response message comes
// back as JSON. A failed call answers the HTTP status of its gRPC code with
// {"code", "reason", "message", "decided_at_seq"}. GET /healthz answers the gRPC health status.
// Limits (each named, each refused with a reason): body size, header size (8 KiB, fixed by
// cpp-httplib), read and write timeouts, idle keep-alive time, requests per connection, and the
// requests served at once (the worker threads; more wait in the queue).
// No gRPC types in this header.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/log.h"

namespace grpc {
class Channel;
}

namespace lovebank::service {

struct HttpOptions {
  std::string listen_address;  // "host:port" ("host:0" picks a free port)
  std::string tls_cert_file;   // PEM; with tls_key_file: HTTPS
  std::string tls_key_file;
  std::string tls_client_ca_file;  // with TLS: require client certificates signed by it
  std::size_t body_bytes_max = 16 << 20;
  int threads = 8;  // connections served at once (one worker each, keep-alive included)
  // Accepted connections served or waiting for a worker, at most; at the cap the listener stops
  // accepting until one ends (further clients wait in the kernel's listen backlog, then are
  // refused by it), so memory and file descriptors stay bounded whatever clients do.
  int connections_max = 64;
  int read_timeout_seconds = 30;
  int write_timeout_seconds = 30;
  int keep_alive_seconds = 5;
  int keep_alive_requests_max = 100;
  // Streaming calls (NDJSON) at once: each holds a thread while it lasts, so at most half the
  // threads (at least one); more are refused 429 HTTP_STREAMS_FULL. 0: threads / 2.
  int streams_max = 0;
  // A streaming call's total time: then it ends (its last line RPC_FAILED, DEADLINE_EXCEEDED), so
  // a watch without idle_seconds never holds a thread for good; long enough for Verify and
  // ReadJournal of a town's ledger. 0 or less: the default.
  int stream_seconds_max = 900;
  // The pages' directory (clients/web): GET /app/, /counter/, ... serve its files; empty: none.
  std::string web_root;
  // GET /metrics answers with what this returns (Prometheus text); empty: no /metrics.
  std::function<std::string()> metrics_text;
  // Counts each HTTP request's status (may be empty).
  std::function<void(int)> count_status;
};

class HttpGateway {
 public:
  // Binds and starts serving on a thread of its own; calls go to `channel` (lovebankd's server,
  // in process). Errors: InvalidArgument for a bad address or unreadable TLS files, Unavailable
  // when the address cannot be bound (no port sharing: a second listener on it fails here).
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Start(const HttpOptions& options,
                                                            std::shared_ptr<grpc::Channel> channel,
                                                            Logger* logger);
  ~HttpGateway();  // Stop
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  int port() const;
  // What the listener has seen (for tests and, later, metrics).
  struct Stats {
    int connections = 0;             // accepted, served or waiting for a worker, now
    int connections_peak = 0;        // the most at once since start (never above connections_max)
    std::uint64_t accept_waits = 0;  // times the listener stopped at connections_max
    std::uint64_t streams_abandoned = 0;  // streaming calls cancelled: the client went away
    int streams = 0;                      // streaming calls answering now
  };
  Stats stats() const;
  // Stops accepting, lets requests in flight finish, joins the listener. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit HttpGateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lovebank::service
