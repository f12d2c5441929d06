// lovebankd's HTTP/JSON listener (service/http_gateway.h, issue #24 item 1), tested as a phone or
// a browser would use it: a real server on loopback, real HTTP requests with JSON bodies, and
// the same ledger seen over gRPC. Every RPC goes through the one transcoder; the token, role and
// reason checks are the services' own.

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <tuple>

#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "ledger/base/strings.h"
#include "nlohmann/json.hpp"
#include "service/error_detail.h"
#include "service/http_gateway.h"
#include "service/payment.h"
#include "tests/service_test_util.h"

namespace lovebank {
namespace {

using nlohmann::json;
using testing::Ctx;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = std::fopen(dir_.Sub("log").c_str(), "a");
    server_ = Start(dir_.Sub("data"), "127.0.0.1:0");
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(server_->http_port(), 0);
    admin_ = testing::ReadToken(server_->admin_token_file());
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
    http_->set_read_timeout(30, 0);
  }
  void TearDown() override {
    http_.reset();
    server_.reset();
    std::fclose(log_);
  }

  std::unique_ptr<service::Server> Start(const std::string& data_dir, const std::string& http) {
    service::ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.http_listen_address = http;
    options.http_threads = http_threads_;
    options.http_connections_max = http_connections_max_;
    options.web_root = web_root_;
    options.init = true;
    options.data_dir = data_dir;
    options.log_out = log_;
    options.clock_unix_us = testing::ClockStartingAt(testing::kTestServerClockStartUnixUs);
    auto server = service::Server::Start(options);
    if (!server.ok()) {
      last_start_ = server.status();
      return nullptr;
    }
    return std::move(*server);
  }

  // POST /v1/<route> with `body` and the token (none when empty): the status and the JSON.
  std::pair<int, json> Post(const std::string& route, const std::string& body,
                            const std::string& token) {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", Cat("Bearer ", token));
    auto result = http_->Post(Cat("/v1/", route).c_str(), headers, body, "application/json");
    EXPECT_TRUE(result) << route << ": " << httplib::to_string(result.error());
    if (!result) return {0, json()};
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json; charset=utf-8");
    return {result->status, json::parse(result->body)};
  }
  std::pair<int, json> Post(const std::string& route, const json& body, const std::string& token) {
    return Post(route, body.dump(), token);
  }

  std::uint64_t Head() { return server_->ledger().GetHead().seq; }

  testing::TempDir dir_;
  int http_threads_ = 8;
  int http_connections_max_ = 64;
  std::string web_root_;
  std::FILE* log_ = nullptr;
  std::unique_ptr<service::Server> server_;
  std::unique_ptr<httplib::Client> http_;
  std::string admin_;
  absl::Status last_start_;
};

// A TCP connection to the HTTP port that the test drives byte by byte; `receive_buffer`, when
// not 0, shrinks the client's socket buffer (a reader that falls behind).
int Connect(int port, int receive_buffer = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  return fd;
}

// Waits until `done` holds, at most 20 s (a liveness deadline, not a speed check).
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

#define EXPECT_REFUSED(call, http_status, reason_name)                   \
  do {                                                                   \
    const auto [status_, body_] = (call);                                \
    EXPECT_EQ(status_, (http_status)) << body_.dump();                   \
    EXPECT_EQ(body_.value("reason", ""), (reason_name)) << body_.dump(); \
    EXPECT_FALSE(body_.value("message", "").empty()) << body_.dump();    \
  } while (0)

// The pages (--web-root, issue #25): files of the web root by plain paths only, each with its
// type, the policy that keeps a page from loading anything from elsewhere, and nosniff; nothing
// outside the root (.., %2e%2e), no hidden or unknown kinds of file; no pages without a root.
TEST_F(HttpTest, ThePagesAreTheWebRootsFilesAndNothingElse) {
  auto get = [&](const std::string& path) { return http_->Get(path.c_str()); };
  auto none = get("/app/");  // started without a web root: no pages
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  EXPECT_EQ(json::parse(none->body).value("reason", ""), "HTTP_ROUTE_UNKNOWN");

  TearDown();
  const std::string root = dir_.Sub("web");
  std::filesystem::create_directories(root + "/app");
  std::filesystem::create_directories(root + "/common");
  auto write = [](const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  };
  write(root + "/app/index.html", "<!doctype html><title>我的账户</title>");
  write(root + "/common/lovebank.js", "export const x = 1;");
  write(root + "/common/.secret.js", "hidden");
  write(root + "/app/notes.txt", "not a page");
  write(dir_.Sub("outside.js"), "outside the root");
  web_root_ = root;
  SetUp();
  http_->set_url_encode(false);  // the paths go out exactly as written here

  auto page = get("/app/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, "<!doctype html><title>我的账户</title>");
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  auto script = get("/common/lovebank.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  for (const auto& [path, location] : {std::pair{"/", "/app/"}, std::pair{"/app", "/app/"}}) {
    SCOPED_TRACE(path);
    auto moved = get(path);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->status, 302);
    EXPECT_EQ(moved->get_header_value("Location"), location);
  }
  for (const std::string path :
       {"/app/../../outside.js", "/../outside.js", "/%2e%2e/outside.js",
        "/app/%2E%2E/../outside.js", "/common/.secret.js", "/app/notes.txt", "/nothing/",
        "/app//index.html", "/app/index.html%00.js", "/v1/Ledger/GetBalance"}) {
    SCOPED_TRACE(path);
    auto refused = get(path);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 404) << refused->body;
    EXPECT_EQ(refused->body.find("outside the root"), std::string::npos);
    EXPECT_EQ(refused->body.find("hidden"), std::string::npos);
  }
}

