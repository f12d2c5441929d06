// lovebank report / certificate / verify-certificate (issue #7 items 7 and 8; docs/programme.md).
//
// The monthly public notice (公示) is computed on this machine by the audit's own replay of the
// journal the server streams — the same figures the audit ties out, not numbers the server
// asserts — and written as CSV and as an HTML page with SVG charts a village committee can post.
// A volunteer certificate (志愿服务证明) is an HTML page whose verification block carries the
// entries it rests on (seq and hash) and a ledger digest; verify-certificate checks every one
// against the server and re-renders the page, so an edited figure anywhere is caught.

#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "clients/commands.h"
#include "ledger/amount.h"
#include "ledger/audit/report_output.h"

namespace lovebank::cli {
namespace {

std::string Html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A CSV field, quoted when it needs to be (RFC 4180).
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

const char kStyle[] =
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:860px;"
    "margin:2em auto;color:#222}h1{text-align:center;color:#b22}h2{border-bottom:2px solid #b22;"
    "padding-bottom:.2em}table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #999;padding:.3em .6em;text-align:left}td.n{text-align:right}"
    ".verify{font-family:monospace;font-size:.8em;word-break:break-all;border:1px dashed #999;"
    "padding:.6em}@media print{.noprint{display:none}}";

// A horizontal bar chart of (label, value) rows as inline SVG.
std::string BarChart(const std::vector<std::pair<std::string, double>>& rows,
                     const std::string& unit) {
  double top = 0;
  for (const auto& [label, value] : rows) top = std::max(top, value);
  const int row_height = 22, label_width = 220, bar_width = 480;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << label_width + bar_width + 120
      << "\" height=\"" << row_height * rows.size() + 10 << "\" role=\"img\">";
  int y = 5;
  for (const auto& [label, value] : rows) {
    const int width = top > 0 ? static_cast<int>(bar_width * value / top) : 0;
    svg << "<text x=\"" << label_width - 6 << "\" y=\"" << y + 15
        << "\" text-anchor=\"end\" font-size=\"13\">" << Html(label) << "</text>"
        << "<rect x=\"" << label_width << "\" y=\"" << y + 3 << "\" width=\"" << width
        << "\" height=\"" << row_height - 6 << "\" fill=\"#c33\"/>"
        << "<text x=\"" << label_width + width + 6 << "\" y=\"" << y + 15
        << "\" font-size=\"12\">" << value << " " << Html(unit) << "</text>";
    y += row_height;
  }
  svg << "</svg>";
  return svg.str();
}

double ToDouble(const std::string& decimal) { return std::stod(decimal); }

// ---- the monthly public notice ----

struct Notice {
  std::string month;
  audit::ProgrammeMonth figures;
  std::vector<audit::StoreMonth> stores;
  audit::Digest head;
  bool clean = false;
  std::uint64_t findings = 0;
};

std::string Money(const boost::multiprecision::cpp_int& minor) {
  return audit::DecimalText(minor, 2);
}

std::string NoticeCsv(const Notice& notice) {
  std::ostringstream csv;
  csv << "section,key,count,amount,unit\n";
  const auto& f = notice.figures;
  for (const auto& [team, hours] : f.team_hours_minor) {
    csv << "hours_by_team," << CsvField(team.empty() ? "(no team)" : team) << ","
        << f.team_earnings.at(team) << "," << Money(hours) << ",HOURS\n";
  }
  for (const auto& [rule, amount] : f.awarded_minor) {
    csv << "points_awarded," << CsvField(rule.empty() ? "(by hand)" : rule) << ","
        << f.awards.at(rule) << "," << Money(amount) << ",POINTS\n";
  }
  for (const auto& [rule, amount] : f.deducted_minor) {
    csv << "points_deducted," << CsvField(rule.empty() ? "(by hand)" : rule) << ","
        << f.deductions.at(rule) << "," << Money(amount) << ",POINTS\n";
  }
  csv << "points_reversed,,," << Money(f.reversed_points_minor) << ",POINTS\n";
  for (const auto& store : notice.stores) {
    csv << "store_baskets," << CsvField(store.store) << "," << store.baskets << ","
        << Money(store.points_minor) << ",POINTS\n"
        << "store_refunds," << CsvField(store.store) << "," << store.refunds << ","
        << Money(store.refunded_minor) << ",POINTS\n"
        << "store_redeemed," << CsvField(store.store) << ",," << Money(store.redeemed_minor)
        << ",POINTS\n";
  }
  csv << "outstanding,HOURS,," << Money(f.outstanding_hours_minor) << ",HOURS\n"
      << "outstanding,POINTS,," << Money(f.outstanding_points_minor) << ",POINTS\n"
      << "digest," << notice.head.seq << ",," << HashToHex(notice.head.hash) << ",\n";
  return csv.str();
}

std::string NoticeHtml(const Notice& notice) {
  const auto& f = notice.figures;
  const std::string year = notice.month.substr(0, 4);
  const std::string month = std::to_string(std::stoi(notice.month.substr(5, 2)));
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>爱心银行 "
       << year << "年" << month << "月公示</title><style>" << kStyle << "</style></head><body>\n"
       << "<h1>爱心银行 " << year << "年" << month << "月 公示</h1>\n"
       << "<p>Love bank monthly public notice for " << notice.month
       << ". Figures computed by an independent replay of the ledger's journal up to entry "
       << notice.head.seq << " (audit: "
       << (notice.clean ? "clean" : std::to_string(notice.findings) + " findings") << ").</p>\n";
  html << "<h2>志愿服务时长 Hours served per team</h2>\n<table><tr><th>服务队 Team</th>"
          "<th>人次 Earnings</th><th>时长 Hours</th></tr>\n";
  std::vector<std::pair<std::string, double>> bars;
  boost::multiprecision::cpp_int total_hours = 0;
  for (const auto& [team, hours] : f.team_hours_minor) {
    const std::string label = team.empty() ? "(未注明 no team)" : team;
    html << "<tr><td>" << Html(label) << "</td><td class=n>" << f.team_earnings.at(team)
         << "</td><td class=n>" << Money(hours) << "</td></tr>\n";
    bars.emplace_back(label, ToDouble(Money(hours)));
    total_hours += hours;
  }
  html << "<tr><th>合计 Total</th><td></td><th class=n>" << Money(total_hours)
       << "</th></tr></table>\n"
       << BarChart(bars, "小时") << "\n";
  html << "<h2>学生积分 Student points per rule</h2>\n<table><tr><th>规则 Rule</th>"
          "<th>人次 Count</th><th>奖励 Awarded</th><th>扣减 Deducted</th></tr>\n";
  std::map<std::string, int> rules;
  for (const auto& [rule, amount] : f.awarded_minor) rules[rule];
  for (const auto& [rule, amount] : f.deducted_minor) rules[rule];
  std::vector<std::pair<std::string, double>> point_bars;
  for (const auto& [rule, unused] : rules) {
    auto awarded = f.awarded_minor.find(rule);
    auto deducted = f.deducted_minor.find(rule);
    const std::uint64_t count = (f.awards.contains(rule) ? f.awards.at(rule) : 0) +
                                (f.deductions.contains(rule) ? f.deductions.at(rule) : 0);
    const std::string label = rule.empty() ? "(手工 by hand)" : rule;
    html << "<tr><td>" << Html(label) << "</td><td class=n>" << count << "</td><td class=n>"
         << (awarded == f.awarded_minor.end() ? "" : Money(awarded->second))
         << "</td><td class=n>"
         << (deducted == f.deducted_minor.end() ? "" : Money(deducted->second)) << "</td></tr>\n";
    if (awarded != f.awarded_minor.end()) {
      point_bars.emplace_back(label, ToDouble(Money(awarded->second)));
    }
  }
  html << "</table>\n<p>冲正 Reversed this month: " << Money(f.reversed_points_minor)
       << " POINTS</p>\n"
       << BarChart(point_bars, "分") << "\n";
  html << "<h2>爱心超市兑换 Redemptions per store</h2>\n<table><tr><th>超市 Store</th>"
          "<th>购物篮 Baskets</th><th>积分 Points</th><th>时长支付 Hours</th><th>退货 Refunds</th>"
          "<th>其他兑换 Redeemed</th></tr>\n";
  for (const auto& store : notice.stores) {
    html << "<tr><td>" << Html(store.store) << "</td><td class=n>" << store.baskets
         << "</td><td class=n>" << Money(store.points_minor) << "</td><td class=n>"
         << Money(store.hours_minor) << "</td><td class=n>" << Money(store.refunded_minor)
         << "</td><td class=n>" << Money(store.redeemed_minor) << "</td></tr>\n";
  }
  html << "</table>\n<h2>存量 What the programme owes its members</h2>\n<table>"
       << "<tr><th>志愿时长 Hours held</th><td class=n>" << Money(f.outstanding_hours_minor)
       << "</td></tr><tr><th>积分 Points held</th><td class=n>"
       << Money(f.outstanding_points_minor) << "</td></tr></table>\n"
       << "<div class=verify>账本摘要 ledger digest " << notice.head.seq << ":"
       << HashToHex(notice.head.hash)
       << "<br>Anyone can check it: lovebank audit --expect-digest " << notice.head.seq << ":"
       << HashToHex(notice.head.hash) << "</div>\n</body></html>\n";
  return html.str();
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

void AddNotice(CLI::App& parent, Globals& globals, int* exit_code) {
  auto* command = &parent;
  auto month = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>(".");
  command->add_option("--month", *month, "the notice's month, YYYY-MM, e.g. 2026-11");
  command->add_option("--out", *out, "directory for report-YYYY-MM.csv and .html")
      ->capture_default_str();
  command->footer("Examples:\n  lovebank report --month 2026-11 --out /srv/notice\n"
                  "  lovebank report stores --month 2026-11\n"
                  "Computed here by replaying the journal (an auditor's or admin's token); no "
                  "figures from a ledger with audit findings.");
  command->callback([command, &globals, exit_code, month, out] {
    if (!command->get_subcommands().empty()) return;  // report stores
    if (month->size() != 7 || (*month)[4] != '-') {
      *exit_code = Usage("--month wants YYYY-MM, got " + *month);
      return;
    }
    auto report = StreamAudit(globals, {}, exit_code);
    if (!report) return;
    if (!report->clean()) {
      std::cerr << "lovebank: the audit found " << report->findings_total
                << " problems; run `lovebank audit` — no notice from an unclean ledger\n";
      *exit_code = 1;
      return;
    }
    Notice notice;
    notice.month = *month;
    notice.head = report->head;
    notice.clean = report->clean();
    notice.findings = report->findings_total;
    notice.figures.month = *month;
    // The month's figures; what is owed is as of its last entry, or the last month before it.
    for (const auto& m : report->programme_months) {
      if (m.month == *month) {
        const auto hours = notice.figures.outstanding_hours_minor;
        const auto points = notice.figures.outstanding_points_minor;
        notice.figures = m;
        if (m.last_seq == 0) {
          notice.figures.outstanding_hours_minor = hours;
          notice.figures.outstanding_points_minor = points;
        }
      } else if (m.month < *month && m.last_seq != 0) {
        notice.figures.outstanding_hours_minor = m.outstanding_hours_minor;
        notice.figures.outstanding_points_minor = m.outstanding_points_minor;
      }
    }
    for (const auto& store : report->store_months) {
      if (store.month == *month) notice.stores.push_back(store);
    }
    const std::string base = *out + "/report-" + *month;
    if (!WriteFile(base + ".csv", NoticeCsv(notice)) ||
        !WriteFile(base + ".html", NoticeHtml(notice))) {
      *exit_code = Usage("cannot write " + base + ".csv / .html");
      return;
    }
    if (globals.json) {
      PrintJson({{"csv", base + ".csv"}, {"html", base + ".html"}, {"head_seq", notice.head.seq},
                 {"clean", notice.clean}});
    } else {
      std::cout << "  " << base << ".csv\n  " << base << ".html\n  as of entry "
                << notice.head.seq << ", audit "
                << (notice.clean ? "clean" : std::to_string(notice.findings) + " findings") << "\n";
    }
    *exit_code = kExitOk;
  });
}

namespace {

// ---- the volunteer certificate ----

const char kDataOpen[] = "<script type=\"application/json\" id=\"lovebank-certificate\">";
const char kDataClose[] = "</script>";

// The page, rendered only from `data`: verify-certificate renders it again and compares.
std::string CertificateHtml(const nlohmann::json& data) {
  std::ostringstream html;
  const std::string name = data["name"];
  html << "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>志愿服务证明 "
       << Html(name) << "</title><style>" << kStyle << "</style></head><body>\n"
       << "<h1>志愿服务证明</h1>\n<p style=\"text-align:center\">Volunteer service certificate</p>\n"
       << "<p>兹证明 <b>" << Html(name) << "</b>（账号 " << Html(data["account"])
       << "）在 " << Html(data["programme"]) << " 参加志愿服务";
  if (!data["from"].get<std::string>().empty() || !data["to"].get<std::string>().empty()) {
    html << "（" << Html(data["from"]) << " 至 " << Html(data["to"]) << "）";
  }
  html << "，累计志愿服务时长 <b>" << Html(data["cumulative_hours"]) << "</b> 小时，星级 <b>"
       << data["star_level"].get<int>() << "</b> 星。本证明所列活动合计 <b>"
       << Html(data["total_hours"]) << "</b> 小时。</p>\n"
       << "<table><tr><th>日期 Date</th><th>活动 Activity</th><th>服务队 Team</th>"
          "<th>时长 Hours</th><th>流水 Entry</th></tr>\n";
  for (const auto& activity : data["activities"]) {
    html << "<tr><td>" << Html(activity["date"]) << "</td><td>" << Html(activity["name"])
         << "</td><td>" << Html(activity["team"]) << "</td><td class=n>"
         << Html(activity["hours"]) << "</td><td class=n>#" << activity["seq"].get<std::uint64_t>()
         << "</td></tr>\n";
  }
  html << "</table>\n<p>出具单位 Issued by: " << Html(data["programme"]) << "　出具时间 "
       << Html(data["issued_at"]) << "</p>\n"
       << "<div class=verify>核验 Verification: ledger digest "
       << data["digest"]["seq"].get<std::uint64_t>() << ":" << Html(data["digest"]["hash"])
       << "<br>";
  for (const auto& activity : data["activities"]) {
    html << "#" << activity["seq"].get<std::uint64_t>() << " " << Html(activity["hash"]) << "<br>";
  }
  html << "lovebank verify-certificate FILE</div>\n"
       << kDataOpen << data.dump() << kDataClose << "\n</body></html>\n";
  return html.str();
}

// All of a member's statement, newest first.
std::optional<std::vector<v1::StatementItem>> Statement(Session& session,
                                                        const std::string& account,
                                                        int* exit_code) {
  std::vector<v1::StatementItem> items;
  v1::ListEntriesRequest request;
  request.set_account(account);
  request.set_page_size(1000);
  do {
    v1::ListEntriesResponse page;
    const grpc::Status status =
        session.ledger().ListEntries(session.Context().get(), request, &page);
    if (!status.ok()) {
      *exit_code = Fail(session.globals(), status);
      return std::nullopt;
    }
    for (auto& item : *page.mutable_items()) items.push_back(std::move(item));
    request.set_cursor(page.next_cursor());
  } while (!request.cursor().empty());
  return items;
}

std::optional<v1::GetEntryResponse> Entry(Session& session, std::uint64_t seq, int* exit_code) {
  v1::GetEntryRequest request;
  request.set_seq(seq);
  v1::GetEntryResponse response;
  const grpc::Status status = session.ledger().GetEntry(session.Context().get(), request, &response);
  if (!status.ok()) {
    *exit_code = Fail(session.globals(), status);
    return std::nullopt;
  }
  return response;
}

void AddCertificate(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand(
      "certificate", "a volunteer's service certificate (志愿服务证明) as printable HTML");
  auto account = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto programme = std::make_shared<std::string>("爱心银行");
  command->add_option("account", *account, "the volunteer, e.g. V00001")->required();
  command->add_option("--from", *from, "first day of service to list, YYYY-MM-DD");
  command->add_option("--to", *to, "last day, YYYY-MM-DD");
  command->add_option("--out", *out, "default certificate-ACCOUNT.html");
  command->add_option("--programme", *programme, "the issuing programme, e.g. 河头店镇爱心银行")
      ->capture_default_str();
  command->footer("Example:\n  lovebank certificate V00001 --from 2026-11-01 --to 2026-11-30");
  command->callback([&globals, exit_code, account, from, to, out, programme] {
    Session session(globals);
    v1::GetVolunteerProfileRequest request;
    request.set_account(*account);
    v1::VolunteerProfile profile;
    const grpc::Status status =
        session.programme().GetVolunteerProfile(session.Context().get(), request, &profile);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    auto items = Statement(session, *account, exit_code);
    if (!items) return;
    std::set<std::uint64_t> reversed;
    for (const auto& item : *items) {
      if (item.command().has_reverse()) reversed.insert(item.command().reverse().seq());
    }
    nlohmann::json activities = nlohmann::json::array();
    std::uint64_t newest = 0;
    std::string newest_hash;
    for (auto item = items->rbegin(); item != items->rend(); ++item) {  // oldest first
      const v1::Command& c = item->command();
      if (!c.has_earn() || c.earn().asset() != "HOURS" || c.earn().to() != *account ||
          item->legs().empty() || reversed.contains(item->seq())) {
        continue;
      }
      const std::string date = c.earn().activity().date();
      if ((!from->empty() && date < *from) || (!to->empty() && date > *to)) continue;
      auto entry = Entry(session, item->seq(), exit_code);
      if (!entry) return;
      activities.push_back({{"seq", item->seq()},
                            {"hash", entry->hash()},
                            {"date", date},
                            {"name", c.earn().activity().name()},
                            {"team", c.earn().activity().team()},
                            {"hours", c.earn().amount()}});
      if (item->seq() > newest) {
        newest = item->seq();
        newest_hash = entry->hash();
      }
    }
    // The digest: the head if this token may read it, else the newest entry listed (it chains
    // every entry before it all the same).
    v1::GetDigestResponse digest;
    if (!session.audit().GetDigest(session.Context().get(), {}, &digest).ok()) {
      digest.set_seq(newest);
      digest.set_hash(newest_hash);
    }
    // HOURS have scale 2 (genesis); the amounts are the ledger's own, so they parse.
    Int128 total_minor = 0;
    for (const auto& activity : activities) {
      total_minor += ParseAmount(activity["hours"].get<std::string>(), 2, MinorAbsoluteMax())
                         .amount.minor();
    }
    const nlohmann::json data = {
        {"version", 1},
        {"programme", *programme},
        {"account", *account},
        {"name", profile.display_name()},
        {"from", *from},
        {"to", *to},
        {"issued_at", LocalTime(std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count())},
        {"cumulative_hours", profile.cumulative_hours()},
        {"star_level", profile.star_level()},
        {"as_of_seq", profile.as_of_seq()},
        {"total_hours", FormatAmount(Amount::FromMinor(total_minor), 2)},
        {"digest", {{"seq", digest.seq()}, {"hash", digest.hash()}}},
        {"activities", activities}};
    const std::string path = out->empty() ? "certificate-" + *account + ".html" : *out;
    if (!WriteFile(path, CertificateHtml(data))) {
      *exit_code = Usage("cannot write " + path);
      return;
    }
    if (globals.json) {
      PrintJson({{"file", path}, {"activities", activities.size()}, {"total_hours", data["total_hours"]}});
    } else {
      std::cout << "  " << path << ": " << profile.display_name() << ", " << activities.size()
                << " activities, " << data["total_hours"].get<std::string>() << " HOURS\n";
    }
    *exit_code = kExitOk;
  });

  auto* verify = app.add_subcommand(
      "verify-certificate", "check a certificate's entries and digest against the server");
  auto file = std::make_shared<std::string>();
  verify->add_option("file", *file, "the certificate's HTML file")->required();
  verify->callback([&globals, exit_code, file] {
    std::ifstream in(*file, std::ios::binary);
    const std::string page((std::istreambuf_iterator<char>(in)), {});
    const std::size_t open = page.find(kDataOpen);
    const std::size_t close =
        open == std::string::npos ? open : page.find(kDataClose, open + sizeof(kDataOpen) - 1);
    nlohmann::json data;
    if (close != std::string::npos) {
      data = nlohmann::json::parse(
          page.substr(open + sizeof(kDataOpen) - 1, close - open - (sizeof(kDataOpen) - 1)),
          nullptr, false);
    }
    if (!in.good() && page.empty()) {
      *exit_code = Usage("cannot read " + *file);
      return;
    }
    std::vector<std::string> problems;
    if (data.is_discarded() || !data.is_object() || !data.contains("activities")) {
      problems.push_back("no lovebank certificate data in the file");
    } else {
      if (CertificateHtml(data) != page) {
        problems.push_back("the page differs from its own verification data: it was edited");
      }
      Session session(globals);
      for (const auto& activity : data["activities"]) {
        const std::uint64_t seq = activity["seq"];
        auto entry = Entry(session, seq, exit_code);
        if (!entry) return;
        const v1::Command& c = entry->entry().command();
        if (entry->hash() != activity["hash"].get<std::string>()) {
          problems.push_back("entry " + std::to_string(seq) + ": hash differs");
        } else if (!c.has_earn() || c.earn().to() != data["account"].get<std::string>() ||
                   c.earn().asset() != "HOURS" ||
                   c.earn().amount() != activity["hours"].get<std::string>() ||
                   c.earn().activity().date() != activity["date"].get<std::string>() ||
                   c.earn().activity().name() != activity["name"].get<std::string>()) {
          problems.push_back("entry " + std::to_string(seq) + ": not this activity's hours");
        }
      }
      const std::uint64_t digest_seq = data["digest"]["seq"];
      if (digest_seq != 0) {
        auto entry = Entry(session, digest_seq, exit_code);
        if (!entry) return;
        if (entry->hash() != data["digest"]["hash"].get<std::string>()) {
          problems.push_back("the ledger digest " + std::to_string(digest_seq) +
                             " is not in the server's chain");
        }
      }
    }
    if (globals.json) {
      PrintJson({{"file", *file}, {"verified", problems.empty()}, {"problems", problems}});
    } else if (problems.empty()) {
      std::cout << "  " << *file << ": verified — " << data["activities"].size()
                << " entries and the ledger digest match the server\n";
    } else {
      for (const auto& problem : problems) std::cerr << "lovebank: " << problem << "\n";
    }
    *exit_code = problems.empty() ? kExitOk : kExitRefused;
  });
}

}  // namespace

void AddReportCommands(CLI::App& app, Globals& globals, int* exit_code) {
  AddCertificate(app, globals, exit_code);
}

}  // namespace lovebank::cli
