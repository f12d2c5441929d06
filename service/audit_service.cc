// service Audit: the digest, the journal as stored (for a client-side audit), and a server-side
// replay streamed as it runs.

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ledger/audit/audit.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/storage/store.h"
#include "service/convert.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

// ReadJournal sends at most this many records, or about this many bytes, per message: 1 MiB
// messages keep well under gRPC's 4 MiB default receive limit of any client.
constexpr std::size_t kJournalRecordsPerMessage = 4096;
constexpr std::size_t kJournalBytesPerMessage = 1 << 20;

// Streams the stored journal records from `from_seq` to `to_seq` (the head at the start when 0).
class JournalStream final : public ServerStream {
 public:
  JournalStream(const Context& context, StreamContext* ctx, const v1::ReadJournalRequest& request)
      : ServerStream(ctx), context_(context) {
    record_.method = "ReadJournal";
    if (grpc::Status status; !Admit(context_, ctx->server_context(), MayAudit, &record_, &status)) {
      Stop(std::move(status));
      return;
    }
    head_ = context_.ledger->GetHead();
    to_seq_ = request.to_seq() == 0 ? head_.seq : request.to_seq();
    if (to_seq_ > head_.seq) {
      Stop(ToStatus(Reason::kSeqBeyondHead,
                    Cat("to_seq ", to_seq_, " is past the head ", head_.seq)));
      return;
    }
    next_seq_ = std::max<std::uint64_t>(request.from_seq(), 1);
    // The head this stream claims is its last entry, so that a client's audit of it can check
    // the claim (the server's head when to_seq is 0).
    if (to_seq_ < head_.seq) {
      auto last = context_.ledger->GetEntry(to_seq_);
      if (!last.ok()) {
        Stop(ToStatus(last.status()));
        return;
      }
      head_ = Head{to_seq_, last->hash};
    }
    NextWrite();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Stop(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    NextWrite();
  }

  void OnDone() override {
    record_.extra = Cat("records=", sent_);
    LogCall(context_, record_);
    delete this;
  }

 private:
  void NextWrite() {
    response_.Clear();
    if (first_) {
      response_.set_ledger_id(context_.ledger->ledger_id());
      response_.set_head_seq(head_.seq);
      response_.set_head_hash(std::string(reinterpret_cast<const char*>(head_.hash.data()), 32));
    }
    auto records = context_.ledger->ReadJournal(next_seq_, to_seq_, kJournalRecordsPerMessage,
                                                kJournalBytesPerMessage);
    if (!records.ok()) {
      Stop(ToStatus(records.status()));
      return;
    }
    if (records->empty() && !first_) {
      Stop(grpc::Status::OK);
      return;
    }
    for (JournalRecord& record : *records) {
      auto* wire = response_.add_records();
      wire->set_seq(record.seq);
      wire->set_value(std::move(record.value));
    }
    next_seq_ += records->size();
    sent_ += records->size();
    first_ = false;
    StartWrite(&response_);
  }

  void Stop(grpc::Status status) {
    record_.status = status;
    Finish(std::move(status));
  }

  const Context& context_;
  CallRecord record_;
  Head head_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t to_seq_ = 0;
  std::uint64_t sent_ = 0;
  bool first_ = true;
  v1::ReadJournalResponse response_;
};

// Runs the audit library over a read-only open of the ledger's directory on its own thread and
// streams progress, findings and the summary. Writes go out one at a time (a reactor allows one
// outstanding write): the audit thread queues events, OnWriteDone sends the next.
class VerifyStream final : public ServerStream {
 public:
  VerifyStream(const Context& context, StreamContext* ctx, const v1::VerifyRequest& request)
      : ServerStream(ctx), context_(context), shared_(std::make_shared<Shared>()) {
    record_.method = "Verify";
    shared_->reactor = this;
    if (grpc::Status status; !Admit(context_, ctx->server_context(), MayAudit, &record_, &status)) {
      Stop(std::move(status));
      return;
    }
    audit::Options options;
    for (const std::string& text : request.expect_digests()) {
      auto digest = audit::ParseDigest(text);
      if (!digest.has_value()) {
        Stop(ToStatus(Reason::kDigestInvalid, Cat("expect_digests: \"", Excerpt(text),
                                                  "\" is not SEQ:HASH (64 hex digits)")));
        return;
      }
      options.expected_digests.push_back(*digest);
    }
    // The thread owns a reference to the shared state, never to the reactor once it finished.
    std::thread(&VerifyStream::RunAudit, shared_, context_.ledger->path(), std::move(options))
        .detach();
  }