TEST_F(HttpTest, EveryUnaryRpcIsJsonWithTheSameTokensRolesReasonsAndExactlyOnce) {
  auto health = http_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "SERVING");

  EXPECT_REFUSED(Post("Admin/WhoAmI", std::string("{}"), ""), 401, "TOKEN_MISSING");
  EXPECT_REFUSED(Post("Admin/WhoAmI", std::string("{}"), "not-a-token"), 401, "TOKEN_UNKNOWN");
  auto [who_status, who] = Post("Admin/WhoAmI", std::string(""), admin_);  // empty body: {}
  EXPECT_EQ(who_status, 200) << who.dump();
  EXPECT_EQ(who["role"], "ROLE_ADMIN");

  // A programme set up over HTTP alone; Chinese names round-trip.
  auto open = [&](const std::string& account, const std::string& kind, const std::string& name) {
    json request = {{"requestId", Cat("open-", account)},
                    {"account", account},
                    {"kind", kind},
                    {"displayName", name}};
    if (kind == "ACCOUNT_KIND_ISSUER") {
      request["budgets"] = json::array({{{"asset", "POINTS"}, {"amount", "100000"}}});
    }
    auto [status, body] = Post("Ledger/OpenAccount", request, admin_);
    EXPECT_EQ(status, 200) << body.dump();
  };
  open("issuer:town", "ACCOUNT_KIND_ISSUER", "爱心银行");
  open("store:main", "ACCOUNT_KIND_STORE", "爱心超市");
  open("m1", "ACCOUNT_KIND_MEMBER", "韦蕊");
  auto [account_status, account] = Post("Ledger/GetAccount", json{{"account", "m1"}}, admin_);
  EXPECT_EQ(account_status, 200);
  EXPECT_EQ(account["displayName"], "韦蕊");

  // Principals made over HTTP: their tokens come back once, in the answer.
  auto grant = [&](const std::string& name, const std::string& role, const std::string& bound) {
    auto [status, made] = Post("Admin/CreatePrincipal",
                               json{{"requestId", Cat("p-", name)},
                                    {"principal", name},
                                    {"role", role},
                                    {"accounts", {bound}},
                                    {"displayName", Cat(bound, " 的设备")}},
                               admin_);
    EXPECT_EQ(status, 200) << made.dump();
    return made.value("token", "");
  };
  const std::string town = grant("town", "ROLE_ISSUER", "issuer:town");
  const std::string till = grant("till1", "ROLE_TERMINAL", "store:main");
  const std::string member = grant("phone-m1", "ROLE_MEMBER", "m1");

  const json earn = {{"requestId", "earn-1"}, {"issuer", "issuer:town"}, {"member", "m1"},
                     {"asset", "POINTS"},     {"amount", "500"},         {"reason", "进步明显"}};
  EXPECT_REFUSED(Post("Ledger/Earn", earn, admin_), 403, "PERMISSION_DENIED");  // not an issuer
  auto [earned_status, earned] = Post("Ledger/Earn", earn, town);
  ASSERT_EQ(earned_status, 200) << earned.dump();
  EXPECT_FALSE(earned["replayed"].get<bool>());
  // The same request again: the original receipt, nothing applied twice.
  const std::uint64_t head = Head();
  auto [again_status, again] = Post("Ledger/Earn", earn, town);
  EXPECT_EQ(again_status, 200);
  EXPECT_TRUE(again["replayed"].get<bool>());
  EXPECT_EQ(again["seq"], earned["seq"]);
  EXPECT_EQ(Head(), head);
  // The same id with other content: 409.
  json other = earn;
  other["amount"] = "501";
  EXPECT_REFUSED(Post("Ledger/Earn", other, town), 409, "REQUEST_ID_REUSED");

  // What HTTP wrote, gRPC reads.
  v1::GetBalanceRequest balance_request;
  balance_request.set_account("m1");
  v1::GetBalanceResponse balance;
  testing::Client grpc_client(server_->port());
  ASSERT_TRUE(grpc_client.ledger->GetBalance(Ctx(admin_).get(), balance_request, &balance).ok());
  ASSERT_EQ(balance.balances_size(), 1);
  EXPECT_EQ(balance.balances(0).amount(), "500.00");

  // A state refusal names the head it was judged against.
  auto [short_status, refused] = Post("Ledger/Redeem",
                                      json{{"requestId", "buy-1"},
                                           {"member", "m1"},
                                           {"store", "store:main"},
                                           {"asset", "POINTS"},
                                           {"amount", "600"},
                                           {"memo", "大米 5kg ×20"}},
                                      till);
  EXPECT_EQ(short_status, 412) << refused.dump();
  EXPECT_EQ(refused["reason"], "INSUFFICIENT_BALANCE");
  EXPECT_EQ(refused["code"], "FAILED_PRECONDITION");
  EXPECT_EQ(refused["decided_at_seq"].get<std::uint64_t>(), Head());

  // A member's token reaches its own account only.
  auto [own_status, own] = Post("Ledger/GetBalance", json{{"account", "m1"}}, member);
  EXPECT_EQ(own_status, 200) << own.dump();
  EXPECT_EQ(own["balances"][0]["amount"], "500.00");
  EXPECT_REFUSED(Post("Ledger/GetBalance", json{{"account", "store:main"}}, member), 403,
                 "PERMISSION_DENIED");
  EXPECT_REFUSED(Post("Ledger/Earn",
                      json{{"requestId", "self"},
                           {"issuer", "issuer:town"},
                           {"member", "m1"},
                           {"asset", "POINTS"},
                           {"amount", "1"},
                           {"reason", "x"}},
                      member),
                 403, "PERMISSION_DENIED");
}

