// One rule per programme setting (ledger/rules/settings.h).

#include "ledger/rules/settings.h"

#include <set>

#include "ledger/base/strings.h"
#include "ledger/base/text.h"

namespace lovebank::rules {
namespace {

Refusal Invalid(std::string message) { return {Reason::kSettingInvalid, std::move(message)}; }

// The programme's profile (issue #28): a name; town, office and display names as the notice
// prints them, each display name for one id.
std::variant<v1::SettingValue, Refusal> DecideProfile(const v1::SettingValue& asked) {
  const v1::ProgrammeProfile& profile = asked.programme_profile();
  if (profile.name().empty() || profile.name().size() > kDisplayNameBytesMax) {
    return Invalid(Cat("programme_profile.name is 1-", kDisplayNameBytesMax, " bytes"));
  }
  if (profile.town().size() > kDisplayNameBytesMax ||
      profile.office().size() > kDisplayNameBytesMax) {
    return Invalid(
        Cat("programme_profile.town and .office are at most ", kDisplayNameBytesMax, " bytes"));
  }
  std::set<std::string_view> ids;
  for (const auto& named : profile.display_names()) {
    if (named.id().empty() || named.id().size() > kAccountIdBytesMax || named.name().empty() ||
        named.name().size() > kDisplayNameBytesMax) {
      return Invalid(Cat("a display name's id is 1-", kAccountIdBytesMax, " bytes and its name 1-",
                         kDisplayNameBytesMax, " bytes"));
    }
    if (!ids.insert(named.id()).second) {
      return Invalid(Cat("programme_profile.display_names names ", Excerpt(named.id()), " twice"));
    }
  }
  return asked;
}

}  // namespace

std::variant<v1::SettingValue, Refusal> DecideSetting(const v1::SettingValue& asked,
                                                      const SettingFacts& /*facts*/) {
  switch (asked.value_case()) {
    case v1::SettingValue::kProgrammeProfile:
      return DecideProfile(asked);
    case v1::SettingValue::kPaymentCodeRequired:
      return asked;  // on or off: nothing to check
    case v1::SettingValue::VALUE_NOT_SET:
      break;
  }
  return Invalid("value names no setting this ledger knows");
}

}  // namespace lovebank::rules
