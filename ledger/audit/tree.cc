// The audit's Merkle tree and its comparison with the store's tree family (tree.h).

#include "ledger/audit/tree.h"

#include <openssl/evp.h>

#include <bit>

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

TreeDigest::TreeDigest() = default;
TreeDigest::~TreeDigest() = default;
TreeDigest::TreeDigest(TreeDigest&&) noexcept = default;
TreeDigest& TreeDigest::operator=(TreeDigest&&) noexcept = default;

void TreeDigest::Append(const Hash& entry_hash) {
  frontier_.Append(merkle::LeafHash(entry_hash),
                   [this](unsigned level, std::uint64_t, const merkle::Hash& node) {
                     while (levels_.size() < level)
                       levels_.push_back(std::make_unique<LevelState>());
                     levels_[level - 1]->Add(node.data());
                   });
}

Hash TreeDigest::LevelDigest(unsigned level) const {
  if (level == 0 || level > levels_.size()) return LevelState().Digest();
  return levels_[level - 1]->Digest();
}

unsigned TreeDigest::levels() const { return static_cast<unsigned>(levels_.size()); }

absl::Status CompareTree(Store& store, const TreeDigest& tree, Findings& findings) {
  LOVEBANK_ASSIGN_OR_RETURN(auto size_bytes, store.Get(Family::kMeta, meta_key::kTreeSize));
  auto it = store.NewIterator(Family::kTree);
  it->SeekToFirst();
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the tree"));
  if (!size_bytes && !it->Valid()) return absl::OkStatus();  // made before the tree
  const std::string expected_size = Cat(tree.size());
  const std::string found_size = !size_bytes ? std::string("no record")
                                 : size_bytes->size() == 8
                                     ? Cat(GetFixed64BE(size_bytes->data()))
                                     : Cat(ToHex(*size_bytes), " (malformed)");
  if (found_size != expected_size) {
    findings.Add(size_bytes ? FindingKind::kRecordDiffers : FindingKind::kRecordMissing, 0,
                 "meta tree_size", expected_size, found_size);
  }
  // Level by level in key order: each level's nodes must be indexes 0, 1, 2, ... and hash, in
  // that order, to the audit's digest of the same level.
  std::vector<std::unique_ptr<LevelState>> digests;
  std::vector<std::uint64_t> counts;
  for (; it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::string_view value = it->value().ToStringView();
    const unsigned level = key.size() == 9 ? static_cast<unsigned char>(key[0]) : 0;
    if (level == 0 || level > 63 || value.size() != 32) {
      findings.Add(FindingKind::kRecordExtra, 0, Cat("tree ", ToHex(key)), "no record",
                   Cat(value.size(), " bytes"));
      continue;
    }
    while (digests.size() < level) {
      digests.push_back(std::make_unique<LevelState>());
      counts.push_back(0);
    }
    const std::uint64_t index = GetFixed64BE(key.data() + 1);
    if (index != counts[level - 1]) {
      findings.Add(
          index < (tree.size() >> level) ? FindingKind::kRecordMissing : FindingKind::kRecordExtra,
          0, Cat("tree level ", level), Cat("node ", counts[level - 1]), Cat("node ", index));
      counts[level - 1] = index;  // report each gap once
    }
    ++counts[level - 1];
    digests[level - 1]->Add(reinterpret_cast<const unsigned char*>(value.data()));
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the tree"));
  const unsigned top = std::max<unsigned>(static_cast<unsigned>(digests.size()), tree.levels());
  for (unsigned level = 1; level <= top; ++level) {
    const std::uint64_t expected = tree.size() >> level;
    const std::uint64_t found = level <= counts.size() ? counts[level - 1] : 0;
    const Hash found_digest =
        level <= digests.size() ? digests[level - 1]->Digest() : LevelState().Digest();
    if (found != expected || found_digest != tree.LevelDigest(level)) {
      findings.Add(found < expected   ? FindingKind::kRecordMissing
                   : found > expected ? FindingKind::kRecordExtra
                                      : FindingKind::kRecordDiffers,
                   0, Cat("tree level ", level),
                   Cat(expected, " nodes, digest ", HashToHex(tree.LevelDigest(level))),
                   Cat(found, " nodes, digest ", HashToHex(found_digest)));
    }
  }
  return absl::OkStatus();
}

}  // namespace lovebank::audit
