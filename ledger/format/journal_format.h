#pragma once
// The bytes lovebank stores: journal values, the hash chain, and the keys of every column
// family. docs/journal-format.md is the same contract with a worked example (STYLE.md 9).
//
// Column families (DESIGN.md "Storage"):
//   journal          seq (u64 BE)                       -> stored entry (layout below)
//   balances         account ‖ 0x00 ‖ asset             -> balance (16-byte BE two's complement,
//                                                          minor units) ‖ last seq (u64 BE)
//   requests         actor ‖ 0x00 ‖ request id          -> seq (u64 BE) ‖ fingerprint (32 bytes)
//   accounts         account id                         -> lovebank.v1.AccountRecord
//   assets           asset code                         -> lovebank.v1.AssetRecord
//   account_entries  account ‖ 0x00 ‖ seq (u64 BE)      -> lovebank.v1.StatementLine
//   reversed         seq of the reversed entry (u64 BE) -> seq of the reversal (u64 BE)
//   refusals         actor ‖ 0x00 ‖ request id          -> lovebank.v1.Refusal
//   tree             level (u8) ‖ index (u64 BE)            -> 32-byte Merkle node (merkle.h): the
//                                                          perfect subtree over leaves
//                                                          [index·2^level, (index+1)·2^level),
//                                                          levels kTreeStoredLevelMin (4) and up
//   meta             "format_version" -> u32 BE (2); "ledger_id" -> 16 random bytes;
//                    "head_seq" -> u64 BE; "head_hash" -> 32 bytes; "tree_size" -> u64 BE
//                    (the leaves the tree family covers: the head seq once built)
// 0x00 separates account from what follows because account ids never contain it, so the
// entries of one account are one contiguous key range in seq order.
//
// Stored journal entry (format version 1):
//   [0]       u8   format version = 1
//   [1..33)   32   hash of this entry
//   [33..65)  32   hash of the previous entry (the genesis hash for seq 1)
//   [65..)         payload: serialized lovebank.v1.Entry, exactly the bytes the hash covers
// Hash chain (DESIGN.md invariant 3):
//   hash(seq) = SHA-256(prev_hash ‖ seq as u64 BE ‖ payload length as u64 BE ‖ payload)
//   genesis   = SHA-256("lovebank/v1/genesis" ‖ ledger_id)

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ledger/format/amount.h"
#include "lovebank/v1/journal.pb.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank {

using Hash = std::array<unsigned char, 32>;

inline constexpr std::uint8_t kEntryFormatVersion = 1;
inline constexpr std::size_t kStoredEntryHeaderBytes = 1 + 32 + 32;
inline constexpr std::size_t kLedgerIdBytes = 16;
// 2: request ids are scoped to their actor (RequestKey); usage counts a household member's
// baskets under the member too (UsageOwners); earnings count toward the approval threshold per
// issuer, member and day (ApprovalUsageKey).
inline constexpr std::uint32_t kStoreFormatVersion = 2;

namespace cf {
inline constexpr const char* kJournal = "journal";
inline constexpr const char* kBalances = "balances";
inline constexpr const char* kRequests = "requests";
inline constexpr const char* kAccounts = "accounts";
inline constexpr const char* kAssets = "assets";
inline constexpr const char* kAccountEntries = "account_entries";
inline constexpr const char* kReversed = "reversed";
inline constexpr const char* kRefusals = "refusals";
inline constexpr const char* kPrincipals = "principals";
inline constexpr const char* kItems = "items";
inline constexpr const char* kLimits = "limits";
inline constexpr const char* kUsage = "usage";
inline constexpr const char* kHouseholds = "households";
inline constexpr const char* kHolds = "holds";
inline constexpr const char* kVolunteers = "volunteers";
inline constexpr const char* kPending = "pending";
inline constexpr const char* kServices = "services";
inline constexpr const char* kTree = "tree";
}  // namespace cf

