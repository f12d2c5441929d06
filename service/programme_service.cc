// service Programme: volunteers and students as programmes run them (issue #7;
// docs/programme.md): volunteer profiles with star levels, and the star thresholds.

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include "clients/certificate.h"
#include "clients/import.h"
#include "clients/proof.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "service/convert.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

// HOURS are defined at scale 2 by every ledger's genesis entries (ledger.cc).
constexpr std::uint32_t kHoursScale = 2;

std::string Hours(const Int128& minor) {
  return FormatAmount(Amount::FromMinor(minor), kHoursScale);
}

// More statement entries than any volunteer's: the certificate refuses to read further.
constexpr std::size_t kCertificateStatementMax = 1'000'000;
// GetCertificate calls at once, at most (lovebankd's gRPC threads are few: Context's
// long_calls_max may be lower); more: LEDGER_BUSY.
constexpr int kCertificateCallsMax = 2;

// Programme.Import: the largest file taken (a month of a town's activities is ~100 bytes a row:
// 2 MiB holds ~20,000 rows, past the batch's 8,192); larger ones go through `lovebank import`.
constexpr std::size_t kImportBytesMax = 2 << 20;
// Lines beyond the batch's rows a file may have (blank lines, a header, a last line end).
constexpr std::size_t kImportBlankLinesMax = 1000;
// Import calls decoding and preparing a file at once, at most (on gRPC's few threads: Context's
// long_calls_max may be lower); more: LEDGER_BUSY.
constexpr int kImportCallsMax = 2;

// One of a bounded number of calls at once, given back exactly once: by Release, or when the last
// owner lets go.
class CallSlot {
 public:
  explicit CallSlot(std::atomic<int>* in_flight) : in_flight_(in_flight) {}
  CallSlot(const CallSlot&) = delete;
  CallSlot& operator=(const CallSlot&) = delete;
  ~CallSlot() { Release(); }
  void Release() {
    if (held_.exchange(false)) in_flight_->fetch_sub(1);
  }

 private:
  std::atomic<int>* const in_flight_;
  std::atomic<bool> held_{true};
};

// One of at most `most` calls at once, or null when all are taken (then: LEDGER_BUSY).
std::shared_ptr<CallSlot> TakeSlot(std::atomic<int>* in_flight, int most) {
  if (in_flight->fetch_add(1) >= most) {
    in_flight->fetch_sub(1);
    return nullptr;
  }
  return std::make_shared<CallSlot>(in_flight);
}

v1::VolunteerProfile ProfileMessage(const std::string& account,
                                    const Ledger::VolunteerProfile& profile) {
  v1::VolunteerProfile out;
  out.set_account(account);
  out.set_display_name(profile.account.display_name());
  out.set_cumulative_hours(Hours(profile.earned_hours_minor));
  out.set_balance_hours(Hours(profile.balance_hours_minor));
  out.set_star_level(profile.star_level);
  for (const Int128& threshold : profile.thresholds_minor) {
    out.add_star_thresholds(Hours(threshold));
  }
  if (profile.star_level < profile.thresholds_minor.size()) {
    const Int128& next = profile.thresholds_minor[profile.star_level];
    out.set_next_star_at(Hours(next));
    out.set_hours_to_next_star(Hours(next - profile.earned_hours_minor));
  }
  out.set_as_of_seq(profile.as_of_seq);
  return out;
}

}  // namespace

UnaryCall* ProgrammeService::GetVolunteerProfile(CallContext* ctx,
                                                 const v1::GetVolunteerProfileRequest* request,
                                                 v1::VolunteerProfile* response) {
  auto* call = new UnaryCall(context_, ctx, "GetVolunteerProfile", "");
  if (AuthorizeRead(context_, call, Read::kBalance, request->account()) == nullptr) return call;
  auto profile = context_.ledger->GetVolunteerProfile(request->account());
  if (profile.ok()) *response = ProfileMessage(request->account(), *profile);
  call->Done(ToStatus(profile.status()));
  return call;
}

