// Volunteers as programmes run them (issue #7; docs/programme.md): the engine's side of the rules
// in ledger/rules/volunteers.h — it gathers their facts from the state and applies what they
// decide: cumulative earned hours per member (which spending never lowers), the star levels, the
// storage cap and the daily cap.

#include "ledger/rules/volunteers.h"

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"
#include "ledger/format/journal_format.h"

namespace lovebank {
namespace {

std::optional<rules::AssetFacts> HoursOf(const AssetState* hours) {
  if (hours == nullptr) return std::nullopt;
  return rules::AssetFacts{hours->scale, hours->maximum_minor};
}

const v1::AccountRecord* RecordOf(const AccountState* account) {
  return account == nullptr ? nullptr : &account->record;
}

}  // namespace

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
  const auto hours = HoursOf(FindAsset(std::string(kHoursAsset)));
  return ApplyDecided(command, fingerprint,
                      rules::DecideStarLevels(command.set_star_levels(), hours ? &*hours : nullptr),
                      meta_key::kStarLevels);
}

Outcome Engine::ApplySetHoursCap(const v1::Command& command, const std::string& fingerprint) {
  const v1::SetHoursCap& set = command.set_hours_cap();
  const auto hours = HoursOf(FindAsset(std::string(kHoursAsset)));
  return ApplyDecided(command, fingerprint,
                      rules::DecideHoursCap(set, hours ? &*hours : nullptr,
                                            RecordOf(FindAccount(set.pool_account()))),
                      meta_key::kHoursCap);
}

Outcome Engine::ApplySetDailyHoursCap(const v1::Command& command, const std::string& fingerprint) {
  const auto hours = HoursOf(FindAsset(std::string(kHoursAsset)));
  return ApplyDecided(
      command, fingerprint,
      rules::DecideDailyHoursCap(command.set_daily_hours_cap(), hours ? &*hours : nullptr),
      meta_key::kDailyHoursCap);
}

std::vector<Engine::ResolvedPosting> Engine::CappedEarn(const v1::Move& move,
                                                        const Int128& amount) {
  const v1::HoursCap cap = *Setting<v1::HoursCap>(meta_key::kHoursCap);
  const Int128 kept = rules::KeptUnderCap(amount, Balance(move.to(), move.asset()).minor,
                                          *MinorFromString(cap.maximum_minor()));
  std::vector<ResolvedPosting> postings = {{move.from(), move.asset(), -amount}};
  if (kept != 0) postings.push_back({move.to(), move.asset(), kept});
  if (kept != amount) postings.push_back({cap.pool_account(), move.asset(), amount - kept});
  return postings;
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
  const AssetState* hours = FindAsset(earn.asset());
  if (auto refused = rules::CheckDailyHours(earn.to(), day, *used, amount,
                                            *MinorFromString(cap.maximum_minor()),
                                            hours == nullptr ? 0 : hours->scale)) {
    return RefuseWith(command, fingerprint, std::move(*refused));
  }
  return Usage(std::in_place, key, *used + amount);
}

}  // namespace lovebank
