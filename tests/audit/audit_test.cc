// The audit against tampering: build a ledger through the engine, close it, edit RocksDB behind
// its back with the raw RocksDB API, and require the audit to name each edit by seq or key.

#include "ledger/audit/audit.h"

#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/audit/export.h"
#include "ledger/audit/replay.h"
#include "ledger/audit/report_output.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "tests/test_util.h"

namespace lovebank::audit {
namespace {

using lovebank::testing::Earn;
using lovebank::testing::TempDir;

// With the store compared, as `lovebank-audit --db` audits; or the journal alone, as
// `lovebank-audit --file` audits an export (with a way to read it again for the exact pass).
Report AuditDb(const std::string& path, std::vector<Digest> digests = {},
               bool compare_store = true) {
  StoreOptions read_only;
  read_only.read_only = true;
  auto store = Store::Open(path, read_only);
  EXPECT_TRUE(store.ok()) << store.status();
  auto source = StoreSource(**store);
  EXPECT_TRUE(source.ok()) << source.status();
  Options options;
  options.expected_digests = std::move(digests);
  if (!compare_store) options.reopen = [&store]() { return StoreSource(**store); };
  auto report = Run(**source, compare_store ? store->get() : nullptr, options);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? std::move(*report) : Report{};
}

Report AuditJournalOnly(const std::string& path) { return AuditDb(path, {}, false); }

std::string Describe(const Report& report) {
  std::string text;
  for (const Finding& f : report.findings) {
    text += Cat(FindingKindName(f.kind), " seq=", f.seq, " [", f.where, "] expected=", f.expected,
                " found=", f.found, "\n");
  }
  return text;
}

bool Has(const Report& report, FindingKind kind, std::uint64_t seq, std::string_view where = "") {
  for (const Finding& f : report.findings) {
    if (f.kind == kind && f.seq == seq && f.where.find(where) != std::string::npos) return true;
  }
  return false;
}

// A small programme: assets (1-2), issuer, store, m1..m3 (3-7), then value entries, then
// grants (the first makes "tester" an admin) and a revocation.
class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ledger = lovebank::testing::OpenLedger(dir_.path());
    lovebank::testing::OpenProgramme(*ledger, 3);
    for (int i = 1; i <= 3; ++i) {
      ASSERT_TRUE(ledger
                      ->Execute(Earn("award" + std::to_string(i), "issuer:town",
                                     "m" + std::to_string(i), "500"))
                      .ok());
    }
    ASSERT_TRUE(ledger->Execute(Earn("hours1", "issuer:town", "m1", "2.5", "HOURS")).ok());
    const Outcome sale =
        ledger->Execute(lovebank::testing::Redeem("sale1", "m1", "store:main", "30"));
    ASSERT_TRUE(sale.ok());
    ASSERT_TRUE(ledger->Execute(lovebank::testing::Transfer("gift1", "m2", "m3", "20")).ok());
    ASSERT_TRUE(ledger->Execute(lovebank::testing::Reverse("refund1", sale.receipt.seq)).ok());
    ASSERT_TRUE(
        ledger->Execute(lovebank::testing::SetStatus("freeze", "m3", v1::ACCOUNT_STATUS_FROZEN))
            .ok());
    // The first grant makes the actor of this fixture, "tester", an admin: from then on every
    // entry's actor must hold a grant that permits it (the audit's authority rule).
    ASSERT_TRUE(
        ledger->Execute(lovebank::testing::Grant("grant0", "tester", v1::ROLE_ADMIN, {}, 'a'))
            .ok());
    ASSERT_TRUE(ledger
                    ->Execute(lovebank::testing::Grant("grant1", "till:1", v1::ROLE_TERMINAL,
                                                       {"store:main"}, 't'))
                    .ok());
    ASSERT_TRUE(
        ledger->Execute(lovebank::testing::Grant("grant2", "m1:app", v1::ROLE_MEMBER, {"m1"}, 'm'))
            .ok());
    ASSERT_TRUE(ledger->Execute(lovebank::testing::Revoke("revoke1", "m1:app")).ok());
    head_ = ledger->GetHead();
    for (std::uint64_t seq = 1; seq <= head_.seq; ++seq)
      hashes_.push_back(ledger->GetEntry(seq)->hash);
  }

  // Opens the closed ledger's RocksDB for raw edits.
  std::unique_ptr<Store> Raw() {
    auto store = Store::Open(dir_.path(), StoreOptions{});
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(*store);
  }
  static rocksdb::WriteOptions Sync() {
    rocksdb::WriteOptions options;
    options.sync = true;
    return options;
  }
  std::string Value(Store& store, Family family, const std::string& key) {
    return store.Get(family, key).value().value();
  }

  TempDir dir_;
  Head head_;
  std::vector<Hash> hashes_;  // hashes_[seq - 1]
};

TEST_F(AuditTest, ACleanLedgerAuditsCleanWithItsDigestAndTotals) {
  const Report report =
      AuditDb(dir_.path(), {Digest{3, hashes_[2]}, Digest{head_.seq, head_.hash}});
  EXPECT_TRUE(report.clean()) << Describe(report);
  EXPECT_TRUE(report.store_compared);
  // The fast pass's digests of the request and statement indexes agreed with the store's: no
  // second pass (a digest computed differently on the two sides would force one).
  EXPECT_EQ(report.passes, 1);
  EXPECT_EQ(report.entries, head_.seq);
  EXPECT_EQ(report.head.seq, head_.seq);
  EXPECT_EQ(report.head.hash, head_.hash);
  ASSERT_EQ(report.totals.size(), 2u);
  EXPECT_EQ(report.totals[1].asset, "POINTS");
  EXPECT_EQ(report.totals[1].issued_minor, 150000);       // 3 x 500.00
  EXPECT_EQ(report.totals[1].circulating_minor, 150000);  // the sale was refunded
  EXPECT_EQ(report.totals[1].redeemed_minor, 0);
  EXPECT_EQ(report.totals[0].issued_minor, 250);  // 2.50 HOURS
  // Who was allowed what, from the journal alone.
  ASSERT_EQ(report.principals.size(), 3u);
  EXPECT_EQ(report.principals[0].principal(), "m1:app");
  EXPECT_EQ(report.principals[0].revoked_seq(), head_.seq);
  EXPECT_EQ(report.principals[1].principal(), "tester");
  EXPECT_EQ(report.principals[1].role(), v1::ROLE_ADMIN);
  EXPECT_EQ(report.principals[2].principal(), "till:1");
  EXPECT_EQ(report.principals[2].role(), v1::ROLE_TERMINAL);
  EXPECT_EQ(report.principals[2].revoked_seq(), 0u);

  const Report journal_only = AuditJournalOnly(dir_.path());
  EXPECT_TRUE(journal_only.clean()) << Describe(journal_only);
  EXPECT_EQ(journal_only.passes, 1);
  EXPECT_FALSE(journal_only.store_compared);
  EXPECT_EQ(journal_only.head.hash, head_.hash);
  EXPECT_EQ(journal_only.totals[1].issued_minor, 150000);
}

