#pragma once
// The audit's own replay state, rebuilt from journal entries alone. Internal to ledger/audit.
// It deliberately does not reuse the engine's state types (ledger/engine/engine.h): two independent
// implementations of the rules must agree for an audit to come out clean.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "ledger/audit/audit.h"
#include "ledger/audit/big_vector.h"
#include "ledger/format/amount.h"
#include "lovebank/v1/journal.pb.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank::audit {

class Findings {
 public:
  void Add(FindingKind kind, std::uint64_t seq, std::string where, std::string expected,
           std::string found);
  std::vector<Finding> kept;
  std::uint64_t total = 0;
};

struct ReplayState {
  struct Asset {
    std::uint32_t scale = 0;
    Int128 maximum_minor = 0;
    v1::AssetRecord record;
  };
  struct Account {
    // What every posting reads or writes comes first: with the key it fills the slot's first
    // cache lines (a replay over 10,000 accounts misses cache on most lookups, and the record
    // alone spans three lines). kind, status and tagged mirror the record: Sync() after any
    // change to its kind, status or tags.
    v1::AccountKind kind = v1::ACCOUNT_KIND_UNSPECIFIED;
    v1::AccountStatus status = v1::ACCOUNT_STATUS_UNSPECIFIED;
    bool tagged = false;
    // Fast mode: a rolling digest and the count of the account's statement lines in seq order.
    std::uint64_t lines_digest = 0;
    std::uint64_t lines_count = 0;
    // The account's balances, by asset (a pointer to the code as keyed in `assets`, which
    // never drops one). FinishReplay gathers them into `balances`.
    struct Held {
      const std::string* asset = nullptr;
      RawInt128 minor = 0;
      std::uint64_t seq = 0;
    };
    absl::InlinedVector<Held, 2> held;
    v1::AccountRecord record;
    std::map<std::string, Int128, std::less<>> budgets_minor;

    void Sync() {
      kind = record.kind();
      status = record.status();
      tagged = record.tags_size() > 0;
    }
    Held& BalanceOf(const std::string& asset_key) {
      for (Held& balance : held) {
        if (balance.asset == &asset_key) return balance;
      }
      return held.emplace_back(Held{&asset_key, 0, 0});
    }
    RawInt128 HeldMinor(const std::string& asset_key) const {
      for (const Held& balance : held) {
        if (balance.asset == &asset_key) return balance.minor;
      }
      return 0;
    }
  };
  struct Balance {
    Int128 minor = 0;
    std::uint64_t seq = 0;
  };
  struct Request {
    std::uint64_t seq = 0;
    Hash fingerprint{};  // fixed size: no allocation per request on the replay's hot path
  };
  // Per entry, what a later reversal needs: whether it moved value, whether it was reversed,
  // and a digest of its postings (a reversal's postings must be their exact negation).
  struct Reversible {
    bool moves_value = false;
    bool earned_hours = false;  // an Earn of HOURS: its reversal lowers cumulative hours
    std::uint64_t reversed_by = 0;
    std::size_t postings_digest = 0;
    // Who may undo it (authority.cc): its command (BodyCase) and the account that owns it — the
    // issuer of an earning, deduction, award or approval, the store of a sale — as an index
    // into `owners` plus one (0: none).
    std::uint8_t kind = 0;
    std::uint32_t owner = 0;
  };
  // The owners of undoable entries, interned (Reversible::owner).
  std::vector<std::string> owners;
  absl::flat_hash_map<std::string, std::uint32_t> owner_ids;

  // Exact mode keeps every request id and statement line so that a difference can be named by
  // key; fast mode keeps 64-bit digests of them, and any disagreement (or a request-id hash
  // seen twice) sets needs_exact: the audit then runs again in exact mode to name it.
  enum class Mode { kExact, kFast };
  Mode mode = Mode::kExact;
  // False when no store will be compared (an export file): then nothing only the comparison
  // reads is kept — statement lines, command fingerprints, the request-index digest.
  bool compare_store = true;
  bool needs_exact = false;
  // Fast mode: the 64-bit hash of every request id in seq order, appended (a set would cost a
  // cache miss per entry); FinishReplay sorts them and looks for a repeat.
  BigVector<std::uint64_t> request_hashes;
  std::uint64_t requests_digest = 0;  // fast mode: sum of RequestDigest

  using AccountNode = std::pair<const std::string, Account>;
  // The accounts as the replay's hot path finds them: open addressing over 16-byte (hash, node)
  // slots, so that the slot a lookup needs can be loaded early and then the account itself
  // (PrefetchAccountSlots, PrefetchAccounts). absl's own prefetch loads the first slot of a
  // probe group, which with ~300-byte accounts stored in the slots was rarely the one found:
  // the lookups were ~30 % of the replay thread. Insert-only, like `accounts`.
  class AccountIndex {
   public:
    static std::uint64_t HashOf(std::string_view id);
    void Insert(std::uint64_t hash, AccountNode* node);
    AccountNode* Find(std::string_view id, std::uint64_t hash) const;
    void PrefetchSlot(std::uint64_t hash) const;
    // Starts loading the first account whose hash is `hash` and returns it, or null (its id
    // is not compared: a candidate).
    AccountNode* PrefetchNode(std::uint64_t hash) const;

