// clients/import.h: the rows of an office's file as batch commands, shared by `lovebank import`
// and lovebankd's Programme.Import.

#include "clients/import.h"

#include "gtest/gtest.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"

namespace lovebank::import {
namespace {

std::optional<std::string> NoNames(const std::string&) { return std::nullopt; }

// The request id is a promise to every file imported before: the same rows must keep their ids
// across versions, or a re-import after an upgrade applies everything again. Pinned here.
TEST(Import, ARowsRequestIdIsPinnedToItsHeaderAndText) {
  auto file = Read("member_id,name\r\nV1,韦蕊\r\n");
  ASSERT_TRUE(file.ok()) << file.status();
  const std::vector<Row> rows = Commands(*file, {}, NoNames);
  ASSERT_EQ(rows.size(), 1u);
  // "imp-" and the first 16 bytes of SHA-256("member_id,name,\nV1,韦蕊") in hex.
  EXPECT_EQ(rows[0].request_id, "imp-5d6c9678d29356354696d695e0c2b37b");
  EXPECT_EQ(RowRequestId(file->table, file->table.rows[0]), rows[0].request_id);
  auto again = Read("\xEF\xBB\xBFmember_id,name\nV1,韦蕊");  // a BOM, LF, no last line end
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Commands(*again, {}, NoNames)[0].request_id, rows[0].request_id);
}

TEST(Import, EachFileIsKnownByItsHeaderAndMadeIntoItsCommands) {
  struct Case {
    std::string text;
    Kind kind;
    v1::BatchCommand::CommandCase command;
  };
  for (const Case& c : std::vector<Case>{
           {"member_id,name,village,tags\nV1,韦蕊,南溪村,student;poverty-tier:2\n", Kind::kMembers,
            v1::BatchCommand::kOpenAccount},
           {"activity_id,date,team_name,activity,member_id,hours\nA1,2026-11-05,T,助老,V1,2\n",
            Kind::kActivities, v1::BatchCommand::kEarn},
           {"member_id,rule,points,reason\nV1,STUDENT_PROGRESS,,进步\n", Kind::kAwards,
            v1::BatchCommand::kAward},
           {"member_id,points,reason\nV1,-50,缺乏努力\n", Kind::kAwards, v1::BatchCommand::kDeduct},
           {"sku,name,unit,price_points\nSKU001,大米 5kg,袋,30.00\n", Kind::kCatalogue,
            v1::BatchCommand::kSetItem},
           {"sku,quantity,reason\nSKU001,50,爱心企业\n", Kind::kStock,
            v1::BatchCommand::kReceiveStock}}) {
    SCOPED_TRACE(c.text);
    auto file = Read(c.text);
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(file->kind, c.kind);
    const std::vector<Row> rows = Commands(*file, {"issuer:town", "store:main", "", {}}, NoNames);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].command.command_case(), c.command);
  }
  auto members = Read("member_id,name,village,tags\nV1,韦蕊,南溪村,student;poverty-tier:2\n");
  const std::vector<Row> opened = Commands(*members, {}, NoNames);
  const v1::OpenAccountRequest& open = opened.at(0).command.open_account();
  EXPECT_EQ(open.display_name(), "韦蕊");
  EXPECT_EQ(std::vector<std::string>(open.tags().begin(), open.tags().end()),
            (std::vector<std::string>{"student", "poverty-tier:2"}));
  auto stock = Read("sku,quantity,reason,store\nSKU001,50,爱心企业,store:east\n");
  const std::vector<Row> stocked =
      Commands(*stock, {"issuer:goods", "store:main", "", {}}, NoNames);
  const v1::StockRequest& received = stocked.at(0).command.receive_stock();
  EXPECT_EQ(received.store(), "store:east");  // the file's column wins over the default
  EXPECT_EQ(received.issuer(), "issuer:goods");
  for (const char* bad : {"name,amount\n韦蕊,3\n", "member_id,name\n", "sku,name\nA,B\n"}) {
    EXPECT_EQ(Read(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// A member_name that is not the account's name holds the row (never sent); white space, as
// people type it, does not count; a member with no account is the ledger's to refuse.
TEST(Import, ANameThatIsNotTheAccountsHoldsItsRow) {
  auto file = Read(
      "member_id,member_name,date,activity,hours\n"
      "V1,韦 蕊,2026-11-05,助老,2\n"
      "V2,赵真融,2026-11-05,助老,2\n"
      "V3,甘秀英,2026-11-05,助老,2\n"
      "V1,韦 蕊,2026-11-05,助老,2\n");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(NamedMembers(*file), (std::vector<std::string>{"V1", "V2", "V3"}));
  const std::vector<Row> rows =
      Commands(*file, {"issuer:town", "", "", {}}, [](const std::string& account) {
        if (account == "V1") return std::optional<std::string>("韦蕊");
        if (account == "V2") return std::optional<std::string>("覃海");
        return std::optional<std::string>();
      });
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_TRUE(rows[0].held.empty());
  EXPECT_EQ(rows[1].held, kNameMismatch);
  EXPECT_NE(rows[1].message.find("覃海"), std::string::npos) << rows[1].message;
  EXPECT_FALSE(rows[1].command.has_earn());
  EXPECT_TRUE(rows[2].held.empty());
  EXPECT_EQ(rows[3].held, kDuplicateRow);
  EXPECT_EQ(rows[3].same_as, 2u);
}

// The rejected rows: the file's columns plus retry and refusal, the retry one higher each time,
// every cell safe from spreadsheet formulas; their request ids are new, and the same rejected
// file read again gives the same ones.
TEST(Import, RefusedRowsComeBackWithTheirRetryCountAndRefusal) {
  auto file = Read(
      "member_id,date,activity,hours\n"
      "V1,2026-11-05,助老,2\n"
      "V9,2026-11-05,=cmd(),1\n");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(RejectedRows(*file, {}), "");
  const std::string first = RejectedRows(*file, {{3, "ACCOUNT_UNKNOWN: account V9 is unknown"}});
  EXPECT_EQ(first,
            "\xEF\xBB\xBFmember_id,date,activity,hours,retry,refusal\r\n"
            "V9,2026-11-05,'=cmd(),1,1,ACCOUNT_UNKNOWN: account V9 is unknown\r\n");
  auto rejected = Read(first);
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  const std::vector<Row> retried = Commands(*rejected, {"issuer:town", "", "", {}}, NoNames);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_NE(retried[0].request_id,
            Commands(*file, {"issuer:town", "", "", {}}, NoNames)[1].request_id);
  // Read back, the sheet's cells are the original's: the guard's apostrophe is dropped.
  EXPECT_EQ(retried[0].command.earn().activity().name(), "=cmd()");
  auto plain = Read("member_id,date,activity,hours\nV9,2026-11-05,'=x,1\n");
  EXPECT_EQ(
      Commands(*plain, {"issuer:town", "", "", {}}, NoNames)[0].command.earn().activity().name(),
      "'=x");  // not a rejected sheet: the cell as written
  const std::string second = RejectedRows(*rejected, {{2, "ACCOUNT_FROZEN: V9 is frozen"}});
  EXPECT_NE(second.find("hours,retry,refusal\r\nV9,2026-11-05,'=cmd(),1,2,ACCOUNT_FROZEN"),
            std::string::npos)
      << second;
  // Only what the ledger refused and remembers goes to the sheet (its original id can never
  // apply again); a syntax refusal, a momentary one or an existing account does not.
  auto result = [](v1::Reason reason) {
    v1::BatchResult out;
    out.set_reason(reason);
    return out;
  };
  EXPECT_TRUE(Retryable(result(v1::REASON_ACCOUNT_UNKNOWN)));
  EXPECT_TRUE(Retryable(result(v1::REASON_BUDGET_EXCEEDED)));
  EXPECT_FALSE(Retryable(result(v1::REASON_OK)));
  EXPECT_FALSE(Retryable(result(v1::REASON_ACCOUNT_ID_INVALID)));  // may be the --issuer given
  EXPECT_FALSE(Retryable(result(v1::REASON_AMOUNT_EXPONENT)));
  EXPECT_FALSE(Retryable(result(v1::REASON_LEDGER_BUSY)));
  EXPECT_FALSE(Retryable(result(v1::REASON_LEDGER_UNAVAILABLE)));
  EXPECT_FALSE(Retryable(result(v1::REASON_REQUEST_ID_REUSED)));
  EXPECT_FALSE(Retryable(result(v1::REASON_ACCOUNT_EXISTS)));
}

// Issue #28: the month awards are for, from the file's name, a row's month column, or the import's.
TEST(Import, AnAwardsFileGivesItsMonthFromItsNameOrItsRows) {
  EXPECT_EQ(MonthInFileName("/srv/in/student-awards-2026-11.csv"), "2026-11");
  EXPECT_EQ(MonthInFileName("名单_2026-11_导出2026-12-01.csv"), "2026-11");  // the first
  EXPECT_EQ(MonthInFileName("学生奖励-2026-11.csv"), "2026-11");
  EXPECT_EQ(MonthInFileName("2026-11/awards.csv"), "");  // the directory's is not the file's
  for (const char* none : {"awards.csv", "awards-2026-13.csv", "awards-12026-11.csv",
                           "awards-2026-110.csv", "awards-1899-12.csv", ""}) {
    EXPECT_EQ(MonthInFileName(none), "") << none;
  }
  auto file = Read(
      "member_id,rule,points,reason,month\nV1,STUDENT_PROGRESS,,进步,2026-10\n"
      "V2,STUDENT_PROGRESS,,进步,\n");
  ASSERT_TRUE(file.ok()) << file.status();
  const std::vector<Row> rows = Commands(*file, {"issuer:town", "", "2026-11", {}}, NoNames);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].command.award().month(), "2026-10");  // the row's own
  EXPECT_EQ(rows[1].command.award().month(), "2026-11");  // the import's
  // With a month column the rows' ids are their text's, whatever the import's month.
  EXPECT_EQ(Commands(*file, {"issuer:town", "", "2026-12", {}}, NoNames)[0].request_id,
            rows[0].request_id);

  // November's and December's sheets hold the same row: the month the file is for is part of
  // its id, so December's is not refused as November's (REQUEST_ID_REUSED).
  auto sheet = Read("member_id,rule,points,reason\nS1,STUDENT_PROGRESS,,进步明显\n");
  ASSERT_TRUE(sheet.ok()) << sheet.status();
  const auto november = Commands(*sheet, {"issuer:town", "", "2026-11", {}}, NoNames);
  const auto december = Commands(*sheet, {"issuer:town", "", "2026-12", {}}, NoNames);
  EXPECT_NE(november[0].request_id, december[0].request_id);
  EXPECT_EQ(november[0].request_id, Commands(*sheet, {"issuer:town", "", "2026-11", {}}, NoNames)[0]
                                        .request_id);  // the same file again: nothing twice
  // Without a month the id is the row's text alone, as before (files imported earlier).
  EXPECT_EQ(Commands(*sheet, {"issuer:town", "", "", {}}, NoNames)[0].request_id,
            RowRequestId(sheet->table, sheet->table.rows[0]));
  // Points by hand (no rule column) carry no month: their ids never depend on one.
  auto by_hand = Read("member_id,points,reason\nS1,500,进步明显\n");
  ASSERT_TRUE(by_hand.ok());
  EXPECT_EQ(Commands(*by_hand, {"issuer:town", "", "2026-11", {}}, NoNames)[0].request_id,
            RowRequestId(by_hand->table, by_hand->table.rows[0]));
}

// Issue #28: a teams file merges into the programme's profile by team id (added, renamed, kept),
// a row that cannot be a team is held and the others still merge, the same file again changes
// nothing, and the merge's request id follows the profile it was merged into.
TEST(Import, ATeamsFileMergesIntoTheProgrammeProfileByTeamId) {
  v1::ProgrammeProfile current;
  current.set_name("南溪镇爱心银行");
  auto* kept = current.add_teams();
  kept->set_id("T09");
  kept->set_name("老队");
  auto* renamed = current.add_teams();
  renamed->set_id("T02");
  renamed->set_name("牵手队");
  auto file = Read(
      "team_id,team_name,service_category\n"
      "T01,小雨滴志愿者服务队,助老\n"
      "T02,牵手怀童志愿服务队,关爱儿童\n"
      "T03,老队,社区服务\n"            // T09's name
      "T 4,空格队,义诊\n"              // not an id
      "T05,,义诊\n"                    // no name
      "T01,小雨滴志愿者服务队,助老\n"  // the same row again
      "T01,另一个名字,助老\n"          // T01 twice
      "T06," +
      std::string(129, 'x') +
      ",\n"                                                 // a name too long
      "T07,\"两行\n的名字\",助老\n"                         // a line break in a cell (Alt+Enter)
      "T08\xC2\xA0, 小雨滴志愿者服务队\xE3\x80\x80,助老\n"  // T01's name, spaced
      "\xE3\x80\x80T10 , 红色志愿服务联盟 ,扶贫帮困\n");    // trimmed, then new
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->kind, Kind::kTeams);
  const TeamsMerge merge = MergeTeams(*file, current);
  ASSERT_EQ(merge.rows.size(), 11u);
  std::vector<std::string> held;
  for (const Row& row : merge.rows) held.push_back(row.held);
  EXPECT_EQ(held, (std::vector<std::string>{"", "", "TEAM_INVALID", "TEAM_INVALID", "TEAM_INVALID",
                                            "DUPLICATE_ROW", "TEAM_INVALID", "TEAM_INVALID",
                                            "TEAM_INVALID", "TEAM_INVALID", ""}));
  EXPECT_NE(merge.rows[8].message.find("one line"), std::string::npos) << merge.rows[8].message;
  EXPECT_NE(merge.rows[9].message.find("T01"), std::string::npos) << merge.rows[9].message;
  EXPECT_NE(merge.rows[2].message.find("T09"), std::string::npos) << merge.rows[2].message;
  EXPECT_NE(merge.rows[6].message.find("line 2"), std::string::npos) << merge.rows[6].message;
  EXPECT_EQ(merge.added, 2u);
  EXPECT_EQ(merge.changed, 1u);
  EXPECT_TRUE(merge.Changed());
  std::map<std::string, std::pair<std::string, std::string>> teams;
  for (const auto& team : merge.profile.teams()) teams[team.id()] = {team.name(), team.category()};
  EXPECT_EQ(teams, (std::map<std::string, std::pair<std::string, std::string>>{
                       {"T01", {"小雨滴志愿者服务队", "助老"}},
                       {"T02", {"牵手怀童志愿服务队", "关爱儿童"}},
                       {"T09", {"老队", ""}},
                       {"T10", {"红色志愿服务联盟", "扶贫帮困"}}}));
  EXPECT_EQ(merge.profile.name(), "南溪镇爱心银行");  // the rest of the profile as it was
  // The same file on the merged profile: nothing to change.
  const TeamsMerge again = MergeTeams(*file, merge.profile);
  EXPECT_FALSE(again.Changed());
  EXPECT_EQ(again.unchanged, 3u);
  EXPECT_EQ(again.unchanged_lines, (std::set<std::size_t>{2, 3, 13}));
  // One id per (profile seq, merged profile): a retry sends the same, a later change another.
  EXPECT_EQ(TeamsRequestId(merge.profile, 7), TeamsRequestId(merge.profile, 7));
  EXPECT_NE(TeamsRequestId(merge.profile, 7), TeamsRequestId(merge.profile, 8));
  EXPECT_NE(TeamsRequestId(merge.profile, 7), TeamsRequestId(current, 7));
  EXPECT_EQ(TeamsRequestId(merge.profile, 7).rfind("imp-teams-", 0), 0u);
  // An activities file is not a teams file, though it has team columns.
  auto activities = Read(
      "activity_id,date,team_id,team_name,activity,member_id,hours\n"
      "A1,2026-11-05,T01,小雨滴志愿者服务队,助老,V1,2\n");
  ASSERT_TRUE(activities.ok());
  EXPECT_EQ(activities->kind, Kind::kActivities);
}

