#pragma once
// Domain refusals: one explicit reason per rule, mirrored 1:1 in the API proto (#4).
//
// Numbers are never reused or renumbered. Within each group the values follow the order in
// which the checks run (STYLE.md 2, 3): transient first, then stateless syntax (checked on the
// caller's thread before the queue), then idempotency, lookups, state rules and limits (checked
// by the sequencer against committed state plus the batch's own effects).

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace lovebank {

enum class Reason : std::uint32_t {
  kOk = 0,

  // Transient: nothing happened; the same request may be retried later.
  kLedgerBusy = 1,         // the sequencer queue is full (backpressure)
  kLedgerUnavailable = 2,  // a storage write failed or the ledger is closing; reopen needed
  kLedgerReadOnly = 3,     // opened read-only (auditor)
  kLedgerUnverified = 4,   // at start the state on disk disagreed with the journal: fail closed

  // Syntax: checked without ledger state.
  kRequestIdInvalid = 10,        // empty, longer than 128 bytes or outside [A-Za-z0-9._:@-]
  kActorInvalid = 11,            // empty, longer than 128 bytes or not valid UTF-8 text
  kMemoInvalid = 12,             // longer than 512 bytes or not valid UTF-8 text
  kCommandMissing = 13,          // no command body set
  kAccountIdInvalid = 14,        // empty, longer than 64 bytes or outside [A-Za-z0-9._:@-]
  kAssetCodeInvalid = 15,        // not 1-16 bytes of [A-Z0-9_] starting with a letter
  kDisplayNameInvalid = 16,      // empty, longer than 128 bytes, control characters or bad UTF-8
  kAccountKindInvalid = 17,      // kind not set or unknown
  kAccountStatusInvalid = 18,    // status not set or unknown
  kScaleInvalid = 19,            // asset scale above 18
  kSameAccount = 20,             // a movement from an account to itself
  kBudgetInvalid = 21,           // budget on a non-issuer, or the same asset twice
  kActivityInvalid = 22,         // activity name not 1-128 bytes of text, date not YYYY-MM-DD, ...
  kMoveReasonInvalid = 23,       // a movement's reason longer than 256 bytes or not UTF-8 text
  kActivityMissing = 24,         // Earn of HOURS without the activity served (service rule)
  kMoveReasonMissing = 25,       // Earn of another asset, or a Deduct, without a reason (service)
  kPrincipalInvalid = 26,        // principal name outside [A-Za-z0-9._:@-]{1,64}
  kRoleInvalid = 27,             // role not set or unknown
  kRoleAccountsInvalid = 28,     // the wrong number of bound accounts for the role
  kTokenHashInvalid = 29,        // token_sha256 is not 32 bytes
  kAmountEmpty = 30,             // an amount of ""
  kAmountSign = 31,              // "+1", "-1": amounts carry no sign
  kAmountWhitespace = 32,        // leading or trailing white space
  kAmountExponent = 33,          // "1e3"
  kAmountNonAsciiDigit = 34,     // full-width digits such as "１０"
  kAmountInvalidCharacter = 35,  // anything else that is not a digit or one '.'
  kAmountMissingIntegerDigits = 36,   // ".5"
  kAmountMissingFractionDigits = 37,  // "1."
  kAmountLeadingZero = 38,            // "01.5"
  kAmountTooManyDecimals = 39,        // more decimals than the asset's scale
  kAmountAboveMaximum = 40,           // past the asset's maximum
  kAmountZero = 41,                   // a movement of nothing
  kCursorInvalid = 42,                // a statement cursor this ledger did not hand out
  kPageSizeInvalid = 43,              // page size 0 or above the maximum
  kBatchSizeInvalid = 44,             // a SubmitBatch with no command or more than 8,192
  kEntryTargetInvalid = 45,           // GetEntry / Reverse naming neither a seq nor a request id
  kBasketInvalid = 46,    // no lines, more than 100, a SKU twice, quantity 0 or above 10,000
  kPayAssetInvalid = 47,  // a checkout paid in something other than POINTS or HOURS
  kItemUnitInvalid = 48,  // an item's unit not 1-16 bytes of UTF-8 text
  kPeriodInvalid = 49,    // a limit's period not DAY, WEEK, MONTH or YEAR

  // Idempotency: checked first by the sequencer.
  kRequestIdReused = 50,  // the request id was used before with different content

  // Lookups.
  kAssetUnknown = 60,      // no asset with that code
  kAccountUnknown = 61,    // no account with that id
  kEntryUnknown = 62,      // no entry with that seq or request id
  kAccountExists = 63,     // OpenAccount of an id already open
  kAssetExists = 64,       // an asset code already defined
  kSeqBeyondHead = 65,     // "as of" a seq the journal has not reached
  kPrincipalUnknown = 66,  // RevokePrincipal of a name never granted
  kPrincipalExists = 67,   // principal names are never reused, even after a revocation
  kTokenHashExists = 68,   // another principal has this token
  kItemUnknown = 69,       // the store's catalogue has no such SKU

  // State rules.
  kAccountKindMismatch = 70,  // e.g. Earn from an account that is not an ISSUER
  kAccountFrozen = 71,        // a movement from or to a frozen account (reversals excepted)
  kEntryNotReversible = 72,   // administrative entries and reversals cannot be reversed
  kEntryAlreadyReversed = 73,
  kAccountStatusUnchanged = 74,  // SetAccountStatus to the status it has
  kPrincipalRevoked = 75,        // revoking a principal whose token is already revoked
  kBatchAborted = 76,            // all-or-nothing batch: another command was refused, none applied
  kItemInactive = 77,            // the item is listed but not for sale
  kAssetNotStock = 78,           // stock commands need a SKU; a SKU cannot be HOURS, POINTS, ...
  kAssetIsStock = 79,            // goods move only by stock commands, checkouts and refunds

  // Limits.
  kInsufficientBalance = 80,  // a MEMBER, STORE or SYSTEM balance would go below zero
  kBudgetExceeded = 81,       // an ISSUER would go below minus its budget
  kBalanceAboveMaximum = 82,  // a balance would pass the asset's maximum
  kInsufficientStock = 83,    // a store holds fewer units of an item than the basket needs
  kLimitExceeded = 84,        // a member's cap per period on an item or on basket value
  kRefundInvalid = 85,        // not a checkout, a SKU it did not sell, or more than was sold
  kLineAlreadyRefunded = 86,  // each line of a checkout is refunded at most once
  kExchangeRatioUnset = 87,   // paying with HOURS before any SetExchangeRatio
  kHoldUnknown = 88,          // no hold with that seq at that store
  kHoldClosed = 89,           // the hold was captured, voided or released (expired) already

  // Access: decided by the service before anything reaches the ledger.
  kTokenMissing = 90,      // no "authorization: Bearer <token>" metadata
  kTokenUnknown = 91,      // a token no principal holds, or a revoked one
  kPermissionDenied = 92,  // the principal's role or bound accounts do not allow this

  // Syntax, continued (the 10-49 range is full).
  kHouseholdInvalid = 100,       // a household with more than 32 members or a member twice
  kHoldCommandInvalid = 101,     // timeout > 1 day, hold seq 0, a client's ReleaseHold
  kStarLevelsInvalid = 102,      // star thresholds: 1-10 of them, each > 0, strictly ascending
  kTagsInvalid = 103,            // a tag outside [a-z0-9:._-]{1,32}, more than 16, or one twice
  kFamilyInvalid = 104,          // more than 16 relatives, one twice, or the member itself
  kAwardRuleInvalid = 105,       // rule code, frequency, description or tags malformed
  kTransferPolicyInvalid = 106,  // rule unset, or a pool account with another rule
  kPendingCommandInvalid = 107,  // seq 0, a rejection without reason, a client's ExpirePending
  kRequestIdReserved = 108,      // request ids starting with "lovebank:" are the engine's own
  // A SetSetting naming no setting or past the setting limits (syntax), or refused by the
  // setting's own rule (ledger/rules/settings.cc): not remembered, as it depends on no state.
  kSettingInvalid = 109,

  // State rules, continued (remembered like 60-89).
  kTransferNotAllowed = 110,      // the asset is not transferable from this giver (policy)
  kNotFamily = 111,               // HOURS only to the giver's registered family or the pool
  kAwardRuleUnknown = 112,        // no award rule with that code
  kAwardRuleInactive = 113,       // the rule was retired
  kNotEligible = 114,             // the member lacks a tag the rule requires
  kAwardFrequencyExceeded = 115,  // once ever / per year / per school year, used already
  kPendingUnknown = 116,          // no pending award or earning with that seq
  kPendingClosed = 117,           // approved, rejected or expired already
  kMakerCannotApprove = 118,      // the principal who made it cannot also approve it
  kAccountCardTaken = 119,        // the card number is another account's
  // Services (issue #26).
  kServiceUnknown = 120,          // no request or offer with that seq
  kServiceClosed = 121,           // its state does not allow this step
  kServiceOverHeld = 122,         // more hours recorded or decided than held
  kServiceCategoryUnknown = 123,  // not a programme category, or no hours and no standard rate
  kServiceNotAllowed = 124,       // the policy's spender tags, serving oneself, directed elsewhere

  // HTTP/JSON: decided by lovebankd's HTTP listener before any call is made.
  kHttpBodyInvalid = 140,   // not UTF-8, not JSON, an unknown field or a wrong type
  kHttpBodyTooLarge = 141,  // above the listener's body limit
  kHttpRouteUnknown = 142,  // not POST /v1/<Service>/<Method> of a lovebank RPC

  // Operations (Admin.Backup, Audit.Verify): decided by the service.
  kBackupPathInvalid = 143,  // Backup's out_dir is not an absolute path
  kBackupExists = 144,       // Backup's out_dir exists already: a backup never overwrites
  kDigestInvalid = 145,      // an expected digest is not SEQ:HASH (64 hex digits)

  // Transport: gRPC itself failed the call before lovebank decided (a deadline, a message above
  // its size limit, metadata it will not carry, the server stopping); the status code says which.
  // Only the HTTP listener names it (a gRPC client sees the code without a lovebank reason).
  kRpcFailed = 146,

  // Live updates: lovebankd's limit of watchers (--watchers-max) or the caller's own is reached.
  kWatchersFull = 147,
  // HTTP/JSON: the listener's streaming calls at once (half its threads) are all taken.
  kHttpStreamsFull = 148,

  // Members' devices (issue #24 item 2).
  kActivationCodeUnknown = 149,  // no device waits for this code (the service decides)
  kActivationClosed = 150,       // activated already, revoked, or expired (the sequencer decides)
  kPaymentCodeRequired = 151,    // the programme requires the member's payment code: none given
  kPaymentCodeInvalid = 152,     // not a valid code of the member's device now (not remembered)

  // Finding a member at the counter (issue #24 item 4).
  kAccountCardInvalid = 153,   // a card number is 4-32 of [0-9A-Z]
  kAccountPhoneInvalid = 154,  // a phone is an optional "+" and 5-20 digits

  // A device's PIN (issue #24 item 2).
  kPaymentCodeLocked = 155,  // five wrong codes of the device in a row: 15 minutes' lock
  kDevicePinInvalid = 156,   // the PIN's code key is not 64 hex (32 bytes wrapped, 16 nonce)

  // The monthly notice (Audit.GetNotice, issue #25 item 4): decided by the service.
  kMonthInvalid = 157,  // not YYYY-MM (01-12)
  kAuditUnclean = 158,  // the audit of the journal found problems: no figures from it
  // The volunteer certificate (Programme.GetCertificate): decided by the service.
  kDateRangeInvalid = 159,     // from / to not YYYY-MM-DD, or from after to
  kCertificateTooLarge = 160,  // more than kCertificateActivitiesMax activities: narrow the period
  // A CSV file imported by lovebankd (Programme.Import): decided by the service.
  kImportFileInvalid = 161,  // not a members, activities or awards CSV in a known encoding
  kImportTooLarge = 162,     // over kImportBytesMax, or more rows than a batch holds
  // Services (issue #26), syntax: kind, texts, day, hours, seq 0, a client's ExpireService.
  kServiceInvalid = 163,
  // Proofs (issue #27), decided by the ledger's queries: tree size 0 or past the head, first
  // past second, an entry outside the tree.
  kTreeSizeInvalid = 164,
  // Witnesses and the signing key (issue #27): a co-signature not of this ledger's head or not
  // verifying (syntax, the ledger's rule, lovebankd's tree check); a head too far behind (the
  // sequencer); a key change its old key did not endorse (the sequencer).
  kCosignatureInvalid = 165,
  kCosignHeadStale = 166,
  kSigningKeyChangeInvalid = 167,
  kAwardMonthInvalid = 168,
  // An issuer's budget lowered below what it has issued (issue #28; the sequencer).
  kBudgetBelowIssued = 169,
  // A SetSetting whose if_seq is not the seq of the setting's record (the sequencer).
  kSettingChanged = 170,
};
// Every reason's value is below this (loops over all reasons).
inline constexpr std::uint32_t kReasonValueEnd = 171;

// The reason's name as it appears in the proto and in logs, e.g. "INSUFFICIENT_BALANCE".
std::string_view ReasonName(Reason reason);

// The canonical status code for a reason (DESIGN.md "Errors"): syntax -> INVALID_ARGUMENT,
// unknown things -> NOT_FOUND, state and limit rules -> FAILED_PRECONDITION, reuse and
// duplicates -> ALREADY_EXISTS, busy -> RESOURCE_EXHAUSTED, storage -> UNAVAILABLE.
absl::StatusCode ReasonCode(Reason reason);

// True for the ledger's momentary refusals: nothing was decided and the same request, retried
// later with the same request id, may succeed (busy, storage failed until a restart). The one
// definition: the service (a batch refused whole) and the CLI (exit code) ask it.
constexpr bool IsTransient(Reason reason) {
  return reason == Reason::kLedgerBusy || reason == Reason::kLedgerUnavailable;
}

// True for reasons that depend on ledger state and are therefore remembered for the request id
// (a retry gets the same refusal). False for kBatchAborted (the command itself was never
// judged), syntax refusals (a retry is refused the same way
// anyway), transient ones and kRequestIdReused.
bool IsRememberedReason(Reason reason);

// A status for a refusal: code from ReasonCode, the message, and the reason's name attached as
// the payload kReasonPayloadUrl so that it survives being passed along.
inline constexpr std::string_view kReasonPayloadUrl = "type.lovebank.dev/lovebank.v1.Reason";
absl::Status RefusedStatus(Reason reason, std::string_view message);

// The reason carried by `status`: kOk for an OK status, the attached reason when present, and
// kLedgerUnavailable for any other (infrastructure) failure.
Reason ReasonOf(const absl::Status& status);

}  // namespace lovebank
