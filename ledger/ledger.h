#pragma once
// The lovebank ledger: an append-only, double-entry, hash-chained journal on RocksDB with one
// writer thread (the sequencer) and group commit. No network in here (DESIGN.md "The layout").
//
// Thread-safe: any number of threads may call Submit and the queries at once.
//
// Write path: Submit checks a command's syntax on the caller's thread, then enqueues it. The
// sequencer takes up to batch_size_max queued commands, validates each in order against the
// committed state plus the batch's own effects, appends one journal entry per accepted command,
// writes the whole batch as one RocksDB WriteBatch with one WAL sync, and only then completes
// every command of the batch (DESIGN.md invariant 6). Reads see committed state only.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ledger/base/metrics.h"
#include "ledger/engine/outcome.h"
#include "ledger/format/amount.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/reason.h"
#include "ledger/format/syntax.h"
#include "lovebank/v1/journal.pb.h"
#include "lovebank/v1/store.pb.h"

namespace rocksdb {
class Env;
}

namespace lovebank {

// Limits (STYLE.md 6).
// 8,192 commands per group commit: ~8k entries of ~300 bytes is a 2.5 MB WriteBatch, one fsync.
inline constexpr std::size_t kBatchSizeMaxDefault = 8192;
// 65,536 queued commands ≈ 8 group commits of backlog; ~30 MB at ~400 bytes each. Past it
// Submit refuses with kLedgerBusy instead of growing memory.
inline constexpr std::size_t kQueueDepthMaxDefault = 65536;
inline constexpr std::size_t kStatementPageSizeMax = 1000;
inline constexpr std::size_t kStatementPageSizeDefault = 50;
// ListAccounts reads at most this many account records per call (then hands back a cursor), so
// no query, however unselective, holds the store for long.
inline constexpr std::size_t kAccountScanMax = 100000;
// Entries whose hash chain Open re-verifies at the head of the journal.
inline constexpr std::uint64_t kOpenVerifyTailEntries = 1024;

struct LedgerOptions {
  std::string path;  // the RocksDB directory
  bool create_if_missing = true;
  // Auditor mode: no lock, no writer thread; every Submit is refused with kLedgerReadOnly.
  bool read_only = false;
  std::size_t queue_depth_max = kQueueDepthMaxDefault;
  std::size_t batch_size_max = kBatchSizeMaxDefault;
  // Server time in microseconds since the Unix epoch; default the system clock. Entry times
  // never go backwards: an earlier reading is raised to the head's time.
  std::function<std::int64_t()> clock_unix_us;
  // Borrowed; must outlive the ledger. Tests inject storage faults through it.
  rocksdb::Env* env = nullptr;
  // How long the Merkle tree's builder gathers commits before it integrates them (ledger/tree.h);
  // a proof query or the close ends the wait at once.
  absl::Duration tree_gather_wait = absl::Milliseconds(20);
  // A lone command (one in its batch, nothing queued, nothing else being written or answered)
  // is written and answered on the sequencer thread, without a hand-off to the writer. Tests of
  // the pipeline's hand-offs turn it off to hold a lone write on the writer thread.
  bool lone_batches_on_sequencer = true;
  // A lone command submitted while the sequencer is idle (nothing queued, open, being written or
  // answered) is decided, written and answered on the submitting thread, inside Submit, with the
  // sequencer's role lent to it for the decision: no wake-up of the sequencer and none back
  // (issue #29: a lone gRPC call's round trip). Then `done` runs inside Submit, so a caller
  // must not hold a lock `done` takes, and must not touch what `done` frees after Submit.
  // Off by default (a library caller may expect Submit to return at once); lovebankd turns it on.
  bool lone_commands_on_caller = false;
  // Tests only: runs on such a caller's thread after it gives the sequencer's role back and
  // before its write (a test holds it there to see that nothing overtakes the write).
  std::function<void()> after_role_returned;
};

// An entry as stored: the exact payload bytes and both hashes, plus the decoded payload.
struct StoredEntry {
  std::uint64_t seq = 0;
  Hash hash{};
  Hash prev_hash{};
  std::string payload;  // serialized lovebank.v1.Entry, the bytes the hash covers
  v1::Entry entry;
};

// One line of an account statement, newest first.
struct StatementItem {
  std::uint64_t seq = 0;
  std::int64_t time_unix_us = 0;
  v1::Command command;  // what was done, by whom, with which memo
  struct Leg {
    std::string asset;
    std::string amount;         // signed decimal at the asset's scale, e.g. "-3.00"
    std::string balance_after;  // decimal
  };
  std::vector<Leg> legs;  // empty for administrative entries (account opened, frozen, ...)
};

// One journal record exactly as stored (journal_format.h "Stored entry"): what ReadJournal
// streams so that a client can verify the chain itself.
struct JournalRecord {
  std::uint64_t seq = 0;
  std::string value;  // version | hash | prev hash | payload
};

struct StatementPage {
  std::vector<StatementItem> items;
  std::string next_cursor;  // empty when there is nothing older
};

class Ledger {
 public:
  // Opens the ledger at options.path. A new ledger gets a random ledger id and its first
  // entries define the default assets HOURS and POINTS (scale 2, maximum 999,999,999,999,999.99).
  // On every open the head of the hash chain (the last kOpenVerifyTailEntries entries) is
  // re-verified against the stored meta head.
  // Errors: NotFound (no ledger and creation off), Unavailable (I/O, lock held by another
  // writer), DataLoss (the chain tail, meta head or a derived record does not check out),
  // FailedPrecondition (another format version).
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(LedgerOptions options);

