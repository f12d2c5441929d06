#pragma once
// lovebankd as a real child process on a loopback port, for the daemon and CLI tests.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

#ifndef LOVEBANKD_PATH
#error "LOVEBANKD_PATH must name the lovebankd binary"
#endif

namespace lovebank::testing {

// The instant a test daemon's clock starts at: inside the sample month (examples/data, 2026-11).
inline constexpr const char* kDaemonClockStart = "2026-11-20T08:00:00Z";

// A lovebankd child with its stderr on a pipe.
class Daemon {
 public:
  // `extra`: more lovebankd flags, e.g. {"--tls-cert", c, "--tls-key", k}.
  // Entry times start at kDaemonClockStart (hermetic: the same month whatever today's date)
  // unless `extra` names another --clock-start.
  explicit Daemon(const std::string& data_dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {LOVEBANKD_PATH, "--listen",    "127.0.0.1:0", "--data-dir",
                                     data_dir,       "--log-level", "warn",        "--init"};
    if (std::find(extra.begin(), extra.end(), "--clock-start") == extra.end()) {
      args.insert(args.end(), {"--clock-start", kDaemonClockStart});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDERR_FILENO);
      ::close(fds[0]);
      ::execv(LOVEBANKD_PATH, argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    stderr_ = ::fdopen(fds[0], "r");
    char line[4096];
    while (std::fgets(line, sizeof(line), stderr_) != nullptr) {
      output_ += line;
      // time=... level=info msg="listening on port 41237"
      const char* listening = std::strstr(line, "msg=\"listening on port ");
      if (listening != nullptr &&
          std::sscanf(listening, "msg=\"listening on port %d", &port_) == 1) {
        break;
      }
    }
    // Keep draining stderr so the daemon never blocks on a full pipe.
    drain_ = std::thread([this] {
      char rest[4096];
      while (std::fgets(rest, sizeof(rest), stderr_) != nullptr) {
        std::lock_guard<std::mutex> lock(mu_);
        output_ += rest;
      }
    });
  }
  ~Daemon() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (drain_.joinable()) drain_.join();
    if (stderr_ != nullptr) std::fclose(stderr_);
  }
  int port() const { return port_; }
  // Sends `signal` and waits for the exit; returns the wait status.
  int Stop(int signal) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exited_ = true;
    drain_.join();
    return status;
  }
  // Freezes the daemon (SIGSTOP) and thaws it (SIGCONT): a call sent meanwhile reaches the
  // socket but gets no reply before its deadline — a lost reply, whatever the machine's speed.
  void Pause() { ::kill(pid_, SIGSTOP); }
  void Resume() { ::kill(pid_, SIGCONT); }
  std::string output() {
    std::lock_guard<std::mutex> lock(mu_);
    return output_;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
  std::FILE* stderr_ = nullptr;
  std::thread drain_;
  std::mutex mu_;
  std::string output_;
};

}  // namespace lovebank::testing
