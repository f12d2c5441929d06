// Witnesses and the signing key as the journal keeps them (issue #27 items 2 and 4): a
// co-signature is an entry the ledger takes only when its witness signed it and the head it names
// is within reach; the audit checks its root and time against the tree it recomputes. A signing
// key change is a setting its old key endorsed and its new key accepted; the audit follows the
// chain. Each lie is refused by the ledger or named by the audit.

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "ledger/audit/tree.h"
#include "ledger/format/merkle.h"
#include "ledger/format/signature.h"
#include "ledger/ledger.h"
#include "ledger/rules/settings.h"
#include "tests/supermarket_fixture.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using testing::TempDir;

std::unique_ptr<signature::SigningKey> NewKey() {
  auto key = signature::SigningKey::Generate();
  EXPECT_TRUE(key.ok());
  return std::move(*key);
}

std::string Raw(const signature::PublicKey& key) { return std::string(signature::BytesOf(key)); }

// A co-signature by `witness` of the head (size, root, time) of `ledger`, as given.
v1::Command Cosign(const std::string& id, const Ledger& ledger, std::uint64_t size,
                   const Hash& root, std::int64_t time, const signature::SigningKey& witness,
                   const std::string& actor = "witness") {
  signature::TreeHead head;
  head.ledger_id = ledger.ledger_id();
  head.tree_size = size;
  head.root = root;
  head.time_unix_us = time;
  v1::Command command;
  command.set_request_id(id);
  command.set_actor(actor);
  v1::CosignHead* cosign = command.mutable_cosign_head();
  cosign->set_tree_size(size);
  cosign->set_root(std::string(reinterpret_cast<const char*>(root.data()), root.size()));
  cosign->set_time_unix_us(time);
  cosign->set_witness_key(Raw(witness.public_key()));
  cosign->set_signature(
      std::string(signature::BytesOf(witness.Sign(signature::CosignMessage(head, actor)))));
  return command;
}

// A change from `from` to `to`, endorsed by `endorser` (normally `from`).
v1::Command KeyChange(const std::string& id, const Ledger& ledger,
                      const signature::SigningKey& from, const signature::SigningKey& to,
                      const signature::SigningKey& endorser,
                      const std::string& actor = "lovebankd") {
  const std::string message = signature::KeyRotationMessage(
      ledger.ledger_id(), Raw(from.public_key()), Raw(to.public_key()));
  v1::Command command;
  command.set_request_id(id);
  command.set_actor(actor);
  v1::SigningKeyChange* change =
      command.mutable_set_setting()->mutable_value()->mutable_signing_key();
  change->set_old_key(Raw(from.public_key()));
  change->set_new_key(Raw(to.public_key()));
  change->set_endorsement(std::string(signature::BytesOf(endorser.Sign(message))));
  change->set_acceptance(std::string(signature::BytesOf(to.Sign(message))));
  return command;
}

TEST(WitnessTest, AGenuineCoSignatureIsJournaledAndTheAuditChecksItsRootAndTime) {
  TempDir dir;
  auto witness = NewKey();
  auto stranger = NewKey();
  std::uint64_t genuine_seq = 0, wrong_root_seq = 0, wrong_time_seq = 0;
  {
    auto ledger = testing::OpenLedger(dir.path());
    testing::OpenProgramme(*ledger, 3);
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(ledger->Execute(testing::Earn(Cat("e", i), "issuer:town", "m1", "1")).ok());
    }
    const std::uint64_t size = ledger->GetHead().seq;
    const Hash root = *ledger->TreeRoot(size);
    const std::int64_t time = *ledger->EntryTime(size);
    const Outcome genuine = ledger->Execute(Cosign("c1", *ledger, size, root, time, *witness));
    ASSERT_TRUE(genuine.ok()) << genuine.message;
    genuine_seq = genuine.receipt.seq;
    // Signed by a key other than the one it names.
    v1::Command forged = Cosign("c2", *ledger, size, root, time, *witness);
    forged.mutable_cosign_head()->set_witness_key(Raw(stranger->public_key()));
    EXPECT_EQ(ledger->Execute(forged).reason, Reason::kCosignatureInvalid);
    // A head past the ledger's, and malformed fields.
    EXPECT_EQ(ledger->Execute(Cosign("c3", *ledger, genuine_seq + 5, root, time, *witness)).reason,
              Reason::kTreeSizeInvalid);
    v1::Command short_root = Cosign("c4", *ledger, size, root, time, *witness);
    short_root.mutable_cosign_head()->mutable_root()->pop_back();
    EXPECT_EQ(ledger->Execute(short_root).reason, Reason::kCosignatureInvalid);
    v1::Command zero = Cosign("c5", *ledger, 0, root, time, *witness);
    EXPECT_EQ(ledger->Execute(zero).reason, Reason::kCosignatureInvalid);
    // Well signed, but not this ledger's head: the ledger's sequencer cannot tell (lovebankd
    // checks it against the tree before submitting); the audit must.
    Hash other_root = root;
    other_root[0] ^= 1;
    const Outcome wrong_root =
        ledger->Execute(Cosign("c6", *ledger, size, other_root, time, *witness));
    ASSERT_TRUE(wrong_root.ok());
    wrong_root_seq = wrong_root.receipt.seq;
    const Outcome wrong_time =
        ledger->Execute(Cosign("c7", *ledger, size, root, time + 1, *witness));
    ASSERT_TRUE(wrong_time.ok());
    wrong_time_seq = wrong_time.receipt.seq;
  }
  const audit::Report report = AuditDb(dir.path());
  const std::string text = Describe(report);
  EXPECT_EQ(report.findings_total, 2u) << text;
  EXPECT_NE(text.find(Cat("RULE_VIOLATED seq=", wrong_root_seq, " [co-signature]")),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(Cat("RULE_VIOLATED seq=", wrong_time_seq, " [co-signature]")),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(Cat("seq=", genuine_seq, " ")), std::string::npos) << text;
  // The latest co-signature of the witness is what the notice prints.
  ASSERT_EQ(report.cosignatures.size(), 1u);
  EXPECT_EQ(report.cosignatures[0].seq, wrong_time_seq);
  EXPECT_EQ(report.cosignatures[0].auditor, "witness");
}

