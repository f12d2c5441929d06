// service Admin: principals. A grant or revocation is a journal entry; the registry of valid
// tokens is reloaded from the ledger as soon as one commits, before the caller hears back.

#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "service/convert.h"
#include "service/services.h"

namespace lovebank::service {

absl::Status LoadPrincipals(const Context& context) {
  auto records = context.ledger->ListPrincipals();
  if (!records.ok()) return records.status();
  context.principals->Load(*records);
  return absl::OkStatus();
}

namespace {

// The committed principal `name` into the registry; the record without its token hash (nobody
// needs it on the wire).
absl::StatusOr<v1::PrincipalRecord> Register(const Context& context, std::string_view name) {
  auto record = context.ledger->GetPrincipal(name);
  if (!record.ok()) return record.status();
  context.principals->Put(*record);
  record->clear_token_sha256();
  return record;
}

// A retried CreatePrincipal: the same request committed before. Its token cannot be shown again
// (only its hash was kept), so the retry gets the receipt without it.
bool SameGrant(const v1::GrantPrincipal& grant, const v1::Command& command,
               const v1::CreatePrincipalRequest& request, std::string_view actor) {
  return command.actor() == actor && command.memo() == request.memo() &&
         grant.principal() == request.principal() && grant.role() == request.role() &&
         std::equal(grant.accounts().begin(), grant.accounts().end(), request.accounts().begin(),
                    request.accounts().end()) &&
         grant.display_name() == request.display_name();
}

}  // namespace

UnaryCall* AdminService::CreatePrincipal(CallContext* ctx,
                                         const v1::CreatePrincipalRequest* request,
                                         v1::CreatePrincipalResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "CreatePrincipal", request->request_id());
  auto who = call->Authenticate();
  if (who == nullptr || !call->Allowed(MayAdminister(*who))) return call;
  auto earlier = context_.ledger->GetEntryByRequestId(who->name, request->request_id());
  if (earlier.ok()) {
    const v1::Command& command = earlier->entry.command();
    if (!command.has_grant_principal() ||
        !SameGrant(command.grant_principal(), command, *request, who->name)) {
      call->Done(ToStatus(Reason::kRequestIdReused, Cat("request id ", request->request_id(),
                                                        " was used for other content")));
      return call;
    }
    auto record = context_.ledger->GetPrincipal(request->principal());
    if (record.ok()) record->clear_token_sha256();
    if (!record.ok()) {
      call->Done(ToStatus(record.status()));
      return call;
    }
    *response->mutable_principal() = std::move(*record);
    v1::Receipt* receipt = response->mutable_receipt();
    receipt->set_request_id(request->request_id());
    receipt->set_seq(earlier->seq);
    receipt->set_hash(HashToHex(earlier->hash));
    receipt->set_time_unix_us(earlier->entry.time_unix_us());
    receipt->set_replayed(true);
    call->Done(grpc::Status::OK, earlier->seq);
    return call;
  }
  const Reason lookup = ReasonOf(earlier.status());
  if (lookup != Reason::kEntryUnknown && lookup != Reason::kRequestIdInvalid) {
    call->Done(ToStatus(earlier.status()));
    return call;
  }
  auto token = NewToken();
  if (!token.ok()) {
    call->Done(grpc::Status(grpc::StatusCode::INTERNAL, std::string(token.status().message())));
    return call;
  }
  Converted converted = ToCommand(*request, who->name, TokenSha256(*token));
  const std::string request_id = request->request_id();
  const std::string name = request->principal();
  if (call->Expired()) return call;
  context_.ledger->Submit(
      std::move(converted.command),
      [this, call, response, request_id, name, token = std::move(*token)](Outcome outcome) {
        if (!outcome.ok()) {
          call->Done(ToStatus(outcome), outcome.receipt.seq);
          return;
        }
        ToReceipt(outcome, request_id, response->mutable_receipt());
        if (outcome.replayed) {
          // The same content committed meanwhile by a concurrent retry: its token is not ours.
          call->Done(grpc::Status::OK, outcome.receipt.seq);
          return;
        }
        auto record = Register(context_, name);
        if (!record.ok()) {
          call->Done(ToStatus(record.status()));
          return;
        }
        response->set_token(token);
        *response->mutable_principal() = std::move(*record);
        call->Done(grpc::Status::OK, outcome.receipt.seq);
      });
  return call;
}

namespace {

// Submits `converted`, a change of principal `name`, and once it commits puts the record into the
// registry — its token and its payment codes are checked against it from then on — and runs
// `committed`. Finishes `call`.
void SubmitForPrincipal(const Context& context, UnaryCall* call, Converted converted,
                        std::string name, v1::Receipt* response,
                        std::function<void()> committed = {}) {
  if (!converted.ok()) {
    call->Done(ToStatus(converted.reason, converted.message));
    return;
  }
  if (call->Expired()) return;
  std::string request_id = converted.command.request_id();
  context.ledger->Submit(
      std::move(converted.command),
      [&context, call, response, request_id = std::move(request_id), name = std::move(name),
       committed = std::move(committed)](Outcome outcome) {
        if (outcome.ok()) {
          ToReceipt(outcome, request_id, response);
          auto record = Register(context, name);
          if (!record.ok()) {
            call->Done(ToStatus(record.status()));
            return;
          }
          if (committed) committed();
        }
        call->Done(ToStatus(outcome), outcome.receipt.seq);
      });
}

}  // namespace

