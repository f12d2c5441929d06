// The `lovebank` command line against a real lovebankd child on a loopback port (issue #5
// "Tests"): each command's happy path and refusal path with its exit code and message, --json
// output that parses, imports with good and bad rows applied once, a redeem whose reply was lost
// retried with its request id and charged once, and Chinese text that round-trips.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "clients/certificate.h"
#include "ledger/base/strings.h"
#include "ledger/base/version.h"
#include "nlohmann/json.hpp"
#include "tests/daemon_util.h"
#include "tests/service_test_util.h"
#include "tests/test_util.h"

#ifndef LOVEBANK_CLI_PATH
#error "LOVEBANK_CLI_PATH must name the lovebank binary"
#endif
#ifndef LOVEBANK_AUDIT_PATH
#error "LOVEBANK_AUDIT_PATH must name the lovebank-audit binary"
#endif

namespace lovebank {
namespace {

std::string Quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

// A certificate page's QR code (issue #27): its data-text attribute, and what a real decoder
// (Debian's zbarimg) reads from the drawn SVG.
struct PageQr {
  std::string text;     // the attribute, unescaped
  std::string decoded;  // zbarimg's reading of the SVG's modules
};
PageQr ReadQr(const std::string& page, const std::string& work) {
  PageQr qr;
  const std::string attr = "id=certificate-qr data-text=\"";
  const std::size_t at = page.find(attr);
  if (at == std::string::npos) return qr;
  const std::size_t end = page.find('"', at + attr.size());
  qr.text = page.substr(at + attr.size(), end - at - attr.size());
  for (const auto& [entity, ch] : std::vector<std::pair<std::string, std::string>>{
           {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}}) {
    for (std::size_t i = qr.text.find(entity); i != std::string::npos;
         i = qr.text.find(entity, i + ch.size())) {
      qr.text.replace(i, entity.size(), ch);
    }
  }
  // viewBox "0 0 N N", then runs "Mx,yhRv1h-Rz".
  const std::size_t box = page.find("viewBox=\"0 0 ", end);
  const int size = std::stoi(page.substr(box + 13));
  std::vector<std::string> rows(size, std::string(size, '0'));
  const std::size_t d = page.find(" d=\"", box) + 4;
  std::istringstream path(page.substr(d, page.find('"', d) - d));
  char m = 0, comma = 0, h = 0;
  int x = 0, y = 0, run = 0;
  std::string rest;
  while (path >> m >> x >> comma >> y >> h >> run && std::getline(path, rest, 'z')) {
    for (int i = 0; i < run; ++i) rows[y][x + i] = '1';
  }
  constexpr int kScale = 4;
  std::ofstream pbm(work + "/qr.pbm");
  pbm << "P1\n" << size * kScale << " " << size * kScale << "\n";
  for (const std::string& row : rows) {
    std::string line;
    for (char module : row) line += std::string(kScale, module);
    for (int i = 0; i < kScale; ++i) pbm << line << "\n";
  }
  pbm.close();
  // QR only: with every symbology on, zbar now and then also reads a 1D barcode out of the QR's
  // modules (CI of 15cf6e5 read a second line "438771" under a certificate's link).
  std::FILE* pipe =
      ::popen(("zbarimg --raw -q -Sdisable -Sqrcode.enable " + work + "/qr.pbm").c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run zbarimg";
    return qr;
  }
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) qr.decoded.append(buffer, n);
  ::pclose(pipe);
  while (!qr.decoded.empty() && qr.decoded.back() == '\n') qr.decoded.pop_back();
  return qr;
}

// The notice's CSV (lovebank report) as "section/key" -> "count,amount"; the file starts with a
// UTF-8 byte order mark (Excel) and its header.
std::map<std::string, std::string> NoticeRows(const std::string& path) {
  std::map<std::string, std::string> rows;
  std::ifstream csv(path);
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "\xEF\xBB\xBFsection,key,name,count,amount,unit,category");
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string field; std::getline(fields, field, ',');) f.push_back(field);
    EXPECT_GE(f.size(), 5u) << line;
    if (f.size() >= 5) rows[f[0] + "/" + f[1]] = f[3] + "," + f[4];
  }
  return rows;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<testing::Daemon>(dir_.Sub("data"));
    ASSERT_GT(daemon_->port(), 0) << daemon_->output();
    std::ifstream token(dir_.Sub("data/admin.token"));
    std::getline(token, tokens_["admin"]);
    std::ofstream(dir_.Sub("config")) << "# empty: settings come from the environment\n";
  }

  // Runs `lovebank ARGS` as `who` (a key of tokens_, or "" for no token).
  Result Run(const std::vector<std::string>& args, const std::string& who = "admin",
             const std::string& server = "") {
    std::string command = Cat(
        "LOVEBANK_CONFIG=", Quote(dir_.Sub("config")),
        " LOVEBANK_REQUEST_LOG=", Quote(dir_.Sub("requests.log")),
        " LOVEBANK_SERVER=", server.empty() ? Cat("127.0.0.1:", daemon_->port()) : server,
        " LOVEBANK_TOKEN=", Quote(who.empty() ? "" : tokens_[who]), " TZ=UTC ", LOVEBANK_CLI_PATH);
    for (const auto& arg : args) command += " " + Quote(arg);
    command += " 2>" + Quote(dir_.Sub("stderr"));
    Result result;
    std::FILE* pipe = ::popen(command.c_str(), "r");
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream err(dir_.Sub("stderr"));
    result.err.assign(std::istreambuf_iterator<char>(err), {});
    return result;
  }

  // The programme of the README's first ten minutes, through the CLI.
  // A lovebankd whose clock starts on 3 December 2026 (November's sheets come in then), with
  // the programme of OpenProgramme.
  void OpenProgrammeOn3December() {
    daemon_ = std::make_unique<testing::Daemon>(
        dir_.Sub("december"), std::vector<std::string>{"--clock-start", "2026-12-03T01:00:00Z"});
    ASSERT_GT(daemon_->port(), 0) << daemon_->output();
    std::ifstream token(dir_.Sub("december/admin.token"));
    std::getline(token, tokens_["admin"]);
    OpenProgramme();
  }

  void OpenProgramme() {
    ASSERT_EQ(Run({"account", "open", "issuer:town", "--kind", "issuer", "--name", "镇爱心银行",
                   "--budget", "POINTS=100000", "--budget", "HOURS=10000"})
                  .exit_code,
              0);
    ASSERT_EQ(
        Run({"account", "open", "store:main", "--kind", "store", "--name", "河头店镇爱心超市"})
            .exit_code,
        0);
    ASSERT_EQ(Run({"account", "open", "V00001", "--name", "韦蕊"}).exit_code, 0);
    ASSERT_EQ(Run({"account", "open", "V00002", "--name", "龙静环"}).exit_code, 0);
    Grant("worker-li", "issuer", "issuer:town");
    Grant("till-1", "terminal", "store:main");
    Grant("app-v1", "member", "V00001");
    Grant("auditor-wang", "auditor", "");
  }

  // The sample month through the CLI (examples/data): its members (V00001/2 exist, so that
  // import exits 1), the award rules, November's activities, then its awards, whose result this
  // returns.
  Result ImportSampleMonth() {
    const std::string data = LOVEBANK_EXAMPLE_DATA_DIR;
    EXPECT_EQ(
        Run({"import", data + "/members.csv", "--rejected", dir_.Sub("rejected.csv")}, "admin")
            .exit_code,
        1);
    EXPECT_EQ(
        Run({"rules", "load", std::string(LOVEBANK_SOURCE_DIR) + "/docs/examples/award-rules.csv"})
            .exit_code,
        0);
    EXPECT_EQ(Run({"import", data + "/activities-2026-11.csv"}, "worker-li").exit_code, 0);
    const Result awards = Run({"--json", "import", data + "/student-awards-2026-11.csv",
                               "--rejected", dir_.Sub("awards-rejected.csv")},
                              "worker-li");
    EXPECT_EQ(awards.exit_code, 0) << awards.out;
    return awards;
  }

  // The sample month's activities file, summed here: per team (rows, hours in minor units), per
  // member, in all, and its rows.
  struct SampleHours {
    std::map<std::string, std::pair<int, long>> team;
    std::map<std::string, long> member;
    long total = 0;
    std::size_t rows = 0;
  };
  static SampleHours SampleActivities() {
    SampleHours sums;
    std::ifstream activities(std::string(LOVEBANK_EXAMPLE_DATA_DIR) + "/activities-2026-11.csv");
    std::string line;
    std::getline(activities, line);
    while (std::getline(activities, line)) {
      std::vector<std::string> f;
      std::stringstream fields(line);
      for (std::string field; std::getline(fields, field, ',');) f.push_back(field);
      const long minor = std::lround(std::stod(f[7]) * 100);
      ++sums.team[f[3]].first;
      sums.team[f[3]].second += minor;
      sums.member[f[5]] += minor;
      sums.total += minor;
      ++sums.rows;
    }
    return sums;
  }
  // Minor units as the notice prints them: 123456 -> "1234.56".
  static std::string Decimal(long minor) {
    return Cat(minor / 100, ".", minor % 100 < 10 ? "0" : "", minor % 100);
  }

  void Grant(const std::string& name, const std::string& role, const std::string& account) {
    std::vector<std::string> args = {"--json", "principal", "create", name, "--role", role};
    if (!account.empty()) args.insert(args.end(), {"--account", account});
    const Result result = Run(args);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    tokens_[name] = result.json()["token"];
  }

  std::string Points(const std::string& account, const std::string& who = "auditor-wang") {
    const Result result = Run({"--json", "balance", account}, who);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const nlohmann::json json = result.json();  // kept: the loop below refers into it
    for (const auto& balance : json["balances"]) {
      if (balance["asset"] == "POINTS") return balance["amount"];
    }
    ADD_FAILURE() << "no POINTS balance for " << account << ": " << result.out << result.err;
    return "none";
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::Daemon> daemon_;
  std::map<std::string, std::string> tokens_;
};

// The reader above reads QR symbols only: this certificate link's code (CI of 15cf6e5, a random
// ledger id) is also read by zbar's 1D decoders as a barcode "438771" when they are on.
TEST(CertificateQr, IsReadAsTheQrSymbolAlone) {
  const std::string text =
      "https://lovebank.nanxi.example.cn/verify/#q=LB1.eyJhY2NvdW50IjoiVjAwMDAxIiwiYWN0aXZpdGll"
      "cyI6MSwiYXNfb2Zfc2VxIjoxNSwiY3VtdWxhdGl2ZV9ob3VycyI6IjMuMDAiLCJkYXRhX3NoYTI1NiI6ImVhNDYz"
      "ZTUwMDZiNDJmYjMwODZmNjY5Njk5MjI1ZDYzZDIxYWY1ODQ0YmNjOWM2ODIxYjAyMzk1MTQ5OTYzY2EiLCJmcm9t"
      "IjoiIiwibGVkZ2VyX2lkIjoiMzFlOWUwNDQyZWIyMWMyYWMwOTIzMzViNThlNWU0YjkiLCJuYW1lIjoi6Z-m6JWK"
      "IiwicHJvZ3JhbW1lIjoi54ix5b-D6ZO26KGMIiwic3Rhcl9sZXZlbCI6MCwidG8iOiIiLCJ0b3RhbF9ob3VycyI6"
      "IjMuMDAiLCJ2ZXJzaW9uIjoxfQ.RCEmy6sxDYb4-cehnHIXv0cd2NTnU3k2xstrz2eU6ZSMOxv0jJHt4ZI2TTXNf"
      "Df-KkTCIiTHqYHjRKbA8oE1Ag&k=9e15509698d792a41342b16ae3f64f92bc674579ad273d58b63faad01b32"
      "c2e2";
  const std::string page =
      "<img id=certificate-qr data-text=\"" + text + "\">" + certificate::QrSvg(text);
  testing::TempDir dir;
  EXPECT_EQ(ReadQr(page, dir.path()).decoded, text);
}

TEST_F(CliTest, TheFirstTenMinutesWalkThrough) {
  OpenProgramme();
  Result earned = Run({"earn", "--member", "V00001", "--hours", "3", "--activity", "重阳节敬老活动",
                       "--date", "2026-10-29"},
                      "worker-li");
  ASSERT_EQ(earned.exit_code, 0) << earned.err;
  EXPECT_NE(earned.out.find("韦蕊 (V00001) +3 HOURS  balance 3.00"), std::string::npos)
      << earned.out;
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--points", "500", "--reason", "期中考试进步明显"},
                "worker-li")
                .exit_code,
            0);
  const Result sale = Run({"redeem", "--store", "store:main", "--member", "V00001", "--amount",
                           "30", "--memo", "大米 5kg ×1"},
                          "till-1");
  ASSERT_EQ(sale.exit_code, 0) << sale.err;
  for (const char* line : {"河头店镇爱心超市 (store:main)", "会员 member      韦蕊 (V00001)",
                           "商品 goods       大米 5kg ×1", "支付 paid        30.00 POINTS",
                           "余额 balance     470.00 POINTS"}) {
    EXPECT_NE(sale.out.find(line), std::string::npos) << line << "\n" << sale.out;
  }
  const Result history = Run({"history", "V00001"}, "app-v1");
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_NE(history.out.find("redeem at store:main · 大米 5kg ×1"), std::string::npos)
      << history.out;
  EXPECT_NE(history.out.find("earn from issuer:town · 重阳节敬老活动 2026-10-29"),
            std::string::npos)
      << history.out;
  // The phone's live view: the statement as it grew (oldest first), then stop after 4 lines; with
  // --new only what comes next (nothing within --idle here).
  const Result watched = Run({"watch", "--count", "4"}, "app-v1");
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_LT(watched.out.find("account opened"), watched.out.find("redeem at store:main"))
      << watched.out;
  EXPECT_NE(watched.out.find("-30.00 POINTS  → 470.00"), std::string::npos) << watched.out;
  const Result quiet = Run({"watch", "--new", "--idle", "1"}, "app-v1");
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "") << quiet.out;
  const Result whoami = Run({"whoami"}, "till-1");
  EXPECT_EQ(whoami.out, "till-1  TERMINAL store:main\n") << whoami.err;
  const Result balance = Run({"balance"}, "app-v1");  // a member token's own account
  ASSERT_EQ(balance.exit_code, 0) << balance.err;
  EXPECT_NE(balance.out.find("3.00 HOURS"), std::string::npos) << balance.out;
  EXPECT_NE(balance.out.find("470.00 POINTS"), std::string::npos) << balance.out;

  const Result audit = Run({"audit"}, "auditor-wang");
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("CLEAN"), std::string::npos) << audit.out;
  const Result digest = Run({"digest"}, "auditor-wang");
  ASSERT_EQ(digest.exit_code, 0);
  const std::string published = digest.out.substr(0, digest.out.find('\n'));
  EXPECT_EQ(published.size(), published.find(':') + 1 + 64) << published;
  EXPECT_EQ(Run({"audit", "--expect-digest", published}, "auditor-wang").exit_code, 0);
  EXPECT_EQ(
      Run({"audit", "--expect-digest", "3:" + std::string(64, '0')}, "auditor-wang").exit_code, 1);

  // export, then the offline audit of the file.
  const Result exported = Run({"export", "--out", dir_.Sub("ledger.lbexport")}, "auditor-wang");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string offline = Cat(LOVEBANK_AUDIT_PATH, " --file ", dir_.Sub("ledger.lbexport"),
                                  " --expect-digest ", published, " >/dev/null");
  EXPECT_EQ(std::system(offline.c_str()), 0);
}

