#pragma once
// The lovebankd server: the ledger, the principal registry and the gRPC services (Ledger, Admin,
// Audit, grpc.health.v1.Health, server reflection) on one listening address. Used by the daemon
// (lovebankd_main.cc), the integration tests and the load bench. No gRPC in this header.
//
// Data directory layout: <data_dir>/db is the RocksDB directory of the ledger;
// <data_dir>/admin.token holds the first admin's token (mode 0600) when this data directory was
// created by lovebankd. lovebankd creates <data_dir> and <data_dir>/db with mode 0700 (only the
// server's user may read the ledger or the token); an existing data directory that others may
// read is served, with a warning in the log.

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ledger/ledger.h"
#include "service/http_gateway.h"
#include "service/log.h"
#include "service/watch.h"

namespace rocksdb {
class Env;
}

namespace lovebank::service {

// Largest request lovebankd accepts: a SubmitBatch of 8,192 commands of ~1.2 KB at most each
// (512-byte memo, 256-byte reason, ids, names) is ~10 MB. A bigger message is refused by gRPC with
// RESOURCE_EXHAUSTED before any handler runs.
inline constexpr int kRequestBytesMax = 16 << 20;
// How long Shutdown waits for calls in flight before cancelling them.
inline constexpr int kShutdownGraceSeconds = 30;

struct ServerOptions {
  std::string listen_address = "127.0.0.1:50051";  // "host:0" picks a free port
  std::string data_dir = "var/ledger";
  // Create a new ledger when data_dir holds none (lovebankd --init). false: a missing ledger is
  // NotFound, so a mistyped data directory never starts an empty ledger with a new admin.
  bool init = false;
  // Make a new signing.key for an existing ledger whose key is missing (docs/proofs.md): without
  // it lovebankd refuses to start rather than sign under a key nobody published.
  bool new_signing_key = false;
  // Make a new signing key endorsed by the current one, journal the change and sign with the
  // new key from then on (docs/proofs.md "Key rotation"); the old one is kept as
  // signing-<id>.retired.key.
  bool rotate_signing_key = false;
  std::string tls_cert_file;  // PEM; with tls_key_file: TLS, without both: plaintext
  std::string tls_key_file;
  // PEM CA certificates: with TLS, every client must present a certificate signed by one of
  // them (mutual TLS), on top of its bearer token. Empty: no client certificate asked for.
  std::string tls_client_ca_file;
  // The address people reach lovebankd's HTTP pages at, e.g. "https://lovebank.nanxi.gov.cn"
  // (behind a proxy): certificates' QR codes then link to its /verify/ page. http(s) only, at
  // most 200 bytes; empty: the QR holds the signed summary alone.
  std::string public_url;
  // HTTP/JSON beside gRPC (service/http_gateway.h) on this address, with the same TLS files;
  // empty: off.
  std::string http_listen_address;
  // Threads that run the gRPC handlers which are not quick (service/rpc.h: one more thread polls
  // and runs the quick ones), at least 3: a handler that reads long (a certificate, an import's
  // file) holds one, and (grpc_threads - 1) / 2 of each such kind run at once
  // (Context::long_calls_max), so one is always free for the rest.
  int grpc_threads = 4;
  int http_threads = 8;           // HTTP connections served at once
  int http_connections_max = 64;  // HTTP connections served or waiting (http_gateway.h)
  std::string web_root;           // the pages (clients/web) over HTTP; empty: none
  // GET /metrics on the HTTP listener (Prometheus text; service/metrics.h): counts and times only.
  bool metrics = true;
  std::size_t watchers_max = kWatchersMaxDefault;  // WatchEntries streams at once (service/watch.h)
  std::size_t queue_depth_max = kQueueDepthMaxDefault;
  LogLevel log_level = LogLevel::kInfo;
  std::FILE* log_out = stderr;                  // borrowed, until Shutdown or the destructor
  std::function<std::int64_t()> clock_unix_us;  // tests; default the system clock
  rocksdb::Env* env = nullptr;  // tests (storage faults); borrowed, must outlive the server
};

class Server {
 public:
  // Opens the ledger (creating it only with options.init), creates the first admin on a ledger
  // without any principal, and starts serving. Errors: NotFound when data_dir holds no ledger and
  // options.init is false; the ledger's Open errors; InvalidArgument for a bad address or
  // unreadable TLS files; Unavailable when the address cannot be bound (port reuse is off: a
  // second server on a used address fails here).
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options);
  // Shuts down if Shutdown was not called.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  int http_port() const;                  // 0 when HTTP is off
  HttpGateway::Stats http_stats() const;  // zeros when HTTP is off
  // The file holding the first admin's token when this start created it; empty otherwise.
  const std::string& admin_token_file() const;
  Ledger& ledger();
  // Returns once every log line so far is written to ServerOptions::log_out (the log is written
  // by a thread of its own: service/log.h).
  void FlushLog();

  // Health NOT_SERVING, stop accepting calls, let calls in flight finish (up to
  // kShutdownGraceSeconds), then close the ledger: every queued command is committed and RocksDB
  // is closed cleanly; every log line is written. Idempotent. Returns the final head.
  Head Shutdown();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lovebank::service
