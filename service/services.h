#pragma once
// The gRPC services over the ledger (STYLE.md 11: thin handlers — authenticate, authorize,
// convert, hand to the ledger, map the result). Each handler gets its call from lovebankd's
// completion-queue server (service/rpc.h, server.cc's method list) rather than from gRPC's
// callback API, which STYLE.md 11 names: that API's own polling threads cost ~45% more server
// CPU per call (issue #29, docs/benchmarks.md). The handlers keep the callback API's shape:
// a unary one finishes its UnaryCall once, a streaming one returns a ServerStream with the
// same reactions. Included by server.cc only.

#include <atomic>
#include <functional>

#include "lovebank/v1/api.pb.h"
#include "service/call.h"
#include "service/convert.h"

namespace lovebank::service {

// Verifies the payment code of a Checkout, AuthorizeHold, Redeem or SetDevicePin (with the
// device's lock) and writes the command's PaymentConsent; a retry of a committed request gets
// that entry's consent (ledger_service.cc).
void AttachConsent(const Context& context, std::string_view actor, Converted& converted);

// A batch of commands from `who`, as SubmitBatch takes it (ledger_service.cc): converted and
// authorized (one denied denies all), then decided by the ledger as one group. Calls `done`
// exactly once — with OK after every command's result is in `results` (one each, in order), or
// with the status that refused the batch whole — unless the call expired before the ledger
// had it (then the call is finished already). SubmitBatch and Programme.Import.
void SubmitCommands(const Context& context, UnaryCall* call, const Principal& who,
                    const google::protobuf::RepeatedPtrField<v1::BatchCommand>& batch,
                    bool all_or_nothing,
                    google::protobuf::RepeatedPtrField<v1::BatchResult>* results,
                    std::function<void(grpc::Status)> done);

class LedgerService final {
 public:
  explicit LedgerService(const Context& context) : context_(context) {}

  UnaryCall* OpenAccount(CallContext* ctx, const v1::OpenAccountRequest* request,
                         v1::Receipt* response);
  UnaryCall* GetAccount(CallContext* ctx, const v1::GetAccountRequest* request,
                        v1::AccountRecord* response);
  UnaryCall* ListAccounts(CallContext* ctx, const v1::ListAccountsRequest* request,
                          v1::ListAccountsResponse* response);
  UnaryCall* SetAccountStatus(CallContext* ctx, const v1::SetAccountStatusRequest* request,
                              v1::Receipt* response);
  UnaryCall* SetAccountContact(CallContext* ctx, const v1::SetAccountContactRequest* request,
                               v1::Receipt* response);
  UnaryCall* SetBudget(CallContext* ctx, const v1::SetBudgetRequest* request,
                       v1::Receipt* response);
  UnaryCall* Earn(CallContext* ctx, const v1::EarnRequest* request, v1::Receipt* response);
  UnaryCall* Deduct(CallContext* ctx, const v1::DeductRequest* request, v1::Receipt* response);
  UnaryCall* Redeem(CallContext* ctx, const v1::RedeemRequest* request, v1::Receipt* response);
  UnaryCall* Transfer(CallContext* ctx, const v1::TransferRequest* request, v1::Receipt* response);
  UnaryCall* Reverse(CallContext* ctx, const v1::ReverseRequest* request, v1::Receipt* response);
  UnaryCall* GetBalance(CallContext* ctx, const v1::GetBalanceRequest* request,
                        v1::GetBalanceResponse* response);
  UnaryCall* ListEntries(CallContext* ctx, const v1::ListEntriesRequest* request,
                         v1::ListEntriesResponse* response);
  UnaryCall* GetEntry(CallContext* ctx, const v1::GetEntryRequest* request,
                      v1::GetEntryResponse* response);
  // watch_service.cc
  ServerStream* WatchEntries(StreamContext* ctx, const v1::WatchEntriesRequest* request);
  UnaryCall* SubmitBatch(CallContext* ctx, const v1::SubmitBatchRequest* request,
                         v1::SubmitBatchResponse* response);

 private:
  template <class Request>
  UnaryCall* Mutate(CallContext* ctx, const char* method, const Request& request,
                    v1::Receipt* response);
  const Context& context_;
};

class AdminService final {
 public:
  explicit AdminService(const Context& context) : context_(context) {}

  UnaryCall* CreatePrincipal(CallContext* ctx, const v1::CreatePrincipalRequest* request,
                             v1::CreatePrincipalResponse* response);
  UnaryCall* ListPrincipals(CallContext* ctx, const v1::ListPrincipalsRequest* request,
                            v1::ListPrincipalsResponse* response);
  UnaryCall* RevokePrincipal(CallContext* ctx, const v1::RevokePrincipalRequest* request,
                             v1::Receipt* response);
  // Members' devices (issue #24 item 2; activation.cc).
  UnaryCall* IssueActivationCode(CallContext* ctx, const v1::IssueActivationCodeRequest* request,
                                 v1::IssueActivationCodeResponse* response);
  UnaryCall* Activate(CallContext* ctx, const v1::ActivateRequest* request,
                      v1::ActivateResponse* response);
  UnaryCall* SetDevicePin(CallContext* ctx, const v1::SetDevicePinRequest* request,
                          v1::Receipt* response);
  UnaryCall* WhoAmI(CallContext* ctx, const v1::WhoAmIRequest* request,
                    v1::PrincipalRecord* response);
  UnaryCall* Backup(CallContext* ctx, const v1::BackupRequest* request,
                    v1::BackupResponse* response);