// Issue #6 "Done when": a full love-supermarket day through the CLI — donations in, prices set,
// members shop with points and with hours, a refund, a write-off, a settlement — and the audit
// is clean with flows that tie out.
// A member's phone gets going without an admin (issue #24 item 2): the social worker prints a
// code, the phone exchanges it (no token of its own yet) and reads its balance with the token.
TEST_F(CliTest, AMembersPhoneActivatesWithTheSocialWorkersCode) {
  OpenProgramme();
  const Result issued = Run({"--json", "activation-code", "V00001", "--ttl", "3600"}, "worker-li");
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  const auto code = nlohmann::json::parse(issued.out).value("code", "");
  ASSERT_EQ(code.size(), 19u) << issued.out;
  const Result text = Run({"activation-code", "V00001"}, "worker-li");
  EXPECT_NE(text.out.find("激活码 activation code: "), std::string::npos) << text.out;
  const Result activated = Run({"--json", "activate", code, "--device", "韦蕊的手机"}, "");
  ASSERT_EQ(activated.exit_code, 0) << activated.err;
  const auto phone = nlohmann::json::parse(activated.out);
  EXPECT_EQ(phone.value("account", ""), "V00001");
  tokens_["phone"] = phone.value("token", "");
  const Result balance = Run({"balance"}, "phone");
  EXPECT_EQ(balance.exit_code, 0) << balance.err;
  EXPECT_NE(balance.out.find("V00001"), std::string::npos) << balance.out;
  const Result again = Run({"activate", code}, "");
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.err.find("ACTIVATION_CODE_UNKNOWN"), std::string::npos) << again.err;
  EXPECT_EQ(Run({"activation-code", "V00001"}, "app-v1").exit_code, 1);  // a member may not
  // The member forgot the phone's PIN: the social worker clears it; a till may not.
  const std::string device = phone.value("principal", "");
  const Result cleared = Run({"principal", "clear-pin", device}, "worker-li");
  EXPECT_EQ(cleared.exit_code, 0) << cleared.err;
  EXPECT_NE(cleared.out.find("cleared the PIN of " + device), std::string::npos) << cleared.out;
  const Result till = Run({"principal", "clear-pin", device}, "till-1");
  EXPECT_EQ(till.exit_code, 1);
  EXPECT_NE(till.err.find("PERMISSION_DENIED"), std::string::npos) << till.err;
}

TEST_F(CliTest, AFullLoveSupermarketDay) {
  OpenProgramme();
  for (const auto& [account, name] :
       {std::pair{"issuer:goods", "爱心捐赠物资"}, std::pair{"issuer:exchange", "时长兑换"}}) {
    ASSERT_EQ(Run({"account", "open", account, "--kind", "issuer", "--name", name, "--budget",
                   "POINTS=5000"})
                  .exit_code,
              0);
  }
  auto ok = [this](const std::vector<std::string>& args, const std::string& who) {
    const Result result = Run(args, who);
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    return result;
  };
  // The office: prices (明码标分), donations in, the exchange ratio.
  ok({"catalog", "set", "--store", "store:main", "--sku", "RICE_5KG", "--name", "东北大米 5kg",
      "--unit", "袋", "--price", "30"},
     "admin");
  ok({"catalog", "set", "--store", "store:main", "--sku", "OIL_5L", "--name", "花生油 5L", "--unit",
      "桶", "--price", "59.90"},
     "admin");
  ok({"stock", "receive", "--store", "store:main", "--sku", "RICE_5KG", "--quantity", "50",
      "--donor", "爱心企业 富民米业"},
     "admin");
  ok({"stock", "receive", "--store", "store:main", "--sku", "OIL_5L", "--quantity", "10", "--donor",
      "县慈善总会"},
     "admin");
  ok({"ratio", "set", "--points-per-hour", "10", "--exchange", "issuer:exchange"}, "admin");
  EXPECT_NE(ok({"ratio", "show"}, "till-1").out.find("1 HOURS = 10.00 POINTS via issuer:exchange"),
            std::string::npos);
  ok({"catalog", "price", "--store", "store:main", "--sku", "OIL_5L", "--price", "55"}, "admin");
  const Result shelf = ok({"catalog", "list", "--store", "store:main"}, "app-v1");
  EXPECT_NE(shelf.out.find("OIL_5L             55.00       10  花生油 5L / 桶"), std::string::npos)
      << shelf.out;

  ok({"limit", "set", "--sku", "RICE_5KG", "--per", "month", "--max", "3"}, "admin");
  ok({"household", "set", "hh:htd-017", "--member", "V00002"}, "admin");
  EXPECT_NE(ok({"limit", "list"}, "till-1").out.find("RICE_5KG  at most 3 per month"),
            std::string::npos);
  // Members earn, then shop with points and with hours.
  ok({"earn", "--member", "V00001", "--points", "500", "--reason", "期中考试进步明显"},
     "worker-li");
  ok({"earn", "--member", "V00002", "--hours", "12", "--activity", "重阳节敬老活动", "--date",
      "2026-10-29"},
     "worker-li");
  const Result sale = ok({"redeem", "--store", "store:main", "--member", "V00001", "RICE_5KG:2",
                          "OIL_5L:1", "--request-id", "till1-0001"},
                         "till-1");
  for (const char* line :
       {"东北大米 5kg  ×2 袋 @ 30.00 = 60.00 POINTS", "花生油 5L  ×1 桶 @ 55.00 = 55.00 POINTS",
        "合计 total       115.00 POINTS", "余额 balance     385.00 POINTS"}) {
    EXPECT_NE(sale.out.find(line), std::string::npos) << line << "\n" << sale.out;
  }
  const Result by_hours =
      ok({"redeem", "--store", "store:main", "--member", "V00002", "--pay", "HOURS", "RICE_5KG:3"},
         "till-1");
  EXPECT_NE(by_hours.out.find("时长 hours       9.00 HOURS at 10.00 POINTS an hour"),
            std::string::npos)
      << by_hours.out;
  // V00002 took 3 bags this month: a fourth is past the limit, which the refusal names.
  const Result capped =
      Run({"redeem", "--store", "store:main", "--member", "V00002", "--pay", "HOURS", "RICE_5KG:1"},
          "till-1");
  EXPECT_EQ(capped.exit_code, 1);
  EXPECT_NE(capped.err.find("LIMIT_EXCEEDED"), std::string::npos) << capped.err;
  EXPECT_NE(capped.err.find("at most 3 per MONTH"), std::string::npos) << capped.err;
  // Not enough stock: the reason, exit 1.
  const Result short_stock =
      Run({"redeem", "--store", "store:main", "--member", "V00001", "OIL_5L:20"}, "till-1");
  EXPECT_EQ(short_stock.exit_code, 1);
  EXPECT_NE(short_stock.err.find("INSUFFICIENT_STOCK"), std::string::npos) << short_stock.err;
  EXPECT_EQ(
      Run({"redeem", "--store", "store:main", "--member", "V00001", "RICE"}, "till-1").exit_code,
      2);  // not SKU:QTY

  // The checkout lane's holds: two bottles of oil held, one taken, one back on the shelf; a bag
  // of rice held and given back whole.
  const Result oil_hold = ok({"--json", "hold", "--store", "store:main", "--member", "V00001",
                              "OIL_5L:2", "--timeout", "300"},
                             "till-1");
  const std::uint64_t oil = std::stoull(oil_hold.json()["seq"].get<std::string>());
  EXPECT_EQ(oil_hold.json()["total_points"], "110.00");
  EXPECT_EQ(Points("V00001"), "275.00");  // held: not spendable elsewhere
  const Result shown = ok({"holds", "show", std::to_string(oil)}, "till-1");
  EXPECT_NE(shown.out.find("hold #" + std::to_string(oil) + "  open"), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("花生油 5L  ×2 桶 @ 55.00 = 110.00 POINTS"), std::string::npos)
      << shown.out;
  const Result taken =
      ok({"capture", std::to_string(oil), "OIL_5L:1", "--store", "store:main"}, "till-1");
  EXPECT_NE(taken.out.find("合计 total       55.00 POINTS"), std::string::npos) << taken.out;
  EXPECT_EQ(Points("V00001"), "330.00");
  EXPECT_NE(ok({"holds", "show", std::to_string(oil)}, "till-1").out.find("captured by entry"),
            std::string::npos);
  const Result rice_hold =
      ok({"hold", "--store", "store:main", "--member", "V00001", "RICE_5KG:1"}, "till-1");
  EXPECT_NE(rice_hold.out.find("余额 balance     300.00 POINTS (the basket is held"),
            std::string::npos)
      << rice_hold.out;
  const std::size_t at = rice_hold.out.find("预留 hold #");
  ASSERT_NE(at, std::string::npos) << rice_hold.out;
  const std::size_t from = at + std::string("预留 hold #").size();
  const std::string rice = rice_hold.out.substr(from, rice_hold.out.find(' ', from) - from);
  ok({"void", rice, "--store", "store:main"}, "till-1");
  const Result twice = Run({"void", rice, "--store", "store:main"}, "till-1");
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("HOLD_CLOSED"), std::string::npos) << twice.err;
  EXPECT_EQ(Run({"capture", rice, "--store", "store:b"}, "till-1").exit_code, 1);  // not its store

  // A returned bag, a damaged one written off, and the month's settlement.
  const Result back =
      ok({"refund", "till1-0001", "--lines", "RICE_5KG:1", "--memo", "退货"}, "till-1");
  EXPECT_NE(back.out.find("合计 total       30.00 POINTS"), std::string::npos) << back.out;
  EXPECT_EQ(Run({"refund", "till1-0001", "--lines", "RICE_5KG:1"}, "till-1").exit_code, 1);
  ok({"stock", "write-off", "--store", "store:main", "--sku", "RICE_5KG", "--quantity", "1",
      "--reason", "受潮变质"},
     "admin");
  ok({"settle", "--store", "store:main", "--issuer", "issuer:town", "--amount", "100", "--memo",
      "2026年11月结算"},
     "admin");
  EXPECT_EQ(Points("V00001"), "360.00");      // 500 - 115 - 55 (the captured oil) + 30 back
  EXPECT_EQ(Points("store:main"), "130.00");  // 115 + 90 (hours) + 55 - 30 - 100 settled
  const Result stock = ok({"--json", "stock", "show", "--store", "store:main"}, "auditor-wang");
  const nlohmann::json items = stock.json()["items"];  // a copy: no reference into a temporary
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1]["sku"], "RICE_5KG");
  EXPECT_EQ(items[1]["stock"], "45");  // 50 in, 5 sold, 1 back, 1 written off
  // Names beside codes (issue #28): the goods in a statement and a store's balance, the store by
  // its account's name where the token may read it.
  const Result bought = ok({"history", "V00001"}, "app-v1");
  EXPECT_NE(bought.out.find("东北大米 5kg (RICE_5KG)×2 花生油 5L (OIL_5L)×1"), std::string::npos)
      << bought.out;
  const Result sold = ok({"history", "V00001"}, "auditor-wang");
  EXPECT_NE(sold.out.find("checkout at 河头店镇爱心超市 (store:main) ·"), std::string::npos)
      << sold.out;
  const Result shelves = ok({"balance", "store:main"}, "auditor-wang");
  EXPECT_NE(shelves.out.find("45 东北大米 5kg (RICE_5KG)"), std::string::npos) << shelves.out;

  // The auditor: clean, and the flows tie out.
  const Result audit = Run({"--json", "audit"}, "auditor-wang");
  ASSERT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  const nlohmann::json report = audit.json();  // kept: the loops below refer into it
  std::map<std::string, std::string> flows;
  for (const auto& flow : report["flows"]) {
    flows[flow["asset"].get<std::string>() + " " + flow["kind"].get<std::string>()] =
        flow["amount"];
  }
  EXPECT_EQ(flows["POINTS earn"], "500.00");
  EXPECT_EQ(flows["POINTS checkout"], "205.00");        // 115 in points + 90 bought with hours
  EXPECT_EQ(flows["POINTS authorize_hold"], "140.00");  // into escrow: 110 oil + 30 rice
  EXPECT_EQ(flows["POINTS capture_hold"], "110.00");    // 55 to the store, 55 back
  EXPECT_EQ(flows["POINTS void_hold"], "30.00");
  EXPECT_EQ(flows["OIL_5L capture_hold"], "2");  // 1 to the member, 1 back
  EXPECT_EQ(flows["HOURS checkout"], "9.00");
  EXPECT_EQ(flows["POINTS refund"], "30.00");
  EXPECT_EQ(flows["POINTS settle"], "100.00");
  EXPECT_EQ(flows["RICE_5KG receive_stock"], "50");
  EXPECT_EQ(flows["RICE_5KG checkout"], "5");
  EXPECT_EQ(flows["RICE_5KG refund"], "1");
  EXPECT_EQ(flows["RICE_5KG write_off_stock"], "1");
  // The month per store, audited first.
  const Result month = Run({"--json", "report", "stores"}, "auditor-wang");
  ASSERT_EQ(month.exit_code, 0) << month.out << month.err;
  const nlohmann::json stores = month.json()["stores"];
  ASSERT_EQ(stores.size(), 1u) << month.out;
  EXPECT_EQ(stores[0]["store"], "store:main");
  EXPECT_EQ(stores[0]["baskets"], 3);
  EXPECT_EQ(stores[0]["points"], "260.00");
  EXPECT_EQ(stores[0]["hours"], "9.00");
  EXPECT_EQ(stores[0]["refunds"], 1);
  EXPECT_EQ(stores[0]["refunded"], "30.00");
  EXPECT_EQ(stores[0]["settled"], "100.00");
  const Result table = Run({"report", "stores"}, "auditor-wang");
  EXPECT_NE(table.out.find("store:main"), std::string::npos) << table.out;
  // They tie out with the balances: the shelf holds 50 in - 5 sold + 1 back - 1 written off =
  // 45 bags; the store holds 260 paid - 30 refunded - 100 settled = 130 points, which is what
  // the totals call redeemed (held by stores).
  for (const auto& total : report["totals"]) {
    if (total["asset"] == "POINTS") {
      EXPECT_EQ(total["redeemed"], "130.00");
    }
    if (total["asset"] == "RICE_5KG") {
      EXPECT_EQ(total["redeemed"], "45");
    }
  }
}

