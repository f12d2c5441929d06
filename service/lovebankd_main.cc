// lovebankd: the lovebank ledger as a gRPC service. See docs/api.md and the README.
//
//   lovebankd [--listen 127.0.0.1:50051] [--data-dir var/ledger] [--tls-cert F --tls-key F
//   [--tls-client-ca F]]
//             [--queue-depth N] [--log-level info] [--config lovebankd.toml]
//             [--init] [--clock-start 2026-11-20T08:00:00Z]   (the clock: tests and demos only)
//
// Exit codes: 0 stopped cleanly; 1 the ledger or the address failed (e.g. the port is in use);
// 2 a usage error: a bad flag, an unknown --config key, no ledger in --data-dir without --init.
//
// SIGTERM / SIGINT: stop accepting calls, finish those in flight, commit what is queued, close
// RocksDB cleanly, exit 0.

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>
#include <tuple>

#include "CLI/CLI.hpp"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/base/version.h"
#include "service/log.h"
#include "service/server.h"

namespace {

// "YYYY-MM-DDTHH:MM:SSZ" (UTC) as microseconds since the epoch; std::nullopt when malformed.
std::optional<std::int64_t> ParseUtcInstant(const std::string& text) {
  if (text.size() != 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != 'Z' || !lovebank::IsValidDate(text.substr(0, 10))) {
    return std::nullopt;
  }
  int hour = 0, minute = 0, second = 0;
  for (const auto& [at, field, limit] :
       {std::tuple{11, &hour, 23}, std::tuple{14, &minute, 59}, std::tuple{17, &second, 59}}) {
    const char tens = text[at], ones = text[at + 1];
    if (tens < '0' || tens > '9' || ones < '0' || ones > '9') return std::nullopt;
    *field = (tens - '0') * 10 + (ones - '0');
    if (*field > limit) return std::nullopt;
  }
  std::tm utc{};
  utc.tm_year = std::stoi(text.substr(0, 4)) - 1900;
  utc.tm_mon = std::stoi(text.substr(5, 2)) - 1;
  utc.tm_mday = std::stoi(text.substr(8, 2));
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&utc)) * 1000000;
}