  // Stops taking commands, commits every command already queued, and closes the database.
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  using Callback = std::function<void(Outcome)>;
  using BatchCallback = std::function<void(std::vector<Outcome>)>;

  // Submits one command. `done` runs exactly once: on the caller's thread when the command is
  // refused before queuing (syntax, kLedgerBusy, kLedgerUnavailable, kLedgerReadOnly) or, with
  // LedgerOptions::lone_commands_on_caller, decided and written there while the ledger was idle
  // (inside Submit, either way); otherwise on a ledger thread after the group commit that
  // decided it. `done` must not block for long and must not call back into Submit
  // synchronously waiting for the result.
  void Submit(v1::Command command, Callback done);

  // Submits several commands at once: they enter the queue together, in order, and `done` gets
  // one outcome per command in the same order. Each command succeeds or fails on its own; with
  // `all_or_nothing`, either every command is applied (in one group commit) or none is: the
  // refused commands keep their reasons and every other one gets kBatchAborted. Refusals of an
  // aborted group are not remembered (nothing of it was committed; a retry is judged afresh).
  // The whole group is refused with kLedgerBusy when it does not fit in the queue.
  // An empty group, or an all-or-nothing group of more than batch_size_max() commands, is
  // refused whole with kBatchSizeInvalid.
  void SubmitMany(std::vector<v1::Command> commands, BatchCallback done,
                  bool all_or_nothing = false);

  // The most commands one group commit takes (LedgerOptions::batch_size_max): the service
  // bounds a client's batch by it.
  std::size_t batch_size_max() const;

  // Synchronous forms of the two above: block until the outcome is known.
  Outcome Execute(v1::Command command);
  std::vector<Outcome> ExecuteMany(std::vector<v1::Command> commands, bool all_or_nothing = false);

  // The committed head: the digest an auditor publishes.
  Head GetHead() const;
  // The head once it is past `after_seq`, or when `timeout` passes first, or once `*cancel`
  // holds (then the head as it is): a watcher's wait for new entries, woken by the writer as
  // it publishes each batch, and by WakeHeadWaiters after the waiter's `cancel` was set.
  Head WaitForHead(std::uint64_t after_seq, absl::Duration timeout,
                   const std::atomic<bool>* cancel = nullptr) const;
  // Every WaitForHead looks at its `cancel` again now (call it after setting one).
  void WakeHeadWaiters() const;
  std::string ledger_id() const;  // 16 raw bytes

