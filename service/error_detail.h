#pragma once
// What a client reads out of a failed call: the lovebank.v1.ErrorDetail that lovebankd attaches
// (grpc-status-details-bin, a google.rpc.Status). A library of its own so that clients (the
// lovebank CLI) need not link the services.

#include "grpcpp/support/status.h"
#include "lovebank/v1/api.pb.h"

namespace lovebank::service {

// The ErrorDetail of a failed status; REASON_OK when the status carries none.
v1::ErrorDetail ErrorDetailOf(const grpc::Status& status);

}  // namespace lovebank::service
