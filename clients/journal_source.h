#pragma once
// The audit's journal source over gRPC: Audit.ReadJournal streamed from a server, so an
// auditor runs the audit library on their own machine and trusts nothing the server computed
// (issue #3: "the same code runs over ... a gRPC stream"). No gRPC in this header.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ledger/audit/audit.h"

namespace grpc {
class Channel;
}

namespace lovebank::client {

// Starts ReadJournal from seq 1 to `to_seq` (0: the head when the call starts) on `channel` with
// `token` and reads the first message (the ledger id and the claimed head). Each call on the
// stream gets `timeout_s` seconds. Errors: the call's status, as an absl status with the same
// code and message.
absl::StatusOr<std::unique_ptr<audit::JournalSource>> GrpcJournalSource(
    std::shared_ptr<grpc::Channel> channel, const std::string& token, std::uint64_t to_seq = 0,
    double timeout_s = 3600);

}  // namespace lovebank::client
