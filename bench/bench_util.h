#pragma once
// Workloads shared by the benchmarks: a funded programme and random member-to-member transfers.

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lovebank/v1/journal.pb.h"

namespace lovebank::bench {

inline v1::Command Command(std::string id) {
  v1::Command command;
  command.set_request_id(std::move(id));
  command.set_actor("bench");
  return command;
}

// Members m<first>..m<first+count-1>, each opened and earning `funding` POINTS from "issuer".
inline std::vector<v1::Command> FundedMembers(int first, int count, const std::string& funding) {
  std::vector<v1::Command> setup;
  for (int i = first; i < first + count; ++i) {
    auto open = Command("open:" + std::to_string(i));
    open.mutable_open_account()->set_account("m" + std::to_string(i));
    open.mutable_open_account()->set_kind(v1::ACCOUNT_KIND_MEMBER);
    open.mutable_open_account()->set_display_name("志愿者" + std::to_string(i));
    setup.push_back(open);
    auto earn = Command("fund:" + std::to_string(i));
    auto* move = earn.mutable_earn();
    move->set_from("issuer");
    move->set_to("m" + std::to_string(i));
    move->set_asset("POINTS");
    move->set_amount(funding);
    setup.push_back(earn);
  }
  return setup;
}

// An issuer "issuer" with a budget of 999,999,999,999 POINTS and members m0..m<members-1>, each
// earning `funding` POINTS.
inline std::vector<v1::Command> FundedProgramme(int members, const std::string& funding) {
  std::vector<v1::Command> setup;
  auto issuer = Command("open:issuer");
  issuer.mutable_open_account()->set_account("issuer");
  issuer.mutable_open_account()->set_kind(v1::ACCOUNT_KIND_ISSUER);
  issuer.mutable_open_account()->set_display_name("镇爱心银行");
  auto* budget = issuer.mutable_open_account()->add_budgets();
  budget->set_asset("POINTS");
  budget->set_amount("999999999999");
  setup.push_back(issuer);
  for (auto& command : FundedMembers(0, members, funding)) setup.push_back(std::move(command));
  return setup;
}

// `count` transfers of 1.25 POINTS (memo 转赠) between two different random members, request
// ids "t<n>" counting from *next_id.
inline std::vector<v1::Command> RandomTransfers(std::size_t count, int members,
                                                std::uint64_t* next_id, std::mt19937* random) {
  std::vector<v1::Command> commands;
  commands.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto command = Command("t" + std::to_string((*next_id)++));
    command.set_memo("转赠");
    auto* move = command.mutable_transfer();
    const int from = static_cast<int>((*random)() % members);
    const int to = (from + 1 + static_cast<int>((*random)() % (members - 1))) % members;
    move->set_from("m" + std::to_string(from));
    move->set_to("m" + std::to_string(to));
    move->set_asset("POINTS");
    move->set_amount("1.25");
    commands.push_back(std::move(command));
  }
  return commands;
}

// CPU seconds (user + system) so far of each thread of this process, summed by thread name
// (/proc/self/task/*/comm; the ledger names its threads lb-sequencer and lb-writer). Linux only;
// resolution one clock tick (10 ms): read it around runs of seconds.
inline std::map<std::string, double> ThreadCpuSecondsByName() {
  std::map<std::string, double> seconds;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    std::string stat;
    std::getline(std::ifstream(task.path() / "stat"), stat);
    // Fields after the ")" that closes the name: state is field 3, utime 14, stime 15.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    seconds[name] += (utime + stime) / tick;
  }
  return seconds;
}

}  // namespace lovebank::bench
