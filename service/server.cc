#include "service/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/synchronization/mutex.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "ledger/audit/audit.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/storage/store.h"
#include "service/rpc.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

constexpr const char* kServiceNames[] = {"lovebank.v1.Ledger",    "lovebank.v1.Admin",
                                         "lovebank.v1.Audit",     "lovebank.v1.Supermarket",
                                         "lovebank.v1.Programme", "lovebank.v1.Exchange"};
constexpr std::string_view kFirstAdmin = "admin";
// The methods whose handlers run on gRPC's polling thread (service/rpc.h RpcMethod::quick): point
// reads and commands handed to the ledger — nothing that scans, waits, or writes on its own
// thread. Every other method runs on the handler threads. Not here, from a review: GetBalance
// (a balance sheet walks an account's statement per asset, a store's per SKU) and the basket
// methods (Checkout, holds, Refund: each reads the store's whole catalogue).
constexpr std::string_view kQuickMethods[] = {
    "/lovebank.v1.Ledger/OpenAccount",   "/lovebank.v1.Ledger/GetAccount",
    "/lovebank.v1.Ledger/Earn",          "/lovebank.v1.Ledger/Deduct",
    "/lovebank.v1.Ledger/Redeem",        "/lovebank.v1.Ledger/Transfer",
    "/lovebank.v1.Ledger/Reverse",       "/lovebank.v1.Ledger/GetEntry",
    "/lovebank.v1.Supermarket/VoidHold", "/lovebank.v1.Admin/WhoAmI",
    "/lovebank.v1.Audit/GetDigest"};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(Cat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `token` to `path` with mode 0600 and syncs it (the token exists nowhere else).
absl::Status WriteTokenFile(const std::string& path, const std::string& token) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(Cat("cannot create ", path));
  const std::string text = token + "\n";
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return absl::UnavailableError(Cat("cannot write ", path));
  return absl::OkStatus();
}

// Creates `dir` (and its parents) with mode 0700. An existing directory keeps the mode its owner
// gave it; if others may read it, the log says so.
absl::Status MakePrivateDirectory(const std::string& dir, Logger& logger) {
  namespace fs = std::filesystem;
  std::error_code error;
  const bool created = fs::create_directories(dir, error);
  if (error) return absl::UnavailableError(Cat("cannot create ", dir, ": ", error.message()));
  if (created) {
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, error);
    if (error)
      return absl::UnavailableError(Cat("cannot make ", dir, " private: ", error.message()));
    return absl::OkStatus();
  }
  const fs::perms perms = fs::status(dir, error).permissions();
  if (!error && (perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
    logger.Log(LogLevel::kWarn,
               Cat("the data directory ", dir, " may be read by other users: chmod 700 it"));
  }
  return absl::OkStatus();
}

// What the start-up check found: the derived state on disk against the journal.
struct Verification {
  std::string problem;  // empty: every derived record is what the journal implies
  std::vector<v1::PrincipalRecord> principals;  // as the journal granted them
};

// Replays the journal of the ledger at `db_dir` with the audit (read-only, before the writer
// opens it) and compares every derived record with the replay (DESIGN.md invariant 9): a
// balance raised or a principal added behind the server's back is found here, before anything
// is served. Errors: the audit could not run (unreadable store).
absl::StatusOr<Verification> VerifyOnDisk(const std::string& db_dir, rocksdb::Env* env,
                                          Logger& logger) {
  const auto started = std::chrono::steady_clock::now();
  StoreOptions store_options;
  store_options.read_only = true;
  store_options.create_if_missing = false;
  store_options.env = env;
  auto store = Store::Open(db_dir, store_options);
  if (!store.ok()) return store.status();
  auto source = audit::StoreSource(**store);
  if (!source.ok()) return source.status();
  auto report = audit::Run(**source, store->get(), audit::Options{});
  if (!report.ok()) return report.status();
  Verification verification;
  verification.principals = std::move(report->principals);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (report->clean()) {
    logger.Log(LogLevel::kInfo, Cat("start-up check: ", report->entries,
                                    " journal entries replayed, every derived record matches (",
                                    static_cast<long>(seconds * 1000), " ms, ", report->passes,
                                    report->passes == 1 ? " pass)" : " passes)"));
    return verification;
  }
  for (const audit::Finding& finding : report->findings) {
    logger.Log(LogLevel::kError, Cat("start-up check: ", audit::FindingKindName(finding.kind),
                                     " seq=", finding.seq, " ", finding.where, " expected ",
                                     Excerpt(finding.expected), " found ", Excerpt(finding.found)));
  }
  const audit::Finding& first = report->findings.front();
  verification.problem =
      Cat("the state on disk disagrees with the journal (", report->findings_total,
          " findings, the first ", audit::FindingKindName(first.kind), " ", first.where,
          first.seq != 0 ? Cat(" at entry ", first.seq) : std::string(),
          "): lovebankd serves nothing but the journal until it is repaired; run lovebank-audit");
  logger.Log(LogLevel::kError, verification.problem);
  return verification;
}

}  // namespace

