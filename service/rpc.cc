#include "service/rpc.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/wrappers.pb.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/support/async_stream.h"
#include "grpcpp/support/async_unary_call.h"
#include "ledger/base/strings.h"

namespace lovebank::service {
namespace {

using google::protobuf::Message;

constexpr const char* kHealthCheck = "/grpc.health.v1.Health/Check";
constexpr const char* kLovebankPrefix = "/lovebank.v1.";

// What the completion queue hands back: each pending operation's tag is one of these.
class Tag {
 public:
  virtual void Proceed(bool ok) = 0;

 protected:
  ~Tag() = default;
};

// The threads that run the handlers which may take long (service/rpc.h): a queue of tasks.
class HandlerPool {
 public:
  void Start(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "lb-handler");  // for top and perf
        for (;;) {
          std::function<void()> task;
          {
            absl::MutexLock lock(&mu_);
            mu_.Await(absl::Condition(this, &HandlerPool::Ready));
            if (tasks_.empty()) return;  // stopping, and nothing left
            task = std::move(tasks_.front());
            tasks_.pop_front();
          }
          task();
        }
      });
    }
  }
  void Post(std::function<void()> task) {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }
  // Runs what is queued, then joins the threads.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !tasks_.empty(); }

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// One proto service's methods, all on the completion-queue API (what a generated AsyncService
// is, built from the method list instead of generated code).
class AsyncMethods final : public grpc::Service {
 public:
  // `names` must outlive this (gRPC keeps the pointers).
  void Add(const std::string& name, bool streaming) {
    AddMethod(new grpc::internal::RpcServiceMethod(name.c_str(),
                                                   streaming
                                                       ? grpc::internal::RpcMethod::SERVER_STREAMING
                                                       : grpc::internal::RpcMethod::NORMAL_RPC,
                                                   nullptr));
    MarkMethodAsync(count_++);
  }
  void RequestUnary(int index, grpc::ServerContext* context, Message* request,
                    grpc::ServerAsyncResponseWriter<Message>* writer,
                    grpc::ServerCompletionQueue* queue, void* tag) {
    RequestAsyncUnary(index, context, request, writer, queue, queue, tag);
  }
  void RequestStream(int index, grpc::ServerContext* context, Message* request,
                     grpc::ServerAsyncWriter<Message>* writer, grpc::ServerCompletionQueue* queue,
                     void* tag) {
    RequestAsyncServerStreaming(index, context, request, writer, queue, queue, tag);
  }

 private:
  int count_ = 0;
};

}  // namespace

// A method as served: its handler, where gRPC holds it, and the prototypes of its messages.
struct Served {
  RpcMethod method;
  AsyncMethods* service = nullptr;
  int index = 0;
  const Message* request_prototype = nullptr;
  const Message* response_prototype = nullptr;
};

class RpcServer::Impl {
 public:
  std::vector<std::unique_ptr<Served>> served;
  std::vector<std::unique_ptr<AsyncMethods>> services;
  std::unique_ptr<grpc::ServerCompletionQueue> queue;
  std::thread poller;  // the one thread that polls the queue
  HandlerPool handlers;
  int handler_threads = 1;
  std::set<std::string, std::less<>> health_names;
  std::atomic<bool> serving{true};

  // Asks gRPC for the next call of `method`, unless the server is stopping (then the queue is
  // about to shut down, and nothing may be started on it).
  void RequestNext(const Served& method);

  // Call objects alive: requested (waiting for a call), running, or answering. After gRPC's own
  // shutdown has cancelled what outlived the grace, calls may still be held (a handler
  // running, a command in the ledger's queue, a notice's thread) or an accepted call may not
  // have reached its thread yet: the queue shuts down only once none is left, so that none of
  // them starts an operation on a queue that is gone. (Requests still waiting come back with
  // ok=false during gRPC's shutdown.)
  std::atomic<int> live_calls{0};

  absl::Mutex mu;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  bool started = false;
};

namespace {

// A unary call, from its request to its answer: the handler finishes it through CallContext.
class UnaryRpc final : public Tag, public CallContext {
 public:
  UnaryRpc(RpcServer::Impl& server, const Served& method)
      : server_(server),
        method_(method),
        request_(method.request_prototype->New()),
        response_(method.response_prototype->New()) {}

  void Request() {
    method_.service->RequestUnary(method_.index, &context_, request_.get(), &writer_,
                                  server_.queue.get(), this);
  }

  void Proceed(bool ok) override {
    // The answer went out (or could not: the client is gone), or the server is stopping and this
    // call never started.
    if (answered_ || !ok) {
      RpcServer::Impl& server = server_;
      delete this;
      server.live_calls.fetch_sub(1, std::memory_order_release);
      return;
    }
    answered_ = true;  // before the handler: its Finish may complete on another thread at once
    server_.RequestNext(method_);
    if (method_.method.quick) {
      Run();
    } else {
      server_.handlers.Post([this] { Run(); });
    }
  }

