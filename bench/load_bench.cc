// lovebank_load: the gRPC load generator (issue #4). N concurrent clients send member-to-member
// transfers over M accounts for a fixed duration, unary or in SubmitBatch batches, and it reports
// committed (durable, acknowledged) transfers per second and latency percentiles.
//
//   lovebank_load --mode unary --clients 64 --accounts 1000 --seconds 10
//   lovebank_load --mode batch --clients 4 --batch 2048 --accounts 1000 --seconds 10
//   lovebank_load --mode basket --clients 64 --accounts 1000 --seconds 10   (5-line checkouts)
//   lovebank_load --server 127.0.0.1:50051 --admin-token-file var/ledger/admin.token ...
//   lovebank_load --transport http --mode unary --clients 16 ...   (POST /v1/Ledger/Transfer, JSON)
//
// Without --server it starts lovebankd in-process on a loopback port with a temp data dir. With
// --server it sets its programme up through the API with the admin token (accounts "load:m<i>",
// one MEMBER principal per account), so point it at a scratch ledger.
//
// Each client is one outstanding call at a time: a thread making blocking calls, as a till or a
// phone does (--client-api blocking), or the next call sent from the last one's callback on
// gRPC's threads, no thread per client (--client-api callback). The client shares this 2-core
// machine with the server, so the default (auto) is the lighter of the two at each concurrency,
// as pgbench's -j is: measured (issue #29, docs/benchmarks.md), one blocking client costs
// ~70-90 µs of CPU and 1.4 context switches per call against the callback API's ~120-140 µs
// and 2.4, while from 4 clients on the callback API's threads serve several calls per wake-up
// and the blocking threads cost more (64 clients: 10.7k against 13.7-14.4k transfers/s). A
// call's latency is from send to response. Calls that end in the first --warmup seconds are not
// counted. Over HTTP (--transport http, unary transfers) each client is a thread with one
// keep-alive connection (cpp-httplib's blocking client, as a phone's or a browser's one request at
// a time), against lovebankd's HTTP/JSON listener (in-process with --http-threads workers, or
// --http-server): the same transfers, the same setup over gRPC, the same counting.

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "lovebank/v1/api.grpc.pb.h"
#include "service/server.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::string mode = "unary";
  std::string transport = "grpc";
  // gRPC clients: "blocking" (a thread each), "callback", or "auto": blocking for one client,
  // callback for more (the lighter of the two at each, measured: see the comment at the top).
  std::string client_api = "auto";
  std::string http_server;  // with --server: lovebankd's HTTP listener, host:port
  int http_threads = 64;    // in-process: the HTTP listener's workers
  int clients = 64;
  int accounts = 1000;
  int batch = 1024;
  double seconds = 10;
  double warmup = 2;
  int channels = 8;
  std::string server;
  std::string admin_token_file;
  std::string log_level = "warn";
  std::string terminal_token;  // basket mode: the store terminal's token
  // Against bench/grpc_floor.cc's server, which answers Transfer and nothing else: no setup, the
  // same transfers with stand-in tokens (the floor reads neither).
  bool no_setup = false;
  // Distinguishes this run's request ids from earlier runs against the same server.
  std::string run =
      "t" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
};

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token, int timeout_s = 60) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
  return context;
}

void Check(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return;
  std::cerr << "lovebank_load: " << what << ": " << status.error_message() << "\n";
  std::exit(2);
}

constexpr int kSetupChunk = 4096;

std::string Account(int i) { return "load:m" + std::to_string(i); }

// The basket mode's store and its five items (issue #6: a 5-line basket at a terminal).
constexpr const char* kStore = "load:store";
constexpr const char* kSkus[] = {"LOAD_RICE", "LOAD_OIL", "LOAD_SOAP", "LOAD_PEN", "LOAD_BOOK"};