// Issue #7 star levels through the CLI: hours served raise the star, giving hours away does not
// lower it, the office can set the thresholds, and only the admin may.
TEST_F(CliTest, AVolunteersStarRisesWithServedHoursAndGivingHoursAwayKeepsIt) {
  OpenProgramme();
  auto ok = [this](const std::vector<std::string>& args, const std::string& who) {
    const Result result = Run(args, who);
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    return result;
  };
  ok({"earn", "--member", "V00001", "--hours", "96", "--activity", "重阳节敬老活动", "--date",
      "2026-10-29"},
     "worker-li");
  ok({"earn", "--member", "V00001", "--hours", "6.5", "--activity", "河道清洁", "--date",
      "2026-11-02"},
     "worker-li");
  const Result mine = ok({"profile"}, "app-v1");  // a member token: its own account
  for (const char* line :
       {"累计志愿时长 cumulative 102.50 HOURS", "星级 star               ★☆☆☆☆ 1",
        "下一星级 next star      at 300.00 HOURS, 197.50 to go"}) {
    EXPECT_NE(mine.out.find(line), std::string::npos) << line << "\n" << mine.out;
  }
  ok({"transfer", "--to", "V00002", "--amount", "50", "--asset", "HOURS"}, "app-v1");
  const Result after = ok({"--json", "profile", "V00001"}, "worker-li");
  EXPECT_EQ(after.json()["cumulative_hours"], "102.50");
  EXPECT_EQ(after.json()["balance_hours"], "52.50");
  EXPECT_EQ(after.json()["star_level"], 1);
  EXPECT_EQ(Run({"stars", "set", "50", "100"}, "worker-li").exit_code, 1);  // not an admin
  ok({"stars", "set", "50", "100", "--memo", "本镇星级标准"}, "admin");
  EXPECT_EQ(ok({"--json", "profile", "V00001"}, "admin").json()["star_level"], 2);
  const Result bad = Run({"stars", "set", "100", "50"}, "admin");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("STAR_LEVELS_INVALID"), std::string::npos) << bad.err;

  // The storage cap (Nanjing: 1,500 h; here 60 h): the rest of an earning goes to the pool.
  ok({"account", "open", "system:pool", "--kind", "system", "--name", "爱心时间池"}, "admin");
  ok({"cap", "set", "--max", "60", "--pool", "system:pool", "--memo", "存储上限"}, "admin");
  const Result capped = ok({"earn", "--member", "V00001", "--hours", "10", "--activity", "社区义诊",
                            "--date", "2026-11-05"},
                           "worker-li");
  EXPECT_NE(capped.out.find("past the storage cap: 2.50 HOURS to the donation pool"),
            std::string::npos)
      << capped.out;  // 52.50 + 10 > 60
  const Result pooled = ok({"--json", "profile", "V00001"}, "admin");
  EXPECT_EQ(pooled.json()["balance_hours"], "60.00");
  EXPECT_EQ(pooled.json()["cumulative_hours"], "112.50");  // every hour served counts
  // The daily cap (Shanghai: 2 hours a day of service).
  ok({"cap", "daily", "--max", "2"}, "admin");
  const Result long_day = Run({"earn", "--member", "V00002", "--hours", "3", "--activity",
                               "社区义诊", "--date", "2026-11-05"},
                              "worker-li");
  EXPECT_EQ(long_day.exit_code, 1);
  EXPECT_NE(long_day.err.find("LIMIT_EXCEEDED"), std::string::npos) << long_day.err;
  ok({"earn", "--member", "V00002", "--hours", "2", "--activity", "社区义诊", "--date",
      "2026-11-05"},
     "worker-li");
  EXPECT_EQ(Run({"--json", "audit"}, "auditor-wang").exit_code, 0);
}

// Programme settings through the one generic command: the value as JSON in Chinese, listed back;
// an unknown setting, bad JSON and a value its rule refuses each say why; admins only.
TEST_F(CliTest, ASettingIsSetAsJsonAndListed) {
  OpenProgramme();
  const std::string profile =
      R"({"name": "南溪镇爱心银行", "town": "南溪镇", "office": "南溪镇民政办",)"
      R"( "display_names": [{"id": "store:main", "name": "南溪镇爱心超市"}]})";
  const Result set = Run({"setting", "set", "programme_profile", profile, "--memo", "项目名称"});
  ASSERT_EQ(set.exit_code, 0) << set.out << set.err;
  EXPECT_NE(set.out.find("programme_profile set"), std::string::npos) << set.out;
  const Result listed = Run({"setting", "list"}, "till-1");  // public, like the prices
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("programme_profile (entry "), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("\"name\":\"南溪镇爱心银行\""), std::string::npos) << listed.out;
  const Result json = Run({"--json", "setting", "list"}, "app-v1");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.json()["settings"][0]["value"]["programme_profile"]["display_names"][0]["name"],
            "南溪镇爱心超市");
  // A member's statement names the shop as the profile does (its account is not the member's
  // to read; the profile is public).
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--points", "30", "--reason", "进步"}, "worker-li")
                .exit_code,
            0);
  const Result receipt =
      Run({"redeem", "--store", "store:main", "--member", "V00001", "--amount", "30"}, "till-1");
  ASSERT_EQ(receipt.exit_code, 0) << receipt.err;
  EXPECT_NE(receipt.out.find("南溪镇爱心银行 · 南溪镇爱心超市 (store:main)  兑换小票 receipt"),
            std::string::npos)
      << receipt.out;  // the programme and the shop as the profile names them
  const Result statement = Run({"history"}, "app-v1");
  EXPECT_NE(statement.out.find("redeem at 南溪镇爱心超市 (store:main)"), std::string::npos)
      << statement.out;

  const Result unknown = Run({"setting", "set", "no_such_setting", "{}"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("the settings are: programme_profile"), std::string::npos)
      << unknown.err;
  const Result not_json = Run({"setting", "set", "programme_profile", "{name: 1"});
  EXPECT_EQ(not_json.exit_code, 2);
  EXPECT_NE(not_json.err.find("is not JSON"), std::string::npos) << not_json.err;
  // A value that is JSON but not the setting's type; a second field cannot be spliced in.
  const Result wrong_type = Run({"setting", "set", "programme_profile", "[1]"});
  EXPECT_EQ(wrong_type.exit_code, 2);
  EXPECT_NE(wrong_type.err.find("not its JSON"), std::string::npos) << wrong_type.err;
  const Result spliced =
      Run({"setting", "set", "programme_profile", R"({"name": "x"}, "programme_profile": {})"});
  EXPECT_EQ(spliced.exit_code, 2);
  EXPECT_NE(spliced.err.find("is not JSON"), std::string::npos) << spliced.err;
  const Result unnamed = Run({"setting", "set", "programme_profile", R"({"town": "南溪镇"})"});
  EXPECT_EQ(unnamed.exit_code, 1);
  EXPECT_NE(unnamed.err.find("SETTING_INVALID"), std::string::npos) << unnamed.err;
  EXPECT_EQ(Run({"setting", "set", "programme_profile", profile}, "worker-li").exit_code, 1);

  // The monthly notice carries the programme's own names (the audit's replay of the profile).
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--points", "100", "--reason", "进步"}, "worker-li")
                .exit_code,
            0);
  ASSERT_EQ(
      Run({"redeem", "--store", "store:main", "--member", "V00001", "--amount", "30"}, "till-1")
          .exit_code,
      0);
  const std::string out = dir_.Sub("notice");
  std::filesystem::create_directories(out);
  const Result report = Run({"report", "--month", "2026-11", "--out", out}, "auditor-wang");
  ASSERT_EQ(report.exit_code, 0) << report.out << report.err;
  std::ifstream html_file(out + "/report-2026-11.html");
  const std::string html((std::istreambuf_iterator<char>(html_file)), {});
  EXPECT_NE(html.find("<title>南溪镇爱心银行 2026年11月公示</title>"), std::string::npos) << html;
  EXPECT_NE(html.find("<h1>南溪镇爱心银行 2026年11月 公示</h1>"), std::string::npos) << html;
  EXPECT_NE(html.find("南溪镇 南溪镇民政办"), std::string::npos) << html;
  // Names, never codes (#28: the store showed as store:main, rules as STUDENT_PROGRESS).
  EXPECT_NE(html.find("<td>南溪镇爱心超市</td>"), std::string::npos) << html;
  EXPECT_EQ(html.find("store:main"), std::string::npos) << html;
  EXPECT_NE(html.find("公示单位（盖章）：南溪镇民政办"), std::string::npos) << html;
  EXPECT_EQ(Run({"--json", "audit"}, "auditor-wang").exit_code, 0);
}

// Issue #28: `lovebank help`, "did you mean" for a mistyped command, usage errors as JSON with
// --json, and every refusal's Chinese words (the pages' reasons.js, compiled in).
TEST_F(CliTest, HelpSuggestionsJsonUsageErrorsAndChineseWords) {
  const Result help = Run({"help"}, "", "127.0.0.1:1");
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("redeem"), std::string::npos) << help.out;
  const Result help_redeem = Run({"help", "redeem"}, "", "127.0.0.1:1");
  EXPECT_EQ(help_redeem.exit_code, 0);
  EXPECT_NE(help_redeem.out.find("--member"), std::string::npos) << help_redeem.out;

  const Result typo = Run({"--server", "127.0.0.1:1", "balanse", "V00001"}, "", "127.0.0.1:1");
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("did you mean `lovebank balance`?"), std::string::npos) << typo.err;
  const Result nested = Run({"account", "opn", "V9"}, "", "127.0.0.1:1");
  EXPECT_EQ(nested.exit_code, 2);
  EXPECT_NE(nested.err.find("did you mean `lovebank account open`?"), std::string::npos)
      << nested.err;
  const Result far = Run({"xyzzy"}, "", "127.0.0.1:1");
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
  // `help` with a mistyped command says so (not the overview), and what was meant.
  const Result help_typo = Run({"help", "blance"}, "", "127.0.0.1:1");
  EXPECT_EQ(help_typo.exit_code, 2);
  EXPECT_NE(help_typo.err.find("no command `blance`; did you mean `lovebank balance`?"),
            std::string::npos)
      << help_typo.err;
  const Result help_nested = Run({"help", "account", "budgte"}, "", "127.0.0.1:1");
  EXPECT_EQ(help_nested.exit_code, 2);
  EXPECT_NE(help_nested.err.find("did you mean `lovebank account budget`?"), std::string::npos)
      << help_nested.err;
  const Result help_json = Run({"help", "--json", "blance"}, "", "127.0.0.1:1");
  EXPECT_EQ(help_json.exit_code, 2);
  EXPECT_NE(help_json.out.find("did you mean `lovebank balance`?"), std::string::npos)
      << help_json.out;
  const Result help_budget = Run({"help", "account", "budget"}, "", "127.0.0.1:1");
  EXPECT_EQ(help_budget.exit_code, 0) << help_budget.err;
  EXPECT_NE(help_budget.out.find("never below what it has issued"), std::string::npos)
      << help_budget.out;

  const Result json = Run({"--json", "balanse", "V00001"}, "", "127.0.0.1:1");
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_EQ(json.json()["error"]["code"], "USAGE") << json.out;
  EXPECT_EQ(json.json()["error"]["exit_code"], 2);

  OpenProgramme();
  for (const auto& [amount, reason, words] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"1e3", "AMOUNT_EXPONENT", "数量请直接写数字"},
           {"３０", "AMOUNT_NON_ASCII_DIGIT", "请用半角数字"},
           {"30元", "AMOUNT_INVALID_CHARACTER", "数量只能是数字"}}) {
    const Result refused =
        Run({"earn", "--member", "V00001", "--points", amount, "--reason", "x"}, "worker-li");
    EXPECT_EQ(refused.exit_code, 1) << amount;
    EXPECT_NE(refused.err.find(reason + " (" + words), std::string::npos) << refused.err;
    const Result as_json = Run(
        {"--json", "earn", "--member", "V00001", "--points", amount, "--reason", "x"}, "worker-li");
    EXPECT_EQ(as_json.json()["error"]["reason"], reason);
    EXPECT_NE(as_json.json()["error"]["words"].get<std::string>().find(words), std::string::npos)
        << as_json.out;
  }
}

// Issue #28: `lovebank --version` answers without a server, a token or a subcommand.
TEST_F(CliTest, VersionPrintsTheVersionAndExitsZero) {
  const Result version = Run({"--version"}, "", "127.0.0.1:1");
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out, VersionText("lovebank") + "\n");
}

