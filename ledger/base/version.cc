#include "ledger/base/version.h"

#include "lovebank_commit.h"

namespace lovebank {

std::string_view Version() { return LOVEBANK_VERSION; }

std::string VersionText(std::string_view program) {
  std::string text(program);
  text.append(" ").append(LOVEBANK_VERSION).append(" (commit ").append(LOVEBANK_COMMIT);
  text.append(", ").append(*LOVEBANK_BUILD_TYPE == '\0' ? "no build type" : LOVEBANK_BUILD_TYPE);
  return text.append(")");
}

}  // namespace lovebank