 private:
  const Context& context_;
};

class AuditService final {
 public:
  explicit AuditService(const Context& context) : context_(context) {}

  UnaryCall* GetDigest(CallContext* ctx, const v1::GetDigestRequest* request,
                       v1::GetDigestResponse* response);
  ServerStream* ReadJournal(StreamContext* ctx, const v1::ReadJournalRequest* request);
  ServerStream* Verify(StreamContext* ctx, const v1::VerifyRequest* request);
  UnaryCall* GetNotice(CallContext* ctx, const v1::GetNoticeRequest* request, v1::Notice* response);
  // proof_service.cc (issue #27).
  UnaryCall* GetSignedHead(CallContext* ctx, const v1::GetSignedHeadRequest* request,
                           v1::SignedTreeHead* response);
  UnaryCall* GetInclusionProof(CallContext* ctx, const v1::GetInclusionProofRequest* request,
                               v1::InclusionProof* response);
  UnaryCall* GetConsistencyProof(CallContext* ctx, const v1::GetConsistencyProofRequest* request,
                                 v1::ConsistencyProof* response);
  UnaryCall* CosignHead(CallContext* ctx, const v1::CosignHeadRequest* request,
                        v1::Receipt* response);

 private:
  const Context& context_;
};

// service Programme: volunteers and students as programmes run them (issue #7).
class ProgrammeService final {
 public:
  explicit ProgrammeService(const Context& context) : context_(context) {}

  UnaryCall* GetVolunteerProfile(CallContext* ctx, const v1::GetVolunteerProfileRequest* request,
                                 v1::VolunteerProfile* response);
  UnaryCall* SetStarLevels(CallContext* ctx, const v1::SetStarLevelsRequest* request,
                           v1::Receipt* response);
  UnaryCall* SetHoursCap(CallContext* ctx, const v1::SetHoursCapRequest* request,
                         v1::Receipt* response);
  UnaryCall* SetDailyHoursCap(CallContext* ctx, const v1::SetDailyHoursCapRequest* request,
                              v1::Receipt* response);
  UnaryCall* SetAccountTags(CallContext* ctx, const v1::SetAccountTagsRequest* request,
                            v1::Receipt* response);
  UnaryCall* SetFamily(CallContext* ctx, const v1::SetFamilyRequest* request,
                       v1::Receipt* response);
  UnaryCall* SetTransferPolicy(CallContext* ctx, const v1::SetTransferPolicyRequest* request,
                               v1::Receipt* response);
  UnaryCall* SetAwardRule(CallContext* ctx, const v1::SetAwardRuleRequest* request,
                          v1::Receipt* response);
  UnaryCall* ListAwardRules(CallContext* ctx, const v1::ListAwardRulesRequest* request,
                            v1::ListAwardRulesResponse* response);
  UnaryCall* Award(CallContext* ctx, const v1::AwardRequest* request, v1::Receipt* response);
  UnaryCall* SetApprovalThreshold(CallContext* ctx, const v1::SetApprovalThresholdRequest* request,
                                  v1::Receipt* response);
  UnaryCall* Approve(CallContext* ctx, const v1::ApproveRequest* request, v1::Receipt* response);
  UnaryCall* Reject(CallContext* ctx, const v1::RejectRequest* request, v1::Receipt* response);
  UnaryCall* ListPending(CallContext* ctx, const v1::ListPendingRequest* request,
                         v1::ListPendingResponse* response);
  UnaryCall* SetSetting(CallContext* ctx, const v1::SetSettingRequest* request,
                        v1::Receipt* response);
  UnaryCall* GetCertificate(CallContext* ctx, const v1::GetCertificateRequest* request,
                            v1::Certificate* response);
  UnaryCall* Import(CallContext* ctx, const v1::ImportRequest* request,
                    v1::ImportResponse* response);
  UnaryCall* ListSettings(CallContext* ctx, const v1::ListSettingsRequest* request,
                          v1::ListSettingsResponse* response);

 private:
  const Context& context_;
  // GetCertificate calls at once: each reads a member's whole statement on a gRPC thread.
  std::atomic<int> certificates_in_flight_{0};
  // Import calls preparing a file (decoding, request ids) at once.
  std::atomic<int> imports_in_flight_{0};
};

class SupermarketService final {
 public:
  explicit SupermarketService(const Context& context) : context_(context) {}

