// The audit's Merkle tree and its comparison with the store's tree family (tree.h).

#include "ledger/audit/tree.h"

#include <openssl/evp.h>

#include "ledger/audit/replay.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/storage/store.h"

namespace lovebank::audit {

// A running SHA-256 over one level's nodes.
struct LevelState {
  LevelState() : context(EVP_MD_CTX_new()) {
    LOVEBANK_CHECK(context != nullptr && EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1);
  }
  ~LevelState() { EVP_MD_CTX_free(context); }
  LevelState(const LevelState&) = delete;
  LevelState& operator=(const LevelState&) = delete;
  void Add(const unsigned char* node) { LOVEBANK_CHECK(EVP_DigestUpdate(context, node, 32) == 1); }
  Hash Digest() const {
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    LOVEBANK_CHECK(copy != nullptr && EVP_MD_CTX_copy_ex(copy, context) == 1);
    Hash hash;
    unsigned size = 0;
    LOVEBANK_CHECK(EVP_DigestFinal_ex(copy, hash.data(), &size) == 1 && size == 32);
    EVP_MD_CTX_free(copy);
    return hash;
  }
  EVP_MD_CTX* context;
};

namespace {
constexpr unsigned kLevelsMax = 64;
Hash EmptyDigest() { return LevelState().Digest(); }
}  // namespace

TreeDigest::TreeDigest() = default;
TreeDigest::~TreeDigest() = default;
TreeDigest::TreeDigest(TreeDigest&&) noexcept = default;
TreeDigest& TreeDigest::operator=(TreeDigest&&) noexcept = default;

void TreeDigest::CheckpointAt(std::uint64_t size) {
  LOVEBANK_CHECK(frontier_.size() == 0);
  checkpoint_size_ = size;
  if (size == 0) Keep();
}

void TreeDigest::Keep() {
  Levels kept;
  kept.size = frontier_.size();
  for (const auto& level : levels_) kept.digests.push_back(level->Digest());
  checkpoint_ = std::move(kept);
}

void TreeDigest::Append(const Hash& entry_hash) {
  frontier_.Append(merkle::LeafHash(entry_hash),
                   [this](unsigned level, std::uint64_t, const merkle::Hash& node) {
                     if (level < kTreeStoredLevelMin) return;
                     const unsigned at = level - kTreeStoredLevelMin;
                     while (levels_.size() <= at) levels_.push_back(std::make_unique<LevelState>());
                     levels_[at]->Add(node.data());
                   });
  if (frontier_.size() == checkpoint_size_) Keep();
}

namespace {
constexpr std::uint64_t kWindowEntries = merkle::kCosignLagMax + merkle::kCosignCheckpointEvery;
}  // namespace

void RecentHeads::Append(const Hash& entry_hash, std::int64_t time_unix_us,
                         const merkle::Frontier& tree_before) {
  LOVEBANK_CHECK(tree_before.size() == size_);
  if (size_ % merkle::kCosignCheckpointEvery == 0) {
    checkpoints_.emplace_back(size_, tree_before);
    // Older checkpoints than the window's oldest entry serve no size a co-signature may name.
    while (checkpoints_.size() > 1 && size_ - checkpoints_[1].first >= merkle::kCosignLagMax) {
      checkpoints_.erase(checkpoints_.begin());
    }
  }
  const Leaf leaf{entry_hash, time_unix_us};
  if (ring_.size() < kWindowEntries) {
    ring_.push_back(leaf);
  } else {
    ring_[size_ % kWindowEntries] = leaf;
  }
  ++size_;
}

void RecentHeads::SetLastTime(std::int64_t time_unix_us) {
  LOVEBANK_CHECK(size_ > 0);
  ring_[(size_ - 1) % kWindowEntries].time_unix_us = time_unix_us;
}

std::optional<RecentHeads::Head> RecentHeads::At(std::uint64_t tree_size) const {
  if (tree_size == 0 || tree_size > size_) return std::nullopt;
  const std::uint64_t oldest = size_ - ring_.size();  // the first entry index the ring holds
  const std::pair<std::uint64_t, merkle::Frontier>* from = nullptr;
  for (const auto& checkpoint : checkpoints_) {
    if (checkpoint.first <= tree_size && checkpoint.first >= oldest) from = &checkpoint;
  }
  if (from == nullptr) return std::nullopt;
  merkle::Frontier frontier = from->second;
  for (std::uint64_t i = from->first; i < tree_size; ++i) {
    frontier.Append(merkle::LeafHash(ring_[i % kWindowEntries].hash));
  }
  return Head{frontier.Root(), ring_[(tree_size - 1) % kWindowEntries].time_unix_us};
}

absl::Status CompareTree(Store& store, const TreeDigest& tree, Findings& findings) {
  auto stored = StoredTreeSize(store);
  auto it = store.NewIterator(Family::kTree);
  it->SeekToFirst();
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the tree"));
  if (stored.ok() && !*stored && !it->Valid()) return absl::OkStatus();  // made before the tree
  if (!stored.ok() || !*stored || !tree.checkpoint()) {
    findings.Add(
        stored.ok() && !*stored ? FindingKind::kRecordMissing : FindingKind::kRecordDiffers, 0,
        "tree size", Cat("at most ", tree.size(), " (the journal's entries)"),
        !stored.ok() ? std::string(stored.status().message())
        : !*stored   ? std::string("no record")
                     : Cat(**stored));
    return absl::OkStatus();
  }
  const TreeDigest::Levels& expected = *tree.checkpoint();
  // Level by level in key order: each stored level's nodes must be indexes 0, 1, 2, ... up to
  // what the tree size completes, and hash, in that order, to the audit's digest of the level.
  std::vector<std::unique_ptr<LevelState>> digests(kLevelsMax);
  std::vector<std::uint64_t> counts(kLevelsMax, 0);
  for (; it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::string_view value = it->value().ToStringView();
    if (key == kTreeSizeKey) continue;  // the size, read above
    const unsigned level = key.size() == 9 ? static_cast<unsigned char>(key[0]) : 0;
    if (level < kTreeStoredLevelMin || level >= kLevelsMax || value.size() != 32) {
      findings.Add(FindingKind::kRecordExtra, 0, Cat("tree ", ToHex(key)), "no record",
                   Cat(value.size(), " bytes"));
      continue;
    }
    if (!digests[level]) digests[level] = std::make_unique<LevelState>();
    const std::uint64_t index = GetFixed64BE(key.data() + 1);
    if (index != counts[level]) {
      findings.Add(index < (expected.size >> level) ? FindingKind::kRecordMissing
                                                    : FindingKind::kRecordExtra,
                   0, Cat("tree level ", level), Cat("node ", counts[level]), Cat("node ", index));
      counts[level] = index;  // report each gap once
    }
    ++counts[level];
    digests[level]->Add(reinterpret_cast<const unsigned char*>(value.data()));
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the tree"));
  for (unsigned level = kTreeStoredLevelMin; level < kLevelsMax; ++level) {
    const std::uint64_t want = expected.size >> level;
    const std::size_t at = level - kTreeStoredLevelMin;
    const Hash want_digest = at < expected.digests.size() ? expected.digests[at] : EmptyDigest();
    const Hash found_digest = digests[level] ? digests[level]->Digest() : EmptyDigest();
    if (counts[level] != want || found_digest != want_digest) {
      findings.Add(counts[level] < want   ? FindingKind::kRecordMissing
                   : counts[level] > want ? FindingKind::kRecordExtra
                                          : FindingKind::kRecordDiffers,
                   0, Cat("tree level ", level),
                   Cat(want, " nodes, digest ", HashToHex(want_digest)),
                   Cat(counts[level], " nodes, digest ", HashToHex(found_digest)));
    }
  }
  return absl::OkStatus();
}

}  // namespace lovebank::audit
