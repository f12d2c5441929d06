#include "service/convert.h"

#include "google/rpc/status.pb.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/journal_format.h"

namespace lovebank::service {
namespace {

void Refuse(Converted& converted, Reason reason, std::string message) {
  converted.reason = reason;
  converted.message = std::move(message);
}

Converted Base(std::string_view request_id, std::string_view actor, std::string_view memo) {
  Converted converted;
  converted.command.set_request_id(std::string(request_id));
  converted.command.set_actor(std::string(actor));
  converted.command.set_memo(std::string(memo));
  return converted;
}

template <class Request>
void SetMove(const Request& request, std::string_view from, std::string_view to, v1::Move* move) {
  move->set_from(std::string(from));
  move->set_to(std::string(to));
  move->set_asset(request.asset());
  move->set_amount(request.amount());
}

// The asset whose movements are hours of service (issue #4: Earn of HOURS names its activity).
constexpr std::string_view kHours = "HOURS";

}  // namespace

Converted ToCommand(const v1::EarnRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::Move* move = converted.command.mutable_earn();
  SetMove(request, request.issuer(), request.member(), move);
  if (request.has_activity()) *move->mutable_activity() = request.activity();
  move->set_reason(request.reason());
  if (request.asset() == kHours && !request.has_activity()) {
    Refuse(converted, Reason::kActivityMissing, "Earn of HOURS names the activity served");
  } else if (request.asset() != kHours && request.reason().empty()) {
    Refuse(converted, Reason::kMoveReasonMissing,
           Cat("Earn of ", request.asset(), " needs a reason"));
  }
  return converted;
}

Converted ToCommand(const v1::DeductRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::Move* move = converted.command.mutable_deduct();
  SetMove(request, request.member(), request.issuer(), move);
  move->set_reason(request.reason());
  if (request.reason().empty())
    Refuse(converted, Reason::kMoveReasonMissing, "Deduct needs a reason");
  return converted;
}

Converted ToCommand(const v1::RedeemRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  SetMove(request, request.member(), request.store(), converted.command.mutable_redeem());
  converted.payment_code = request.payment_code();
  return converted;
}

Converted ToCommand(const v1::TransferRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  SetMove(request, request.from(), request.to(), converted.command.mutable_transfer());
  converted.payment_code = request.payment_code();
  return converted;
}

Converted ToCommand(const v1::OpenAccountRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::OpenAccount* open = converted.command.mutable_open_account();
  open->set_account(request.account());
  open->set_kind(request.kind());
  open->set_display_name(request.display_name());
  *open->mutable_budgets() = request.budgets();
  *open->mutable_tags() = request.tags();
  open->set_card_number(request.card_number());
  open->set_phone(request.phone());
  return converted;
}

Converted ToCommand(const v1::SetAccountContactRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::SetAccountContact* set = converted.command.mutable_set_account_contact();
  set->set_account(request.account());
  set->set_card_number(request.card_number());
  set->set_phone(request.phone());
  return converted;
}

Converted ToCommand(const v1::SetBudgetRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::SetBudget* set = converted.command.mutable_set_budget();
  set->set_account(request.account());
  set->mutable_budget()->set_asset(request.asset());
  set->mutable_budget()->set_amount(request.amount());
  return converted;
}

Converted ToCommand(const v1::SetAccountStatusRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_set_account_status()->set_account(request.account());
  converted.command.mutable_set_account_status()->set_status(request.status());
  return converted;
}

Converted ToCommand(const v1::RevokePrincipalRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_revoke_principal()->set_principal(request.principal());
  return converted;
}

Converted ToCommand(const v1::SetDevicePinRequest& request, std::string_view actor,
                    const PaymentKey& keys) {
  Converted converted = Base(request.request_id(), actor, "");
  v1::SetDevicePin* set = converted.command.mutable_set_device_pin();
  set->set_principal(request.principal().empty() ? std::string(actor) : request.principal());
  converted.payment_code = request.payment_code();
  if (request.pin_code_key().empty()) return converted;  // clears the PIN
  auto key = FromHex(request.pin_code_key());
  if (!key || key->size() != 32) {
    Refuse(converted, Reason::kDevicePinInvalid,
           "pin_code_key: 64 hex digits, HMAC-SHA256(payment secret, \"lovebank pin v1\" ‖ PIN)");
    return converted;
  }
  auto nonce = NewPinNonce();
  if (!nonce.ok()) {
    Refuse(converted, Reason::kLedgerUnavailable, std::string(nonce.status().message()));
    return converted;
  }
  set->set_pin_key_wrapped(keys.WrapPin(set->principal(), *nonce, *key));
  set->set_wrap_nonce(*nonce);
  return converted;
}

Converted ToCommand(const v1::CreatePrincipalRequest& request, std::string_view actor,
                    std::string token_sha256) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::GrantPrincipal* grant = converted.command.mutable_grant_principal();
  grant->set_principal(request.principal());
  grant->set_role(request.role());
  *grant->mutable_accounts() = request.accounts();
  grant->set_token_sha256(std::move(token_sha256));
  grant->set_display_name(request.display_name());
  return converted;
}

