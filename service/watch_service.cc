// Ledger.WatchEntries: the entries committed after a seq, streamed as they commit (service/watch.h
// for the hub that wakes the streams).

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ledger/base/strings.h"
#include "service/convert.h"
#include "service/services.h"
#include "service/watch.h"

namespace lovebank::service {
namespace {

// Entries a watch reads from the ledger at once (then writes one by one).
constexpr std::size_t kWatchReadMax = 64;

class WatchStream final : public ServerStream {
 public:
  WatchStream(const Context& context, StreamContext* ctx, const v1::WatchEntriesRequest& request)
      : ServerStream(ctx), context_(context) {
    record_.method = "WatchEntries";
    grpc::Status status;
    auto who = Authenticate(context_, ctx->server_context(), &status);
    if (who == nullptr) {
      Stop(std::move(status));
      return;
    }
    record_.principal = who->name;
    Decision decision;
    if (request.account().empty()) {
      decision = MayAudit(*who);
    } else {
      auto kind = KindOf(*context_.ledger, request.account());
      if (!kind.ok()) {
        Stop(ToStatus(kind.status()));
        return;
      }
      decision = MayRead(*who, Read::kStatement, request.account(), *kind);
    }
    if (!decision.allowed) {
      Stop(ToStatus(Reason::kPermissionDenied, decision.why));
      return;
    }
    state_ = std::make_shared<State>(this, context_, request);
    switch (context_.watches->Add(state_, who->name, request.account())) {
      case WatchHub::Admission::kOk:
        break;
      case WatchHub::Admission::kFull:
        Stop(ToStatus(Reason::kWatchersFull,
                      Cat("lovebankd serves ", context_.watches->watchers_max(),
                          " watches already (--watchers-max); retry later")));
        return;
      case WatchHub::Admission::kPrincipalFull:
        Stop(ToStatus(Reason::kWatchersFull, Cat(who->name, " holds ", kWatchesPerPrincipalMax,
                                                 " watches already; end one first")));
        return;
      case WatchHub::Admission::kStopping:
        Stop(grpc::Status(grpc::StatusCode::UNAVAILABLE, "lovebankd is stopping"));
        return;
    }
    state_->Start();
  }

  void OnWriteDone(bool ok) override { state_->WriteDone(ok); }
  void OnCancel() override {
    if (state_ != nullptr) state_->Cancel();
  }

  void OnDone() override {
    if (state_ != nullptr) {
      context_.watches->Remove(state_.get());
      record_.extra = Cat("entries=", state_->sent());
    }
    LogCall(context_, record_);
    delete this;
  }

 private:
  // What the hub holds: it outlives the stream, so the hub's calls after the end find
  // `finish_called` and do nothing. Whoever sets `writing` (the token) writes and, finding
  // nothing more, gives it back; Finish is called by the token's holder, or by Tick, Close and
  // Cancel when nobody holds it — never while a write is in flight.
  class State final : public WatchHub::Watch {
   public:
    State(WatchStream* stream, const Context& context, const v1::WatchEntriesRequest& request)
        : stream_(stream),
          context_(context),
          account_(request.account()),
          after_seq_(request.after_seq()),
          idle_(std::chrono::seconds(request.idle_seconds())),
          last_sent_(std::chrono::steady_clock::now()) {}

    // The constructor's thread holds the token from the start (writing_ is born true): the hub
    // may call Wake or Close as soon as Add returns, and a refused Add must never be finished
    // twice by a later Cancel.
    void Start() { Continue(); }

    void Wake() override {
      {
        absl::MutexLock lock(&mu_);
        if (finish_called_) return;
        if (writing_) {
          dirty_ = true;  // the holder reads again before giving the token back
          return;
        }
        writing_ = true;
      }
      Continue();
    }

    void Tick(std::chrono::steady_clock::time_point now) override {
      {
        absl::MutexLock lock(&mu_);
        if (finish_called_ || writing_ || idle_.count() == 0 || now - last_sent_ < idle_) return;
        finish_called_ = true;
      }
      stream_->Stop(grpc::Status::OK);
    }