// A programme setting rides the one generic path (journal.proto SettingValue): set as JSON in
// Chinese, read back equal; refused by the setting's rule with its reason; an admin's only.
// Services over HTTP/JSON (issue #26): the same RPCs, tokens and reasons as gRPC — the elder's
// phone asks, the volunteer's phone takes it, records the time, the elder confirms; a stranger's
// confirmation is refused by the sequencer with its reason; the phone's posting names no member
// (its own account).
TEST_F(HttpTest, AServiceRequestRunsOverJsonFromPostingToConfirmation) {
  auto ok = [&](const std::string& route, const json& body, const std::string& token) {
    auto [status, answer] = Post(route, body, token);
    EXPECT_EQ(status, 200) << route << " " << answer.dump();
    return answer;
  };
  ok("Ledger/OpenAccount",
     json{{"requestId", "o-i"},
          {"account", "issuer:town"},
          {"kind", "ACCOUNT_KIND_ISSUER"},
          {"displayName", "爱心银行"},
          {"budgets", json::array({{{"asset", "HOURS"}, {"amount", "1000"}}})}},
     admin_);
  for (const auto& [account, name] :
       {std::pair{"m1", "王秀英"}, std::pair{"m2", "李明"}, std::pair{"m3", "路人"}}) {
    ok("Ledger/OpenAccount",
       json{{"requestId", Cat("o-", account)},
            {"account", account},
            {"kind", "ACCOUNT_KIND_MEMBER"},
            {"displayName", name}},
       admin_);
  }
  auto grant = [&](const std::string& name, const std::string& role, const std::string& bound) {
    return ok("Admin/CreatePrincipal",
              json{{"requestId", Cat("p-", name)},
                   {"principal", name},
                   {"role", role},
                   {"accounts", {bound}}},
              admin_)
        .value("token", "");
  };
  const std::string town = grant("town", "ROLE_ISSUER", "issuer:town");
  const std::string elder = grant("phone-m1", "ROLE_MEMBER", "m1");
  const std::string volunteer = grant("phone-m2", "ROLE_MEMBER", "m2");
  const std::string stranger = grant("phone-m3", "ROLE_MEMBER", "m3");
  ok("Ledger/Earn",
     json{{"requestId", "e1"},
          {"issuer", "issuer:town"},
          {"member", "m1"},
          {"asset", "HOURS"},
          {"amount", "10"},
          {"activity", {{"name", "重阳节敬老活动"}, {"date", "2026-10-29"}}}},
     town);
  const json posted = ok("Exchange/PostRequest",
                         json{{"requestId", "r1"},
                              {"service",
                               {{"category", "陪护"},
                                {"description", "陪同去镇卫生院复查"},
                                {"place", "柳树村"},
                                {"day", "2026-11-25"},
                                {"hours", "2"}}}},
                         elder);
  const std::uint64_t seq = std::stoull(posted["seq"].get<std::string>());
  const json open = ok("Exchange/ListServices", json{{"openOnly", true}}, volunteer);
  ASSERT_EQ(open["services"].size(), 1u) << open.dump();
  EXPECT_EQ(open["services"][0]["memberName"], "王秀英");
  EXPECT_EQ(open["services"][0]["hours"], "2.00");
  ok("Exchange/Accept", json{{"requestId", "a1"}, {"serviceSeq", seq}}, volunteer);
  ok("Exchange/Complete", json{{"requestId", "c1"}, {"serviceSeq", seq}, {"hours", "2"}},
     volunteer);
  EXPECT_REFUSED(Post("Exchange/Confirm",
                      json{{"requestId", "f:x"}, {"serviceSeq", seq}, {"hours", "2"}}, stranger),
                 403, "PERMISSION_DENIED");
  EXPECT_REFUSED(
      Post("Exchange/Complete", json{{"requestId", "c:over"}, {"serviceSeq", seq}, {"hours", "3"}},
           volunteer),
      412, "SERVICE_OVER_HELD");
  ok("Exchange/Confirm", json{{"requestId", "f1"}, {"serviceSeq", seq}, {"hours", "2"}}, elder);
  EXPECT_REFUSED(Post("Exchange/Confirm",
                      json{{"requestId", "f2"}, {"serviceSeq", seq}, {"hours", "2"}}, elder),
                 412, "SERVICE_CLOSED");
  const json shown = ok("Exchange/GetService", json{{"serviceSeq", seq}}, elder);
  EXPECT_EQ(shown["state"], "SERVICE_STATE_CONFIRMED");
  EXPECT_EQ(shown["paidHours"], "2.00");
  EXPECT_EQ(shown["providerName"], "李明");
  // A closed service of others is no stranger's to read: the same answer as none at all.
  EXPECT_REFUSED(Post("Exchange/GetService", json{{"serviceSeq", seq}}, stranger), 404,
                 "SERVICE_UNKNOWN");
  const json profile = ok("Programme/GetVolunteerProfile", json{{"account", "m2"}}, town);
  EXPECT_EQ(profile["cumulativeHours"], "2.00");
}

TEST_F(HttpTest, ASettingIsSetAndReadBackAsJsonInChinese) {
  const json profile = {
      {"name", "南溪镇爱心银行"},
      {"town", "南溪镇"},
      {"displayNames", json::array({{{"id", "store:main"}, {"name", "爱心超市"}}})}};
  const json request = {{"requestId", "profile-1"}, {"value", {{"programmeProfile", profile}}}};
  auto [set_status, receipt] = Post("Programme/SetSetting", request, admin_);
  ASSERT_EQ(set_status, 200) << receipt.dump();
  auto [list_status, list] = Post("Programme/ListSettings", json::object(), admin_);
  ASSERT_EQ(list_status, 200) << list.dump();
  ASSERT_EQ(list["settings"].size(), 1u) << list.dump();
  const json got = list["settings"][0]["value"]["programmeProfile"];
  for (const char* field : {"name", "town", "displayNames"}) {
    EXPECT_EQ(got[field], profile[field]) << field << ": " << list.dump();
  }
  EXPECT_EQ(got["office"], "");  // unset: printed empty
  EXPECT_EQ(list["settings"][0]["seq"], receipt["seq"]) << list.dump();
  EXPECT_REFUSED(
      Post("Programme/SetSetting",
           json{{"requestId", "profile-2"}, {"value", {{"programmeProfile", json::object()}}}},
           admin_),
      400, "SETTING_INVALID");
  EXPECT_REFUSED(Post("Programme/SetSetting",
                      json{{"requestId", "profile-3"}, {"value", json::object()}}, admin_),
                 400, "SETTING_INVALID");
  EXPECT_REFUSED(
      Post("Programme/SetSetting",
           json{{"requestId", "profile-4"}, {"value", {{"noSuchSetting", json::object()}}}},
           admin_),
      400, "HTTP_BODY_INVALID");
}

// The value of one series in a /metrics text ("name{labels}" exactly), or -1 when absent.
double Metric(const std::string& text, const std::string& series) {
  const std::string start = series + " ";
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    if (text.compare(at, start.size(), start) == 0) {
      return std::stod(text.substr(at + start.size(), end - at - start.size()));
    }
    at = end + 1;
  }
  return -1;
}