UnaryCall* ProgrammeService::GetCertificate(CallContext* ctx,
                                            const v1::GetCertificateRequest* request,
                                            v1::Certificate* response) {
  auto* call = new UnaryCall(context_, ctx, "GetCertificate", "");
  // It lists the member's activities: whoever may read the member's statement.
  auto who = AuthorizeRead(context_, call, Read::kStatement, request->account());
  if (who == nullptr) return call;
  // Each call reads a whole statement on one of gRPC's threads: a few at once, never all.
  const int certificates_max = std::min(kCertificateCallsMax, context_.long_calls_max);
  const std::shared_ptr<CallSlot> slot = TakeSlot(&certificates_in_flight_, certificates_max);
  if (slot == nullptr) {
    call->Done(ToStatus(Reason::kLedgerBusy, Cat(certificates_max,
                                                 " certificates are being made; retry in a few "
                                                 "seconds")));
    return call;
  }
  // The slot is given back before the answer goes out: a client that has its answer may ask
  // again at once (a sequential client must never find its own last call still counted).
  const auto done = [&slot, call](grpc::Status status) {
    slot->Release();
    call->Done(std::move(status));
  };
  const std::string& from = request->from();
  const std::string& to = request->to();
  for (const std::string* day : {&from, &to}) {
    if (!day->empty() && !IsValidDate(*day)) {
      done(ToStatus(
          Reason::kDateRangeInvalid,
          Cat("from / to: \"", Excerpt(*day), "\" is not a day as YYYY-MM-DD, e.g. 2026-11-01")));
      return call;
    }
  }
  if (!from.empty() && !to.empty() && from > to) {
    done(ToStatus(Reason::kDateRangeInvalid, Cat("from ", from, " is after to ", to)));
    return call;
  }
  auto profile = context_.ledger->GetVolunteerProfile(request->account());
  if (!profile.ok()) {
    done(ToStatus(profile.status()));
    return call;
  }
  const v1::VolunteerProfile shown = ProfileMessage(request->account(), *profile);
  // The ledger as it is now, with lovebankd's reads: the same derivation as `lovebank
  // certificate` over gRPC (clients/certificate.h), so verify-certificate checks it alike.
  certificate::Reader reader;
  reader.statement = [&]() -> absl::StatusOr<std::vector<v1::StatementItem>> {
    std::vector<v1::StatementItem> items;
    std::string cursor;
    do {
      // A statement this long is no volunteer's (~100 MB of items in memory): refused whole.
      if (items.size() >= kCertificateStatementMax) {
        return RefusedStatus(Reason::kCertificateTooLarge,
                             Cat(request->account(), "'s statement holds more than ",
                                 kCertificateStatementMax, " entries"));
      }
      auto page = context_.ledger->ListEntries(request->account(), kStatementPageSizeMax, cursor);
      if (!page.ok()) return page.status();
      for (const StatementItem& item : page->items) ToStatementItem(item, &items.emplace_back());
      cursor = page->next_cursor;
    } while (!cursor.empty());
    return items;
  };
  reader.entry_hash = [&](std::uint64_t seq) -> absl::StatusOr<std::string> {
    auto entry = context_.ledger->GetEntry(seq);
    if (!entry.ok()) return entry.status();
    return HashToHex(entry->hash);
  };
  reader.service = [&](std::uint64_t seq) -> absl::StatusOr<certificate::Reader::Service> {
    auto service = context_.ledger->GetService(seq);
    if (!service.ok()) return service.status();
    return certificate::Reader::Service{service->provider(), service->category(),
                                        service->description(), service->place(), service->day()};
  };
  auto figures = certificate::Derive(reader, request->account(), from, to, shown.as_of_seq(),
                                     shown.star_thresholds(), certificate::kActivitiesMax);
  if (!figures.ok()) {
    done(ToStatus(figures.status()));
    return call;
  }
  // The digest, as `lovebank certificate` takes it: the head when the caller may read it (an
  // auditor or admin), else the newest entry listed (it chains every entry before it).
  certificate::Digest digest;
  if (MayAudit(*who).allowed) {
    const Head head = context_.ledger->GetHead();
    digest = {head.seq, HashToHex(head.hash)};
  } else if (!figures->activities.empty()) {
    digest = {figures->activities.back()["seq"], figures->activities.back()["hash"]};
  }
  // The programme the certificate names: the profile's, as the journal set it.
  auto settings = context_.ledger->GetSettings();
  if (!settings.ok()) {
    done(ToStatus(settings.status()));
    return call;
  }
  const std::string programme = certificate::ProgrammeOf(settings->settings);
  const std::uint64_t as_of = shown.as_of_seq();
  // Its proof (issue #27), hash-only: each listed entry's hash and inclusion path in the tree of
  // as_of_seq entries (~1.4 KB an activity: a bound checked before any proof is read).
  constexpr std::size_t kProofBytesPerEntry = 1400;
  if (figures->proven_seqs.size() * kProofBytesPerEntry > certificate::kServedBytesMax) {
    done(ToStatus(Reason::kCertificateTooLarge,
                  Cat(figures->proven_seqs.size(), " activities with their proofs would be over ",
                      certificate::kServedBytesMax, " bytes: narrow it with from / to")));
    return call;
  }
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& activity : figures->activities) {
    const std::uint64_t seq = activity["seq"];
    auto path = context_.ledger->InclusionProof(seq, as_of);
    if (!path.ok()) {
      done(ToStatus(path.status()));
      return call;
    }
    google::protobuf::RepeatedPtrField<std::string> hashes;
    for (const Hash& hash : *path) *hashes.Add() = HashToHex(hash);
    entries.push_back(proof::HashEntryJson(seq, activity["hash"], hashes));
  }
  auto head = SignedHead(context_, as_of);
  if (!head.ok()) {
    done(ToStatus(head.status()));
    return call;
  }
  nlohmann::json data =
      certificate::Data(programme, shown, from, to, *figures, digest,
                        {{"head", proof::HeadJson(*head)}, {"entries", std::move(entries)}});
  certificate::AddQr(data, *context_.signer, context_.verify_url);
  certificate::Sign(data, *context_.signer);
  std::string html = certificate::Html(data);
  if (html.size() > certificate::kServedBytesMax) {
    done(ToStatus(Reason::kCertificateTooLarge,
                  Cat("the certificate would be ", html.size(), " bytes; ",
                      certificate::kServedBytesMax, " at most: narrow it with from / to")));
    return call;
  }
  response->set_file_name(Cat("certificate-", request->account(), ".html"));
  response->set_html(std::move(html));
  response->set_activities(static_cast<std::uint32_t>(figures->activities.size()));
  response->set_total_hours(figures->total_hours);
  done(grpc::Status::OK);
  return call;
}

