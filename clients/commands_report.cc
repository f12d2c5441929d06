// lovebank report / certificate / verify-certificate (issue #7 items 7 and 8; docs/programme.md).
//
// The monthly public notice (公示) is computed on this machine by the audit's own replay of the
// journal the server streams — the same figures the audit ties out, not numbers the server
// asserts — and written as CSV and as an HTML page with SVG charts a village committee can post.
// A volunteer certificate (志愿服务证明) is an HTML page whose verification block carries the
// entries it rests on (seq and hash) and a ledger digest; verify-certificate checks every one
// against the server and re-renders the page, so an edited figure anywhere is caught.

#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "clients/certificate.h"
#include "clients/commands.h"
#include "clients/import.h"
#include "clients/proof.h"
#include "ledger/audit/report_output.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/amount.h"
#include "ledger/format/merkle.h"
#include "ledger/format/signature.h"

namespace lovebank::cli {
namespace {

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
        << "\" text-anchor=\"end\" font-size=\"13\">" << certificate::HtmlText(label) << "</text>"
        << "<rect x=\"" << label_width << "\" y=\"" << y + 3 << "\" width=\"" << width
        << "\" height=\"" << row_height - 6 << "\" fill=\"#c33\"/>"
        << "<text x=\"" << label_width + width + 6 << "\" y=\"" << y + 15 << "\" font-size=\"12\">"
        << value << " " << certificate::HtmlText(unit) << "</text>";
    y += row_height;
  }
  svg << "</svg>";
  return svg.str();
}

double ToDouble(const std::string& decimal) { return std::stod(decimal); }

// ---- the monthly public notice ----

// The month's figures, its stores and the programme's profile (audit::NoticeOf), and what the
// audit that gave them says of itself.
struct Notice : audit::NoticeFigures {
  std::string month;
  audit::Digest head;
  bool clean = false;
  std::uint64_t findings = 0;
  // The ledger's signed head of the audited size, checked (issue #27), and the latest
  // co-signature of each witness in the journal.
  std::optional<v1::SignedTreeHead> signed_head;
  std::vector<audit::Cosigned> cosignatures;
};

// What the notice calls a rule, store or team: the profile's display name, else the account's
// name or the rule's description (NoticeFigures::names), else the id itself.
std::string Named(const Notice& notice, const std::string& id) {
  auto it = notice.names.find(id);
  return it == notice.names.end() ? id : it->second;
}

// A team's service category from the profile's teams, by the team's name as activities record
// it; "" when the profile lists no such team.
std::string TeamCategory(const Notice& notice, const std::string& team) {
  for (const auto& listed : notice.profile.teams()) {
    if (import::Squeezed(listed.name()) == import::Squeezed(team)) return listed.category();
  }
  return "";
}

std::string Money(const boost::multiprecision::cpp_int& minor) {
  return audit::DecimalText(minor, 2);
}

