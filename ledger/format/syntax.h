#pragma once
// The rules of a command that need no ledger state (ledger/format/syntax.cc): identifiers, text,
// amount grammar, enums. Shared by the engine (before a command is queued) and the audit (each
// replayed entry), which is why it belongs to the format.

#include <cstddef>
#include <string>
#include <string_view>

#include "ledger/format/reason.h"
#include "lovebank/v1/journal.pb.h"

namespace lovebank {

// Accounts one ISSUER principal may act for (a township office running several programmes).
// An activation code's life (GrantPrincipal.activation_ttl_seconds): 1 minute to 30 days.
inline constexpr std::uint32_t kActivationTtlSecondsMin = 60;
inline constexpr std::uint32_t kActivationTtlSecondsMax = 30 * 24 * 3600;
inline constexpr std::size_t kRoleAccountsMax = 64;

// Checks everything about a command that needs no ledger state (identifiers, text, amount
// grammar, enums). Returns kOk or the first refusal with a message. Pure; thread-safe.
struct SyntaxCheck {
  Reason reason = Reason::kOk;
  std::string message;
};
SyntaxCheck CheckCommandSyntax(const v1::Command& command);

// How the counter finds a member (issue #24 item 4). A card number is 4-32 of [0-9A-Z]; a phone
// an optional "+" and 5-20 ASCII digits. Empty is "none" for both (kOk).
inline constexpr std::size_t kCardNumberBytesMin = 4;
inline constexpr std::size_t kCardNumberBytesMax = 32;
inline constexpr std::size_t kPhoneDigitsMin = 5;
inline constexpr std::size_t kPhoneDigitsMax = 20;
SyntaxCheck CheckContact(std::string_view card_number, std::string_view phone);

}  // namespace lovebank
