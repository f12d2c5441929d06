// lovebank account / principal / import (issuers and admins) and audit / digest / export
// (auditors).

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "clients/commands.h"
#include "clients/csv.h"
#include "clients/import.h"
#include "clients/journal_source.h"
#include "ledger/audit/export.h"
#include "ledger/audit/report_output.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"

namespace lovebank::cli {
namespace {

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// --kind as the CLI spells it: member (the default), store, issuer or system.
v1::AccountKind KindFromText(const std::string& kind) {
  return kind == "store"    ? v1::ACCOUNT_KIND_STORE
         : kind == "issuer" ? v1::ACCOUNT_KIND_ISSUER
         : kind == "system" ? v1::ACCOUNT_KIND_SYSTEM
                            : v1::ACCOUNT_KIND_MEMBER;
}

void AddAccount(CLI::App& app, Globals& globals, int* exit_code) {
  auto* account = app.add_subcommand("account", "open, show, freeze or unfreeze an account");
  account->require_subcommand(1);

  auto* open = account->add_subcommand("open", "open an account (admin)");
  auto request = std::make_shared<v1::OpenAccountRequest>();
  auto kind = std::make_shared<std::string>("member");
  auto budgets = std::make_shared<std::vector<std::string>>();
  open->add_option("account", *request->mutable_account(), "its id, e.g. V00001")->required();
  open->add_option("--kind", *kind, "member | store | issuer | system (e.g. a donation pool)")
      ->check(CLI::IsMember({"member", "store", "issuer", "system"}))
      ->capture_default_str();
  open->add_option("--name", *request->mutable_display_name(), "display name, e.g. 韦蕊")
      ->required();
  open->add_option("--budget", *budgets, "issuer only: ASSET=AMOUNT, e.g. POINTS=100000");
  auto tags = std::make_shared<std::vector<std::string>>();
  open->add_option("--tag", *tags, "e.g. student, poverty-tier:1 (repeatable)");
  open->add_option("--card", *request->mutable_card_number(),
                   "programme card number, e.g. 0001024");
  open->add_option("--phone", *request->mutable_phone(), "e.g. 13812345678");
  open->add_option("--memo", *request->mutable_memo(), "free text");
  open->footer(
      "Examples:\n  lovebank account open V00001 --name 韦蕊 --card 0001024 --phone 13812345678\n"
      "  lovebank account open store:main --kind store --name 爱心超市\n"
      "  lovebank account open issuer:town --kind issuer --name 镇爱心银行 "
      "--budget POINTS=100000 --budget HOURS=10000");
  open->callback([&globals, exit_code, request, kind, budgets, tags] {
    v1::OpenAccountRequest r = *request;
    r.set_card_number(Upper(r.card_number()));  // printed cards: 0-9 A-Z
    for (const auto& tag : *tags) r.add_tags(tag);
    r.set_kind(KindFromText(*kind));
    for (const std::string& budget : *budgets) {
      const std::size_t eq = budget.find('=');
      if (eq == std::string::npos) {
        *exit_code = Usage("--budget wants ASSET=AMOUNT, got " + budget);
        return;
      }
      auto* b = r.add_budgets();
      b->set_asset(Upper(budget.substr(0, eq)));
      b->set_amount(budget.substr(eq + 1));
    }
    // Opening the same account twice is one request; an id that cannot be part of a request id
    // gets a fresh one, so that the ledger names what is wrong with it (ACCOUNT_ID_INVALID).
    r.set_request_id(IsValidAccountId(r.account()) ? "open-" + r.account() : NewRequestId("open"));
    Session session(globals);
    *exit_code = Simple(
        session, r.request_id(), "account open", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.ledger().OpenAccount(session.Context().get(), r, receipt);
        },
        "opened " + r.account() + " " + r.display_name());
  });

