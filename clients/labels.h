#pragma once
// Names beside codes for people (issue #28): the lovebank CLI's statements, balances and receipts
// say "南溪镇爱心超市 (store:main)" and "东北大米 5kg (RICE_5KG)" where the ledger keeps codes.

#include <map>
#include <optional>
#include <string>

#include "clients/cli.h"

namespace lovebank::cli {

// What a person reads beside a code: a store's or rule's name from the programme profile, else a
// store's account name; an item's name from the store's catalogue. Each read once, on first
// need, and only what every principal may read (ListSettings, ListItems, and GetAccount where
// the token may); a code nothing names stays as it is.
class Labels {
 public:
  // A name is a nicety: a slow server costs a receipt or statement at most this per lookup.
  static constexpr double kLabelSeconds = 2;

  explicit Labels(Session& session) : session_(session) {}

  // "河头店镇爱心超市 (store:main)", or the id alone.
  std::string Account(const std::string& id);
  // "东北大米 5kg (RICE_5KG)" from `store`'s catalogue, or the SKU alone.
  std::string Item(const std::string& store, const std::string& sku);
  // A receipt's first line: "南溪镇爱心银行 · 南溪镇爱心超市 (store:main)" — the programme as its
  // profile names it (when set) and the store.
  std::string Shop(const std::string& store);
  // An award rule's display name from the profile, else the code.
  std::string Rule(const std::string& code);

 private:
  std::string ProfileName(const std::string& id);

  Session& session_;
  std::optional<v1::ProgrammeProfile> profile_;
  std::map<std::string, std::string> accounts_;
  std::map<std::string, std::map<std::string, std::string>> items_;
};

}  // namespace lovebank::cli
