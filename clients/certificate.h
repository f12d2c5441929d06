#pragma once
// The volunteer's service certificate (志愿服务证明, issue #7 item 7; docs/programme.md): what it
// lists, derived from a member's statement, and its page. One code for both makers — `lovebank
// certificate` (over gRPC) and lovebankd's Programme.GetCertificate (from its ledger, for the
// phone page) — and for `lovebank verify-certificate`, which derives it again and renders the page
// again to compare. Protobuf messages and JSON only: no gRPC here.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/format/signature.h"
#include "lovebank/v1/api.pb.h"
#include "nlohmann/json.hpp"

namespace lovebank::certificate {

// The programme a certificate names when nobody says otherwise.
inline constexpr char kDefaultProgramme[] = "爱心银行";
// A certificate of 10,000 activities is ~3 MB; a bigger file is not one of ours.
inline constexpr std::size_t kBytesMax = 16 << 20;
// lovebankd makes certificates of at most this many activities (~1.5 MB of page with everyday
// names)...
inline constexpr std::size_t kActivitiesMax = 5000;
// ...and of at most this many bytes (names of 128 bytes, escaped, could make 5,000 rows ~14 MB):
// under the 4 MiB a gRPC client receives by default.
inline constexpr std::size_t kServedBytesMax = 3 << 20;
// 3: the data carries its proof (the listed entries with inclusion proofs and the signed tree
// head, issue #27) and the ledger key's signature; 2 (before): verified online only.
inline constexpr int kVersion = 3;
inline constexpr int kVersionOnlineOnly = 2;

// The style of lovebank's printable pages (the certificate, `lovebank report`'s notice).
extern const char kPageStyle[];

// `text` for HTML text or a quoted attribute: & < > " ' as entities.
std::string HtmlText(const std::string& text);

// What a certificate rests on, read with the reader's own rights.
struct Reader {
  // The account's whole statement, newest first.
  std::function<absl::StatusOr<std::vector<v1::StatementItem>>()> statement;
  // The stored hash of entry `seq`, 64 hex digits.
  std::function<absl::StatusOr<std::string>(std::uint64_t seq)> entry_hash;
  // The service (issue #26) a confirmation or resolution paid for: its provider, what and
  // where it was, and its day. The hours a member served others count like an activity.
  struct Service {
    std::string provider;
    std::string category;
    std::string description;
    std::string place;
    std::string day;
  };
  std::function<absl::StatusOr<Service>(std::uint64_t service_seq)> service;
};

// What the ledger says a certificate for `account` over [from, to] as of entry `as_of_seq`
// holds: the activities (oldest first, each with its entry's hash), their total, the cumulative
// hours as of that entry and the star level they give under `thresholds` (decimal HOURS).
struct Figures {
  nlohmann::json activities = nlohmann::json::array();
  std::string total_hours;
  std::string cumulative_hours;
  std::uint32_t star_level = 0;
  std::map<std::uint64_t, std::uint64_t> reversed_by;  // earning seq -> its reversal, any time
  // The entries a certificate's proof covers (by hash): the listed activities, ascending.
  std::vector<std::uint64_t> proven_seqs;
};
// Errors: the reader's; CERTIFICATE_TOO_LARGE (a refusal, ledger/format/reason.h) when
// `activities_max` is not 0 and the period holds more activities — counted before any entry's
// hash is read.
absl::StatusOr<Figures> Derive(const Reader& reader, const std::string& account,
                               const std::string& from, const std::string& to,
                               std::uint64_t as_of_seq,
                               const google::protobuf::RepeatedPtrField<std::string>& thresholds,
                               std::size_t activities_max = 0);

// The programme a certificate names: the programme profile's name among `settings` (journal.proto
// SettingValue, as ListSettings gives them), else kDefaultProgramme.
std::string ProgrammeOf(const google::protobuf::RepeatedPtrField<v1::SettingRecord>& settings);
std::string ProgrammeOf(const std::vector<v1::SettingRecord>& settings);

// A certificate's data: what its page shows and its verification block holds.
struct Digest {
  std::uint64_t seq = 0;
  std::string hash;  // hex
};
// `proof`: a proof bundle's "head" and "entries" (clients/proof.h) for figures.proven_seqs at
// tree size profile.as_of_seq(); version 3 data then gets its "signature" from Sign.
nlohmann::json Data(const std::string& programme, const v1::VolunteerProfile& profile,
                    const std::string& from, const std::string& to, const Figures& figures,
                    const Digest& digest, nlohmann::json proof);

// The bytes the ledger's key signs for `data`: its compact JSON (keys sorted, as nlohmann and
// the verify page's canonical form write it) without "signature".
std::string SignedBytes(const nlohmann::json& data);
// Adds "signature": Ed25519 of signature::CertificateMessage(SHA-256(SignedBytes(data))), hex.
void Sign(nlohmann::json& data, const signature::SigningKey& key);

// The QR code (issue #27 item 5; docs/proofs.md "The QR code"): a compact summary anyone can
// check with the programme's key alone — programme, account, name, period, as-of entry,
// cumulative and listed hours, star level, how many activities, the ledger id and SHA-256 of the
// data without the QR — as compact JSON with sorted keys, signed with
// signature::CertificateSummaryMessage. The QR holds "LB1." base64url(summary) "."
// base64url(signature), behind `url` + "#q=" (and "&k=" the key) when the programme publishes
// its /verify/ page. At most kQrUrlBytesMax bytes of URL.
inline constexpr std::size_t kQrUrlBytesMax = 256;
std::string SummaryBytes(const nlohmann::json& data);
// Adds data["qr"] = {url, signature of the summary}. Before Sign (which then covers it).
void AddQr(nlohmann::json& data, const signature::SigningKey& key, const std::string& url);
// The QR's text for `data` (which has "qr"), and the QR as an inline SVG ("" when too long).
std::string QrText(const nlohmann::json& data);
std::string QrSvg(const std::string& text);

// Verifies version 3 `data` (ShapeProblem accepted it) with nothing but the programme's key: its
// proof (proof::Verify, hash-only: each listed entry's hash is in the tree the key signed at
// as_of_seq, and exactly the listed entries are proven), the ledger's signature over every
// field, and the total against the rows. The rows' contents, the name, the cumulative hours and
// the star stand on that signature: a certificate carries no record (it would show a member's
// phone, tags and memos, and a service requester's own words); online, verify-certificate checks
// each against the ledger. Returns the problems, none when it verifies; a note says what stands
// on the signature.
std::vector<std::string> VerifyOffline(const nlohmann::json& data,
                                       const std::string& public_key_hex,
                                       std::vector<std::string>* notes);

// The page, rendered only from `data` (which ShapeProblem accepted): verify-certificate renders
// it again and compares, so the page shows nothing its data does not hold.
std::string Html(const nlohmann::json& data);

// Why `data` is not a certificate's data of this version (every key, its type, nothing else), or
// std::nullopt when it is: verify-certificate checks the shape before it reads any field, so
// hostile data is a finding, never a crash.
std::optional<std::string> ShapeProblem(const nlohmann::json& data);

// The data inside a certificate's page: discarded JSON when there is none or more than one.
nlohmann::json DataOf(const std::string& page);

}  // namespace lovebank::certificate
