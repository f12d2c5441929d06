// lovebank audit / digest / export: the auditor's commands. The audit runs here, on the
// auditor's machine, over the journal as the server stores it: nothing the server computed is
// trusted (exit codes as lovebank-audit: 0 clean, 1 findings, 2 could not run).

#include <cstdio>
#include <iostream>
#include <optional>

#include "clients/commands.h"
#include "clients/journal_source.h"
#include "clients/proof.h"
#include "ledger/audit/export.h"
#include "ledger/audit/report_output.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/signature.h"

namespace lovebank::cli {
namespace {

constexpr int kAuditClean = 0;
constexpr int kAuditFindings = 1;
constexpr int kAuditCannotRun = 2;
// A whole journal stream may take a while: 1M entries is ~150 MB.
constexpr double kStreamTimeoutSeconds = 3600;

}  // namespace

// Runs the audit over the journal the server streams; std::nullopt (and kAuditCannotRun in
// *exit_code) when it could not complete.
std::optional<audit::Report> StreamAudit(const Globals& globals, audit::Options options,
                                         int* exit_code) {
  Session session(globals);
  auto source =
      client::GrpcJournalSource(session.channel(), globals.token, 0, kStreamTimeoutSeconds);
  if (!source.ok()) {
    std::cerr << "lovebank: cannot read the journal from " << globals.server << ": "
              << source.status().message() << "\n";
    *exit_code = kAuditCannotRun;
    return std::nullopt;
  }
  // A second pass, if the fast pass finds something to name, reads the same prefix again.
  const std::uint64_t to_seq = (*source)->claimed_head().seq;
  options.reopen = [&] {
    return client::GrpcJournalSource(session.channel(), globals.token, to_seq,
                                     kStreamTimeoutSeconds);
  };
  audit::Progress progress(to_seq);
  options.progress = [&progress](std::uint64_t entries) { progress.Update(entries); };
  auto report = audit::Run(**source, nullptr, options);
  if (report.ok()) progress.Finish(report->entries);
  if (!report.ok()) {
    std::cerr << "lovebank: the audit could not complete: " << report.status().message() << "\n";
    *exit_code = kAuditCannotRun;
    return std::nullopt;
  }
  return std::move(*report);
}

// The server's signed head of the size the audit read must have the root and time the audit
// computed from the journal (issue #27): else the server signs a history other than the one it
// streams. Its key must be the one the journal put in force last (key rotations, each endorsed
// by the key before it: the audit checked them); a pinned key must be that one or one the
// journal's rotations lead from. A finding in the report when any of this fails; the head when
// it holds.
std::optional<v1::SignedTreeHead> CheckSignedHead(const Globals& globals, audit::Report& report,
                                                  const std::string& pinned) {
  if (report.tree_size == 0) return std::nullopt;
  Session session(globals);
  v1::GetSignedHeadRequest request;
  request.set_tree_size(report.tree_size);
  v1::SignedTreeHead head;
  const grpc::Status status =
      session.audit().GetSignedHead(session.Context().get(), request, &head);
  auto add = [&report](std::string expected, std::string found) {
    ++report.findings_total;
    if (report.findings.size() < audit::kFindingsKept) {
      report.findings.push_back({audit::FindingKind::kHeadMismatch, report.tree_size,
                                 "signed tree head", std::move(expected), std::move(found)});
    }
  };
  // The key the head must be signed by: the journal's last, when it changed keys.
  std::string expected_key = pinned.empty() ? head.public_key() : pinned;
  if (!report.signing_keys.empty()) {
    // The pinned key must lead to the key in force through endorsed changes only: after a lost
    // key's replacement, whoever pinned an earlier key pins the newly published one.
    const auto& keys = report.signing_keys;
    std::optional<std::size_t> at;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (ToHex(keys[i].key) == pinned) at = i;
    }
    if (!pinned.empty() && !at) {
      add("a key the journal's changes lead from the pinned one", "the pinned key is none of them");
      return std::nullopt;
    }
    for (std::size_t i = at ? *at + 1 : keys.size(); i < keys.size(); ++i) {
      if (!keys[i].endorsed) {
        add("keys each endorsed by the one before, from the pinned key",
            Cat("key ", ToHex(keys[i].key).substr(0, 16),
                "… replaced a lost key unendorsed: pin the programme's newly published key"));
        return std::nullopt;
      }
    }
    expected_key = ToHex(keys.back().key);
  }
  if (!status.ok()) {
    add("a signed tree head of " + std::to_string(report.tree_size) + " entries",
        status.error_message());
  } else if (auto problem = proof::HeadProblem(head, expected_key)) {
    add(pinned.empty() && report.signing_keys.empty() ? "a head signed by the server's key"
                                                      : "a head signed by the key in force",
        *problem);
  } else if (head.tree_size() != report.tree_size || head.ledger_id() != ToHex(report.ledger_id)) {
    add(Cat("ledger ", ToHex(report.ledger_id), " of ", report.tree_size, " entries"),
        Cat("ledger ", head.ledger_id(), " of ", head.tree_size(), " entries"));
  } else if (head.root() != HashToHex(report.tree_root)) {
    add(HashToHex(report.tree_root), head.root());
  } else if (head.time_unix_us() != report.head_time_unix_us) {
    add(Cat("time ", report.head_time_unix_us), Cat("time ", head.time_unix_us()));
  } else {
    return head;
  }
  return std::nullopt;
}