namespace {

// The key the journal put in force: the last signing key change's new key; none before one.
absl::StatusOr<std::optional<signature::PublicKey>> KeyInForce(Ledger& ledger) {
  auto settings = ledger.GetSettings();
  if (!settings.ok()) return settings.status();
  for (const v1::SettingRecord& record : settings->settings) {
    if (record.value().has_signing_key()) {
      return signature::PublicKeyFromBytes(record.value().signing_key().new_key());
    }
  }
  return std::optional<signature::PublicKey>();
}

// Puts `next` (made by a rotation) in place of `current`: the old key is kept as
// signing-<key id>.retired.key (0600: still a private key), the new one renamed over, the
// directory synced. Each step is atomic; a crash between them leaves `next` for FinishRotation.
absl::Status Promote(const std::string& current, const std::string& next,
                     const std::string& retired) {
  std::error_code error;
  if (!retired.empty() && std::filesystem::exists(current, error)) {
    // A retired file of that name holds the same key (its name is the key's id).
    if (link(current.c_str(), retired.c_str()) != 0 && errno != EEXIST) {
      return absl::UnavailableError(
          Cat("keeping the old signing key as ", retired, ": ", std::strerror(errno)));
    }
  }
  if (rename(next.c_str(), current.c_str()) != 0) {
    return absl::UnavailableError(Cat("renaming ", next, ": ", std::strerror(errno)));
  }
  const std::string dir = std::filesystem::path(current).parent_path().string();
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || fsync(fd) != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(Cat("syncing ", dir, ": ", std::strerror(errno)));
  }
  close(fd);
  return absl::OkStatus();
}

std::string RetiredKeyPath(const std::string& key_path, const signature::PublicKey& key) {
  const signature::KeyId id = signature::KeyIdOf(key);
  return Cat(std::filesystem::path(key_path).parent_path().string(), "/signing-",
             ToHex(std::string_view(reinterpret_cast<const char*>(id.data()), 8)), ".retired.key");
}

// A rotation that committed but whose new key was not yet put in place (a crash): finish it.
// A signing.key.next the journal never put in force is a rotation that did not commit: removed.
absl::Status FinishRotation(const std::string& key_path,
                            const std::optional<signature::PublicKey>& in_force, Logger& logger) {
  const std::string next_path = key_path + ".next";
  auto next = signature::SigningKey::Load(next_path);
  if (absl::IsNotFound(next.status())) return absl::OkStatus();
  if (!next.ok()) return next.status();
  if (in_force && *in_force == (*next)->public_key()) {
    auto current = signature::SigningKey::Load(key_path);
    if (!current.ok() && !absl::IsNotFound(current.status())) return current.status();
    logger.Log(LogLevel::kWarn, "finishing a signing key rotation that committed before a stop");
    return Promote(key_path, next_path,
                   current.ok() ? RetiredKeyPath(key_path, (*current)->public_key()) : "");
  }
  logger.Log(LogLevel::kWarn, "removing signing.key.next: its rotation never committed");
  unlink(next_path.c_str());
  return absl::OkStatus();
}

// The signing_key setting lovebankd journals: `old_key` to `made`'s key, accepted by `made` and
// endorsed by `endorser` (null: a lost key's replacement, which nobody could endorse).
v1::Command KeyChange(const Ledger& ledger, const signature::PublicKey& old_key,
                      const signature::SigningKey& made, const signature::SigningKey* endorser,
                      std::string memo) {
  const std::string old_raw(signature::BytesOf(old_key));
  const std::string new_raw(signature::BytesOf(made.public_key()));
  const std::string message = signature::KeyRotationMessage(ledger.ledger_id(), old_raw, new_raw);
  v1::Command command;
  command.set_request_id(Cat("lovebankd:signing-key:", signature::PublicKeyHex(made.public_key())));
  command.set_actor(std::string(kLovebankdActor));
  command.set_memo(std::move(memo));
  v1::SigningKeyChange* change =
      command.mutable_set_setting()->mutable_value()->mutable_signing_key();
  change->set_old_key(old_raw);
  change->set_new_key(new_raw);
  if (endorser != nullptr) {
    change->set_endorsement(std::string(signature::BytesOf(endorser->Sign(message))));
  }
  change->set_acceptance(std::string(signature::BytesOf(made.Sign(message))));
  return command;
}