// Opens the issuer and the members, funds every member with 1,000,000 POINTS, and creates one
// MEMBER principal per account. Returns the members' tokens.
std::vector<std::string> SetUp(const std::shared_ptr<grpc::Channel>& channel,
                               const std::string& admin, int accounts, bool shop,
                               std::string* terminal_token) {
  auto ledger = lovebank::v1::Ledger::NewStub(channel);
  auto admin_stub = lovebank::v1::Admin::NewStub(channel);
  const std::string run =
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  // A SubmitBatch holds at most 8,192 commands (BATCH_SIZE_INVALID past it): setup sends its
  // commands in chunks of kSetupChunk, so --accounts goes to its 100,000.
  auto submit = [&](const lovebank::v1::SubmitBatchRequest& request, const std::string& token,
                    const char* what) {
    for (int first = 0; first < request.commands_size(); first += kSetupChunk) {
      lovebank::v1::SubmitBatchRequest chunk;
      const int end = std::min(request.commands_size(), first + kSetupChunk);
      for (int i = first; i < end; ++i) *chunk.add_commands() = request.commands(i);
      lovebank::v1::SubmitBatchResponse response;
      Check(ledger->SubmitBatch(Ctx(token).get(), chunk, &response), what);
      for (const auto& result : response.results()) {
        if (result.reason() != lovebank::v1::REASON_OK &&
            result.reason() != lovebank::v1::REASON_ACCOUNT_EXISTS) {
          std::cerr << "lovebank_load: setup (" << what << "): " << result.message() << "\n";
          std::exit(2);
        }
      }
    }
  };
  lovebank::v1::SubmitBatchRequest open;
  auto* issuer = open.add_commands()->mutable_open_account();
  issuer->set_request_id("load:open:issuer:" + run);
  issuer->set_account("load:issuer");
  issuer->set_kind(lovebank::v1::ACCOUNT_KIND_ISSUER);
  issuer->set_display_name("压测发行方");
  auto* budget = issuer->add_budgets();
  budget->set_asset("POINTS");
  budget->set_amount("999999999999");
  if (shop) {
    auto* store = open.add_commands()->mutable_open_account();
    store->set_request_id("load:open:store:" + run);
    store->set_account(kStore);
    store->set_kind(lovebank::v1::ACCOUNT_KIND_STORE);
    store->set_display_name("压测爱心超市");
    auto* goods = open.add_commands()->mutable_open_account();
    goods->set_request_id("load:open:goods:" + run);
    goods->set_account("load:goods");
    goods->set_kind(lovebank::v1::ACCOUNT_KIND_ISSUER);
    goods->set_display_name("压测捐赠物资");
  }
  for (int i = 0; i < accounts; ++i) {
    auto* member = open.add_commands()->mutable_open_account();
    member->set_request_id("load:open:" + std::to_string(i) + ":" + run);
    member->set_account(Account(i));
    member->set_kind(lovebank::v1::ACCOUNT_KIND_MEMBER);
    member->set_display_name("志愿者" + std::to_string(i));
  }
  submit(open, admin, "opening the accounts with the admin token");

  auto grant = [&](const std::string& name, lovebank::v1::Role role, const std::string& account) {
    lovebank::v1::CreatePrincipalRequest request;
    request.set_request_id("load:grant:" + name + ":" + run);
    request.set_principal(name + ":" + run);
    request.set_role(role);
    request.add_accounts(account);
    lovebank::v1::CreatePrincipalResponse response;
    Check(admin_stub->CreatePrincipal(Ctx(admin).get(), request, &response),
          "creating principal " + request.principal() + " with the admin token");
    return response.token();
  };
  const std::string issuer_token = grant("load-issuer", lovebank::v1::ROLE_ISSUER, "load:issuer");
  lovebank::v1::SubmitBatchRequest fund;
  for (int i = 0; i < accounts; ++i) {
    auto* earn = fund.add_commands()->mutable_earn();
    earn->set_request_id("load:fund:" + std::to_string(i) + ":" + run);
    earn->set_issuer("load:issuer");
    earn->set_member(Account(i));
    earn->set_asset("POINTS");
    earn->set_amount("1000000");
    earn->set_reason("压测");
  }
  submit(fund, issuer_token, "funding the members with the load issuer's token");
  if (shop) {
    auto supermarket = lovebank::v1::Supermarket::NewStub(channel);
    int price = 1;
    for (const char* sku : kSkus) {
      lovebank::v1::SetItemRequest item;
      item.set_request_id(std::string("load:item:") + sku + ":" + run);
      item.set_store(kStore);
      item.set_sku(sku);
      item.set_name(std::string("压测商品 ") + sku);
      item.set_unit("件");
      item.set_price(std::to_string(price++));
      item.set_active(true);
      lovebank::v1::Receipt receipt;
      Check(supermarket->SetItem(Ctx(admin).get(), item, &receipt), "set item");
      lovebank::v1::StockRequest stock;
      stock.set_request_id(std::string("load:stock:") + sku + ":" + run);
      stock.set_store(kStore);
      stock.set_issuer("load:goods");
      stock.set_sku(sku);
      stock.set_quantity("100000000");
      stock.set_reason("压测");
      Check(supermarket->ReceiveStock(Ctx(admin).get(), stock, &receipt), "receive stock");
    }
    *terminal_token = grant("load-till", lovebank::v1::ROLE_TERMINAL, kStore);
  }

  std::vector<std::string> tokens(accounts);
  std::vector<std::thread> workers;
  std::atomic<int> next{0};
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < accounts; i = next++) {
        tokens[i] = grant("load-m" + std::to_string(i), lovebank::v1::ROLE_MEMBER, Account(i));
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return tokens;
}