  void OnWriteDone(bool ok) override {
    enum class Next { kWait, kWrite, kStop } next = Next::kWait;
    grpc::Status status;
    {
      absl::MutexLock lock(&shared_->mu);
      if (!ok || shared_->cancelled) {
        shared_->finish_called = true;
        status = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
        next = Next::kStop;
      } else if (!shared_->queue.empty()) {
        shared_->current = std::move(shared_->queue.front());
        shared_->queue.pop_front();
        next = Next::kWrite;
      } else {
        shared_->writing = false;
        if (shared_->finished) {
          shared_->finish_called = true;
          status = shared_->final_status;
          next = Next::kStop;
        }
      }
    }
    // Outside the lock: gRPC may call back into this reactor from inside StartWrite or Finish.
    if (next == Next::kWrite) StartWrite(&shared_->current);
    if (next == Next::kStop) Stop(std::move(status));
  }

  // The client went away (or its deadline passed): end now, not when the audit thread next has
  // an event (a long replay would hold the call, and lovebankd's shutdown, until then). A write
  // in flight fails instead, and OnWriteDone ends the call.
  void OnCancel() override {
    {
      absl::MutexLock lock(&shared_->mu);
      shared_->cancelled = true;  // a write in flight: OnWriteDone ends the call after it
      if (shared_->finish_called || shared_->writing) return;
      shared_->finish_called = true;
    }
    Stop(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
  }

  void OnDone() override {
    LogCall(context_, record_);
    delete this;
  }

 private:
  struct Shared {
    absl::Mutex mu;
    VerifyStream* reactor = nullptr;  // set before the audit thread starts, never changed
    std::deque<v1::VerifyEvent> queue ABSL_GUARDED_BY(mu);
    // The event being written: handed over under `mu` by whoever sets `writing`, then read by
    // gRPC alone until OnWriteDone.
    v1::VerifyEvent current;
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool finished ABSL_GUARDED_BY(mu) = false;       // the audit thread has no more events
    bool finish_called ABSL_GUARDED_BY(mu) = false;  // Finish was (or is about to be) called
    bool cancelled ABSL_GUARDED_BY(mu) = false;      // the client went away (OnCancel)
    grpc::Status final_status ABSL_GUARDED_BY(mu);
  };

  static void Push(const std::shared_ptr<Shared>& shared, v1::VerifyEvent event) {
    {
      absl::MutexLock lock(&shared->mu);
      if (shared->finish_called) return;
      if (shared->writing) {
        shared->queue.push_back(std::move(event));
        return;
      }
      shared->writing = true;
      shared->current = std::move(event);
    }
    shared->reactor->StartWrite(&shared->current);
  }

  static void End(const std::shared_ptr<Shared>& shared, grpc::Status status) {
    {
      absl::MutexLock lock(&shared->mu);
      if (shared->finish_called) return;
      shared->finished = true;
      shared->final_status = status;
      if (shared->writing) return;  // OnWriteDone finishes after the last write
      shared->finish_called = true;
    }
    shared->reactor->Stop(std::move(status));
  }

  static void RunAudit(std::shared_ptr<Shared> shared, std::string path, audit::Options options) {
    StoreOptions store_options;
    store_options.read_only = true;
    auto store = Store::Open(path, store_options);
    if (!store.ok()) {
      End(shared, ToStatus(store.status()));
      return;
    }
    auto source = audit::StoreSource(**store);
    if (!source.ok()) {
      End(shared, ToStatus(source.status()));
      return;
    }
    options.progress = [&shared](std::uint64_t entries) {
      v1::VerifyEvent event;
      event.mutable_progress()->set_entries(entries);
      Push(shared, std::move(event));
    };
    auto report = audit::Run(**source, store->get(), options);
    if (!report.ok()) {
      End(shared, ToStatus(report.status()));
      return;
    }
    for (const audit::Finding& finding : report->findings) {
      v1::VerifyEvent event;
      auto* wire = event.mutable_finding();
      wire->set_kind(audit::FindingKindName(finding.kind));
      wire->set_seq(finding.seq);
      wire->set_where(finding.where);
      wire->set_expected(finding.expected);
      wire->set_found(finding.found);
      Push(shared, std::move(event));
    }
    v1::VerifyEvent event;
    auto* summary = event.mutable_summary();
    summary->set_clean(report->clean());
    summary->set_entries(report->entries);
    summary->set_head_seq(report->head.seq);
    summary->set_head_hash(HashToHex(report->head.hash));
    summary->set_findings_total(report->findings_total);
    for (const audit::AssetTotals& total : report->totals) {
      auto* wire = summary->add_totals();
      wire->set_asset(total.asset);
      wire->set_issued(audit::DecimalText(total.issued_minor, total.scale));
      wire->set_in_circulation(audit::DecimalText(total.circulating_minor, total.scale));
      wire->set_redeemed(audit::DecimalText(total.redeemed_minor, total.scale));
    }
    for (v1::PrincipalRecord principal : report->principals) {
      principal.clear_token_sha256();
      *summary->add_principals() = std::move(principal);
    }
    Push(shared, std::move(event));
    End(shared, grpc::Status::OK);
  }

  void Stop(grpc::Status status) {
    record_.status = status;
    Finish(std::move(status));
  }

  const Context& context_;
  CallRecord record_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

UnaryCall* AuditService::GetDigest(CallContext* ctx, const v1::GetDigestRequest*,
                                   v1::GetDigestResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "GetDigest", "");
  auto who = call->Authenticate();
  if (who == nullptr || !call->Allowed(MayAudit(*who))) return call;
  const Head head = context_.ledger->GetHead();
  response->set_seq(head.seq);
  response->set_hash(HashToHex(head.hash));
  response->set_ledger_id(ToHex(context_.ledger->ledger_id()));
  call->Done(grpc::Status::OK, head.seq);
  return call;
}

ServerStream* AuditService::ReadJournal(StreamContext* ctx, const v1::ReadJournalRequest* request) {
  return new JournalStream(context_, ctx, *request);
}

ServerStream* AuditService::Verify(StreamContext* ctx, const v1::VerifyRequest* request) {
  return new VerifyStream(context_, ctx, *request);
}

UnaryCall* AuditService::GetNotice(CallContext* ctx, const v1::GetNoticeRequest* request,
                                   v1::Notice* response) {
  // Public, like the notice on the village's board: no token (a screen in the hall holds none
  // worth stealing). Aggregates, the award recipients as the programme profile's recipient_names
  // allows (masked, no member id, no free-text reason, by default), and the digest the notice
  // exists to publish. What one caller can cost is bounded by the cache: one audit at a time, kept
  // while fresh.
  auto* call = new UnaryCall(context_, ctx, "GetNotice", "");
  if (!IsValidMonth(request->month())) {
    call->Done(ToStatus(Reason::kMonthInvalid, Cat("month: \"", Excerpt(request->month()),
                                                   "\" is not a month as YYYY-MM, e.g. 2026-11")));
    return call;
  }
  const std::shared_ptr<NoticeCache> notices = context_.notices;
  if (!notices->Enter()) {
    call->Done(ToStatus(Reason::kLedgerBusy, Cat(kNoticeCallsMax,
                                                 " notice calls are in flight already; retry in "
                                                 "a few seconds")));
    return call;
  }
  // The audit may take seconds: on a thread of its own, never one of gRPC's. The thread holds
  // the cache, a copy of the clock, the call (alive until Done) and the context (the ledger and
  // its key outlive every call: Server::Shutdown waits for each to be done before closing them).
  auto answer = [call, response, month = request->month(), notices, context = &context_,
                 head = context_.ledger->GetHead().seq, clock = context_.clock] {
    auto audit = notices->Get(head, clock);
    notices->Leave();
    if (!audit.ok()) {
      // The cause (a path, RocksDB's words) goes to the log, not to an anonymous caller.
      call->Note(Cat("cause=", Quoted(std::string(audit.status().message()))));
      call->Done(
          ToStatus(Reason::kLedgerUnavailable,
                   "the notice's audit could not read the journal; lovebankd's log says why"));
      return;
    }
    if (!(*audit)->report.clean()) {
      call->Done(ToStatus(Reason::kAuditUnclean,
                          Cat("the audit of the journal up to entry ", (*audit)->report.head.seq,
                              " found ", (*audit)->report.findings_total,
                              " problems: no notice from it (run `lovebank audit`)")));
      return;
    }
    *response = NoticeFrom(**audit, month);
    // The head the notice's figures come from, signed: what witnesses' co-signatures vouch for.
    if (auto signed_head = SignedHead(*context, response->head_seq()); signed_head.ok()) {
      *response->mutable_signed_head() = std::move(*signed_head);
    }
    call->Done(grpc::Status::OK, response->head_seq());
  };
  try {
    std::thread(std::move(answer)).detach();
  } catch (const std::system_error& error) {  // no thread to be had: the call ends here
    notices->Leave();
    call->Done(ToStatus(Reason::kLedgerBusy, Cat("no thread for the notice: ", error.what())));
  }
  return call;
}

}  // namespace lovebank::service