// The lowest level of the Merkle tree the tree family stores: 4, one node per 16 entries (the
// builder's puts per entry ~1/15); lower nodes are hashed from at most 8 journal entries.
inline constexpr unsigned kTreeStoredLevelMin = 4;
// The tree family's own record of how many entries its nodes cover (8 bytes, big-endian): in
// the family the nodes are in, because the builder writes them without the WAL (derived data: a
// crash sets the tree back) and only a flush of that one family keeps nodes and size together.
// Four bytes: never a node's key (level and index, nine).
inline constexpr std::string_view kTreeSizeKey = "size";

namespace cf {
inline constexpr const char* kMeta = "meta";
}  // namespace cf

namespace meta_key {
inline constexpr std::string_view kFormatVersion = "format_version";
inline constexpr std::string_view kLedgerId = "ledger_id";
inline constexpr std::string_view kHeadSeq = "head_seq";
inline constexpr std::string_view kHeadHash = "head_hash";
// The Merkle tree's size as stores of 2026-12-05 kept it (issue #27); read when the tree family
// has no size record (kTreeSizeKey) yet, and deleted with the first one. Absent in a store made
// before the tree, which the writer builds from the journal when it opens one.
inline constexpr std::string_view kTreeSize = "tree_size";
// The exchange policy in force (store.proto ExchangePolicy); absent until the first
// SetExchangeRatio.
inline constexpr std::string_view kExchangePolicy = "exchange_policy";
// The star levels in force (store.proto StarLevels); absent until the first SetStarLevels.
inline constexpr std::string_view kStarLevels = "star_levels";
// The HOURS storage cap and donation pool (store.proto HoursCap); absent until SetHoursCap.
inline constexpr std::string_view kHoursCap = "hours_cap";
// The daily cap on recorded HOURS per member (store.proto DailyHoursCap).
inline constexpr std::string_view kDailyHoursCap = "daily_hours_cap";
// Keyed programme rules (issue #7), one meta record each under a prefix:
// "award_rule:" CODE (AwardRuleRecord), "transfer_policy:" ASSET ":" TAG (TransferPolicyRecord;
// TAG empty for the programme-wide rule), "approval_threshold:" ASSET (ApprovalThresholdRecord).
inline constexpr std::string_view kAwardRulePrefix = "award_rule:";
inline constexpr std::string_view kTransferPolicyPrefix = "transfer_policy:";
inline constexpr std::string_view kApprovalThresholdPrefix = "approval_threshold:";
// Programme settings (journal.proto SettingValue): "setting:" + the SettingValue field's name
// (store.proto SettingRecord), e.g. "setting:programme_profile".
inline constexpr std::string_view kSettingPrefix = "setting:";
}  // namespace meta_key

inline std::string AwardRuleKey(std::string_view code) {
  return std::string(meta_key::kAwardRulePrefix).append(code);
}
inline std::string TransferPolicyKey(std::string_view asset, std::string_view tag) {
  return std::string(meta_key::kTransferPolicyPrefix).append(asset).append(":").append(tag);
}
inline std::string ApprovalThresholdKey(std::string_view asset) {
  return std::string(meta_key::kApprovalThresholdPrefix).append(asset);
}
// The meta key of the setting `value` names; "" when it names none.
std::string SettingKey(const v1::SettingValue& value);
// The meta key of the setting whose value is a message of `type` ("" when SettingValue has no
// such field), and the same for a message class: SettingKeyOf<v1::ProgrammeProfile>().
std::string SettingKeyOfType(const google::protobuf::Descriptor* type);
template <class Message>
const std::string& SettingKeyOf() {
  static const std::string key = SettingKeyOfType(Message::descriptor());
  return key;
}
// The meta keys of keyed programme rules and settings (the four prefixes above).
bool IsProgrammeRuleKey(std::string_view key);
// The meta keys of settings: every one but the ledger's own (format version, ledger id, head).
bool IsSettingKey(std::string_view key);

Hash GenesisHash(std::string_view ledger_id);
Hash ChainHash(const Hash& prev, std::uint64_t seq, std::string_view payload);
std::string HashToHex(const Hash& hash);
std::optional<Hash> HashFromBytes(std::string_view bytes);  // exactly 32 bytes
// The tree family's key of node (level, index): level (u8) ‖ index (u64 BE), so one level's
// nodes are one key range in index order.
std::string TreeNodeKey(unsigned level, std::uint64_t index);

