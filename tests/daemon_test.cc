// lovebankd as a real child process: SIGTERM in the middle of load loses no acknowledged request
// (issue #4), and the journal it leaves audits clean.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "ledger/audit/audit.h"
#include "ledger/journal_format.h"
#include "ledger/strings.h"
#include "tests/daemon_util.h"
#include "tests/fire_util.h"


namespace lovebank {
namespace {

using testing::Ctx;
using testing::Daemon;

TEST(Daemon, SigtermDuringLoadLosesNoAcknowledgedRequest) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  Daemon daemon(data);
  ASSERT_GT(daemon.port(), 0) << daemon.output();
  testing::Client client(daemon.port());
  std::string admin;
  std::getline(std::ifstream(data + "/admin.token"), admin);

  constexpr int kMembers = 8;
  const testing::FireProgramme programme = testing::OpenFireProgramme(client, admin, kMembers);
  ASSERT_FALSE(::testing::Test::HasFailure());
  const std::string token = programme.tokens.at("issuer");

  // 16 clients earn as fast as they can; every acknowledged receipt is recorded.
  struct Ack {
    std::string request_id;
    std::uint64_t seq;
    std::string hash;
  };
  std::mutex mu;
  std::vector<Ack> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> refused_after_stop{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t) {
    clients.emplace_back([&, t] {
      testing::Client own(daemon.port());
      for (int i = 0; !stop.load(); ++i) {
        v1::EarnRequest request;
        request.set_request_id(Cat("load-", t, "-", i));
        request.set_issuer("issuer:town");
        request.set_member(Cat("m", (t + i) % kMembers));
        request.set_asset("POINTS");
        request.set_amount("1.25");
        request.set_reason("进步明显");
        v1::Receipt receipt;
        const grpc::Status status = own.ledger->Earn(Ctx(token).get(), request, &receipt);
        if (status.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked.push_back({request.request_id(), receipt.seq(), receipt.hash()});
        } else {
          refused_after_stop.fetch_add(1);
          if (status.error_code() == grpc::StatusCode::UNAVAILABLE) break;  // server gone
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const int wait_status = daemon.Stop(SIGTERM);
  stop = true;
  for (auto& thread : clients) thread.join();
  ASSERT_TRUE(WIFEXITED(wait_status)) << daemon.output();
  EXPECT_EQ(WEXITSTATUS(wait_status), 0) << daemon.output();
  EXPECT_NE(daemon.output().find("stopped cleanly"), std::string::npos) << daemon.output();
  ASSERT_GT(acked.size(), 100u) << "the load did not get going";

  // Every acknowledged receipt is in the journal with the same seq and hash.
  {
    auto ledger = testing::OpenLedger(data + "/db");
    for (const Ack& ack : acked) {
      auto entry = ledger->GetEntryByRequestId(ack.request_id);
      ASSERT_TRUE(entry.ok()) << ack.request_id << ": " << entry.status();
      EXPECT_EQ(entry->seq, ack.seq);
      EXPECT_EQ(HashToHex(entry->hash), ack.hash);
    }
  }
  StoreOptions options;
  options.read_only = true;
  auto store = Store::Open(data + "/db", options);
  ASSERT_TRUE(store.ok());
  auto source = audit::StoreSource(**store);
  ASSERT_TRUE(source.ok());
  auto report = audit::Run(**source, store->get(), {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean());
  std::cout << acked.size() << " acknowledged earns survived SIGTERM; " << refused_after_stop
            << " calls refused while stopping\n";
}

}  // namespace
}  // namespace lovebank
