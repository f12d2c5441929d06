#pragma once
// The `lovebank` subcommands, grouped by who uses them. Each Add* registers its subcommands on
// `app`; a subcommand's callback sets *exit_code.

#include <functional>

#include "CLI/CLI.hpp"
#include "clients/cli.h"
#include "clients/csv.h"
#include "clients/import.h"
#include "ledger/audit/audit.h"

namespace lovebank::cli {

// redeem, refund (checkout terminal); balance, history, transfer (volunteer / student);
// earn, deduct (issuer / social worker).
void AddMoneyCommands(CLI::App& app, Globals& globals, int* exit_code);
// account, principal, import (issuer, admin); audit, digest, export (auditor).
void AddAdminCommands(CLI::App& app, Globals& globals, int* exit_code);

// The caller's own principal (WhoAmI), for defaults such as "my account".
std::optional<v1::PrincipalRecord> WhoAmI(Session& session, int* exit_code);
// The programme's profile as set (Programme.ListSettings), with its seq; an empty record (seq 0)
// when none is set. std::nullopt when the call fails (its error printed, *exit_code set).
std::optional<v1::SettingRecord> ProfileRecord(Session& session, int* exit_code);
// `given`, or else the first account the caller's token is bound to (a member's own account, an
// issuer's ISSUER account). Empty after reporting into *exit_code when there is none.
std::string BoundAccount(Session& session, const std::string& given, int* exit_code);
// catalog, stock, ratio, settle (the love supermarket's office).
void AddShopCommands(CLI::App& app, Globals& globals, int* exit_code);
// "RICE_5KG:2" -> a basket line; std::nullopt when it is not SKU:QUANTITY.
std::optional<v1::BasketLine> ParseBasketLine(const std::string& text);
// Every "SKU:QTY" of `items` into `lines`; false after reporting a bad one into *exit_code.
bool ParseBasket(const std::vector<std::string>& items,
                 google::protobuf::RepeatedPtrField<v1::BasketLine>* lines, int* exit_code);
// Prints a checkout's or refund's lines, total and (HOURS) ratio.
void PrintBasket(const v1::Receipt& receipt);
// profile, stars (volunteers and students as programmes run them, issue #7).
void AddProgrammeCommands(CLI::App& app, Globals& globals, int* exit_code);
// tags, family, transfer-policy, rules, award, approve, reject, pending, approval, activity.
void AddRuleCommands(CLI::App& app, Globals& globals, int* exit_code);
// request, offer, services: hours buy services (issue #26).
void AddExchangeCommands(CLI::App& app, Globals& globals, int* exit_code);
// audit, digest, export.
void AddAuditCommands(CLI::App& app, Globals& globals, int* exit_code);
// key, prove, verify-proof (issue #27; commands_proof.cc).
void AddProofCommands(CLI::App& app, Globals& globals, int* exit_code);

// The tag lists of a rules file, the request ids of its rows (clients/import.h).
using import::RowRequestId;
using import::SplitList;

// Runs the audit over the journal the server streams (an auditor's or admin's token); std::nullopt
// (and 2, "could not run", in *exit_code) when it could not complete.
std::optional<audit::Report> StreamAudit(const Globals& globals, audit::Options options,
                                         int* exit_code);
// The server's signed head of the size `report` audited, checked against the report's root,
// time and signing keys (and `pinned`, hex, when given); a finding added to `report` when it
// does not hold (commands_audit.cc).
std::optional<v1::SignedTreeHead> CheckSignedHead(const Globals& globals, audit::Report& report,
                                                  const std::string& pinned);
// certificate and verify-certificate (issue #7).
void AddReportCommands(CLI::App& app, Globals& globals, int* exit_code);
// `report --month`: the monthly public notice on the `report` command (issue #7).
void AddNotice(CLI::App& report, Globals& globals, int* exit_code);

// Sends one mutating call: writes the request id to the request log first, calls, logs the
// outcome, then prints the receipt (`print`, or JSON with --json). Returns the exit code.
int Mutate(Session& session, const std::string& request_id, const std::string& command,
           const nlohmann::json& args, const std::function<grpc::Status(v1::Receipt*)>& call,
           const std::function<void(const v1::Receipt&)>& print);

// Mutate for a call whose response carries its receipt (`response.receipt()`) beside more, such as
// a token or a code shown once.
template <class Response>
int MutateFor(Session& session, const std::string& request_id, const std::string& command,
              const nlohmann::json& args, const std::function<grpc::Status(Response*)>& call,
              const std::function<void(const Response&)>& print) {
  if (!LogRequest(session.globals(), request_id, command, args)) return kExitUsage;
  Response response;
  const grpc::Status status = call(&response);
  LogOutcome(session.globals(), request_id, status, response.receipt().seq());
  if (!status.ok()) return Fail(session.globals(), status);
  if (session.globals().json) {
    PrintJson(ToJson(response));
  } else {
    print(response);
  }
  return kExitOk;
}

// Mutate for a call whose receipt needs no more than a line: prints `done` and the receipt.
int Simple(Session& session, const std::string& request_id, const std::string& command,
           const nlohmann::json& args, const std::function<grpc::Status(v1::Receipt*)>& call,
           const std::string& done);

// Prints a receipt: the entry, its hash prefix, time and balances after.
void PrintReceipt(const v1::Receipt& receipt);

}  // namespace lovebank::cli
