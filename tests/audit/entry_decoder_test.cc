// The audit reader's canonical entry decoder (ledger/audit/entry_decoder.h): on every entry the
// engine writes for a value move it gives exactly what protobuf's parser gives, and the
// command's bytes fingerprint as CommandFingerprint does; everything else — reordered,
// repeated, unknown or default-valued fields, long varints, bad UTF-8, other kinds of entry —
// is handed back to protobuf's parser.

#include "ledger/audit/entry_decoder.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "ledger/format/journal_format.h"
#include "ledger/ledger.h"
#include "tests/test_util.h"

namespace lovebank::audit {
namespace {

using lovebank::testing::Earn;
using lovebank::testing::TempDir;

std::string_view View(const Hash& hash) {
  return std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size());
}

// Decodes `payload` both ways; returns whether the canonical decoder took it, after checking
// that, when it did, its result is protobuf's.
bool DecodesCanonically(const std::string& payload) {
  v1::Entry fast;
  std::string_view command_bytes;
  if (!DecodeCanonicalEntry(payload, &fast, &command_bytes)) return false;
  v1::Entry parsed;
  EXPECT_TRUE(parsed.ParseFromString(payload));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(fast, parsed))
      << fast.ShortDebugString() << "\nvs\n"
      << parsed.ShortDebugString();
  EXPECT_EQ(View(SerializedCommandFingerprint(command_bytes)),
            CommandFingerprint(parsed.command()));
  EXPECT_EQ(parsed.SerializeAsString(), payload);  // canonical: it is its own serialization
  return true;
}

TEST(EntryDecoderTest, EveryValueMoveTheEngineWritesDecodesAsProtobufDecodesIt) {
  TempDir dir;
  auto ledger = lovebank::testing::OpenLedger(dir.path());
  lovebank::testing::OpenProgramme(*ledger, 3);
  std::vector<v1::Command> commands;
  commands.push_back(Earn("e1", "issuer:town", "m1", "500"));
  v1::Command hours = Earn("e2", "issuer:town", "m2", "2.5", "HOURS");
  auto* activity = hours.mutable_earn()->mutable_activity();
  activity->set_name("重阳节敬老活动");
  activity->set_date("2026-10-29");
  activity->set_place("河头店镇敬老院");
  activity->set_team("反诈宣传志愿队");
  activity->set_category("助老");
  activity->set_id("A26110001");
  hours.set_memo("陪老人聊天、打扫卫生");
  commands.push_back(hours);
  v1::Command deduct = lovebank::testing::Deduct("d1", "m1", "issuer:town", "5");
  deduct.mutable_deduct()->set_reason("学习态度不端正");
  commands.push_back(deduct);
  commands.push_back(lovebank::testing::Redeem("r1", "m1", "store:main", "30"));
  commands.push_back(lovebank::testing::Transfer("t1", "m2", "m3", "1", "HOURS"));
  for (const Outcome& outcome : ledger->ExecuteMany(std::move(commands))) {
    ASSERT_TRUE(outcome.ok()) << outcome.message;
  }
  const Outcome redeem = ledger->Execute(lovebank::testing::Redeem("r2", "m1", "store:main", "1"));
  ASSERT_TRUE(redeem.ok());
  ASSERT_TRUE(ledger->Execute(lovebank::testing::Reverse("v1", redeem.receipt.seq)).ok());

  const std::uint64_t head = ledger->GetHead().seq;
  int canonical = 0;
  for (std::uint64_t seq = 1; seq <= head; ++seq) {
    auto stored = ledger->GetEntry(seq);
    ASSERT_TRUE(stored.ok());
    const bool moves = stored->entry.command().body_case() == v1::Command::kEarn ||
                       stored->entry.command().body_case() == v1::Command::kDeduct ||
                       stored->entry.command().body_case() == v1::Command::kRedeem ||
                       stored->entry.command().body_case() == v1::Command::kTransfer ||
                       stored->entry.command().body_case() == v1::Command::kReverse;
    // Value moves take the fast path; account openings are left to protobuf.
    EXPECT_EQ(DecodesCanonically(stored->payload), moves) << stored->entry.ShortDebugString();
    canonical += moves ? 1 : 0;
  }
  EXPECT_EQ(canonical, 7);
}

