// Reads over committed state. Every query reads RocksDB through one snapshot, never the
// sequencer's in-memory state, so it sees only durably committed entries, all from one instant.

#include <algorithm>
#include <map>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/merkle.h"
#include "ledger/format/syntax.h"
#include "ledger/ledger_impl.h"

namespace lovebank {
namespace {

// Releases a RocksDB snapshot when the query ends.
class ScopedSnapshot {
 public:
  explicit ScopedSnapshot(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {}
  ~ScopedSnapshot() { db_->ReleaseSnapshot(snapshot_); }
  ScopedSnapshot(const ScopedSnapshot&) = delete;
  ScopedSnapshot& operator=(const ScopedSnapshot&) = delete;
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

// Statement cursors: "c1." followed by the 16 hex digits of the seq to continue below.
constexpr std::string_view kCursorPrefix = "c1.";

std::string EncodeCursor(std::uint64_t seq) {
  return Cat(kCursorPrefix, ToHex(EncodeFixed64BE(seq)));
}

std::optional<std::uint64_t> DecodeCursor(std::string_view cursor) {
  if (cursor.size() != kCursorPrefix.size() + 16 || cursor.substr(0, 3) != kCursorPrefix) {
    return std::nullopt;
  }
  std::uint64_t seq = 0;
  for (char c : cursor.substr(3)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    seq = (seq << 4) | static_cast<std::uint64_t>(digit);
  }
  if (seq == 0) return std::nullopt;
  return seq;
}

// The head seq as of `snapshot` (the meta record the writer keeps with every batch).
absl::StatusOr<std::uint64_t> ReadHeadSeq(Store& store, const rocksdb::Snapshot* snapshot) {
  LOVEBANK_ASSIGN_OR_RETURN(auto head_seq, store.Get(Family::kMeta, meta_key::kHeadSeq, snapshot));
  LOVEBANK_CHECK(head_seq.has_value() && head_seq->size() == 8);
  return GetFixed64BE(head_seq->data());
}

absl::StatusOr<v1::AccountRecord> ReadAccount(Store& store, std::string_view account,
                                              const rocksdb::Snapshot* snapshot) {
  if (!IsValidAccountId(account)) {
    return RefusedStatus(Reason::kAccountIdInvalid,
                         "account ids are 1-64 bytes of [A-Za-z0-9._:@-]");
  }
  LOVEBANK_ASSIGN_OR_RETURN(auto value, store.Get(Family::kAccounts, account, snapshot));
  if (!value.has_value()) {
    return RefusedStatus(Reason::kAccountUnknown, Cat("no account ", account));
  }
  v1::AccountRecord record;
  if (!record.ParseFromString(*value)) return absl::DataLossError("account record does not decode");
  return record;
}

absl::StatusOr<StoredEntry> ReadEntry(Store& store, std::uint64_t seq,
                                      const rocksdb::Snapshot* snapshot) {
  LOVEBANK_ASSIGN_OR_RETURN(auto value,
                            store.Get(Family::kJournal, EncodeFixed64BE(seq), snapshot));
  if (!value.has_value()) return RefusedStatus(Reason::kEntryUnknown, Cat("no entry ", seq));
  auto view = DecodeStoredEntry(*value);
  StoredEntry stored;
  if (!view ||
      !stored.entry.ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size()))) {
    return absl::DataLossError(Cat("journal entry ", seq, " does not decode"));
  }
  stored.seq = seq;
  stored.hash = view->hash;
  stored.prev_hash = view->prev_hash;
  stored.payload = std::string(view->payload);
  return stored;
}

// Walks an account's statement lines from `seq` (inclusive) towards older ones and returns the
// balance after the newest line that moved `asset`, or zero.
absl::StatusOr<BalanceState> BalanceAsOf(Store& store, std::string_view account,
                                         std::string_view asset, std::uint64_t seq,
                                         const rocksdb::Snapshot* snapshot) {
  const std::string prefix = AccountEntryPrefix(account);
  auto it = store.NewIterator(Family::kAccountEntries, snapshot);
  for (it->SeekForPrev(AccountEntryKey(account, seq)); it->Valid() && it->key().starts_with(prefix);
       it->Prev()) {
    v1::StatementLine line;
    if (!line.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("statement line does not decode");
    }
    for (const auto& leg : line.legs()) {
      if (leg.asset() != asset) continue;
      auto minor = MinorFromString(leg.balance_after_minor());
      if (!minor) return absl::DataLossError("statement balance does not decode");
      return BalanceState{*minor, GetFixed64BE(it->key().data() + prefix.size())};
    }
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading a statement"));
  return BalanceState{};
}

}  // namespace

absl::StatusOr<BalanceState> ReadBalance(Store& store, std::string_view account,
                                         std::string_view asset, std::uint64_t head,
                                         const rocksdb::Snapshot* snapshot) {
  LOVEBANK_ASSIGN_OR_RETURN(auto value,
                            store.Get(Family::kBalances, BalanceKey(account, asset), snapshot));
  if (!value.has_value()) return BalanceState{};
  auto decoded = DecodeBalanceValue(*value);
  if (!decoded)
    return absl::DataLossError(Cat("balance ", account, "/", asset, " does not decode"));
  // Updated in place (store.cc) after the snapshot was taken: the statement index has the
  // balance as of the snapshot's head.
  if (decoded->seq > head) return BalanceAsOf(store, account, asset, head, snapshot);
  return BalanceState{decoded->minor, decoded->seq};
}

std::uint32_t Ledger::Impl::ScaleOf(const std::string& asset, const rocksdb::Snapshot* snapshot) {
  auto value = store->Get(Family::kAssets, asset, snapshot);
  v1::AssetRecord record;
  if (!value.ok() || !value->has_value() || !record.ParseFromString(**value)) return 0;
  return record.scale();
}

absl::StatusOr<v1::AccountRecord> Ledger::GetAccount(std::string_view account) {
  return ReadAccount(*impl_->store, account, nullptr);
}

absl::StatusOr<std::vector<BalanceLine>> Ledger::GetBalances(
    std::string_view account, std::optional<std::uint64_t> as_of_seq) {
  LOVEBANK_ASSIGN_OR_RETURN(BalanceSheet sheet, GetBalanceSheet(account, as_of_seq));
  return std::move(sheet.lines);
}

absl::StatusOr<Ledger::BalanceSheet> Ledger::GetBalanceSheet(
    std::string_view account, std::optional<std::uint64_t> as_of_seq) {
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  LOVEBANK_RETURN_IF_ERROR(ReadAccount(store, account, snapshot.get()).status());
  LOVEBANK_ASSIGN_OR_RETURN(const std::uint64_t head, ReadHeadSeq(store, snapshot.get()));
  if (as_of_seq.has_value() && *as_of_seq > head) {
    return RefusedStatus(Reason::kSeqBeyondHead, Cat("the journal has not reached ", *as_of_seq));
  }
  // Every asset the account ever held has a balances record (the engine writes one on the first
  // posting), so the current records name the assets to look up as of an earlier seq too.
  BalanceSheet sheet;
  sheet.as_of_seq = as_of_seq.value_or(head);
  std::vector<BalanceLine>& lines = sheet.lines;
  const std::string prefix = AccountEntryPrefix(account);
  // The iterator names the assets; each value is read with ReadBalance (store.cc: balances are
  // updated in place, an iterator's value could be caught mid-update).
  auto it = store.NewIterator(Family::kBalances, snapshot.get());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    BalanceLine line;
    line.account = std::string(account);
    line.asset = it->key().ToString().substr(prefix.size());
    BalanceState state;
    if (as_of_seq.has_value()) {
      LOVEBANK_ASSIGN_OR_RETURN(
          state, BalanceAsOf(store, account, line.asset, *as_of_seq, snapshot.get()));
    } else {
      LOVEBANK_ASSIGN_OR_RETURN(state,
                                ReadBalance(store, account, line.asset, head, snapshot.get()));
    }
    line.balance = Amount::FromMinor(state.minor);
    line.seq = state.seq;
    line.decimal = FormatAmount(line.balance, impl_->ScaleOf(line.asset, snapshot.get()));
    lines.push_back(std::move(line));
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading balances"));
  return sheet;
}

absl::StatusOr<BalanceLine> Ledger::GetBalance(std::string_view account, std::string_view asset,
                                               std::optional<std::uint64_t> as_of_seq) {
  if (!IsValidAssetCode(asset)) {
    return RefusedStatus(Reason::kAssetCodeInvalid, "asset codes are 1-16 bytes of [A-Z0-9_]");
  }
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  LOVEBANK_ASSIGN_OR_RETURN(auto asset_record, store.Get(Family::kAssets, asset, snapshot.get()));
  if (!asset_record.has_value()) {
    return RefusedStatus(Reason::kAssetUnknown, Cat("no asset ", asset));
  }
  LOVEBANK_RETURN_IF_ERROR(ReadAccount(store, account, snapshot.get()).status());
  LOVEBANK_ASSIGN_OR_RETURN(const std::uint64_t head, ReadHeadSeq(store, snapshot.get()));
  BalanceState state;
  if (as_of_seq.has_value()) {
    if (*as_of_seq > head) {
      return RefusedStatus(Reason::kSeqBeyondHead, Cat("the journal has not reached ", *as_of_seq));
    }
    LOVEBANK_ASSIGN_OR_RETURN(state,
                              BalanceAsOf(store, account, asset, *as_of_seq, snapshot.get()));
  } else {
    LOVEBANK_ASSIGN_OR_RETURN(state, ReadBalance(store, account, asset, head, snapshot.get()));
  }
  BalanceLine line;
  line.account = std::string(account);
  line.asset = std::string(asset);
  line.balance = Amount::FromMinor(state.minor);
  line.seq = state.seq;
  line.decimal = FormatAmount(line.balance, impl_->ScaleOf(line.asset, snapshot.get()));
  return line;
}

absl::StatusOr<Ledger::AccountPage> Ledger::ListAccounts(const AccountQuery& query) {
  if (query.page_size == 0 || query.page_size > kStatementPageSizeMax) {
    return RefusedStatus(Reason::kPageSizeInvalid, Cat("page size is 1-", kStatementPageSizeMax));
  }
  if (!query.cursor.empty() && !IsValidAccountId(query.cursor)) {
    return RefusedStatus(Reason::kCursorInvalid, "not an account cursor");
  }
  if (!query.id_prefix.empty() && !IsValidAccountId(query.id_prefix)) {
    return RefusedStatus(Reason::kAccountIdInvalid,
                         "id_prefix is at most 64 bytes of [A-Za-z0-9._:@-]");
  }
  if (!query.tag.empty() && !IsValidTag(query.tag)) {
    return RefusedStatus(Reason::kTagsInvalid, "tag is 1-32 bytes of [a-z0-9:._-]");
  }
  if (query.name_contains.size() > kDisplayNameBytesMax ||
      !IsValidText(query.name_contains, false)) {
    return RefusedStatus(Reason::kDisplayNameInvalid,
                         "name_contains is at most 128 bytes of UTF-8 text");
  }
  if (auto check = CheckContact(query.card_number, ""); check.reason != Reason::kOk) {
    return RefusedStatus(check.reason, Cat("card_number: ", check.message));
  }
  // A phone query is the whole number, or its last four digits (尾号) — never a longer part,
  // which would let a till that sees 138****5678 learn the hidden digits one by one.
  const bool tail = query.phone.size() == 4;
  if (!query.phone.empty() &&
      CheckContact("", tail ? "0" + query.phone : query.phone).reason != Reason::kOk) {
    return RefusedStatus(Reason::kAccountPhoneInvalid,
                         Cat("phone is the whole number (an optional + and ", kPhoneDigitsMin, "-",
                             kPhoneDigitsMax, " digits) or its last 4 digits"));
  }
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  AccountPage page;
  LOVEBANK_ASSIGN_OR_RETURN(page.as_of_seq, ReadHeadSeq(store, snapshot.get()));
  const rocksdb::Slice prefix(query.id_prefix);
  auto it = store.NewIterator(Family::kAccounts, snapshot.get());
  if (query.cursor.empty() || query.cursor < query.id_prefix) {
    it->Seek(prefix);
  } else {
    it->Seek(query.cursor);
    if (it->Valid() && it->key() == rocksdb::Slice(query.cursor)) it->Next();
  }
  std::size_t scanned = 0;
  std::string last_scanned;  // where the next page starts after: nothing before it matches
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (page.accounts.size() == query.page_size || scanned == kAccountScanMax) {
      page.next_cursor = last_scanned;
      break;
    }
    ++scanned;
    v1::AccountRecord record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(Cat("account ", it->key().ToString(), " does not decode"));
    }
    last_scanned = record.account();
    if (query.kind != v1::ACCOUNT_KIND_UNSPECIFIED && record.kind() != query.kind) continue;
    if (!query.tag.empty() &&
        std::find(record.tags().begin(), record.tags().end(), query.tag) == record.tags().end()) {
      continue;
    }
    if (record.display_name().find(query.name_contains) == std::string::npos) continue;
    if (!query.card_number.empty() && record.card_number() != query.card_number) continue;
    if (!query.phone.empty() &&
        (tail ? !record.phone().ends_with(query.phone) : record.phone() != query.phone)) {
      continue;
    }
    if (query.visible && !query.visible(record)) continue;
    page.accounts.push_back(std::move(record));
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading accounts"));
  return page;
}

namespace {

// Reads statement lines of one account in one snapshot, turning each into a StatementItem (the
// entry's command, the legs at their assets' scales).
class StatementReader {
 public:
  StatementReader(Ledger::Impl& impl, std::string_view account)
      : impl_(impl), snapshot_(impl.store->db()), prefix_(AccountEntryPrefix(account)) {}