// A decoded view of a stored journal value; the views point into the value's bytes.
struct StoredEntryView {
  Hash hash;
  Hash prev_hash;
  std::string_view payload;
};
std::string EncodeStoredEntry(const Hash& hash, const Hash& prev_hash, std::string_view payload);
// std::nullopt when the value is shorter than the header or has another format version.
std::optional<StoredEntryView> DecodeStoredEntry(std::string_view value);

std::string BalanceKey(std::string_view account, std::string_view asset);
std::string AccountEntryKey(std::string_view account, std::uint64_t seq);
std::string AccountEntryPrefix(std::string_view account);  // account ‖ 0x00
// The catalogue item `sku` of `store`: store ‖ 0x00 ‖ sku (items family).
inline std::string ItemKey(std::string_view store, std::string_view sku) {
  return BalanceKey(store, sku);
}
// The programme's time zone for period boundaries: Asia/Shanghai, UTC+8 all year (China has not
// observed daylight saving since 1991), so a fixed offset is exact.
inline constexpr std::int64_t kProgrammeUtcOffsetSeconds = 8 * 3600;
// The period that contains `time_unix_us` in programme time, as its letter and first day:
// "D2026-11-22", "W2026-11-16" (weeks start on Monday), "M2026-11-01", "Y2026-01-01".
// REQUIRES: period is DAY, WEEK, MONTH or YEAR.
std::string PeriodStart(v1::Period period, std::int64_t time_unix_us);
// The first microsecond after programme day `day` (YYYY-MM-DD, Asia/Shanghai): when a service
// posted for that day lapses. REQUIRES: IsValidDate(day).
std::int64_t ProgrammeDayEnd(std::string_view day);
// The programme day (YYYY-MM-DD, Asia/Shanghai) of `time_unix_us`.
std::string ProgrammeDay(std::int64_t time_unix_us);

// What a member (or the member's household: then `member` is the household id) took home in
// one period under one limit (usage family): member ‖ 0x00 ‖ sku
// ("" for basket value) ‖ 0x00 ‖ period letter (D, W, M, Y) ‖ the period's first day
// (YYYY-MM-DD, programme time). The value is the amount used: MinorToString of units or POINTS
// minor units.
std::string UsageKey(std::string_view member, std::string_view sku, v1::Period period,
                     std::int64_t time_unix_us);

// The day an Earn of HOURS was served: its activity's date (YYYY-MM-DD), or the day of
// `time_unix_us` in Asia/Shanghai when it names none.
std::string ServiceDay(const v1::Move& earn, std::int64_t time_unix_us);
// The HOURS recorded for a member on one day of service, under the daily cap (usage family):
// member ‖ 0x00 ‖ "HOURS" ‖ 0x00 ‖ "D" ‖ YYYY-MM-DD. HOURS is never a SKU: no item key collides.
std::string ServiceDayKey(std::string_view member, std::string_view day);

// The frequency period of an award made at `time_unix_us` (AwardFacts.period): "" (unlimited),
// "ever", "Y2026" (calendar year), "S2026" (school year from 1 September 2026), Asia/Shanghai.
std::string AwardPeriod(v1::AwardFrequency frequency, std::int64_t time_unix_us);
// The month an award is for, YYYY-MM (issue #28; the notice counts it there): Award.month when it
// names one, else the programme month of `time_unix_us` (its entry's time).
std::string AwardMonth(const v1::Award& award, std::int64_t time_unix_us);
// The instant an award's frequency period is taken at: the first microsecond (programme time) of
// Award.month when it names one, else `time_unix_us`. REQUIRES: AwardMonthProblem(...) is "".
std::int64_t AwardTime(const v1::Award& award, std::int64_t time_unix_us);
// Why Award.month `month` is not allowed in an entry at `time_unix_us` ("" when it is): not
// YYYY-MM, after the entry's programme month, or more than kAwardMonthsBackMax months before it.
std::string AwardMonthProblem(std::string_view month, std::int64_t time_unix_us);
// How many awards of `rule` a member has in `period` (usage family): member ‖ 0x00 ‖ "AWARD" ‖
// 0x00 ‖ rule ‖ 0x00 ‖ period. "AWARD" is lower than no SKU it could collide with: a SKU key
// has two parts after the member, this one three.
// The usage of the approval threshold: what issuer account `issuer` earned member `member` in
// `asset` without approval on the programme day (Asia/Shanghai) of `time_unix_us`:
// member ‖ 0x00 ‖ "APPROVAL" ‖ 0x00 ‖ issuer ‖ 0x00 ‖ asset ‖ 0x00 ‖ "D" day. Five parts, so it
// never equals a basket (three parts) or an award (four parts) usage key.
std::string ApprovalUsageKey(std::string_view issuer, std::string_view member,
                             std::string_view asset, std::int64_t time_unix_us);
