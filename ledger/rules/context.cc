#include "ledger/rules/context.h"

namespace lovebank::rules {

std::string Context::Decimal(const Int128& minor, const std::string& asset) const {
  const AssetState* state = FindAsset(asset);
  return FormatAmount(Amount::FromMinor(minor), state == nullptr ? 0 : state->scale);
}

}  // namespace lovebank::rules
