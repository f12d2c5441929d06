// The audit's rules of programme settings (journal.proto SettingValue), written apart from the
// engine's (ledger/rules/settings.cc): a SetSetting entry is the record its setting's rule
// allows, kept under its meta key for the comparison with the store (compare.cc). The switch is
// exhaustive: a new setting without an audit rule does not compile.

#include "ledger/audit/replay_rules.h"
#include "ledger/format/signature.h"

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
  if (!v1::ProgrammeProfile::RecipientNames_IsValid(profile.recipient_names())) {
    return "recipient_names unknown";
  }
  if (profile.display_names_size() > static_cast<int>(kSettingListMax)) {
    return "more display names than the limit";
  }
  std::set<std::string> seen;
  for (const auto& named : profile.display_names()) {
    if (!within(named.id(), 1, kAccountIdBytesMax) ||
        !within(named.name(), 1, kDisplayNameBytesMax)) {
      return Cat("display name for ", named.id(), " malformed");
    }
    if (!seen.insert(named.id()).second) return Cat("display name for ", named.id(), " twice");
  }
  if (profile.teams_size() > static_cast<int>(kSettingListMax)) return "more teams than the limit";
  std::set<std::string> team_ids, team_names;
  for (const auto& team : profile.teams()) {
    if (!IsValidAccountId(team.id()) || !within(team.name(), 1, kDisplayNameBytesMax) ||
        !within(team.category(), 0, kServiceCategoryBytesMax)) {
      return Cat("team ", team.id(), " malformed");
    }
    if (!team_ids.insert(team.id()).second || !team_names.insert(team.name()).second) {
      return Cat("team ", team.id(), " or its name twice");
    }
  }
  return {};
}

// Services: funding through the programme names an ISSUER account (and only then one); spender
// tags are tags, once each; at most kServiceCategoriesMax categories, each named once (1-32
// bytes), a standard rate, when given, a number of HOURS above zero.
std::string ServicePolicyProblem(const v1::ServicePolicy& policy, const State& state) {
  if (policy.funding() == v1::SERVICE_FUNDING_PROGRAMME) {
    if (std::string problem = AccountProblem(state, policy.issuer(), v1::ACCOUNT_KIND_ISSUER, true);
        !problem.empty()) {
      return problem;
    }
  } else if (policy.funding() != v1::SERVICE_FUNDING_MEMBER_TO_MEMBER &&
             policy.funding() != v1::SERVICE_FUNDING_UNSPECIFIED) {
    return "a funding model that is none";
  } else if (!policy.issuer().empty()) {
    return "an issuer without PROGRAMME funding";
  }
  std::set<std::string> seen;
  for (const auto& tag : policy.spender_tags()) {
    if (!IsValidTag(tag) || !seen.insert(tag).second) return Cat("spender tag ", tag);
  }
  if (policy.categories_size() > static_cast<int>(kServiceCategoriesMax)) {
    return "too many categories";
  }
  seen.clear();
  auto hours = state.assets.find(kHours);
  for (const auto& category : policy.categories()) {
    if (category.name().empty() || category.name().size() > kServiceCategoryBytesMax ||
        !seen.insert(category.name()).second) {
      return Cat("category ", Excerpt(category.name()));
    }
    if (category.standard_hours().empty()) continue;
    if (hours == state.assets.end()) return "standard hours without a HOURS asset";
    const AmountParse parsed =
        ParseAmount(category.standard_hours(), hours->second.scale, hours->second.maximum_minor);
    if (!parsed.ok() || parsed.amount.minor() == 0) {
      return Cat("standard hours of ", Excerpt(category.name()));
    }
  }
  return {};
}

// The signing key: two keys and two signatures of the rotation message (ledger id, old, new),
// the old key the one the previous change put in force.
std::string SigningKeyProblem(const v1::SigningKeyChange& change, const State& state,
                              const std::string& ledger_id) {
  const auto old_key = signature::PublicKeyFromBytes(change.old_key());
  const auto new_key = signature::PublicKeyFromBytes(change.new_key());
  const auto endorsement = signature::SignatureFromBytes(change.endorsement());
  const auto acceptance = signature::SignatureFromBytes(change.acceptance());
  const bool unendorsed = change.endorsement().empty();  // a lost key's replacement
  if (!old_key || !new_key || (!endorsement && !unendorsed) || !acceptance) {
    return "malformed keys or signatures";
  }
  if (*old_key == *new_key) return "the new key is the old one";
  auto previous = state.settings.find(SettingKeyOf<v1::SigningKeyChange>());
  if (previous != state.settings.end() &&
      previous->second.value().signing_key().new_key() != change.old_key()) {
    return "the old key is not the key the previous change put in force";
  }
  const std::string message =
      signature::KeyRotationMessage(ledger_id, change.old_key(), change.new_key());
  if (!unendorsed && !signature::Verify(*old_key, message, *endorsement)) {
    return "the old key did not endorse it";
  }
  if (!signature::Verify(*new_key, message, *acceptance)) return "the new key did not accept it";
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
    case v1::SettingValue::kServicePolicy:
      problem = ServicePolicyProblem(value.service_policy(), state);
      break;
    case v1::SettingValue::kSigningKey:
      problem = SigningKeyProblem(value.signing_key(), state, state.ledger_id);
      break;
    case v1::SettingValue::VALUE_NOT_SET:
      problem = "no setting named";
      break;
  }
  if (problem.empty() && command.set_setting().has_if_seq()) {
    // A read-change-write applies only onto the record it read (SETTING_CHANGED otherwise).
    auto current = state.settings.find(SettingKey(value));
    const std::uint64_t current_seq = current == state.settings.end() ? 0 : current->second.seq();
    if (current_seq != command.set_setting().if_seq()) {
      problem = Cat("applied onto the record of entry ", current_seq, ", not ",
                    command.set_setting().if_seq(), " as it was read");
    }
  }
  if (!problem.empty()) {
    findings.Add(FindingKind::kRuleViolated, seq, "", "a setting its rule allows",
                 std::move(problem));
    expectation.ok = false;
    return expectation;
  }
  if (value.has_signing_key()) {
    if (state.signing_keys.empty())
      state.signing_keys.push_back({value.signing_key().old_key(), true});
    state.signing_keys.push_back(
        {value.signing_key().new_key(), !value.signing_key().endorsement().empty()});
  }
  v1::SettingRecord record;
  *record.mutable_value() = value;
  record.set_seq(seq);
  state.settings[SettingKey(value)] = std::move(record);
  return expectation;
}

}  // namespace lovebank::audit
