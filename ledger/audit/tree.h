#pragma once
// The audit's own Merkle tree over the journal it reads (issue #27): the root at its head, and
// for the store comparison a digest of the stored levels' nodes (kTreeStoredLevelMin and up) in
// index order as of the size the store's tree covers, so that the store's tree family is checked
// node for node without holding the nodes (a 10M-entry journal has 10M of them). The tree's
// shape is the format layer's (merkle.h), tested there against an independent model; what it is
// fed — the stored chain hashes in journal order — is the audit's.
//
// Thread-compatible.

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
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

  // Keep the level digests as they stand at `size` entries (the store's tree size: its builder
  // runs behind the journal). Before the first Append.
  void CheckpointAt(std::uint64_t size);

  // The next entry's stored chain hash.
  void Append(const Hash& entry_hash);
  std::uint64_t size() const { return frontier_.size(); }
  Hash Root() const { return frontier_.Root(); }
  const merkle::Frontier& frontier() const { return frontier_; }

  // The checkpoint's size and, per stored level (kTreeStoredLevelMin..), SHA-256 over that
  // level's nodes in index order; std::nullopt when the journal ended before the checkpoint.
  struct Levels {
    std::uint64_t size = 0;
    std::vector<Hash> digests;  // [level - kTreeStoredLevelMin]
  };
  const std::optional<Levels>& checkpoint() const { return checkpoint_; }

 private:
  void Keep();
  merkle::Frontier frontier_;
  std::vector<std::unique_ptr<struct LevelState>> levels_;  // [level - kTreeStoredLevelMin]
  std::uint64_t checkpoint_size_ = 0;
  std::optional<Levels> checkpoint_;
};

// The heads of the last sizes (issue #27, witnesses): the root and entry time of every tree size
// within merkle::kCosignLagMax of the newest, from a window of the last kCosignLagMax +
// kCosignCheckpointEvery entries' hashes and times and a frontier every kCosignCheckpointEvery
// entries — at most ~11 MB, however long the journal. A co-signed head is checked against it.
class RecentHeads {
 public:
  // The next entry (seq size() + 1): its stored chain hash and time. `tree_before`: the Merkle
  // tree of every entry before it (size() leaves), the caller's own (the audit's TreeDigest):
  // the window copies it at its checkpoints instead of hashing the same tree a second time.
  void Append(const Hash& entry_hash, std::int64_t time_unix_us,
              const merkle::Frontier& tree_before);
  // The newest entry's time. REQUIRES: size() > 0.
  void SetLastTime(std::int64_t time_unix_us);
  std::uint64_t size() const { return size_; }
  struct Head {
    Hash root{};
    std::int64_t time_unix_us = 0;
  };
  // The head of `tree_size` entries; std::nullopt when 0, past size() or out of the window.
  std::optional<Head> At(std::uint64_t tree_size) const;

 private:
  struct Leaf {
    Hash hash{};
    std::int64_t time_unix_us = 0;
  };
  std::vector<Leaf> ring_;  // entry i (0-based) at i % capacity, once the ring is full
  std::vector<std::pair<std::uint64_t, merkle::Frontier>> checkpoints_;  // oldest first
  std::uint64_t size_ = 0;
};

// The store's tree family and meta tree_size against `tree`'s checkpoint: a finding
// (kRecordDiffers, kRecordMissing, kRecordExtra) per level that differs, for a key that is no
// node, and for a tree size past the journal. A store made before the tree (no tree_size, no
// nodes) is no finding: its writer builds the tree when it next opens it.
absl::Status CompareTree(Store& store, const TreeDigest& tree, Findings& findings);

}  // namespace lovebank::audit
