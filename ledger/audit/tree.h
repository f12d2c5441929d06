#pragma once
// The audit's own Merkle tree over the journal it reads (issue #27): the root at its head, and
// for the store comparison a digest of every node of each level in index order, so that the
// store's tree family is checked node for node without holding the nodes (a 10M-entry journal
// has 10M of them). The tree's shape is the format layer's (merkle.h), tested there against an
// independent model; what it is fed — the stored chain hashes in journal order — is the audit's.
//
// Thread-compatible.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/merkle.h"

namespace lovebank {
class Store;
}

namespace lovebank::audit {

class Findings;

class TreeDigest {
 public:
  TreeDigest();
  ~TreeDigest();
  TreeDigest(TreeDigest&&) noexcept;
  TreeDigest& operator=(TreeDigest&&) noexcept;

  // The next entry's stored chain hash.
  void Append(const Hash& entry_hash);
  std::uint64_t size() const { return frontier_.size(); }
  Hash Root() const { return frontier_.Root(); }
  // SHA-256 over the nodes of `level` (1..) in index order; nodes of a level: size() >> level.
  Hash LevelDigest(unsigned level) const;
  unsigned levels() const;  // the highest level with a node, 0 when none

 private:
  merkle::Frontier frontier_;
  std::vector<std::unique_ptr<struct LevelState>> levels_;  // [level - 1]
};

// The store's tree family and meta tree_size against `tree`: a finding (kRecordDiffers,
// kRecordMissing, kRecordExtra) per level that differs, for a key that is no node, and for a
// tree size that is not the journal's. A store made before the tree (no tree_size, no nodes)
// is no finding: its writer builds the tree when it next opens it.
absl::Status CompareTree(Store& store, const TreeDigest& tree, Findings& findings);

}  // namespace lovebank::audit
