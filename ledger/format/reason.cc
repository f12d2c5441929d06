#include "ledger/format/reason.h"

#include <string>

#include "absl/strings/cord.h"

namespace lovebank {

std::string_view ReasonName(Reason reason) {
  switch (reason) {
#define LOVEBANK_REASON_NAME(value, name) \
  case Reason::value:                     \
    return name;
    LOVEBANK_REASON_NAME(kOk, "OK")
    LOVEBANK_REASON_NAME(kLedgerBusy, "LEDGER_BUSY")
    LOVEBANK_REASON_NAME(kLedgerUnavailable, "LEDGER_UNAVAILABLE")
    LOVEBANK_REASON_NAME(kLedgerReadOnly, "LEDGER_READ_ONLY")
    LOVEBANK_REASON_NAME(kRequestIdInvalid, "REQUEST_ID_INVALID")
    LOVEBANK_REASON_NAME(kActorInvalid, "ACTOR_INVALID")
    LOVEBANK_REASON_NAME(kMemoInvalid, "MEMO_INVALID")
    LOVEBANK_REASON_NAME(kCommandMissing, "COMMAND_MISSING")
    LOVEBANK_REASON_NAME(kAccountIdInvalid, "ACCOUNT_ID_INVALID")
    LOVEBANK_REASON_NAME(kAssetCodeInvalid, "ASSET_CODE_INVALID")
    LOVEBANK_REASON_NAME(kDisplayNameInvalid, "DISPLAY_NAME_INVALID")
    LOVEBANK_REASON_NAME(kAccountKindInvalid, "ACCOUNT_KIND_INVALID")
    LOVEBANK_REASON_NAME(kAccountStatusInvalid, "ACCOUNT_STATUS_INVALID")
    LOVEBANK_REASON_NAME(kScaleInvalid, "SCALE_INVALID")
    LOVEBANK_REASON_NAME(kSameAccount, "SAME_ACCOUNT")
    LOVEBANK_REASON_NAME(kBudgetInvalid, "BUDGET_INVALID")
    LOVEBANK_REASON_NAME(kActivityInvalid, "ACTIVITY_INVALID")
    LOVEBANK_REASON_NAME(kMoveReasonInvalid, "MOVE_REASON_INVALID")
    LOVEBANK_REASON_NAME(kActivityMissing, "ACTIVITY_MISSING")
    LOVEBANK_REASON_NAME(kMoveReasonMissing, "MOVE_REASON_MISSING")
    LOVEBANK_REASON_NAME(kPrincipalInvalid, "PRINCIPAL_INVALID")
    LOVEBANK_REASON_NAME(kRoleInvalid, "ROLE_INVALID")
    LOVEBANK_REASON_NAME(kRoleAccountsInvalid, "ROLE_ACCOUNTS_INVALID")
    LOVEBANK_REASON_NAME(kTokenHashInvalid, "TOKEN_HASH_INVALID")
    LOVEBANK_REASON_NAME(kAmountEmpty, "AMOUNT_EMPTY")
    LOVEBANK_REASON_NAME(kAmountSign, "AMOUNT_SIGN")
    LOVEBANK_REASON_NAME(kAmountWhitespace, "AMOUNT_WHITESPACE")
    LOVEBANK_REASON_NAME(kAmountExponent, "AMOUNT_EXPONENT")
    LOVEBANK_REASON_NAME(kAmountNonAsciiDigit, "AMOUNT_NON_ASCII_DIGIT")
    LOVEBANK_REASON_NAME(kAmountInvalidCharacter, "AMOUNT_INVALID_CHARACTER")
    LOVEBANK_REASON_NAME(kAmountMissingIntegerDigits, "AMOUNT_MISSING_INTEGER_DIGITS")
    LOVEBANK_REASON_NAME(kAmountMissingFractionDigits, "AMOUNT_MISSING_FRACTION_DIGITS")
    LOVEBANK_REASON_NAME(kAmountLeadingZero, "AMOUNT_LEADING_ZERO")
    LOVEBANK_REASON_NAME(kAmountTooManyDecimals, "AMOUNT_TOO_MANY_DECIMALS")
    LOVEBANK_REASON_NAME(kAmountAboveMaximum, "AMOUNT_ABOVE_MAXIMUM")
    LOVEBANK_REASON_NAME(kAmountZero, "AMOUNT_ZERO")
    LOVEBANK_REASON_NAME(kCursorInvalid, "CURSOR_INVALID")
    LOVEBANK_REASON_NAME(kPageSizeInvalid, "PAGE_SIZE_INVALID")
    LOVEBANK_REASON_NAME(kBatchSizeInvalid, "BATCH_SIZE_INVALID")
    LOVEBANK_REASON_NAME(kEntryTargetInvalid, "ENTRY_TARGET_INVALID")
    LOVEBANK_REASON_NAME(kRequestIdReused, "REQUEST_ID_REUSED")
    LOVEBANK_REASON_NAME(kAssetUnknown, "ASSET_UNKNOWN")
    LOVEBANK_REASON_NAME(kAccountUnknown, "ACCOUNT_UNKNOWN")
    LOVEBANK_REASON_NAME(kEntryUnknown, "ENTRY_UNKNOWN")
    LOVEBANK_REASON_NAME(kAccountExists, "ACCOUNT_EXISTS")
    LOVEBANK_REASON_NAME(kAssetExists, "ASSET_EXISTS")
    LOVEBANK_REASON_NAME(kSeqBeyondHead, "SEQ_BEYOND_HEAD")
    LOVEBANK_REASON_NAME(kPrincipalUnknown, "PRINCIPAL_UNKNOWN")
    LOVEBANK_REASON_NAME(kPrincipalExists, "PRINCIPAL_EXISTS")
    LOVEBANK_REASON_NAME(kTokenHashExists, "TOKEN_HASH_EXISTS")
    LOVEBANK_REASON_NAME(kAccountKindMismatch, "ACCOUNT_KIND_MISMATCH")
    LOVEBANK_REASON_NAME(kAccountFrozen, "ACCOUNT_FROZEN")
    LOVEBANK_REASON_NAME(kEntryNotReversible, "ENTRY_NOT_REVERSIBLE")
    LOVEBANK_REASON_NAME(kEntryAlreadyReversed, "ENTRY_ALREADY_REVERSED")
    LOVEBANK_REASON_NAME(kAccountStatusUnchanged, "ACCOUNT_STATUS_UNCHANGED")
    LOVEBANK_REASON_NAME(kPrincipalRevoked, "PRINCIPAL_REVOKED")
    LOVEBANK_REASON_NAME(kBatchAborted, "BATCH_ABORTED")
    LOVEBANK_REASON_NAME(kBasketInvalid, "BASKET_INVALID")
    LOVEBANK_REASON_NAME(kPayAssetInvalid, "PAY_ASSET_INVALID")
    LOVEBANK_REASON_NAME(kItemUnitInvalid, "ITEM_UNIT_INVALID")
    LOVEBANK_REASON_NAME(kItemUnknown, "ITEM_UNKNOWN")
    LOVEBANK_REASON_NAME(kItemInactive, "ITEM_INACTIVE")
    LOVEBANK_REASON_NAME(kAssetNotStock, "ASSET_NOT_STOCK")
    LOVEBANK_REASON_NAME(kAssetIsStock, "ASSET_IS_STOCK")
    LOVEBANK_REASON_NAME(kRefundInvalid, "REFUND_INVALID")
    LOVEBANK_REASON_NAME(kLineAlreadyRefunded, "LINE_ALREADY_REFUNDED")
    LOVEBANK_REASON_NAME(kExchangeRatioUnset, "EXCHANGE_RATIO_UNSET")
    LOVEBANK_REASON_NAME(kInsufficientStock, "INSUFFICIENT_STOCK")
    LOVEBANK_REASON_NAME(kPeriodInvalid, "PERIOD_INVALID")
    LOVEBANK_REASON_NAME(kLimitExceeded, "LIMIT_EXCEEDED")
    LOVEBANK_REASON_NAME(kHouseholdInvalid, "HOUSEHOLD_INVALID")
    LOVEBANK_REASON_NAME(kHoldCommandInvalid, "HOLD_COMMAND_INVALID")
    LOVEBANK_REASON_NAME(kStarLevelsInvalid, "STAR_LEVELS_INVALID")
    LOVEBANK_REASON_NAME(kTagsInvalid, "TAGS_INVALID")
    LOVEBANK_REASON_NAME(kFamilyInvalid, "FAMILY_INVALID")
    LOVEBANK_REASON_NAME(kAwardRuleInvalid, "AWARD_RULE_INVALID")
    LOVEBANK_REASON_NAME(kTransferPolicyInvalid, "TRANSFER_POLICY_INVALID")
    LOVEBANK_REASON_NAME(kPendingCommandInvalid, "PENDING_COMMAND_INVALID")
    LOVEBANK_REASON_NAME(kRequestIdReserved, "REQUEST_ID_RESERVED")
    LOVEBANK_REASON_NAME(kTransferNotAllowed, "TRANSFER_NOT_ALLOWED")
    LOVEBANK_REASON_NAME(kNotFamily, "NOT_FAMILY")
    LOVEBANK_REASON_NAME(kAwardRuleUnknown, "AWARD_RULE_UNKNOWN")
    LOVEBANK_REASON_NAME(kAwardRuleInactive, "AWARD_RULE_INACTIVE")
    LOVEBANK_REASON_NAME(kNotEligible, "NOT_ELIGIBLE")
    LOVEBANK_REASON_NAME(kAwardFrequencyExceeded, "AWARD_FREQUENCY_EXCEEDED")
    LOVEBANK_REASON_NAME(kPendingUnknown, "PENDING_UNKNOWN")
    LOVEBANK_REASON_NAME(kPendingClosed, "PENDING_CLOSED")
    LOVEBANK_REASON_NAME(kMakerCannotApprove, "MAKER_CANNOT_APPROVE")
    LOVEBANK_REASON_NAME(kSettingInvalid, "SETTING_INVALID")
    LOVEBANK_REASON_NAME(kHttpBodyInvalid, "HTTP_BODY_INVALID")
    LOVEBANK_REASON_NAME(kHttpBodyTooLarge, "HTTP_BODY_TOO_LARGE")
    LOVEBANK_REASON_NAME(kHttpRouteUnknown, "HTTP_ROUTE_UNKNOWN")
    LOVEBANK_REASON_NAME(kBackupPathInvalid, "BACKUP_PATH_INVALID")
    LOVEBANK_REASON_NAME(kBackupExists, "BACKUP_EXISTS")
    LOVEBANK_REASON_NAME(kDigestInvalid, "DIGEST_INVALID")
    LOVEBANK_REASON_NAME(kRpcFailed, "RPC_FAILED")
    LOVEBANK_REASON_NAME(kWatchersFull, "WATCHERS_FULL")
    LOVEBANK_REASON_NAME(kHttpStreamsFull, "HTTP_STREAMS_FULL")
    LOVEBANK_REASON_NAME(kActivationCodeUnknown, "ACTIVATION_CODE_UNKNOWN")
    LOVEBANK_REASON_NAME(kActivationClosed, "ACTIVATION_CLOSED")
    LOVEBANK_REASON_NAME(kPaymentCodeRequired, "PAYMENT_CODE_REQUIRED")
    LOVEBANK_REASON_NAME(kPaymentCodeInvalid, "PAYMENT_CODE_INVALID")
    LOVEBANK_REASON_NAME(kAccountCardInvalid, "ACCOUNT_CARD_INVALID")
    LOVEBANK_REASON_NAME(kAccountPhoneInvalid, "ACCOUNT_PHONE_INVALID")
    LOVEBANK_REASON_NAME(kAccountCardTaken, "ACCOUNT_CARD_TAKEN")
    LOVEBANK_REASON_NAME(kPaymentCodeLocked, "PAYMENT_CODE_LOCKED")
    LOVEBANK_REASON_NAME(kDevicePinInvalid, "DEVICE_PIN_INVALID")
    LOVEBANK_REASON_NAME(kMonthInvalid, "MONTH_INVALID")
    LOVEBANK_REASON_NAME(kAuditUnclean, "AUDIT_UNCLEAN")
    LOVEBANK_REASON_NAME(kDateRangeInvalid, "DATE_RANGE_INVALID")
    LOVEBANK_REASON_NAME(kCertificateTooLarge, "CERTIFICATE_TOO_LARGE")
    LOVEBANK_REASON_NAME(kImportFileInvalid, "IMPORT_FILE_INVALID")
    LOVEBANK_REASON_NAME(kImportTooLarge, "IMPORT_TOO_LARGE")
    LOVEBANK_REASON_NAME(kServiceUnknown, "SERVICE_UNKNOWN")
    LOVEBANK_REASON_NAME(kServiceClosed, "SERVICE_CLOSED")
    LOVEBANK_REASON_NAME(kServiceOverHeld, "SERVICE_OVER_HELD")
    LOVEBANK_REASON_NAME(kServiceCategoryUnknown, "SERVICE_CATEGORY_UNKNOWN")
    LOVEBANK_REASON_NAME(kServiceNotAllowed, "SERVICE_NOT_ALLOWED")
    LOVEBANK_REASON_NAME(kServiceInvalid, "SERVICE_INVALID")
    LOVEBANK_REASON_NAME(kTreeSizeInvalid, "TREE_SIZE_INVALID")
    LOVEBANK_REASON_NAME(kCosignatureInvalid, "COSIGNATURE_INVALID")
    LOVEBANK_REASON_NAME(kCosignHeadStale, "COSIGN_HEAD_STALE")
    LOVEBANK_REASON_NAME(kSigningKeyChangeInvalid, "SIGNING_KEY_CHANGE_INVALID")
    LOVEBANK_REASON_NAME(kAwardMonthInvalid, "AWARD_MONTH_INVALID")
    LOVEBANK_REASON_NAME(kBudgetBelowIssued, "BUDGET_BELOW_ISSUED")
    LOVEBANK_REASON_NAME(kSettingChanged, "SETTING_CHANGED")
    LOVEBANK_REASON_NAME(kLedgerUnverified, "LEDGER_UNVERIFIED")
    LOVEBANK_REASON_NAME(kHoldUnknown, "HOLD_UNKNOWN")
    LOVEBANK_REASON_NAME(kHoldClosed, "HOLD_CLOSED")
    LOVEBANK_REASON_NAME(kInsufficientBalance, "INSUFFICIENT_BALANCE")
    LOVEBANK_REASON_NAME(kBudgetExceeded, "BUDGET_EXCEEDED")
    LOVEBANK_REASON_NAME(kBalanceAboveMaximum, "BALANCE_ABOVE_MAXIMUM")
    LOVEBANK_REASON_NAME(kTokenMissing, "TOKEN_MISSING")
    LOVEBANK_REASON_NAME(kTokenUnknown, "TOKEN_UNKNOWN")
    LOVEBANK_REASON_NAME(kPermissionDenied, "PERMISSION_DENIED")
#undef LOVEBANK_REASON_NAME
  }
  return "UNKNOWN_REASON";
}

absl::StatusCode ReasonCode(Reason reason) {
  const auto value = static_cast<std::uint32_t>(reason);
  switch (reason) {
    case Reason::kOk:
      return absl::StatusCode::kOk;
    case Reason::kLedgerBusy:
      return absl::StatusCode::kResourceExhausted;
    case Reason::kLedgerUnavailable:
    case Reason::kLedgerReadOnly:
    case Reason::kLedgerUnverified:
      return absl::StatusCode::kUnavailable;
    case Reason::kRequestIdReused:
    case Reason::kAccountExists:
    case Reason::kAssetExists:
    case Reason::kPrincipalExists:
    case Reason::kTokenHashExists:
      return absl::StatusCode::kAlreadyExists;
    case Reason::kAssetUnknown:
    case Reason::kAccountUnknown:
    case Reason::kEntryUnknown:
    case Reason::kPrincipalUnknown:
    case Reason::kItemUnknown:
    case Reason::kHoldUnknown:
    case Reason::kAwardRuleUnknown:
    case Reason::kPendingUnknown:
    case Reason::kServiceUnknown:
      return absl::StatusCode::kNotFound;
    case Reason::kTokenMissing:
    case Reason::kTokenUnknown:
      return absl::StatusCode::kUnauthenticated;
    case Reason::kPermissionDenied:
      return absl::StatusCode::kPermissionDenied;
    case Reason::kSeqBeyondHead:
      return absl::StatusCode::kOutOfRange;
    case Reason::kHttpBodyInvalid:
      return absl::StatusCode::kInvalidArgument;
    case Reason::kHttpBodyTooLarge:
      return absl::StatusCode::kResourceExhausted;
    case Reason::kHttpRouteUnknown:
      return absl::StatusCode::kNotFound;
    case Reason::kBackupPathInvalid:
    case Reason::kDigestInvalid:
    case Reason::kAccountCardInvalid:
    case Reason::kAccountPhoneInvalid:
    case Reason::kDevicePinInvalid:
    case Reason::kMonthInvalid:
    case Reason::kDateRangeInvalid:
    case Reason::kImportFileInvalid:
    case Reason::kImportTooLarge:
    case Reason::kServiceInvalid:
    case Reason::kTreeSizeInvalid:
    case Reason::kCosignatureInvalid:
    case Reason::kAwardMonthInvalid:
      return absl::StatusCode::kInvalidArgument;
    case Reason::kAccountCardTaken:
      return absl::StatusCode::kAlreadyExists;
    case Reason::kBackupExists:
      return absl::StatusCode::kAlreadyExists;
    case Reason::kRpcFailed:
      return absl::StatusCode::kUnavailable;
    case Reason::kActivationCodeUnknown:
      return absl::StatusCode::kUnauthenticated;
    case Reason::kActivationClosed:
    case Reason::kPaymentCodeRequired:
    case Reason::kPaymentCodeInvalid:
      return absl::StatusCode::kFailedPrecondition;
    case Reason::kWatchersFull:
    case Reason::kHttpStreamsFull:
    case Reason::kPaymentCodeLocked:
      return absl::StatusCode::kResourceExhausted;
    default:
      break;
  }
  if ((value >= 10 && value < 50) || (value >= 100 && value < 110)) {
    return absl::StatusCode::kInvalidArgument;
  }
  return absl::StatusCode::kFailedPrecondition;
}

bool IsRememberedReason(Reason reason) {
  const auto value = static_cast<std::uint32_t>(reason);
  return ((value >= 60 && value < 90) || (value >= 110 && value < 140) ||
          reason == Reason::kActivationClosed || reason == Reason::kBudgetBelowIssued ||
          reason == Reason::kSettingChanged) &&
         reason != Reason::kBatchAborted;
}

absl::Status RefusedStatus(Reason reason, std::string_view message) {
  absl::Status status(ReasonCode(reason), absl::string_view(message.data(), message.size()));
  const std::string_view name = ReasonName(reason);
  status.SetPayload(absl::string_view(kReasonPayloadUrl.data(), kReasonPayloadUrl.size()),
                    absl::Cord(absl::string_view(name.data(), name.size())));
  return status;
}

Reason ReasonOf(const absl::Status& status) {
  if (status.ok()) return Reason::kOk;
  auto payload =
      status.GetPayload(absl::string_view(kReasonPayloadUrl.data(), kReasonPayloadUrl.size()));
  if (payload.has_value()) {
    const std::string name(*payload);
    for (std::uint32_t value = 0; value < kReasonValueEnd; ++value) {
      const auto candidate = static_cast<Reason>(value);
      if (ReasonName(candidate) == name) return candidate;
    }
  }
  return Reason::kLedgerUnavailable;
}

}  // namespace lovebank