// A valid, canonical transfer entry built by hand, and the bytes of its pieces.
// A field: its tag as a varint, then a varint's bytes as given or a short string's length and
// bytes.
std::string Field(int number, int type, const std::string& value) {
  std::string out;
  for (unsigned tag = static_cast<unsigned>(number << 3 | type);; tag >>= 7) {
    out.push_back(static_cast<char>(tag < 0x80 ? tag : (tag & 0x7F) | 0x80));
    if (tag < 0x80) break;
  }
  if (type == 2) out.push_back(static_cast<char>(value.size()));
  return out + value;
}
std::string Transfer(const std::string& request_id = "t1", const std::string& memo = "谢谢",
                     const std::string& before_body = "") {
  const std::string move =
      Field(1, 2, "m1") + Field(2, 2, "m2") + Field(3, 2, "POINTS") + Field(4, 2, "1.25");
  return Field(1, 2, request_id) + Field(2, 2, "m1:app") + Field(3, 2, memo) + before_body +
         Field(13, 2, move);
}
std::string Posting(const std::string& account, const std::string& amount) {
  return Field(1, 2, account) + Field(2, 2, "POINTS") + Field(3, 2, amount);
}
std::string Entry(const std::string& command, const std::string& tail = "") {
  return Field(1, 0, "\x07") + Field(2, 0, "\x2A") + Field(3, 2, command) +
         Field(4, 2, Posting("m1", "-125")) + Field(4, 2, Posting("m2", "125")) + tail;
}

TEST(EntryDecoderTest, AHandBuiltCanonicalEntryIsDecodedAndItsChineseTextKept) {
  const std::string payload = Entry(Transfer());
  ASSERT_TRUE(DecodesCanonically(payload));
  v1::Entry entry;
  std::string_view command_bytes;  // a view into `payload`
  ASSERT_TRUE(DecodeCanonicalEntry(payload, &entry, &command_bytes));
  EXPECT_EQ(entry.seq(), 7u);
  EXPECT_EQ(entry.time_unix_us(), 42);
  EXPECT_EQ(entry.command().memo(), "谢谢");
  EXPECT_EQ(entry.command().transfer().amount(), "1.25");
  ASSERT_EQ(entry.postings_size(), 2);
  EXPECT_EQ(entry.postings(1).amount_minor(), "125");
  EXPECT_EQ(command_bytes, Transfer());
}