  const grpc::ServerContextBase& server_context() const override { return context_; }

  void Run() { method_.method.unary(this, *request_, response_.get()); }

  void Finish(grpc::Status status) override {
    if (status.ok()) {
      writer_.Finish(*response_, status, this);
    } else {
      writer_.FinishWithError(status, this);
    }
  }

 private:
  RpcServer::Impl& server_;
  const Served& method_;
  grpc::ServerContext context_;
  std::unique_ptr<Message> request_;
  std::unique_ptr<Message> response_;
  grpc::ServerAsyncResponseWriter<Message> writer_{&context_};
  bool answered_ = false;
};

// A server-streaming call: the handler's ServerStream writes and finishes through it. Each
// operation has its own tag; the call ends (OnDone, then this is freed) once the handler has
// returned, the Finish went out, gRPC said the call is over, and no thread is in one of its
// steps — decided in the same critical section as the last of those, by the one thread that
// leaves last (a thread never touches the call after it left).
class StreamRpc final : public StreamContext {
 public:
  StreamRpc(RpcServer::Impl& server, const Served& method)
      : server_(server), method_(method), request_(method.request_prototype->New()) {}

  void Request() {
    context_.AsyncNotifyWhenDone(&over_);  // before the call starts, as gRPC requires
    method_.service->RequestStream(method_.index, &context_, request_.get(), &writer_,
                                   server_.queue.get(), &accepted_);
  }

  const grpc::ServerContextBase& server_context() const override { return context_; }

  void Attach(ServerStream* stream) override { stream_ = stream; }

  void Write(const Message* message) override {
    absl::MutexLock lock(&mu_);
    // After a Finish nothing more may go out (and its tag could outlive the call): dropped.
    if (finish_started_ || pending_finish_.has_value()) return;
    if (!bound_) {
      pending_write_ = message;
      return;
    }
    writing_ = true;
    writer_.Write(*message, &wrote_);  // the queue never completes it on this thread
  }

  void Finish(grpc::Status status) override {
    absl::MutexLock lock(&mu_);
    if (finish_started_ || pending_finish_.has_value()) return;  // once
    if (!bound_ || writing_ || pending_write_ != nullptr) {
      pending_finish_ = std::move(status);
      return;
    }
    StartFinish(std::move(status));
  }

 private:
  // A tag that calls one member function.
  class Step final : public Tag {
   public:
    Step(StreamRpc* rpc, void (StreamRpc::*step)(bool)) : rpc_(rpc), step_(step) {}
    // A stream's steps run its handler's reactions (a journal read of 1 MiB, a watch's read):
    // on the handler threads unless the method is quick.
    void Proceed(bool ok) override {
      // The next call of the method is asked for here, on the polling thread: a busy pool must
      // not keep new streams from being taken.
      if (this == &rpc_->accepted_ && ok) rpc_->server_.RequestNext(rpc_->method_);
      if (rpc_->method_.method.quick) {
        (rpc_->*step_)(ok);
      } else {
        rpc_->server_.handlers.Post([rpc = rpc_, step = step_, ok] { (rpc->*step)(ok); });
      }
    }

   private:
    StreamRpc* const rpc_;
    void (StreamRpc::*const step_)(bool);
  };

  void Accepted(bool ok) {
    if (!ok) {  // the server is stopping: the call never started, so no other tag comes
      RpcServer::Impl& server = server_;
      delete this;
      server.live_calls.fetch_sub(1, std::memory_order_release);
      return;
    }
    method_.method.stream(this, *request_);  // the next call was asked for (Step::Proceed)
    bool cancel = false;
    {
      absl::MutexLock lock(&mu_);
      ++active_;
      bound_ = true;
      if (stream_ == nullptr) {  // a handler that made no stream: end the call here
        if (!pending_finish_.has_value()) {
          pending_finish_ = grpc::Status(grpc::StatusCode::INTERNAL, "no handler for this call");
        }
      }
      if (pending_write_ != nullptr) {
        writing_ = true;
        writer_.Write(*std::exchange(pending_write_, nullptr), &wrote_);
      } else if (pending_finish_.has_value()) {
        StartFinish(*std::exchange(pending_finish_, std::nullopt));
      }
      cancel = std::exchange(cancel_pending_, false) && !finish_started_ && stream_ != nullptr;
    }
    if (cancel) React([this] { stream_->OnCancel(); });
    Leave();
  }