    void Close(WatchHub::CloseReason why) override {
      {
        absl::MutexLock lock(&mu_);
        revoked_ = why == WatchHub::CloseReason::kRevoked;
      }
      EndUnlessWriting(&closing_, Closed());
    }
    void Cancel() {
      EndUnlessWriting(&cancelled_,
                       grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    }

    void WriteDone(bool ok) {
      if (!ok) {
        {
          absl::MutexLock lock(&mu_);
          finish_called_ = true;
        }
        stream_->Stop(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
        return;
      }
      ++sent_;
      {
        absl::MutexLock lock(&mu_);
        last_sent_ = std::chrono::steady_clock::now();
      }
      Continue();
    }

    std::uint64_t sent() const { return sent_; }

   private:
    grpc::Status Closed() {
      bool revoked = false;
      {
        absl::MutexLock lock(&mu_);
        revoked = revoked_;
      }
      if (revoked) {
        return ToStatus(Reason::kTokenUnknown, "this principal was revoked: the watch ends");
      }
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          Cat("lovebankd is stopping; watch again after seq ", after_seq_));
    }

    void EndUnlessWriting(bool* flag, grpc::Status status) {
      {
        absl::MutexLock lock(&mu_);
        *flag = true;
        if (finish_called_ || writing_) return;  // the holder of the token ends it
        finish_called_ = true;
      }
      stream_->Stop(std::move(status));
    }

    // The token's holder: writes the next response, or gives the token back.
    void Continue() {
      for (;;) {
        bool cancelled = false;
        bool closing = false;
        {
          absl::MutexLock lock(&mu_);
          cancelled = cancelled_;
          closing = closing_;
          if (cancelled || closing) finish_called_ = true;
          dirty_ = false;
        }
        if (cancelled || closing) {
          stream_->Stop(cancelled
                            ? grpc::Status(grpc::StatusCode::CANCELLED, "the client went away")
                            : Closed());
          return;
        }
        if (queue_.empty()) {
          if (grpc::Status read = Read(); !read.ok()) {
            {
              absl::MutexLock lock(&mu_);
              finish_called_ = true;
            }
            stream_->Stop(std::move(read));
            return;
          }
        }
        if (!queue_.empty()) {
          current_ = std::move(queue_.front());
          queue_.pop_front();
          stream_->StartWrite(&current_);
          return;
        }
        absl::MutexLock lock(&mu_);
        // Anything that came while reading (news, a cancel, a close) is the holder's to handle.
        if (dirty_ || cancelled_ || closing_) continue;
        writing_ = false;
        return;
      }
    }

    // Fills the queue with what follows after_seq_ (token holder only).
    grpc::Status Read() {
      Ledger& ledger = *context_.ledger;
      if (!account_.empty()) {
        auto items = ledger.ListEntriesAfter(account_, after_seq_, kWatchReadMax);
        if (!items.ok()) return ToStatus(items.status());
        for (const StatementItem& item : *items) {
          v1::WatchEntriesResponse response;
          ToStatementItem(item, response.mutable_item());
          queue_.push_back(std::move(response));
          after_seq_ = item.seq;
        }
        return grpc::Status::OK;
      }
      const std::uint64_t head = ledger.GetHead().seq;
      while (after_seq_ < head && queue_.size() < kWatchReadMax) {
        auto stored = ledger.GetEntry(after_seq_ + 1);
        if (!stored.ok()) return ToStatus(stored.status());
        v1::WatchEntriesResponse response;
        ToEntryResponse(std::move(*stored), response.mutable_entry());
        queue_.push_back(std::move(response));
        ++after_seq_;
      }
      return grpc::Status::OK;
    }

    WatchStream* const stream_;
    const Context& context_;
    const std::string account_;
    // Read and written by the token's holder only (the token passes under mu_).
    std::uint64_t after_seq_;
    std::deque<v1::WatchEntriesResponse> queue_;
    v1::WatchEntriesResponse current_;
    std::uint64_t sent_ = 0;
    const std::chrono::seconds idle_;

    absl::Mutex mu_;
    bool writing_ ABSL_GUARDED_BY(mu_) = true;  // the constructor's thread holds the token
    bool dirty_ ABSL_GUARDED_BY(mu_) = false;
    bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
    bool closing_ ABSL_GUARDED_BY(mu_) = false;
    bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
    bool revoked_ ABSL_GUARDED_BY(mu_) = false;
    std::chrono::steady_clock::time_point last_sent_ ABSL_GUARDED_BY(mu_);
  };

  void Stop(grpc::Status status) {
    record_.status = status;
    Finish(std::move(status));
  }

  const Context& context_;
  CallRecord record_;
  std::shared_ptr<State> state_;
};

}  // namespace

ServerStream* LedgerService::WatchEntries(StreamContext* ctx,
                                          const v1::WatchEntriesRequest* request) {
  return new WatchStream(context_, ctx, *request);
}

}  // namespace lovebank::service