// The cashier's search (issue #24 item 4): a part of the name finds the member.
TEST_F(CliTest, AccountsFindsAMemberByPartOfTheName) {
  OpenProgramme();
  const Result found = Run({"accounts", "--name", "韦"}, "till-1");
  ASSERT_EQ(found.exit_code, 0) << found.err;
  EXPECT_NE(found.out.find("  V00001  韦蕊  MEMBER  ACTIVE\n"), std::string::npos) << found.out;
  EXPECT_EQ(found.out.find("V00002"), std::string::npos) << found.out;
  const Result paged = Run({"--json", "accounts", "--kind", "member", "--page-size", "1"});
  ASSERT_EQ(paged.exit_code, 0) << paged.err;
  EXPECT_EQ(paged.json()["accounts"].size(), 1u);
  // The cursor is sealed (it does not name V00001) and leads on to the next page.
  const std::string cursor = paged.json()["next_cursor"];
  EXPECT_EQ(cursor.find("V00001"), std::string::npos) << cursor;
  const Result next = Run({"accounts", "--kind", "member", "--after", cursor});
  EXPECT_NE(next.out.find("V00002  龙静环"), std::string::npos) << next.out;
  EXPECT_EQ(next.out.find("V00001"), std::string::npos) << next.out;
  const Result forged = Run({"accounts", "--after", "V00001"});
  EXPECT_EQ(forged.exit_code, 1);
  EXPECT_NE(forged.err.find("CURSOR_INVALID"), std::string::npos) << forged.err;
  const Result nobody = Run({"accounts", "--name", "不存在"});
  EXPECT_NE(nobody.out.find("no account found"), std::string::npos) << nobody.out;
  const Result bad = Run({"accounts", "--page-size", "5000"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("PAGE_SIZE_INVALID"), std::string::npos) << bad.err;
}

// The counter's lookups (issue #24 item 4): the admin sets a member's card and phone; the till
// finds the member by the card or the phone's last four digits and sees the phone masked.
TEST_F(CliTest, AccountsFindsAMemberByCardOrPhoneAndATillSeesThePhoneMasked) {
  OpenProgramme();
  const Result set = Run({"account", "contact", "V00001", "--card", "0001024", "--phone",
                          "13812345678", "--memo", "办理爱心卡"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  const Result by_phone = Run({"accounts", "--phone", "5678"}, "till-1");
  ASSERT_EQ(by_phone.exit_code, 0) << by_phone.err;
  EXPECT_NE(by_phone.out.find("  V00001  韦蕊  MEMBER  ACTIVE  138****5678\n"), std::string::npos)
      << by_phone.out;
  EXPECT_EQ(by_phone.out.find("0001024"), std::string::npos) << by_phone.out;
  const Result by_card = Run({"accounts", "--card", "0001024"});
  EXPECT_NE(by_card.out.find("V00001  韦蕊  MEMBER  ACTIVE  13812345678  card 0001024"),
            std::string::npos)
      << by_card.out;
  const Result shown = Run({"account", "show", "V00001"});
  EXPECT_NE(shown.out.find("  card    0001024\n  phone   13812345678\n"), std::string::npos)
      << shown.out;
  const Result bad = Run({"account", "contact", "V00002", "--card", "0001024"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("ACCOUNT_CARD_TAKEN"), std::string::npos) << bad.err;
}

TEST_F(CliTest, RefusalsHaveTheirExitCodesAndReasons) {
  OpenProgramme();
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--points", "10", "--reason", "进步"}, "worker-li")
                .exit_code,
            0);
  const Result overdraft =
      Run({"redeem", "--store", "store:main", "--member", "V00001", "--amount", "11"}, "till-1");
  EXPECT_EQ(overdraft.exit_code, 1);
  EXPECT_NE(overdraft.err.find("FAILED_PRECONDITION INSUFFICIENT_BALANCE (余额不足)"),
            std::string::npos)
      << overdraft.err;
  const Result json =
      Run({"--json", "redeem", "--store", "store:main", "--member", "V00001", "--amount", "11"},
          "till-1");
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(json.json()["error"]["reason"], "INSUFFICIENT_BALANCE");
  EXPECT_EQ(json.json()["error"]["code"], "FAILED_PRECONDITION");

  const Result denied = Run(
      {"earn", "--member", "V00001", "--points", "1", "--reason", "x", "--issuer", "issuer:town"},
      "till-1");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("PERMISSION_DENIED"), std::string::npos) << denied.err;
  EXPECT_EQ(Run({"balance", "V00001"}, "").exit_code, 1);  // no token: UNAUTHENTICATED
  EXPECT_EQ(Run({"redeem", "--store", "store:main", "--member", "V00001"}, "till-1").exit_code,
            2);  // --amount missing
  EXPECT_EQ(
      Run({"earn", "--member", "V00001", "--hours", "1", "--points", "1"}, "worker-li").exit_code,
      2);
  const Result bad_amount =
      Run({"redeem", "--store", "store:main", "--member", "V00001", "--amount", "1.005"}, "till-1");
  EXPECT_EQ(bad_amount.exit_code, 1);
  EXPECT_NE(bad_amount.err.find("AMOUNT_TOO_MANY_DECIMALS"), std::string::npos);
  // Nothing listens on port 1.
  const Result unreachable = Run({"balance", "V00001"}, "auditor-wang", "127.0.0.1:1");
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.err;
  EXPECT_NE(unreachable.err.find("; try again"), std::string::npos) << unreachable.err;
  EXPECT_EQ(unreachable.err.find("request-id"), std::string::npos) << unreachable.err;  // a read
  EXPECT_EQ(Points("V00001"), "10.00");
}

TEST_F(CliTest, AccountsPrincipalsTransfersDeductionsAndRefunds) {
  OpenProgramme();
  ASSERT_EQ(
      Run({"earn", "--member", "V00001", "--points", "100", "--reason", "考上大学"}, "worker-li")
          .exit_code,
      0);
  const Result sale = Run({"--json", "redeem", "--store", "store:main", "--member", "V00001",
                           "--amount", "40", "--request-id", "till1-0001"},
                          "till-1");
  ASSERT_EQ(sale.exit_code, 0) << sale.err;
  EXPECT_EQ(sale.json()["request_id"], "till1-0001");
  EXPECT_EQ(Run({"refund", "till1-0001", "--memo", "退货"}, "till-1").exit_code, 0);
  EXPECT_EQ(Run({"refund", "till1-0001"}, "till-1").exit_code, 1);  // already reversed
  EXPECT_EQ(Points("V00001"), "100.00");

  const Result gift = Run(
      {"transfer", "--to", "V00002", "--amount", "25", "--asset", "POINTS", "--memo", "转赠给外婆"},
      "app-v1");
  ASSERT_EQ(gift.exit_code, 0) << gift.err;
  EXPECT_EQ(Points("V00002"), "25.00");
  EXPECT_EQ(
      Run({"deduct", "--member", "V00001", "--points", "15", "--reason", "学习不努力"}, "worker-li")
          .exit_code,
      0);
  EXPECT_EQ(Points("V00001"), "60.00");

  const Result show = Run({"--json", "account", "show", "V00002"});
  ASSERT_EQ(show.exit_code, 0);
  EXPECT_EQ(show.json()["display_name"], "龙静环");
  EXPECT_EQ(Run({"account", "freeze", "V00002", "--memo", "搬离本村"}).exit_code, 0);
  EXPECT_EQ(
      Run({"transfer", "--to", "V00002", "--amount", "1", "--asset", "POINTS"}, "app-v1").exit_code,
      1);
  EXPECT_EQ(Run({"account", "unfreeze", "V00002"}).exit_code, 0);
  EXPECT_EQ(Run({"account", "open", "V00001", "--name", "韦蕊"}).exit_code, 0);  // the same open

  const Result list = Run({"--json", "principal", "list"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.json()["principals"].size(), 5u);
  EXPECT_EQ(Run({"principal", "revoke", "till-1"}).exit_code, 0);
  EXPECT_EQ(Run({"balance", "V00001"}, "till-1").exit_code, 1);  // revoked token
}

TEST_F(CliTest, AnImportAppliesGoodRowsReportsBadOnesAndAppliesNothingTwice) {
  OpenProgramme();
  const std::string file = dir_.Sub("activities.csv");
  std::ofstream(file) << "activity_id,date,team_id,team_name,activity,member_id,member_name,hours\n"
                         "A1,2026-11-01,T17,反诈宣传志愿队,政策宣讲,V00001,韦蕊,3\n"
                         "A1,2026-11-01,T17,反诈宣传志愿队,政策宣讲,V00002,龙静环,3\n"
                         "A2,2026-11-02,T01,\"小雨滴志愿者服务队, 二组\",助老,V09999,无此人,2\n"
                         "A3,2026-11-31,T01,小雨滴志愿者服务队,助老,V00001,韦蕊,2\n"
                         "A4,2026-11-03,T01,小雨滴志愿者服务队,助老,V00002,龙静环,1.005\n"
                         "A1,2026-11-01,T17,反诈宣传志愿队,政策宣讲,V00001,韦蕊,3\n";
  const Result first = Run({"--json", "import", file}, "worker-li");
  EXPECT_EQ(first.exit_code, 1) << first.err;
  const auto report = first.json();
  EXPECT_EQ(report["applied"], 2);
  EXPECT_EQ(report["refused"], 3);
  EXPECT_EQ(report["duplicate_rows"], 1);
  std::map<int, std::string> outcome;
  for (const auto& row : report["rows"]) {
    outcome[row["line"].get<int>()] = row["outcome"].get<std::string>();
  }
  EXPECT_EQ(outcome[2], "OK");
  EXPECT_EQ(outcome[4], "ACCOUNT_UNKNOWN");
  EXPECT_EQ(outcome[5], "ACTIVITY_INVALID");  // 2026-11-31
  EXPECT_EQ(outcome[6], "AMOUNT_TOO_MANY_DECIMALS");
  EXPECT_EQ(outcome[7], "DUPLICATE_ROW");
  EXPECT_EQ(report["refused_by_reason"]["ACCOUNT_UNKNOWN"], 1);
  // The refused rows the ledger remembers, to correct (or fix the cause of) and import again.
  ASSERT_EQ(report["rejected_rows_file"], dir_.Sub("activities-rejected.csv"));
  std::ifstream rejected_in(dir_.Sub("activities-rejected.csv"), std::ios::binary);
  const std::string rejected((std::istreambuf_iterator<char>(rejected_in)), {});
  EXPECT_EQ(rejected.substr(0, 3), "\xEF\xBB\xBF");
  EXPECT_NE(rejected.find("hours,retry,refusal\r\n"), std::string::npos) << rejected;
  EXPECT_NE(rejected.find("V09999,无此人,2,1,ACCOUNT_UNKNOWN"), std::string::npos) << rejected;
  // A syntax refusal is corrected in the original (its id was never used): not in the sheet.
  EXPECT_EQ(rejected.find("2026-11-31"), std::string::npos) << rejected;
  EXPECT_EQ(rejected.find("V00002,龙静环,3"), std::string::npos) << rejected;  // applied

  const Result digest_before = Run({"digest"}, "auditor-wang");
  const Result again = Run({"--json", "import", file}, "worker-li");
  EXPECT_EQ(again.json()["applied"], 0);
  EXPECT_EQ(again.json()["already_applied"], 2);
  EXPECT_EQ(Run({"digest"}, "auditor-wang").out, digest_before.out);  // nothing applied twice

  // The first two rows as Excel on Chinese Windows saves them (GBK): the same rows, nothing new.
  const std::string gbk = dir_.Sub("activities-gbk.csv");
  std::ofstream(gbk, std::ios::binary)
      << "activity_id,date,team_id,team_name,activity,member_id,member_name,hours\n"
         "A1,2026-11-01,T17,\xB7\xB4\xD5\xA9\xD0\xFB\xB4\xAB\xD6\xBE\xD4\xB8\xB6\xD3,"
         "\xD5\xFE\xB2\xDF\xD0\xFB\xBD\xB2,V00001,\xCE\xA4\xC8\xEF,3\n";
  const Result excel = Run({"--json", "import", gbk}, "worker-li");
  EXPECT_EQ(excel.exit_code, 0) << excel.err;
  EXPECT_EQ(excel.json()["encoding"], "GB18030");
  EXPECT_EQ(excel.json()["already_applied"], 1);
  std::string line_2_id;
  for (const auto& row : report["rows"]) {
    if (row["line"] == 2) line_2_id = row["request_id"];
  }
  EXPECT_EQ(excel.json()["rows"][0]["request_id"], line_2_id);
  EXPECT_EQ(Run({"digest"}, "auditor-wang").out, digest_before.out);
  const std::string bad = dir_.Sub("not-text.csv");
  std::ofstream(bad, std::ios::binary) << "member_id,name\nV1,\xFF\xFF\n";
  const Result refused = Run({"import", bad}, "worker-li");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("not text in UTF-8 or GBK"), std::string::npos) << refused.err;

  // The statement shows the activity, with Chinese intact.
  const Result history = Run({"--json", "history", "V00002"}, "auditor-wang");
  ASSERT_EQ(history.exit_code, 0);
  const nlohmann::json statement = history.json();
  const auto& item = statement["items"][0];
  EXPECT_EQ(item["command"]["earn"]["activity"]["name"], "政策宣讲");
  EXPECT_EQ(item["command"]["memo"], "A1 反诈宣传志愿队");
  EXPECT_EQ(item["legs"][0]["amount"], "3.00");
}

TEST_F(CliTest, ARedeemWhoseReplyWasLostIsRetriedWithItsRequestIdAndChargedOnce) {
  OpenProgramme();
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--points", "100", "--reason", "进步"}, "worker-li")
                .exit_code,
            0);
  // The daemon is frozen while the till sends: no reply comes before the deadline, so the outcome
  // is unknown to the terminal. (A 1 µs deadline was not enough: gRPC rounds deadlines up to the
  // millisecond, and a warm loopback redeem sometimes answered within it — CI saw exit 0.)
  daemon_->Pause();
  const Result lost = Run({"--timeout", "0.5", "redeem", "--store", "store:main", "--member",
                           "V00001", "--amount", "30", "--memo", "食用油 5L ×1"},
                          "till-1");
  daemon_->Resume();
  EXPECT_EQ(lost.exit_code, 3) << lost.err;
  // The request id was written to the request log before sending.
  std::ifstream log(dir_.Sub("requests.log"));
  std::string line, request_id;
  while (std::getline(log, line)) {
    auto entry = nlohmann::json::parse(line);
    if (entry.contains("command") && entry["command"] == "redeem") request_id = entry["request_id"];
  }
  ASSERT_FALSE(request_id.empty());
  // The terminal is told the id to retry with (#28: it said "the same --request-id" and no id).
  EXPECT_NE(lost.err.find("the outcome is unknown; run the same command again with --request-id " +
                          request_id),
            std::string::npos)
      << lost.err;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Result retry = Run({"redeem", "--store", "store:main", "--member", "V00001", "--amount",
                              "30", "--memo", "食用油 5L ×1", "--request-id", request_id},
                             "till-1");
    EXPECT_EQ(retry.exit_code, 0) << retry.err;
  }
  EXPECT_EQ(Points("V00001"), "70.00");  // charged once
}

