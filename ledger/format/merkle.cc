// The Merkle tree over the journal: hashing, the frontier, proofs and their verifiers (RFC 9162
// 2.1; merkle.h). The verifiers follow the RFC's algorithms step by step; the generators follow
// its recursive definitions (PATH, PROOF/SUBPROOF) with perfect subtrees read from the store.

#include "ledger/format/merkle.h"

#include <bit>

#include "ledger/base/check.h"
#include "ledger/format/sha256.h"

namespace lovebank::merkle {
namespace {

// The largest power of two strictly below n. REQUIRES: n ≥ 2.
std::uint64_t SplitOf(std::uint64_t n) { return std::bit_floor(n - 1); }

bool IsPerfect(std::uint64_t begin, std::uint64_t end) {
  const std::uint64_t size = end - begin;
  return std::has_single_bit(size) && begin % size == 0;
}

// MTH(D[begin:end]) from stored perfect subtrees. REQUIRES: begin < end.
absl::StatusOr<Hash> RangeHash(std::uint64_t begin, std::uint64_t end, const NodeReader& read) {
  if (IsPerfect(begin, end)) {
    const auto level = static_cast<unsigned>(std::countr_zero(end - begin));
    return read(level, begin >> level);
  }
  const std::uint64_t k = SplitOf(end - begin);
  auto left = RangeHash(begin, begin + k, read);
  if (!left.ok()) return left.status();
  auto right = RangeHash(begin + k, end, read);
  if (!right.ok()) return right.status();
  return NodeHash(*left, *right);
}

// PATH(m, D[begin:end]) appended to `path`, leaf side first.
absl::Status AppendPath(std::uint64_t m, std::uint64_t begin, std::uint64_t end,
                        const NodeReader& read, std::vector<Hash>* path) {
  const std::uint64_t n = end - begin;
  if (n == 1) return absl::OkStatus();
  const std::uint64_t k = SplitOf(n);
  absl::StatusOr<Hash> sibling;
  if (m < k) {
    if (auto status = AppendPath(m, begin, begin + k, read, path); !status.ok()) return status;
    sibling = RangeHash(begin + k, end, read);
  } else {
    if (auto status = AppendPath(m - k, begin + k, end, read, path); !status.ok()) return status;
    sibling = RangeHash(begin, begin + k, read);
  }
  if (!sibling.ok()) return sibling.status();
  path->push_back(*sibling);
  return absl::OkStatus();
}

// SUBPROOF(m, D[begin:end], complete) appended to `path`.
absl::Status AppendSubproof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool complete,
                            const NodeReader& read, std::vector<Hash>* path) {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (complete) return absl::OkStatus();
    auto root = RangeHash(begin, end, read);
    if (!root.ok()) return root.status();
    path->push_back(*root);
    return absl::OkStatus();
  }
  const std::uint64_t k = SplitOf(n);
  absl::StatusOr<Hash> sibling;
  if (m <= k) {
    if (auto status = AppendSubproof(m, begin, begin + k, complete, read, path); !status.ok()) {
      return status;
    }
    sibling = RangeHash(begin + k, end, read);
  } else {
    if (auto status = AppendSubproof(m - k, begin + k, end, false, read, path); !status.ok()) {
      return status;
    }
    sibling = RangeHash(begin, begin + k, read);
  }
  if (!sibling.ok()) return sibling.status();
  path->push_back(*sibling);
  return absl::OkStatus();
}

std::size_t SubproofLength(std::uint64_t m, std::uint64_t n, bool complete) {
  std::size_t length = 0;
  while (m != n) {
    const std::uint64_t k = SplitOf(n);
    ++length;
    if (m <= k) {
      n = k;
    } else {
      m -= k;
      n -= k;
      complete = false;
    }
  }
  return length + (complete ? 0 : 1);
}

}  // namespace

// Through lovebank::Sha256, not OpenSSL's one-shot SHA256(): in OpenSSL 3 that one fetches the
// digest on every call (a lock, a reference count, a name compare) — a quarter of the audit's
// reader time before (docs/benchmarks.md, issue #29).
Hash LeafHash(const Hash& entry_hash) {
  static constexpr char kLeaf = 0x00;
  return Sha256({std::string_view(&kLeaf, 1), HashBytes(entry_hash)});
}

Hash NodeHash(const Hash& left, const Hash& right) {
  static constexpr char kNode = 0x01;
  return Sha256({std::string_view(&kNode, 1), HashBytes(left), HashBytes(right)});
}

Hash EmptyRoot() { return Sha256({}); }

Frontier::Frontier(std::uint64_t size, std::vector<Hash> nodes)
    : size_(size), nodes_(std::move(nodes)) {
  LOVEBANK_CHECK(static_cast<std::size_t>(std::popcount(size_)) == nodes_.size());
}

