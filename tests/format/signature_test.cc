// Ed25519 keys and signed messages (signature.h): what verifies, what is refused, the key file.

#include "ledger/format/signature.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/test_util.h"

namespace lovebank::signature {
namespace {

TreeHead Head() {
  TreeHead head;
  head.ledger_id = std::string(16, '\x07');
  head.tree_size = 42;
  head.root.fill(0xab);
  head.time_unix_us = 1'764'000'000'000'000;
  return head;
}

TEST(SignatureTest, AHeadVerifiesOnlyUnchangedAndUnderItsOwnKeyAndPurpose) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  auto other = SigningKey::Generate();
  const TreeHead head = Head();
  const Signature signature = (*key)->Sign(TreeHeadMessage(head));
  EXPECT_TRUE(Verify((*key)->public_key(), TreeHeadMessage(head), signature));
  EXPECT_FALSE(Verify((*other)->public_key(), TreeHeadMessage(head), signature));
  for (auto edit : std::vector<std::function<void(TreeHead&)>>{
           [](TreeHead& h) { h.tree_size++; }, [](TreeHead& h) { h.root[31] ^= 1; },
           [](TreeHead& h) { h.time_unix_us++; }, [](TreeHead& h) { h.ledger_id[0] ^= 1; }}) {
    TreeHead edited = head;
    edit(edited);
    EXPECT_FALSE(Verify((*key)->public_key(), TreeHeadMessage(edited), signature));
  }
  // Domain separation: a head signature is no co-signature, and the other way round.
  EXPECT_FALSE(Verify((*key)->public_key(), CosignMessage(head, "w"), signature));
  Signature bent = signature;
  bent[0] ^= 1;
  EXPECT_FALSE(Verify((*key)->public_key(), TreeHeadMessage(head), bent));
  // 32 bytes that are no curve point verify nothing.
  PublicKey junk;
  junk.fill(0xff);
  EXPECT_FALSE(Verify(junk, TreeHeadMessage(head), signature));
}

TEST(SignatureTest, TheKeyFileIsOwnerOnlyAndLoadsTheSameKey) {
  const testing::TempDir temp;
  const std::string& dir = temp.path();
  const std::string path = dir + "/signing-key.pem";
  auto created = SigningKey::LoadOrCreate(path);
  ASSERT_TRUE(created.ok()) << created.status();
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto loaded = SigningKey::LoadOrCreate(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->public_key(), (*created)->public_key());
  EXPECT_TRUE(absl::IsAlreadyExists((*created)->WriteTo(path)));
  chmod(path.c_str(), 0644);
  EXPECT_TRUE(absl::IsPermissionDenied(SigningKey::Load(path).status()));
  chmod(path.c_str(), 0600);
  std::ofstream(dir + "/junk.pem") << "not a key";
  chmod((dir + "/junk.pem").c_str(), 0600);
  EXPECT_TRUE(absl::IsDataLoss(SigningKey::Load(dir + "/junk.pem").status()));
  EXPECT_TRUE(absl::IsNotFound(SigningKey::Load(dir + "/none.pem").status()));
  // Not through a symlink: whoever can place one must not choose the ledger's key.
  ASSERT_EQ(symlink(path.c_str(), (dir + "/link.pem").c_str()), 0);
  EXPECT_FALSE(SigningKey::Load(dir + "/link.pem").ok());
}

TEST(SignatureTest, PublicKeysParseFromHexOrAFileAndNothingElse) {
  auto key = SigningKey::Generate();
  const std::string hex = PublicKeyHex((*key)->public_key());
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(ParsePublicKey(" " + hex + "\n"), (*key)->public_key());
  const testing::TempDir temp;
  const std::string file = temp.Sub("key.txt");
  std::ofstream(file) << hex << "\n";
  EXPECT_EQ(ParsePublicKey(file), (*key)->public_key());
  EXPECT_FALSE(ParsePublicKey(hex.substr(2)).has_value());
  EXPECT_FALSE(ParsePublicKey(hex.substr(0, 62) + "zz").has_value());
  EXPECT_FALSE(ParsePublicKey("").has_value());
  // The fingerprint: the key id's first 16 bytes, hex in groups of four.
  const std::string fingerprint = Fingerprint((*key)->public_key());
  EXPECT_EQ(fingerprint.size(), 39u);
  EXPECT_EQ(fingerprint[4], ' ');
}

}  // namespace
}  // namespace lovebank::signature