// Issue #28: GET /metrics in Prometheus text; the counters move with the load, exactly.
TEST_F(HttpTest, MetricsCountCallsCommitsFsyncsAndRefusalsUnderLoad) {
  auto scrape = [this] {
    auto got = http_->Get("/metrics");
    EXPECT_TRUE(got);
    if (!got) return std::string();
    EXPECT_EQ(got->status, 200);
    EXPECT_EQ(got->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return got->body;
  };
  const std::string before = scrape();
  const double commits_before = Metric(before, "lovebank_commits_total");
  ASSERT_GE(commits_before, 0) << before;
  EXPECT_NE(before.find("# TYPE lovebank_commit_latency_seconds histogram"), std::string::npos);

  // Four clients open 50 accounts each at once; one request id is reused with other content.
  constexpr int kClients = 4, kEach = 50;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([this, c] {
      httplib::Client client("127.0.0.1", server_->http_port());
      httplib::Headers headers = {{"Authorization", Cat("Bearer ", admin_)}};
      for (int i = 0; i < kEach; ++i) {
        const json open = {{"requestId", Cat("load-", c, "-", i)},
                           {"account", Cat("m", c, "x", i)},
                           {"kind", "ACCOUNT_KIND_MEMBER"},
                           {"displayName", "负载测试"}};
        auto got = client.Post("/v1/Ledger/OpenAccount", headers, open.dump(), "application/json");
        EXPECT_TRUE(got && got->status == 200);
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_REFUSED(Post("Ledger/OpenAccount",
                      json{{"requestId", "load-0-0"},
                           {"account", "other"},
                           {"kind", "ACCOUNT_KIND_MEMBER"},
                           {"displayName", "x"}},
                      admin_),
                 409, "REQUEST_ID_REUSED");

  const std::string after = scrape();
  EXPECT_EQ(Metric(after, R"(lovebank_calls_total{method="OpenAccount",outcome="OK"})"),
            kClients * kEach)
      << after;
  EXPECT_EQ(
      Metric(after, R"(lovebank_calls_total{method="OpenAccount",outcome="REQUEST_ID_REUSED"})"),
      1);
  EXPECT_EQ(Metric(after, R"(lovebank_refusals_total{reason="REQUEST_ID_REUSED"})"), 1);
  EXPECT_GE(Metric(after, "lovebank_commits_total"), commits_before + 1);
  EXPECT_EQ(Metric(after, "lovebank_head_seq"), static_cast<double>(Head()));
  EXPECT_GE(Metric(after, "lovebank_commands_decided_total"), kClients * kEach + 1);
  EXPECT_GE(Metric(after, "lovebank_entries_committed_total"), kClients * kEach);
  // Every commit's fsync and every command's wait is in its histogram; the buckets add up.
  EXPECT_EQ(Metric(after, "lovebank_fsync_seconds_count"), Metric(after, "lovebank_commits_total"));
  EXPECT_EQ(Metric(after, R"(lovebank_commit_latency_seconds_bucket{le="+Inf"})"),
            Metric(after, "lovebank_commit_latency_seconds_count"));
  EXPECT_GE(Metric(after, "lovebank_commit_latency_seconds_count"), kClients * kEach + 1);
  EXPECT_GE(Metric(after, R"(lovebank_http_requests_total{status="200"})"), kClients * kEach);
  EXPECT_EQ(Metric(after, "lovebank_queue_depth"), 0);
  // Counts and times only: no account, name or token reaches it.
  for (const std::string& secret : {std::string("m0x0"), std::string("负载测试"), admin_}) {
    EXPECT_EQ(after.find(secret), std::string::npos) << secret;
  }
}

TEST_F(HttpTest, ABadBodyIsRefusedWithItsReasonAndChangesNothing) {
  const std::uint64_t head = Head();
  const std::string route = "Ledger/OpenAccount";
  EXPECT_REFUSED(Post(route, std::string("{\"account\":"), admin_), 400, "HTTP_BODY_INVALID");
  EXPECT_REFUSED(Post(route, std::string("[1,2]"), admin_), 400, "HTTP_BODY_INVALID");
  // A misspelt field is an error, never silently dropped.
  EXPECT_REFUSED(Post(route, json{{"requestId", "o1"}, {"acount", "m9"}}, admin_), 400,
                 "HTTP_BODY_INVALID");
  EXPECT_REFUSED(Post(route, json{{"requestId", "o1"}, {"account", 9}}, admin_), 400,
                 "HTTP_BODY_INVALID");
  EXPECT_REFUSED(Post(route, json{{"requestId", "o1"}, {"kind", "ACCOUNT_KIND_NONSENSE"}}, admin_),
                 400, "HTTP_BODY_INVALID");
  EXPECT_REFUSED(Post(route, std::string("{\"account\":\"m\xff\"}"), admin_), 400,
                 "HTTP_BODY_INVALID");
  // A body over the limit (16 MiB, as over gRPC) is refused before it is read whole.
  EXPECT_REFUSED(Post(route, std::string((16 << 20) + 1, ' '), admin_), 413, "HTTP_BODY_TOO_LARGE");
  // The services' own syntax checks answer as over gRPC.
  EXPECT_REFUSED(Post(route,
                      json{{"requestId", "o1"},
                           {"account", "m 9"},
                           {"kind", "ACCOUNT_KIND_MEMBER"},
                           {"displayName", "x"}},
                      admin_),
                 400, "ACCOUNT_ID_INVALID");
  EXPECT_EQ(Head(), head);
}

TEST_F(HttpTest, UnknownRoutesAreNamed) {
  EXPECT_REFUSED(Post("Nope/Method", std::string("{}"), admin_), 404, "HTTP_ROUTE_UNKNOWN");
  EXPECT_REFUSED(Post("Ledger/Nope", std::string("{}"), admin_), 404, "HTTP_ROUTE_UNKNOWN");
  auto get = http_->Get("/v1/Ledger/GetBalance");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  EXPECT_EQ(json::parse(get->body)["reason"], "HTTP_ROUTE_UNKNOWN");
}

// A server-streaming RPC is newline-delimited JSON, one response message a line: the journal read
// over HTTP is the journal read over gRPC, message for message.
TEST_F(HttpTest, AStreamingRpcIsNewlineDelimitedJsonMessageForMessage) {
  for (int i = 0; i < 3; ++i) {
    auto [status, body] = Post("Ledger/OpenAccount",
                               json{{"requestId", Cat("o", i)},
                                    {"account", Cat("m", i)},
                                    {"kind", "ACCOUNT_KIND_MEMBER"},
                                    {"displayName", Cat("成员", i)}},
                               admin_);
    ASSERT_EQ(status, 200) << body.dump();
  }
  httplib::Headers headers = {{"Authorization", Cat("Bearer ", admin_)}};
  auto result = http_->Post("/v1/Audit/ReadJournal", headers, "{}", "application/json");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/x-ndjson; charset=utf-8");
  std::vector<json> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = result->body.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(json::parse(result->body.substr(start, end - start)));
  }
  EXPECT_EQ(start, result->body.size()) << "the last line ends with a newline";
  // The same call over gRPC.
  testing::Client grpc_client(server_->port());
  auto context = Ctx(admin_);
  auto reader = grpc_client.audit->ReadJournal(context.get(), v1::ReadJournalRequest());
  std::vector<v1::ReadJournalResponse> messages;
  for (v1::ReadJournalResponse message; reader->Read(&message);) messages.push_back(message);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(lines.size(), messages.size());
  std::uint64_t records = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i]["records"].size(), static_cast<std::size_t>(messages[i].records_size()));
    for (int r = 0; r < messages[i].records_size(); ++r) {
      EXPECT_EQ(lines[i]["records"][r]["seq"], std::to_string(messages[i].records(r).seq()));
      ++records;
    }
  }
  EXPECT_EQ(records, Head());
  EXPECT_EQ(lines.front()["headSeq"], std::to_string(Head()));
  // Refused before the first message: an ordinary error answer.
  auto refused = http_->Post("/v1/Audit/ReadJournal", "{}", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(json::parse(refused->body)["reason"], "TOKEN_MISSING");
  // An auditor may read the journal; a member may not.
  auto [made_status, made] = Post("Admin/CreatePrincipal",
                                  json{{"requestId", "p-m0"},
                                       {"principal", "phone-m0"},
                                       {"role", "ROLE_MEMBER"},
                                       {"accounts", {"m0"}}},
                                  admin_);
  ASSERT_EQ(made_status, 200) << made.dump();
  headers = {{"Authorization", Cat("Bearer ", made["token"].get<std::string>())}};
  auto member = http_->Post("/v1/Audit/ReadJournal", headers, "{}", "application/json");
  ASSERT_TRUE(member);
  EXPECT_EQ(member->status, 403) << member->body;
}

TEST_F(HttpTest, ASecondServerCannotShareTheHttpPort) {
  const std::string taken = Cat("127.0.0.1:", server_->http_port());
  auto second = Start(dir_.Sub("data2"), taken);
  EXPECT_EQ(second, nullptr);
  EXPECT_EQ(last_start_.code(), absl::StatusCode::kUnavailable) << last_start_;
  // The first one still answers.
  auto [status, who] = Post("Admin/WhoAmI", std::string("{}"), admin_);
  EXPECT_EQ(status, 200) << who.dump();
}

// An HTTP listener alone, in front of a gRPC address where nothing listens (a server stopping).
absl::StatusOr<std::unique_ptr<service::HttpGateway>> GatewayToNowhere(const testing::TempDir& dir,
                                                                       service::Logger* logger) {
  service::HttpOptions options;
  options.listen_address = "127.0.0.1:0";
  return service::HttpGateway::Start(
      options,
      grpc::CreateChannel(Cat("unix:", dir.Sub("nobody.sock")), grpc::InsecureChannelCredentials()),
      logger);
}

// A listener stopped the moment it started returns (cpp-httplib's stop() is a no-op until its
// listening thread has marked itself running; Stop keeps asking until that thread has returned).
TEST_F(HttpTest, AListenerStoppedRightAfterItStartsReturns) {
  service::Logger logger(service::LogLevel::kError, log_);
  for (int i = 0; i < 50; ++i) {
    auto gateway = GatewayToNowhere(dir_, &logger);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    (*gateway)->Stop();  // hung here, at times, before the fix
  }
}

// When gRPC itself fails the call (here: nothing listens behind the gateway, as when lovebankd is
// stopping), the answer names that, RPC_FAILED with gRPC's code, not a lovebank refusal.
TEST_F(HttpTest, ACallThatGrpcItselfFailsIsNamedRpcFailed) {
  service::Logger logger(service::LogLevel::kError, log_);
  auto gateway = GatewayToNowhere(dir_, &logger);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  http_ = std::make_unique<httplib::Client>("127.0.0.1", (*gateway)->port());
  http_->set_read_timeout(30, 0);
  auto [status, body] = Post("Admin/WhoAmI", std::string("{}"), admin_);
  EXPECT_EQ(status, 503) << body.dump();
  EXPECT_EQ(body.value("code", ""), "UNAVAILABLE") << body.dump();
  EXPECT_EQ(body.value("reason", ""), "RPC_FAILED") << body.dump();
  EXPECT_FALSE(body.value("message", "").empty()) << body.dump();
}

// Connections are bounded: with one thread and a cap of two, idle clients fill the thread and
// the wait, the listener stops accepting (it never holds a third), and once they leave the next
// client is served.
TEST_F(HttpTest, ConnectionsPastTheCapWaitForTheListenerAndAreServedLater) {
  http_threads_ = 1;
  http_connections_max_ = 2;
  auto capped = Start(dir_.Sub("capped"), "127.0.0.1:0");
  ASSERT_NE(capped, nullptr);
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(Connect(capped->http_port()));
  ASSERT_TRUE(Eventually([&] { return capped->http_stats().accept_waits >= 1; }))
      << "the listener never stopped at the cap";
  EXPECT_EQ(capped->http_stats().connections, 2);
  EXPECT_EQ(capped->http_stats().connections_peak, 2);
  for (int fd : idle) ::close(fd);
  httplib::Client client("127.0.0.1", capped->http_port());
  client.set_read_timeout(30, 0);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(capped->http_stats().connections_peak, 2);
  client.stop();
  capped.reset();  // Stop returns with the listener at the cap or not
}

// This process's TCP sockets whose local port is `port`: the listening one (`listening`) or the
// connections it accepted.
std::vector<int> SocketsOnPort(int port, bool listening) {
  std::vector<int> found;
  for (const auto& fd_entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(fd_entry.path().filename().string());
    int accepting = 0;
    socklen_t size = sizeof(accepting);
    sockaddr_in address{};
    socklen_t address_size = sizeof(address);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) == 0 &&
        (accepting == 1) == listening &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_size) == 0 &&
        address.sin_family == AF_INET && ntohs(address.sin_port) == port) {
      found.push_back(fd);
    }
  }
  return found;
}

