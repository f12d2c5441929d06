#pragma once
// Load under fire (issue #8): a small programme opened over gRPC, money-moving commands sent by
// real clients (unary or SubmitBatch), each command's outcome as the client saw it, and a model
// that replays the acknowledged commands in journal order to check balances, floors and
// conservation against what the server says.

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/service_test_util.h"

namespace lovebank::testing {

// An integer from the environment (a long run's size), or `fallback` when unset or empty.
int EnvInt(const char* name, int fallback);

// issuer:town (a large POINTS budget), store:main, members m0..m<n-1>, and a principal each:
// "issuer" (issuer:town), "terminal" (store:main), "m0".. (their own account).
struct FireProgramme {
  std::map<std::string, std::string> tokens;  // principal -> token
  int members = 0;
  static std::string Member(int m) { return "m" + std::to_string(m); }
};
// Opens it through `client` with the admin token. Request ids are fixed, so a second call on the
// same ledger replays (and still returns the tokens it created only the first time: call once).
FireProgramme OpenFireProgramme(Client& client, const std::string& admin, int members);

enum class CommandKind { kEarn, kRedeem, kTransfer };

// One POINTS movement and what its sender knows about it.
struct FireCommand {
  CommandKind kind = CommandKind::kEarn;
  std::string request_id;
  std::string from;  // issuer:town for an earn
  std::string to;    // store:main for a redemption
  std::int64_t cents = 0;
  // The outcome: unknown until an answer came (the server may have died with it in flight).
  enum class State { kUnknown, kApplied, kRefused } state = State::kUnknown;
  std::uint64_t seq = 0;
  std::string hash;
  int reason = 0;  // v1::Reason when refused
  std::string message;
};

// The principal allowed to send the command (every command of a batch needs the same one).
std::string SenderOf(const FireCommand& command);
v1::BatchCommand ToBatchCommand(const FireCommand& command);
// Sends the commands (one unary call each when `batch` is false, else one SubmitBatch) and records
// each outcome. Transport failures (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) and BUSY leave the
// state kUnknown: the command may or may not be in the journal. Returns false on such a failure.
bool Send(Client& client, const std::string& token, std::vector<FireCommand*> commands, bool batch,
          bool all_or_nothing = false);

// Commands sent together (one unary call, or one SubmitBatch), and sent together again on a retry.
struct FireGroup {
  std::vector<FireCommand*> commands;
  bool batch = false;
  bool all_or_nothing = false;
  int round = 0;  // the crash cycle or fault round that sent it
  bool InDoubt() const;
};

// A random group of the mixed load: earns from issuer:town (40%), redemptions at store:main (30%)
// and member-to-member transfers (30%); half of them SubmitBatches of 1-4 commands, half of those
// all-or-nothing. Request ids are `<prefix>-<k>`. The commands go to `made` (their owner).
FireGroup RandomGroup(std::mt19937& rng, const std::string& prefix, int members, int round,
                      std::vector<std::unique_ptr<FireCommand>>* made);

// The group sent again as it was first sent: copies, so the originals keep their outcomes.
std::vector<FireCommand> Resend(Client& client, const FireProgramme& programme,
                                const FireGroup& group);

// After a restart (a SIGKILL, a storage fault), against the new server:
//  1. every command of round `last_round` that was acknowledged applied is in the journal with the
//     same seq and hash (and a sample of older rounds);
//  2. the groups of that round with a refusal, sent again, get the same outcomes (remembered);
//  3. every group still in doubt is sent again and settles; a second retry replays it.
// Returns the number of groups that were in doubt.
std::size_t CheckAfterRestart(Client& client, const FireProgramme& programme,
                              const std::string& admin, std::vector<FireGroup>& groups,
                              int last_round, std::mt19937& rng);

// Replays the applied commands in seq order from zero balances: no member ever below zero (an
// overdraft would show here even if the final figures looked fine), issuer:town never below its
// budget; then every balance equals the server's and the sum over all accounts is zero. Reports
// failures through gtest; returns the number of commands replayed.
std::size_t CheckAgainstModel(Client& client, const std::string& admin, int members,
                              const std::vector<const FireCommand*>& commands);

// The audit of the data directory's ledger, opened read-only beside the running server: asserts
// it is clean and returns its head seq.
std::uint64_t AuditClean(const std::string& db_dir);

}  // namespace lovebank::testing
