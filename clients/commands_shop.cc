// lovebank catalog / stock / ratio / settle: the love supermarket's office (issue #6;
// docs/supermarket.md). The checkout itself is `lovebank redeem SKU:QTY ...`.

#include <iostream>

#include "clients/commands.h"

namespace lovebank::cli {

std::optional<v1::BasketLine> ParseBasketLine(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  const std::string quantity = text.substr(colon + 1);
  if (quantity.size() > 9 || quantity.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  v1::BasketLine line;
  line.set_sku(text.substr(0, colon));
  line.set_quantity(static_cast<std::uint32_t>(std::stoul(quantity)));
  return line;
}

bool ParseBasket(const std::vector<std::string>& items,
                 google::protobuf::RepeatedPtrField<v1::BasketLine>* lines, int* exit_code) {
  for (const std::string& item : items) {
    auto line = ParseBasketLine(item);
    if (!line) {
      *exit_code = Usage("a basket line is SKU:QUANTITY, e.g. RICE_5KG:2; not " + item);
      return false;
    }
    *lines->Add() = *line;
  }
  return true;
}

void PrintBasket(const v1::Receipt& receipt) {
  for (const auto& line : receipt.lines()) {
    std::cout << "  " << (line.name().empty() ? line.sku() : line.name()) << "  ×"
              << line.quantity() << (line.unit().empty() ? "" : " " + line.unit()) << " @ "
              << line.unit_price() << " = " << line.amount() << " POINTS\n";
  }
  std::cout << "  合计 total       " << receipt.total_points() << " POINTS\n";
  if (receipt.pay_asset() == "HOURS") {
    std::cout << "  时长 hours       " << receipt.hours() << " HOURS at "
              << receipt.points_per_hour() << " POINTS an hour\n";
  }
}

namespace {

std::string RequestId(const std::string& given, const std::string& kind) {
  return given.empty() ? NewRequestId(kind) : given;
}

// The store's catalogue, or std::nullopt after reporting the failure into *exit_code.
std::optional<v1::ListItemsResponse> ListItems(Session& session, const std::string& store,
                                               int* exit_code) {
  v1::ListItemsRequest request;
  request.set_store(store);
  v1::ListItemsResponse response;
  const grpc::Status status =
      session.supermarket().ListItems(session.Context().get(), request, &response);
  if (!status.ok()) {
    *exit_code = Fail(session.globals(), status);
    return std::nullopt;
  }
  return response;
}

void PrintItems(const v1::ListItemsResponse& items) {
  std::cout << "  SKU               price    stock  item\n";
  for (const auto& item : items.items()) {
    std::printf("  %-16s %7s %8s  %s / %s%s\n", item.sku().c_str(), item.price().c_str(),
                item.stock().c_str(), item.name().c_str(), item.unit().c_str(),
                item.active() ? "" : "  (not for sale)");
  }
  std::cout << "  (as of entry #" << items.as_of_seq() << ")\n";
}

// catalog list / stock show: the items, their prices and the stock on hand.
void ShowItems(const Globals& globals, const std::string& store, int* exit_code) {
  Session session(globals);
  auto items = ListItems(session, store, exit_code);
  if (!items) return;
  if (globals.json) {
    PrintJson(ToJson(*items));
  } else {
    PrintItems(*items);
  }
  *exit_code = kExitOk;
}

void AddCatalog(CLI::App& app, Globals& globals, int* exit_code) {
  auto* catalog = app.add_subcommand("catalog", "the love supermarket's catalogue (明码标分)");
  catalog->require_subcommand(1);

  auto* list = catalog->add_subcommand("list", "items, prices and stock of a store");
  auto store = std::make_shared<std::string>();
  list->add_option("--store", *store, "the store's account")->required();
  list->callback([&globals, exit_code, store] { ShowItems(globals, *store, exit_code); });

  auto* set = catalog->add_subcommand("set", "add or change an item (admin)");
  auto request = std::make_shared<v1::SetItemRequest>();
  auto inactive = std::make_shared<bool>(false);
  auto request_id = std::make_shared<std::string>();
  set->add_option("--store", *request->mutable_store(), "the store's account")->required();
  set->add_option("--sku", *request->mutable_sku(), "e.g. RICE_5KG")->required();
  set->add_option("--name", *request->mutable_name(), "e.g. 东北大米 5kg")->required();
  set->add_option("--unit", *request->mutable_unit(), "e.g. 袋")->required();
  set->add_option("--price", *request->mutable_price(), "POINTS per unit, e.g. 30")->required();
  set->add_flag("--inactive", *inactive, "listed but not for sale");
  set->add_option("--memo", *request->mutable_memo(), "free text");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->footer(
      "Example:\n  lovebank catalog set --store store:main --sku RICE_5KG "
      "--name \"东北大米 5kg\" --unit 袋 --price 30");
  set->callback([&globals, exit_code, request, inactive, request_id] {
    Session session(globals);
    v1::SetItemRequest r = *request;
    r.set_request_id(RequestId(*request_id, "item"));
    r.set_active(!*inactive);
    *exit_code = Simple(
        session, r.request_id(), "catalog set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.supermarket().SetItem(session.Context().get(), r, receipt);
        },
        r.sku() + " " + r.name() + " " + r.price() + " POINTS / " + r.unit() +
            (r.active() ? "" : " (not for sale)"));
  });

  auto* price = catalog->add_subcommand("price", "re-price an item (admin); name and unit stay");
  auto price_store = std::make_shared<std::string>();
  auto price_sku = std::make_shared<std::string>();
  auto price_value = std::make_shared<std::string>();
  auto price_id = std::make_shared<std::string>();
  price->add_option("--store", *price_store, "the store's account")->required();
  price->add_option("--sku", *price_sku, "the item")->required();
  price->add_option("--price", *price_value, "the new price in POINTS")->required();
  price->add_option("--request-id", *price_id, "retry an interrupted call");
  price->callback([&globals, exit_code, price_store, price_sku, price_value, price_id] {
    Session session(globals);
    auto items = ListItems(session, *price_store, exit_code);
    if (!items) return;
    const v1::Item* item = nullptr;
    for (const auto& candidate : items->items()) {
      if (candidate.sku() == *price_sku) item = &candidate;
    }
    if (item == nullptr) {
      *exit_code = Usage(*price_store + " has no item " + *price_sku + " (catalog set adds one)");
      return;
    }
    v1::SetItemRequest r;
    r.set_request_id(RequestId(*price_id, "price"));
    r.set_store(*price_store);
    r.set_sku(*price_sku);
    r.set_name(item->name());
    r.set_unit(item->unit());
    r.set_price(*price_value);
    r.set_active(item->active());
    *exit_code = Simple(
        session, r.request_id(), "catalog price", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.supermarket().SetItem(session.Context().get(), r, receipt);
        },
        r.sku() + " " + item->price() + " -> " + r.price() + " POINTS");
  });
}

void AddStock(CLI::App& app, Globals& globals, int* exit_code) {
  auto* stock = app.add_subcommand("stock", "goods in (donations), out (write-offs), on hand");
  stock->require_subcommand(1);
  for (const bool receive : {true, false}) {
    auto* sub = stock->add_subcommand(
        receive ? "receive" : "write-off",
        receive ? "receive donated goods into a store (admin)" : "write goods off (admin)");
    auto request = std::make_shared<v1::StockRequest>();
    auto request_id = std::make_shared<std::string>();
    request->set_issuer("issuer:goods");
    sub->add_option("--store", *request->mutable_store(), "the store's account")->required();
    sub->add_option("--sku", *request->mutable_sku(), "e.g. RICE_5KG")->required();
    sub->add_option("--quantity", *request->mutable_quantity(), "whole units, e.g. 50")->required();
    sub->add_option(receive ? "--donor" : "--reason", *request->mutable_reason(),
                    receive ? "who gave it, e.g. \"爱心企业 富民米业\"" : "why, e.g. 过期")
        ->required();
    sub->add_option("--issuer", *request->mutable_issuer(), "the programme's goods ISSUER account")
        ->capture_default_str();
    sub->add_option("--memo", *request->mutable_memo(), "free text");
    sub->add_option("--request-id", *request_id, "retry an interrupted call");
    sub->callback([&globals, exit_code, request, request_id, receive] {
      Session session(globals);
      v1::StockRequest r = *request;
      r.set_request_id(RequestId(*request_id, receive ? "stock-in" : "write-off"));
      *exit_code = Simple(
          session, r.request_id(), receive ? "stock receive" : "stock write-off", ToJson(r),
          [&](v1::Receipt* receipt) {
            return receive
                       ? session.supermarket().ReceiveStock(session.Context().get(), r, receipt)
                       : session.supermarket().WriteOffStock(session.Context().get(), r, receipt);
          },
          (receive ? "received " : "written off ") + r.quantity() + " " + r.sku() + " · " +
              r.reason());
    });
  }
  auto* show = stock->add_subcommand("show", "what a store holds (as catalog list)");
  auto store = std::make_shared<std::string>();
  show->add_option("--store", *store, "the store's account")->required();
  show->callback([&globals, exit_code, store] { ShowItems(globals, *store, exit_code); });
}

void AddRatio(CLI::App& app, Globals& globals, int* exit_code) {
  auto* ratio = app.add_subcommand("ratio", "the HOURS -> POINTS exchange ratio");
  ratio->require_subcommand(1);
  auto* set = ratio->add_subcommand("set", "change the ratio from the next entry on (admin)");
  auto request = std::make_shared<v1::SetExchangeRatioRequest>();
  auto request_id = std::make_shared<std::string>();
  set->add_option("--points-per-hour", *request->mutable_points_per_hour(), "e.g. 10")->required();
  set->add_option("--exchange", *request->mutable_exchange_account(),
                  "the ISSUER account whose POINTS budget funds hours spent")
      ->required();
  set->add_option("--memo", *request->mutable_memo(), "e.g. 2026年第4季度兑换比例");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->callback([&globals, exit_code, request, request_id] {
    Session session(globals);
    v1::SetExchangeRatioRequest r = *request;
    r.set_request_id(RequestId(*request_id, "ratio"));
    *exit_code = Simple(
        session, r.request_id(), "ratio set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.supermarket().SetExchangeRatio(session.Context().get(), r, receipt);
        },
        "1 HOURS = " + r.points_per_hour() + " POINTS via " + r.exchange_account());
  });
  auto* show = ratio->add_subcommand("show", "the ratio in force");
  show->callback([&globals, exit_code] {
    Session session(globals);
    v1::ExchangeRatio response;
    const grpc::Status status =
        session.supermarket().GetExchangeRatio(session.Context().get(), {}, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else if (!response.set()) {
      std::cout << "  no exchange ratio set: baskets are paid in POINTS only\n";
    } else {
      std::cout << "  1 HOURS = " << response.points_per_hour() << " POINTS via "
                << response.exchange_account() << " (since entry #" << response.seq() << ")\n";
    }
    *exit_code = kExitOk;
  });
}

void AddSettle(CLI::App& app, Globals& globals, int* exit_code) {
  auto* settle = app.add_subcommand(
      "settle", "retire a store's points to the programme (the town reimburses the shop; admin)");
  auto request = std::make_shared<v1::SettleRequest>();
  auto request_id = std::make_shared<std::string>();
  request->set_asset("POINTS");
  settle->add_option("--store", *request->mutable_store(), "the store's account")->required();
  settle->add_option("--issuer", *request->mutable_issuer(), "the programme's ISSUER account")
      ->required();
  settle->add_option("--amount", *request->mutable_amount(), "e.g. 1190.50")->required();
  settle->add_option("--asset", *request->mutable_asset(), "POINTS or HOURS")
      ->capture_default_str();
  settle->add_option("--memo", *request->mutable_memo(), "e.g. 2026年11月结算");
  settle->add_option("--request-id", *request_id, "retry an interrupted call");
  settle->callback([&globals, exit_code, request, request_id] {
    Session session(globals);
    v1::SettleRequest r = *request;
    r.set_request_id(RequestId(*request_id, "settle"));
    *exit_code = Simple(
        session, r.request_id(), "settle", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.supermarket().Settle(session.Context().get(), r, receipt);
        },
        "settled " + r.amount() + " " + r.asset() + " from " + r.store() + " to " + r.issuer());
  });
}

