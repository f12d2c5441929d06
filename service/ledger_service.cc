// service Ledger: accounts, movements, reads and batches over the ledger.

#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"
#include "service/convert.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

// The entry a Reverse names, looked up so that authorization can see what it undoes.
struct ReverseTarget {
  Reason reason = Reason::kOk;  // kEntryTargetInvalid when the request names nothing
  std::uint64_t seq = 0;        // 0 when unknown (the ledger then answers ENTRY_UNKNOWN)
  std::optional<v1::Entry> entry;
};
// A request id is its actor's own: `target_actor` (empty: the caller) names whose; naming
// another principal's is for admins, the one role that may undo any entry.
absl::StatusOr<ReverseTarget> FindReverseTarget(Ledger& ledger, const v1::ReverseRequest& request,
                                                const Principal& who) {
  ReverseTarget target;
  absl::StatusOr<StoredEntry> stored;
  switch (request.target_case()) {
    case v1::ReverseRequest::kSeq:
      target.seq = request.seq();
      stored = ledger.GetEntry(request.seq());
      break;
    case v1::ReverseRequest::kTargetRequestId: {
      const std::string& actor = request.target_actor().empty() ? who.name : request.target_actor();
      if (actor != who.name && who.role != v1::ROLE_ADMIN) {
        target.reason = Reason::kPermissionDenied;
        return target;
      }
      stored = ledger.GetEntryByRequestId(actor, request.target_request_id());
      break;
    }
    case v1::ReverseRequest::TARGET_NOT_SET:
      target.reason = Reason::kEntryTargetInvalid;
      return target;
  }
  if (stored.ok()) {
    target.seq = stored->seq;
    target.entry = std::move(stored->entry);
  } else if (ReasonOf(stored.status()) == Reason::kRequestIdInvalid) {
    target.reason = Reason::kRequestIdInvalid;
  } else if (ReasonOf(stored.status()) != Reason::kEntryUnknown) {
    return stored.status();
  }
  return target;
}

Converted ConvertReverse(const v1::ReverseRequest& request, std::string_view actor,
                         const ReverseTarget& target) {
  Converted converted = ToCommand(request, actor, target.seq);
  switch (target.reason) {
    case Reason::kOk:
      break;
    case Reason::kEntryTargetInvalid:
      converted.reason = target.reason;
      converted.message = "name the entry to reverse by seq or target_request_id";
      break;
    case Reason::kPermissionDenied:
      converted.reason = target.reason;
      converted.message = "only admins name another principal's request id (target_actor)";
      break;
    default:
      converted.reason = target.reason;
      converted.message = "target_request_id is not a valid request id";
      break;
  }
  return converted;
}

void ToBatchResult(Reason reason, const std::string& message, v1::BatchResult* result) {
  result->set_reason(static_cast<v1::Reason>(reason));
  result->set_code(static_cast<int>(ReasonCode(reason)));
  result->set_message(message);
}

}  // namespace

// Authenticates and authorizes a read of `account`; null when the call was finished.
std::shared_ptr<const Principal> AuthorizeRead(const Context& context, UnaryCall* call, Read what,
                                               std::string_view account) {
  auto who = call->Authenticate();
  if (who == nullptr) return nullptr;
  auto kind = KindOf(*context.ledger, account);
  if (!kind.ok()) {
    call->Done(ToStatus(kind.status()));
    return nullptr;
  }
  if (!call->Allowed(MayRead(*who, what, account, *kind))) return nullptr;
  return who;
}

// The PaymentConsent of a command that takes one (Checkout, AuthorizeHold, Redeem, a member's
// Transfer, a device's SetDevicePin, a requester's ConfirmService), else null.
v1::PaymentConsent* ConsentOf(v1::Command& c) {
  if (c.has_checkout()) return c.mutable_checkout()->mutable_consent();
  if (c.has_authorize_hold()) return c.mutable_authorize_hold()->mutable_consent();
  if (c.has_redeem()) return c.mutable_redeem()->mutable_consent();
  if (c.has_transfer()) return c.mutable_transfer()->mutable_consent();
  if (c.has_set_device_pin()) return c.mutable_set_device_pin()->mutable_consent();
  if (c.has_confirm_service()) return c.mutable_confirm_service()->mutable_consent();
  return nullptr;
}