// `lovebankd --rotate-signing-key`: a new key, endorsed by `current` and accepting, journaled
// as the signing_key setting (actor lovebankd), then put in place of the old one.
absl::StatusOr<std::unique_ptr<signature::SigningKey>> RotateSigningKey(
    Ledger& ledger, const signature::SigningKey& current, const std::string& key_path,
    Logger& logger) {
  auto made = signature::SigningKey::Generate();
  if (!made.ok()) return made.status();
  const std::string next_path = key_path + ".next";
  if (absl::Status written = (*made)->WriteTo(next_path); !written.ok()) return written;
  const Outcome outcome = ledger.Execute(
      KeyChange(ledger, current.public_key(), **made, &current,
                "the ledger's signing key changes (lovebankd --rotate-signing-key)"));
  if (!outcome.ok()) {
    // signing.key.next stays: an unknown outcome may still have committed, and the next start
    // (FinishRotation) puts it in place or removes it by what the journal says.
    return absl::FailedPreconditionError(
        Cat("rotating the signing key: ", ReasonName(outcome.reason), ": ", outcome.message));
  }
  if (absl::Status promoted =
          Promote(key_path, next_path, RetiredKeyPath(key_path, current.public_key()));
      !promoted.ok()) {
    return promoted;
  }
  logger.Log(LogLevel::kInfo,
             Cat("rotated the signing key at entry ", outcome.receipt.seq, ": ",
                 signature::Fingerprint(current.public_key()), " -> ",
                 signature::Fingerprint((*made)->public_key()), " (publish it: `lovebank key`)"));
  return std::move(*made);
}

// --public-url: http(s)://host[:port][/path] of at most 200 bytes, in the characters a URL
// needs and no others (no user@, query, fragment, quotes or spaces: it goes into QR codes and
// HTML attributes).
bool IsPublicUrl(std::string_view url) {
  if (url.size() > 200) return false;
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') return false;
  return std::all_of(rest.begin(), rest.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
           c == '~' || c == ':' || c == '/' || c == '%';
  });
}

// The /verify/ page under --public-url ("" without one).
std::string VerifyUrl(std::string url) {
  if (url.empty()) return url;
  if (url.back() != '/') url += '/';
  return url + "verify/";
}

}  // namespace

class Server::Impl {
 public:
  ServerOptions options;
  std::unique_ptr<Logger> logger;
  std::unique_ptr<Ledger> ledger;
  Principals principals;
  std::unique_ptr<CursorSeal> cursors;
  std::unique_ptr<WatchHub> watches;
  std::unique_ptr<PaymentKey> payments;
  std::unique_ptr<signature::SigningKey> signer;
  PaymentCodeGuard payment_guard;
  Metrics metrics;
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  Context context;
  std::unique_ptr<LedgerService> ledger_service;
  std::unique_ptr<AdminService> admin_service;
  std::unique_ptr<SupermarketService> supermarket_service;
  std::unique_ptr<ProgrammeService> programme_service;
  std::unique_ptr<ExchangeService> exchange_service;
  std::unique_ptr<AuditService> audit_service;
  std::unique_ptr<RpcServer> rpc;  // before server: it outlives the server
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<HttpGateway> http;
  int port = 0;
  std::string admin_token_file;
  bool shut_down = false;
  Head final_head;