// The backlog the kernel keeps for the listening socket on `port` (tcp_info's tcpi_sacked holds a
// listener's maximum backlog); -1 when there is none.
int ListenBacklogOf(int port) {
  for (int fd : SocketsOnPort(port, /*listening=*/true)) {
    tcp_info info{};
    socklen_t size = sizeof(info);
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) == 0) {
      return static_cast<int>(info.tcpi_sacked);
    }
  }
  return -1;
}

// While the listener is at its cap, new connections wait in the kernel's listen backlog, which
// must hold a burst of them: cpp-httplib listens with a backlog of 5, and each connection past it
// had its SYN dropped (a 1 s, then 3 s ... retransmit for a phone: p999 of 1-2 s at 64 clients).
// The gateway raises the backlog (to 4096, or net.core.somaxconn when lower); a burst of 32
// connections completes its handshakes while none is accepted, and is served once the cap frees.
TEST_F(HttpTest, ABurstOfConnectionsWaitsInTheBacklogInsteadOfBeingDropped) {
  http_threads_ = 1;
  http_connections_max_ = 2;
  auto capped = Start(dir_.Sub("burst"), "127.0.0.1:0");
  ASSERT_NE(capped, nullptr);
  EXPECT_GE(ListenBacklogOf(capped->http_port()), 128) << "cpp-httplib's own backlog is 5";
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(Connect(capped->http_port()));
  ASSERT_TRUE(Eventually([&] { return capped->http_stats().accept_waits >= 1; }));
  std::vector<int> burst;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(capped->http_port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 32; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));  // EINPROGRESS
    burst.push_back(fd);
  }
  auto connected = [&] {
    int done = 0;
    for (int fd : burst) {
      pollfd ready{fd, POLLOUT, 0};
      int error = 0;
      socklen_t size = sizeof(error);
      if (::poll(&ready, 1, 0) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 &&
          error == 0) {
        ++done;
      }
    }
    return done;
  };
  EXPECT_TRUE(Eventually([&] { return connected() == 32; }))
      << connected() << " of 32 connected: the rest were dropped by a short backlog";
  EXPECT_EQ(capped->http_stats().connections, 2) << "none of them accepted yet";
  for (int fd : idle) ::close(fd);
  for (int fd : burst) ::close(fd);
  httplib::Client client("127.0.0.1", capped->http_port());
  client.set_keep_alive(true);  // the connection stays open to be looked at
  client.set_read_timeout(30, 0);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  // Answers leave at once: the accepted connection has Nagle off (an answer's headers and body
  // are separate writes; with Nagle the body waited for the client's delayed ACK, 40 ms a call).
  const std::vector<int> accepted = SocketsOnPort(capped->http_port(), /*listening=*/false);
  ASSERT_FALSE(accepted.empty());
  for (int fd : accepted) {
    int nodelay = 0;
    socklen_t size = sizeof(nodelay);
    ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &size), 0);
    EXPECT_NE(nodelay, 0) << "Nagle on an accepted HTTP connection";
  }
  client.stop();
  capped.reset();
}

