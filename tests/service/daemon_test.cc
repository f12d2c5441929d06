// lovebankd as a real child process: SIGTERM in the middle of load loses no acknowledged request
// (issue #4), and the journal it leaves audits clean.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "ledger/audit/audit.h"
#include "ledger/base/strings.h"
#include "ledger/base/version.h"
#include "ledger/format/journal_format.h"
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
      auto entry = ledger->GetEntryByRequestId("issuer", ack.request_id);
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

struct Exit {
  int code = -1;
  std::string output;  // stdout and stderr
};
// Runs lovebankd with `args` to its exit (at most `seconds`: a server still running then is
// stopped with SIGTERM and reports -1).
Exit RunLovebankd(const std::string& args, int seconds = 20) {
  Exit result;
  std::FILE* pipe =
      ::popen(Cat("timeout ", seconds, " ", LOVEBANKD_PATH, " ", args, " 2>&1").c_str(), "r");
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.code = WIFEXITED(status) && WEXITSTATUS(status) != 124 ? WEXITSTATUS(status) : -1;
  return result;
}

// Issue #28: an operator asks what is installed. --version answers on stdout and exits 0, before
// any option is checked or any directory touched.
TEST(Daemon, VersionPrintsTheVersionAndExitsZero) {
  const Exit version = RunLovebankd("--version");
  EXPECT_EQ(version.code, 0) << version.output;
  EXPECT_EQ(version.output, VersionText("lovebankd") + "\n");
  EXPECT_NE(version.output.find("(commit "), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists("var/ledger"));
}

// Issue #22 item 4: one ledger per address. gRPC's default SO_REUSEPORT let a second lovebankd
// bind a used port and the kernel split the clients between two ledgers.
TEST(Daemon, ASecondServerOnAUsedAddressExitsNamingIt) {
  testing::TempDir dir;
  Daemon first(dir.Sub("first"));
  ASSERT_GT(first.port(), 0) << first.output();
  const std::string address = Cat("127.0.0.1:", first.port());
  const Exit second =
      RunLovebankd(Cat("--init --listen ", address, " --data-dir ", dir.Sub("second")));
  EXPECT_EQ(second.code, 1) << second.output;
  EXPECT_NE(second.output.find("cannot listen on " + address), std::string::npos) << second.output;
  // The first still serves its own ledger.
  testing::Client client(first.port());
  std::string admin;
  std::getline(std::ifstream(dir.Sub("first/admin.token")), admin);
  v1::PrincipalRecord me;
  EXPECT_TRUE(client.admin->WhoAmI(Ctx(admin).get(), {}, &me).ok());
}

// Issue #22 item 5: no silent new ledger. A misspelt --config key or a data directory without a
// ledger (and no --init) exits 2 naming the key or the directory, and creates nothing.
TEST(Daemon, AMisspeltConfigKeyOrAMissingLedgerExitsTwoAndCreatesNothing) {
  testing::TempDir dir;
  for (const std::string key : {"data_dir", "log-levle"}) {
    const std::string config = dir.Sub(key + ".toml");
    std::ofstream(config) << "listen = \"127.0.0.1:0\"\n"
                          << key << " = \"" << dir.Sub("typo") << "\"\n";
    const Exit run = RunLovebankd(Cat("--init --config ", config));
    EXPECT_EQ(run.code, 2) << key << ": " << run.output;
    EXPECT_NE(run.output.find(key), std::string::npos) << run.output;
  }
  const Exit missing =
      RunLovebankd(Cat("--listen 127.0.0.1:0 --data-dir ", dir.Sub("no-such-ledger")));
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_NE(missing.output.find("no ledger in " + dir.Sub("no-such-ledger")), std::string::npos)
      << missing.output;
  EXPECT_NE(missing.output.find("--init"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("no-such-ledger")));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("typo")));
  EXPECT_FALSE(std::filesystem::exists("var/ledger"));  // the default directory, relative
  const Exit clock = RunLovebankd("--init --clock-start 2026-13-01T00:00:00Z --data-dir x");
  EXPECT_EQ(clock.code, 2) << clock.output;

  // With --init a ledger is created; a restart without --init opens it as usual.
  Daemon created(dir.Sub("made"));
  ASSERT_GT(created.port(), 0) << created.output();
  ASSERT_EQ(WEXITSTATUS(created.Stop(SIGTERM)), 0);
  ASSERT_TRUE(std::filesystem::exists(dir.Sub("made/admin.token")));
  const Exit reopened =
      RunLovebankd(Cat("--listen 127.0.0.1:0 --data-dir ", dir.Sub("made")), /*seconds=*/3);
  EXPECT_EQ(reopened.code, -1) << reopened.output;  // served until stopped
  EXPECT_NE(reopened.output.find("listening on port"), std::string::npos) << reopened.output;
  const Exit plain_help = RunLovebankd("--help");
  EXPECT_EQ(plain_help.code, 0);
  EXPECT_NE(plain_help.output.find("--init"), std::string::npos);
}

}  // namespace
}  // namespace lovebank
