#include "service/log.h"

#include <pthread.h>

#include <chrono>
#include <ctime>
#include <string>
#include <utility>

namespace lovebank::service {

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string Quoted(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
      quoted.push_back(c);
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      quoted.push_back('?');
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('"');
  return quoted;
}

void Logger::Log(LogLevel level, std::string_view text) {
  if (Enabled(level)) Write(level, "msg=" + Quoted(text));
}

void Logger::LogFields(LogLevel level, std::string_view fields) {
  if (Enabled(level)) Write(level, fields);
}

namespace {

std::string Line(LogLevel level, std::string_view text) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(micros));
  static constexpr const char* kLevels[] = {"debug", "info", "warn", "error"};
  std::string line;
  line.reserve(text.size() + 56);
  line.append("time=").append(stamp).append(" level=").append(kLevels[static_cast<int>(level)]);
  line.append(" ").append(text).push_back('\n');
  return line;
}

}  // namespace

Logger::Logger(LogLevel level, std::FILE* out) : level_(level), out_(out) {
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lb-log");
    WriterLoop();
  });
}

Logger::~Logger() {
  {
    absl::MutexLock lock(&mu_);
    if (dropped_since_ > 0) AppendDroppedNote();  // no line came after them
    stopping_ = true;
  }
  writer_.join();  // writes what is waiting first
}

void Logger::Write(LogLevel level, std::string_view text) {
  const std::string line = Line(level, text);
  absl::MutexLock lock(&mu_);
  if (waiting_.size() + line.size() > kLogBufferMax) {
    ++dropped_since_;
    ++dropped_total_;
    return;
  }
  if (dropped_since_ > 0) AppendDroppedNote();
  waiting_.append(line);
  appended_ += line.size();
}

void Logger::AppendDroppedNote() {
  const std::string note =
      Line(LogLevel::kWarn, "msg=" + Quoted(std::to_string(dropped_since_) +
                                            " log lines dropped: the log's reader fell behind"));
  waiting_.append(note);
  appended_ += note.size();
  dropped_since_ = 0;
}

void Logger::WriterLoop() {
  std::string taken;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Logger* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !self->waiting_.empty() || self->stopping_;
          },
          this));
      if (waiting_.empty()) return;  // stopping, everything written
      // Then gathers lines for a moment: woken for every line, this thread cost a busy server
      // more than the writes it saved (a switch per call at 1 client; docs/benchmarks.md).
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](Logger* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return self->stopping_ || self->urgent_ ||
                                        self->waiting_.size() >= kLogGatherBytes;
                               },
                               this),
                           kLogGather);
      taken.swap(waiting_);
      urgent_ = false;
    }
    std::fwrite(taken.data(), 1, taken.size(), out_);
    std::fflush(out_);
    absl::MutexLock lock(&mu_);
    written_ += taken.size();
    taken.clear();
  }
}

void Logger::Flush() {
  absl::MutexLock lock(&mu_);
  urgent_ = true;  // no gathering for what is waiting now
  std::pair<Logger*, std::uint64_t> until(this, appended_);
  mu_.Await(absl::Condition(
      +[](std::pair<Logger*, std::uint64_t>* args)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return args->first->written_ >= args->second; },
      &until));
}

std::uint64_t Logger::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_total_;
}

}  // namespace lovebank::service
