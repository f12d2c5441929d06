#pragma once
// The rules of programme settings (journal.proto SettingValue): what each setting must be beyond
// the syntax every setting obeys (ledger/format/syntax.cc CheckSetSetting). Free functions over
// the few facts they consult; the engine decides them in the sequencer, on the state it commits
// on. The audit has its own (ledger/audit/rules_settings.cc) and shares none of this.
//
// A new setting: a field of SettingValue (journal.proto), its case in DecideSetting here, its
// case in the audit's ExpectSetting, and its tests. Both switches are exhaustive: a field without
// a rule does not compile (-Werror=switch).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "ledger/rules/rule.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank::rules {

// What a setting's rule may consult: the state as the sequencer decides on it.
struct SettingFacts {
  std::function<const v1::AssetRecord*(const std::string& code)> asset;
  std::function<const v1::AccountRecord*(const std::string& account)> account;
  // For the signing key: the ledger's id (16 bytes) and the key in force (32 raw bytes; empty
  // before the first change: the key the ledger was created with is not journaled).
  std::string ledger_id;
  std::string signing_key;
};

// The value a SetSetting entry stores (the one asked, or its canonical form), or why it is
// refused. REQUIRES: the command passed CheckCommandSyntax (a setting is named).
std::variant<v1::SettingValue, Refusal> DecideSetting(const v1::SettingValue& asked,
                                                      const SettingFacts& facts);

// A witness's co-signature (CosignHead, past its syntax) by principal `witness`, decided on the
// ledger of `ledger_id` whose entry `next_seq` it would be: a head at most kCosignLagMax entries
// behind the head (next_seq - 1)
// (COSIGN_HEAD_STALE) and not past the head (TREE_SIZE_INVALID), signed by the witness key
// (COSIGNATURE_INVALID). That root and time are the ledger's is lovebankd's check (its tree runs
// behind the sequencer) and the audit's.
std::optional<Refusal> CheckCosign(const v1::CosignHead& cosign, std::string_view witness,
                                   std::string_view ledger_id, std::uint64_t next_seq);

}  // namespace lovebank::rules