TEST(WitnessTest, AHeadTooFarBehindIsStale) {
  auto witness = NewKey();
  const std::string ledger_id(16, 'L');
  signature::TreeHead head;
  head.ledger_id = ledger_id;
  head.tree_size = 10;
  head.time_unix_us = 7;
  v1::CosignHead cosign;
  cosign.set_tree_size(10);
  cosign.set_root(std::string(32, '\0'));
  cosign.set_time_unix_us(7);
  cosign.set_witness_key(Raw(witness->public_key()));
  cosign.set_signature(
      std::string(signature::BytesOf(witness->Sign(signature::CosignMessage(head, "w")))));
  // The head itself (entry 11 would co-sign size 10), and kCosignLagMax entries behind it.
  EXPECT_FALSE(rules::CheckCosign(cosign, "w", ledger_id, 11).has_value());
  EXPECT_FALSE(rules::CheckCosign(cosign, "w", ledger_id, 11 + merkle::kCosignLagMax).has_value());
  auto stale = rules::CheckCosign(cosign, "w", ledger_id, 12 + merkle::kCosignLagMax);
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->reason, Reason::kCosignHeadStale);
  auto past = rules::CheckCosign(cosign, "w", ledger_id, 10);
  ASSERT_TRUE(past.has_value());
  EXPECT_EQ(past->reason, Reason::kTreeSizeInvalid);
  // The ledger id and the witness's name are signed: neither another ledger nor another
  // principal verifies it.
  for (const auto& [witness_name, ledger] :
       {std::pair<std::string, std::string>{"w", std::string(16, 'M')}, {"x", ledger_id}}) {
    auto other = rules::CheckCosign(cosign, witness_name, ledger, 11);
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->reason, Reason::kCosignatureInvalid);
  }
}

// The audit's window of recent heads gives every size a co-signature may name, and nothing it
// cannot prove.
TEST(WitnessTest, TheAuditsRecentHeadsAreTheTreesOwnWithinTheWindow) {
  audit::RecentHeads recent;
  merkle::Frontier reference;
  std::map<std::uint64_t, Hash> roots;
  const std::uint64_t total = merkle::kCosignLagMax + 3 * merkle::kCosignCheckpointEvery + 77;
  const std::set<std::uint64_t> probes = {1,
                                          2,
                                          merkle::kCosignCheckpointEvery,
                                          merkle::kCosignCheckpointEvery + 1,
                                          total - merkle::kCosignLagMax - 1,
                                          total - merkle::kCosignLagMax,
                                          total - merkle::kCosignLagMax + 1,
                                          total - 1,
                                          total};
  for (std::uint64_t i = 1; i <= total; ++i) {
    Hash hash{};
    std::memcpy(hash.data(), &i, sizeof(i));
    recent.Append(hash, static_cast<std::int64_t>(i) * 10, reference);
    reference.Append(merkle::LeafHash(hash));
    if (probes.contains(i)) roots[i] = reference.Root();
  }
  for (std::uint64_t size : probes) {
    const auto head = recent.At(size);
    const std::uint64_t window = merkle::kCosignLagMax + merkle::kCosignCheckpointEvery;
    if (size + window <= total) {
      EXPECT_FALSE(head.has_value()) << size;  // its leaves have left the window
      continue;
    }
    // Within the lag every size is there; a little older ones may be (and then right).
    if (size + merkle::kCosignLagMax < total && !head.has_value()) continue;
    ASSERT_TRUE(head.has_value()) << size;
    EXPECT_EQ(head->root, roots[size]) << size;
    EXPECT_EQ(head->time_unix_us, static_cast<std::int64_t>(size) * 10) << size;
  }
  EXPECT_FALSE(recent.At(0).has_value());
  EXPECT_FALSE(recent.At(total + 1).has_value());
}