// A client that goes away in the middle of a stream cancels the call: the gateway counts it,
// frees the connection, and serves the next request; nothing waits for the write timeout.
TEST_F(HttpTest, AClientThatGoesAwayMidStreamCancelsTheCall) {
  // A journal far larger than the socket buffers (about 400 bytes of JSON per entry).
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<v1::Command> commands;
    for (int i = 0; i < 8000; ++i) {
      const std::string id = Cat("m", batch, "-", i);
      commands.push_back(
          testing::Open(Cat("o:", id), id, v1::ACCOUNT_KIND_MEMBER, Cat("社区志愿者 ", id)));
    }
    for (const Outcome& outcome : server_->ledger().ExecuteMany(std::move(commands))) {
      ASSERT_TRUE(outcome.ok()) << outcome.message;
    }
  }
  const int fd = Connect(server_->http_port(), 4096);
  const std::string request =
      Cat("POST /v1/Audit/ReadJournal HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ",
          admin_, "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  char buffer[4096];
  std::string head;
  while (head.find("\n{") == std::string::npos) {  // the first line of the body
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    ASSERT_GT(n, 0);
    head.append(buffer, static_cast<std::size_t>(n));
  }
  EXPECT_NE(head.find("200 OK"), std::string::npos) << head.substr(0, 200);
  ::close(fd);  // unread data: the peer gets a reset
  ASSERT_TRUE(Eventually([&] { return server_->http_stats().streams_abandoned == 1; }))
      << "the stream was not cancelled";
  ASSERT_TRUE(Eventually([&] { return server_->http_stats().connections == 0; }));
  auto [status, who] = Post("Admin/WhoAmI", std::string("{}"), admin_);
  EXPECT_EQ(status, 200) << who.dump();
}