  // True once a storage write has failed: every later command is refused with
  // kLedgerUnavailable until the ledger is closed and opened again (STYLE.md 5).
  bool failed() const;

  // What lovebankd's /metrics shows of the ledger since it was opened (issue #28).
  struct Metrics {
    std::uint64_t batches = 0;   // group commits written and synced
    std::uint64_t entries = 0;   // the entries they committed
    std::uint64_t commands = 0;  // commands the sequencer decided (applied or refused)
    // By Reason value (kReasonValueEnd of them): commands the ledger refused, before queuing
    // (syntax, a full queue) or when decided.
    std::vector<std::uint64_t> refusals;
    Histogram::Snapshot batch_commands;  // commands per group commit
    Histogram::Snapshot commit_us;       // a queued command: submitted to decided and durable
    Histogram::Snapshot sync_us;         // each group commit's synced write (the fsync)
    std::size_t queue_depth = 0;         // commands waiting for the sequencer now
    std::size_t batches_in_flight = 0;   // sealed, not yet written
    std::uint64_t head_seq = 0;
    std::uint64_t tree_size = 0;    // entries the Merkle tree's builder has integrated
    std::uint64_t tree_writes = 0;  // the builder's writes since the ledger was opened
  };
  Metrics metrics() const;

  // Queries over committed state. Refusals come back as statuses carrying a Reason (see
  // RefusedStatus / ReasonOf): kAccountIdInvalid, kAccountUnknown, kAssetCodeInvalid,
  // kAssetUnknown, kEntryUnknown, kSeqBeyondHead, kCursorInvalid, kPageSizeInvalid.
  // Storage failures come back as Unavailable or DataLoss.

  absl::StatusOr<v1::AccountRecord> GetAccount(std::string_view account);

  // Every asset the account holds or has held, in asset-code order, as of the head or as of
  // `as_of_seq` (the balances right after that entry; an account not yet open then has none).
  absl::StatusOr<std::vector<BalanceLine>> GetBalances(
      std::string_view account, std::optional<std::uint64_t> as_of_seq = std::nullopt);
  // The same with the journal position the balances are from: `as_of_seq`, or the head of the
  // snapshot they were read in (one read: no per-asset statement scan for current balances).
  struct BalanceSheet {
    std::uint64_t as_of_seq = 0;
    std::vector<BalanceLine> lines;
  };
  absl::StatusOr<BalanceSheet> GetBalanceSheet(
      std::string_view account, std::optional<std::uint64_t> as_of_seq = std::nullopt);
  // One asset; zero when the account never held it.
  absl::StatusOr<BalanceLine> GetBalance(std::string_view account, std::string_view asset,
                                         std::optional<std::uint64_t> as_of_seq = std::nullopt);

  // The account's statement, newest first, `page_size` (1..kStatementPageSizeMax) lines from
  // `cursor` (empty: from the newest). Pass next_cursor back for the next page.
  absl::StatusOr<StatementPage> ListEntries(std::string_view account, std::size_t page_size,
                                            std::string_view cursor);

  // Accounts by id from `cursor` (exclusive; empty: the first), every filter given holding and
  // `visible` (when set) allowing it: at most page_size (1..kStatementPageSizeMax) of them, read
  // in one snapshot; at most kAccountScanMax records are read per call. Refusals:
  // kPageSizeInvalid, kCursorInvalid (not an account id), kAccountIdInvalid (id_prefix),
  // kTagsInvalid (tag), kDisplayNameInvalid (name_contains).
  struct AccountQuery {
    v1::AccountKind kind = v1::ACCOUNT_KIND_UNSPECIFIED;  // unspecified: every kind
    std::string tag;
    std::string id_prefix;
    std::string name_contains;  // a byte substring of valid UTF-8: a substring in characters
    std::string card_number;    // exactly this card number (CheckContact's grammar)
    std::string phone;          // the whole phone, or its last 4 digits (尾号)
    std::size_t page_size = kStatementPageSizeDefault;
    std::string cursor;
    std::function<bool(const v1::AccountRecord&)> visible;
  };
  struct AccountPage {
    std::vector<v1::AccountRecord> accounts;
    std::string next_cursor;  // empty: no more
    std::uint64_t as_of_seq = 0;
  };
  absl::StatusOr<AccountPage> ListAccounts(const AccountQuery& query);

