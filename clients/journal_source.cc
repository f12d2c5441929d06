#include "clients/journal_source.h"

#include <deque>

#include "grpc/support/time.h"
#include "grpcpp/grpcpp.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "lovebank/v1/api.grpc.pb.h"

namespace lovebank::client {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::string_view(status.error_message()));
}

class StreamSource final : public audit::JournalSource {
 public:
  StreamSource(std::shared_ptr<grpc::Channel> channel, const std::string& token,
               std::uint64_t to_seq, double timeout_s)
      : stub_(v1::Audit::NewStub(std::move(channel))) {
    context_.AddMetadata("authorization", "Bearer " + token);
    context_.set_deadline(gpr_time_add(  // monotonic: see Session::Context (cli.cc)
        gpr_now(GPR_CLOCK_MONOTONIC),
        gpr_time_from_micros(static_cast<std::int64_t>(timeout_s * 1e6), GPR_TIMESPAN)));
    v1::ReadJournalRequest request;
    request.set_to_seq(to_seq);
    reader_ = stub_->ReadJournal(&context_, request);
  }

  absl::Status Start() {
    v1::ReadJournalResponse first;
    if (!reader_->Read(&first)) return Finish();
    if (first.head_hash().size() != 32) {
      return absl::DataLossError("the first ReadJournal message has no 32-byte head hash");
    }
    ledger_id_ = first.ledger_id();
    head_.seq = first.head_seq();
    std::copy(first.head_hash().begin(), first.head_hash().end(), head_.hash.begin());
    Take(std::move(first));
    return absl::OkStatus();
  }

  std::string ledger_id() const override { return ledger_id_; }
  audit::Digest claimed_head() const override { return head_; }

  absl::StatusOr<bool> Next(audit::RawRecord* record) override {
    while (pending_.empty()) {
      if (ended_) return false;
      v1::ReadJournalResponse message;
      if (!reader_->Read(&message)) {
        ended_ = true;
        if (absl::Status status = Finish(); !status.ok()) return status;
        continue;
      }
      Take(std::move(message));
    }
    *record = std::move(pending_.front());
    pending_.pop_front();
    return true;
  }

 private:
  void Take(v1::ReadJournalResponse message) {
    for (auto& record : *message.mutable_records()) {
      pending_.push_back(
          audit::RawRecord{EncodeFixed64BE(record.seq()), std::move(*record.mutable_value())});
    }
  }
  absl::Status Finish() { return FromGrpc(reader_->Finish()); }

  std::unique_ptr<v1::Audit::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::ReadJournalResponse>> reader_;
  std::string ledger_id_;
  audit::Digest head_;
  std::deque<audit::RawRecord> pending_;
  bool ended_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<audit::JournalSource>> GrpcJournalSource(
    std::shared_ptr<grpc::Channel> channel, const std::string& token, std::uint64_t to_seq,
    double timeout_s) {
  auto source = std::make_unique<StreamSource>(std::move(channel), token, to_seq, timeout_s);
  if (absl::Status started = source->Start(); !started.ok()) return started;
  return std::unique_ptr<audit::JournalSource>(std::move(source));
}

}  // namespace lovebank::client
