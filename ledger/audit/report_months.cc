// The figures of each programme month that the notice reports, gathered as the replay goes.

#include "ledger/audit/replay_rules.h"

namespace lovebank::audit {

// The first microsecond of the programme month after the one holding `time_unix_us`.
std::int64_t NextMonthStart(std::int64_t time_unix_us) {
  using namespace std::chrono;
  const std::string start = PeriodStart(v1::PERIOD_MONTH, time_unix_us);  // "M2026-11-01"
  const year_month next = year{std::stoi(start.substr(1, 4))} /
                              month{static_cast<unsigned>(std::stoi(start.substr(6, 2)))} +
                          months{1};
  const sys_days day = sys_days(next / 1);
  return duration_cast<microseconds>(day.time_since_epoch()).count() -
         kProgrammeUtcOffsetSeconds * 1'000'000;
}

// Moves the programme month on when `entry` starts a later one: the month left behind keeps
// the members' totals as they were after its last entry.
void AdvanceMonth(const v1::Entry& entry, State& state) {
  if (entry.time_unix_us() < state.current_month_end_us) return;
  if (!state.current_month.empty()) {
    ProgrammeMonth& left = state.programme_months[state.current_month];
    left.month = state.current_month;
    left.outstanding_hours_minor = boost::multiprecision::cpp_int(state.member_hours_minor);
    left.outstanding_points_minor = boost::multiprecision::cpp_int(state.member_points_minor);
    left.last_seq = entry.seq() - 1;
  }
  state.current_month = PeriodStart(v1::PERIOD_MONTH, entry.time_unix_us()).substr(1, 7);
  state.current_month_end_us = NextMonthStart(entry.time_unix_us());
}

ProgrammeMonth& MonthFigures(State& state, const std::string& month) {
  ProgrammeMonth& figures = state.programme_months[month];
  figures.month = month;
  return figures;
}

// The month figures of one applied entry (audit.h ProgrammeMonth): hours per team, awards and
// deductions per rule, reversals, services paid per category and place.
void AddProgrammeMonth(const v1::Entry& entry, const Postings& recorded, State& state) {
  using boost::multiprecision::cpp_int;
  const v1::Command& command = entry.command();
  if (recorded.empty()) return;  // pending, administrative
  auto member_points = [&](std::string_view member) {
    Int128 sum = 0;
    for (const PostingView& posting : recorded) {
      if (posting.account == member && posting.asset == kPointsAsset) sum += posting.amount;
    }
    return sum;
  };
  if (command.has_earn() && command.earn().asset() == kHours) {
    const std::string month = ServiceDay(command.earn(), entry.time_unix_us()).substr(0, 7);
    const std::string& team = command.earn().activity().team();
    ProgrammeMonth& figures = MonthFigures(state, month);
    figures.team_hours_minor[team] += cpp_int(-recorded[0].amount);  // all it earned
    ++figures.team_earnings[team];
    state.earn_teams[entry.seq()] = {month, team};
    return;
  }
  if (command.has_confirm_service() || command.has_resolve_service()) {
    // ExpectService left the service's record as this entry made it.
    const std::uint64_t seq = command.has_confirm_service()
                                  ? command.confirm_service().service_seq()
                                  : command.resolve_service().service_seq();
    auto service = state.services.find(seq);
    if (service == state.services.end()) return;
    const auto paid = MinorFromString(service->second.paid_minor());
    if (!paid || *paid == 0) return;
    ProgrammeMonth& served = MonthFigures(state, service->second.day().substr(0, 7));
    const std::pair<std::string, std::string> key{service->second.category(),
                                                  service->second.place()};
    served.service_hours_minor[key] += cpp_int(*paid);
    ++served.services[key];
    return;
  }
  ProgrammeMonth& figures = MonthFigures(state, state.current_month);
  auto count = [&](const std::string& rule, const Int128& to_member) {
    if (to_member > 0) {
      figures.awarded_minor[rule] += cpp_int(to_member);
      ++figures.awards[rule];
    } else if (to_member < 0) {
      figures.deducted_minor[rule] += cpp_int(-to_member);
      ++figures.deductions[rule];
    }
  };
  if (command.has_earn() && command.earn().asset() == kPointsAsset) {
    count("", member_points(command.earn().to()));
  } else if (command.has_deduct() && command.deduct().asset() == kPointsAsset) {
    count("", member_points(command.deduct().from()));
  } else if ((command.has_award() || command.has_approve()) && entry.has_award() &&
             entry.award().asset() == kPointsAsset) {
    count(entry.award().rule(), member_points(entry.award().member()));
  } else if (command.has_reverse()) {
    auto earned = state.earn_teams.find(command.reverse().seq());
    if (earned != state.earn_teams.end()) {
      ProgrammeMonth& served = MonthFigures(state, earned->second.first);
      for (const PostingView& posting : recorded) {
        if (posting.amount > 0)
          served.team_hours_minor[earned->second.second] -= cpp_int(posting.amount);
      }
      --served.team_earnings[earned->second.second];
      return;
    }
    for (const PostingView& posting : recorded) {
      auto account = state.accounts.find(Absl(posting.account));
      if (posting.asset == kPointsAsset && posting.amount < 0 && account != state.accounts.end() &&
          account->second.record.kind() == v1::ACCOUNT_KIND_MEMBER) {
        figures.reversed_points_minor += cpp_int(-posting.amount);
      }
    }
  }
}

// The store's month figures (audit.h StoreMonth) for a value-moving supermarket entry.
void AddStoreMonth(const v1::Entry& entry, State& state) {
  using boost::multiprecision::cpp_int;
  const v1::Command& command = entry.command();
  auto month_of = [&](const std::string& store) -> StoreMonth& {
    const std::string month = PeriodStart(v1::PERIOD_MONTH, entry.time_unix_us()).substr(1, 7);
    StoreMonth& figures = state.store_months[{store, month}];
    figures.store = store;
    figures.month = month;
    return figures;
  };
  auto minor = [](const std::string& text) {
    auto value = MinorFromString(text);
    return value ? cpp_int(*value) : cpp_int(0);
  };
  if (command.has_checkout()) {
    StoreMonth& figures = month_of(command.checkout().store());
    ++figures.baskets;
    figures.points_minor += minor(entry.pricing().total_points_minor());
    if (!entry.pricing().hours_minor().empty())
      figures.hours_minor += minor(entry.pricing().hours_minor());
  } else if (command.has_capture_hold()) {
    auto sale = state.sales.find(entry.seq());
    if (sale == state.sales.end()) return;
    StoreMonth& figures = month_of(sale->second.store);
    ++figures.baskets;
    figures.points_minor += minor(entry.pricing().total_points_minor());
    if (!entry.pricing().hours_minor().empty())
      figures.hours_minor += minor(entry.pricing().hours_minor());
  } else if (command.has_refund()) {
    auto sale = state.sales.find(command.refund().checkout_seq());
    if (sale == state.sales.end()) return;
    StoreMonth& figures = month_of(sale->second.store);
    ++figures.refunds;
    figures.refunded_minor += minor(entry.pricing().total_points_minor());
  } else if (command.has_redeem() && command.redeem().asset() == kPoints) {
    for (const auto& posting : entry.postings()) {
      if (posting.account() == command.redeem().to()) {
        month_of(posting.account()).redeemed_minor += minor(posting.amount_minor());
      }
    }
  } else if (command.has_settle() && command.settle().asset() == kPoints) {
    for (const auto& posting : entry.postings()) {
      if (posting.account() == command.settle().to()) {
        month_of(command.settle().from()).settled_minor += minor(posting.amount_minor());
      }
    }
  }
}

NoticeFigures NoticeOf(const Report& report, const std::string& month) {
  NoticeFigures notice;
  notice.figures.month = month;
  for (const auto& setting : report.settings) {
    if (setting.value().has_programme_profile())
      notice.profile = setting.value().programme_profile();
  }
  // Months come in order: what is owed is as of the month's own last entry, else the last one
  // of a month before it.
  for (const ProgrammeMonth& m : report.programme_months) {
    if (m.month == month) {
      const auto hours = notice.figures.outstanding_hours_minor;
      const auto points = notice.figures.outstanding_points_minor;
      notice.figures = m;
      if (m.last_seq == 0) {
        notice.figures.outstanding_hours_minor = hours;
        notice.figures.outstanding_points_minor = points;
      }
    } else if (m.month < month && m.last_seq != 0) {
      notice.figures.outstanding_hours_minor = m.outstanding_hours_minor;
      notice.figures.outstanding_points_minor = m.outstanding_points_minor;
    }
  }
  for (const StoreMonth& store : report.store_months) {
    if (store.month == month) notice.stores.push_back(store);
  }
  return notice;
}

}  // namespace lovebank::audit
