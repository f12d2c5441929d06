// Races over the wire (issue #8 item 3): 64 gRPC clients at once against a real server on
// loopback — half spend from one hot account while issuers top it up, half pass points around a
// ring of three members — with unary calls and with SubmitBatch (all-or-nothing or not). Then:
// a seq-order replay of every acknowledged command never overdraws anyone and gives exactly the
// server's balances, which sum to zero; the audit is clean.

#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "ledger/strings.h"
#include "service/server.h"
#include "tests/fire_util.h"

namespace lovebank {
namespace {

using testing::CommandKind;
using testing::FireCommand;

constexpr int kClients = 64;
constexpr int kCallsPerClient = 30;

class HotAccountRace : public ::testing::TestWithParam<const char*> {};

TEST_P(HotAccountRace, SixtyFourClientsNeverOverdrawAndConserveEveryPoint) {
  const std::string mode = GetParam();
  const bool batch = mode != "unary";
  testing::TempDir dir;
  service::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = dir.Sub("data");
  options.log_out = std::fopen(dir.Sub("log").c_str(), "a");
  options.log_level = service::LogLevel::kWarn;
  auto server = service::Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  testing::Client admin_client((*server)->port());
  std::string admin;
  std::getline(std::ifstream((*server)->admin_token_file()), admin);
  // m0 is the hot account; m1 -> m2 -> m3 -> m1 is the ring.
  testing::FireProgramme programme = testing::OpenFireProgramme(admin_client, admin, 4);
  ASSERT_FALSE(::testing::Test::HasFailure());

  std::mutex mu;
  std::vector<std::unique_ptr<FireCommand>> commands;
  auto keep = [&](std::vector<std::unique_ptr<FireCommand>>& made) {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& command : made) commands.push_back(std::move(command));
  };
  // Opening balances: 200.00 for the hot account, 100.00 for each ring member.
  {
    std::vector<std::unique_ptr<FireCommand>> seed;
    for (int m = 0; m < 4; ++m) {
      auto command = std::make_unique<FireCommand>();
      command->request_id = Cat("seed-", m);
      command->from = "issuer:town";
      command->to = testing::FireProgramme::Member(m);
      command->cents = m == 0 ? 20000 : 10000;
      ASSERT_TRUE(testing::Send(admin_client, programme.tokens["issuer"], {command.get()}, false));
      ASSERT_EQ(command->state, FireCommand::State::kApplied) << command->message;
      seed.push_back(std::move(command));
    }
    keep(seed);
  }

  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
      testing::Client own((*server)->port());
      started.fetch_add(1);
      while (started.load() < kClients) std::this_thread::yield();  // everyone at once
      std::vector<std::unique_ptr<FireCommand>> made;
      for (int call = 0; call < kCallsPerClient; ++call) {
        const int size = batch ? 1 + static_cast<int>(rng() % 4) : 1;
        std::vector<FireCommand*> group;
        for (int k = 0; k < size; ++k) {
          auto command = std::make_unique<FireCommand>();
          command->request_id = Cat(mode, "-", t, "-", call, "-", k);
          if (t % 16 == 0) {  // 4 issuers keep topping the hot account up
            command->kind = CommandKind::kEarn;
            command->from = "issuer:town";
            command->to = "m0";
            command->cents = 100 + static_cast<std::int64_t>(rng() % 900);
          } else if (t < kClients / 2) {  // 28 checkout terminals spend from it
            command->kind = CommandKind::kRedeem;
            command->from = "m0";
            command->to = "store:main";
            command->cents = 100 + static_cast<std::int64_t>(rng() % 900);
          } else {  // 32 members pass points around the ring
            const int from = 1 + t % 3;
            command->kind = CommandKind::kTransfer;
            command->from = testing::FireProgramme::Member(from);
            command->to = testing::FireProgramme::Member(1 + from % 3);
            command->cents = 100 + static_cast<std::int64_t>(rng() % 4900);
          }
          group.push_back(command.get());
          made.push_back(std::move(command));
        }
        const bool answered =
            testing::Send(own, programme.tokens[testing::SenderOf(*group.front())], group, batch,
                          batch && call % 2 == 0);
        EXPECT_TRUE(answered) << "a call went unanswered on a healthy server";
      }
      keep(made);
    });
  }
  for (auto& thread : threads) thread.join();

  std::vector<const FireCommand*> all;
  std::size_t overdraws_refused = 0;
  for (const auto& command : commands) {
    all.push_back(command.get());
    EXPECT_NE(command->state, FireCommand::State::kUnknown) << command->request_id;
    if (command->state == FireCommand::State::kRefused) {
      const bool expected_refusal = command->reason == v1::REASON_INSUFFICIENT_BALANCE ||
                                    command->reason == v1::REASON_BATCH_ABORTED;
      EXPECT_TRUE(expected_refusal) << command->request_id << ": " << command->message;
      if (command->reason == v1::REASON_INSUFFICIENT_BALANCE) ++overdraws_refused;
    }
  }
  const std::size_t applied = testing::CheckAgainstModel(admin_client, admin, 4, all);
  testing::AuditClean(dir.Sub("data/db"));
  // The race was real: both outcomes happened many times.
  EXPECT_GT(overdraws_refused, 50u);
  EXPECT_GT(applied, 500u);
  std::cout << mode << ": " << all.size() << " commands from " << kClients << " clients, "
            << applied << " applied, " << overdraws_refused << " overdrafts refused\n";
  (*server)->Shutdown();
  std::fclose(options.log_out);
}

INSTANTIATE_TEST_SUITE_P(Calls, HotAccountRace, ::testing::Values("unary", "batch"));

}  // namespace
}  // namespace lovebank
