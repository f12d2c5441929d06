#include "tests/service_test_util.h"

#include <chrono>

namespace lovebank::testing {

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

Client::Client(int port)
    : channel(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                  grpc::InsecureChannelCredentials())),
      ledger(v1::Ledger::NewStub(channel)),
      admin(v1::Admin::NewStub(channel)),
      audit(v1::Audit::NewStub(channel)),
      supermarket(v1::Supermarket::NewStub(channel)),
      programme(v1::Programme::NewStub(channel)) {}

}  // namespace lovebank::testing
