// Proof bundles and their verification (proof.h).

#include "clients/proof.h"

#include <openssl/evp.h>

#include <cstring>
#include <set>
#include <variant>

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/merkle.h"
#include "ledger/format/signature.h"

namespace lovebank::proof {
namespace {

std::optional<Hash> HexHash(const nlohmann::json& value) {
  if (!value.is_string()) return std::nullopt;
  auto bytes = FromHex(value.get<std::string>());
  if (!bytes || bytes->size() != 32) return std::nullopt;
  return HashFromBytes(*bytes);
}

// The signed head's fields from JSON, or a problem.
struct Head {
  signature::TreeHead fields;
  signature::PublicKey key{};
  signature::Signature signature{};
};
std::variant<Head, std::string> ParseHead(const nlohmann::json& json) {
  if (!json.is_object()) return std::string("the proof has no signed tree head");
  Head head;
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = json.find(key);
    if (it == json.end() || !it->is_string()) return std::nullopt;
    return FromHex(it->get<std::string>());
  };
  auto id = text("ledger_id");
  auto root = text("root");
  auto key = text("public_key");
  auto sig = text("signature");
  auto size = json.find("tree_size");
  auto time = json.find("time_unix_us");
  if (!id || id->size() != kLedgerIdBytes || !root || root->size() != 32 || !key ||
      key->size() != signature::kPublicKeyBytes || !sig ||
      sig->size() != signature::kSignatureBytes || size == json.end() ||
      !size->is_number_unsigned() || time == json.end() || !time->is_number_integer()) {
    return std::string("the signed tree head is malformed");
  }
  head.fields.ledger_id = *id;
  head.fields.tree_size = size->get<std::uint64_t>();
  std::memcpy(head.fields.root.data(), root->data(), 32);
  head.fields.time_unix_us = time->get<std::int64_t>();
  std::memcpy(head.key.data(), key->data(), key->size());
  std::memcpy(head.signature.data(), sig->data(), sig->size());
  return head;
}

}  // namespace

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(bytes.data()),
                                   static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(size));
  return out;
}

std::optional<std::string> FromBase64(const std::string& text) {
  if (text.size() % 4 != 0 || text.size() > (64u << 20)) return std::nullopt;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') {
      return std::nullopt;
    }
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(text.data()),
                                   static_cast<int>(text.size()));
  if (size < 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(size) - padding);
  return out;
}

nlohmann::json HeadJson(const v1::SignedTreeHead& head) {
  return {{"ledger_id", head.ledger_id()},
          {"tree_size", head.tree_size()},
          {"root", head.root()},
          {"time_unix_us", head.time_unix_us()},
          {"public_key", head.public_key()},
          {"signature", head.signature()}};
}

nlohmann::json EntryJson(std::uint64_t seq, const std::string& record,
                         const google::protobuf::RepeatedPtrField<std::string>& path) {
  nlohmann::json hashes = nlohmann::json::array();
  for (const std::string& hash : path) hashes.push_back(hash);
  return {{"seq", seq}, {"record", Base64(record)}, {"path", std::move(hashes)}};
}

nlohmann::json HashEntryJson(std::uint64_t seq, const std::string& hash_hex,
                             const google::protobuf::RepeatedPtrField<std::string>& path) {
  nlohmann::json hashes = nlohmann::json::array();
  for (const std::string& hash : path) hashes.push_back(hash);
  return {{"seq", seq}, {"hash", hash_hex}, {"path", std::move(hashes)}};
}

nlohmann::json Bundle(const v1::SignedTreeHead& head, nlohmann::json entries) {
  return {{"lovebank_proof", kBundleVersion}, {"head", HeadJson(head)}, {"entries", entries}};
}

std::optional<std::string> HeadProblem(const v1::SignedTreeHead& head,
                                       const std::string& public_key_hex) {
  auto parsed = ParseHead(HeadJson(head));
  if (auto* problem = std::get_if<std::string>(&parsed)) return *problem;
  const Head& h = std::get<Head>(parsed);
  if (signature::PublicKeyHex(h.key) != public_key_hex) {
    return "the head is signed by another key (" + signature::Fingerprint(h.key) +
           ") than the one pinned";
  }
  if (!signature::Verify(h.key, signature::TreeHeadMessage(h.fields), h.signature)) {
    return std::string("the tree head's signature does not verify: it was not signed by that key");
  }
  return std::nullopt;
}