// Each command's refusal path: exit 1 (refused, with the reason) or 2 (the audit could not run).
TEST_F(CliTest, EachCommandsRefusalHasItsExitCodeAndReason) {
  OpenProgramme();
  struct Case {
    std::vector<std::string> args;
    std::string who;
    int exit_code;
    std::string reason;  // in stderr
  };
  const std::vector<Case> cases = {
      {{"deduct", "--member", "V00001", "--points", "1", "--reason", "x"},
       "worker-li",
       1,
       "INSUFFICIENT_BALANCE"},
      {{"earn", "--member", "V09999", "--points", "1", "--reason", "x"},
       "worker-li",
       1,
       "ACCOUNT_UNKNOWN"},
      {{"earn", "--member", "V00001", "--hours", "1", "--activity", "助老", "--date", "2026-13-01"},
       "worker-li",
       1,
       "ACTIVITY_INVALID"},
      {{"transfer", "--to", "V00001", "--amount", "1"}, "app-v1", 1, "SAME_ACCOUNT"},
      {{"refund", "999999"}, "till-1", 1, "ENTRY_UNKNOWN"},
      {{"balance", "V00002"}, "app-v1", 1, "PERMISSION_DENIED"},
      {{"history", "store:main"}, "app-v1", 1, "PERMISSION_DENIED"},
      {{"account", "show", "V09999"}, "admin", 1, "ACCOUNT_UNKNOWN"},
      {{"account", "open", "坏账户", "--name", "x"}, "admin", 1, "ACCOUNT_ID_INVALID"},
      {{"account", "freeze", "V00001"}, "worker-li", 1, "PERMISSION_DENIED"},
      {{"principal", "create", "x", "--role", "terminal", "--account", "V00001"},
       "admin",
       1,
       "ACCOUNT_KIND_MISMATCH"},
      {{"principal", "list"}, "till-1", 1, "PERMISSION_DENIED"},
      {{"principal", "revoke", "nobody"}, "admin", 1, "PRINCIPAL_UNKNOWN"},
      {{"principal", "clear-pin", "nobody"}, "worker-li", 1, "PRINCIPAL_UNKNOWN"},
      {{"digest"}, "app-v1", 1, "PERMISSION_DENIED"},
      {{"export", "--out", "/tmp/never.lbexport"}, "app-v1", 1, "PERMISSION_DENIED"},
      {{"audit"}, "app-v1", 2, "PERMISSION_DENIED"},
      {{"import", "/nonexistent.csv"}, "worker-li", 2, "cannot read"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0] + (c.args.size() > 1 ? " " + c.args[1] : ""));
    const Result result = Run(c.args, c.who);
    EXPECT_EQ(result.exit_code, c.exit_code) << result.out << result.err;
    EXPECT_NE(result.err.find(c.reason), std::string::npos) << result.err;
  }
}

// The shared sample programme (../shared/data, copied to examples/data): members opened by the
// admin, a month of activities and the student awards by the issuer, each exactly once.
TEST_F(CliTest, TheSampleProgrammeImportsOnce) {
  OpenProgramme();
  const std::string data = LOVEBANK_EXAMPLE_DATA_DIR;
  const std::string rejected = dir_.Sub("rejected.csv");  // never into the source tree
  const Result members =
      Run({"--json", "import", data + "/members.csv", "--rejected", rejected}, "admin");
  ASSERT_EQ(members.exit_code, 1) << members.err;  // V00001 and V00002 were opened above
  EXPECT_EQ(members.json()["refused"], 2);
  EXPECT_EQ(members.json()["applied"], 998);
  const Result activities = Run(
      {"--json", "import", data + "/activities-2026-11.csv", "--rejected", rejected}, "worker-li");
  EXPECT_EQ(activities.exit_code, 0) << activities.out.substr(0, 2000);
  // Awards go by the programme's rules (docs/examples/award-rules.csv): the members file tagged
  // the students, admissions and deductions wait for a second approver.
  ASSERT_EQ(
      Run({"rules", "load", std::string(LOVEBANK_SOURCE_DIR) + "/docs/examples/award-rules.csv"})
          .exit_code,
      0);
  const Result awards = Run({"--json", "import", data + "/student-awards-2026-11.csv", "--chunk",
                             "7", "--rejected", rejected},
                            "worker-li");
  EXPECT_EQ(awards.exit_code, 0) << awards.out.substr(0, 2000);
  EXPECT_EQ(awards.json()["applied"], 40);  // rows waiting for approval are counted apart
  EXPECT_EQ(awards.json()["pending_approval"], 11);
  EXPECT_EQ(awards.json()["kind"], "awards");
  std::map<std::string, int> outcomes;
  const nlohmann::json report = awards.json();  // kept: the loop refers into it
  for (const auto& row : report["rows"]) ++outcomes[row["outcome"].get<std::string>()];
  EXPECT_EQ(outcomes["OK"], 40);                // STUDENT_PROGRESS
  EXPECT_EQ(outcomes["PENDING_APPROVAL"], 11);  // 6 UNIVERSITY_ADMISSION, 5 LACK_OF_EFFORT
  const Result again = Run(
      {"--json", "import", data + "/activities-2026-11.csv", "--rejected", rejected}, "worker-li");
  EXPECT_EQ(again.json()["applied"], 0);
  EXPECT_EQ(again.json()["already_applied"], activities.json()["applied"]);
  // The supermarket's catalogue from the sample (#28): every item, priced in points.
  const Result catalogue = Run(
      {"--json", "import", data + "/catalog.csv", "--store", "store:main", "--rejected", rejected},
      "admin");
  EXPECT_EQ(catalogue.exit_code, 0) << catalogue.out.substr(0, 2000);
  EXPECT_EQ(catalogue.json()["kind"], "catalogue");
  EXPECT_EQ(catalogue.json()["applied"], 16);
  const Result items = Run({"--json", "catalog", "list", "--store", "store:main"}, "till-1");
  EXPECT_NE(items.out.find("大米 5kg"), std::string::npos) << items.out.substr(0, 1000);
  EXPECT_EQ(Run({"audit"}, "auditor-wang").exit_code, 0);
}

// The seed's student rules (seed 002 §三(三)) and the 转赠 policy end to end through the CLI:
// the example programme file loaded, awards by rule with eligibility and frequency, a large award
// approved by a second principal and a deduction rejected, student points that stay put, hours
// given only to registered family or the donation pool, and one activity's hours for several
// participants in one all-or-nothing call.
TEST_F(CliTest, TheSeedsStudentRulesAndTheTransferPolicyRunThroughTheCli) {
  OpenProgramme();
  const std::string rules_file =
      std::string(LOVEBANK_SOURCE_DIR) + "/docs/examples/award-rules.csv";
  const Result load = Run({"rules", "load", rules_file});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(Run({"rules", "load", rules_file}).exit_code, 0);      // again: nothing changes
  const Result list = Run({"--json", "rules", "list"}, "app-v1");  // public
  ASSERT_EQ(list.exit_code, 0) << list.err;
  ASSERT_EQ(list.json()["rules"].size(), 3u);
  EXPECT_EQ(list.json()["rules"][2]["rule"]["code"], "UNIVERSITY_ADMISSION");

  ASSERT_EQ(Run({"account", "open", "S00801", "--name", "赵真融", "--tag", "student", "--tag",
                 "poverty-tier:2"})
                .exit_code,
            0);
  const Result progress =
      Run({"award", "STUDENT_PROGRESS", "--member", "S00801", "--reason", "期中考试进步明显"},
          "worker-li");
  ASSERT_EQ(progress.exit_code, 0) << progress.err;
  EXPECT_NE(progress.out.find("STUDENT_PROGRESS S00801 500.00  balance 500.00 POINTS"),
            std::string::npos)
      << progress.out;
  const Result twice =
      Run({"award", "STUDENT_PROGRESS", "--member", "S00801", "--reason", "再次"}, "worker-li");
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("AWARD_FREQUENCY_EXCEEDED"), std::string::npos) << twice.err;
  const Result not_student =
      Run({"award", "STUDENT_PROGRESS", "--member", "V00001", "--reason", "进步"}, "worker-li");
  EXPECT_NE(not_student.err.find("NOT_ELIGIBLE"), std::string::npos) << not_student.err;

  // 考上大学 +3000 waits for a second approver; the maker's issuer token cannot approve.
  const Result admission = Run(
      {"--json", "award", "UNIVERSITY_ADMISSION", "--member", "S00801", "--reason", "考上浙江大学"},
      "worker-li");
  ASSERT_EQ(admission.exit_code, 0) << admission.err;
  EXPECT_TRUE(admission.json()["pending"].get<bool>());
  const std::string seq = admission.json()["seq"].get<std::string>();
  EXPECT_EQ(Points("S00801"), "500.00");
  Grant("checker-zhao", "approver", "");
  EXPECT_NE(Run({"approve", seq}, "worker-li").err.find("PERMISSION_DENIED"), std::string::npos);
  const Result pending = Run({"pending"}, "checker-zhao");
  EXPECT_NE(pending.out.find("UNIVERSITY_ADMISSION  S00801  3000.00 POINTS  by worker-li"),
            std::string::npos)
      << pending.out;
  ASSERT_EQ(Run({"approve", seq, "--memo", "已核实录取通知书"}, "checker-zhao").exit_code, 0);
  EXPECT_EQ(Points("S00801"), "3500.00");
  EXPECT_NE(Run({"approve", seq}, "checker-zhao").err.find("PENDING_CLOSED"), std::string::npos);

  const Result effort =
      Run({"--json", "award", "LACK_OF_EFFORT", "--member", "S00801", "--reason", "多次缺课"},
          "worker-li");
  ASSERT_EQ(effort.exit_code, 0) << effort.err;
  const std::string effort_seq = effort.json()["seq"].get<std::string>();
  ASSERT_EQ(Run({"reject", effort_seq, "--reason", "已补课，情况属实"}, "checker-zhao").exit_code,
            0);
  EXPECT_EQ(Points("S00801"), "3500.00");
  const Result history = Run({"history", "S00801"}, "auditor-wang");
  EXPECT_NE(history.out.find("award LACK_OF_EFFORT · 多次缺课 (待审核 pending approval)"),
            std::string::npos)
      << history.out;
  EXPECT_NE(history.out.find("rejected: entry " + effort_seq), std::string::npos) << history.out;

  // Student points stay with the student; hours go only to registered family or the pool.
  Grant("app-s1", "member", "S00801");
  const Result gift =
      Run({"transfer", "--to", "V00002", "--amount", "1", "--asset", "POINTS"}, "app-s1");
  EXPECT_NE(gift.err.find("TRANSFER_NOT_ALLOWED"), std::string::npos) << gift.err;
  ASSERT_EQ(
      Run({"account", "open", "system:pool", "--kind", "system", "--name", "爱心时间池"}).exit_code,
      0);
  ASSERT_EQ(Run({"transfer-policy", "set", "--asset", "HOURS", "--rule", "family-or-pool", "--pool",
                 "system:pool"})
                .exit_code,
            0);
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--hours", "5", "--activity", "助老", "--date",
                 "2026-11-02"},
                "worker-li")
                .exit_code,
            0);
  const Result stranger =
      Run({"transfer", "--to", "V00002", "--amount", "1", "--asset", "HOURS"}, "app-v1");
  EXPECT_NE(stranger.err.find("NOT_FAMILY"), std::string::npos) << stranger.err;
  ASSERT_EQ(Run({"family", "set", "V00001", "V00002", "--memo", "母女"}).exit_code, 0);
  EXPECT_EQ(
      Run({"transfer", "--to", "V00002", "--amount", "1", "--asset", "HOURS"}, "app-v1").exit_code,
      0);
  EXPECT_EQ(Run({"transfer", "--to", "system:pool", "--amount", "2", "--asset", "HOURS"}, "app-v1")
                .exit_code,
            0);

  // One activity, several participants, one all-or-nothing call; again records nobody twice.
  const std::vector<std::string> activity = {
      "activity", "record",     "--id",   "A26110001",      "--name",     "政策宣讲",
      "--date",   "2026-11-01", "--team", "反诈宣传志愿队", "--category", "社区服务",
      "--hours",  "3",          "V00001", "V00002:2.5"};
  const Result recorded = Run(activity, "worker-li");
  ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
  EXPECT_NE(recorded.out.find("政策宣讲 2026-11-01: 2 participants recorded"), std::string::npos)
      << recorded.out;
  EXPECT_NE(Run(activity, "worker-li").out.find("(recorded before)"), std::string::npos);
  const Result partial = Run({"activity", "record", "--id", "A26110002", "--name", "助老", "--date",
                              "2026-11-03", "--hours", "2", "V00001", "V09999"},
                             "worker-li");
  EXPECT_EQ(partial.exit_code, 1);
  EXPECT_NE(partial.err.find("V09999: ACCOUNT_UNKNOWN"), std::string::npos) << partial.err;
  const Result v1_history = Run({"--json", "history", "V00001"}, "auditor-wang");
  EXPECT_EQ(v1_history.json()["items"][0]["command"]["earn"]["activity"]["team"], "反诈宣传志愿队");
  EXPECT_EQ(Run({"audit"}, "auditor-wang").exit_code, 0);
}

