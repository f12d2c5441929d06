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

// Moves the programme month on when `entry` starts a later one (the month left behind keeps
// its last entry), and counts the entry in its own month until AddProgrammeMonth says otherwise.
void AdvanceMonth(const v1::Entry& entry, State& state) {
  if (entry.time_unix_us() >= state.current_month_end_us) {
    if (!state.current_month.empty()) {
      ProgrammeMonth& left = state.programme_months[state.current_month];
      left.month = state.current_month;
      left.last_seq = entry.seq() - 1;
    }
    state.current_month = PeriodStart(v1::PERIOD_MONTH, entry.time_unix_us()).substr(1, 7);
    state.current_month_end_us = NextMonthStart(entry.time_unix_us());
  }
  state.owed_month = state.current_month;
}

ProgrammeMonth& MonthFigures(State& state, const std::string& month) {
  ProgrammeMonth& figures = state.programme_months[month];
  figures.month = month;
  return figures;
}

void AddOwed(const Int128& hours_minor, const Int128& points_minor, State& state) {
  using boost::multiprecision::cpp_int;
  if (hours_minor == 0 && points_minor == 0) return;
  // Owed from the month an entry is for, but never from a month still to come (an activity
  // dated ahead, a typo of a year): what members hold at a month's end is what they held then.
  if (state.owed_month > state.current_month) state.owed_month = state.current_month;
  ProgrammeMonth& owed = MonthFigures(state, state.owed_month);
  owed.owed_hours_delta_minor += cpp_int(hours_minor);
  owed.owed_points_delta_minor += cpp_int(points_minor);
  if (state.owed_month < state.current_month) {
    ProgrammeMonth& now = MonthFigures(state, state.current_month);
    ++now.earlier_entries;
    now.earlier_hours_minor += cpp_int(hours_minor);
    now.earlier_points_minor += cpp_int(points_minor);
  }
}

