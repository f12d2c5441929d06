#pragma once
// How an audit report is shown: a progress line on a terminal, the human summary and the JSON
// report. Shared by lovebank-audit and `lovebank audit` (#5), so both print the same thing.

#include <chrono>
#include <string>

#include "ledger/audit/audit.h"
#include "nlohmann/json.hpp"

namespace lovebank::audit {

// "\r  audited 524288 / 1048576 entries (50 %, 812000/s, about 1 s left)" on stderr when it is a
// terminal, after the first second; Finish ends the line on the final count ("... 100 %, in
// 1.3 s"). `total` 0: unknown (no percentage). `what`: "audited" and "entries", "imported" and
// "rows". Not thread-safe; call from the progress callback.
class Progress {
 public:
  explicit Progress(std::uint64_t total = 0, std::string verb = "audited",
                    std::string unit = "entries");
  void Update(std::uint64_t done);
  void Finish(std::uint64_t done);
  // Ends the line if anything was shown and Finish was not called.
  ~Progress();

  // The line for `done` of `total` after `seconds` (tests).
  static std::string Line(std::string_view verb, std::string_view unit, std::uint64_t done,
                          std::uint64_t total, double seconds, bool finished);

 private:
  bool enabled_;
  bool shown_ = false;
  std::uint64_t total_;
  std::string verb_;
  std::string unit_;
  std::chrono::steady_clock::time_point start_;
};

nlohmann::json ToJson(const Report& report);
// The human summary on stdout; `what` names the audited ledger ("var/ledger/db", "server ...").
void PrintHuman(const Report& report, const std::string& what);

}  // namespace lovebank::audit
