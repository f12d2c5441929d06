#pragma once
// What every rule in ledger/rules/ shares: the facts of an asset it reads, and the answer of a
// rule that refuses (the reason and the message the engine journals as the refusal,
// ledger/engine/engine.h Refuse). A rule returns its decision or a Refusal; none reaches into the
// engine, so each can be read, and tested, on its own.

#include <cstdint>
#include <string>

#include "ledger/format/amount.h"
#include "ledger/format/reason.h"

namespace lovebank::rules {

struct Refusal {
  Reason reason = Reason::kOk;
  std::string message;
};

// An asset as a rule reads it: its scale and maximum balance in minor units.
struct AssetFacts {
  std::uint32_t scale = 0;
  Int128 maximum_minor = 0;
};

}  // namespace lovebank::rules
