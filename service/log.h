#pragma once
// The daemon's log: one line per request (method, request_id, principal, outcome, latency) and
// lifecycle messages, to stderr. Thread-safe: each line is written with one fwrite under a lock.

#include <cstdio>
#include <optional>
#include <string_view>

#include "absl/synchronization/mutex.h"

namespace lovebank::service {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
// "debug", "info", "warn", "error"; std::nullopt otherwise.
std::optional<LogLevel> ParseLogLevel(std::string_view text);

class Logger {
 public:
  // `out` is borrowed (stderr by default).
  explicit Logger(LogLevel level, std::FILE* out = stderr) : level_(level), out_(out) {}
  bool Enabled(LogLevel level) const { return level >= level_; }
  // Writes "<time UTC> <L> <text>\n" when `level` is enabled.
  void Log(LogLevel level, std::string_view text);

 private:
  const LogLevel level_;
  std::FILE* const out_;
  absl::Mutex mu_;  // one line at a time
};

}  // namespace lovebank::service