void AttachConsent(const Context& context, std::string_view actor, Converted& converted) {
  if (!converted.ok()) return;
  v1::Command& c = converted.command;
  v1::PaymentConsent* consent = ConsentOf(c);
  if (consent == nullptr) return;  // the converters take a code on those only
  // A retry of a request that committed carries a code that may have expired since (or none): it
  // gets the entry's own consent, exactly, so the ledger answers the first receipt (or, when
  // the request differs, REQUEST_ID_REUSED). Nothing new can commit under a known request id,
  // so no code is needed to learn its answer.
  if (auto stored = context.ledger->GetEntryByRequestId(actor, c.request_id()); stored.ok()) {
    if (const v1::PaymentConsent* first = ConsentOf(*stored->entry.mutable_command())) {
      *consent = *first;
      return;
    }
  }
  if (converted.payment_code.empty()) return;
  // The code's MAC needs the server's key: checked here, with the device's lock; the sequencer
  // checks the rest (the device is the member's, activated, unrevoked; the window; each code once;
  // the PIN the MAC was checked against is still the device's).
  const std::string& member = c.has_checkout()          ? c.checkout().member()
                              : c.has_authorize_hold()  ? c.authorize_hold().member()
                              : c.has_redeem()          ? c.redeem().from()
                              : c.has_transfer()        ? c.transfer().from()
                              : c.has_confirm_service() ? std::string(actor)
                                                        : c.set_device_pin().principal();
  const auto invalid = [&] {
    converted.reason = Reason::kPaymentCodeInvalid;
    converted.message = Cat("payment code: not a code of ", member,
                            "'s phone now (mistyped, expired, made without its PIN, or another "
                            "member's)");
  };
  auto parts = ParsePaymentCode(converted.payment_code);
  auto device = parts ? context.principals->FindDevice(parts->device_number) : std::nullopt;
  // Whose the code claims to be, before anything is counted against the device: a caller can
  // only spend a guess on the device of the member (or, for a transfer or a PIN, the device)
  // its request names — never lock a stranger's phone.
  const bool theirs =
      device && (c.has_set_device_pin() ? device->principal() == member
                 : c.has_transfer() || c.has_confirm_service()
                     ? device->principal() == actor
                     : device->accounts_size() == 1 && device->accounts(0) == member);
  if (!theirs) return invalid();
  const std::int64_t now = context.clock();
  if (!context.payment_guard->Admit(parts->device_number, now)) {
    converted.reason = Reason::kPaymentCodeLocked;
    converted.message = Cat("payment code: ", kPaymentCodeFailuresMax,
                            " wrong codes of this phone in a row; its codes are refused for ",
                            kPaymentCodeLockSeconds / 60, " minutes from the last");
    return;
  }
  auto counter = VerifyPaymentCode(context.payments->CodeKeyFor(*device), *parts, now);
  if (!counter) return invalid();
  context.payment_guard->Succeeded(parts->device_number);
  consent->set_device(device->principal());
  consent->set_counter(*counter);
  consent->set_pin_seq(device->pin_seq());
}

// Authorize, then validate, then submit: a caller learns nothing about a request it may not make.
void Submit(const Context& context, UnaryCall* call, const Principal& who, Converted converted,
            const v1::Entry* reverse_target, v1::Receipt* response,
            std::function<void(const Outcome&, v1::Receipt*)> decorate) {
  if (!call->Allowed(MayCommand(who, converted.command, reverse_target))) return;
  AttachConsent(context, who.name, converted);
  if (!converted.ok()) {
    call->Done(ToStatus(converted.reason, converted.message));
    return;
  }
  if (call->Expired()) return;
  const std::string request_id = converted.command.request_id();
  context.ledger->Submit(
      std::move(converted.command),
      [call, response, request_id, decorate = std::move(decorate)](Outcome outcome) {
        if (outcome.ok()) {
          ToReceipt(outcome, request_id, response);
          if (decorate) decorate(outcome, response);
        }
        call->Done(ToStatus(outcome), outcome.receipt.seq);
      });
}

