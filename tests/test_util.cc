#include "tests/test_util.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "ledger/base/coding.h"
#include "ledger/format/journal_format.h"

namespace lovebank::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lovebank-test-XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::function<std::int64_t()> SteppingClock() {
  auto now = std::make_shared<std::atomic<std::int64_t>>(1793520000000000);  // 2026-11-01T08:00Z
  return [now] { return now->fetch_add(1000000); };
}

std::function<std::int64_t()> ClockStartingAt(std::int64_t start_unix_us) {
  return [start_unix_us, origin = std::chrono::steady_clock::now()] {
    return start_unix_us + std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now() - origin)
                               .count();
  };
}

void RewriteHead(const std::string& path, std::uint64_t head_seq,
                 const std::function<void(v1::Entry&)>& edit) {
  auto store = Store::Open(path, StoreOptions{});
  ASSERT_TRUE(store.ok());
  const std::string stored =
      (*store)->Get(Family::kJournal, EncodeFixed64BE(head_seq)).value().value();
  auto view = DecodeStoredEntry(stored);
  ASSERT_TRUE(view.has_value());
  v1::Entry entry;
  ASSERT_TRUE(entry.ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size())));
  edit(entry);
  const std::string payload = entry.SerializeAsString();
  const Hash hash = ChainHash(view->prev_hash, head_seq, payload);
  rocksdb::WriteBatch batch;
  batch.Put((*store)->handle(Family::kJournal), EncodeFixed64BE(head_seq),
            EncodeStoredEntry(hash, view->prev_hash, payload));
  batch.Put((*store)->handle(Family::kMeta), std::string(meta_key::kHeadHash),
            std::string(reinterpret_cast<const char*>(hash.data()), 32));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  ASSERT_TRUE((*store)->db()->Write(sync, &batch).ok());
}

std::unique_ptr<Ledger> OpenLedger(const std::string& path, rocksdb::Env* env,
                                   bool lone_batches_on_sequencer) {
  return OpenLedgerWith(path, [&](LedgerOptions& options) {
    options.env = env;
    options.lone_batches_on_sequencer = lone_batches_on_sequencer;
  });
}

std::unique_ptr<Ledger> OpenLedgerWith(const std::string& path,
                                       const std::function<void(LedgerOptions&)>& adjust) {
  LedgerOptions options;
  options.path = path;
  options.clock_unix_us = SteppingClock();
  adjust(options);
  auto ledger = Ledger::Open(std::move(options));
  EXPECT_TRUE(ledger.ok()) << ledger.status();
  return ledger.ok() ? std::move(*ledger) : nullptr;
}

namespace {
v1::Command Base(const std::string& id) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("tester");
  return command;
}
void FillMove(v1::Move* move, const std::string& from, const std::string& to,
              const std::string& amount, const std::string& asset) {
  move->set_from(from);
  move->set_to(to);
  move->set_amount(amount);
  move->set_asset(asset);
}
}  // namespace

v1::Command Earn(const std::string& id, const std::string& issuer, const std::string& member,
                 const std::string& amount, const std::string& asset) {
  auto command = Base(id);
  FillMove(command.mutable_earn(), issuer, member, amount, asset);
  return command;
}
v1::Command Deduct(const std::string& id, const std::string& member, const std::string& issuer,
                   const std::string& amount, const std::string& asset) {
  auto command = Base(id);
  FillMove(command.mutable_deduct(), member, issuer, amount, asset);
  return command;
}
v1::Command Redeem(const std::string& id, const std::string& member, const std::string& store,
                   const std::string& amount, const std::string& asset) {
  auto command = Base(id);
  FillMove(command.mutable_redeem(), member, store, amount, asset);
  return command;
}
v1::Command Transfer(const std::string& id, const std::string& from, const std::string& to,
                     const std::string& amount, const std::string& asset) {
  auto command = Base(id);
  FillMove(command.mutable_transfer(), from, to, amount, asset);
  return command;
}
v1::Command Reverse(const std::string& id, std::uint64_t seq) {
  auto command = Base(id);
  command.mutable_reverse()->set_seq(seq);
  return command;
}
v1::Command Open(const std::string& id, const std::string& account, v1::AccountKind kind,
                 const std::string& name) {
  auto command = Base(id);
  auto* open = command.mutable_open_account();
  open->set_account(account);
  open->set_kind(kind);
  open->set_display_name(name);
  return command;
}
v1::Command OpenIssuer(const std::string& id, const std::string& account, const std::string& name,
                       const std::string& points_budget, const std::string& hours_budget) {
  auto command = Open(id, account, v1::ACCOUNT_KIND_ISSUER, name);
  auto* points = command.mutable_open_account()->add_budgets();
  points->set_asset("POINTS");
  points->set_amount(points_budget);
  auto* hours = command.mutable_open_account()->add_budgets();
  hours->set_asset("HOURS");
  hours->set_amount(hours_budget);
  return command;
}
v1::Command SetStatus(const std::string& id, const std::string& account, v1::AccountStatus status) {
  auto command = Base(id);
  command.mutable_set_account_status()->set_account(account);
  command.mutable_set_account_status()->set_status(status);
  return command;
}

