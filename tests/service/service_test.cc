// Integration tests of lovebankd's services: the real server object on a loopback port with a
// temp data directory, driven through the generated C++ stubs (issue #4 "Tests").

#include <sys/stat.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "clients/certificate.h"
#include "clients/journal_source.h"
#include "clients/proof.h"
#include "grpcpp/generic/generic_stub.h"
#include "ledger/audit/audit.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/merkle.h"
#include "ledger/format/signature.h"
#include "ledger/storage/store.h"
#include "service/auth.h"
#include "service/notice.h"
#include "service/payment.h"
#include "service/rpc.h"
#include "tests/service_test_util.h"

namespace lovebank {
namespace {

using grpc::StatusCode;
using service::ErrorDetailOf;
using testing::Ctx;
using testing::TempDir;

using testing::ReadToken;

// A running server with a small programme opened through the API: issuer:town (budgets 100,000
// POINTS and 10,000 HOURS), store:main, members m1..m3, and one principal per role.
class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartServer();
    SetUpProgramme();
  }

  void StartServer(std::size_t queue_depth = kQueueDepthMaxDefault, rocksdb::Env* env = nullptr) {
    auto server = service::Server::Start(Options(queue_depth, env));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_ = std::make_unique<testing::Client>(server_->port());
  }
  // The fixture's server options (its data directory, log and clock).
  service::ServerOptions Options(std::size_t queue_depth = kQueueDepthMaxDefault,
                                 rocksdb::Env* env = nullptr) {
    service::ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.init = true;
    options.data_dir = dir_.Sub("data");
    if (log_ == nullptr) log_ = std::fopen(dir_.Sub("log").c_str(), "a");
    options.log_out = log_;
    options.queue_depth_max = queue_depth;
    options.watchers_max = watchers_max_;
    options.env = env;
    // The test clock, which a test may move forward (clock_skew_us_: e.g. past a code's expiry).
    options.clock_unix_us = [clock = testing::ClockStartingAt(testing::kTestServerClockStartUnixUs),
                             skew = clock_skew_us_] { return clock() + skew->load(); };
    return options;
  }
  void StopServer() {
    client_.reset();
    server_.reset();
    if (log_ != nullptr) std::fclose(log_);
    log_ = nullptr;
  }
  void TearDown() override { StopServer(); }

  void SetUpProgramme() {
    ASSERT_FALSE(server_->admin_token_file().empty());
    tokens_["admin"] = ReadToken(server_->admin_token_file());
    auto open = [&](const std::string& account, v1::AccountKind kind, const std::string& name) {
      v1::OpenAccountRequest request;
      request.set_request_id("open-" + account);
      request.set_account(account);
      request.set_kind(kind);
      request.set_display_name(name);
      if (kind == v1::ACCOUNT_KIND_ISSUER) {
        auto* points = request.add_budgets();
        points->set_asset("POINTS");
        points->set_amount("100000");
        auto* hours = request.add_budgets();
        hours->set_asset("HOURS");
        hours->set_amount("10000");
      }
      v1::Receipt receipt;
      ASSERT_TRUE(
          client_->ledger->OpenAccount(Ctx(tokens_["admin"]).get(), request, &receipt).ok());
    };
    open("issuer:town", v1::ACCOUNT_KIND_ISSUER, "爱心银行 (town)");
    open("store:main", v1::ACCOUNT_KIND_STORE, "爱心超市");
    open("m1", v1::ACCOUNT_KIND_MEMBER, "韦蕊");
    open("m2", v1::ACCOUNT_KIND_MEMBER, "覃海");
    open("m3", v1::ACCOUNT_KIND_MEMBER, "黄敏");
    Grant("issuer", v1::ROLE_ISSUER, {"issuer:town"});
    Grant("terminal", v1::ROLE_TERMINAL, {"store:main"});
    Grant("member", v1::ROLE_MEMBER, {"m1"});
    Grant("auditor", v1::ROLE_AUDITOR, {});
    Grant("approver", v1::ROLE_APPROVER, {});
  }

  // The love supermarket: store:main sells rice (30 points a bag; 20 bags donated through
  // issuer:goods) and hours buy points at 10 an hour through issuer:exchange.
  void SetUpShop() {
    const std::string& admin = tokens_["admin"];
    v1::Receipt receipt;
    for (const auto& [account, name] :
         {std::pair{"issuer:goods", "爱心捐赠物资"}, std::pair{"issuer:exchange", "时长兑换"}}) {
      v1::OpenAccountRequest open;
      open.set_request_id(Cat("open-", account));
      open.set_account(account);
      open.set_kind(v1::ACCOUNT_KIND_ISSUER);
      open.set_display_name(name);
      auto* budget = open.add_budgets();
      budget->set_asset("POINTS");
      budget->set_amount("1000");
      ASSERT_TRUE(client_->ledger->OpenAccount(Ctx(admin).get(), open, &receipt).ok());
    }
    v1::SetItemRequest item;
    item.set_request_id("item-rice");
    item.set_store("store:main");
    item.set_sku("RICE_5KG");
    item.set_name("东北大米 5kg");
    item.set_unit("袋");
    item.set_price("30");
    item.set_active(true);
    ASSERT_TRUE(client_->supermarket->SetItem(Ctx(admin).get(), item, &receipt).ok());
    v1::StockRequest stock;
    stock.set_request_id("stock-rice");
    stock.set_store("store:main");
    stock.set_issuer("issuer:goods");
    stock.set_sku("RICE_5KG");
    stock.set_quantity("20");
    stock.set_reason("爱心企业 富民米业");
    ASSERT_TRUE(client_->supermarket->ReceiveStock(Ctx(admin).get(), stock, &receipt).ok());
    v1::SetExchangeRatioRequest ratio;
    ratio.set_request_id("ratio-10");
    ratio.set_points_per_hour("10");
    ratio.set_exchange_account("issuer:exchange");
    ASSERT_TRUE(client_->supermarket->SetExchangeRatio(Ctx(admin).get(), ratio, &receipt).ok());
  }

  grpc::Status Checkout(const std::string& id, const std::string& member, std::uint32_t bags,
                        const std::string& pay, v1::Receipt* receipt,
                        const std::string& role = "terminal",
                        const std::string& payment_code = "") {
    v1::CheckoutRequest request;
    request.set_request_id(id);
    request.set_member(member);
    request.set_store("store:main");
    auto* line = request.add_lines();
    line->set_sku("RICE_5KG");
    line->set_quantity(bags);
    request.set_pay_asset(pay);
    request.set_payment_code(payment_code);
    return client_->supermarket->Checkout(Ctx(tokens_[role]).get(), request, receipt);
  }

  void Grant(const std::string& name, v1::Role role, std::vector<std::string> accounts) {
    v1::CreatePrincipalRequest request;
    request.set_request_id("grant-" + name);
    request.set_principal(name);
    request.set_role(role);
    for (auto& account : accounts) request.add_accounts(account);
    request.set_display_name("测试 " + name);
    v1::CreatePrincipalResponse response;
    const grpc::Status status =
        client_->admin->CreatePrincipal(Ctx(tokens_["admin"]).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.token().size(), 3u + 64u);
    tokens_[name] = response.token();
  }

  grpc::Status Earn(const std::string& id, const std::string& member, const std::string& amount,
                    const std::string& asset = "POINTS", v1::Receipt* out = nullptr,
                    const std::string& as = "issuer") {
    v1::EarnRequest request;
    request.set_request_id(id);
    request.set_issuer("issuer:town");
    request.set_member(member);
    request.set_asset(asset);
    request.set_amount(amount);
    if (asset == "HOURS") {
      request.mutable_activity()->set_name("重阳节敬老活动");
      request.mutable_activity()->set_date("2026-10-29");
    } else {
      request.set_reason("进步明显");
    }
    v1::Receipt receipt;
    return client_->ledger->Earn(Ctx(tokens_[as]).get(), request, out ? out : &receipt);
  }

  grpc::Status Redeem(const std::string& id, const std::string& member, const std::string& amount,
                      v1::Receipt* out = nullptr, const std::string& as = "terminal") {
    v1::RedeemRequest request;
    request.set_request_id(id);
    request.set_member(member);
    request.set_store("store:main");
    request.set_asset("POINTS");
    request.set_amount(amount);
    request.set_memo("大米 5kg ×1");
    v1::Receipt receipt;
    return client_->ledger->Redeem(Ctx(tokens_[as]).get(), request, out ? out : &receipt);
  }

  std::string Balance(const std::string& account, const std::string& asset = "POINTS") {
    v1::GetBalanceRequest request;
    request.set_account(account);
    v1::GetBalanceResponse response;
    const grpc::Status status =
        client_->ledger->GetBalance(Ctx(tokens_["auditor"]).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& balance : response.balances()) {
      if (balance.asset() == asset) return balance.amount();
    }
    return "none";
  }