  // The account's statement lines after `after_seq`, oldest first, at most `count_max`
  // (1..kStatementPageSizeMax): what a watcher has not seen yet. Refusals as ListEntries.
  absl::StatusOr<std::vector<StatementItem>> ListEntriesAfter(std::string_view account,
                                                              std::uint64_t after_seq,
                                                              std::size_t count_max);

  absl::StatusOr<StoredEntry> GetEntry(std::uint64_t seq);

  // The Merkle tree over the journal (issue #27; ledger/format/merkle.h), for any tree size up
  // to the committed head: stored perfect subtrees never change, so no snapshot is needed.
  // Refusals: kTreeSizeInvalid (a size of 0 where a leaf is needed, past the head, first past
  // second, seq outside 1..tree_size). Storage failures: Unavailable or DataLoss; Unavailable
  // also when the tree builder has not reached the size within 10 s (TreeCovers).
  // The root of the tree of the first `tree_size` entries (tree_size 0: the empty tree).
  absl::StatusOr<Hash> TreeRoot(std::uint64_t tree_size) const;
  // RFC 9162 PATH for entry `seq` (leaf seq - 1) in the tree of `tree_size` entries.
  absl::StatusOr<std::vector<Hash>> InclusionProof(std::uint64_t seq,
                                                   std::uint64_t tree_size) const;
  // RFC 9162 PROOF that the tree of `first_size` entries is a prefix of that of `second_size`.
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(std::uint64_t first_size,
                                                     std::uint64_t second_size) const;
  // The time of entry `seq` (0 for seq 0): the time a tree head of that size states.
  absl::StatusOr<std::int64_t> EntryTime(std::uint64_t seq) const;
  // The tree is built off the commit path (ledger/tree.h): OK once it covers `tree_size`
  // entries, waiting up to 10 s; Unavailable when it does not (a read-only ledger does not wait).
  absl::Status TreeCovers(std::uint64_t tree_size) const;
  // The entry that `actor`'s request `request_id` committed (request ids are each actor's own).
  absl::StatusOr<StoredEntry> GetEntryByRequestId(std::string_view actor,
                                                  std::string_view request_id);

  // The committed journal records from `from_seq` (>= 1) up to `to_seq` inclusive, at most
  // `count_max` records and, past the first record, at most `bytes_max` bytes of values. Empty
  // when from_seq > to_seq. Errors: kSeqBeyondHead when to_seq is past the head; DataLoss when a
  // record is missing (a gap) inside the range.
  absl::StatusOr<std::vector<JournalRecord>> ReadJournal(std::uint64_t from_seq,
                                                         std::uint64_t to_seq,
                                                         std::size_t count_max,
                                                         std::size_t bytes_max);

  // Every principal ever granted (revoked ones included), in name order.
  absl::StatusOr<std::vector<v1::PrincipalRecord>> ListPrincipals();
  // One principal's committed record. Refusals: kPrincipalInvalid, kPrincipalUnknown.
  absl::StatusOr<v1::PrincipalRecord> GetPrincipal(std::string_view name);

