#pragma once
// The Merkle tree over the journal (issue #27; docs/journal-format.md "The tree"), in the shape of
// RFC 9162 section 2.1 (Certificate Transparency v2):
//   leaf   i = entry seq i+1; its leaf hash = SHA-256(0x00 ‖ the entry's 32-byte chain hash)
//   node       = SHA-256(0x01 ‖ left ‖ right)
//   MTH({})    = SHA-256("")                                 (the tree of size 0)
//   MTH(D[n])  = NODE(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n
// The leaf is the chain hash, not the payload: it already covers the payload, the seq and every
// earlier entry, and a proof bundle carries the stored entry so that a verifier recomputes it.
//
// A "node (level, index)" is the root of the perfect subtree over leaves
// [index·2^level, (index+1)·2^level): level 0 nodes are leaf hashes. Every tree size's root and
// proofs are made of perfect subtrees, which never change once complete, so the ledger stores
// each once (levels 1 and up; level 0 comes from the journal) and serves proofs for any size up
// to its head without rebuilding anything.
//
// Verifiers check everything a proof claims before hashing: sizes (0 < size ≤ kTreeSizeMax),
// index < size, first ≤ second, and the exact number of hashes the RFC's algorithm consumes —
// an empty or short proof is refused, never "trivially true" (transparency-dev/merkle PR #140,
// immudb GHSA-672p-m5jq-mrh8).
//
// Thread-compatible values and pure functions.

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace lovebank::merkle {

using Hash = std::array<unsigned char, 32>;

// 2^48 entries: at 1M entries a second, 9 years of journal. A proof for this size holds at most
// 48 (inclusion) or 96 (consistency) hashes, so no verifier ever reads more than kPathHashesMax.
// A witness co-signs a head at most this many entries behind the ledger's head (journal.proto
// CosignHead; reason COSIGN_HEAD_STALE): the audit checks a co-signed root and time from its
// window of the last kCosignLagMax + kCosignCheckpointEvery entries.
inline constexpr std::uint64_t kCosignLagMax = std::uint64_t{1} << 18;
inline constexpr std::uint64_t kCosignCheckpointEvery = std::uint64_t{1} << 10;
inline constexpr std::uint64_t kTreeSizeMax = std::uint64_t{1} << 48;
inline constexpr std::size_t kPathHashesMax = 96;

Hash LeafHash(const Hash& entry_hash);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();

// The roots of the perfect subtrees that make up a tree of `size` leaves, left to right
// (largest first): the only state needed to append a leaf or compute the root.
class Frontier {
 public:
  Frontier() = default;
  // REQUIRES: nodes.size() == popcount(size), nodes[i] the root of the i-th perfect subtree.
  Frontier(std::uint64_t size, std::vector<Hash> nodes);

  std::uint64_t size() const { return size_; }
  const std::vector<Hash>& nodes() const { return nodes_; }

  // Appends one leaf (its leaf hash). `completed(level, index, hash)` is called for every node of
  // level ≥ 1 that this leaf completes, lowest first (on average one per leaf).
  // REQUIRES: size() < kTreeSizeMax.
  void Append(const Hash& leaf_hash,
              const std::function<void(unsigned, std::uint64_t, const Hash&)>& completed = {});

  // MTH of the tree: EmptyRoot() for size 0.
  Hash Root() const;

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> nodes_;
};

// The (level, index) of every perfect subtree of a tree of `size`, left to right.
struct NodeId {
  unsigned level = 0;
  std::uint64_t index = 0;
};
std::vector<NodeId> FrontierNodes(std::uint64_t size);

// Reads node (level, index) of the stored tree. Errors are the store's (I/O, corruption).
using NodeReader = std::function<absl::StatusOr<Hash>(unsigned level, std::uint64_t index)>;

// MTH(D[0:size]) from stored nodes: O(log size) reads. REQUIRES: size ≤ kTreeSizeMax.
absl::StatusOr<Hash> RootOf(std::uint64_t size, const NodeReader& read);

// RFC 9162 2.1.3.1 PATH(index, D[0:size]), leaf-side first. REQUIRES: index < size ≤ kTreeSizeMax.
absl::StatusOr<std::vector<Hash>> InclusionPath(std::uint64_t index, std::uint64_t size,
                                                const NodeReader& read);
// RFC 9162 2.1.4.1 PROOF(first, D[0:second]). REQUIRES: 0 < first ≤ second ≤ kTreeSizeMax
// (first == second gives the empty proof).
absl::StatusOr<std::vector<Hash>> ConsistencyPath(std::uint64_t first, std::uint64_t second,
                                                  const NodeReader& read);

// The exact number of hashes the proofs above hold: what verifiers demand before hashing.
std::size_t InclusionPathLength(std::uint64_t index, std::uint64_t size);
std::size_t ConsistencyPathLength(std::uint64_t first, std::uint64_t second);

// Why a proof does not verify, named as the check that failed, in the order they run.
enum class ProofProblem {
  kNone = 0,
  kSizeInvalid,    // a size is 0 (inclusion) or above kTreeSizeMax, or first > second
  kIndexInvalid,   // the leaf index is not below the tree size
  kLengthInvalid,  // not exactly the number of hashes the sizes call for
  kRootMismatch,   // the hashes do not lead to the root(s) given
};
const char* ProofProblemName(ProofProblem problem);

// RFC 9162 2.1.3.2: the leaf `leaf_hash` is leaf `index` of the tree of `size` with root `root`.
ProofProblem VerifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                             std::span<const Hash> path, const Hash& root);
// RFC 9162 2.1.4.2: the tree of `first` leaves with `first_root` is a prefix of the tree of
// `second` leaves with `second_root`. first == second holds with an empty path and equal roots;
// first == 0 only with an empty path (the empty tree is a prefix of every tree).
ProofProblem VerifyConsistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                               const Hash& second_root, std::span<const Hash> path);

}  // namespace lovebank::merkle
