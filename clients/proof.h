#pragma once
// Proof bundles (issue #27; docs/proofs.md): an entry, its inclusion proof and the signed tree
// head it leads to, as JSON a member keeps, sends to a school or embeds in a certificate, and
// their verification with nothing but the programme's public key. One code for `lovebank prove`,
// `lovebank verify-proof`, verify-certificate and lovebankd's certificates; clients/web/verify
// is the same checks in the browser. Protobuf messages and JSON only: no gRPC here.
//
// A bundle (version 1):
//   {"lovebank_proof": 1,
//    "head": {"ledger_id": hex16, "tree_size": N, "root": hex32, "time_unix_us": T,
//             "public_key": hex32, "signature": hex64},
//    "entries": [{"seq": S, "record": base64 of the stored entry, "path": [hex32, ...]}]}
// A bundle shows the whole entry (its command, memo, postings): it is for the member to give to
// whom it chooses. A certificate's proof is hash-only — {"seq", "hash", "path"} per listed
// activity — so a certificate shows nothing beyond its page (no phone, tag, memo or the words
// of a service's requester).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lovebank/v1/api.pb.h"
#include "lovebank/v1/journal.pb.h"
#include "nlohmann/json.hpp"

namespace lovebank::proof {

inline constexpr int kBundleVersion = 1;
// A bundle lists at most this many entries (a certificate's activities, their services and the
// account's opening): more is not one of ours.
inline constexpr std::size_t kEntriesMax = 12000;

nlohmann::json HeadJson(const v1::SignedTreeHead& head);
nlohmann::json EntryJson(std::uint64_t seq, const std::string& record,
                         const google::protobuf::RepeatedPtrField<std::string>& path);
// A hash-only entry: {"seq", "hash" (hex), "path"}.
nlohmann::json HashEntryJson(std::uint64_t seq, const std::string& hash_hex,
                             const google::protobuf::RepeatedPtrField<std::string>& path);
nlohmann::json Bundle(const v1::SignedTreeHead& head, nlohmann::json entries);

std::string Base64(const std::string& bytes);
std::optional<std::string> FromBase64(const std::string& text);

// What a verified bundle proves: each entry as decoded, by seq, and the head.
struct Proven {
  std::uint64_t tree_size = 0;
  std::string root;       // hex
  std::string ledger_id;  // hex
  std::int64_t time_unix_us = 0;
  // In bundle order. Hash-only entries (certificates) have an empty Entry.
  std::vector<std::pair<std::uint64_t, v1::Entry>> entries;
  std::vector<std::string> hashes;  // each entry's chain hash, hex
};

// Checks `bundle` (the "head" and "entries" of a bundle or a certificate's "proof") against the
// pinned key `public_key_hex`: the shape and every limit first, then the head's Ed25519
// signature, then each entry: its chain hash recomputed from its payload, its inclusion proof
// of exactly the right length up to the signed root, its payload a lovebank Entry of that seq.
// `hash_only`: the entries are a certificate's {"seq", "hash", "path"} and nothing else (a
// "record" is malformed); otherwise each must carry its "record".
// Returns what it proves, or every problem found (in words, for people).
struct Checked {
  Proven proven;
  std::vector<std::string> problems;
};
Checked Verify(const nlohmann::json& bundle, const std::string& public_key_hex,
               bool hash_only = false);

// A head's problem under `public_key_hex`, or std::nullopt when its signature verifies.
std::optional<std::string> HeadProblem(const v1::SignedTreeHead& head,
                                       const std::string& public_key_hex);

}  // namespace lovebank::proof