// `audit --cosign FILE`: the witness (this auditor) signs, with its own key, the head it verified
// — ledger id, size, root and time as its own audit computed them (the server's signed head had
// the same: CheckSignedHead) — and lovebankd journals the co-signature under the witness's
// principal, whose name the signature covers. Prints what it did; false when it could not.
bool Cosign(const Globals& globals, const audit::Report& report, const std::string& key_path) {
  auto key = signature::SigningKey::LoadOrCreate(key_path);
  if (!key.ok()) {
    std::cerr << "lovebank: the witness key " << key_path << ": " << key.status().message() << "\n";
    return false;
  }
  Session session(globals);
  v1::PrincipalRecord me;
  if (const grpc::Status status = session.admin().WhoAmI(session.Context().get(), {}, &me);
      !status.ok()) {
    std::cerr << "lovebank: who am I: " << status.error_message() << "\n";
    return false;
  }
  signature::TreeHead head;
  head.ledger_id = report.ledger_id;
  head.tree_size = report.tree_size;
  head.root = report.tree_root;
  head.time_unix_us = report.head_time_unix_us;
  const signature::Signature signed_bytes =
      (*key)->Sign(signature::CosignMessage(head, me.principal()));
  v1::CosignHeadRequest request;
  request.set_request_id(Cat("cosign:", head.tree_size, ":",
                             signature::PublicKeyHex((*key)->public_key()).substr(0, 16)));
  request.set_tree_size(head.tree_size);
  request.set_root(HashToHex(head.root));
  request.set_time_unix_us(head.time_unix_us);
  request.set_witness_key(signature::PublicKeyHex((*key)->public_key()));
  request.set_signature(ToHex(signature::BytesOf(signed_bytes)));
  v1::Receipt receipt;
  const grpc::Status status =
      session.audit().CosignHead(session.Context().get(), request, &receipt);
  if (!status.ok()) {
    std::cerr << "lovebank: the co-signature was not journaled: " << status.error_message() << "\n";
    return false;
  }
  std::cerr << "co-signed the head of " << head.tree_size << " entries (root "
            << HashToHex(head.root) << ") as witness " << me.principal() << ", key "
            << signature::Fingerprint((*key)->public_key()) << ": journaled as entry "
            << receipt.seq() << "\n";
  return true;
}