UnaryCall* ProgrammeService::Import(CallContext* ctx, const v1::ImportRequest* request,
                                    v1::ImportResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "Import", "");
  auto who = call->Authenticate();
  if (who == nullptr || !call->Allowed(MayImport(*who))) return call;
  // Limits before any work: the bytes, the lines (a row is at least one), calls at once.
  const std::size_t most = context_.ledger->batch_size_max();
  const std::string& bytes = request->file();
  if (bytes.size() > kImportBytesMax) {
    call->Done(ToStatus(Reason::kImportTooLarge,
                        Cat("the file is ", bytes.size(), " bytes; ", kImportBytesMax,
                            " at most here: split it, or use `lovebank import`")));
    return call;
  }
  if (const auto lines = static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
      lines > most + kImportBlankLinesMax) {
    call->Done(ToStatus(Reason::kImportTooLarge,
                        Cat("the file has ", lines, " lines; ", most,
                            " rows at most here: split it, or use `lovebank import`")));
    return call;
  }
  // Held until the answer is made (the rejected rows too), released when it is (the ledger may
  // keep its callback, and so this, a while after calling it) or when the last holder goes.
  const int imports_max = std::min(kImportCallsMax, context_.long_calls_max);
  const std::shared_ptr<CallSlot> slot = TakeSlot(&imports_in_flight_, imports_max);
  if (slot == nullptr) {
    call->Done(ToStatus(Reason::kLedgerBusy,
                        Cat(imports_max, " files are being imported; retry in a few seconds")));
    return call;
  }
  // Given back before any refusal goes out (as GetCertificate's).
  const auto done = [&slot, call](grpc::Status status) {
    slot->Release();
    call->Done(std::move(status));
  };
  auto file = import::Read(bytes, request->encoding());
  if (!file.ok()) {
    done(file.status().code() == absl::StatusCode::kInvalidArgument
             ? ToStatus(Reason::kImportFileInvalid, std::string(file.status().message()))
             : ToStatus(file.status()));
    return call;
  }
  if (file->kind == import::Kind::kTeams) {
    // One change of the programme's profile, not a batch of rows: `lovebank import` merges it.
    done(ToStatus(Reason::kImportFileInvalid,
                  "a teams file goes into the programme's profile: an admin imports it with "
                  "`lovebank import teams.csv`"));
    return call;
  }
  if (file->table.rows.size() > most) {
    done(ToStatus(Reason::kImportTooLarge,
                  Cat("the file has ", file->table.rows.size(), " rows; ", most,
                      " at most here: split it, or use `lovebank import`")));
    return call;
  }
  // The accounts a row does not name: the request's, else the caller's own (an issuer's).
  import::Defaults defaults{request->issuer(), request->store(), request->month(), {}};
  if (defaults.issuer.empty() && !who->accounts.empty()) defaults.issuer = who->accounts.front();
  for (const auto& [needed, column, value] :
       {std::tuple{import::NeedsIssuer(file->kind), "issuer", &defaults.issuer},
        std::tuple{import::NeedsStore(file->kind), "store", &defaults.store}}) {
    if (needed && value->empty() && !file->column.contains(column)) {
      done(ToStatus(Reason::kAccountIdInvalid,
                    Cat(column, ": name the account (the request's ", column,
                        ", or a column of the file); this principal is bound to none")));
      return call;
    }
  }
  if (file->kind == import::Kind::kActivities) {  // checked against the teams, as the CLI does
    auto settings = context_.ledger->GetSettings();
    if (!settings.ok()) {
      done(ToStatus(settings.status()));
      return call;
    }
    for (const v1::SettingRecord& record : settings->settings) {
      for (const auto& team : record.value().programme_profile().teams()) {
        defaults.teams.emplace(team.id(), team.name());
      }
    }
  }
  response->set_kind(std::string(import::KindName(file->kind)));
  response->set_encoding(file->table.encoding);
  // Every row gets its line; the ones held here are answered here, the rest submitted.
  auto names = [this](const std::string& account) -> std::optional<std::string> {
    // Members' names only: a mismatch message must not show what the caller may not read.
    auto record = context_.ledger->GetAccount(account);
    if (!record.ok() || record->kind() != v1::ACCOUNT_KIND_MEMBER) return std::nullopt;
    return record->display_name();
  };
  std::vector<import::Row> rows = import::Commands(*file, defaults, names);
  v1::SubmitBatchRequest batch;
  auto sent = std::make_shared<std::vector<int>>();  // the ImportRow of each command sent
  for (import::Row& row : rows) {
    v1::ImportRow* out = response->add_rows();
    out->set_line(static_cast<std::uint32_t>(row.line));
    out->set_request_id(row.request_id);
    if (!row.held.empty()) {
      out->set_outcome(row.held);
      out->set_message(row.message);
      out->set_same_as(static_cast<std::uint32_t>(row.same_as));
      continue;
    }
    sent->push_back(response->rows_size() - 1);
    *batch.add_commands() = std::move(row.command);
  }
  auto finish = [call, response, slot, file = std::make_shared<import::File>(*std::move(file))] {
    import::Tally tally;
    std::map<std::size_t, std::string> retry;
    for (const v1::ImportRow& row : response->rows()) {
      tally.Count(row.outcome());
      if (row.has_result() && import::Retryable(row.result())) {
        retry.emplace(row.line(), Cat(row.outcome(), ": ", row.message()));
      }
    }
    response->set_applied(tally.applied);
    response->set_pending_approval(tally.pending);
    response->set_already_applied(tally.already_applied);
    response->set_refused(tally.refused);
    response->set_duplicate_rows(tally.duplicate_rows);
    response->set_rejected_rows(import::RejectedRows(*file, retry));
    call->Note(Cat("kind=", response->kind(), " rows=", response->rows_size(),
                   " applied=", tally.applied, " refused=", tally.refused));
    slot->Release();
    call->Done(grpc::Status::OK);
  };
  if (sent->empty()) {  // every row held: nothing to submit
    finish();
    return call;
  }
  auto results = std::make_shared<google::protobuf::RepeatedPtrField<v1::BatchResult>>();
  SubmitCommands(context_, call, *who, batch.commands(), /*all_or_nothing=*/false, results.get(),
                 [call, response, results, sent, finish, slot](grpc::Status status) {
                   if (!status.ok()) {
                     slot->Release();
                     call->Done(status);
                     return;
                   }
                   for (int k = 0; k < results->size(); ++k) {
                     v1::ImportRow* row = response->mutable_rows((*sent)[k]);
                     *row->mutable_result() = std::move(*results->Mutable(k));
                     row->set_outcome(import::Outcome(row->result()));
                     row->set_message(row->result().message());
                   }
                   finish();
                 });
  return call;
}

