// libFuzzer target (issue #8 item 4): request validation of every RPC that changes the ledger.
// The first byte picks the request message, the rest is its wire bytes (as gRPC would hand them
// to the handler). For whatever parses: the service's conversion (ToCommand) and the ledger's
// syntax check (CheckCommandSyntax) never crash; a command that passes both has a stable
// fingerprint and survives a serialize/parse round trip; and a passing command's text is UTF-8.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "ledger/base/check.h"
#include "ledger/base/text.h"
#include "ledger/format/journal_format.h"
#include "ledger/ledger.h"
#include "service/convert.h"

namespace {

using lovebank::service::Converted;
using lovebank::service::ToCommand;
namespace v1 = lovebank::v1;

template <typename Request>
std::function<Converted(std::string_view)> Converter() {
  return [](std::string_view bytes) -> Converted {
    Request request;
    if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      Converted refused;
      refused.reason = lovebank::Reason::kCommandMissing;
      return refused;
    }
    return ToCommand(request, "fuzz");
  };
}

const std::vector<std::function<Converted(std::string_view)>>& Converters() {
  static const auto* converters = new std::vector<std::function<Converted(std::string_view)>>{
      Converter<v1::EarnRequest>(),
      Converter<v1::DeductRequest>(),
      Converter<v1::RedeemRequest>(),
      Converter<v1::TransferRequest>(),
      Converter<v1::OpenAccountRequest>(),
      Converter<v1::SetAccountStatusRequest>(),
      Converter<v1::RevokePrincipalRequest>(),
      [](std::string_view bytes) {
        v1::CreatePrincipalRequest request;
        request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
        return ToCommand(request, "fuzz", std::string(32, 'h'));
      },
      [](std::string_view bytes) {
        v1::ReverseRequest request;
        request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
        return ToCommand(request, "fuzz", request.seq());
      },
      Converter<v1::SetItemRequest>(),
      [](std::string_view bytes) {
        v1::StockRequest request;
        request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
        return ToCommand(request, "fuzz", bytes.size() % 2 == 0);
      },
      Converter<v1::CheckoutRequest>(),
      Converter<v1::RefundRequest>(),
      Converter<v1::AuthorizeHoldRequest>(),
      Converter<v1::CaptureHoldRequest>(),
      Converter<v1::VoidHoldRequest>(),
      Converter<v1::SetStarLevelsRequest>(),
      Converter<v1::SetHoursCapRequest>(),
      Converter<v1::SetDailyHoursCapRequest>(),
      Converter<v1::SetExchangeRatioRequest>(),
      Converter<v1::SettleRequest>(),
      Converter<v1::SetLimitRequest>(),
      Converter<v1::SetHouseholdRequest>(),
      Converter<v1::SetAccountTagsRequest>(),
      Converter<v1::SetFamilyRequest>(),
      Converter<v1::SetTransferPolicyRequest>(),
      Converter<v1::SetAwardRuleRequest>(),
      Converter<v1::SetSettingRequest>(),
      Converter<v1::AwardRequest>(),
      Converter<v1::SetApprovalThresholdRequest>(),
      Converter<v1::ApproveRequest>(),
      Converter<v1::RejectRequest>(),
      Converter<v1::SetAccountContactRequest>(),
      Converter<v1::SetBudgetRequest>(),
  };
  return *converters;
}

}  // namespace

// Protobuf logs every string field with invalid UTF-8 it is asked to parse: millions of lines.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& converters = Converters();
  const Converted converted = converters[data[0] % converters.size()](
      std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  if (!converted.ok()) return 0;
  const lovebank::SyntaxCheck syntax = lovebank::CheckCommandSyntax(converted.command);
  if (syntax.reason != lovebank::Reason::kOk) {
    LOVEBANK_CHECK(!syntax.message.empty());
    return 0;
  }
  const std::string fingerprint = lovebank::CommandFingerprint(converted.command);
  LOVEBANK_CHECK(fingerprint == lovebank::CommandFingerprint(converted.command));
  v1::Command parsed;
  LOVEBANK_CHECK(parsed.ParseFromString(converted.command.SerializeAsString()));
  LOVEBANK_CHECK(lovebank::CommandFingerprint(parsed) == fingerprint);
  LOVEBANK_CHECK(lovebank::IsValidUtf8(converted.command.memo()));
  return 0;
}