Converted ToCommand(const v1::ReverseRequest& request, std::string_view actor, std::uint64_t seq) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_reverse()->set_seq(seq);
  return converted;
}

Converted ToCommand(const v1::SetItemRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::SetItem* set = converted.command.mutable_set_item();
  set->set_store(request.store());
  set->set_sku(request.sku());
  set->set_name(request.name());
  set->set_unit(request.unit());
  set->set_price(request.price());
  set->set_active(request.active());
  return converted;
}

Converted ToCommand(const v1::StockRequest& request, std::string_view actor, bool receive) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::Move* move = receive ? converted.command.mutable_receive_stock()
                           : converted.command.mutable_write_off_stock();
  move->set_from(receive ? request.issuer() : request.store());
  move->set_to(receive ? request.store() : request.issuer());
  move->set_asset(request.sku());
  move->set_amount(request.quantity());
  move->set_reason(request.reason());
  return converted;
}

Converted ToCommand(const v1::CheckoutRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::Checkout* checkout = converted.command.mutable_checkout();
  checkout->set_member(request.member());
  checkout->set_store(request.store());
  *checkout->mutable_lines() = request.lines();
  checkout->set_pay_asset(request.pay_asset().empty() ? "POINTS" : request.pay_asset());
  converted.payment_code = request.payment_code();
  return converted;
}

Converted ToCommand(const v1::RefundRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_refund()->set_checkout_seq(request.checkout_seq());
  *converted.command.mutable_refund()->mutable_lines() = request.lines();
  return converted;
}

Converted ToCommand(const v1::AuthorizeHoldRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::AuthorizeHold* hold = converted.command.mutable_authorize_hold();
  hold->set_member(request.member());
  hold->set_store(request.store());
  *hold->mutable_lines() = request.lines();
  hold->set_pay_asset(request.pay_asset().empty() ? "POINTS" : request.pay_asset());
  hold->set_timeout_seconds(request.timeout_seconds());
  converted.payment_code = request.payment_code();
  return converted;
}

Converted ToCommand(const v1::CaptureHoldRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::CaptureHold* capture = converted.command.mutable_capture_hold();
  capture->set_hold_seq(request.hold_seq());
  capture->set_store(request.store());
  *capture->mutable_lines() = request.lines();
  return converted;
}

Converted ToCommand(const v1::VoidHoldRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_void_hold()->set_hold_seq(request.hold_seq());
  converted.command.mutable_void_hold()->set_store(request.store());
  return converted;
}

Converted ToCommand(const v1::PostServiceRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  *converted.command.mutable_post_service() = request.service();
  return converted;
}

Converted ToCommand(const v1::ServiceStepRequest& request, std::string_view actor,
                    ServiceStep step) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::Command& c = converted.command;
  const std::uint64_t seq = request.service_seq();
  switch (step) {
    case ServiceStep::kAccept:
    case ServiceStep::kAssign:
      c.mutable_accept_service()->set_service_seq(seq);
      c.mutable_accept_service()->set_provider(request.provider());
      break;
    case ServiceStep::kComplete:
      c.mutable_complete_service()->set_service_seq(seq);
      c.mutable_complete_service()->set_hours(request.hours());
      break;
    case ServiceStep::kConfirm:
      c.mutable_confirm_service()->set_service_seq(seq);
      c.mutable_confirm_service()->set_hours(request.hours());
      converted.payment_code = request.payment_code();
      break;
    case ServiceStep::kCancel:
      c.mutable_cancel_service()->set_service_seq(seq);
      c.mutable_cancel_service()->set_reason(request.reason());
      break;
    case ServiceStep::kDispute:
      c.mutable_dispute_service()->set_service_seq(seq);
      c.mutable_dispute_service()->set_reason(request.reason());
      break;
    case ServiceStep::kResolve:
      c.mutable_resolve_service()->set_service_seq(seq);
      c.mutable_resolve_service()->set_hours(request.hours());
      c.mutable_resolve_service()->set_reason(request.reason());
      break;
  }
  return converted;
}