// An activity row naming a known team id under another name is held (TEAM_MISMATCH, never sent);
// white space does not count; a team the profile does not list is not checked.
TEST(Import, AnActivitysTeamNameIsCheckedAgainstItsIdInTheProfile) {
  auto file = Read(
      "activity_id,date,team_id,team_name,activity,member_id,hours\n"
      "A1,2026-11-05,T01,小雨滴 志愿者服务队,助老,V1,2\n"
      "A2,2026-11-05,T01,阳光关爱志愿服务队,助老,V2,2\n"
      "A3,2026-11-05,T99,新成立的队,助老,V3,2\n"
      "A4,2026-11-05, T03 ,小雨滴志愿者服务队,助老,V4,2\n");  // T03's id, spaced
  ASSERT_TRUE(file.ok()) << file.status();
  Defaults defaults;
  defaults.issuer = "issuer:town";
  defaults.teams = {{"T01", "小雨滴志愿者服务队"}, {"T03", "阳光关爱志愿服务队"}};
  const std::vector<Row> rows = Commands(*file, defaults, NoNames);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_TRUE(rows[0].held.empty()) << rows[0].message;
  EXPECT_EQ(rows[1].held, kTeamMismatch);
  EXPECT_NE(rows[1].message.find("T01 is 小雨滴志愿者服务队"), std::string::npos)
      << rows[1].message;
  EXPECT_FALSE(rows[1].command.has_earn());
  EXPECT_TRUE(rows[2].held.empty()) << rows[2].message;
  EXPECT_EQ(rows[3].held, kTeamMismatch);
}

