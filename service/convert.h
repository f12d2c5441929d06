#pragma once
// Between the wire (lovebank.v1 API messages, grpc::Status) and the ledger (v1::Command,
// Outcome, Reason). Includes generated API headers: for service/ .cc files only.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "ledger/ledger.h"
#include "lovebank/v1/api.pb.h"
#include "service/error_detail.h"
#include "service/payment.h"

namespace lovebank::service {

// A request turned into a ledger command, and whether the service's own rules refuse it (Earn of
// HOURS needs its activity, ...; the ledger checks the rest). The command is filled either way,
// so that authorization can judge it before any validation answer is given.
struct Converted {
  Reason reason = Reason::kOk;
  std::string message;
  v1::Command command;
  // A Checkout's, AuthorizeHold's or Redeem's payment code as the till sent it: the service
  // verifies it and fills the command's PaymentConsent (ledger_service.cc Submit).
  std::string payment_code;
  bool ok() const { return reason == Reason::kOk; }
};

// `actor` is the authenticated principal's name: the journal records who asked.
Converted ToCommand(const v1::EarnRequest& request, std::string_view actor);
Converted ToCommand(const v1::DeductRequest& request, std::string_view actor);
Converted ToCommand(const v1::RedeemRequest& request, std::string_view actor);
Converted ToCommand(const v1::TransferRequest& request, std::string_view actor);
Converted ToCommand(const v1::OpenAccountRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetAccountStatusRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetAccountContactRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetBudgetRequest& request, std::string_view actor);
Converted ToCommand(const v1::RevokePrincipalRequest& request, std::string_view actor);
// The PIN's code key wrapped under `keys` (PaymentKey::WrapPin) with a new random nonce.
Converted ToCommand(const v1::SetDevicePinRequest& request, std::string_view actor,
                    const PaymentKey& keys);
// `token_sha256`: of the token the service generated for this principal.
Converted ToCommand(const v1::CreatePrincipalRequest& request, std::string_view actor,
                    std::string token_sha256);
// `seq`: the entry the request names (by seq, or resolved from target_request_id by the caller).
Converted ToCommand(const v1::ReverseRequest& request, std::string_view actor, std::uint64_t seq);

// The love supermarket (issue #6).
Converted ToCommand(const v1::SetItemRequest& request, std::string_view actor);
// `receive`: ReceiveStock, else WriteOffStock.
Converted ToCommand(const v1::StockRequest& request, std::string_view actor, bool receive);
Converted ToCommand(const v1::CheckoutRequest& request, std::string_view actor);
Converted ToCommand(const v1::RefundRequest& request, std::string_view actor);
Converted ToCommand(const v1::AuthorizeHoldRequest& request, std::string_view actor);
Converted ToCommand(const v1::CaptureHoldRequest& request, std::string_view actor);
Converted ToCommand(const v1::VoidHoldRequest& request, std::string_view actor);
// Services (issue #26): a posting, and one step of a service by the RPC that asks for it
// (Accept and Assign both make an AcceptService; the sequencer tells them apart by the actor).
Converted ToCommand(const v1::PostServiceRequest& request, std::string_view actor);
enum class ServiceStep { kAccept, kAssign, kComplete, kConfirm, kCancel, kDispute, kResolve };
Converted ToCommand(const v1::ServiceStepRequest& request, std::string_view actor,
                    ServiceStep step);
Converted ToCommand(const v1::SetStarLevelsRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetHoursCapRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetDailyHoursCapRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetExchangeRatioRequest& request, std::string_view actor);
Converted ToCommand(const v1::SettleRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetLimitRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetHouseholdRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetAccountTagsRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetFamilyRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetTransferPolicyRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetAwardRuleRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetSettingRequest& request, std::string_view actor);
Converted ToCommand(const v1::CosignHeadRequest& request, std::string_view actor);
Converted ToCommand(const v1::AwardRequest& request, std::string_view actor);
Converted ToCommand(const v1::SetApprovalThresholdRequest& request, std::string_view actor);
Converted ToCommand(const v1::ApproveRequest& request, std::string_view actor);
Converted ToCommand(const v1::RejectRequest& request, std::string_view actor);

// Receipt of an accepted (or replayed) command.
void ToReceipt(const Outcome& outcome, std::string_view request_id, v1::Receipt* receipt);
v1::Balance ToBalance(const BalanceLine& line);
void ToStatementItem(const StatementItem& item, v1::StatementItem* out);
void ToEntryResponse(StoredEntry stored, v1::GetEntryResponse* out);
// The kind of an account for read authorization; UNSPECIFIED when it does not exist.
absl::StatusOr<v1::AccountKind> KindOf(Ledger& ledger, std::string_view account);

// The one mapping from ledger reasons to gRPC statuses (DESIGN.md "Errors"): the code from
// ReasonCode, the message prefixed with the reason's name, and a google.rpc.Status carrying a
// lovebank.v1.ErrorDetail as the status details.
// The longest message a status carries (longer ones are cut at a UTF-8 boundary): with the
// reason's name and the ErrorDetail copy, a status stays under 2 KB of gRPC's 8 KB of metadata.
inline constexpr std::size_t kStatusMessageBytesMax = 512;
// The one answer to a principal asking for a hold it may not see, whether or not it exists (no
// existence oracle); for entries: access.h EntryShownTo.
inline constexpr std::string_view kNoHoldToRead = "no hold this principal may read";
grpc::Status ToStatus(Reason reason, std::string_view message, std::uint64_t decided_at_seq = 0);
// A query's status: its attached Reason when it has one, else the infrastructure code as is
// (UNAVAILABLE, DATA_LOSS, ...) with reason LEDGER_UNAVAILABLE.
grpc::Status ToStatus(const absl::Status& status);
inline grpc::Status ToStatus(const Outcome& outcome) {
  return ToStatus(outcome.reason, outcome.message, outcome.decided_at_seq);
}

}  // namespace lovebank::service