v1::Command SetBudget(const std::string& id, const std::string& account, const std::string& asset,
                      const std::string& amount) {
  auto command = Base(id);
  command.mutable_set_budget()->set_account(account);
  command.mutable_set_budget()->mutable_budget()->set_asset(asset);
  command.mutable_set_budget()->mutable_budget()->set_amount(amount);
  return command;
}

v1::Command Grant(const std::string& id, const std::string& principal, v1::Role role,
                  std::vector<std::string> accounts, char token_byte) {
  auto command = Base(id);
  auto* grant = command.mutable_grant_principal();
  grant->set_principal(principal);
  grant->set_role(role);
  for (auto& account : accounts) grant->add_accounts(std::move(account));
  grant->set_token_sha256(std::string(32, token_byte));
  grant->set_display_name("收银台");
  return command;
}

v1::Command Revoke(const std::string& id, const std::string& principal) {
  auto command = Base(id);
  command.mutable_revoke_principal()->set_principal(principal);
  return command;
}

v1::Command SetContact(const std::string& id, const std::string& account, const std::string& card,
                       const std::string& phone) {
  auto command = Base(id);
  auto* set = command.mutable_set_account_contact();
  set->set_account(account);
  set->set_card_number(card);
  set->set_phone(phone);
  return command;
}

v1::Command Activate(const std::string& id, const std::string& device, char token_byte) {
  auto command = Base(id);
  command.set_actor(device);
  command.mutable_activate_principal()->set_principal(device);
  command.mutable_activate_principal()->set_token_sha256(std::string(32, token_byte));
  return command;
}

v1::Command SetItem(const std::string& id, const std::string& store, const std::string& sku,
                    const std::string& name, const std::string& unit, const std::string& price,
                    bool active) {
  auto command = Base(id);
  auto* set = command.mutable_set_item();
  set->set_store(store);
  set->set_sku(sku);
  set->set_name(name);
  set->set_unit(unit);
  set->set_price(price);
  set->set_active(active);
  return command;
}

v1::Command ReceiveStock(const std::string& id, const std::string& issuer, const std::string& store,
                         const std::string& sku, const std::string& quantity,
                         const std::string& donor) {
  auto command = Base(id);
  FillMove(command.mutable_receive_stock(), issuer, store, quantity, sku);
  command.mutable_receive_stock()->set_reason(donor);
  return command;
}

v1::Command WriteOffStock(const std::string& id, const std::string& store,
                          const std::string& issuer, const std::string& sku,
                          const std::string& quantity, const std::string& why) {
  auto command = Base(id);
  FillMove(command.mutable_write_off_stock(), store, issuer, quantity, sku);
  command.mutable_write_off_stock()->set_reason(why);
  return command;
}

v1::Command Settle(const std::string& id, const std::string& store, const std::string& issuer,
                   const std::string& amount, const std::string& asset) {
  auto command = Base(id);
  FillMove(command.mutable_settle(), store, issuer, amount, asset);
  return command;
}

namespace {
void FillBasket(google::protobuf::RepeatedPtrField<v1::BasketLine>* out, const Basket& lines) {
  for (const auto& [sku, quantity] : lines) {
    auto* line = out->Add();
    line->set_sku(sku);
    line->set_quantity(quantity);
  }
}
}  // namespace

v1::Command Checkout(const std::string& id, const std::string& member, const std::string& store,
                     const Basket& lines, const std::string& pay_asset) {
  auto command = Base(id);
  auto* checkout = command.mutable_checkout();
  checkout->set_member(member);
  checkout->set_store(store);
  checkout->set_pay_asset(pay_asset);
  FillBasket(checkout->mutable_lines(), lines);
  return command;
}