  // Every method of every lovebank.v1 service with its handler (RpcServer::Register refuses a
  // list that misses one the proto declares).
  std::vector<RpcMethod> Methods() {
    std::vector<RpcMethod> m;
    m.push_back(Unary("/lovebank.v1.Ledger/OpenAccount", ledger_service.get(),
                      &LedgerService::OpenAccount));
    m.push_back(
        Unary("/lovebank.v1.Ledger/GetAccount", ledger_service.get(), &LedgerService::GetAccount));
    m.push_back(Unary("/lovebank.v1.Ledger/ListAccounts", ledger_service.get(),
                      &LedgerService::ListAccounts));
    m.push_back(Unary("/lovebank.v1.Ledger/SetAccountStatus", ledger_service.get(),
                      &LedgerService::SetAccountStatus));
    m.push_back(Unary("/lovebank.v1.Ledger/SetAccountContact", ledger_service.get(),
                      &LedgerService::SetAccountContact));
    m.push_back(
        Unary("/lovebank.v1.Ledger/SetBudget", ledger_service.get(), &LedgerService::SetBudget));
    m.push_back(Unary("/lovebank.v1.Ledger/Earn", ledger_service.get(), &LedgerService::Earn));
    m.push_back(Unary("/lovebank.v1.Ledger/Deduct", ledger_service.get(), &LedgerService::Deduct));
    m.push_back(Unary("/lovebank.v1.Ledger/Redeem", ledger_service.get(), &LedgerService::Redeem));
    m.push_back(
        Unary("/lovebank.v1.Ledger/Transfer", ledger_service.get(), &LedgerService::Transfer));
    m.push_back(
        Unary("/lovebank.v1.Ledger/Reverse", ledger_service.get(), &LedgerService::Reverse));
    m.push_back(
        Unary("/lovebank.v1.Ledger/GetBalance", ledger_service.get(), &LedgerService::GetBalance));
    m.push_back(Unary("/lovebank.v1.Ledger/ListEntries", ledger_service.get(),
                      &LedgerService::ListEntries));
    m.push_back(
        Unary("/lovebank.v1.Ledger/GetEntry", ledger_service.get(), &LedgerService::GetEntry));
    m.push_back(Streaming("/lovebank.v1.Ledger/WatchEntries", ledger_service.get(),
                          &LedgerService::WatchEntries));
    m.push_back(Unary("/lovebank.v1.Ledger/SubmitBatch", ledger_service.get(),
                      &LedgerService::SubmitBatch));
    m.push_back(Unary("/lovebank.v1.Admin/CreatePrincipal", admin_service.get(),
                      &AdminService::CreatePrincipal));
    m.push_back(Unary("/lovebank.v1.Admin/ListPrincipals", admin_service.get(),
                      &AdminService::ListPrincipals));
    m.push_back(Unary("/lovebank.v1.Admin/RevokePrincipal", admin_service.get(),
                      &AdminService::RevokePrincipal));
    m.push_back(Unary("/lovebank.v1.Admin/IssueActivationCode", admin_service.get(),
                      &AdminService::IssueActivationCode));
    m.push_back(Unary("/lovebank.v1.Admin/Activate", admin_service.get(), &AdminService::Activate));
    m.push_back(
        Unary("/lovebank.v1.Admin/SetDevicePin", admin_service.get(), &AdminService::SetDevicePin));
    m.push_back(Unary("/lovebank.v1.Admin/WhoAmI", admin_service.get(), &AdminService::WhoAmI));
    m.push_back(Unary("/lovebank.v1.Admin/Backup", admin_service.get(), &AdminService::Backup));
    m.push_back(
        Unary("/lovebank.v1.Audit/GetDigest", audit_service.get(), &AuditService::GetDigest));
    m.push_back(Streaming("/lovebank.v1.Audit/ReadJournal", audit_service.get(),
                          &AuditService::ReadJournal));
    m.push_back(Streaming("/lovebank.v1.Audit/Verify", audit_service.get(), &AuditService::Verify));
    m.push_back(
        Unary("/lovebank.v1.Audit/GetNotice", audit_service.get(), &AuditService::GetNotice));
    m.push_back(Unary("/lovebank.v1.Audit/GetSignedHead", audit_service.get(),
                      &AuditService::GetSignedHead));
    m.push_back(Unary("/lovebank.v1.Audit/GetInclusionProof", audit_service.get(),
                      &AuditService::GetInclusionProof));
    m.push_back(Unary("/lovebank.v1.Audit/GetConsistencyProof", audit_service.get(),
                      &AuditService::GetConsistencyProof));
    m.push_back(
        Unary("/lovebank.v1.Audit/CosignHead", audit_service.get(), &AuditService::CosignHead));
    m.push_back(Unary("/lovebank.v1.Programme/GetVolunteerProfile", programme_service.get(),
                      &ProgrammeService::GetVolunteerProfile));
    m.push_back(Unary("/lovebank.v1.Programme/SetStarLevels", programme_service.get(),
                      &ProgrammeService::SetStarLevels));
    m.push_back(Unary("/lovebank.v1.Programme/SetHoursCap", programme_service.get(),
                      &ProgrammeService::SetHoursCap));
    m.push_back(Unary("/lovebank.v1.Programme/SetDailyHoursCap", programme_service.get(),
                      &ProgrammeService::SetDailyHoursCap));
    m.push_back(Unary("/lovebank.v1.Programme/SetAccountTags", programme_service.get(),
                      &ProgrammeService::SetAccountTags));
    m.push_back(Unary("/lovebank.v1.Programme/SetFamily", programme_service.get(),
                      &ProgrammeService::SetFamily));
    m.push_back(Unary("/lovebank.v1.Programme/SetTransferPolicy", programme_service.get(),
                      &ProgrammeService::SetTransferPolicy));
    m.push_back(Unary("/lovebank.v1.Programme/SetAwardRule", programme_service.get(),
                      &ProgrammeService::SetAwardRule));
    m.push_back(Unary("/lovebank.v1.Programme/ListAwardRules", programme_service.get(),
                      &ProgrammeService::ListAwardRules));
    m.push_back(
        Unary("/lovebank.v1.Programme/Award", programme_service.get(), &ProgrammeService::Award));
    m.push_back(Unary("/lovebank.v1.Programme/SetApprovalThreshold", programme_service.get(),
                      &ProgrammeService::SetApprovalThreshold));
    m.push_back(Unary("/lovebank.v1.Programme/Approve", programme_service.get(),
                      &ProgrammeService::Approve));
    m.push_back(
        Unary("/lovebank.v1.Programme/Reject", programme_service.get(), &ProgrammeService::Reject));
    m.push_back(Unary("/lovebank.v1.Programme/ListPending", programme_service.get(),
                      &ProgrammeService::ListPending));
    m.push_back(Unary("/lovebank.v1.Programme/SetSetting", programme_service.get(),
                      &ProgrammeService::SetSetting));
    m.push_back(Unary("/lovebank.v1.Programme/GetCertificate", programme_service.get(),
                      &ProgrammeService::GetCertificate));
    m.push_back(
        Unary("/lovebank.v1.Programme/Import", programme_service.get(), &ProgrammeService::Import));
    m.push_back(Unary("/lovebank.v1.Programme/ListSettings", programme_service.get(),
                      &ProgrammeService::ListSettings));
    m.push_back(Unary("/lovebank.v1.Supermarket/SetItem", supermarket_service.get(),
                      &SupermarketService::SetItem));
    m.push_back(Unary("/lovebank.v1.Supermarket/ListItems", supermarket_service.get(),
                      &SupermarketService::ListItems));
    m.push_back(Unary("/lovebank.v1.Supermarket/ReceiveStock", supermarket_service.get(),
                      &SupermarketService::ReceiveStock));
    m.push_back(Unary("/lovebank.v1.Supermarket/WriteOffStock", supermarket_service.get(),
                      &SupermarketService::WriteOffStock));
    m.push_back(Unary("/lovebank.v1.Supermarket/Checkout", supermarket_service.get(),
                      &SupermarketService::Checkout));
    m.push_back(Unary("/lovebank.v1.Supermarket/Refund", supermarket_service.get(),
                      &SupermarketService::Refund));
    m.push_back(Unary("/lovebank.v1.Supermarket/AuthorizeHold", supermarket_service.get(),
                      &SupermarketService::AuthorizeHold));
    m.push_back(Unary("/lovebank.v1.Supermarket/CaptureHold", supermarket_service.get(),
                      &SupermarketService::CaptureHold));
    m.push_back(Unary("/lovebank.v1.Supermarket/VoidHold", supermarket_service.get(),
                      &SupermarketService::VoidHold));
    m.push_back(Unary("/lovebank.v1.Supermarket/GetHold", supermarket_service.get(),
                      &SupermarketService::GetHold));
    m.push_back(Unary("/lovebank.v1.Supermarket/SetExchangeRatio", supermarket_service.get(),
                      &SupermarketService::SetExchangeRatio));
    m.push_back(Unary("/lovebank.v1.Supermarket/GetExchangeRatio", supermarket_service.get(),
                      &SupermarketService::GetExchangeRatio));
    m.push_back(Unary("/lovebank.v1.Supermarket/Settle", supermarket_service.get(),
                      &SupermarketService::Settle));
    m.push_back(Unary("/lovebank.v1.Supermarket/SetLimit", supermarket_service.get(),
                      &SupermarketService::SetLimit));
    m.push_back(Unary("/lovebank.v1.Supermarket/ListLimits", supermarket_service.get(),
                      &SupermarketService::ListLimits));
    m.push_back(Unary("/lovebank.v1.Supermarket/SetHousehold", supermarket_service.get(),
                      &SupermarketService::SetHousehold));
    m.push_back(Unary("/lovebank.v1.Exchange/PostRequest", exchange_service.get(),
                      &ExchangeService::PostRequest));
    m.push_back(Unary("/lovebank.v1.Exchange/PostOffer", exchange_service.get(),
                      &ExchangeService::PostOffer));
    m.push_back(Unary("/lovebank.v1.Exchange/ListServices", exchange_service.get(),
                      &ExchangeService::ListServices));
    m.push_back(Unary("/lovebank.v1.Exchange/GetService", exchange_service.get(),
                      &ExchangeService::GetService));
    m.push_back(
        Unary("/lovebank.v1.Exchange/Accept", exchange_service.get(), &ExchangeService::Accept));
    m.push_back(
        Unary("/lovebank.v1.Exchange/Assign", exchange_service.get(), &ExchangeService::Assign));
    m.push_back(Unary("/lovebank.v1.Exchange/Complete", exchange_service.get(),
                      &ExchangeService::Complete));
    m.push_back(
        Unary("/lovebank.v1.Exchange/Confirm", exchange_service.get(), &ExchangeService::Confirm));
    m.push_back(
        Unary("/lovebank.v1.Exchange/Cancel", exchange_service.get(), &ExchangeService::Cancel));
    m.push_back(
        Unary("/lovebank.v1.Exchange/Dispute", exchange_service.get(), &ExchangeService::Dispute));
    m.push_back(
        Unary("/lovebank.v1.Exchange/Resolve", exchange_service.get(), &ExchangeService::Resolve));
    for (RpcMethod& method : m) {
      method.quick = std::find(std::begin(kQuickMethods), std::end(kQuickMethods), method.name) !=
                     std::end(kQuickMethods);
    }
    return m;
  }