struct Stats {
  std::mutex mu;
  std::vector<double> latencies_us;  // of calls that ended inside the measured window
  std::uint64_t committed = 0;       // transfers acknowledged inside the window
  std::uint64_t refused = 0;
  std::uint64_t failed_calls = 0;
};

// One client: one outstanding call at a time, the next sent from the previous one's callback.
class LoadClient {
 public:
  LoadClient(const Config& config, std::shared_ptr<grpc::Channel> channel,
             const std::vector<std::string>& tokens, int id, Clock::time_point measure_from,
             Clock::time_point stop_at, Stats& stats, std::atomic<int>& running)
      : config_(config),
        stub_(lovebank::v1::Ledger::NewStub(channel)),
        supermarket_(lovebank::v1::Supermarket::NewStub(channel)),
        tokens_(tokens),
        id_(id),
        random_(static_cast<unsigned>(id) * 7919u + 1),
        measure_from_(measure_from),
        stop_at_(stop_at),
        stats_(stats),
        running_(running) {}

  // Callback API: the next call is sent from the previous one's callback, on gRPC's threads.
  void Start() { Next(); }

  // Blocking: the calling thread sends one call after another until the stop time.
  void RunBlocking() {
    while (Clock::now() < stop_at_) {
      const std::shared_ptr<Call> call = Prepare();
      grpc::Status status;
      if (config_.mode == "basket") {
        status = supermarket_->Checkout(call->context.get(), call->checkout, &call->receipt);
      } else if (config_.mode == "unary") {
        status = stub_->Transfer(call->context.get(), call->transfer, &call->receipt);
      } else {
        status = stub_->SubmitBatch(call->context.get(), call->batch, &call->results);
      }
      Finish(*call, status);
    }
    running_.fetch_sub(1);
  }

