// gRPC's own cost per unary call on this machine, without the ledger (issue #29 items 2 and 3):
// Ledger.Transfer answered by a stand-in for the sequencer — a second thread that appends 512
// bytes to a file and fdatasyncs it (`--sync`), or not (`--no-sync`), then sends the answer —
// served by either of gRPC's two server APIs (the file is sized ahead, as lovebankd's WAL is):
//   callback  the callback API lovebankd uses (gRPC's own polling threads run the handlers);
//   async     the completion-queue API with one polling thread of our own;
//   inline    the callback API, the handler's own thread writing, syncing and answering when
//             the committer is idle (what LedgerOptions::lone_commands_on_caller does);
//   async-inline  the completion-queue API, its polling thread committing when the committer
//             is idle.
// A commit's answers go out while the next commit may already run. `--zeroed` writes the file
// with zeros first (PostgreSQL's recycled WAL segments), so no sync converts unwritten blocks.
// bench/grpc_floor.sh runs both against blocking clients and counts the server's context
// switches and CPU per call with `perf stat` (docs/benchmarks.md, "gRPC's floor").
//
//   grpc_floor serve --api callback|async|mixed|inline|async-inline [--no-sync] [--zeroed]
//                    [--dir DIR]                                      prints "port N"
//   grpc_floor call --server 127.0.0.1:N --seconds 6                 prints "calls/s=X"
// (calls/s over the requested seconds, connection set-up included: a small bias, the same for
// both APIs).

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"
#include "lovebank/v1/api.grpc.pb.h"

namespace lovebank {
namespace {

// The sequencer's shape: takes what is queued, writes and syncs once, then answers each. Lives
// as long as the process (its thread is detached); its queue holds at most one answer per
// client, since each client waits for its answer before it calls again.
class Committer {
 public:
  Committer(const std::string& dir, bool sync, bool zeroed) : sync_(sync) {
    fd_ = ::open((dir + "/grpc_floor.wal").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    // Sized ahead, as lovebankd's WAL is (ledger/storage/wal_file_system.h): a commit's write
    // lands inside the file, and its sync need not record a new size.
    if (fd_ < 0 || ::fallocate(fd_, 0, 0, kFileBytes) != 0) {
      std::perror("grpc_floor: open");
      std::exit(1);
    }
    // --zeroed: the blocks written with zeros and synced before serving, as PostgreSQL's
    // recycled WAL segments are: no commit's sync then records an unwritten extent's conversion
    // in the inode.
    if (zeroed) {
      const std::string zeros(1 << 20, '\0');
      for (off_t at = 0; at < kFileBytes; at += static_cast<off_t>(zeros.size())) {
        if (::pwrite(fd_, zeros.data(), zeros.size(), at) != static_cast<ssize_t>(zeros.size())) {
          std::perror("grpc_floor: zero");
          std::exit(1);
        }
      }
      if (::fdatasync(fd_) != 0) {
        std::perror("grpc_floor: sync");
        std::exit(1);
      }
    }
    std::thread([this] { Run(); }).detach();  // lives as long as the process
  }
  void Push(std::function<void()> answer) {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(answer));
      wake = !busy_;  // a commit under way takes what is queued when it ends (Release)
    }
    if (wake) wake_.notify_one();
  }
  // The caller commits and answers itself when nothing is queued and no commit is under way,
  // and the two calls before found it so too (lovebankd's kIdleStreakForCaller: a polling thread
  // stuck in a sync leaves the other clients' calls unread); otherwise as Push.
  void PushOrRun(std::function<void()> answer) {
    {
      std::lock_guard lock(mu_);
      const bool idle = !busy_ && queue_.empty();
      idle_streak_ = idle ? idle_streak_ + 1 : 0;
      if (!idle || idle_streak_ <= 2) {
        queue_.push_back(std::move(answer));
        if (!busy_) wake_.notify_one();
        return;
      }
      busy_ = true;
    }
    Write();
    Release();
    answer();
  }

 private:
  // A commit is done: the next may start while this one's answers go out (as lovebankd's writer
  // writes the next batch while its completer answers).
  void Release() {
    bool queued = false;
    {
      std::lock_guard lock(mu_);
      busy_ = false;
      queued = !queue_.empty();
    }
    if (queued) wake_.notify_one();
  }
  void Write() {
    static const std::string record(512, 'r');
    if (sync_) {
      if (::pwrite(fd_, record.data(), record.size(), offset_) < 0 || ::fdatasync(fd_) != 0) {
        std::perror("grpc_floor: write");
        std::exit(1);
      }
      offset_ = (offset_ + static_cast<off_t>(record.size())) % kFileBytes;
    }
  }
  void Run() {
    for (;;) {
      std::deque<std::function<void()>> answers;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [this] { return !busy_ && !queue_.empty(); });
        answers.swap(queue_);
        busy_ = true;
      }
      Write();
      Release();
      for (auto& answer : answers) answer();
    }
  }
  bool busy_ = false;    // a commit is under way (on the committer's thread or a caller's)
  int idle_streak_ = 0;  // calls in a row that found the committer idle

  const bool sync_;
  static constexpr off_t kFileBytes = 64 << 20;  // written round and round
  int fd_ = -1;
  off_t offset_ = 0;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
};

class CallbackLedger final : public v1::Ledger::CallbackService {
 public:
  CallbackLedger(Committer* committer, bool inline_commit)
      : committer_(committer), inline_(inline_commit) {}
  grpc::ServerUnaryReactor* Transfer(grpc::CallbackServerContext* context,
                                     const v1::TransferRequest* /*request*/,
                                     v1::Receipt* receipt) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    auto answer = [reactor, receipt] {
      receipt->set_seq(1);
      reactor->Finish(grpc::Status::OK);
    };
    if (inline_) {
      committer_->PushOrRun(answer);
    } else {
      committer_->Push(answer);
    }
    return reactor;
  }

 private:
  Committer* committer_;
  const bool inline_;
};