  // The tokens come from the principals the journal granted (`granted`, from the start-up
  // audit's replay), never from the derived principals table alone: a row added to that table
  // by hand is no token. A ledger without principals gets its first admin: the token is
  // written to the token file (synced) before the grant commits, so a crash in between only
  // means a new token next start.
  absl::Status CreateFirstAdmin(const std::vector<v1::PrincipalRecord>& granted) {
    if (!granted.empty()) {
      principals.Load(granted);
      return absl::OkStatus();
    }
    auto token = NewToken();
    if (!token.ok()) return token.status();
    const std::string path = (std::filesystem::path(options.data_dir) / "admin.token").string();
    if (absl::Status written = WriteTokenFile(path, *token); !written.ok()) return written;
    v1::Command grant;
    grant.set_request_id(Cat("bootstrap:admin:", ledger->GetHead().seq));
    grant.set_actor("lovebankd");
    grant.set_memo("the first administrator, created with the data directory");
    auto* body = grant.mutable_grant_principal();
    body->set_principal(std::string(kFirstAdmin));
    body->set_role(v1::ROLE_ADMIN);
    body->set_token_sha256(TokenSha256(*token));
    body->set_display_name("管理员 (first admin)");
    const Outcome outcome = ledger->Execute(std::move(grant));
    if (!outcome.ok()) {
      return absl::UnavailableError(
          Cat("creating the first admin: ", ReasonName(outcome.reason), ": ", outcome.message));
    }
    admin_token_file = path;
    return LoadPrincipals(context);
  }
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  // gRPC 1.51 locks absl::Mutex on every call, and Debian's Abseil keeps the mutex deadlock
  // detector on: its lock graph (GraphCycles) took ~3% of lovebankd's CPU samples under unary
  // load (perf, docs/benchmarks.md). Our own absl::Mutex locks are checked at compile time
  // instead (clang -Wthread-safety); the tests keep the run-time detector on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->logger = std::make_unique<Logger>(options.log_level, options.log_out);
  const std::string db_dir = (std::filesystem::path(options.data_dir) / "db").string();
  // No silent new ledger: a typo in --data-dir (or a config key that was ignored) must not start
  // a fresh, empty ledger with a new admin. RocksDB's CURRENT file marks an existing database.
  std::error_code ignored;
  const bool ledger_exists =
      std::filesystem::exists(std::filesystem::path(db_dir) / "CURRENT", ignored);
  if (!options.init && !ledger_exists) {
    return absl::NotFoundError(
        Cat("no ledger in ", options.data_dir, " (start with --init to create a new one there)"));
  }
  for (const std::string& dir : {options.data_dir, db_dir}) {
    if (absl::Status made = MakePrivateDirectory(dir, *impl->logger); !made.ok()) return made;
  }
  // A ledger with a tree has had a signing key (they came together, issue #27): a missing key
  // then is lost, not new, and is never replaced silently.
  bool had_tree = false;
  if (ledger_exists) {
    StoreOptions read_only;
    read_only.read_only = true;
    read_only.env = options.env;
    auto store = Store::Open(db_dir, read_only);
    if (!store.ok()) return store.status();
    auto tree_size = StoredTreeSize(**store);
    if (!tree_size.ok()) return tree_size.status();
    had_tree = tree_size->has_value();
  }