int Main(int argc, char** argv) {
  lovebank::service::ServerOptions options;
  std::string log_level = "info";
  CLI::App app{"lovebankd: the lovebank ledger over gRPC (love bank / love supermarket).",
               "lovebankd"};
  app.set_version_flag("--version", lovebank::VersionText("lovebankd"));
  app.set_config("--config", "", "TOML or INI file with any of the options below (key = value)");
  app.add_option("--listen", options.listen_address, "address to listen on (port 0: any free)")
      ->capture_default_str();
  app.add_option("--data-dir", options.data_dir, "ledger data directory")->capture_default_str();
  app.add_option("--tls-cert", options.tls_cert_file, "PEM certificate chain (enables TLS)");
  app.add_option("--tls-key", options.tls_key_file, "PEM private key (with --tls-cert)");
  app.add_option("--tls-client-ca", options.tls_client_ca_file,
                 "PEM CA: require client certificates signed by it (mutual TLS)");
  app.add_option("--http-listen", options.http_listen_address,
                 "also serve HTTP/JSON here, HOST:PORT (POST /v1/<Service>/<Method>; off unless "
                 "given; HTTPS with --tls-cert/--tls-key)");
  app.add_option("--web-root", options.web_root,
                 "with --http-listen, also serve the pages in this directory (clients/web): "
                 "/app/ for members, /counter/ for the love supermarket's till");
  bool init_only = false;
  app.add_flag("--init-only", init_only,
               "create the ledger in --data-dir (the first admin's token, the signing key) and "
               "exit without serving; a ledger already there is only checked (the Debian "
               "package's postinst: the service itself never runs with --init)");
  bool no_metrics = false;
  app.add_flag("--no-metrics", no_metrics,
               "with --http-listen, do not answer GET /metrics (Prometheus text: counts and "
               "times of calls, commits, fsyncs, refusals by reason; no names or amounts)");
  app.add_option("--grpc-threads", options.grpc_threads,
                 "threads that run the gRPC handlers which may take long (HTTP/JSON calls' "
                 "too; one more thread takes every call and answers the quick ones); (N - 1) / 2 "
                 "certificates and as many imports are made at once, so that one is always free")
      ->capture_default_str()
      ->check(CLI::Range(3, 64));
  app.add_option("--http-threads", options.http_threads, "HTTP connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--http-connections-max", options.http_connections_max,
                 "HTTP connections served or waiting for a thread; at the cap no more are "
                 "accepted until one ends")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  app.add_option("--watchers-max", options.watchers_max,
                 "WatchEntries streams served at once (8 per principal at most); more are "
                 "refused WATCHERS_FULL")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--queue-depth", options.queue_depth_max,
                 "commands waiting for the sequencer before RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  app.add_option("--log-level", log_level, "debug | info | warn | error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  std::string clock_start;
  app.add_option("--clock-start", clock_start,
                 "tests and demos: entry times start at this UTC instant (2026-11-20T08:00:00Z) "
                 "and advance with the monotonic clock; default the system clock");
  app.add_flag("--new-signing-key", options.new_signing_key,
               "make a new signing.key when the ledger's is missing (certificates issued under the "
               "old key then verify only against the old published key; docs/proofs.md)");
  app.add_option("--public-url", options.public_url,
                 "where people reach these pages (e.g. https://lovebank.nanxi.gov.cn, behind a "
                 "proxy): certificates' QR codes link to its /verify/ page");
  app.add_flag("--rotate-signing-key", options.rotate_signing_key,
               "make a new signing key endorsed by the current one, journal the change and sign "
               "with the new key from now on (the old one is kept as signing-<id>.retired.key; "
               "docs/proofs.md \"Key rotation\")");
  app.add_flag("--init", options.init,
               "create a new ledger when --data-dir holds none (without it a missing ledger is an "
               "error: a mistyped directory never starts an empty ledger)");
  // A misspelt key (data_dir for data-dir, log-levle) would otherwise be ignored silently.
  app.allow_config_extras(CLI::config_extras_mode::error);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ConfigError& e) {
    std::cerr << "lovebankd: --config: " << e.what()
              << " (an unknown or misspelt key; lovebankd --help lists the keys)\n";
    return 2;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  options.log_level = *lovebank::service::ParseLogLevel(log_level);
  options.metrics = !no_metrics;
  if (init_only) {  // nothing is served: loopback, any free port, no HTTP
    options.init = true;
    options.listen_address = "127.0.0.1:0";
    options.http_listen_address.clear();
  }
  if (!clock_start.empty()) {
    const std::optional<std::int64_t> start_unix_us = ParseUtcInstant(clock_start);
    if (!start_unix_us) {
      std::cerr << "lovebankd: --clock-start: not a UTC instant like 2026-11-20T08:00:00Z: "
                << clock_start.substr(0, 64) << "\n";
      return 2;
    }
    options.clock_unix_us = [start = *start_unix_us, origin = std::chrono::steady_clock::now()] {
      return start + std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - origin)
                         .count();
    };
  }

  // Signals go to this thread only (sigwait below), never to gRPC's or the ledger's threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = lovebank::service::Server::Start(options);
  if (!server.ok()) {
    std::cerr << "lovebankd: " << server.status().message() << "\n";
    // 2: what was asked cannot be started (no ledger without --init, bad TLS files); 1: the
    // ledger or the address failed (in use, storage).
    const absl::StatusCode code = server.status().code();
    return code == absl::StatusCode::kNotFound || code == absl::StatusCode::kInvalidArgument ? 2
                                                                                             : 1;
  }
  // The lines an operator or a supervisor waits for, in the log's one format whatever --log-level
  // says (scripts and tests find "listening on port N" and "stopped cleanly" in them).
  // Each log writes from a thread of its own: the server's lines so far go out before these.
  lovebank::service::Logger lifecycle(lovebank::service::LogLevel::kDebug, stderr);
  using lovebank::Cat;
  using lovebank::service::LogLevel;
  (*server)->FlushLog();
  if (!(*server)->admin_token_file().empty()) {
    lifecycle.Log(LogLevel::kInfo, Cat("new ledger: the first admin's token is in ",
                                       (*server)->admin_token_file(), " (mode 0600)"));
  }
  if (init_only) {
    lifecycle.Flush();
    const lovebank::Head head = (*server)->Shutdown();
    lifecycle.Log(LogLevel::kInfo, Cat("the ledger in ", options.data_dir, " is ready at head ",
                                       head.seq, " (--init-only: nothing served)"));
    return 0;
  }
  lifecycle.Log(LogLevel::kInfo, Cat("listening on port ", (*server)->port()));
  if ((*server)->http_port() != 0) {  // after the gRPC line, which scripts wait for
    lifecycle.Log(LogLevel::kInfo, Cat("HTTP/JSON on port ", (*server)->http_port()));
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  lifecycle.Log(LogLevel::kInfo, Cat(signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                                     ": draining and closing the ledger"));
  lifecycle.Flush();  // before the server's last lines
  const lovebank::Head head = (*server)->Shutdown();
  lifecycle.Log(LogLevel::kInfo, Cat("stopped cleanly at head ", head.seq));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
