// Volunteers as programmes run them (issue #7; docs/programme.md): cumulative earned hours per
// member, which spending never lowers, and the star levels they reach.

#include <algorithm>

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"
#include "ledger/format/journal_format.h"

namespace lovebank {

void Engine::AddEarnedHours(const std::string& member, const Int128& delta, std::uint64_t seq) {
  v1::VolunteerRecord record;
  if (const v1::VolunteerRecord* earlier = volunteers_.Find(member)) record = *earlier;
  const Int128 before = record.earned_hours_minor().empty()
                            ? Int128(0)
                            : *MinorFromString(record.earned_hours_minor());
  record.set_account(member);
  record.set_earned_hours_minor(MinorToString(before + delta));
  record.set_changed_seq(seq);
  volunteers_.Set(member, std::move(record));
}

Outcome Engine::ApplySetStarLevels(const v1::Command& command, const std::string& fingerprint) {
  const AssetState* hours = FindAsset(std::string(kHoursAsset));
  if (hours == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, "no asset HOURS");
  }
  v1::StarLevels levels;
  Int128 previous = 0;
  for (const auto& threshold : command.set_star_levels().thresholds()) {
    AmountParse parsed = ParseAmount(threshold, hours->scale, hours->maximum_minor);
    if (!parsed.ok()) {
      return Refuse(command, fingerprint, parsed.reason,
                    Cat("threshold ", Excerpt(threshold), ": ", ReasonName(parsed.reason)));
    }
    if (parsed.amount.minor() <= previous) {
      return Refuse(
          command, fingerprint, Reason::kStarLevelsInvalid,
          Cat("threshold ", Excerpt(threshold), " is not above the one before it (or zero)"));
    }
    previous = parsed.amount.minor();
    levels.add_thresholds_minor(MinorToString(previous));
  }
  levels.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(std::string(meta_key::kStarLevels), levels);
  return outcome;
}

std::vector<Engine::ResolvedPosting> Engine::CappedEarn(const v1::Move& move,
                                                        const Int128& amount) {
  const v1::HoursCap cap = *Setting<v1::HoursCap>(meta_key::kHoursCap);
  const Int128 maximum = *MinorFromString(cap.maximum_minor());
  const Int128 held = Balance(move.to(), move.asset()).minor;
  const Int128 room = maximum == 0 ? amount : std::max(Int128(0), maximum - held);
  const Int128 kept = std::min(amount, room);
  std::vector<ResolvedPosting> postings = {{move.from(), move.asset(), -amount}};
  if (kept != 0) postings.push_back({move.to(), move.asset(), kept});
  if (kept != amount) postings.push_back({cap.pool_account(), move.asset(), amount - kept});
  return postings;
}

std::optional<Outcome> Engine::CheckDonationPool(const v1::Command& command,
                                                 const std::string& fingerprint,
                                                 const std::string& pool_account) {
  const AccountState* pool = FindAccount(pool_account);
  if (pool == nullptr) {
    return Refuse(command, fingerprint, Reason::kAccountUnknown, Cat("no account ", pool_account));
  }
  if (pool->record.kind() != v1::ACCOUNT_KIND_SYSTEM) {
    return Refuse(command, fingerprint, Reason::kAccountKindMismatch,
                  Cat(pool_account, " is not a SYSTEM account: the donation pool is one"));
  }
  return std::nullopt;
}

Outcome Engine::ApplySetHoursCap(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetHoursCap& set = command.set_hours_cap();
  const AssetState* hours = FindAsset(std::string(kHoursAsset));
  if (hours == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, "no asset HOURS");
  }
  AmountParse maximum = ParseAmount(set.maximum(), hours->scale, hours->maximum_minor);
  if (!maximum.ok()) {
    return Refuse(command, fingerprint, maximum.reason,
                  Cat("maximum ", Excerpt(set.maximum()), ": ", ReasonName(maximum.reason)));
  }
  v1::HoursCap cap;
  cap.set_maximum_minor(MinorToString(maximum.amount.minor()));
  if (!maximum.amount.is_zero()) {
    if (auto refused = CheckDonationPool(command, fingerprint, set.pool_account())) {
      return std::move(*refused);
    }
    cap.set_pool_account(set.pool_account());
  }
  cap.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(std::string(meta_key::kHoursCap), cap);
  return outcome;
}

OrOutcome<std::optional<std::pair<std::string, Int128>>> Engine::CheckDailyHours(
    const v1::Command& command, const std::string& fingerprint, const Int128& amount) {
  using Usage = std::optional<std::pair<std::string, Int128>>;
  const v1::DailyHoursCap cap = *Setting<v1::DailyHoursCap>(meta_key::kDailyHoursCap);
  if (cap.maximum_minor() == "0") return Usage();
  const v1::Move& earn = command.earn();
  const std::string day = ServiceDay(earn, NextEntryTime());
  const std::string key = ServiceDayKey(earn.to(), day);
  OrOutcome<Int128> used = Used(key);
  if (!used.ok()) return std::move(used).outcome();
  const Int128 maximum = *MinorFromString(cap.maximum_minor());
  if (*used + amount > maximum) {
    return Refuse(command, fingerprint, Reason::kLimitExceeded,
                  Cat(earn.to(), " may have at most ", Decimal(maximum, earn.asset()),
                      " HOURS recorded per day; ", Decimal(*used, earn.asset()), " recorded for ",
                      day, ", this earning ", Decimal(amount, earn.asset())));
  }
  return Usage(std::in_place, key, *used + amount);
}

Outcome Engine::ApplySetDailyHoursCap(const v1::Command& command, const std::string& fingerprint) {
  const AssetState* hours = FindAsset(std::string(kHoursAsset));
  if (hours == nullptr) {
    return Refuse(command, fingerprint, Reason::kAssetUnknown, "no asset HOURS");
  }
  const std::string& text = command.set_daily_hours_cap().maximum();
  AmountParse maximum = ParseAmount(text, hours->scale, hours->maximum_minor);
  if (!maximum.ok()) {
    return Refuse(command, fingerprint, maximum.reason,
                  Cat("maximum ", Excerpt(text), ": ", ReasonName(maximum.reason)));
  }
  v1::DailyHoursCap cap;
  cap.set_maximum_minor(MinorToString(maximum.amount.minor()));
  cap.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetSetting(std::string(meta_key::kDailyHoursCap), cap);
  return outcome;
}

}  // namespace lovebank
