#pragma once
// The audit: replays a lovebank journal from its first entry, trusting nothing but the journal
// bytes, and proves the hash chain, every rule and — when it can see the store — every derived
// record (balances, request index, statement index, accounts, assets, reversals, meta head).
//
// Independence (DESIGN.md "Audit"), by construction: the audit's library links the format
// layer and storage only (ledger/audit/CMakeLists.txt), never the engine or the Ledger.
//
//   shared with the engine (ledger/format/, ledger/base/, ledger/storage/)
//     the journal bytes, keys and hash chain (journal_format.h), the protobuf schema, amount
//     parsing and formatting (amount.h), reasons (reason.h), the command syntax rules
//     (syntax.h: what needs no ledger state), UTF-8 text rules, the RocksDB store (for --db)
//   computed here, in its own code (replay.cc, authority.cc, compare.cc)
//     accounts, assets, balances and budgets; every command's postings; the supermarket's
//     catalogue, prices, limits, usage and holds; the programme's rules, awards and approvals;
//     volunteers' hours and stars; who was allowed what (authority); every derived record
//     compared with the store
//
// So a bug in the engine's bookkeeping or rules shows up as a finding here.
//
// Thread-compatible: one Auditor per audit.

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/format/journal_format.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank {
class Store;
}

namespace lovebank::audit {

// What is wrong, named as the rule that broke. Numbers are stable (they appear in --json).
enum class FindingKind : int {
  kSeqGap = 1,               // the journal skips or repeats a sequence number
  kKeyMalformed = 2,         // a journal key that is not an 8-byte sequence number
  kEntryMalformed = 3,       // a stored value without a valid header
  kChainBroken = 4,          // prev_hash is not the previous entry's hash (or the genesis hash)
  kHashMismatch = 5,         // the stored hash is not SHA-256 of what it covers
  kPayloadUndecodable = 6,   // the payload is not a lovebank.v1.Entry
  kSeqMismatch = 7,          // the payload's seq differs from its key
  kTimeWentBack = 8,         // an entry's time is earlier than its predecessor's
  kCommandInvalid = 9,       // the recorded command fails the engine's syntax rules
  kRequestIdDuplicate = 10,  // a request id accepted twice
  kRuleViolated = 11,        // unknown account/asset, wrong kinds, frozen, exists already, ...
  kPostingsMismatch = 12,    // the postings do not follow from the command
  kZeroSumViolated = 13,     // the postings of one asset do not sum to zero
  kBalanceLimit = 14,        // a balance below its floor or budget, or above the asset maximum
  kReversalInvalid = 15,     // reverses a missing, non-reversible or already reversed entry
  kHeadMismatch = 16,        // meta head (or an export header) differs from the replayed head
  kRecordMissing = 17,       // a derived record the journal implies is not in the store
  kRecordExtra = 18,         // the store holds a derived record the journal does not imply
  kRecordDiffers = 19,       // a derived record's value differs from the replayed one
  kDigestMismatch = 20,      // a published digest is not a prefix of this chain
  kActorNotAuthorized = 21,  // the entry's actor held no grant that permits this command then
};
const char* FindingKindName(FindingKind kind);

struct Finding {
  FindingKind kind;
  std::uint64_t seq = 0;  // the journal entry concerned, 0 when the finding is about a record key
  std::string where;      // family and key for derived records, e.g. "balances V00001/POINTS"
  std::string expected;
  std::string found;
};

// A digest published earlier (公示): the entry at `seq` must have `hash`.
struct Digest {
  std::uint64_t seq = 0;
  Hash hash{};
};
// Parses "SEQ:HASH" (HASH 64 hex digits). std::nullopt when malformed.
std::optional<Digest> ParseDigest(std::string_view text);

// Net totals per asset at the head, exact (cpp_int): issued = minus the sum of ISSUER
// balances, redeemed = the sum of STORE balances, in circulation = the sum of MEMBER and SYSTEM
// balances. By double entry, issued == in circulation + redeemed.
struct AssetTotals {
  std::string asset;
  std::uint32_t scale = 0;
  boost::multiprecision::cpp_int issued_minor;
  boost::multiprecision::cpp_int circulating_minor;
  boost::multiprecision::cpp_int redeemed_minor;
};

// Gross value moved per asset by one kind of entry (the sum of its positive postings): what
// the public notice ties out — points earned, deducted, paid at stores, refunded, settled;
// goods received, written off, sold. Member-to-member transfers and administrative entries are
// not listed.
struct Flow {
  std::string asset;
  std::string kind;  // the command: earn, deduct, redeem, checkout, refund, reverse, settle,
                     // receive_stock, write_off_stock
  std::uint32_t scale = 0;
  boost::multiprecision::cpp_int minor;
};

// The love supermarket's month at one store, from the replayed journal (issue #6 "a report of
// redemptions per store per month"). Months in programme time (Asia/Shanghai). Amounts in
// POINTS minor units, hours in HOURS minor units.
struct StoreMonth {
  std::string store;
  std::string month;                            // "2026-11"
  std::uint64_t baskets = 0;                    // checkouts
  boost::multiprecision::cpp_int points_minor;  // value of those baskets
  boost::multiprecision::cpp_int hours_minor;   // hours paid for baskets paid with hours
  std::uint64_t refunds = 0;
  boost::multiprecision::cpp_int refunded_minor;  // POINTS value returned by refunds
  boost::multiprecision::cpp_int redeemed_minor;  // plain POINTS redemptions (no basket)
  boost::multiprecision::cpp_int settled_minor;   // POINTS settled to the programme
};

// One month of the programme for its monthly public notice (公示, issue #7 item 8), from the
// replayed journal. Amounts in minor units (HOURS and POINTS both scale 2 by genesis).
struct ProgrammeMonth {
  std::string month;  // "2026-11"
  // HOURS recorded per organising team ("" for earnings naming none), net of reversals, by the
  // month of the day served (the activity's date), and the number of earnings.
  std::map<std::string, boost::multiprecision::cpp_int> team_hours_minor;
  std::map<std::string, std::uint64_t> team_earnings;
  // Awards and deductions posted this month, per rule ("" for earnings and deductions of POINTS
  // by hand), gross; reversals of them in this month are in `reversed_points_minor`.
  std::map<std::string, boost::multiprecision::cpp_int> awarded_minor;
  std::map<std::string, std::uint64_t> awards;
  std::map<std::string, boost::multiprecision::cpp_int> deducted_minor;
  std::map<std::string, std::uint64_t> deductions;
  boost::multiprecision::cpp_int reversed_points_minor;
  // Services members gave each other (issue #26), by the month of the service's day, per
  // (category, place): how many were paid, and the HOURS paid to their providers.
  std::map<std::pair<std::string, std::string>, boost::multiprecision::cpp_int> service_hours_minor;
  std::map<std::pair<std::string, std::string>, std::uint64_t> services;
  // Awards of POINTS to members counted in this month (the award's month, Award.month), in entry
  // order, with the member's name when awarded: the notice's list of recipients. Deductions are
  // counted above, never listed by name (a public notice shames no child).
  struct Recipient {
    std::uint64_t seq = 0;  // the entry that posted it (the approval, for a pending award)
    std::string member;
    std::string name;
    std::string rule;
    boost::multiprecision::cpp_int amount_minor;
    std::string reason;
    bool reversed = false;
  };
  std::vector<Recipient> recipients;
  // What members' HOURS and POINTS changed by, counted in the month they are for: hours in the
  // month served, awards in the award's month, services in the service's month, everything else
  // (redemptions, transfers, deductions) in the month posted.
  boost::multiprecision::cpp_int owed_hours_delta_minor;
  boost::multiprecision::cpp_int owed_points_delta_minor;
  // What the programme owes its members as of the month's end: the running sums of the deltas
  // above over this month and every month before it (Run fills them in).
  boost::multiprecision::cpp_int outstanding_hours_minor;
  boost::multiprecision::cpp_int outstanding_points_minor;
  // Posted in this month for earlier months (last month's sheets imported this month): how many
  // entries, and what they changed in members' HOURS and POINTS (counted in their own months).
  std::uint64_t earlier_entries = 0;
  boost::multiprecision::cpp_int earlier_hours_minor;
  boost::multiprecision::cpp_int earlier_points_minor;
  std::uint64_t last_seq = 0;  // the month's last entry (0: no entry was posted in it)
};

// An exact total as a decimal at `scale`: DecimalText(-1234, 2) == "-12.34".
std::string DecimalText(const boost::multiprecision::cpp_int& minor, std::uint32_t scale);

// A witness's co-signature as journaled (journal.proto CosignHead), with its entry and auditor.
struct Cosigned {
  std::uint64_t seq = 0;
  std::string auditor;
  v1::CosignHead cosign;
};

// Report::cosignatures keeps at most this many witnesses (those of the largest heads).
inline constexpr std::size_t kWitnessesShownMax = 32;

struct Report {
  std::uint64_t entries = 0;  // journal records read
  Digest head;                // the replayed head: the digest to publish
  // The Merkle tree over the journal as read (issue #27; merkle.h), recomputed here: a signed
  // tree head of tree_size must have this root.
  std::uint64_t tree_size = 0;
  Hash tree_root{};
  std::int64_t head_time_unix_us = 0;  // entry tree_size's time: a signed head's
  // Every key the journal put in force, oldest first: the first signing key change's old key,
  // then each change's new one, and whether the key before it endorsed it (false: a lost key's
  // replacement); empty before any change (issue #27).
  struct SigningKey {
    std::string key;  // 32 raw bytes
    bool endorsed = true;
  };
  std::vector<SigningKey> signing_keys;
  std::vector<Finding> findings;  // the first kFindingsKept
  std::uint64_t findings_total = 0;
  std::vector<AssetTotals> totals;               // by asset code
  std::vector<Flow> flows;                       // by asset, then kind
  std::vector<StoreMonth> store_months;          // by store, then month
  std::vector<ProgrammeMonth> programme_months;  // by month, every month with an entry
  // Who was allowed what, as the journal granted it: every principal in name order.
  std::vector<v1::PrincipalRecord> principals;
  // The programme settings in force at the head as the journal set them (rules_settings.cc), by
  // name: e.g. the programme profile the monthly notice is titled with.
  std::vector<v1::SettingRecord> settings;
  // Each witness's co-signature of the largest head, by principal and witness key (issue #27).
  std::vector<Cosigned> cosignatures;
  // What people call the stores with a month's figures (their accounts' display names) and the
  // award rules (their descriptions), by id: the notice's words when the profile names none.
  std::map<std::string, std::string> display_names;
  std::string ledger_id;        // 16 bytes, the journal source's
  bool store_compared = false;  // derived records were checked (--db, not --file)
  // Times the journal was read: 1, or 2 when the fast pass (64-bit digests of the indexes)
  // found something it could not name and an exact pass ran to name it (audit.cc Run).
  int passes = 1;
  // CPU seconds of the last pass's two stages (the reader: records, chain, decoding; the
  // replay: rules and state), for benchmarks: which stage bounds the throughput.
  double reader_cpu_seconds = 0;
  double replay_cpu_seconds = 0;
  bool clean() const { return findings_total == 0; }
};

inline constexpr std::size_t kFindingsKept = 100;

// What the monthly public notice (公示) of `month` shows, from a report: the month's figures
// (empty when nothing happened in it), what the programme owed its members at the month's last
// entry (or, for a month without entries, at the last entry before it), the stores' figures of
// the month, and the programme profile in force at the report's head. One selection for every
// notice: `lovebank report` (computed on the client) and Audit.GetNotice (by lovebankd).
// REQUIRES: IsValidMonth(month).
struct NoticeFigures {
  ProgrammeMonth figures;
  std::vector<StoreMonth> stores;
  v1::ProgrammeProfile profile;
  // By id: the profile's display names, else the report's (Report::display_names).
  std::map<std::string, std::string> names;
};
// The list of recipients follows the profile's recipient_names: names masked (MaskedName), member
// ids and the free-text reasons dropped by default; as they are when FULL; none when HIDDEN.
NoticeFigures NoticeOf(const Report& report, const std::string& month);

// A name as Chinese public notices print it: the first and last characters with an asterisk for
// each between ("张*三", "欧**锋"), two characters as "李*", one as "*". By UTF-8 characters.
std::string MaskedName(std::string_view name);

// One raw journal record: the key and the exact stored value. A reader keeps one and lets the
// source refill it: its strings keep their capacity from record to record.
struct RawRecord {
  std::string key;    // 8 bytes: seq, big-endian
  std::string value;  // the stored entry (journal_format.h)
};

// Where the journal comes from: the RocksDB directory, an export file, later a gRPC stream.
class JournalSource {
 public:
  virtual ~JournalSource() = default;
  // The ledger id (for the genesis hash) and the head the source claims (meta or export header).
  virtual std::string ledger_id() const = 0;
  virtual Digest claimed_head() const = 0;
  // Fills `record` with the next record in key order and returns true; false at the end (the
  // record is then unspecified). Errors: the source cannot be read any further (I/O, a
  // truncated export): the audit cannot complete.
  virtual absl::StatusOr<bool> Next(RawRecord* record) = 0;
  // At most how many records the source can hold, when it knows (an export file: its size over
  // the smallest record's). Bounds what the audit reserves for a header that claims more.
  virtual std::uint64_t record_bound() const { return UINT64_MAX; }
};

struct Options {
  std::vector<Digest> expected_digests;
  // Called every ~65,536 entries with the count so far (progress display); may be empty.
  std::function<void(std::uint64_t)> progress;
  // A new source over the same journal, from its start (e.g. FileSource(path) again). Lets an
  // audit without a store take the fast path too (see Run). May be empty.
  std::function<absl::StatusOr<std::unique_ptr<JournalSource>>()> reopen;
};

// Replays `source` from its first record. With `store` (borrowed, opened read-only, may be
// null) the derived records are compared with the replay in both directions. Returns the
// report; an error only when the audit could not run to the end (unreadable source or store).
//
// Two modes, one result: when it can read the journal twice (a store, or options.reopen), the
// audit first runs with 64-bit digests of the request and statement indexes instead of keeping
// every key; if any digest disagrees it runs again keeping every key, so each finding is named
// exactly. Without a way to reread, the single pass keeps every key.
absl::StatusOr<Report> Run(JournalSource& source, Store* store, const Options& options);

// A source over the journal family of a store (opened read-only by the caller; a snapshot is
// taken at construction, so a running writer does not disturb the audit).
// Errors: DataLoss when the meta records are missing or malformed.
absl::StatusOr<std::unique_ptr<JournalSource>> StoreSource(Store& store);

}  // namespace lovebank::audit