  // Options first: a bad URL or TLS setup is refused before the ledger is opened.
  if (!options.public_url.empty() && !IsPublicUrl(options.public_url)) {
    return absl::InvalidArgumentError(
        "--public-url is an http(s) address of at most 200 bytes without spaces, quotes, <, >, "
        "? or #, e.g. https://lovebank.nanxi.gov.cn");
  }
  // A bad TLS setup is refused before the ledger is opened.
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty() ||
      !options.tls_client_ca_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return absl::InvalidArgumentError("TLS needs both --tls-cert and --tls-key");
    }
    auto cert = ReadFile(options.tls_cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(options.tls_key_file);
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    if (!options.tls_client_ca_file.empty()) {
      auto client_ca = ReadFile(options.tls_client_ca_file);
      if (!client_ca.ok()) return client_ca.status();
      ssl.pem_root_certs = *client_ca;
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    credentials = grpc::SslServerCredentials(ssl);
  }

  // Before the writer opens it: the derived state on disk must be what the journal implies.
  Verification verified;
  if (ledger_exists) {
    auto verification = VerifyOnDisk(db_dir, options.env, *impl->logger);
    if (!verification.ok()) return verification.status();
    verified = std::move(*verification);
  }

  LedgerOptions ledger_options;
  ledger_options.path = db_dir;
  ledger_options.create_if_missing = options.init;
  ledger_options.queue_depth_max = options.queue_depth_max;
  ledger_options.clock_unix_us = options.clock_unix_us;
  ledger_options.env = options.env;
  // Off: the quick handlers run on gRPC's one polling thread (service/rpc.h), which must never
  // wait for a sync while other calls arrive unread; a lone command is written by the sequencer
  // itself (lone_batches_on_sequencer). Measured against the caller's own write: one polling
  // thread that committed collapsed from 16 clients on (docs/benchmarks.md, issue #29).
  ledger_options.lone_commands_on_caller = false;
  auto ledger = Ledger::Open(std::move(ledger_options));
  if (!ledger.ok()) return ledger.status();
  impl->ledger = std::move(*ledger);
  auto cursors = CursorSeal::Create();
  if (!cursors.ok()) return cursors.status();
  impl->cursors = std::make_unique<CursorSeal>(std::move(*cursors));
  impl->watches = std::make_unique<WatchHub>(impl->ledger.get(), options.watchers_max);
  // A lost payment.key is restored, never replaced, once a phone holds a secret made from it.
  const bool activated = std::any_of(verified.principals.begin(), verified.principals.end(),
                                     [](const auto& p) { return p.activated_seq() != 0; });
  // Only a ledger the start-up check passed says truly that no device was activated.
  auto payments =
      PaymentKey::LoadOrCreate(options.data_dir + "/payment.key",
                               !ledger_exists || (verified.problem.empty() && !activated));
  if (!payments.ok()) return payments.status();
  impl->payments = std::make_unique<PaymentKey>(std::move(*payments));
  // The ledger's signing key (issue #27): made with the ledger, or with the first start of a
  // ledger made before it; owner-only. Its public half is what members and third parties pin.
  const std::string key_path = options.data_dir + "/signing.key";
  auto in_force = KeyInForce(*impl->ledger);
  if (!in_force.ok()) return in_force.status();
  if (absl::Status finished = FinishRotation(key_path, *in_force, *impl->logger); !finished.ok()) {
    return finished;
  }
  auto signer = signature::SigningKey::Load(key_path);
  if (absl::IsNotFound(signer.status())) {
    if (had_tree && !options.new_signing_key) {
      return absl::FailedPreconditionError(Cat(
          key_path,
          " is missing, and this ledger has signed with a key before: restore it from "
          "the backup (`lovebank backup` keeps a copy), or start once with --new-signing-key to "
          "make a new one and publish its fingerprint (docs/proofs.md)"));
    }
    auto made = signature::SigningKey::Generate();
    if (!made.ok()) return made.status();
    if (absl::Status written = (*made)->WriteTo(key_path); !written.ok()) return written;
    impl->logger->Log(
        ledger_exists ? LogLevel::kWarn : LogLevel::kInfo,
        Cat("made a new signing key: fingerprint ", signature::Fingerprint((*made)->public_key()),
            " (publish it: `lovebank key`)"));
    signer = std::move(made);
  }
  if (!signer.ok()) return signer.status();
  if (*in_force && **in_force != (*signer)->public_key()) {
    const std::string what =
        Cat(key_path, " (", signature::Fingerprint((*signer)->public_key()),
            ") is not the key the journal put in force (", signature::Fingerprint(**in_force), ")");
    if (!options.new_signing_key) {
      return absl::FailedPreconditionError(
          Cat(what,
              ": restore that key from the backup, or start with --new-signing-key to sign "
              "with this one unendorsed (docs/proofs.md \"Key rotation\")"));
    }
    // Journaled as a change nobody endorsed: the audit follows the key chain through it, and
    // whoever pinned an earlier key is told to pin the newly published one.
    const Outcome replaced =
        impl->ledger->Execute(KeyChange(*impl->ledger, **in_force, **signer, nullptr,
                                        "the ledger's signing key was lost and replaced (lovebankd "
                                        "--new-signing-key): unendorsed"));
    if (!replaced.ok()) {
      return absl::FailedPreconditionError(
          Cat("journaling the replaced signing key: ", ReasonName(replaced.reason), ": ",
              replaced.message));
    }
    impl->logger->Log(LogLevel::kWarn,
                      Cat(what, ": journaled as an unendorsed replacement at entry ",
                          replaced.receipt.seq, " (--new-signing-key)"));
  }
  if (options.rotate_signing_key && !verified.problem.empty()) {
    return absl::FailedPreconditionError(
        "--rotate-signing-key: the start-up check found the ledger's state disagreeing with its "
        "journal; run `lovebank-audit` and repair that first");
  }
  if (options.rotate_signing_key) {
    auto rotated = RotateSigningKey(*impl->ledger, **signer, key_path, *impl->logger);
    if (!rotated.ok()) return rotated.status();
    signer = std::move(rotated);
  }
  impl->signer = std::move(*signer);
  impl->context = Context{
      impl->ledger.get(),   &impl->principals,
      impl->logger.get(),   impl->cursors.get(),
      impl->watches.get(),  impl->payments.get(),
      &impl->payment_guard, options.clock_unix_us,
      verified.problem,     std::make_shared<NoticeCache>(impl->ledger->path(), &impl->metrics),
      impl->signer.get(),   VerifyUrl(options.public_url),
      &impl->metrics};
  // At least 3 threads (lovebankd's --grpc-threads refuses fewer; an embedder's value is raised):
  // with each long kind at its cap, one still takes calls.
  const int grpc_threads = std::max(3, options.grpc_threads);
  impl->context.long_calls_max = std::max(1, (grpc_threads - 1) / 2);
  if (!impl->context.clock) {
    impl->context.clock = [] {
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (verified.problem.empty()) {
    if (absl::Status admin = impl->CreateFirstAdmin(verified.principals); !admin.ok()) {
      return admin;
    }
  } else {
    impl->principals.Load(verified.principals);  // auditors may still read the journal
  }

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  impl->ledger_service = std::make_unique<LedgerService>(impl->context);
  impl->admin_service = std::make_unique<AdminService>(impl->context);
  impl->supermarket_service = std::make_unique<SupermarketService>(impl->context);
  impl->programme_service = std::make_unique<ProgrammeService>(impl->context);
  impl->exchange_service = std::make_unique<ExchangeService>(impl->context);
  impl->audit_service = std::make_unique<AuditService>(impl->context);
  grpc::ServerBuilder builder;
  // One ledger per address: gRPC sets SO_REUSEPORT by default on Linux, and then a second
  // lovebankd on the same port binds too and the kernel splits the clients between two ledgers.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen_address, credentials, &impl->port);
  builder.SetMaxReceiveMessageSize(kRequestBytesMax);
  auto rpc = RpcServer::Register(
      builder, impl->Methods(),
      std::vector<std::string>(std::begin(kServiceNames), std::end(kServiceNames)), grpc_threads);
  if (!rpc.ok()) return rpc.status();
  impl->rpc = std::move(*rpc);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(
        Cat("cannot listen on ", options.listen_address, " (in use by another server?)"));
  }
  // NOT_SERVING (the whole server and each service) when the start-up check failed: set before
  // the first call is taken.
  impl->rpc->SetServing(verified.problem.empty());
  impl->rpc->Start();
  if (!options.http_listen_address.empty()) {
    HttpOptions http;
    http.listen_address = options.http_listen_address;
    http.tls_cert_file = options.tls_cert_file;
    http.tls_key_file = options.tls_key_file;
    http.tls_client_ca_file = options.tls_client_ca_file;
    http.body_bytes_max = kRequestBytesMax;
    http.threads = options.http_threads;
    http.connections_max = options.http_connections_max;
    http.web_root = options.web_root;
    if (options.metrics) {
      Impl* self = impl.get();
      http.metrics_text = [self] {
        const double up =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - self->started).count();
        return self->metrics.Render(self->ledger->metrics(), up);
      };
    }
    http.count_status = [self = impl.get()](int status) { self->metrics.CountHttp(status); };
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(-1);  // lovebankd's own answers, whatever their size
    arguments.SetMaxSendMessageSize(kRequestBytesMax);
    auto gateway =
        HttpGateway::Start(http, impl->server->InProcessChannel(arguments), impl->logger.get());
    if (!gateway.ok()) {
      impl->rpc->Shutdown(*impl->server, std::chrono::system_clock::now());
      return gateway.status();
    }
    impl->http = std::move(*gateway);
  }
  impl->logger->Log(
      LogLevel::kInfo,
      Cat("lovebankd serving on port ", impl->port, ", ledger ", impl->ledger->path(), ", head ",
          impl->ledger->GetHead().seq, options.tls_cert_file.empty() ? ", plaintext" : ", TLS"));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Shutdown(); }

