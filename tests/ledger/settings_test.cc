// Programme settings (issue #23; journal.proto SettingValue): one journaled command for every
// setting, each decided by its rule in the sequencer (ledger/rules/settings.cc), stored under
// "setting:" + its name, read back by GetSettings, and replayed by the audit's own rule
// (ledger/audit/rules_settings.cc). The first setting is the programme's profile (issue #28).

#include "gtest/gtest.h"
#include "ledger/base/text.h"
#include "tests/supermarket_fixture.h"

namespace lovebank {
namespace {

v1::ProgrammeProfile Profile(const std::string& name) {
  v1::ProgrammeProfile profile;
  profile.set_name(name);
  profile.set_town("南溪镇");
  profile.set_office("南溪镇民政办");
  auto* store = profile.add_display_names();
  store->set_id("store:main");
  store->set_name("南溪镇爱心超市");
  auto* rule = profile.add_display_names();
  rule->set_id("STUDENT_PROGRESS");
  rule->set_name("学习进步奖励");
  return profile;
}

v1::Command SetProfile(const std::string& id, const v1::ProgrammeProfile& profile) {
  v1::Command command;
  command.set_request_id(id);
  command.set_actor("tester");
  *command.mutable_set_setting()->mutable_value()->mutable_programme_profile() = profile;
  return command;
}

class Settings : public Supermarket {
 protected:
  void TearDown() override {
    ledger_.reset();
    if (!expect_clean_audit_) return;
    const audit::Report report = AuditDb(dir_.path());
    EXPECT_EQ(report.findings_total, 0u) << Describe(report);
  }

  std::vector<v1::SettingRecord> Read() {
    auto list = ledger_->GetSettings();
    EXPECT_TRUE(list.ok()) << list.status();
    if (!list.ok()) return {};
    EXPECT_EQ(list->as_of_seq, ledger_->GetHead().seq);
    return list->settings;
  }

  Outcome Try(v1::Command command) { return ledger_->Execute(std::move(command)); }