// A principal record edited in RocksDB (a terminal made admin; a revoked token revived) is named
// by its key: the journal alone says who was allowed what.
TEST_F(AuditTest, APrincipalEditedBehindTheEnginesBackIsNamedByItsKey) {
  const std::vector<std::pair<std::string, std::function<void(v1::PrincipalRecord&)>>> edits = {
      {"till:1",
       [](v1::PrincipalRecord& r) {
         r.set_role(v1::ROLE_ADMIN);
         r.clear_accounts();
       }},
      {"m1:app", [](v1::PrincipalRecord& r) { r.set_revoked_seq(0); }},
  };
  for (const auto& [name, edit] : edits) {
    SCOPED_TRACE(name);
    std::string original;
    {
      auto store = Raw();
      original = Value(*store, Family::kPrincipals, name);
      v1::PrincipalRecord record;
      ASSERT_TRUE(record.ParseFromString(original));
      edit(record);
      ASSERT_TRUE(
          store->db()
              ->Put(Sync(), store->handle(Family::kPrincipals), name, record.SerializeAsString())
              .ok());
    }
    const Report report = AuditDb(dir_.path());
    EXPECT_EQ(report.findings_total, 1u) << Describe(report);
    EXPECT_TRUE(Has(report, FindingKind::kRecordDiffers, 0, "principals " + name))
        << Describe(report);
    auto store = Raw();
    ASSERT_TRUE(store->db()->Put(Sync(), store->handle(Family::kPrincipals), name, original).ok());
  }
}

// Seq 8 and seq 9: with the store compared, the audit checks every fourth record's hash on its
// replay thread (seq 8) and the others on its reader thread (seq 9); journal only, it checks
// all of them on the replay thread (audit.cc). Each must name the flipped byte.
TEST_F(AuditTest, OneFlippedPayloadByteIsAHashMismatchAtItsSeq) {
  for (const std::uint64_t seq : {8u, 9u}) {
    auto store = Raw();
    std::string value = Value(*store, Family::kJournal, EncodeFixed64BE(seq));
    value[kStoredEntryHeaderBytes + 20] ^= 0x01;
    ASSERT_TRUE(store->db()
                    ->Put(Sync(), store->handle(Family::kJournal), EncodeFixed64BE(seq), value)
                    .ok());
  }
  for (const Report& report : {AuditDb(dir_.path()), AuditJournalOnly(dir_.path())}) {
    EXPECT_TRUE(Has(report, FindingKind::kHashMismatch, 8)) << Describe(report);
    EXPECT_TRUE(Has(report, FindingKind::kHashMismatch, 9)) << Describe(report);
    EXPECT_FALSE(Has(report, FindingKind::kHashMismatch, 7)) << Describe(report);
    EXPECT_FALSE(Has(report, FindingKind::kHashMismatch, 10)) << Describe(report);
  }
}

// Damage below RocksDB: one byte of a journal record flipped inside its table file on disk. The
// audit reads the journal without block checksums, so the damage is named at its seq by the
// chain rather than stopping the audit with a checksum error.
TEST_F(AuditTest, AByteFlippedInATableFileOnDiskIsAHashMismatchAtItsSeq) {
  const std::uint64_t seq = 9;
  std::string payload;
  {
    auto store = Raw();
    const std::string value = Value(*store, Family::kJournal, EncodeFixed64BE(seq));
    payload = std::string(DecodeStoredEntry(value)->payload);
  }  // closed: flushed to table files
  int flipped = 0;
  for (const auto& file : std::filesystem::directory_iterator(dir_.path())) {
    if (file.path().extension() != ".sst") continue;
    std::fstream io(file.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(io)), std::istreambuf_iterator<char>());
    const std::size_t at = bytes.find(payload);  // tables below L2 are not compressed
    if (at == std::string::npos) continue;
    io.seekp(static_cast<std::streamoff>(at + payload.size() / 2));
    io.put(static_cast<char>(bytes[at + payload.size() / 2] ^ 0x01));
    ++flipped;
  }
  ASSERT_EQ(flipped, 1);
  const Report report = AuditDb(dir_.path());
  EXPECT_TRUE(Has(report, FindingKind::kHashMismatch, seq)) << Describe(report);
  EXPECT_FALSE(Has(report, FindingKind::kHashMismatch, seq + 1)) << Describe(report);
}

TEST_F(AuditTest, ADeletedEntryIsAGapAndABrokenChainAtTheNextSeq) {
  const std::uint64_t seq = 10;
  {
    auto store = Raw();
    ASSERT_TRUE(
        store->db()->Delete(Sync(), store->handle(Family::kJournal), EncodeFixed64BE(seq)).ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_TRUE(Has(report, FindingKind::kSeqGap, seq + 1)) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kChainBroken, seq + 1)) << Describe(report);
  // Its effects are gone from the replay but not from the store.
  EXPECT_TRUE(Has(report, FindingKind::kRecordDiffers, 0, "balances")) << Describe(report);
}

