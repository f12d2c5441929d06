// Authority decided by the sequencer (DESIGN.md invariant 8): the engine's side of
// ledger/rules/authority.h — the actor's grant from the principals table, the refusal journaled.

#include "ledger/rules/authority.h"

#include "ledger/engine/engine.h"

namespace lovebank {

const v1::PrincipalRecord* Engine::ActorPrincipal(const v1::Command& command) const {
  return principals_.Find(command.actor());
}

std::optional<Outcome> Engine::CheckActor(const v1::Command& command,
                                          const std::string& fingerprint) {
  auto refused = rules::CheckActor(command.actor(), ActorPrincipal(command));
  if (!refused) return std::nullopt;
  return RefuseWith(command, fingerprint, std::move(*refused));
}

std::optional<Outcome> Engine::CheckConsent(const v1::Command& command,
                                            const std::string& fingerprint,
                                            const std::string& member,
                                            const v1::PaymentConsent& consent, std::int64_t time) {
  const auto policy =
      Setting<v1::SettingRecord>(std::string(meta_key::kSettingPrefix) + "payment_code_required");
  const bool required = policy && policy->value().payment_code_required();
  auto refused =
      rules::CheckConsent(required, member, consent, principals_.Find(consent.device()), time);
  if (!refused) return std::nullopt;
  return RefuseWith(command, fingerprint, std::move(*refused));
}

void Engine::SpendConsent(const v1::PaymentConsent& consent) {
  if (consent.device().empty()) return;
  v1::PrincipalRecord device = *principals_.Find(consent.device());
  device.set_last_consent_counter(consent.counter());
  principals_.Set(consent.device(), std::move(device));
}

std::optional<Outcome> Engine::CheckMayUndo(const v1::Command& command,
                                            const std::string& fingerprint, std::uint64_t target,
                                            const BatchEntry& entry) {
  auto refused = rules::CheckMayUndo(command.actor(), ActorPrincipal(command), command.has_refund(),
                                     target, entry.kind, entry.postings);
  if (!refused) return std::nullopt;
  return RefuseWith(command, fingerprint, std::move(*refused));
}

}  // namespace lovebank