template <class Request>
UnaryCall* LedgerService::Mutate(CallContext* ctx, const char* method, const Request& request,
                                 v1::Receipt* response) {
  auto* call = new UnaryCall(context_, ctx, method, request.request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  Submit(context_, call, *who, ToCommand(request, who->name), nullptr, response);
  return call;
}

UnaryCall* LedgerService::OpenAccount(CallContext* ctx, const v1::OpenAccountRequest* request,
                                      v1::Receipt* response) {
  return Mutate(ctx, "OpenAccount", *request, response);
}

UnaryCall* LedgerService::SetAccountStatus(CallContext* ctx,
                                           const v1::SetAccountStatusRequest* request,
                                           v1::Receipt* response) {
  return Mutate(ctx, "SetAccountStatus", *request, response);
}

UnaryCall* LedgerService::SetAccountContact(CallContext* ctx,
                                            const v1::SetAccountContactRequest* request,
                                            v1::Receipt* response) {
  return Mutate(ctx, "SetAccountContact", *request, response);
}

UnaryCall* LedgerService::SetBudget(CallContext* ctx, const v1::SetBudgetRequest* request,
                                    v1::Receipt* response) {
  return Mutate(ctx, "SetBudget", *request, response);
}

UnaryCall* LedgerService::Earn(CallContext* ctx, const v1::EarnRequest* request,
                               v1::Receipt* response) {
  return Mutate(ctx, "Earn", *request, response);
}

UnaryCall* LedgerService::Deduct(CallContext* ctx, const v1::DeductRequest* request,
                                 v1::Receipt* response) {
  return Mutate(ctx, "Deduct", *request, response);
}

UnaryCall* LedgerService::Redeem(CallContext* ctx, const v1::RedeemRequest* request,
                                 v1::Receipt* response) {
  return Mutate(ctx, "Redeem", *request, response);
}

UnaryCall* LedgerService::Transfer(CallContext* ctx, const v1::TransferRequest* request,
                                   v1::Receipt* response) {
  return Mutate(ctx, "Transfer", *request, response);
}

UnaryCall* LedgerService::Reverse(CallContext* ctx, const v1::ReverseRequest* request,
                                  v1::Receipt* response) {
  auto* call = new UnaryCall(context_, ctx, "Reverse", request->request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  auto target = FindReverseTarget(*context_.ledger, *request, *who);
  if (!target.ok()) {
    call->Done(ToStatus(target.status()));
    return call;
  }
  Submit(context_, call, *who, ConvertReverse(*request, who->name, *target),
         target->entry ? &*target->entry : nullptr, response);
  return call;
}

UnaryCall* LedgerService::GetAccount(CallContext* ctx, const v1::GetAccountRequest* request,
                                     v1::AccountRecord* response) {
  auto* call = new UnaryCall(context_, ctx, "GetAccount", "");
  auto who = AuthorizeRead(context_, call, Read::kAccount, request->account());
  if (who == nullptr) return call;
  auto record = context_.ledger->GetAccount(request->account());
  if (record.ok()) *response = ShownTo(*who, std::move(*record));
  call->Done(ToStatus(record.status()));
  return call;
}

UnaryCall* LedgerService::ListAccounts(CallContext* ctx, const v1::ListAccountsRequest* request,
                                       v1::ListAccountsResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListAccounts", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  if (!request->tag().empty() && !call->Allowed(MaySelectByTag(*who))) return call;
  if (!call->Allowed(MaySelectByPhone(*who, request->phone()))) return call;
  // The cursor is sealed: the place a page ends can be an account the caller may not see.
  auto position = context_.cursors->Open(request->cursor());
  if (!position) {
    call->Done(ToStatus(Reason::kCursorInvalid,
                        "not a cursor this server handed out (cursors last until it restarts)"));
    return call;
  }
  Ledger::AccountQuery query;
  query.kind = request->kind();
  query.tag = request->tag();
  query.id_prefix = request->id_prefix();
  query.name_contains = request->name_contains();
  query.card_number = request->card_number();
  query.phone = request->phone();
  query.page_size = request->page_size() == 0 ? kStatementPageSizeDefault : request->page_size();
  query.cursor = *position;
  // What GetAccount would show this caller, account by account.
  query.visible = [&who](const v1::AccountRecord& record) {
    return MayRead(*who, Read::kAccount, record.account(), record.kind()).allowed;
  };
  auto page = context_.ledger->ListAccounts(query);
  if (page.ok()) {
    for (auto& record : page->accounts)
      *response->add_accounts() = ShownTo(*who, std::move(record));
    response->set_next_cursor(context_.cursors->Seal(page->next_cursor));
    response->set_as_of_seq(page->as_of_seq);
  }
  call->Done(ToStatus(page.status()));
  return call;
}

UnaryCall* LedgerService::GetBalance(CallContext* ctx, const v1::GetBalanceRequest* request,
                                     v1::GetBalanceResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "GetBalance", "");
  if (AuthorizeRead(context_, call, Read::kBalance, request->account()) == nullptr) return call;
  std::optional<std::uint64_t> as_of;
  if (request->has_as_of_seq()) as_of = request->as_of_seq();
  auto sheet = context_.ledger->GetBalanceSheet(request->account(), as_of);
  if (sheet.ok()) {
    response->set_account(request->account());
    response->set_as_of_seq(sheet->as_of_seq);
    for (const BalanceLine& line : sheet->lines) *response->add_balances() = ToBalance(line);
  }
  call->Done(ToStatus(sheet.status()));
  return call;
}

UnaryCall* LedgerService::ListEntries(CallContext* ctx, const v1::ListEntriesRequest* request,
                                      v1::ListEntriesResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListEntries", "");
  if (AuthorizeRead(context_, call, Read::kStatement, request->account()) == nullptr) return call;
  const std::size_t page_size =
      request->page_size() == 0 ? kStatementPageSizeDefault : request->page_size();
  auto page = context_.ledger->ListEntries(request->account(), page_size, request->cursor());
  if (page.ok()) {
    for (const StatementItem& item : page->items) ToStatementItem(item, response->add_items());
    response->set_next_cursor(page->next_cursor);
  }
  call->Done(ToStatus(page.status()));
  return call;
}

UnaryCall* LedgerService::GetEntry(CallContext* ctx, const v1::GetEntryRequest* request,
                                   v1::GetEntryResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "GetEntry", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  absl::StatusOr<StoredEntry> stored;
  switch (request->target_case()) {
    case v1::GetEntryRequest::kSeq:
      stored = context_.ledger->GetEntry(request->seq());
      break;
    case v1::GetEntryRequest::kRequestId: {
      const std::string& actor =
          request->request_actor().empty() ? who->name : request->request_actor();
      if (actor != who->name && who->role != v1::ROLE_ADMIN && who->role != v1::ROLE_AUDITOR) {
        call->Done(ToStatus(Reason::kPermissionDenied,
                            "only admins and auditors name another principal's request id"));
        return call;
      }
      stored = context_.ledger->GetEntryByRequestId(actor, request->request_id());
      break;
    }
    case v1::GetEntryRequest::TARGET_NOT_SET:
      call->Done(ToStatus(Reason::kEntryTargetInvalid, "name the entry by seq or request_id"));
      return call;
  }
  if (absl::Status shown = EntryShownTo(*who, stored); !shown.ok()) {
    call->Done(ToStatus(shown));
    return call;
  }
  const std::uint64_t seq = stored->seq;
  ToEntryResponse(std::move(*stored), response);
  call->Done(grpc::Status::OK, seq);
  return call;
}

UnaryCall* LedgerService::SubmitBatch(CallContext* ctx, const v1::SubmitBatchRequest* request,
                                      v1::SubmitBatchResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "SubmitBatch", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  SubmitCommands(context_, call, *who, request->commands(), request->all_or_nothing(),
                 response->mutable_results(), [call](grpc::Status status) { call->Done(status); });
  return call;
}

void SubmitCommands(const Context& context, UnaryCall* call, const Principal& who,
                    const google::protobuf::RepeatedPtrField<v1::BatchCommand>& batch,
                    bool all_or_nothing,
                    google::protobuf::RepeatedPtrField<v1::BatchResult>* results,
                    std::function<void(grpc::Status)> done) {
  const std::size_t count = batch.size();
  // The ledger's own limit (LedgerOptions::batch_size_max), never the default constant: a
  // batch the service accepts is one the ledger takes whole.
  const std::size_t most = context.ledger->batch_size_max();
  if (count == 0 || count > most) {
    done(ToStatus(Reason::kBatchSizeInvalid, Cat(count, " commands; a batch holds 1-", most)));
    return;
  }
  // Convert and authorize every command first: one denied command denies the whole batch.
  std::vector<Converted> converted(count);
  for (std::size_t i = 0; i < count; ++i) {
    const v1::BatchCommand& command = batch[static_cast<int>(i)];
    std::optional<v1::Entry> target;
    switch (command.command_case()) {
      case v1::BatchCommand::kEarn:
        converted[i] = ToCommand(command.earn(), who.name);
        break;
      case v1::BatchCommand::kDeduct:
        converted[i] = ToCommand(command.deduct(), who.name);
        break;
      case v1::BatchCommand::kRedeem:
        converted[i] = ToCommand(command.redeem(), who.name);
        break;
      case v1::BatchCommand::kTransfer:
        converted[i] = ToCommand(command.transfer(), who.name);
        break;
      case v1::BatchCommand::kOpenAccount:
        converted[i] = ToCommand(command.open_account(), who.name);
        break;
      case v1::BatchCommand::kSetAccountStatus:
        converted[i] = ToCommand(command.set_account_status(), who.name);
        break;
      case v1::BatchCommand::kAward:
        converted[i] = ToCommand(command.award(), who.name);
        break;
      case v1::BatchCommand::kSetItem:
        converted[i] = ToCommand(command.set_item(), who.name);
        break;
      case v1::BatchCommand::kReceiveStock:
        converted[i] = ToCommand(command.receive_stock(), who.name, /*receive=*/true);
        break;
      case v1::BatchCommand::kReverse: {
        auto found = FindReverseTarget(*context.ledger, command.reverse(), who);
        if (!found.ok()) {
          done(ToStatus(found.status()));
          return;
        }
        if (found->reason == Reason::kPermissionDenied) {  // another's request id: denied whole
          done(ToStatus(Reason::kPermissionDenied,
                        Cat("command ", i, ": only admins name another principal's request id")));
          return;
        }
        converted[i] = ConvertReverse(command.reverse(), who.name, *found);
        target = std::move(found->entry);
        break;
      }
      case v1::BatchCommand::COMMAND_NOT_SET:
        converted[i].reason = Reason::kCommandMissing;
        converted[i].message = "the batch command has no body";
        continue;
    }
    const Decision decision = MayCommand(who, converted[i].command, target ? &*target : nullptr);
    if (!decision.allowed) {
      done(ToStatus(Reason::kPermissionDenied, Cat("command ", i, ": ", decision.why)));
      return;
    }
  }
  for (Converted& each : converted) AttachConsent(context, who.name, each);
  // Service-rule refusals answer for themselves; the rest go to the ledger as one group.
  std::vector<std::size_t> index;
  std::vector<std::string> ids;
  std::vector<v1::Command> commands;
  for (std::size_t i = 0; i < count; ++i) {
    v1::BatchResult* result = results->Add();
    if (!converted[i].ok()) {
      ToBatchResult(converted[i].reason, converted[i].message, result);
      continue;
    }
    index.push_back(i);
    ids.push_back(converted[i].command.request_id());
    commands.push_back(std::move(converted[i].command));
  }
  if (commands.empty() || (all_or_nothing && commands.size() != count)) {
    for (std::size_t i : index) {
      ToBatchResult(Reason::kBatchAborted,
                    "another command of the all-or-nothing batch was refused",
                    results->Mutable(static_cast<int>(i)));
    }
    done(grpc::Status::OK);
    return;
  }
  if (call->Expired()) return;
  context.ledger->SubmitMany(
      std::move(commands),
      [results, done = std::move(done), index = std::move(index),
       ids = std::move(ids)](std::vector<Outcome> outcomes) {
        // Refused as a whole before any was decided (queue full, storage failed): the call
        // fails with that status, like a unary call would, so a client retries it whole.
        const Reason first = outcomes.front().reason;
        const bool before_queue = IsTransient(first) || first == Reason::kLedgerReadOnly;
        if (before_queue &&
            std::all_of(outcomes.begin(), outcomes.end(), [first](const Outcome& o) {
              return o.reason == first && o.decided_at_seq == 0;
            })) {
          done(ToStatus(outcomes.front()));
          return;
        }
        for (std::size_t k = 0; k < outcomes.size(); ++k) {
          v1::BatchResult* result = results->Mutable(static_cast<int>(index[k]));
          ToBatchResult(outcomes[k].reason, outcomes[k].message, result);
          if (outcomes[k].ok()) {
            ToReceipt(outcomes[k], ids[k], result->mutable_receipt());
          }
        }
        done(grpc::Status::OK);
      },
      all_or_nothing);
}

}  // namespace lovebank::service
