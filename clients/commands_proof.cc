// lovebank key / prove / verify-proof (issue #27; docs/proofs.md): the ledger's public key, a
// proof bundle for one entry, and its verification with nothing but that key.

#include <fstream>
#include <iostream>
#include <sstream>

#include "clients/commands.h"
#include "clients/proof.h"
#include "ledger/base/strings.h"
#include "ledger/format/signature.h"

namespace lovebank::cli {
namespace {

// Bundles are small (an entry and ~20 hashes); a certificate's proof is inside the certificate.
constexpr std::size_t kBundleBytesMax = 1 << 20;

// At most `most` bytes read: a larger file (or a device) is not a bundle.
std::optional<std::string> ReadSmallFile(const std::string& path, std::size_t most) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(most + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > most) return std::nullopt;
  return text;
}

}  // namespace

void AddProofCommands(CLI::App& app, Globals& globals, int* exit_code) {
  auto* key = app.add_subcommand(
      "key", "the ledger's public key and its fingerprint: what members and third parties pin");
  key->footer("Example:\n  lovebank key > programme-key.txt");
  key->callback([&globals, exit_code] {
    Session session(globals);
    v1::SignedTreeHead head;
    const grpc::Status status = session.audit().GetSignedHead(session.Context().get(), {}, &head);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    auto parsed = signature::PublicKeyFromHex(head.public_key());
    if (auto problem = proof::HeadProblem(head, head.public_key()); problem || !parsed) {
      std::cerr << "lovebank: the server's head does not verify under its own key: "
                << problem.value_or("malformed key") << "\n";
      *exit_code = kExitRefused;
      return;
    }
    if (globals.json) {
      PrintJson({{"public_key", head.public_key()},
                 {"fingerprint", signature::Fingerprint(*parsed)},
                 {"tree_size", head.tree_size()},
                 {"root", head.root()}});
    } else {
      std::cout << head.public_key() << "\n";
      std::cerr << "fingerprint " << signature::Fingerprint(*parsed) << " (ledger of "
                << head.tree_size() << " entries, root " << head.root() << ")\n";
    }
    *exit_code = kExitOk;
  });

  auto* prove = app.add_subcommand(
      "prove", "write a proof bundle for an entry: it verifies with only the ledger's key");
  auto seq = std::make_shared<std::uint64_t>(0);
  auto size = std::make_shared<std::uint64_t>(0);
  auto out = std::make_shared<std::string>();
  prove->add_option("seq", *seq, "the entry")->required();
  prove->add_option("--tree-size", *size,
                    "prove it in the ledger of this many entries (default: "
                    "the head)");
  prove->add_option("--out", *out, "default proof-SEQ.json");
  prove->footer(
      "Example:\n  lovebank prove 2186 --out hours-2186.json\n"
      "  lovebank verify-proof hours-2186.json --key programme-key.txt");
  prove->callback([&globals, exit_code, seq, size, out] {
    Session session(globals);
    v1::GetInclusionProofRequest request;
    request.set_seq(*seq);
    request.set_tree_size(*size);
    v1::InclusionProof response;
    const grpc::Status status =
        session.audit().GetInclusionProof(session.Context().get(), request, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    const nlohmann::json bundle =
        proof::Bundle(response.head(), nlohmann::json::array({proof::EntryJson(
                                           response.seq(), response.record(), response.path())}));
    const std::string path = out->empty() ? Cat("proof-", *seq, ".json") : *out;
    std::ofstream file(path, std::ios::binary);
    file << bundle.dump(1) << "\n";
    if (!file.good()) {
      *exit_code = Usage("cannot write " + path);
      return;
    }
    if (globals.json) {
      PrintJson({{"file", path}, {"seq", *seq}, {"tree_size", response.head().tree_size()}});
    } else {
      std::cout << "  " << path << ": entry #" << *seq << " in the signed ledger of "
                << response.head().tree_size() << " entries\n";
    }
    *exit_code = kExitOk;
  });

  auto* verify = app.add_subcommand(
      "verify-proof", "check a proof bundle offline, with only the ledger's public key");
  auto file = std::make_shared<std::string>();
  auto pinned = std::make_shared<std::string>();
  verify->add_option("file", *file, "the bundle `lovebank prove` wrote")->required();
  verify->add_option("--key", *pinned, "the programme's public key: 64 hex digits or a file")
      ->required();
  verify->callback([&globals, exit_code, file, pinned] {
    auto pinned_key = signature::ParsePublicKey(*pinned);
    if (!pinned_key) {
      *exit_code = Usage("--key: 64 hex digits, or a file holding them (`lovebank key`)");
      return;
    }
    auto text = ReadSmallFile(*file, kBundleBytesMax);
    if (!text) {
      *exit_code =
          Usage(Cat("cannot read ", *file, " (or it is over ", kBundleBytesMax, " bytes)"));
      return;
    }
    const nlohmann::json bundle = nlohmann::json::parse(*text, nullptr, false);
    std::vector<std::string> problems;
    proof::Checked checked;
    const bool versioned = bundle.is_object() && bundle.contains("lovebank_proof") &&
                           bundle["lovebank_proof"].is_number_unsigned() &&
                           bundle["lovebank_proof"] == proof::kBundleVersion;
    if (bundle.is_discarded() || !versioned) {
      problems.push_back("not a lovebank proof bundle (version " +
                         std::to_string(proof::kBundleVersion) + ")");
    } else {
      checked = proof::Verify(bundle, signature::PublicKeyHex(*pinned_key));
      problems = checked.problems;
    }
    if (globals.json) {
      nlohmann::json entries = nlohmann::json::array();
      for (const auto& [entry_seq, entry] : checked.proven.entries) {
        entries.push_back({{"seq", entry_seq}, {"time_unix_us", entry.time_unix_us()}});
      }
      PrintJson({{"file", *file},
                 {"verified", problems.empty()},
                 {"problems", problems},
                 {"tree_size", checked.proven.tree_size},
                 {"entries", entries}});
    } else if (problems.empty()) {
      for (const auto& [entry_seq, entry] : checked.proven.entries) {
        std::cout << "  verified: entry #" << entry_seq << " is in the ledger of "
                  << checked.proven.tree_size << " entries signed by "
                  << signature::Fingerprint(*pinned_key) << "\n    "
                  << entry.command().ShortDebugString() << "\n";
      }
    } else {
      for (const auto& problem : problems) std::cerr << "lovebank: " << problem << "\n";
    }
    *exit_code = problems.empty() ? kExitOk : kExitRefused;
  });
}

}  // namespace lovebank::cli