  auto* show = account->add_subcommand("show", "an account's record and balances");
  auto shown = std::make_shared<std::string>();
  show->add_option("account", *shown, "its id")->required();
  show->footer("Example:\n  lovebank account show V00001");
  show->callback([&globals, exit_code, shown] {
    Session session(globals);
    v1::GetAccountRequest get;
    get.set_account(*shown);
    v1::AccountRecord record;
    grpc::Status status = session.ledger().GetAccount(session.Context().get(), get, &record);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(record));
    } else {
      std::cout << record.account() << "  " << record.display_name() << "\n"
                << "  kind    " << v1::AccountKind_Name(record.kind()).substr(13) << "\n"
                << "  status  " << v1::AccountStatus_Name(record.status()).substr(15)
                << " (since entry " << record.status_seq() << ")\n"
                << "  opened  entry " << record.opened_seq() << "\n";
      if (!record.card_number().empty()) std::cout << "  card    " << record.card_number() << "\n";
      if (!record.phone().empty()) std::cout << "  phone   " << record.phone() << "\n";
      for (const auto& budget : record.budgets()) {
        std::cout << "  budget  " << budget.amount() << " " << budget.asset() << "\n";
      }
    }
    *exit_code = kExitOk;
  });

  auto* contact = account->add_subcommand(
      "contact", "set how the counter finds a member: card number and phone (admin)");
  auto contact_request = std::make_shared<v1::SetAccountContactRequest>();
  contact->add_option("account", *contact_request->mutable_account(), "its id")->required();
  contact->add_option("--card", *contact_request->mutable_card_number(),
                      "card number, 4-32 of 0-9 A-Z (omitted: none)");
  contact->add_option("--phone", *contact_request->mutable_phone(),
                      "e.g. 13812345678 (omitted: none)");
  contact->add_option("--memo", *contact_request->mutable_memo(), "why, e.g. 补办爱心卡");
  contact->add_option("--request-id", *contact_request->mutable_request_id(),
                      "retry an interrupted change");
  contact->footer("Example:\n  lovebank account contact V00001 --card 0001024 --phone 13812345678");
  contact->callback([&globals, exit_code, contact_request] {
    v1::SetAccountContactRequest r = *contact_request;
    r.set_card_number(Upper(r.card_number()));
    if (r.request_id().empty()) r.set_request_id(NewRequestId("contact"));
    Session session(globals);
    *exit_code = Simple(
        session, r.request_id(), "account contact", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.ledger().SetAccountContact(session.Context().get(), r, receipt);
        },
        "contact set for " + r.account());
  });

  auto* budget = account->add_subcommand(
      "budget", "raise or lower an issuer's budget in one asset (admin; journaled)");
  auto budget_request = std::make_shared<v1::SetBudgetRequest>();
  budget->add_option("account", *budget_request->mutable_account(), "the ISSUER account")
      ->required();
  budget->add_option("asset", *budget_request->mutable_asset(), "POINTS or HOURS")->required();
  budget
      ->add_option("amount", *budget_request->mutable_amount(),
                   "the new budget (not a difference), never below what it has issued")
      ->required();
  budget->add_option("--memo", *budget_request->mutable_memo(), "why, e.g. 2027年度预算");
  budget->add_option("--request-id", *budget_request->mutable_request_id(),
                     "retry an interrupted change");
  budget->footer(
      "Example:\n  lovebank account budget issuer:town POINTS 200000 --memo 2027年度预算");
  budget->callback([&globals, exit_code, budget_request] {
    v1::SetBudgetRequest r = *budget_request;
    if (r.request_id().empty()) r.set_request_id(NewRequestId("budget"));
    Session session(globals);
    *exit_code = Simple(
        session, r.request_id(), "account budget", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.ledger().SetBudget(session.Context().get(), r, receipt);
        },
        "budget of " + r.account() + " set to " + r.amount() + " " + r.asset());
  });

  for (const bool freeze : {true, false}) {
    auto* set = account->add_subcommand(freeze ? "freeze" : "unfreeze",
                                        freeze ? "freeze an account (admin): no new movements"
                                               : "make a frozen account active again (admin)");
    auto target = std::make_shared<std::string>();
    auto memo = std::make_shared<std::string>();
    auto request_id = std::make_shared<std::string>();
    set->add_option("account", *target, "its id")->required();
    set->add_option("--memo", *memo, "why, e.g. 搬离本村");
    set->add_option("--request-id", *request_id, "retry an interrupted change");
    set->footer(freeze ? "Example:\n  lovebank account freeze V00001 --memo 搬离本村"
                       : "Example:\n  lovebank account unfreeze V00001");
    set->callback([&globals, exit_code, target, memo, request_id, freeze] {
      v1::SetAccountStatusRequest r;
      r.set_request_id(request_id->empty() ? NewRequestId(freeze ? "freeze" : "unfreeze")
                                           : *request_id);
      r.set_account(*target);
      r.set_status(freeze ? v1::ACCOUNT_STATUS_FROZEN : v1::ACCOUNT_STATUS_ACTIVE);
      r.set_memo(*memo);
      Session session(globals);
      *exit_code = Simple(
          session, r.request_id(), freeze ? "account freeze" : "account unfreeze", ToJson(r),
          [&](v1::Receipt* receipt) {
            return session.ledger().SetAccountStatus(session.Context().get(), r, receipt);
          },
          (freeze ? "frozen " : "active ") + *target);
    });
  }
}

