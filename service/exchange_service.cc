// service Exchange (issue #26; docs/exchange.md): hours buy services. Posting, the steps of a
// request and the reads of the marketplace. Who may act on a request depends on the request as
// it stands, so the sequencer decides it (ledger/rules/services.h CheckServiceActor); this file
// only maps a role to the RPCs it may call at all (access.cc) and fills what a member's phone
// leaves implicit (the member's own account).

#include "ledger/base/strings.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

constexpr std::size_t kListLimitDefault = 50;
constexpr std::size_t kListLimitMax = 200;
// HOURS are defined at scale 2 by every ledger's genesis entries (ledger.cc).
constexpr std::uint32_t kHoursScale = 2;

// A member's phone speaks for its own account: a posting or an acceptance that names none is
// its account's.
std::string OwnAccount(const Principal& who) {
  return who.role == v1::ROLE_MEMBER && who.accounts.size() == 1 ? who.accounts[0] : "";
}

UnaryCall* SubmitPost(const Context& context, CallContext* ctx, const char* method,
                      const v1::PostServiceRequest& request, v1::ServiceKind kind,
                      v1::Receipt* response) {
  auto* call = new UnaryCall(context, ctx, method, request.request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  v1::PostServiceRequest filled = request;
  filled.mutable_service()->set_kind(kind);
  if (filled.service().member().empty()) filled.mutable_service()->set_member(OwnAccount(*who));
  Submit(context, call, *who, ToCommand(filled, who->name), nullptr, response);
  return call;
}

UnaryCall* SubmitStep(const Context& context, CallContext* ctx, const char* method,
                      const v1::ServiceStepRequest& request, ServiceStep step,
                      v1::Receipt* response) {
  auto* call = new UnaryCall(context, ctx, method, request.request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  if (step == ServiceStep::kAssign && who->role == v1::ROLE_MEMBER) {
    call->Allowed(Decision{false, Cat(who->name, " (MEMBER) may not assign: a member accepts")});
    return call;
  }
  v1::ServiceStepRequest filled = request;
  if (step == ServiceStep::kAccept && filled.provider().empty()) {
    filled.set_provider(OwnAccount(*who));
  }
  Submit(context, call, *who, ToCommand(filled, who->name, step), nullptr, response);
  return call;
}

// Whether `who` sees `service`: social workers, admins and auditors every one; a member the
// open ones (the marketplace) and those it takes part in; nobody else any.
bool Sees(const Principal& who, const v1::ServiceRecord& service) {
  switch (who.role) {
    case v1::ROLE_ADMIN:
    case v1::ROLE_AUDITOR:
    case v1::ROLE_ISSUER:
      return true;
    case v1::ROLE_MEMBER:
      return service.state() == v1::SERVICE_STATE_OPEN || who.IsBound(service.member()) ||
             who.IsBound(service.provider());
    default:
      return false;
  }
}

std::string NameOf(Ledger& ledger, const std::string& account) {
  if (account.empty()) return "";
  auto record = ledger.GetAccount(account);
  return record.ok() ? record->display_name() : "";
}

std::string HoursText(const std::string& minor, std::uint32_t scale) {
  if (minor.empty()) return "";
  auto value = MinorFromString(minor);
  return value ? FormatAmount(Amount::FromMinor(*value), scale) : "";
}

void Show(Ledger& ledger, const v1::ServiceRecord& service, std::uint32_t scale,
          v1::Service* shown) {
  shown->set_seq(service.seq());
  shown->set_kind(service.kind());
  shown->set_member(service.member());
  shown->set_member_name(NameOf(ledger, service.member()));
  shown->set_category(service.category());
  shown->set_description(service.description());
  shown->set_place(service.place());
  shown->set_day(service.day());
  shown->set_time(service.time());
  shown->set_hours(HoursText(service.hours_minor(), scale));
  shown->set_provider(service.provider());
  shown->set_provider_name(NameOf(ledger, service.provider()));
  shown->set_state(service.state());
  shown->set_claimed_hours(HoursText(service.claimed_minor(), scale));
  shown->set_paid_hours(HoursText(service.paid_minor(), scale));
  shown->set_funding(service.funding());
  shown->set_time_unix_us(service.time_unix_us());
  shown->set_expires_unix_us(service.expires_unix_us());
  shown->set_accepted_seq(service.accepted_seq());
  shown->set_changed_seq(service.changed_seq());
  shown->set_closed_seq(service.closed_seq());
}

}  // namespace

UnaryCall* ExchangeService::PostRequest(CallContext* ctx, const v1::PostServiceRequest* request,
                                        v1::Receipt* response) {
  return SubmitPost(context_, ctx, "PostRequest", *request, v1::SERVICE_KIND_REQUEST, response);
}

UnaryCall* ExchangeService::PostOffer(CallContext* ctx, const v1::PostServiceRequest* request,
                                      v1::Receipt* response) {
  return SubmitPost(context_, ctx, "PostOffer", *request, v1::SERVICE_KIND_OFFER, response);
}

UnaryCall* ExchangeService::Accept(CallContext* ctx, const v1::ServiceStepRequest* request,
                                   v1::Receipt* response) {
  return SubmitStep(context_, ctx, "Accept", *request, ServiceStep::kAccept, response);
}

UnaryCall* ExchangeService::Assign(CallContext* ctx, const v1::ServiceStepRequest* request,
                                   v1::Receipt* response) {
  return SubmitStep(context_, ctx, "Assign", *request, ServiceStep::kAssign, response);
}

UnaryCall* ExchangeService::Complete(CallContext* ctx, const v1::ServiceStepRequest* request,
                                     v1::Receipt* response) {
  return SubmitStep(context_, ctx, "Complete", *request, ServiceStep::kComplete, response);
}

UnaryCall* ExchangeService::Confirm(CallContext* ctx, const v1::ServiceStepRequest* request,
                                    v1::Receipt* response) {
  return SubmitStep(context_, ctx, "Confirm", *request, ServiceStep::kConfirm, response);
}

UnaryCall* ExchangeService::Cancel(CallContext* ctx, const v1::ServiceStepRequest* request,
                                   v1::Receipt* response) {
  return SubmitStep(context_, ctx, "Cancel", *request, ServiceStep::kCancel, response);
}

UnaryCall* ExchangeService::Dispute(CallContext* ctx, const v1::ServiceStepRequest* request,
                                    v1::Receipt* response) {
  return SubmitStep(context_, ctx, "Dispute", *request, ServiceStep::kDispute, response);
}

UnaryCall* ExchangeService::Resolve(CallContext* ctx, const v1::ServiceStepRequest* request,
                                    v1::Receipt* response) {
  return SubmitStep(context_, ctx, "Resolve", *request, ServiceStep::kResolve, response);
}

UnaryCall* ExchangeService::GetService(CallContext* ctx, const v1::GetServiceRequest* request,
                                       v1::Service* response) {
  auto* call = new UnaryCall(context_, ctx, "GetService", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  if (who->role == v1::ROLE_TERMINAL || who->role == v1::ROLE_APPROVER) {
    call->Allowed(
        Decision{false, Cat(who->name, " (", RoleName(who->role), ") may not read services")});
    return call;
  }
  auto service = context_.ledger->GetService(request->service_seq());
  if (!service.ok()) {
    call->Done(ToStatus(service.status()));
    return call;
  }
  // Not one of the caller's and no longer open: the same answer as one that does not exist.
  if (!Sees(*who, *service)) {
    call->Done(ToStatus(Reason::kServiceUnknown, Cat("no service ", request->service_seq())));
    return call;
  }
  Show(*context_.ledger, *service, kHoursScale, response);
  call->Done(grpc::Status::OK);
  return call;
}

UnaryCall* ExchangeService::ListServices(CallContext* ctx, const v1::ListServicesRequest* request,
                                         v1::ListServicesResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListServices", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  if (who->role == v1::ROLE_TERMINAL || who->role == v1::ROLE_APPROVER) {
    call->Allowed(
        Decision{false, Cat(who->name, " (", RoleName(who->role), ") may not list services")});
    return call;
  }
  if (request->limit() > kListLimitMax) {
    call->Done(ToStatus(Reason::kServiceInvalid, Cat("limit is at most ", kListLimitMax)));
    return call;
  }
  Ledger::ServiceFilter filter;
  filter.kind = request->kind();
  filter.open_only = request->open_only();
  // A member sees the marketplace and its own; the ledger filters before the page is cut.
  if (who->role == v1::ROLE_MEMBER) filter.viewer = OwnAccount(*who);
  filter.category = request->category();
  filter.place = request->place();
  filter.member = request->member();
  filter.cursor = request->cursor();
  filter.limit = request->limit() == 0 ? kListLimitDefault : request->limit();
  auto list = context_.ledger->ListServices(filter);
  if (!list.ok()) {
    call->Done(ToStatus(list.status()));
    return call;
  }
  const std::uint32_t scale = kHoursScale;
  for (const auto& service : list->services) {
    if (Sees(*who, service)) Show(*context_.ledger, service, scale, response->add_services());
  }
  response->set_next_cursor(list->next_cursor);
  call->Done(grpc::Status::OK);
  return call;
}

}  // namespace lovebank::service
