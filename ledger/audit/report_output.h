#pragma once
// How an audit report is shown: a progress line on a terminal, the human summary and the JSON
// report. Shared by lovebank-audit and `lovebank audit` (#5), so both print the same thing.

#include <chrono>
#include <string>

#include "ledger/audit/audit.h"
#include "nlohmann/json.hpp"

namespace lovebank::audit {

// "\r  audited 1,048,576 entries (812,000 entries/s)" on stderr when it is a terminal, after the
// first second. Not thread-safe; call from the progress callback.
class Progress {
 public:
  Progress();
  void Update(std::uint64_t entries);
  // Ends the line if anything was shown.
  ~Progress();

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_;
};

nlohmann::json ToJson(const Report& report);
// The human summary on stdout; `what` names the audited ledger ("var/ledger/db", "server ...").
void PrintHuman(const Report& report, const std::string& what);

}  // namespace lovebank::audit