// Finding an account, e.g. the cashier's 韦 for 韦蕊 (issue #24 item 4). Each token sees what
// GetAccount would show it.
void AddAccounts(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command =
      app.add_subcommand("accounts", "find accounts by name, phone, card, id prefix, kind or tag");
  auto request = std::make_shared<v1::ListAccountsRequest>();
  auto kind = std::make_shared<std::string>();
  auto page_size = std::make_shared<std::uint32_t>(0);
  command->add_option("--name", *request->mutable_name_contains(), "a part of the name, e.g. 韦");
  command->add_option("--prefix", *request->mutable_id_prefix(), "ids starting so, e.g. V00");
  command->add_option("--kind", *kind, "member | store | issuer | system")
      ->check(CLI::IsMember({"member", "store", "issuer", "system"}));
  command->add_option("--tag", *request->mutable_tag(), "e.g. student");
  command->add_option("--card", *request->mutable_card_number(), "the card number, e.g. 0001024");
  command->add_option("--phone", *request->mutable_phone(),
                      "the whole phone, or its last 4 digits (尾号), e.g. 5678");
  command->add_option("--page-size", *page_size, "1-1000 (default 50)");
  command->add_option("--after", *request->mutable_cursor(), "the cursor a page ended with");
  command->footer(
      "Examples:\n  lovebank accounts --name 韦\n  lovebank accounts --phone 5678\n"
      "  lovebank accounts --card 0001024\n  lovebank accounts --kind member --tag student");
  command->callback([&globals, exit_code, request, kind, page_size] {
    v1::ListAccountsRequest r = *request;
    r.set_card_number(Upper(r.card_number()));
    r.set_page_size(*page_size);
    r.set_kind(kind->empty() ? v1::ACCOUNT_KIND_UNSPECIFIED : KindFromText(*kind));
    Session session(globals);
    v1::ListAccountsResponse response;
    const grpc::Status status =
        session.ledger().ListAccounts(session.Context().get(), r, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      for (const auto& record : response.accounts()) {
        std::cout << "  " << record.account() << "  " << record.display_name() << "  "
                  << v1::AccountKind_Name(record.kind()).substr(13) << "  "
                  << v1::AccountStatus_Name(record.status()).substr(15);
        if (!record.phone().empty()) std::cout << "  " << record.phone();
        if (!record.card_number().empty()) std::cout << "  card " << record.card_number();
        for (const auto& tag : record.tags()) std::cout << "  #" << tag;
        std::cout << "\n";
      }
      if (response.accounts().empty()) std::cout << "  no account found\n";
      if (!response.next_cursor().empty()) {
        std::cout << "  more: the same with --after " << response.next_cursor() << "\n";
      }
    }
    *exit_code = kExitOk;
  });
}

