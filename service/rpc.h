#pragma once
// lovebankd's gRPC services on gRPC's completion-queue API (issue #29): every method of every
// service is requested on one completion queue that one thread of lovebankd's own polls. A quick
// method's handler (a point read, a command handed to the ledger) runs on that thread; any other
// on a pool of handler threads, so that nothing slow (a proof waiting for the tree builder, a
// certificate, an import, a journal read) holds the queue. One polling thread, because several on
// one queue hand each event to one another (docs/benchmarks.md "Every service on the
// completion-queue API": 8–28 % more calls/s at 1 and 16 clients than four). No callback service
// is left: one keeps gRPC's own callback threads polling beside this one.
// grpc.health.v1.Health/Check is served here too (gRPC's default health service is a callback
// service). Included by server.cc only.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "service/call.h"

namespace lovebank::service {

// One method lovebankd serves: its full name ("/lovebank.v1.Ledger/Transfer"), its messages'
// types, and its handler — `unary` (which ends the call through its CallContext) or `stream`
// (which makes the ServerStream that ends it). `quick`: the handler (and a stream's reactions)
// never blocks or runs long — no wait, no scan, no commit on its own thread — and may run on
// the polling thread.
struct RpcMethod {
  std::string name;
  const google::protobuf::Descriptor* request = nullptr;
  const google::protobuf::Descriptor* response = nullptr;  // unary only
  std::function<void(CallContext*, const google::protobuf::Message&, google::protobuf::Message*)>
      unary;
  std::function<void(StreamContext*, const google::protobuf::Message&)> stream;
  bool quick = false;
};

// A unary handler of `service` (a member function as services.h declares them).
template <class Service, class Request, class Response>
RpcMethod Unary(std::string name, Service* service,
                UnaryCall* (Service::*handler)(CallContext*, const Request*, Response*)) {
  RpcMethod method{std::move(name), Request::descriptor(), Response::descriptor(), {}, {}};
  method.unary = [service, handler](CallContext* ctx, const google::protobuf::Message& request,
                                    google::protobuf::Message* response) {
    // The types are the descriptor's (RpcServer::Register checks them against the proto).
    (service->*handler)(ctx, static_cast<const Request*>(&request),
                        static_cast<Response*>(response));
  };
  return method;
}

// A server-streaming handler of `service`.
template <class Service, class Request>
RpcMethod Streaming(std::string name, Service* service,
                    ServerStream* (Service::*handler)(StreamContext*, const Request*)) {
  RpcMethod method{std::move(name), Request::descriptor(), nullptr, {}, {}};
  method.stream = [service, handler](StreamContext* ctx, const google::protobuf::Message& request) {
    (service->*handler)(ctx, static_cast<const Request*>(&request));
  };
  return method;
}

class RpcServer {
 public:
  // Adds `methods` and grpc.health.v1.Health/Check to `builder`, on one completion queue with
  // one polling thread and `threads` handler threads. Every service the methods name must be
  // whole: each method its proto declares, with the proto's types and kind; otherwise an error
  // that names what differs.
  // `health_names`: the services Health/Check knows besides "" (the whole server).
  static absl::StatusOr<std::unique_ptr<RpcServer>> Register(grpc::ServerBuilder& builder,
                                                             std::vector<RpcMethod> methods,
                                                             std::vector<std::string> health_names,
                                                             int threads);
  ~RpcServer();

  // After builder.BuildAndStart(): asks for the first call of every method, starts the threads.
  void Start();
  // What Health/Check answers for "" and every name in `health_names`: SERVING or NOT_SERVING.
  void SetServing(bool serving);
  // Takes no new call, shuts `server` down (calls still running after `deadline` are
  // cancelled), then the queue and its threads. Before `server` and this are destroyed.
  void Shutdown(grpc::Server& server, std::chrono::system_clock::time_point deadline);

  class Impl;

 private:
  explicit RpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lovebank::service