void Frontier::Append(const Hash& leaf_hash,
                      const std::function<void(unsigned, std::uint64_t, const Hash&)>& completed) {
  LOVEBANK_CHECK(size_ < kTreeSizeMax);
  // Like a binary counter: each trailing one bit of the old size is a perfect subtree of that
  // level that the new leaf's side completes into one of the next level.
  Hash node = leaf_hash;
  unsigned level = 0;
  const std::uint64_t index = size_;
  while ((size_ >> level) & 1) {
    node = NodeHash(nodes_.back(), node);
    nodes_.pop_back();
    ++level;
    if (completed) completed(level, index >> level, node);
  }
  nodes_.push_back(node);
  ++size_;
}

Hash Frontier::Root() const {
  if (nodes_.empty()) return EmptyRoot();
  Hash root = nodes_.back();
  for (std::size_t i = nodes_.size() - 1; i-- > 0;) root = NodeHash(nodes_[i], root);
  return root;
}

std::vector<NodeId> FrontierNodes(std::uint64_t size) {
  std::vector<NodeId> nodes;
  std::uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if (size & width) {
      nodes.push_back({static_cast<unsigned>(level), begin >> level});
      begin += width;
    }
  }
  return nodes;
}

absl::StatusOr<Hash> RootOf(std::uint64_t size, const NodeReader& read) {
  LOVEBANK_CHECK(size <= kTreeSizeMax);
  if (size == 0) return EmptyRoot();
  return RangeHash(0, size, read);
}

absl::StatusOr<std::vector<Hash>> InclusionPath(std::uint64_t index, std::uint64_t size,
                                                const NodeReader& read) {
  LOVEBANK_CHECK(index < size && size <= kTreeSizeMax);
  std::vector<Hash> path;
  path.reserve(InclusionPathLength(index, size));
  if (auto status = AppendPath(index, 0, size, read, &path); !status.ok()) return status;
  return path;
}

absl::StatusOr<std::vector<Hash>> ConsistencyPath(std::uint64_t first, std::uint64_t second,
                                                  const NodeReader& read) {
  LOVEBANK_CHECK(0 < first && first <= second && second <= kTreeSizeMax);
  std::vector<Hash> path;
  path.reserve(ConsistencyPathLength(first, second));
  if (auto status = AppendSubproof(first, 0, second, true, read, &path); !status.ok()) {
    return status;
  }
  return path;
}

std::size_t InclusionPathLength(std::uint64_t index, std::uint64_t size) {
  std::size_t length = 0;
  while (size > 1) {
    const std::uint64_t k = SplitOf(size);
    ++length;
    if (index < k) {
      size = k;
    } else {
      index -= k;
      size -= k;
    }
  }
  return length;
}

std::size_t ConsistencyPathLength(std::uint64_t first, std::uint64_t second) {
  if (first == 0 || first == second) return 0;
  return SubproofLength(first, second, true);
}

const char* ProofProblemName(ProofProblem problem) {
  switch (problem) {
    case ProofProblem::kNone:
      return "NONE";
    case ProofProblem::kSizeInvalid:
      return "TREE_SIZE_INVALID";
    case ProofProblem::kIndexInvalid:
      return "LEAF_INDEX_INVALID";
    case ProofProblem::kLengthInvalid:
      return "PROOF_LENGTH_INVALID";
    case ProofProblem::kRootMismatch:
      return "ROOT_MISMATCH";
  }
  return "UNKNOWN";
}

ProofProblem VerifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                             std::span<const Hash> path, const Hash& root) {
  if (size == 0 || size > kTreeSizeMax) return ProofProblem::kSizeInvalid;
  if (index >= size) return ProofProblem::kIndexInvalid;
  if (path.size() != InclusionPathLength(index, size)) return ProofProblem::kLengthInvalid;
  // RFC 9162 2.1.3.2, step by step.
  std::uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return ProofProblem::kLengthInvalid;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return ProofProblem::kLengthInvalid;
  return r == root ? ProofProblem::kNone : ProofProblem::kRootMismatch;
}

ProofProblem VerifyConsistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                               const Hash& second_root, std::span<const Hash> path) {
  if (first > second || second > kTreeSizeMax) return ProofProblem::kSizeInvalid;
  if (path.size() != ConsistencyPathLength(first, second)) return ProofProblem::kLengthInvalid;
  if (first == 0) {
    // The empty tree's root is fixed; it is a prefix of every tree.
    return first_root == EmptyRoot() ? ProofProblem::kNone : ProofProblem::kRootMismatch;
  }
  if (first == second) {
    return first_root == second_root ? ProofProblem::kNone : ProofProblem::kRootMismatch;
  }
  // RFC 9162 2.1.4.2, step by step.
  std::vector<Hash> hashes;
  hashes.reserve(path.size() + 1);
  if (std::has_single_bit(first)) hashes.push_back(first_root);
  hashes.insert(hashes.end(), path.begin(), path.end());
  std::uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = hashes[0], sr = hashes[0];
  for (std::size_t i = 1; i < hashes.size(); ++i) {
    const Hash& c = hashes[i];
    if (sn == 0) return ProofProblem::kLengthInvalid;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return ProofProblem::kLengthInvalid;
  return fr == first_root && sr == second_root ? ProofProblem::kNone : ProofProblem::kRootMismatch;
}

}  // namespace lovebank::merkle