void AddPrincipal(CLI::App& app, Globals& globals, int* exit_code) {
  auto* principal = app.add_subcommand("principal", "API tokens: create, list, revoke (admin)");
  principal->require_subcommand(1);

  auto* create = principal->add_subcommand("create", "create a principal and show its token once");
  auto request = std::make_shared<v1::CreatePrincipalRequest>();
  auto role = std::make_shared<std::string>();
  auto accounts = std::make_shared<std::vector<std::string>>();
  create->add_option("name", *request->mutable_principal(), "e.g. till-1")->required();
  create->add_option("--role", *role, "admin | issuer | terminal | member | auditor | approver")
      ->check(CLI::IsMember({"admin", "issuer", "terminal", "member", "auditor", "approver"}))
      ->required();
  create->add_option("--account", *accounts,
                     "bound account(s): the ISSUER, the STORE, or the MEMBER account");
  create->add_option("--name", *request->mutable_display_name(), "e.g. 爱心超市收银台1");
  create->footer(
      "Examples:\n  lovebank principal create till-1 --role terminal --account "
      "store:main --name 收银台1\n"
      "  lovebank principal create worker-li --role issuer --account issuer:town");
  create->callback([&globals, exit_code, request, role, accounts] {
    v1::CreatePrincipalRequest r = *request;
    v1::Role parsed = v1::ROLE_UNSPECIFIED;
    v1::Role_Parse("ROLE_" + Upper(*role), &parsed);
    r.set_role(parsed);
    for (const auto& account : *accounts) r.add_accounts(account);
    r.set_request_id(NewRequestId("principal"));
    Session session(globals);
    *exit_code = MutateFor<v1::CreatePrincipalResponse>(
        session, r.request_id(), "principal create", {{"principal", r.principal()}},
        [&](v1::CreatePrincipalResponse* response) {
          return session.admin().CreatePrincipal(session.Context().get(), r, response);
        },
        [&](const v1::CreatePrincipalResponse& response) {
          std::cout << "  principal " << r.principal() << " (" << *role << ") created at entry "
                    << response.receipt().seq() << "\n  token: " << response.token()
                    << "\n  (shown once: give it to its holder; lovebank never shows it again)\n";
        });
  });

  auto* list = principal->add_subcommand("list", "every principal ever created");
  list->footer("Example:\n  lovebank principal list --json");
  list->callback([&globals, exit_code] {
    Session session(globals);
    v1::ListPrincipalsResponse response;
    const grpc::Status status =
        session.admin().ListPrincipals(session.Context().get(), {}, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      for (const auto& p : response.principals()) {
        std::cout << "  " << p.principal() << "  " << v1::Role_Name(p.role()).substr(5);
        for (const auto& account : p.accounts()) std::cout << " " << account;
        std::cout << "  granted #" << p.granted_seq();
        if (p.revoked_seq() != 0) std::cout << "  REVOKED #" << p.revoked_seq();
        if (!p.display_name().empty()) std::cout << "  " << p.display_name();
        std::cout << "\n";
      }
    }
    *exit_code = kExitOk;
  });

  auto* revoke = principal->add_subcommand("revoke", "withdraw a principal's token for good");
  auto name = std::make_shared<std::string>();
  revoke->add_option("name", *name, "the principal")->required();
  revoke->footer("Example:\n  lovebank principal revoke till-1");
  revoke->callback([&globals, exit_code, name] {
    v1::RevokePrincipalRequest r;
    r.set_request_id("revoke-" + *name);
    r.set_principal(*name);
    Session session(globals);
    *exit_code = Simple(
        session, r.request_id(), "principal revoke", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.admin().RevokePrincipal(session.Context().get(), r, receipt);
        },
        "revoked " + *name);
  });

  auto* clear_pin = principal->add_subcommand(
      "clear-pin", "clear the PIN of a member's phone that forgot it (admin, social worker)");
  auto device = std::make_shared<std::string>();
  clear_pin->add_option("device", *device, "the phone's principal, e.g. V00001.3fa2c1d0")
      ->required();
  clear_pin->footer(
      "Example:\n  lovebank principal clear-pin V00001.3fa2c1d0\n"
      "The phone then makes payment codes without a PIN until its member sets a new one.");
  clear_pin->callback([&globals, exit_code, device] {
    v1::SetDevicePinRequest r;
    r.set_request_id(NewRequestId("clear-pin"));
    r.set_principal(*device);
    Session session(globals);
    *exit_code = Simple(
        session, r.request_id(), "principal clear-pin", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.admin().SetDevicePin(session.Context().get(), r, receipt);
        },
        "cleared the PIN of " + *device);
  });
}

// The rejected rows file beside `file`: "activities-2026-11.csv" ->
// "activities-2026-11-rejected.csv".
std::string RejectedPath(const std::string& file) {
  const std::size_t slash = file.find_last_of('/');
  const std::size_t dot = file.find_last_of('.');
  const bool has_suffix = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_suffix ? file.substr(0, dot) : file) + "-rejected.csv";
}

