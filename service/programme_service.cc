// service Programme: volunteers and students as programmes run them (issue #7;
// docs/programme.md): volunteer profiles with star levels, and the star thresholds.

#include "ledger/strings.h"
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

}  // namespace lovebank::service
