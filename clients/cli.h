#pragma once
// The `lovebank` command line's shared parts: connection settings, the call context, output in
// text or JSON, exit codes and the local request log. Includes gRPC: clients/ .cc files only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "grpcpp/grpcpp.h"
#include "lovebank/v1/api.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace lovebank::cli {

// Exit codes (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;      // the ledger (or the access rules) said no: a reason
inline constexpr int kExitUsage = 2;        // bad arguments
inline constexpr int kExitUnreachable = 3;  // no answer: unreachable, unavailable, deadline

// Settings every command shares; flags override LOVEBANK_* environment variables, which
// override the config file (~/.config/lovebank/config).
struct Globals {
  std::string server = "127.0.0.1:50051";
  std::string token;
  std::string ca_file;    // PEM: connect with TLS trusting this CA
  std::string cert_file;  // PEM client certificate and its key, for a server that asks for
  std::string key_file;   //   one (lovebankd --tls-client-ca): mutual TLS
  double timeout_s = 10;  // the deadline of every call
  bool json = false;
  std::string request_log;  // where request ids are written before sending
};

// One connection to lovebankd.
class Session {
 public:
  explicit Session(const Globals& globals);
  // A context with the token and the deadline.
  std::unique_ptr<grpc::ClientContext> Context() const;
  // With a longer deadline (streams).
  std::unique_ptr<grpc::ClientContext> Context(double timeout_s) const;
  const Globals& globals() const { return globals_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::Ledger::Stub& ledger() { return *ledger_; }
  v1::Admin::Stub& admin() { return *admin_; }
  v1::Audit::Stub& audit() { return *audit_; }
  v1::Supermarket::Stub& supermarket() { return *supermarket_; }
  v1::Programme::Stub& programme() { return *programme_; }
  v1::Exchange::Stub& exchange() { return *exchange_; }

 private:
  Globals globals_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Ledger::Stub> ledger_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Audit::Stub> audit_;
  std::unique_ptr<v1::Supermarket::Stub> supermarket_;
  std::unique_ptr<v1::Programme::Stub> programme_;
  std::unique_ptr<v1::Exchange::Stub> exchange_;
};

// Prints a failed call (text on stderr, or a JSON object on stdout with --json) and returns its
// exit code: kExitUnreachable for UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and
// CANCELLED (try again, with the same request id), kExitRefused otherwise.
int Fail(const Globals& globals, const grpc::Status& status, const std::string& request_id = "");
// A usage error found after parsing: message on stderr, kExitUsage.
int Usage(const std::string& message);

// A proto message as JSON (proto3 mapping, field names as in the .proto).
nlohmann::json ToJson(const google::protobuf::Message& message);
void PrintJson(const nlohmann::json& json);

// "cli-<12 hex random>-<kind>": a fresh request id.
std::string NewRequestId(const std::string& kind);

// The local request log: one JSON line per request before it is sent ({"request_id", "command",
// "args"}) and one with its outcome. A request that timed out is in the log, so it can be retried
// with --request-id and get its original outcome, never a double charge. Best effort only if the
// log cannot be written: then the command refuses to send (kExitUsage).
bool LogRequest(const Globals& globals, const std::string& request_id, const std::string& command,
                const nlohmann::json& args);
void LogOutcome(const Globals& globals, const std::string& request_id, const grpc::Status& status,
                std::uint64_t seq);

// Local time of a server timestamp: "2026-11-22 20:31:05".
std::string LocalTime(std::int64_t time_unix_us);
// The first `n` hex digits of a hash, for receipts.
inline std::string HashPrefix(const std::string& hash, std::size_t n = 12) {
  return hash.substr(0, n);
}

}  // namespace lovebank::cli
