// lovebank profile / stars / cap / setting: volunteers and students as programmes run them (issue
// #7; docs/programme.md).

#include <iostream>

#include "clients/commands.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace lovebank::cli {
namespace {

// "★★☆☆☆" for star 2 of 5.
std::string StarBar(std::uint32_t stars, int of) {
  std::string bar;
  for (int i = 0; i < of; ++i) bar += static_cast<int>(stars) > i ? "★" : "☆";
  return bar;
}

void AddProfile(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command =
      app.add_subcommand("profile", "a volunteer's cumulative hours and star level (星级)");
  auto account = std::make_shared<std::string>();
  command->add_option("account", *account, "default: the account of a member token");
  command->footer("Example:\n  lovebank profile V00001");
  command->callback([&globals, exit_code, account] {
    Session session(globals);
    v1::GetVolunteerProfileRequest request;
    request.set_account(BoundAccount(session, *account, exit_code));
    if (request.account().empty()) return;
    v1::VolunteerProfile profile;
    const grpc::Status status =
        session.programme().GetVolunteerProfile(session.Context().get(), request, &profile);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(profile));
    } else {
      std::cout << profile.display_name() << " (" << profile.account() << ")  as of entry "
                << profile.as_of_seq() << "\n"
                << "  累计志愿时长 cumulative " << profile.cumulative_hours() << " HOURS\n"
                << "  时长余额 balance        " << profile.balance_hours() << " HOURS\n"
                << "  星级 star               "
                << StarBar(profile.star_level(), profile.star_thresholds_size()) << " "
                << profile.star_level() << "\n";
      if (!profile.next_star_at().empty()) {
        std::cout << "  下一星级 next star      at " << profile.next_star_at() << " HOURS, "
                  << profile.hours_to_next_star() << " to go\n";
      }
    }
    *exit_code = kExitOk;
  });
}

void AddStars(CLI::App& app, Globals& globals, int* exit_code) {
  auto* stars = app.add_subcommand("stars", "the volunteer star levels");
  stars->require_subcommand(1);
  auto* set = stars->add_subcommand("set", "the cumulative HOURS of each star, ascending (admin)");
  auto thresholds = std::make_shared<std::vector<std::string>>();
  auto memo = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  set->add_option("thresholds", *thresholds, "e.g. 100 300 600 1000 1500")->required();
  set->add_option("--memo", *memo, "free text");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->callback([&globals, exit_code, thresholds, memo, request_id] {
    Session session(globals);
    v1::SetStarLevelsRequest request;
    request.set_request_id(request_id->empty() ? NewRequestId("stars") : *request_id);
    for (const auto& threshold : *thresholds) request.add_thresholds(threshold);
    request.set_memo(*memo);
    std::string done = "stars at";
    for (const auto& threshold : *thresholds) done += " " + threshold;
    *exit_code = Simple(
        session, request.request_id(), "stars set", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.programme().SetStarLevels(session.Context().get(), request, receipt);
        },
        done + " HOURS");
  });
}

void AddCap(CLI::App& app, Globals& globals, int* exit_code) {
  auto* cap = app.add_subcommand("cap", "the storage cap on a member's HOURS");
  cap->require_subcommand(1);
  auto* set = cap->add_subcommand(
      "set", "earnings past --max go to the donation pool --pool (admin); --max 0 lifts it");
  auto request = std::make_shared<v1::SetHoursCapRequest>();
  auto request_id = std::make_shared<std::string>();
  set->add_option("--max", *request->mutable_maximum(), "HOURS, e.g. 1500")->required();
  set->add_option("--pool", *request->mutable_pool_account(), "a SYSTEM account, e.g. system:pool");
  set->add_option("--memo", *request->mutable_memo(), "free text");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->footer("Example:\n  lovebank cap set --max 1500 --pool system:pool --memo 南京时间银行上限");
  auto* daily = cap->add_subcommand(
      "daily", "at most --max HOURS recorded per member per day of service (admin); 0: off");
  auto daily_request = std::make_shared<v1::SetDailyHoursCapRequest>();
  auto daily_id = std::make_shared<std::string>();
  daily->add_option("--max", *daily_request->mutable_maximum(), "HOURS, e.g. 2")->required();
  daily->add_option("--memo", *daily_request->mutable_memo(), "free text");
  daily->add_option("--request-id", *daily_id, "retry an interrupted call");
  daily->callback([&globals, exit_code, daily_request, daily_id] {
    Session session(globals);
    v1::SetDailyHoursCapRequest r = *daily_request;
    r.set_request_id(daily_id->empty() ? NewRequestId("daily-cap") : *daily_id);
    *exit_code = Simple(
        session, r.request_id(), "cap daily", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().SetDailyHoursCap(session.Context().get(), r, receipt);
        },
        r.maximum() == "0" ? std::string("no daily cap")
                           : "at most " + r.maximum() + " HOURS recorded per member per day");
  });
  set->callback([&globals, exit_code, request, request_id] {
    Session session(globals);
    v1::SetHoursCapRequest r = *request;
    r.set_request_id(request_id->empty() ? NewRequestId("cap") : *request_id);
    *exit_code = Simple(
        session, r.request_id(), "cap set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().SetHoursCap(session.Context().get(), r, receipt);
        },
        r.maximum() == "0"
            ? std::string("no storage cap")
            : "HOURS capped at " + r.maximum() + ", the rest to " + r.pool_account());
  });
}