   private:
    // The first node under `hash` that `match` accepts, or null.
    template <class Match>
    AccountNode* Probe(std::uint64_t hash, Match match) const;

    struct Slot {
      std::uint64_t hash = 0;
      AccountNode* node = nullptr;  // null: empty
    };
    std::vector<Slot> slots_;  // a power of two in size, at most half full
    std::size_t used_ = 0;
  };

  std::map<std::string, Asset, std::less<>> assets;
  // Never erased from; a node never moves, so `account_index` and `recent_accounts` point into
  // it. Add accounts with AddAccount (replay.cc), which indexes them.
  absl::node_hash_map<std::string, Account> accounts;
  AccountIndex account_index;
  // The last two accounts FindAccount (replay.cc) found: a value move asks for its two accounts
  // five times (rules, postings, statement lines).
  std::array<AccountNode*, 2> recent_accounts{};
  std::size_t recent_accounts_next = 0;
  absl::flat_hash_map<std::string, Balance> balances;  // BalanceKey(account, asset); FinishReplay
  absl::flat_hash_map<std::string, Request> requests;  // by RequestKey(actor, request id)
  // Who was allowed what: every principal ever granted, by name, and every token hash used.
  std::map<std::string, v1::PrincipalRecord, std::less<>> principals;
  absl::flat_hash_set<std::string> token_hashes;
  absl::flat_hash_map<std::string, std::string> card_owners;  // card number -> account
  // The love supermarket: catalogue items by ItemKey, the exchange policy in force, what each
  // checkout sold (for its refunds) and the refunded lines (RefundedLineKey -> refund seq).
  std::map<std::string, v1::ItemRecord, std::less<>> items;
  std::optional<v1::ExchangePolicy> exchange_policy;
  struct Sale {
    std::string member;
    std::string store;
    std::string exchange;  // HOURS only: the exchange account the hours went to
    v1::Pricing pricing;
  };
  absl::flat_hash_map<std::uint64_t, Sale> sales;
  absl::flat_hash_map<std::uint64_t, std::int64_t> sale_times;  // checkout seq -> entry time
  std::map<std::string, std::uint64_t> refunded_lines;
  // Limits by SKU ("" for basket value) and usage under them by UsageKey.
  std::map<std::string, v1::LimitRecord, std::less<>> limits;
  std::map<std::string, Int128, std::less<>> usage;
  std::map<std::string, std::string, std::less<>> households;  // member -> household ("": left)
  // Holds by their entry's seq, and the open ones by (expiry, seq).
  std::map<std::uint64_t, v1::HoldRecord> holds;
  std::set<std::pair<std::int64_t, std::uint64_t>> open_holds;
  // Volunteers: cumulative earned hours by member, and the star levels once set.
  std::map<std::string, v1::VolunteerRecord, std::less<>> volunteers;
  std::optional<v1::StarLevels> star_levels;
  // The HOURS storage cap in force, and the Earns of HOURS that went wholly to the pool (their
  // postings do not name the member; a reversal needs it).
  std::optional<v1::HoursCap> hours_cap;
  std::map<std::uint64_t, std::string> pool_only_earns;
  // The daily cap on recorded HOURS, and the day each Earn of HOURS was served (a reversal gives
  // that day's recorded hours back).
  std::optional<v1::DailyHoursCap> daily_cap;
  absl::flat_hash_map<std::uint64_t, std::string> earn_days;
  // Keyed programme rules as the engine stores them in meta (award rules, transfer policies,
  // approval thresholds), by meta key; pending awards and earnings by seq, and the open ones by
  // (expiry, seq); the frequency usage key of every award and approved award, by its seq.
  std::map<std::string, v1::AwardRuleRecord, std::less<>> award_rules;
  std::map<std::string, v1::TransferPolicyRecord, std::less<>> transfer_policies;
  std::map<std::string, v1::ApprovalThresholdRecord, std::less<>> approval_thresholds;
  // Programme settings by meta key ("setting:" + name; rules_settings.cc).
  std::map<std::string, v1::SettingRecord, std::less<>> settings;
  // The co-signature of the largest head of each witness, by principal and key (the reader
  // checked each, audit.cc).
  std::map<std::pair<std::string, std::string>, Cosigned> cosignatures;
  std::string ledger_id;  // what the ledger's keys sign (the journal source's)
  std::vector<Report::SigningKey> signing_keys;  // Report::signing_keys
  std::map<std::uint64_t, v1::PendingRecord> pending;
  // Services by their entry's seq; the live ones by (expiry, seq) and their count per member.
  std::map<std::uint64_t, v1::ServiceRecord> services;
  std::set<std::pair<std::int64_t, std::uint64_t>> service_expiries;
  std::map<std::string, std::size_t, std::less<>> live_services_by_member;
  std::set<std::pair<std::int64_t, std::uint64_t>> open_pending;
  absl::flat_hash_map<std::uint64_t, std::string> award_usage_keys;
  // The programme's months (audit.h ProgrammeMonth) by "YYYY-MM"; the month of the last entry
  // and where it ends; each Earn of HOURS's month of service and team (its reversal takes the hours
  // back there).
  std::map<std::string, ProgrammeMonth> programme_months;
  std::string current_month;
  std::int64_t current_month_end_us = 0;
  absl::flat_hash_map<std::uint64_t, std::pair<std::string, std::string>> earn_teams;
  // The month the entry being replayed is for (ProgrammeMonth::owed_*): its month of service, or
  // current_month; a pending award's month until its approval; each award's place among its
  // month's recipients (its reversal marks it).
  std::string owed_month;
  absl::flat_hash_map<std::uint64_t, std::pair<std::string, std::string>> pending_awards;
  absl::flat_hash_map<std::uint64_t, std::pair<std::string, std::size_t>> recipients;
  // Gross flows (audit.h Flow): (asset, command kind) -> sum of positive postings.
  std::map<std::pair<std::string, std::string>, boost::multiprecision::cpp_int> flows;
  // (store, month) -> the month's figures (audit.h StoreMonth).
  std::map<std::pair<std::string, std::string>, StoreMonth> store_months;
  BigVector<Reversible> entries;  // index seq - 1
  // Expected statement index: account -> (seq, legs as "ASSET amount after;..." text) in seq
  // order, which is the store's key order within an account: no sort needed to compare.
  absl::flat_hash_map<std::string, std::vector<std::pair<std::uint64_t, std::string>>>
      statement_lines;
  Digest head;
  std::int64_t time_unix_us = 0;
};

