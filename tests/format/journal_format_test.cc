// The stored bytes and the hash chain, checked against an independent SHA-256 computation.

#include "ledger/format/journal_format.h"

#include <openssl/sha.h>

#include <array>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/base/coding.h"

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
  EXPECT_EQ(HashToHex(genesis),
            HashToHex(Sha256(std::string("lovebank/v1/genesis") + std::string(16, '\0'))));
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

namespace lovebank {
namespace {

constexpr const char* kDocPayloadHex =
    "08011080c0fdd3a6e697031a4b0a096561726e2d30303031120ce7a4bee5b7a5e5b08fe69d8e1a0fe9878de998b3"
    "e88a82e695ace88081521f0a0b6973737565723a746f776e12065630303030311a05484f555253220133221a0a0b"
    "6973737565723a746f776e1205484f5552531a042d33303022140a065630303030311205484f5552531a03333030";
constexpr std::size_t kDocPayloadBytes = 138;
constexpr const char* kDocGenesisHex =
    "854aecd47e7f77dfd2ed1e42c9aa98d0f27ec518160f4baa542367f2995ec967";
constexpr const char* kDocHashHex =
    "eac8a260a64e1f55453332c06544cd054f5b54594a2acd3cb0534c401db92673";

// The worked example of docs/journal-format.md, pinned byte for byte: if this test changes,
// the document must change with it.
v1::Entry DocExampleEntry() {
  v1::Entry entry;
  entry.set_seq(1);
  entry.set_time_unix_us(1793520000000000);  // 2026-11-01T08:00:00Z
  auto* command = entry.mutable_command();
  command->set_request_id("earn-0001");
  command->set_actor("社工小李");
  command->set_memo("重阳节敬老");
  auto* earn = command->mutable_earn();
  earn->set_from("issuer:town");
  earn->set_to("V00001");
  earn->set_asset("HOURS");
  earn->set_amount("3");
  auto* debit = entry.add_postings();
  debit->set_account("issuer:town");
  debit->set_asset("HOURS");
  debit->set_amount_minor("-300");
  auto* credit = entry.add_postings();
  credit->set_account("V00001");
  credit->set_asset("HOURS");
  credit->set_amount_minor("300");
  return entry;
}

TEST(DocExample, PayloadGenesisAndHashAreAsDocumented) {
  std::string ledger_id;
  for (int i = 0; i < 16; ++i) ledger_id.push_back(static_cast<char>(i));
  const std::string payload = DocExampleEntry().SerializeAsString();
  const Hash genesis = GenesisHash(ledger_id);
  const Hash hash = ChainHash(genesis, 1, payload);
  EXPECT_EQ(ToHex(payload), kDocPayloadHex);
  EXPECT_EQ(payload.size(), kDocPayloadBytes);
  EXPECT_EQ(HashToHex(genesis), kDocGenesisHex);
  EXPECT_EQ(HashToHex(hash), kDocHashHex);
}

// The hand encoders write what protobuf writes for the same message, byte for byte.
TEST(WireEncoders, StatementLineIsProtobufsSerialization) {
  const std::vector<std::vector<std::array<std::string, 3>>> lines = {
      {},
      {{"POINTS", "-125", "99875"}},
      {{"HOURS", "250", "1250"}, {"POINTS", "50000", "0"}},
      // 2-byte lengths
      {{std::string(200, 'A'), std::string(130, '9'), "-" + std::string(36, '9')}},
      {{"", "", ""}, {"X", "", "1"}},  // empty strings are not written; an empty leg is
      {{"积分", "-1", "0"}},
  };
  for (const auto& legs : lines) {
    v1::StatementLine line;
    std::string bytes;
    for (const auto& [asset, amount, after] : legs) {
      auto* leg = line.add_legs();
      leg->set_asset(asset);
      leg->set_amount_minor(amount);
      leg->set_balance_after_minor(after);
      AppendStatementLeg(&bytes, asset, amount, after);
    }
    EXPECT_EQ(ToHex(bytes), ToHex(line.SerializeAsString()));
  }
}

std::string EncodedLikeTheEngine(const v1::Entry& entry) {
  std::vector<PostingText> postings;
  for (const auto& posting : entry.postings()) {
    postings.push_back({posting.account(), posting.asset(), posting.amount_minor()});
  }
  return EncodeEntryPayload(entry.seq(), entry.time_unix_us(), SerializeCommand(entry.command()),
                            postings, entry.has_pricing() ? &entry.pricing() : nullptr,
                            entry.has_award() ? &entry.award() : nullptr);
}

TEST(WireEncoders, EntryPayloadIsProtobufsSerialization) {
  std::vector<v1::Entry> entries;
  entries.push_back(DocExampleEntry());
  {
    v1::Entry entry = DocExampleEntry();  // extremes of both varints, a 2-byte posting length
    entry.set_seq(std::numeric_limits<std::uint64_t>::max());
    entry.set_time_unix_us(-1);
    entry.mutable_postings(0)->set_account(std::string(300, 'a'));
    entries.push_back(entry);
  }
  {
    v1::Entry entry;  // zero seq and time are not written; an empty command is
    entry.mutable_command();
    entries.push_back(entry);
  }
  {
    v1::Entry entry = DocExampleEntry();  // empty strings in a posting; an empty posting
    entry.mutable_postings(1)->set_asset("");
    entry.add_postings();
    entry.mutable_command()->set_memo(std::string(20000, 'm'));  // a 3-byte command length
    entries.push_back(entry);
  }
  {
    v1::Entry entry = DocExampleEntry();  // an empty pricing and award are still present
    entry.mutable_pricing();
    entry.mutable_award();
    entries.push_back(entry);
  }
  {
    v1::Entry entry = DocExampleEntry();
    entry.clear_postings();
    auto* pricing = entry.mutable_pricing();
    auto* line = pricing->add_lines();
    line->set_sku("大米-5kg");
    line->set_quantity(2);
    line->set_unit_price_minor("3000");
    line->set_amount_minor("6000");
    pricing->set_total_points_minor("6000");
    pricing->set_pay_asset("POINTS");
    auto* award = entry.mutable_award();
    award->set_rule("university-admission");
    award->set_member("S00001");
    award->set_asset("POINTS");
    award->set_amount_minor("300000");
    award->set_period("ever");
    entries.push_back(entry);
  }
  for (const v1::Entry& entry : entries) {
    EXPECT_EQ(ToHex(EncodedLikeTheEngine(entry)), ToHex(entry.SerializeAsString()))
        << entry.ShortDebugString().substr(0, 200);
  }
  EXPECT_EQ(ToHex(EncodedLikeTheEngine(DocExampleEntry())), kDocPayloadHex);
}

}  // namespace
}  // namespace lovebank
