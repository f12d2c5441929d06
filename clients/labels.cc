// Names beside codes (clients/labels.h).

#include "clients/labels.h"

namespace lovebank::cli {

std::string Labels::Account(const std::string& id) {
  auto [it, inserted] = accounts_.try_emplace(id);
  if (inserted) {
    it->second = ProfileName(id);
    v1::GetAccountRequest request;
    request.set_account(id);
    v1::AccountRecord record;
    if (it->second.empty() &&
        session_.ledger()
            .GetAccount(session_.Context(kLabelSeconds).get(), request, &record)
            .ok()) {
      it->second = record.display_name();
    }
  }
  return it->second.empty() ? id : it->second + " (" + id + ")";
}

std::string Labels::Item(const std::string& store, const std::string& sku) {
  auto [catalogue, inserted] = items_.try_emplace(store);
  if (inserted) {
    v1::ListItemsRequest request;
    request.set_store(store);
    v1::ListItemsResponse response;
    if (session_.supermarket()
            .ListItems(session_.Context(kLabelSeconds).get(), request, &response)
            .ok()) {
      for (const auto& item : response.items()) catalogue->second[item.sku()] = item.name();
    }
  }
  auto it = catalogue->second.find(sku);
  return it == catalogue->second.end() ? sku : it->second + " (" + sku + ")";
}

std::string Labels::Shop(const std::string& store) {
  const std::string shop = Account(store);  // reads the profile first
  return profile_->name().empty() ? shop : profile_->name() + " · " + shop;
}

std::string Labels::Rule(const std::string& code) {
  const std::string name = ProfileName(code);
  return name.empty() ? code : name + " (" + code + ")";
}

std::string Labels::ProfileName(const std::string& id) {
  if (!profile_) {
    profile_.emplace();
    v1::ListSettingsResponse settings;
    if (session_.programme()
            .ListSettings(session_.Context(kLabelSeconds).get(), {}, &settings)
            .ok()) {
      for (const auto& record : settings.settings()) {
        if (record.value().has_programme_profile()) *profile_ = record.value().programme_profile();
      }
    }
  }
  for (const auto& named : profile_->display_names()) {
    if (named.id() == id) return named.name();
  }
  return "";
}

}  // namespace lovebank::cli