// The monthly public notice and a volunteer certificate for the sample month (1,000 members,
// 20 teams, ~1,050 activity rows): the notice's figures are checked against sums computed here
// straight from the CSV files, and the certificate verifies until a figure on it is edited.
TEST_F(CliTest, TheMonthlyNoticeAndACertificateForTheSampleMonthMatchTheJournal) {
  OpenProgramme();
  ImportSampleMonth();
  ASSERT_EQ(Run({"redeem", "--store", "store:main", "--member", "S00854", "--amount", "30",
                 "--memo", "大米 5kg ×1"},
                "till-1")
                .exit_code,
            0);

  // Expected figures, straight from the files.
  const SampleHours sums = SampleActivities();
  const auto& team = sums.team;
  auto member_hours = sums.member;
  const long total_hours = sums.total;
  ASSERT_EQ(team.size(), 20u);
  const auto decimal = &CliTest::Decimal;

  const std::string out = dir_.Sub("notice");
  std::filesystem::create_directories(out);
  const Result report = Run({"report", "--month", "2026-11", "--out", out}, "auditor-wang");
  ASSERT_EQ(report.exit_code, 0) << report.out << report.err;
  const std::map<std::string, std::string> rows = NoticeRows(out + "/report-2026-11.csv");
  for (const auto& [name, figures] : team) {
    EXPECT_EQ(rows.at("hours_by_team/" + name),
              std::to_string(figures.first) + "," + decimal(figures.second))
        << name;
  }
  EXPECT_EQ(rows.at("points_awarded/STUDENT_PROGRESS"), "40,20000.00");
  EXPECT_EQ(rows.count("points_awarded/UNIVERSITY_ADMISSION"), 0u);  // pending: not posted
  EXPECT_EQ(rows.at("store_redeemed/store:main"), ",30.00");
  EXPECT_EQ(rows.at("outstanding/HOURS"), "," + decimal(total_hours));
  EXPECT_EQ(rows.at("outstanding/POINTS"), ",19970.00");
  // The audit's own totals agree: members hold every hour issued and the points not redeemed.
  const Result audit = Run({"--json", "audit"}, "auditor-wang");
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  const nlohmann::json audited = audit.json();
  for (const auto& total : audited["totals"]) {
    if (total["asset"] == "HOURS") {
      EXPECT_EQ(total["in_circulation"], decimal(total_hours));
    }
    if (total["asset"] == "POINTS") {
      EXPECT_EQ(total["in_circulation"], "19970.00");
    }
  }
  std::ifstream html_file(out + "/report-2026-11.html");
  const std::string html((std::istreambuf_iterator<char>(html_file)), {});
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("爱心银行 2026年11月 公示"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("反诈宣传志愿队"), std::string::npos);
  auto count = [&html](const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = html.find(what); at != std::string::npos; at = html.find(what, at + 1))
      ++n;
    return n;
  };
  for (const std::string tag : {"svg ", "text ", "table>", "tr>", "h2>"}) {
    EXPECT_EQ(count("<" + tag), count("</" + tag.substr(0, tag.size() - 1) + ">"))
        << tag;  // every element closed: the page renders as written
  }
  EXPECT_GE(count("<svg "), 2u);  // hours per team and points per rule

  // A certificate for V00094 lists every hour the file gave them and verifies.
  const std::string certificate = dir_.Sub("certificate.html");
  const Result issued = Run({"--json", "certificate", "V00094", "--from", "2026-11-01", "--to",
                             "2026-11-30", "--out", certificate},
                            "auditor-wang");
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  EXPECT_EQ(issued.json()["total_hours"], decimal(member_hours["V00094"]));
  const Result verified = Run({"verify-certificate", certificate}, "auditor-wang");
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("verified"), std::string::npos);
  EXPECT_NE(verified.out.find("consistency proof verified"), std::string::npos) << verified.out;
  // Offline (issue #27): the programme's key and the file, no server and no token.
  const Result key = Run({"key"}, "auditor-wang");
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::string key_file = dir_.Sub("programme-key.txt");
  std::ofstream(key_file) << key.out;
  const Result offline =
      Run({"verify-certificate", certificate, "--key", key_file}, "", "127.0.0.1:1");
  EXPECT_EQ(offline.exit_code, 0) << offline.out << offline.err;
  EXPECT_NE(offline.out.find("verified"), std::string::npos);
  // A proof bundle for one of its entries, by the member's own phone, verifies offline too.
  const Result proved =
      Run({"--json", "prove", "3", "--out", dir_.Sub("proof.json")}, "auditor-wang");
  ASSERT_EQ(proved.exit_code, 0) << proved.err;
  const Result proof_ok =
      Run({"verify-proof", dir_.Sub("proof.json"), "--key", key_file}, "", "127.0.0.1:1");
  EXPECT_EQ(proof_ok.exit_code, 0) << proof_ok.err;
  EXPECT_NE(proof_ok.out.find("verified: entry #3"), std::string::npos) << proof_ok.out;
  const Result stranger = Run(
      {"verify-proof", dir_.Sub("proof.json"), "--key", std::string(64, 'a')}, "", "127.0.0.1:1");
  EXPECT_EQ(stranger.exit_code, 1);
  EXPECT_NE(stranger.err.find("another key"), std::string::npos) << stranger.err;
  // The ledger signs certificates in its profile's name only.
  EXPECT_EQ(Run({"certificate", "V00094", "--programme", "河头店镇爱心银行", "--out",
                 dir_.Sub("renamed.html")},
                "auditor-wang")
                .exit_code,
            2);
  // lovebankd makes the same page (Programme.GetCertificate: the phone page's download): byte
  // for byte what the CLI writes for the same period and programme, and it verifies alike.
  const std::string by_cli = dir_.Sub("certificate-cli.html");
  ASSERT_EQ(
      Run({"certificate", "V00094", "--from", "2026-11-01", "--to", "2026-11-30", "--out", by_cli},
          "auditor-wang")
          .exit_code,
      0);
  testing::Client client(daemon_->port());
  v1::GetCertificateRequest request;
  request.set_account("V00094");
  request.set_from("2026-11-01");
  request.set_to("2026-11-30");
  v1::Certificate made;
  const grpc::Status made_status =
      client.programme->GetCertificate(testing::Ctx(tokens_["auditor-wang"]).get(), request, &made);
  ASSERT_TRUE(made_status.ok()) << made_status.error_message();
  EXPECT_EQ(made.file_name(), "certificate-V00094.html");
  EXPECT_EQ(made.total_hours(), decimal(member_hours["V00094"]));
  std::ifstream cli_file(by_cli);
  EXPECT_EQ(made.html(), std::string((std::istreambuf_iterator<char>(cli_file)), {}));
  const std::string by_server = dir_.Sub("certificate-server.html");
  std::ofstream(by_server, std::ios::binary) << made.html();
  const Result server_verified = Run({"verify-certificate", by_server}, "auditor-wang");
  EXPECT_EQ(server_verified.exit_code, 0) << server_verified.out << server_verified.err;

  std::ifstream page_file(certificate);
  std::string page((std::istreambuf_iterator<char>(page_file)), {});
  EXPECT_NE(page.find("吕姣菁"), std::string::npos);
  const std::string shown = "<b>" + decimal(member_hours["V00094"]) + "</b> 小时";
  const std::size_t at = page.find(shown);
  ASSERT_NE(at, std::string::npos);
  page.replace(at, shown.size(), "<b>999.00</b> 小时");
  std::ofstream(certificate, std::ios::trunc) << page;
  const Result forged = Run({"verify-certificate", certificate}, "auditor-wang");
  EXPECT_EQ(forged.exit_code, 1);
  EXPECT_NE(forged.err.find("edited"), std::string::npos) << forged.err;
  const Result forged_offline =
      Run({"verify-certificate", certificate, "--key", key_file}, "", "127.0.0.1:1");
  EXPECT_EQ(forged_offline.exit_code, 1);
  EXPECT_NE(forged_offline.err.find("edited"), std::string::npos) << forged_offline.err;
  // The verifier names the programme it expects: this certificate's (no profile here: 爱心银行)
  // is not 河头店镇爱心银行.
  const Result other =
      Run({"verify-certificate", by_server, "--programme", "河头店镇爱心银行"}, "auditor-wang");
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("names another programme than 河头店镇爱心银行"), std::string::npos)
      << other.err;
}

