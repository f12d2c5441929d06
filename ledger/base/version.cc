#include "ledger/base/version.h"

namespace lovebank {

std::string_view Version() { return LOVEBANK_VERSION; }

}  // namespace lovebank
