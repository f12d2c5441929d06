// Volunteers as programmes run them (issue #7; docs/programme.md): cumulative earned hours per
// member, which spending never lowers, and the star levels they reach.

#include <algorithm>

#include "ledger/coding.h"
#include "ledger/engine.h"
#include "ledger/strings.h"
#include "ledger/text.h"

namespace lovebank {

void Engine::AddEarnedHours(const std::string& member, const Int128& delta, std::uint64_t seq) {
  v1::VolunteerRecord record;
  if (auto it = volunteers_.find(member); it != volunteers_.end()) record = it->second;
  const Int128 before =
      record.earned_hours_minor().empty() ? Int128(0) : *MinorFromString(record.earned_hours_minor());
  record.set_account(member);
  record.set_earned_hours_minor(MinorToString(before + delta));
  record.set_changed_seq(seq);
  SetVolunteer(member, std::move(record));
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
                    Cat("threshold ", threshold, ": ", ReasonName(parsed.reason)));
    }
    if (parsed.amount.minor() <= previous) {
      return Refuse(command, fingerprint, Reason::kStarLevelsInvalid,
                    Cat("threshold ", threshold, " is not above the one before it (or zero)"));
    }
    previous = parsed.amount.minor();
    levels.add_thresholds_minor(MinorToString(previous));
  }
  levels.set_seq(head_.seq + 1);
  Outcome outcome = Append(command, fingerprint, {}, {});
  SetStarLevelsRecord(std::move(levels));
  return outcome;
}

}  // namespace lovebank