 private:
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    lovebank::v1::TransferRequest transfer;
    lovebank::v1::CheckoutRequest checkout;
    lovebank::v1::Receipt receipt;
    lovebank::v1::SubmitBatchRequest batch;
    lovebank::v1::SubmitBatchResponse results;
    Clock::time_point sent;
  };

  void FillTransfer(int from, lovebank::v1::TransferRequest* transfer) {
    int to = static_cast<int>(random_() % (tokens_.size() - 1));
    if (to >= from) ++to;
    transfer->set_request_id(config_.run + "-" + std::to_string(id_) + "-" +
                             std::to_string(sequence_++));
    transfer->set_from(Account(from));
    transfer->set_to(Account(to));
    transfer->set_asset("POINTS");
    transfer->set_amount("0.01");
  }

  // The next call's request, its context and its send time.
  std::shared_ptr<Call> Prepare() {
    auto call = std::make_shared<Call>();
    const int from = static_cast<int>(random_() % tokens_.size());
    call->context = Ctx(config_.mode == "basket" ? config_.terminal_token : tokens_[from]);
    if (config_.mode == "basket") {
      lovebank::v1::CheckoutRequest& checkout = call->checkout;
      checkout.set_request_id(config_.run + "-" + std::to_string(id_) + "-" +
                              std::to_string(sequence_++));
      checkout.set_member(Account(from));
      checkout.set_store(kStore);
      for (const char* sku : kSkus) {
        auto* line = checkout.add_lines();
        line->set_sku(sku);
        line->set_quantity(1);
      }
    } else if (config_.mode == "unary") {
      FillTransfer(from, &call->transfer);
    } else {
      for (int i = 0; i < config_.batch; ++i) {
        FillTransfer(from, call->batch.add_commands()->mutable_transfer());
      }
    }
    call->sent = Clock::now();
    return call;
  }

  void Next() {
    if (Clock::now() >= stop_at_) {
      running_.fetch_sub(1);
      return;
    }
    const std::shared_ptr<Call> call = Prepare();
    const auto done = [this, call](grpc::Status status) {
      Finish(*call, status);
      Next();
    };
    if (config_.mode == "basket") {
      supermarket_->async()->Checkout(call->context.get(), &call->checkout, &call->receipt, done);
    } else if (config_.mode == "unary") {
      stub_->async()->Transfer(call->context.get(), &call->transfer, &call->receipt, done);
    } else {
      stub_->async()->SubmitBatch(call->context.get(), &call->batch, &call->results, done);
    }
  }

  // Counts a finished call (a batch's transfers one by one) when it ended inside the window.
  void Finish(const Call& call, const grpc::Status& status) {
    std::uint64_t ok = status.ok() ? 1 : 0;
    std::uint64_t refused = status.ok() ? 0 : 1;
    if (config_.mode == "batch") {
      ok = 0;
      for (const auto& result : call.results.results()) {
        ok += result.reason() == lovebank::v1::REASON_OK ? 1 : 0;
      }
      refused = status.ok() ? call.results.results_size() - ok : 0;
    }
    const auto now = Clock::now();
    if (now >= measure_from_ && now < stop_at_) {
      std::lock_guard<std::mutex> lock(stats_.mu);
      stats_.latencies_us.push_back(
          std::chrono::duration<double, std::micro>(now - call.sent).count());
      stats_.committed += ok;
      stats_.refused += refused;
      stats_.failed_calls += status.ok() ? 0 : 1;
    }
  }

  const Config& config_;
  std::unique_ptr<lovebank::v1::Ledger::Stub> stub_;
  std::unique_ptr<lovebank::v1::Supermarket::Stub> supermarket_;
  const std::vector<std::string>& tokens_;
  const int id_;
  std::minstd_rand random_;
  std::uint64_t sequence_ = 0;
  const Clock::time_point measure_from_;
  const Clock::time_point stop_at_;
  Stats& stats_;
  std::atomic<int>& running_;
};

// One HTTP client: a thread, one keep-alive connection, one request at a time.
void RunHttpClient(const Config& config, const std::string& host, int port,
                   const std::vector<std::string>& tokens, int id, Clock::time_point measure_from,
                   Clock::time_point stop_at, Stats& stats) {
  httplib::Client client(host, port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // as browsers do: the body is not held behind the headers
  client.set_read_timeout(60, 0);
  std::minstd_rand random(static_cast<unsigned>(id) * 7919u + 1);
  const int accounts = static_cast<int>(tokens.size());
  for (std::uint64_t sequence = 0; Clock::now() < stop_at; ++sequence) {
    const int from = static_cast<int>(random() % accounts);
    int to = static_cast<int>(random() % (accounts - 1));
    if (to >= from) ++to;
    const std::string body = "{\"requestId\":\"" + config.run + "-h" + std::to_string(id) + "-" +
                             std::to_string(sequence) + "\",\"from\":\"" + Account(from) +
                             "\",\"to\":\"" + Account(to) +
                             "\",\"asset\":\"POINTS\",\"amount\":\"0.01\"}";
    const httplib::Headers headers = {{"Authorization", "Bearer " + tokens[from]}};
    const auto sent = Clock::now();
    auto result = client.Post("/v1/Ledger/Transfer", headers, body, "application/json");
    const auto now = Clock::now();
    const bool ok = result && result->status == 200;
    if (now >= measure_from && now < stop_at) {
      std::lock_guard<std::mutex> lock(stats.mu);
      stats.latencies_us.push_back(std::chrono::duration<double, std::micro>(now - sent).count());
      stats.committed += ok ? 1 : 0;
      stats.refused += result && !ok ? 1 : 0;
      stats.failed_calls += result ? 0 : 1;
    }
  }
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * values.size()));
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return values[index];
}

