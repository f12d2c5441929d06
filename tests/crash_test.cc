// The crash loop (issue #8 item 1): lovebankd as a child process under concurrent gRPC load —
// earns, redemptions and transfers, unary and SubmitBatch — is killed with SIGKILL at a random
// moment, restarted, and checked:
//   - every acknowledged receipt is in the journal with the same seq and hash;
//   - every acknowledged refusal comes back unchanged on a retry (it can never flip);
//   - every command in flight at the kill, retried with its request id, ends exactly once;
//   - replaying the acknowledged commands in seq order gives no overdraft and exactly the
//     server's balances, which sum to zero (nothing half-applied, nothing invented);
//   - the audit of the ledger is clean.
// CTest runs 10 cycles; LOVEBANK_CRASH_CYCLES=N runs more (scripts/crash-loop.sh, recorded in
// docs/reliability.md). LOVEBANK_CRASH_SEED fixes the load's random choices (the kill moments
// still vary with the machine).

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "ledger/strings.h"
#include "tests/daemon_util.h"
#include "tests/fire_util.h"

namespace lovebank {
namespace {

using testing::CommandKind;
using testing::FireCommand;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : std::atoi(value);
}

// Commands sent together (one unary call, or one SubmitBatch) and sent together again on a retry.
struct Group {
  std::vector<FireCommand*> commands;
  bool batch = false;
  bool all_or_nothing = false;
  int cycle = 0;
  bool InDoubt() const {
    for (const FireCommand* command : commands) {
      if (command->state == FireCommand::State::kUnknown) return true;
    }
    return false;
  }
};

// A group sent again got what it got the first time: the same receipts, the same remembered
// refusals. A BATCH_ABORTED command was never decided, so its retry is decided afresh — but inside
// the same all-or-nothing group, whose refused command is remembered, it is never applied.
void ExpectSameOutcomes(const Group& group, const std::vector<FireCommand>& again) {
  ASSERT_EQ(again.size(), group.commands.size());
  for (std::size_t i = 0; i < again.size(); ++i) {
    const FireCommand& first = *group.commands[i];
    SCOPED_TRACE(Cat(first.request_id, " was '", first.message, "' (batch ", group.batch,
                     ", all or nothing ", group.all_or_nothing, "); now '", again[i].message, "'"));
    EXPECT_EQ(again[i].state, first.state);
    if (first.reason != static_cast<int>(v1::REASON_BATCH_ABORTED)) {
      EXPECT_EQ(again[i].reason, first.reason);
    }
    EXPECT_EQ(again[i].seq, first.seq);
    EXPECT_EQ(again[i].hash, first.hash);
  }
}

constexpr int kMembers = 6;
constexpr int kClients = 8;

TEST(CrashLoop, SigkillUnderLoadLosesNothingAcknowledgedAndRetriesSettleExactlyOnce) {
  const int cycles = EnvInt("LOVEBANK_CRASH_CYCLES", 10);
  const unsigned seed = static_cast<unsigned>(EnvInt("LOVEBANK_CRASH_SEED", std::random_device{}()));
  std::cout << "crash loop: " << cycles << " cycles, LOVEBANK_CRASH_SEED=" << seed << "\n";
  std::mt19937 rng(seed);
  testing::TempDir dir;
  const std::string data = dir.Sub("data");

  std::vector<std::unique_ptr<FireCommand>> commands;  // every command ever sent, stable
  std::vector<Group> groups;
  testing::FireProgramme programme;
  std::string admin;
  std::uint64_t acknowledged_total = 0, in_doubt_total = 0, refused_total = 0;

  for (int cycle = 0; cycle <= cycles; ++cycle) {
    SCOPED_TRACE(Cat("cycle ", cycle, " (seed ", seed, ")"));
    testing::Daemon daemon(data);
    ASSERT_GT(daemon.port(), 0) << daemon.output();
    testing::Client client(daemon.port());
    if (cycle == 0) {
      std::getline(std::ifstream(data + "/admin.token"), admin);
      programme = testing::OpenFireProgramme(client, admin, kMembers);
      ASSERT_FALSE(::testing::Test::HasFailure());
    }

    // The same commands sent again as they were sent: copies, so the originals keep their outcome.
    auto resend = [&](const Group& group) {
      std::vector<FireCommand> copies;
      for (const FireCommand* command : group.commands) {
        copies.push_back(*command);
        copies.back().state = FireCommand::State::kUnknown;
      }
      std::vector<FireCommand*> pointers;
      for (FireCommand& copy : copies) pointers.push_back(&copy);
      const std::string token = programme.tokens[testing::SenderOf(copies.front())];
      EXPECT_TRUE(testing::Send(client, token, pointers, group.batch, group.all_or_nothing));
      return copies;
    };
    // 1. What was acknowledged before the kill is there, byte for byte: everything the last cycle
    //    acknowledged, and a sample of the cycles before.
    for (const Group& group : groups) {
      if (group.cycle != cycle - 1 && rng() % 64 != 0) continue;
      for (const FireCommand* command : group.commands) {
        if (command->state != FireCommand::State::kApplied) continue;
        v1::GetEntryRequest request;
        request.set_request_id(command->request_id);
        v1::GetEntryResponse entry;
        const grpc::Status status =
            client.ledger->GetEntry(testing::Ctx(admin).get(), request, &entry);
        ASSERT_TRUE(status.ok()) << command->request_id << " was acknowledged but is gone: "
                                 << status.error_message();
        EXPECT_EQ(entry.seq(), command->seq) << command->request_id;
        EXPECT_EQ(entry.hash(), command->hash) << command->request_id;
      }
    }
    // 2. Acknowledged answers never flip: the last cycle's groups that had a refusal, sent again,
    //    get the same refusals (remembered) and the same receipts.
    for (const Group& group : groups) {
      if (group.cycle != cycle - 1 || group.InDoubt()) continue;
      bool refused = false;
      for (const FireCommand* command : group.commands) {
        refused |= command->state == FireCommand::State::kRefused;
      }
      if (!refused) continue;
      const std::vector<FireCommand> again = resend(group);
      ExpectSameOutcomes(group, again);
    }
    // 3. Commands in flight at the kill: the same request again settles each exactly once, and a
    //    second retry replays the first's outcome.
    for (Group& group : groups) {
      if (!group.InDoubt()) continue;
      ++in_doubt_total;
      const std::string token = programme.tokens[testing::SenderOf(*group.commands.front())];
      ASSERT_TRUE(testing::Send(client, token, group.commands, group.batch, group.all_or_nothing));
      const std::vector<FireCommand> again = resend(group);
      ExpectSameOutcomes(group, again);
    }
    // 4. The model, the server and the audit agree.
    std::vector<const FireCommand*> all;
    for (const auto& command : commands) all.push_back(command.get());
    testing::CheckAgainstModel(client, admin, kMembers, all);
    const std::uint64_t audited = testing::AuditClean(data + "/db");
    v1::GetDigestRequest digest_request;
    v1::GetDigestResponse digest;
    ASSERT_TRUE(client.audit->GetDigest(testing::Ctx(admin).get(), digest_request, &digest).ok());
    EXPECT_EQ(audited, digest.seq());
    ASSERT_FALSE(::testing::Test::HasFailure());
    if (cycle == cycles) break;

    // 5. Load from kClients clients until the kill.
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kClients; ++t) {
      const unsigned thread_seed = static_cast<unsigned>(rng());
      threads.emplace_back([&, t, thread_seed] {
        std::mt19937 local(thread_seed);
        testing::Client own(daemon.port());
        for (int i = 0; !stop.load(); ++i) {
          const int dice = static_cast<int>(local() % 10);
          const int a = static_cast<int>(local() % kMembers);
          const int b = (a + 1 + static_cast<int>(local() % (kMembers - 1))) % kMembers;
          Group group;
          group.cycle = cycle;
          group.batch = dice % 2 == 0;
          group.all_or_nothing = group.batch && local() % 2 == 0;
          const int size = group.batch ? 1 + static_cast<int>(local() % 4) : 1;
          std::vector<std::unique_ptr<FireCommand>> made;
          for (int k = 0; k < size; ++k) {
            auto command = std::make_unique<FireCommand>();
            command->request_id = Cat("crash-", cycle, "-", t, "-", i, "-", k);
            if (dice < 4) {
              command->kind = CommandKind::kEarn;
              command->from = "issuer:town";
              command->to = testing::FireProgramme::Member((a + k) % kMembers);
              command->cents = 100 + static_cast<std::int64_t>(local() % 400);
            } else if (dice < 7) {
              command->kind = CommandKind::kRedeem;
              command->from = testing::FireProgramme::Member(a);
              command->to = "store:main";
              command->cents = 50 + static_cast<std::int64_t>(local() % 750);
            } else {
              command->kind = CommandKind::kTransfer;
              command->from = testing::FireProgramme::Member(a);
              command->to = testing::FireProgramme::Member(b);
              command->cents = 50 + static_cast<std::int64_t>(local() % 550);
            }
            group.commands.push_back(command.get());
            made.push_back(std::move(command));
          }
          const bool answered = testing::Send(
              own, programme.tokens[testing::SenderOf(*group.commands.front())], group.commands,
              group.batch, group.all_or_nothing);
          {
            std::lock_guard<std::mutex> lock(mu);
            for (auto& command : made) commands.push_back(std::move(command));
            groups.push_back(std::move(group));
          }
          if (!answered && stop.load()) break;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 650));
    const int status = daemon.Stop(SIGKILL);
    stop = true;
    for (auto& thread : threads) thread.join();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << daemon.output();
  }
  for (const auto& command : commands) {
    if (command->state == FireCommand::State::kApplied) ++acknowledged_total;
    if (command->state == FireCommand::State::kRefused) ++refused_total;
    EXPECT_NE(command->state, FireCommand::State::kUnknown) << command->request_id;
  }
  std::cout << "crash loop: " << cycles << " SIGKILLs, " << commands.size() << " commands: "
            << acknowledged_total << " applied, " << refused_total << " refused, "
            << in_doubt_total
            << " groups without an answer at a kill (in flight, or sent after it) settled by retry\n";
  EXPECT_GT(in_doubt_total, 0u) << "no kill landed while a call was in flight";
}

}  // namespace
}  // namespace lovebank