// The notice as a spreadsheet: a UTF-8 byte order mark (Excel on Chinese Windows reads the file
// as UTF-8 only with it), then one row per figure: a section code and key a program reads, the
// name a person reads, and the count and amount.
std::string NoticeCsv(const Notice& notice) {
  std::ostringstream csv;
  // Every text or amount cell through csv::Field (quoting, no formulas); the rest are constants
  // and counts.
  csv << "\xEF\xBB\xBF"
      << "section,key,name,count,amount,unit,category\n";
  const auto& f = notice.figures;
  auto row = [&csv](const char* section, const std::string& key, const std::string& name,
                    const std::string& count, const std::string& amount, const char* unit,
                    const std::string& category = "") {
    csv << section << "," << csv::Field(key) << "," << csv::Field(name) << "," << count << ","
        << csv::Field(amount) << "," << unit << "," << csv::Field(category) << "\n";
  };
  for (const auto& [team, hours] : f.team_hours_minor) {
    row("hours_by_team", team.empty() ? "(no team)" : team,
        team.empty() ? "未注明服务队" : Named(notice, team),
        std::to_string(f.team_earnings.at(team)), Money(hours), "HOURS",
        TeamCategory(notice, team));
  }
  for (const auto& [rule, amount] : f.awarded_minor) {
    row("points_awarded", rule.empty() ? "(by hand)" : rule,
        rule.empty() ? "手工发放" : Named(notice, rule), std::to_string(f.awards.at(rule)),
        Money(amount), "POINTS");
  }
  for (const auto& [rule, amount] : f.deducted_minor) {
    row("points_deducted", rule.empty() ? "(by hand)" : rule,
        rule.empty() ? "手工扣减" : Named(notice, rule), std::to_string(f.deductions.at(rule)),
        Money(amount), "POINTS");
  }
  row("points_reversed", "", "冲正", "", Money(f.reversed_points_minor), "POINTS");
  for (const auto& recipient : f.recipients) {
    row("recipient", recipient.rule, recipient.name + (recipient.reversed ? "（已撤销）" : ""), "1",
        Money(recipient.amount_minor), "POINTS");
  }
  for (const auto& [key, hours] : f.service_hours_minor) {
    const std::string what = key.first + (key.second.empty() ? "" : " / " + key.second);
    row("services", what, what, std::to_string(f.services.at(key)), Money(hours), "HOURS");
  }
  for (const auto& store : notice.stores) {
    const std::string name = Named(notice, store.store);
    row("store_baskets", store.store, name, std::to_string(store.baskets),
        Money(store.points_minor), "POINTS");
    row("store_refunds", store.store, name, std::to_string(store.refunds),
        Money(store.refunded_minor), "POINTS");
    row("store_redeemed", store.store, name, "", Money(store.redeemed_minor), "POINTS");
  }
  row("earlier_months", "HOURS", "本月补录以前月份", std::to_string(f.earlier_entries),
      Money(f.earlier_hours_minor), "HOURS");
  row("earlier_months", "POINTS", "本月补录以前月份", std::to_string(f.earlier_entries),
      Money(f.earlier_points_minor), "POINTS");
  row("outstanding", "HOURS", "月末结余志愿时长", "", Money(f.outstanding_hours_minor), "HOURS");
  row("outstanding", "POINTS", "月末结余积分", "", Money(f.outstanding_points_minor), "POINTS");
  csv << "digest," << notice.head.seq << ",账本摘要,," << HashToHex(notice.head.hash) << ",\n";
  if (notice.signed_head) {
    csv << "signed_head," << notice.signed_head->tree_size() << ",签名树头,"
        << csv::Field(notice.signed_head->public_key()) << ","
        << csv::Field(notice.signed_head->root()) << ",\n";
  }
  for (const audit::Cosigned& cosigned : notice.cosignatures) {
    csv << "cosignature," << csv::Field(cosigned.auditor) << ",见证人副签,"
        << cosigned.cosign.tree_size() << "," << csv::Field(ToHex(cosigned.cosign.root())) << ","
        << csv::Field(ToHex(cosigned.cosign.witness_key())) << "\n";
  }
  return csv.str();
}

// The head the figures rest on, signed by the programme's key, and who co-signed which head:
// what a reader checks with `lovebank verify-proof` / `lovebank audit --key` (docs/proofs.md).
std::string NoticeWitnesses(const Notice& notice) {
  std::ostringstream html;
  html << "<h2>签名与见证</h2>\n";
  if (notice.signed_head) {
    const auto key = signature::PublicKeyFromHex(notice.signed_head->public_key());
    html << "<p>本账本密钥（指纹 "
         << certificate::HtmlText(key ? signature::Fingerprint(*key) : "?") << "）签署：前 "
         << notice.signed_head->tree_size() << " 条记录的默克尔树根为 <code>"
         << certificate::HtmlText(notice.signed_head->root()) << "</code>，"
         << LocalTime(notice.signed_head->time_unix_us()) << "。</p>\n";
  }
  if (notice.cosignatures.empty()) {
    html << "<p>尚无见证人副签。</p>\n";
    return html.str();
  }
  html << "<table><tr><th>见证人</th><th>密钥指纹</th><th>副签记录数</th><th>树根</th>"
          "<th>记录号</th></tr>\n";
  for (const audit::Cosigned& cosigned : notice.cosignatures) {
    const auto key = signature::PublicKeyFromBytes(cosigned.cosign.witness_key());
    html << "<tr><td>" << certificate::HtmlText(cosigned.auditor) << "</td><td>"
         << certificate::HtmlText(key ? signature::Fingerprint(*key) : "?") << "</td><td class=n>"
         << cosigned.cosign.tree_size() << "</td><td><code>"
         << ToHex(cosigned.cosign.root()).substr(0, 16) << "…</code></td><td class=n>"
         << cosigned.seq << "</td></tr>\n";
  }
  html << "</table>\n";
  return html.str();
}

// A4 print: page margins, no page break inside a row, the seal area kept whole.
constexpr const char kNoticeStyle[] =
    "@page{size:A4;margin:16mm 14mm}@media print{body{margin:0;max-width:none}"
    "tr,.seal{page-break-inside:avoid}h2{page-break-after:avoid}}"
    ".lead{text-indent:2em}.note{color:#555;font-size:.9em}td.nm{white-space:nowrap}"
    ".seal{display:flex;justify-content:space-between;margin-top:2.5em;min-height:9em}"
    ".seal div{width:46%}.stamp{display:inline-block;width:7.5em;height:7.5em;"
    "border:2px dashed #b22;border-radius:50%;color:#b22;text-align:center;line-height:7.5em}";

