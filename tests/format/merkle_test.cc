// The Merkle tree (merkle.h) against an independent model written here from RFC 6962's
// recursive definitions over a plain vector of leaves (MTH, PATH, PROOF), and every way a proof
// can lie: wrong sizes, indexes, lengths (empty, short, long), flipped or swapped hashes.

#include "ledger/format/merkle.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <vector>

namespace lovebank::merkle {
namespace {

// --- The model: RFC 6962 2.1, written from the text, with EVP rather than merkle.cc's hashing.
Hash Digest(const std::string& bytes) {
  Hash out;
  unsigned size = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), out.data(), &size, EVP_sha256(), nullptr), 1);
  return out;
}
std::string Str(const Hash& h) { return std::string(reinterpret_cast<const char*>(h.data()), 32); }
std::uint64_t K(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
Hash Mth(const std::vector<Hash>& d, std::uint64_t a, std::uint64_t b) {
  if (b == a) return Digest("");
  if (b - a == 1) return Digest(std::string(1, '\0') + Str(d[a]));
  const std::uint64_t k = K(b - a);
  return Digest(std::string(1, '\1') + Str(Mth(d, a, a + k)) + Str(Mth(d, a + k, b)));
}
std::vector<Hash> Path(const std::vector<Hash>& d, std::uint64_t m, std::uint64_t a,
                       std::uint64_t b) {
  if (b - a == 1) return {};
  const std::uint64_t k = K(b - a);
  std::vector<Hash> path;
  if (m < k) {
    path = Path(d, m, a, a + k);
    path.push_back(Mth(d, a + k, b));
  } else {
    path = Path(d, m - k, a + k, b);
    path.push_back(Mth(d, a, a + k));
  }
  return path;
}
std::vector<Hash> Subproof(const std::vector<Hash>& d, std::uint64_t m, std::uint64_t a,
                           std::uint64_t b, bool complete) {
  if (m == b - a) return complete ? std::vector<Hash>{} : std::vector<Hash>{Mth(d, a, b)};
  const std::uint64_t k = K(b - a);
  std::vector<Hash> proof;
  if (m <= k) {
    proof = Subproof(d, m, a, a + k, complete);
    proof.push_back(Mth(d, a + k, b));
  } else {
    proof = Subproof(d, m - k, a + k, b, false);
    proof.push_back(Mth(d, a, a + k));
  }
  return proof;
}

// Entry hashes (the leaves' content) and a stored tree built by Frontier::Append.
struct Tree {
  std::vector<Hash> entries;
  std::map<std::pair<unsigned, std::uint64_t>, Hash> stored;  // levels ≥ 1, as Append reports
  Frontier frontier;
  explicit Tree(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      entries.push_back(Digest("entry " + std::to_string(i)));
      frontier.Append(LeafHash(entries.back()),
                      [this](unsigned level, std::uint64_t index, const Hash& hash) {
                        EXPECT_TRUE(stored.emplace(std::make_pair(level, index), hash).second);
                      });
    }
  }
  NodeReader reader() const {
    return [this](unsigned level, std::uint64_t index) -> absl::StatusOr<Hash> {
      if (level == 0) return LeafHash(entries.at(index));
      auto it = stored.find({level, index});
      if (it == stored.end()) return absl::NotFoundError("node not stored");
      return it->second;
    };
  }
};

TEST(MerkleTest, EmptyRootIsSha256OfNothing) {
  EXPECT_EQ(EmptyRoot(), Digest(""));
  EXPECT_EQ(Frontier().Root(), Digest(""));
}

TEST(MerkleTest, FrontierRootAndStoredNodesMatchTheModelAtEverySize) {
  const Tree tree(130);
  Frontier frontier;
  for (std::uint64_t n = 0; n <= 130; ++n) {
    EXPECT_EQ(frontier.Root(), Mth(tree.entries, 0, n)) << n;
    EXPECT_EQ(*RootOf(n, tree.reader()), Mth(tree.entries, 0, n)) << n;
    if (n < 130) frontier.Append(LeafHash(tree.entries[n]));
  }
  // Exactly the perfect subtrees of level ≥ 1: 130 leaves make 65 + 32 + 16 + 8 + 4 + 2 + 1.
  EXPECT_EQ(tree.stored.size(), 128u);
  for (const auto& [id, hash] : tree.stored) {
    const std::uint64_t width = std::uint64_t{1} << id.first;
    EXPECT_EQ(hash, Mth(tree.entries, id.second * width, (id.second + 1) * width));
  }
}