TEST_F(AuditTest, TwoSwappedEntriesAreNamedBothByTheirSeqs) {
  const std::uint64_t seq = 9;
  {
    auto store = Raw();
    const std::string a = Value(*store, Family::kJournal, EncodeFixed64BE(seq));
    const std::string b = Value(*store, Family::kJournal, EncodeFixed64BE(seq + 1));
    rocksdb::WriteBatch batch;
    batch.Put(store->handle(Family::kJournal), EncodeFixed64BE(seq), b);
    batch.Put(store->handle(Family::kJournal), EncodeFixed64BE(seq + 1), a);
    ASSERT_TRUE(store->db()->Write(Sync(), &batch).ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_TRUE(Has(report, FindingKind::kSeqMismatch, seq)) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kSeqMismatch, seq + 1)) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kChainBroken, seq)) << Describe(report);
}

TEST_F(AuditTest, AForgedEntryWithACorrectHashIsCaughtByTheDerivedRecords) {
  const std::uint64_t seq = head_.seq + 1;
  {
    // What a forger with database access could write: a well-formed, correctly chained entry
    // crediting m1 with 1,000 points — but no engine updated the indexes, balances or head.
    v1::Entry entry;
    entry.set_seq(seq);
    entry.set_time_unix_us(1893456000000000);
    *entry.mutable_command() = Earn("forged", "issuer:town", "m1", "1000");
    auto* debit = entry.add_postings();
    debit->set_account("issuer:town");
    debit->set_asset("POINTS");
    debit->set_amount_minor("-100000");
    auto* credit = entry.add_postings();
    credit->set_account("m1");
    credit->set_asset("POINTS");
    credit->set_amount_minor("100000");
    const std::string payload = entry.SerializeAsString();
    const Hash hash = ChainHash(head_.hash, seq, payload);
    auto store = Raw();
    ASSERT_TRUE(store->db()
                    ->Put(Sync(), store->handle(Family::kJournal), EncodeFixed64BE(seq),
                          EncodeStoredEntry(hash, head_.hash, payload))
                    .ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_FALSE(Has(report, FindingKind::kChainBroken, seq)) << Describe(report);
  EXPECT_FALSE(Has(report, FindingKind::kHashMismatch, seq)) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kHeadMismatch, seq)) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordMissing, 0, "requests tester/forged"))
      << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordDiffers, 0, "balances m1/POINTS"))
      << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordMissing, 0, Cat("account_entries m1@", seq)))
      << Describe(report);
}

// The replay keeps each account's kind and status beside its balances (ReplayState::Account):
// a forged, correctly chained transfer out of m3 after the engine froze it, and one that
// overdraws m2, are both rule findings at their seq — so the kept status follows
// SetAccountStatus and the kept balance follows every posting.
TEST_F(AuditTest, AForgedTransferFromAFrozenOrEmptyAccountIsARuleFinding) {
  Hash prev = head_.hash;
  std::uint64_t seq = head_.seq;
  auto forge = [&](const std::string& id, const std::string& from, const std::string& minor) {
    v1::Entry entry;
    entry.set_seq(++seq);
    entry.set_time_unix_us(1893456000000000);
    *entry.mutable_command() = lovebank::testing::Transfer(id, from, "m1", "1");
    auto* debit = entry.add_postings();
    debit->set_account(from);
    debit->set_asset("POINTS");
    debit->set_amount_minor("-" + minor);
    auto* credit = entry.add_postings();
    credit->set_account("m1");
    credit->set_asset("POINTS");
    credit->set_amount_minor(minor);
    const std::string payload = entry.SerializeAsString();
    const Hash hash = ChainHash(prev, seq, payload);
    auto store = Raw();
    ASSERT_TRUE(store->db()
                    ->Put(Sync(), store->handle(Family::kJournal), EncodeFixed64BE(seq),
                          EncodeStoredEntry(hash, prev, payload))
                    .ok());
    prev = hash;
  };
  forge("forged-frozen", "m3", "100");      // m3 was frozen by the engine
  forge("forged-overdraw", "m2", "99900");  // m2 holds 480.00 points
  const std::uint64_t frozen = head_.seq + 1;
  const Report report = AuditDb(dir_.path());
  bool frozen_found = false;
  for (const Finding& f : report.findings) {
    frozen_found |= f.kind == FindingKind::kRuleViolated && f.seq == frozen &&
                    f.found.find("m3 is frozen") != std::string::npos;
  }
  EXPECT_TRUE(frozen_found) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kBalanceLimit, frozen + 1, "m2/POINTS")) << Describe(report);
}

// Found by fuzz/entry_fuzz.cc: a correctly chained entry whose command the engine would never
// accept (an asset with 40 decimal places) made the replay abort in the amount parser instead of
// reporting it. It is a finding now, and the audit goes on.
TEST_F(AuditTest, ACommandOutsideEveryRangeIsAFindingNotACrash) {
  const std::uint64_t seq = head_.seq + 1;
  {
    v1::Entry entry;
    entry.set_seq(seq);
    entry.set_time_unix_us(1893456000000000);
    entry.mutable_command()->set_request_id("forged-asset");
    auto* define = entry.mutable_command()->mutable_define_asset();
    define->set_code("GOLD");
    define->set_scale(40);
    define->set_maximum("1");
    define->set_display_name("金");
    const std::string payload = entry.SerializeAsString();
    auto store = Raw();
    ASSERT_TRUE(
        store->db()
            ->Put(Sync(), store->handle(Family::kJournal), EncodeFixed64BE(seq),
                  EncodeStoredEntry(ChainHash(head_.hash, seq, payload), head_.hash, payload))
            .ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_TRUE(Has(report, FindingKind::kCommandInvalid, seq)) << Describe(report);
  EXPECT_EQ(report.entries, seq);
}

TEST_F(AuditTest, ATruncatedTailWithARewrittenHeadIsCaughtByIndexesAndThePublishedDigest) {
  const std::uint64_t keep = head_.seq - 6;  // from the sale's refund on
  {
    auto store = Raw();
    rocksdb::WriteBatch batch;
    for (std::uint64_t seq = keep + 1; seq <= head_.seq; ++seq) {
      batch.Delete(store->handle(Family::kJournal), EncodeFixed64BE(seq));
    }
    batch.Put(store->handle(Family::kMeta), std::string(meta_key::kHeadSeq), EncodeFixed64BE(keep));
    batch.Put(store->handle(Family::kMeta), std::string(meta_key::kHeadHash),
              std::string(reinterpret_cast<const char*>(hashes_[keep - 1].data()), 32));
    ASSERT_TRUE(store->db()->Write(Sync(), &batch).ok());
  }
  const Report report = AuditDb(dir_.path(), {Digest{head_.seq, head_.hash}});
  EXPECT_EQ(report.head.seq, keep);
  EXPECT_FALSE(Has(report, FindingKind::kHeadMismatch, keep)) << Describe(report);  // consistent
  EXPECT_TRUE(Has(report, FindingKind::kDigestMismatch, head_.seq)) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordExtra, 0, "requests tester/refund1"))
      << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordExtra, 0, "reversed")) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordExtra, 0, "principals till:1")) << Describe(report);
}

