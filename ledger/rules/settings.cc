// One rule per programme setting (ledger/rules/settings.h).

#include "ledger/rules/settings.h"

#include <cstring>
#include <set>

#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/merkle.h"
#include "ledger/format/signature.h"

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
  if (!v1::ProgrammeProfile::RecipientNames_IsValid(profile.recipient_names())) {
    return Invalid("programme_profile.recipient_names is MASKED, FULL or HIDDEN");
  }
  if (profile.display_names_size() > static_cast<int>(kSettingListMax)) {
    return Invalid(Cat("programme_profile.display_names holds at most ", kSettingListMax));
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
  if (profile.teams_size() > static_cast<int>(kSettingListMax)) {
    return Invalid(Cat("programme_profile.teams holds at most ", kSettingListMax));
  }
  std::set<std::string_view> team_ids, team_names;
  for (const auto& team : profile.teams()) {
    if (!IsValidAccountId(team.id()) || team.name().empty() ||
        team.name().size() > kDisplayNameBytesMax ||
        team.category().size() > kServiceCategoryBytesMax) {
      return Invalid(Cat("a team's id is 1-", kAccountIdBytesMax,
                         " of [A-Za-z0-9._:@-], its name 1-", kDisplayNameBytesMax,
                         " bytes and its category at most ", kServiceCategoryBytesMax, " bytes"));
    }
    if (!team_ids.insert(team.id()).second || !team_names.insert(team.name()).second) {
      return Invalid(Cat("programme_profile.teams names ", Excerpt(team.id()), " or ",
                         Excerpt(team.name()), " twice"));
    }
  }
  return asked;
}

// Services (issue #26): a funding model (unspecified: member to member); through the programme, an
// ISSUER account that pays; spender tags as tags are written; each category named once, 1-32 bytes,
// its standard hours (if any) valid HOURS above zero; at most kServiceCategoriesMax of them.
std::variant<v1::SettingValue, Refusal> DecideServicePolicy(const v1::SettingValue& asked,
                                                            const SettingFacts& facts) {
  const v1::ServicePolicy& policy = asked.service_policy();
  if (policy.funding() != v1::SERVICE_FUNDING_UNSPECIFIED &&
      policy.funding() != v1::SERVICE_FUNDING_MEMBER_TO_MEMBER &&
      policy.funding() != v1::SERVICE_FUNDING_PROGRAMME) {
    return Invalid("service_policy.funding is MEMBER_TO_MEMBER or PROGRAMME");
  }
  if (policy.funding() == v1::SERVICE_FUNDING_PROGRAMME) {
    const v1::AccountRecord* issuer = facts.account(policy.issuer());
    if (issuer == nullptr || issuer->kind() != v1::ACCOUNT_KIND_ISSUER) {
      return Invalid("service_policy.issuer names the ISSUER account that pays providers");
    }
  } else if (!policy.issuer().empty()) {
    return Invalid("service_policy.issuer goes with PROGRAMME funding only");
  }
  std::set<std::string_view> seen;
  for (const auto& tag : policy.spender_tags()) {
    if (!IsValidTag(tag) || !seen.insert(tag).second) {
      return Invalid(Cat("service_policy.spender_tags: ", Excerpt(tag),
                         " is no tag (1-32 of [a-z0-9:._-]) or is listed twice"));
    }
  }
  if (policy.categories_size() > static_cast<int>(kServiceCategoriesMax)) {
    return Invalid(Cat("service_policy lists at most ", kServiceCategoriesMax, " categories"));
  }
  seen.clear();
  const v1::AssetRecord* hours = facts.asset(std::string(kHoursAsset));
  for (const auto& category : policy.categories()) {
    if (category.name().empty() || category.name().size() > kServiceCategoryBytesMax ||
        !seen.insert(category.name()).second) {
      return Invalid(Cat("service_policy.categories: a name is 1-", kServiceCategoryBytesMax,
                         " bytes, each once (", Excerpt(category.name()), ")"));
    }
    if (category.standard_hours().empty()) continue;
    const AmountParse parsed = hours == nullptr
                                   ? AmountParse{Reason::kAssetUnknown, {}}
                                   : ParseAmount(category.standard_hours(), hours->scale(),
                                                 *MinorFromString(hours->maximum_minor()));
    if (!parsed.ok() || parsed.amount.minor() == 0) {
      return Invalid(Cat("service_policy.categories: ", Excerpt(category.name()),
                         "'s standard_hours is no number of HOURS above 0"));
    }
  }
  return asked;
}