// The audit reader decodes into messages it reuses from entry to entry. Whatever the previous
// entry left in one — an activity, a reason, another body, more postings, a command at all — the
// next decode must end exactly as protobuf's parse of the next payload into a fresh message.
TEST(EntryDecoderTest, AMessageReusedForEntryAfterEntryEndsAsAFreshParse) {
  TempDir dir;
  auto ledger = lovebank::testing::OpenLedger(dir.path());
  lovebank::testing::OpenProgramme(*ledger, 3);
  v1::Command hours = Earn("e1", "issuer:town", "m1", "2.5", "HOURS");
  hours.set_memo("陪老人聊天");
  hours.mutable_earn()->mutable_activity()->set_name("重阳节敬老活动");
  hours.mutable_earn()->mutable_activity()->set_team("反诈宣传志愿队");
  hours.mutable_earn()->mutable_activity()->set_date("2026-10-29");
  v1::Command deduct = lovebank::testing::Deduct("d1", "m1", "issuer:town", "0.5", "HOURS");
  deduct.mutable_deduct()->set_reason("学习态度不端正");
  std::vector<v1::Command> commands = {hours, Earn("e2", "issuer:town", "m2", "500"), deduct,
                                       lovebank::testing::Transfer("t1", "m2", "m3", "1"),
                                       Earn("e3", "issuer:town", "m2", "1")};
  std::vector<std::string> payloads;
  std::uint64_t last_seq = 0;
  for (const Outcome& outcome : ledger->ExecuteMany(std::move(commands))) {
    ASSERT_TRUE(outcome.ok()) << outcome.message;
    last_seq = outcome.receipt.seq;
    auto stored = ledger->GetEntry(outcome.receipt.seq);
    ASSERT_TRUE(stored.ok());
    payloads.push_back(stored->payload);
  }
  const Outcome reversal = ledger->Execute(lovebank::testing::Reverse("v1", last_seq));
  ASSERT_TRUE(reversal.ok()) << reversal.message;
  payloads.push_back(ledger->GetEntry(reversal.receipt.seq)->payload);
  payloads.push_back(Field(1, 0, "\x07") + Field(2, 0, "\x2A"));  // no command, no postings
  payloads.push_back(Entry(Field(1, 2, "t9")));                   // a command without a body
  payloads.push_back(Entry(Transfer()) + Field(15, 0, "\x01"));   // not canonical: refused
  // Every payload after every other one (and after itself), into the same message.
  v1::Entry reused;
  int compared = 0;
  for (const std::string& before : payloads) {
    for (const std::string& payload : payloads) {
      std::string_view command_bytes;
      DecodeCanonicalEntry(before, &reused, &command_bytes);
      v1::Entry parsed;
      ASSERT_TRUE(parsed.ParseFromString(payload));
      if (!DecodeCanonicalEntry(payload, &reused, &command_bytes)) {
        EXPECT_EQ(&payload, &payloads.back()) << parsed.ShortDebugString();
        continue;
      }
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(reused, parsed))
          << reused.ShortDebugString() << "\nvs\n"
          << parsed.ShortDebugString();
      EXPECT_EQ(reused.SerializeAsString(), payload);
      EXPECT_EQ(View(SerializedCommandFingerprint(command_bytes)),
                CommandFingerprint(parsed.command()));
      ++compared;
    }
  }
  EXPECT_EQ(compared, 9 * 8);
}

TEST(EntryDecoderTest, AnythingNotCanonicalIsLeftToProtobuf) {
  struct Case {
    const char* what;
    std::string payload;
    bool protobuf_parses;
  };
  const std::string canonical = Entry(Transfer());
  const std::vector<Case> cases = {
      {"fields out of order", Field(2, 0, "\x2A") + Field(1, 0, "\x07") + Field(3, 2, Transfer()),
       true},
      {"seq written twice", Field(1, 0, "\x07") + Field(1, 0, "\x08") + Field(3, 2, Transfer()),
       true},
      {"an unknown field", canonical + Field(15, 0, "\x01"), true},
      {"an unknown field in the command", Entry(Transfer("t1", "谢谢", Field(5, 0, "\x01"))), true},
      {"a zero seq written out", Field(1, 0, std::string(1, '\0')) + Field(3, 2, Transfer()), true},
      {"an empty memo written out", Entry(Transfer("t1", "")), true},
      {"an overlong varint", Field(1, 0, std::string("\x87\x00", 2)) + Field(3, 2, Transfer()),
       true},
      {"a seq as a string", Field(1, 2, "7") + Field(3, 2, Transfer()), true},
      {"invalid UTF-8 in the memo", Entry(Transfer("t1", "\xE8\xB0")), false},
      {"a truncated length", canonical.substr(0, canonical.size() - 3), false},
      {"two bodies", Entry(Transfer() + Field(14, 2, Field(1, 0, "\x01"))), true},
      {"an account opening", Entry(Field(1, 2, "o1") + Field(20, 2, Field(1, 2, "m9"))), true},
      {"a pricing", canonical + Field(5, 2, Field(2, 2, "100")), true},
  };
  for (const Case& c : cases) {
    v1::Entry entry;
    std::string_view command_bytes;
    EXPECT_FALSE(DecodeCanonicalEntry(c.payload, &entry, &command_bytes)) << c.what;
    v1::Entry parsed;
    EXPECT_EQ(parsed.ParseFromString(c.payload), c.protobuf_parses) << c.what;
  }
}

}  // namespace
}  // namespace lovebank::audit