Converted ToCommand(const v1::SetStarLevelsRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  *converted.command.mutable_set_star_levels()->mutable_thresholds() = request.thresholds();
  return converted;
}

Converted ToCommand(const v1::SetHoursCapRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_set_hours_cap()->set_maximum(request.maximum());
  converted.command.mutable_set_hours_cap()->set_pool_account(request.pool_account());
  return converted;
}

Converted ToCommand(const v1::SetDailyHoursCapRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_set_daily_hours_cap()->set_maximum(request.maximum());
  return converted;
}

Converted ToCommand(const v1::SetExchangeRatioRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_set_exchange_ratio()->set_points_per_hour(request.points_per_hour());
  converted.command.mutable_set_exchange_ratio()->set_exchange_account(request.exchange_account());
  return converted;
}

Converted ToCommand(const v1::SettleRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  SetMove(request, request.store(), request.issuer(), converted.command.mutable_settle());
  return converted;
}

Converted ToCommand(const v1::SetLimitRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::SetLimit* set = converted.command.mutable_set_limit();
  set->set_sku(request.sku());
  set->set_period(request.period());
  set->set_maximum(request.maximum());
  return converted;
}

Converted ToCommand(const v1::SetHouseholdRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_set_household()->set_household(request.household());
  *converted.command.mutable_set_household()->mutable_members() = request.members();
  return converted;
}

Converted ToCommand(const v1::SetAccountTagsRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_set_account_tags()->set_account(request.account());
  *converted.command.mutable_set_account_tags()->mutable_tags() = request.tags();
  return converted;
}

Converted ToCommand(const v1::SetFamilyRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_set_family()->set_member(request.member());
  *converted.command.mutable_set_family()->mutable_relatives() = request.relatives();
  return converted;
}

Converted ToCommand(const v1::SetTransferPolicyRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  *converted.command.mutable_set_transfer_policy() = request.policy();
  return converted;
}

Converted ToCommand(const v1::SetAwardRuleRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  *converted.command.mutable_set_award_rule() = request.rule();
  return converted;
}

Converted ToCommand(const v1::SetSettingRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  *converted.command.mutable_set_setting()->mutable_value() = request.value();
  if (request.has_if_seq()) converted.command.mutable_set_setting()->set_if_seq(request.if_seq());
  return converted;
}

Converted ToCommand(const v1::CosignHeadRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, "");
  v1::CosignHead* cosign = converted.command.mutable_cosign_head();
  cosign->set_tree_size(request.tree_size());
  cosign->set_time_unix_us(request.time_unix_us());
  auto root = FromHex(request.root());
  auto key = FromHex(request.witness_key());
  auto signed_bytes = FromHex(request.signature());
  if (!root || !key || !signed_bytes) {
    Refuse(converted, Reason::kCosignatureInvalid, "root, witness_key and signature are hex");
    return converted;
  }
  cosign->set_root(std::move(*root));
  cosign->set_witness_key(std::move(*key));
  cosign->set_signature(std::move(*signed_bytes));
  return converted;
}

Converted ToCommand(const v1::AwardRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  v1::Award* award = converted.command.mutable_award();
  award->set_rule(request.rule());
  award->set_member(request.member());
  award->set_issuer(request.issuer());
  award->set_reason(request.reason());
  award->set_month(request.month());
  return converted;
}

Converted ToCommand(const v1::SetApprovalThresholdRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_set_approval_threshold()->set_asset(request.asset());
  converted.command.mutable_set_approval_threshold()->set_amount(request.amount());
  return converted;
}

Converted ToCommand(const v1::ApproveRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_approve()->set_seq(request.seq());
  return converted;
}