  void Wrote(bool ok) {
    {
      absl::MutexLock lock(&mu_);
      ++active_;
      writing_ = false;
      if (pending_finish_.has_value()) StartFinish(*std::exchange(pending_finish_, std::nullopt));
    }
    if (stream_ != nullptr) React([this, ok] { stream_->OnWriteDone(ok); });
    Leave();
  }

  void Finished(bool) {
    {
      absl::MutexLock lock(&mu_);
      ++active_;
      finish_done_ = true;
    }
    Leave();
  }

  // The call is over: answered, cancelled by the client, or past its deadline.
  void Over(bool) {
    bool cancel = false;
    {
      absl::MutexLock lock(&mu_);
      ++active_;
      over_seen_ = true;
      if (context_.IsCancelled() && !finish_started_) {
        if (bound_) {
          cancel = stream_ != nullptr;
        } else {
          cancel_pending_ = true;
        }
      }
    }
    if (cancel) React([this] { stream_->OnCancel(); });
    Leave();
  }

  // Runs a reaction, one of this stream's at a time.
  template <class F>
  void React(F reaction) {
    absl::MutexLock lock(&reaction_mu_);
    reaction();
  }

  // The end of a step (each began with ++active_): the last thread out ends the call once
  // everything is done.
  void Leave() {
    {
      absl::MutexLock lock(&mu_);
      --active_;
      if (ended_ || !bound_ || !over_seen_ || !finish_done_ || active_ > 0) return;
      ended_ = true;
    }
    if (stream_ != nullptr) stream_->OnDone();
    RpcServer::Impl& server = server_;
    delete this;
    server.live_calls.fetch_sub(1, std::memory_order_release);
  }

  void StartFinish(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finish_started_ = true;
    writer_.Finish(status, &finished_);
  }

  RpcServer::Impl& server_;
  const Served& method_;
  grpc::ServerContext context_;
  std::unique_ptr<Message> request_;
  grpc::ServerAsyncWriter<Message> writer_{&context_};
  Step accepted_{this, &StreamRpc::Accepted};
  Step wrote_{this, &StreamRpc::Wrote};
  Step finished_{this, &StreamRpc::Finished};
  Step over_{this, &StreamRpc::Over};
  ServerStream* stream_ = nullptr;  // set by the handler, before bound_