// The school term a month (YYYY-MM) falls in, as Chinese schools count it and the award rules'
// school years do (from 1 September): "2026—2027学年第一学期" for 2026-11 (September to January),
// "2026—2027学年第二学期" for 2027-03 (February to August).
std::string SchoolTerm(const std::string& month) {
  const int year = std::stoi(month.substr(0, 4));
  const int m = std::stoi(month.substr(5, 2));
  const int first = m >= 9 ? year : year - 1;
  return Cat(first, "—", first + 1, "学年", m >= 9 || m == 1 ? "第一学期" : "第二学期");
}

std::string NoticeHtml(const Notice& notice) {
  const auto& f = notice.figures;
  const std::string year = notice.month.substr(0, 4);
  const std::string month = std::to_string(std::stoi(notice.month.substr(5, 2)));
  std::ostringstream html;
  const std::string programme = certificate::HtmlText(
      notice.profile.name().empty() ? certificate::kDefaultProgramme : notice.profile.name());
  html << "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>" << programme
       << " " << year << "年" << month << "月公示</title><style>" << certificate::kPageStyle
       << kNoticeStyle << "</style></head><body>\n"
       << "<h1>" << programme << " " << year << "年" << month << "月 公示</h1>\n";
  if (!notice.profile.town().empty() || !notice.profile.office().empty()) {
    html << "<p class=issuer>" << certificate::HtmlText(notice.profile.town()) << " "
         << certificate::HtmlText(notice.profile.office()) << "</p>\n";
  }
  html << "<p class=lead>现将本项目" << year << "年" << month
       << "月志愿服务时长、学生奖励积分和爱心超市兑换情况公示如下。时长按服务日期、奖励按所属月份、"
          "兑换按兑换日期计入本月；数据由独立核查程序重放账本全部记录（截至第 "
       << notice.head.seq << " 条）计算，核查结果："
       << (notice.clean ? "通过" : "发现 " + std::to_string(notice.findings) + " 个问题")
       << "。</p>\n";
  html << "<h2>一、志愿服务时长（按服务日期）</h2>\n<table><tr><th>服务队</th><th>服务类别</th>"
          "<th>人次</th><th>时长（小时）</th></tr>\n";
  std::vector<std::pair<std::string, double>> bars;
  boost::multiprecision::cpp_int total_hours = 0;
  std::uint64_t total_earnings = 0;
  for (const auto& [team, hours] : f.team_hours_minor) {
    const std::string label = team.empty() ? "未注明服务队" : Named(notice, team);
    html << "<tr><td>" << certificate::HtmlText(label) << "</td><td>"
         << certificate::HtmlText(TeamCategory(notice, team)) << "</td><td class=n>"
         << f.team_earnings.at(team) << "</td><td class=n>" << Money(hours) << "</td></tr>\n";
    bars.emplace_back(label, ToDouble(Money(hours)));
    total_hours += hours;
    total_earnings += f.team_earnings.at(team);
  }
  html << "<tr><th>合计</th><th></th><th class=n>" << total_earnings << "</th><th class=n>"
       << Money(total_hours) << "</th></tr></table>\n"
       << BarChart(bars, "小时") << "\n";
  html << "<h2>二、学生奖励积分（按奖励所属月份，" << SchoolTerm(notice.month)
       << "）</h2>\n<table><tr><th>奖励项目</th>"
          "<th>人次</th><th>奖励积分</th><th>扣减积分</th></tr>\n";
  std::map<std::string, int> rules;
  for (const auto& [rule, amount] : f.awarded_minor) rules[rule];
  for (const auto& [rule, amount] : f.deducted_minor) rules[rule];
  std::vector<std::pair<std::string, double>> point_bars;
  for (const auto& [rule, unused] : rules) {
    auto awarded = f.awarded_minor.find(rule);
    auto deducted = f.deducted_minor.find(rule);
    const std::uint64_t count = (f.awards.contains(rule) ? f.awards.at(rule) : 0) +
                                (f.deductions.contains(rule) ? f.deductions.at(rule) : 0);
    const std::string label = rule.empty() ? "手工发放或扣减" : Named(notice, rule);
    html << "<tr><td>" << certificate::HtmlText(label) << "</td><td class=n>" << count
         << "</td><td class=n>" << (awarded == f.awarded_minor.end() ? "" : Money(awarded->second))
         << "</td><td class=n>"
         << (deducted == f.deducted_minor.end() ? "" : Money(deducted->second)) << "</td></tr>\n";
    if (awarded != f.awarded_minor.end()) {
      point_bars.emplace_back(label, ToDouble(Money(awarded->second)));
    }
  }
  html << "</table>\n<p>本月冲正积分：" << Money(f.reversed_points_minor) << " 分</p>\n"
       << BarChart(point_bars, "分") << "\n";
  if (notice.profile.recipient_names() != v1::ProgrammeProfile::RECIPIENT_NAMES_HIDDEN) {
    html << "<h2>三、获奖学生名单</h2>\n";
    if (f.recipients.empty()) {
      html << "<p>本月无奖励。</p>\n";
    } else {
      // The free-text reason only with full names (NoticeOf drops it otherwise).
      const bool full =
          notice.profile.recipient_names() == v1::ProgrammeProfile::RECIPIENT_NAMES_FULL;
      html << "<table><tr><th>序号</th><th>姓名</th><th>奖励项目</th><th>积分</th>"
           << (full ? "<th>事由</th>" : "") << "</tr>\n";
      std::size_t number = 0;
      for (const auto& recipient : f.recipients) {
        html << "<tr><td class=n>" << ++number << "</td><td class=nm>"
             << certificate::HtmlText(recipient.name) << "</td><td>"
             << certificate::HtmlText(Named(notice, recipient.rule)) << "</td><td class=n>"
             << Money(recipient.amount_minor) << (recipient.reversed ? "（已撤销）" : "")
             << "</td>";
        if (full) html << "<td>" << certificate::HtmlText(recipient.reason) << "</td>";
        html << "</tr>\n";
      }
      html << "</table>\n";
      if (!full)
        html << "<p class=note>为保护学生隐私，姓名部分隐去，不列事由；扣减不列姓名。</p>\n";
    }
  }
  if (!f.service_hours_minor.empty()) {
    html << "<h2>四、时间银行互助服务（按服务日期）</h2>\n<table><tr><th>类别</th><th>地点</th>"
            "<th>次数</th><th>时长（小时）</th></tr>\n";
    for (const auto& [key, hours] : f.service_hours_minor) {
      html << "<tr><td>" << certificate::HtmlText(key.first) << "</td><td>"
           << certificate::HtmlText(key.second) << "</td><td class=n>" << f.services.at(key)
           << "</td><td class=n>" << Money(hours) << "</td></tr>\n";
    }
    html << "</table>\n";
  }
  html << "<h2>五、爱心超市兑换（按兑换日期）</h2>\n<table><tr><th>超市</th><th>购物篮</th>"
          "<th>积分</th><th>时长支付</th><th>退货</th><th>其他兑换</th></tr>\n";
  for (const auto& store : notice.stores) {
    html << "<tr><td>" << certificate::HtmlText(Named(notice, store.store)) << "</td><td class=n>"
         << store.baskets << "</td><td class=n>" << Money(store.points_minor) << "</td><td class=n>"
         << Money(store.hours_minor) << "</td><td class=n>" << Money(store.refunded_minor)
         << "</td><td class=n>" << Money(store.redeemed_minor) << "</td></tr>\n";
  }
  if (notice.stores.empty()) html << "<tr><td colspan=6>本月无兑换。</td></tr>\n";
  html << "</table>\n<h2>六、本月补录以前月份</h2>\n<p>";
  if (f.earlier_entries == 0) {
    html << "本月无补录。";
  } else {
    html << "本月共补录以前月份记录 " << f.earlier_entries << " 条：志愿时长 "
         << Money(f.earlier_hours_minor) << " 小时，积分 " << Money(f.earlier_points_minor)
         << " 分（已计入所属月份，不计入本月以上各项）。";
  }
  html << "</p>\n<h2>七、月末爱心账户结余</h2>\n<table>"
       << "<tr><th>志愿时长（小时）</th><td class=n>" << Money(f.outstanding_hours_minor)
       << "</td></tr><tr><th>积分（1 分兑 1 元商品）</th><td class=n>"
       << Money(f.outstanding_points_minor) << "</td></tr></table>\n"
       << "<div class=verify>账本摘要 " << notice.head.seq << ":" << HashToHex(notice.head.hash)
       << "<br>任何人可核验：lovebank audit --expect-digest " << notice.head.seq << ":"
       << HashToHex(notice.head.hash) << "</div>\n";
  html << NoticeWitnesses(notice);
  const std::string office =
      notice.profile.office().empty() ? programme : certificate::HtmlText(notice.profile.office());
  html << "<div class=seal><div>公示单位（盖章）：" << office
       << "<br><br>负责人（签字）：<br><br>日期：&emsp;&emsp;年&emsp;&emsp;月&emsp;&emsp;日"
          "<br><br>公示期七日。如有异议，请在公示期内向公示单位反映。</div>"
          "<div style=\"text-align:right\"><span class=stamp>（公章）</span></div></div>\n"
       << "</body></html>\n";
  return html.str();
}

}  // namespace