  const rocksdb::Snapshot* snapshot() const { return snapshot_.get(); }
  const std::string& prefix() const { return prefix_; }

  absl::StatusOr<StatementItem> Item(const rocksdb::Iterator& it) {
    const std::uint64_t seq = GetFixed64BE(it.key().data() + prefix_.size());
    v1::StatementLine line;
    if (!line.ParseFromArray(it.value().data(), static_cast<int>(it.value().size()))) {
      return absl::DataLossError("statement line does not decode");
    }
    LOVEBANK_ASSIGN_OR_RETURN(StoredEntry stored, ReadEntry(*impl_.store, seq, snapshot_.get()));
    StatementItem item;
    item.seq = seq;
    item.time_unix_us = stored.entry.time_unix_us();
    item.command = std::move(*stored.entry.mutable_command());
    for (const auto& leg : line.legs()) {
      auto amount = MinorFromString(leg.amount_minor());
      auto after = MinorFromString(leg.balance_after_minor());
      if (!amount || !after) return absl::DataLossError("statement line does not decode");
      const std::uint32_t scale = ScaleOf(leg.asset());
      item.legs.push_back({leg.asset(), FormatAmount(Amount::FromMinor(*amount), scale),
                           FormatAmount(Amount::FromMinor(*after), scale)});
    }
    return item;
  }

