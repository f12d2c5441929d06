#include "clients/certificate.h"

#include <openssl/sha.h>
#include <qrencode.h>

#include <cstring>
#include <set>
#include <sstream>

#include "clients/proof.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/amount.h"
#include "ledger/format/reason.h"

namespace lovebank::certificate {
namespace {

const char kDataOpen[] = "<script type=\"application/json\" id=\"lovebank-certificate\">";
const char kDataClose[] = "</script>";

// JSON for inside a <script> element: '<', '>' and '&' (which JSON has only inside strings) as
// \u escapes, so no name or activity can close the element or open a comment (stored XSS).
std::string ScriptJson(const nlohmann::json& data) {
  const std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

const char kPageStyle[] =
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:860px;"
    "margin:2em auto;color:#222}h1{text-align:center;color:#b22}h2{border-bottom:2px solid #b22;"
    "padding-bottom:.2em}table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #999;padding:.3em .6em;text-align:left}td.n{text-align:right}"
    ".verify{font-family:monospace;font-size:.8em;word-break:break-all;border:1px dashed #999;"
    "padding:.6em}@media print{.noprint{display:none}}";

std::string HtmlText(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

absl::StatusOr<Figures> Derive(const Reader& reader, const std::string& account,
                               const std::string& from, const std::string& to,
                               std::uint64_t as_of_seq,
                               const google::protobuf::RepeatedPtrField<std::string>& thresholds,
                               std::size_t activities_max) {
  auto items = reader.statement();
  if (!items.ok()) return items.status();
  Figures derived;
  for (const auto& item : *items) {
    if (item.command().has_reverse())
      derived.reversed_by[item.command().reverse().seq()] = item.seq();
  }
  auto reversed_as_of = [&](std::uint64_t seq) {
    auto it = derived.reversed_by.find(seq);
    return it != derived.reversed_by.end() && it->second <= as_of_seq;
  };
  // HOURS have scale 2 (genesis); the amounts are the ledger's own, so they parse.
  auto minor = [](const std::string& hours) {
    return ParseAmount(hours, 2, MinorAbsoluteMax()).amount.minor();
  };
  Int128 total_minor = 0, cumulative_minor = 0;
  // What each listed entry served: an Earn of HOURS's activity, or the service a confirmation or
  // resolution paid the member for (its day, category and what it was).
  struct Served {
    const v1::StatementItem* item;
    std::string date;
    std::string name;
    std::string team;
    std::string hours;
  };
  std::vector<Served> listed;
  std::set<std::uint64_t> proven;
  for (auto item = items->rbegin(); item != items->rend(); ++item) {  // oldest first
    const v1::Command& c = item->command();
    if (item->seq() > as_of_seq) continue;
    if (c.has_confirm_service() || c.has_resolve_service()) {
      std::string paid;
      for (const auto& leg : item->legs()) {
        if (leg.asset() == "HOURS" && !leg.amount().starts_with("-")) paid = leg.amount();
      }
      if (paid.empty() || !reader.service) continue;
      auto service = reader.service(c.has_confirm_service() ? c.confirm_service().service_seq()
                                                            : c.resolve_service().service_seq());
      if (!service.ok()) return service.status();
      if (service->provider != account) continue;  // the requester's hours coming back
      cumulative_minor += minor(paid);
      if ((!from.empty() && service->day < from) || (!to.empty() && service->day > to)) continue;
      // The category and the day only: the description and place are the requester's words
      // about its own life (a clinic visit), not the provider's to publish.
      listed.push_back({&*item, service->day, Cat(service->category, "（互助服务）"), "", paid});
      continue;
    }
    if (!c.has_earn() || c.earn().asset() != "HOURS" || c.earn().to() != account ||
        reversed_as_of(item->seq())) {
      continue;
    }
    // Cumulative hours count every hour served, the part a storage cap sent to the pool too
    // (the engine's AddEarnedHours); the certificate lists the earnings that reached the member.
    cumulative_minor += minor(c.earn().amount());
    const std::string& date = c.earn().activity().date();
    if (item->legs().empty() || (!from.empty() && date < from) || (!to.empty() && date > to)) {
      continue;
    }
    listed.push_back(
        {&*item, date, c.earn().activity().name(), c.earn().activity().team(), c.earn().amount()});
  }
  if (activities_max != 0 && listed.size() > activities_max) {
    return RefusedStatus(Reason::kCertificateTooLarge,
                         Cat(listed.size(), " activities in the period; a certificate lists ",
                             activities_max, " at most: narrow it with from / to"));
  }
  for (const Served& served : listed) {
    auto hash = reader.entry_hash(served.item->seq());
    if (!hash.ok()) return hash.status();
    derived.activities.push_back({{"seq", served.item->seq()},
                                  {"hash", *hash},
                                  {"date", served.date},
                                  {"name", served.name},
                                  {"team", served.team},
                                  {"hours", served.hours}});
    total_minor += minor(served.hours);
    proven.insert(served.item->seq());
  }
  derived.proven_seqs.assign(proven.begin(), proven.end());
  derived.total_hours = FormatAmount(Amount::FromMinor(total_minor), 2);
  derived.cumulative_hours = FormatAmount(Amount::FromMinor(cumulative_minor), 2);
  for (const auto& threshold : thresholds) {
    if (cumulative_minor >= minor(threshold)) ++derived.star_level;
  }
  return derived;
}

namespace {
template <class Records>
std::string ProgrammeIn(const Records& settings) {
  for (const v1::SettingRecord& record : settings) {
    if (record.value().has_programme_profile() &&
        !record.value().programme_profile().name().empty()) {
      return record.value().programme_profile().name();
    }
  }
  return kDefaultProgramme;
}
}  // namespace

std::string ProgrammeOf(const google::protobuf::RepeatedPtrField<v1::SettingRecord>& settings) {
  return ProgrammeIn(settings);
}
std::string ProgrammeOf(const std::vector<v1::SettingRecord>& settings) {
  return ProgrammeIn(settings);
}

nlohmann::json Data(const std::string& programme, const v1::VolunteerProfile& profile,
                    const std::string& from, const std::string& to, const Figures& figures,
                    const Digest& digest, nlohmann::json proof) {
  return {{"version", kVersion},
          {"proof", std::move(proof)},
          {"programme", programme},
          {"account", profile.account()},
          {"name", profile.display_name()},
          {"from", from},
          {"to", to},
          {"as_of_seq", profile.as_of_seq()},
          {"cumulative_hours", figures.cumulative_hours},
          {"star_level", figures.star_level},
          {"total_hours", figures.total_hours},
          {"digest", {{"seq", digest.seq}, {"hash", digest.hash}}},
          {"activities", figures.activities}};
}

std::string Html(const nlohmann::json& data) {
  std::ostringstream html;
  const std::string name = data["name"];
  html
      << "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>志愿服务证明 "
      << HtmlText(name) << "</title><style>" << kPageStyle << "</style></head><body>\n"
      << "<h1>志愿服务证明</h1>\n<p style=\"text-align:center\">Volunteer service certificate</p>\n"
      << "<p>兹证明 <b>" << HtmlText(name) << "</b>（账号 " << HtmlText(data["account"]) << "）在 "
      << HtmlText(data["programme"]) << " 参加志愿服务";
  if (!data["from"].get<std::string>().empty() || !data["to"].get<std::string>().empty()) {
    html << "（" << HtmlText(data["from"]) << " 至 " << HtmlText(data["to"]) << "）";
  }
  html << "，截至流水 #" << data["as_of_seq"].get<std::uint64_t>() << " 累计志愿服务时长 <b>"
       << HtmlText(data["cumulative_hours"]) << "</b> 小时，星级 <b>"
       << data["star_level"].get<std::uint32_t>() << "</b> 星。本证明所列活动合计 <b>"
       << HtmlText(data["total_hours"]) << "</b> 小时。</p>\n"
       << "<table><tr><th>日期 Date</th><th>活动 Activity</th><th>服务队 Team</th>"
          "<th>时长 Hours</th><th>流水 Entry</th></tr>\n";
  for (const auto& activity : data["activities"]) {
    html << "<tr><td>" << HtmlText(activity["date"]) << "</td><td>" << HtmlText(activity["name"])
         << "</td><td>" << HtmlText(activity["team"]) << "</td><td class=n>"
         << HtmlText(activity["hours"]) << "</td><td class=n>#"
         << activity["seq"].get<std::uint64_t>() << "</td></tr>\n";
  }
  html << "</table>\n<p>出具单位 Issued by: " << HtmlText(data["programme"]) << "</p>\n";
  const std::string text = data.contains("qr") ? QrText(data) : "";
  const std::string svg = text.empty() ? "" : QrSvg(text);
  if (!svg.empty()) {  // none when the text is longer than a QR code holds
    html << "<figure class=qr id=certificate-qr data-text=\"" << HtmlText(text) << "\">" << svg
         << "<figcaption>扫码核验 Scan to verify: "
         << (data["qr"]["url"].get<std::string>().empty()
                 ? "将扫得的文字粘贴到本项目的 /verify/ 页面"
                 : "打开扫得的链接")
         << "</figcaption></figure>\n";
  }
  html << "<div class=verify>核验 Verification: ledger digest "
       << data["digest"]["seq"].get<std::uint64_t>() << ":" << HtmlText(data["digest"]["hash"])
       << "<br>";
  for (const auto& activity : data["activities"]) {
    html << "#" << activity["seq"].get<std::uint64_t>() << " " << HtmlText(activity["hash"])
         << "<br>";
  }
  if (data.contains("proof")) {
    // Version 3: who vouches for it and how anyone checks it without the server.
    const auto& head = data["proof"]["head"];
    // The hex itself, never a file name: the data may be anyone's.
    const auto key = signature::PublicKeyFromHex(head["public_key"].get<std::string>());
    html << "账本公钥指纹 Ledger key fingerprint: "
         << HtmlText(key ? signature::Fingerprint(*key) : std::string("?")) << "<br>"
         << "签名账本 Signed ledger: " << head["tree_size"].get<std::uint64_t>()
         << " 条流水，根 root " << HtmlText(head["root"]) << "<br>"
         << "离线核验 Verify offline: lovebank verify-certificate FILE --key "
            "公钥（或在本项目服务器的 /verify/ "
            "页面打开本文件）<br>";
  }
  html << "lovebank verify-certificate FILE</div>\n"
       << kDataOpen << ScriptJson(data) << kDataClose << "\n</body></html>\n";
  return html.str();
}

std::optional<std::string> ShapeProblem(const nlohmann::json& data) {
  auto text = [](const nlohmann::json& v) { return v.is_string(); };
  auto count = [](const nlohmann::json& v) { return v.is_number_unsigned(); };
  auto exactly =
      [](const nlohmann::json& object,
         const std::vector<std::pair<std::string, std::function<bool(const nlohmann::json&)>>>&
             fields) -> std::optional<std::string> {
    if (!object.is_object() || object.size() != fields.size()) return "not the expected fields";
    for (const auto& [key, ok] : fields) {
      if (!object.contains(key)) return "no " + key;
      if (!ok(object[key])) return key + " has the wrong type";
    }
    return std::nullopt;
  };
  auto digest_ok = [&](const nlohmann::json& v) {
    return !exactly(v, {{"seq", count}, {"hash", text}}).has_value();
  };
  auto activities_ok = [&](const nlohmann::json& v) {
    if (!v.is_array()) return false;
    for (const auto& activity : v) {
      if (exactly(activity, {{"seq", count},
                             {"hash", text},
                             {"date", text},
                             {"name", text},
                             {"team", text},
                             {"hours", text}})) {
        return false;
      }
    }
    return true;
  };
  auto version_ok = [](const nlohmann::json& v) {
    return v.is_number_unsigned() &&
           (v.get<std::uint64_t>() == kVersion || v.get<std::uint64_t>() == kVersionOnlineOnly);
  };
  auto star_ok = [](const nlohmann::json& v) {
    return v.is_number_unsigned() && v.get<std::uint64_t>() <= 1000;
  };
  std::vector<std::pair<std::string, std::function<bool(const nlohmann::json&)>>> fields = {
      {"version", version_ok}, {"programme", text},
      {"account", text},       {"name", text},
      {"from", text},          {"to", text},
      {"as_of_seq", count},    {"cumulative_hours", text},
      {"star_level", star_ok}, {"total_hours", text},
      {"digest", digest_ok},   {"activities", activities_ok}};
  // Version 3 carries its proof (checked field by field by proof::Verify) and its signature.
  if (data.is_object() && data.contains("version") && data["version"] == kVersion) {
    fields.emplace_back("proof", [](const nlohmann::json& v) {
      return v.is_object() && v.size() == 2 && v.contains("head") && v["head"].is_object() &&
             v["head"].contains("public_key") && v["head"]["public_key"].is_string() &&
             v["head"].contains("tree_size") && v["head"]["tree_size"].is_number_unsigned() &&
             v["head"].contains("root") && v["head"]["root"].is_string() && v.contains("entries") &&
             v["entries"].is_array();
    });
    fields.emplace_back("signature", text);
    // Certificates with a QR code carry its URL and summary signature (optional: those made
    // before the QR verify as they did).
    if (data.contains("qr")) {
      fields.emplace_back("qr", [&](const nlohmann::json& v) {
        return !exactly(v, {{"url", text}, {"signature", text}}).has_value() &&
               v["url"].get<std::string>().size() <= kQrUrlBytesMax &&
               v["signature"].get<std::string>().size() == 2 * signature::kSignatureBytes;
      });
    }
  }
  auto problem = exactly(data, fields);
  if (problem) return "the certificate data is malformed (" + *problem + ")";
  return std::nullopt;
}

std::string SignedBytes(const nlohmann::json& data) {
  nlohmann::json copy = data;
  copy.erase("signature");
  return copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

namespace {
std::string CertificateDigest(const nlohmann::json& data) {
  const std::string bytes = SignedBytes(data);
  std::string digest(32, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}
}  // namespace

std::string SummaryBytes(const nlohmann::json& data) {
  nlohmann::json without = data;
  without.erase("qr");
  const std::string signed_bytes = SignedBytes(without);
  std::string digest(32, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(signed_bytes.data()), signed_bytes.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  const auto& head = data["proof"]["head"];
  const nlohmann::json summary = {
      {"version", 1},
      {"ledger_id", head.contains("ledger_id") && head["ledger_id"].is_string()
                        ? head["ledger_id"].get<std::string>()
                        : std::string()},
      {"programme", data["programme"]},
      {"account", data["account"]},
      {"name", data["name"]},
      {"from", data["from"]},
      {"to", data["to"]},
      {"as_of_seq", data["as_of_seq"]},
      {"cumulative_hours", data["cumulative_hours"]},
      {"star_level", data["star_level"]},
      {"total_hours", data["total_hours"]},
      {"activities", data["activities"].size()},
      {"data_sha256", ToHex(digest)}};
  return summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

namespace {
std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int held = 0;
  for (unsigned char byte : bytes) {
    bits = (bits << 8) | byte;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out.push_back(kAlphabet[(bits >> held) & 63]);
    }
  }
  if (held > 0) out.push_back(kAlphabet[(bits << (6 - held)) & 63]);
  return out;
}
}  // namespace

void AddQr(nlohmann::json& data, const signature::SigningKey& key, const std::string& url) {
  data.erase("qr");
  const signature::Signature sig =
      key.Sign(signature::CertificateSummaryMessage(SummaryBytes(data)));
  data["qr"] = {{"url", url}, {"signature", ToHex(signature::BytesOf(sig))}};
}

std::string QrText(const nlohmann::json& data) {
  const auto sig = FromHex(data["qr"]["signature"].get<std::string>());
  const std::string payload =
      Cat("LB1.", Base64Url(SummaryBytes(data)), ".", Base64Url(sig.value_or("")));
  const std::string url = data["qr"]["url"];
  if (url.empty()) return payload;
  return Cat(url, "#q=", payload, "&k=", data["proof"]["head"]["public_key"].get<std::string>());
}

std::string QrSvg(const std::string& text) {
  QRcode* code =
      QRcode_encodeData(static_cast<int>(text.size()),
                        reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M);
  if (code == nullptr) return "";  // longer than a QR holds: the page says how to verify
  const int width = code->width;
  constexpr int kQuiet = 4;  // modules of white border, as the standard asks
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << width + 2 * kQuiet << " "
      << width + 2 * kQuiet << "\" width=\"230\" height=\"230\" shape-rendering=\"crispEdges\""
      << " role=\"img\" aria-label=\"QR\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
      << "<path fill=\"#000\" d=\"";
  // One rectangle per run of dark modules in a row.
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width;) {
      if ((code->data[y * width + x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (code->data[y * width + x + run] & 1) != 0) ++run;
      svg << "M" << x + kQuiet << "," << y + kQuiet << "h" << run << "v1h-" << run << "z";
      x += run;
    }
  }
  svg << "\"/></svg>";
  QRcode_free(code);
  return svg.str();
}

void Sign(nlohmann::json& data, const signature::SigningKey& key) {
  const signature::Signature sig = key.Sign(signature::CertificateMessage(CertificateDigest(data)));
  data["signature"] =
      ToHex(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
}

std::vector<std::string> VerifyOffline(const nlohmann::json& data,
                                       const std::string& public_key_hex,
                                       std::vector<std::string>* notes) {
  std::vector<std::string> problems;
  if (data["version"] != kVersion) {
    problems.push_back("a certificate of version " + data["version"].dump() +
                       " carries no proof: verify it online (without --key)");
    return problems;
  }
  auto key = signature::PublicKeyFromHex(public_key_hex);
  if (!key) {
    problems.push_back("the programme key is not 64 hex digits");
    return problems;
  }
  // The proofs: each listed entry (by its hash) is in the tree the programme's key signed.
  proof::Checked checked = proof::Verify(data["proof"], public_key_hex, /*hash_only=*/true);
  problems = std::move(checked.problems);
  if (!problems.empty()) return problems;
  // The ledger's signature over every field: nothing shown was changed after it signed.
  auto sig_bytes = FromHex(data["signature"].get<std::string>());
  signature::Signature sig{};
  if (!sig_bytes || sig_bytes->size() != sig.size() ||
      (std::memcpy(sig.data(), sig_bytes->data(), sig.size()),
       !signature::Verify(*key, signature::CertificateMessage(CertificateDigest(data)), sig))) {
    problems.push_back(
        "the ledger's signature does not cover this data: it was edited after it was issued");
  }
  if (data.contains("qr")) {
    auto qr_bytes = FromHex(data["qr"]["signature"].get<std::string>());
    auto qr_sig = qr_bytes ? signature::SignatureFromBytes(*qr_bytes) : std::nullopt;
    if (!qr_sig || !signature::Verify(
                       *key, signature::CertificateSummaryMessage(SummaryBytes(data)), *qr_sig)) {
      problems.push_back("the QR code's summary is not signed by the programme's key");
    }
  }
  const proof::Proven& proven = checked.proven;
  const std::uint64_t as_of = data["as_of_seq"];
  if (proven.tree_size != as_of) {
    problems.push_back(Cat("the proof is for a ledger of ", proven.tree_size,
                           " entries, the certificate is as of entry ", as_of));
  }
  // Exactly the listed activities are proven, each with the hash the page shows.
  std::map<std::uint64_t, const std::string*> hash_of;
  for (std::size_t i = 0; i < proven.entries.size(); ++i) {
    hash_of[proven.entries[i].first] = &proven.hashes[i];
  }
  std::set<std::uint64_t> listed;
  Int128 total_minor = 0;
  for (const auto& activity : data["activities"]) {
    const std::uint64_t seq = activity["seq"];
    const std::string what = Cat("entry #", seq, ": ");
    if (!listed.insert(seq).second) problems.push_back(what + "listed twice");
    auto it = hash_of.find(seq);
    if (it == hash_of.end()) {
      problems.push_back(what + "listed but not in the proof");
    } else if (activity["hash"] != *it->second) {
      problems.push_back(what + "hash differs from the proven entry's");
    }
    auto parsed = ParseAmount(activity["hours"].get<std::string>(), 2, MinorAbsoluteMax());
    if (!parsed.ok()) {
      problems.push_back(what + "hours are not HOURS at scale 2");
    } else {
      total_minor += parsed.amount.minor();
    }
  }
  for (const auto& [seq, hash] : hash_of) {
    if (!listed.contains(seq)) problems.push_back(Cat("entry #", seq, ": proven but not listed"));
  }
  if (data["total_hours"] != FormatAmount(Amount::FromMinor(total_minor), 2)) {
    problems.push_back("total_hours: the listed activities add up to " +
                       FormatAmount(Amount::FromMinor(total_minor), 2));
  }
  if (notes != nullptr) {
    notes->push_back(
        Cat("proven: each listed entry is in the ledger of ", as_of,
            " entries signed by the key; the "
            "name, dates, activities, teams, hours, cumulative hours and star level stand on the "
            "ledger's signature (no private record travels with a certificate); online, "
            "verify-certificate also checks each against the ledger"));
  }
  return problems;
}

nlohmann::json DataOf(const std::string& page) {
  const std::size_t open = page.find(kDataOpen);
  const std::size_t close =
      open == std::string::npos ? open : page.find(kDataClose, open + sizeof(kDataOpen) - 1);
  if (close == std::string::npos || page.find(kDataOpen, open + 1) != std::string::npos) {
    return nlohmann::json::value_t::discarded;
  }
  return nlohmann::json::parse(
      page.substr(open + sizeof(kDataOpen) - 1, close - open - (sizeof(kDataOpen) - 1)), nullptr,
      false);
}

}  // namespace lovebank::certificate