namespace {

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
  command->footer(
      "Examples:\n  lovebank report --month 2026-11 --out /srv/notice\n"
      "  lovebank report stores --month 2026-11\n"
      "Computed here by replaying the journal (an auditor's or admin's token); no "
      "figures from a ledger with audit findings.");
  command->callback([command, &globals, exit_code, month, out] {
    if (!command->get_subcommands().empty()) return;  // report stores
    if (!IsValidMonth(*month)) {
      *exit_code =
          Usage("--month wants a month as YYYY-MM (01-12), e.g. 2026-11; got " + Excerpt(*month));
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
    auto signed_head = CheckSignedHead(globals, *report, "");
    if (!report->clean()) {
      std::cerr << "lovebank: the server's signed head differs from the journal it streams; run "
                   "`lovebank audit` — no notice\n";
      *exit_code = 1;
      return;
    }
    const Notice notice{audit::NoticeOf(*report, *month),
                        *month,
                        report->head,
                        report->clean(),
                        report->findings_total,
                        std::move(signed_head),
                        report->cosignatures};
    const std::string base = *out + "/report-" + *month;
    if (!WriteFile(base + ".csv", NoticeCsv(notice)) ||
        !WriteFile(base + ".html", NoticeHtml(notice))) {
      *exit_code = Usage("cannot write " + base + ".csv / .html");
      return;
    }
    if (globals.json) {
      PrintJson({{"csv", base + ".csv"},
                 {"html", base + ".html"},
                 {"head_seq", notice.head.seq},
                 {"clean", notice.clean}});
    } else {
      std::cout << "  " << base << ".csv\n  " << base << ".html\n  as of entry " << notice.head.seq
                << ", audit "
                << (notice.clean ? "clean" : std::to_string(notice.findings) + " findings") << "\n";
    }
    *exit_code = kExitOk;
  });
}

namespace {

// ---- the volunteer certificate ----

absl::StatusOr<v1::GetEntryResponse> Entry(Session& session, std::uint64_t seq) {
  v1::GetEntryRequest request;
  request.set_seq(seq);
  v1::GetEntryResponse response;
  const grpc::Status status =
      session.ledger().GetEntry(session.Context().get(), request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return response;
}

// certificate::Derive over gRPC with this session's token; a failed call fails the command with
// the server's own status (its reason included).
std::optional<certificate::Figures> Derive(
    Session& session, const std::string& account, const std::string& from, const std::string& to,
    std::uint64_t as_of_seq, const google::protobuf::RepeatedPtrField<std::string>& thresholds,
    int* exit_code) {
  grpc::Status failed;
  certificate::Reader reader;
  reader.statement = [&]() -> absl::StatusOr<std::vector<v1::StatementItem>> {
    std::vector<v1::StatementItem> items;
    v1::ListEntriesRequest request;
    request.set_account(account);
    request.set_page_size(1000);
    do {
      v1::ListEntriesResponse page;
      failed = session.ledger().ListEntries(session.Context().get(), request, &page);
      if (!failed.ok()) return absl::UnavailableError(failed.error_message());
      for (auto& item : *page.mutable_items()) items.push_back(std::move(item));
      request.set_cursor(page.next_cursor());
    } while (!request.cursor().empty());
    return items;
  };
  reader.entry_hash = [&](std::uint64_t seq) -> absl::StatusOr<std::string> {
    v1::GetEntryRequest request;
    request.set_seq(seq);
    v1::GetEntryResponse response;
    failed = session.ledger().GetEntry(session.Context().get(), request, &response);
    if (!failed.ok()) return absl::UnavailableError(failed.error_message());
    return response.hash();
  };
  reader.service = [&](std::uint64_t seq) -> absl::StatusOr<certificate::Reader::Service> {
    v1::GetServiceRequest request;
    request.set_service_seq(seq);
    v1::Service response;
    failed = session.exchange().GetService(session.Context().get(), request, &response);
    if (!failed.ok()) return absl::UnavailableError(failed.error_message());
    return certificate::Reader::Service{response.provider(), response.category(),
                                        response.description(), response.place(), response.day()};
  };
  auto figures = certificate::Derive(reader, account, from, to, as_of_seq, thresholds);
  if (!figures.ok()) {
    if (failed.ok()) failed = grpc::Status(grpc::StatusCode::UNKNOWN, figures.status().ToString());
    *exit_code = Fail(session.globals(), failed);
    return std::nullopt;
  }
  return std::move(*figures);
}

std::optional<v1::VolunteerProfile> Profile(Session& session, const std::string& account,
                                            int* exit_code) {
  v1::GetVolunteerProfileRequest request;
  request.set_account(account);
  v1::VolunteerProfile profile;
  const grpc::Status status =
      session.programme().GetVolunteerProfile(session.Context().get(), request, &profile);
  if (!status.ok()) {
    *exit_code = Fail(session.globals(), status);
    return std::nullopt;
  }
  return profile;
}

// The programme the journal's profile names (ListSettings), the default without one.
std::optional<std::string> ProfileProgramme(Session& session, int* exit_code) {
  const std::optional<v1::SettingRecord> profile = ProfileRecord(session, exit_code);
  if (!profile) return std::nullopt;
  // The one rule lovebankd's certificates follow too (verify-certificate compares them).
  return certificate::ProgrammeOf(std::vector<v1::SettingRecord>{*profile});
}

// Checks a certificate's data against the ledger; returns the problems found (none: verified)
// and adds to `notes` what this token could not check.
std::optional<std::vector<std::string>> VerifyAgainstLedger(
    Session& session, const nlohmann::json& data, const std::vector<std::string>& programmes,
    std::vector<std::string>& notes, int* exit_code) {
  std::vector<std::string> problems;
  const std::string account = data["account"];
  if (std::find(programmes.begin(), programmes.end(), data["programme"]) == programmes.end()) {
    std::string expected;
    for (const std::string& name : programmes) expected += (expected.empty() ? "" : " or ") + name;
    problems.push_back("programme: the certificate names another programme than " + expected);
  }
  for (const char* day : {"from", "to"}) {
    const std::string value = data[day];
    if (!value.empty() && !IsValidDate(value))
      problems.push_back(std::string(day) + ": not a date");
  }
  auto profile = Profile(session, account, exit_code);
  if (!profile) return std::nullopt;
  if (data["name"] != profile->display_name()) {
    problems.push_back("name: the ledger's name for " + account + " is " + profile->display_name());
  }
  const std::uint64_t as_of_seq = data["as_of_seq"];
  if (as_of_seq > profile->as_of_seq()) problems.push_back("as_of_seq: past the ledger's head");
  auto derived = Derive(session, account, data["from"], data["to"], as_of_seq,
                        profile->star_thresholds(), exit_code);
  if (!derived) return std::nullopt;
  std::set<std::uint64_t> listed;
  std::uint64_t newest = 0;
  for (const auto& activity : data["activities"]) {
    const std::uint64_t seq = activity["seq"];
    newest = std::max(newest, seq);
    if (!listed.insert(seq).second) {
      problems.push_back("entry " + std::to_string(seq) + ": listed twice");
    }
    if (auto it = derived->reversed_by.find(seq); it != derived->reversed_by.end()) {
      problems.push_back("entry " + std::to_string(seq) + ": revoked, reversed by entry " +
                         std::to_string(it->second));
    }
  }
  // Field by field against what the ledger holds: the same activities in the same order.
  std::map<std::uint64_t, const nlohmann::json*> expected;
  for (const auto& activity : derived->activities) expected[activity["seq"]] = &activity;
  for (const auto& activity : data["activities"]) {
    const std::uint64_t seq = activity["seq"];
    auto it = expected.find(seq);
    if (it == expected.end()) {
      if (!derived->reversed_by.contains(seq)) {
        problems.push_back("entry " + std::to_string(seq) + ": not an activity of " + account +
                           " in this period");
      }
      continue;
    }
    for (const char* field : {"hash", "date", "name", "team", "hours"}) {
      if (activity[field] != (*it->second)[field]) {
        problems.push_back("entry " + std::to_string(seq) + ": " + field +
                           " differs from the ledger");
      }
    }
  }
  for (const auto& [seq, activity] : expected) {
    if (!listed.contains(seq)) {
      problems.push_back("entry " + std::to_string(seq) +
                         ": an activity in this period is missing");
    }
  }
  if (data["total_hours"] != derived->total_hours) {
    problems.push_back("total_hours: the ledger's activities add up to " + derived->total_hours);
  }
  if (data["cumulative_hours"] != derived->cumulative_hours) {
    problems.push_back("cumulative_hours: the ledger gives " + derived->cumulative_hours +
                       " as of entry " + std::to_string(as_of_seq));
  }
  if (data["star_level"] != derived->star_level) {
    problems.push_back("star_level: the ledger's thresholds give " +
                       std::to_string(derived->star_level));
  }
  const std::uint64_t digest_seq = data["digest"]["seq"];
  if (digest_seq < newest) {
    problems.push_back("the ledger digest is older than the entries it should cover");
  }
  if (digest_seq != 0) {
    auto entry = Entry(session, digest_seq);
    if (entry.ok()) {
      if (entry->hash() != data["digest"]["hash"]) {
        problems.push_back("the ledger digest " + std::to_string(digest_seq) +
                           " is not in the server's chain");
      }
    } else if (entry.status().code() == absl::StatusCode::kPermissionDenied) {
      notes.push_back("the ledger digest entry " + std::to_string(digest_seq) +
                      " is not readable with this token: each listed entry's hash was checked; an "
                      "auditor checks the digest");
    } else {
      problems.push_back("the ledger digest " + std::to_string(digest_seq) + ": " +
                         std::string(entry.status().message()));
    }
  }
  return problems;
}

// A version 3 certificate online: its proofs under the server's key, and its signed head a
// prefix of the server's current one (a consistency proof): the ledger it was issued from was
// not rewritten since.
std::vector<std::string> VerifyProofOnline(Session& session, const nlohmann::json& data,
                                           std::vector<std::string>& notes) {
  std::vector<std::string> problems;
  const std::uint64_t first = data["proof"]["head"]["tree_size"];
  v1::GetConsistencyProofRequest request;
  request.set_first_size(first);  // to the head: its signed head comes with the proof
  v1::ConsistencyProof consistency;
  const grpc::Status status =
      session.audit().GetConsistencyProof(session.Context().get(), request, &consistency);
  if (!status.ok()) {
    problems.push_back("the consistency proof of the certificate's ledger of " +
                       std::to_string(first) + " entries: " + status.error_message());
    return problems;
  }
  const v1::SignedTreeHead& now = consistency.second();
  if (auto problem = proof::HeadProblem(now, now.public_key())) {
    problems.push_back("the server's head: " + *problem);
    return problems;
  }
  // A certificate issued before a key rotation is signed by an earlier key: its proofs and
  // signature are checked under that key, and the consistency proof below (today's head, today's
  // key) shows its ledger is a prefix of today's; every field is re-derived from the ledger too.
  const std::string issued_key = data["proof"]["head"]["public_key"];
  problems = certificate::VerifyOffline(data, issued_key, nullptr);
  if (!problems.empty()) return problems;
  if (issued_key != now.public_key()) {
    const auto key = signature::PublicKeyFromHex(issued_key);
    notes.push_back(Cat("issued under an earlier key of the programme (",
                        key ? signature::Fingerprint(*key) : std::string("?"),
                        "); today's key signs the head it is a prefix of"));
  }
  auto hash_of = [](const std::string& hex) {
    auto bytes = FromHex(hex);
    auto hash = bytes ? HashFromBytes(*bytes) : std::nullopt;
    return hash.value_or(merkle::Hash{});
  };
  std::vector<merkle::Hash> path;
  for (const std::string& hex : consistency.path()) path.push_back(hash_of(hex));
  const merkle::ProofProblem problem = merkle::VerifyConsistency(
      first, now.tree_size(), hash_of(data["proof"]["head"]["root"].get<std::string>()),
      hash_of(now.root()), path);
  if (problem != merkle::ProofProblem::kNone) {
    problems.push_back(
        Cat("the ledger was rewritten since the certificate was issued: its tree of ", first,
            " entries is not a prefix of today's ", now.tree_size(), " (",
            merkle::ProofProblemName(problem), ")"));
  } else {
    notes.push_back(Cat("its signed ledger of ", first, " entries is a prefix of today's ",
                        now.tree_size(), " (consistency proof verified)"));
  }
  return problems;
}

void AddCertificate(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand(
      "certificate", "a volunteer's service certificate (志愿服务证明) as printable HTML");
  auto account = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto programme = std::make_shared<std::string>();
  command->add_option("account", *account, "the volunteer, e.g. V00001")->required();
  command->add_option("--from", *from, "first day of service to list, YYYY-MM-DD");
  command->add_option("--to", *to, "last day, YYYY-MM-DD");
  command->add_option("--out", *out, "default certificate-ACCOUNT.html");
  command->add_option("--programme", *programme,
                      "the issuing programme, e.g. 河头店镇爱心银行; default: the programme "
                      "profile's name (爱心银行 when none is set)");
  command->footer("Example:\n  lovebank certificate V00001 --from 2026-11-01 --to 2026-11-30");
  command->callback([&globals, exit_code, account, from, to, out, programme] {
    for (const std::string* day : {from.get(), to.get()}) {
      if (!day->empty() && !IsValidDate(*day)) {
        *exit_code = Usage("--from / --to: a day as YYYY-MM-DD, e.g. 2026-11-01");
        return;
      }
    }
    if (!from->empty() && !to->empty() && *from > *to) {
      *exit_code = Usage("--from " + *from + " is after --to " + *to);
      return;
    }
    if (!IsValidText(*programme, false) || programme->size() > 128) {
      *exit_code = Usage("--programme: 1-128 bytes of UTF-8 text");
      return;
    }
    // lovebankd makes it (Programme.GetCertificate): only it holds the ledger's key, which
    // signs the certificate and the tree head its proofs lead to (issue #27).
    Session session(globals);
    if (!programme->empty()) {
      auto named = ProfileProgramme(session, exit_code);
      if (!named) return;
      if (*named != *programme) {
        *exit_code = Usage("--programme " + *programme +
                           ": the ledger signs certificates in its "
                           "programme profile's name, " +
                           *named + " (lovebank setting set programme_profile '{\"name\": …}')");
        return;
      }
    }
    v1::GetCertificateRequest request;
    request.set_account(*account);
    request.set_from(*from);
    request.set_to(*to);
    v1::Certificate made;
    const grpc::Status status =
        session.programme().GetCertificate(session.Context().get(), request, &made);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    const std::string path = out->empty() ? "certificate-" + *account + ".html" : *out;
    if (!WriteFile(path, made.html())) {
      *exit_code = Usage("cannot write " + path);
      return;
    }
    if (globals.json) {
      PrintJson(
          {{"file", path}, {"activities", made.activities()}, {"total_hours", made.total_hours()}});
    } else {
      std::cout << "  " << path << ": " << made.activities() << " activities, "
                << made.total_hours() << " HOURS\n";
    }
    *exit_code = kExitOk;
  });

  auto* verify = app.add_subcommand(
      "verify-certificate",
      "check every figure of a certificate against the server (the member, its issuer, an "
      "auditor or an admin may)");
  auto file = std::make_shared<std::string>();
  auto expected_programme = std::make_shared<std::string>();
  verify->add_option("file", *file, "the certificate's HTML file")->required();
  auto pinned = std::make_shared<std::string>();
  verify->add_option("--key", *pinned,
                     "offline: the programme's public key (64 hex digits or a file, `lovebank "
                     "key`); no server, no token");
  verify->add_option("--programme", *expected_programme,
                     "the programme the certificate must name; default: the programme "
                     "profile's name (爱心银行 when none is set)");
  verify->callback([&globals, exit_code, file, expected_programme, pinned] {
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      *exit_code = Usage("cannot read " + *file);
      return;
    }
    std::string page;
    page.assign(std::istreambuf_iterator<char>(in), {});
    if (page.size() > certificate::kBytesMax) {
      *exit_code = Usage(*file + " is larger than a certificate (" +
                         std::to_string(certificate::kBytesMax) + " bytes at most)");
      return;
    }
    std::vector<std::string> problems, notes;
    const nlohmann::json data = certificate::DataOf(page);
    bool shaped = false;  // the data may be read field by field
    if (data.is_discarded()) {
      problems.push_back("no lovebank certificate data in the file (or more than one)");
    } else if (auto shape = certificate::ShapeProblem(data)) {
      problems.push_back(*shape);
    } else {
      shaped = true;
      if (certificate::Html(data) != page) {
        problems.push_back("the page differs from its own verification data: it was edited");
      }
    }
    if (!pinned->empty() && shaped) {
      // Offline (issue #27): the programme's key and the certificate alone.
      auto key = signature::ParsePublicKey(*pinned);
      if (!key) {
        *exit_code = Usage("--key: 64 hex digits, or a file holding them (`lovebank key`)");
        return;
      }
      auto found = certificate::VerifyOffline(data, signature::PublicKeyHex(*key), &notes);
      problems.insert(problems.end(), found.begin(), found.end());
      if (!expected_programme->empty() && data["programme"] != *expected_programme) {
        problems.push_back("programme: the certificate names another programme than " +
                           *expected_programme);
      }
    } else if (pinned->empty() && shaped) {
      Session session(globals);
      // The programme named, or by default the profile's name — or 爱心银行, which every
      // certificate named before the programme had a profile.
      std::vector<std::string> programmes = {*expected_programme};
      if (expected_programme->empty()) {
        auto named = ProfileProgramme(session, exit_code);
        if (!named) return;
        programmes = {*named};
        if (*named != certificate::kDefaultProgramme) {
          programmes.push_back(certificate::kDefaultProgramme);
        }
      }
      auto found = VerifyAgainstLedger(session, data, programmes, notes, exit_code);
      if (!found) return;
      problems.insert(problems.end(), found->begin(), found->end());
      if (data["version"] == certificate::kVersion) {
        auto proven = VerifyProofOnline(session, data, notes);
        problems.insert(problems.end(), proven.begin(), proven.end());
      }
    }
    if (globals.json) {
      PrintJson({{"file", *file},
                 {"verified", problems.empty()},
                 {"problems", problems},
                 {"notes", notes}});
    } else if (problems.empty() && !pinned->empty()) {
      std::cout << "  " << *file << ": verified offline — " << data["activities"].size()
                << " entries proven in the ledger of " << data["proof"]["head"]["tree_size"]
                << " entries signed by the key "
                << signature::Fingerprint(*signature::ParsePublicKey(*pinned))
                << "; every row, the name and the total match the proven entries\n";
      for (const auto& note : notes) std::cout << "  note: " << note << "\n";
    } else if (problems.empty()) {
      std::cout << "  " << *file << ": verified — " << data["activities"].size()
                << " entries, the name, the period, the totals and the star level match the "
                   "server\n";
      for (const auto& note : notes) std::cout << "  note: " << note << "\n";
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
