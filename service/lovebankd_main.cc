// lovebankd: the lovebank ledger as a gRPC service. See docs/api.md and the README.
//
//   lovebankd [--listen 127.0.0.1:50051] [--data-dir var/ledger] [--tls-cert F --tls-key F [--tls-client-ca F]]
//             [--queue-depth N] [--log-level info] [--config lovebankd.toml]
//
// SIGTERM / SIGINT: stop accepting calls, finish those in flight, commit what is queued, close
// RocksDB cleanly, exit 0.

#include <pthread.h>
#include <signal.h>

#include <iostream>

#include "CLI/CLI.hpp"
#include "service/server.h"

namespace {

int Main(int argc, char** argv) {
  lovebank::service::ServerOptions options;
  std::string log_level = "info";
  CLI::App app{"lovebankd: the lovebank ledger over gRPC (love bank / love supermarket).",
               "lovebankd"};
  app.set_config("--config", "", "TOML or INI file with any of the options below (key = value)");
  app.add_option("--listen", options.listen_address, "address to listen on (port 0: any free)")
      ->capture_default_str();
  app.add_option("--data-dir", options.data_dir, "ledger data directory")->capture_default_str();
  app.add_option("--tls-cert", options.tls_cert_file, "PEM certificate chain (enables TLS)");
  app.add_option("--tls-key", options.tls_key_file, "PEM private key (with --tls-cert)");
  app.add_option("--tls-client-ca", options.tls_client_ca_file,
                 "PEM CA: require client certificates signed by it (mutual TLS)");
  app.add_option("--queue-depth", options.queue_depth_max,
                 "commands waiting for the sequencer before RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  app.add_option("--log-level", log_level, "debug | info | warn | error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);
  options.log_level = *lovebank::service::ParseLogLevel(log_level);

  // Signals go to this thread only (sigwait below), never to gRPC's or the ledger's threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = lovebank::service::Server::Start(options);
  if (!server.ok()) {
    std::cerr << "lovebankd: " << server.status() << "\n";
    return 1;
  }
  if (!(*server)->admin_token_file().empty()) {
    std::cerr << "lovebankd: new ledger: the first admin's token is in "
              << (*server)->admin_token_file() << " (mode 0600)\n";
  }
  std::cerr << "lovebankd: listening on port " << (*server)->port() << std::endl;
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::cerr << "lovebankd: " << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": draining and closing the ledger" << std::endl;
  const lovebank::Head head = (*server)->Shutdown();
  std::cerr << "lovebankd: stopped cleanly at head " << head.seq << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
