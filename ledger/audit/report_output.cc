#include "ledger/audit/report_output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"

namespace lovebank::audit {

Progress::Progress(std::uint64_t total, std::string verb, std::string unit)
    : enabled_(isatty(STDERR_FILENO) == 1),
      total_(total),
      verb_(std::move(verb)),
      unit_(std::move(unit)),
      start_(std::chrono::steady_clock::now()) {}

std::string Progress::Line(std::string_view verb, std::string_view unit, std::uint64_t done,
                           std::uint64_t total, double seconds, bool finished) {
  char text[160];
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line = Cat("  ", verb, " ", done);
  if (total > 0) line += Cat(" / ", total);
  line += Cat(" ", unit, " (");
  if (total > 0) {
    std::snprintf(text, sizeof(text), "%.0f %%, ",
                  100.0 * static_cast<double>(std::min(done, total)) / static_cast<double>(total));
    line += text;
  }
  if (finished) {
    std::snprintf(text, sizeof(text), "in %.1f s)", seconds);
  } else if (total > done && rate > 0) {
    std::snprintf(text, sizeof(text), "%.0f/s, about %.0f s left)", rate,
                  static_cast<double>(total - done) / rate + 0.5);
  } else {
    std::snprintf(text, sizeof(text), "%.0f/s)", rate);
  }
  return line + text;
}

void Progress::Update(std::uint64_t done) {
  if (!enabled_) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (seconds < 1.0) return;
  std::fprintf(stderr, "\r%s   ", Line(verb_, unit_, done, total_, seconds, false).c_str());
  shown_ = true;
}

void Progress::Finish(std::uint64_t done) {
  if (!enabled_ || !shown_) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r%s   \n", Line(verb_, unit_, done, total_, seconds, true).c_str());
  shown_ = false;
}

Progress::~Progress() {
  if (shown_) std::fprintf(stderr, "\n");
}

namespace {

// "ISSUER" for ROLE_ISSUER: the proto's name without its prefix.
std::string RoleName(v1::Role role) { return v1::Role_Name(role).substr(5); }

}  // namespace

nlohmann::json ToJson(const Report& report) {
  nlohmann::json json;
  json["clean"] = report.clean();
  json["entries"] = report.entries;
  json["head"] = {{"seq", report.head.seq}, {"hash", HashToHex(report.head.hash)}};
  json["tree"] = {{"size", report.tree_size},
                  {"root", HashToHex(report.tree_root)},
                  {"time_unix_us", report.head_time_unix_us}};
  json["signing_keys"] = nlohmann::json::array();
  for (const Report::SigningKey& key : report.signing_keys) {
    json["signing_keys"].push_back({{"key", ToHex(key.key)}, {"endorsed", key.endorsed}});
  }
  json["cosignatures"] = nlohmann::json::array();
  for (const Cosigned& cosigned : report.cosignatures) {
    json["cosignatures"].push_back({{"seq", cosigned.seq},
                                    {"auditor", cosigned.auditor},
                                    {"tree_size", cosigned.cosign.tree_size()},
                                    {"root", ToHex(cosigned.cosign.root())},
                                    {"witness_key", ToHex(cosigned.cosign.witness_key())}});
  }
  json["store_compared"] = report.store_compared;
  json["passes"] = report.passes;
  json["findings_total"] = report.findings_total;
  json["findings"] = nlohmann::json::array();
  for (const Finding& finding : report.findings) {
    json["findings"].push_back({{"kind", FindingKindName(finding.kind)},
                                {"seq", finding.seq},
                                {"where", finding.where},
                                {"expected", finding.expected},
                                {"found", finding.found}});
  }
  json["totals"] = nlohmann::json::array();
  for (const AssetTotals& total : report.totals) {
    json["totals"].push_back({{"asset", total.asset},
                              {"issued", DecimalText(total.issued_minor, total.scale)},
                              {"in_circulation", DecimalText(total.circulating_minor, total.scale)},
                              {"redeemed", DecimalText(total.redeemed_minor, total.scale)}});
  }
  json["flows"] = nlohmann::json::array();
  for (const Flow& flow : report.flows) {
    json["flows"].push_back({{"asset", flow.asset},
                             {"kind", flow.kind},
                             {"amount", DecimalText(flow.minor, flow.scale)}});
  }
  json["store_months"] = nlohmann::json::array();
  for (const StoreMonth& m : report.store_months) {
    json["store_months"].push_back({{"store", m.store},
                                    {"month", m.month},
                                    {"baskets", m.baskets},
                                    {"points", DecimalText(m.points_minor, 2)},
                                    {"hours", DecimalText(m.hours_minor, 2)},
                                    {"refunds", m.refunds},
                                    {"refunded", DecimalText(m.refunded_minor, 2)},
                                    {"redeemed", DecimalText(m.redeemed_minor, 2)},
                                    {"settled", DecimalText(m.settled_minor, 2)}});
  }
  json["programme_months"] = nlohmann::json::array();
  for (const ProgrammeMonth& m : report.programme_months) {
    auto amounts = [](const std::map<std::string, boost::multiprecision::cpp_int>& minor,
                      const std::map<std::string, std::uint64_t>& counts) {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& [key, amount] : minor) {
        auto count = counts.find(key);
        rows.push_back({{"key", key},
                        {"count", count == counts.end() ? 0 : count->second},
                        {"amount", DecimalText(amount, 2)}});
      }
      return rows;
    };
    json["programme_months"].push_back(
        {{"month", m.month},
         {"hours_by_team", amounts(m.team_hours_minor, m.team_earnings)},
         {"points_awarded", amounts(m.awarded_minor, m.awards)},
         {"points_deducted", amounts(m.deducted_minor, m.deductions)},
         {"points_reversed", DecimalText(m.reversed_points_minor, 2)},
         {"outstanding_hours", DecimalText(m.outstanding_hours_minor, 2)},
         {"outstanding_points", DecimalText(m.outstanding_points_minor, 2)},
         {"last_seq", m.last_seq}});
  }
  json["principals"] = nlohmann::json::array();
  for (const v1::PrincipalRecord& principal : report.principals) {
    json["principals"].push_back({{"principal", principal.principal()},
                                  {"role", RoleName(principal.role())},
                                  {"accounts", principal.accounts()},
                                  {"display_name", principal.display_name()},
                                  {"granted_seq", principal.granted_seq()},
                                  {"revoked_seq", principal.revoked_seq()}});
  }
  return json;
}

