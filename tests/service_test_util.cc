#include "tests/service_test_util.h"

#include <chrono>
#include <fstream>

#include "grpc/support/time.h"

namespace lovebank::testing {

std::string ReadToken(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  return token;
}

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  // Monotonic, like the CLI's (clients/cli.cc): the suites also run under a faked wall clock.
  context->set_deadline(
      gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(10, GPR_TIMESPAN)));
  return context;
}

Client::Client(int port)
    : channel(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                  grpc::InsecureChannelCredentials())),
      ledger(v1::Ledger::NewStub(channel)),
      admin(v1::Admin::NewStub(channel)),
      audit(v1::Audit::NewStub(channel)),
      supermarket(v1::Supermarket::NewStub(channel)),
      programme(v1::Programme::NewStub(channel)),
      exchange(v1::Exchange::NewStub(channel)) {}

}  // namespace lovebank::testing