int Server::port() const { return impl_->port; }
int Server::http_port() const { return impl_->http ? impl_->http->port() : 0; }
HttpGateway::Stats Server::http_stats() const {
  return impl_->http ? impl_->http->stats() : HttpGateway::Stats{};
}
const std::string& Server::admin_token_file() const { return impl_->admin_token_file; }
Ledger& Server::ledger() { return *impl_->ledger; }

void Server::FlushLog() { impl_->logger->Flush(); }

Head Server::Shutdown() {
  if (impl_->shut_down) return impl_->final_head;
  impl_->shut_down = true;
  // Watches never end on their own: they end first (UNAVAILABLE, with the seq to resume after),
  // so that neither the HTTP listener nor gRPC waits out its grace for them.
  impl_->watches->Stop();
  if (impl_->http) impl_->http->Stop();  // its calls in flight finish first
  impl_->rpc->SetServing(false);
  impl_->rpc->Shutdown(*impl_->server, std::chrono::system_clock::now() +
                                           std::chrono::seconds(kShutdownGraceSeconds));
  // Every call has finished, so nothing can be submitted any more: this head is final once the
  // ledger has committed its queue (Ledger's destructor), and nothing was queued without a call.
  impl_->final_head = impl_->ledger->GetHead();
  impl_->ledger.reset();  // commits whatever is queued, closes RocksDB
  impl_->logger->Log(LogLevel::kInfo,
                     Cat("lovebankd stopped cleanly at head ", impl_->final_head.seq));
  impl_->logger->Flush();  // an embedder may close log_out once Shutdown returns
  return impl_->final_head;
}

}  // namespace lovebank::service
