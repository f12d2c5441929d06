#include "tests/fire_util.h"

#include <algorithm>
#include <cstdlib>

#include "ledger/audit/audit.h"
#include "ledger/base/strings.h"
#include "ledger/storage/store.h"

namespace lovebank::testing {
namespace {

constexpr const char* kIssuer = "issuer:town";
constexpr const char* kStore = "store:main";
constexpr std::int64_t kBudgetCents = 100'000'000'000;  // 1,000,000,000.00 POINTS

std::string Decimal(std::int64_t cents) {
  const char* sign = cents < 0 ? "-" : "";
  const std::int64_t magnitude = cents < 0 ? -cents : cents;
  const std::int64_t fraction = magnitude % 100;
  return Cat(sign, magnitude / 100, ".", fraction < 10 ? "0" : "", fraction);
}

bool InDoubt(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

}  // namespace

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : std::atoi(value);
}

FireProgramme OpenFireProgramme(Client& client, const std::string& admin, int members) {
  FireProgramme programme;
  programme.members = members;
  auto open = [&](const std::string& account, v1::AccountKind kind) {
    v1::OpenAccountRequest request;
    request.set_request_id("fire-open-" + account);
    request.set_account(account);
    request.set_kind(kind);
    request.set_display_name("爱心 " + account);
    if (kind == v1::ACCOUNT_KIND_ISSUER) {
      auto* budget = request.add_budgets();
      budget->set_asset("POINTS");
      budget->set_amount(Decimal(kBudgetCents));
    }
    v1::Receipt receipt;
    const grpc::Status status = client.ledger->OpenAccount(Ctx(admin).get(), request, &receipt);
    EXPECT_TRUE(status.ok()) << account << ": " << status.error_message();
  };
  auto grant = [&](const std::string& principal, v1::Role role, const std::string& account) {
    v1::CreatePrincipalRequest request;
    request.set_request_id("fire-grant-" + principal);
    request.set_principal(principal);
    request.set_role(role);
    request.add_accounts(account);
    v1::CreatePrincipalResponse response;
    const grpc::Status status = client.admin->CreatePrincipal(Ctx(admin).get(), request, &response);
    EXPECT_TRUE(status.ok()) << principal << ": " << status.error_message();
    programme.tokens[principal] = response.token();
  };
  open(kIssuer, v1::ACCOUNT_KIND_ISSUER);
  open(kStore, v1::ACCOUNT_KIND_STORE);
  grant("issuer", v1::ROLE_ISSUER, kIssuer);
  grant("terminal", v1::ROLE_TERMINAL, kStore);
  for (int m = 0; m < members; ++m) {
    open(FireProgramme::Member(m), v1::ACCOUNT_KIND_MEMBER);
    grant(FireProgramme::Member(m), v1::ROLE_MEMBER, FireProgramme::Member(m));
  }
  return programme;
}

std::string SenderOf(const FireCommand& command) {
  switch (command.kind) {
    case CommandKind::kEarn:
      return "issuer";
    case CommandKind::kRedeem:
      return "terminal";
    case CommandKind::kTransfer:
      return command.from;
  }
  return "";
}

v1::BatchCommand ToBatchCommand(const FireCommand& command) {
  v1::BatchCommand batch;
  const std::string amount = Decimal(command.cents);
  switch (command.kind) {
    case CommandKind::kEarn: {
      auto* earn = batch.mutable_earn();
      earn->set_request_id(command.request_id);
      earn->set_issuer(command.from);
      earn->set_member(command.to);
      earn->set_asset("POINTS");
      earn->set_amount(amount);
      earn->set_reason("进步明显");
      break;
    }
    case CommandKind::kRedeem: {
      auto* redeem = batch.mutable_redeem();
      redeem->set_request_id(command.request_id);
      redeem->set_member(command.from);
      redeem->set_store(command.to);
      redeem->set_asset("POINTS");
      redeem->set_amount(amount);
      redeem->set_memo("大米 5kg ×1");
      break;
    }
    case CommandKind::kTransfer: {
      auto* transfer = batch.mutable_transfer();
      transfer->set_request_id(command.request_id);
      transfer->set_from(command.from);
      transfer->set_to(command.to);
      transfer->set_asset("POINTS");
      transfer->set_amount(amount);
      transfer->set_memo("转赠");
      break;
    }
  }
  return batch;
}

namespace {

void Record(FireCommand* command, grpc::StatusCode code, int reason, const std::string& message,
            const v1::Receipt& receipt) {
  if (code == grpc::StatusCode::OK) {
    command->state = FireCommand::State::kApplied;
    command->seq = receipt.seq();
    command->hash = receipt.hash();
  } else if (!InDoubt(code)) {
    command->state = FireCommand::State::kRefused;
    command->reason = reason;
    command->message = message;
  }
}

}  // namespace

bool Send(Client& client, const std::string& token, std::vector<FireCommand*> commands, bool batch,
          bool all_or_nothing) {
  bool answered = true;
  if (!batch) {
    for (FireCommand* command : commands) {
      const v1::BatchCommand request = ToBatchCommand(*command);
      v1::Receipt receipt;
      auto context = Ctx(token);
      grpc::Status status;
      switch (command->kind) {
        case CommandKind::kEarn:
          status = client.ledger->Earn(context.get(), request.earn(), &receipt);
          break;
        case CommandKind::kRedeem:
          status = client.ledger->Redeem(context.get(), request.redeem(), &receipt);
          break;
        case CommandKind::kTransfer:
          status = client.ledger->Transfer(context.get(), request.transfer(), &receipt);
          break;
      }
      Record(command, status.error_code(), service::ErrorDetailOf(status).reason(),
             status.error_message(), receipt);
      if (InDoubt(status.error_code())) answered = false;
    }
    return answered;
  }
  v1::SubmitBatchRequest request;
  request.set_all_or_nothing(all_or_nothing);
  for (const FireCommand* command : commands) *request.add_commands() = ToBatchCommand(*command);
  v1::SubmitBatchResponse response;
  const grpc::Status status = client.ledger->SubmitBatch(Ctx(token).get(), request, &response);
  if (!status.ok()) {
    for (FireCommand* command : commands) {
      Record(command, status.error_code(), service::ErrorDetailOf(status).reason(),
             status.error_message(), {});
    }
    return !InDoubt(status.error_code());
  }
  EXPECT_EQ(response.results_size(), static_cast<int>(commands.size()));
  for (int i = 0; i < response.results_size() && i < static_cast<int>(commands.size()); ++i) {
    const v1::BatchResult& result = response.results(i);
    const auto code = static_cast<grpc::StatusCode>(result.code());
    Record(commands[i], code, result.reason(), result.message(), result.receipt());
    if (InDoubt(code)) answered = false;
  }
  return answered;
}

std::size_t CheckAgainstModel(Client& client, const std::string& admin, int members,
                              const std::vector<const FireCommand*>& commands) {
  std::vector<const FireCommand*> applied;
  for (const FireCommand* command : commands) {
    if (command->state == FireCommand::State::kApplied) applied.push_back(command);
  }
  std::sort(applied.begin(), applied.end(),
            [](const FireCommand* a, const FireCommand* b) { return a->seq < b->seq; });
  std::map<std::string, std::int64_t> balance;
  std::uint64_t last_seq = 0;
  for (const FireCommand* command : applied) {
    // Two acknowledged commands never share an entry (a batch gives each its own).
    EXPECT_LT(last_seq, command->seq) << command->request_id;
    last_seq = command->seq;
    balance[command->from] -= command->cents;
    balance[command->to] += command->cents;
    if (command->from != kIssuer) {
      EXPECT_GE(balance[command->from], 0)
          << "overdraft: " << command->from << " after " << command->request_id << " (seq "
          << command->seq << ")";
    } else {
      EXPECT_GE(balance[command->from], -kBudgetCents);
    }
  }
  std::vector<std::string> accounts = {kIssuer, kStore};
  for (int m = 0; m < members; ++m) accounts.push_back(FireProgramme::Member(m));
  std::int64_t sum = 0;
  for (const std::string& account : accounts) {
    v1::GetBalanceRequest request;
    request.set_account(account);
    v1::GetBalanceResponse response;
    const grpc::Status status = client.ledger->GetBalance(Ctx(admin).get(), request, &response);
    EXPECT_TRUE(status.ok()) << account << ": " << status.error_message();
    std::string server = "0.00";
    for (const auto& line : response.balances()) {
      if (line.asset() == "POINTS") server = line.amount();
    }
    EXPECT_EQ(server, Decimal(balance[account])) << account;
    sum += balance[account];
  }
  EXPECT_EQ(sum, 0);
  return applied.size();
}

bool FireGroup::InDoubt() const {
  for (const FireCommand* command : commands) {
    if (command->state == FireCommand::State::kUnknown) return true;
  }
  return false;
}

FireGroup RandomGroup(std::mt19937& rng, const std::string& prefix, int members, int round,
                      std::vector<std::unique_ptr<FireCommand>>* made) {
  const int dice = static_cast<int>(rng() % 10);
  const int a = static_cast<int>(rng() % members);
  const int b = (a + 1 + static_cast<int>(rng() % (members - 1))) % members;
  FireGroup group;
  group.round = round;
  group.batch = dice % 2 == 0;
  group.all_or_nothing = group.batch && rng() % 2 == 0;
  const int size = group.batch ? 1 + static_cast<int>(rng() % 4) : 1;
  for (int k = 0; k < size; ++k) {
    auto command = std::make_unique<FireCommand>();
    command->request_id = Cat(prefix, "-", k);
    if (dice < 4) {
      command->kind = CommandKind::kEarn;
      command->from = kIssuer;
      command->to = FireProgramme::Member((a + k) % members);
      command->cents = 100 + static_cast<std::int64_t>(rng() % 400);
    } else if (dice < 7) {
      command->kind = CommandKind::kRedeem;
      command->from = FireProgramme::Member(a);
      command->to = kStore;
      command->cents = 50 + static_cast<std::int64_t>(rng() % 750);
    } else {
      command->kind = CommandKind::kTransfer;
      command->from = FireProgramme::Member(a);
      command->to = FireProgramme::Member(b);
      command->cents = 50 + static_cast<std::int64_t>(rng() % 550);
    }
    group.commands.push_back(command.get());
    made->push_back(std::move(command));
  }
  return group;
}

std::vector<FireCommand> Resend(Client& client, const FireProgramme& programme,
                                const FireGroup& group) {
  std::vector<FireCommand> copies;
  for (const FireCommand* command : group.commands) {
    copies.push_back(*command);
    copies.back().state = FireCommand::State::kUnknown;
  }
  std::vector<FireCommand*> pointers;
  for (FireCommand& copy : copies) pointers.push_back(&copy);
  const std::string& token = programme.tokens.at(SenderOf(copies.front()));
  EXPECT_TRUE(Send(client, token, pointers, group.batch, group.all_or_nothing));
  return copies;
}

namespace {

// A group sent again got what it got the first time: the same receipts, the same remembered
// refusals. A BATCH_ABORTED command was never decided, so its retry is decided afresh — but inside
// the same all-or-nothing group, whose refused command is remembered, it is never applied.
void ExpectSameOutcomes(const FireGroup& group, const std::vector<FireCommand>& again) {
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

}  // namespace

std::size_t CheckAfterRestart(Client& client, const FireProgramme& programme,
                              const std::string& admin, std::vector<FireGroup>& groups,
                              int last_round, std::mt19937& rng) {
  // 1. Acknowledged receipts are in the journal, byte for byte.
  for (const FireGroup& group : groups) {
    if (group.round != last_round && rng() % 64 != 0) continue;
    for (const FireCommand* command : group.commands) {
      if (command->state != FireCommand::State::kApplied) continue;
      v1::GetEntryRequest request;
      request.set_request_id(command->request_id);
      request.set_request_actor(SenderOf(*command));  // request ids are each principal's own
      v1::GetEntryResponse entry;
      const grpc::Status status = client.ledger->GetEntry(Ctx(admin).get(), request, &entry);
      EXPECT_TRUE(status.ok()) << command->request_id
                               << " was acknowledged but is gone: " << status.error_message();
      EXPECT_EQ(entry.seq(), command->seq) << command->request_id;
      EXPECT_EQ(entry.hash(), command->hash) << command->request_id;
    }
  }
  // 2. Acknowledged refusals never flip.
  for (const FireGroup& group : groups) {
    if (group.round != last_round || group.InDoubt()) continue;
    const bool refused = std::any_of(
        group.commands.begin(), group.commands.end(),
        [](const FireCommand* command) { return command->state == FireCommand::State::kRefused; });
    if (refused) ExpectSameOutcomes(group, Resend(client, programme, group));
  }
  // 3. What was in doubt settles exactly once.
  std::size_t in_doubt = 0;
  for (FireGroup& group : groups) {
    if (!group.InDoubt()) continue;
    ++in_doubt;
    const std::string& token = programme.tokens.at(SenderOf(*group.commands.front()));
    EXPECT_TRUE(Send(client, token, group.commands, group.batch, group.all_or_nothing));
    EXPECT_FALSE(group.InDoubt());
    ExpectSameOutcomes(group, Resend(client, programme, group));
  }
  return in_doubt;
}

std::uint64_t AuditClean(const std::string& db_dir) {
  StoreOptions options;
  options.read_only = true;
  auto store = Store::Open(db_dir, options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return 0;
  auto source = audit::StoreSource(**store);
  EXPECT_TRUE(source.ok()) << source.status();
  if (!source.ok()) return 0;
  auto report = audit::Run(**source, store->get(), {});
  EXPECT_TRUE(report.ok()) << report.status();
  if (!report.ok()) return 0;
  EXPECT_TRUE(report->clean()) << report->findings_total << " findings";
  for (const audit::Finding& finding : report->findings) {
    ADD_FAILURE() << audit::FindingKindName(finding.kind) << " seq " << finding.seq << " "
                  << finding.where << ": expected " << finding.expected << ", found "
                  << finding.found;
  }
  return report->head.seq;
}

}  // namespace lovebank::testing