  bool expect_clean_audit_ = true;
};

TEST_F(Settings, TheKeyOfASettingIsItsFieldName) {
  v1::SettingValue value;
  EXPECT_EQ(SettingKey(value), "");
  value.mutable_programme_profile();
  EXPECT_EQ(SettingKey(value), "setting:programme_profile");
  EXPECT_EQ(SettingKeyOf<v1::ProgrammeProfile>(), "setting:programme_profile");
  EXPECT_EQ(SettingKeyOf<v1::HoursCap>(), "");  // not a setting
  EXPECT_TRUE(IsProgrammeRuleKey("setting:programme_profile"));
  EXPECT_TRUE(IsSettingKey("setting:programme_profile"));
}

TEST_F(Settings, AProfileIsJournaledReadBackReplacedAndSurvivesAReopenInChinese) {
  EXPECT_TRUE(Read().empty());
  const Outcome first = Ok(SetProfile("p1", Profile("南溪镇爱心银行")));
  std::vector<v1::SettingRecord> settings = Read();
  ASSERT_EQ(settings.size(), 1u);
  EXPECT_EQ(settings[0].seq(), first.receipt.seq);
  EXPECT_EQ(settings[0].value().programme_profile().name(), "南溪镇爱心银行");
  EXPECT_EQ(settings[0].value().programme_profile().display_names(0).name(), "南溪镇爱心超市");

  // A retry is the same entry; a new value replaces the old one.
  const Outcome retried = ledger_->Execute(SetProfile("p1", Profile("南溪镇爱心银行")));
  EXPECT_TRUE(retried.replayed);
  EXPECT_EQ(retried.receipt.seq, first.receipt.seq);
  v1::ProgrammeProfile renamed = Profile("南溪镇“爱心银行·爱心超市”");
  renamed.clear_display_names();
  const Outcome second = Ok(SetProfile("p2", renamed));
  ledger_.reset();
  Open();
  settings = Read();
  ASSERT_EQ(settings.size(), 1u);
  EXPECT_EQ(settings[0].seq(), second.receipt.seq);
  EXPECT_EQ(settings[0].value().programme_profile().name(), "南溪镇“爱心银行·爱心超市”");
  EXPECT_EQ(settings[0].value().programme_profile().display_names_size(), 0);
}

// Every malformed setting is refused by name and changes nothing: no setting, a value the rule
// forbids, text that is not UTF-8 or too long, a list past the limit, a field this ledger does
// not know.
TEST_F(Settings, MalformedSettingsAreRefusedByNameAndChangeNothing) {
  const std::uint64_t head = ledger_->GetHead().seq;
  auto expect_invalid = [&](v1::Command command, const std::string& why) {
    const Outcome outcome = ledger_->Execute(std::move(command));
    EXPECT_REASON(outcome, Reason::kSettingInvalid) << why;
    EXPECT_FALSE(outcome.message.empty()) << why;
  };
  v1::Command none = SetProfile("none", Profile("x"));
  none.mutable_set_setting()->clear_value();
  expect_invalid(none, "no setting");
  expect_invalid(SetProfile("unnamed", Profile("")), "no name");
  v1::ProgrammeProfile twice = Profile("南溪镇爱心银行");
  *twice.add_display_names() = twice.display_names(0);
  expect_invalid(SetProfile("twice", twice), "an id twice");
  v1::ProgrammeProfile empty_id = Profile("南溪镇爱心银行");
  empty_id.add_display_names()->set_name("无编号");
  expect_invalid(SetProfile("empty-id", empty_id), "an empty id");
  expect_invalid(SetProfile("bad-utf8", Profile("爱心\xff银行")), "not UTF-8");
  expect_invalid(SetProfile("control", Profile("爱心\n银行")), "a line break in a name");
  expect_invalid(SetProfile("long-text", Profile(std::string(kSettingTextBytesMax + 1, 'a'))),
                 "past the text limit");
  expect_invalid(SetProfile("long-name", Profile(std::string(kDisplayNameBytesMax + 1, 'a'))),
                 "past the profile's name limit");
  v1::ProgrammeProfile many = Profile("南溪镇爱心银行");
  many.clear_display_names();
  for (std::size_t i = 0; i <= kSettingListMax; ++i) {
    auto* named = many.add_display_names();
    named->set_id(Cat("team-", i));
    named->set_name(Cat("志愿服务队 ", i));
  }
  expect_invalid(SetProfile("many", many), "past the list limit");
  v1::Command unknown = SetProfile("unknown", Profile("南溪镇爱心银行"));
  v1::ProgrammeProfile* with_unknown =
      unknown.mutable_set_setting()->mutable_value()->mutable_programme_profile();
  with_unknown->GetReflection()->MutableUnknownFields(with_unknown)->AddVarint(99, 1);
  expect_invalid(unknown, "a field this ledger does not know");

  EXPECT_EQ(ledger_->GetHead().seq, head);
  EXPECT_TRUE(Read().empty());
  // At the limits exactly, it is accepted.
  many.mutable_display_names()->RemoveLast();
  many.set_name(std::string(kDisplayNameBytesMax, 'a'));
  Ok(SetProfile("at-limits", many));
  ASSERT_EQ(Read().size(), 1u);
}

// The audit decides settings with its own rule: an entry rewritten to a setting the rule forbids
// is a rule violation; a stored record edited behind the engine differs; a record no entry set
// is extra.
TEST_F(Settings, TheAuditNamesAForbiddenSettingAnEditedRecordAndAnExtraOne) {
  expect_clean_audit_ = false;
  const Outcome set = Ok(SetProfile("p1", Profile("南溪镇爱心银行")));
  ledger_.reset();
  {
    const audit::Report report = AuditDb(dir_.path());
    EXPECT_EQ(report.findings_total, 0u) << Describe(report);
  }
  {
    auto store = Store::Open(dir_.path(), StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    v1::SettingRecord edited;
    *edited.mutable_value()->mutable_programme_profile() = Profile("别的名字");
    edited.set_seq(set.receipt.seq);
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put({}, (*store)->handle(Family::kMeta), "setting:programme_profile",
                          edited.SerializeAsString())
                    .ok());
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put({}, (*store)->handle(Family::kMeta), "setting:no_such_setting",
                          edited.SerializeAsString())
                    .ok());
  }
  {
    const std::string text = Describe(AuditDb(dir_.path()));
    EXPECT_NE(text.find("RECORD_DIFFERS seq=0 [meta setting:programme_profile]"), std::string::npos)
        << text;
    EXPECT_NE(text.find("RECORD_EXTRA seq=0 [meta setting:no_such_setting]"), std::string::npos)
        << text;
  }
  RewriteJournal(dir_.path(), [&](v1::Entry& entry) {
    if (entry.seq() != set.receipt.seq) return false;
    entry.mutable_command()
        ->mutable_set_setting()
        ->mutable_value()
        ->mutable_programme_profile()
        ->clear_name();
    return true;
  });
  const std::string text = Describe(AuditDb(dir_.path()));
  EXPECT_NE(text.find(Cat("RULE_VIOLATED seq=", set.receipt.seq)), std::string::npos) << text;
  EXPECT_NE(text.find("the programme has no name"), std::string::npos) << text;
}

// Issue #28: a read-change-write of a setting (the teams import) names the seq of the record it
// read (if_seq, 0: never set); the sequencer applies it only onto that record, else
// SETTING_CHANGED (remembered for the request id), and the audit re-checks it on an edited journal.
TEST_F(Settings, AChangeOntoTheRecordItReadAppliesAndOntoAnotherIsRefused) {
  v1::ProgrammeProfile profile = Profile("南溪镇爱心银行");
  v1::Command stale = SetProfile("p:stale", profile);
  stale.mutable_set_setting()->set_if_seq(7);  // never set: its seq is 0
  EXPECT_REASON(Try(stale), Reason::kSettingChanged);
  v1::Command first = SetProfile("p:first", profile);
  first.mutable_set_setting()->set_if_seq(0);
  const std::uint64_t first_seq = Ok(first).receipt.seq;
  auto* team = profile.add_teams();
  team->set_id("T01");
  team->set_name("小雨滴志愿者服务队");
  team->set_category("助老");
  // Another admin renames the programme in between: a write of what was read before is refused.
  Ok(SetProfile("p:rename", Profile("南溪镇爱心银行（新）")));
  v1::Command teams = SetProfile("p:teams", profile);
  teams.mutable_set_setting()->set_if_seq(first_seq);
  const Outcome refused = Try(teams);
  EXPECT_REASON(refused, Reason::kSettingChanged);
  EXPECT_NE(refused.message.find(Cat("not ", first_seq)), std::string::npos) << refused.message;
  EXPECT_TRUE(Try(teams).replayed);  // remembered for its request id
  const std::uint64_t renamed_seq = Read().at(0).seq();
  v1::Command again = SetProfile("p:teams-2", profile);
  again.mutable_set_setting()->set_if_seq(renamed_seq);
  const std::uint64_t applied = Ok(again).receipt.seq;
  EXPECT_EQ(Read().at(0).value().programme_profile().teams(0).category(), "助老");
  ledger_.reset();
  EXPECT_EQ(AuditDb(dir_.path()).findings_total, 0u);  // if_seq 0 and the seq read: both allowed

  // The audit's own check: the applied change edited to name another record.
  ledger_.reset();
  RewriteJournal(dir_.path(), [&](v1::Entry& entry) {
    if (entry.seq() != applied) return false;
    entry.mutable_command()->mutable_set_setting()->set_if_seq(first_seq);
    return true;
  });
  const audit::Report report = AuditDb(dir_.path());
  const std::string text = Describe(report);
  EXPECT_NE(text.find(Cat("RULE_VIOLATED seq=", applied)), std::string::npos) << text;
  EXPECT_NE(text.find("as it was read"), std::string::npos) << text;
  expect_clean_audit_ = false;  // the finding is the point
}

// A team's id, name and category as the profile's rule allows: each id and name once.
TEST_F(Settings, TeamsAreNamedOnceEach) {
  v1::ProgrammeProfile profile = Profile("南溪镇爱心银行");
  auto add = [&profile](const std::string& id, const std::string& name) {
    auto* team = profile.add_teams();
    team->set_id(id);
    team->set_name(name);
  };
  add("T01", "小雨滴志愿者服务队");
  add("T01", "另一个队");
  EXPECT_REASON(Try(SetProfile("t:1", profile)), Reason::kSettingInvalid);
  profile.mutable_teams()->RemoveLast();
  add("T02", "小雨滴志愿者服务队");
  EXPECT_REASON(Try(SetProfile("t:2", profile)), Reason::kSettingInvalid);
  profile.mutable_teams()->RemoveLast();
  add("T 3", "阳光队");
  EXPECT_REASON(Try(SetProfile("t:3", profile)), Reason::kSettingInvalid);
  profile.mutable_teams()->RemoveLast();
  Ok(SetProfile("t:4", profile));
}

}  // namespace
}  // namespace lovebank