  // The love supermarket: a store's catalogue in SKU order (refusals as GetAccount, plus
  // kAccountKindMismatch for an account that is not a STORE), and the HOURS -> POINTS exchange
  // policy in force (std::nullopt before the first SetExchangeRatio).
  absl::StatusOr<std::vector<v1::ItemRecord>> GetItems(std::string_view store);
  absl::StatusOr<std::optional<v1::ExchangePolicy>> GetExchangePolicy();
  // The limits per member and period, by SKU ("" — the basket value — first).
  absl::StatusOr<std::vector<v1::LimitRecord>> GetLimits();
  // A volunteer's profile (docs/programme.md "Star levels"), read in one snapshot: cumulative
  // earned hours (earned minus earnings reversed), the HOURS balance, the star thresholds in
  // force and the star reached (how many thresholds the cumulative hours reach).
  // Refusals: kAccountIdInvalid, kAccountUnknown, kAccountKindMismatch (not a MEMBER).
  struct VolunteerProfile {
    v1::AccountRecord account;
    Int128 earned_hours_minor = 0;
    Int128 balance_hours_minor = 0;
    std::vector<Int128> thresholds_minor;
    std::uint32_t star_level = 0;
    std::uint64_t as_of_seq = 0;
  };
  absl::StatusOr<VolunteerProfile> GetVolunteerProfile(std::string_view account);
  // The award catalogue (docs/programme.md "Awards") in code order, retired rules included.
  absl::StatusOr<std::vector<v1::AwardRuleRecord>> GetAwardRules();
  // The programme settings ever set (journal.proto SettingValue), by name, read in one snapshot
  // at `as_of_seq`.
  struct SettingList {
    std::vector<v1::SettingRecord> settings;
    std::uint64_t as_of_seq = 0;
  };
  absl::StatusOr<SettingList> GetSettings();
  // Awards and earnings that waited for approval, oldest first: those of `member` (empty: all),
  // only the still pending ones unless `include_closed`. Read in one snapshot at `as_of_seq`.
  struct PendingList {
    std::vector<v1::PendingRecord> pending;
    std::uint64_t as_of_seq = 0;
  };
  absl::StatusOr<PendingList> GetPending(std::string_view member, bool include_closed);
  // A hold as committed. Refusals: kHoldUnknown.
  absl::StatusOr<v1::HoldRecord> GetHold(std::uint64_t hold_seq);
  // Services (issue #26): one as committed (refusal kServiceUnknown), and a page of them newest
  // first, every filter given holding: `kind` (UNSPECIFIED: both), open ones only (waiting for a
  // provider), `category` exactly, `place` containing the text, `member` the requester, offerer
  // or provider; `viewer` (a member's account, or empty: no limit) sees open ones and its own;
  // before seq `cursor` (0: from the newest). At most `limit` records; at most kServiceScanMax
  // examined per call, so a rare filter answers a short page with a cursor to go on from
  // (next_cursor 0: nothing older).
  absl::StatusOr<v1::ServiceRecord> GetService(std::uint64_t service_seq);
  struct ServiceFilter {
    v1::ServiceKind kind = v1::SERVICE_KIND_UNSPECIFIED;
    bool open_only = false;
    std::string viewer;
    std::string category;
    std::string place;
    std::string member;
    std::uint64_t cursor = 0;
    std::size_t limit = 50;
  };
  static constexpr std::size_t kServiceScanMax = 10000;
  struct ServiceList {
    std::vector<v1::ServiceRecord> services;
    std::uint64_t next_cursor = 0;
  };
  absl::StatusOr<ServiceList> ListServices(const ServiceFilter& filter);

  // An online backup (issue #8): a RocksDB checkpoint of the whole ledger in `dir` (a new
  // directory on this machine, made 0700; table files are hard links where the file system
  // allows), taken while the ledger serves. Returns the head the backup holds: restoring it
  // (docs/cli.md "backup") gives a ledger whose audit ends at exactly this digest.
  // Errors: AlreadyExists (dir exists), InvalidArgument (empty dir), storage errors.
  absl::StatusOr<Head> Backup(const std::string& dir);

  // The RocksDB directory (for a read-only audit beside this ledger).
  const std::string& path() const;

  class Impl;

 private:
  // Tests only (tests/audit/audit_engine_bug_test.cc): reaches the engine to simulate a bookkeeping
  // bug.
  friend class LedgerTestPeer;
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lovebank