v1::Command Refund(const std::string& id, std::uint64_t checkout_seq, const Basket& lines) {
  auto command = Base(id);
  command.mutable_refund()->set_checkout_seq(checkout_seq);
  FillBasket(command.mutable_refund()->mutable_lines(), lines);
  return command;
}

v1::Command SetExchangeRatio(const std::string& id, const std::string& points_per_hour,
                             const std::string& exchange_account) {
  auto command = Base(id);
  command.mutable_set_exchange_ratio()->set_points_per_hour(points_per_hour);
  command.mutable_set_exchange_ratio()->set_exchange_account(exchange_account);
  return command;
}

StoreDump DumpStore(const std::string& path) {
  StoreOptions options;
  options.read_only = true;
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  StoreDump dump;
  if (!store.ok()) return dump;
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    const auto family = static_cast<Family>(i);
    // The Merkle tree is built on its own thread behind the commits (ledger/tree.h): when it
    // catches up is no state a command changes. tree_test checks it.
    if (family == Family::kTree) continue;
    auto& out = dump[FamilyName(family)];
    auto it = (*store)->NewIterator(family);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (family == Family::kMeta && it->key().ToStringView() == meta_key::kTreeSize) continue;
      out[it->key().ToString()] = it->value().ToString();
    }
    EXPECT_TRUE(it->status().ok());
  }
  return dump;
}

StoreDump WithoutRefusals(StoreDump dump) {
  dump.erase(FamilyName(Family::kRefusals));
  return dump;
}

v1::Command SetStarLevels(const std::string& id, const std::vector<std::string>& thresholds) {
  auto command = Base(id);
  auto* set = command.mutable_set_star_levels();
  for (const auto& threshold : thresholds) set->add_thresholds(threshold);
  return command;
}

void OpenProgramme(Ledger& ledger, int members) {
  std::vector<v1::Command> commands;
  commands.push_back(
      OpenIssuer("open:issuer", "issuer:town", "河头店镇爱心银行", "1000000", "100000"));
  commands.push_back(Open("open:store", "store:main", v1::ACCOUNT_KIND_STORE, "爱心超市"));
  for (int i = 1; i <= members; ++i) {
    commands.push_back(Open("open:m" + std::to_string(i), "m" + std::to_string(i),
                            v1::ACCOUNT_KIND_MEMBER, "志愿者" + std::to_string(i)));
  }
  for (const Outcome& outcome : ledger.ExecuteMany(std::move(commands))) {
    ASSERT_TRUE(outcome.ok()) << ReasonName(outcome.reason) << " " << outcome.message;
  }
}

namespace {

bool IsWal(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
}

class FaultFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultFile(std::unique_ptr<rocksdb::FSWritableFile> target, FaultFs* fs, bool wal)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), wal_(wal) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (auto status = Fault(false); !status.ok()) return status;
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (auto status = Fault(false); !status.ok()) return status;
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto status = Fault(true); !status.ok()) return status;
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (auto status = Fault(true); !status.ok()) return status;
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  rocksdb::IOStatus Fault(bool sync) {
    if (wal_ && fs_->countdown.load() > 0 && fs_->countdown.fetch_sub(1) == 1) {
      fs_->then.load()->store(true);
    }
    if (!sync && fs_->disk_full.load()) {
      fs_->injected.fetch_add(1);
      return rocksdb::IOStatus::NoSpace("injected: disk full");
    }
    if (wal_ && (sync ? fs_->fail_wal_sync.load() : fs_->fail_wal_append.load())) {
      fs_->injected.fetch_add(1);
      return rocksdb::IOStatus::IOError(sync ? "injected: WAL sync failed"
                                             : "injected: WAL append failed");
    }
    return rocksdb::IOStatus::OK();
  }
  FaultFs* fs_;
  bool wal_;
};

}  // namespace

FaultFs::FaultFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

rocksdb::IOStatus FaultFs::NewWritableFile(const std::string& name,
                                           const rocksdb::FileOptions& options,
                                           std::unique_ptr<rocksdb::FSWritableFile>* result,
                                           rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto status = target()->NewWritableFile(name, options, &file, dbg);
  if (!status.ok()) return status;
  *result = std::make_unique<FaultFile>(std::move(file), this, IsWal(name));
  return status;
}

}  // namespace lovebank::testing
