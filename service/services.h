#pragma once
// The gRPC services over the ledger (STYLE.md 11: callback API, thin handlers — authenticate,
// authorize, convert, hand to the ledger, map the result). Included by server.cc only.

#include <atomic>
#include <functional>

#include "lovebank/v1/api.grpc.pb.h"
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

class LedgerService final : public v1::Ledger::CallbackService {
 public:
  explicit LedgerService(const Context& context) : context_(context) {}

  grpc::ServerUnaryReactor* OpenAccount(grpc::CallbackServerContext* ctx,
                                        const v1::OpenAccountRequest* request,
                                        v1::Receipt* response) override;
  grpc::ServerUnaryReactor* GetAccount(grpc::CallbackServerContext* ctx,
                                       const v1::GetAccountRequest* request,
                                       v1::AccountRecord* response) override;
  grpc::ServerUnaryReactor* ListAccounts(grpc::CallbackServerContext* ctx,
                                         const v1::ListAccountsRequest* request,
                                         v1::ListAccountsResponse* response) override;
  grpc::ServerUnaryReactor* SetAccountStatus(grpc::CallbackServerContext* ctx,
                                             const v1::SetAccountStatusRequest* request,
                                             v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetAccountContact(grpc::CallbackServerContext* ctx,
                                              const v1::SetAccountContactRequest* request,
                                              v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetBudget(grpc::CallbackServerContext* ctx,
                                      const v1::SetBudgetRequest* request,
                                      v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Earn(grpc::CallbackServerContext* ctx, const v1::EarnRequest* request,
                                 v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Deduct(grpc::CallbackServerContext* ctx,
                                   const v1::DeductRequest* request,
                                   v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Redeem(grpc::CallbackServerContext* ctx,
                                   const v1::RedeemRequest* request,
                                   v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Transfer(grpc::CallbackServerContext* ctx,
                                     const v1::TransferRequest* request,
                                     v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Reverse(grpc::CallbackServerContext* ctx,
                                    const v1::ReverseRequest* request,
                                    v1::Receipt* response) override;
  grpc::ServerUnaryReactor* GetBalance(grpc::CallbackServerContext* ctx,
                                       const v1::GetBalanceRequest* request,
                                       v1::GetBalanceResponse* response) override;
  grpc::ServerUnaryReactor* ListEntries(grpc::CallbackServerContext* ctx,
                                        const v1::ListEntriesRequest* request,
                                        v1::ListEntriesResponse* response) override;
  grpc::ServerUnaryReactor* GetEntry(grpc::CallbackServerContext* ctx,
                                     const v1::GetEntryRequest* request,
                                     v1::GetEntryResponse* response) override;
  // watch_service.cc
  grpc::ServerWriteReactor<v1::WatchEntriesResponse>* WatchEntries(
      grpc::CallbackServerContext* ctx, const v1::WatchEntriesRequest* request) override;
  grpc::ServerUnaryReactor* SubmitBatch(grpc::CallbackServerContext* ctx,
                                        const v1::SubmitBatchRequest* request,
                                        v1::SubmitBatchResponse* response) override;

 private:
  template <class Request>
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* ctx, const char* method,
                                   const Request& request, v1::Receipt* response);
  const Context& context_;
};

class AdminService final : public v1::Admin::CallbackService {
 public:
  explicit AdminService(const Context& context) : context_(context) {}

  grpc::ServerUnaryReactor* CreatePrincipal(grpc::CallbackServerContext* ctx,
                                            const v1::CreatePrincipalRequest* request,
                                            v1::CreatePrincipalResponse* response) override;
  grpc::ServerUnaryReactor* ListPrincipals(grpc::CallbackServerContext* ctx,
                                           const v1::ListPrincipalsRequest* request,
                                           v1::ListPrincipalsResponse* response) override;
  grpc::ServerUnaryReactor* RevokePrincipal(grpc::CallbackServerContext* ctx,
                                            const v1::RevokePrincipalRequest* request,
                                            v1::Receipt* response) override;
  // Members' devices (issue #24 item 2; activation.cc).
  grpc::ServerUnaryReactor* IssueActivationCode(grpc::CallbackServerContext* ctx,
                                                const v1::IssueActivationCodeRequest* request,
                                                v1::IssueActivationCodeResponse* response) override;
  grpc::ServerUnaryReactor* Activate(grpc::CallbackServerContext* ctx,
                                     const v1::ActivateRequest* request,
                                     v1::ActivateResponse* response) override;
  grpc::ServerUnaryReactor* SetDevicePin(grpc::CallbackServerContext* ctx,
                                         const v1::SetDevicePinRequest* request,
                                         v1::Receipt* response) override;
  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* ctx,
                                   const v1::WhoAmIRequest* request,
                                   v1::PrincipalRecord* response) override;
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* ctx,
                                   const v1::BackupRequest* request,
                                   v1::BackupResponse* response) override;

 private:
  const Context& context_;
};

class AuditService final : public v1::Audit::CallbackService {
 public:
  explicit AuditService(const Context& context) : context_(context) {}

  grpc::ServerUnaryReactor* GetDigest(grpc::CallbackServerContext* ctx,
                                      const v1::GetDigestRequest* request,
                                      v1::GetDigestResponse* response) override;
  grpc::ServerWriteReactor<v1::ReadJournalResponse>* ReadJournal(
      grpc::CallbackServerContext* ctx, const v1::ReadJournalRequest* request) override;
  grpc::ServerWriteReactor<v1::VerifyEvent>* Verify(grpc::CallbackServerContext* ctx,
                                                    const v1::VerifyRequest* request) override;
  grpc::ServerUnaryReactor* GetNotice(grpc::CallbackServerContext* ctx,
                                      const v1::GetNoticeRequest* request,
                                      v1::Notice* response) override;
  // proof_service.cc (issue #27).
  grpc::ServerUnaryReactor* GetSignedHead(grpc::CallbackServerContext* ctx,
                                          const v1::GetSignedHeadRequest* request,
                                          v1::SignedTreeHead* response) override;
  grpc::ServerUnaryReactor* GetInclusionProof(grpc::CallbackServerContext* ctx,
                                              const v1::GetInclusionProofRequest* request,
                                              v1::InclusionProof* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(grpc::CallbackServerContext* ctx,
                                                const v1::GetConsistencyProofRequest* request,
                                                v1::ConsistencyProof* response) override;
  grpc::ServerUnaryReactor* CosignHead(grpc::CallbackServerContext* ctx,
                                       const v1::CosignHeadRequest* request,
                                       v1::Receipt* response) override;

 private:
  const Context& context_;
};

// service Programme: volunteers and students as programmes run them (issue #7).
class ProgrammeService final : public v1::Programme::CallbackService {
 public:
  explicit ProgrammeService(const Context& context) : context_(context) {}

  grpc::ServerUnaryReactor* GetVolunteerProfile(grpc::CallbackServerContext* ctx,
                                                const v1::GetVolunteerProfileRequest* request,
                                                v1::VolunteerProfile* response) override;
  grpc::ServerUnaryReactor* SetStarLevels(grpc::CallbackServerContext* ctx,
                                          const v1::SetStarLevelsRequest* request,
                                          v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetHoursCap(grpc::CallbackServerContext* ctx,
                                        const v1::SetHoursCapRequest* request,
                                        v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetDailyHoursCap(grpc::CallbackServerContext* ctx,
                                             const v1::SetDailyHoursCapRequest* request,
                                             v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetAccountTags(grpc::CallbackServerContext* ctx,
                                           const v1::SetAccountTagsRequest* request,
                                           v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetFamily(grpc::CallbackServerContext* ctx,
                                      const v1::SetFamilyRequest* request,
                                      v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetTransferPolicy(grpc::CallbackServerContext* ctx,
                                              const v1::SetTransferPolicyRequest* request,
                                              v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetAwardRule(grpc::CallbackServerContext* ctx,
                                         const v1::SetAwardRuleRequest* request,
                                         v1::Receipt* response) override;
  grpc::ServerUnaryReactor* ListAwardRules(grpc::CallbackServerContext* ctx,
                                           const v1::ListAwardRulesRequest* request,
                                           v1::ListAwardRulesResponse* response) override;
  grpc::ServerUnaryReactor* Award(grpc::CallbackServerContext* ctx, const v1::AwardRequest* request,
                                  v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetApprovalThreshold(grpc::CallbackServerContext* ctx,
                                                 const v1::SetApprovalThresholdRequest* request,
                                                 v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Approve(grpc::CallbackServerContext* ctx,
                                    const v1::ApproveRequest* request,
                                    v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* ctx,
                                   const v1::RejectRequest* request,
                                   v1::Receipt* response) override;
  grpc::ServerUnaryReactor* ListPending(grpc::CallbackServerContext* ctx,
                                        const v1::ListPendingRequest* request,
                                        v1::ListPendingResponse* response) override;
  grpc::ServerUnaryReactor* SetSetting(grpc::CallbackServerContext* ctx,
                                       const v1::SetSettingRequest* request,
                                       v1::Receipt* response) override;
  grpc::ServerUnaryReactor* GetCertificate(grpc::CallbackServerContext* ctx,
                                           const v1::GetCertificateRequest* request,
                                           v1::Certificate* response) override;
  grpc::ServerUnaryReactor* Import(grpc::CallbackServerContext* ctx,
                                   const v1::ImportRequest* request,
                                   v1::ImportResponse* response) override;
  grpc::ServerUnaryReactor* ListSettings(grpc::CallbackServerContext* ctx,
                                         const v1::ListSettingsRequest* request,
                                         v1::ListSettingsResponse* response) override;

 private:
  const Context& context_;
  // GetCertificate calls at once: each reads a member's whole statement on a gRPC thread.
  std::atomic<int> certificates_in_flight_{0};
  // Import calls preparing a file (decoding, request ids) at once.
  std::atomic<int> imports_in_flight_{0};
};

class SupermarketService final : public v1::Supermarket::CallbackService {
 public:
  explicit SupermarketService(const Context& context) : context_(context) {}

  grpc::ServerUnaryReactor* SetItem(grpc::CallbackServerContext* ctx,
                                    const v1::SetItemRequest* request,
                                    v1::Receipt* response) override;
  grpc::ServerUnaryReactor* ListItems(grpc::CallbackServerContext* ctx,
                                      const v1::ListItemsRequest* request,
                                      v1::ListItemsResponse* response) override;
  grpc::ServerUnaryReactor* ReceiveStock(grpc::CallbackServerContext* ctx,
                                         const v1::StockRequest* request,
                                         v1::Receipt* response) override;
  grpc::ServerUnaryReactor* WriteOffStock(grpc::CallbackServerContext* ctx,
                                          const v1::StockRequest* request,
                                          v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Checkout(grpc::CallbackServerContext* ctx,
                                     const v1::CheckoutRequest* request,
                                     v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Refund(grpc::CallbackServerContext* ctx,
                                   const v1::RefundRequest* request,
                                   v1::Receipt* response) override;
  grpc::ServerUnaryReactor* AuthorizeHold(grpc::CallbackServerContext* ctx,
                                          const v1::AuthorizeHoldRequest* request,
                                          v1::Receipt* response) override;
  grpc::ServerUnaryReactor* CaptureHold(grpc::CallbackServerContext* ctx,
                                        const v1::CaptureHoldRequest* request,
                                        v1::Receipt* response) override;
  grpc::ServerUnaryReactor* VoidHold(grpc::CallbackServerContext* ctx,
                                     const v1::VoidHoldRequest* request,
                                     v1::Receipt* response) override;
  grpc::ServerUnaryReactor* GetHold(grpc::CallbackServerContext* ctx,
                                    const v1::GetHoldRequest* request, v1::Hold* response) override;
  grpc::ServerUnaryReactor* SetExchangeRatio(grpc::CallbackServerContext* ctx,
                                             const v1::SetExchangeRatioRequest* request,
                                             v1::Receipt* response) override;
  grpc::ServerUnaryReactor* GetExchangeRatio(grpc::CallbackServerContext* ctx,
                                             const v1::GetExchangeRatioRequest* request,
                                             v1::ExchangeRatio* response) override;
  grpc::ServerUnaryReactor* Settle(grpc::CallbackServerContext* ctx,
                                   const v1::SettleRequest* request,
                                   v1::Receipt* response) override;
  grpc::ServerUnaryReactor* SetLimit(grpc::CallbackServerContext* ctx,
                                     const v1::SetLimitRequest* request,
                                     v1::Receipt* response) override;
  grpc::ServerUnaryReactor* ListLimits(grpc::CallbackServerContext* ctx,
                                       const v1::ListLimitsRequest* request,
                                       v1::ListLimitsResponse* response) override;
  grpc::ServerUnaryReactor* SetHousehold(grpc::CallbackServerContext* ctx,
                                         const v1::SetHouseholdRequest* request,
                                         v1::Receipt* response) override;

 private:
  const Context& context_;
};

class ExchangeService final : public v1::Exchange::CallbackService {
 public:
  explicit ExchangeService(const Context& context) : context_(context) {}

  grpc::ServerUnaryReactor* PostRequest(grpc::CallbackServerContext* ctx,
                                        const v1::PostServiceRequest* request,
                                        v1::Receipt* response) override;
  grpc::ServerUnaryReactor* PostOffer(grpc::CallbackServerContext* ctx,
                                      const v1::PostServiceRequest* request,
                                      v1::Receipt* response) override;
  grpc::ServerUnaryReactor* ListServices(grpc::CallbackServerContext* ctx,
                                         const v1::ListServicesRequest* request,
                                         v1::ListServicesResponse* response) override;
  grpc::ServerUnaryReactor* GetService(grpc::CallbackServerContext* ctx,
                                       const v1::GetServiceRequest* request,
                                       v1::Service* response) override;
  grpc::ServerUnaryReactor* Accept(grpc::CallbackServerContext* ctx,
                                   const v1::ServiceStepRequest* request,
                                   v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Assign(grpc::CallbackServerContext* ctx,
                                   const v1::ServiceStepRequest* request,
                                   v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Complete(grpc::CallbackServerContext* ctx,
                                     const v1::ServiceStepRequest* request,
                                     v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Confirm(grpc::CallbackServerContext* ctx,
                                    const v1::ServiceStepRequest* request,
                                    v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* ctx,
                                   const v1::ServiceStepRequest* request,
                                   v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Dispute(grpc::CallbackServerContext* ctx,
                                    const v1::ServiceStepRequest* request,
                                    v1::Receipt* response) override;
  grpc::ServerUnaryReactor* Resolve(grpc::CallbackServerContext* ctx,
                                    const v1::ServiceStepRequest* request,
                                    v1::Receipt* response) override;

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
UnaryCall* SubmitSimple(const Context& context, grpc::CallbackServerContext* ctx,
                        const char* method, const Request& request, v1::Receipt* response,
                        Extra... extra) {
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
