// service Supermarket: the love supermarket's catalogue, stock, baskets, refunds, exchange ratio
// and settlement over the ledger (issue #6; docs/supermarket.md).

#include "absl/container/flat_hash_map.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "service/convert.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

// POINTS and HOURS are defined at scale 2 by every ledger's genesis entries (ledger.cc).
constexpr std::uint32_t kPayScale = 2;

std::string Decimal(std::string_view minor) {
  auto value = MinorFromString(minor);
  return value ? FormatAmount(Amount::FromMinor(*value), kPayScale) : std::string(minor);
}

struct Shelf {
  std::string name;
  std::string unit;
};
using Catalogue = absl::flat_hash_map<std::string, Shelf>;

// The store's catalogue names and units by SKU (for the receipt's lines); empty when the store
// cannot be read (the ledger then refuses the command with the reason).
Catalogue ReadCatalogue(Ledger& ledger, std::string_view store) {
  Catalogue catalogue;
  auto items = ledger.GetItems(store);
  if (!items.ok()) return catalogue;
  for (const auto& item : *items) catalogue[item.sku()] = Shelf{item.name(), item.unit()};
  return catalogue;
}

// A receipt's or a hold's priced lines, total and (HOURS) ratio, with the catalogue's names.
template <class Out>
void AddPricing(const v1::Pricing& pricing, const Catalogue& catalogue, Out* out) {
  for (const auto& line : pricing.lines()) {
    auto* added = out->add_lines();
    added->set_sku(line.sku());
    if (auto shelf = catalogue.find(line.sku()); shelf != catalogue.end()) {
      added->set_name(shelf->second.name);
      added->set_unit(shelf->second.unit);
    }
    added->set_quantity(line.quantity());
    added->set_unit_price(Decimal(line.unit_price_minor()));
    added->set_amount(Decimal(line.amount_minor()));
  }
  out->set_total_points(Decimal(pricing.total_points_minor()));
  out->set_pay_asset(pricing.pay_asset());
  if (!pricing.hours_minor().empty()) {
    out->set_hours(Decimal(pricing.hours_minor()));
    out->set_points_per_hour(Decimal(pricing.points_per_hour_minor()));
  }
}

// Fills the receipt's lines from the entry's recorded pricing and the catalogue's names.
std::function<void(const Outcome&, v1::Receipt*)> PricedReceipt(Catalogue catalogue) {
  return [catalogue = std::move(catalogue)](const Outcome& outcome, v1::Receipt* receipt) {
    if (outcome.receipt.pricing != nullptr)
      AddPricing(*outcome.receipt.pricing, catalogue, receipt);
  };
}

// A basket command of a terminal at `store` (checkout, hold, capture): the catalogue's names
// for the receipt are read before submitting, and only for a principal allowed the command.
template <class Request>
UnaryCall* SubmitPriced(const Context& context, CallContext* ctx, const char* method,
                        const Request& request, v1::Receipt* response) {
  auto* call = new UnaryCall(context, ctx, method, request.request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  Converted converted = ToCommand(request, who->name);
  Catalogue catalogue;
  if (MayCommand(*who, converted.command, nullptr).allowed) {
    catalogue = ReadCatalogue(*context.ledger, request.store());
  }
  Submit(context, call, *who, std::move(converted), nullptr, response,
         PricedReceipt(std::move(catalogue)));
  return call;
}

}  // namespace

UnaryCall* SupermarketService::SetItem(CallContext* ctx, const v1::SetItemRequest* request,
                                       v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetItem", *request, response);
}

UnaryCall* SupermarketService::ReceiveStock(CallContext* ctx, const v1::StockRequest* request,
                                            v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "ReceiveStock", *request, response, true);
}

UnaryCall* SupermarketService::WriteOffStock(CallContext* ctx, const v1::StockRequest* request,
                                             v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "WriteOffStock", *request, response, false);
}

UnaryCall* SupermarketService::SetExchangeRatio(CallContext* ctx,
                                                const v1::SetExchangeRatioRequest* request,
                                                v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetExchangeRatio", *request, response);
}

UnaryCall* SupermarketService::Settle(CallContext* ctx, const v1::SettleRequest* request,
                                      v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "Settle", *request, response);
}

UnaryCall* SupermarketService::SetLimit(CallContext* ctx, const v1::SetLimitRequest* request,
                                        v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetLimit", *request, response);
}

UnaryCall* SupermarketService::SetHousehold(CallContext* ctx,
                                            const v1::SetHouseholdRequest* request,
                                            v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "SetHousehold", *request, response);
}

UnaryCall* SupermarketService::ListLimits(CallContext* ctx,
                                          const v1::ListLimitsRequest* /*request*/,
                                          v1::ListLimitsResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListLimits", "");
  // The rules are public, like the prices.
  if (call->Authenticate() == nullptr) return call;
  auto limits = context_.ledger->GetLimits();
  if (limits.ok()) {
    for (const auto& record : *limits) {
      v1::Limit* limit = response->add_limits();
      limit->set_sku(record.sku());
      limit->set_period(record.period());
      limit->set_maximum(record.sku().empty() ? Decimal(record.maximum_minor())
                                              : record.maximum_minor());
      limit->set_seq(record.seq());
    }
  }
  call->Done(ToStatus(limits.status()));
  return call;
}

UnaryCall* SupermarketService::Checkout(CallContext* ctx, const v1::CheckoutRequest* request,
                                        v1::Receipt* response) {
  return SubmitPriced(context_, ctx, "Checkout", *request, response);
}

UnaryCall* SupermarketService::AuthorizeHold(CallContext* ctx,
                                             const v1::AuthorizeHoldRequest* request,
                                             v1::Receipt* response) {
  return SubmitPriced(context_, ctx, "AuthorizeHold", *request, response);
}