void AddImport(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand(
      "import",
      "open members, record a month of activities or student awards, or load the supermarket's "
      "catalogue or a delivery of stock, from a CSV file");
  struct Options {
    std::string file, issuer, store, encoding = "auto", rejected, month;
    int chunk = 1000;
  };
  auto options = std::make_shared<Options>();
  command->add_option("file", options->file, "the CSV file (see docs/cli.md)")->required();
  command->add_option("--issuer", options->issuer,
                      "activities, awards, stock: the ISSUER account (default: the file's issuer "
                      "column, else the token's account)");
  command->add_option("--store", options->store,
                      "catalogue, stock: the STORE account (default: the file's store column)");
  command->add_option("--encoding", options->encoding, "auto, utf-8, gbk, gb18030 or utf-16")
      ->capture_default_str();
  command->add_option("--month", options->month,
                      "awards: the month they are for, YYYY-MM (default: the file's month column, "
                      "else the month in the file's name, e.g. student-awards-2026-11.csv)");
  command->add_option("--rejected", options->rejected,
                      "where the refused rows go to be corrected and imported again (default: "
                      "FILE-rejected.csv beside the file)");
  command->add_option("--chunk", options->chunk, "rows per SubmitBatch call (1-8192)")
      ->check(CLI::Range(1, 8192))
      ->capture_default_str();
  command->footer(
      "Files (CSV with a header line: UTF-8, or GBK as Excel on Chinese Windows saves it):\n"
      "  members:    member_id,name,village,tags   (opens MEMBER accounts; an admin's token)\n"
      "  activities: activity_id,date,team_id,team_name,activity,member_id,member_name,hours\n"
      "  awards:     member_id,member_name,rule,points,reason   (by the award rule `rule`: its\n"
      "              amount, eligibility, frequency and approval apply; lovebank rules load\n"
      "              first. Without a rule column: points, negative for a deduction)\n"
      "  catalogue:  sku,name,unit,price_points   (SetItem; an admin's token, --store)\n"
      "  stock:      sku,quantity,reason   (ReceiveStock from --issuer, e.g. issuer:goods)\n"
      "  teams:      team_id,team_name,service_category   (into the programme profile: added\n"
      "              or renamed by id, others kept; an admin's token, the profile set first)\n"
      "A member_name that is not the account's name holds the row (NAME_MISMATCH); so does an\n"
      "activity's team_name that is not its team_id's name in the profile (TEAM_MISMATCH).\n"
      "Example:\n  lovebank import activities-2026-11.csv\n"
      "Importing the same file again applies nothing twice: each row's request id is derived "
      "from its content. Refused rows go to FILE-rejected.csv: correct them there (or fix their "
      "cause) and import that file.");
  command->callback([&globals, exit_code, options] {
    const Options& o = *options;
    std::ifstream in(o.file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in) {
      *exit_code = Usage("cannot read " + o.file);
      return;
    }
    auto read = import::Read(bytes.str(), o.encoding);
    if (!read.ok()) {
      *exit_code = Usage(o.file + ": " + std::string(read.status().message()));
      return;
    }
    Session session(globals);
    // The issuer a row without its own is from: --issuer, else the token's account — as
    // lovebankd's Import defaults it, so both make the same commands of one file.
    import::Defaults defaults{
        o.issuer, o.store, o.month.empty() ? import::MonthInFileName(o.file) : o.month, {}};
    if (!defaults.month.empty() && !IsValidMonth(defaults.month)) {
      *exit_code = Usage("--month is YYYY-MM, e.g. 2026-11");
      return;
    }
    if (import::NeedsIssuer(read->kind) && defaults.issuer.empty()) {
      auto me = WhoAmI(session, exit_code);
      if (!me) return;
      if (me->accounts_size() > 0) defaults.issuer = me->accounts(0);
      if (defaults.issuer.empty() && !read->column.contains("issuer")) {
        *exit_code =
            Usage(o.file + ": name the issuer: --issuer (this principal is bound to none)");
        return;
      }
    }
    if (import::NeedsStore(read->kind) && defaults.store.empty() &&
        !read->column.contains("store")) {
      *exit_code = Usage(o.file + ": name the store: --store store:main (or a store column)");
      return;
    }
    // Teams: one change of the programme's profile; activities: checked against its teams.
    std::optional<v1::SettingRecord> profile;
    if (read->kind == import::Kind::kTeams || read->kind == import::Kind::kActivities) {
      profile = ProfileRecord(session, exit_code);
      if (!profile) return;
      for (const auto& team : profile->value().programme_profile().teams()) {
        defaults.teams.emplace(team.id(), team.name());
      }
    }
    // The names the file gives its members, checked against the accounts before anything is sent.
    std::map<std::string, std::string> names;
    for (const std::string& member : import::NamedMembers(*read)) {
      v1::GetAccountRequest request;
      request.set_account(member);
      v1::AccountRecord record;
      const grpc::Status status =
          session.ledger().GetAccount(session.Context().get(), request, &record);
      // An account that does not exist (an issuer is told PERMISSION_DENIED, not NOT_FOUND: it
      // may read members only), or an id that cannot be one, has no name to check: the ledger
      // refuses its row itself.
      if (status.ok()) {
        if (record.kind() == v1::ACCOUNT_KIND_MEMBER) names.emplace(member, record.display_name());
      } else if (status.error_code() != grpc::StatusCode::NOT_FOUND &&
                 status.error_code() != grpc::StatusCode::PERMISSION_DENIED &&
                 status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
        std::cerr << "lovebank: cannot check the members' names; nothing was imported\n";
        *exit_code = Fail(globals, status);
        return;
      }
    }
    std::optional<import::TeamsMerge> teams;
    if (read->kind == import::Kind::kTeams) {
      if (profile->value().programme_profile().name().empty()) {
        *exit_code = Usage(o.file +
                           ": set the programme's profile first, e.g. lovebank setting set "
                           "programme_profile '{\"name\": \"南溪镇爱心银行\"}'");
        return;
      }
      teams = import::MergeTeams(*read, profile->value().programme_profile());
    }
    const std::vector<import::Row> rows =
        teams ? teams->rows
              : import::Commands(*read, defaults, [&names](const std::string& account) {
                  auto it = names.find(account);
                  return it == names.end() ? std::nullopt : std::optional<std::string>(it->second);
                });

    // Awards by rule carry their month; points by hand (no rule column) count when posted.
    const bool by_rule = read->kind == import::Kind::kAwards && read->column.contains("rule");
    import::Tally tally;
    std::map<std::size_t, std::string> retry;  // line -> refusal: the rejected rows file
    nlohmann::json results = nlohmann::json::array();
    std::size_t shown = 0;
    constexpr std::size_t kShownMax = 20;  // refusals printed one by one; the rest by reason
    auto report = [&](std::size_t line, const std::string& outcome, const std::string& message,
                      const v1::BatchResult* result) {
      tally.Count(outcome);
      if (result != nullptr && import::Retryable(*result)) {
        retry.emplace(line, outcome + ": " + message);
      }
      if (globals.json || !import::IsRefusal(outcome) || ++shown > kShownMax) return;
      std::cout << "  line " << line << ": " << outcome << ": " << message << "\n";
    };
    // The refused rows, to correct and import again (their request ids are new; docs/cli.md):
    // the file's path, "" when there are none.
    auto write_rejected = [&]() -> std::string {
      if (retry.empty()) return "";
      const std::string path = o.rejected.empty() ? RejectedPath(o.file) : o.rejected;
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << import::RejectedRows(*read, retry);
      if (out.flush()) return path;
      std::cerr << "lovebank: cannot write " << path << "\n";
      return "";
    };
    std::vector<const import::Row*> pending;
    for (const import::Row& row : rows) {
      if (row.held.empty()) {
        pending.push_back(&row);
        continue;
      }
      results.push_back({{"line", row.line},
                         {"request_id", row.request_id},
                         {"outcome", row.held},
                         {"message", row.message}});
      report(row.line, row.held, row.message, nullptr);
      // A team row is safe to correct and import again: merging a team twice changes nothing.
      if (row.held == import::kTeamInvalid) retry.emplace(row.line, row.held + ": " + row.message);
      if (!globals.json && row.same_as != 0) {
        std::cout << "  line " << row.line << ": skipped, " << row.message << "\n";
      }
    }
    if (teams && !pending.empty()) {
      // One SetSetting: the profile with the file's teams, unless it already has them all.
      v1::Receipt receipt;
      grpc::Status status;
      if (teams->Changed()) {
        v1::SetSettingRequest request;
        request.set_request_id(import::TeamsRequestId(teams->profile, profile->seq()));
        *request.mutable_value()->mutable_programme_profile() = teams->profile;
        request.set_if_seq(profile->seq());  // SETTING_CHANGED if another change came first
        const std::size_t slash = o.file.find_last_of('/');
        request.set_memo(Cat(
            "teams: ", Excerpt(slash == std::string::npos ? o.file : o.file.substr(slash + 1))));
        status = session.programme().SetSetting(session.Context().get(), request, &receipt);
        if (!status.ok() && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
          std::cerr << "lovebank: the teams' outcome is unknown (request id "
                    << request.request_id() << "); run the same import again\n";
        }
        if (!status.ok()) {
          *exit_code = Fail(globals, status);
          std::cerr << "lovebank: no team was merged; run the same import again";
          if (const std::string path = write_rejected(); !path.empty()) {
            std::cerr << " (the rows refused on their own are also in " << path << ")";
          }
          std::cerr << "\n";
          return;
        }
      }
      for (const import::Row* row : pending) {
        const bool as_before = teams->unchanged_lines.contains(row->line);
        results.push_back({{"line", row->line},
                           {"request_id", as_before ? "" : receipt.request_id()},
                           {"outcome", as_before ? "ALREADY_APPLIED" : "OK"},
                           {"seq", as_before ? 0 : receipt.seq()},
                           {"message", as_before ? "the profile has this team as the row says"
                                                 : "merged into the programme profile"}});
        report(row->line, as_before ? "ALREADY_APPLIED" : "OK", "", nullptr);
      }
      if (!globals.json) {
        std::cout << "  teams: " << teams->added << " added, " << teams->changed
                  << " renamed or recategorised, " << teams->unchanged << " as before; "
                  << teams->profile.teams_size() << " in the profile\n";
      }
      pending.clear();
    }
    // "imported 3000 / 10490 rows (29 %, 2100/s, about 4 s left)", ending on the final count.
    std::optional<audit::Progress> progress;
    if (!globals.json && !pending.empty()) progress.emplace(pending.size(), "imported", "rows");
    for (std::size_t start = 0; start < pending.size(); start += o.chunk) {
      const std::size_t end = std::min(pending.size(), start + static_cast<std::size_t>(o.chunk));
      v1::SubmitBatchRequest request;
      for (std::size_t i = start; i < end; ++i) *request.add_commands() = pending[i]->command;
      v1::SubmitBatchResponse response;
      const grpc::Status status =
          session.ledger().SubmitBatch(session.Context(60).get(), request, &response);
      if (!status.ok()) {
        std::cerr << "lovebank: rows from line " << pending[start]->line
                  << " on were not imported; run the same import again\n";
        *exit_code = Fail(globals, status);
        return;
      }
      for (std::size_t i = start; i < end; ++i) {
        const v1::BatchResult& result = response.results(static_cast<int>(i - start));
        const std::string outcome = import::Outcome(result);
        results.push_back({{"line", pending[i]->line},
                           {"request_id", pending[i]->request_id},
                           {"outcome", outcome},
                           {"seq", result.receipt().seq()},
                           {"message", result.message()}});
        report(pending[i]->line, outcome, result.message(), &result);
      }
      if (progress) progress->Update(end);
    }
    if (progress) progress->Finish(pending.size());
    const std::string rejected_path = write_rejected();
    if (globals.json) {
      PrintJson({{"file", o.file},
                 {"kind", import::KindName(read->kind)},
                 {"encoding", read->table.encoding},
                 {"awards_month", by_rule ? defaults.month : ""},
                 {"applied", tally.applied},
                 {"pending_approval", tally.pending},
                 {"already_applied", tally.already_applied},
                 {"refused", tally.refused},
                 {"refused_by_reason", tally.refused_by_reason},
                 {"duplicate_rows", tally.duplicate_rows},
                 {"rejected_rows_file", rejected_path},
                 {"rows", results}});
    } else {
      if (shown > kShownMax) {
        std::cout << "  … and " << shown - kShownMax << " more refusals\n";
      }
      for (const auto& [reason, count] : tally.refused_by_reason) {
        std::cout << "  refused " << reason << ": " << count << " rows\n";
      }
      std::cout << o.file << ": " << tally.applied << " applied, " << tally.pending
                << " waiting for approval, " << tally.already_applied << " already applied before, "
                << tally.refused << " refused, " << tally.duplicate_rows
                << " duplicate rows skipped\n";
      if (by_rule && !defaults.month.empty()) {
        std::cout << "  awards for " << defaults.month
                  << (o.month.empty() ? " (the month in the file's name; --month to change)" : "")
                  << " unless a row's month column says otherwise\n";
      }
      if (!rejected_path.empty()) {
        std::cout << "  " << retry.size() << " refused rows are in " << rejected_path
                  << ": correct them there (or fix their cause) and import that file\n";
      }
    }
    *exit_code = tally.refused == 0 ? kExitOk : kExitRefused;
  });
}

}  // namespace

