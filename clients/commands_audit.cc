// lovebank audit / digest / export: the auditor's commands. The audit runs here, on the
// auditor's machine, over the journal as the server stores it: nothing the server computed is
// trusted (exit codes as lovebank-audit: 0 clean, 1 findings, 2 could not run).

#include <iostream>

#include "clients/commands.h"
#include "clients/journal_source.h"
#include "ledger/audit/export.h"
#include "ledger/audit/report_output.h"

namespace lovebank::cli {
namespace {

constexpr int kAuditClean = 0;
constexpr int kAuditFindings = 1;
constexpr int kAuditCannotRun = 2;
// A whole journal stream may take a while: 1M entries is ~150 MB.
constexpr double kStreamTimeoutSeconds = 3600;

}  // namespace

void AddAuditCommands(CLI::App& app, Globals& globals, int* exit_code) {
  auto* audit = app.add_subcommand(
      "audit", "verify the server's ledger on this machine from the journal it streams");
  auto digests = std::make_shared<std::vector<std::string>>();
  audit->add_option("--expect-digest", *digests,
                    "SEQ:HASH published earlier; the entry at SEQ must still have HASH");
  audit->footer("Examples:\n  lovebank audit\n  lovebank audit --expect-digest 2186:e011…c5b --json\n"
                "Exit codes: 0 clean, 1 findings, 2 the audit could not run.");
  audit->callback([&globals, exit_code, digests] {
    audit::Options options;
    for (const std::string& text : *digests) {
      auto digest = audit::ParseDigest(text);
      if (!digest) {
        std::cerr << "lovebank: --expect-digest wants SEQ:HASH with 64 hex digits, got " << text
                  << "\n";
        *exit_code = kAuditCannotRun;
        return;
      }
      options.expected_digests.push_back(*digest);
    }
    Session session(globals);
    auto source = client::GrpcJournalSource(session.channel(), globals.token, 0,
                                            kStreamTimeoutSeconds);
    if (!source.ok()) {
      std::cerr << "lovebank: cannot read the journal from " << globals.server << ": "
                << source.status().message() << "\n";
      *exit_code = kAuditCannotRun;
      return;
    }
    // A second pass, if the fast pass finds something to name, reads the same prefix again.
    const std::uint64_t to_seq = (*source)->claimed_head().seq;
    options.reopen = [&] {
      return client::GrpcJournalSource(session.channel(), globals.token, to_seq,
                                       kStreamTimeoutSeconds);
    };
    audit::Progress progress;
    options.progress = [&progress](std::uint64_t entries) { progress.Update(entries); };
    auto report = audit::Run(**source, nullptr, options);
    if (!report.ok()) {
      std::cerr << "lovebank: the audit could not complete: " << report.status().message() << "\n";
      *exit_code = kAuditCannotRun;
      return;
    }
    if (globals.json) {
      PrintJson(audit::ToJson(*report));
    } else {
      audit::PrintHuman(*report, "the journal streamed from " + globals.server);
    }
    *exit_code = report->clean() ? kAuditClean : kAuditFindings;
  });

  auto* digest = app.add_subcommand("digest", "the ledger's head SEQ:HASH, to publish (公示)");
  digest->footer("Example:\n  lovebank digest        # prints e.g. 2186:e011…c5b");
  digest->callback([&globals, exit_code] {
    Session session(globals);
    v1::GetDigestResponse response;
    const grpc::Status status = session.audit().GetDigest(session.Context().get(), {}, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      std::cout << response.seq() << ":" << response.hash() << "\n";
    }
    *exit_code = kExitOk;
  });

  auto* export_command = app.add_subcommand(
      "export", "write the journal to a file that `lovebank-audit --file` checks offline");
  auto out = std::make_shared<std::string>();
  export_command->add_option("--out", *out, "the export file")->required();
  export_command->footer("Example:\n  lovebank export --out ledger-2026-11.lbexport\n"
                         "  lovebank-audit --file ledger-2026-11.lbexport");
  export_command->callback([&globals, exit_code, out] {
    Session session(globals);
    v1::GetDigestResponse head;
    const grpc::Status status = session.audit().GetDigest(session.Context().get(), {}, &head);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    auto summary = audit::ExportJournal(
        [&] {
          return client::GrpcJournalSource(session.channel(), globals.token, head.seq(),
                                           kStreamTimeoutSeconds);
        },
        *out);
    if (!summary.ok()) {
      std::cerr << "lovebank: export failed: " << summary.status().message() << "\n";
      *exit_code = kExitUnreachable;
      return;
    }
    if (globals.json) {
      PrintJson({{"file", *out}, {"records", summary->records},
                 {"head", std::to_string(summary->head.seq) + ":" + HashToHex(summary->head.hash)}});
    } else {
      std::cout << "exported " << summary->records << " entries to " << *out << ", head "
                << summary->head.seq << ":" << HashToHex(summary->head.hash) << "\n";
    }
    *exit_code = kExitOk;
  });
}

}  // namespace lovebank::cli