UnaryCall* SupermarketService::CaptureHold(CallContext* ctx, const v1::CaptureHoldRequest* request,
                                           v1::Receipt* response) {
  return SubmitPriced(context_, ctx, "CaptureHold", *request, response);
}

UnaryCall* SupermarketService::VoidHold(CallContext* ctx, const v1::VoidHoldRequest* request,
                                        v1::Receipt* response) {
  return SubmitSimple(context_, ctx, "VoidHold", *request, response);
}

UnaryCall* SupermarketService::GetHold(CallContext* ctx, const v1::GetHoldRequest* request,
                                       v1::Hold* response) {
  auto* call = new UnaryCall(context_, ctx, "GetHold", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  auto hold = context_.ledger->GetHold(request->hold_seq());
  // Only admins and auditors learn whether a hold they may not see exists: an unknown hold and
  // one of another store get the same answer (no existence oracle).
  const bool reads_all = who->role == v1::ROLE_ADMIN || who->role == v1::ROLE_AUDITOR;
  if (!hold.ok()) {
    call->Done(reads_all || ReasonOf(hold.status()) != Reason::kHoldUnknown
                   ? ToStatus(hold.status())
                   : ToStatus(Reason::kPermissionDenied, kNoHoldToRead));
    return call;
  }
  // Its store's terminals, its member, admins and auditors.
  const Decision store = MayRead(*who, Read::kAccount, hold->store(), v1::ACCOUNT_KIND_STORE);
  if (!store.allowed &&
      !MayRead(*who, Read::kAccount, hold->member(), v1::ACCOUNT_KIND_STORE).allowed) {
    call->Done(ToStatus(Reason::kPermissionDenied, kNoHoldToRead));
    return call;
  }
  response->set_seq(hold->seq());
  response->set_member(hold->member());
  response->set_store(hold->store());
  AddPricing(hold->pricing(), ReadCatalogue(*context_.ledger, hold->store()), response);
  response->set_time_unix_us(hold->time_unix_us());
  response->set_expires_unix_us(hold->expires_unix_us());
  response->set_state(hold->state());
  response->set_closed_seq(hold->closed_seq());
  call->Done(grpc::Status::OK);
  return call;
}

UnaryCall* SupermarketService::Refund(CallContext* ctx, const v1::RefundRequest* request,
                                      v1::Receipt* response) {
  auto* call = new UnaryCall(context_, ctx, "Refund", request->request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  // The checkout it refunds decides who may refund it (a terminal: its own store's sales).
  std::optional<v1::Entry> target;
  auto stored = context_.ledger->GetEntry(request->checkout_seq());
  if (stored.ok()) {
    target = std::move(stored->entry);
  } else if (ReasonOf(stored.status()) != Reason::kEntryUnknown) {
    call->Done(ToStatus(stored.status()));
    return call;
  }
  Converted converted = ToCommand(*request, who->name);
  Catalogue catalogue;
  if (target && (target->command().has_checkout() || target->command().has_capture_hold()) &&
      MayCommand(*who, converted.command, &*target).allowed) {
    catalogue = ReadCatalogue(*context_.ledger, target->command().has_checkout()
                                                    ? target->command().checkout().store()
                                                    : target->command().capture_hold().store());
  }
  Submit(context_, call, *who, std::move(converted), target ? &*target : nullptr, response,
         PricedReceipt(std::move(catalogue)));
  return call;
}

UnaryCall* SupermarketService::ListItems(CallContext* ctx, const v1::ListItemsRequest* request,
                                         v1::ListItemsResponse* response) {
  auto* call = new UnaryCall(context_, ctx, "ListItems", "");
  // The catalogue is public (明码标分): any principal may read it.
  if (call->Authenticate() == nullptr) return call;
  auto items = context_.ledger->GetItems(request->store());
  if (!items.ok()) {
    call->Done(ToStatus(items.status()));
    return call;
  }
  auto sheet = context_.ledger->GetBalanceSheet(request->store());
  if (!sheet.ok()) {
    call->Done(ToStatus(sheet.status()));
    return call;
  }
  absl::flat_hash_map<std::string, std::string> stock;
  for (const BalanceLine& line : sheet->lines) stock[line.asset] = line.decimal;
  for (const auto& item : *items) {
    v1::Item* out = response->add_items();
    out->set_store(item.store());
    out->set_sku(item.sku());
    out->set_name(item.name());
    out->set_unit(item.unit());
    out->set_price(Decimal(item.price_minor()));
    out->set_active(item.active());
    auto held = stock.find(item.sku());
    out->set_stock(held == stock.end() ? "0" : held->second);
    out->set_defined_seq(item.defined_seq());
    out->set_changed_seq(item.changed_seq());
  }
  response->set_as_of_seq(sheet->as_of_seq);
  call->Done(grpc::Status::OK);
  return call;
}

UnaryCall* SupermarketService::GetExchangeRatio(CallContext* ctx,
                                                const v1::GetExchangeRatioRequest* /*request*/,
                                                v1::ExchangeRatio* response) {
  auto* call = new UnaryCall(context_, ctx, "GetExchangeRatio", "");
  if (call->Authenticate() == nullptr) return call;
  auto policy = context_.ledger->GetExchangePolicy();
  if (policy.ok() && policy->has_value()) {
    response->set_set(true);
    response->set_points_per_hour(Decimal((*policy)->points_per_hour_minor()));
    response->set_exchange_account((*policy)->exchange_account());
    response->set_seq((*policy)->seq());
  }
  call->Done(ToStatus(policy.status()));
  return call;
}

}  // namespace lovebank::service
