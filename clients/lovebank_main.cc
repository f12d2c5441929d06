// lovebank: the command line for the love bank — a checkout terminal, a volunteer's view, an
// issuer's desk and an auditor's verifier, against lovebankd (docs/cli.md).
//
//   lovebank [--server HOST:PORT] [--token T] [--ca FILE] [--cert F --key F] [--timeout S]
//            [--json] COMMAND ...
//
// Settings come from, in increasing priority: the config file (~/.config/lovebank/config, or
// LOVEBANK_CONFIG, or --config), the environment (LOVEBANK_SERVER, LOVEBANK_TOKEN, LOVEBANK_CA,
// LOVEBANK_CERT, LOVEBANK_KEY, LOVEBANK_REQUEST_LOG) and the flags.
//
// Exit codes: 0 ok, 1 refused by the ledger (with its reason), 2 usage, 3 unreachable or
// unavailable (retry with the same --request-id); `audit`: 0 clean, 1 findings, 2 could not run.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "clients/commands.h"
#include "ledger/base/version.h"

namespace lovebank::cli {
namespace {

std::string Trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  text = text.substr(first, last - first + 1);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

std::string Home(const char* xdg, const std::string& fallback) {
  if (const char* value = std::getenv(xdg); value != nullptr && *value != '\0') return value;
  const char* home = std::getenv("HOME");
  return std::string(home == nullptr ? "." : home) + "/" + fallback;
}

// `key = value` lines (# comments): server, token, ca, cert, key, timeout, request_log.
bool ReadConfig(const std::string& path, bool required, Globals* globals) {
  std::ifstream in(path);
  if (!in) return !required;
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = Trim(line.substr(0, eq));
    const std::string value = Trim(line.substr(eq + 1));
    if (key == "server") globals->server = value;
    if (key == "token") globals->token = value;
    if (key == "ca") globals->ca_file = value;
    if (key == "cert") globals->cert_file = value;
    if (key == "key") globals->key_file = value;
    if (key == "timeout") globals->timeout_s = std::atof(value.c_str());
    if (key == "request_log") globals->request_log = value;
  }
  return true;
}

void FromEnvironment(Globals* globals) {
  auto take = [](const char* name, std::string* into) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') *into = value;
  };
  take("LOVEBANK_SERVER", &globals->server);
  take("LOVEBANK_TOKEN", &globals->token);
  take("LOVEBANK_CA", &globals->ca_file);
  take("LOVEBANK_CERT", &globals->cert_file);
  take("LOVEBANK_KEY", &globals->key_file);
  take("LOVEBANK_REQUEST_LOG", &globals->request_log);
}

// Edit distance (insertions, deletions, substitutions) by bytes; enough for ASCII commands.
std::size_t Distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The global options that take a value (the word after them is no command).
const std::set<std::string> kTakesValue = {"--config", "--server", "--token",   "--ca",
                                           "--cert",   "--key",    "--timeout", "--request-log"};

// The command the words in `args` meant when one of them is not a command: "balance" for
// `balanse`, "account open" for `account opn`; "" when they are commands, or nothing is close
// (at most 2 edits, and fewer than half the word).
std::string Closest(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* level = &app;
  std::string path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word.rfind("-", 0) == 0) {
      if (kTakesValue.contains(word)) ++i;
      continue;
    }
    const auto commands = level->get_subcommands([](const CLI::App*) { return true; });
    if (commands.empty()) return "";
    std::string best;
    std::size_t best_distance = 3;
    for (const CLI::App* command : commands) {
      if (command->get_name() == word) {
        best = word;
        best_distance = 0;
        break;
      }
      const std::size_t distance = Distance(word, command->get_name());
      if (distance < best_distance && 2 * distance < word.size()) {
        best = command->get_name();
        best_distance = distance;
      }
    }
    if (best.empty()) return "";
    path += (path.empty() ? "" : " ") + best;
    if (best_distance != 0) return path;  // the mistyped word, corrected
    level = level->get_subcommand(best);
  }
  return "";
}

// The first word of `words` (the commands after `lovebank help`) that is not a command where it
// stands: "blance" in `help blance`, "opn" in `help account opn`; "" when all are (or the words
// reach a command that takes no subcommand: the rest are its arguments).
std::string NotACommand(const CLI::App& app, const std::vector<std::string>& words) {
  const CLI::App* level = &app;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.rfind("-", 0) == 0) {  // `help --json blance`: options are no commands
      if (kTakesValue.contains(word)) ++i;
      continue;
    }
    if (level->get_subcommands([](const CLI::App*) { return true; }).empty()) return "";
    const auto found = level->get_subcommands(
        [&word](const CLI::App* command) { return command->get_name() == word; });
    if (found.empty()) return word;
    level = found.front();
  }
  return "";
}