void AddAuditCommands(CLI::App& app, Globals& globals, int* exit_code) {
  auto* audit = app.add_subcommand(
      "audit", "verify the server's ledger on this machine from the journal it streams");
  auto digests = std::make_shared<std::vector<std::string>>();
  audit->add_option("--expect-digest", *digests,
                    "SEQ:HASH published earlier; the entry at SEQ must still have HASH");
  auto pinned = std::make_shared<std::string>();
  audit->add_option("--key", *pinned,
                    "the programme's published key (64 hex digits or a file, `lovebank key`): the "
                    "server's signed head must be signed by it");
  auto cosign = std::make_shared<std::string>();
  audit->add_option("--cosign", *cosign,
                    "witness: after a clean audit, co-sign the verified head with the key in this "
                    "file (made on first use, owner-only) and have lovebankd journal it (an "
                    "auditor's token)");
  audit->footer(
      "Examples:\n  lovebank audit\n  lovebank audit --key programme.pub --cosign witness.key\n  "
      "lovebank audit --expect-digest 2186:e011…c5b --json\n"
      "Exit codes: 0 clean, 1 findings, 2 the audit could not run.");
  audit->callback([&globals, exit_code, digests, pinned, cosign] {
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
    std::string pinned_hex;
    if (!pinned->empty()) {
      auto key = signature::ParsePublicKey(*pinned);
      if (!key) {
        std::cerr << "lovebank: --key wants 64 hex digits or a file holding them\n";
        *exit_code = kAuditCannotRun;
        return;
      }
      pinned_hex = signature::PublicKeyHex(*key);
    }
    auto report = StreamAudit(globals, std::move(options), exit_code);
    if (!report) return;
    const auto head = CheckSignedHead(globals, *report, pinned_hex);
    if (globals.json) {
      PrintJson(audit::ToJson(*report));
    } else {
      audit::PrintHuman(*report, "the journal streamed from " + globals.server);
    }
    *exit_code = report->clean() ? kAuditClean : kAuditFindings;
    if (!cosign->empty()) {
      if (!report->clean() || !head) {
        std::cerr << "lovebank: not co-signed: the audit found problems\n";
      } else if (!Cosign(globals, *report, *cosign)) {
        *exit_code = kAuditCannotRun;
      }
    }
  });

  auto* report =
      app.add_subcommand("report", "the monthly public notice (公示, --month), or `report stores`");
  report->require_subcommand(0, 1);
  AddNotice(*report, globals, exit_code);
  auto* stores = report->add_subcommand(
      "stores", "the love supermarkets' month: baskets, points and hours, refunds, settlement");
  auto month = std::make_shared<std::string>();
  stores->add_option("--month", *month, "YYYY-MM (Asia/Shanghai); all months when omitted");
  stores->footer(
      "Example:\n  lovebank report stores --month 2026-11\n"
      "The journal is audited first: no figures from a ledger with findings.");
  stores->callback([&globals, exit_code, month] {
    if (!month->empty() && !IsValidMonth(*month)) {
      *exit_code =
          Usage("--month wants a month as YYYY-MM (01-12), e.g. 2026-11; got " + Excerpt(*month));
      return;
    }
    auto result = StreamAudit(globals, audit::Options{}, exit_code);
    if (!result) return;
    if (!result->clean()) {
      std::cerr << "lovebank: the audit found " << result->findings_total
                << " problems; run `lovebank audit` — no figures from an unclean ledger\n";
      *exit_code = kAuditFindings;
      return;
    }
    const nlohmann::json all = audit::ToJson(*result);  // kept: the loop refers into it
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : all["store_months"]) {
      if (month->empty() || row["month"] == *month) rows.push_back(row);
    }
    if (globals.json) {
      PrintJson({{"digest", std::to_string(result->head.seq) + ":" + HashToHex(result->head.hash)},
                 {"stores", rows}});
    } else {
      std::printf("  %-16s %-7s %7s %12s %9s %7s %11s %11s %11s\n", "store", "month", "baskets",
                  "points", "hours", "refunds", "refunded", "redeemed", "settled");
      for (const auto& row : rows) {
        std::printf(
            "  %-16s %-7s %7llu %12s %9s %7llu %11s %11s %11s\n",
            row["store"].get<std::string>().c_str(), row["month"].get<std::string>().c_str(),
            static_cast<unsigned long long>(row["baskets"].get<std::uint64_t>()),
            row["points"].get<std::string>().c_str(), row["hours"].get<std::string>().c_str(),
            static_cast<unsigned long long>(row["refunds"].get<std::uint64_t>()),
            row["refunded"].get<std::string>().c_str(), row["redeemed"].get<std::string>().c_str(),
            row["settled"].get<std::string>().c_str());
      }
      std::cout << "  (audited: the journal up to " << result->head.seq << ":"
                << HashToHex(result->head.hash) << ")\n";
    }
    *exit_code = kExitOk;
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

  AddProofCommands(app, globals, exit_code);

  auto* export_command = app.add_subcommand(
      "export", "write the journal to a file that `lovebank-audit --file` checks offline");
  auto out = std::make_shared<std::string>();
  export_command->add_option("--out", *out, "the export file")->required();
  export_command->footer(
      "Example:\n  lovebank export --out ledger-2026-11.lbexport\n"
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
      PrintJson(
          {{"file", *out},
           {"records", summary->records},
           {"head", std::to_string(summary->head.seq) + ":" + HashToHex(summary->head.hash)}});
    } else {
      std::cout << "exported " << summary->records << " entries to " << *out << ", head "
                << summary->head.seq << ":" << HashToHex(summary->head.hash) << "\n";
    }
    *exit_code = kExitOk;
  });
}

}  // namespace lovebank::cli