TEST(MerkleTest, FrontierRebuiltFromStoredNodesContinues) {
  const Tree tree(77);
  std::vector<Hash> nodes;
  for (const NodeId& id : FrontierNodes(77)) nodes.push_back(*tree.reader()(id.level, id.index));
  Frontier resumed(77, nodes);
  EXPECT_EQ(resumed.Root(), tree.frontier.Root());
  Frontier copy = tree.frontier;
  resumed.Append(LeafHash(Digest("next")));
  copy.Append(LeafHash(Digest("next")));
  EXPECT_EQ(resumed.Root(), copy.Root());
}

TEST(MerkleTest, InclusionProofsMatchTheModelAndVerifyForEveryLeafAndSize) {
  const Tree tree(70);
  for (std::uint64_t n = 1; n <= 70; ++n) {
    const Hash root = Mth(tree.entries, 0, n);
    for (std::uint64_t m = 0; m < n; ++m) {
      auto path = InclusionPath(m, n, tree.reader());
      ASSERT_TRUE(path.ok());
      ASSERT_EQ(*path, Path(tree.entries, m, 0, n)) << m << " of " << n;
      EXPECT_EQ(path->size(), InclusionPathLength(m, n));
      EXPECT_EQ(VerifyInclusion(m, n, LeafHash(tree.entries[m]), *path, root), ProofProblem::kNone);
    }
  }
}

TEST(MerkleTest, ConsistencyProofsMatchTheModelAndVerifyForEveryPairOfSizes) {
  const Tree tree(70);
  for (std::uint64_t n = 1; n <= 70; ++n) {
    for (std::uint64_t m = 1; m <= n; ++m) {
      auto proof = ConsistencyPath(m, n, tree.reader());
      ASSERT_TRUE(proof.ok());
      const auto model = m == n ? std::vector<Hash>{} : Subproof(tree.entries, m, 0, n, true);
      ASSERT_EQ(*proof, model) << m << " to " << n;
      EXPECT_EQ(proof->size(), ConsistencyPathLength(m, n));
      EXPECT_EQ(VerifyConsistency(m, n, Mth(tree.entries, 0, m), Mth(tree.entries, 0, n), *proof),
                ProofProblem::kNone)
          << m << " to " << n;
    }
  }
}

TEST(MerkleTest, InclusionRefusesEveryLie) {
  const Tree tree(13);
  const Hash root = tree.frontier.Root();
  const Hash leaf = LeafHash(tree.entries[5]);
  const auto path = *InclusionPath(5, 13, tree.reader());
  ASSERT_EQ(VerifyInclusion(5, 13, leaf, path, root), ProofProblem::kNone);
  EXPECT_EQ(VerifyInclusion(5, 0, leaf, path, root), ProofProblem::kSizeInvalid);
  EXPECT_EQ(VerifyInclusion(5, kTreeSizeMax + 1, leaf, path, root), ProofProblem::kSizeInvalid);
  EXPECT_EQ(VerifyInclusion(13, 13, leaf, path, root), ProofProblem::kIndexInvalid);
  EXPECT_EQ(VerifyInclusion(5, 13, leaf, {}, root), ProofProblem::kLengthInvalid);  // empty
  EXPECT_EQ(VerifyInclusion(5, 13, leaf, std::span(path).first(path.size() - 1), root),
            ProofProblem::kLengthInvalid);
  auto longer = path;
  longer.push_back(root);
  EXPECT_EQ(VerifyInclusion(5, 13, leaf, longer, root), ProofProblem::kLengthInvalid);
  // Another leaf, index or size with the same hashes.
  EXPECT_EQ(VerifyInclusion(5, 13, LeafHash(tree.entries[6]), path, root),
            ProofProblem::kRootMismatch);
  EXPECT_EQ(VerifyInclusion(4, 13, leaf, path, root), ProofProblem::kRootMismatch);
  // The same hashes claimed for a bigger tree: the size a signed head binds to its root decides.
  const Tree bigger(14);
  EXPECT_EQ(VerifyInclusion(5, 14, leaf, path, bigger.frontier.Root()),
            ProofProblem::kRootMismatch);
  // The entry hash itself as the leaf hash (no 0x00 prefix: a second-preimage attempt).
  EXPECT_EQ(VerifyInclusion(5, 13, tree.entries[5], path, root), ProofProblem::kRootMismatch);
  for (std::size_t i = 0; i < path.size(); ++i) {
    auto bent = path;
    bent[i][7] ^= 1;
    EXPECT_EQ(VerifyInclusion(5, 13, leaf, bent, root), ProofProblem::kRootMismatch) << i;
  }
  auto swapped = path;
  std::swap(swapped[0], swapped[1]);
  EXPECT_EQ(VerifyInclusion(5, 13, leaf, swapped, root), ProofProblem::kRootMismatch);
  // A one-leaf tree: the empty proof is right, and only with the leaf as root.
  EXPECT_EQ(VerifyInclusion(0, 1, leaf, {}, leaf), ProofProblem::kNone);
  EXPECT_EQ(VerifyInclusion(0, 1, leaf, {}, root), ProofProblem::kRootMismatch);
}

