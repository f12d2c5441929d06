#pragma once
// The daemon's log: one line per request (method, request_id, principal, outcome, latency) and
// lifecycle messages, to stderr. Thread-safe. A line is appended to a buffer in memory and
// written by the log's own thread, so no call waits for the log's reader: a stderr pipe that
// nobody drains (journald stalled, a terminal paused) stalls no call. Past kLogBufferMax bytes
// waiting, lines are dropped and counted, and a warn line says how many before the next one.
// The price: a process that aborts (a failed LOVEBANK_CHECK, a fatal signal) loses the lines
// still waiting, the last milliseconds' calls (the abort's own message goes to stderr itself).
// Memory: up to kLogBufferMax waiting plus the batch being written (~8 MiB at worst).

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lovebank::service {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
// "debug", "info", "warn", "error"; std::nullopt otherwise.
std::optional<LogLevel> ParseLogLevel(std::string_view text);

// `text` between double quotes as a logfmt value or a Prometheus label value: quotes and
// backslashes escaped, a newline as \n, other control characters as '?' (no text can start a line
// or a field of its own).
std::string Quoted(std::string_view text);

// The most bytes of log lines waiting for the log's thread (issue #29).
inline constexpr std::size_t kLogBufferMax = 4 << 20;
// The log's thread, woken by a line, gathers the lines after it for up to kLogGather or
// kLogGatherBytes before it writes them (a line's time is when it was logged).
inline constexpr absl::Duration kLogGather = absl::Milliseconds(10);
inline constexpr std::size_t kLogGatherBytes = 64 << 10;

class Logger {
 public:
  // `out` is borrowed (stderr by default).
  explicit Logger(LogLevel level, std::FILE* out = stderr);
  // Writes every line logged before, then stops the log's thread.
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;
  bool Enabled(LogLevel level) const { return level >= level_; }
  // One format for every line (issue #28), logfmt: `time=<UTC, µs> level=<debug|info|warn|error>`
  // and then the line's fields. Log writes `text` as one quoted field, msg="..." (quotes,
  // backslashes and control characters escaped: no text can start a line of its own);
  // LogFields writes `fields`, already key=value pairs whose values cannot hold a space, quote
  // or newline (a call's line: rpc=Earn request_id=... outcome=OK latency_us=...).
  void Log(LogLevel level, std::string_view text);
  void LogFields(LogLevel level, std::string_view fields);
  // Returns once every line logged before the call is written to `out` (and flushed).
  void Flush();
  // Lines dropped so far because kLogBufferMax bytes were waiting.
  std::uint64_t dropped() const;

 private:
  void Write(LogLevel level, std::string_view fields);
  void AppendDroppedNote() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriterLoop();
  const LogLevel level_;
  std::FILE* const out_;
  mutable absl::Mutex mu_;
  std::string waiting_ ABSL_GUARDED_BY(mu_);              // lines not yet taken by the thread
  std::uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;       // bytes ever appended to waiting_
  std::uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;        // of those, written and flushed
  std::uint64_t dropped_since_ ABSL_GUARDED_BY(mu_) = 0;  // not yet reported in a line
  std::uint64_t dropped_total_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool urgent_ ABSL_GUARDED_BY(mu_) = false;  // a Flush waits: write without gathering
  std::thread writer_;
};

}  // namespace lovebank::service
