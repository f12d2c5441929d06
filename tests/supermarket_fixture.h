#pragma once
// The love supermarket fixture shared by tests/ledger/supermarket_test.cc and
// tests/ledger/holds_test.cc: a programme with a store, a catalogue, stock and members, on a real
// ledger with a test clock.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/audit/audit.h"
#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "ledger/ledger.h"
#include "ledger/storage/store.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "tests/test_util.h"

namespace lovebank {

using testing::Earn;
using testing::OpenProgramme;
using testing::ReceiveStock;
using testing::SetItem;
using testing::TempDir;

#define EXPECT_REASON(outcome, expected) \
  EXPECT_EQ(ReasonName((outcome).reason), ReasonName(expected)) << (outcome).message

inline std::string Balance(Ledger& ledger, const std::string& account, const std::string& asset) {
  auto line = ledger.GetBalance(account, asset);
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? line->decimal : "?";
}

inline audit::Report AuditDb(const std::string& path) {
  StoreOptions read_only;
  read_only.read_only = true;
  auto store = Store::Open(path, read_only);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return {};
  auto source = audit::StoreSource(**store);
  EXPECT_TRUE(source.ok()) << source.status();
  auto report = audit::Run(**source, store->get(), audit::Options{});
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? std::move(*report) : audit::Report{};
}

inline std::string Describe(const audit::Report& report) {
  std::string text;
  for (const auto& f : report.findings) {
    text += Cat(audit::FindingKindName(f.kind), " seq=", f.seq, " [", f.where,
                "] expected=", f.expected, " found=", f.found, "\n");
  }
  return text;
}

// A programme with a love supermarket: store:main sells rice (30 points a bag, 50 in stock),
// oil (59.90, 10 in stock) and pens (2.50, listed but not for sale); store:b sells nothing.
// m1 holds 200 POINTS and 20 HOURS, m2 5 POINTS, m3 is frozen. issuer:goods takes donations,
// issuer:exchange funds points paid with hours (budget 10,000 POINTS).
class Supermarket : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  // A clock the test can move: step_ (one second) per read from now_ (2026-11-01T08:00Z at
  // first).
  void Open() {
    LedgerOptions options;
    options.path = dir_.path();
    options.env = env_;
    options.lone_batches_on_sequencer = lone_batches_on_sequencer_;
    options.clock_unix_us = [now = now_, step = step_] { return now->fetch_add(step->load()); };
    auto ledger = Ledger::Open(std::move(options));
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = std::move(*ledger);
    if (ledger_->GetHead().seq > 2) return;  // reopened: the programme is there
    OpenProgramme(*ledger_, 3);
    Run({testing::Open("o:goods", "issuer:goods", v1::ACCOUNT_KIND_ISSUER, "爱心捐赠物资"),
         testing::OpenIssuer("o:exchange", "issuer:exchange", "时长兑换", "10000"),
         testing::Open("o:b", "store:b", v1::ACCOUNT_KIND_STORE, "二号爱心超市"),
         SetItem("i:rice", "store:main", "RICE_5KG", "东北大米 5kg", "袋", "30"),
         SetItem("i:oil", "store:main", "OIL_5L", "花生油 5L", "桶", "59.90"),
         SetItem("i:pen", "store:main", "PEN", "中性笔", "支", "2.50", false),
         ReceiveStock("r:rice", "issuer:goods", "store:main", "RICE_5KG", "50",
                      "爱心企业 富民米业"),
         ReceiveStock("r:oil", "issuer:goods", "store:main", "OIL_5L", "10", "县慈善总会"),
         Earn("e:m1", "issuer:town", "m1", "200"),
         Earn("e:m1h", "issuer:town", "m1", "20", "HOURS"), Earn("e:m2", "issuer:town", "m2", "5"),
         testing::SetStatus("f:m3", "m3", v1::ACCOUNT_STATUS_FROZEN)});
  }