UnaryCall* AdminService::RevokePrincipal(CallContext* ctx,
                                         const v1::RevokePrincipalRequest* request,
                                         v1::Receipt* response) {
  auto* call = new UnaryCall(context_, ctx, "RevokePrincipal", request->request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  Converted converted = ToCommand(*request, who->name);
  if (!call->Allowed(MayCommand(*who, converted.command, nullptr))) return call;
  const std::string name = request->principal();
  SubmitForPrincipal(context_, call, std::move(converted), name, response,
                     [this, name] { context_.watches->CloseFor(name); });  // it reads no more
  return call;
}

UnaryCall* AdminService::SetDevicePin(CallContext* ctx, const v1::SetDevicePinRequest* request,
                                      v1::Receipt* response) {
  auto* call = new UnaryCall(context_, ctx, "SetDevicePin", request->request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  Converted converted = ToCommand(*request, who->name, *context_.payments);
  if (!call->Allowed(MayCommand(*who, converted.command, nullptr))) return call;
  // A retry of a PIN that committed gets that entry's wrapping (its nonce was random), so the
  // command is the same and the ledger answers the first receipt; a new key under a known
  // request id stays different (REQUEST_ID_REUSED), and no pad ever wraps two keys.
  v1::SetDevicePin* set = converted.command.mutable_set_device_pin();
  if (auto earlier = context_.ledger->GetEntryByRequestId(who->name, request->request_id());
      converted.ok() && earlier.ok() && earlier->entry.command().has_set_device_pin()) {
    const v1::SetDevicePin& before = earlier->entry.command().set_device_pin();
    const PaymentKey& keys = *context_.payments;
    if (before.principal() == set->principal() && !before.pin_key_wrapped().empty() &&
        !set->pin_key_wrapped().empty() &&
        keys.WrapPin(before.principal(), before.wrap_nonce(), before.pin_key_wrapped()) ==
            keys.WrapPin(set->principal(), set->wrap_nonce(), set->pin_key_wrapped())) {
      set->set_pin_key_wrapped(before.pin_key_wrapped());
      set->set_wrap_nonce(before.wrap_nonce());
    }
  }
  AttachConsent(context_, who->name, converted);
  std::string name = converted.command.set_device_pin().principal();
  SubmitForPrincipal(context_, call, std::move(converted), std::move(name), response);
  return call;
}

UnaryCall* AdminService::ListPrincipals(CallContext* ctx, const v1::ListPrincipalsRequest*,
                                        v1::ListPrincipalsResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListPrincipals", "");
  auto who = call->Authenticate();
  if (who == nullptr || !call->Allowed(MayListPrincipals(*who))) return call;
  auto records = context_.ledger->ListPrincipals();
  if (records.ok()) {
    for (auto& record : *records) {
      // A member sees its own devices: the MEMBER principals bound to its account.
      if (who->role == v1::ROLE_MEMBER &&
          (record.role() != v1::ROLE_MEMBER || record.accounts_size() != 1 ||
           !who->IsBound(record.accounts(0)))) {
        continue;
      }
      record.clear_token_sha256();
      record.clear_activation_sha256();
      *response->add_principals() = std::move(record);
    }
  }
  call->Done(ToStatus(records.status()));
  return call;
}

UnaryCall* AdminService::WhoAmI(CallContext* ctx, const v1::WhoAmIRequest*,
                                v1::PrincipalRecord* response) {
  auto* call = new UnaryCall(context_, ctx, "WhoAmI", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  *response = who->record;
  call->Done(grpc::Status::OK);
  return call;
}

UnaryCall* AdminService::Backup(CallContext* ctx, const v1::BackupRequest* request,
                                v1::BackupResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "Backup", "");
  auto who = call->Authenticate();
  if (who == nullptr || !call->Allowed(MayAdminister(*who))) return call;
  const std::string& dir = request->out_dir();
  if (dir.empty() || dir[0] != '/') {
    call->Done(ToStatus(Reason::kBackupPathInvalid,
                        "out_dir must be an absolute path on the server's machine"));
    return call;
  }
  auto head = context_.ledger->Backup(dir);
  if (!head.ok()) {
    const Reason reason = head.status().code() == absl::StatusCode::kAlreadyExists
                              ? Reason::kBackupExists
                              : Reason::kLedgerUnavailable;
    call->Done(ToStatus(reason, std::string(head.status().message())));
    return call;
  }
  // The ledger's signing key goes with it: certificates and proofs verify under it (a restore
  // without it needs --new-signing-key, docs/proofs.md).
  if (absl::Status kept = context_.signer->WriteTo(dir + "/signing.key"); !kept.ok()) {
    call->Done(ToStatus(Reason::kLedgerUnavailable, std::string(kept.message())));
    return call;
  }
  response->set_out_dir(dir);
  response->set_seq(head->seq);
  response->set_hash(HashToHex(head->hash));
  call->Done(grpc::Status::OK);
  return call;
}

}  // namespace lovebank::service