// Applies one decoded, chain-checked entry to `state`, reporting every rule it breaks.
// `fingerprint` is CommandFingerprint(entry.command()) (computed by the reading stage), or
// unused (any value) when !state.compare_store.
void ReplayEntry(const v1::Entry& entry, const Hash& fingerprint, ReplayState& state,
                 Findings& findings);

// Loading the accounts ReplayEntry(entry) will look up first, in two steps so that a replay a
// few entries behind finds them in cache: some entries ahead, PrefetchAccountSlots hashes the
// ids of the two accounts a value move names and starts loading their index slots; fewer
// entries ahead, PrefetchAccounts starts loading the accounts those slots point to and keeps
// them as candidates. Right before ReplayEntry(entry), RememberAccounts makes the candidates
// the accounts FindAccount tries first (it compares their ids, so a wrong candidate only costs
// the usual lookup). None changes what the replay finds.
struct AccountHints {
  std::array<std::uint64_t, 2> hashes{};
  std::array<ReplayState::AccountNode*, 2> candidates{};
  bool any = false;  // false: not a value move
};
AccountHints PrefetchAccountSlots(const v1::Entry& entry, const ReplayState& state);
void PrefetchAccounts(AccountHints& hints, const ReplayState& state);
void RememberAccounts(const AccountHints& hints, ReplayState& state);

// The authority rule (authority.cc): why `entry`'s actor was not allowed to make it as the
// state stood before it, or empty when it was.
std::string AuthorityProblem(const v1::Entry& entry, const ReplayState& state);
// A member's consent at the till (PaymentConsent on a Checkout, AuthorizeHold or Redeem;
// authority.cc), from the journal alone: present when the programme's setting requires it; a
// device of the member, activated and unrevoked; its window within 90 s of the entry's time; its
// counter above the device's last, which it then becomes. Empty when it holds.
std::string ConsentProblem(const v1::Entry& entry, ReplayState& state);
// Remembers who owns an undoable entry (its issuer or store) for later reversals and refunds.
// REQUIRES: state.entries holds seq.
void RecordOwner(const v1::Entry& entry, ReplayState& state);

// After the last entry: the checks that need all of them (a request-id hash seen twice), and
// `balances` gathered from the accounts.
void FinishReplay(ReplayState& state);

// The text form of a statement line's legs used to compare stored and expected lines:
// "ASSET amount_minor balance_after_minor;" per leg.
std::string LegsText(const v1::StatementLine& line);
void AppendLegText(std::string* text, std::string_view asset, std::string_view amount_minor,
                   std::string_view balance_after_minor);
// Fast-mode digests, computed the same way from the journal and from the store. A statement
// line is digested as its stored bytes (AppendStatementLeg, journal_format.h): any other encoding
// of the same line (not what the engine writes) only sends the audit to its exact pass, which
// compares the lines decoded (LegsText).
std::uint64_t RequestDigest(std::string_view request_key, std::uint64_t seq,
                            const Hash& fingerprint);
std::uint64_t NextLineDigest(std::uint64_t digest, std::uint64_t seq, std::string_view line_bytes);

// Compares every derived family of `store` with `state`, both directions.
// Errors: the store cannot be read.
absl::Status CompareStore(Store& store, ReplayState& state, Findings& findings);

}  // namespace lovebank::audit
