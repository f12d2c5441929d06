// The audit's rules of programme settings (journal.proto SettingValue), written apart from the
// engine's (ledger/rules/settings.cc): a SetSetting entry is the record its setting's rule
// allows, kept under its meta key for the comparison with the store (compare.cc). The switch is
// exhaustive: a new setting without an audit rule does not compile.

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {
namespace {

// The programme's profile: named; every display name for a distinct id; the lengths the
// programme's notice and pages are laid out for.
std::string ProfileProblem(const v1::ProgrammeProfile& profile) {
  auto within = [](const std::string& text, std::size_t low, std::size_t high) {
    return text.size() >= low && text.size() <= high;
  };
  if (!within(profile.name(), 1, kDisplayNameBytesMax)) return "the programme has no name";
  if (!within(profile.town(), 0, kDisplayNameBytesMax) ||
      !within(profile.office(), 0, kDisplayNameBytesMax)) {
    return "town or office too long";
  }
  std::set<std::string> seen;
  for (const auto& named : profile.display_names()) {
    if (!within(named.id(), 1, kAccountIdBytesMax) ||
        !within(named.name(), 1, kDisplayNameBytesMax)) {
      return Cat("display name for ", named.id(), " malformed");
    }
    if (!seen.insert(named.id()).second) return Cat("display name for ", named.id(), " twice");
  }
  return {};
}

}  // namespace

Expectation ExpectSetting(const v1::Command& command, std::uint64_t seq, State& state,
                          Findings& findings) {
  Expectation expectation;
  const v1::SettingValue& value = command.set_setting().value();
  std::string problem;
  switch (value.value_case()) {
    case v1::SettingValue::kProgrammeProfile:
      problem = ProfileProblem(value.programme_profile());
      break;
    case v1::SettingValue::kPaymentCodeRequired:
      break;  // on or off
    case v1::SettingValue::VALUE_NOT_SET:
      problem = "no setting named";
      break;
  }
  if (!problem.empty()) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a setting its rule allows",
                 std::move(problem));
    expectation.ok = false;
    return expectation;
  }
  v1::SettingRecord record;
  *record.mutable_value() = value;
  record.set_seq(seq);
  state.settings[SettingKey(value)] = std::move(record);
  return expectation;
}

}  // namespace lovebank::audit