// Issue #22 item 7: a certificate edited consistently (page and data together) is caught field
// by field; a reversed earning is revoked; the member and the issuer may verify; hostile data
// never crashes the verifier; hostile names stay text in the page and in the notice's CSV.
TEST_F(CliTest, ForgedCertificatesAreFoundAndHostileNamesStayText) {
  OpenProgramme();
  const std::string team = "=HYPERLINK(\"http://evil.example\",\"click\")";
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--hours", "9.50", "--activity", "敬老院帮厨",
                 "--date", "2026-11-05", "--team", team},
                "worker-li")
                .exit_code,
            0);
  const Result second = Run({"--json", "earn", "--member", "V00001", "--hours", "2", "--activity",
                             "</script><script>alert(1)</script>", "--date", "2026-11-06", "--team",
                             "@SUM(1+1)*cmd|' /C calc'!A0"},
                            "worker-li");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const std::string certificate = dir_.Sub("certificate.html");
  ASSERT_EQ(Run({"certificate", "V00001", "--out", certificate}, "worker-li").exit_code, 0);
  auto read = [&] {
    std::ifstream in(certificate);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  const std::string page = read();
  // One script element, ours: the activity's "</script>" is escaped in the page and in the data.
  std::size_t closes = 0;
  for (std::size_t at = page.find("</script>"); at != std::string::npos;
       at = page.find("</script>", at + 1)) {
    ++closes;
  }
  EXPECT_EQ(closes, 1u);
  EXPECT_NE(page.find("\\u003c/script\\u003e"), std::string::npos);
  EXPECT_NE(page.find("&lt;/script&gt;"), std::string::npos);
  for (const std::string who : {"app-v1", "worker-li", "auditor-wang"}) {
    const Result verified = Run({"verify-certificate", certificate}, who);
    EXPECT_EQ(verified.exit_code, 0) << who << ": " << verified.out << verified.err;
  }
  auto forge = [&](const std::string& from, const std::string& to) {
    std::string edited = page;
    for (std::size_t at = edited.find(from); at != std::string::npos;
         at = edited.find(from, at + to.size())) {
      edited.replace(at, from.size(), to);
    }
    std::ofstream(certificate, std::ios::trunc) << edited;
    return Run({"--json", "verify-certificate", certificate}, "app-v1");
  };
  auto problems = [](const Result& result) {
    return result.out.empty() ? std::string("(no output) ") + result.err
                              : result.json()["problems"].dump();
  };
  const Result renamed = forge("韦蕊", "张三");  // page and data alike
  EXPECT_EQ(renamed.exit_code, 1);
  EXPECT_NE(problems(renamed).find("name: the ledger's name for V00001 is 韦蕊"), std::string::npos)
      << problems(renamed);
  const Result more_hours = forge("9.50", "19.50");
  EXPECT_EQ(more_hours.exit_code, 1);
  EXPECT_NE(problems(more_hours).find("hours differs from the ledger"), std::string::npos)
      << problems(more_hours);
  const Result more_total = forge("11.50", "21.50");
  EXPECT_EQ(more_total.exit_code, 1);
  EXPECT_NE(problems(more_total).find("total_hours"), std::string::npos) << problems(more_total);
  EXPECT_NE(problems(more_total).find("cumulative_hours"), std::string::npos);
  const Result starred = forge("\"star_level\":0", "\"star_level\":\"5\"");  // crashed before
  EXPECT_EQ(starred.exit_code, 1);
  EXPECT_NE(problems(starred).find("malformed"), std::string::npos) << problems(starred);
  const Result brighter = forge("星级 <b>0</b>", "星级 <b>5</b>");
  EXPECT_EQ(brighter.exit_code, 1);
  const Result other_programme = forge("爱心银行", "别的银行");
  EXPECT_EQ(other_programme.exit_code, 1);
  EXPECT_NE(problems(other_programme).find("programme"), std::string::npos);
  const Result period = forge("\"from\":\"\"", "\"from\":\"2026-11-06\"");
  EXPECT_EQ(period.exit_code, 1);
  EXPECT_NE(problems(period).find("not an activity of V00001 in this period"), std::string::npos)
      << problems(period);
  // The first activity listed twice (in the data; the page then differs too).
  const std::size_t first = page.find("{\"date\":\"2026-11-05\"");
  ASSERT_NE(first, std::string::npos);
  const std::string activity = page.substr(first, page.find('}', first) + 1 - first);
  const Result twice = forge(activity, activity + "," + activity);
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(problems(twice).find("listed twice"), std::string::npos) << problems(twice);
  const Result garbage = forge("\"activities\":[", "\"activities\":7,\"x\":[");
  EXPECT_EQ(garbage.exit_code, 1);
  std::ofstream(certificate, std::ios::trunc) << page;

  // A reversed earning no longer verifies: it is revoked.
  ASSERT_EQ(Run({"refund", second.json()["seq"].get<std::string>()}, "worker-li").exit_code, 0);
  const Result revoked = Run({"--json", "verify-certificate", certificate}, "app-v1");
  EXPECT_EQ(revoked.exit_code, 1);
  EXPECT_NE(problems(revoked).find("revoked, reversed by entry"), std::string::npos)
      << problems(revoked);

  // The notice's CSV keeps hostile team names as text: no cell starts a formula.
  const std::string out = dir_.Sub("notice");
  std::filesystem::create_directories(out);
  ASSERT_EQ(Run({"report", "--month", "2026-11", "--out", out}, "auditor-wang").exit_code, 0);
  std::ifstream csv(out + "/report-2026-11.csv");
  const std::string text((std::istreambuf_iterator<char>(csv)), {});
  EXPECT_NE(text.find("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("'@SUM(1+1)*cmd|' /C calc'!A0"), std::string::npos) << text;
  EXPECT_EQ(text.find(",=HYPERLINK"), std::string::npos);
  EXPECT_EQ(text.find(",@SUM"), std::string::npos);
  for (const std::string month : {"2026-13", "2026-00", "26-11", "2026-1"}) {
    EXPECT_EQ(Run({"report", "--month", month, "--out", out}, "auditor-wang").exit_code, 2)
        << month;
    EXPECT_EQ(Run({"report", "stores", "--month", month}, "auditor-wang").exit_code, 2) << month;
  }
}

// Issue #28: a town imports November's sheets on 3 December. November's notice has every figure
// of November (hours by the day served, awards by the month in the file's name, what members
// held at November's end), December's says what was posted in it for earlier months and has the
// December redemption; award recipients are listed with masked names.
TEST_F(CliTest, NovembersSheetsImportedInDecemberMakeNovembersNotice) {
  OpenProgrammeOn3December();
  // The programme's teams first (the sample's teams.csv): the notice shows their categories, and
  // every activity row's team name matches its id.
  ASSERT_EQ(Run({"setting", "set", "programme_profile", R"({"name": "南溪镇爱心银行"})"}).exit_code,
            0);
  const Result teams =
      Run({"--json", "import", std::string(LOVEBANK_EXAMPLE_DATA_DIR) + "/teams.csv"});
  ASSERT_EQ(teams.exit_code, 0) << teams.out << teams.err;
  EXPECT_EQ(teams.json()["kind"], "teams");
  EXPECT_EQ(teams.json()["applied"], 20) << teams.out;
  const Result awards = ImportSampleMonth();
  EXPECT_EQ(awards.json()["awards_month"], "2026-11") << awards.out;
  ASSERT_EQ(
      Run({"redeem", "--store", "store:main", "--member", "S00854", "--amount", "30"}, "till-1")
          .exit_code,
      0);
  const SampleHours sums = SampleActivities();
  const std::size_t activity_rows = sums.rows;
  const std::string hours = Decimal(sums.total);
  const std::string out = dir_.Sub("notice");
  std::filesystem::create_directories(out);
  for (const std::string month : {"2026-11", "2026-12"}) {
    ASSERT_EQ(Run({"report", "--month", month, "--out", out}, "auditor-wang").exit_code, 0);
  }
  const auto november = NoticeRows(out + "/report-2026-11.csv");
  EXPECT_EQ(november.at("points_awarded/STUDENT_PROGRESS"), "40,20000.00");
  EXPECT_EQ(november.at("outstanding/HOURS"), "," + hours);
  EXPECT_EQ(november.at("outstanding/POINTS"), ",20000.00");  // before December's redemption
  EXPECT_EQ(november.at("earlier_months/HOURS"), "0,0.00");
  EXPECT_EQ(november.count("store_redeemed/store:main"), 0u);  // redeemed in December
  const auto december = NoticeRows(out + "/report-2026-12.csv");
  EXPECT_EQ(december.count("points_awarded/STUDENT_PROGRESS"), 0u);
  EXPECT_EQ(december.at("earlier_months/HOURS"), Cat(activity_rows + 40, ",", hours));
  EXPECT_EQ(december.at("earlier_months/POINTS"), Cat(activity_rows + 40, ",20000.00"));
  EXPECT_EQ(december.at("store_redeemed/store:main"), ",30.00");
  EXPECT_EQ(december.at("outstanding/POINTS"), ",19970.00");
  EXPECT_EQ(december.at("outstanding/HOURS"), "," + hours);

  std::ifstream html_file(out + "/report-2026-11.html");
  const std::string html((std::istreambuf_iterator<char>(html_file)), {});
  EXPECT_NE(html.find("三、获奖学生名单"), std::string::npos);
  EXPECT_NE(html.find("二、学生奖励积分（按奖励所属月份，2026—2027学年第一学期）"),
            std::string::npos);
  // Each team with its service category from teams.csv, in the page and the spreadsheet.
  const auto& [t17_rows, t17_minor] = sums.team.at("反诈宣传志愿队");
  EXPECT_NE(html.find("<tr><td>反诈宣传志愿队</td><td>公益宣传</td><td class=n>" +
                      std::to_string(t17_rows) + "</td>"),
            std::string::npos)
      << html;
  std::ifstream csv_file(out + "/report-2026-11.csv");
  const std::string csv((std::istreambuf_iterator<char>(csv_file)), {});
  EXPECT_NE(csv.find(Cat("hours_by_team,反诈宣传志愿队,反诈宣传志愿队,", t17_rows, ",",
                         Decimal(t17_minor), ",HOURS,公益宣传\n")),
            std::string::npos)
      << csv;
  // A volunteer's certificate carries the programme's name from the profile too.
  const std::string certificate = dir_.Sub("certificate.html");
  ASSERT_EQ(Run({"certificate", "V00094", "--from", "2026-11-01", "--to", "2026-11-30", "--out",
                 certificate},
                "auditor-wang")
                .exit_code,
            0);
  std::ifstream certificate_file(certificate);
  const std::string page((std::istreambuf_iterator<char>(certificate_file)), {});
  EXPECT_NE(page.find("在 南溪镇爱心银行 参加志愿服务"), std::string::npos) << page;
  EXPECT_NE(page.find("出具单位 Issued by: 南溪镇爱心银行"), std::string::npos) << page;
  EXPECT_EQ(Run({"verify-certificate", certificate}, "auditor-wang").exit_code, 0);
  EXPECT_NE(html.find("<td class=nm>金*强</td>"), std::string::npos)
      << html;  // S00854, the first row
  EXPECT_EQ(html.find("金艺强"), std::string::npos);
  EXPECT_EQ(html.find("S00854"), std::string::npos);
  EXPECT_EQ(html.find("期中考试进步明显"), std::string::npos);  // no free text beside a masked name
  EXPECT_EQ(html.find("STUDENT_PROGRESS"), std::string::npos);  // the rule's description
  EXPECT_NE(html.find("@page{size:A4"), std::string::npos);

  // An award for a month after the one it is posted in, or past the twelve months before it,
  // is refused by the ledger with its reason.
  const std::string more = dir_.Sub("more-awards.csv");
  std::ofstream(more) << "member_id,member_name,rule,points,reason\n"
                         "S00853,钟秀冰,STUDENT_PROGRESS,500,期末进步\n";
  for (const std::string month : {"2027-01", "2025-11", "2026-13"}) {
    const Result refused =
        Run({"--json", "import", more, "--month", month, "--rejected", dir_.Sub("again.csv")},
            "worker-li");
    if (month == "2026-13") {
      EXPECT_EQ(refused.exit_code, 2) << month;
      continue;
    }
    EXPECT_EQ(refused.exit_code, 1) << month << refused.out;
    EXPECT_EQ(refused.json()["refused_by_reason"]["AWARD_MONTH_INVALID"], 1) << refused.out;
  }
  EXPECT_EQ(Run({"--json", "audit"}, "auditor-wang").exit_code, 0);
}

// Issue #28: a teams file into the programme's profile — refused before there is a profile,
// merged once (the same file again applies nothing), a bad row into the rejected rows file and
// its correction merged; an activity row naming a team's id under another name held; an issuer's
// budget raised and lowered by an admin, never below what it issued, with the counter's words.
TEST_F(CliTest, TeamsGoIntoTheProfileAndAnAdminSetsAnIssuersBudget) {
  OpenProgrammeOn3December();
  const std::string teams = dir_.Sub("teams.csv");
  std::ofstream(teams) << "team_id,team_name,service_category\n"
                          "T01,小雨滴志愿者服务队,助老\n"
                          "T 2,牵手怀童志愿服务队,关爱儿童\n";
  const Result early = Run({"import", teams});
  EXPECT_EQ(early.exit_code, 2);
  EXPECT_NE(early.err.find("set the programme's profile first"), std::string::npos) << early.err;
  ASSERT_EQ(Run({"setting", "set", "programme_profile", R"({"name": "南溪镇爱心银行"})"}).exit_code,
            0);
  EXPECT_EQ(Run({"import", teams}, "worker-li").exit_code, 1);  // an issuer: PERMISSION_DENIED
  const std::string rejected = dir_.Sub("teams-rejected.csv");
  const Result first = Run({"--json", "import", teams, "--rejected", rejected});
  EXPECT_EQ(first.exit_code, 1) << first.out << first.err;
  EXPECT_EQ(first.json()["applied"], 1) << first.out;
  EXPECT_EQ(first.json()["refused_by_reason"]["TEAM_INVALID"], 1) << first.out;
  EXPECT_EQ(first.json()["rejected_rows_file"], rejected);
  const Result again = Run({"--json", "import", teams, "--rejected", dir_.Sub("again.csv")});
  EXPECT_EQ(again.json()["applied"], 0) << again.out;
  EXPECT_EQ(again.json()["already_applied"], 1) << again.out;
  // The office corrects the id in the rejected rows file and imports that.
  std::ifstream rejected_in(rejected);
  std::string sheet((std::istreambuf_iterator<char>(rejected_in)), {});
  ASSERT_NE(sheet.find("T 2,"), std::string::npos) << sheet;
  sheet.replace(sheet.find("T 2,"), 4, "T02,");
  std::ofstream(rejected, std::ios::trunc) << sheet;
  const Result corrected = Run({"--json", "import", rejected, "--rejected", dir_.Sub("x.csv")});
  EXPECT_EQ(corrected.exit_code, 0) << corrected.out << corrected.err;
  EXPECT_EQ(corrected.json()["applied"], 1) << corrected.out;
  // The profile set again without "teams" (the name corrected) keeps the teams.
  const Result renamed = Run(
      {"setting", "set", "programme_profile", R"({"name": "南溪镇爱心银行", "town": "南溪镇"})"});
  ASSERT_EQ(renamed.exit_code, 0) << renamed.err;
  EXPECT_NE(renamed.out.find("kept the profile's 2 teams"), std::string::npos) << renamed.out;
  const Result settings = Run({"--json", "setting", "list"});
  ASSERT_EQ(settings.exit_code, 0);
  EXPECT_NE(settings.out.find("关爱儿童"), std::string::npos) << settings.out;
  EXPECT_NE(settings.out.find("小雨滴志愿者服务队"), std::string::npos) << settings.out;
  EXPECT_NE(settings.out.find("南溪镇爱心银行"), std::string::npos) << settings.out;  // kept

  // An activity naming T01 under another team's name is held; the right one applies.
  const std::string activities = dir_.Sub("activities.csv");
  std::ofstream(activities)
      << "activity_id,date,team_id,team_name,activity,member_id,member_name,hours\n"
         "A1,2026-11-05,T01,牵手怀童志愿服务队,助老,V00001,韦蕊,2\n"
         "A2,2026-11-05,T01,小雨滴志愿者服务队,助老,V00002,龙静环,2\n";
  const Result held =
      Run({"--json", "import", activities, "--rejected", dir_.Sub("a.csv")}, "worker-li");
  EXPECT_EQ(held.exit_code, 1) << held.out;
  EXPECT_EQ(held.json()["refused_by_reason"]["TEAM_MISMATCH"], 1) << held.out;
  EXPECT_EQ(held.json()["applied"], 1) << held.out;

  // The budget: 100,000 POINTS as opened; 50 issued; lowered to 50 at least, never below.
  ASSERT_EQ(
      Run({"earn", "--member", "V00001", "--points", "50", "--reason", "期中进步"}, "worker-li")
          .exit_code,
      0);
  const Result below = Run({"account", "budget", "issuer:town", "POINTS", "49.99"});
  EXPECT_EQ(below.exit_code, 1);
  EXPECT_NE((below.out + below.err).find("BUDGET_BELOW_ISSUED"), std::string::npos)
      << below.out << below.err;
  EXPECT_NE((below.out + below.err).find("预算不能低于该发放方已发放的数额"), std::string::npos)
      << below.out << below.err;
  EXPECT_EQ(Run({"account", "budget", "issuer:town", "POINTS", "60"}, "worker-li").exit_code, 1);
  ASSERT_EQ(
      Run({"account", "budget", "issuer:town", "POINTS", "60", "--memo", "年末收紧"}).exit_code, 0);
  const Result show = Run({"--json", "account", "show", "issuer:town"});
  std::map<std::string, std::string> budgets;
  const nlohmann::json shown = show.json();
  for (const auto& budget : shown["budgets"]) budgets[budget["asset"]] = budget["amount"];
  EXPECT_EQ(budgets, (std::map<std::string, std::string>{{"HOURS", "10000"}, {"POINTS", "60"}}))
      << show.out;
  EXPECT_EQ(Run({"earn", "--member", "V00002", "--points", "10", "--reason", "进步"}, "worker-li")
                .exit_code,
            0);
  const Result past =
      Run({"earn", "--member", "V00002", "--points", "0.01", "--reason", "进步"}, "worker-li");
  EXPECT_EQ(past.exit_code, 1);
  EXPECT_NE((past.out + past.err).find("BUDGET_EXCEEDED"), std::string::npos) << past.err;
  EXPECT_EQ(Run({"--json", "audit"}, "auditor-wang").exit_code, 0);
}

TEST_F(CliTest, HistoryPagesBackwardsWithBefore) {
  OpenProgramme();
  for (int i = 1; i <= 5; ++i) {
    ASSERT_EQ(Run({"earn", "--member", "V00002", "--points", std::to_string(i), "--reason",
                   "第" + std::to_string(i) + "次"},
                  "worker-li")
                  .exit_code,
              0);
  }
  std::vector<std::string> reasons;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::vector<std::string> args = {"history", "V00002", "--limit", "2", "--json"};
    if (!cursor.empty()) args.insert(args.end(), {"--before", cursor});
    const Result result = Run(args, "worker-li");  // --json after the command works too
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const nlohmann::json json = result.json();
    for (const auto& item : json["items"]) {
      if (item["command"].contains("earn")) reasons.push_back(item["command"]["earn"]["reason"]);
    }
    cursor = json["next_cursor"];
    if (cursor.empty()) break;
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{"第5次", "第4次", "第3次", "第2次", "第1次"}));
  const Result text = Run({"history", "V00002", "--limit", "2"}, "worker-li");
  EXPECT_NE(text.out.find("more: lovebank history V00002 --before c1."), std::string::npos)
      << text.out;
  EXPECT_EQ(Run({"history", "V00002", "--before", "not-a-cursor"}, "worker-li").exit_code, 1);
}

TEST_F(CliTest, SettingsComeFromFlagsThenTheEnvironmentThenTheConfigFile) {
  OpenProgramme();
  // The config file names a dead server and the auditor's token; the environment (set by Run)
  // names the live server and a token; flags win over both.
  std::ofstream(dir_.Sub("config"))
      << "server = 127.0.0.1:1\ntoken = " << tokens_["auditor-wang"] << "\n";
  EXPECT_EQ(Run({"balance", "V00001"}, "auditor-wang").exit_code, 0);  // env server wins
  const std::string bare =
      Cat("env -u LOVEBANK_SERVER -u LOVEBANK_TOKEN LOVEBANK_CONFIG=", Quote(dir_.Sub("config")),
          " LOVEBANK_REQUEST_LOG=", Quote(dir_.Sub("requests.log")), " ", LOVEBANK_CLI_PATH);
  EXPECT_EQ(WEXITSTATUS(std::system((bare + " balance V00001 2>/dev/null").c_str())), 3);
  EXPECT_EQ(WEXITSTATUS(std::system(
                (bare + Cat(" --server 127.0.0.1:", daemon_->port(), " balance V00001 >/dev/null"))
                    .c_str())),
            0);  // the flag's server, the config file's token
  EXPECT_EQ(WEXITSTATUS(
                std::system((bare + " --config /nonexistent balance V00001 2>/dev/null").c_str())),
            2);
}

// --ca: the CLI talks TLS to a lovebankd started with --tls-cert/--tls-key.
TEST(CliTls, TheCaOptionConnectsOverTls) {
  testing::TempDir dir;
  const std::string cert = dir.Sub("cert.pem");
  const std::string key = dir.Sub("key.pem");
  ASSERT_EQ(std::system(Cat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                            "-days 2 -subj /CN=localhost -addext "
                            "subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout ",
                            key, " -out ", cert, " 2>/dev/null")
                            .c_str()),
            0);
  testing::Daemon daemon(dir.Sub("data"), {"--tls-cert", cert, "--tls-key", key});
  ASSERT_GT(daemon.port(), 0) << daemon.output();
  std::string admin;
  std::getline(std::ifstream(dir.Sub("data/admin.token")), admin);
  const std::string base =
      Cat("LOVEBANK_CONFIG=/dev/null LOVEBANK_REQUEST_LOG=", dir.Sub("requests.log"),
          " LOVEBANK_TOKEN=", admin, " ", LOVEBANK_CLI_PATH, " --server 127.0.0.1:", daemon.port(),
          " --timeout 3 ");
  EXPECT_EQ(
      WEXITSTATUS(std::system((base + "--ca " + cert + " principal list >/dev/null").c_str())), 0);
  EXPECT_EQ(WEXITSTATUS(std::system((base + "principal list >/dev/null 2>&1").c_str())), 3);
}