 private:
  std::uint32_t ScaleOf(const std::string& asset) {
    auto it = scales_.find(asset);
    if (it == scales_.end()) {
      it = scales_.emplace(asset, impl_.ScaleOf(asset, snapshot_.get())).first;
    }
    return it->second;
  }

  Ledger::Impl& impl_;
  ScopedSnapshot snapshot_;
  const std::string prefix_;
  std::map<std::string, std::uint32_t> scales_;
};

}  // namespace

absl::StatusOr<StatementPage> Ledger::ListEntries(std::string_view account, std::size_t page_size,
                                                  std::string_view cursor) {
  if (page_size == 0 || page_size > kStatementPageSizeMax) {
    return RefusedStatus(Reason::kPageSizeInvalid, Cat("page size is 1-", kStatementPageSizeMax));
  }
  std::uint64_t below = UINT64_MAX;  // exclusive upper bound on seq
  if (!cursor.empty()) {
    auto decoded = DecodeCursor(cursor);
    if (!decoded) return RefusedStatus(Reason::kCursorInvalid, "not a statement cursor");
    below = *decoded;
  }
  StatementReader reader(*impl_, account);
  LOVEBANK_RETURN_IF_ERROR(ReadAccount(*impl_->store, account, reader.snapshot()).status());
  StatementPage page;
  auto it = impl_->store->NewIterator(Family::kAccountEntries, reader.snapshot());
  for (it->SeekForPrev(AccountEntryKey(account, below - 1));
       it->Valid() && it->key().starts_with(reader.prefix()); it->Prev()) {
    if (page.items.size() == page_size) {
      page.next_cursor = EncodeCursor(page.items.back().seq);
      break;
    }
    LOVEBANK_ASSIGN_OR_RETURN(StatementItem item, reader.Item(*it));
    page.items.push_back(std::move(item));
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading a statement"));
  return page;
}

absl::StatusOr<std::vector<StatementItem>> Ledger::ListEntriesAfter(std::string_view account,
                                                                    std::uint64_t after_seq,
                                                                    std::size_t count_max) {
  if (count_max == 0 || count_max > kStatementPageSizeMax) {
    return RefusedStatus(Reason::kPageSizeInvalid, Cat("page size is 1-", kStatementPageSizeMax));
  }
  StatementReader reader(*impl_, account);
  LOVEBANK_RETURN_IF_ERROR(ReadAccount(*impl_->store, account, reader.snapshot()).status());
  std::vector<StatementItem> items;
  if (after_seq == UINT64_MAX) return items;
  auto it = impl_->store->NewIterator(Family::kAccountEntries, reader.snapshot());
  for (it->Seek(AccountEntryKey(account, after_seq + 1));
       it->Valid() && it->key().starts_with(reader.prefix()) && items.size() < count_max;
       it->Next()) {
    LOVEBANK_ASSIGN_OR_RETURN(StatementItem item, reader.Item(*it));
    items.push_back(std::move(item));
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading a statement"));
  return items;
}

absl::StatusOr<StoredEntry> Ledger::GetEntry(std::uint64_t seq) {
  return ReadEntry(*impl_->store, seq, nullptr);
}

namespace {

absl::Status CheckTreeSize(std::uint64_t tree_size, std::uint64_t head) {
  if (tree_size > head) {
    return RefusedStatus(Reason::kTreeSizeInvalid,
                         Cat("tree size ", tree_size, " is past the head ", head));
  }
  return absl::OkStatus();
}

// The builder integrates entries moments after their commit: a proof of the head waits for it.
constexpr absl::Duration kTreeWaitMax = absl::Seconds(10);

}  // namespace

absl::Status Ledger::TreeCovers(std::uint64_t tree_size) const {
  if (impl_->tree) return impl_->tree->WaitFor(tree_size, kTreeWaitMax);
  // Read-only: the tree as the store holds it.
  LOVEBANK_ASSIGN_OR_RETURN(const std::optional<std::uint64_t> stored,
                            StoredTreeSize(*impl_->store));
  const std::uint64_t built = stored.value_or(0);
  if (built < tree_size) {
    return absl::UnavailableError(
        Cat("the tree covers ", built, " of ", tree_size, " entries (its writer builds the rest)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Hash> Ledger::TreeRoot(std::uint64_t tree_size) const {
  LOVEBANK_RETURN_IF_ERROR(CheckTreeSize(tree_size, GetHead().seq));
  LOVEBANK_RETURN_IF_ERROR(TreeCovers(tree_size));
  return merkle::RootOf(tree_size, TreeReader(*impl_->store));
}

absl::StatusOr<std::vector<Hash>> Ledger::InclusionProof(std::uint64_t seq,
                                                         std::uint64_t tree_size) const {
  LOVEBANK_RETURN_IF_ERROR(CheckTreeSize(tree_size, GetHead().seq));
  if (seq == 0 || seq > tree_size) {
    return RefusedStatus(Reason::kTreeSizeInvalid,
                         Cat("entry ", seq, " is not in the tree of ", tree_size, " entries"));
  }
  LOVEBANK_RETURN_IF_ERROR(TreeCovers(tree_size));
  return merkle::InclusionPath(seq - 1, tree_size, TreeReader(*impl_->store));
}

absl::StatusOr<std::vector<Hash>> Ledger::ConsistencyProof(std::uint64_t first_size,
                                                           std::uint64_t second_size) const {
  LOVEBANK_RETURN_IF_ERROR(CheckTreeSize(second_size, GetHead().seq));
  if (first_size == 0 || first_size > second_size) {
    return RefusedStatus(Reason::kTreeSizeInvalid,
                         Cat("first size ", first_size, " is not in 1..", second_size));
  }
  LOVEBANK_RETURN_IF_ERROR(TreeCovers(second_size));
  return merkle::ConsistencyPath(first_size, second_size, TreeReader(*impl_->store));
}

absl::StatusOr<std::int64_t> Ledger::EntryTime(std::uint64_t seq) const {
  if (seq == 0) return std::int64_t{0};
  LOVEBANK_ASSIGN_OR_RETURN(StoredEntry entry, ReadEntry(*impl_->store, seq, nullptr));
  return entry.entry.time_unix_us();
}

absl::StatusOr<StoredEntry> Ledger::GetEntryByRequestId(std::string_view actor,
                                                        std::string_view request_id) {
  if (!IsValidRequestId(request_id)) {
    return RefusedStatus(Reason::kRequestIdInvalid,
                         "request ids are 1-128 bytes of [A-Za-z0-9._:@-]");
  }
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  LOVEBANK_ASSIGN_OR_RETURN(
      auto value, store.Get(Family::kRequests, RequestKey(actor, request_id), snapshot.get()));
  if (!value.has_value()) {
    return RefusedStatus(Reason::kEntryUnknown,
                         Cat("no entry for request ", request_id, " of ", Excerpt(actor)));
  }
  auto decoded = DecodeRequestValue(*value);
  if (!decoded) return absl::DataLossError("request record does not decode");
  return ReadEntry(store, decoded->seq, snapshot.get());
}

absl::StatusOr<std::vector<JournalRecord>> Ledger::ReadJournal(std::uint64_t from_seq,
                                                               std::uint64_t to_seq,
                                                               std::size_t count_max,
                                                               std::size_t bytes_max) {
  if (to_seq > impl_->head().seq) {
    return RefusedStatus(Reason::kSeqBeyondHead, Cat("the head is ", impl_->head().seq));
  }
  std::vector<JournalRecord> records;
  if (from_seq == 0) from_seq = 1;
  if (from_seq > to_seq) return records;
  Store& store = *impl_->store;
  auto it = store.NewIterator(Family::kJournal);
  std::size_t bytes = 0;
  std::uint64_t seq = from_seq;
  for (it->Seek(EncodeFixed64BE(from_seq)); it->Valid() && seq <= to_seq; it->Next(), ++seq) {
    if (records.size() >= count_max || (!records.empty() && bytes >= bytes_max)) break;
    if (it->key().size() != 8 || GetFixed64BE(it->key().data()) != seq) {
      return absl::DataLossError(Cat("journal entry ", seq, " is missing"));
    }
    bytes += it->value().size();
    records.push_back(JournalRecord{seq, it->value().ToString()});
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the journal"));
  if (records.empty()) return absl::DataLossError(Cat("journal entry ", from_seq, " is missing"));
  return records;
}

absl::StatusOr<std::vector<v1::PrincipalRecord>> Ledger::ListPrincipals() {
  std::vector<v1::PrincipalRecord> principals;
  auto it = impl_->store->NewIterator(Family::kPrincipals);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::PrincipalRecord& record = principals.emplace_back();
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(Cat("principal ", it->key().ToString(), " does not decode"));
    }
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading principals"));
  return principals;
}

absl::StatusOr<v1::PrincipalRecord> Ledger::GetPrincipal(std::string_view name) {
  if (!IsValidPrincipal(name)) {
    return RefusedStatus(Reason::kPrincipalInvalid,
                         "principal names are 1-64 bytes of [A-Za-z0-9._:@-]");
  }
  LOVEBANK_ASSIGN_OR_RETURN(auto value, impl_->store->Get(Family::kPrincipals, name));
  if (!value.has_value())
    return RefusedStatus(Reason::kPrincipalUnknown, Cat("no principal ", name));
  v1::PrincipalRecord record;
  if (!record.ParseFromString(*value)) {
    return absl::DataLossError(Cat("principal ", name, " does not decode"));
  }
  return record;
}

absl::StatusOr<std::vector<v1::ItemRecord>> Ledger::GetItems(std::string_view store_account) {
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  LOVEBANK_ASSIGN_OR_RETURN(v1::AccountRecord account,
                            ReadAccount(store, store_account, snapshot.get()));
  if (account.kind() != v1::ACCOUNT_KIND_STORE) {
    return RefusedStatus(Reason::kAccountKindMismatch, Cat(store_account, " is not a STORE"));
  }
  const std::string prefix = ItemKey(store_account, "");
  std::vector<v1::ItemRecord> items;
  auto it = store.NewIterator(Family::kItems, snapshot.get());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    v1::ItemRecord& record = items.emplace_back();
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(Cat("item ", it->key().ToString(), " does not decode"));
    }
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading items"));
  return items;
}

absl::StatusOr<std::optional<v1::ExchangePolicy>> Ledger::GetExchangePolicy() {
  LOVEBANK_ASSIGN_OR_RETURN(auto value,
                            impl_->store->Get(Family::kMeta, meta_key::kExchangePolicy));
  if (!value.has_value()) return std::optional<v1::ExchangePolicy>();
  v1::ExchangePolicy policy;
  if (!policy.ParseFromString(*value)) {
    return absl::DataLossError("the exchange policy does not decode");
  }
  return std::optional<v1::ExchangePolicy>(std::move(policy));
}

absl::StatusOr<std::vector<v1::LimitRecord>> Ledger::GetLimits() {
  std::vector<v1::LimitRecord> limits;
  auto it = impl_->store->NewIterator(Family::kLimits);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::LimitRecord& record = limits.emplace_back();
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(Cat("limit ", it->key().ToString(), " does not decode"));
    }
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading limits"));
  return limits;
}

absl::StatusOr<Ledger::VolunteerProfile> Ledger::GetVolunteerProfile(std::string_view account) {
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  VolunteerProfile profile;
  LOVEBANK_ASSIGN_OR_RETURN(profile.account, ReadAccount(store, account, snapshot.get()));
  if (profile.account.kind() != v1::ACCOUNT_KIND_MEMBER) {
    return RefusedStatus(Reason::kAccountKindMismatch, Cat(account, " is not a MEMBER account"));
  }
  LOVEBANK_ASSIGN_OR_RETURN(profile.as_of_seq, ReadHeadSeq(store, snapshot.get()));
  LOVEBANK_ASSIGN_OR_RETURN(auto record, store.Get(Family::kVolunteers, account, snapshot.get()));
  if (record.has_value()) {
    v1::VolunteerRecord volunteer;
    auto earned = volunteer.ParseFromString(*record)
                      ? MinorFromString(volunteer.earned_hours_minor())
                      : std::nullopt;
    if (!earned) return absl::DataLossError(Cat("volunteer record ", account, " does not decode"));
    profile.earned_hours_minor = *earned;
  }
  LOVEBANK_ASSIGN_OR_RETURN(
      const BalanceState hours_balance,
      ReadBalance(store, account, kHoursAsset, profile.as_of_seq, snapshot.get()));
  profile.balance_hours_minor = hours_balance.minor;
  LOVEBANK_ASSIGN_OR_RETURN(auto levels,
                            store.Get(Family::kMeta, meta_key::kStarLevels, snapshot.get()));
  if (levels.has_value()) {
    v1::StarLevels stored;
    if (!stored.ParseFromString(*levels)) return absl::DataLossError("star levels do not decode");
    for (const auto& threshold : stored.thresholds_minor()) {
      auto minor = MinorFromString(threshold);
      if (!minor) return absl::DataLossError("a star threshold does not decode");
      profile.thresholds_minor.push_back(*minor);
    }
  } else {
    LOVEBANK_ASSIGN_OR_RETURN(auto hours, store.Get(Family::kAssets, kHoursAsset, snapshot.get()));
    v1::AssetRecord asset;
    if (!hours.has_value() || !asset.ParseFromString(*hours)) {
      return absl::DataLossError("the HOURS asset cannot be read");
    }
    for (std::string_view threshold : kDefaultStarThresholds) {
      profile.thresholds_minor.push_back(
          ParseAmount(threshold, asset.scale(), MinorAbsoluteMax()).amount.minor());
    }
  }
  for (const Int128& threshold : profile.thresholds_minor) {
    if (profile.earned_hours_minor >= threshold) ++profile.star_level;
  }
  return profile;
}

namespace {

// The meta records under `prefix`, in key order, each parsed as a `Record`.
template <class Record>
absl::StatusOr<std::vector<Record>> ReadMetaRecords(Store& store, std::string_view prefix,
                                                    const rocksdb::Snapshot* snapshot,
                                                    std::string_view what) {
  std::vector<Record> records;
  auto it = store.NewIterator(Family::kMeta, snapshot);
  const rocksdb::Slice start(prefix.data(), prefix.size());
  for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
    if (!records.emplace_back().ParseFromArray(it->value().data(),
                                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(Cat(what, " ", it->key().ToString(), " does not decode"));
    }
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), Cat("reading ", what)));
  return records;
}

}  // namespace

absl::StatusOr<std::vector<v1::AwardRuleRecord>> Ledger::GetAwardRules() {
  return ReadMetaRecords<v1::AwardRuleRecord>(*impl_->store, meta_key::kAwardRulePrefix, nullptr,
                                              "award rule");
}

absl::StatusOr<Ledger::SettingList> Ledger::GetSettings() {
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  SettingList list;
  LOVEBANK_ASSIGN_OR_RETURN(list.as_of_seq, ReadHeadSeq(store, snapshot.get()));
  LOVEBANK_ASSIGN_OR_RETURN(list.settings,
                            ReadMetaRecords<v1::SettingRecord>(store, meta_key::kSettingPrefix,
                                                               snapshot.get(), "setting"));
  return list;
}

absl::StatusOr<Ledger::PendingList> Ledger::GetPending(std::string_view member,
                                                       bool include_closed) {
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  PendingList list;
  LOVEBANK_ASSIGN_OR_RETURN(list.as_of_seq, ReadHeadSeq(store, snapshot.get()));
  auto it = store.NewIterator(Family::kPending, snapshot.get());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::PendingRecord record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("a pending record does not decode");
    }
    if (!member.empty() && record.member() != member) continue;
    if (!include_closed && record.state() != v1::PENDING_STATE_PENDING) continue;
    list.pending.push_back(std::move(record));
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading pending records"));
  return list;
}

absl::StatusOr<v1::HoldRecord> Ledger::GetHold(std::uint64_t hold_seq) {
  LOVEBANK_ASSIGN_OR_RETURN(auto value,
                            impl_->store->Get(Family::kHolds, EncodeFixed64BE(hold_seq)));
  if (!value.has_value()) return RefusedStatus(Reason::kHoldUnknown, Cat("no hold ", hold_seq));
  v1::HoldRecord hold;
  if (!hold.ParseFromString(*value)) {
    return absl::DataLossError(Cat("hold ", hold_seq, " does not decode"));
  }
  return hold;
}

absl::StatusOr<v1::ServiceRecord> Ledger::GetService(std::uint64_t service_seq) {
  LOVEBANK_ASSIGN_OR_RETURN(auto value,
                            impl_->store->Get(Family::kServices, EncodeFixed64BE(service_seq)));
  if (!value.has_value()) {
    return RefusedStatus(Reason::kServiceUnknown, Cat("no service ", service_seq));
  }
  v1::ServiceRecord service;
  if (!service.ParseFromString(*value)) {
    return absl::DataLossError(Cat("service ", service_seq, " does not decode"));
  }
  return service;
}

absl::StatusOr<Ledger::ServiceList> Ledger::ListServices(const ServiceFilter& filter) {
  Store& store = *impl_->store;
  ScopedSnapshot snapshot(store.db());
  ServiceList list;
  auto it = store.NewIterator(Family::kServices, snapshot.get());
  if (filter.cursor == 0) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(EncodeFixed64BE(filter.cursor - 1));
  }
  std::size_t examined = 0;
  for (; it->Valid(); it->Prev()) {
    v1::ServiceRecord record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("a service record does not decode");
    }
    if (list.services.size() == filter.limit || examined == kServiceScanMax) {
      list.next_cursor = record.seq() + 1;
      break;
    }
    ++examined;
    if (filter.kind != v1::SERVICE_KIND_UNSPECIFIED && record.kind() != filter.kind) continue;
    const bool open = record.state() == v1::SERVICE_STATE_OPEN;
    if (filter.open_only && !open) continue;
    if (!filter.viewer.empty() && !open && record.member() != filter.viewer &&
        record.provider() != filter.viewer) {
      continue;
    }
    if (!filter.category.empty() && record.category() != filter.category) continue;
    if (!filter.place.empty() && record.place().find(filter.place) == std::string::npos) continue;
    if (!filter.member.empty() && record.member() != filter.member &&
        record.provider() != filter.member) {
      continue;
    }
    list.services.push_back(std::move(record));
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading services"));
  return list;
}

const std::string& Ledger::path() const { return impl_->options.path; }

}  // namespace lovebank