// The old key is the one in force (any, before the first change) and endorsed the new one; the
// new key signed the same message. Both signatures over ledger id, old key and new key.
std::optional<Refusal> CheckSigningKeyChange(const v1::SigningKeyChange& change,
                                             const SettingFacts& facts) {
  auto refuse = [](std::string message) {
    return Refusal{Reason::kSigningKeyChangeInvalid, std::move(message)};
  };
  const auto old_key = signature::PublicKeyFromBytes(change.old_key());
  const auto new_key = signature::PublicKeyFromBytes(change.new_key());
  const auto endorsement = signature::SignatureFromBytes(change.endorsement());
  const auto acceptance = signature::SignatureFromBytes(change.acceptance());
  // No endorsement: a lost key's replacement (lovebankd --new-signing-key), which the audit
  // reports as such.
  const bool unendorsed = change.endorsement().empty();
  if (!old_key || !new_key || (!endorsement && !unendorsed) || !acceptance) {
    return refuse(
        "a signing key change has two 32-byte keys, a 64-byte acceptance and a 64-byte "
        "endorsement (none: a lost key's replacement)");
  }
  if (change.old_key() == change.new_key()) return refuse("the new key is the old key");
  if (!facts.signing_key.empty() && facts.signing_key != change.old_key()) {
    return refuse(Cat("the old key is not the key in force (",
                      signature::Fingerprint(*signature::PublicKeyFromBytes(facts.signing_key)),
                      ")"));
  }
  const std::string message =
      signature::KeyRotationMessage(facts.ledger_id, change.old_key(), change.new_key());
  if (!unendorsed && !signature::Verify(*old_key, message, *endorsement)) {
    return refuse("the old key did not endorse the new key");
  }
  if (!signature::Verify(*new_key, message, *acceptance)) {
    return refuse("the new key did not sign its acceptance");
  }
  return std::nullopt;
}

}  // namespace

std::optional<Refusal> CheckCosign(const v1::CosignHead& cosign, std::string_view witness,
                                   std::string_view ledger_id, std::uint64_t next_seq) {
  const std::uint64_t head_seq = next_seq - 1;
  if (cosign.tree_size() > head_seq) {
    return Refusal{Reason::kTreeSizeInvalid,
                   Cat("tree size ", cosign.tree_size(), " is past the head ", head_seq)};
  }
  if (head_seq - cosign.tree_size() > merkle::kCosignLagMax) {
    return Refusal{Reason::kCosignHeadStale,
                   Cat("the head of size ", cosign.tree_size(), " is ",
                       head_seq - cosign.tree_size(), " entries behind the ledger's head (at most ",
                       merkle::kCosignLagMax, "): audit again and co-sign a recent head")};
  }
  signature::TreeHead head;
  head.ledger_id = std::string(ledger_id);
  head.tree_size = cosign.tree_size();
  std::memcpy(head.root.data(), cosign.root().data(), head.root.size());
  head.time_unix_us = cosign.time_unix_us();
  if (!signature::Verify(*signature::PublicKeyFromBytes(cosign.witness_key()),
                         signature::CosignMessage(head, witness),
                         *signature::SignatureFromBytes(cosign.signature()))) {
    return Refusal{Reason::kCosignatureInvalid,
                   "the co-signature does not verify under the witness key"};
  }
  return std::nullopt;
}

std::variant<v1::SettingValue, Refusal> DecideSetting(const v1::SettingValue& asked,
                                                      const SettingFacts& facts) {
  switch (asked.value_case()) {
    case v1::SettingValue::kProgrammeProfile:
      return DecideProfile(asked);
    case v1::SettingValue::kPaymentCodeRequired:
      return asked;  // on or off: nothing to check
    case v1::SettingValue::kServicePolicy:
      return DecideServicePolicy(asked, facts);
    case v1::SettingValue::kSigningKey:
      if (auto refused = CheckSigningKeyChange(asked.signing_key(), facts)) return *refused;
      return asked;
    case v1::SettingValue::VALUE_NOT_SET:
      break;
  }
  return Invalid("value names no setting this ledger knows");
}

}  // namespace lovebank::rules