// The month figures of one applied entry (audit.h ProgrammeMonth): hours per team, awards and
// deductions per rule, reversals, services paid per category and place.
void AddProgrammeMonth(const v1::Entry& entry, const Postings& recorded, State& state) {
  using boost::multiprecision::cpp_int;
  const v1::Command& command = entry.command();
  if (command.has_award() && recorded.empty()) {
    // A pending award: its approval counts in the month it is for, with its reason.
    state.pending_awards[entry.seq()] = {AwardMonth(command.award(), entry.time_unix_us()),
                                         command.award().reason()};
  }
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
    state.owed_month = month;
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
    state.owed_month = served.month;
    const std::pair<std::string, std::string> key{service->second.category(),
                                                  service->second.place()};
    served.service_hours_minor[key] += cpp_int(*paid);
    ++served.services[key];
    return;
  }
  auto count = [&](ProgrammeMonth& figures, const std::string& rule, const Int128& to_member) {
    if (to_member > 0) {
      figures.awarded_minor[rule] += cpp_int(to_member);
      ++figures.awards[rule];
    } else if (to_member < 0) {
      figures.deducted_minor[rule] += cpp_int(-to_member);
      ++figures.deductions[rule];
    }
  };
  if (command.has_earn() && command.earn().asset() == kPointsAsset) {
    count(MonthFigures(state, state.current_month), "", member_points(command.earn().to()));
  } else if (command.has_deduct() && command.deduct().asset() == kPointsAsset) {
    count(MonthFigures(state, state.current_month), "", member_points(command.deduct().from()));
  } else if ((command.has_award() || command.has_approve()) && entry.has_award() &&
             entry.award().asset() == kPointsAsset) {
    std::string reason;
    if (command.has_award()) {
      state.owed_month = AwardMonth(command.award(), entry.time_unix_us());
      reason = command.award().reason();
    } else if (auto pending = state.pending_awards.find(command.approve().seq());
               pending != state.pending_awards.end()) {
      state.owed_month = std::move(pending->second.first);
      reason = std::move(pending->second.second);
      state.pending_awards.erase(pending);
    }
    ProgrammeMonth& figures = MonthFigures(state, state.owed_month);
    const Int128 to_member = member_points(entry.award().member());
    count(figures, entry.award().rule(), to_member);
    if (to_member > 0) {
      // The entry a Reverse names: the award's, or its approval's.
      auto account = state.accounts.find(Absl(entry.award().member()));
      state.recipients[entry.seq()] = {figures.month, figures.recipients.size()};
      figures.recipients.push_back(ProgrammeMonth::Recipient{
          entry.seq(), entry.award().member(),
          account == state.accounts.end() ? "" : account->second.record.display_name(),
          entry.award().rule(), cpp_int(to_member), std::move(reason)});
    }
  } else if (command.has_reverse()) {
    auto earned = state.earn_teams.find(command.reverse().seq());
    if (earned != state.earn_teams.end()) {
      ProgrammeMonth& served = MonthFigures(state, earned->second.first);
      for (const PostingView& posting : recorded) {
        if (posting.amount > 0)
          served.team_hours_minor[earned->second.second] -= cpp_int(posting.amount);
      }
      --served.team_earnings[earned->second.second];
      state.owed_month = served.month;
      return;
    }
    // An award's reversal: its line on the list of recipients is marked (the amount is counted
    // as reversed in the month the reversal was posted).
    if (auto line = state.recipients.find(command.reverse().seq());
        line != state.recipients.end()) {
      auto month = state.programme_months.find(line->second.first);
      if (month != state.programme_months.end() &&
          line->second.second < month->second.recipients.size()) {
        month->second.recipients[line->second.second].reversed = true;
      }
    }
    ProgrammeMonth& figures = MonthFigures(state, state.current_month);
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
  for (const auto& named : notice.profile.display_names()) {
    notice.names.emplace(named.id(), named.name());
  }
  for (const auto& [id, name] : report.display_names) {
    if (!name.empty()) notice.names.emplace(id, name);  // the profile's first
  }
  // Months come in order, each owing what was counted in it and before it: a month nothing
  // was counted in owes what the last month before it did.
  for (const ProgrammeMonth& m : report.programme_months) {
    if (m.month == month) {
      notice.figures = m;
    } else if (m.month < month) {
      notice.figures.outstanding_hours_minor = m.outstanding_hours_minor;
      notice.figures.outstanding_points_minor = m.outstanding_points_minor;
    }
  }
  for (const StoreMonth& store : report.store_months) {
    if (store.month == month) notice.stores.push_back(store);
  }
  switch (notice.profile.recipient_names()) {
    case v1::ProgrammeProfile::RECIPIENT_NAMES_FULL:
      break;
    case v1::ProgrammeProfile::RECIPIENT_NAMES_HIDDEN:
      notice.figures.recipients.clear();
      break;
    default:
      // No member id and no free-text reason either ("张三同学获县三好学生" would undo the mask):
      // the rule's name says what the award was for.
      for (ProgrammeMonth::Recipient& recipient : notice.figures.recipients) {
        recipient.name = MaskedName(recipient.name);
        recipient.member.clear();
        recipient.reason.clear();
      }
      break;
  }
  return notice;
}

std::string MaskedName(std::string_view name) {
  // White space around a name is no character of it (" 张三" must not show 三 alone).
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  for (const std::string_view space : {std::string_view("\xE3\x80\x80")}) {  // U+3000
    while (name.starts_with(space)) name.remove_prefix(space.size());
    while (name.ends_with(space)) name.remove_suffix(space.size());
  }
  std::vector<std::string_view> characters;
  for (std::size_t at = 0; at < name.size();) {
    std::size_t size = 1;
    const auto lead = static_cast<unsigned char>(name[at]);
    if (lead >= 0xF0) {
      size = 4;
    } else if (lead >= 0xE0) {
      size = 3;
    } else if (lead >= 0xC0) {
      size = 2;
    }
    size = std::min(size, name.size() - at);
    characters.push_back(name.substr(at, size));
    at += size;
  }
  if (characters.size() <= 1) return "*";
  std::string masked(characters.front());
  for (std::size_t i = 1; i + 1 < characters.size(); ++i) masked += "*";
  masked += characters.size() == 2 ? std::string_view("*") : characters.back();
  return masked;
}

}  // namespace lovebank::audit
