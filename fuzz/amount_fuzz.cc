// libFuzzer target (issue #8 item 4): the amount parser. For any bytes and scales 0, 2 and 18:
// ParseAmount never crashes; its grammar refusals are CheckAmountGrammar's; an accepted amount is
// non-negative, within the maximum, and formats back to text that parses to the same amount (and
// to the input itself when the input had exactly `scale` decimals).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ledger/base/check.h"
#include "ledger/format/amount.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lovebank;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Reason grammar = CheckAmountGrammar(text);
  for (const std::uint32_t scale : {0u, 2u, 18u}) {
    const Int128 maximum = MinorAbsoluteMax();
    const AmountParse parsed = ParseAmount(text, scale, maximum);
    if (grammar != Reason::kOk) {
      LOVEBANK_CHECK(parsed.reason == grammar);
      continue;
    }
    if (!parsed.ok()) {
      LOVEBANK_CHECK(parsed.reason == Reason::kAmountTooManyDecimals ||
                     parsed.reason == Reason::kAmountAboveMaximum);
      continue;
    }
    LOVEBANK_CHECK(parsed.amount.minor() >= 0 && parsed.amount.minor() <= maximum);
    const std::string formatted = FormatAmount(parsed.amount, scale);
    const AmountParse again = ParseAmount(formatted, scale, maximum);
    LOVEBANK_CHECK(again.ok() && again.amount.minor() == parsed.amount.minor());
    const std::size_t dot = text.find('.');
    const std::size_t decimals = dot == std::string_view::npos ? 0 : text.size() - dot - 1;
    if (decimals == scale) LOVEBANK_CHECK(formatted == text);
  }
  return 0;
}