TEST_F(AuditTest, AChangedBalanceRowIsNamedByItsKey) {
  {
    auto store = Raw();
    ASSERT_TRUE(store->db()
                    ->Put(Sync(), store->handle(Family::kBalances), BalanceKey("m2", "POINTS"),
                          EncodeBalanceValue(Int128(99999999), head_.seq))
                    .ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_EQ(report.findings_total, 1u) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordDiffers, 0, "balances m2/POINTS"))
      << Describe(report);
}

// Store format 2 keys request ids by actor: the records of a format-1 store would all read as
// findings, so the audit with the store refuses it by name; its journal still audits alone.
TEST_F(AuditTest, AStoreOfAnotherFormatIsRefusedByNameAndItsJournalStillAudits) {
  {
    auto store = Raw();
    std::string version;
    PutFixed32BE(&version, 1);
    ASSERT_TRUE(store->db()
                    ->Put(Sync(), store->handle(Family::kMeta),
                          std::string(meta_key::kFormatVersion), version)
                    .ok());
  }
  StoreOptions read_only;
  read_only.read_only = true;
  auto store = Store::Open(dir_.path(), read_only);
  ASSERT_TRUE(store.ok()) << store.status();
  auto source = StoreSource(**store);
  ASSERT_TRUE(source.ok()) << source.status();
  auto with_store = audit::Run(**source, store->get(), Options{});
  ASSERT_FALSE(with_store.ok());
  EXPECT_EQ(with_store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(with_store.status().message().find("format version 1"), std::string::npos)
      << with_store.status();
  auto again = StoreSource(**store);
  ASSERT_TRUE(again.ok());
  auto journal_only = audit::Run(**again, nullptr, Options{});
  ASSERT_TRUE(journal_only.ok()) << journal_only.status();
  EXPECT_EQ(journal_only->findings_total, 0u) << Describe(*journal_only);
}

TEST_F(AuditTest, ADeletedRequestIndexRowIsNamedByItsKey) {
  {
    auto store = Raw();
    ASSERT_TRUE(
        store->db()
            ->Delete(Sync(), store->handle(Family::kRequests), RequestKey("tester", "gift1"))
            .ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_EQ(report.findings_total, 1u) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordMissing, 0, "requests tester/gift1"))
      << Describe(report);
}

TEST_F(AuditTest, AnAddedStatementRowIsNamedByItsKey) {
  {
    auto store = Raw();
    v1::StatementLine line;
    auto* leg = line.add_legs();
    leg->set_asset("POINTS");
    leg->set_amount_minor("100000");
    leg->set_balance_after_minor("150000");
    ASSERT_TRUE(store->db()
                    ->Put(Sync(), store->handle(Family::kAccountEntries), AccountEntryKey("m2", 3),
                          line.SerializeAsString())
                    .ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_EQ(report.findings_total, 1u) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordExtra, 0, "account_entries m2@3"))
      << Describe(report);
  EXPECT_EQ(report.passes, 2);  // named by the exact pass
}

// The fast pass digests statement rows as the bytes the engine writes. A row holding the same
// line encoded otherwise (its fields in reverse order: valid protobuf, not what the engine
// writes) makes the digests differ; the exact pass compares the decoded lines and finds them
// equal: the audit is clean, after two passes.
TEST_F(AuditTest, AStatementRowEncodedOtherwiseButEqualIsNotAFinding) {
  {
    auto store = Raw();
    auto it = std::unique_ptr<rocksdb::Iterator>(
        store->db()->NewIterator(rocksdb::ReadOptions(), store->handle(Family::kAccountEntries)));
    v1::StatementLine line;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {  // the first row with legs
      ASSERT_TRUE(line.ParseFromString(it->value().ToString()));
      if (line.legs_size() > 0) break;
    }
    ASSERT_TRUE(it->Valid());
    const std::string key = it->key().ToString();
    it.reset();
    std::string bytes;
    for (const auto& leg : line.legs()) {
      std::string reversed;
      for (const auto& [tag, text] :
           {std::pair{'\x1a', leg.balance_after_minor()}, std::pair{'\x12', leg.amount_minor()},
            std::pair{'\x0a', leg.asset()}}) {
        ASSERT_LT(text.size(), 128u);
        reversed += tag;
        reversed += static_cast<char>(text.size());
        reversed += text;
      }
      ASSERT_LT(reversed.size(), 128u);
      bytes += '\x0a';
      bytes += static_cast<char>(reversed.size());
      bytes += reversed;
    }
    v1::StatementLine reparsed;
    ASSERT_TRUE(reparsed.ParseFromString(bytes));
    ASSERT_EQ(reparsed.SerializeAsString(), line.SerializeAsString());
    ASSERT_NE(bytes, line.SerializeAsString());
    ASSERT_TRUE(store->db()->Put(Sync(), store->handle(Family::kAccountEntries), key, bytes).ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
  EXPECT_EQ(report.passes, 2);
}

TEST_F(AuditTest, ExportRoundTripsAndATamperedExportCannotBeAudited) {
  const std::string file = dir_.Sub("ledger.lbexport");
  {
    StoreOptions read_only;
    read_only.read_only = true;
    auto store = Store::Open(dir_.path(), read_only);
    ASSERT_TRUE(store.ok());
    auto summary = ExportJournal(**store, file);
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->records, head_.seq);
  }
  {
    auto source = FileSource(file);
    ASSERT_TRUE(source.ok()) << source.status();
    auto report = audit::Run(**source, nullptr, Options{});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->clean()) << Describe(*report);
    EXPECT_FALSE(report->store_compared);
    EXPECT_EQ(report->head.hash, head_.hash);
  }
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (const std::string& damaged :
       {bytes.substr(0, bytes.size() / 2), bytes.substr(0, bytes.size() - 1), bytes + "x"}) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << damaged;
    auto source = FileSource(file);
    if (!source.ok()) continue;  // a damaged header is refused at open
    auto report = audit::Run(**source, nullptr, Options{});
    EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss) << report.status();
  }
  // A first record that claims 16 MiB in a file of a few KB: refused as truncated, by the bytes
  // left, before 16 MiB is allocated (found slowing fuzz/export_fuzz.cc to 48 runs a second).
  {
    std::string claims = bytes;
    const std::size_t length_at = 76 + 8;  // header, then the first record's seq
    claims.replace(length_at, 4, std::string("\x01\x00\x00\x00", 4));
    std::ofstream(file, std::ios::binary | std::ios::trunc) << claims;
    auto source = FileSource(file);
    ASSERT_TRUE(source.ok());
    const auto report = audit::Run(**source, nullptr, Options{});
    EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss) << report.status();
    EXPECT_NE(report.status().message().find("claims 16777216 bytes and"), std::string::npos)
        << report.status();
  }
  // One flipped payload byte inside an intact file: the trailer catches the file; and a forger
  // who recomputes the trailer is caught by the chain.
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << flipped;
  auto source = FileSource(file);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(audit::Run(**source, nullptr, Options{}).status().code(), absl::StatusCode::kDataLoss);
}