std::string AwardUsageKey(std::string_view member, std::string_view rule, std::string_view period);

// A refunded line of a checkout (reversed family): checkout seq (8 bytes big-endian) ‖ sku; the
// value is the refund's seq. A whole-entry reversal's key is the 8-byte seq alone.
std::string RefundedLineKey(std::uint64_t checkout_seq, std::string_view sku);

struct BalanceValue {
  Int128 minor = 0;
  std::uint64_t seq = 0;
};
std::string EncodeBalanceValue(const Int128& minor, std::uint64_t seq);
std::optional<BalanceValue> DecodeBalanceValue(std::string_view value);

struct RequestValue {
  std::uint64_t seq = 0;
  std::string fingerprint;  // 32 bytes
};
std::string EncodeRequestValue(std::uint64_t seq, std::string_view fingerprint);

// The key of a request (accepted or refused): request ids are the actor's own, so one
// principal's id never blocks or answers another's (a member cannot squat a till's predictable
// id). 0x00 cannot occur in an actor or a request id.
std::string RequestKey(std::string_view actor, std::string_view request_id);
std::optional<RequestValue> DecodeRequestValue(std::string_view value);

// Appends one priced line (quantity x unit price, in POINTS minor units) to a checkout's or
// refund's pricing and returns its amount. REQUIRES: unit_price_minor is MinorToString output.
Int128 AddPricedLine(v1::Pricing* pricing, std::string_view sku, std::uint32_t quantity,
                     std::string_view unit_price_minor);

// The asset record a SKU's first SetItem defines (entry `seq`): whole units (kStockScale) up to
// kStockMaximum, named after the item, marked as stock.
v1::AssetRecord StockAssetRecord(std::string_view sku, std::string_view name, std::uint64_t seq);

// The command's deterministic serialization: what its fingerprint hashes and what its journal
// entry embeds.
std::string SerializeCommand(const v1::Command& command);
// SHA-256 of the command's deterministic serialization: what "the same content" means for a
// retried request id (DESIGN.md invariant 5). 32 raw bytes.
std::string CommandFingerprint(const v1::Command& command);
// The same from SerializeCommand's output.
std::string FingerprintOfSerialized(std::string_view serialized);
// The same from the serialization itself (a command as embedded in a canonical payload).
Hash SerializedCommandFingerprint(std::string_view serialized);

// Encoders for the two messages every transfer writes, byte for byte what protobuf's serializer
// writes for the same message (tests/format/journal_format_test.cc compares them): the sequencer
// builds no message objects for them, and the audit digests statement lines in the same encoding.
//
// One leg of a lovebank.v1.StatementLine (field `legs`), appended to `bytes`: a line is the
// concatenation of its legs.
void AppendStatementLeg(std::string* bytes, std::string_view asset, std::string_view amount_minor,
                        std::string_view balance_after_minor);
// A lovebank.v1.Posting's three fields.
struct PostingText {
  std::string_view account;
  std::string_view asset;
  std::string_view amount_minor;
};
// The payload of a journal entry: lovebank.v1.Entry with `command` given as its serialization
// and `pricing` / `award` present when not null.
std::string EncodeEntryPayload(std::uint64_t seq, std::int64_t time_unix_us,
                               std::string_view command_bytes,
                               std::span<const PostingText> postings, const v1::Pricing* pricing,
                               const v1::AwardFacts* award);

}  // namespace lovebank