  void Run(std::vector<v1::Command> commands) {
    for (const Outcome& outcome : ledger_->ExecuteMany(std::move(commands))) {
      ASSERT_TRUE(outcome.ok()) << ReasonName(outcome.reason) << " " << outcome.message;
    }
  }

  Outcome Ok(v1::Command command) {
    Outcome outcome = ledger_->Execute(std::move(command));
    EXPECT_TRUE(outcome.ok()) << ReasonName(outcome.reason) << " " << outcome.message;
    return outcome;
  }

  std::string B(const std::string& account, const std::string& asset) {
    return Balance(*ledger_, account, asset);
  }

  TempDir dir_;
  // Set by a derived fixture's constructor (before SetUp opens the ledger): LedgerOptions'.
  rocksdb::Env* env_ = nullptr;
  bool lone_batches_on_sequencer_ = true;
  std::shared_ptr<std::atomic<std::int64_t>> now_ =
      std::make_shared<std::atomic<std::int64_t>>(1793520000000000);
  // What each read of the clock adds (tests of expiry set it to 0 and move now_ themselves).
  std::shared_ptr<std::atomic<std::int64_t>> step_ =
      std::make_shared<std::atomic<std::int64_t>>(1'000'000);
  std::unique_ptr<Ledger> ledger_;
};

inline v1::Command SetLimit(const std::string& id, const std::string& sku, v1::Period period,
                            const std::string& maximum) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("tester");
  command.mutable_set_limit()->set_sku(sku);
  command.mutable_set_limit()->set_period(period);
  command.mutable_set_limit()->set_maximum(maximum);
  return command;
}

inline v1::Command SetHousehold(const std::string& id, const std::string& household,
                                const std::vector<std::string>& members) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("tester");
  command.mutable_set_household()->set_household(household);
  for (const auto& member : members) command.mutable_set_household()->add_members(member);
  return command;
}

// Microseconds since the epoch of a UTC civil time.
inline std::int64_t Utc(int y, unsigned m, unsigned d, int hour, int minute = 0, int second = 0) {
  using namespace std::chrono;
  const sys_days date = sys_days(year{y} / month{m} / std::chrono::day{d});
  return duration_cast<microseconds>(date.time_since_epoch() + hours(hour) + minutes(minute) +
                                     seconds(second))
      .count();
}

// Rewrites journal entries behind the engine's back with the raw RocksDB API: `edit` changes an
// entry and returns true when it did; every entry from the first edited one on is re-chained
// (hashes recomputed, meta head hash too), so only the rules, not the chain, can tell.
inline void RewriteJournal(const std::string& path, const std::function<bool(v1::Entry&)>& edit) {
  auto store = Store::Open(path, StoreOptions{});
  ASSERT_TRUE(store.ok()) << store.status();
  auto* db = (*store)->db();
  std::string ledger_id;
  ASSERT_TRUE(
      db->Get({}, (*store)->handle(Family::kMeta), std::string(meta_key::kLedgerId), &ledger_id)
          .ok());
  Hash prev = GenesisHash(ledger_id);
  rocksdb::WriteBatch batch;
  auto it = (*store)->NewIterator(Family::kJournal);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto view = DecodeStoredEntry(it->value().ToStringView());
    ASSERT_TRUE(view.has_value());
    std::string payload(view->payload);
    v1::Entry entry;
    ASSERT_TRUE(entry.ParseFromString(payload));
    if (edit(entry)) payload = entry.SerializeAsString();
    const Hash hash = ChainHash(prev, entry.seq(), payload);
    batch.Put((*store)->handle(Family::kJournal), it->key(),
              EncodeStoredEntry(hash, prev, payload));
    prev = hash;
  }
  ASSERT_TRUE(it->status().ok());
  it.reset();
  batch.Put((*store)->handle(Family::kMeta), std::string(meta_key::kHeadHash),
            std::string(reinterpret_cast<const char*>(prev.data()), prev.size()));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  ASSERT_TRUE(db->Write(sync, &batch).ok());
}

}  // namespace lovebank