TEST(AuditBesideAWriter, ReadOnlyAuditOfALedgerARunningEngineHoldsOpen) {
  TempDir dir;
  auto ledger = lovebank::testing::OpenLedger(dir.path());
  lovebank::testing::OpenProgramme(*ledger, 5);
  ASSERT_TRUE(ledger->Execute(Earn("e1", "issuer:town", "m1", "5")).ok());
  const Head head = ledger->GetHead();
  const Report report = AuditDb(dir.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
  EXPECT_EQ(report.head.hash, head.hash);
  EXPECT_TRUE(ledger->Execute(Earn("e2", "issuer:town", "m1", "5")).ok());  // still writable
  EXPECT_TRUE(AuditDb(dir.path()).clean());
}

TEST(Digest, ParsesSeqColonHashStrictly) {
  const std::string hash(64, 'a');
  auto digest = ParseDigest("42:" + hash);
  ASSERT_TRUE(digest.has_value());
  EXPECT_EQ(digest->seq, 42u);
  EXPECT_EQ(digest->hash[0], 0xAA);
  for (const std::string& bad : std::vector<std::string>{
           "", ":" + hash, "0:" + hash, "x:" + hash, "42:" + hash.substr(1), "42:" + hash + "0",
           "42" + hash, "99999999999999999999999:" + hash, "42:" + std::string(63, 'a') + "g"}) {
    EXPECT_FALSE(ParseDigest(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace lovebank::audit

namespace lovebank::audit {
namespace {

TEST_F(AuditTest, AJournalKeyFarBeyondTheHeadIsReportedNotReplayed) {
  const std::uint64_t forged = std::uint64_t{1} << 62;
  {
    auto store = Raw();
    const std::string value = Value(*store, Family::kJournal, EncodeFixed64BE(head_.seq));
    ASSERT_TRUE(store->db()
                    ->Put(Sync(), store->handle(Family::kJournal), EncodeFixed64BE(forged), value)
                    .ok());
  }
  const Report report = AuditDb(dir_.path());  // must not try to size its state by 2^62
  EXPECT_TRUE(Has(report, FindingKind::kKeyMalformed, forged)) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kSeqGap, forged)) << Describe(report);
}

}  // namespace
}  // namespace lovebank::audit

namespace lovebank::audit {
namespace {

// A request id accepted twice, in an entry re-hashed so that the chain holds: found by the
// fast pass's sorted request-id hashes, named exactly by the second, exact pass — from the store
// and from an export alike.
TEST_F(AuditTest, ARequestIdUsedTwiceIsNamedEvenWithAnIntactChain) {
  {
    auto store = Raw();
    const std::string stored = Value(*store, Family::kJournal, EncodeFixed64BE(head_.seq));
    auto view = DecodeStoredEntry(stored);  // views into `stored`
    ASSERT_TRUE(view.has_value());
    v1::Entry entry;
    ASSERT_TRUE(entry.ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size())));
    entry.mutable_command()->set_request_id("award1");
    const std::string payload = entry.SerializeAsString();
    const Hash hash = ChainHash(view->prev_hash, head_.seq, payload);
    rocksdb::WriteBatch batch;
    batch.Put(store->handle(Family::kJournal), EncodeFixed64BE(head_.seq),
              EncodeStoredEntry(hash, view->prev_hash, payload));
    batch.Put(store->handle(Family::kMeta), std::string(meta_key::kHeadHash),
              std::string(reinterpret_cast<const char*>(hash.data()), 32));
    ASSERT_TRUE(store->db()->Write(Sync(), &batch).ok());
  }
  const Report report = AuditDb(dir_.path());
  EXPECT_FALSE(Has(report, FindingKind::kChainBroken, head_.seq)) << Describe(report);
  EXPECT_FALSE(Has(report, FindingKind::kHashMismatch, head_.seq)) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRequestIdDuplicate, head_.seq, "award1"))
      << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRecordExtra, 0, "requests tester/revoke1"))
      << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRequestIdDuplicate, head_.seq, "award1 of tester"))
      << Describe(report);

  const std::string file = dir_.Sub("forged.lbexport");
  {
    StoreOptions read_only;
    read_only.read_only = true;
    auto store = Store::Open(dir_.path(), read_only);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(ExportJournal(**store, file).ok());
  }
  auto source = FileSource(file);
  ASSERT_TRUE(source.ok());
  Options options;
  options.reopen = [file]() { return FileSource(file); };
  auto from_file = audit::Run(**source, nullptr, options);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->findings_total, 1u) << Describe(*from_file);
  EXPECT_TRUE(Has(*from_file, FindingKind::kRequestIdDuplicate, head_.seq, "award1"))
      << Describe(*from_file);
}