void AddLimit(CLI::App& app, Globals& globals, int* exit_code) {
  auto* limit =
      app.add_subcommand("limit", "caps per member and period (e.g. 2 bags of rice a month)");
  limit->require_subcommand(1);
  auto* set = limit->add_subcommand("set", "set or lift a cap (admin)");
  auto request = std::make_shared<v1::SetLimitRequest>();
  auto per = std::make_shared<std::string>("month");
  auto request_id = std::make_shared<std::string>();
  set->add_option("--sku", *request->mutable_sku(), "the item; without it: basket value in POINTS");
  set->add_option("--per", *per, "day | week | month | year (Asia/Shanghai)")
      ->check(CLI::IsMember({"day", "week", "month", "year"}))
      ->capture_default_str();
  set->add_option("--max", *request->mutable_maximum(), "units, or POINTS; 0 lifts the cap")
      ->required();
  set->add_option("--memo", *request->mutable_memo(), "free text");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->footer(
      "Examples:\n  lovebank limit set --sku RICE_5KG --per month --max 2\n"
      "  lovebank limit set --per week --max 300");
  set->callback([&globals, exit_code, request, per, request_id] {
    Session session(globals);
    v1::SetLimitRequest r = *request;
    r.set_request_id(RequestId(*request_id, "limit"));
    r.set_period(*per == "day"    ? v1::PERIOD_DAY
                 : *per == "week" ? v1::PERIOD_WEEK
                 : *per == "year" ? v1::PERIOD_YEAR
                                  : v1::PERIOD_MONTH);
    *exit_code = Simple(
        session, r.request_id(), "limit set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.supermarket().SetLimit(session.Context().get(), r, receipt);
        },
        (r.sku().empty() ? std::string("basket value") : r.sku()) + " at most " + r.maximum() +
            (r.sku().empty() ? " POINTS" : "") + " per member per " + *per);
  });
  auto* household = app.add_subcommand(
      "household", "group member accounts into a household (户) whose limits count together");
  household->require_subcommand(1);
  auto* hh_set = household->add_subcommand("set", "set a household's members (admin)");
  auto hh = std::make_shared<v1::SetHouseholdRequest>();
  auto hh_members = std::make_shared<std::vector<std::string>>();
  auto hh_id = std::make_shared<std::string>();
  hh_set->add_option("household", *hh->mutable_household(), "its id, e.g. hh:htd-017")->required();
  hh_set->add_option("--member", *hh_members, "a member account (repeat); none dissolves it");
  hh_set->add_option("--memo", *hh->mutable_memo(), "free text");
  hh_set->add_option("--request-id", *hh_id, "retry an interrupted call");
  hh_set->footer("Example:\n  lovebank household set hh:htd-017 --member V00001 --member V00002");
  hh_set->callback([&globals, exit_code, hh, hh_members, hh_id] {
    Session session(globals);
    v1::SetHouseholdRequest r = *hh;
    r.set_request_id(RequestId(*hh_id, "household"));
    for (const auto& member : *hh_members) r.add_members(member);
    *exit_code = Simple(
        session, r.request_id(), "household set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.supermarket().SetHousehold(session.Context().get(), r, receipt);
        },
        r.household() + ": " + std::to_string(r.members_size()) + " members");
  });

  auto* list = limit->add_subcommand("list", "the caps in force");
  list->callback([&globals, exit_code] {
    Session session(globals);
    v1::ListLimitsResponse response;
    const grpc::Status status =
        session.supermarket().ListLimits(session.Context().get(), {}, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      for (const auto& item : response.limits()) {
        std::string period = v1::Period_Name(item.period()).substr(7);
        for (char& c : period) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::cout << "  " << (item.sku().empty() ? "basket value" : item.sku()) << "  at most "
                  << item.maximum() << (item.sku().empty() ? " POINTS" : "") << " per " << period
                  << (item.maximum() == "0" || item.maximum() == "0.00" ? "  (lifted)" : "")
                  << "  (entry #" << item.seq() << ")\n";
      }
    }
    *exit_code = kExitOk;
  });
}

}  // namespace

void AddShopCommands(CLI::App& app, Globals& globals, int* exit_code) {
  AddCatalog(app, globals, exit_code);
  AddStock(app, globals, exit_code);
  AddRatio(app, globals, exit_code);
  AddSettle(app, globals, exit_code);
  AddLimit(app, globals, exit_code);
}

}  // namespace lovebank::cli
