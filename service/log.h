#pragma once
// The daemon's log: one line per request (method, request_id, principal, outcome, latency) and
// lifecycle messages, to stderr. Thread-safe: each line is written with one fwrite under a lock.

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "absl/synchronization/mutex.h"

namespace lovebank::service {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
// "debug", "info", "warn", "error"; std::nullopt otherwise.
std::optional<LogLevel> ParseLogLevel(std::string_view text);

// `text` between double quotes as a logfmt value or a Prometheus label value: quotes and
// backslashes escaped, a newline as \n, other control characters as '?' (no text can start a line
// or a field of its own).
std::string Quoted(std::string_view text);

class Logger {
 public:
  // `out` is borrowed (stderr by default).
  explicit Logger(LogLevel level, std::FILE* out = stderr) : level_(level), out_(out) {}
  bool Enabled(LogLevel level) const { return level >= level_; }
  // One format for every line (issue #28), logfmt: `time=<UTC, µs> level=<debug|info|warn|error>`
  // and then the line's fields. Log writes `text` as one quoted field, msg="..." (quotes,
  // backslashes and control characters escaped: no text can start a line of its own);
  // LogFields writes `fields`, already key=value pairs whose values cannot hold a space, quote
  // or newline (a call's line: rpc=Earn request_id=... outcome=OK latency_us=...).
  void Log(LogLevel level, std::string_view text);
  void LogFields(LogLevel level, std::string_view fields);

 private:
  void Write(LogLevel level, std::string_view fields);
  const LogLevel level_;
  std::FILE* const out_;
  absl::Mutex mu_;  // one line at a time
};

}  // namespace lovebank::service
