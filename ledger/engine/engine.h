#pragma once
// The sequencer's state machine: the in-memory ledger state and the validation ladder that turns
// commands into journal entries inside one group-commit batch.
//
// Not thread-safe: owned and used by the sequencer only — its thread, or a submitting thread it
// lends its role to (ledger_impl.h RunLone), one at a time — and by Open before that thread
// starts. Internal to ledger/.
//
// Batch states: (BeginBatch) open -> Apply* -> (FinishBatch) sealed: its WriteBatch is handed
// to the writer -> (RetireOldest) durable: undo records dropped; or (RollBackAll) undone.
// Batches are pipelined: while the writer writes sealed batch N, batch N+1 is decided on top of
// N's effects, so several batches are in flight (the ledger bounds them: ledger_impl.h
// kBatchesInFlightMax, kCompletingMax) and every lookup (request ids, entries, reversals)
// consults the in-flight batches before RocksDB. The in-memory state includes every
// in-flight batch's effects; nothing is visible to readers until a batch's WriteBatch is durably
// written, because readers read RocksDB, never this state.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "ledger/base/check.h"
#include "ledger/engine/outcome.h"
#include "ledger/engine/state_table.h"
#include "ledger/format/syntax.h"
#include "ledger/rules/context.h"
#include "ledger/rules/services.h"
#include "ledger/rules/supermarket.h"
#include "ledger/storage/id_filter.h"
#include "ledger/storage/staged_puts.h"
#include "ledger/storage/store.h"
#include "rocksdb/write_batch.h"

namespace lovebank {

// A value, or the Outcome in its way: a refusal, or kLedgerUnavailable when the store cannot be
// read. What a step of a rule returns instead of filling an out-parameter.
template <class T>
class [[nodiscard]] OrOutcome {
 public:
  OrOutcome(T value) : value_(std::move(value)) {}             // NOLINT: implicit by design
  OrOutcome(Outcome outcome) : outcome_(std::move(outcome)) {  // NOLINT: implicit by design
    LOVEBANK_DCHECK(!outcome_.ok());
  }
  bool ok() const { return value_.has_value(); }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  // REQUIRES: !ok().
  Outcome&& outcome() && { return std::move(outcome_); }
  Outcome& outcome() & { return outcome_; }

 private:
  std::optional<T> value_;
  Outcome outcome_;
};

class Engine {
 public:
  // Loads accounts, assets and balances from `store` (borrowed; must outlive the engine).
  // Errors: DataLoss when a stored record does not decode.
  static absl::StatusOr<std::unique_ptr<Engine>> Load(Store* store, Head head,
                                                      std::int64_t head_time_unix_us,
                                                      std::function<std::int64_t()> clock);

  // REQUIRES: no batch open. `expected_commands`: how many Apply calls are coming (a hint that
  // sizes the batch's maps once instead of regrowing them).
  void BeginBatch(std::size_t expected_commands = 0);
  // Batches sealed but not yet retired or rolled back.
  std::size_t in_flight() const { return batches_.size(); }

  // Decides one command against the state plus the batch so far. An accepted command appends
  // a journal entry and its derived records to the batch and updates the state; a refusal for a
  // state reason appends a remembered Refusal record; nothing else changes on refusal.
  // kLedgerUnavailable when a store read failed (nothing appended).
  // REQUIRES: a batch is open; CheckCommandSyntax(command) passed; fingerprint is
  // CommandFingerprint(command); `serialized`, when not empty, is SerializeCommand(command)
  // (the caller made it for the fingerprint; the journal entry embeds it).
  Outcome Apply(const v1::Command& command, const std::string& fingerprint,
                std::string_view serialized = {});

