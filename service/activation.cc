// Members activate their own devices (issue #24 item 2; docs/members.md): a social worker or an
// admin issues a one-time code (Admin.IssueActivationCode, journaled as a MEMBER principal whose
// token is the code's hash, waiting for activation); the phone exchanges it, with no token of its
// own, for a bearer token bound to that device (Admin.Activate, journaled as the principal's own
// ActivatePrincipal). The sequencer decides expiry, single use and revocation on the state it
// commits on; the registry never accepts a code as a bearer token.

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "service/convert.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

constexpr std::uint32_t kActivationTtlSecondsDefault = 72 * 3600;

// "<member>.<8 hex>": a device's principal name, unique with overwhelming odds (a clash is
// refused PRINCIPAL_EXISTS by the sequencer and the caller asks again); "device.<8 hex>" for a
// member id too long to fit a principal name (64 bytes).
absl::StatusOr<std::string> DeviceName(const std::string& member) {
  auto token = NewToken();  // "lb_" + 64 hex
  if (!token.ok()) return token.status();
  return Cat(member.size() <= 55 ? member : std::string("device"), ".",
             token->substr(kTokenPrefix.size(), 8));
}

void FillReceipt(const StoredEntry& entry, const std::string& request_id, v1::Receipt* receipt) {
  receipt->set_request_id(request_id);
  receipt->set_seq(entry.seq);
  receipt->set_hash(HashToHex(entry.hash));
  receipt->set_time_unix_us(entry.entry.time_unix_us());
  receipt->set_replayed(true);
}

}  // namespace

UnaryCall* AdminService::IssueActivationCode(CallContext* ctx,
                                             const v1::IssueActivationCodeRequest* request,
                                             v1::IssueActivationCodeResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "IssueActivationCode", request->request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  const std::uint32_t ttl =
      request->ttl_seconds() == 0 ? kActivationTtlSecondsDefault : request->ttl_seconds();
  v1::Command command;
  command.set_request_id(request->request_id());
  command.set_actor(who->name);
  v1::GrantPrincipal* grant = command.mutable_grant_principal();
  grant->set_role(v1::ROLE_MEMBER);
  grant->add_accounts(request->member());
  grant->set_activation_ttl_seconds(ttl);
  grant->set_display_name(request->display_name().empty() ? Cat(request->member(), " 的设备")
                                                          : request->display_name());
  if (!call->Allowed(MayCommand(*who, command, nullptr))) return call;
  // A retry of a request that committed: the same member and life, answered without the code
  // (only its hash was kept: a lost code is replaced by issuing another).
  auto earlier = context_.ledger->GetEntryByRequestId(who->name, request->request_id());
  if (earlier.ok()) {
    const v1::Command& before = earlier->entry.command();
    if (!before.has_grant_principal() || before.grant_principal().accounts_size() != 1 ||
        before.grant_principal().accounts(0) != request->member() ||
        before.grant_principal().activation_ttl_seconds() != ttl) {
      call->Done(ToStatus(Reason::kRequestIdReused, Cat("request id ", request->request_id(),
                                                        " was used for other content")));
      return call;
    }
    response->set_principal(before.grant_principal().principal());
    response->set_expires_unix_us(earlier->entry.time_unix_us() + std::int64_t{ttl} * 1'000'000);
    FillReceipt(*earlier, request->request_id(), response->mutable_receipt());
    call->Done(grpc::Status::OK, earlier->seq);
    return call;
  }
  if (const Reason lookup = ReasonOf(earlier.status());
      lookup != Reason::kEntryUnknown && lookup != Reason::kRequestIdInvalid) {
    call->Done(ToStatus(earlier.status()));
    return call;
  }
  auto code = NewActivationCode();
  auto name = DeviceName(request->member());
  if (!code.ok() || !name.ok()) {
    call->Done(grpc::Status(grpc::StatusCode::INTERNAL, "no entropy for an activation code"));
    return call;
  }
  grant->set_principal(*name);
  grant->set_token_sha256(TokenSha256(*CanonicalActivationCode(*code)));
  if (call->Expired()) return call;
  const std::string request_id = request->request_id();
  context_.ledger->Submit(std::move(command), [this, call, response, request_id, ttl, name = *name,
                                               code = *code](Outcome outcome) {
    if (!outcome.ok()) {
      call->Done(ToStatus(outcome), outcome.receipt.seq);
      return;
    }
    ToReceipt(outcome, request_id, response->mutable_receipt());
    response->set_principal(name);
    response->set_expires_unix_us(outcome.receipt.time_unix_us + std::int64_t{ttl} * 1'000'000);
    if (!outcome.replayed) {  // a concurrent retry's code is not ours to show
      auto record = context_.ledger->GetPrincipal(name);
      if (!record.ok()) {
        call->Done(ToStatus(record.status()));
        return;
      }
      context_.principals->Put(*record);
      response->set_code(code);
    }
    call->Done(grpc::Status::OK, outcome.receipt.seq);
  });
  return call;
}

UnaryCall* AdminService::Activate(CallContext* ctx, const v1::ActivateRequest* request,
                                  v1::ActivateResponse* response) {
  // No bearer token: the code is the credential, and only for this.
  auto* call = new UnaryCall(context_, ctx, "Activate", "");
  const std::optional<std::string> code = CanonicalActivationCode(request->code());
  const std::optional<v1::PrincipalRecord> device =
      code ? context_.principals->FindActivation(TokenSha256(*code)) : std::nullopt;
  if (!device) {
    call->Done(ToStatus(Reason::kActivationCodeUnknown,
                        "no device waits for this activation code: check it, or ask your social "
                        "worker for a new one"));
    return call;
  }
  auto token = NewToken();
  if (!token.ok()) {
    call->Done(grpc::Status(grpc::StatusCode::INTERNAL, "no entropy for a token"));
    return call;
  }
  v1::Command command;
  // A request id of its own per attempt: of two phones racing with one code, the sequencer
  // activates the first and refuses the second ACTIVATION_CLOSED.
  command.set_request_id(Cat("activate.", token->substr(kTokenPrefix.size(), 16)));
  command.set_actor(device->principal());
  v1::ActivatePrincipal* activate = command.mutable_activate_principal();
  activate->set_principal(device->principal());
  activate->set_token_sha256(TokenSha256(*token));
  activate->set_device_name(request->device_name().empty() ? device->display_name()
                                                           : request->device_name());
  if (call->Expired()) return call;
  const std::string request_id = command.request_id();
  const std::string name = device->principal();
  const std::string account = device->accounts_size() == 1 ? device->accounts(0) : "";
  context_.ledger->Submit(std::move(command), [this, call, response, request_id, name, account,
                                               token = std::move(*token)](Outcome outcome) {
    if (!outcome.ok()) {
      call->Done(ToStatus(outcome), outcome.receipt.seq);
      return;
    }
    auto record = context_.ledger->GetPrincipal(name);
    if (!record.ok()) {
      call->Done(ToStatus(record.status()));
      return;
    }
    context_.principals->Put(*record);
    ToReceipt(outcome, request_id, response->mutable_receipt());
    response->set_token(token);
    response->set_payment_secret(ToHex(context_.payments->SecretFor(name)));
    response->set_device_number(record->granted_seq());
    response->set_principal(name);
    response->set_account(account);
    call->Done(grpc::Status::OK, outcome.receipt.seq);
  });
  return call;
}

}  // namespace lovebank::service
