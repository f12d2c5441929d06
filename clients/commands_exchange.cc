// lovebank request / offer / services: hours buy services (issue #26; docs/exchange.md). A
// member's phone token posts and acts for its own account; a social worker's (issuer) token
// posts for a member (--for), assigns a provider, confirms and resolves disputes.

#include <iostream>

#include "clients/commands.h"
#include "ledger/base/strings.h"

namespace lovebank::cli {
namespace {

const char* StateWord(v1::ServiceState state) {
  switch (state) {
    case v1::SERVICE_STATE_OPEN:
      return "待接单 open";
    case v1::SERVICE_STATE_ACCEPTED:
      return "已接单 accepted";
    case v1::SERVICE_STATE_COMPLETED:
      return "待确认 completed";
    case v1::SERVICE_STATE_DISPUTED:
      return "有争议 disputed";
    case v1::SERVICE_STATE_CONFIRMED:
      return "已确认 confirmed";
    case v1::SERVICE_STATE_RESOLVED:
      return "已裁定 resolved";
    case v1::SERVICE_STATE_CANCELLED:
      return "已取消 cancelled";
    case v1::SERVICE_STATE_EXPIRED:
      return "已过期 expired";
    default:
      return "?";
  }
}

std::string Named(const std::string& name, const std::string& account) {
  if (account.empty()) return "";
  return name.empty() ? account : name + " (" + account + ")";
}

void PrintService(const v1::Service& s) {
  std::cout << s.seq() << "  "
            << (s.kind() == v1::SERVICE_KIND_OFFER ? "提供 offer  " : "求助 request") << "  "
            << StateWord(s.state()) << "\n"
            << "    " << s.category() << "  " << s.description() << "\n"
            << "    " << s.day() << (s.time().empty() ? "" : " " + s.time())
            << (s.place().empty() ? "" : "  " + s.place()) << "\n"
            << "    " << (s.kind() == v1::SERVICE_KIND_OFFER ? "by " : "for ")
            << Named(s.member_name(), s.member());
  if (!s.hours().empty()) std::cout << "  " << s.hours() << " HOURS";
  if (!s.provider().empty()) {
    std::cout << "  provider " << Named(s.provider_name(), s.provider());
  }
  if (!s.claimed_hours().empty()) std::cout << "  recorded " << s.claimed_hours();
  if (!s.paid_hours().empty()) std::cout << "  paid " << s.paid_hours();
  if (s.funding() == v1::SERVICE_FUNDING_PROGRAMME) std::cout << "  (programme-funded)";
  std::cout << "\n";
}

// The options of a posting, shared by `request post` and `offer post`.
struct PostOptions {
  v1::PostServiceRequest request;
  std::string request_id;
};

CLI::App* AddPost(CLI::App& parent, bool offer, const std::shared_ptr<PostOptions>& o) {
  auto* post = parent.add_subcommand(
      "post", offer ? "offer a service you can do" : "ask for a service, paid with your hours");
  v1::PostService& s = *o->request.mutable_service();
  post->add_option("--category", *s.mutable_category(), "e.g. 陪护, 助老, 理发")->required();
  post->add_option("--description", *s.mutable_description(), "what is needed or offered")
      ->required();
  post->add_option("--day", *s.mutable_day(),
                   offer ? "the last day it stands, YYYY-MM-DD" : "the day of service, YYYY-MM-DD")
      ->required();
  post->add_option("--time", *s.mutable_time(), "free text, e.g. 09:00-11:00");
  post->add_option("--place", *s.mutable_place(), "the village or community, e.g. 柳树村");
  post->add_option("--for", *s.mutable_member(),
                   "the member (a social worker's token); default: your own account");
  if (!offer) {
    post->add_option("--hours", *s.mutable_hours(),
                     "hours paid, e.g. 2; default: the category's standard hours");
    post->add_option("--provider", *s.mutable_provider(),
                     "only this member may accept (booking someone's offer)");
  }
  post->add_option("--memo", *o->request.mutable_memo(), "free text");
  post->add_option("--request-id", o->request_id, "retry an interrupted call");
  return post;
}

// One step of a service (`request accept 41`, ...): the options every step takes.
struct StepOptions {
  v1::ServiceStepRequest request;
  std::uint64_t service_seq = 0;
  std::string request_id;
};

CLI::App* AddStep(CLI::App& parent, const std::string& name, const std::string& what,
                  const std::shared_ptr<StepOptions>& o) {
  auto* step = parent.add_subcommand(name, what);
  step->add_option("service", o->service_seq, "the service's number")->required();
  step->add_option("--memo", *o->request.mutable_memo(), "free text");
  step->add_option("--request-id", o->request_id, "retry an interrupted call");
  return step;
}

using StepCall = grpc::Status (v1::Exchange::Stub::*)(grpc::ClientContext*,
                                                      const v1::ServiceStepRequest&, v1::Receipt*);

void OnStep(CLI::App* step, Globals& globals, int* exit_code, const std::shared_ptr<StepOptions>& o,
            const std::string& command, StepCall call, const std::string& done) {
  step->callback([&globals, exit_code, o, command, call, done] {
    Session session(globals);
    v1::ServiceStepRequest r = o->request;
    r.set_service_seq(o->service_seq);
    r.set_request_id(o->request_id.empty() ? NewRequestId("service") : o->request_id);
    StepCall method = call;
    // `request accept 41 --provider V00002` from a social worker is an assignment.
    if (command == "request accept" && !r.provider().empty()) method = &v1::Exchange::Stub::Assign;
    *exit_code = Simple(
        session, r.request_id(), command, ToJson(r),
        [&](v1::Receipt* receipt) {
          return (session.exchange().*method)(session.Context().get(), r, receipt);
        },
        Cat("service ", r.service_seq(), ": ", done));
  });
}

void OnPost(CLI::App* post, Globals& globals, int* exit_code, const std::shared_ptr<PostOptions>& o,
            bool offer) {
  post->callback([&globals, exit_code, o, offer] {
    Session session(globals);
    v1::PostServiceRequest r = o->request;
    r.set_request_id(o->request_id.empty() ? NewRequestId(offer ? "offer" : "request")
                                           : o->request_id);
    *exit_code = Mutate(
        session, r.request_id(), offer ? "offer post" : "request post", ToJson(r),
        [&](v1::Receipt* receipt) {
          return offer ? session.exchange().PostOffer(session.Context().get(), r, receipt)
                       : session.exchange().PostRequest(session.Context().get(), r, receipt);
        },
        [offer](const v1::Receipt& receipt) {
          std::cout << "  " << (offer ? "offer" : "request") << " posted: service " << receipt.seq()
                    << "\n";
          PrintReceipt(receipt);
        });
  });
}

void AddRequest(CLI::App& app, Globals& globals, int* exit_code) {
  auto* request = app.add_subcommand("request", "ask for a service and see it through (求助)");
  request->require_subcommand(1);
  auto post = std::make_shared<PostOptions>();
  auto* post_command = AddPost(*request, false, post);
  post_command->footer(
      "Example:\n  lovebank request post --category 陪护 --description 陪同去镇卫生院复查 "
      "--day 2026-12-10 --time 09:00-11:00 --place 柳树村 --hours 2");
  OnPost(post_command, globals, exit_code, post, false);

  auto accept = std::make_shared<StepOptions>();
  auto* accept_command = AddStep(*request, "accept",
                                 "take a request as its provider (a social worker: --provider "
                                 "assigns one); its hours are held",
                                 accept);
  accept_command->add_option("--provider", *accept->request.mutable_provider(),
                             "the member who serves (a social worker's token)");
  OnStep(accept_command, globals, exit_code, accept, "request accept", &v1::Exchange::Stub::Accept,
         "accepted; its hours are held");

  auto complete = std::make_shared<StepOptions>();
  auto* complete_command =
      AddStep(*request, "complete", "record the time the service took (the provider)", complete);
  complete_command->add_option("--hours", *complete->request.mutable_hours(), "e.g. 2")->required();
  OnStep(complete_command, globals, exit_code, complete, "request complete",
         &v1::Exchange::Stub::Complete, "time recorded; waits for the requester's confirmation");

  auto confirm = std::make_shared<StepOptions>();
  auto* confirm_command = AddStep(
      *request, "confirm", "confirm the service received: the hours recorded are paid", confirm);
  confirm_command
      ->add_option("--hours", *confirm->request.mutable_hours(),
                   "the hours the provider recorded, as you agree to them (services --show N)")
      ->required();
  confirm_command->add_option("--payment-code", *confirm->request.mutable_payment_code(),
                              "this device's code, when it has a PIN");
  OnStep(confirm_command, globals, exit_code, confirm, "request confirm",
         &v1::Exchange::Stub::Confirm, "confirmed and paid");

  auto cancel = std::make_shared<StepOptions>();
  auto* cancel_command = AddStep(
      *request, "cancel",
      "withdraw (the requester, a social worker; the provider withdraws from it); hours go back",
      cancel);
  cancel_command->add_option("--reason", *cancel->request.mutable_reason(), "e.g. 服务者未到")
      ->required();
  OnStep(cancel_command, globals, exit_code, cancel, "request cancel", &v1::Exchange::Stub::Cancel,
         "cancelled; held hours went back");

  auto dispute = std::make_shared<StepOptions>();
  auto* dispute_command =
      AddStep(*request, "dispute", "dispute a completed service: a social worker decides", dispute);
  dispute_command->add_option("--reason", *dispute->request.mutable_reason(), "what is wrong")
      ->required();
  OnStep(dispute_command, globals, exit_code, dispute, "request dispute",
         &v1::Exchange::Stub::Dispute, "disputed; a social worker decides");

  auto resolve = std::make_shared<StepOptions>();
  auto* resolve_command = AddStep(
      *request, "resolve", "decide a dispute: --hours paid (0: none), the rest goes back", resolve);
  resolve_command->add_option("--hours", *resolve->request.mutable_hours(), "e.g. 1.5")->required();
  resolve_command->add_option("--reason", *resolve->request.mutable_reason(), "the decision")
      ->required();
  OnStep(resolve_command, globals, exit_code, resolve, "request resolve",
         &v1::Exchange::Stub::Resolve, "resolved");
}

void AddOffer(CLI::App& app, Globals& globals, int* exit_code) {
  auto* offer = app.add_subcommand("offer", "offer a service (a listing members ask for)");
  offer->require_subcommand(1);
  auto post = std::make_shared<PostOptions>();
  auto* post_command = AddPost(*offer, true, post);
  post_command->footer(
      "Example:\n  lovebank offer post --category 理发 --description 上门理发 --day 2026-12-31 "
      "--place 柳树村");
  OnPost(post_command, globals, exit_code, post, true);
  auto cancel = std::make_shared<StepOptions>();
  auto* cancel_command = AddStep(*offer, "cancel", "withdraw an offer", cancel);
  cancel_command->add_option("--reason", *cancel->request.mutable_reason(), "why")->required();
  OnStep(cancel_command, globals, exit_code, cancel, "offer cancel", &v1::Exchange::Stub::Cancel,
         "withdrawn");
}

void AddServices(CLI::App& app, Globals& globals, int* exit_code) {
  auto* services = app.add_subcommand("services", "requests and offers (newest first)");
  auto request = std::make_shared<v1::ListServicesRequest>();
  auto kind = std::make_shared<std::string>();
  auto show = std::make_shared<std::uint64_t>(0);
  auto open_only = std::make_shared<bool>(false);
  services->add_option("--kind", *kind, "request or offer; default both")
      ->check(CLI::IsMember({"request", "offer"}));
  services->add_flag("--open", *open_only, "only those still open");
  services->add_option("--category", *request->mutable_category(), "e.g. 陪护");
  services->add_option("--place", *request->mutable_place(), "a part of the place, e.g. 柳树村");
  services->add_option("--member", *request->mutable_member(),
                       "where this account asks, offers or serves");
  services->add_option("--show", *show, "one service, by its number");
  services->footer(
      "Examples:\n  lovebank services --open --place 柳树村\n  lovebank services --show 41");
  services->callback([&globals, exit_code, request, kind, show, open_only] {
    Session session(globals);
    if (*show != 0) {
      v1::GetServiceRequest get;
      get.set_service_seq(*show);
      v1::Service service;
      const grpc::Status status =
          session.exchange().GetService(session.Context().get(), get, &service);
      if (!status.ok()) {
        *exit_code = Fail(globals, status);
        return;
      }
      if (globals.json) {
        PrintJson(ToJson(service));
      } else {
        PrintService(service);
      }
      *exit_code = kExitOk;
      return;
    }
    v1::ListServicesRequest r = *request;
    r.set_open_only(*open_only);
    if (*kind == "request") r.set_kind(v1::SERVICE_KIND_REQUEST);
    if (*kind == "offer") r.set_kind(v1::SERVICE_KIND_OFFER);
    v1::ListServicesResponse response;
    const grpc::Status status =
        session.exchange().ListServices(session.Context().get(), r, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      if (response.services().empty()) std::cout << "no services\n";
      for (const auto& service : response.services()) PrintService(service);
      if (response.next_cursor() != 0) std::cout << "(more: older ones not shown)\n";
    }
    *exit_code = kExitOk;
  });
}

}  // namespace

void AddExchangeCommands(CLI::App& app, Globals& globals, int* exit_code) {
  AddRequest(app, globals, exit_code);
  AddOffer(app, globals, exit_code);
  AddServices(app, globals, exit_code);
}

}  // namespace lovebank::cli