  absl::Mutex reaction_mu_;
  absl::Mutex mu_;
  bool bound_ ABSL_GUARDED_BY(mu_) = false;  // the handler returned
  const Message* pending_write_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> pending_finish_ ABSL_GUARDED_BY(mu_);
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_done_ ABSL_GUARDED_BY(mu_) = false;
  bool over_seen_ ABSL_GUARDED_BY(mu_) = false;
  bool cancel_pending_ ABSL_GUARDED_BY(mu_) = false;
  int active_ ABSL_GUARDED_BY(mu_) = 0;  // threads in a step (Accepted, Wrote, Finished, Over)
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

// "/lovebank.v1.Ledger/Transfer" → "lovebank.v1.Ledger".
std::string ServiceOf(const std::string& method) {
  const std::size_t slash = method.find('/', 1);
  return slash == std::string::npos ? std::string() : method.substr(1, slash - 1);
}

// Each lovebank.v1 method in `methods` is one its proto declares, with the proto's messages and
// kind, and each lovebank.v1 service it names is whole.
absl::Status CheckAgainstProto(const std::vector<RpcMethod>& methods) {
  const auto& pool = *google::protobuf::DescriptorPool::generated_pool();
  std::set<std::string> names;
  std::set<const google::protobuf::ServiceDescriptor*> services;
  for (const RpcMethod& method : methods) {
    if (!names.insert(method.name).second) {
      return absl::InternalError(Cat("gRPC method ", method.name, " is registered twice"));
    }
    if (method.name.rfind(kLovebankPrefix, 0) != 0) continue;
    const std::string service_name = ServiceOf(method.name);
    const auto* service = pool.FindServiceByName(service_name);
    if (service == nullptr) {
      return absl::InternalError(Cat("no proto declares service ", service_name));
    }
    services.insert(service);
    const auto* proto = service->FindMethodByName(method.name.substr(service_name.size() + 2));
    if (proto == nullptr) return absl::InternalError(Cat("no proto declares ", method.name));
    const bool kind_ok = !proto->client_streaming() &&
                         (proto->server_streaming() ? bool(method.stream) : bool(method.unary));
    if (!kind_ok || method.request != proto->input_type() ||
        (!proto->server_streaming() && method.response != proto->output_type())) {
      return absl::InternalError(
          Cat("the handler of ", method.name, " does not take the proto's messages or kind"));
    }
  }
  for (const auto* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string name = Cat("/", service->full_name(), "/", service->method(i)->name());
      if (names.count(name) == 0) {
        return absl::InternalError(
            Cat("lovebankd serves no handler for ", name.substr(1), ", which the proto declares"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

void RpcServer::Impl::RequestNext(const Served& method) {
  absl::ReaderMutexLock lock(&mu);
  if (stopping) return;
  live_calls.fetch_add(1, std::memory_order_relaxed);
  if (method.method.stream) {
    (new StreamRpc(*this, method))->Request();
  } else {
    (new UnaryRpc(*this, method))->Request();
  }
}

RpcServer::RpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RpcServer::~RpcServer() {
  // Shutdown joined the threads; a server that never started has none.
  if (impl_->poller.joinable()) impl_->poller.join();
  impl_->handlers.Stop();
}

absl::StatusOr<std::unique_ptr<RpcServer>> RpcServer::Register(
    grpc::ServerBuilder& builder, std::vector<RpcMethod> methods,
    std::vector<std::string> health_names, int threads) {
  if (absl::Status checked = CheckAgainstProto(methods); !checked.ok()) return checked;
  auto impl = std::make_unique<Impl>();
  impl->handler_threads = std::max(1, threads);
  impl->health_names.insert(health_names.begin(), health_names.end());
  impl->health_names.insert("");
  // grpc.health.v1.Health/Check. HealthCheckRequest{string service = 1} and
  // HealthCheckResponse{ServingStatus status = 1} have the wire form of StringValue and
  // Int32Value (an enum is an int32 varint): protobuf's own messages stand in for them.
  // SERVING = 1, NOT_SERVING = 2; a name the server does not serve: NOT_FOUND, as gRPC's own
  // health service. Watch is not served (UNIMPLEMENTED, which gRPC's client-side health
  // checking takes as "no health checking").
  Impl* self = impl.get();
  methods.push_back(RpcMethod{
      kHealthCheck,
      google::protobuf::StringValue::descriptor(),
      google::protobuf::Int32Value::descriptor(),
      [self](CallContext* ctx, const Message& request, Message* response) {
        const auto& name = static_cast<const google::protobuf::StringValue&>(request).value();
        if (self->health_names.count(name) == 0) {
          ctx->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
          return;
        }
        static_cast<google::protobuf::Int32Value*>(response)->set_value(
            self->serving.load(std::memory_order_relaxed) ? 1 : 2);
        ctx->Finish(grpc::Status::OK);
      },
      {},
      /*quick=*/true});
  std::map<std::string, AsyncMethods*> services;
  for (RpcMethod& method : methods) {
    auto served = std::make_unique<Served>();
    served->method = std::move(method);
    const std::string service = ServiceOf(served->method.name);
    AsyncMethods*& methods_of = services[service];
    if (methods_of == nullptr) {
      impl->services.push_back(std::make_unique<AsyncMethods>());
      methods_of = impl->services.back().get();
    }
    served->service = methods_of;
    served->index = static_cast<int>(
        std::count_if(impl->served.begin(), impl->served.end(),
                      [&](const auto& other) { return other->service == methods_of; }));
    auto* factory = google::protobuf::MessageFactory::generated_factory();
    served->request_prototype = factory->GetPrototype(served->method.request);
    if (served->method.response != nullptr) {
      served->response_prototype = factory->GetPrototype(served->method.response);
    }
    methods_of->Add(served->method.name, static_cast<bool>(served->method.stream));
    impl->served.push_back(std::move(served));
  }
  for (const auto& service : impl->services) builder.RegisterService(service.get());
  impl->queue = builder.AddCompletionQueue();
  return std::unique_ptr<RpcServer>(new RpcServer(std::move(impl)));
}

void RpcServer::Start() {
  impl_->started = true;
  impl_->handlers.Start(impl_->handler_threads);
  for (const auto& method : impl_->served) impl_->RequestNext(*method);
  impl_->poller = std::thread([queue = impl_->queue.get()] {
    pthread_setname_np(pthread_self(), "lb-grpc");  // for top and perf
    void* tag = nullptr;
    bool ok = false;
    while (queue->Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
  });
}

void RpcServer::SetServing(bool serving) {
  impl_->serving.store(serving, std::memory_order_relaxed);
}

void RpcServer::Shutdown(grpc::Server& server, std::chrono::system_clock::time_point deadline) {
  {
    absl::MutexLock lock(&impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  server.Shutdown(deadline);  // the threads still poll: the calls in flight end meanwhile
  server.Wait();
  // What gRPC cancelled after the grace may still be held here (see live_calls): its
  // operations fail at once, so this wait ends as soon as their holders let go.
  while (impl_->live_calls.load(std::memory_order_acquire) > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->queue->Shutdown();
  if (impl_->poller.joinable()) impl_->poller.join();
  impl_->handlers.Stop();  // nothing is queued: every call was freed
}

}  // namespace lovebank::service