// Runs a mutating call that answers with a receipt: prints `done` and the receipt.
int Simple(Session& session, const std::string& request_id, const std::string& command,
           const nlohmann::json& args, const std::function<grpc::Status(v1::Receipt*)>& call,
           const std::string& done) {
  return Mutate(session, request_id, command, args, call, [&done](const v1::Receipt& receipt) {
    std::cout << "  " << done << "\n";
    PrintReceipt(receipt);
  });
}

// Members' devices (issue #24 item 2): the social worker's code, the phone's exchange of it.
void AddActivation(CLI::App& app, Globals& globals, int* exit_code) {
  auto* issue = app.add_subcommand("activation-code",
                                   "a one-time code a member's phone exchanges for its own token");
  auto request = std::make_shared<v1::IssueActivationCodeRequest>();
  issue->add_option("member", *request->mutable_member(), "the member's account")->required();
  auto ttl = std::make_shared<std::uint32_t>(0);
  issue->add_option("--ttl", *ttl, "seconds the code lasts (60 - 2592000; default 72 hours)");
  issue->add_option("--name", *request->mutable_display_name(), "e.g. 韦蕊的手机");
  issue->footer("Example:\n  lovebank activation-code V00001 --name 韦蕊的手机");
  issue->callback([&globals, exit_code, request, ttl] {
    v1::IssueActivationCodeRequest r = *request;
    r.set_ttl_seconds(*ttl);
    r.set_request_id(NewRequestId("code"));
    Session session(globals);
    *exit_code = MutateFor<v1::IssueActivationCodeResponse>(
        session, r.request_id(), "activation-code", {{"member", r.member()}},
        [&](v1::IssueActivationCodeResponse* response) {
          return session.admin().IssueActivationCode(session.Context().get(), r, response);
        },
        [&](const v1::IssueActivationCodeResponse& response) {
          std::cout << "  " << r.member() << "  激活码 activation code: " << response.code()
                    << "\n  valid until " << LocalTime(response.expires_unix_us())
                    << ", once, on one phone (device " << response.principal() << ")\n";
        });
  });

  auto* activate = app.add_subcommand(
      "activate", "exchange an activation code for this device's own token (no token needed)");
  auto code = std::make_shared<std::string>();
  auto device = std::make_shared<std::string>();
  activate->add_option("code", *code, "e.g. 7K3M-Q9XD-2HVA-R4TW")->required();
  activate->add_option("--device", *device, "this device's name, e.g. 韦蕊的手机");
  activate->footer("Example:\n  lovebank activate 7K3M-Q9XD-2HVA-R4TW --device 韦蕊的手机");
  activate->callback([&globals, exit_code, code, device] {
    Session session(globals);
    v1::ActivateRequest r;
    r.set_code(*code);
    r.set_device_name(*device);
    v1::ActivateResponse response;
    const grpc::Status status = session.admin().Activate(session.Context().get(), r, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      std::cout << "  activated " << response.principal() << " for " << response.account()
                << "\n  token: " << response.token()
                << "\n  (shown once: keep it in this device's config as token = ...)\n";
    }
    *exit_code = kExitOk;
  });
}