// Programme settings (journal.proto SettingValue): one command for every setting, its value as
// JSON in the proto3 mapping, so a new setting needs no new CLI code.
void AddSetting(CLI::App& app, Globals& globals, int* exit_code) {
  auto* setting = app.add_subcommand("setting", "programme settings, e.g. the programme profile");
  setting->require_subcommand(1);
  const auto* oneof = v1::SettingValue::descriptor()->FindOneofByName("value");
  std::string names;
  for (int i = 0; i < oneof->field_count(); ++i) {
    names += (i == 0 ? "" : ", ") + oneof->field(i)->name();
  }
  auto* set = setting->add_subcommand("set", "set (replace) one setting (admin)");
  auto name = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto memo = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  set->add_option("name", *name, "one of: " + names)->required();
  set->add_option("value", *value, "the value as JSON")->required();
  set->add_option("--memo", *memo, "free text");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->footer(
      "Example:\n  lovebank setting set programme_profile "
      "'{\"name\": \"南溪镇爱心银行\", \"town\": \"南溪镇\", \"office\": \"南溪镇民政办\", "
      "\"display_names\": [{\"id\": \"store:main\", \"name\": \"南溪镇爱心超市\"}]}'");
  set->callback([&globals, exit_code, oneof, names, name, value, memo, request_id] {
    const google::protobuf::FieldDescriptor* field =
        v1::SettingValue::descriptor()->FindFieldByName(*name);
    if (field == nullptr || field->containing_oneof() != oneof) {
      *exit_code = Usage("no setting " + *name + "; the settings are: " + names);
      return;
    }
    // {"<name>": <value>} read as the SettingValue itself: a setting of any type (a message or a
    // scalar) needs no code here. The value is parsed first, so it is one JSON value and nothing
    // else (never a second field spliced in).
    const nlohmann::json parsed_value = nlohmann::json::parse(*value, nullptr, false);
    if (parsed_value.is_discarded()) {
      *exit_code = Usage("the value of " + *name + " is not JSON: " + *value);
      return;
    }
    v1::SetSettingRequest r;
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        nlohmann::json{{*name, parsed_value}}.dump(), r.mutable_value());
    if (!parsed.ok()) {
      *exit_code = Usage("the value of " + *name + " is not its JSON: " + parsed.ToString());
      return;
    }
    Session session(globals);
    // The teams come from teams.csv (lovebank import): a profile given without "teams" keeps
    // the ones there are, written only onto the profile they were read from (if_seq) — except
    // for a retry (--request-id), which must send the command of its first try, whose seq may
    // have moved on with that very try.
    if (field->name() == "programme_profile" && parsed_value.is_object() &&
        !parsed_value.contains("teams")) {
      const std::optional<v1::SettingRecord> current = ProfileRecord(session, exit_code);
      if (!current) return;
      *r.mutable_value()->mutable_programme_profile()->mutable_teams() =
          current->value().programme_profile().teams();
      if (request_id->empty()) r.set_if_seq(current->seq());
      if (!globals.json && current->value().programme_profile().teams_size() > 0) {
        std::cout << "  kept the profile's " << current->value().programme_profile().teams_size()
                  << " teams (give \"teams\" to change them)\n";
      }
    }
    r.set_memo(*memo);
    r.set_request_id(request_id->empty() ? NewRequestId("setting") : *request_id);
    *exit_code = Simple(
        session, r.request_id(), "setting set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().SetSetting(session.Context().get(), r, receipt);
        },
        *name + " set");
  });
  auto* list = setting->add_subcommand("list", "every setting set, as JSON");
  list->callback([&globals, exit_code] {
    Session session(globals);
    v1::ListSettingsResponse response;
    const grpc::Status status =
        session.programme().ListSettings(session.Context().get(), {}, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      for (const auto& record : response.settings()) {
        // Each setting's value is the one field of its SettingValue.
        nlohmann::json json = ToJson(record.value());
        for (const auto& [key, inner] : json.items()) {
          std::cout << "  " << key << " (entry " << record.seq() << ")  "
                    << inner.dump(-1, ' ', false) << "\n";
        }
      }
    }
    *exit_code = kExitOk;
  });
}

}  // namespace

void AddProgrammeCommands(CLI::App& app, Globals& globals, int* exit_code) {
  AddSetting(app, globals, exit_code);
  AddProfile(app, globals, exit_code);
  AddStars(app, globals, exit_code);
  AddCap(app, globals, exit_code);
  AddRuleCommands(app, globals, exit_code);
  AddReportCommands(app, globals, exit_code);
}

}  // namespace lovebank::cli