Converted ToCommand(const v1::RejectRequest& request, std::string_view actor) {
  Converted converted = Base(request.request_id(), actor, request.memo());
  converted.command.mutable_reject()->set_seq(request.seq());
  converted.command.mutable_reject()->set_reason(request.reason());
  return converted;
}

v1::Balance ToBalance(const BalanceLine& line) {
  v1::Balance balance;
  balance.set_account(line.account);
  balance.set_asset(line.asset);
  balance.set_amount(line.decimal);
  balance.set_seq(line.seq);
  return balance;
}

void ToReceipt(const Outcome& outcome, std::string_view request_id, v1::Receipt* receipt) {
  receipt->set_request_id(std::string(request_id));
  receipt->set_seq(outcome.receipt.seq);
  receipt->set_hash(HashToHex(outcome.receipt.hash));
  receipt->set_time_unix_us(outcome.receipt.time_unix_us);
  for (const BalanceLine& line : outcome.receipt.balances_after) {
    *receipt->add_balances_after() = ToBalance(line);
  }
  receipt->set_replayed(outcome.replayed);
  receipt->set_hold_expires_unix_us(outcome.receipt.hold_expires_unix_us);
  if (outcome.receipt.to_pool_minor != 0) {
    // HOURS are defined at scale 2 by every ledger's genesis entries (ledger.cc).
    receipt->set_hours_to_pool(FormatAmount(Amount::FromMinor(outcome.receipt.to_pool_minor), 2));
  }
  if (outcome.receipt.pending_expires_unix_us != 0) {
    receipt->set_pending(true);
    receipt->set_pending_expires_unix_us(outcome.receipt.pending_expires_unix_us);
  }
  receipt->set_award_amount(outcome.receipt.award_decimal);
}

grpc::Status ToStatus(Reason reason, std::string_view message, std::uint64_t decided_at_seq) {
  if (reason == Reason::kOk) return grpc::Status::OK;
  // A message stays far below gRPC's 8 KB metadata limit whatever a client sent (messages quote
  // client text through Excerpt; this is the backstop).
  message = Utf8Prefix(message, kStatusMessageBytesMax);
  const auto code = static_cast<grpc::StatusCode>(ReasonCode(reason));
  const std::string text = Cat(ReasonName(reason), ": ", message);
  v1::ErrorDetail detail;
  detail.set_reason(static_cast<v1::Reason>(reason));
  detail.set_message(std::string(message));
  detail.set_decided_at_seq(decided_at_seq);
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(code));
  rich.set_message(text);
  rich.add_details()->PackFrom(detail);
  return grpc::Status(code, text, rich.SerializeAsString());
}

grpc::Status ToStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const Reason reason = ReasonOf(status);
  const std::string message(status.message());
  if (reason != Reason::kLedgerUnavailable || status.code() == absl::StatusCode::kUnavailable) {
    return ToStatus(reason, message);
  }
  // An infrastructure failure other than UNAVAILABLE (DATA_LOSS, ...) keeps its own code.
  grpc::Status mapped = ToStatus(reason, message);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), mapped.error_message(),
                      mapped.error_details());
}

void ToStatementItem(const StatementItem& item, v1::StatementItem* out) {
  out->set_seq(item.seq);
  out->set_time_unix_us(item.time_unix_us);
  *out->mutable_command() = item.command;
  for (const auto& leg : item.legs) {
    auto* wire = out->add_legs();
    wire->set_asset(leg.asset);
    wire->set_amount(leg.amount);
    wire->set_balance_after(leg.balance_after);
  }
}

void ToEntryResponse(StoredEntry stored, v1::GetEntryResponse* out) {
  out->set_seq(stored.seq);
  out->set_hash(HashToHex(stored.hash));
  out->set_prev_hash(HashToHex(stored.prev_hash));
  out->set_payload(std::move(stored.payload));
  *out->mutable_entry() = std::move(stored.entry);
}

// The kind of an account for read authorization; UNSPECIFIED when it does not exist.
absl::StatusOr<v1::AccountKind> KindOf(Ledger& ledger, std::string_view account) {
  auto record = ledger.GetAccount(account);
  if (record.ok()) return record->kind();
  const Reason reason = ReasonOf(record.status());
  if (reason == Reason::kAccountUnknown || reason == Reason::kAccountIdInvalid) {
    return v1::ACCOUNT_KIND_UNSPECIFIED;
  }
  return record.status();
}

}  // namespace lovebank::service