void AddBackup(CLI::App& app, Globals& globals, int* exit_code) {
  auto* backup = app.add_subcommand(
      "backup", "an online backup of the whole ledger on the server's machine (admin)");
  auto out = std::make_shared<std::string>();
  backup->add_option("--out", *out, "a new absolute directory on the server's machine")->required();
  backup->footer(
      "Example:\n  lovebank backup --out /srv/backups/lovebank-2026-11-30\n"
      "Restore: stop lovebankd, move <data dir>/db aside, put the backup there, start "
      "lovebankd; `lovebank audit --expect-digest SEQ:HASH` with the printed digest.");
  backup->callback([&globals, exit_code, out] {
    Session session(globals);
    v1::BackupRequest request;
    request.set_out_dir(*out);
    v1::BackupResponse response;
    const grpc::Status status =
        session.admin().Backup(session.Context(600).get(), request, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      std::cout << "  backup in " << response.out_dir() << "\n  digest " << response.seq() << ":"
                << response.hash() << "\n";
    }
    *exit_code = kExitOk;
  });
}

void AddWhoAmI(CLI::App& app, Globals& globals, int* exit_code) {
  auto* whoami = app.add_subcommand("whoami", "the principal of this token: role and accounts");
  whoami->footer("Example:\n  LOVEBANK_TOKEN=lb_… lovebank whoami");
  whoami->callback([&globals, exit_code] {
    Session session(globals);
    auto me = WhoAmI(session, exit_code);
    if (!me) return;
    if (globals.json) {
      PrintJson(ToJson(*me));
    } else {
      std::cout << me->principal() << "  " << v1::Role_Name(me->role()).substr(5);
      for (const auto& account : me->accounts()) std::cout << " " << account;
      if (!me->display_name().empty()) std::cout << "  " << me->display_name();
      std::cout << "\n";
    }
    *exit_code = kExitOk;
  });
}

void AddAdminCommands(CLI::App& app, Globals& globals, int* exit_code) {
  AddActivation(app, globals, exit_code);
  AddWhoAmI(app, globals, exit_code);
  AddBackup(app, globals, exit_code);
  AddAccount(app, globals, exit_code);
  AddAccounts(app, globals, exit_code);
  AddPrincipal(app, globals, exit_code);
  AddImport(app, globals, exit_code);
  AddAuditCommands(app, globals, exit_code);
}

// The programme's profile as set, with its seq; an empty record (seq 0) when none is set.
std::optional<v1::SettingRecord> ProfileRecord(Session& session, int* exit_code) {
  v1::ListSettingsResponse settings;
  const grpc::Status status =
      session.programme().ListSettings(session.Context().get(), {}, &settings);
  if (!status.ok()) {
    *exit_code = Fail(session.globals(), status);
    return std::nullopt;
  }
  for (const v1::SettingRecord& record : settings.settings()) {
    if (record.value().has_programme_profile()) return record;
  }
  return v1::SettingRecord();
}

}  // namespace lovebank::cli
