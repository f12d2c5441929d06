// The rules of volunteers' hours (ledger/rules/volunteers.h).

#include "ledger/rules/volunteers.h"

#include <algorithm>

#include "ledger/base/strings.h"
#include "ledger/base/text.h"

namespace lovebank::rules {
namespace {

Refusal NoHours() { return {Reason::kAssetUnknown, "no asset HOURS"}; }

// An amount of HOURS named `what` in the message; the refusal of ParseAmount otherwise.
std::variant<Int128, Refusal> ParseHours(std::string_view what, const std::string& text,
                                         const AssetFacts& hours) {
  AmountParse parsed = ParseAmount(text, hours.scale, hours.maximum_minor);
  if (!parsed.ok()) {
    return Refusal{parsed.reason, Cat(what, " ", Excerpt(text), ": ", ReasonName(parsed.reason))};
  }
  return parsed.amount.minor();
}

std::string Hours(const Int128& minor, std::uint32_t scale) {
  return FormatAmount(Amount::FromMinor(minor), scale);
}

}  // namespace

std::variant<v1::StarLevels, Refusal> DecideStarLevels(const v1::SetStarLevels& asked,
                                                       const AssetFacts* hours) {
  if (hours == nullptr) return NoHours();
  v1::StarLevels levels;
  Int128 previous = 0;
  for (const auto& threshold : asked.thresholds()) {
    auto parsed = ParseHours("threshold", threshold, *hours);
    if (auto* refusal = std::get_if<Refusal>(&parsed)) return std::move(*refusal);
    const Int128 minor = std::get<Int128>(parsed);
    if (minor <= previous) {
      return Refusal{Reason::kStarLevelsInvalid, Cat("threshold ", Excerpt(threshold),
                                                     " is not above the one before it (or zero)")};
    }
    previous = minor;
    levels.add_thresholds_minor(MinorToString(previous));
  }
  return levels;
}

std::optional<Refusal> CheckDonationPool(const std::string& pool_account,
                                         const v1::AccountRecord* pool) {
  if (pool == nullptr) return Refusal{Reason::kAccountUnknown, Cat("no account ", pool_account)};
  if (pool->kind() != v1::ACCOUNT_KIND_SYSTEM) {
    return Refusal{Reason::kAccountKindMismatch,
                   Cat(pool_account, " is not a SYSTEM account: the donation pool is one")};
  }
  return std::nullopt;
}

std::variant<v1::HoursCap, Refusal> DecideHoursCap(const v1::SetHoursCap& asked,
                                                   const AssetFacts* hours,
                                                   const v1::AccountRecord* pool) {
  if (hours == nullptr) return NoHours();
  auto maximum = ParseHours("maximum", asked.maximum(), *hours);
  if (auto* refusal = std::get_if<Refusal>(&maximum)) return std::move(*refusal);
  v1::HoursCap cap;
  cap.set_maximum_minor(MinorToString(std::get<Int128>(maximum)));
  if (std::get<Int128>(maximum) != 0) {
    if (auto refused = CheckDonationPool(asked.pool_account(), pool)) return std::move(*refused);
    cap.set_pool_account(asked.pool_account());
  }
  return cap;
}

std::variant<v1::DailyHoursCap, Refusal> DecideDailyHoursCap(const v1::SetDailyHoursCap& asked,
                                                             const AssetFacts* hours) {
  if (hours == nullptr) return NoHours();
  auto maximum = ParseHours("maximum", asked.maximum(), *hours);
  if (auto* refusal = std::get_if<Refusal>(&maximum)) return std::move(*refusal);
  v1::DailyHoursCap cap;
  cap.set_maximum_minor(MinorToString(std::get<Int128>(maximum)));
  return cap;
}

Int128 KeptUnderCap(const Int128& amount, const Int128& held, const Int128& maximum) {
  const Int128 room = maximum == 0 ? amount : std::max(Int128(0), maximum - held);
  return std::min(amount, room);
}

std::optional<Refusal> CheckDailyHours(const std::string& member, const std::string& day,
                                       const Int128& used, const Int128& amount,
                                       const Int128& maximum, std::uint32_t scale) {
  if (used + amount <= maximum) return std::nullopt;
  return Refusal{
      Reason::kLimitExceeded,
      Cat(member, " may have at most ", Hours(maximum, scale), " HOURS recorded per day; ",
          Hours(used, scale), " recorded for ", day, ", this earning ", Hours(amount, scale))};
}

}  // namespace lovebank::rules