  // The log once it holds `text`: a unary call's line is queued before its answer leaves and a
  // stream's in OnDone, which gRPC runs after the client has read the stream's end, and the log's
  // thread writes them a moment later (up to 10 s here).
  std::string LogWith(const std::string& text) {
    std::string log;
    for (int i = 0; i < 1000; ++i) {
      std::ifstream in(dir_.Sub("log"));
      log.assign(std::istreambuf_iterator<char>(in), {});
      if (log.find(text) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return log;
  }

  // A watch of `account` ("" the journal) after `after_seq`, as `role`: its context and reader.
  struct Watch {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::WatchEntriesResponse>> reader;
    v1::WatchEntriesResponse Next() {
      v1::WatchEntriesResponse response;
      EXPECT_TRUE(reader->Read(&response))
          << "the watch ended: " << reader->Finish().error_message();
      return response;
    }
  };
  Watch StartWatch(const std::string& role, const std::string& account, std::uint64_t after_seq,
                   std::uint32_t idle_seconds = 0) {
    v1::WatchEntriesRequest request;
    request.set_account(account);
    request.set_after_seq(after_seq);
    request.set_idle_seconds(idle_seconds);
    Watch watch;
    watch.context = std::make_unique<grpc::ClientContext>();
    watch.context->AddMetadata("authorization", "Bearer " + tokens_[role]);
    watch.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    watch.reader = client_->ledger->WatchEntries(watch.context.get(), request);
    return watch;
  }
  std::uint64_t HeadSeq() {
    v1::GetDigestResponse digest;
    EXPECT_TRUE(client_->audit->GetDigest(Ctx(tokens_["auditor"]).get(), {}, &digest).ok());
    return digest.seq();
  }

  // Members' devices: a code issued by `role` for `member` (ttl 0: the default).
  v1::IssueActivationCodeResponse IssueCode(const std::string& role, const std::string& member,
                                            std::uint32_t ttl_seconds = 0,
                                            grpc::Status* status = nullptr) {
    v1::IssueActivationCodeRequest request;
    request.set_request_id(Cat("code-", ++codes_));
    request.set_member(member);
    request.set_ttl_seconds(ttl_seconds);
    v1::IssueActivationCodeResponse response;
    const grpc::Status got =
        client_->admin->IssueActivationCode(Ctx(tokens_[role]).get(), request, &response);
    if (status != nullptr)
      *status = got;
    else
      EXPECT_TRUE(got.ok()) << got.error_message();
    return response;
  }
  grpc::Status Activate(const std::string& code, v1::ActivateResponse* response,
                        const std::string& device = "韦蕊的手机") {
    v1::ActivateRequest request;
    request.set_code(code);
    request.set_device_name(device);
    return client_->admin->Activate(Ctx("").get(), request, response);
  }

  // The journal audits clean, streamed to "the auditor's machine" (the audit library's own rules).
  void ExpectAuditClean() {
    auto source = client::GrpcJournalSource(client_->channel, tokens_["auditor"]);
    ASSERT_TRUE(source.ok()) << source.status();
    auto report = audit::Run(**source, nullptr, {});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->clean());
  }

  std::shared_ptr<std::atomic<std::int64_t>> clock_skew_us_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
  int codes_ = 0;
  std::size_t watchers_max_ = service::kWatchersMaxDefault;
  TempDir dir_;
  std::FILE* log_ = nullptr;
  std::unique_ptr<service::Server> server_;
  std::unique_ptr<testing::Client> client_;
  std::map<std::string, std::string> tokens_;
};

// STYLE.md 2: one reason enum, mirrored 1:1 in the proto (names and numbers).
TEST(ReasonMirror, TheProtoReasonEnumMirrorsTheLedgersOneToOne) {
  int mirrored = 0;
  for (int value = 0; value < 256; ++value) {
    const std::string_view name = ReasonName(static_cast<Reason>(value));
    const bool in_ledger = name != "UNKNOWN_REASON";
    EXPECT_EQ(in_ledger, v1::Reason_IsValid(value)) << value;
    if (!in_ledger) continue;
    EXPECT_EQ(v1::Reason_Name(static_cast<v1::Reason>(value)), Cat("REASON_", name));
    ++mirrored;
  }
  EXPECT_EQ(mirrored, v1::Reason_descriptor()->value_count());
}

// The one mapping from reasons to gRPC statuses: every reason keeps its code (ReasonCode), its
// name leads the message, and the detail carries it back.
TEST(ReasonMapping, EveryReasonTravelsInTheStatus) {
  for (int value = 1; value < 256; ++value) {
    const auto reason = static_cast<Reason>(value);
    if (ReasonName(reason) == "UNKNOWN_REASON") continue;
    SCOPED_TRACE(ReasonName(reason));
    const grpc::Status status = service::ToStatus(reason, "why", 42);
    EXPECT_EQ(static_cast<int>(status.error_code()), static_cast<int>(ReasonCode(reason)));
    EXPECT_EQ(status.error_message(), Cat(ReasonName(reason), ": why"));
    const v1::ErrorDetail detail = ErrorDetailOf(status);
    EXPECT_EQ(static_cast<int>(detail.reason()), value);
    EXPECT_EQ(detail.message(), "why");
    EXPECT_EQ(detail.decided_at_seq(), 42u);
  }
  EXPECT_TRUE(service::ToStatus(Reason::kOk, "").ok());
  // An infrastructure failure keeps its own code.
  EXPECT_EQ(service::ToStatus(absl::DataLossError("bad block")).error_code(),
            StatusCode::DATA_LOSS);
}

// TLS with --tls-cert/--tls-key: a client that trusts the certificate gets in; a plaintext
// client does not.
TEST(Tls, AServerWithACertificateServesTlsClientsOnly) {
  TempDir dir;
  const std::string cert = dir.Sub("cert.pem");
  const std::string key = dir.Sub("key.pem");
  const std::string command =
      Cat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
          "/CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout ",
          key, " -out ", cert, " 2>/dev/null");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  service::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.init = true;
  options.data_dir = dir.Sub("data");
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  options.log_out = std::fopen(dir.Sub("log").c_str(), "a");
  options.clock_unix_us = testing::ClockStartingAt(testing::kTestServerClockStartUnixUs);
  auto server = service::Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string admin = ReadToken((*server)->admin_token_file());
  std::ifstream pem(cert);
  grpc::SslCredentialsOptions trust;
  trust.pem_root_certs.assign(std::istreambuf_iterator<char>(pem), {});
  const std::string address = Cat("127.0.0.1:", (*server)->port());
  auto secure = v1::Admin::NewStub(grpc::CreateChannel(address, grpc::SslCredentials(trust)));
  v1::PrincipalRecord me;
  const grpc::Status ok = secure->WhoAmI(Ctx(admin).get(), {}, &me);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(me.principal(), "admin");
  auto plain = v1::Admin::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  auto short_deadline = Ctx(admin);
  short_deadline->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  EXPECT_FALSE(plain->WhoAmI(short_deadline.get(), {}, &me).ok());
  (*server)->Shutdown();
  std::fclose(options.log_out);  // Shutdown wrote every line first
  std::ifstream log(dir.Sub("log"));
  const std::string logged((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(logged.find("rpc=WhoAmI"), std::string::npos) << logged;
  EXPECT_NE(logged.find("lovebankd stopped cleanly at head "), std::string::npos) << logged;

  options.log_out = stderr;
  options.tls_key_file.clear();  // a certificate without its key is refused at start
  EXPECT_EQ(service::Server::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// Issue #22 item 2: authority decided by the sequencer on the state it commits on. Attackers
// loop over entries that do not exist yet (the service used to allow those and the engine then
// undid whatever held the seq when it decided): a terminal reverses seq after seq while an issuer
// posts deductions, and a till of another store refunds seq after seq while store:main sells.
// On de9c72f both stole entries; now none is undone, and the refusals say PERMISSION_DENIED.
TEST_F(ServiceTest, UndoingEntriesNotYetWrittenIsDecidedOnTheEntryTheSeqGets) {
  SetUpShop();
  v1::OpenAccountRequest other;
  other.set_request_id("open-store:other");
  other.set_account("store:other");
  other.set_kind(v1::ACCOUNT_KIND_STORE);
  other.set_display_name("别的超市");
  v1::Receipt receipt;
  ASSERT_TRUE(client_->ledger->OpenAccount(Ctx(tokens_["admin"]).get(), other, &receipt).ok());
  Grant("till-2", v1::ROLE_TERMINAL, {"store:other"});
  ASSERT_TRUE(Earn("fund", "m1", "2000").ok());
  const std::uint64_t start = server_->ledger().GetHead().seq;
  constexpr int kDeducts = 120, kSales = 20;
  std::atomic<bool> writers_done{false};
  std::atomic<int> denied{0}, attempts{0};
  std::thread issuer([&] {
    testing::Client own(server_->port());
    for (int i = 0; i < kDeducts; ++i) {
      v1::DeductRequest deduct;
      deduct.set_request_id(Cat("deduct-", i));
      deduct.set_member("m1");
      deduct.set_issuer("issuer:town");
      deduct.set_asset("POINTS");
      deduct.set_amount("1");
      deduct.set_reason("未按时完成作业");
      v1::Receipt r;
      EXPECT_TRUE(own.ledger->Deduct(Ctx(tokens_["issuer"]).get(), deduct, &r).ok());
    }
  });
  std::thread till([&] {
    for (int i = 0; i < kSales; ++i) {
      v1::Receipt r;
      EXPECT_TRUE(Checkout(Cat("sale-", i), "m1", 1, "POINTS", &r).ok());
    }
  });
  // Each attacker tries seq after seq from the head on, retrying a seq until it exists.
  auto attack = [&](const std::string& who, bool refund) {
    testing::Client own(server_->port());
    std::uint64_t seq = start + 1;
    for (int attempt = 0; !writers_done.load() || attempt % 64 != 0; ++attempt) {
      ++attempts;
      grpc::Status status;
      v1::Receipt r;
      if (refund) {
        v1::RefundRequest request;
        request.set_request_id(Cat(who, "-", attempt));
        request.set_checkout_seq(seq);
        auto* line = request.add_lines();
        line->set_sku("RICE_5KG");
        line->set_quantity(1);
        status = own.supermarket->Refund(Ctx(tokens_[who]).get(), request, &r);
      } else {
        v1::ReverseRequest request;
        request.set_request_id(Cat(who, "-", attempt));
        request.set_seq(seq);
        status = own.ledger->Reverse(Ctx(tokens_[who]).get(), request, &r);
      }
      const v1::Reason reason = service::ErrorDetailOf(status).reason();
      if (reason == v1::REASON_PERMISSION_DENIED) ++denied;
      if (reason != v1::REASON_ENTRY_UNKNOWN) ++seq;
    }
  };
  std::thread reverser(attack, "terminal", false);
  std::thread refunder(attack, "till-2", true);
  issuer.join();
  till.join();
  writers_done = true;
  reverser.join();
  refunder.join();

  int deducts_undone = 0, sales_refunded_by_other_store = 0;
  const std::uint64_t head = server_->ledger().GetHead().seq;
  for (std::uint64_t seq = start + 1; seq <= head; ++seq) {
    auto stored = server_->ledger().GetEntry(seq);
    ASSERT_TRUE(stored.ok()) << stored.status();
    const v1::Command& c = stored->entry.command();
    if (c.actor() == "till-2" && (c.has_refund() || c.has_reverse())) {
      ++sales_refunded_by_other_store;
    }
    if (c.actor() == "terminal" && c.has_reverse()) {
      auto target = server_->ledger().GetEntry(c.reverse().seq());
      ASSERT_TRUE(target.ok());
      if (!target->entry.command().has_checkout()) ++deducts_undone;
    }
  }
  EXPECT_EQ(deducts_undone, 0);
  EXPECT_EQ(sales_refunded_by_other_store, 0);
  EXPECT_GT(denied.load(), 0) << attempts.load() << " attempts";  // the attackers did hit entries
  std::cout << attempts.load() << " attempts, " << denied.load() << " refused PERMISSION_DENIED\n";
}

// Issue #22 item 8: an amount of 3,000 digits used to be quoted whole in the refusal, overflow
// gRPC's metadata limit and reach the client as RESOURCE_EXHAUSTED ("queue full, retry").
TEST_F(ServiceTest, AHugeAmountIsRefusedWithItsReasonAndAShortMessage) {
  const Head head = server_->ledger().GetHead();
  for (const std::string& amount :
       {std::string(3000, '9'), "1." + std::string(3000, '5'), std::string(3000, '9') + "e5"}) {
    const grpc::Status status = Earn("huge-" + amount.substr(2998), "m1", amount);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << status.error_message().size();
    EXPECT_NE(service::ErrorDetailOf(status).reason(), v1::REASON_OK);
    EXPECT_LE(status.error_message().size(), 200u) << status.error_message();
  }
  EXPECT_EQ(server_->ledger().GetHead().seq, head.seq);
}

// grpc.health.v1.Health/Check of `service` ("": the whole server), as the response's bytes
// ("\x08\x01": SERVING, "\x08\x02": NOT_SERVING) or "error <code>", through a generic stub (no
// generated health stub here). The request is HealthCheckRequest{service = 1}.
std::string HealthOf(testing::Client& client, const std::string& service = "") {
  grpc::GenericStub stub(client.channel);
  std::string encoded;
  if (!service.empty()) {
    encoded = std::string("\x0a") + static_cast<char>(service.size()) + service;
  }
  grpc::Slice slice(encoded);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  auto context = Ctx("");
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), "/grpc.health.v1.Health/Check", {}, &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) return Cat("error ", static_cast<int>(status.error_code()));
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return "error";
  std::string bytes;
  for (const auto& piece : slices)
    bytes.append(reinterpret_cast<const char*>(piece.begin()), piece.size());
  return bytes;
}

// lovebankd serves grpc.health.v1.Health/Check itself (service/rpc.cc, not gRPC's callback
// service): each lovebank service by name, the whole server, and NOT_FOUND for a name it does not
// serve, as gRPC's own health service answers; Watch is not served.
TEST_F(ServiceTest, HealthAnswersPerServiceAndRefusesUnknownNames) {
  EXPECT_EQ(HealthOf(*client_), "\x08\x01");
  EXPECT_EQ(HealthOf(*client_, "lovebank.v1.Ledger"), "\x08\x01");
  EXPECT_EQ(HealthOf(*client_, "lovebank.v1.Exchange"), "\x08\x01");
  EXPECT_EQ(HealthOf(*client_, "lovebank.v1.Nothing"),
            Cat("error ", static_cast<int>(StatusCode::NOT_FOUND)));
  EXPECT_EQ(HealthOf(*client_, "爱心银行"), Cat("error ", static_cast<int>(StatusCode::NOT_FOUND)));

  grpc::GenericStub stub(client_->channel);
  auto context = Ctx("");
  grpc::CompletionQueue queue;
  auto watch = stub.PrepareCall(context.get(), "/grpc.health.v1.Health/Watch", &queue);
  void* tag = nullptr;
  bool ok = false;
  watch->StartCall(&queue);
  ASSERT_TRUE(queue.Next(&tag, &ok));
  grpc::Status status;
  watch->Finish(&status, &queue);
  ASSERT_TRUE(queue.Next(&tag, &ok));
  EXPECT_EQ(status.error_code(), StatusCode::UNIMPLEMENTED);
}

// RpcServer serves a lovebank service whole or not at all: a method list that misses a method the
// proto declares, or gives one the wrong messages, is refused before anything listens.
TEST(RpcServerTest, RefusesAMethodListThatDiffersFromTheProto) {
  struct Handlers {
    service::UnaryCall* Transfer(service::CallContext*, const v1::TransferRequest*, v1::Receipt*) {
      return nullptr;
    }
    service::UnaryCall* WrongTypes(service::CallContext*, const v1::EarnRequest*, v1::Receipt*) {
      return nullptr;
    }
  } handlers;
  {
    grpc::ServerBuilder builder;
    std::vector<service::RpcMethod> methods;
    methods.push_back(
        service::Unary("/lovebank.v1.Ledger/Transfer", &handlers, &Handlers::Transfer));
    auto registered = service::RpcServer::Register(builder, std::move(methods), {}, 1);
    ASSERT_FALSE(registered.ok());
    EXPECT_NE(registered.status().message().find("lovebank.v1.Ledger/"), std::string::npos)
        << registered.status();
    EXPECT_NE(registered.status().message().find("which the proto declares"), std::string::npos)
        << registered.status();
  }
  {
    grpc::ServerBuilder builder;
    std::vector<service::RpcMethod> methods;
    methods.push_back(
        service::Unary("/lovebank.v1.Ledger/Transfer", &handlers, &Handlers::WrongTypes));
    auto registered = service::RpcServer::Register(builder, std::move(methods), {}, 1);
    ASSERT_FALSE(registered.ok());
    EXPECT_NE(registered.status().message().find("does not take the proto's messages"),
              std::string::npos)
        << registered.status();
  }
  {
    grpc::ServerBuilder builder;
    std::vector<service::RpcMethod> methods;
    methods.push_back(
        service::Unary("/lovebank.v1.Nowhere/Transfer", &handlers, &Handlers::Transfer));
    auto registered = service::RpcServer::Register(builder, std::move(methods), {}, 1);
    ASSERT_FALSE(registered.ok());
    EXPECT_NE(registered.status().message().find("no proto declares service lovebank.v1.Nowhere"),
              std::string::npos)
        << registered.status();
  }
}

// Issue #22 item 6, DESIGN.md invariant 9: what is served is what the journal proves. A balance
// raised with RocksDB's tools while the server was stopped was shown and spent on de9c72f, and a
// principals row added by hand became a working ADMIN token; now the start-up check finds both
// and lovebankd fails closed: writes and reads UNAVAILABLE (LEDGER_UNVERIFIED), health
// NOT_SERVING, the finding in the log, the journal still readable by an auditor.
TEST_F(ServiceTest, AStateForgedOnDiskIsFoundAtStartAndNothingIsServed) {
  ASSERT_TRUE(Earn("e1", "m1", "30").ok());
  const std::string db = dir_.Sub("data/db");
  auto forge = [&](Family family, const std::string& key, const std::string& value) {
    StopServer();
    auto store = Store::Open(db, StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put((*store)->handle(family), key, value).ok());
    ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
    store->reset();
    StartServer();
  };
  auto refused = [&](const std::string& token) {
    v1::GetBalanceRequest read;
    read.set_account("m1");
    v1::GetBalanceResponse balance;
    EXPECT_STATUS(client_->ledger->GetBalance(Ctx(token).get(), read, &balance),
                  StatusCode::UNAVAILABLE, v1::REASON_LEDGER_UNVERIFIED);
    v1::RedeemRequest redeem;
    redeem.set_request_id("spend-forged");
    redeem.set_member("m1");
    redeem.set_store("store:main");
    redeem.set_asset("POINTS");
    redeem.set_amount("100000");
    v1::Receipt receipt;
    EXPECT_STATUS(client_->ledger->Redeem(Ctx(tokens_["terminal"]).get(), redeem, &receipt),
                  StatusCode::UNAVAILABLE, v1::REASON_LEDGER_UNVERIFIED);
    EXPECT_EQ(HealthOf(*client_), "\x08\x02");  // HealthCheckResponse{status: NOT_SERVING}
    v1::GetDigestResponse digest;               // the journal is still there for the auditor
    EXPECT_TRUE(client_->audit->GetDigest(Ctx(tokens_["auditor"]).get(), {}, &digest).ok());
  };
  const Head head = server_->ledger().GetHead();
  forge(Family::kBalances, BalanceKey("m1", "POINTS"),
        EncodeBalanceValue(Int128(10000000), head.seq));
  refused(tokens_["auditor"]);
  EXPECT_EQ(server_->ledger().GetHead().seq, head.seq);
  server_->FlushLog();
  std::ifstream log(dir_.Sub("log"));
  const std::string logged((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(logged.find("start-up check: RECORD_DIFFERS"), std::string::npos) << logged;

  // Put the balance back: served again. Then a principals row by hand: no token, and found.
  forge(Family::kBalances, BalanceKey("m1", "POINTS"), EncodeBalanceValue(Int128(3000), head.seq));
  v1::PrincipalRecord me;
  ASSERT_TRUE(client_->admin->WhoAmI(Ctx(tokens_["member"]).get(), {}, &me).ok());
  v1::GetBalanceResponse balance;
  v1::GetBalanceRequest read;
  read.set_account("m1");
  ASSERT_TRUE(client_->ledger->GetBalance(Ctx(tokens_["member"]).get(), read, &balance).ok());
  ASSERT_EQ(balance.balances_size(), 1);
  EXPECT_EQ(balance.balances(0).amount(), "30.00");
  EXPECT_EQ(HealthOf(*client_), "\x08\x01");  // SERVING
  const std::string forged_token = "lb_" + std::string(64, 'f');
  v1::PrincipalRecord intruder;
  intruder.set_principal("intruder");
  intruder.set_role(v1::ROLE_ADMIN);
  intruder.set_token_sha256(service::TokenSha256(forged_token));
  intruder.set_granted_seq(head.seq);
  forge(Family::kPrincipals, "intruder", intruder.SerializeAsString());
  EXPECT_EQ(client_->admin->WhoAmI(Ctx(forged_token).get(), {}, &me).error_code(),
            StatusCode::UNAUTHENTICATED);
  refused(tokens_["auditor"]);
}

TEST_F(ServiceTest, TheFirstAdminTokenIsInAPrivateFileAndWorks) {
  struct stat info {};
  ASSERT_EQ(::stat(server_->admin_token_file().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  // The data directory and the RocksDB directory in it are the server user's alone.
  for (const std::string& dir : {dir_.Sub("data"), dir_.Sub("data/db")}) {
    ASSERT_EQ(::stat(dir.c_str(), &info), 0) << dir;
    EXPECT_EQ(info.st_mode & 0777, 0700u) << dir;
  }
  v1::PrincipalRecord me;
  ASSERT_TRUE(client_->admin->WhoAmI(Ctx(tokens_["admin"]).get(), {}, &me).ok());
  EXPECT_EQ(me.principal(), "admin");
  EXPECT_EQ(me.role(), v1::ROLE_ADMIN);
  EXPECT_TRUE(me.token_sha256().empty());  // never sent back
}

TEST_F(ServiceTest, EarnRedeemTransferDeductReverseAndReadsWork) {
  v1::Receipt hours;
  ASSERT_TRUE(Earn("hours-1", "m1", "2.50", "HOURS", &hours).ok());
  EXPECT_EQ(hours.hash().size(), 64u);
  EXPECT_GT(hours.time_unix_us(), 0);
  EXPECT_FALSE(hours.replayed());
  ASSERT_EQ(hours.balances_after_size(), 2);
  ASSERT_TRUE(Earn("award-1", "m1", "500").ok());

  v1::Receipt sale;
  ASSERT_TRUE(Redeem("sale-1", "m1", "30", &sale).ok());
  std::map<std::string, std::string> after;
  for (const auto& b : sale.balances_after()) after[b.account()] = b.amount();
  EXPECT_EQ(after["m1"], "470.00");
  EXPECT_EQ(after["store:main"], "30.00");

  v1::TransferRequest transfer;
  transfer.set_request_id("gift-1");
  transfer.set_from("m1");
  transfer.set_to("m2");
  transfer.set_asset("POINTS");
  transfer.set_amount("20");
  transfer.set_memo("转赠给外婆");
  v1::Receipt receipt;
  ASSERT_TRUE(client_->ledger->Transfer(Ctx(tokens_["member"]).get(), transfer, &receipt).ok());

  v1::DeductRequest deduct;
  deduct.set_request_id("deduct-1");
  deduct.set_member("m2");
  deduct.set_issuer("issuer:town");
  deduct.set_asset("POINTS");
  deduct.set_amount("5");
  deduct.set_reason("学习不努力");
  ASSERT_TRUE(client_->ledger->Deduct(Ctx(tokens_["issuer"]).get(), deduct, &receipt).ok());

  v1::ReverseRequest refund;
  refund.set_request_id("refund-1");
  refund.set_target_request_id("sale-1");
  refund.set_memo("退货");
  ASSERT_TRUE(client_->ledger->Reverse(Ctx(tokens_["terminal"]).get(), refund, &receipt).ok());
  EXPECT_EQ(Balance("m1"), "480.00");
  EXPECT_EQ(Balance("m2"), "15.00");
  EXPECT_EQ(Balance("store:main"), "0.00");
  EXPECT_EQ(Balance("m1", "HOURS"), "2.50");

  // As of the sale: 470 points.
  v1::GetBalanceRequest as_of;
  as_of.set_account("m1");
  as_of.set_as_of_seq(sale.seq());
  v1::GetBalanceResponse balances;
  ASSERT_TRUE(client_->ledger->GetBalance(Ctx(tokens_["member"]).get(), as_of, &balances).ok());
  EXPECT_EQ(balances.as_of_seq(), sale.seq());
  ASSERT_EQ(balances.balances_size(), 2);
  EXPECT_EQ(balances.balances(1).asset(), "POINTS");
  EXPECT_EQ(balances.balances(1).amount(), "470.00");

  // The statement, two lines a page, newest first, with Chinese memos intact.
  v1::ListEntriesRequest list;
  list.set_account("m1");
  list.set_page_size(2);
  v1::ListEntriesResponse page;
  ASSERT_TRUE(client_->ledger->ListEntries(Ctx(tokens_["member"]).get(), list, &page).ok());
  ASSERT_EQ(page.items_size(), 2);
  EXPECT_EQ(page.items(0).command().memo(), "退货");
  EXPECT_EQ(page.items(1).command().memo(), "转赠给外婆");
  EXPECT_EQ(page.items(1).legs(0).amount(), "-20.00");
  EXPECT_EQ(page.items(0).command().actor(), "terminal");
  std::size_t lines = 2;
  while (!page.next_cursor().empty()) {
    list.set_cursor(page.next_cursor());
    page.Clear();
    ASSERT_TRUE(client_->ledger->ListEntries(Ctx(tokens_["member"]).get(), list, &page).ok());
    lines += page.items_size();
  }
  EXPECT_EQ(lines, 6u);  // opened, hours, award, sale, gift, refund

  // GetEntry by seq and by request id (the terminal's own) agree, and the hash covers the
  // payload.
  v1::GetEntryRequest by_id;
  by_id.set_request_id("sale-1");
  v1::GetEntryResponse entry;
  ASSERT_TRUE(client_->ledger->GetEntry(Ctx(tokens_["terminal"]).get(), by_id, &entry).ok());
  EXPECT_EQ(entry.seq(), sale.seq());
  EXPECT_EQ(entry.hash(), sale.hash());
  EXPECT_EQ(entry.entry().command().redeem().amount(), "30");
  v1::GetEntryRequest by_seq;
  by_seq.set_seq(sale.seq() - 1);
  v1::GetEntryResponse previous;
  ASSERT_TRUE(client_->ledger->GetEntry(Ctx(tokens_["auditor"]).get(), by_seq, &previous).ok());
  EXPECT_EQ(entry.prev_hash(), previous.hash());
  Hash prev{};
  for (int i = 0; i < 32; ++i) prev[i] = std::stoi(previous.hash().substr(2 * i, 2), nullptr, 16);
  EXPECT_EQ(HashToHex(ChainHash(prev, entry.seq(), entry.payload())), entry.hash());

  v1::GetAccountRequest account;
  account.set_account("m1");
  v1::AccountRecord record;
  ASSERT_TRUE(client_->ledger->GetAccount(Ctx(tokens_["terminal"]).get(), account, &record).ok());
  EXPECT_EQ(record.display_name(), "韦蕊");

  v1::SetAccountStatusRequest freeze;
  freeze.set_request_id("freeze-m3");
  freeze.set_account("m3");
  freeze.set_status(v1::ACCOUNT_STATUS_FROZEN);
  freeze.set_memo("搬离本村");
  ASSERT_TRUE(
      client_->ledger->SetAccountStatus(Ctx(tokens_["admin"]).get(), freeze, &receipt).ok());
  EXPECT_STATUS(Earn("award-m3", "m3", "1"), StatusCode::FAILED_PRECONDITION,
                Reason::kAccountFrozen);
}

TEST_F(ServiceTest, EveryErrorCodeCarriesItsReason) {
  ASSERT_TRUE(Earn("seed", "m1", "100").ok());
  v1::Receipt sale;
  ASSERT_TRUE(Redeem("sale", "m1", "10", &sale).ok());
  v1::ReverseRequest refund;
  refund.set_request_id("refund");
  refund.set_seq(sale.seq());
  v1::Receipt receipt;
  ASSERT_TRUE(client_->ledger->Reverse(Ctx(tokens_["terminal"]).get(), refund, &receipt).ok());
  const std::uint64_t head = server_->ledger().GetHead().seq;

  struct Case {
    std::string name;
    std::function<grpc::Status()> call;
    StatusCode code;
    Reason reason;
  };
  const std::vector<Case> cases = {
      {"amount with three decimals", [&] { return Earn("e1", "m1", "1.005"); },
       StatusCode::INVALID_ARGUMENT, Reason::kAmountTooManyDecimals},
      {"full-width digits", [&] { return Earn("e2", "m1", "１０"); }, StatusCode::INVALID_ARGUMENT,
       Reason::kAmountNonAsciiDigit},
      {"hours without an activity",
       [&] {
         v1::EarnRequest r;
         r.set_request_id("e3");
         r.set_issuer("issuer:town");
         r.set_member("m1");
         r.set_asset("HOURS");
         r.set_amount("1");
         return client_->ledger->Earn(Ctx(tokens_["issuer"]).get(), r, &receipt);
       },
       StatusCode::INVALID_ARGUMENT, Reason::kActivityMissing},
      {"deduct without a reason",
       [&] {
         v1::DeductRequest r;
         r.set_request_id("e4");
         r.set_member("m1");
         r.set_issuer("issuer:town");
         r.set_asset("POINTS");
         r.set_amount("1");
         return client_->ledger->Deduct(Ctx(tokens_["issuer"]).get(), r, &receipt);
       },
       StatusCode::INVALID_ARGUMENT, Reason::kMoveReasonMissing},
      {"reverse naming nothing",
       [&] {
         v1::ReverseRequest r;
         r.set_request_id("e5");
         return client_->ledger->Reverse(Ctx(tokens_["terminal"]).get(), r, &receipt);
       },
       StatusCode::INVALID_ARGUMENT, Reason::kEntryTargetInvalid},
      {"unknown member", [&] { return Earn("e6", "nobody", "1"); }, StatusCode::NOT_FOUND,
       Reason::kAccountUnknown},
      {"unknown entry",
       [&] {
         v1::GetEntryRequest r;
         r.set_seq(999999);
         v1::GetEntryResponse out;
         return client_->ledger->GetEntry(Ctx(tokens_["auditor"]).get(), r, &out);
       },
       StatusCode::NOT_FOUND, Reason::kEntryUnknown},
      {"insufficient balance", [&] { return Redeem("e7", "m1", "100.01"); },
       StatusCode::FAILED_PRECONDITION, Reason::kInsufficientBalance},
      {"budget exceeded", [&] { return Earn("e8", "m2", "99900.01"); },
       StatusCode::FAILED_PRECONDITION, Reason::kBudgetExceeded},
      {"already reversed",
       [&] {
         v1::ReverseRequest r;
         r.set_request_id("e9");
         r.set_seq(sale.seq());
         return client_->ledger->Reverse(Ctx(tokens_["terminal"]).get(), r, &receipt);
       },
       StatusCode::FAILED_PRECONDITION, Reason::kEntryAlreadyReversed},
      {"request id reused for other content", [&] { return Earn("seed", "m1", "101"); },
       StatusCode::ALREADY_EXISTS, Reason::kRequestIdReused},
      {"no token", [&] { return Earn("e10", "m1", "1", "POINTS", nullptr, "nobody"); },
       StatusCode::UNAUTHENTICATED, Reason::kTokenMissing},
      {"unknown token",
       [&] {
         tokens_["forged"] = "lb_" + std::string(64, '0');
         return Earn("e11", "m1", "1", "POINTS", nullptr, "forged");
       },
       StatusCode::UNAUTHENTICATED, Reason::kTokenUnknown},
      {"wrong role", [&] { return Earn("e12", "m1", "1", "POINTS", nullptr, "terminal"); },
       StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied},
      {"another issuer's account",
       [&] {
         v1::EarnRequest r;
         r.set_request_id("e13");
         r.set_issuer("issuer:other");
         r.set_member("m1");
         r.set_asset("POINTS");
         r.set_amount("1");
         r.set_reason("x");
         return client_->ledger->Earn(Ctx(tokens_["issuer"]).get(), r, &receipt);
       },
       StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied},
      {"as of a seq past the head",
       [&] {
         v1::GetBalanceRequest r;
         r.set_account("m1");
         r.set_as_of_seq(head + 1000);
         v1::GetBalanceResponse out;
         return client_->ledger->GetBalance(Ctx(tokens_["auditor"]).get(), r, &out);
       },
       StatusCode::OUT_OF_RANGE, Reason::kSeqBeyondHead},
      {"page size past the maximum",
       [&] {
         v1::ListEntriesRequest r;
         r.set_account("m1");
         r.set_page_size(1000000);
         v1::ListEntriesResponse out;
         return client_->ledger->ListEntries(Ctx(tokens_["auditor"]).get(), r, &out);
       },
       StatusCode::INVALID_ARGUMENT, Reason::kPageSizeInvalid},
      {"empty batch",
       [&] {
         v1::SubmitBatchResponse out;
         return client_->ledger->SubmitBatch(Ctx(tokens_["issuer"]).get(), {}, &out);
       },
       StatusCode::INVALID_ARGUMENT, Reason::kBatchSizeInvalid},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const grpc::Status status = c.call();
    EXPECT_STATUS(status, c.code, c.reason);
    // The message starts with the reason's name, so people see it too.
    EXPECT_EQ(status.error_message().rfind(std::string(ReasonName(c.reason)), 0), 0u)
        << status.error_message();
    EXPECT_EQ(server_->ledger().GetHead().seq, head);  // refusal changes nothing
  }
}

// Every RPC x every role (and no token): allowed calls get past authorization (they may still
// fail for their own reasons); denied ones get PERMISSION_DENIED or UNAUTHENTICATED and change
// nothing.
TEST_F(ServiceTest, TheRoleMatrixHoldsForEveryRpc) {
  ASSERT_TRUE(Earn("seed-1", "m1", "100").ok());
  v1::Receipt seed_2;
  ASSERT_TRUE(Earn("seed-2", "m2", "100", "POINTS", &seed_2).ok());
  const std::uint64_t seed_2_seq = seed_2.seq();
  v1::Receipt sale;
  ASSERT_TRUE(Redeem("sale-1", "m2", "1", &sale).ok());
  SetUpShop();
  v1::Receipt basket;
  ASSERT_TRUE(Checkout("basket-1", "m2", 2, "POINTS", &basket).ok());
  // Two open holds: one for the capture, one for the void.
  std::array<v1::Receipt, 2> holds;
  for (std::size_t i = 0; i < holds.size(); ++i) {
    v1::AuthorizeHoldRequest r;
    r.set_request_id(Cat("hold-", i));
    r.set_member("m1");
    r.set_store("store:main");
    auto* line = r.add_lines();
    line->set_sku("RICE_5KG");
    line->set_quantity(1);
    ASSERT_TRUE(
        client_->supermarket->AuthorizeHold(Ctx(tokens_["terminal"]).get(), r, &holds[i]).ok());
  }
  int id = 0;
  auto next = [&id] { return "matrix-" + std::to_string(++id); };
  using Rpc = std::function<grpc::Status(const std::string& token)>;
  v1::Receipt receipt;
  const std::map<std::string, Rpc> rpcs = {
      {"OpenAccount",
       [&](const std::string& t) {
         v1::OpenAccountRequest r;
         r.set_request_id(next());
         r.set_account("new-" + r.request_id());
         r.set_kind(v1::ACCOUNT_KIND_MEMBER);
         r.set_display_name("新");
         return client_->ledger->OpenAccount(Ctx(t).get(), r, &receipt);
       }},
      {"SetAccountStatus",
       [&](const std::string& t) {
         v1::SetAccountStatusRequest r;
         r.set_request_id(next());
         r.set_account("m3");
         r.set_status(v1::ACCOUNT_STATUS_FROZEN);
         return client_->ledger->SetAccountStatus(Ctx(t).get(), r, &receipt);
       }},
      {"SetAccountContact",
       [&](const std::string& t) {
         v1::SetAccountContactRequest r;
         r.set_request_id(next());
         r.set_account("m3");
         r.set_phone("13800000003");
         return client_->ledger->SetAccountContact(Ctx(t).get(), r, &receipt);
       }},
      {"SetBudget",
       [&](const std::string& t) {
         v1::SetBudgetRequest r;
         r.set_request_id(next());
         r.set_account("issuer:town");
         r.set_asset("POINTS");
         r.set_amount("100000");  // as opened: the other rows' earnings still fit
         return client_->ledger->SetBudget(Ctx(t).get(), r, &receipt);
       }},
      {"GetAccount(m2)",
       [&](const std::string& t) {
         v1::GetAccountRequest r;
         r.set_account("m2");
         v1::AccountRecord out;
         return client_->ledger->GetAccount(Ctx(t).get(), r, &out);
       }},
      {"Earn",
       [&](const std::string& t) {
         v1::EarnRequest r;
         r.set_request_id(next());
         r.set_issuer("issuer:town");
         r.set_member("m3");
         r.set_asset("POINTS");
         r.set_amount("1");
         r.set_reason("进步");
         return client_->ledger->Earn(Ctx(t).get(), r, &receipt);
       }},
      {"Deduct",
       [&](const std::string& t) {
         v1::DeductRequest r;
         r.set_request_id(next());
         r.set_member("m1");
         r.set_issuer("issuer:town");
         r.set_asset("POINTS");
         r.set_amount("1");
         r.set_reason("不努力");
         return client_->ledger->Deduct(Ctx(t).get(), r, &receipt);
       }},
      {"Redeem(m2)",
       [&](const std::string& t) {
         v1::RedeemRequest r;
         r.set_request_id(next());
         r.set_member("m2");
         r.set_store("store:main");
         r.set_asset("POINTS");
         r.set_amount("1");
         return client_->ledger->Redeem(Ctx(t).get(), r, &receipt);
       }},
      {"Transfer(m1->m2)",
       [&](const std::string& t) {
         v1::TransferRequest r;
         r.set_request_id(next());
         r.set_from("m1");
         r.set_to("m2");
         r.set_asset("POINTS");
         r.set_amount("1");
         return client_->ledger->Transfer(Ctx(t).get(), r, &receipt);
       }},
      {"Reverse(sale)",
       [&](const std::string& t) {
         v1::ReverseRequest r;
         r.set_request_id(next());
         r.set_seq(sale.seq());
         return client_->ledger->Reverse(Ctx(t).get(), r, &receipt);
       }},
      {"GetBalance(m2)",
       [&](const std::string& t) {
         v1::GetBalanceRequest r;
         r.set_account("m2");
         v1::GetBalanceResponse out;
         return client_->ledger->GetBalance(Ctx(t).get(), r, &out);
       }},
      {"ListEntries(m2)",
       [&](const std::string& t) {
         v1::ListEntriesRequest r;
         r.set_account("m2");
         v1::ListEntriesResponse out;
         return client_->ledger->ListEntries(Ctx(t).get(), r, &out);
       }},
      {"GetEntry(seed-2)",
       [&](const std::string& t) {
         v1::GetEntryRequest r;
         r.set_request_id("seed-2");
         r.set_request_actor("issuer");  // request ids are each principal's own
         v1::GetEntryResponse out;
         return client_->ledger->GetEntry(Ctx(t).get(), r, &out);
       }},
      {"SubmitBatch(transfer m1->m2)",
       [&](const std::string& t) {
         v1::SubmitBatchRequest r;
         auto* transfer = r.add_commands()->mutable_transfer();
         transfer->set_request_id(next());
         transfer->set_from("m1");
         transfer->set_to("m2");
         transfer->set_asset("POINTS");
         transfer->set_amount("1");
         v1::SubmitBatchResponse out;
         return client_->ledger->SubmitBatch(Ctx(t).get(), r, &out);
       }},
      {"CreatePrincipal",
       [&](const std::string& t) {
         v1::CreatePrincipalRequest r;
         r.set_request_id(next());
         r.set_principal("p-" + r.request_id());
         r.set_role(v1::ROLE_AUDITOR);
         v1::CreatePrincipalResponse out;
         return client_->admin->CreatePrincipal(Ctx(t).get(), r, &out);
       }},
      {"ListPrincipals",
       [&](const std::string& t) {
         v1::ListPrincipalsResponse out;
         return client_->admin->ListPrincipals(Ctx(t).get(), {}, &out);
       }},
      {"RevokePrincipal",
       [&](const std::string& t) {
         v1::RevokePrincipalRequest r;
         r.set_request_id(next());
         r.set_principal("nobody");
         return client_->admin->RevokePrincipal(Ctx(t).get(), r, &receipt);
       }},
      {"IssueActivationCode",
       [&](const std::string& t) {
         v1::IssueActivationCodeRequest r;
         r.set_request_id(next());
         r.set_member("m3");
         v1::IssueActivationCodeResponse out;
         return client_->admin->IssueActivationCode(Ctx(t).get(), r, &out);
       }},
      {"SetDevicePin(clear nobody's)",
       [&](const std::string& t) {
         v1::SetDevicePinRequest r;
         r.set_request_id(next());
         r.set_principal("nobody");
         return client_->admin->SetDevicePin(Ctx(t).get(), r, &receipt);
       }},
      {"WhoAmI",
       [&](const std::string& t) {
         v1::PrincipalRecord out;
         return client_->admin->WhoAmI(Ctx(t).get(), {}, &out);
       }},
      {"Backup",
       [&](const std::string& t) {
         v1::BackupRequest r;
         r.set_out_dir(dir_.Sub("matrix-backup-" + next()));
         v1::BackupResponse out;
         return client_->admin->Backup(Ctx(t).get(), r, &out);
       }},
      {"GetDigest",
       [&](const std::string& t) {
         v1::GetDigestResponse out;
         return client_->audit->GetDigest(Ctx(t).get(), {}, &out);
       }},
      {"GetSignedHead",
       [&](const std::string& t) {
         v1::SignedTreeHead out;
         return client_->audit->GetSignedHead(Ctx(t).get(), {}, &out);
       }},
      {"GetInclusionProof(seed-2)",
       [&](const std::string& t) {
         v1::GetInclusionProofRequest r;
         r.set_seq(seed_2_seq);
         v1::InclusionProof out;
         return client_->audit->GetInclusionProof(Ctx(t).get(), r, &out);
       }},
      {"GetConsistencyProof",
       [&](const std::string& t) {
         v1::GetConsistencyProofRequest r;
         r.set_first_size(1);
         v1::ConsistencyProof out;
         return client_->audit->GetConsistencyProof(Ctx(t).get(), r, &out);
       }},
      {"ReadJournal",
       [&](const std::string& t) {
         auto ctx = Ctx(t);
         auto reader = client_->audit->ReadJournal(ctx.get(), {});
         v1::ReadJournalResponse out;
         while (reader->Read(&out)) {
         }
         return reader->Finish();
       }},
      {"GetCertificate(m2)",
       [&](const std::string& t) {
         v1::GetCertificateRequest r;
         r.set_account("m2");
         v1::Certificate out;
         return client_->programme->GetCertificate(Ctx(t).get(), r, &out);
       }},
      {"Import(activities)",
       [&](const std::string& t) {
         v1::ImportRequest r;
         r.set_issuer("issuer:town");
         r.set_file("member_id,date,activity,hours\nm2,2026-11-05," + next() + ",1\n");
         v1::ImportResponse out;
         return client_->programme->Import(Ctx(t).get(), r, &out);
       }},
      {"Verify",
       [&](const std::string& t) {
         auto ctx = Ctx(t);
         auto reader = client_->audit->Verify(ctx.get(), {});
         v1::VerifyEvent out;
         while (reader->Read(&out)) {
         }
         return reader->Finish();
       }},
      {"SetItem",
       [&](const std::string& t) {
         v1::SetItemRequest r;
         r.set_request_id(next());
         r.set_store("store:main");
         r.set_sku("OIL_5L");
         r.set_name("花生油");
         r.set_unit("桶");
         r.set_price("59.90");
         return client_->supermarket->SetItem(Ctx(t).get(), r, &receipt);
       }},
      {"ListItems",
       [&](const std::string& t) {
         v1::ListItemsRequest r;
         r.set_store("store:main");
         v1::ListItemsResponse out;
         return client_->supermarket->ListItems(Ctx(t).get(), r, &out);
       }},
      {"ReceiveStock",
       [&](const std::string& t) {
         v1::StockRequest r;
         r.set_request_id(next());
         r.set_store("store:main");
         r.set_issuer("issuer:goods");
         r.set_sku("RICE_5KG");
         r.set_quantity("1");
         r.set_reason("某人");
         return client_->supermarket->ReceiveStock(Ctx(t).get(), r, &receipt);
       }},
      {"WriteOffStock",
       [&](const std::string& t) {
         v1::StockRequest r;
         r.set_request_id(next());
         r.set_store("store:main");
         r.set_issuer("issuer:goods");
         r.set_sku("RICE_5KG");
         r.set_quantity("1");
         r.set_reason("破损");
         return client_->supermarket->WriteOffStock(Ctx(t).get(), r, &receipt);
       }},
      {"Checkout(m2)",
       [&](const std::string& t) {
         v1::CheckoutRequest r;
         r.set_request_id(next());
         r.set_member("m2");
         r.set_store("store:main");
         auto* line = r.add_lines();
         line->set_sku("RICE_5KG");
         line->set_quantity(1);
         return client_->supermarket->Checkout(Ctx(t).get(), r, &receipt);
       }},
      {"Refund(basket)",
       [&](const std::string& t) {
         v1::RefundRequest r;
         r.set_request_id(next());
         r.set_checkout_seq(basket.seq());
         auto* line = r.add_lines();
         line->set_sku("RICE_5KG");
         line->set_quantity(1);
         return client_->supermarket->Refund(Ctx(t).get(), r, &receipt);
       }},
      {"SetExchangeRatio",
       [&](const std::string& t) {
         v1::SetExchangeRatioRequest r;
         r.set_request_id(next());
         r.set_points_per_hour("10");
         r.set_exchange_account("issuer:exchange");
         return client_->supermarket->SetExchangeRatio(Ctx(t).get(), r, &receipt);
       }},
      {"GetExchangeRatio",
       [&](const std::string& t) {
         v1::ExchangeRatio out;
         return client_->supermarket->GetExchangeRatio(Ctx(t).get(), {}, &out);
       }},
      {"SetLimit",
       [&](const std::string& t) {
         v1::SetLimitRequest r;
         r.set_request_id(next());
         r.set_sku("RICE_5KG");
         r.set_period(v1::PERIOD_MONTH);
         r.set_maximum("100");
         return client_->supermarket->SetLimit(Ctx(t).get(), r, &receipt);
       }},
      {"SetHousehold",
       [&](const std::string& t) {
         v1::SetHouseholdRequest r;
         r.set_request_id(next());
         r.set_household("hh:001");
         r.add_members("m2");
         r.add_members("m3");
         return client_->supermarket->SetHousehold(Ctx(t).get(), r, &receipt);
       }},
      {"ListLimits",
       [&](const std::string& t) {
         v1::ListLimitsResponse out;
         return client_->supermarket->ListLimits(Ctx(t).get(), {}, &out);
       }},
      {"AuthorizeHold(m2)",
       [&](const std::string& t) {
         v1::AuthorizeHoldRequest r;
         r.set_request_id(next());
         r.set_member("m2");
         r.set_store("store:main");
         auto* line = r.add_lines();
         line->set_sku("RICE_5KG");
         line->set_quantity(1);
         return client_->supermarket->AuthorizeHold(Ctx(t).get(), r, &receipt);
       }},
      {"CaptureHold(hold)",
       [&](const std::string& t) {
         v1::CaptureHoldRequest r;
         r.set_request_id(next());
         r.set_hold_seq(holds[0].seq());
         r.set_store("store:main");
         return client_->supermarket->CaptureHold(Ctx(t).get(), r, &receipt);
       }},
      {"VoidHold(hold)",
       [&](const std::string& t) {
         v1::VoidHoldRequest r;
         r.set_request_id(next());
         r.set_hold_seq(holds[1].seq());
         r.set_store("store:main");
         return client_->supermarket->VoidHold(Ctx(t).get(), r, &receipt);
       }},
      {"GetHold(hold of m1)",
       [&](const std::string& t) {
         v1::GetHoldRequest r;
         r.set_hold_seq(holds[0].seq());
         v1::Hold out;
         return client_->supermarket->GetHold(Ctx(t).get(), r, &out);
       }},
      {"GetVolunteerProfile(m2)",
       [&](const std::string& t) {
         v1::GetVolunteerProfileRequest r;
         r.set_account("m2");
         v1::VolunteerProfile out;
         return client_->programme->GetVolunteerProfile(Ctx(t).get(), r, &out);
       }},
      {"SetStarLevels",
       [&](const std::string& t) {
         v1::SetStarLevelsRequest r;
         r.set_request_id(next());
         r.add_thresholds("100");
         r.add_thresholds("300");
         return client_->programme->SetStarLevels(Ctx(t).get(), r, &receipt);
       }},
      {"SetHoursCap(lift)",
       [&](const std::string& t) {
         v1::SetHoursCapRequest r;
         r.set_request_id(next());
         r.set_maximum("0");
         return client_->programme->SetHoursCap(Ctx(t).get(), r, &receipt);
       }},
      {"SetDailyHoursCap(off)",
       [&](const std::string& t) {
         v1::SetDailyHoursCapRequest r;
         r.set_request_id(next());
         r.set_maximum("0");
         return client_->programme->SetDailyHoursCap(Ctx(t).get(), r, &receipt);
       }},
      {"SetAccountTags(m2)",
       [&](const std::string& t) {
         v1::SetAccountTagsRequest r;
         r.set_request_id(next());
         r.set_account("m2");
         r.add_tags("student");
         return client_->programme->SetAccountTags(Ctx(t).get(), r, &receipt);
       }},
      {"SetFamily(m1)",
       [&](const std::string& t) {
         v1::SetFamilyRequest r;
         r.set_request_id(next());
         r.set_member("m1");
         r.add_relatives("m2");
         return client_->programme->SetFamily(Ctx(t).get(), r, &receipt);
       }},
      {"SetTransferPolicy",
       [&](const std::string& t) {
         v1::SetTransferPolicyRequest r;
         r.set_request_id(next());
         r.mutable_policy()->set_asset("HOURS");
         r.mutable_policy()->set_rule(v1::TRANSFER_RULE_OPEN);
         return client_->programme->SetTransferPolicy(Ctx(t).get(), r, &receipt);
       }},
      {"SetAwardRule",
       [&](const std::string& t) {
         v1::SetAwardRuleRequest r;
         r.set_request_id(next());
         auto* rule = r.mutable_rule();
         rule->set_code("STUDENT_PROGRESS");
         rule->set_asset("POINTS");
         rule->set_amount("500");
         rule->set_frequency(v1::AWARD_FREQUENCY_UNLIMITED);
         rule->set_description("学业进步明显");
         rule->set_active(true);
         return client_->programme->SetAwardRule(Ctx(t).get(), r, &receipt);
       }},
      {"ListAwardRules",
       [&](const std::string& t) {
         v1::ListAwardRulesResponse out;
         return client_->programme->ListAwardRules(Ctx(t).get(), {}, &out);
       }},
      {"Award(m2)",
       [&](const std::string& t) {
         v1::AwardRequest r;
         r.set_request_id(next());
         r.set_rule("STUDENT_PROGRESS");
         r.set_member("m2");
         r.set_issuer("issuer:town");
         r.set_reason("进步明显");
         return client_->programme->Award(Ctx(t).get(), r, &receipt);
       }},
      {"SetApprovalThreshold",
       [&](const std::string& t) {
         v1::SetApprovalThresholdRequest r;
         r.set_request_id(next());
         r.set_asset("POINTS");
         r.set_amount("0");
         return client_->programme->SetApprovalThreshold(Ctx(t).get(), r, &receipt);
       }},
      {"Approve(unknown)",
       [&](const std::string& t) {
         v1::ApproveRequest r;
         r.set_request_id(next());
         r.set_seq(1);
         return client_->programme->Approve(Ctx(t).get(), r, &receipt);
       }},
      {"Reject(unknown)",
       [&](const std::string& t) {
         v1::RejectRequest r;
         r.set_request_id(next());
         r.set_seq(1);
         r.set_reason("材料不全");
         return client_->programme->Reject(Ctx(t).get(), r, &receipt);
       }},
      {"ListPending(all)",
       [&](const std::string& t) {
         v1::ListPendingResponse out;
         return client_->programme->ListPending(Ctx(t).get(), {}, &out);
       }},
      {"ListPending(m1)",
       [&](const std::string& t) {
         v1::ListPendingRequest r;
         r.set_member("m1");
         v1::ListPendingResponse out;
         return client_->programme->ListPending(Ctx(t).get(), r, &out);
       }},
      {"ListAccounts",
       [&](const std::string& t) {
         v1::ListAccountsResponse out;
         return client_->ledger->ListAccounts(Ctx(t).get(), {}, &out);
       }},
      {"SetSetting(profile)",
       [&](const std::string& t) {
         v1::SetSettingRequest r;
         r.set_request_id(next());
         r.mutable_value()->mutable_programme_profile()->set_name("南溪镇爱心银行");
         return client_->programme->SetSetting(Ctx(t).get(), r, &receipt);
       }},
      {"SetSetting(signing_key)",
       [&](const std::string& t) {
         v1::SetSettingRequest r;
         r.set_request_id(next());
         v1::SigningKeyChange* change = r.mutable_value()->mutable_signing_key();
         change->set_old_key(std::string(32, 'o'));
         change->set_new_key(std::string(32, 'n'));
         change->set_endorsement(std::string(64, 'e'));
         change->set_acceptance(std::string(64, 'a'));
         return client_->programme->SetSetting(Ctx(t).get(), r, &receipt);
       }},
      {"CosignHead",
       [&](const std::string& t) {
         v1::CosignHeadRequest r;
         r.set_request_id(next());
         r.set_tree_size(1);
         r.set_root(std::string(64, '0'));
         r.set_witness_key(std::string(64, 'a'));
         r.set_signature(std::string(128, 'b'));
         return client_->audit->CosignHead(Ctx(t).get(), r, &receipt);
       }},
      {"ListSettings",
       [&](const std::string& t) {
         v1::ListSettingsResponse out;
         return client_->programme->ListSettings(Ctx(t).get(), {}, &out);
       }},
      {"PostRequest(m1)",
       [&](const std::string& t) {
         v1::PostServiceRequest r;
         r.set_request_id(next());
         v1::PostService& post = *r.mutable_service();
         post.set_member("m1");
         post.set_category("陪护");
         post.set_description("陪同看病");
         post.set_day("2026-11-25");
         post.set_hours("1");
         return client_->exchange->PostRequest(Ctx(t).get(), r, &receipt);
       }},
      {"ListServices",
       [&](const std::string& t) {
         v1::ListServicesResponse out;
         return client_->exchange->ListServices(Ctx(t).get(), {}, &out);
       }},
      {"Confirm(unknown)",
       [&](const std::string& t) {
         v1::ServiceStepRequest r;
         r.set_request_id(next());
         r.set_service_seq(999999);
         r.set_hours("1");
         return client_->exchange->Confirm(Ctx(t).get(), r, &receipt);
       }},
      {"PostOffer(m1)",
       [&](const std::string& t) {
         v1::PostServiceRequest r;
         r.set_request_id(next());
         v1::PostService& post = *r.mutable_service();
         post.set_member("m1");
         post.set_category("理发");
         post.set_description("上门理发");
         post.set_day("2026-11-30");
         return client_->exchange->PostOffer(Ctx(t).get(), r, &receipt);
       }},
      {"GetService(unknown)",
       [&](const std::string& t) {
         v1::GetServiceRequest r;
         r.set_service_seq(999999);
         v1::Service out;
         return client_->exchange->GetService(Ctx(t).get(), r, &out);
       }},
      {"Accept(unknown)",
       [&](const std::string& t) {
         v1::ServiceStepRequest r;
         r.set_request_id(next());
         r.set_service_seq(999999);
         return client_->exchange->Accept(Ctx(t).get(), r, &receipt);
       }},
      {"Assign(unknown to m2)",
       [&](const std::string& t) {
         v1::ServiceStepRequest r;
         r.set_request_id(next());
         r.set_service_seq(999999);
         r.set_provider("m2");
         return client_->exchange->Assign(Ctx(t).get(), r, &receipt);
       }},
      {"Complete(unknown)",
       [&](const std::string& t) {
         v1::ServiceStepRequest r;
         r.set_request_id(next());
         r.set_service_seq(999999);
         r.set_hours("1");
         return client_->exchange->Complete(Ctx(t).get(), r, &receipt);
       }},
      {"Cancel(unknown)",
       [&](const std::string& t) {
         v1::ServiceStepRequest r;
         r.set_request_id(next());
         r.set_service_seq(999999);
         r.set_reason("不需要了");
         return client_->exchange->Cancel(Ctx(t).get(), r, &receipt);
       }},
      {"Dispute(unknown)",
       [&](const std::string& t) {
         v1::ServiceStepRequest r;
         r.set_request_id(next());
         r.set_service_seq(999999);
         r.set_reason("没来");
         return client_->exchange->Dispute(Ctx(t).get(), r, &receipt);
       }},
      {"Resolve(unknown)",
       [&](const std::string& t) {
         v1::ServiceStepRequest r;
         r.set_request_id(next());
         r.set_service_seq(999999);
         r.set_hours("1");
         r.set_reason("社工裁定");
         return client_->exchange->Resolve(Ctx(t).get(), r, &receipt);
       }},
      {"Settle",
       [&](const std::string& t) {
         v1::SettleRequest r;
         r.set_request_id(next());
         r.set_store("store:main");
         r.set_issuer("issuer:town");
         r.set_asset("POINTS");
         r.set_amount("1");
         return client_->supermarket->Settle(Ctx(t).get(), r, &receipt);
       }},
  };
  // The roles allowed each RPC (docs/api.md "Roles"); "none" is a call without a token.
  const std::map<std::string, std::set<std::string>> allowed = {
      {"OpenAccount", {"admin"}},
      {"SetAccountStatus", {"admin"}},
      {"SetAccountContact", {"admin"}},
      {"SetBudget", {"admin"}},
      {"GetAccount(m2)", {"admin", "auditor", "issuer", "terminal"}},
      {"Earn", {"issuer"}},
      {"Deduct", {"issuer"}},
      {"Redeem(m2)", {"terminal"}},
      {"Transfer(m1->m2)", {"member"}},
      {"Reverse(sale)", {"admin", "terminal"}},
      {"GetBalance(m2)", {"admin", "auditor", "issuer", "terminal"}},
      {"ListEntries(m2)", {"admin", "auditor", "issuer"}},
      {"GetEntry(seed-2)", {"admin", "auditor", "issuer"}},  // an earn from issuer:town
      {"SubmitBatch(transfer m1->m2)", {"member"}},
      {"CreatePrincipal", {"admin"}},
      {"ListPrincipals", {"admin", "auditor", "member"}},  // member: its own devices
      {"RevokePrincipal", {"admin"}},
      {"IssueActivationCode", {"admin", "issuer"}},
      {"SetDevicePin(clear nobody's)", {"admin", "issuer"}},  // a member: only its own
      {"WhoAmI", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      {"Backup", {"admin"}},
      {"GetDigest", {"admin", "auditor"}},
      {"GetSignedHead", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      {"GetInclusionProof(seed-2)", {"admin", "auditor", "issuer"}},  // as GetEntry
      {"GetConsistencyProof", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      {"ReadJournal", {"admin", "auditor"}},
      {"Verify", {"admin", "auditor"}},
      {"GetCertificate(m2)", {"admin", "auditor", "issuer"}},
      {"Import(activities)", {"issuer"}},
      {"SetItem", {"admin"}},
      {"ListItems", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      {"ReceiveStock", {"admin"}},
      {"WriteOffStock", {"admin"}},
      {"Checkout(m2)", {"terminal"}},
      {"Refund(basket)", {"admin", "terminal"}},
      {"SetExchangeRatio", {"admin"}},
      {"GetExchangeRatio", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      {"Settle", {"admin"}},
      {"SetLimit", {"admin"}},
      {"SetHousehold", {"admin"}},
      {"ListLimits", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      {"GetVolunteerProfile(m2)", {"admin", "auditor", "issuer", "terminal"}},  // like GetBalance
      {"SetStarLevels", {"admin"}},
      {"SetHoursCap(lift)", {"admin"}},
      {"SetDailyHoursCap(off)", {"admin"}},
      {"SetAccountTags(m2)", {"admin"}},
      {"SetFamily(m1)", {"admin"}},
      {"SetTransferPolicy", {"admin"}},
      {"SetAwardRule", {"admin"}},
      {"ListAwardRules", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      {"Award(m2)", {"issuer"}},
      {"SetApprovalThreshold", {"admin"}},
      {"Approve(unknown)", {"admin", "approver"}},
      {"Reject(unknown)", {"admin", "approver"}},
      {"ListPending(all)", {"admin", "auditor", "issuer", "approver"}},
      {"ListPending(m1)", {"admin", "auditor", "issuer", "approver", "member"}},  // m1's token
      {"AuthorizeHold(m2)", {"terminal"}},
      {"CaptureHold(hold)", {"terminal"}},
      {"VoidHold(hold)", {"terminal"}},
      {"GetHold(hold of m1)", {"admin", "auditor", "terminal", "member"}},  // member: m1's token
      {"ListAccounts", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      {"SetSetting(profile)", {"admin"}},
      {"SetSetting(signing_key)", {}},  // lovebankd --rotate-signing-key alone
      {"CosignHead", {"auditor"}},      // witnesses
      {"ListSettings", {"admin", "auditor", "issuer", "terminal", "member", "approver"}},
      // Services (issue #26): members for themselves, social workers for anyone; who acts on a
      // request is the sequencer's decision (an unknown one: SERVICE_UNKNOWN, not a denial).
      {"PostRequest(m1)", {"admin", "issuer", "member"}},
      {"ListServices", {"admin", "auditor", "issuer", "member"}},
      {"Confirm(unknown)", {"admin", "issuer", "member"}},
      {"Resolve(unknown)", {"admin", "issuer"}},
      {"PostOffer(m1)", {"admin", "issuer", "member"}},
      {"GetService(unknown)", {"admin", "auditor", "issuer", "member"}},
      {"Accept(unknown)", {"admin", "issuer", "member"}},
      {"Assign(unknown to m2)", {"admin", "issuer"}},
      {"Complete(unknown)", {"admin", "issuer", "member"}},
      {"Cancel(unknown)", {"admin", "issuer", "member"}},
      {"Dispute(unknown)", {"admin", "issuer", "member"}},
  };
  ASSERT_EQ(allowed.size(), rpcs.size());
  for (const auto& [rpc, call] : rpcs) {
    for (const std::string role :
         {"admin", "issuer", "terminal", "member", "auditor", "approver", "none"}) {
      SCOPED_TRACE(rpc + " as " + role);
      const Head before = server_->ledger().GetHead();
      const grpc::Status status = call(role == "none" ? "" : tokens_[role]);
      if (role == "none") {
        EXPECT_STATUS(status, StatusCode::UNAUTHENTICATED, Reason::kTokenMissing);
      } else if (allowed.at(rpc).contains(role)) {
        EXPECT_NE(status.error_code(), StatusCode::PERMISSION_DENIED) << status.error_message();
        EXPECT_NE(status.error_code(), StatusCode::UNAUTHENTICATED) << status.error_message();
        continue;
      } else {
        EXPECT_STATUS(status, StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
      }
      EXPECT_EQ(server_->ledger().GetHead().seq, before.seq);  // denied: nothing changed
    }
    // A well-formed token that nobody holds, one a byte away from a real one.
    std::string near = tokens_["admin"];
    near.back() = near.back() == '0' ? '1' : '0';
    for (const std::string& token : {Cat("lb_", std::string(64, '0')), near}) {
      const Head before = server_->ledger().GetHead();
      EXPECT_STATUS(call(token), StatusCode::UNAUTHENTICATED, Reason::kTokenUnknown);
      EXPECT_EQ(server_->ledger().GetHead().seq, before.seq);
    }
  }
  // Every call above went through the log (info: accepted, warn: refused); no token is in it.
  server_->FlushLog();
  std::ifstream log_file(dir_.Sub("log"));
  const std::string log((std::istreambuf_iterator<char>(log_file)), {});
  EXPECT_GT(log.size(), 1000u);
  for (const auto& [role, token] : tokens_) {
    EXPECT_EQ(log.find(token.substr(3)), std::string::npos) << role << "'s token is in the log";
  }
  EXPECT_EQ(log.find("lb_"), std::string::npos) << log;
}

// The counter finds a member by the programme card or the phone (issue #24 item 4): journaled
// account fields, a card one account's at a time, a phone by its whole number or its last four
// digits; a till sees the phone masked and no card number; bad ones are refused by their reason.
TEST_F(ServiceTest, TheCounterFindsAMemberByCardOrPhoneAndATillSeesThePhoneMasked) {
  v1::Receipt receipt;
  auto contact = [&](const std::string& id, const std::string& account, const std::string& card,
                     const std::string& phone) {
    v1::SetAccountContactRequest r;
    r.set_request_id(id);
    r.set_account(account);
    r.set_card_number(card);
    r.set_phone(phone);
    return client_->ledger->SetAccountContact(Ctx(tokens_["admin"]).get(), r, &receipt);
  };
  ASSERT_TRUE(contact("c-m1", "m1", "0001024", "13812345678").ok());
  ASSERT_TRUE(contact("c-m2", "m2", "0001025", "13912345678").ok());  // the same last four
  v1::OpenAccountRequest open;
  open.set_request_id("o-m4");
  open.set_account("m4");
  open.set_kind(v1::ACCOUNT_KIND_MEMBER);
  open.set_display_name("覃秀英");
  open.set_card_number("0001024");  // m1's
  open.set_phone("13812345678");    // a family may share a phone
  const Head before = server_->ledger().GetHead();
  EXPECT_STATUS(client_->ledger->OpenAccount(Ctx(tokens_["admin"]).get(), open, &receipt),
                StatusCode::ALREADY_EXISTS, Reason::kAccountCardTaken);
  open.set_card_number("0001026");
  open.set_request_id("o-m4-again");  // the refusal is remembered under the first id
  ASSERT_TRUE(client_->ledger->OpenAccount(Ctx(tokens_["admin"]).get(), open, &receipt).ok());
  EXPECT_GT(server_->ledger().GetHead().seq, before.seq);
  const std::string too_long(21, '1');
  for (const auto& [card, phone, reason] :
       {std::tuple{"abc1", "", Reason::kAccountCardInvalid},
        std::tuple{"123", "", Reason::kAccountCardInvalid},
        std::tuple{"卡0001", "", Reason::kAccountCardInvalid},
        std::tuple{"", "1381234567x", Reason::kAccountPhoneInvalid},
        std::tuple{"", "1234", Reason::kAccountPhoneInvalid},
        std::tuple{"", "+", Reason::kAccountPhoneInvalid},
        std::tuple{"", too_long.c_str(), Reason::kAccountPhoneInvalid}}) {
    SCOPED_TRACE(Cat(card, "/", phone));
    const Head head = server_->ledger().GetHead();
    EXPECT_STATUS(contact(Cat("c-bad-", head.seq, "-", std::strlen(card), "-", std::strlen(phone)),
                          "m3", card, phone),
                  StatusCode::INVALID_ARGUMENT, reason);
    EXPECT_EQ(server_->ledger().GetHead().seq, head.seq);
  }
  auto list = [&](const std::string& role, const std::string& card, const std::string& phone) {
    v1::ListAccountsRequest r;
    r.set_card_number(card);
    r.set_phone(phone);
    v1::ListAccountsResponse response;
    const grpc::Status status =
        client_->ledger->ListAccounts(Ctx(tokens_[role]).get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  auto ids = [](const v1::ListAccountsResponse& response) {
    std::vector<std::string> out;
    for (const auto& record : response.accounts()) out.push_back(record.account());
    return out;
  };
  const auto by_card = list("terminal", "0001024", "");
  ASSERT_EQ(ids(by_card), std::vector<std::string>{"m1"});
  EXPECT_EQ(by_card.accounts(0).phone(), "138****5678");
  EXPECT_EQ(by_card.accounts(0).card_number(), "") << "a till sees no card number";
  EXPECT_EQ(ids(list("terminal", "", "5678")), (std::vector<std::string>{"m1", "m2", "m4"}));
  EXPECT_EQ(ids(list("issuer", "", "13812345678")), (std::vector<std::string>{"m1", "m4"}));
  EXPECT_TRUE(ids(list("issuer", "", "45678")).empty()) << "only the whole number or 4 digits";
  // A till gives the last four digits only: trying the whole number's 10,000 fillings of
  // 138****5678 would recover what the mask hides.
  for (const std::string phone : {"13812345678", "45678"}) {
    v1::ListAccountsRequest r;
    r.set_phone(phone);
    v1::ListAccountsResponse response;
    EXPECT_STATUS(client_->ledger->ListAccounts(Ctx(tokens_["terminal"]).get(), r, &response),
                  StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
    EXPECT_EQ(response.accounts_size(), 0);
  }
  const auto admin = list("admin", "0001024", "");
  EXPECT_EQ(admin.accounts(0).phone(), "13812345678");
  EXPECT_EQ(admin.accounts(0).card_number(), "0001024");
  v1::GetAccountRequest get;
  get.set_account("m2");
  v1::AccountRecord record;
  ASSERT_TRUE(client_->ledger->GetAccount(Ctx(tokens_["terminal"]).get(), get, &record).ok());
  EXPECT_EQ(record.phone(), "139****5678");
  EXPECT_EQ(record.card_number(), "");
  // A card moves only once freed: m1's lost card is cleared, then m3 takes the number.
  EXPECT_STATUS(contact("c-m3", "m3", "0001024", ""), StatusCode::ALREADY_EXISTS,
                Reason::kAccountCardTaken);
  ASSERT_TRUE(contact("c-m1-lost", "m1", "", "13812345678").ok());
  ASSERT_TRUE(contact("c-m3-again", "m3", "0001024", "").ok());
  EXPECT_EQ(ids(list("admin", "0001024", "")), std::vector<std::string>{"m3"});
  v1::ListAccountsRequest bad;
  bad.set_card_number("x");
  v1::ListAccountsResponse none;
  EXPECT_STATUS(client_->ledger->ListAccounts(Ctx(tokens_["terminal"]).get(), bad, &none),
                StatusCode::INVALID_ARGUMENT, Reason::kAccountCardInvalid);
  bad.clear_card_number();
  bad.set_phone("567");
  EXPECT_STATUS(client_->ledger->ListAccounts(Ctx(tokens_["admin"]).get(), bad, &none),
                StatusCode::INVALID_ARGUMENT, Reason::kAccountPhoneInvalid);
  // After a restart the card index is rebuilt from the accounts: m3's card is still taken.
  StopServer();
  StartServer();
  EXPECT_STATUS(contact("c-m2-after", "m2", "0001024", ""), StatusCode::ALREADY_EXISTS,
                Reason::kAccountCardTaken);
  ExpectAuditClean();
}

// The cashier finds a member by part of the name (issue #24 item 4): each token sees what
// GetAccount would show it, a till only what a checkout needs; pages follow the cursor; every
// malformed filter is refused by its reason.
TEST_F(ServiceTest, TheCashierFindsAMemberByPartOfTheNameAndSeesOnlyWhatACheckoutNeeds) {
  v1::SetAccountTagsRequest tags;
  tags.set_request_id("tags-m1");
  tags.set_account("m1");
  tags.add_tags("student");
  v1::Receipt receipt;
  ASSERT_TRUE(client_->programme->SetAccountTags(Ctx(tokens_["admin"]).get(), tags, &receipt).ok());
  auto list = [&](const std::string& role, v1::ListAccountsRequest request) {
    v1::ListAccountsResponse response;
    const grpc::Status status =
        client_->ledger->ListAccounts(Ctx(tokens_[role]).get(), request, &response);
    EXPECT_TRUE(status.ok()) << role << ": " << status.error_message();
    std::vector<std::string> ids;
    for (const auto& record : response.accounts()) ids.push_back(record.account());
    return std::pair{ids, response};
  };
  v1::ListAccountsRequest by_name;
  by_name.set_name_contains("韦");
  auto [till_ids, till] = list("terminal", by_name);
  EXPECT_EQ(till_ids, std::vector<std::string>{"m1"});
  EXPECT_EQ(till.accounts(0).display_name(), "韦蕊");
  EXPECT_EQ(till.accounts(0).status(), v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(till.accounts(0).tags_size(), 0) << "a till sees no tags";
  EXPECT_EQ(list("admin", by_name).second.accounts(0).tags(0), "student");
  // GetAccount shows a till the same checkout view; the member and the admin see the record.
  auto get = [&](const std::string& role, const std::string& id) {
    v1::GetAccountRequest request;
    request.set_account(id);
    v1::AccountRecord record;
    EXPECT_TRUE(client_->ledger->GetAccount(Ctx(tokens_[role]).get(), request, &record).ok())
        << role;
    return record;
  };
  const v1::AccountRecord at_till = get("terminal", "m1");
  EXPECT_EQ(at_till.display_name(), "韦蕊");
  EXPECT_EQ(at_till.status(), v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(at_till.kind(), v1::ACCOUNT_KIND_MEMBER);
  EXPECT_EQ(at_till.tags_size(), 0) << "GetAccount shows a till no tags";
  EXPECT_EQ(at_till.opened_seq(), 0u);
  EXPECT_EQ(get("member", "m1").tags(0), "student");
  EXPECT_EQ(get("admin", "m1").tags(0), "student");
  EXPECT_NE(get("terminal", "store:main").opened_seq(), 0u) << "a till's own store in full";
  // Nor may a till select members by the tags it does not see.
  v1::ListAccountsRequest students;
  students.set_tag("student");
  v1::ListAccountsResponse selected;
  EXPECT_STATUS(client_->ledger->ListAccounts(Ctx(tokens_["terminal"]).get(), students, &selected),
                StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  EXPECT_EQ(selected.accounts_size(), 0);
  // Whom each role finds with no filter: the till and the issuer members (and their own), a
  // member itself, an approver nothing it is not bound to, admins and auditors everyone.
  const auto till_all = list("terminal", {}).first;
  EXPECT_EQ(till_all, (std::vector<std::string>{"m1", "m2", "m3", "store:main"}));
  EXPECT_EQ(list("member", {}).first, std::vector<std::string>{"m1"});
  EXPECT_TRUE(list("approver", {}).first.empty());
  const auto all = list("auditor", {}).first;
  EXPECT_EQ(list("admin", {}).first, all);
  EXPECT_NE(std::find(all.begin(), all.end(), "issuer:town"), all.end());
  v1::ListAccountsRequest members;
  members.set_kind(v1::ACCOUNT_KIND_MEMBER);
  members.set_tag("student");
  EXPECT_EQ(list("issuer", members).first, std::vector<std::string>{"m1"});
  v1::ListAccountsRequest prefix;
  prefix.set_id_prefix("m");
  EXPECT_EQ(list("admin", prefix).first, (std::vector<std::string>{"m1", "m2", "m3"}));
  // One at a time, following the cursor, gives the same accounts.
  std::vector<std::string> paged;
  v1::ListAccountsRequest page;
  page.set_page_size(1);
  for (int i = 0; i < 100; ++i) {
    auto [ids, response] = list("auditor", page);
    paged.insert(paged.end(), ids.begin(), ids.end());
    if (response.next_cursor().empty()) break;
    // Sealed: the cursor does not name the account a page ended on (which a caller may not see
    // when a page ends at the scan limit). A sealed cursor is random-looking text, which holds a
    // two-letter id like "m1" by chance about once in a hundred: the same page asked again gets
    // another cursor (a fresh nonce), and the id is never in both.
    auto [again_ids, again] = list("auditor", page);
    EXPECT_EQ(again_ids, ids);
    EXPECT_NE(again.next_cursor(), response.next_cursor());
    EXPECT_FALSE(response.next_cursor().find(ids.back()) != std::string::npos &&
                 again.next_cursor().find(ids.back()) != std::string::npos)
        << response.next_cursor() << " " << again.next_cursor();
    page.set_cursor(response.next_cursor());
  }
  EXPECT_EQ(paged, all);
  // A cursor altered by one character, or one in the right shape made elsewhere, is refused.
  v1::ListAccountsRequest first;
  first.set_page_size(1);
  std::string altered = list("auditor", first).second.next_cursor();
  ASSERT_FALSE(altered.empty());
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& forged :
       {altered, std::string("c1") + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        std::string("m1")}) {
    v1::ListAccountsRequest request;
    request.set_cursor(forged);
    v1::ListAccountsResponse response;
    EXPECT_STATUS(client_->ledger->ListAccounts(Ctx(tokens_["auditor"]).get(), request, &response),
                  StatusCode::INVALID_ARGUMENT, Reason::kCursorInvalid);
  }

  const std::string& admin = tokens_["admin"];
  auto refused = [&](v1::ListAccountsRequest request) {
    v1::ListAccountsResponse response;
    return client_->ledger->ListAccounts(Ctx(admin).get(), request, &response);
  };
  v1::ListAccountsRequest bad;
  bad.set_page_size(1001);
  EXPECT_STATUS(refused(bad), StatusCode::INVALID_ARGUMENT, Reason::kPageSizeInvalid);
  bad = {};
  bad.set_cursor("not an id");
  EXPECT_STATUS(refused(bad), StatusCode::INVALID_ARGUMENT, Reason::kCursorInvalid);
  bad = {};
  bad.set_tag("Student!");
  EXPECT_STATUS(refused(bad), StatusCode::INVALID_ARGUMENT, Reason::kTagsInvalid);
  bad = {};
  bad.set_id_prefix("m 1");
  EXPECT_STATUS(refused(bad), StatusCode::INVALID_ARGUMENT, Reason::kAccountIdInvalid);
  bad = {};
  bad.set_name_contains("韦\n");  // (bytes that are not UTF-8 never parse as a proto3 string)
  EXPECT_STATUS(refused(bad), StatusCode::INVALID_ARGUMENT, Reason::kDisplayNameInvalid);
  bad.set_name_contains(std::string(129, 'a'));
  EXPECT_STATUS(refused(bad), StatusCode::INVALID_ARGUMENT, Reason::kDisplayNameInvalid);
  v1::ListAccountsResponse none;
  EXPECT_STATUS(client_->ledger->ListAccounts(Ctx("").get(), {}, &none),
                StatusCode::UNAUTHENTICATED, Reason::kTokenMissing);
}

// A hold at the checkout lane over gRPC: priced receipt with the expiry, the hold readable by its
// store's terminal, a partial capture priced at the hold, and a second close refused by reason.
TEST_F(ServiceTest, AHoldIsAuthorizedReadCapturedInPartAndThenClosed) {
  SetUpShop();
  ASSERT_TRUE(Earn("seed-1", "m1", "100").ok());
  v1::AuthorizeHoldRequest authorize;
  authorize.set_request_id("hold-1");
  authorize.set_member("m1");
  authorize.set_store("store:main");
  auto* line = authorize.add_lines();
  line->set_sku("RICE_5KG");
  line->set_quantity(3);
  v1::Receipt held;
  ASSERT_TRUE(
      client_->supermarket->AuthorizeHold(Ctx(tokens_["terminal"]).get(), authorize, &held).ok());
  ASSERT_EQ(held.lines_size(), 1);
  EXPECT_EQ(held.lines(0).name(), "东北大米 5kg");
  EXPECT_EQ(held.total_points(), "90.00");
  EXPECT_EQ(held.hold_expires_unix_us(), held.time_unix_us() + 600'000'000);

  v1::GetHoldRequest get;
  get.set_hold_seq(held.seq());
  v1::Hold hold;
  ASSERT_TRUE(client_->supermarket->GetHold(Ctx(tokens_["terminal"]).get(), get, &hold).ok());
  EXPECT_EQ(hold.state(), v1::HOLD_STATE_OPEN);
  EXPECT_EQ(hold.member(), "m1");
  EXPECT_EQ(hold.total_points(), "90.00");
  EXPECT_EQ(hold.lines(0).unit(), "袋");
  ASSERT_TRUE(
      client_->supermarket->GetHold(Ctx(tokens_["member"]).get(), get, &hold).ok());  // m1's

  v1::CaptureHoldRequest capture;
  capture.set_request_id("capture-1");
  capture.set_hold_seq(held.seq());
  capture.set_store("store:main");
  line = capture.add_lines();
  line->set_sku("RICE_5KG");
  line->set_quantity(1);
  v1::Receipt sold;
  ASSERT_TRUE(
      client_->supermarket->CaptureHold(Ctx(tokens_["terminal"]).get(), capture, &sold).ok());
  EXPECT_EQ(sold.total_points(), "30.00");
  EXPECT_EQ(sold.lines(0).name(), "东北大米 5kg");
  v1::Balance m1;
  for (const auto& balance : sold.balances_after()) {
    if (balance.account() == "m1" && balance.asset() == "POINTS") m1 = balance;
  }
  EXPECT_EQ(m1.amount(), "70.00");

  v1::VoidHoldRequest void_hold;
  void_hold.set_request_id("void-1");
  void_hold.set_hold_seq(held.seq());
  void_hold.set_store("store:main");
  v1::Receipt voided;
  EXPECT_STATUS(client_->supermarket->VoidHold(Ctx(tokens_["terminal"]).get(), void_hold, &voided),
                StatusCode::FAILED_PRECONDITION, Reason::kHoldClosed);
  // An unknown hold: NOT_FOUND for an admin, and for anyone else the same answer as a hold they
  // may not see (issue #22: no existence oracle).
  const grpc::Status others =
      client_->supermarket->GetHold(Ctx(tokens_["issuer"]).get(), get, &hold);
  EXPECT_STATUS(others, StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  get.set_hold_seq(held.seq() + 1000);
  EXPECT_STATUS(client_->supermarket->GetHold(Ctx(tokens_["admin"]).get(), get, &hold),
                StatusCode::NOT_FOUND, Reason::kHoldUnknown);
  const grpc::Status unknown =
      client_->supermarket->GetHold(Ctx(tokens_["issuer"]).get(), get, &hold);
  EXPECT_STATUS(unknown, StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  EXPECT_EQ(unknown.error_message(), others.error_message());
}

// The love supermarket over gRPC: the terminal sends SKUs and quantities, the receipt comes back
// priced from the catalogue with the items' Chinese names; refusals carry their reason.
TEST_F(ServiceTest, ACheckoutIsPricedByTheServerAndItsReceiptListsTheItems) {
  SetUpShop();
  ASSERT_TRUE(Earn("seed-1", "m1", "100").ok());
  v1::Receipt receipt;
  ASSERT_TRUE(Checkout("basket-1", "m1", 2, "", &receipt).ok());  // empty pay asset: POINTS
  ASSERT_EQ(receipt.lines_size(), 1);
  EXPECT_EQ(receipt.lines(0).name(), "东北大米 5kg");
  EXPECT_EQ(receipt.lines(0).unit(), "袋");
  EXPECT_EQ(receipt.lines(0).unit_price(), "30.00");
  EXPECT_EQ(receipt.lines(0).amount(), "60.00");
  EXPECT_EQ(receipt.total_points(), "60.00");
  EXPECT_EQ(receipt.pay_asset(), "POINTS");
  // A retry returns the same priced receipt without charging again.
  v1::Receipt retry;
  ASSERT_TRUE(Checkout("basket-1", "m1", 2, "", &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.seq(), receipt.seq());
  EXPECT_EQ(retry.total_points(), "60.00");
  // Not enough points left for two more bags: the reason, and nothing moves.
  const Head before = server_->ledger().GetHead();
  EXPECT_STATUS(Checkout("basket-2", "m1", 2, "POINTS", &receipt), StatusCode::FAILED_PRECONDITION,
                Reason::kInsufficientBalance);
  EXPECT_STATUS(Checkout("basket-3", "m1", 21, "POINTS", &receipt), StatusCode::FAILED_PRECONDITION,
                Reason::kInsufficientStock);
  EXPECT_EQ(server_->ledger().GetHead().seq, before.seq);
  // Hours at 10 points an hour: 3 bags = 90 points = 9 hours.
  v1::EarnRequest hours;
  hours.set_request_id("hours-1");
  hours.set_issuer("issuer:town");
  hours.set_member("m1");
  hours.set_asset("HOURS");
  hours.set_amount("10");
  hours.mutable_activity()->set_name("重阳节敬老活动");
  hours.mutable_activity()->set_date("2026-10-29");
  ASSERT_TRUE(client_->ledger->Earn(Ctx(tokens_["issuer"]).get(), hours, &receipt).ok());
  ASSERT_TRUE(Checkout("basket-4", "m1", 3, "HOURS", &receipt).ok());
  EXPECT_EQ(receipt.pay_asset(), "HOURS");
  EXPECT_EQ(receipt.hours(), "9.00");
  EXPECT_EQ(receipt.points_per_hour(), "10.00");
  // The catalogue shows the stock left.
  v1::ListItemsRequest list;
  list.set_store("store:main");
  v1::ListItemsResponse items;
  ASSERT_TRUE(client_->supermarket->ListItems(Ctx(tokens_["member"]).get(), list, &items).ok());
  ASSERT_EQ(items.items_size(), 1);
  EXPECT_EQ(items.items(0).stock(), "15");
  EXPECT_EQ(items.items(0).price(), "30.00");
}

// Issue #22 item 8 over the wire: a member used a till's predictable request id first and the
// till's sale was refused REQUEST_ID_REUSED. Ids are each principal's own; naming another's is
// for admins (Reverse) and admins and auditors (GetEntry).
TEST_F(ServiceTest, AMemberCannotSquatATillsRequestIdAndOnlyAdminsNameAnothersId) {
  ASSERT_TRUE(Earn("e1", "m1", "100").ok());
  const std::string id = "till1-20261203-000777";
  v1::TransferRequest squat;
  squat.set_request_id(id);
  squat.set_from("m1");
  squat.set_to("m2");
  squat.set_asset("POINTS");
  squat.set_amount("1");
  v1::Receipt squatted;
  ASSERT_TRUE(client_->ledger->Transfer(Ctx(tokens_["member"]).get(), squat, &squatted).ok());
  v1::Receipt sold;
  ASSERT_TRUE(Redeem(id, "m1", "30", &sold).ok());
  EXPECT_FALSE(sold.replayed());
  EXPECT_NE(sold.seq(), squatted.seq());
  EXPECT_EQ(Balance("m1"), "69.00");

  v1::GetEntryRequest get;
  get.set_request_id(id);
  v1::GetEntryResponse entry;
  ASSERT_TRUE(client_->ledger->GetEntry(Ctx(tokens_["terminal"]).get(), get, &entry).ok());
  EXPECT_EQ(entry.seq(), sold.seq());
  get.set_request_actor("terminal");
  EXPECT_STATUS(client_->ledger->GetEntry(Ctx(tokens_["member"]).get(), get, &entry),
                StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  ASSERT_TRUE(client_->ledger->GetEntry(Ctx(tokens_["auditor"]).get(), get, &entry).ok());
  EXPECT_EQ(entry.seq(), sold.seq());

  v1::ReverseRequest reverse;
  reverse.set_request_id("undo-1");
  reverse.set_target_request_id(id);
  reverse.set_target_actor("member");
  v1::Receipt receipt;
  EXPECT_STATUS(client_->ledger->Reverse(Ctx(tokens_["terminal"]).get(), reverse, &receipt),
                StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  reverse.set_target_actor("terminal");
  ASSERT_TRUE(client_->ledger->Reverse(Ctx(tokens_["admin"]).get(), reverse, &receipt).ok());
  EXPECT_EQ(Balance("m1"), "99.00");  // the sale, not the member's gift, was undone
  EXPECT_EQ(Balance("m2"), "1.00");
}

TEST_F(ServiceTest, RetriedRequestIdsReplayAndConflictingOnesAreRefused) {
  v1::Receipt first;
  ASSERT_TRUE(Earn("checkout-7f3a", "m1", "500", "POINTS", &first).ok());
  v1::Receipt retry;
  ASSERT_TRUE(Earn("checkout-7f3a", "m1", "500", "POINTS", &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.seq(), first.seq());
  EXPECT_EQ(retry.hash(), first.hash());
  EXPECT_EQ(retry.time_unix_us(), first.time_unix_us());
  ASSERT_EQ(retry.balances_after_size(), first.balances_after_size());
  EXPECT_EQ(Balance("m1"), "500.00");  // applied once
  EXPECT_STATUS(Earn("checkout-7f3a", "m1", "500.00"), StatusCode::ALREADY_EXISTS,
                Reason::kRequestIdReused);
  // A remembered state refusal replays too: the retry cannot flip to success later.
  EXPECT_STATUS(Redeem("sale-big", "m1", "600"), StatusCode::FAILED_PRECONDITION,
                Reason::kInsufficientBalance);
  ASSERT_TRUE(Earn("top-up", "m1", "500").ok());
  EXPECT_STATUS(Redeem("sale-big", "m1", "600"), StatusCode::FAILED_PRECONDITION,
                Reason::kInsufficientBalance);
}

TEST_F(ServiceTest, SubmitBatchAnswersPerCommandAndAllOrNothingAppliesNoneOnARefusal) {
  ASSERT_TRUE(Earn("seed", "m1", "10").ok());
  auto redeem = [](v1::SubmitBatchRequest& r, const std::string& id, const std::string& amount) {
    auto* command = r.add_commands()->mutable_redeem();
    command->set_request_id(id);
    command->set_member("m1");
    command->set_store("store:main");
    command->set_asset("POINTS");
    command->set_amount(amount);
  };
  v1::SubmitBatchRequest request;
  redeem(request, "b1", "4");
  redeem(request, "b2", "7");  // only 6 left
  redeem(request, "b3", "6");
  redeem(request, "b4", "1.001");
  v1::SubmitBatchResponse response;
  ASSERT_TRUE(
      client_->ledger->SubmitBatch(Ctx(tokens_["terminal"]).get(), request, &response).ok());
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_EQ(response.results(0).reason(), v1::REASON_OK);
  EXPECT_EQ(response.results(0).receipt().request_id(), "b1");
  EXPECT_EQ(response.results(1).reason(), v1::REASON_INSUFFICIENT_BALANCE);
  EXPECT_EQ(response.results(1).code(), static_cast<int>(StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(response.results(2).reason(), v1::REASON_OK);
  EXPECT_EQ(response.results(2).receipt().seq(), response.results(0).receipt().seq() + 1);
  EXPECT_EQ(response.results(3).reason(), v1::REASON_AMOUNT_TOO_MANY_DECIMALS);
  EXPECT_EQ(Balance("m1"), "0.00");

  ASSERT_TRUE(Earn("seed-2", "m1", "10").ok());
  const Head head = server_->ledger().GetHead();
  v1::SubmitBatchRequest atomic;
  atomic.set_all_or_nothing(true);
  redeem(atomic, "a1", "4");
  redeem(atomic, "a2", "7");
  response.Clear();
  ASSERT_TRUE(client_->ledger->SubmitBatch(Ctx(tokens_["terminal"]).get(), atomic, &response).ok());
  EXPECT_EQ(response.results(0).reason(), v1::REASON_BATCH_ABORTED);
  EXPECT_EQ(response.results(1).reason(), v1::REASON_INSUFFICIENT_BALANCE);
  EXPECT_EQ(server_->ledger().GetHead().seq, head.seq);
  EXPECT_EQ(Balance("m1"), "10.00");

  // One command this principal may not make denies the whole batch.
  v1::SubmitBatchRequest mixed;
  redeem(mixed, "c1", "1");
  auto* earn = mixed.add_commands()->mutable_earn();
  earn->set_request_id("c2");
  earn->set_issuer("issuer:town");
  earn->set_member("m1");
  earn->set_asset("POINTS");
  earn->set_amount("1000");
  earn->set_reason("自己给自己");
  EXPECT_STATUS(client_->ledger->SubmitBatch(Ctx(tokens_["terminal"]).get(), mixed, &response),
                StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  EXPECT_EQ(server_->ledger().GetHead().seq, head.seq);

  v1::SubmitBatchRequest too_big;
  for (int i = 0; i < 8193; ++i) redeem(too_big, "x" + std::to_string(i), "1");
  EXPECT_STATUS(client_->ledger->SubmitBatch(Ctx(tokens_["terminal"]).get(), too_big, &response),
                StatusCode::INVALID_ARGUMENT, Reason::kBatchSizeInvalid);
}

TEST_F(ServiceTest, PrincipalsAreCreatedListedAndRevokedAndTokensFollow) {
  v1::CreatePrincipalRequest request;
  request.set_request_id("grant-till-2");
  request.set_principal("till-2");
  request.set_role(v1::ROLE_TERMINAL);
  request.add_accounts("store:main");
  request.set_display_name("爱心超市收银台2");
  v1::CreatePrincipalResponse created;
  ASSERT_TRUE(client_->admin->CreatePrincipal(Ctx(tokens_["admin"]).get(), request, &created).ok());
  EXPECT_TRUE(created.token().starts_with("lb_"));
  EXPECT_EQ(created.principal().granted_seq(), created.receipt().seq());
  tokens_["till-2"] = created.token();
  ASSERT_TRUE(Redeem("s1", "m1", "0.01", nullptr, "till-2").error_code() ==
              StatusCode::FAILED_PRECONDITION);  // authenticated, then refused: no points

  // A retry replays the receipt but cannot show the token again.
  v1::CreatePrincipalResponse retried;
  ASSERT_TRUE(client_->admin->CreatePrincipal(Ctx(tokens_["admin"]).get(), request, &retried).ok());
  EXPECT_TRUE(retried.receipt().replayed());
  EXPECT_EQ(retried.receipt().seq(), created.receipt().seq());
  EXPECT_TRUE(retried.token().empty());
  request.set_role(v1::ROLE_AUDITOR);
  request.clear_accounts();
  EXPECT_STATUS(client_->admin->CreatePrincipal(Ctx(tokens_["admin"]).get(), request, &retried),
                StatusCode::ALREADY_EXISTS, Reason::kRequestIdReused);

  // Binding a terminal to a member account is refused by the ledger.
  v1::CreatePrincipalRequest wrong;
  wrong.set_request_id("grant-bad");
  wrong.set_principal("bad");
  wrong.set_role(v1::ROLE_TERMINAL);
  wrong.add_accounts("m1");
  EXPECT_STATUS(client_->admin->CreatePrincipal(Ctx(tokens_["admin"]).get(), wrong, &retried),
                StatusCode::FAILED_PRECONDITION, Reason::kAccountKindMismatch);

  v1::ListPrincipalsResponse list;
  ASSERT_TRUE(client_->admin->ListPrincipals(Ctx(tokens_["auditor"]).get(), {}, &list).ok());
  std::set<std::string> names;
  for (const auto& p : list.principals()) {
    names.insert(p.principal());
    EXPECT_TRUE(p.token_sha256().empty());
  }
  EXPECT_EQ(names, (std::set<std::string>{"admin", "approver", "auditor", "issuer", "member",
                                          "terminal", "till-2"}));

  v1::RevokePrincipalRequest revoke;
  revoke.set_request_id("revoke-till-2");
  revoke.set_principal("till-2");
  v1::Receipt receipt;
  ASSERT_TRUE(client_->admin->RevokePrincipal(Ctx(tokens_["admin"]).get(), revoke, &receipt).ok());
  EXPECT_STATUS(Redeem("s2", "m1", "1", nullptr, "till-2"), StatusCode::UNAUTHENTICATED,
                Reason::kTokenUnknown);
  revoke.set_request_id("revoke-till-2-again");
  EXPECT_STATUS(client_->admin->RevokePrincipal(Ctx(tokens_["admin"]).get(), revoke, &receipt),
                StatusCode::FAILED_PRECONDITION, Reason::kPrincipalRevoked);
}

TEST_F(ServiceTest, ReadJournalIsTheStoredJournalAndTheAuditOverItIsClean) {
  ASSERT_TRUE(Earn("a1", "m1", "50").ok());
  ASSERT_TRUE(Redeem("r1", "m1", "20").ok());
  ASSERT_TRUE(Earn("h1", "m2", "3", "HOURS").ok());
  const Head head = server_->ledger().GetHead();

  auto ctx = Ctx(tokens_["auditor"]);
  auto reader = client_->audit->ReadJournal(ctx.get(), {});
  v1::ReadJournalResponse message;
  std::uint64_t expected_seq = 1;
  bool first = true;
  while (reader->Read(&message)) {
    if (first) {
      EXPECT_EQ(message.ledger_id(), server_->ledger().ledger_id());
      EXPECT_EQ(message.head_seq(), head.seq);
      first = false;
    }
    for (const auto& record : message.records()) {
      ASSERT_EQ(record.seq(), expected_seq++);
      auto stored = server_->ledger().GetEntry(record.seq());
      ASSERT_TRUE(stored.ok());
      auto view = DecodeStoredEntry(record.value());
      ASSERT_TRUE(view.has_value());
      EXPECT_EQ(view->hash, stored->hash);
      EXPECT_EQ(std::string(view->payload), stored->payload);
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(expected_seq, head.seq + 1);

  // The audit library over the stream, on "the auditor's machine".
  auto source = client::GrpcJournalSource(client_->channel, tokens_["auditor"]);
  ASSERT_TRUE(source.ok()) << source.status();
  auto report = audit::Run(**source, nullptr, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean());
  EXPECT_EQ(report->head.seq, head.seq);
  EXPECT_EQ(report->head.hash, head.hash);
  EXPECT_EQ(report->principals.size(), 6u);  // admin + the five of SetUp

  v1::GetDigestResponse digest;
  ASSERT_TRUE(client_->audit->GetDigest(Ctx(tokens_["auditor"]).get(), {}, &digest).ok());
  EXPECT_EQ(digest.seq(), head.seq);
  EXPECT_EQ(digest.hash(), HashToHex(head.hash));

  // The server-side replay agrees and checks a published digest.
  v1::VerifyRequest verify;
  verify.add_expect_digests(Cat(head.seq, ":", HashToHex(head.hash)));
  auto verify_ctx = Ctx(tokens_["auditor"]);
  auto events = client_->audit->Verify(verify_ctx.get(), verify);
  v1::VerifyEvent event;
  v1::VerifySummary summary;
  int findings = 0;
  while (events->Read(&event)) {
    if (event.has_finding()) ++findings;
    if (event.has_summary()) summary = event.summary();
  }
  ASSERT_TRUE(events->Finish().ok());
  EXPECT_EQ(findings, 0);
  EXPECT_TRUE(summary.clean());
  EXPECT_EQ(summary.head_seq(), head.seq);
  EXPECT_EQ(summary.head_hash(), HashToHex(head.hash));
  ASSERT_EQ(summary.totals_size(), 2);
  EXPECT_EQ(summary.totals(1).asset(), "POINTS");
  EXPECT_EQ(summary.totals(1).issued(), "50.00");
  EXPECT_EQ(summary.totals(1).redeemed(), "20.00");

  verify.clear_expect_digests();
  verify.add_expect_digests("1:" + std::string(64, 'a'));
  auto bad_ctx = Ctx(tokens_["auditor"]);
  events = client_->audit->Verify(bad_ctx.get(), verify);
  summary.Clear();
  findings = 0;
  while (events->Read(&event)) {
    if (event.has_finding() && event.finding().kind() == "DIGEST_MISMATCH") ++findings;
    if (event.has_summary()) summary = event.summary();
  }
  ASSERT_TRUE(events->Finish().ok());
  EXPECT_EQ(findings, 1);
  EXPECT_FALSE(summary.clean());

  // A digest that is not SEQ:HASH is refused by its reason before any audit runs.
  verify.clear_expect_digests();
  verify.add_expect_digests("1:not-hex");
  auto malformed_ctx = Ctx(tokens_["auditor"]);
  events = client_->audit->Verify(malformed_ctx.get(), verify);
  while (events->Read(&event)) {
  }
  EXPECT_STATUS(events->Finish(), StatusCode::INVALID_ARGUMENT, Reason::kDigestInvalid);
}

TEST_F(ServiceTest, ARestartKeepsBalancesEntriesAndTokens) {
  v1::Receipt earned;
  ASSERT_TRUE(Earn("a1", "m1", "50", "POINTS", &earned).ok());
  const Head head = server_->ledger().GetHead();
  StopServer();
  StartServer();
  EXPECT_TRUE(server_->admin_token_file().empty());  // not a new ledger: no new admin
  EXPECT_EQ(server_->ledger().GetHead().seq, head.seq);
  EXPECT_EQ(server_->ledger().GetHead().hash, head.hash);
  EXPECT_EQ(Balance("m1"), "50.00");
  v1::Receipt retry;
  ASSERT_TRUE(Earn("a1", "m1", "50", "POINTS", &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.seq(), earned.seq());
  ASSERT_TRUE(Redeem("r1", "m1", "5").ok());  // the terminal's token still works
}

TEST_F(ServiceTest, EachCallWritesOneLogLineWithMethodRequestPrincipalOutcomeAndLatency) {
  ASSERT_TRUE(Earn("logged-1", "m1", "5").ok());
  EXPECT_STATUS(Redeem("logged-2", "m1", "6"), StatusCode::FAILED_PRECONDITION,
                Reason::kInsufficientBalance);
  // A request id that is not one (refused as REQUEST_ID_INVALID) cannot forge a log line.
  EXPECT_STATUS(Earn("evil\nI Earn request_id=forged", "m1", "5"), StatusCode::INVALID_ARGUMENT,
                Reason::kRequestIdInvalid);
  const std::string evil =
      "level=warn rpc=Earn request_id=evil?I?Earn?request_id?forged principal=issuer";
  EXPECT_NE(LogWith(evil).find(evil), std::string::npos) << LogWith(evil);
  EXPECT_EQ(LogWith(evil).find("request_id=forged"), std::string::npos);
  const std::string earned =
      "level=info rpc=Earn request_id=logged-1 principal=issuer outcome=OK seq=";
  EXPECT_NE(LogWith(earned).find(earned), std::string::npos) << LogWith(earned);
  const std::string refused =
      "level=warn rpc=Redeem request_id=logged-2 principal=terminal "
      "outcome=INSUFFICIENT_BALANCE latency_us=";
  EXPECT_NE(LogWith(refused).find(refused), std::string::npos) << LogWith(refused);
  // One format for every line (#28): time=, level=, then key=value fields (prose as msg="...").
  std::istringstream lines(LogWith(refused));
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_EQ(line.rfind("time=", 0), 0u) << line;
    EXPECT_NE(line.find(" level="), std::string::npos) << line;
    const std::size_t fields = line.find(' ', line.find(" level=") + 1);
    ASSERT_NE(fields, std::string::npos) << line;
    const std::size_t equals = line.find('=', fields);
    ASSERT_NE(equals, std::string::npos) << line;
    const std::string key = line.substr(fields + 1, equals - fields - 1);
    EXPECT_TRUE(!key.empty() &&
                key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos)
        << line;
  }
  EXPECT_GE(count, 4u);
}

TEST_F(ServiceTest, AFullQueueIsResourceExhaustedWithLedgerBusy) {
  StopServer();
  StartServer(/*queue_depth=*/1);  // a group of two never fits
  const Head head = server_->ledger().GetHead();
  v1::SubmitBatchRequest request;
  for (const char* id : {"busy-1", "busy-2"}) {
    auto* transfer = request.add_commands()->mutable_transfer();
    transfer->set_request_id(id);
    transfer->set_from("m1");
    transfer->set_to("m2");
    transfer->set_asset("POINTS");
    transfer->set_amount("1");
  }
  v1::SubmitBatchResponse response;
  EXPECT_STATUS(client_->ledger->SubmitBatch(Ctx(tokens_["member"]).get(), request, &response),
                StatusCode::RESOURCE_EXHAUSTED, Reason::kLedgerBusy);
  EXPECT_EQ(server_->ledger().GetHead().seq, head.seq);
}

TEST_F(ServiceTest, AStorageFailureIsUnavailableUntilTheServerRestarts) {
  StopServer();
  testing::FaultEnv fault;
  StartServer(kQueueDepthMaxDefault, fault.env.get());
  ASSERT_TRUE(Earn("ok-1", "m1", "1").ok());
  fault.fs->fail_wal_sync = true;
  EXPECT_STATUS(Earn("fail-1", "m1", "1"), StatusCode::UNAVAILABLE, Reason::kLedgerUnavailable);
  fault.fs->fail_wal_sync = false;
  EXPECT_STATUS(Earn("fail-2", "m1", "1"), StatusCode::UNAVAILABLE, Reason::kLedgerUnavailable);
  StopServer();
  StartServer();
  // The failed sync's outcome was unknown (the WAL append may have landed); a retry of the same
  // request id after the restart settles it exactly once either way.
  v1::Receipt settled;
  ASSERT_TRUE(Earn("fail-1", "m1", "1", "POINTS", &settled).ok());
  EXPECT_EQ(Balance("m1"), "2.00");
  v1::Receipt again;
  ASSERT_TRUE(Earn("fail-1", "m1", "1", "POINTS", &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.seq(), settled.seq());
  EXPECT_EQ(Balance("m1"), "2.00");
}

TEST_F(ServiceTest, OversizedAndExpiredRequestsChangeNothing) {
  const Head head = server_->ledger().GetHead();
  v1::TransferRequest huge;
  huge.set_request_id("huge");
  huge.set_from("m1");
  huge.set_to("m2");
  huge.set_asset("POINTS");
  huge.set_amount("1");
  huge.set_memo(std::string(service::kRequestBytesMax + 1, 'x'));
  v1::Receipt receipt;
  EXPECT_EQ(client_->ledger->Transfer(Ctx(tokens_["member"]).get(), huge, &receipt).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
  auto expired = Ctx(tokens_["issuer"]);
  expired->set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  v1::EarnRequest earn;
  earn.set_request_id("late");
  earn.set_issuer("issuer:town");
  earn.set_member("m1");
  earn.set_asset("POINTS");
  earn.set_amount("1");
  earn.set_reason("x");
  EXPECT_EQ(client_->ledger->Earn(expired.get(), earn, &receipt).error_code(),
            StatusCode::DEADLINE_EXCEEDED);
  // Invalid UTF-8 in a string field never reaches a handler: protobuf refuses to parse it and
  // gRPC 1.51 answers UNIMPLEMENTED (docs/api.md "Errors"). Behind it, the ledger's own check
  // (MEMO_INVALID) covers clients that encode without validating.
  v1::TransferRequest bad_text;
  bad_text.set_request_id("bad-utf8");
  bad_text.set_from("m1");
  bad_text.set_to("m2");
  bad_text.set_asset("POINTS");
  bad_text.set_amount("1");
  bad_text.set_memo("\xff\xfe");
  EXPECT_FALSE(client_->ledger->Transfer(Ctx(tokens_["member"]).get(), bad_text, &receipt).ok());
  EXPECT_EQ(server_->ledger().GetHead().seq, head.seq);
}

// A method called with raw bytes, as a hostile or broken client would send them.
grpc::Status RawCall(testing::Client& client, const std::string& method, const std::string& bytes,
                     const std::string& token) {
  grpc::GenericStub stub(client.channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  auto context = Ctx(token);
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, {}, &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

// Bad input at the wire (issue #8 item 5): each gets a clear status and changes nothing; the
// server keeps serving.
TEST_F(ServiceTest, TheWireRefusesBadInputAndChangesNothing) {
  ASSERT_TRUE(Earn("seed", "m1", "10").ok());
  const std::string& issuer = tokens_["issuer"];
  const std::string& admin = tokens_["admin"];
  v1::EarnRequest earn;
  earn.set_request_id("raw-1");
  earn.set_issuer("issuer:town");
  earn.set_member("m1");
  earn.set_asset("POINTS");
  earn.set_amount("2");
  earn.set_reason("进步明显");
  const std::string kEarn = "/lovebank.v1.Ledger/Earn";
  Head head = server_->ledger().GetHead();
  auto unchanged = [&](const std::string& what) {
    EXPECT_EQ(server_->ledger().GetHead().seq, head.seq) << what << " changed the ledger";
    EXPECT_EQ(Balance("m1"), "10.00") << what;
  };

  // Bytes that are not an EarnRequest; a group nested 100,000 deep (protobuf's recursion limit is
  // 100); a length prefix past the end. None reaches a handler.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "\xbb\x3e";  // start group, field 999
  for (const auto& [what, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"garbage", std::string(100, '\xff')},
           {"deep groups", earn.SerializeAsString() + deep},
           {"truncated", earn.SerializeAsString() + "\x52\xff\xff\x03"}}) {
    const grpc::Status status = RawCall(*client_, kEarn, bytes, issuer);
    EXPECT_FALSE(status.ok()) << what;
    EXPECT_NE(status.error_code(), StatusCode::UNKNOWN) << what << ": " << status.error_message();
    unchanged(what);
  }

  // Fields this server does not know (a newer client's) are ignored, as protobuf does: the
  // request is applied as if they were absent, so the plain request is its exact retry.
  v1::EarnRequest newer = earn;
  newer.GetReflection()->MutableUnknownFields(&newer)->AddVarint(999, 7);
  newer.GetReflection()->MutableUnknownFields(&newer)->AddLengthDelimited(1000, "未来的字段");
  ASSERT_TRUE(RawCall(*client_, kEarn, newer.SerializeAsString(), issuer).ok());
  v1::Receipt receipt;
  ASSERT_TRUE(client_->ledger->Earn(Ctx(issuer).get(), earn, &receipt).ok());
  EXPECT_TRUE(receipt.replayed());
  EXPECT_EQ(Balance("m1"), "12.00");
  // (Deduct the 2 again so every check below compares against 10.00.)
  v1::DeductRequest deduct;
  deduct.set_request_id("deduct-raw-1");
  deduct.set_issuer("issuer:town");
  deduct.set_member("m1");
  deduct.set_asset("POINTS");
  deduct.set_amount("2");
  deduct.set_reason("测试");
  ASSERT_TRUE(client_->ledger->Deduct(Ctx(issuer).get(), deduct, &receipt).ok());
  ASSERT_EQ(Balance("m1"), "10.00");
  head = server_->ledger().GetHead();

  // Invalid UTF-8 in a name, a memo and a reason.
  {
    v1::OpenAccountRequest open;
    open.set_request_id("bad-name");
    open.set_account("m-bad");
    open.set_kind(v1::ACCOUNT_KIND_MEMBER);
    open.set_display_name("韦\xe8\x95");  // a truncated 3-byte sequence
    EXPECT_FALSE(client_->ledger->OpenAccount(Ctx(admin).get(), open, &receipt).ok());
    v1::EarnRequest bad_reason = earn;
    bad_reason.set_request_id("bad-reason");
    bad_reason.set_reason("\xc0\xaf");  // an overlong '/'
    EXPECT_FALSE(client_->ledger->Earn(Ctx(issuer).get(), bad_reason, &receipt).ok());
    unchanged("invalid UTF-8");
  }

  // Batches: 10,000 commands (over the 8,192 limit) and none at all.
  for (const int count : {10000, 0}) {
    v1::SubmitBatchRequest batch;
    for (int i = 0; i < count; ++i) {
      auto* open = batch.add_commands()->mutable_open_account();
      open->set_request_id(Cat("many-", i));
      open->set_account(Cat("many-", i));
      open->set_kind(v1::ACCOUNT_KIND_MEMBER);
    }
    v1::SubmitBatchResponse response;
    EXPECT_STATUS(client_->ledger->SubmitBatch(Ctx(admin).get(), batch, &response),
                  StatusCode::INVALID_ARGUMENT, Reason::kBatchSizeInvalid);
    EXPECT_EQ(response.results_size(), 0);
    unchanged(Cat(count, " commands"));
  }

  // Absurd sizes: a 100 KB request id, an amount with 40 digits, a page of 4 billion lines.
  v1::EarnRequest long_id = earn;
  long_id.set_request_id(std::string(100000, 'r'));
  EXPECT_STATUS(client_->ledger->Earn(Ctx(issuer).get(), long_id, &receipt),
                StatusCode::INVALID_ARGUMENT, Reason::kRequestIdInvalid);
  v1::EarnRequest huge_amount = earn;
  huge_amount.set_request_id("huge-amount");
  huge_amount.set_amount(std::string(40, '9'));
  EXPECT_STATUS(client_->ledger->Earn(Ctx(issuer).get(), huge_amount, &receipt),
                StatusCode::INVALID_ARGUMENT, Reason::kAmountAboveMaximum);
  for (const std::uint32_t page_size : {1001u, 4294967295u}) {
    v1::ListEntriesRequest list;
    list.set_account("m1");
    list.set_page_size(page_size);
    v1::ListEntriesResponse page;
    EXPECT_STATUS(client_->ledger->ListEntries(Ctx(admin).get(), list, &page),
                  StatusCode::INVALID_ARGUMENT, Reason::kPageSizeInvalid);
    EXPECT_EQ(page.items_size(), 0);
  }
  unchanged("absurd sizes");

  // A 64 KB authorization header: over gRPC's header-list limit, so the transport drops that
  // connection (HTTP/2) — on a connection of its own here (channels to one address share their
  // connection through gRPC's global subchannel pool), since the next call on a dropped
  // connection fails once with "Socket closed" before it reconnects (seen under ASan's timing).
  // Then a deadline that passed before the call.
  {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto own = v1::Ledger::NewStub(grpc::CreateCustomChannel(
        Cat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials(), arguments));
    auto big_header = std::make_unique<grpc::ClientContext>();
    big_header->AddMetadata("authorization", "Bearer " + std::string(65536, 'a'));
    big_header->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    EXPECT_FALSE(own->Earn(big_header.get(), earn, &receipt).ok());
  }
  auto late = Ctx(issuer);
  late->set_deadline(std::chrono::system_clock::now() - std::chrono::milliseconds(1));
  v1::EarnRequest late_earn = earn;
  late_earn.set_request_id("late-earn");
  EXPECT_EQ(client_->ledger->Earn(late.get(), late_earn, &receipt).error_code(),
            StatusCode::DEADLINE_EXCEEDED);
  unchanged("header and deadline");

  // Still serving.
  v1::PrincipalRecord me;
  EXPECT_TRUE(client_->admin->WhoAmI(Ctx(admin).get(), {}, &me).ok());
}

}  // namespace
}  // namespace lovebank

namespace lovebank {
namespace {

// The streams' ends on lovebankd's completion-queue server (service/rpc.cc) from many threads at
// once: refused in the handler (no token: the Finish goes out before the handler returned), and
// cancelled by the client while idle or at once. Each ends with its status, and the server goes on
// serving (run under the sanitizers, a stream freed while another polling thread still held it
// shows here: helper review of #29's move).
TEST_F(ServiceTest, StreamsEndingEveryWayAtOnceLeaveTheServerServing) {
  const std::string auditor = tokens_["auditor"];
  std::atomic<int> wrong{0};
  // Which stream ended how, when not as expected (gtest's failures are thread-safe here).
  auto Expect = [&wrong](const char* what, const grpc::Status& status,
                         std::initializer_list<StatusCode> allowed) {
    if (std::find(allowed.begin(), allowed.end(), status.error_code()) != allowed.end()) return;
    ++wrong;
    ADD_FAILURE() << what << " ended " << status.error_code() << ": " << status.error_message();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        {  // no token: refused inside the handler
          auto ctx = Ctx("");
          v1::WatchEntriesResponse watched;
          auto watch = client_->ledger->WatchEntries(ctx.get(), {});
          while (watch->Read(&watched)) {
          }
          Expect("refused watch", watch->Finish(), {StatusCode::UNAUTHENTICATED});
        }
        {
          auto ctx = Ctx("");
          v1::ReadJournalResponse read;
          auto journal = client_->audit->ReadJournal(ctx.get(), {});
          while (journal->Read(&read)) {
          }
          Expect("refused journal read", journal->Finish(), {StatusCode::UNAUTHENTICATED});
        }
        {  // an idle watch, cancelled by its client
          auto ctx = Ctx(auditor);
          v1::WatchEntriesRequest request;
          request.set_after_seq(1'000'000);  // nothing to send: the watch waits
          auto watch = client_->ledger->WatchEntries(ctx.get(), request);
          if (i % 2 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(2));
          ctx->TryCancel();
          v1::WatchEntriesResponse watched;
          while (watch->Read(&watched)) {
          }
          Expect("cancelled watch", watch->Finish(), {StatusCode::CANCELLED});
        }
        if (i % 5 == t % 5) {  // a replay cancelled at once (each opens the store: fewer)
          auto ctx = Ctx(auditor);
          auto events = client_->audit->Verify(ctx.get(), {});
          ctx->TryCancel();
          v1::VerifyEvent event;
          while (events->Read(&event)) {
          }
          // A replay of this small ledger that ended before the cancel was seen ends OK (seen
          // once, in a loaded `ctest -j2`, 2026-12-07).
          Expect("cancelled replay", events->Finish(), {StatusCode::CANCELLED, StatusCode::OK});
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(HeadSeq(), 0u);  // still serving
  ASSERT_TRUE(Earn("after-streams", "m1", "1").ok());
}

// An online backup (issue #8 item 7): taken while earnings keep arriving, it audits clean to
// exactly the digest Backup returned, and a ledger restored from it opens at that head.
TEST_F(ServiceTest, ABackupTakenWhileServingAuditsAndRestoresToItsDigest) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Earn("before-" + std::to_string(i), "m1", "1").ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) Earn("during-" + std::to_string(i), "m2", "1");
  });
  v1::BackupRequest request;
  request.set_out_dir(dir_.Sub("backup"));
  v1::BackupResponse backup;
  const grpc::Status status = client_->admin->Backup(Ctx(tokens_["admin"]).get(), request, &backup);
  stop = true;
  writer.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(backup.seq(), 20u);
  struct stat info {};
  ASSERT_EQ(::stat(dir_.Sub("backup").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);

  {
    StoreOptions read_only;
    read_only.read_only = true;
    auto store = Store::Open(dir_.Sub("backup"), read_only);
    ASSERT_TRUE(store.ok()) << store.status();
    auto source = audit::StoreSource(**store);
    ASSERT_TRUE(source.ok()) << source.status();
    auto report = audit::Run(**source, store->get(), {});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->clean());
    EXPECT_EQ(report->head.seq, backup.seq());
    EXPECT_EQ(HashToHex(report->head.hash), backup.hash());
  }
  // Restore: the backup directory becomes a ledger's database.
  std::filesystem::create_directories(dir_.Sub("restored"));
  std::filesystem::copy(dir_.Sub("backup"), dir_.Sub("restored/db"),
                        std::filesystem::copy_options::recursive);
  LedgerOptions options;
  options.path = dir_.Sub("restored/db");
  auto restored = Ledger::Open(std::move(options));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->GetHead().seq, backup.seq());
  EXPECT_EQ(HashToHex((*restored)->GetHead().hash), backup.hash());

  // A second backup into the same directory, or a relative one, is refused by its reason.
  EXPECT_STATUS(client_->admin->Backup(Ctx(tokens_["admin"]).get(), request, &backup),
                grpc::StatusCode::ALREADY_EXISTS, Reason::kBackupExists);
  request.set_out_dir("relative/backup");
  EXPECT_STATUS(client_->admin->Backup(Ctx(tokens_["admin"]).get(), request, &backup),
                grpc::StatusCode::INVALID_ARGUMENT, Reason::kBackupPathInvalid);
}

// Live updates (issue #24 item 5): a member's phone learns of its new entry as it commits, with
// the amount and the balance after, and of nothing that did not move its account.
TEST_F(ServiceTest, WatchEntriesDeliversAMembersNewEntryAsItCommits) {
  Watch watch = StartWatch("member", "m1", HeadSeq());
  v1::Receipt first;
  ASSERT_TRUE(Earn("w-1", "m1", "500", "POINTS", &first).ok());
  ASSERT_TRUE(Earn("w-2", "m2", "7", "POINTS").ok());  // not m1's: never sent to m1's phone
  v1::Receipt third;
  ASSERT_TRUE(Earn("w-3", "m1", "3", "HOURS", &third).ok());
  v1::WatchEntriesResponse one = watch.Next();
  ASSERT_TRUE(one.has_item()) << one.DebugString();
  EXPECT_EQ(one.item().seq(), first.seq());
  EXPECT_EQ(one.item().command().earn().reason(), "进步明显");
  ASSERT_EQ(one.item().legs_size(), 1);
  EXPECT_EQ(one.item().legs(0).amount(), "500.00");
  EXPECT_EQ(one.item().legs(0).balance_after(), "500.00");
  v1::WatchEntriesResponse two = watch.Next();
  EXPECT_EQ(two.item().seq(), third.seq());  // m2's entry in between was skipped
  EXPECT_EQ(two.item().command().earn().activity().name(), "重阳节敬老活动");
  EXPECT_EQ(two.item().legs(0).asset(), "HOURS");
  EXPECT_FALSE(two.has_entry());
  watch.context->TryCancel();
  EXPECT_EQ(watch.reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The stream's end is logged with what it sent.
  EXPECT_NE(LogWith("WatchEntries").find("entries=2"), std::string::npos)
      << LogWith("WatchEntries");
}

// A revoked token reads nothing more: its open watches end at once (UNAUTHENTICATED), and an
// administrative line (the account frozen) reaches a watch like a movement does.
TEST_F(ServiceTest, WatchEntriesEndWhenTheirPrincipalIsRevokedAndCarryAdministrativeLines) {
  Watch watch = StartWatch("member", "m1", HeadSeq());
  v1::SetAccountStatusRequest freeze;
  freeze.set_request_id("freeze-m1");
  freeze.set_account("m1");
  freeze.set_status(v1::ACCOUNT_STATUS_FROZEN);
  v1::Receipt frozen;
  ASSERT_TRUE(client_->ledger->SetAccountStatus(Ctx(tokens_["admin"]).get(), freeze, &frozen).ok());
  const v1::WatchEntriesResponse line = watch.Next();
  EXPECT_EQ(line.item().seq(), frozen.seq());
  EXPECT_TRUE(line.item().command().has_set_account_status());
  v1::RevokePrincipalRequest revoke;
  revoke.set_request_id("revoke-member");
  revoke.set_principal("member");
  v1::Receipt receipt;
  ASSERT_TRUE(client_->admin->RevokePrincipal(Ctx(tokens_["admin"]).get(), revoke, &receipt).ok());
  v1::WatchEntriesResponse response;
  EXPECT_FALSE(watch.reader->Read(&response));
  EXPECT_STATUS(watch.reader->Finish(), StatusCode::UNAUTHENTICATED, Reason::kTokenUnknown);
}

// Resumable: after a break the phone passes the last seq it saw and gets exactly what followed;
// idle_seconds ends a long poll cleanly.
TEST_F(ServiceTest, WatchEntriesResumesAfterASeqAndALongPollEndsWhenIdle) {
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 4; ++i) {
    v1::Receipt receipt;
    ASSERT_TRUE(Earn(Cat("r-", i), "m1", "10", "POINTS", &receipt).ok());
    seqs.push_back(receipt.seq());
  }
  Watch watch = StartWatch("member", "m1", seqs[1], /*idle_seconds=*/1);
  std::vector<std::uint64_t> got;
  for (v1::WatchEntriesResponse response; watch.reader->Read(&response);) {
    got.push_back(response.item().seq());
  }
  EXPECT_TRUE(watch.reader->Finish().ok());
  EXPECT_EQ(got, (std::vector<std::uint64_t>{seqs[2], seqs[3]}));
  // From 0: the account's whole statement (its opening included), oldest first.
  Watch all = StartWatch("member", "m1", 0, 1);
  got.clear();
  for (v1::WatchEntriesResponse response; all.reader->Read(&response);) {
    got.push_back(response.item().seq());
  }
  EXPECT_TRUE(all.reader->Finish().ok());
  v1::ListEntriesRequest list;
  list.set_account("m1");
  v1::ListEntriesResponse statement;
  ASSERT_TRUE(client_->ledger->ListEntries(Ctx(tokens_["member"]).get(), list, &statement).ok());
  std::vector<std::uint64_t> listed;
  for (const auto& item : statement.items()) listed.insert(listed.begin(), item.seq());
  EXPECT_EQ(got, listed);
  EXPECT_EQ(got.size(), seqs.size() + 1);
}

// Who may watch what: an account's statement as ListEntries allows it; the journal for admins
// and auditors (every entry, with its hash and payload).
TEST_F(ServiceTest, WatchEntriesFollowsTheReadRules) {
  const std::uint64_t head = HeadSeq();
  v1::Receipt earned;
  ASSERT_TRUE(Earn("j-1", "m2", "5", "POINTS", &earned).ok());
  for (const auto& [role, account] :
       {std::pair{"member", "m2"}, std::pair{"member", ""}, std::pair{"issuer", ""},
        std::pair{"terminal", ""}, std::pair{"approver", "m1"}}) {
    SCOPED_TRACE(Cat(role, " watching '", account, "'"));
    Watch watch = StartWatch(role, account, head);
    v1::WatchEntriesResponse response;
    EXPECT_FALSE(watch.reader->Read(&response));
    EXPECT_STATUS(watch.reader->Finish(), grpc::StatusCode::PERMISSION_DENIED,
                  Reason::kPermissionDenied);
    // The same answer as the statement's own read.
    if (std::string(account).empty()) continue;
    v1::ListEntriesRequest list;
    list.set_account(account);
    v1::ListEntriesResponse page;
    EXPECT_EQ(client_->ledger->ListEntries(Ctx(tokens_[role]).get(), list, &page).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  Watch unknown = StartWatch("admin", "m9", 0);
  v1::WatchEntriesResponse nothing;
  EXPECT_FALSE(unknown.reader->Read(&nothing));
  EXPECT_STATUS(unknown.reader->Finish(), grpc::StatusCode::NOT_FOUND, Reason::kAccountUnknown);
  Watch journal = StartWatch("auditor", "", head);
  v1::WatchEntriesResponse entry = journal.Next();
  ASSERT_TRUE(entry.has_entry());
  EXPECT_EQ(entry.entry().seq(), earned.seq());
  EXPECT_EQ(entry.entry().hash(), earned.hash());
  EXPECT_TRUE(entry.entry().entry().command().has_earn());
  journal.context->TryCancel();
  journal.reader->Finish();
}

// The limits: 8 watches per principal, --watchers-max in all; each refused WATCHERS_FULL, and a
// place frees when a watch ends.
TEST_F(ServiceTest, WatchEntriesLimitsWatchersPerPrincipalAndInAll) {
  ASSERT_TRUE(Earn("l-1", "m1", "1", "POINTS").ok());
  std::vector<Watch> watches;
  for (std::size_t i = 0; i < service::kWatchesPerPrincipalMax; ++i) {
    watches.push_back(StartWatch("member", "m1", 0));
    watches.back().Next();  // registered: it has sent the first entry
  }
  Watch ninth = StartWatch("member", "m1", 0);
  v1::WatchEntriesResponse response;
  EXPECT_FALSE(ninth.reader->Read(&response));
  EXPECT_STATUS(ninth.reader->Finish(), grpc::StatusCode::RESOURCE_EXHAUSTED,
                Reason::kWatchersFull);
  // Another principal still may.
  Watch other = StartWatch("auditor", "m1", 0);
  other.Next();
  // One ends: the member may watch again (its place frees when the server is done with it).
  watches.front().context->TryCancel();
  watches.front().reader->Finish();
  bool admitted = false;
  for (int attempt = 0; attempt < 500 && !admitted; ++attempt) {
    Watch again = StartWatch("member", "m1", 0);
    admitted = again.reader->Read(&response);
    if (!admitted) {
      EXPECT_STATUS(again.reader->Finish(), grpc::StatusCode::RESOURCE_EXHAUSTED,
                    Reason::kWatchersFull);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } else {
      again.context->TryCancel();
      again.reader->Finish();
    }
  }
  EXPECT_TRUE(admitted);
  for (Watch& watch : watches) watch.context->TryCancel();
  other.context->TryCancel();
}

TEST_F(ServiceTest, WatchEntriesRefusesPastTheServersLimit) {
  StopServer();
  watchers_max_ = 2;
  StartServer();  // the same data directory: SetUp's programme and tokens hold
  std::vector<Watch> watches;
  for (int i = 0; i < 2; ++i) {
    watches.push_back(StartWatch("admin", "", 0));
    watches.back().Next();
  }
  Watch third = StartWatch("admin", "", 0);
  v1::WatchEntriesResponse response;
  EXPECT_FALSE(third.reader->Read(&response));
  const grpc::Status refused = third.reader->Finish();
  EXPECT_STATUS(refused, grpc::StatusCode::RESOURCE_EXHAUSTED, Reason::kWatchersFull);
  EXPECT_NE(refused.error_message().find("--watchers-max"), std::string::npos);
  for (Watch& watch : watches) watch.context->TryCancel();
}

// A watch never ends on its own, so lovebankd ends it as it stops — first, with the seq to
// resume after — and its stop does not wait out the grace for it.
TEST_F(ServiceTest, StoppingTheServerEndsWatchesWithTheSeqToResumeAfter) {
  const std::uint64_t head = HeadSeq();
  v1::Receipt receipt;
  ASSERT_TRUE(Earn("s-1", "m1", "9", "POINTS", &receipt).ok());
  Watch watch = StartWatch("member", "m1", head);
  EXPECT_EQ(watch.Next().item().seq(), receipt.seq());
  server_->Shutdown();
  v1::WatchEntriesResponse response;
  EXPECT_FALSE(watch.reader->Read(&response));
  const grpc::Status status = watch.reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_NE(status.error_message().find(Cat("after seq ", receipt.seq())), std::string::npos)
      << status.error_message();
}

// Members activate their own phones (issue #24 item 2): a social worker issues a one-time code;
// the phone, with no token, exchanges it for a token bound to that device; the code is spent and
// was never a bearer token; the device is listed and revoked like any principal.
TEST_F(ServiceTest, AMemberActivatesAPhoneWithACodeAndTheCodeIsSpent) {
  const v1::IssueActivationCodeResponse issued = IssueCode("issuer", "m1");
  ASSERT_TRUE(
      std::regex_match(issued.code(), std::regex("[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-"
                                                 "[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")))
      << issued.code();
  EXPECT_TRUE(issued.principal().starts_with("m1.")) << issued.principal();
  EXPECT_EQ(issued.expires_unix_us(), issued.receipt().time_unix_us() + 72LL * 3600 * 1'000'000);
  // The code is no bearer token, before or after activation.
  v1::GetBalanceRequest own;
  own.set_account("m1");
  v1::GetBalanceResponse balance;
  EXPECT_STATUS(client_->ledger->GetBalance(Ctx(issued.code()).get(), own, &balance),
                StatusCode::UNAUTHENTICATED, Reason::kTokenUnknown);
  // Typed as a person would: lower case, no dashes, O for 0 and l for 1.
  std::string typed;
  for (char c : issued.code()) {
    if (c == '-') continue;
    typed += c == '0' ? 'o' : c == '1' ? 'l' : static_cast<char>(std::tolower(c));
  }
  ASSERT_TRUE(Earn("a-1", "m1", "500").ok());
  v1::ActivateResponse activated;
  const grpc::Status status = Activate(typed, &activated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(activated.principal(), issued.principal());
  EXPECT_EQ(activated.account(), "m1");
  ASSERT_EQ(activated.token().size(), 3u + 64u);
  const std::string phone = activated.token();
  ASSERT_TRUE(client_->ledger->GetBalance(Ctx(phone).get(), own, &balance).ok());
  EXPECT_EQ(balance.balances(0).amount(), "500.00");
  v1::GetBalanceRequest other;
  other.set_account("m2");
  EXPECT_STATUS(client_->ledger->GetBalance(Ctx(phone).get(), other, &balance),
                StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  EXPECT_STATUS(client_->ledger->GetBalance(Ctx(issued.code()).get(), own, &balance),
                StatusCode::UNAUTHENTICATED, Reason::kTokenUnknown);
  // Spent: a second exchange (another phone with the same code) is refused.
  v1::ActivateResponse again;
  EXPECT_STATUS(Activate(issued.code(), &again), StatusCode::UNAUTHENTICATED,
                Reason::kActivationCodeUnknown);
  EXPECT_TRUE(again.token().empty());
  // Listed with its device name and activation; revoked by the admin, the phone is out.
  v1::ListPrincipalsResponse list;
  ASSERT_TRUE(client_->admin->ListPrincipals(Ctx(tokens_["admin"]).get(), {}, &list).ok());
  bool listed = false;
  for (const auto& record : list.principals()) {
    if (record.principal() != issued.principal()) continue;
    listed = true;
    EXPECT_EQ(record.device_name(), "韦蕊的手机");
    EXPECT_EQ(record.activated_seq(), activated.receipt().seq());
    EXPECT_EQ(record.role(), v1::ROLE_MEMBER);
  }
  EXPECT_TRUE(listed);
  // The member sees and revokes its own devices (a lost phone), and nobody else's.
  const auto second = IssueCode("issuer", "m1");
  v1::ActivateResponse lost;
  ASSERT_TRUE(Activate(second.code(), &lost, "旧手机").ok());
  v1::ListPrincipalsResponse mine;
  ASSERT_TRUE(client_->admin->ListPrincipals(Ctx(phone).get(), {}, &mine).ok());
  std::set<std::string> names;
  for (const auto& record : mine.principals()) {
    names.insert(record.principal());
    EXPECT_TRUE(record.token_sha256().empty());
    EXPECT_TRUE(record.activation_sha256().empty());
  }
  EXPECT_TRUE(names.contains(issued.principal()));
  EXPECT_TRUE(names.contains(second.principal()));
  EXPECT_FALSE(names.contains("issuer"));
  EXPECT_FALSE(names.contains("auditor"));
  v1::RevokePrincipalRequest revoke;
  v1::Receipt receipt;
  for (const std::string stranger : {"issuer", "nobody"}) {
    revoke.set_request_id(Cat("phone-revokes-", stranger));
    revoke.set_principal(stranger);
    EXPECT_STATUS(client_->admin->RevokePrincipal(Ctx(phone).get(), revoke, &receipt),
                  StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  }
  revoke.set_request_id("revoke-lost");
  revoke.set_principal(second.principal());
  ASSERT_TRUE(client_->admin->RevokePrincipal(Ctx(phone).get(), revoke, &receipt).ok());
  EXPECT_STATUS(client_->ledger->GetBalance(Ctx(lost.token()).get(), own, &balance),
                StatusCode::UNAUTHENTICATED, Reason::kTokenUnknown);
  ASSERT_TRUE(client_->ledger->GetBalance(Ctx(phone).get(), own, &balance).ok());
  revoke.set_request_id("revoke-phone");
  revoke.set_principal(issued.principal());
  ASSERT_TRUE(client_->admin->RevokePrincipal(Ctx(tokens_["admin"]).get(), revoke, &receipt).ok());
  EXPECT_STATUS(client_->ledger->GetBalance(Ctx(phone).get(), own, &balance),
                StatusCode::UNAUTHENTICATED, Reason::kTokenUnknown);
  // The journal of it all audits clean (grant by an issuer, the device's own activation).
  ExpectAuditClean();
}

// Expiry is decided by the sequencer on the entry's time; a revoked device's code is closed; a
// mistyped code is unknown; and of two phones racing with one code exactly one wins.
TEST_F(ServiceTest, AnExpiredRevokedOrRacedActivationCodeIsRefused) {
  const auto expiring = IssueCode("admin", "m1", 60);
  clock_skew_us_->store(61'000'000);  // a minute and a second later
  v1::ActivateResponse response;
  EXPECT_STATUS(Activate(expiring.code(), &response), StatusCode::FAILED_PRECONDITION,
                Reason::kActivationClosed);
  EXPECT_TRUE(response.token().empty());

  const auto revoked = IssueCode("admin", "m1");
  v1::RevokePrincipalRequest revoke;
  revoke.set_request_id("revoke-code");
  revoke.set_principal(revoked.principal());
  v1::Receipt receipt;
  ASSERT_TRUE(client_->admin->RevokePrincipal(Ctx(tokens_["admin"]).get(), revoke, &receipt).ok());
  EXPECT_STATUS(Activate(revoked.code(), &response), StatusCode::UNAUTHENTICATED,
                Reason::kActivationCodeUnknown);

  for (const std::string& typo :
       std::vector<std::string>{"", "ABCD", "ABCD-EFGH-JKMN-PQRS-T", "ABCD-EFGH-JKMN-PQRU",
                                "韦蕊韦蕊", revoked.code().substr(0, 14)}) {
    SCOPED_TRACE(typo);
    EXPECT_STATUS(Activate(typo, &response), StatusCode::UNAUTHENTICATED,
                  Reason::kActivationCodeUnknown);
  }

  const auto raced = IssueCode("issuer", "m2");
  std::vector<grpc::Status> outcomes(4);
  std::vector<std::string> tokens(4);
  std::vector<std::thread> phones;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    phones.emplace_back([&, i] {
      v1::ActivateResponse mine;
      outcomes[i] = Activate(raced.code(), &mine, Cat("手机 ", i));
      tokens[i] = mine.token();
    });
  }
  for (auto& phone : phones) phone.join();
  int won = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].ok()) {
      ++won;
      EXPECT_FALSE(tokens[i].empty());
      continue;
    }
    const auto reason = service::ErrorDetailOf(outcomes[i]).reason();
    EXPECT_TRUE(reason == v1::REASON_ACTIVATION_CLOSED ||
                reason == v1::REASON_ACTIVATION_CODE_UNKNOWN)
        << outcomes[i].error_message();
  }
  EXPECT_EQ(won, 1);
}

// Who issues codes, for what: admins and issuers, for an open MEMBER account, for 60 s to 30 days;
// a retry of an issued request answers the same device without showing a code again.
TEST_F(ServiceTest, ActivationCodesAreForMembersFromAdminsAndIssuers) {
  grpc::Status status;
  for (const std::string role : {"member", "terminal", "auditor", "approver"}) {
    SCOPED_TRACE(role);
    IssueCode(role, "m1", 0, &status);
    EXPECT_STATUS(status, StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  }
  IssueCode("issuer", "m9", 0, &status);
  EXPECT_STATUS(status, StatusCode::NOT_FOUND, Reason::kAccountUnknown);
  IssueCode("issuer", "store:main", 0, &status);
  EXPECT_STATUS(status, StatusCode::FAILED_PRECONDITION, Reason::kAccountKindMismatch);
  IssueCode("issuer", "m1", 59, &status);
  EXPECT_STATUS(status, StatusCode::INVALID_ARGUMENT, Reason::kPrincipalInvalid);
  IssueCode("issuer", "m1", 30 * 24 * 3600 + 1, &status);
  EXPECT_STATUS(status, StatusCode::INVALID_ARGUMENT, Reason::kPrincipalInvalid);

  v1::IssueActivationCodeRequest request;
  request.set_request_id("code-retried");
  request.set_member("m1");
  v1::IssueActivationCodeResponse first, retry;
  ASSERT_TRUE(
      client_->admin->IssueActivationCode(Ctx(tokens_["issuer"]).get(), request, &first).ok());
  ASSERT_TRUE(
      client_->admin->IssueActivationCode(Ctx(tokens_["issuer"]).get(), request, &retry).ok());
  EXPECT_FALSE(first.code().empty());
  EXPECT_TRUE(retry.code().empty());
  EXPECT_TRUE(retry.receipt().replayed());
  EXPECT_EQ(retry.principal(), first.principal());
  EXPECT_EQ(retry.receipt().seq(), first.receipt().seq());
  request.set_member("m2");
  EXPECT_STATUS(client_->admin->IssueActivationCode(Ctx(tokens_["issuer"]).get(), request, &retry),
                StatusCode::ALREADY_EXISTS, Reason::kRequestIdReused);
}

// The payment code (付款码, issue #24 item 3): with the programme's setting on, a till checks out
// a member only with a code from the member's activated phone; each code pays once, expires, and
// is the member's own; the entry records the consent and the audit re-checks it.
TEST_F(ServiceTest, APaymentCodeFromTheMembersPhoneIsItsConsentAtTheTill) {
  SetUpShop();
  auto phone_of = [&](const std::string& member) {
    const auto issued = IssueCode("issuer", member);
    v1::ActivateResponse activated;
    EXPECT_TRUE(Activate(issued.code(), &activated).ok());
    EXPECT_EQ(activated.payment_secret().size(), 64u);
    return activated;
  };
  const v1::ActivateResponse phone = phone_of("m1");
  const v1::ActivateResponse other = phone_of("m2");
  auto unhex = [](const std::string& hex) {
    std::string bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return bytes;
  };
  const std::string secret = unhex(phone.payment_secret());
  v1::Receipt earned;
  ASSERT_TRUE(Earn("pc-earn", "m1", "500", "POINTS", &earned).ok());
  ASSERT_TRUE(Earn("pc-earn-2", "m2", "500", "POINTS").ok());
  auto code = [&](const std::string& key, std::uint64_t number, int index, std::int64_t at) {
    return service::MakePaymentCode(key, number, at, index);
  };
  const std::int64_t now = earned.time_unix_us();  // the server's clock, as its receipt shows

  v1::SetSettingRequest require;
  require.set_request_id("require-codes");
  require.mutable_value()->set_payment_code_required(true);
  v1::Receipt receipt;
  ASSERT_TRUE(client_->programme->SetSetting(Ctx(tokens_["admin"]).get(), require, &receipt).ok());

  auto checkout = [&](const std::string& id, const std::string& member, const std::string& pay,
                      v1::Receipt* out) {
    return Checkout(id, member, 1, "POINTS", out, "terminal", pay);
  };
  EXPECT_STATUS(checkout("pc-none", "m1", "", &receipt), StatusCode::FAILED_PRECONDITION,
                Reason::kPaymentCodeRequired);
  const std::string first = code(secret, phone.device_number(), 0, now);
  v1::Receipt sold;
  const grpc::Status paid = checkout("pc-1", "m1", first, &sold);
  ASSERT_TRUE(paid.ok()) << paid.error_message();
  EXPECT_EQ(Balance("m1"), "470.00");
  // The entry records whose consent it was.
  v1::GetEntryRequest get;
  get.set_seq(sold.seq());
  v1::GetEntryResponse entry;
  ASSERT_TRUE(client_->ledger->GetEntry(Ctx(tokens_["auditor"]).get(), get, &entry).ok());
  EXPECT_EQ(entry.entry().command().checkout().consent().device(), phone.principal());
  // Replayed at another till, or again: refused, nothing sold.
  EXPECT_STATUS(checkout("pc-replay", "m1", first, &receipt), StatusCode::FAILED_PRECONDITION,
                Reason::kPaymentCodeInvalid);
  // The retry of the sale itself (same request id, same code) is its receipt, charged once.
  ASSERT_TRUE(checkout("pc-1", "m1", first, &receipt).ok());
  EXPECT_TRUE(receipt.replayed());
  // The phone's next code in the same window pays again.
  ASSERT_TRUE(checkout("pc-2", "m1", code(secret, phone.device_number(), 1, now), &receipt).ok());
  EXPECT_EQ(Balance("m1"), "440.00");
  // Another member's code, a mistyped one, one made for five minutes ago: refused.
  const std::string others = code(unhex(other.payment_secret()), other.device_number(), 0, now);
  std::string mistyped = code(secret, phone.device_number(), 2, now);
  mistyped.back() = mistyped.back() == '0' ? '1' : '0';
  int tries = 0;
  for (const std::string& bad :
       {others, mistyped, code(secret, phone.device_number(), 3, now - 300'000'000),
        std::string("12345"), std::string("韦蕊")}) {
    SCOPED_TRACE(bad);
    EXPECT_STATUS(checkout(Cat("pc-bad-", ++tries), "m1", bad, &receipt),
                  StatusCode::FAILED_PRECONDITION, Reason::kPaymentCodeInvalid);
  }
  EXPECT_EQ(Balance("m1"), "440.00");
  // Redeem and AuthorizeHold take the code too.
  v1::RedeemRequest redeem;
  redeem.set_request_id("pc-redeem");
  redeem.set_member("m1");
  redeem.set_store("store:main");
  redeem.set_asset("POINTS");
  redeem.set_amount("40");
  EXPECT_STATUS(client_->ledger->Redeem(Ctx(tokens_["terminal"]).get(), redeem, &receipt),
                StatusCode::FAILED_PRECONDITION, Reason::kPaymentCodeRequired);
  redeem.set_payment_code(code(secret, phone.device_number(), 4, now));
  const grpc::Status redeemed =
      client_->ledger->Redeem(Ctx(tokens_["terminal"]).get(), redeem, &receipt);
  ASSERT_TRUE(redeemed.ok()) << redeemed.error_message();
  EXPECT_EQ(Balance("m1"), "400.00");
  v1::AuthorizeHoldRequest hold;
  hold.set_request_id("pc-hold");
  hold.set_member("m1");
  hold.set_store("store:main");
  auto* line = hold.add_lines();
  line->set_sku("RICE_5KG");
  line->set_quantity(1);
  hold.set_payment_code(code(secret, phone.device_number(), 5, now));
  ASSERT_TRUE(
      client_->supermarket->AuthorizeHold(Ctx(tokens_["terminal"]).get(), hold, &receipt).ok());
  // A revoked phone's codes are refused.
  v1::RevokePrincipalRequest revoke;
  revoke.set_request_id("pc-revoke");
  revoke.set_principal(phone.principal());
  ASSERT_TRUE(client_->admin->RevokePrincipal(Ctx(tokens_["admin"]).get(), revoke, &receipt).ok());
  EXPECT_STATUS(checkout("pc-revoked", "m1", code(secret, phone.device_number(), 6, now), &receipt),
                StatusCode::FAILED_PRECONDITION, Reason::kPaymentCodeInvalid);
  // All of it audits clean: each consent re-checked from the journal alone.
  ExpectAuditClean();
}

// The payment code's edges: a till's late retry of a committed sale (its code long expired) is
// the sale's own receipt, never a refusal that would make the cashier sell again; a batch's
// Redeem takes a code like a unary one; and a lost payment.key is restored, never replaced,
// once phones hold secrets made from it.
TEST_F(ServiceTest, APaymentCodeSurvivesALateRetryABatchAndARestartButNotALostKey) {
  SetUpShop();
  const auto issued = IssueCode("issuer", "m1");
  v1::ActivateResponse phone;
  ASSERT_TRUE(Activate(issued.code(), &phone).ok());
  std::string secret;
  for (std::size_t i = 0; i + 1 < phone.payment_secret().size(); i += 2) {
    secret += static_cast<char>(std::stoi(phone.payment_secret().substr(i, 2), nullptr, 16));
  }
  v1::Receipt earned;
  ASSERT_TRUE(Earn("late-earn", "m1", "500", "POINTS", &earned).ok());
  const std::int64_t now = earned.time_unix_us();
  auto code = [&](int index, std::int64_t at) {
    return service::MakePaymentCode(secret, phone.device_number(), at, index);
  };
  v1::Receipt sold;
  ASSERT_TRUE(Checkout("late-1", "m1", 1, "POINTS", &sold, "terminal", code(0, now)).ok());
  EXPECT_EQ(Balance("m1"), "470.00");

  // Five minutes on, the till retries the sale it never heard back from: the first receipt.
  clock_skew_us_->store(300'000'000);
  const std::int64_t later = now + 300'000'000;
  v1::Receipt retried;
  const grpc::Status retry =
      Checkout("late-1", "m1", 1, "POINTS", &retried, "terminal", code(0, now));
  ASSERT_TRUE(retry.ok()) << retry.error_message();
  EXPECT_TRUE(retried.replayed());
  EXPECT_EQ(retried.seq(), sold.seq());
  EXPECT_EQ(Balance("m1"), "470.00");
  // So is a retry that carries no code at all (a till that lost it).
  ASSERT_TRUE(Checkout("late-1", "m1", 1, "POINTS", &retried, "terminal", "").ok());
  EXPECT_EQ(retried.seq(), sold.seq());
  EXPECT_TRUE(retried.replayed());
  // The same expired code on a new request pays nothing.
  v1::Receipt receipt;
  EXPECT_STATUS(Checkout("late-2", "m1", 1, "POINTS", &receipt, "terminal", code(0, now)),
                StatusCode::FAILED_PRECONDITION, Reason::kPaymentCodeInvalid);
  // A retried request id with another command is still REQUEST_ID_REUSED, not the receipt.
  EXPECT_STATUS(Checkout("late-1", "m1", 2, "POINTS", &receipt, "terminal", code(0, now)),
                StatusCode::ALREADY_EXISTS, Reason::kRequestIdReused);

  // A batch: each Redeem's code is verified and journaled as its consent; a bad one is refused
  // alone (the batch is not all-or-nothing).
  v1::SubmitBatchRequest batch;
  for (const auto& [id, pay] : {std::pair{std::string("late-b1"), code(0, later)},
                                std::pair{std::string("late-b2"), code(0, now)},
                                std::pair{std::string("late-b3"), std::string()}}) {
    v1::RedeemRequest* redeem = batch.add_commands()->mutable_redeem();
    redeem->set_request_id(id);
    redeem->set_member("m1");
    redeem->set_store("store:main");
    redeem->set_asset("POINTS");
    redeem->set_amount("10");
    redeem->set_payment_code(pay);
  }
  v1::SubmitBatchResponse batched;
  ASSERT_TRUE(client_->ledger->SubmitBatch(Ctx(tokens_["terminal"]).get(), batch, &batched).ok());
  ASSERT_EQ(batched.results_size(), 3);
  EXPECT_EQ(batched.results(0).reason(), v1::REASON_OK) << batched.results(0).message();
  EXPECT_EQ(batched.results(1).reason(), v1::REASON_PAYMENT_CODE_INVALID);
  EXPECT_EQ(batched.results(2).reason(), v1::REASON_OK);  // the programme requires no code
  EXPECT_EQ(Balance("m1"), "450.00");
  v1::GetEntryRequest get;
  get.set_seq(batched.results(0).receipt().seq());
  v1::GetEntryResponse entry;
  ASSERT_TRUE(client_->ledger->GetEntry(Ctx(tokens_["auditor"]).get(), get, &entry).ok());
  EXPECT_EQ(entry.entry().command().redeem().consent().device(), phone.principal());
  EXPECT_EQ(entry.entry().command().redeem().consent().counter(),
            static_cast<std::uint64_t>(later / 1'000'000 / 30) * 10);
  ExpectAuditClean();

  // A restart keeps the key: the phone's next code pays.
  StopServer();
  StartServer();
  ASSERT_TRUE(Checkout("late-3", "m1", 1, "POINTS", &receipt, "terminal", code(1, later)).ok());
  // Without payment.key lovebankd refuses to start (a new key would void every phone), and
  // starts again once the key is back.
  StopServer();
  const std::string key = dir_.Sub("data") + "/payment.key";
  std::filesystem::rename(key, key + ".saved");
  auto refused = service::Server::Start(Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_NE(refused.status().message().find("payment.key"), std::string::npos) << refused.status();
  EXPECT_FALSE(std::filesystem::exists(key));  // nothing made in its place
  std::filesystem::rename(key + ".saved", key);
  StartServer();
  ASSERT_TRUE(Checkout("late-4", "m1", 1, "POINTS", &receipt, "terminal", code(2, later)).ok());
  EXPECT_EQ(Balance("m1"), "390.00");
}

// A device's PIN (issue #24 item 2's last clause): the phone sends the PIN's code key, never the
// PIN, and its codes are made from that key from then on — a stolen phone's bare secret pays
// nothing; the old PIN proves a change; a social worker clears a forgotten PIN but never sets
// one; five wrong codes in a row lock the phone's codes for a quarter hour; the PIN survives a
// restart, and the journal holds it wrapped, never in the clear.
TEST_F(ServiceTest, ADevicePinGuardsItsPaymentCodesAndFiveWrongOnesLockThePhone) {
  SetUpShop();
  v1::ActivateResponse phone;
  ASSERT_TRUE(Activate(IssueCode("issuer", "m1").code(), &phone).ok());
  v1::ActivateResponse other;
  ASSERT_TRUE(Activate(IssueCode("issuer", "m2").code(), &other).ok());
  const std::string secret = *FromHex(phone.payment_secret());
  v1::Receipt earned;
  ASSERT_TRUE(Earn("pin-earn", "m1", "500", "POINTS", &earned).ok());
  ASSERT_TRUE(Earn("pin-earn-2", "m2", "500", "POINTS").ok());
  const std::int64_t now = earned.time_unix_us();
  const std::string pin_key = service::MakePinCodeKey(secret, "246810");
  auto code = [&](const std::string& key, int index, std::int64_t at = 0) {
    return service::MakePaymentCode(key, phone.device_number(), at == 0 ? now : at, index);
  };
  auto set_pin = [&](const std::string& token, const std::string& id, const std::string& key,
                     const std::string& pay, v1::Receipt* out, const std::string& principal = "") {
    v1::SetDevicePinRequest request;
    request.set_request_id(id);
    request.set_principal(principal);
    request.set_pin_code_key(key.empty() ? "" : ToHex(key));
    request.set_payment_code(pay);
    return client_->admin->SetDevicePin(Ctx(token).get(), request, out);
  };
  v1::Receipt receipt;
  auto sell = [&](const std::string& id, const std::string& pay) {
    return Checkout(id, "m1", 1, "POINTS", &receipt, "terminal", pay);
  };

  // The phone sets its PIN (no PIN yet: no code needed); a retry is the same entry.
  v1::Receipt set;
  ASSERT_TRUE(set_pin(phone.token(), "pin-1", pin_key, "", &set).ok());
  v1::Receipt again;
  ASSERT_TRUE(set_pin(phone.token(), "pin-1", pin_key, "", &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.seq(), set.seq());
  // A stolen phone's bare secret makes codes that pay nothing; the PIN's key pays.
  EXPECT_STATUS(sell("pin-sale-bare", code(secret, 0)), StatusCode::FAILED_PRECONDITION,
                Reason::kPaymentCodeInvalid);
  const grpc::Status paid = sell("pin-sale-1", code(pin_key, 1));
  ASSERT_TRUE(paid.ok()) << paid.error_message();
  EXPECT_EQ(Balance("m1"), "470.00");

  // A change needs a code made with the current PIN: none, or one of a guessed PIN, is refused.
  const std::string new_key = service::MakePinCodeKey(secret, "135790");
  EXPECT_STATUS(set_pin(phone.token(), "pin-2", new_key, "", &receipt),
                StatusCode::FAILED_PRECONDITION, Reason::kPaymentCodeRequired);
  EXPECT_STATUS(set_pin(phone.token(), "pin-3", new_key,
                        code(service::MakePinCodeKey(secret, "000000"), 2), &receipt),
                StatusCode::FAILED_PRECONDITION, Reason::kPaymentCodeInvalid);
  ASSERT_TRUE(set_pin(phone.token(), "pin-4", new_key, code(pin_key, 3), &receipt).ok());
  EXPECT_STATUS(sell("pin-sale-old", code(pin_key, 4)), StatusCode::FAILED_PRECONDITION,
                Reason::kPaymentCodeInvalid);
  ASSERT_TRUE(sell("pin-sale-2", code(new_key, 5)).ok());
  // Not 64 hex digits: refused before anything.
  v1::SetDevicePinRequest bad;
  bad.set_request_id("pin-bad");
  bad.set_pin_code_key("12ab");
  EXPECT_STATUS(client_->admin->SetDevicePin(Ctx(phone.token()).get(), bad, &receipt),
                StatusCode::INVALID_ARGUMENT, Reason::kDevicePinInvalid);
  // Another member's phone, a till and a social worker may not set m1's phone's PIN.
  for (const std::string& token : {other.token(), tokens_["terminal"], tokens_["issuer"]}) {
    EXPECT_STATUS(set_pin(token, Cat("pin-other-", token.substr(3, 6)), pin_key, "", &receipt,
                          phone.principal()),
                  StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  }

  // A transfer from the phone with a PIN needs a code made with it (a stolen phone gives
  // nothing away); the code of the bare secret is refused.
  auto transfer = [&](const std::string& id, const std::string& pay) {
    v1::TransferRequest request;
    request.set_request_id(id);
    request.set_from("m1");
    request.set_to("m2");
    request.set_asset("POINTS");
    request.set_amount("1");
    request.set_payment_code(pay);
    return client_->ledger->Transfer(Ctx(phone.token()).get(), request, &receipt);
  };
  EXPECT_STATUS(transfer("pin-give-none", ""), StatusCode::FAILED_PRECONDITION,
                Reason::kPaymentCodeRequired);
  EXPECT_STATUS(transfer("pin-give-bare", code(secret, 6)), StatusCode::FAILED_PRECONDITION,
                Reason::kPaymentCodeInvalid);
  const grpc::Status given = transfer("pin-give", code(new_key, 7));
  ASSERT_TRUE(given.ok()) << given.error_message();
  EXPECT_EQ(Balance("m1"), "439.00");
  // Nobody locks a stranger's phone: codes with m1's device number that name another member
  // (a till's sale for m2) or another device (m2's phone's own PIN) count nothing against it.
  for (int i = 0; i < 2 * service::kPaymentCodeFailuresMax; ++i) {
    EXPECT_STATUS(
        Checkout(Cat("pin-grief-", i), "m2", 1, "POINTS", &receipt, "terminal", code(new_key, 8)),
        StatusCode::FAILED_PRECONDITION, Reason::kPaymentCodeInvalid);
    EXPECT_STATUS(set_pin(other.token(), Cat("pin-grief-set-", i), "", code(new_key, 8), &receipt),
                  StatusCode::FAILED_PRECONDITION, Reason::kPaymentCodeInvalid);
  }
  ASSERT_TRUE(sell("pin-not-locked", code(new_key, 8)).ok());

  // Five wrong codes in a row lock the phone's codes — even a right one — for 15 minutes.
  const std::string guessed = service::MakePinCodeKey(secret, "111111");
  for (int i = 0; i < service::kPaymentCodeFailuresMax; ++i) {
    EXPECT_STATUS(sell(Cat("pin-guess-", i), code(guessed, 9)), StatusCode::FAILED_PRECONDITION,
                  Reason::kPaymentCodeInvalid);
  }
  EXPECT_STATUS(sell("pin-locked", code(new_key, 9)), StatusCode::RESOURCE_EXHAUSTED,
                Reason::kPaymentCodeLocked);
  EXPECT_EQ(Balance("m1"), "409.00");
  // Another phone is not locked with it.
  ASSERT_TRUE(Checkout("pin-m2", "m2", 1, "POINTS", &receipt, "terminal",
                       service::MakePaymentCode(*FromHex(other.payment_secret()),
                                                other.device_number(), now, 0))
                  .ok());
  const std::int64_t later = now + service::kPaymentCodeLockSeconds * 1'000'000;
  clock_skew_us_->store(service::kPaymentCodeLockSeconds * 1'000'000);
  ASSERT_TRUE(sell("pin-after-lock", code(new_key, 0, later)).ok());

  // The member forgot the PIN: the social worker clears it (setting one is the member's alone),
  // and the bare secret pays again.
  EXPECT_STATUS(
      set_pin(tokens_["issuer"], "pin-worker-set", new_key, "", &receipt, phone.principal()),
      StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  ASSERT_TRUE(set_pin(tokens_["issuer"], "pin-clear", "", "", &receipt, phone.principal()).ok());
  ASSERT_TRUE(sell("pin-sale-cleared", code(secret, 1, later)).ok());

  // The PIN is journaled wrapped (never the key itself) and survives a restart.
  ASSERT_TRUE(set_pin(phone.token(), "pin-5", pin_key, "", &set).ok());
  v1::GetEntryRequest get;
  get.set_seq(set.seq());
  v1::GetEntryResponse entry;
  ASSERT_TRUE(client_->ledger->GetEntry(Ctx(tokens_["auditor"]).get(), get, &entry).ok());
  const v1::SetDevicePin& journaled = entry.entry().command().set_device_pin();
  EXPECT_EQ(journaled.pin_key_wrapped().size(), 32u);
  EXPECT_NE(journaled.pin_key_wrapped(), pin_key);
  EXPECT_EQ(journaled.wrap_nonce().size(), 16u);
  StopServer();
  StartServer();
  EXPECT_STATUS(sell("pin-restart-bare", code(secret, 2, later)), StatusCode::FAILED_PRECONDITION,
                Reason::kPaymentCodeInvalid);
  ASSERT_TRUE(sell("pin-restart", code(pin_key, 3, later)).ok());
  ExpectAuditClean();
}

// The monthly notice (公示, issue #25 item 4) is lovebankd's own audit of its journal: hours in
// the month the activity was served, points and the store's sales in the month posted, what the
// programme owes its members, the digest anyone can check, the names the profile gives. It is
// kept while the head stands still and for 10 s after it ran; a month that is not YYYY-MM is
// refused and nothing is computed for it. It is public: no token is needed (nor looked at).
TEST_F(ServiceTest, TheMonthlyNoticeIsTheServersOwnAuditOfTheJournal) {
  SetUpShop();
  ASSERT_TRUE(Earn("n-hours", "m1", "8", "HOURS").ok());  // served 2026-10-29, posted in November
  ASSERT_TRUE(Earn("n-points", "m1", "500").ok());
  ASSERT_TRUE(Earn("n-points-2", "m2", "40").ok());
  v1::Receipt receipt;
  ASSERT_TRUE(Checkout("n-sale", "m1", 2, "POINTS", &receipt).ok());  // 2 bags of rice, 60
  v1::SetSettingRequest profile;
  profile.set_request_id("n-profile");
  auto* named = profile.mutable_value()->mutable_programme_profile();
  named->set_name("南溪镇爱心银行");
  named->set_town("南溪镇");
  auto* store_name = named->add_display_names();
  store_name->set_id("store:main");
  store_name->set_name("南溪爱心超市");
  ASSERT_TRUE(client_->programme->SetSetting(Ctx(tokens_["admin"]).get(), profile, &receipt).ok());

  auto notice = [&](const std::string& month, v1::Notice* out) {
    v1::GetNoticeRequest request;
    request.set_month(month);
    return client_->audit->GetNotice(Ctx("").get(), request, out);
  };
  v1::Notice november;
  const grpc::Status got = notice("2026-11", &november);
  ASSERT_TRUE(got.ok()) << got.error_message();
  EXPECT_EQ(november.month(), "2026-11");
  EXPECT_EQ(november.profile().name(), "南溪镇爱心银行");
  v1::GetDigestResponse digest;
  ASSERT_TRUE(client_->audit->GetDigest(Ctx(tokens_["auditor"]).get(), {}, &digest).ok());
  EXPECT_EQ(november.head_seq(), digest.seq());
  EXPECT_EQ(november.head_hash(), digest.hash());
  EXPECT_TRUE(november.teams().empty()) << "the hours were served in October";
  ASSERT_EQ(november.rules_size(), 1);  // points by hand: no rule
  EXPECT_EQ(november.rules(0).rule(), "");
  EXPECT_EQ(november.rules(0).awards(), 2u);
  EXPECT_EQ(november.rules(0).awarded(), "540.00");
  EXPECT_EQ(november.rules(0).deducted(), "");
  ASSERT_EQ(november.stores_size(), 1);
  EXPECT_EQ(november.stores(0).store(), "store:main");
  EXPECT_EQ(november.stores(0).name(), "南溪爱心超市");
  EXPECT_EQ(november.stores(0).baskets(), 1u);
  EXPECT_EQ(november.stores(0).points(), "60.00");
  EXPECT_EQ(november.outstanding_points(), "480.00");  // 440 + 40
  EXPECT_EQ(november.outstanding_hours(), "8.00");
  v1::Notice october;
  ASSERT_TRUE(notice("2026-10", &october).ok());
  ASSERT_EQ(october.teams_size(), 1);
  EXPECT_EQ(october.teams(0).team(), "");
  EXPECT_EQ(october.teams(0).earnings(), 1u);
  EXPECT_EQ(october.teams(0).hours(), "8.00");
  EXPECT_EQ(october.hours_total(), "8.00");
  EXPECT_TRUE(october.stores().empty());
  EXPECT_EQ(october.outstanding_points(), "0.00");  // nothing was posted before November

  // A new entry: the kept audit answers for 10 s, then a new one counts it.
  ASSERT_TRUE(Earn("n-points-3", "m2", "100").ok());
  v1::Notice kept;
  ASSERT_TRUE(notice("2026-11", &kept).ok());
  EXPECT_EQ(kept.head_seq(), november.head_seq());
  EXPECT_EQ(kept.computed_at_unix_us(), november.computed_at_unix_us());
  clock_skew_us_->store((service::kNoticeRefreshSeconds + 1) * 1'000'000);
  v1::Notice fresh;
  ASSERT_TRUE(notice("2026-11", &fresh).ok());
  EXPECT_EQ(fresh.head_seq(), november.head_seq() + 1);
  EXPECT_EQ(fresh.rules(0).awarded(), "640.00");
  EXPECT_EQ(fresh.outstanding_points(), "580.00");
  // The head has not moved since: the same audit, however late.
  clock_skew_us_->store(3600LL * 1'000'000);
  v1::Notice same;
  ASSERT_TRUE(notice("2026-11", &same).ok());
  EXPECT_EQ(same.computed_at_unix_us(), fresh.computed_at_unix_us());

  for (const std::string& bad :
       std::vector<std::string>{"", "2026-13", "2026-00", "2026-1", "2026-11-01", "２０２６-11",
                                "1899-12", std::string(100, '9')}) {
    SCOPED_TRACE(bad);
    v1::Notice none;
    EXPECT_STATUS(notice(bad, &none), StatusCode::INVALID_ARGUMENT, Reason::kMonthInvalid);
  }
  ExpectAuditClean();
}

// The volunteer certificate from lovebankd (Programme.GetCertificate, the phone page's download):
// the member reads its own, with the newest listed entry as its digest (a member cannot read the
// head); an auditor's carries the head. Days that are not days, a period backwards and a period
// of more than 5,000 activities are refused with their reasons, and a narrower period is served.
TEST_F(ServiceTest, AMemberDownloadsItsOwnCertificateAndTheLimitsAreNamed) {
  v1::Receipt first, second;
  ASSERT_TRUE(Earn("c-hours-1", "m1", "2.5", "HOURS", &first).ok());
  ASSERT_TRUE(Earn("c-hours-2", "m1", "3", "HOURS", &second).ok());
  ASSERT_TRUE(Earn("c-hours-m2", "m2", "4", "HOURS").ok());
  auto get = [&](const std::string& as, const std::string& from, const std::string& to,
                 v1::Certificate* out) {
    v1::GetCertificateRequest request;
    request.set_account("m1");
    request.set_from(from);
    request.set_to(to);
    return client_->programme->GetCertificate(Ctx(tokens_[as]).get(), request, out);
  };
  v1::Certificate own;
  const grpc::Status got = get("member", "", "", &own);
  ASSERT_TRUE(got.ok()) << got.error_message();
  EXPECT_EQ(own.file_name(), "certificate-m1.html");
  EXPECT_EQ(own.activities(), 2u);
  EXPECT_EQ(own.total_hours(), "5.50");
  const nlohmann::json data = certificate::DataOf(own.html());
  ASSERT_FALSE(data.is_discarded());
  EXPECT_EQ(certificate::ShapeProblem(data), std::nullopt);
  EXPECT_EQ(certificate::Html(data), own.html());  // the page is its data's, nothing else
  EXPECT_EQ(data["name"], "韦蕊");
  EXPECT_EQ(data["programme"], "爱心银行");
  EXPECT_EQ(data["digest"]["seq"], second.seq());  // the newest activity: m2's is not m1's
  v1::GetEntryRequest entry_request;
  entry_request.set_seq(second.seq());
  v1::GetEntryResponse entry;
  ASSERT_TRUE(client_->ledger->GetEntry(Ctx(tokens_["auditor"]).get(), entry_request, &entry).ok());
  EXPECT_EQ(data["digest"]["hash"], entry.hash());
  EXPECT_NE(own.html().find("重阳节敬老活动"), std::string::npos);
  v1::Certificate audited;
  ASSERT_TRUE(get("auditor", "", "", &audited).ok());
  EXPECT_EQ(certificate::DataOf(audited.html())["digest"]["seq"], HeadSeq());

  for (const auto& [from, to] : {std::pair{"2026-13-01", ""}, std::pair{"", "2026-02-30"},
                                 std::pair{"2026-11-02", "2026-11-01"}, std::pair{"十一月", ""}}) {
    SCOPED_TRACE(Cat(from, "..", to));
    v1::Certificate none;
    EXPECT_STATUS(get("member", from, to, &none), StatusCode::INVALID_ARGUMENT,
                  Reason::kDateRangeInvalid);
  }
  // 5,001 activities (one a day in 2020-2033, 0.01 h each) are more than a certificate lists.
  v1::SubmitBatchRequest batch;
  std::chrono::sys_days day = std::chrono::year{2020} / 1 / 1;
  for (std::size_t i = 0; i < certificate::kActivitiesMax + 1; ++i, day += std::chrono::days{1}) {
    v1::EarnRequest* earn = batch.add_commands()->mutable_earn();
    earn->set_request_id(Cat("c-many-", i));
    earn->set_issuer("issuer:town");
    earn->set_member("m1");
    earn->set_asset("HOURS");
    earn->set_amount("0.01");
    earn->mutable_activity()->set_name("社区服务");
    const std::chrono::year_month_day date{day};
    earn->mutable_activity()->set_date(
        Cat(static_cast<int>(date.year()), "-", static_cast<unsigned>(date.month()) < 10 ? "0" : "",
            static_cast<unsigned>(date.month()), "-",
            static_cast<unsigned>(date.day()) < 10 ? "0" : "", static_cast<unsigned>(date.day())));
  }
  v1::SubmitBatchResponse submitted;
  ASSERT_TRUE(client_->ledger->SubmitBatch(Ctx(tokens_["issuer"]).get(), batch, &submitted).ok());
  for (const auto& result : submitted.results()) ASSERT_EQ(result.reason(), v1::REASON_OK);
  v1::Certificate too_large;
  EXPECT_STATUS(get("member", "", "", &too_large), StatusCode::FAILED_PRECONDITION,
                Reason::kCertificateTooLarge);
  v1::Certificate year;
  ASSERT_TRUE(get("member", "2020-01-01", "2020-12-31", &year).ok());
  EXPECT_EQ(year.activities(), 366u);  // 2020 was a leap year
  EXPECT_EQ(year.total_hours(), "3.66");
}

// A programme office's CSV file imported by lovebankd (Programme.Import, the desk's upload): each
// row once — a row the file repeats is not sent, a second import of the file (or of the same rows
// saved by Excel on Chinese Windows, in GBK) applies nothing — and a result per row with its line;
// a file that is none, too large, or holds a command the caller may not make changes nothing.
TEST_F(ServiceTest, AnImportedFileAppliesEachRowOnceAndAnswersEveryRow) {
  auto import = [&](const std::string& as, const std::string& bytes, v1::ImportResponse* out) {
    v1::ImportRequest request;
    request.set_file(bytes);
    out->Clear();
    return client_->programme->Import(Ctx(tokens_[as]).get(), request, out);
  };
  const std::string header = "activity_id,date,team_name,activity,member_id,member_name,hours\r\n";
  const std::string file = header +
                           "A1,2026-11-05,敬老志愿队,重阳节敬老活动,m1,韦蕊,2.5\r\n"
                           "A1,2026-11-05,敬老志愿队,重阳节敬老活动,m2,覃海,3\r\n"
                           "A1,2026-11-05,敬老志愿队,重阳节敬老活动,m1,韦蕊,2.5\r\n"
                           "A1,2026-11-05,敬老志愿队,重阳节敬老活动,nobody,无名,1\r\n"
                           "A1,2026-11-05,敬老志愿队,重阳节敬老活动,m3,黄敏,1e3\r\n";
  v1::ImportResponse first;
  const grpc::Status status = import("issuer", file, &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(first.kind(), "activities");
  EXPECT_EQ(first.encoding(), "UTF-8");
  ASSERT_EQ(first.rows_size(), 5);
  std::vector<std::string> outcomes;
  for (const auto& row : first.rows()) outcomes.push_back(row.outcome());
  EXPECT_EQ(outcomes, (std::vector<std::string>{"OK", "OK", "DUPLICATE_ROW", "ACCOUNT_UNKNOWN",
                                                "AMOUNT_EXPONENT"}));
  EXPECT_EQ(first.rows(0).line(), 2u);
  EXPECT_EQ(first.rows(2).line(), 4u);
  EXPECT_EQ(first.rows(2).same_as(), 2u);
  EXPECT_FALSE(first.rows(2).has_result());
  EXPECT_EQ(first.rows(2).request_id(), first.rows(0).request_id());
  EXPECT_EQ(first.rows(3).result().reason(), v1::REASON_ACCOUNT_UNKNOWN);
  EXPECT_NE(first.rows(3).result().message().find("nobody"), std::string::npos);
  EXPECT_GT(first.rows(1).result().receipt().seq(), first.rows(0).result().receipt().seq());
  EXPECT_EQ(first.applied(), 2u);
  EXPECT_EQ(first.refused(), 2u);
  EXPECT_EQ(first.duplicate_rows(), 1u);
  EXPECT_EQ(first.already_applied(), 0u);
  EXPECT_EQ(Balance("m1", "HOURS"), "2.50");
  EXPECT_EQ(Balance("m2", "HOURS"), "3.00");
  // The rejected sheet holds the unknown member (remembered) but not the syntax refusal.
  EXPECT_NE(first.rejected_rows().find("nobody"), std::string::npos) << first.rejected_rows();
  EXPECT_EQ(first.rejected_rows().find("1e3"), std::string::npos) << first.rejected_rows();

  // Again, and the first two rows saved in GBK: the same request ids, nothing applied twice.
  const std::uint64_t head = HeadSeq();
  v1::ImportResponse again;
  ASSERT_TRUE(import("issuer", file, &again).ok());
  EXPECT_EQ(again.rows(0).outcome(), "ALREADY_APPLIED");
  EXPECT_EQ(again.rows(1).outcome(), "ALREADY_APPLIED");
  EXPECT_EQ(again.already_applied(), 2u);
  EXPECT_EQ(again.applied(), 0u);
  const std::string gbk =
      "activity_id,date,team_name,activity,member_id,member_name,hours\r\n"
      "A1,2026-11-05,\xBE\xB4\xC0\xCF\xD6\xBE\xD4\xB8\xB6\xD3,"
      "\xD6\xD8\xD1\xF4\xBD\xDA\xBE\xB4\xC0\xCF\xBB\xEE\xB6\xAF,m1,\xCE\xA4\xC8\xEF,2.5\r\n";
  v1::ImportResponse excel;
  ASSERT_TRUE(import("issuer", gbk, &excel).ok());
  EXPECT_EQ(excel.encoding(), "GB18030");
  ASSERT_EQ(excel.rows_size(), 1);
  EXPECT_EQ(excel.rows(0).request_id(), first.rows(0).request_id());
  EXPECT_EQ(excel.rows(0).outcome(), "ALREADY_APPLIED");
  EXPECT_EQ(HeadSeq(), head);
  EXPECT_EQ(Balance("m1", "HOURS"), "2.50");

  // Refused whole, nothing changed: not a file we know, too large, a command not the caller's.
  for (const std::string& bad :
       {std::string("name,amount\r\n韦蕊,3\r\n"), std::string("member_id,date,activity,hours\r\n"),
        std::string("member_id,date,activity,hours\r\nm1,2026-11-05,\"助老,1\r\n"),
        std::string("member_id,date,activity,hours\r\nm1,\xFF\xFE\x00", 37), std::string()}) {
    SCOPED_TRACE(bad);
    v1::ImportResponse none;
    EXPECT_STATUS(import("issuer", bad, &none), StatusCode::INVALID_ARGUMENT,
                  Reason::kImportFileInvalid);
  }
  std::string huge = "member_id,date,activity,hours\n";
  while (huge.size() <= (2u << 20)) huge += "m1,2026-11-05,助老,1\n";
  v1::ImportResponse none;
  EXPECT_STATUS(import("issuer", huge, &none), StatusCode::INVALID_ARGUMENT,
                Reason::kImportTooLarge);
  std::string many = "member_id,date,activity,hours\n";
  for (int i = 0; i < 8193; ++i) many += Cat("m1,2026-11-05,助老", i, ",1\n");
  EXPECT_STATUS(import("issuer", many, &none), StatusCode::INVALID_ARGUMENT,
                Reason::kImportTooLarge);
  const std::string members = "member_id,name,village,tags\r\nV9001,甘秀英,南溪村,elder\r\n";
  EXPECT_STATUS(import("issuer", members, &none), StatusCode::PERMISSION_DENIED,
                Reason::kPermissionDenied);
  EXPECT_STATUS(import("admin", file, &none), StatusCode::INVALID_ARGUMENT,
                Reason::kAccountIdInvalid);  // an admin is no issuer and names none
  EXPECT_EQ(HeadSeq(), head);

  // The admin opens members from the members file, names and tags as written.
  v1::ImportResponse opened;
  ASSERT_TRUE(import("admin", members, &opened).ok());
  EXPECT_EQ(opened.kind(), "members");
  EXPECT_EQ(opened.applied(), 1u);
  v1::GetAccountRequest account_request;
  account_request.set_account("V9001");
  v1::AccountRecord account;
  ASSERT_TRUE(
      client_->ledger->GetAccount(Ctx(tokens_["admin"]).get(), account_request, &account).ok());
  EXPECT_EQ(account.display_name(), "甘秀英");
  EXPECT_EQ(std::vector<std::string>(account.tags().begin(), account.tags().end()),
            std::vector<std::string>{"elder"});
}

// The office's other sheets and its second try (#28): the supermarket's catalogue and a delivery
// of donated stock; a member_name that is not the account's holds its row (never sent); a row the
// ledger refused comes back in the rejected rows sheet, which — once the cause is fixed — applies
// it once, while the original sheet keeps its remembered refusal.
TEST_F(ServiceTest, AnImportsRefusedRowsComeBackAsASheetThatAppliesThemOnce) {
  SetUpShop();
  auto import = [&](const std::string& as, const std::string& bytes, v1::ImportResponse* out,
                    const std::string& store = "", const std::string& issuer = "") {
    v1::ImportRequest request;
    request.set_file(bytes);
    request.set_store(store);
    request.set_issuer(issuer);
    out->Clear();
    return client_->programme->Import(Ctx(tokens_[as]).get(), request, out);
  };
  v1::ImportResponse catalogue;
  ASSERT_TRUE(import("admin",
                     "sku,name,unit,price_points\r\nSKU001,大米 5kg,袋,30.00\r\n"
                     "SKU002,食用油 5L,桶,60.00\r\n",
                     &catalogue, "store:main")
                  .ok());
  EXPECT_EQ(catalogue.kind(), "catalogue");
  EXPECT_EQ(catalogue.applied(), 2u);
  v1::ImportResponse stock;
  ASSERT_TRUE(import("admin", "sku,quantity,reason\r\nSKU001,50,爱心企业 富民米业\r\n", &stock,
                     "store:main", "issuer:goods")
                  .ok());
  EXPECT_EQ(stock.kind(), "stock");
  EXPECT_EQ(stock.applied(), 1u) << stock.DebugString();
  v1::ListItemsRequest items_request;
  items_request.set_store("store:main");
  v1::ListItemsResponse items;
  ASSERT_TRUE(
      client_->supermarket->ListItems(Ctx(tokens_["terminal"]).get(), items_request, &items).ok());
  bool listed = false;
  for (const auto& item : items.items()) {
    if (item.sku() != "SKU001") continue;
    listed = true;
    EXPECT_EQ(item.name(), "大米 5kg");
    EXPECT_EQ(item.stock(), "50");
  }
  EXPECT_TRUE(listed) << items.DebugString();
  v1::ImportResponse storeless;
  EXPECT_STATUS(import("admin", "sku,quantity,reason\r\nSKU001,5,x\r\n", &storeless),
                StatusCode::INVALID_ARGUMENT, Reason::kAccountIdInvalid);

  const std::string sheet =
      "activity_id,date,activity,member_id,member_name,hours\r\n"
      "A9,2026-11-06,助老,m1,韦 蕊,1\r\n"       // 韦蕊, as typed with a space
      "A9,2026-11-06,助老,m2,赵真融,1\r\n"      // m2 is 覃海: held, never sent
      "A9,2026-11-06,助老,V7001,甘秀英,1\r\n";  // no such account yet: refused
  v1::ImportResponse first;
  ASSERT_TRUE(import("issuer", sheet, &first).ok());
  ASSERT_EQ(first.rows_size(), 3);
  EXPECT_EQ(first.rows(0).outcome(), "OK");
  EXPECT_EQ(first.rows(1).outcome(), "NAME_MISMATCH");
  EXPECT_NE(first.rows(1).message().find("覃海"), std::string::npos) << first.rows(1).message();
  EXPECT_FALSE(first.rows(1).has_result());
  EXPECT_EQ(first.rows(2).outcome(), "ACCOUNT_UNKNOWN");
  EXPECT_EQ(first.refused(), 2u);
  EXPECT_EQ(Balance("m2", "HOURS"), "none");  // nothing ever credited
  // Only the ledger's refusal is retried through the sheet: the held row's id is still free.
  const std::string& rejected = first.rejected_rows();
  EXPECT_EQ(rejected.substr(0, 3), "\xEF\xBB\xBF");
  EXPECT_NE(rejected.find("activity_id,date,activity,member_id,member_name,hours,retry,refusal\r\n"
                          "A9,2026-11-06,助老,V7001,甘秀英,1,1,ACCOUNT_UNKNOWN: "),
            std::string::npos)
      << rejected;
  EXPECT_EQ(rejected.find("m2"), std::string::npos) << rejected;

  // The admin opens the account. The original sheet keeps its refusal (remembered under the
  // row's request id); the rejected sheet applies the row, once.
  v1::OpenAccountRequest open;
  open.set_request_id("open-V7001");
  open.set_account("V7001");
  open.set_kind(v1::ACCOUNT_KIND_MEMBER);
  open.set_display_name("甘秀英");
  v1::Receipt opened;
  ASSERT_TRUE(client_->ledger->OpenAccount(Ctx(tokens_["admin"]).get(), open, &opened).ok());
  v1::ImportResponse again;
  ASSERT_TRUE(import("issuer", sheet, &again).ok());
  EXPECT_EQ(again.rows(2).outcome(), "ACCOUNT_UNKNOWN");
  EXPECT_EQ(again.rejected_rows(), rejected);  // the same sheet: the same (new) request ids
  EXPECT_EQ(Balance("V7001", "HOURS"), "none");
  v1::ImportResponse retried;
  ASSERT_TRUE(import("issuer", rejected, &retried).ok());
  ASSERT_EQ(retried.rows_size(), 1);
  EXPECT_EQ(retried.rows(0).outcome(), "OK");
  EXPECT_TRUE(retried.rejected_rows().empty());
  ASSERT_TRUE(import("issuer", rejected, &retried).ok());
  EXPECT_EQ(retried.rows(0).outcome(), "ALREADY_APPLIED");
  EXPECT_EQ(Balance("V7001", "HOURS"), "1.00");
  EXPECT_EQ(Balance("m1", "HOURS"), "1.00");
}

// A journal the audit finds wrong gives no notice (AUDIT_UNCLEAN), though the notice is served
// on a ledger that failed its start-up check (it reads the journal alone): the last entry is
// rewritten as made by a principal that holds no grant, its chain recomputed.
// Services through gRPC (issue #26): the hours a member served another count for its star and
// its certificate lists the service (what, where, when) beside its activities; the requester's
// hours coming back are not the requester's service.
TEST_F(ServiceTest, AServiceAMemberGaveCountsForItsStarAndShowsOnItsCertificate) {
  Grant("member2", v1::ROLE_MEMBER, {"m2"});
  ASSERT_TRUE(Earn("hours-m1", "m1", "10", "HOURS").ok());
  v1::Receipt receipt;
  v1::PostServiceRequest post;
  post.set_request_id("ask");
  v1::PostService& wanted = *post.mutable_service();
  wanted.set_category("陪护");
  wanted.set_description("陪同去镇卫生院复查");
  wanted.set_place("柳树村");
  wanted.set_day("2026-11-25");
  wanted.set_hours("2");
  ASSERT_TRUE(client_->exchange->PostRequest(Ctx(tokens_["member"]).get(), post, &receipt).ok());
  const std::uint64_t seq = receipt.seq();
  auto step = [&](const std::string& id, const std::string& as, const std::string& hours,
                  grpc::Status (v1::Exchange::Stub::*call)(
                      grpc::ClientContext*, const v1::ServiceStepRequest&, v1::Receipt*)) {
    v1::ServiceStepRequest r;
    r.set_request_id(id);
    r.set_service_seq(seq);
    r.set_hours(hours);
    return (client_->exchange.get()->*call)(Ctx(tokens_[as]).get(), r, &receipt);
  };
  ASSERT_TRUE(step("take", "member2", "", &v1::Exchange::Stub::Accept).ok());
  ASSERT_TRUE(step("done", "member2", "1.5", &v1::Exchange::Stub::Complete).ok());
  EXPECT_STATUS(step("self", "member2", "1.5", &v1::Exchange::Stub::Confirm),
                StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  EXPECT_STATUS(step("thanks:other", "member", "1", &v1::Exchange::Stub::Confirm),
                StatusCode::FAILED_PRECONDITION, Reason::kServiceClosed);  // 1.5 recorded
  ASSERT_TRUE(step("thanks", "member", "1.5", &v1::Exchange::Stub::Confirm).ok());

  v1::GetVolunteerProfileRequest who;
  who.set_account("m2");
  v1::VolunteerProfile profile;
  ASSERT_TRUE(
      client_->programme->GetVolunteerProfile(Ctx(tokens_["issuer"]).get(), who, &profile).ok());
  EXPECT_EQ(profile.cumulative_hours(), "1.50");
  v1::GetCertificateRequest certificate_request;
  certificate_request.set_account("m2");
  v1::Certificate certificate;
  ASSERT_TRUE(client_->programme
                  ->GetCertificate(Ctx(tokens_["issuer"]).get(), certificate_request, &certificate)
                  .ok());
  EXPECT_EQ(certificate.activities(), 1u);
  EXPECT_EQ(certificate.total_hours(), "1.50");
  EXPECT_NE(certificate.html().find("陪护（互助服务）"), std::string::npos);
  EXPECT_EQ(certificate.html().find("卫生院"), std::string::npos);  // the requester's own words
  EXPECT_NE(certificate.html().find("2026-11-25"), std::string::npos);
  // Offline (issue #27): the service's row is proven by its payment's hash, and no word of the
  // requester's travels with it.
  auto service_key = signature::SigningKey::Load(dir_.Sub("data/signing.key"));
  ASSERT_TRUE(service_key.ok());
  const nlohmann::json service_data = certificate::DataOf(certificate.html());
  EXPECT_EQ(certificate::VerifyOffline(
                service_data, signature::PublicKeyHex((*service_key)->public_key()), nullptr),
            std::vector<std::string>{});
  EXPECT_EQ(service_data["proof"].dump().find("record"), std::string::npos);
  nlohmann::json other_day = service_data;
  for (auto& activity : other_day["activities"]) {
    if (activity["date"] == "2026-11-25") activity["date"] = "2026-11-26";
  }
  EXPECT_NE(
      nlohmann::json(certificate::VerifyOffline(
                         other_day, signature::PublicKeyHex((*service_key)->public_key()), nullptr))
          .dump()
          .find("edited after it was issued"),
      std::string::npos);
  // The monthly notice counts it by the service's day, category and place.
  v1::GetNoticeRequest notice_request;
  notice_request.set_month("2026-11");
  v1::Notice notice;
  ASSERT_TRUE(client_->audit->GetNotice(Ctx("").get(), notice_request, &notice).ok());
  ASSERT_EQ(notice.services_size(), 1);
  EXPECT_EQ(notice.services(0).category(), "陪护");
  EXPECT_EQ(notice.services(0).place(), "柳树村");
  EXPECT_EQ(notice.services(0).services(), 1u);
  EXPECT_EQ(notice.services(0).hours(), "1.50");
  // The requester got 0.50 back from the same entry: that is no service of its own.
  certificate_request.set_account("m1");
  ASSERT_TRUE(client_->programme
                  ->GetCertificate(Ctx(tokens_["issuer"]).get(), certificate_request, &certificate)
                  .ok());
  EXPECT_EQ(certificate.total_hours(), "10.00");
}

TEST_F(ServiceTest, ANoticeIsRefusedWhenTheAuditOfTheJournalFindsAProblem) {
  ASSERT_TRUE(Earn("u-1", "m1", "30").ok());
  const std::uint64_t head = HeadSeq();
  StopServer();
  testing::RewriteHead(dir_.Sub("data/db"), head,
                       [](v1::Entry& entry) { entry.mutable_command()->set_actor("nobody"); });
  StartServer();
  v1::GetNoticeRequest request;
  request.set_month("2026-11");
  v1::Notice notice;
  EXPECT_STATUS(client_->audit->GetNotice(Ctx("").get(), request, &notice),
                StatusCode::FAILED_PRECONDITION, Reason::kAuditUnclean);
  // Put the entry back as it was made: the journal audits clean and the notice is served.
  StopServer();
  testing::RewriteHead(dir_.Sub("data/db"), head,
                       [](v1::Entry& entry) { entry.mutable_command()->set_actor("issuer"); });
  StartServer();
  const grpc::Status served = client_->audit->GetNotice(Ctx("").get(), request, &notice);
  ASSERT_TRUE(served.ok()) << served.error_message();
  EXPECT_EQ(notice.head_seq(), head);
}

// The notice's cache (service/notice.h): at most 4 calls in flight; an audit that cannot run is
// an error while nothing is kept, and is not run again by the next caller within the window; a
// kept audit answers while the head stands or it is fresh, is replaced once it is stale, and
// outlives a failed refresh (the caller gets the older one, never an error).
TEST(NoticeCache, KeepsItsAuditWhileFreshAndThroughAFailedRefreshAndCountsItsCalls) {
  testing::TempDir dir;
  service::NoticeCache nowhere(dir.Sub("none"));
  for (int i = 0; i < service::kNoticeCallsMax; ++i) EXPECT_TRUE(nowhere.Enter()) << i;
  EXPECT_FALSE(nowhere.Enter());
  nowhere.Leave();
  EXPECT_TRUE(nowhere.Enter());
  std::int64_t now = 1'000'000'000;
  const auto clock = [&now] { return now; };
  EXPECT_FALSE(nowhere.Get(1, clock).ok());
  // Within the window the failure answers without a run: a ledger that appears meanwhile is
  // not read until the window has passed.
  {
    auto ledger = testing::OpenLedger(dir.Sub("none"));
    testing::OpenProgramme(*ledger, 1);
  }
  EXPECT_FALSE(nowhere.Get(1, clock).ok());
  now += (service::kNoticeRefreshSeconds + 1) * 1'000'000;
  ASSERT_TRUE(nowhere.Get(1, clock).ok());

  const std::string path = dir.Sub("ledger");
  std::uint64_t head = 0;
  {
    auto ledger = testing::OpenLedger(path);
    testing::OpenProgramme(*ledger, 1);
    head = ledger->GetHead().seq;
  }
  service::NoticeCache cache(path);
  auto first = cache.Get(head, clock);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->report.head.seq, head);
  EXPECT_EQ((*first)->computed_at_unix_us, now);
  now += 5'000'000;  // the head moved, 5 s later: kept
  EXPECT_EQ(*cache.Get(head + 1, clock), *first);
  now += 3600LL * 1'000'000;  // an hour later, the head where it was: kept
  EXPECT_EQ(*cache.Get(head, clock), *first);
  {
    auto ledger = testing::OpenLedger(path);
    ASSERT_TRUE(ledger->Execute(testing::Earn("late", "issuer:town", "m1", "5")).ok());
  }
  auto second = cache.Get(head + 1, clock);  // the head moved, an hour on: a new audit
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*second, *first);
  EXPECT_EQ((*second)->report.head.seq, head + 1);
  // The ledger is gone: the refresh fails, the kept audit answers.
  std::filesystem::rename(path, dir.Sub("moved"));
  now += 3600LL * 1'000'000;
  auto third = cache.Get(head + 2, clock);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*third, *second);
}

// Proofs over gRPC (issue #27): heads for every principal, signed with the key in the data
// directory; inclusion proofs only for entries the caller may read (the same answer for one it
// may not read as for none); consistency proofs; sizes outside the ledger refused by reason.
TEST_F(ServiceTest, ProofsVerifyUnderTheLedgersKeyAndOnlyReadableEntriesAreProven) {
  v1::Receipt own, other;
  ASSERT_TRUE(Earn("p-m1", "m1", "3", "HOURS", &own).ok());
  ASSERT_TRUE(Earn("p-m2", "m2", "4", "HOURS", &other).ok());
  auto key = signature::SigningKey::Load(dir_.Sub("data/signing.key"));
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string key_hex = signature::PublicKeyHex((*key)->public_key());

  v1::SignedTreeHead head;
  ASSERT_TRUE(client_->audit->GetSignedHead(Ctx(tokens_["member"]).get(), {}, &head).ok());
  EXPECT_EQ(head.tree_size(), HeadSeq());
  EXPECT_EQ(head.public_key(), key_hex);
  EXPECT_EQ(proof::HeadProblem(head, key_hex), std::nullopt);
  v1::SignedTreeHead again;  // Ed25519 is deterministic: the same head, the same bytes
  ASSERT_TRUE(client_->audit->GetSignedHead(Ctx(tokens_["auditor"]).get(), {}, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), head.SerializeAsString());
  v1::SignedTreeHead none;
  EXPECT_STATUS(client_->audit->GetSignedHead(Ctx("").get(), {}, &none),
                StatusCode::UNAUTHENTICATED, Reason::kTokenMissing);

  auto prove = [&](const std::string& as, std::uint64_t seq, std::uint64_t size,
                   v1::InclusionProof* out) {
    v1::GetInclusionProofRequest request;
    request.set_seq(seq);
    request.set_tree_size(size);
    return client_->audit->GetInclusionProof(Ctx(tokens_[as]).get(), request, out);
  };
  v1::InclusionProof mine;
  ASSERT_TRUE(prove("member", own.seq(), 0, &mine).ok());
  const nlohmann::json bundle = proof::Bundle(
      mine.head(),
      nlohmann::json::array({proof::EntryJson(mine.seq(), mine.record(), mine.path())}));
  proof::Checked checked = proof::Verify(bundle, key_hex);
  EXPECT_TRUE(checked.problems.empty()) << nlohmann::json(checked.problems).dump();
  ASSERT_EQ(checked.proven.entries.size(), 1u);
  EXPECT_EQ(checked.proven.entries[0].second.command().earn().to(), "m1");
  // At an earlier tree size too (an auditor: a past head states when its last entry was made,
  // which is for those who read the whole journal), and refused past the head or before the
  // entry.
  v1::InclusionProof earlier;
  EXPECT_STATUS(prove("member", own.seq(), own.seq(), &earlier), StatusCode::PERMISSION_DENIED,
                Reason::kPermissionDenied);
  v1::GetSignedHeadRequest past;
  past.set_tree_size(1);
  EXPECT_STATUS(client_->audit->GetSignedHead(Ctx(tokens_["member"]).get(), past, &none),
                StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  ASSERT_TRUE(prove("auditor", own.seq(), own.seq(), &earlier).ok());
  EXPECT_EQ(earlier.head().tree_size(), own.seq());
  EXPECT_TRUE(proof::Verify(proof::Bundle(earlier.head(),
                                          nlohmann::json::array({proof::EntryJson(
                                              earlier.seq(), earlier.record(), earlier.path())})),
                            key_hex)
                  .problems.empty());
  v1::InclusionProof refused;
  EXPECT_STATUS(prove("auditor", own.seq(), HeadSeq() + 1, &refused), StatusCode::INVALID_ARGUMENT,
                Reason::kTreeSizeInvalid);
  EXPECT_STATUS(prove("auditor", own.seq(), own.seq() - 1, &refused), StatusCode::INVALID_ARGUMENT,
                Reason::kTreeSizeInvalid);
  // m2's entry is not the member's to read: the same answer as for an entry that does not exist.
  EXPECT_STATUS(prove("member", other.seq(), 0, &refused), StatusCode::PERMISSION_DENIED,
                Reason::kPermissionDenied);
  EXPECT_STATUS(prove("member", HeadSeq() + 5, 0, &refused), StatusCode::PERMISSION_DENIED,
                Reason::kPermissionDenied);
  ASSERT_TRUE(prove("auditor", other.seq(), 0, &refused).ok());

  v1::GetConsistencyProofRequest consistency_request;
  consistency_request.set_first_size(own.seq());
  v1::ConsistencyProof consistency;
  ASSERT_TRUE(
      client_->audit
          ->GetConsistencyProof(Ctx(tokens_["member"]).get(), consistency_request, &consistency)
          .ok());
  std::vector<merkle::Hash> path;
  for (const auto& hex : consistency.path()) path.push_back(*HashFromBytes(*FromHex(hex)));
  EXPECT_FALSE(consistency.has_first());  // a member holds its own first head (a certificate's)
  EXPECT_EQ(proof::HeadProblem(consistency.second(), key_hex), std::nullopt);
  v1::ConsistencyProof audited;
  ASSERT_TRUE(
      client_->audit
          ->GetConsistencyProof(Ctx(tokens_["auditor"]).get(), consistency_request, &audited)
          .ok());
  EXPECT_EQ(proof::HeadProblem(audited.first(), key_hex), std::nullopt);
  EXPECT_EQ(merkle::VerifyConsistency(own.seq(), HeadSeq(),
                                      *HashFromBytes(*FromHex(audited.first().root())),
                                      *HashFromBytes(*FromHex(consistency.second().root())), path),
            merkle::ProofProblem::kNone);
  consistency_request.set_first_size(0);
  EXPECT_STATUS(client_->audit->GetConsistencyProof(Ctx(tokens_["member"]).get(),
                                                    consistency_request, &consistency),
                StatusCode::INVALID_ARGUMENT, Reason::kTreeSizeInvalid);
  // The audit's own root of the journal is the signed one.
  auto source = client::GrpcJournalSource(client_->channel, tokens_["auditor"]);
  ASSERT_TRUE(source.ok());
  auto report = audit::Run(**source, nullptr, {});
  ASSERT_TRUE(report.ok());
  v1::SignedTreeHead at_audit;
  v1::GetSignedHeadRequest at;
  at.set_tree_size(report->tree_size);
  ASSERT_TRUE(client_->audit->GetSignedHead(Ctx(tokens_["auditor"]).get(), at, &at_audit).ok());
  EXPECT_EQ(at_audit.root(), HashToHex(report->tree_root));
}

// Witnesses (issue #27 item 4): an auditor's co-signature of the ledger's head is journaled; one
// of a root or time that is not the ledger's, or not signed by the key it names, is refused
// before it reaches the journal; the notice carries the signed head and the co-signature.
TEST_F(ServiceTest, AnAuditorsCoSignatureOfTheLedgersHeadIsJournaledAndShownOnTheNotice) {
  v1::SignedTreeHead head;
  ASSERT_TRUE(client_->audit->GetSignedHead(Ctx(tokens_["auditor"]).get(), {}, &head).ok());
  auto witness = signature::SigningKey::Generate();
  ASSERT_TRUE(witness.ok());
  auto request_for = [&](const std::string& id, const std::string& root, std::int64_t time) {
    signature::TreeHead signed_head;
    signed_head.ledger_id = *FromHex(head.ledger_id());
    signed_head.tree_size = head.tree_size();
    const std::string raw_root = *FromHex(root);
    std::copy(raw_root.begin(), raw_root.end(), signed_head.root.begin());
    signed_head.time_unix_us = time;
    v1::CosignHeadRequest request;
    request.set_request_id(id);
    request.set_tree_size(head.tree_size());
    request.set_root(root);
    request.set_time_unix_us(time);
    request.set_witness_key(signature::PublicKeyHex((*witness)->public_key()));
    request.set_signature(ToHex(
        signature::BytesOf((*witness)->Sign(signature::CosignMessage(signed_head, "auditor")))));
    return request;
  };
  v1::Receipt receipt;
  std::string other_root = head.root();
  other_root[0] = other_root[0] == '0' ? '1' : '0';
  EXPECT_STATUS(
      client_->audit->CosignHead(Ctx(tokens_["auditor"]).get(),
                                 request_for("w-root", other_root, head.time_unix_us()), &receipt),
      StatusCode::INVALID_ARGUMENT, Reason::kCosignatureInvalid);
  EXPECT_STATUS(client_->audit->CosignHead(
                    Ctx(tokens_["auditor"]).get(),
                    request_for("w-time", head.root(), head.time_unix_us() + 1), &receipt),
                StatusCode::INVALID_ARGUMENT, Reason::kCosignatureInvalid);
  v1::CosignHeadRequest resigned = request_for("w-sig", head.root(), head.time_unix_us());
  resigned.set_signature(std::string(128, '0'));
  EXPECT_STATUS(client_->audit->CosignHead(Ctx(tokens_["auditor"]).get(), resigned, &receipt),
                StatusCode::INVALID_ARGUMENT, Reason::kCosignatureInvalid);
  // Past the committed head, even by one (the sequencer's head may be ahead of it: the size
  // must be one whose tree lovebankd can read).
  for (const std::uint64_t beyond_size : {head.tree_size() + 1, head.tree_size() + 100}) {
    v1::CosignHeadRequest beyond = request_for("w-beyond", head.root(), head.time_unix_us());
    beyond.set_request_id(Cat("w-beyond-", beyond_size));
    beyond.set_tree_size(beyond_size);
    EXPECT_STATUS(client_->audit->CosignHead(Ctx(tokens_["auditor"]).get(), beyond, &receipt),
                  StatusCode::INVALID_ARGUMENT, Reason::kTreeSizeInvalid);
  }
  const v1::CosignHeadRequest genuine = request_for("w-ok", head.root(), head.time_unix_us());
  EXPECT_STATUS(client_->audit->CosignHead(Ctx(tokens_["admin"]).get(), genuine, &receipt),
                StatusCode::PERMISSION_DENIED, Reason::kPermissionDenied);
  const grpc::Status accepted =
      client_->audit->CosignHead(Ctx(tokens_["auditor"]).get(), genuine, &receipt);
  ASSERT_TRUE(accepted.ok()) << accepted.error_message();
  EXPECT_EQ(receipt.seq(), head.tree_size() + 1);

  v1::GetNoticeRequest notice_request;
  notice_request.set_month("2026-11");
  v1::Notice notice;
  ASSERT_TRUE(client_->audit->GetNotice(Ctx("").get(), notice_request, &notice).ok());
  EXPECT_EQ(notice.signed_head().tree_size(), notice.head_seq());
  auto key = signature::SigningKey::Load(dir_.Sub("data/signing.key"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(proof::HeadProblem(notice.signed_head(), signature::PublicKeyHex((*key)->public_key())),
            std::nullopt);
  ASSERT_EQ(notice.cosignatures_size(), 1);
  EXPECT_EQ(notice.cosignatures(0).auditor(), "auditor");
  EXPECT_EQ(notice.cosignatures(0).tree_size(), head.tree_size());
  EXPECT_EQ(notice.cosignatures(0).seq(), receipt.seq());
  EXPECT_EQ(notice.cosignatures(0).witness_key(), genuine.witness_key());
}

// A certificate verifies offline with only the ledger's public key (issue #27), and each kind
// of forgery is refused: a shown field edited, an entry swapped for another, a proof for another
// tree size — even re-signed by someone holding the key, the proofs give it away — and a
// certificate checked against another key.
TEST_F(ServiceTest, ACertificateVerifiesOfflineAndEveryForgeryIsRefused) {
  v1::Receipt first, second, others;
  ASSERT_TRUE(Earn("o-1", "m1", "2.5", "HOURS", &first).ok());
  ASSERT_TRUE(Earn("o-2", "m1", "3", "HOURS", &second).ok());
  ASSERT_TRUE(Earn("o-m2", "m2", "3", "HOURS", &others).ok());
  auto key = signature::SigningKey::Load(dir_.Sub("data/signing.key"));
  ASSERT_TRUE(key.ok());
  const std::string key_hex = signature::PublicKeyHex((*key)->public_key());
  v1::GetCertificateRequest request;
  request.set_account("m1");
  v1::Certificate made;
  ASSERT_TRUE(
      client_->programme->GetCertificate(Ctx(tokens_["member"]).get(), request, &made).ok());
  const nlohmann::json data = certificate::DataOf(made.html());
  ASSERT_EQ(certificate::ShapeProblem(data), std::nullopt);
  EXPECT_EQ(data["version"], certificate::kVersion);
  std::vector<std::string> notes;
  EXPECT_EQ(certificate::VerifyOffline(data, key_hex, &notes), std::vector<std::string>{});
  EXPECT_EQ(notes.size(), 1u);  // what stands on the signature rather than on a proof
  EXPECT_NE(made.html().find(signature::Fingerprint((*key)->public_key())), std::string::npos);
  // The proof: the two earnings, by hash only — no record (a member's phone, tags and memos, a
  // requester's words) travels with a certificate.
  ASSERT_EQ(data["proof"]["entries"].size(), 2u);
  for (const auto& entry : data["proof"]["entries"]) {
    EXPECT_EQ(entry.size(), 3u) << entry.dump();
    EXPECT_TRUE(entry.contains("hash") && !entry.contains("record")) << entry.dump();
  }

  auto problems_of = [&](const nlohmann::json& edited, const std::string& with_key) {
    return nlohmann::json(certificate::VerifyOffline(edited, with_key, nullptr)).dump();
  };
  auto resigned = [&](nlohmann::json edited) {  // an insider holding the key
    certificate::Sign(edited, **key);
    return edited;
  };
  // A shown field edited: the signature gives it away; re-signed, the entry does.
  for (const auto& [field, value] : {std::pair<std::string, std::string>{"name", "张三"},
                                     {"total_hours", "15.50"},
                                     {"cumulative_hours", "99.00"}}) {
    nlohmann::json edited = data;
    edited[field] = value;
    EXPECT_NE(problems_of(edited, key_hex).find("edited after it was issued"), std::string::npos)
        << field;
  }
  // Rows that do not add up are refused even when signed.
  nlohmann::json more = data;
  more["activities"][0]["hours"] = "12.50";
  EXPECT_NE(problems_of(resigned(more), key_hex).find("total_hours: the listed activities add up"),
            std::string::npos)
      << problems_of(resigned(more), key_hex);
  // A record smuggled into the proof is malformed: certificates carry hashes only.
  v1::GetInclusionProofRequest own_request;
  own_request.set_seq(first.seq());
  v1::InclusionProof own_proof;
  ASSERT_TRUE(
      client_->audit->GetInclusionProof(Ctx(tokens_["member"]).get(), own_request, &own_proof)
          .ok());
  nlohmann::json with_record = data;
  with_record["proof"]["entries"][0]["record"] = proof::Base64(own_proof.record());
  EXPECT_NE(problems_of(resigned(with_record), key_hex).find("malformed"), std::string::npos);
  // An entry swapped for another member's (a genuine entry with a genuine proof).
  v1::GetInclusionProofRequest other_request;
  other_request.set_seq(others.seq());
  other_request.set_tree_size(data["as_of_seq"]);
  v1::InclusionProof other_proof;
  ASSERT_TRUE(
      client_->audit->GetInclusionProof(Ctx(tokens_["auditor"]).get(), other_request, &other_proof)
          .ok());
  nlohmann::json swapped = data;
  for (auto& entry : swapped["proof"]["entries"]) {
    if (entry["seq"] == second.seq()) {
      entry = proof::HashEntryJson(other_proof.seq(), others.hash(), other_proof.path());
    }
  }
  for (auto& activity : swapped["activities"]) {
    if (activity["seq"] == second.seq()) {
      activity["seq"] = others.seq();
      activity["hash"] = others.hash();
    }
  }
  EXPECT_NE(problems_of(swapped, key_hex).find("edited after it was issued"), std::string::npos);
  // Only the proof swapped: the row's hash is not the proven one, however it is signed.
  nlohmann::json proof_swapped = data;
  for (auto& entry : proof_swapped["proof"]["entries"]) {
    if (entry["seq"] == second.seq()) {
      entry = proof::HashEntryJson(second.seq(), others.hash(), other_proof.path());
    }
  }
  EXPECT_NE(problems_of(resigned(proof_swapped), key_hex).find("not in the signed ledger"),
            std::string::npos)
      << problems_of(resigned(proof_swapped), key_hex);
  // An entry proven but not listed (the proof of another's entry added) is refused.
  nlohmann::json extra = data;
  extra["proof"]["entries"].push_back(
      proof::HashEntryJson(other_proof.seq(), others.hash(), other_proof.path()));
  EXPECT_NE(problems_of(resigned(extra), key_hex).find("proven but not listed"), std::string::npos)
      << problems_of(resigned(extra), key_hex);
  // A proof for another tree size: a genuine head and paths of a later ledger.
  ASSERT_TRUE(Earn("o-later", "m3", "1", "HOURS").ok());
  nlohmann::json later = data;
  for (auto& entry : later["proof"]["entries"]) {
    v1::GetInclusionProofRequest at;
    at.set_seq(entry["seq"]);
    v1::InclusionProof proven;
    ASSERT_TRUE(client_->audit->GetInclusionProof(Ctx(tokens_["auditor"]).get(), at, &proven).ok());
    entry = proof::HashEntryJson(proven.seq(), entry["hash"], proven.path());
    later["proof"]["head"] = proof::HeadJson(proven.head());
  }
  EXPECT_NE(problems_of(resigned(later), key_hex).find("the certificate is as of entry"),
            std::string::npos)
      << problems_of(resigned(later), key_hex);
  // The old head with the new paths: the paths lead to another root.
  nlohmann::json mixed = later;
  mixed["proof"]["head"] = data["proof"]["head"];
  EXPECT_NE(problems_of(resigned(mixed), key_hex).find("not in the signed ledger"),
            std::string::npos)
      << problems_of(resigned(mixed), key_hex);
  // A path cut short, a record edited: refused before any hashing is trusted.
  nlohmann::json cut = data;
  cut["proof"]["entries"][0]["path"].erase(0);
  EXPECT_NE(problems_of(cut, key_hex).find("PROOF_LENGTH_INVALID"), std::string::npos);
  // Another key: a certificate the programme's key did not sign is no certificate of it.
  auto stranger = signature::SigningKey::Generate();
  EXPECT_NE(problems_of(data, signature::PublicKeyHex((*stranger)->public_key()))
                .find("signed by another key"),
            std::string::npos);
  nlohmann::json by_stranger = data;
  certificate::Sign(by_stranger, **stranger);
  EXPECT_NE(problems_of(by_stranger, key_hex).find("edited after it was issued"),
            std::string::npos);
}

// The ledger's signing key is never replaced silently (issue #27): a ledger that has signed
// with one refuses to start without it, until an operator asks for a new one.
TEST_F(ServiceTest, ALostSigningKeyStopsTheServerUntilANewOneIsAskedFor) {
  v1::SignedTreeHead before;
  ASSERT_TRUE(client_->audit->GetSignedHead(Ctx(tokens_["member"]).get(), {}, &before).ok());
  StopServer();
  ASSERT_EQ(std::remove(dir_.Sub("data/signing.key").c_str()), 0);
  auto options = Options();
  options.init = false;
  auto refused = service::Server::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("--new-signing-key"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data/signing.key")));  // none made meanwhile
  options.new_signing_key = true;
  auto started = service::Server::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = std::move(*started);
  client_ = std::make_unique<testing::Client>(server_->port());
  v1::SignedTreeHead after;
  ASSERT_TRUE(client_->audit->GetSignedHead(Ctx(tokens_["member"]).get(), {}, &after).ok());
  EXPECT_NE(after.public_key(), before.public_key());
  EXPECT_EQ(after.root(), before.root());  // the same ledger, under a new key
}

// The voluntary context switches so far (times it went to sleep) of this process's threads
// whose name starts with `prefix`.
std::uint64_t SleepsOfThreads(const std::string& prefix) {
  std::uint64_t sleeps = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    if (name.rfind(prefix, 0) != 0) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
        sleeps += std::stoull(line.substr(line.find(':') + 1));
      }
    }
  }
  return sleeps;
}

// A unary call is finished without a hop to gRPC's executor thread (issue #29): its reactor's
// OnDone runs where the call completes. With the hop, each call woke the executor at least once
// (it sleeps again after each: ~20 µs of CPU and two context switches on this machine kind).
// gRPC also uses its executor for its own work now and then, more often on a busy machine (up
// to 20 sleeps per 100 calls measured beside two CPU hogs), so the fewest of three rounds is
// compared with the once per call that the hop costs.
TEST_F(ServiceTest, UnaryCallsEndWithoutWakingGrpcsExecutor) {
  for (int i = 0; i < 20; ++i) Balance("m1");  // the channel and the server warmed up
  constexpr int kCalls = 100;
  std::uint64_t fewest = kCalls * 10;
  for (int round = 0; round < 3; ++round) {
    const std::uint64_t before = SleepsOfThreads("default-execut");
    for (int i = 0; i < kCalls / 2; ++i) {
      Balance("m1");
      ASSERT_TRUE(Earn(Cat("inline-", round, "-", i), "m1", "1").ok());
    }
    const std::uint64_t woken = SleepsOfThreads("default-execut") - before;
    std::cout << "round " << round << ": gRPC's executor slept " << woken << " times over "
              << kCalls << " calls\n";
    fewest = std::min(fewest, woken);
  }
  EXPECT_LT(fewest, kCalls * 3 / 4);
}

}  // namespace
}  // namespace lovebank