// A member's phone over HTTP alone (issue #24 item 2): the social worker's code, exchanged with
// no token for the phone's own, then the balance and the history; the code is spent.
TEST_F(HttpTest, APhoneActivatesWithACodeAndReadsItsBalanceAndHistory) {
  for (const auto& [account, kind] :
       {std::pair{"issuer:town", "ACCOUNT_KIND_ISSUER"}, std::pair{"m1", "ACCOUNT_KIND_MEMBER"},
        std::pair{"store:main", "ACCOUNT_KIND_STORE"}}) {
    json open = {{"requestId", Cat("o-", account)},
                 {"account", account},
                 {"kind", kind},
                 {"displayName", "韦蕊"}};
    if (std::string(kind) == "ACCOUNT_KIND_ISSUER") {
      open["budgets"] = json::array({{{"asset", "POINTS"}, {"amount", "1000"}}});
    }
    ASSERT_EQ(Post("Ledger/OpenAccount", open, admin_).first, 200);
  }
  auto [made_status, made] = Post("Admin/CreatePrincipal",
                                  json{{"requestId", "p-town"},
                                       {"principal", "town"},
                                       {"role", "ROLE_ISSUER"},
                                       {"accounts", {"issuer:town"}}},
                                  admin_);
  ASSERT_EQ(made_status, 200) << made.dump();
  const std::string town = made.value("token", "");
  auto [code_status, issued] =
      Post("Admin/IssueActivationCode", json{{"requestId", "code-1"}, {"member", "m1"}}, town);
  ASSERT_EQ(code_status, 200) << issued.dump();
  const std::string code = issued.value("code", "");
  ASSERT_EQ(code.size(), 19u) << issued.dump();
  ASSERT_EQ(Post("Ledger/Earn",
                 json{{"requestId", "e-1"},
                      {"issuer", "issuer:town"},
                      {"member", "m1"},
                      {"asset", "POINTS"},
                      {"amount", "500"},
                      {"reason", "期中考试进步明显"}},
                 town)
                .first,
            200);
  auto [activate_status, activated] =
      Post("Admin/Activate", json{{"code", code}, {"deviceName", "韦蕊的手机"}}, "");
  ASSERT_EQ(activate_status, 200) << activated.dump();
  EXPECT_EQ(activated.value("account", ""), "m1");
  const std::string phone = activated.value("token", "");
  auto [balance_status, balance] = Post("Ledger/GetBalance", json{{"account", "m1"}}, phone);
  ASSERT_EQ(balance_status, 200) << balance.dump();
  EXPECT_EQ(balance["balances"][0]["amount"], "500.00") << balance.dump();
  auto [history_status, history] = Post("Ledger/ListEntries", json{{"account", "m1"}}, phone);
  ASSERT_EQ(history_status, 200) << history.dump();
  EXPECT_EQ(history["items"][0]["command"]["earn"]["reason"], "期中考试进步明显") << history.dump();
  EXPECT_REFUSED(Post("Admin/Activate", json{{"code", code}}, ""), 401, "ACTIVATION_CODE_UNKNOWN");
  EXPECT_REFUSED(Post("Ledger/GetBalance", json{{"account", "m1"}}, code), 401, "TOKEN_UNKNOWN");

  // The phone makes a payment code offline from its secret; the till redeems with it, once.
  auto [till_status, till] = Post("Admin/CreatePrincipal",
                                  json{{"requestId", "p-till"},
                                       {"principal", "till"},
                                       {"role", "ROLE_TERMINAL"},
                                       {"accounts", {"store:main"}}},
                                  admin_);
  ASSERT_EQ(till_status, 200) << till.dump();
  const std::string hex = activated.value("paymentSecret", "");
  std::string secret;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    secret += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  const std::string pay =
      service::MakePaymentCode(secret, std::stoull(activated.value("deviceNumber", "0")),
                               std::stoll(history["items"][0].value("timeUnixUs", "0")), 0);
  const json redeem = {{"requestId", "r-1"}, {"member", "m1"}, {"store", "store:main"},
                       {"asset", "POINTS"},  {"amount", "30"}, {"paymentCode", pay}};
  auto [redeem_status, redeemed] = Post("Ledger/Redeem", redeem, till.value("token", ""));
  EXPECT_EQ(redeem_status, 200) << redeemed.dump();
  json again = redeem;
  again["requestId"] = "r-2";
  EXPECT_REFUSED(Post("Ledger/Redeem", again, till.value("token", "")), 412,
                 "PAYMENT_CODE_INVALID");
}

