#pragma once
// The rules of programme settings (journal.proto SettingValue): what each setting must be beyond
// the syntax every setting obeys (ledger/format/syntax.cc CheckSetSetting). Free functions over
// the few facts they consult; the engine decides them in the sequencer, on the state it commits
// on. The audit has its own (ledger/audit/rules_settings.cc) and shares none of this.
//
// A new setting: a field of SettingValue (journal.proto), its case in DecideSetting here, its
// case in the audit's ExpectSetting, and its tests. Both switches are exhaustive: a field without
// a rule does not compile (-Werror=switch).

#include <functional>
#include <string>
#include <variant>

#include "ledger/rules/rule.h"
#include "lovebank/v1/store.pb.h"

namespace lovebank::rules {

// What a setting's rule may consult: the state as the sequencer decides on it.
struct SettingFacts {
  std::function<const v1::AssetRecord*(const std::string& code)> asset;
  std::function<const v1::AccountRecord*(const std::string& account)> account;
};

// The value a SetSetting entry stores (the one asked, or its canonical form), or why it is
// refused. REQUIRES: the command passed CheckCommandSyntax (a setting is named).
std::variant<v1::SettingValue, Refusal> DecideSetting(const v1::SettingValue& asked,
                                                      const SettingFacts& facts);

}  // namespace lovebank::rules