// A profile is one setting of at most kSettingBytesMax bytes: the teams that would take it past
// that are held (TEAM_INVALID, with why), the rest merge, and the merged profile stays within it.
TEST(Import, TeamsThatWouldOverfillTheProfileAreHeld) {
  std::string text = "team_id,team_name,service_category\n";
  for (int i = 0; i < 250; ++i) {
    text += Cat("T", i, ",", std::string(30, 'a' + i % 26), i, "志愿服务队,社区服务\n");
  }
  auto file = Read(text);
  ASSERT_TRUE(file.ok()) << file.status();
  v1::ProgrammeProfile current;
  current.set_name("南溪镇爱心银行");
  const TeamsMerge merge = MergeTeams(*file, current);
  std::size_t held = 0;
  for (const Row& row : merge.rows) {
    if (row.held.empty()) continue;
    ++held;
    EXPECT_EQ(row.held, kTeamInvalid);
    EXPECT_NE(row.message.find("16384 bytes"), std::string::npos) << row.message;
  }
  EXPECT_GT(held, 0u);
  EXPECT_EQ(merge.added + held, 250u);
  v1::SetSetting set;
  *set.mutable_value()->mutable_programme_profile() = merge.profile;
  set.set_if_seq(123456789);
  EXPECT_LE(set.ByteSizeLong(), kSettingBytesMax);
}

}  // namespace
}  // namespace lovebank::import
