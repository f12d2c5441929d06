// How soon a watching phone learns of a new entry (issue #24: "WatchEntries delivers a new entry
// within a second"): an in-process lovebankd, one watch of m0 over gRPC on loopback, and
// `--entries` earnings to m0 committed one after another; for each, the time from the commit's
// return to the watch receiving it, and from the submit. With `--watchers K`, K more watches
// (one principal each) follow other members, idle, so the cost of many phones shows.
//
//   build-release/bin/watch_bench --entries 500 --watchers 1000

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/bench_util.h"
#include "grpcpp/grpcpp.h"
#include "ledger/base/strings.h"
#include "lovebank/v1/api.grpc.pb.h"
#include "service/server.h"

namespace lovebank {
namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

int Main(int argc, char** argv) {
  CLI::App app("WatchEntries latency");
  int entries = 500;
  int watchers = 0;
  app.add_option("--entries", entries, "earnings to the watched member")->capture_default_str();
  app.add_option("--watchers", watchers, "idle watches of other members")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::string dir =
      std::filesystem::temp_directory_path() / ("watch-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  service::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = dir;
  options.init = true;
  options.log_level = service::LogLevel::kWarn;
  options.watchers_max = static_cast<std::size_t>(watchers) + 8;
  auto server = service::Server::Start(options);
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    return 1;
  }
  std::string admin;
  std::ifstream(dir + "/admin.token") >> admin;
  Ledger& ledger = (*server)->ledger();
  for (const Outcome& outcome : ledger.ExecuteMany(bench::FundedProgramme(watchers + 1, "10"))) {
    if (!outcome.ok()) {
      std::cerr << outcome.message << "\n";
      return 1;
    }
  }
  auto channel =
      grpc::CreateChannel(Cat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials());
  auto stub = v1::Ledger::NewStub(channel);
  auto admin_stub = v1::Admin::NewStub(channel);

  // Idle watches: one principal each (8 per principal at most), each following its own member.
  struct Idle {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::WatchEntriesResponse>> reader;
  };
  std::vector<Idle> idle;
  const std::uint64_t head = ledger.GetHead().seq;
  for (int i = 1; i <= watchers; ++i) {
    v1::CreatePrincipalRequest grant;
    grant.set_request_id(Cat("grant-", i));
    grant.set_principal(Cat("phone-", i));
    grant.set_role(v1::ROLE_MEMBER);
    grant.add_accounts(Cat("m", i));
    v1::CreatePrincipalResponse made;
    if (!admin_stub->CreatePrincipal(Context(admin).get(), grant, &made).ok()) return 1;
    v1::WatchEntriesRequest request;
    request.set_account(Cat("m", i));
    request.set_after_seq(head + 10'000'000);  // nothing old: only what comes (and nothing does)
    Idle watch{Context(made.token()), nullptr};
    watch.reader = stub->WatchEntries(watch.context.get(), request);
    idle.push_back(std::move(watch));
  }

  // The measured watch and its receiving thread.
  std::mutex mu;
  std::condition_variable arrived;
  std::deque<Clock::time_point> received;
  v1::WatchEntriesRequest request;
  request.set_account("m0");
  request.set_after_seq(ledger.GetHead().seq);
  auto context = Context(admin);
  auto reader = stub->WatchEntries(context.get(), request);
  std::thread receiver([&] {
    for (v1::WatchEntriesResponse response; reader->Read(&response);) {
      const auto now = Clock::now();
      std::lock_guard lock(mu);
      received.push_back(now);
      arrived.notify_one();
    }
  });

  std::vector<double> after_commit_ms, after_submit_ms;
  for (int i = 0; i < entries; ++i) {
    auto earn = bench::Command(Cat("earn-", i));
    earn.mutable_earn()->set_from("issuer");
    earn.mutable_earn()->set_to("m0");
    earn.mutable_earn()->set_asset("POINTS");
    earn.mutable_earn()->set_amount("1");
    earn.mutable_earn()->set_reason("进步明显");
    const auto submitted = Clock::now();
    const Outcome outcome = ledger.Execute(earn);
    const auto committed = Clock::now();
    if (!outcome.ok()) {
      std::cerr << outcome.message << "\n";
      return 1;
    }
    std::unique_lock lock(mu);
    arrived.wait(lock, [&] { return !received.empty(); });
    const auto at = received.front();
    received.pop_front();
    after_commit_ms.push_back(
        std::chrono::duration<double, std::milli>(std::max(at, committed) - committed).count());
    after_submit_ms.push_back(std::chrono::duration<double, std::milli>(at - submitted).count());
  }
  context->TryCancel();
  receiver.join();
  reader->Finish();
  for (Idle& watch : idle) watch.context->TryCancel();
  for (Idle& watch : idle) watch.reader->Finish();
  std::printf(
      "entries %d, idle watches %d\n"
      "  commit returned -> watch received: p50 %.3f ms  p99 %.3f ms  max %.3f ms\n"
      "  submitted       -> watch received: p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
      entries, watchers, Percentile(after_commit_ms, 0.5), Percentile(after_commit_ms, 0.99),
      Percentile(after_commit_ms, 1.0), Percentile(after_submit_ms, 0.5),
      Percentile(after_submit_ms, 0.99), Percentile(after_submit_ms, 1.0));
  server->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace lovebank

int main(int argc, char** argv) { return lovebank::Main(argc, argv); }
