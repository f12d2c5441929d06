// lovebank-audit: verify a lovebank ledger from its journal alone, or export the journal.
//
//   lovebank-audit --db DIR [--expect-digest SEQ:HASH]... [--json]
//   lovebank-audit --file EXPORT [--expect-digest SEQ:HASH]... [--json]
//   lovebank-audit export --db DIR --out FILE
//
// Exit codes: 0 clean, 1 findings, 2 the audit could not run (usage, unreadable input).
// --db opens the RocksDB directory read-only: safe beside a running lovebank server.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "CLI/CLI.hpp"
#include "ledger/audit/audit.h"
#include "ledger/audit/export.h"
#include "ledger/audit/report_output.h"
#include "ledger/base/strings.h"
#include "ledger/base/version.h"
#include "ledger/storage/store.h"

namespace lovebank::audit {
namespace {

constexpr int kExitClean = 0;
constexpr int kExitFindings = 1;
constexpr int kExitCannotRun = 2;

absl::StatusOr<std::unique_ptr<Store>> OpenReadOnly(const std::string& db) {
  StoreOptions options;
  options.read_only = true;
  return Store::Open(db, options);
}

int Main(int argc, char** argv) {
  CLI::App app{"Verify a lovebank ledger from its journal alone, trusting nothing else.",
               "lovebank-audit"};
  app.set_version_flag("--version", VersionText("lovebank-audit"));
  app.footer(
      "Examples:\n"
      "  lovebank-audit --db var/demo-ledger\n"
      "  lovebank-audit --db var/demo-ledger --expect-digest 2186:e011...c5b --json\n"
      "  lovebank-audit export --db var/demo-ledger --out ledger-2026-11.lbexport\n"
      "  lovebank-audit --file ledger-2026-11.lbexport\n"
      "Exit codes: 0 clean, 1 findings, 2 the audit could not run.");
  std::string db;
  std::string file;
  std::vector<std::string> digests;
  bool json = false;
  auto* db_option =
      app.add_option("--db", db, "RocksDB directory of the ledger (opened read-only)");
  auto* file_option =
      app.add_option("--file", file, "an export written by `lovebank-audit export`");
  db_option->excludes(file_option);
  app.add_option("--expect-digest", digests,
                 "SEQ:HASH published earlier; the entry at SEQ must still have HASH");
  app.add_flag("--json", json, "machine-readable report on stdout");

  auto* export_command = app.add_subcommand("export", "write a portable export of the journal");
  std::string export_db;
  std::string out;
  export_command->add_option("--db", export_db, "RocksDB directory of the ledger")->required();
  export_command->add_option("--out", out, "the export file to write")->required();
  export_command->footer(
      "Example:\n  lovebank-audit export --db var/demo-ledger --out ledger.lbexport");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitClean : kExitCannotRun;
  }

  if (export_command->parsed()) {
    auto store = OpenReadOnly(export_db);
    if (!store.ok()) {
      std::cerr << "lovebank-audit: " << store.status().message() << "\n";
      return kExitCannotRun;
    }
    auto summary = ExportJournal(**store, out);
    if (!summary.ok()) {
      std::cerr << "lovebank-audit: " << summary.status().message() << "\n";
      return kExitCannotRun;
    }
    std::cout << "exported " << summary->records << " entries to " << out << ", head "
              << summary->head.seq << ":" << HashToHex(summary->head.hash) << "\n";
    return kExitClean;
  }

  if (db.empty() == file.empty()) {
    std::cerr << "lovebank-audit: give --db DIR or --file EXPORT (see --help)\n";
    return kExitCannotRun;
  }
  Options options;
  for (const std::string& text : digests) {
    auto digest = ParseDigest(text);
    if (!digest) {
      std::cerr << "lovebank-audit: --expect-digest wants SEQ:HASH with 64 hex digits, got " << text
                << "\n";
      return kExitCannotRun;
    }
    options.expected_digests.push_back(*digest);
  }
  std::optional<Progress> progress;
  options.progress = [&progress](std::uint64_t entries) { progress->Update(entries); };

  std::unique_ptr<Store> store;
  std::unique_ptr<JournalSource> source;
  if (!db.empty()) {
    auto opened = OpenReadOnly(db);
    if (!opened.ok()) {
      std::cerr << "lovebank-audit: " << opened.status().message() << "\n";
      return kExitCannotRun;
    }
    store = std::move(*opened);
    auto made = StoreSource(*store);
    if (!made.ok()) {
      std::cerr << "lovebank-audit: " << made.status().message() << "\n";
      return kExitCannotRun;
    }
    source = std::move(*made);
  } else {
    options.reopen = [file]() { return FileSource(file); };
    auto made = FileSource(file);
    if (!made.ok()) {
      std::cerr << "lovebank-audit: " << made.status().message() << "\n";
      return kExitCannotRun;
    }
    source = std::move(*made);
  }
  progress.emplace(source->claimed_head().seq);
  auto report = Run(*source, store.get(), options);
  if (report.ok()) progress->Finish(report->entries);
  if (!report.ok()) {
    std::cerr << "lovebank-audit: the audit could not complete: " << report.status().message()
              << "\n";
    return kExitCannotRun;
  }
  if (json) {
    std::cout << ToJson(*report).dump(2) << "\n";
  } else {
    PrintHuman(*report, db.empty() ? file : db);
  }
  return report->clean() ? kExitClean : kExitFindings;
}

}  // namespace
}  // namespace lovebank::audit

int main(int argc, char** argv) { return lovebank::audit::Main(argc, argv); }