int Main(int argc, char** argv) {
  Config config;
  CLI::App app{"gRPC load generator for lovebankd: committed transfers/s and latency.",
               "lovebank_load"};
  app.add_option("--mode", config.mode,
                 "unary (transfers) | batch (SubmitBatch of transfers) | basket (5-line checkouts)")
      ->check(CLI::IsMember({"unary", "batch", "basket"}))
      ->capture_default_str();
  app.add_option("--transport", config.transport,
                 "grpc | http (lovebankd's HTTP/JSON listener; unary transfers only)")
      ->check(CLI::IsMember({"grpc", "http"}))
      ->capture_default_str();
  app.add_option("--http-server", config.http_server,
                 "with --server and --transport http: lovebankd's HTTP listener, host:port");
  app.add_option("--http-threads", config.http_threads,
                 "in-process with --transport http: the HTTP listener's workers")
      ->capture_default_str();
  app.add_option("--clients", config.clients, "concurrent clients")->capture_default_str();
  app.add_option("--client-api", config.client_api,
                 "gRPC clients: blocking (a thread each, one call at a time), callback (the next "
                 "call sent from the last one's callback, on gRPC's threads), or auto (blocking "
                 "for one client, callback for more)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "blocking", "callback"}));
  app.add_option("--accounts", config.accounts, "member accounts")
      ->capture_default_str()
      ->check(CLI::Range(2, 100000));
  app.add_option("--batch", config.batch, "transfers per SubmitBatch (batch mode)")
      ->capture_default_str()
      ->check(CLI::Range(1, 8192));
  app.add_option("--seconds", config.seconds, "measured duration")->capture_default_str();
  app.add_option("--warmup", config.warmup, "seconds before measuring")->capture_default_str();
  app.add_option("--channels", config.channels,
                 "gRPC channels (TCP connections) shared by the clients")
      ->capture_default_str();
  app.add_option("--server", config.server, "lovebankd address (default: start one in-process)");
  app.add_option("--admin-token-file", config.admin_token_file, "with --server: the admin token");
  app.add_option("--log-level", config.log_level, "in-process server's log level")
      ->capture_default_str();
  app.add_flag(
      "--no-setup", config.no_setup,
      "with --server and --mode unary: send the transfers without any setup (against "
      "bench/grpc_floor.cc's server, gRPC's floor: bench/compare.sh --sides pg,grpc,floor)");
  CLI11_PARSE(app, argc, argv);
  const bool http = config.transport == "http";
  if (config.no_setup && (config.server.empty() || config.mode != "unary" || http)) {
    std::cerr << "lovebank_load: --no-setup is for --server with --mode unary over gRPC\n";
    return 2;
  }
  if (http && config.mode != "unary") {
    std::cerr << "lovebank_load: --transport http measures unary transfers (--mode unary)\n";
    return 2;
  }
  if (http && !config.server.empty() && config.http_server.empty()) {
    std::cerr << "lovebank_load: --transport http with --server needs --http-server\n";
    return 2;
  }
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as lovebankd does

  std::unique_ptr<lovebank::service::Server> server;
  std::filesystem::path temp;
  std::string address = config.server;
  std::string admin_token_file = config.admin_token_file;
  if (address.empty()) {
    temp = std::filesystem::temp_directory_path() / ("lovebank-load-" + std::to_string(::getpid()));
    lovebank::service::ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.data_dir = temp.string();
    options.init = true;
    options.log_level = *lovebank::service::ParseLogLevel(config.log_level);
    if (http) {
      options.http_listen_address = "127.0.0.1:0";
      options.http_threads = config.http_threads;
      options.http_connections_max = std::max(64, config.clients + 8);
    }
    auto started = lovebank::service::Server::Start(options);
    if (!started.ok()) {
      std::cerr << "lovebank_load: " << started.status() << "\n";
      return 2;
    }
    server = std::move(*started);
    address = "127.0.0.1:" + std::to_string(server->port());
    admin_token_file = server->admin_token_file();
    if (http) config.http_server = "127.0.0.1:" + std::to_string(server->http_port());
  }
  std::string admin;
  if (!config.no_setup) std::getline(std::ifstream(admin_token_file), admin);
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < config.channels; ++c) {
    arguments.SetInt("lovebank.load.channel", c);  // distinct args: one connection each
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments));
  }
  const auto setup_start = Clock::now();
  const std::vector<std::string> tokens =
      config.no_setup ? std::vector<std::string>(config.accounts, "floor")
                      : SetUp(channels[0], admin, config.accounts, config.mode == "basket",
                              &config.terminal_token);
  std::cerr << "lovebank_load: " << config.accounts << " accounts and principals set up in "
            << std::chrono::duration<double>(Clock::now() - setup_start).count() << " s\n";

  Stats stats;
  std::atomic<int> running{config.clients};
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(config.warmup));
  const auto stop_at = measure_from + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(config.seconds));
  std::vector<std::unique_ptr<LoadClient>> clients;
  if (http) {
    const std::size_t colon = config.http_server.rfind(':');
    const std::string host = config.http_server.substr(0, colon);
    const int port = std::stoi(config.http_server.substr(colon + 1));
    std::vector<std::thread> threads;
    for (int i = 0; i < config.clients; ++i) {
      threads.emplace_back(RunHttpClient, std::cref(config), host, port, std::cref(tokens), i,
                           measure_from, stop_at, std::ref(stats));
    }
    for (auto& thread : threads) thread.join();
  } else {
    for (int i = 0; i < config.clients; ++i) {
      clients.push_back(std::make_unique<LoadClient>(config, channels[i % channels.size()], tokens,
                                                     i, measure_from, stop_at, stats, running));
    }
    if (config.client_api == "blocking" || (config.client_api == "auto" && config.clients == 1)) {
      std::vector<std::thread> threads;
      for (auto& client : clients) threads.emplace_back([&client] { client->RunBlocking(); });
      for (auto& thread : threads) thread.join();
    } else {
      for (auto& client : clients) client->Start();
      while (running.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::vector<double>& latencies = stats.latencies_us;
  const double per_second = static_cast<double>(stats.committed) / config.seconds;
  const double p50 = Percentile(latencies, 0.50) / 1000;
  const double p99 = Percentile(latencies, 0.99) / 1000;
  const double p999 = Percentile(latencies, 0.999) / 1000;
  std::printf(
      "transport=%s mode=%s clients=%d accounts=%d batch=%d seconds=%.0f  committed=%llu  "
      "tx/s=%.0f  "
      "calls=%zu  latency_ms p50=%.2f p99=%.2f p999=%.2f  refused=%llu failed_calls=%llu\n",
      config.transport.c_str(), config.mode.c_str(), config.clients, config.accounts,
      config.mode == "batch" ? config.batch : 1, config.seconds,
      static_cast<unsigned long long>(stats.committed), per_second, latencies.size(), p50, p99,
      p999, static_cast<unsigned long long>(stats.refused),
      static_cast<unsigned long long>(stats.failed_calls));
  clients.clear();
  channels.clear();
  server.reset();
  if (!temp.empty()) std::filesystem::remove_all(temp);
  return stats.failed_calls == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
