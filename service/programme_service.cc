// service Programme: volunteers and students as programmes run them (issue #7;
// docs/programme.md): volunteer profiles with star levels, and the star thresholds.

#include "ledger/base/strings.h"
#include "service/convert.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

// HOURS are defined at scale 2 by every ledger's genesis entries (ledger.cc).
constexpr std::uint32_t kHoursScale = 2;

std::string Hours(const Int128& minor) {
  return FormatAmount(Amount::FromMinor(minor), kHoursScale);
}

}  // namespace

grpc::ServerUnaryReactor* ProgrammeService::GetVolunteerProfile(
    grpc::CallbackServerContext* ctx, const v1::GetVolunteerProfileRequest* request,
    v1::VolunteerProfile* response) {
  auto* call = new UnaryCall(context_, ctx, "GetVolunteerProfile", "");
  if (AuthorizeRead(context_, call, Read::kBalance, request->account()) == nullptr) return call;
  auto profile = context_.ledger->GetVolunteerProfile(request->account());
  if (profile.ok()) {
    response->set_account(request->account());
    response->set_display_name(profile->account.display_name());
    response->set_cumulative_hours(Hours(profile->earned_hours_minor));
    response->set_balance_hours(Hours(profile->balance_hours_minor));
    response->set_star_level(profile->star_level);
    for (const Int128& threshold : profile->thresholds_minor) {
      response->add_star_thresholds(Hours(threshold));
    }
    if (profile->star_level < profile->thresholds_minor.size()) {
      const Int128& next = profile->thresholds_minor[profile->star_level];
      response->set_next_star_at(Hours(next));
      response->set_hours_to_next_star(Hours(next - profile->earned_hours_minor));
    }
    response->set_as_of_seq(profile->as_of_seq);
  }
  call->Done(ToStatus(profile.status()));
  return call;
}

grpc::ServerUnaryReactor* ProgrammeService::SetStarLevels(grpc::CallbackServerContext* ctx,
                                                          const v1::SetStarLevelsRequest* request,
                                                          v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetStarLevels", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::SetHoursCap(grpc::CallbackServerContext* ctx,
                                                        const v1::SetHoursCapRequest* request,
                                                        v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetHoursCap", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::SetDailyHoursCap(
    grpc::CallbackServerContext* ctx, const v1::SetDailyHoursCapRequest* request,
    v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetDailyHoursCap", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::SetAccountTags(grpc::CallbackServerContext* ctx,
                                                           const v1::SetAccountTagsRequest* request,
                                                           v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetAccountTags", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::SetFamily(grpc::CallbackServerContext* ctx,
                                                      const v1::SetFamilyRequest* request,
                                                      v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetFamily", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::SetTransferPolicy(
    grpc::CallbackServerContext* ctx, const v1::SetTransferPolicyRequest* request,
    v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetTransferPolicy", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::SetAwardRule(grpc::CallbackServerContext* ctx,
                                                         const v1::SetAwardRuleRequest* request,
                                                         v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetAwardRule", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::ListAwardRules(
    grpc::CallbackServerContext* ctx, const v1::ListAwardRulesRequest* /*request*/,
    v1::ListAwardRulesResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListAwardRules", "");
  // The rules are public (公示), like the prices.
  if (call->Authenticate() == nullptr) return call;
  auto rules = context_.ledger->GetAwardRules();
  if (rules.ok()) {
    for (auto& rule : *rules) *response->add_rules() = std::move(rule);
  }
  call->Done(ToStatus(rules.status()));
  return call;
}

grpc::ServerUnaryReactor* ProgrammeService::Award(grpc::CallbackServerContext* ctx,
                                                  const v1::AwardRequest* request,
                                                  v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "Award", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::SetApprovalThreshold(
    grpc::CallbackServerContext* ctx, const v1::SetApprovalThresholdRequest* request,
    v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetApprovalThreshold", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::Approve(grpc::CallbackServerContext* ctx,
                                                    const v1::ApproveRequest* request,
                                                    v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "Approve", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::Reject(grpc::CallbackServerContext* ctx,
                                                   const v1::RejectRequest* request,
                                                   v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "Reject", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::ListPending(grpc::CallbackServerContext* ctx,
                                                        const v1::ListPendingRequest* request,
                                                        v1::ListPendingResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListPending", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  // Approvers decide them, issuers make them, admins and auditors read everything; a member
  // sees its own.
  const bool everyone = who->role == v1::ROLE_APPROVER || who->role == v1::ROLE_ISSUER ||
                        who->role == v1::ROLE_ADMIN || who->role == v1::ROLE_AUDITOR;
  if (!everyone && (request->member().empty() || !who->IsBound(request->member()))) {
    call->Allowed({false, Cat(who->name, " (", RoleName(who->role),
                              ") may list only its own account's pending awards")});
    return call;
  }
  auto list = context_.ledger->GetPending(request->member(), request->include_closed());
  if (list.ok()) {
    for (auto& pending : list->pending) *response->add_pending() = std::move(pending);
    response->set_as_of_seq(list->as_of_seq);
  }
  call->Done(ToStatus(list.status()));
  return call;
}

grpc::ServerUnaryReactor* ProgrammeService::SetSetting(grpc::CallbackServerContext* ctx,
                                                       const v1::SetSettingRequest* request,
                                                       v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetSetting", *request, response);
}

grpc::ServerUnaryReactor* ProgrammeService::ListSettings(grpc::CallbackServerContext* ctx,
                                                         const v1::ListSettingsRequest* /*request*/,
                                                         v1::ListSettingsResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListSettings", "");
  // The programme's settings are public (公示), like its rules and prices.
  if (call->Authenticate() == nullptr) return call;
  auto list = context_.ledger->GetSettings();
  if (list.ok()) {
    for (auto& record : list->settings) *response->add_settings() = std::move(record);
    response->set_as_of_seq(list->as_of_seq);
  }
  call->Done(ToStatus(list.status()));
  return call;
}

}  // namespace lovebank::service
