#pragma once
// A real lovebankd server object on a loopback port with a temp data directory, and gRPC
// clients for it, for the service integration tests.

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lovebank/v1/api.grpc.pb.h"
#include "service/convert.h"
#include "service/server.h"
#include "tests/test_util.h"

namespace lovebank::testing {

// A call context with the bearer token (none when empty) and a 10 s deadline.
std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token);

// The first line of a token file (the first admin's token lovebankd wrote).
std::string ReadToken(const std::string& path);

// Stubs over one channel to 127.0.0.1:port.
struct Client {
  explicit Client(int port);
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Ledger::Stub> ledger;
  std::unique_ptr<v1::Admin::Stub> admin;
  std::unique_ptr<v1::Audit::Stub> audit;
  std::unique_ptr<v1::Supermarket::Stub> supermarket;
  std::unique_ptr<v1::Programme::Stub> programme;
  std::unique_ptr<v1::Exchange::Stub> exchange;
};

// Asserts a status's code and the lovebank reason carried in its details.
#define EXPECT_STATUS(status_expr, grpc_code, lovebank_reason)               \
  do {                                                                       \
    const ::grpc::Status status_ = (status_expr);                            \
    EXPECT_EQ(status_.error_code(), (grpc_code)) << status_.error_message(); \
    EXPECT_EQ(::lovebank::service::ErrorDetailOf(status_).reason(),          \
              static_cast<::lovebank::v1::Reason>(lovebank_reason))          \
        << status_.error_message();                                          \
  } while (0)

}  // namespace lovebank::testing