Checked Verify(const nlohmann::json& bundle, const std::string& public_key_hex, bool hash_only) {
  Checked checked;
  auto& problems = checked.problems;
  if (!bundle.is_object() || !bundle.contains("head") || !bundle.contains("entries") ||
      !bundle["entries"].is_array()) {
    problems.push_back("not a lovebank proof: it needs a head and entries");
    return checked;
  }
  if (bundle["entries"].size() > kEntriesMax) {
    problems.push_back(Cat("more than ", kEntriesMax, " entries: not a lovebank proof"));
    return checked;
  }
  auto parsed = ParseHead(bundle["head"]);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    problems.push_back(*problem);
    return checked;
  }
  const Head& head = std::get<Head>(parsed);
  // The pinned key first: a bundle names its own key, which proves nothing by itself.
  if (signature::PublicKeyHex(head.key) != public_key_hex) {
    problems.push_back("signed by another key (fingerprint " + signature::Fingerprint(head.key) +
                       ") than the programme's");
    return checked;
  }
  if (!signature::Verify(head.key, signature::TreeHeadMessage(head.fields), head.signature)) {
    problems.push_back("the tree head's signature does not verify: the head was edited or forged");
    return checked;
  }
  Proven& proven = checked.proven;
  proven.tree_size = head.fields.tree_size;
  proven.root = ToHex(std::string_view(reinterpret_cast<const char*>(head.fields.root.data()), 32));
  proven.ledger_id = ToHex(head.fields.ledger_id);
  proven.time_unix_us = head.fields.time_unix_us;
  std::set<std::uint64_t> seen;
  for (const auto& item : bundle["entries"]) {
    const char* content = hash_only ? "hash" : "record";
    if (!item.is_object() || item.size() != 3 || !item.contains("seq") ||
        !item["seq"].is_number_unsigned() || !item.contains(content) ||
        !item[content].is_string() || !item.contains("path") || !item["path"].is_array() ||
        item["path"].size() > merkle::kPathHashesMax) {
      problems.push_back("an entry of the proof is malformed");
      continue;
    }
    const std::uint64_t seq = item["seq"];
    const std::string what = Cat("entry #", seq, ": ");
    if (!seen.insert(seq).second) {
      problems.push_back(what + "listed twice");
      continue;
    }
    std::optional<StoredEntryView> view;
    std::optional<std::string> record;
    Hash entry_hash{};
    if (hash_only) {
      auto hash = HexHash(item["hash"]);
      if (!hash) {
        problems.push_back(what + "its hash is not 64 hex digits");
        continue;
      }
      entry_hash = *hash;
    } else {
      record = FromBase64(item["record"].get<std::string>());
      view = record ? DecodeStoredEntry(*record) : std::nullopt;
      if (!view) {
        problems.push_back(what + "its stored bytes are malformed");
        continue;
      }
      if (ChainHash(view->prev_hash, seq, view->payload) != view->hash) {
        problems.push_back(what + "its content does not match its hash: it was edited");
        continue;
      }
      entry_hash = view->hash;
    }
    std::vector<merkle::Hash> path;
    bool path_ok = true;
    for (const auto& hash : item["path"]) {
      auto parsed_hash = HexHash(hash);
      if (!parsed_hash) path_ok = false;
      path.push_back(parsed_hash.value_or(merkle::Hash{}));
    }
    const merkle::ProofProblem problem =
        path_ok ? merkle::VerifyInclusion(seq - 1, proven.tree_size, merkle::LeafHash(entry_hash),
                                          path, head.fields.root)
                : merkle::ProofProblem::kRootMismatch;
    if (seq == 0 || problem != merkle::ProofProblem::kNone) {
      problems.push_back(what + "not in the signed ledger of " + std::to_string(proven.tree_size) +
                         " entries (" + merkle::ProofProblemName(problem) + ")");
      continue;
    }
    v1::Entry entry;
    if (view &&
        (!entry.ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size())) ||
         entry.seq() != seq)) {
      problems.push_back(what + "its payload is not a lovebank entry of that number");
      continue;
    }
    proven.entries.emplace_back(seq, std::move(entry));
    proven.hashes.push_back(HashToHex(entry_hash));
  }
  return checked;
}

}  // namespace lovebank::proof
