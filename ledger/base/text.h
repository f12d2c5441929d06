#pragma once
// Syntax rules for identifiers and human text. Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lovebank {

// Limits (STYLE.md 6). Bytes, not characters: a Chinese character is 3 bytes in UTF-8, so a
// 128-byte display name holds 42 of them, far more than any 姓名 or shop name needs.
inline constexpr std::size_t kAccountIdBytesMax = 64;
inline constexpr std::size_t kRequestIdBytesMax = 128;
inline constexpr std::size_t kActorBytesMax = 128;
inline constexpr std::size_t kDisplayNameBytesMax = 128;
inline constexpr std::size_t kMemoBytesMax = 512;
inline constexpr std::size_t kAssetCodeBytesMax = 16;
inline constexpr std::size_t kActivityNameBytesMax = 128;
inline constexpr std::size_t kPlaceBytesMax = 128;
inline constexpr std::size_t kMoveReasonBytesMax = 256;
inline constexpr std::size_t kPrincipalBytesMax = 64;
// The love supermarket (docs/supermarket.md).
inline constexpr std::size_t kItemUnitBytesMax = 16;
inline constexpr std::size_t kBasketLinesMax = 100;
inline constexpr std::uint32_t kBasketQuantityMax = 10000;
// A SKU's stock asset: whole units, at most 10^9 of them in any one balance.
inline constexpr std::uint32_t kStockScale = 0;
inline constexpr std::string_view kStockMaximum = "1000000000";
// The assets a catalogue prices in and a basket may be paid with.
inline constexpr std::string_view kPointsAsset = "POINTS";
inline constexpr std::string_view kHoursAsset = "HOURS";
inline constexpr std::size_t kHouseholdMembersMax = 32;
// Holds (docs/supermarket.md "Holds"): the escrow account the first hold opens, the timeout
// when none is given and the longest one, and what the engine writes on a ReleaseHold.
inline constexpr std::string_view kHoldsAccount = "system:holds";
inline constexpr std::string_view kHoldsAccountName = "爱心超市预留 (holds in escrow)";
inline constexpr std::uint32_t kHoldTimeoutDefaultSeconds = 600;
inline constexpr std::uint32_t kHoldTimeoutMaxSeconds = 86400;
inline constexpr std::string_view kEngineActor = "lovebank";
// lovebankd's own actor: the first admin's grant on a ledger without principals, and the
// signing key's changes (`lovebankd --rotate-signing-key`). No principal may bear this name or
// the engine's.
inline constexpr std::string_view kLovebankdActor = "lovebankd";
inline constexpr std::string_view kEngineRequestPrefix = "lovebank:";
std::string ReleaseRequestId(std::uint64_t hold_seq);  // "lovebank:release:<hold_seq>"
// Volunteer stars (docs/programme.md): the national scheme's thresholds in HOURS, used until a
// SetStarLevels entry sets others; at most kStarLevelsMax of them.
inline constexpr std::string_view kDefaultStarThresholds[] = {"100", "300", "600", "1000", "1500"};
inline constexpr std::size_t kStarLevelsMax = 10;
// Tags, family and award rules (docs/programme.md).
inline constexpr std::size_t kTagBytesMax = 32;
inline constexpr std::size_t kTagsMax = 16;
inline constexpr std::size_t kRelativesMax = 16;
inline constexpr std::size_t kRuleCodeBytesMax = 32;
inline constexpr std::size_t kRuleDescriptionBytesMax = 256;
// Programme settings (journal.proto SettingValue): what every setting obeys; a setting's own
// rule may ask for less.
inline constexpr std::size_t kSettingBytesMax = 16384;
inline constexpr std::size_t kSettingTextBytesMax = 256;
inline constexpr std::size_t kSettingListMax = 256;
// The tag whose POINTS are not transferable until a SetTransferPolicy says otherwise.
inline constexpr std::string_view kStudentTag = "student";
// How far back an award's month may be from the month it is posted in (Award.month).
inline constexpr int kAwardMonthsBackMax = 12;
// A pending award or earning lapses this long after its entry (maker-checker).
inline constexpr std::int64_t kPendingLifetimeMicros = std::int64_t{30} * 86400 * 1'000'000;
// "lovebank:expire:<seq>": the engine's ExpirePending of a lapsed pending entry.
std::string ExpireRequestId(std::uint64_t pending_seq);
// Services (issue #26; docs/exchange.md): the lengths of a posting's texts, how far ahead its day
// may be, how many a member may have open at once, how long an accepted request nobody completed
// stands after its day, and "lovebank:service:<seq>", the engine's ExpireService.
inline constexpr std::size_t kServiceCategoryBytesMax = 32;
inline constexpr std::size_t kServiceDescriptionBytesMax = 256;
inline constexpr std::size_t kServicePlaceBytesMax = 128;
inline constexpr std::size_t kServiceTimeBytesMax = 32;
inline constexpr std::size_t kServiceCategoriesMax = 32;
inline constexpr std::int64_t kServiceDaysAheadMax = 92;
inline constexpr std::size_t kServiceOpenPerMemberMax = 20;
inline constexpr std::int64_t kServiceGraceMicros = std::int64_t{7} * 86400 * 1'000'000;
std::string ServiceExpireRequestId(std::uint64_t service_seq);
// When a hold made at `time_unix_us` with `timeout_seconds` (0: the default) expires.
inline std::int64_t HoldExpiresAt(std::int64_t time_unix_us, std::uint32_t timeout_seconds) {
  return time_unix_us +
         std::int64_t{timeout_seconds == 0 ? kHoldTimeoutDefaultSeconds : timeout_seconds} *
             1'000'000;
}

// 1..max_bytes bytes of [A-Za-z0-9._:@-]. Account ids (max 64) and request ids (max 128).
bool IsValidIdentifier(std::string_view text, std::size_t max_bytes);
inline bool IsValidAccountId(std::string_view id) {
  return IsValidIdentifier(id, kAccountIdBytesMax);
}
inline bool IsValidRequestId(std::string_view id) {
  return IsValidIdentifier(id, kRequestIdBytesMax);
}

inline bool IsValidPrincipal(std::string_view name) {
  return IsValidIdentifier(name, kPrincipalBytesMax);
}

// 1..32 bytes of [a-z0-9:._-]: "student", "poverty-tier:1".
bool IsValidTag(std::string_view tag);
// 1..32 bytes of [A-Z0-9_], the first an upper-case letter: "STUDENT_PROGRESS".
bool IsValidRuleCode(std::string_view code);

// A calendar day as YYYY-MM-DD (Gregorian, years 1900-9999): "2026-02-29" is refused.
bool IsValidDate(std::string_view date);
// A calendar month as YYYY-MM (01-12, years 1900-9999): "2026-11".
bool IsValidMonth(std::string_view month);

// 1..16 bytes of [A-Z0-9_], the first an upper-case letter: "HOURS", "POINTS", "SKU_001".
bool IsValidAssetCode(std::string_view code);

// Well-formed UTF-8: shortest form, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

// Text shown to people: valid UTF-8 with no C0 control character, DEL or C1 control. With
// `allow_line_breaks`, '\n' and '\t' are allowed (memos); names allow neither.
bool IsValidText(std::string_view text, bool allow_line_breaks);

}  // namespace lovebank