int Main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // see service/server.cc
  Globals globals;
  globals.request_log = Home("XDG_STATE_HOME", ".local/state") + "/lovebank/requests.log";
  // The config file is read before the flags so that flags override it; --config is found by
  // hand for that reason (and parsed again below for --help).
  std::string config = Home("XDG_CONFIG_HOME", ".config") + "/lovebank/config";
  bool config_given = false;
  if (const char* value = std::getenv("LOVEBANK_CONFIG")) config = value, config_given = true;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--config") config = argv[i + 1], config_given = true;
  }
  if (!ReadConfig(config, config_given, &globals)) {
    std::cerr << "lovebank: cannot read the config file " << config << "\n";
    return kExitUsage;
  }
  FromEnvironment(&globals);

  CLI::App app{"lovebank: the love bank's command line (爱心银行 / 爱心超市).", "lovebank"};
  app.set_version_flag("--version", VersionText("lovebank"));
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--config", config, "config file (key = value: server, token, ca, timeout)");
  app.add_option("--server", globals.server, "lovebankd address")->capture_default_str();
  app.add_option("--token", globals.token, "bearer token (or LOVEBANK_TOKEN)");
  app.add_option("--ca", globals.ca_file, "PEM CA certificate: connect with TLS")
      ->check(CLI::ExistingFile);
  app.add_option("--cert", globals.cert_file,
                 "PEM client certificate, for a server that asks for one (or LOVEBANK_CERT)")
      ->check(CLI::ExistingFile);
  app.add_option("--key", globals.key_file, "PEM key of --cert (or LOVEBANK_KEY)")
      ->check(CLI::ExistingFile);
  app.add_option("--timeout", globals.timeout_s, "seconds each call may take")
      ->capture_default_str();
  app.add_flag("--json", globals.json, "machine-readable output on stdout");
  app.add_option("--request-log", globals.request_log,
                 "file where request ids are written before sending")
      ->capture_default_str();
  app.footer(
      "Checkout terminal:   redeem, refund, hold, capture, void, holds show\n"
      "Volunteer / student: balance, history, transfer, profile\n"
      "Issuer / social worker: earn, deduct, import, account\n"
      "Admin:               account, principal, stars\n"
      "Auditor:             audit, digest, export\n"
      "Anyone:              whoami\n"
      "Exit codes: 0 ok, 1 refused (with its reason), 2 usage, 3 unreachable/unavailable.\n"
      "Run `lovebank COMMAND --help` for each command's options and an example.");
  int exit_code = kExitOk;
  AddMoneyCommands(app, globals, &exit_code);
  AddAdminCommands(app, globals, &exit_code);
  AddShopCommands(app, globals, &exit_code);
  AddProgrammeCommands(app, globals, &exit_code);
  AddExchangeCommands(app, globals, &exit_code);
  // `lovebank help [COMMAND...]` is `lovebank [COMMAND...] --help`.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string unknown;  // `lovebank help blance`: a word that is no command, said as such
  if (!args.empty() && args.front() == "help") {
    args.erase(args.begin());
    unknown = NotACommand(app, args);
    args.emplace_back("--help");
  }
  const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
  try {
    if (!unknown.empty()) throw CLI::ParseError("no command `" + unknown + "`", kExitUsage);
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes the last first
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error) == 0 ? kExitOk : kExitUsage;  // help
    std::string message = error.what();
    // A mistyped command: the closest one, when it is close (lovebank balanse -> balance).
    const std::string suggestion = Closest(app, args);
    if (!suggestion.empty()) message += "; did you mean `lovebank " + suggestion + "`?";
    if (json) {
      PrintJson({{"error",
                  {{"code", "USAGE"},
                   {"reason", ""},
                   {"words", "命令或选项有误"},
                   {"message", message},
                   {"exit_code", kExitUsage},
                   {"request_id", ""}}}});
      return kExitUsage;
    }
    std::cerr
        << "lovebank: " << message << "\n"
        << "Run `lovebank help` or `lovebank help COMMAND` for the commands and their options.\n";
    return kExitUsage;
  }
  return exit_code;
}

}  // namespace
}  // namespace lovebank::cli

int main(int argc, char** argv) { return lovebank::cli::Main(argc, argv); }
