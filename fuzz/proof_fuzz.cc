// libFuzzer target (issue #27 item 7): the proof verifiers. Two readings of every input:
// - as a Merkle tree and a proof: a genuine tree of 1-64 leaves (its size from the first byte),
//   a genuine inclusion and consistency proof for an index and a first size from the next bytes,
//   then the rest of the input bends the proofs and the claimed sizes. For the genuine sizes,
//   whatever is accepted must be the genuine proof: an accepted forgery would be a SHA-256
//   collision, so it is a verifier bug. Sizes past 2^48 and any path length never crash.
// - as JSON: a proof bundle (clients/proof.h) and a certificate's data, verified under a fixed
//   key: hostile JSON is a problem in words, never a crash.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "clients/certificate.h"
#include "clients/proof.h"
#include "ledger/base/check.h"
#include "ledger/format/merkle.h"

namespace {

using lovebank::merkle::Hash;
namespace merkle = lovebank::merkle;

Hash LeafOf(std::size_t i) {
  Hash entry{};
  entry[0] = static_cast<unsigned char>(i);
  entry[1] = static_cast<unsigned char>(i >> 8);
  return merkle::LeafHash(entry);
}

void FuzzTree(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return;
  const std::uint64_t n = 1 + data[0] % 64;  // small: each run is cheap, every shape is reached
  const std::uint64_t index = data[1] % n, first = 1 + data[2] % n;
  std::vector<Hash> leaves;
  merkle::Frontier frontier;
  std::vector<merkle::Frontier> prefixes = {frontier};
  for (std::uint64_t i = 0; i < n; ++i) {
    leaves.push_back(LeafOf(i));
    frontier.Append(leaves.back());
    prefixes.push_back(frontier);
  }
  auto read = [&](unsigned level, std::uint64_t at) -> absl::StatusOr<Hash> {
    // Perfect subtrees from the prefixes: the root of [at·2^level, (at+1)·2^level).
    const std::uint64_t begin = at << level, width = std::uint64_t{1} << level;
    std::vector<Hash> layer(leaves.begin() + static_cast<std::ptrdiff_t>(begin),
                            leaves.begin() + static_cast<std::ptrdiff_t>(begin + width));
    while (layer.size() > 1) {
      std::vector<Hash> up;
      for (std::size_t i = 0; i < layer.size(); i += 2)
        up.push_back(merkle::NodeHash(layer[i], layer[i + 1]));
      layer = up;
    }
    return layer[0];
  };
  const Hash root = frontier.Root();
  const Hash first_root = prefixes[first].Root();
  std::vector<Hash> path = *merkle::InclusionPath(index, n, read);
  std::vector<Hash> consistency = *merkle::ConsistencyPath(first, n, read);
  const std::vector<Hash> genuine_path = path, genuine_consistency = consistency;
  // The rest of the input bends the proofs and the claims: sizes, index, hashes, lengths.
  std::uint64_t claimed_n = n, claimed_index = index, claimed_first = first;
  for (std::size_t at = 3; at + 3 <= size; at += 3) {
    const std::uint8_t op = data[at] % 8, a = data[at + 1], b = data[at + 2];
    switch (op) {
      case 0:
        if (!path.empty()) path[a % path.size()][b % 32] ^= 1 | b;
        break;
      case 1:
        if (!consistency.empty()) consistency[a % consistency.size()][b % 32] ^= 1 | b;
        break;
      case 2:
        if (!path.empty()) path.pop_back();
        break;
      case 3:
        path.push_back(LeafOf(a));
        break;
      case 4:
        claimed_n = (a & 1) ? claimed_n + b : (std::uint64_t{1} << (a % 64)) + b;
        break;
      case 5:
        claimed_index = (a & 1) ? claimed_index ^ b : claimed_n + b;
        break;
      case 6:
        claimed_first = (a & 1) ? claimed_first ^ b : 0;
        break;
      case 7:
        if (!consistency.empty()) consistency.erase(consistency.begin() + a % consistency.size());
        break;
    }
  }
  // Sizes are bound to roots by the signed head, not by a path (two sizes can share a path's
  // shape): for the genuine sizes and index, only the genuine proof may verify. Other claims
  // must merely never crash.
  const bool inclusion_ok = merkle::VerifyInclusion(claimed_index, claimed_n, leaves[index], path,
                                                    root) == merkle::ProofProblem::kNone;
  if (inclusion_ok && claimed_n == n && claimed_index == index) {
    LOVEBANK_CHECK(path == genuine_path);
  }
  const bool consistency_ok = merkle::VerifyConsistency(claimed_first, claimed_n, first_root, root,
                                                        consistency) == merkle::ProofProblem::kNone;
  if (consistency_ok && claimed_n == n && claimed_first == first) {
    LOVEBANK_CHECK(consistency == genuine_consistency);
  }
}

void FuzzJson(const std::uint8_t* data, std::size_t size) {
  const auto json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded()) return;
  const std::string key(64, 'a');
  (void)lovebank::proof::Verify(json, key);
  if (!lovebank::certificate::ShapeProblem(json)) {
    std::vector<std::string> notes;
    (void)lovebank::certificate::VerifyOffline(json, key, &notes);
    (void)lovebank::certificate::Html(json);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzTree(data, size);
  FuzzJson(data, size);
  return 0;
}