// Mutual TLS (lovebankd --tls-client-ca): a client certificate signed by the programme's CA gets
// in with --cert/--key; no certificate, or one from another CA, is turned away in the handshake.
TEST(CliTls, TheClientCaOptionAdmitsOnlyCertificatesItSigned) {
  testing::TempDir dir;
  const std::string script = Cat(
      "set -e; cd ", dir.path(), "\n", "ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n",
      "openssl req -x509 $ec -days 2 -subj /CN=lovebank-test-ca -keyout ca.key -out ca.pem\n",
      "openssl req -x509 $ec -days 2 -subj /CN=rogue-ca -keyout rogue.key -out rogue.pem\n",
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext\n",
      "openssl req $ec -subj /CN=localhost -keyout server.key -out server.csr\n",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile server.ext -out server.pem\n",
      "openssl req $ec -subj /CN=till-1 -keyout till.key -out till.csr\n",
      "openssl x509 -req -in till.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out "
      "till.pem\n",
      "openssl req $ec -subj /CN=till-2 -keyout other.key -out other.csr\n",
      "openssl x509 -req -in other.csr -CA rogue.pem -CAkey rogue.key -CAcreateserial -days 2 "
      "-out other.pem\n");
  { std::ofstream(dir.Sub("certs.sh")) << script; }
  ASSERT_EQ(std::system(Cat("sh ", dir.Sub("certs.sh"), " 2>/dev/null").c_str()), 0) << script;
  testing::Daemon daemon(dir.Sub("data"),
                         {"--tls-cert", dir.Sub("server.pem"), "--tls-key", dir.Sub("server.key"),
                          "--tls-client-ca", dir.Sub("ca.pem")});
  ASSERT_GT(daemon.port(), 0) << daemon.output();
  std::string admin;
  std::getline(std::ifstream(dir.Sub("data/admin.token")), admin);
  const std::string base =
      Cat("LOVEBANK_CONFIG=/dev/null LOVEBANK_REQUEST_LOG=", dir.Sub("requests.log"),
          " LOVEBANK_TOKEN=", admin, " ", LOVEBANK_CLI_PATH, " --server 127.0.0.1:", daemon.port(),
          " --timeout 3 --ca ", dir.Sub("ca.pem"), " ");
  auto run = [&](const std::string& flags) {
    return WEXITSTATUS(std::system((base + flags + " whoami >/dev/null 2>&1").c_str()));
  };
  EXPECT_EQ(run(Cat("--cert ", dir.Sub("till.pem"), " --key ", dir.Sub("till.key"))), 0);
  EXPECT_EQ(run(""), 3);
  EXPECT_EQ(run(Cat("--cert ", dir.Sub("other.pem"), " --key ", dir.Sub("other.key"))), 3);
  // The certificate is on top of the token, not instead of it.
  EXPECT_EQ(WEXITSTATUS(std::system(
                Cat("LOVEBANK_CONFIG=/dev/null LOVEBANK_REQUEST_LOG=", dir.Sub("requests.log"), " ",
                    LOVEBANK_CLI_PATH, " --server 127.0.0.1:", daemon.port(), " --timeout 3 --ca ",
                    dir.Sub("ca.pem"), " --cert ", dir.Sub("till.pem"), " --key ",
                    dir.Sub("till.key"), " whoami >/dev/null 2>&1")
                    .c_str())),
            1);
  // A certificate file that is not there: a usage error for a flag; named on stderr when it
  // comes from the environment (the handshake then fails).
  EXPECT_EQ(run(Cat("--cert ", dir.Sub("missing.pem"), " --key ", dir.Sub("till.key"))), 2);
  const std::string err = dir.Sub("stderr.txt");
  EXPECT_EQ(WEXITSTATUS(std::system(Cat("LOVEBANK_CERT=", dir.Sub("missing.pem"), " LOVEBANK_KEY=",
                                        dir.Sub("till.key"), " ", base, "whoami >/dev/null 2>", err)
                                        .c_str())),
            3);
  std::ifstream in(err);
  const std::string said((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(said.find(Cat("cannot read ", dir.Sub("missing.pem"))), std::string::npos) << said;
}

// Splits a documented command line as a shell would for the plain words and single-quoted
// strings the docs use.
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false;
  bool any = false;
  for (char c : line) {
    if (c == '\'') {
      quoted = !quoted;
      any = true;
    } else if (c == ' ' && !quoted) {
      if (any) words.push_back(word);
      word.clear();
      any = false;
    } else {
      word += c;
      any = true;
    }
  }
  if (any) words.push_back(word);
  return words;
}

// docs/exchange.md's worked example, run as it stands (issue #26): an elder's request for 2 hours
// of 陪护 from posting to confirmation, each step with the token of who takes it.
TEST_F(CliTest, ExchangeWalkthrough) {
  std::ifstream doc(std::string(LOVEBANK_SOURCE_DIR) + "/docs/exchange.md");
  ASSERT_TRUE(doc) << "docs/exchange.md";
  std::string line;
  bool inside = false;
  int commands = 0;
  Result last;
  std::string last_line;
  while (std::getline(doc, line)) {
    if (!inside) {
      inside = line == "```sh exchange-walkthrough";
      continue;
    }
    if (line == "```") break;
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("  ")) {
      const std::string expected = line.substr(2);
      EXPECT_NE((last.out + last.err).find(expected), std::string::npos)
          << last_line << "\nexpected: " << expected << "\nprinted:\n"
          << last.out << last.err;
      continue;
    }
    const bool refused = line[0] == '!';
    const std::size_t prompt = line.find("$ lovebank ");
    ASSERT_NE(prompt, std::string::npos) << line;
    const std::string who = line.substr(refused ? 1 : 0, prompt - (refused ? 1 : 0));
    std::vector<std::string> args = ShellWords(line.substr(prompt + 11));
    const bool creates = args.size() > 2 && args[0] == "principal" && args[1] == "create";
    if (creates) args.insert(args.begin(), "--json");
    ASSERT_TRUE(tokens_.count(who)) << "no token for " << who << ": " << line;
    last = Run(args, who);
    last_line = line;
    ++commands;
    EXPECT_EQ(last.exit_code, refused ? 1 : 0) << line << "\n" << last.out << last.err;
    if (creates && last.exit_code == 0) tokens_[args[3]] = last.json()["token"];
  }
  EXPECT_GE(commands, 15) << "the walkthrough block was not found or is cut short";
  // The audit replays it all and finds nothing.
  Grant("auditor-wang", "auditor", "");
  const Result audit = Run({"audit"}, "auditor-wang");
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("CLEAN"), std::string::npos) << audit.out;
}

// Witnesses and key rotation (issue #27 items 2 and 4): an auditor co-signs the head it verified
// with its own key and lovebankd journals it; the audit and the notice show it. A rotation is a
// journaled change endorsed by the old key: `audit --key OLD` still holds (the journal leads from
// it to the new key), old proofs verify under the old key, and a signing.key that is not the one
// the journal put in force stops lovebankd.
TEST_F(CliTest, WitnessesCosignHeadsAndTheSigningKeyRotatesOnTheJournalsWord) {
  OpenProgramme();
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--points", "500", "--reason", "期中考试进步明显"},
                "worker-li")
                .exit_code,
            0);
  const std::string witness_key = dir_.Sub("witness.key");
  const Result cosigned = Run({"audit", "--cosign", witness_key}, "auditor-wang");
  ASSERT_EQ(cosigned.exit_code, 0) << cosigned.out << cosigned.err;
  EXPECT_NE(cosigned.err.find("co-signed the head of"), std::string::npos) << cosigned.err;
  EXPECT_EQ(std::filesystem::status(witness_key).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // Only auditors are witnesses; the key of a run that cannot co-sign is made all the same.
  const Result by_admin = Run({"audit", "--cosign", dir_.Sub("admin-witness.key")}, "admin");
  EXPECT_EQ(by_admin.exit_code, 2) << by_admin.err;
  EXPECT_NE(by_admin.err.find("may not"), std::string::npos) << by_admin.err;
  // The next audit replays and checks the co-signature and lists it.
  const Result audited = Run({"--json", "audit"}, "auditor-wang");
  ASSERT_EQ(audited.exit_code, 0) << audited.out << audited.err;
  const nlohmann::json report = audited.json();
  ASSERT_EQ(report["cosignatures"].size(), 1u) << audited.out;
  EXPECT_EQ(report["cosignatures"][0]["auditor"], "auditor-wang");
  EXPECT_EQ(report["signing_keys"].size(), 0u);
  // The notice shows the signed head and the witness.
  const Result notice = Run({"report", "--month", "2026-11", "--out", dir_.path()}, "auditor-wang");
  ASSERT_EQ(notice.exit_code, 0) << notice.err;
  std::ifstream html_file(dir_.Sub("report-2026-11.html"));
  const std::string html((std::istreambuf_iterator<char>(html_file)), {});
  EXPECT_NE(html.find("签名与见证"), std::string::npos);
  EXPECT_NE(html.find("<td>auditor-wang</td>"), std::string::npos) << html;

  // A proof under the old key, then the rotation.
  const Result old_key = Run({"key"}, "auditor-wang");
  ASSERT_EQ(old_key.exit_code, 0);
  const std::string old_key_file = dir_.Sub("old-key.txt");
  std::ofstream(old_key_file) << old_key.out;
  ASSERT_EQ(Run({"prove", "3", "--out", dir_.Sub("old-proof.json")}, "auditor-wang").exit_code, 0);
  // The certificate's QR code: the signed summary, drawn so a real decoder reads it back.
  ASSERT_EQ(Run({"earn", "--member", "V00001", "--hours", "3", "--activity", "重阳节敬老活动",
                 "--date", "2026-11-18"},
                "worker-li")
                .exit_code,
            0);
  const std::string certificate = dir_.Sub("certificate.html");
  const Result issued = Run({"certificate", "V00001", "--out", certificate}, "auditor-wang");
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  std::string page;
  {
    std::ifstream in(certificate);
    page.assign(std::istreambuf_iterator<char>(in), {});
  }
  const PageQr qr = ReadQr(page, dir_.path());
  EXPECT_TRUE(qr.text.starts_with("LB1.")) << qr.text;
  EXPECT_EQ(qr.decoded, qr.text);
  EXPECT_EQ(
      Run({"verify-certificate", certificate, "--key", old_key_file}, "", "127.0.0.1:1").exit_code,
      0);
  // One module of the QR drawn otherwise: the page is not what its data renders.
  std::string drawn_otherwise = page;
  const std::size_t run = drawn_otherwise.find("h1v1h-1z");
  ASSERT_NE(run, std::string::npos);
  drawn_otherwise.replace(run, 8, "h2v1h-2z");
  std::ofstream(dir_.Sub("qr-edited.html"), std::ios::binary) << drawn_otherwise;
  const Result edited = Run(
      {"verify-certificate", dir_.Sub("qr-edited.html"), "--key", old_key_file}, "", "127.0.0.1:1");
  EXPECT_EQ(edited.exit_code, 1) << edited.out;

  daemon_->Stop(SIGTERM);
  daemon_ = std::make_unique<testing::Daemon>(
      dir_.Sub("data"), std::vector<std::string>{"--rotate-signing-key", "--public-url",
                                                 "https://lovebank.nanxi.example.cn"});
  ASSERT_GT(daemon_->port(), 0) << daemon_->output();
  const Result new_key = Run({"key"}, "auditor-wang");
  ASSERT_EQ(new_key.exit_code, 0);
  EXPECT_NE(new_key.out, old_key.out);
  bool retired = false;
  for (const auto& file : std::filesystem::directory_iterator(dir_.Sub("data"))) {
    retired |= file.path().filename().string().ends_with(".retired.key");
  }
  EXPECT_TRUE(retired) << "the old key is kept";
  const Result chained = Run({"--json", "audit", "--key", old_key_file}, "auditor-wang");
  EXPECT_EQ(chained.exit_code, 0) << chained.out << chained.err;
  EXPECT_EQ(chained.json()["signing_keys"].size(), 2u) << chained.out;
  const Result pinned_new = Run({"audit", "--key", new_key.out}, "auditor-wang");
  EXPECT_EQ(pinned_new.exit_code, 0) << pinned_new.out;
  const Result stranger = Run({"audit", "--key", std::string(64, 'a')}, "auditor-wang");
  EXPECT_EQ(stranger.exit_code, 1) << stranger.out;
  EXPECT_EQ(
      Run({"verify-proof", dir_.Sub("old-proof.json"), "--key", old_key_file}, "", "127.0.0.1:1")
          .exit_code,
      0);
  // With a public URL the QR links to its /verify/ page, with the key.
  const Result linked =
      Run({"certificate", "V00001", "--out", dir_.Sub("linked.html")}, "auditor-wang");
  ASSERT_EQ(linked.exit_code, 0) << linked.err;
  {
    std::ifstream in(dir_.Sub("linked.html"));
    const std::string linked_page((std::istreambuf_iterator<char>(in)), {});
    const PageQr link = ReadQr(linked_page, dir_.path());
    EXPECT_TRUE(link.text.starts_with("https://lovebank.nanxi.example.cn/verify/#q=LB1."))
        << link.text;
    EXPECT_NE(link.text.find("&k="), std::string::npos);
    EXPECT_EQ(link.decoded, link.text);
  }
  // A co-signature under the new key's heads works alike.
  EXPECT_EQ(Run({"audit", "--cosign", witness_key}, "auditor-wang").exit_code, 0);

  // The old key put back by hand is not the key in force: lovebankd refuses to start.
  daemon_->Stop(SIGTERM);
  std::filesystem::path retired_path;
  for (const auto& file : std::filesystem::directory_iterator(dir_.Sub("data"))) {
    if (file.path().filename().string().ends_with(".retired.key")) retired_path = file.path();
  }
  std::filesystem::remove(dir_.Sub("data/signing.key"));
  std::filesystem::copy_file(retired_path, dir_.Sub("data/signing.key"));
  std::filesystem::permissions(
      dir_.Sub("data/signing.key"),
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  daemon_ = std::make_unique<testing::Daemon>(dir_.Sub("data"));
  EXPECT_EQ(daemon_->port(), 0);
  EXPECT_NE(daemon_->output().find("is not the key the journal put in force"), std::string::npos)
      << daemon_->output();

  // The key lost for good: --new-signing-key makes one and journals it as a replacement nobody
  // endorsed. The audit follows the chain to it; a pin from before the loss no longer leads to
  // it (its holders pin the newly published key), a pin of the new key does.
  std::filesystem::remove(dir_.Sub("data/signing.key"));
  daemon_ = std::make_unique<testing::Daemon>(dir_.Sub("data"),
                                              std::vector<std::string>{"--new-signing-key"});
  ASSERT_GT(daemon_->port(), 0) << daemon_->output();
  const Result replaced = Run({"--json", "audit"}, "auditor-wang");
  EXPECT_EQ(replaced.exit_code, 0) << replaced.out << replaced.err;
  ASSERT_EQ(replaced.json()["signing_keys"].size(), 3u) << replaced.out;
  EXPECT_EQ(replaced.json()["signing_keys"][2]["endorsed"], false);
  const Result stale_pin = Run({"audit", "--key", old_key_file}, "auditor-wang");
  EXPECT_EQ(stale_pin.exit_code, 1) << stale_pin.out;
  EXPECT_NE(stale_pin.out.find("pin the programme's newly published key"), std::string::npos)
      << stale_pin.out;
  const Result newest = Run({"key"}, "auditor-wang");
  EXPECT_EQ(Run({"audit", "--key", newest.out}, "auditor-wang").exit_code, 0);
}

}  // namespace
}  // namespace lovebank
