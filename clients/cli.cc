#include "clients/cli.h"

#include <openssl/rand.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "google/protobuf/util/json_util.h"
#include "grpc/support/time.h"
#include "ledger/base/coding.h"
#include "ledger/format/reason.h"
#include "service/error_detail.h"

namespace lovebank::cli {

Session::Session(const Globals& globals) : globals_(globals) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!globals.ca_file.empty() || !globals.cert_file.empty()) {
    // A file from the environment or the config file that cannot be read is named here (the
    // handshake then fails: exit 3); the flags were checked at parsing (exit 2).
    auto slurp = [](const std::string& path) {
      std::ifstream in(path);
      if (!in) std::cerr << "lovebank: cannot read " << path << "\n";
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    grpc::SslCredentialsOptions ssl;
    if (!globals.ca_file.empty()) ssl.pem_root_certs = slurp(globals.ca_file);
    if (!globals.cert_file.empty()) {
      ssl.pem_cert_chain = slurp(globals.cert_file);
      ssl.pem_private_key = slurp(globals.key_file);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  channel_ = grpc::CreateCustomChannel(globals.server, credentials, arguments);
  ledger_ = v1::Ledger::NewStub(channel_);
  admin_ = v1::Admin::NewStub(channel_);
  audit_ = v1::Audit::NewStub(channel_);
  supermarket_ = v1::Supermarket::NewStub(channel_);
  programme_ = v1::Programme::NewStub(channel_);
  exchange_ = v1::Exchange::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> Session::Context() const {
  return Context(globals_.timeout_s);
}

std::unique_ptr<grpc::ClientContext> Session::Context(double timeout_s) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!globals_.token.empty()) context->AddMetadata("authorization", "Bearer " + globals_.token);
  // On the monotonic clock: a wall-clock step (NTP, a faked date) never stretches or expires a
  // call's deadline.
  context->set_deadline(
      gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                   gpr_time_from_micros(static_cast<std::int64_t>(timeout_s * 1e6), GPR_TIMESPAN)));
  return context;
}

namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return "ERROR";
  }
}

// What a cashier or volunteer reads for the commonest refusals.
std::string Chinese(v1::Reason reason) {
  // The pages' words (clients/web/common/reasons.js, every reason: tests/web/reasons_test.mjs).
  static const std::map<std::string, std::string, std::less<>> words = {
#include "reason_words.inc"
  };
  if (reason == v1::REASON_OK || !v1::Reason_IsValid(reason)) return "";
  auto it = words.find(v1::Reason_Name(reason).substr(7));
  return it == words.end() ? "" : it->second;
}

// Worth a retry with the same request id: the ledger's momentary refusals (IsTransient), and a
// call that never reached a decision on the way (no reason: the network, a deadline).
bool Transient(const grpc::Status& status, v1::Reason reason) {
  if (reason != v1::REASON_OK) return IsTransient(static_cast<Reason>(reason));
  const grpc::StatusCode code = status.error_code();
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::CANCELLED;
}

}  // namespace

int Fail(const Globals& globals, const grpc::Status& status, const std::string& request_id) {
  const v1::ErrorDetail detail = service::ErrorDetailOf(status);
  const std::string reason =
      detail.reason() == v1::REASON_OK ? "" : v1::Reason_Name(detail.reason()).substr(7);
  const int exit_code = Transient(status, detail.reason()) ? kExitUnreachable : kExitRefused;
  if (globals.json) {
    PrintJson({{"error",
                {{"code", CodeName(status.error_code())},
                 {"reason", reason},
                 {"words", Chinese(detail.reason())},  // what to tell the person, in Chinese
                 {"message",
                  detail.reason() == v1::REASON_OK ? status.error_message() : detail.message()},
                 {"exit_code", exit_code},
                 // A mutation without an answer: its outcome is unknown; this id retries it.
                 {"request_id", exit_code == kExitUnreachable ? request_id : ""}}}});
    return exit_code;
  }
  std::cerr << "lovebank: " << CodeName(status.error_code());
  if (!reason.empty()) {
    std::cerr << " " << reason;
    const std::string words = Chinese(detail.reason());
    if (!words.empty()) std::cerr << " (" << words << ")";
    std::cerr << ": " << detail.message() << "\n";
  } else {
    std::cerr << ": " << status.error_message() << "\n";
  }
  if (exit_code == kExitUnreachable && !request_id.empty()) {
    std::cerr << "lovebank: no answer from " << globals.server
              << ": the outcome is unknown; run the same command again with --request-id "
              << request_id << " (it applies at most once)\n";
  } else if (exit_code == kExitUnreachable) {
    std::cerr << "lovebank: no answer from " << globals.server << "; try again\n";
  }
  return exit_code;
}

int Usage(const std::string& message) {
  std::cerr << "lovebank: " << message << " (see --help)\n";
  return kExitUsage;
}

nlohmann::json ToJson(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  return nlohmann::json::parse(text);
}

void PrintJson(const nlohmann::json& json) { std::cout << json.dump(2) << "\n"; }

std::string NewRequestId(const std::string& kind) {
  unsigned char random[6];
  RAND_bytes(random, sizeof(random));
  return "cli-" + ToHex(std::string_view(reinterpret_cast<const char*>(random), sizeof(random))) +
         "-" + kind;
}

namespace {

void AppendLine(const std::string& path, const nlohmann::json& line, bool* ok) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  std::ofstream out(path, std::ios::app);
  out << line.dump() << "\n";
  out.flush();
  *ok = static_cast<bool>(out);
}

}  // namespace

bool LogRequest(const Globals& globals, const std::string& request_id, const std::string& command,
                const nlohmann::json& args) {
  bool ok = false;
  AppendLine(globals.request_log,
             {{"time", LocalTime(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count())},
              {"request_id", request_id},
              {"command", command},
              {"args", args}},
             &ok);
  if (!ok) std::cerr << "lovebank: cannot write the request log " << globals.request_log << "\n";
  return ok;
}

void LogOutcome(const Globals& globals, const std::string& request_id, const grpc::Status& status,
                std::uint64_t seq) {
  bool ok = false;
  const v1::ErrorDetail detail = service::ErrorDetailOf(status);
  AppendLine(
      globals.request_log,
      {{"request_id", request_id},
       {"outcome", status.ok()                        ? "OK"
                   : detail.reason() != v1::REASON_OK ? v1::Reason_Name(detail.reason()).substr(7)
                                                      : CodeName(status.error_code())},
       {"seq", seq}},
      &ok);
}

std::string LocalTime(std::int64_t time_unix_us) {
  const std::time_t seconds = static_cast<std::time_t>(time_unix_us / 1000000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

}  // namespace lovebank::cli