UnaryCall* ProgrammeService::SetStarLevels(CallContext* ctx,
                                           const v1::SetStarLevelsRequest* request,
                                           v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetStarLevels", *request, response);
}

UnaryCall* ProgrammeService::SetHoursCap(CallContext* ctx, const v1::SetHoursCapRequest* request,
                                         v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetHoursCap", *request, response);
}

UnaryCall* ProgrammeService::SetDailyHoursCap(CallContext* ctx,
                                              const v1::SetDailyHoursCapRequest* request,
                                              v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetDailyHoursCap", *request, response);
}

UnaryCall* ProgrammeService::SetAccountTags(CallContext* ctx,
                                            const v1::SetAccountTagsRequest* request,
                                            v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetAccountTags", *request, response);
}

UnaryCall* ProgrammeService::SetFamily(CallContext* ctx, const v1::SetFamilyRequest* request,
                                       v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetFamily", *request, response);
}

UnaryCall* ProgrammeService::SetTransferPolicy(CallContext* ctx,
                                               const v1::SetTransferPolicyRequest* request,
                                               v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetTransferPolicy", *request, response);
}

UnaryCall* ProgrammeService::SetAwardRule(CallContext* ctx, const v1::SetAwardRuleRequest* request,
                                          v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetAwardRule", *request, response);
}