TEST(MerkleTest, ConsistencyRefusesEveryLie) {
  const Tree tree(21);
  const Hash r8 = Mth(tree.entries, 0, 8), r13 = Mth(tree.entries, 0, 13);
  const Hash r21 = tree.frontier.Root();
  const auto proof = *ConsistencyPath(13, 21, tree.reader());
  ASSERT_EQ(VerifyConsistency(13, 21, r13, r21, proof), ProofProblem::kNone);
  EXPECT_EQ(VerifyConsistency(21, 13, r21, r13, proof), ProofProblem::kSizeInvalid);
  EXPECT_EQ(VerifyConsistency(13, kTreeSizeMax + 1, r13, r21, proof), ProofProblem::kSizeInvalid);
  EXPECT_EQ(VerifyConsistency(13, 21, r13, r21, {}), ProofProblem::kLengthInvalid);
  EXPECT_EQ(VerifyConsistency(13, 21, r13, r21, std::span(proof).first(proof.size() - 1)),
            ProofProblem::kLengthInvalid);
  EXPECT_EQ(VerifyConsistency(13, 21, r8, r21, proof), ProofProblem::kRootMismatch);
  EXPECT_EQ(VerifyConsistency(13, 21, r13, r13, proof), ProofProblem::kRootMismatch);
  EXPECT_EQ(VerifyConsistency(12, 21, r13, r21, proof), ProofProblem::kLengthInvalid);
  for (std::size_t i = 0; i < proof.size(); ++i) {
    auto bent = proof;
    bent[i][0] ^= 0x80;
    EXPECT_EQ(VerifyConsistency(13, 21, r13, r21, bent), ProofProblem::kRootMismatch) << i;
  }
  // Equal sizes: only the empty proof and equal roots; the empty tree: only its own root.
  EXPECT_EQ(VerifyConsistency(21, 21, r21, r21, {}), ProofProblem::kNone);
  EXPECT_EQ(VerifyConsistency(21, 21, r13, r21, {}), ProofProblem::kRootMismatch);
  EXPECT_EQ(VerifyConsistency(21, 21, r21, r21, proof), ProofProblem::kLengthInvalid);
  EXPECT_EQ(VerifyConsistency(0, 21, EmptyRoot(), r21, {}), ProofProblem::kNone);
  EXPECT_EQ(VerifyConsistency(0, 21, r13, r21, {}), ProofProblem::kRootMismatch);
  // A power-of-two first size: its root is not in the proof, so it must be the right one.
  const auto from8 = *ConsistencyPath(8, 21, tree.reader());
  EXPECT_EQ(VerifyConsistency(8, 21, r8, r21, from8), ProofProblem::kNone);
  EXPECT_EQ(VerifyConsistency(8, 21, r13, r21, from8), ProofProblem::kRootMismatch);
}

TEST(MerkleTest, RandomProofsOfALargeTreeVerify) {
  const Tree tree(5000);
  std::mt19937_64 random(27);
  for (int i = 0; i < 300; ++i) {
    const std::uint64_t n = 1 + random() % 5000, m = random() % n, first = 1 + random() % n;
    auto path = InclusionPath(m, n, tree.reader());
    ASSERT_TRUE(path.ok());
    const Hash root = *RootOf(n, tree.reader());
    EXPECT_EQ(VerifyInclusion(m, n, LeafHash(tree.entries[m]), *path, root), ProofProblem::kNone);
    auto proof = ConsistencyPath(first, n, tree.reader());
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(VerifyConsistency(first, n, *RootOf(first, tree.reader()), root, *proof),
              ProofProblem::kNone);
  }
}

TEST(MerkleTest, AMissingStoredNodeIsTheStoresError) {
  Tree tree(9);
  tree.stored.erase({2, 1});
  EXPECT_TRUE(absl::IsNotFound(InclusionPath(0, 9, tree.reader()).status()));
  tree.stored.erase({3, 0});
  EXPECT_TRUE(absl::IsNotFound(RootOf(9, tree.reader()).status()));
}

TEST(MerkleTest, PathLengthsAreBoundedAtTheLargestSize) {
  EXPECT_EQ(InclusionPathLength(0, kTreeSizeMax), 48u);
  EXPECT_LE(ConsistencyPathLength(kTreeSizeMax / 3, kTreeSizeMax), kPathHashesMax);
  EXPECT_LE(ConsistencyPathLength(1, kTreeSizeMax - 1), kPathHashesMax);
}

}  // namespace
}  // namespace lovebank::merkle