  // All-or-nothing groups inside the open batch: Mark remembers the state, RollBackToMark undoes
  // every Apply since (journal entries, derived records, remembered refusals, in-memory state),
  // ReleaseMark keeps them. REQUIRES: a batch is open; Mark only without a mark, the other two
  // only with one.
  void Mark();
  void RollBackToMark();
  void ReleaseMark();
  // Stages the remembered Refusal record of a command refused for a state reason (nothing for
  // other reasons): what Apply does for a refusal, again after RollBackToMark took it away, so a
  // refused command of an all-or-nothing group is refused the same way on a retry.
  // REQUIRES: a batch is open, no mark.
  void RememberRefusal(const v1::Command& command, const std::string& fingerprint,
                       const Outcome& outcome);

  // Seals the open batch: adds the coalesced balances and the meta head and returns the
  // WriteBatch to write (empty when nothing was applied).
  rocksdb::WriteBatch FinishBatch();
  // The oldest sealed batch is durable: drop its undo records and lookups (RocksDB has them).
  void RetireOldest();
  // A write failed: restore the state as it was before the oldest in-flight batch.
  void RollBackAll();

  Head head() const { return head_; }

  // Holds (ledger/engine/holds.cc): the earliest expiry of an open hold, and the release of every
  // hold expired by now as journal entries in the open batch (Apply does it before deciding any
  // command; the sequencer calls it when idle). REQUIRES for ReleaseExpired: a batch is open.
  // Pending awards and earnings lapse the same way (ledger/engine/programme.cc): the earliest of
  // both.
  std::optional<std::int64_t> NextHoldExpiry() const;
  void ReleaseExpired();

 private:
  friend class EngineTestPeer;  // tests only: simulates a bookkeeping bug
  friend class EngineContext;   // the rules' view of this state (context.cc)

  struct BatchEntry {
    v1::Command::BodyCase kind;
    std::vector<v1::Posting> postings;
    // The whole entry, for the entries a Refund may name: checkouts and hold captures.
    std::shared_ptr<const v1::Entry> checkout;
    // An Earn of HOURS: the member it was for (under a cap its postings may not name them) and
    // the day it was served (for the daily cap).
    std::string earned_hours_by;
    std::string earned_day;
    // An Award or the Approve of a pending award: the frequency usage key it counts under.
    std::string award_usage_key;
  };
  using Sale = rules::Sale;
  struct BatchRequest {
    Hash fingerprint;  // the command's fingerprint bytes (no heap string per command)
    Outcome outcome;
  };
  using ResolvedPosting = rules::Posting;

  Engine(Store* store, Head head, std::int64_t head_time_unix_us,
         std::function<std::int64_t()> clock);
  std::unique_ptr<rules::Context> MakeContext();  // context.cc

  // Authority (ledger/engine/authority.cc): the grant of the command's actor, or null when the
  // actor is no principal (the engine's own commands, and library callers that are not the
  // service).
  const v1::PrincipalRecord* ActorPrincipal(const v1::Command& command) const;
  // A principal revoked before this seq: kPermissionDenied (its command waited in the queue
  // while the revocation committed). std::nullopt when the actor may act.
  std::optional<Outcome> CheckActor(const v1::Command& command, const std::string& fingerprint);
  // Whether the actor may reverse (or refund) `entry` at `target` as it stands now: admins any;
  // an issuer the earnings, deductions, awards and approvals that moved its own accounts; a
  // terminal its own store's redemptions, checkouts and captured holds. kPermissionDenied
  // otherwise; std::nullopt when allowed.
  std::optional<Outcome> CheckMayUndo(const v1::Command& command, const std::string& fingerprint,
                                      std::uint64_t target, const BatchEntry& entry);