  UnaryCall* SetItem(CallContext* ctx, const v1::SetItemRequest* request, v1::Receipt* response);
  UnaryCall* ListItems(CallContext* ctx, const v1::ListItemsRequest* request,
                       v1::ListItemsResponse* response);
  UnaryCall* ReceiveStock(CallContext* ctx, const v1::StockRequest* request, v1::Receipt* response);
  UnaryCall* WriteOffStock(CallContext* ctx, const v1::StockRequest* request,
                           v1::Receipt* response);
  UnaryCall* Checkout(CallContext* ctx, const v1::CheckoutRequest* request, v1::Receipt* response);
  UnaryCall* Refund(CallContext* ctx, const v1::RefundRequest* request, v1::Receipt* response);
  UnaryCall* AuthorizeHold(CallContext* ctx, const v1::AuthorizeHoldRequest* request,
                           v1::Receipt* response);
  UnaryCall* CaptureHold(CallContext* ctx, const v1::CaptureHoldRequest* request,
                         v1::Receipt* response);
  UnaryCall* VoidHold(CallContext* ctx, const v1::VoidHoldRequest* request, v1::Receipt* response);
  UnaryCall* GetHold(CallContext* ctx, const v1::GetHoldRequest* request, v1::Hold* response);
  UnaryCall* SetExchangeRatio(CallContext* ctx, const v1::SetExchangeRatioRequest* request,
                              v1::Receipt* response);
  UnaryCall* GetExchangeRatio(CallContext* ctx, const v1::GetExchangeRatioRequest* request,
                              v1::ExchangeRatio* response);
  UnaryCall* Settle(CallContext* ctx, const v1::SettleRequest* request, v1::Receipt* response);
  UnaryCall* SetLimit(CallContext* ctx, const v1::SetLimitRequest* request, v1::Receipt* response);
  UnaryCall* ListLimits(CallContext* ctx, const v1::ListLimitsRequest* request,
                        v1::ListLimitsResponse* response);
  UnaryCall* SetHousehold(CallContext* ctx, const v1::SetHouseholdRequest* request,
                          v1::Receipt* response);

 private:
  const Context& context_;
};

class ExchangeService final {
 public:
  explicit ExchangeService(const Context& context) : context_(context) {}

  UnaryCall* PostRequest(CallContext* ctx, const v1::PostServiceRequest* request,
                         v1::Receipt* response);
  UnaryCall* PostOffer(CallContext* ctx, const v1::PostServiceRequest* request,
                       v1::Receipt* response);
  UnaryCall* ListServices(CallContext* ctx, const v1::ListServicesRequest* request,
                          v1::ListServicesResponse* response);
  UnaryCall* GetService(CallContext* ctx, const v1::GetServiceRequest* request,
                        v1::Service* response);
  UnaryCall* Accept(CallContext* ctx, const v1::ServiceStepRequest* request, v1::Receipt* response);
  UnaryCall* Assign(CallContext* ctx, const v1::ServiceStepRequest* request, v1::Receipt* response);
  UnaryCall* Complete(CallContext* ctx, const v1::ServiceStepRequest* request,
                      v1::Receipt* response);
  UnaryCall* Confirm(CallContext* ctx, const v1::ServiceStepRequest* request,
                     v1::Receipt* response);
  UnaryCall* Cancel(CallContext* ctx, const v1::ServiceStepRequest* request, v1::Receipt* response);
  UnaryCall* Dispute(CallContext* ctx, const v1::ServiceStepRequest* request,
                     v1::Receipt* response);
  UnaryCall* Resolve(CallContext* ctx, const v1::ServiceStepRequest* request,
                     v1::Receipt* response);

 private:
  const Context& context_;
};

// Authorizes `converted.command` for `who` (with the entry a Reverse or Refund names), then
// refuses it for a service rule or hands it to the ledger; the receipt goes to `response`,
// completed by `decorate` when given. Finishes `call` in every case.
void Submit(const Context& context, UnaryCall* call, const Principal& who, Converted converted,
            const v1::Entry* reverse_target, v1::Receipt* response,
            std::function<void(const Outcome&, v1::Receipt*)> decorate = {});

// Authenticates and authorizes a read of `account`; null when the call was finished.
std::shared_ptr<const Principal> AuthorizeRead(const Context& context, UnaryCall* call, Read what,
                                               std::string_view account);

// A command with nothing to look up first: authenticate, convert (`extra` goes to ToCommand),
// authorize and submit. The call finishes itself.
template <class Request, class... Extra>
UnaryCall* SubmitSimple(const Context& context, CallContext* ctx, const char* method,
                        const Request& request, v1::Receipt* response, Extra... extra) {
  auto* call = new UnaryCall(context, ctx, method, request.request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  Submit(context, call, *who, ToCommand(request, who->name, extra...), nullptr, response);
  return call;
}

// Loads the principal registry from the ledger (at start; grants and revocations update it
// one record at a time).
absl::Status LoadPrincipals(const Context& context);

}  // namespace lovebank::service