TEST(WitnessTest, TheSigningKeyChangesOnlyWhenTheKeyInForceEndorsesIt) {
  TempDir dir;
  auto k1 = NewKey();
  auto k2 = NewKey();
  auto k3 = NewKey();
  std::uint64_t endorsed_seq = 0;
  {
    auto ledger = testing::OpenLedger(dir.path());
    testing::OpenProgramme(*ledger, 1);
    // The first change: no key in force is journaled, the old key vouches for itself.
    const Outcome first = ledger->Execute(KeyChange("k12", *ledger, *k1, *k2, *k1));
    ASSERT_TRUE(first.ok()) << first.message;
    // From k1 again: not the key in force.
    EXPECT_EQ(ledger->Execute(KeyChange("k13", *ledger, *k1, *k3, *k1)).reason,
              Reason::kSigningKeyChangeInvalid);
    // From k2 but endorsed by k3 itself; and the new key the old one.
    EXPECT_EQ(ledger->Execute(KeyChange("k23-self", *ledger, *k2, *k3, *k3)).reason,
              Reason::kSigningKeyChangeInvalid);
    EXPECT_EQ(ledger->Execute(KeyChange("k22", *ledger, *k2, *k2, *k2)).reason,
              Reason::kSigningKeyChangeInvalid);
    // An acceptance the new key did not sign.
    v1::Command unaccepted = KeyChange("k23-unaccepted", *ledger, *k2, *k3, *k2);
    unaccepted.mutable_set_setting()->mutable_value()->mutable_signing_key()->set_acceptance(
        std::string(64, 'x'));
    EXPECT_EQ(ledger->Execute(unaccepted).reason, Reason::kSigningKeyChangeInvalid);
    const Outcome second = ledger->Execute(KeyChange("k23", *ledger, *k2, *k3, *k2));
    ASSERT_TRUE(second.ok()) << second.message;
    endorsed_seq = second.receipt.seq;
  }
  audit::Report report = AuditDb(dir.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
  ASSERT_EQ(report.signing_keys.size(), 3u);
  EXPECT_EQ(report.signing_keys[0].key, Raw(k1->public_key()));
  EXPECT_EQ(report.signing_keys[2].key, Raw(k3->public_key()));
  // The last change's endorsement edited in the journal (its hash recomputed): the audit's own
  // rule names it.
  testing::RewriteHead(dir.path(), endorsed_seq, [](v1::Entry& entry) {
    std::string* endorsement = entry.mutable_command()
                                   ->mutable_set_setting()
                                   ->mutable_value()
                                   ->mutable_signing_key()
                                   ->mutable_endorsement();
    (*endorsement)[0] ^= 1;
  });
  report = AuditDb(dir.path());
  EXPECT_NE(Describe(report).find(Cat("seq=", endorsed_seq)), std::string::npos)
      << Describe(report);
}

// A lost key cannot endorse its successor: lovebankd --new-signing-key journals the change
// without an endorsement, from the key in force; the audit marks it in the chain.
TEST(WitnessTest, ALostKeysReplacementIsJournaledUnendorsed) {
  TempDir dir;
  auto k1 = NewKey();
  auto k2 = NewKey();
  auto k3 = NewKey();
  {
    auto ledger = testing::OpenLedger(dir.path());
    testing::OpenProgramme(*ledger, 1);
    ASSERT_TRUE(ledger->Execute(KeyChange("k12", *ledger, *k1, *k2, *k1)).ok());
    v1::Command from_k1 = KeyChange("k13", *ledger, *k1, *k3, *k1);
    from_k1.mutable_set_setting()->mutable_value()->mutable_signing_key()->clear_endorsement();
    EXPECT_EQ(ledger->Execute(from_k1).reason, Reason::kSigningKeyChangeInvalid);  // not in force
    v1::Command replaced = KeyChange("k23", *ledger, *k2, *k3, *k2);
    replaced.mutable_set_setting()->mutable_value()->mutable_signing_key()->clear_endorsement();
    const Outcome outcome = ledger->Execute(replaced);
    ASSERT_TRUE(outcome.ok()) << outcome.message;
    // By anyone but lovebankd: refused by the sequencer itself.
    v1::Command by_admin = KeyChange("k34", *ledger, *k3, *k1, *k3, "tester");
    EXPECT_EQ(ledger->Execute(by_admin).reason, Reason::kPermissionDenied);
  }
  const audit::Report report = AuditDb(dir.path());
  EXPECT_TRUE(report.clean()) << Describe(report);
  ASSERT_EQ(report.signing_keys.size(), 3u);
  EXPECT_TRUE(report.signing_keys[1].endorsed);
  EXPECT_FALSE(report.signing_keys[2].endorsed);
  EXPECT_EQ(report.signing_keys[2].key, Raw(k3->public_key()));
}

TEST(WitnessTest, OnlyLovebankdChangesTheKeyAndOnlyAuditorsCoSignOnceThereArePrincipals) {
  TempDir dir;
  auto k1 = NewKey();
  auto k2 = NewKey();
  auto witness = NewKey();
  std::uint64_t by_admin = 0, by_non_auditor = 0, by_witness = 0;
  {
    auto ledger = testing::OpenLedger(dir.path());
    testing::OpenProgramme(*ledger, 1);
    ASSERT_TRUE(ledger->Execute(testing::Grant("g0", "tester", v1::ROLE_ADMIN, {}, 'a')).ok());
    ASSERT_TRUE(ledger->Execute(testing::Grant("g1", "witness", v1::ROLE_AUDITOR, {}, 'w')).ok());
    ASSERT_TRUE(
        ledger->Execute(testing::Grant("g2", "clerk", v1::ROLE_ISSUER, {"issuer:town"}, 'i')).ok());
    // The sequencer refuses a key change by anyone but lovebankd (and the service refuses it
    // to every principal: access.cc).
    EXPECT_EQ(ledger->Execute(KeyChange("k12-admin", *ledger, *k1, *k2, *k1, "tester")).reason,
              Reason::kPermissionDenied);
    const std::uint64_t size = ledger->GetHead().seq;
    v1::Command cosign =
        Cosign("c1", *ledger, size, *ledger->TreeRoot(size), *ledger->EntryTime(size), *witness);
    const Outcome witnessed = ledger->Execute(cosign);
    ASSERT_TRUE(witnessed.ok());
    by_witness = witnessed.receipt.seq;
    // Another principal cannot journal the witness's co-signature as its own: the signature
    // covers the witness's name.
    cosign.set_request_id("c2");
    cosign.set_actor("clerk");
    EXPECT_EQ(ledger->Execute(cosign).reason, Reason::kCosignatureInvalid);
    // The ledger takes a co-signature by a non-auditor (the service refuses it: access.cc); the
    // audit names it.
    const Outcome clerk = ledger->Execute(Cosign("c3", *ledger, size, *ledger->TreeRoot(size),
                                                 *ledger->EntryTime(size), *witness, "clerk"));
    ASSERT_TRUE(clerk.ok());
    by_non_auditor = clerk.receipt.seq;
    const Outcome change = ledger->Execute(KeyChange("k12", *ledger, *k1, *k2, *k1));
    ASSERT_TRUE(change.ok());
    by_admin = change.receipt.seq;
  }
  // lovebankd's key change, edited to be the admin's: the audit's authority rule names it.
  testing::RewriteHead(dir.path(), by_admin,
                       [](v1::Entry& entry) { entry.mutable_command()->set_actor("tester"); });
  const audit::Report report = AuditDb(dir.path());
  const std::string text = Describe(report);
  // (The edit also moves the entry's request id from lovebankd's to tester's: two request-index
  // findings.)
  EXPECT_EQ(report.findings_total, 4u) << text;
  EXPECT_EQ(text.find(Cat("seq=", by_witness, " ")), std::string::npos) << text;
  EXPECT_NE(text.find(Cat("ACTOR_NOT_AUTHORIZED seq=", by_admin)), std::string::npos) << text;
  EXPECT_NE(text.find(Cat("ACTOR_NOT_AUTHORIZED seq=", by_non_auditor)), std::string::npos) << text;
}

}  // namespace
}  // namespace lovebank