// Ledger's methods on the callback API but Transfer on a completion queue. gRPC registers a
// method as async only when it has no handler, and the callback service gave Transfer one:
// taken back here (method 9 is Transfer, as the generated WithAsyncMethod_Transfer marks it).
class MixedLedger final : public v1::Ledger::WithAsyncMethod_Transfer<v1::Ledger::CallbackService> {
 public:
  MixedLedger() {
    MarkMethodCallback(kTransfer, nullptr);
    MarkMethodAsync(kTransfer);
  }

 private:
  static constexpr int kTransfer = 9;
};

struct AsyncCall {
  grpc::ServerContext context;
  v1::TransferRequest request;
  v1::Receipt receipt;
  grpc::ServerAsyncResponseWriter<v1::Receipt> writer{&context};
  bool answered = false;  // the next event is the answer's completion
};

template <typename Service>
[[noreturn]] void ServeAsync(Service& service, grpc::ServerBuilder& builder, const int& port,
                             Committer* committer, bool inline_commit);

// Serves until the process is killed (bench/grpc_floor.sh).
[[noreturn]] void Serve(const std::string& api, const std::string& dir, bool sync, bool zeroed) {
  auto* committer = new Committer(dir, sync, zeroed);  // never freed: see Committer
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  if (api == "callback" || api == "inline") {
    CallbackLedger service(committer, api == "inline");
    builder.RegisterService(&service);
    auto server = builder.BuildAndStart();
    std::cout << "port " << port << std::endl;
    server->Wait();  // nothing shuts it down
    std::abort();
  }
  if (api == "mixed") {
    MixedLedger service;
    ServeAsync(service, builder, port, committer, false);
  }
  v1::Ledger::AsyncService service;
  ServeAsync(service, builder, port, committer, api == "async-inline");
}

// Transfer through a completion queue that this thread alone polls. `service` may have its other
// methods on the callback API ("mixed"): then gRPC's callback threads poll beside this one. With
// `inline_commit` ("async-inline") the polling thread commits and answers a call itself when
// the committer is idle.
template <typename Service>
[[noreturn]] void ServeAsync(Service& service, grpc::ServerBuilder& builder, const int& port,
                             Committer* committer, bool inline_commit) {
  builder.RegisterService(&service);
  std::unique_ptr<grpc::ServerCompletionQueue> queue = builder.AddCompletionQueue();
  auto server = builder.BuildAndStart();
  std::cout << "port " << port << std::endl;
  auto request_next = [&] {
    auto* call = new AsyncCall;
    service.RequestTransfer(&call->context, &call->request, &call->writer, queue.get(), queue.get(),
                            call);
  };
  request_next();
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) {
    auto* call = static_cast<AsyncCall*>(tag);
    if (call->answered || !ok) {
      delete call;
      continue;
    }
    request_next();
    call->answered = true;
    auto answer = [call] {
      call->receipt.set_seq(1);
      call->writer.Finish(call->receipt, grpc::Status::OK, call);
    };
    if (inline_commit) {
      committer->PushOrRun(answer);
    } else {
      committer->Push(answer);
    }
  }
  std::abort();  // the queue shuts down only with the server, which nothing shuts down
}

int Call(const std::string& address, double seconds) {
  auto stub = v1::Ledger::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  v1::TransferRequest request;
  request.set_request_id("floor");
  request.set_amount("1");
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  long calls = 0;
  while (std::chrono::steady_clock::now() < end) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::Receipt receipt;
    const grpc::Status status = stub->Transfer(&context, request, &receipt);
    if (!status.ok()) {
      std::cerr << "grpc_floor: " << status.error_message() << "\n";
      return 1;
    }
    ++calls;
  }
  std::cout << "calls/s=" << static_cast<double>(calls) / seconds << std::endl;
  return 0;
}

}  // namespace
}  // namespace lovebank

int main(int argc, char** argv) {
  CLI::App app{"gRPC's own cost per unary call: callback API vs one polling thread"};
  app.require_subcommand(1);
  std::string api = "callback";
  std::string dir = "/tmp";
  bool sync = true;
  bool zeroed = false;
  std::string address;
  double seconds = 6;
  auto* serve = app.add_subcommand("serve", "serve Ledger.Transfer on a loopback port");
  serve
      ->add_option(
          "--api", api,
          "callback | async | mixed (Transfer async, the rest callback) | inline (callback, "
          "the handler's thread commits when the committer is idle) | async-inline (async, "
          "the polling thread commits when the committer is idle)")
      ->check(CLI::IsMember({"callback", "async", "mixed", "inline", "async-inline"}));
  serve->add_flag("--sync,!--no-sync", sync, "each commit writes and fdatasyncs (default)");
  serve->add_option("--dir", dir, "where the synced file goes");
  serve->add_flag("--zeroed", zeroed,
                  "write the file's 64 MB with zeros and sync them before serving (as "
                  "PostgreSQL's recycled WAL segments), instead of fallocate's unwritten blocks");
  auto* call = app.add_subcommand("call", "one blocking client, calls one after another");
  call->add_option("--server", address, "host:port")->required();
  call->add_option("--seconds", seconds, "how long");
  CLI11_PARSE(app, argc, argv);
  if (serve->parsed()) lovebank::Serve(api, dir, sync, zeroed);
  return lovebank::Call(address, seconds);
}
