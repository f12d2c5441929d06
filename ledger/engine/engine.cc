// The sequencer's state machine: a command in, an outcome out. Apply answers a retry from its
// request record (Replay), else decides it: Decide dispatches over the command oneof to the
// appliers of each rule area (moves.cc, accounts.cc, supermarket.cc, holds.cc, programme.cc,
// volunteers.cc, authority.cc), which ask the rules of ledger/rules/ with the facts or the
// decision context (context.cc) and apply what they decide to the state (state.cc).

#include "ledger/engine/engine_internal.h"

namespace lovebank {

void Engine::BeginBatch(std::size_t expected_commands) {
  LOVEBANK_CHECK(!batch_open_);
  batch_open_ = true;
  Batch& batch = batches_.emplace_back();
  batch.requests.reserve(expected_commands);
  batch.entries.reserve(expected_commands);
  // Room for a transfer's usual records: journal entry, request id, two statement lines.
  auto staged = [&batch](Family family) -> StagedPuts& {
    return batch.staged[static_cast<std::size_t>(family)];
  };
  staged(Family::kJournal).Reserve(expected_commands, 256 * expected_commands);
  staged(Family::kRequests).Reserve(expected_commands, 96 * expected_commands);
  staged(Family::kAccountEntries).Reserve(2 * expected_commands, 128 * expected_commands);
  batch.start_head = head_;
  batch.start_time_unix_us = head_time_unix_us_;
  for (StateTableBase* table : tables_) table->BeginBatch();
}

Outcome Engine::Apply(const v1::Command& command, const std::string& fingerprint,
                      std::string_view serialized) {
  LOVEBANK_CHECK(batch_open_);
  LOVEBANK_DCHECK(CheckCommandSyntax(command).reason == Reason::kOk);
  LOVEBANK_DCHECK(serialized.empty() || serialized == SerializeCommand(command));
  std::optional<Outcome> earlier = Replay(command, fingerprint);
  if (earlier.has_value()) return std::move(*earlier);
  decide_time_ = std::max(clock_(), head_time_unix_us_);
  if (!hold_expiries_.empty() || !pending_expiries_.empty() || !service_expiries_.empty()) {
    ReleaseExpired();
  }
  if (!serialized.empty()) {
    serialized_command_ = &command;
    serialized_ = serialized;
  }
  Outcome outcome = Decide(command, fingerprint);
  serialized_command_ = nullptr;
  serialized_ = {};
  decide_time_.reset();
  // In flight, a request answers as the store will once the batch is durable: accepted or
  // refused for a remembered reason. Any other refusal (a payment code missing or wrong, the
  // ledger unavailable) is judged afresh on a retry — at once, too, while its batch is still in
  // flight (the retry with the right code is not REQUEST_ID_REUSED).
  if (outcome.reason == Reason::kOk || IsRememberedReason(outcome.reason)) {
    std::string key = RequestKey(command.actor(), command.request_id());
    BatchRequest& request = open().requests[key];
    LOVEBANK_CHECK(fingerprint.size() == request.fingerprint.size());
    std::memcpy(request.fingerprint.data(), fingerprint.data(), fingerprint.size());
    request.outcome = outcome;
    if (mark_) mark_->requests.push_back(std::move(key));
  }
  return outcome;
}

Engine::MarkState::MarkState() = default;

std::optional<Outcome> Engine::Replay(const v1::Command& command, const std::string& fingerprint) {
  const std::string& id = command.request_id();
  const std::string key = RequestKey(command.actor(), id);
  auto reused = [&id]() {
    Outcome outcome;
    outcome.reason = Reason::kRequestIdReused;
    outcome.message = Cat("request id ", id, " was used before for other content");
    return outcome;
  };
  for (const Batch& batch : batches_) {
    auto it = batch.requests.find(key);
    if (it == batch.requests.end()) continue;
    if (std::string_view(reinterpret_cast<const char*>(it->second.fingerprint.data()),
                         it->second.fingerprint.size()) != fingerprint) {
      return reused();
    }
    Outcome outcome = it->second.outcome;
    outcome.replayed = true;
    return outcome;
  }
  // Not in flight and never recorded for certain: no need to read the store (nearly every
  // command; a false positive only costs the two reads below).
  if (!request_ids_.MayContain(key)) return std::nullopt;
  auto unavailable = [](const absl::Status& status) {
    Outcome outcome;
    outcome.reason = Reason::kLedgerUnavailable;
    outcome.message = std::string(status.message());
    return outcome;
  };
  auto accepted = store_->Get(Family::kRequests, key);
  if (!accepted.ok()) return unavailable(accepted.status());
  if (accepted->has_value()) {
    auto value = DecodeRequestValue(**accepted);
    if (!value) return unavailable(absl::DataLossError("request record does not decode"));
    if (value->fingerprint != fingerprint) return reused();
    auto receipt = ReadReceipt(*store_, value->seq, [this](const std::string& asset) {
      const AssetState* state = FindAsset(asset);
      return state == nullptr ? 0u : state->scale;
    });
    if (!receipt.ok()) return unavailable(receipt.status());
    Outcome outcome;
    outcome.receipt = std::move(*receipt);
    outcome.decided_at_seq = value->seq;
    outcome.replayed = true;
    return outcome;
  }
  auto refused = store_->Get(Family::kRefusals, key);
  if (!refused.ok()) return unavailable(refused.status());
  if (refused->has_value()) {
    v1::Refusal refusal;
    if (!refusal.ParseFromString(**refused)) {
      return unavailable(absl::DataLossError("refusal record does not decode"));
    }
    if (refusal.fingerprint() != fingerprint) return reused();
    Outcome outcome;
    outcome.reason = static_cast<Reason>(refusal.reason());
    outcome.message = refusal.message();
    outcome.decided_at_seq = refusal.head_seq();
    outcome.replayed = true;
    return outcome;
  }
  return std::nullopt;
}

Outcome Engine::Decide(const v1::Command& command, const std::string& fingerprint) {
  if (auto refused = CheckActor(command, fingerprint)) return std::move(*refused);
  switch (command.body_case()) {
    case v1::Command::kEarn:
      return ApplyMove(command, fingerprint, command.earn(), v1::ACCOUNT_KIND_ISSUER,
                       v1::ACCOUNT_KIND_MEMBER);
    case v1::Command::kDeduct:
      return ApplyMove(command, fingerprint, command.deduct(), v1::ACCOUNT_KIND_MEMBER,
                       v1::ACCOUNT_KIND_ISSUER);
    case v1::Command::kRedeem:
      return ApplyMove(command, fingerprint, command.redeem(), v1::ACCOUNT_KIND_MEMBER,
                       v1::ACCOUNT_KIND_STORE);
    case v1::Command::kTransfer:
      return ApplyTransfer(command, fingerprint);
    case v1::Command::kReverse:
      return ApplyReverse(command, fingerprint);
    case v1::Command::kOpenAccount:
      return ApplyOpenAccount(command, fingerprint);
    case v1::Command::kDefineAsset:
      return ApplyDefineAsset(command, fingerprint);
    case v1::Command::kSetAccountStatus:
      return ApplySetAccountStatus(command, fingerprint);
    case v1::Command::kGrantPrincipal:
      return ApplyGrantPrincipal(command, fingerprint);
    case v1::Command::kRevokePrincipal:
      return ApplyRevokePrincipal(command, fingerprint);
    case v1::Command::kActivatePrincipal:
      return ApplyActivatePrincipal(command, fingerprint);
    case v1::Command::kSetDevicePin:
      return ApplySetDevicePin(command, fingerprint);
    case v1::Command::kReceiveStock:
      return ApplyMove(command, fingerprint, command.receive_stock(), v1::ACCOUNT_KIND_ISSUER,
                       v1::ACCOUNT_KIND_STORE, /*stock=*/true);
    case v1::Command::kWriteOffStock:
      return ApplyMove(command, fingerprint, command.write_off_stock(), v1::ACCOUNT_KIND_STORE,
                       v1::ACCOUNT_KIND_ISSUER, /*stock=*/true);
    case v1::Command::kSettle:
      return ApplyMove(command, fingerprint, command.settle(), v1::ACCOUNT_KIND_STORE,
                       v1::ACCOUNT_KIND_ISSUER);
    case v1::Command::kCheckout:
      return ApplyCheckout(command, fingerprint);
    case v1::Command::kRefund:
      return ApplyRefund(command, fingerprint);
    case v1::Command::kSetItem:
      return ApplySetItem(command, fingerprint);
    case v1::Command::kSetExchangeRatio:
      return ApplySetExchangeRatio(command, fingerprint);
    case v1::Command::kSetLimit:
      return ApplySetLimit(command, fingerprint);
    case v1::Command::kSetHousehold:
      return ApplySetHousehold(command, fingerprint);
    case v1::Command::kAuthorizeHold:
      return ApplyAuthorizeHold(command, fingerprint);
    case v1::Command::kCaptureHold:
      return ApplyCaptureHold(command, fingerprint);
    case v1::Command::kVoidHold:
      return ApplyVoidHold(command, fingerprint);
    case v1::Command::kSetStarLevels:
      return ApplySetStarLevels(command, fingerprint);
    case v1::Command::kSetHoursCap:
      return ApplySetHoursCap(command, fingerprint);
    case v1::Command::kSetDailyHoursCap:
      return ApplySetDailyHoursCap(command, fingerprint);
    case v1::Command::kSetAccountTags:
      return ApplySetAccountTags(command, fingerprint);
    case v1::Command::kSetFamily:
      return ApplySetFamily(command, fingerprint);
    case v1::Command::kSetAccountContact:
      return ApplySetAccountContact(command, fingerprint);
    case v1::Command::kSetBudget:
      return ApplySetBudget(command, fingerprint);
    case v1::Command::kSetTransferPolicy:
      return ApplySetTransferPolicy(command, fingerprint);
    case v1::Command::kSetAwardRule:
      return ApplySetAwardRule(command, fingerprint);
    case v1::Command::kAward:
      return ApplyAward(command, fingerprint);
    case v1::Command::kSetApprovalThreshold:
      return ApplySetApprovalThreshold(command, fingerprint);
    case v1::Command::kApprove:
      return ApplyApprove(command, fingerprint);
    case v1::Command::kReject:
      return ApplyReject(command, fingerprint);
    case v1::Command::kSetSetting:
      return ApplySetSetting(command, fingerprint);
    case v1::Command::kCosignHead:
      return ApplyCosignHead(command, fingerprint);
    case v1::Command::kPostService:
      return ApplyPostService(command, fingerprint);
    case v1::Command::kAcceptService:
    case v1::Command::kCompleteService:
    case v1::Command::kConfirmService:
    case v1::Command::kCancelService:
    case v1::Command::kDisputeService:
    case v1::Command::kResolveService:
      return ApplyServiceStep(command, fingerprint);
    case v1::Command::kReleaseHold:
    case v1::Command::kExpirePending:
    case v1::Command::kExpireService:
      break;  // written by ReleaseExpired only; Ledger::Submit refuses them from clients
    case v1::Command::BODY_NOT_SET:
      break;
  }
  LOVEBANK_CHECK(
      false &&
      "no command without a body, ReleaseHold, ExpirePending or ExpireService reaches Decide");
  return {};
}

Outcome Engine::Refuse(const v1::Command& command, const std::string& fingerprint, Reason reason,
                       std::string message) {
  LOVEBANK_DCHECK(reason != Reason::kOk);
  Outcome outcome;
  outcome.reason = reason;
  outcome.message = std::move(message);
  outcome.decided_at_seq = head_.seq;
  RememberRefusal(command, fingerprint, outcome);
  return outcome;
}

void Engine::RememberRefusal(const v1::Command& command, const std::string& fingerprint,
                             const Outcome& outcome) {
  if (!IsRememberedReason(outcome.reason)) return;
  v1::Refusal refusal;
  refusal.set_fingerprint(fingerprint);
  refusal.set_reason(static_cast<std::uint32_t>(outcome.reason));
  refusal.set_message(outcome.message);
  refusal.set_head_seq(outcome.decided_at_seq);
  Stage(Family::kRefusals, RequestKey(command.actor(), command.request_id()),
        refusal.SerializeAsString());
}

std::int64_t Engine::NextEntryTime() const {
  return std::max(decide_time_ ? *decide_time_ : clock_(), head_time_unix_us_);
}

std::string Engine::Decimal(const Int128& minor, const std::string& asset) const {
  const AssetState* state = FindAsset(asset);
  return FormatAmount(Amount::FromMinor(minor), state == nullptr ? 0 : state->scale);
}

absl::StatusOr<Receipt> ReadReceipt(
    Store& store, std::uint64_t seq,
    const std::function<std::uint32_t(const std::string&)>& scale_of,
    const rocksdb::Snapshot* snapshot) {
  LOVEBANK_ASSIGN_OR_RETURN(auto stored,
                            store.Get(Family::kJournal, EncodeFixed64BE(seq), snapshot));
  if (!stored.has_value()) return absl::DataLossError(Cat("journal entry ", seq, " is missing"));
  auto view = DecodeStoredEntry(*stored);
  v1::Entry entry;
  if (!view ||
      !entry.ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size()))) {
    return absl::DataLossError(Cat("journal entry ", seq, " does not decode"));
  }
  Receipt receipt;
  receipt.seq = seq;
  receipt.hash = view->hash;
  receipt.time_unix_us = entry.time_unix_us();
  if (entry.has_pricing()) receipt.pricing = std::make_shared<const v1::Pricing>(entry.pricing());
  receipt.to_pool_minor = ToPool(entry.command(), PostingTexts(entry));
  FillPendingAndAward(entry.command(), entry.postings_size(), entry.time_unix_us(),
                      entry.has_award() ? &entry.award() : nullptr,
                      entry.has_award() ? scale_of(entry.award().asset()) : 0, &receipt);
  if (entry.command().has_authorize_hold()) {
    receipt.hold_expires_unix_us =
        HoldExpiresAt(entry.time_unix_us(), entry.command().authorize_hold().timeout_seconds());
  }
  for (const auto& posting : entry.postings()) {
    LOVEBANK_ASSIGN_OR_RETURN(
        auto line_bytes,
        store.Get(Family::kAccountEntries, AccountEntryKey(posting.account(), seq), snapshot));
    v1::StatementLine line;
    if (!line_bytes.has_value() || !line.ParseFromString(*line_bytes)) {
      return absl::DataLossError(
          Cat("statement line ", posting.account(), "@", seq, " is missing"));
    }
    for (const auto& leg : line.legs()) {
      if (leg.asset() != posting.asset()) continue;
      auto minor = MinorFromString(leg.balance_after_minor());
      if (!minor) return absl::DataLossError("statement balance does not decode");
      receipt.balances_after.push_back(
          BalanceLine{posting.account(), posting.asset(), Amount::FromMinor(*minor),
                      FormatAmount(Amount::FromMinor(*minor), scale_of(posting.asset())), seq});
    }
  }
  return receipt;
}

}  // namespace lovebank