// Issue #22 item 3, DESIGN.md invariant 8: the audit re-checks authority in its own code. A
// ledger with a granted admin, issuer, two tills and a member app; its last entry is made as
// its principal was allowed, then its actor is rewritten and the chain recomputed (a consistent
// forgery of the tail). Each forgery is found, by the journal alone, as ACTOR_NOT_AUTHORIZED at
// that seq naming the actor — and is the only finding.
TEST(AuditAuthority, AnEntryWhoseActorHadNoSuchGrantIsFoundInAConsistentlyRechainedJournal) {
  using lovebank::testing::Grant;
  using lovebank::testing::Open;
  using lovebank::testing::Redeem;
  using lovebank::testing::Reverse;
  using lovebank::testing::Revoke;
  using lovebank::testing::Transfer;
  auto as = [](v1::Command command, const std::string& actor) {
    command.set_actor(actor);
    return command;
  };
  struct Case {
    std::string name;
    std::function<v1::Command(std::uint64_t sale_seq)> last;  // made as allowed
    std::string forged_actor;
    std::string found;  // in the finding
  };
  const std::vector<Case> cases = {
      {"a member earning",
       [&](std::uint64_t) { return as(Earn("last", "issuer:town", "m1", "5"), "worker"); }, "app2",
       "app2 (MEMBER) may not make this earn"},
      {"a never-granted actor",
       [&](std::uint64_t) { return as(Earn("last", "issuer:town", "m1", "5"), "worker"); }, "ghost",
       "ghost was never granted"},
      {"a till reversing another store's sale",
       [&](std::uint64_t sale) { return as(Reverse("last", sale), "till-1"); }, "till-2",
       "till-2 (TERMINAL) may not make this reverse"},
      {"a revoked principal",
       [&](std::uint64_t) { return as(Transfer("last", "m2", "m3", "1"), "app2"); }, "app",
       "app was revoked by entry"},
      {"a member revoking a principal not its own device",
       [&](std::uint64_t) { return as(Revoke("last", "till-2"), "tester"); }, "app2",
       "app2 (MEMBER) may not make this"},
      {"an issuer granting a full token (not a device waiting for activation)",
       [&](std::uint64_t) { return as(Grant("last", "p9", v1::ROLE_AUDITOR, {}, 'z'), "tester"); },
       "worker", "worker (ISSUER) may not make this"},
      {"the engine's actor",
       [&](std::uint64_t) { return as(Earn("last", "issuer:town", "m1", "5"), "worker"); },
       "lovebank", "the engine's actor"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    std::uint64_t head_seq = 0;
    {
      auto ledger = lovebank::testing::OpenLedger(dir.path());
      lovebank::testing::OpenProgramme(*ledger, 3);
      ASSERT_TRUE(
          ledger->Execute(Open("o-other", "store:other", v1::ACCOUNT_KIND_STORE, "别的超市")).ok());
      for (const v1::Command& grant :
           {Grant("g0", "tester", v1::ROLE_ADMIN, {}, 'a'),
            Grant("g1", "worker", v1::ROLE_ISSUER, {"issuer:town"}, 'b'),
            Grant("g2", "till-1", v1::ROLE_TERMINAL, {"store:main"}, 'c'),
            Grant("g3", "till-2", v1::ROLE_TERMINAL, {"store:other"}, 'd'),
            Grant("g4", "app", v1::ROLE_MEMBER, {"m1"}, 'e'),
            Grant("g5", "app2", v1::ROLE_MEMBER, {"m2"}, 'f')}) {
        ASSERT_TRUE(ledger->Execute(grant).ok());
      }
      ASSERT_TRUE(ledger->Execute(as(Earn("e1", "issuer:town", "m1", "100"), "worker")).ok());
      ASSERT_TRUE(ledger->Execute(as(Earn("e2", "issuer:town", "m2", "100"), "worker")).ok());
      ASSERT_TRUE(ledger->Execute(as(Transfer("t1", "m1", "m3", "1"), "app")).ok());
      const Outcome sale = ledger->Execute(as(Redeem("r1", "m1", "store:main", "10"), "till-1"));
      ASSERT_TRUE(sale.ok());
      ASSERT_TRUE(ledger->Execute(Revoke("rv", "app")).ok());
      const Outcome last = ledger->Execute(c.last(sale.receipt.seq));
      ASSERT_TRUE(last.ok()) << last.message;
      head_seq = ledger->GetHead().seq;
      ASSERT_EQ(last.receipt.seq, head_seq);
    }
    ASSERT_TRUE(AuditJournalOnly(dir.path()).clean());
    testing::RewriteHead(dir.path(), head_seq, [&](v1::Entry& entry) {
      entry.mutable_command()->set_actor(c.forged_actor);
    });
    const Report report = AuditJournalOnly(dir.path());
    EXPECT_EQ(report.findings_total, 1u) << Describe(report);
    ASSERT_TRUE(Has(report, FindingKind::kActorNotAuthorized, head_seq, "actor " + c.forged_actor))
        << Describe(report);
    EXPECT_NE(report.findings[0].found.find(c.found), std::string::npos) << Describe(report);
  }
}

// Issue #24 item 3: the audit re-checks each payment code's consent from the journal alone. A
// member's activated phone pays twice with two codes; the second entry is then rewritten to
// replay the first code (and, separately, to name another member's device) and rechained — each
// forgery is found as a rule violated at that seq.
TEST(AuditConsent, AReplayedOrBorrowedPaymentCodeIsFoundInAConsistentlyRechainedJournal) {
  using lovebank::testing::Grant;
  using lovebank::testing::Redeem;
  // "overflowed": a counter whose window, in microseconds, passes 64 bits (compared in 128 bits,
  // never wrapped into range); "on a settle": a consent on a Move that pays nothing of a member's.
  for (const std::string forgery : {"replayed", "borrowed", "overflowed", "on a settle"}) {
    SCOPED_TRACE(forgery);
    TempDir dir;
    std::uint64_t head_seq = 0;
    std::uint64_t first_counter = 0;
    {
      auto ledger = lovebank::testing::OpenLedger(dir.path());
      lovebank::testing::OpenProgramme(*ledger, 3);
      ASSERT_TRUE(ledger->Execute(Grant("g0", "tester", v1::ROLE_ADMIN, {}, 'a')).ok());
      ASSERT_TRUE(
          ledger->Execute(Grant("g1", "worker", v1::ROLE_ISSUER, {"issuer:town"}, 'b')).ok());
      ASSERT_TRUE(
          ledger->Execute(Grant("g2", "till-1", v1::ROLE_TERMINAL, {"store:main"}, 'c')).ok());
      v1::Command earn = Earn("e1", "issuer:town", "m1", "100");
      earn.set_actor("worker");
      ASSERT_TRUE(ledger->Execute(earn).ok());
      for (const auto& [device, member, fill] :
           {std::tuple{"m1.phone", "m1", 'p'}, std::tuple{"m2.phone", "m2", 'q'}}) {
        v1::Command grant = Grant(Cat("g-", device), device, v1::ROLE_MEMBER, {member}, fill);
        grant.mutable_grant_principal()->set_activation_ttl_seconds(3600);
        const Outcome granted = ledger->Execute(grant);
        ASSERT_TRUE(granted.ok()) << granted.message;
        const v1::Command activate =
            lovebank::testing::Activate(Cat("a-", device), device, static_cast<char>(fill + 10));
        const Outcome activated = ledger->Execute(activate);
        ASSERT_TRUE(activated.ok()) << activated.message;
      }
      const std::uint64_t window = static_cast<std::uint64_t>(
          ledger->GetEntry(ledger->GetHead().seq)->entry.time_unix_us() / 30'000'000);
      first_counter = window * 10;
      for (int i = 0; i < 2; ++i) {
        v1::Command redeem = Redeem(Cat("r", i), "m1", "store:main", "10");
        redeem.set_actor("till-1");
        redeem.mutable_redeem()->mutable_consent()->set_device("m1.phone");
        redeem.mutable_redeem()->mutable_consent()->set_counter(first_counter + i);
        const Outcome paid = ledger->Execute(redeem);
        ASSERT_TRUE(paid.ok()) << paid.message;
      }
      if (forgery == "on a settle") {
        v1::Command settle = lovebank::testing::Settle("s1", "store:main", "issuer:town", "10");
        settle.set_actor("tester");
        const Outcome settled = ledger->Execute(settle);
        ASSERT_TRUE(settled.ok()) << settled.message;
      }
      head_seq = ledger->GetHead().seq;
    }
    ASSERT_TRUE(AuditJournalOnly(dir.path()).clean()) << Describe(AuditJournalOnly(dir.path()));
    testing::RewriteHead(dir.path(), head_seq, [&](v1::Entry& entry) {
      v1::Command& c = *entry.mutable_command();
      v1::PaymentConsent* consent = c.has_settle() ? c.mutable_settle()->mutable_consent()
                                                   : c.mutable_redeem()->mutable_consent();
      if (forgery == "replayed") consent->set_counter(first_counter);
      if (forgery == "borrowed") consent->set_device("m2.phone");
      if (forgery == "overflowed") consent->set_counter(~std::uint64_t{0} - 9);
      if (forgery == "on a settle") {
        consent->set_device("m1.phone");
        consent->set_counter(first_counter + 5);
      }
    });
    const Report report = AuditJournalOnly(dir.path());
    EXPECT_EQ(report.findings_total, 1u) << Describe(report);
    EXPECT_TRUE(Has(report, FindingKind::kRuleViolated, head_seq, "")) << Describe(report);
  }
}

// A device's PIN (issue #24 item 2): the device changes it only with a code made with the old
// one, and a social worker may clear it but never set one. A journal whose last SetDevicePin is
// rewritten to drop that code, to prove it with another device's code, or to be a social
// worker's new PIN is found, though rechained consistently.
TEST(AuditPin, APinChangedWithoutItsCodeOrSetByASocialWorkerIsFound) {
  using lovebank::testing::Grant;
  struct Case {
    std::string forgery;
    FindingKind kind;
  };
  for (const Case& c : {Case{"no code", FindingKind::kRuleViolated},
                        Case{"another device's code", FindingKind::kRuleViolated},
                        Case{"a code of the PIN before", FindingKind::kRuleViolated},
                        Case{"a social worker's PIN", FindingKind::kActorNotAuthorized}}) {
    SCOPED_TRACE(c.forgery);
    TempDir dir;
    std::uint64_t head_seq = 0;
    {
      auto ledger = lovebank::testing::OpenLedger(dir.path());
      lovebank::testing::OpenProgramme(*ledger, 3);
      ASSERT_TRUE(ledger->Execute(Grant("g0", "tester", v1::ROLE_ADMIN, {}, 'a')).ok());
      ASSERT_TRUE(
          ledger->Execute(Grant("g1", "worker", v1::ROLE_ISSUER, {"issuer:town"}, 'b')).ok());
      for (const auto& [device, fill] : {std::pair{"m1.phone", 'p'}, std::pair{"m1.pad", 'q'}}) {
        v1::Command grant = Grant(Cat("g-", device), device, v1::ROLE_MEMBER, {"m1"}, fill);
        grant.mutable_grant_principal()->set_activation_ttl_seconds(3600);
        ASSERT_TRUE(ledger->Execute(grant).ok());
        ASSERT_TRUE(ledger
                        ->Execute(lovebank::testing::Activate(Cat("a-", device), device,
                                                              static_cast<char>(fill + 10)))
                        .ok());
      }
      const std::uint64_t window = static_cast<std::uint64_t>(
          ledger->GetEntry(ledger->GetHead().seq)->entry.time_unix_us() / 30'000'000);
      auto pin = [](const std::string& id, char fill) {
        v1::Command command;
        command.set_request_id(id);
        command.set_actor("m1.phone");
        v1::SetDevicePin* set = command.mutable_set_device_pin();
        set->set_principal("m1.phone");
        set->set_pin_key_wrapped(std::string(32, fill));
        set->set_wrap_nonce(std::string(16, fill));
        return command;
      };
      const Outcome first = ledger->Execute(pin("pin-1", 'w'));  // no PIN yet: no code needed
      ASSERT_TRUE(first.ok()) << first.message;
      v1::Command change = pin("pin-2", 'v');
      EXPECT_EQ(ledger->Execute(change).reason, Reason::kPaymentCodeRequired);
      change.set_request_id("pin-3");
      v1::PaymentConsent* consent = change.mutable_set_device_pin()->mutable_consent();
      consent->set_device("m1.phone");
      consent->set_counter(window * 10);
      // A code checked against the device's PIN before this one (none) is refused.
      EXPECT_EQ(ledger->Execute(change).reason, Reason::kPaymentCodeInvalid);
      change.set_request_id("pin-4");
      consent->set_pin_seq(first.receipt.seq);
      const Outcome changed = ledger->Execute(change);
      ASSERT_TRUE(changed.ok()) << changed.message;
      head_seq = ledger->GetHead().seq;
    }
    ASSERT_TRUE(AuditJournalOnly(dir.path()).clean()) << Describe(AuditJournalOnly(dir.path()));
    testing::RewriteHead(dir.path(), head_seq, [&](v1::Entry& entry) {
      v1::Command& command = *entry.mutable_command();
      if (c.forgery == "no code") command.mutable_set_device_pin()->clear_consent();
      if (c.forgery == "another device's code") {
        command.mutable_set_device_pin()->mutable_consent()->set_device("m1.pad");
      }
      if (c.forgery == "a social worker's PIN") command.set_actor("worker");
      if (c.forgery == "a code of the PIN before") {
        command.mutable_set_device_pin()->mutable_consent()->set_pin_seq(0);
      }
    });
    const Report report = AuditJournalOnly(dir.path());
    EXPECT_EQ(report.findings_total, 1u) << Describe(report);
    EXPECT_TRUE(Has(report, c.kind, head_seq, "")) << Describe(report);
  }
}

// A programme card is one account's (issue #24 item 4): a journal whose SetAccountContact gives
// a second account a card another holds is found, though rechained consistently.
TEST(AuditContact, ACardGivenToASecondAccountIsFound) {
  TempDir dir;
  std::uint64_t head_seq = 0;
  using lovebank::testing::SetContact;
  {
    auto ledger = lovebank::testing::OpenLedger(dir.path());
    lovebank::testing::OpenProgramme(*ledger, 3);
    ASSERT_TRUE(ledger->Execute(SetContact("c1", "m1", "C0001")).ok());
    ASSERT_TRUE(ledger->Execute(SetContact("c2", "m2", "C0002")).ok());
    head_seq = ledger->GetHead().seq;
  }
  ASSERT_TRUE(AuditJournalOnly(dir.path()).clean()) << Describe(AuditJournalOnly(dir.path()));
  testing::RewriteHead(dir.path(), head_seq, [](v1::Entry& entry) {
    entry.mutable_command()->mutable_set_account_contact()->set_card_number("C0001");
  });
  const Report report = AuditJournalOnly(dir.path());
  EXPECT_EQ(report.findings_total, 1u) << Describe(report);
  EXPECT_TRUE(Has(report, FindingKind::kRuleViolated, head_seq, "")) << Describe(report);
}

// Issue #28: the notice prints recipients' names as Chinese notices do.
TEST(NoticeWords, NamesAreMaskedByCharacterAsChineseNoticesPrintThem) {
  EXPECT_EQ(MaskedName("张三丰"), "张*丰");
  EXPECT_EQ(MaskedName("李四"), "李*");
  EXPECT_EQ(MaskedName("欧阳小锋"), "欧**锋");
  EXPECT_EQ(MaskedName("王"), "*");
  EXPECT_EQ(MaskedName(""), "*");
  EXPECT_EQ(MaskedName("Ann"), "A*n");
  EXPECT_EQ(MaskedName("𠀀𠀁𠀂"), "𠀀*𠀂");  // four-byte characters stay whole
}

// Issue #28: a progress line ends on the final count, with a percentage and the time left.
TEST(ProgressLine, EndsOnTheFinalCountWithItsPercentageAndTimeLeft) {
  EXPECT_EQ(Progress::Line("audited", "entries", 500, 1000, 2.0, false),
            "  audited 500 / 1000 entries (50 %, 250/s, about 2 s left)");
  EXPECT_EQ(Progress::Line("audited", "entries", 1000, 1000, 4.0, true),
            "  audited 1000 / 1000 entries (100 %, in 4.0 s)");
  EXPECT_EQ(Progress::Line("imported", "rows", 10, 0, 1.0, false), "  imported 10 rows (10/s)");
}

// Issue #28: an award's month is not after the month it is posted in, at most twelve before it.
TEST(AwardMonths, AreBoundedByTheMonthPostedIn) {
  const std::int64_t december_3 = 1796259600000000;  // 2026-12-03T01:00:00Z, 09:00 in Shanghai
  for (const char* month : {"2026-12", "2026-11", "2025-12"}) {
    EXPECT_EQ(AwardMonthProblem(month, december_3), "") << month;
  }
  for (const char* month : {"2027-01", "2025-11", "2026-13", "2026-1", ""}) {
    EXPECT_NE(AwardMonthProblem(month, december_3), "") << month;
  }
  v1::Award award;
  EXPECT_EQ(AwardMonth(award, december_3), "2026-12");
  EXPECT_EQ(AwardTime(award, december_3), december_3);
  award.set_month("2026-11");
  EXPECT_EQ(AwardMonth(award, december_3), "2026-11");
  // The first microsecond of November in Shanghai: 31 October 16:00 UTC.
  EXPECT_EQ(AwardTime(award, december_3), 1793462400000000);
}

}  // namespace
}  // namespace lovebank::audit