void PrintHuman(const Report& report, const std::string& what) {
  std::cout << "lovebank audit of " << what << "\n"
            << "  entries   " << report.entries << "\n"
            << "  digest    " << report.head.seq << ":" << HashToHex(report.head.hash) << "\n"
            << "  tree root " << HashToHex(report.tree_root) << " (" << report.tree_size
            << " entries)\n";
  if (!report.signing_keys.empty()) {
    const auto unendorsed = std::count_if(report.signing_keys.begin(), report.signing_keys.end(),
                                          [](const Report::SigningKey& k) { return !k.endorsed; });
    std::cout << "  keys      " << report.signing_keys.size() - 1 << " signing key change(s), "
              << unendorsed << " of them a lost key's replacement; in force: "
              << ToHex(report.signing_keys.back().key) << "\n";
  }
  for (const Cosigned& cosigned : report.cosignatures) {
    std::cout << "  witness   " << ToHex(cosigned.cosign.witness_key()).substr(0, 16) << "… ("
              << cosigned.auditor << ") co-signed the head of " << cosigned.cosign.tree_size()
              << " entries at entry " << cosigned.seq << "\n";
  }
  std::cout << "  store     "
            << (report.store_compared ? "every derived record compared with the replay"
                                      : "not compared (journal only: an export or a stream)")
            << "\n";
  if (report.clean()) {
    std::cout << "  result    CLEAN: the chain holds and everything follows from the journal\n";
  } else {
    std::cout << "  result    " << report.findings_total << " FINDINGS\n";
  }
  std::cout << "\nTotals per asset (net, exact):\n";
  for (const AssetTotals& total : report.totals) {
    std::cout << "  " << total.asset << "  issued " << DecimalText(total.issued_minor, total.scale)
              << "  in circulation " << DecimalText(total.circulating_minor, total.scale)
              << "  redeemed " << DecimalText(total.redeemed_minor, total.scale) << "\n";
  }
  if (!report.flows.empty()) {
    std::cout << "\nFlows by kind of entry (gross, exact):\n";
    for (const Flow& flow : report.flows) {
      std::cout << "  " << flow.asset << "  " << flow.kind << " "
                << DecimalText(flow.minor, flow.scale) << "\n";
    }
  }
  std::cout << "\nPrincipals granted by the journal (who was allowed what):\n";
  for (const v1::PrincipalRecord& principal : report.principals) {
    std::cout << "  " << principal.principal() << "  " << RoleName(principal.role());
    for (const auto& account : principal.accounts()) std::cout << " " << account;
    std::cout << "  granted at seq " << principal.granted_seq();
    if (principal.revoked_seq() != 0) std::cout << ", revoked at seq " << principal.revoked_seq();
    if (!principal.display_name().empty()) std::cout << "  (" << principal.display_name() << ")";
    std::cout << "\n";
  }
  if (!report.clean()) {
    std::cout << "\nFindings (" << report.findings.size() << " shown of " << report.findings_total
              << "):\n";
    for (const Finding& finding : report.findings) {
      std::cout << "  " << FindingKindName(finding.kind);
      if (finding.seq != 0) std::cout << " at seq " << finding.seq;
      if (!finding.where.empty()) std::cout << " [" << finding.where << "]";
      std::cout << "\n      expected: " << finding.expected << "\n      found:    " << finding.found
                << "\n";
    }
  }
}

}  // namespace lovebank::audit