UnaryCall* ProgrammeService::ListAwardRules(CallContext* ctx,
                                            const v1::ListAwardRulesRequest* /*request*/,
                                            v1::ListAwardRulesResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListAwardRules", "");
  // The rules are public (公示), like the prices.
  if (call->Authenticate() == nullptr) return call;
  auto rules = context_.ledger->GetAwardRules();
  if (rules.ok()) {
    for (auto& rule : *rules) *response->add_rules() = std::move(rule);
  }
  call->Done(ToStatus(rules.status()));
  return call;
}

UnaryCall* ProgrammeService::Award(CallContext* ctx, const v1::AwardRequest* request,
                                   v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "Award", *request, response);
}

UnaryCall* ProgrammeService::SetApprovalThreshold(CallContext* ctx,
                                                  const v1::SetApprovalThresholdRequest* request,
                                                  v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetApprovalThreshold", *request, response);
}

UnaryCall* ProgrammeService::Approve(CallContext* ctx, const v1::ApproveRequest* request,
                                     v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "Approve", *request, response);
}

UnaryCall* ProgrammeService::Reject(CallContext* ctx, const v1::RejectRequest* request,
                                    v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "Reject", *request, response);
}

UnaryCall* ProgrammeService::ListPending(CallContext* ctx, const v1::ListPendingRequest* request,
                                         v1::ListPendingResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListPending", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  // Approvers decide them, issuers make them, admins and auditors read everything; a member
  // sees its own.
  const bool everyone = who->role == v1::ROLE_APPROVER || who->role == v1::ROLE_ISSUER ||
                        who->role == v1::ROLE_ADMIN || who->role == v1::ROLE_AUDITOR;
  if (!everyone && (request->member().empty() || !who->IsBound(request->member()))) {
    call->Allowed({false, Cat(who->name, " (", RoleName(who->role),
                              ") may list only its own account's pending awards")});
    return call;
  }
  auto list = context_.ledger->GetPending(request->member(), request->include_closed());
  if (list.ok()) {
    for (auto& pending : list->pending) *response->add_pending() = std::move(pending);
    response->set_as_of_seq(list->as_of_seq);
  }
  call->Done(ToStatus(list.status()));
  return call;
}

UnaryCall* ProgrammeService::SetSetting(CallContext* ctx, const v1::SetSettingRequest* request,
                                        v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetSetting", *request, response);
}

UnaryCall* ProgrammeService::ListSettings(CallContext* ctx,
                                          const v1::ListSettingsRequest* /*request*/,
                                          v1::ListSettingsResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListSettings", "");
  // The programme's settings are public (公示), like its rules and prices.
  if (call->Authenticate() == nullptr) return call;
  auto list = context_.ledger->GetSettings();
  if (list.ok()) {
    for (auto& record : list->settings) *response->add_settings() = std::move(record);
    response->set_as_of_seq(list->as_of_seq);
  }
  call->Done(ToStatus(list.status()));
  return call;
}

}  // namespace lovebank::service