  // Idempotency: the earlier outcome for this request id, or std::nullopt when it is new.
  std::optional<Outcome> Replay(const v1::Command& command, const std::string& fingerprint);
  Outcome Decide(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyMove(const v1::Command& command, const std::string& fingerprint,
                    const v1::Move& move, v1::AccountKind from_kind, v1::AccountKind to_kind,
                    bool stock = false);
  Outcome ApplyReverse(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyOpenAccount(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyDefineAsset(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetAccountStatus(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyGrantPrincipal(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyRevokePrincipal(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetDevicePin(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyActivatePrincipal(const v1::Command& command, const std::string& fingerprint);
  // A member's consent at the till (rules::CheckConsent), the refusal journaled; SpendConsent
  // records the code as used on its device once the entry is appended.
  std::optional<Outcome> CheckConsent(const v1::Command& command, const std::string& fingerprint,
                                      const std::string& member, const v1::PaymentConsent& consent,
                                      std::int64_t time);
  void SpendConsent(const v1::PaymentConsent& consent);
  // The love supermarket (ledger/engine/supermarket.cc).
  Outcome ApplySetItem(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetExchangeRatio(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyCheckout(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyRefund(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetLimit(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetHousehold(const v1::Command& command, const std::string& fingerprint);
  // What a checkout or a hold checks and prices: the accounts, the basket from the store's
  // catalogue, the limits and (paid with HOURS) the ratio: the priced basket, or a refusal.
  using PricedBasket = rules::PricedBasket;
  OrOutcome<PricedBasket> PriceBasket(
      const v1::Command& command, const std::string& fingerprint, const std::string& member,
      const std::string& store, const google::protobuf::RepeatedPtrField<v1::BasketLine>& lines,
      const std::string& pay_asset, std::int64_t time);
  // The usage keys and values after giving back `total` POINTS of value and `lines`' units to
  // the periods of `time` (never below zero); kLedgerUnavailable when the store cannot be read.
  OrOutcome<std::vector<std::pair<std::string, Int128>>> GiveBackUsage(
      const std::string& member, std::int64_t time, const Int128& total,
      const std::vector<std::pair<std::string, std::uint32_t>>& lines);
  OrOutcome<Sale> SaleOf(const BatchEntry& entry);
  // Volunteers (ledger/engine/volunteers.cc applies the rules of ledger/rules/volunteers.h).
  Outcome ApplySetStarLevels(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetHoursCap(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetDailyHoursCap(const v1::Command& command, const std::string& fingerprint);
  // An Earn of HOURS under the daily cap: the usage key and the hours recorded that day after
  // it, or a refusal (LIMIT_EXCEEDED) or failure. std::nullopt key when no cap is in force.
  OrOutcome<std::optional<std::pair<std::string, Int128>>> CheckDailyHours(
      const v1::Command& command, const std::string& fingerprint, const Int128& amount);
  // An Earn of HOURS under the storage cap: the postings, the member's part up to the cap and
  // the rest to the donation pool (the whole amount when no cap is set).
  std::vector<ResolvedPosting> CappedEarn(const v1::Move& move, const Int128& amount);
  // Adds `delta` to a member's cumulative earned hours (an Earn of HOURS, or minus a reversed
  // one) as of entry `seq`.
  void AddEarnedHours(const std::string& member, const Int128& delta, std::uint64_t seq);
  // Programme rules (ledger/engine/programme.cc): tags, family, transfer policy, award rules,
  // awards and maker-checker approval.
  Outcome ApplyTransfer(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetAccountTags(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetFamily(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetAccountContact(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetBudget(const v1::Command& command, const std::string& fingerprint);
  // accounts_.Set, keeping card_owners_ in step with the record's card number.
  void SetAccount(const std::string& account, AccountState state);
  Outcome ApplySetTransferPolicy(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetAwardRule(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyAward(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplySetApprovalThreshold(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyApprove(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyReject(const v1::Command& command, const std::string& fingerprint);
  // A programme setting: its rule (ledger/rules/settings.h) decides the value the record keeps.
  Outcome ApplySetSetting(const v1::Command& command, const std::string& fingerprint);
  // A witness's co-signature of a head (rules/settings.h CheckCosign): an entry, no state.
  Outcome ApplyCosignHead(const v1::Command& command, const std::string& fingerprint);
  // The approval threshold of `asset` in minor units; nullopt when it has none (or 0).
  std::optional<Int128> ApprovalThreshold(const std::string& asset) const;
  // Records `command` as pending (no postings; the member gets a statement line): the entry,
  // the PendingRecord and, for an award, its frequency usage.
  Outcome MakePending(const v1::Command& command, const std::string& fingerprint,
                      v1::PendingRecord pending, const v1::AwardFacts* award);
  // The pending record `seq` if it is still pending; a refusal otherwise.
  OrOutcome<v1::PendingRecord> OpenPending(const v1::Command& command,
                                           const std::string& fingerprint, std::uint64_t seq);
  // Closes a pending record as rejected or expired: a statement line, its usage given back.
  Outcome ClosePending(const v1::Command& command, const std::string& fingerprint,
                       v1::PendingRecord pending, v1::PendingState state);
  // Gives one award back to its frequency usage key (a reversal, rejection or expiry);
  // kLedgerUnavailable when the store cannot be read, else std::nullopt.
  std::optional<Outcome> GiveBackAward(const std::string& usage_key);
  void ExpirePendingDue(std::int64_t now);
  void RebuildPendingExpiries();
  // A setting (the programme's keyed rules and its singleton settings, by meta key): parsed from
  // the table's bytes; std::nullopt when none is set.
  template <class Message>
  std::optional<Message> Setting(std::string_view key) const {
    const std::string* bytes = settings_.Find(key);
    if (bytes == nullptr) return std::nullopt;
    Message message;
    LOVEBANK_CHECK(message.ParseFromString(*bytes));
    return message;
  }
  void SetSetting(const std::string& key, const google::protobuf::MessageLite& record) {
    settings_.Set(key, record.SerializeAsString());
  }
  // A rule's decision, or its refusal journaled (RefuseWith) in the way.
  template <class Record>
  OrOutcome<Record> Decided(const v1::Command& command, const std::string& fingerprint,
                            rules::OrRefusal<Record> decided);
  // A setting as its rule in ledger/rules/ decided it: the refusal, or the entry and the record
  // (with the entry's seq) stored under `key`.
  template <class Record>
  Outcome ApplyDecided(const v1::Command& command, const std::string& fingerprint,
                       std::variant<Record, rules::Refusal> decided, std::string_view key);
  // Holds (ledger/engine/holds.cc).
  Outcome ApplyAuthorizeHold(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyCaptureHold(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyVoidHold(const v1::Command& command, const std::string& fingerprint);
  // The open hold `hold_seq` at `store` for a capture or void; a refusal otherwise.
  OrOutcome<v1::HoldRecord> OpenHold(const v1::Command& command, const std::string& fingerprint,
                                     std::uint64_t hold_seq, const std::string& store);
  // The hold from the in-memory state or the store, std::nullopt when there is none;
  // kLedgerUnavailable when the store cannot be read.
  OrOutcome<std::optional<v1::HoldRecord>> FindHold(std::uint64_t seq);
  // Closes `hold` with `command` (capture: `captured` is the captured pricing; void and
  // release: nullptr): postings, usage given back, the record's new state.
  Outcome CloseHold(const v1::Command& command, const std::string& fingerprint, v1::HoldRecord hold,
                    const v1::Pricing* captured, v1::HoldState state);
  void SetHold(v1::HoldRecord record);
  void RebuildHoldExpiries();
  // Postings into (or out of) the escrow "system:holds": the escrow a SYSTEM account if it exists
  // (the first hold or service accepted opens it: OpenEscrow, right before the entry), the floors
  // and ceilings of every leg; the refusal journaled (an engine's own lapse: not remembered).
  std::optional<Outcome> CheckEscrowPostings(const v1::Command& command,
                                             const std::string& fingerprint,
                                             const std::vector<ResolvedPosting>& postings);
  void OpenEscrow();
  // Services (ledger/engine/services.cc applies ledger/rules/services.h).
  Outcome ApplyPostService(const v1::Command& command, const std::string& fingerprint);
  // Every other service command, the engine's ExpireService included.
  Outcome ApplyServiceStep(const v1::Command& command, const std::string& fingerprint);
  Outcome ApplyServiceChange(const v1::Command& command, const std::string& fingerprint,
                             rules::ServiceChange change);
  // The service from the in-memory state or the store, std::nullopt when there is none;
  // kLedgerUnavailable when the store cannot be read.
  OrOutcome<std::optional<v1::ServiceRecord>> FindService(std::uint64_t seq);
  void SetService(v1::ServiceRecord record);
  void RebuildServiceIndexes();
  void ExpireServicesDue(std::int64_t now);
  // The amount used under a usage key (0 when none): in flight, cached or committed;
  // kLedgerUnavailable when the store cannot be read.
  OrOutcome<Int128> Used(const std::string& key);
  // The time the next entry gets: the clock (read once per Apply: every entry one command makes,
  // releases of expired holds included, has the same time), never before the head's time.
  std::int64_t NextEntryTime() const;

  // The entry at `seq` (1..head) from the in-flight batches or the journal;
  // kLedgerUnavailable when the journal cannot be read.
  OrOutcome<BatchEntry> FindEntry(std::uint64_t seq);
  // Whether a key of the reversed family is set, in flight or committed; kLedgerUnavailable when
  // the store cannot be read.
  OrOutcome<bool> IsReversed(const std::string& key);

  // Floors and ceilings for postings about to be applied: kOk, kInsufficientBalance,
  // kBudgetExceeded or kBalanceAboveMaximum.
  Outcome CheckLimits(const std::vector<ResolvedPosting>& postings);
  // Appends the entry and applies its effects. `touched` lists accounts that get a statement
  // line without a leg (administrative entries).
  Outcome Append(const v1::Command& command, const std::string& fingerprint,
                 const std::vector<ResolvedPosting>& postings,
                 const std::vector<std::string>& touched, const v1::Pricing* pricing = nullptr,
                 std::optional<std::int64_t> time = std::nullopt,
                 const v1::AwardFacts* award = nullptr);

  Outcome Refuse(const v1::Command& command, const std::string& fingerprint, Reason reason,
                 std::string message);
  // The refusal a rule of ledger/rules/ decided, journaled as Refuse does (a kLedgerUnavailable
  // one, a store that could not be read, is neither applied nor refused).
  Outcome RefuseWith(const v1::Command& command, const std::string& fingerprint,
                     rules::Refusal refusal);

  const AssetState* FindAsset(const std::string& code) const;
  const AccountState* FindAccount(const std::string& account) const;
  BalanceState Balance(const std::string& account, const std::string& asset) const;
  BalanceState BalanceAt(const std::string& key) const;  // key: BalanceKey(account, asset)
  // Records `key` as reversed (a whole entry, or a refunded line) in the open batch.
  void MarkReversed(std::string key, std::uint64_t by_seq);
  std::string Decimal(const Int128& minor, const std::string& asset) const;
  void Stage(Family family, std::string_view key, std::string_view value);

  Store* const store_;
  const std::function<std::int64_t()> clock_;
  // What the rules of ledger/rules/ read of this state (an EngineContext over *this).
  const std::unique_ptr<rules::Context> context_;

  // The state, one table per piece (ledger/engine/state_table.h); tables_ lists them all in load
  // order (assets before accounts: an account's budgets parse in its asset's scale).
  StateTable<AssetState> assets_;
  StateTable<AccountState> accounts_;
  StateTable<BalanceState> balances_;           // BalanceKey -> balance
  StateTable<v1::PrincipalRecord> principals_;  // by principal name
  StateTable<v1::ItemRecord> items_;            // ItemKey(store, sku) -> item
  StateTable<v1::LimitRecord> limits_;          // by SKU, "" for basket value
  // Usage under limits, by UsageKey: read from the store on first use (Used), then kept.
  StateTable<Int128> usage_;
  // Member -> household id ("" once taken out of one).
  StateTable<std::string> households_;
  // Holds by EncodeFixed64BE(seq): every open hold, and closed ones until their batch is durable.
  StateTable<v1::HoldRecord> holds_;
  // Cumulative earned hours by MEMBER account.
  StateTable<v1::VolunteerRecord> volunteers_;
  // Pending awards and earnings by EncodeFixed64BE(seq).
  StateTable<v1::PendingRecord> pending_;
  // Services by EncodeFixed64BE(seq): every live one, and closed ones until their batch is
  // durable.
  StateTable<v1::ServiceRecord> services_;
  // Settings by meta key -> the stored bytes: the keyed programme rules and the singleton
  // settings (exchange policy, star levels, hours caps). A new journaled setting is a key here.
  StateTable<std::string> settings_;
  const std::vector<StateTableBase*> tables_;

  // Derived from the tables (rebuilt when a rollback restores them): the token hash of every
  // principal; the open holds and the pending records by expiry.
  absl::flat_hash_set<std::string> token_hashes_;
  absl::flat_hash_map<std::string, std::string> card_owners_;  // card number -> account
  std::set<std::pair<std::int64_t, std::uint64_t>> hold_expiries_;
  std::set<std::pair<std::int64_t, std::uint64_t>> pending_expiries_;
  std::set<std::pair<std::int64_t, std::uint64_t>> service_expiries_;
  absl::flat_hash_map<std::string, std::size_t> live_services_by_member_;
  // Every request id in the requests and refusals families or staged for them
  // (ledger/storage/id_filter.h).
  IdFilter request_ids_;
  std::optional<std::int64_t> decide_time_;  // set while Apply decides one command
  // Set while Apply decides one command whose serialization the caller gave: Append embeds it
  // instead of serializing the command again.
  const v1::Command* serialized_command_ = nullptr;
  std::string_view serialized_;
  Head head_;
  std::string ledger_id_;  // meta ledger_id: what the ledger's and witnesses' keys sign
  std::int64_t head_time_unix_us_ = 0;

  // One batch from BeginBatch until it is retired or rolled back.
  struct Batch {
    // Puts per column family, written to the WriteBatch sorted by FinishBatch.
    std::array<StagedPuts, kFamilyCount> staged;
    Head start_head;
    std::int64_t start_time_unix_us = 0;
    // The serialized Entry of each seq appended in this batch (FindEntry decodes it on demand).
    absl::flat_hash_map<std::uint64_t, std::string> entries;
    // Keys of the reversed family set in this batch: whole entries and refunded lines.
    absl::flat_hash_set<std::string> reversed;
    absl::flat_hash_map<std::string, BatchRequest> requests;
  };
  Batch& open() { return batches_.back(); }

  // What Mark remembers beyond the tables (which keep their own).
  struct MarkState {
    // Declared, defined in engine.cc: clang 14 cannot default-construct a nested class with
    // member initializers inside std::optional::emplace while the enclosing class is open.
    MarkState();
    std::array<std::size_t, kFamilyCount> staged_sizes{};
    Head head;
    std::int64_t time_unix_us = 0;
    std::vector<std::string> reversed;
    std::vector<std::string> requests;
  };
  std::optional<MarkState> mark_;

  bool batch_open_ = false;
  std::deque<Batch> batches_;  // in flight, oldest first; back() is the open one if batch_open_
};

template <class Record>
OrOutcome<Record> Engine::Decided(const v1::Command& command, const std::string& fingerprint,
                                  rules::OrRefusal<Record> decided) {
  if (auto* refusal = std::get_if<rules::Refusal>(&decided)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  return std::move(std::get<Record>(decided));
}

template <class Record>
Outcome Engine::ApplyDecided(const v1::Command& command, const std::string& fingerprint,
                             std::variant<Record, rules::Refusal> decided, std::string_view key) {
  if (auto* refusal = std::get_if<rules::Refusal>(&decided)) {
    return RefuseWith(command, fingerprint, std::move(*refusal));
  }
  Record& record = std::get<Record>(decided);
  record.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(std::string(key), record);
  return outcome;
}

// Rebuilds the receipt of a committed entry from the journal and the statement index (for a
// retried request id). `scale_of` gives an asset's scale.
absl::StatusOr<Receipt> ReadReceipt(
    Store& store, std::uint64_t seq,
    const std::function<std::uint32_t(const std::string&)>& scale_of,
    const rocksdb::Snapshot* snapshot = nullptr);

}  // namespace lovebank