// WatchEntries over HTTP (a mini-program's requests cannot stream): a long poll answers what
// followed after_seq as NDJSON and ends after idle_seconds without news. Each streaming call holds
// a listener thread while it lasts, so at most half the threads serve streams: past that,
// 429 HTTP_STREAMS_FULL, while unary calls are still served; a stream whose client left frees
// its place at its next write.
TEST_F(HttpTest, AWatchIsALongPollAndStreamsHoldAtMostHalfTheThreads) {
  http_threads_ = 2;  // one stream at most
  auto capped = Start(dir_.Sub("capped"), "127.0.0.1:0");
  ASSERT_NE(capped, nullptr);
  const std::string admin = testing::ReadToken(capped->admin_token_file());
  httplib::Client client("127.0.0.1", capped->http_port());
  client.set_read_timeout(30, 0);
  std::string token = admin;
  auto post = [&](const std::string& route, const json& body) {
    auto result = client.Post(Cat("/v1/", route).c_str(),
                              httplib::Headers{{"Authorization", Cat("Bearer ", token)}},
                              body.dump(), "application/json");
    EXPECT_TRUE(result);
    return result;
  };
  for (const auto& [account, kind] :
       {std::pair{"issuer:town", "ACCOUNT_KIND_ISSUER"}, std::pair{"m1", "ACCOUNT_KIND_MEMBER"}}) {
    json open = {{"requestId", Cat("o-", account)},
                 {"account", account},
                 {"kind", kind},
                 {"displayName", "韦蕊"}};
    if (std::string(kind) == "ACCOUNT_KIND_ISSUER") {
      open["budgets"] = json::array({{{"asset", "POINTS"}, {"amount", "1000"}}});
    }
    ASSERT_EQ(post("Ledger/OpenAccount", open)->status, 200);
  }
  auto made = post("Admin/CreatePrincipal", json{{"requestId", "p-town"},
                                                 {"principal", "town"},
                                                 {"role", "ROLE_ISSUER"},
                                                 {"accounts", {"issuer:town"}}});
  ASSERT_EQ(made->status, 200) << made->body;
  const std::string town = json::parse(made->body).value("token", "");
  const std::uint64_t head = capped->ledger().GetHead().seq;
  token = town;
  auto earned = post("Ledger/Earn", json{{"requestId", "e-1"},
                                         {"issuer", "issuer:town"},
                                         {"member", "m1"},
                                         {"asset", "POINTS"},
                                         {"amount", "10"},
                                         {"reason", "进步明显"}});
  ASSERT_EQ(earned->status, 200) << earned->body;
  token = admin;
  auto poll =
      post("Ledger/WatchEntries", json{{"account", "m1"}, {"afterSeq", head}, {"idleSeconds", 1}});
  ASSERT_EQ(poll->status, 200) << poll->body;
  EXPECT_EQ(poll->get_header_value("Content-Type"), "application/x-ndjson; charset=utf-8");
  ASSERT_EQ(std::count(poll->body.begin(), poll->body.end(), '\n'), 1) << poll->body;
  const json line = json::parse(poll->body);
  EXPECT_EQ(line["item"]["seq"], json::parse(earned->body)["seq"]) << poll->body;
  EXPECT_EQ(line["item"]["legs"][0]["amount"], "10.00");
  EXPECT_EQ(line["item"]["legs"][0]["balanceAfter"], "10.00");
  EXPECT_EQ(line["item"]["command"]["earn"]["reason"], "进步明显");

  // The poll gave its place back when it ended (before its last chunk went out).
  EXPECT_EQ(capped->http_stats().streams, 0);
  // A watch of the journal that never ends on its own takes the one place for streams.
  const int fd = Connect(capped->http_port(), 4096);
  const std::string watch =
      Cat("POST /v1/Ledger/WatchEntries HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ",
          admin, "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_EQ(::send(fd, watch.data(), watch.size(), 0), static_cast<ssize_t>(watch.size()));
  ASSERT_TRUE(Eventually([&] { return capped->http_stats().streams == 1; }));
  auto full = post("Ledger/WatchEntries", json{{"account", "m1"}, {"idleSeconds", 1}});
  EXPECT_EQ(full->status, 429) << full->body;
  EXPECT_EQ(json::parse(full->body).value("reason", ""), "HTTP_STREAMS_FULL") << full->body;
  auto who = post("Admin/WhoAmI", json::object());  // unary calls still have a thread
  EXPECT_EQ(who->status, 200) << who->body;
  // The watcher leaves with its first lines unread (a reset); the next entry's write fails, the
  // stream ends and its place frees.
  ::close(fd);
  token = town;
  auto again = post("Ledger/Earn", json{{"requestId", "e-2"},
                                        {"issuer", "issuer:town"},
                                        {"member", "m1"},
                                        {"asset", "POINTS"},
                                        {"amount", "1"},
                                        {"reason", "进步明显"}});
  ASSERT_EQ(again->status, 200) << again->body;
  token = admin;
  ASSERT_TRUE(Eventually([&] { return capped->http_stats().streams == 0; }));
  EXPECT_EQ(
      post("Ledger/WatchEntries", json{{"account", "m1"}, {"afterSeq", head}, {"idleSeconds", 1}})
          ->status,
      200);
  client.stop();
  capped.reset();
}

// Every RPC of every service, by every role and with no token, answers the same over HTTP as
// over gRPC: the same code and the same reason. The request is the empty message ({} over
// HTTP), which each RPC refuses or answers by its own rules (a request id missing, a role not
// allowed, an account not named, ...), so the role checks and the refusal table of the whole API
// are compared without a handler per RPC. WatchEntries, which never ends on its own, is asked to
// end after a second without news ({"idleSeconds": 1} on both).
TEST_F(HttpTest, EveryRpcAnswersTheSameOverHttpAsOverGrpcForEveryRole) {
  for (const auto& [account, kind] :
       {std::pair{"issuer:town", "ACCOUNT_KIND_ISSUER"},
        std::pair{"store:main", "ACCOUNT_KIND_STORE"}, std::pair{"m1", "ACCOUNT_KIND_MEMBER"}}) {
    auto [status, body] = Post("Ledger/OpenAccount",
                               json{{"requestId", Cat("o-", account)},
                                    {"account", account},
                                    {"kind", kind},
                                    {"displayName", "账户"}},
                               admin_);
    ASSERT_EQ(status, 200) << body.dump();
  }
  std::map<std::string, std::string> tokens = {{"admin", admin_}, {"none", ""}};
  for (const auto& [name, role, bound] :
       {std::tuple{"town", "ROLE_ISSUER", "issuer:town"},
        std::tuple{"till", "ROLE_TERMINAL", "store:main"}, std::tuple{"phone", "ROLE_MEMBER", "m1"},
        std::tuple{"auditor", "ROLE_AUDITOR", ""}, std::tuple{"approver", "ROLE_APPROVER", ""}}) {
    json request = {{"requestId", Cat("p-", name)}, {"principal", name}, {"role", role}};
    if (std::string(bound).size() > 0) request["accounts"] = {bound};
    auto [status, made] = Post("Admin/CreatePrincipal", request, admin_);
    ASSERT_EQ(status, 200) << made.dump();
    tokens[name] = made.value("token", "");
  }
  testing::Client client(server_->port());
  grpc::GenericStub generic(client.channel);
  // One call over gRPC with the empty request: its status (a stream is read to its end).
  auto over_grpc = [&](const google::protobuf::MethodDescriptor& method,
                       const std::string& token) -> grpc::Status {
    auto context = Ctx(token);
    if (method.name() == "ReadJournal") {
      auto reader = client.audit->ReadJournal(context.get(), v1::ReadJournalRequest());
      for (v1::ReadJournalResponse message; reader->Read(&message);) {
      }
      return reader->Finish();
    }
    if (method.name() == "Verify") {
      auto reader = client.audit->Verify(context.get(), v1::VerifyRequest());
      for (v1::VerifyEvent event; reader->Read(&event);) {
      }
      return reader->Finish();
    }
    if (method.name() == "WatchEntries") {
      v1::WatchEntriesRequest watch;
      watch.set_idle_seconds(1);
      auto reader = client.ledger->WatchEntries(context.get(), watch);
      for (v1::WatchEntriesResponse message; reader->Read(&message);) {
      }
      return reader->Finish();
    }
    EXPECT_FALSE(method.server_streaming()) << method.full_name() << ": a stream not read here";
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(context.get(), Cat("/", method.service()->full_name(), "/", method.name()),
                      grpc::StubOptions(), &request, &response,
                      [&done](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
  };
  const auto* file =
      google::protobuf::DescriptorPool::generated_pool()->FindFileByName("lovebank/v1/api.proto");
  ASSERT_NE(file, nullptr);
  int compared = 0;
  for (int s = 0; s < file->service_count(); ++s) {
    const google::protobuf::ServiceDescriptor& service = *file->service(s);
    for (int m = 0; m < service.method_count(); ++m) {
      const google::protobuf::MethodDescriptor& method = *service.method(m);
      for (const auto& [role, token] : tokens) {
        SCOPED_TRACE(Cat(service.name(), "/", method.name(), " as ", role));
        const grpc::Status grpc_status = over_grpc(method, token);
        httplib::Headers headers;
        if (!token.empty()) headers.emplace("Authorization", Cat("Bearer ", token));
        auto http = http_->Post(Cat("/v1/", service.name(), "/", method.name()).c_str(), headers,
                                method.name() == "WatchEntries" ? R"({"idleSeconds": 1})" : "{}",
                                "application/json");
        ASSERT_TRUE(http);
        if (grpc_status.ok()) {
          EXPECT_EQ(http->status, 200) << http->body.substr(0, 300);
          // A stream that failed after its first line ends with an error line instead.
          EXPECT_EQ(http->body.find("\"reason\""), std::string::npos) << http->body.substr(0, 300);
        } else {
          ASSERT_NE(http->status, 200) << grpc_status.error_message();
          const json body = json::parse(http->body);
          const std::string reason(
              ReasonName(static_cast<Reason>(service::ErrorDetailOf(grpc_status).reason())));
          EXPECT_EQ(body.value("reason", ""), reason) << body.dump();
          EXPECT_EQ(body.value("message", ""), grpc_status.error_message());
        }
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 7 * 56);  // every RPC (56 today) by seven callers
}

}  // namespace
}  // namespace lovebank
