// lovebank redeem / refund / balance / history / transfer / earn / deduct.

#include <algorithm>
#include <cctype>
#include <iostream>

#include "clients/commands.h"
#include "clients/labels.h"

namespace lovebank::cli {
namespace {

// The request id to use: --request-id (a retry) or a new one.
std::string RequestId(const std::string& given, const std::string& kind) {
  return given.empty() ? NewRequestId(kind) : given;
}

std::string NameOf(Session& session, const std::string& account) {
  v1::GetAccountRequest request;
  request.set_account(account);
  v1::AccountRecord record;
  if (!session.ledger().GetAccount(session.Context().get(), request, &record).ok()) return account;
  return record.display_name() + " (" + account + ")";
}

// `amount` as typed ("30") at the scale of `like` ("470.00"): "30.00", as on a till receipt.
std::string AtScaleOf(const std::string& amount, const std::string& like) {
  const std::size_t like_dot = like.find('.');
  const std::size_t scale = like_dot == std::string::npos ? 0 : like.size() - like_dot - 1;
  const std::size_t dot = amount.find('.');
  const std::size_t decimals = dot == std::string::npos ? 0 : amount.size() - dot - 1;
  if (decimals >= scale) return amount;
  return amount + (dot == std::string::npos ? "." : "") + std::string(scale - decimals, '0');
}

std::string BalanceOf(const v1::Receipt& receipt, const std::string& account,
                      const std::string& asset) {
  for (const auto& balance : receipt.balances_after()) {
    if (balance.account() == account && balance.asset() == asset) return balance.amount();
  }
  return "?";
}

// One statement line in a few words: what happened and with whom; names beside codes when
// `labels` is given.
std::string Describe(const v1::StatementItem& item, const std::string& account,
                     Labels* labels = nullptr) {
  auto named = [labels](const std::string& id) { return labels ? labels->Account(id) : id; };
  const v1::Command& c = item.command();
  auto other = [&account](const v1::Move& move) {
    return move.from() == account ? move.to() : move.from();
  };
  const std::string pending = item.legs().empty() ? " (待审核 pending approval)" : "";
  if (c.has_earn()) {
    std::string text = "earn from " + c.earn().from();
    if (c.earn().has_activity()) {
      const v1::Activity& activity = c.earn().activity();
      text += " · " + activity.name() + " " + activity.date();
      if (!activity.team().empty()) text += " · " + activity.team();
    }
    if (!c.earn().reason().empty()) text += " · " + c.earn().reason();
    return text + pending;
  }
  if (c.has_award()) {
    return "award " + (labels ? labels->Rule(c.award().rule()) : c.award().rule()) + " · " +
           c.award().reason() + pending;
  }
  if (c.has_approve()) return "approved: entry " + std::to_string(c.approve().seq());
  if (c.has_reject()) {
    return "rejected: entry " + std::to_string(c.reject().seq()) + " · " + c.reject().reason();
  }
  if (c.has_expire_pending()) {
    return "lapsed unapproved: entry " + std::to_string(c.expire_pending().seq());
  }
  if (c.has_set_account_tags()) return "tags set";
  if (c.has_set_account_contact()) return "card and phone set";
  if (c.has_set_budget()) {
    return "budget set: " + c.set_budget().budget().amount() + " " +
           c.set_budget().budget().asset();
  }
  if (c.has_set_family()) return "family registered";
  if (c.has_deduct()) return "deduct by " + c.deduct().to() + " · " + c.deduct().reason();
  if (c.has_redeem()) return "redeem at " + named(c.redeem().to());
  if (c.has_checkout()) {
    std::string text = "checkout at " + named(c.checkout().store()) + " ·";
    for (const auto& line : c.checkout().lines()) {
      text += " " + (labels ? labels->Item(c.checkout().store(), line.sku()) : line.sku()) + "×" +
              std::to_string(line.quantity());
    }
    return text;
  }
  if (c.has_refund()) return "refund of checkout " + std::to_string(c.refund().checkout_seq());
  if (c.has_receive_stock()) return "stock received · " + c.receive_stock().reason();
  if (c.has_write_off_stock()) return "stock written off · " + c.write_off_stock().reason();
  if (c.has_settle()) return "settled to " + c.settle().to();
  if (c.has_set_item()) return "catalogue: " + c.set_item().sku() + " " + c.set_item().name();
  if (c.has_transfer()) {
    return (c.transfer().from() == account ? "transfer to " : "transfer from ") +
           other(c.transfer());
  }
  if (c.has_reverse()) return "reversal of entry " + std::to_string(c.reverse().seq());
  if (c.has_open_account()) return "account opened";
  if (c.has_set_account_status()) {
    return c.set_account_status().status() == v1::ACCOUNT_STATUS_FROZEN ? "account frozen"
                                                                        : "account unfrozen";
  }
  return "entry";
}

void AddRedeem(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand(
      "redeem", "checkout: a basket of SKU:QTY priced by the server, or a plain --amount");
  auto args = std::make_shared<v1::RedeemRequest>();
  auto items = std::make_shared<std::vector<std::string>>();
  auto request_id = std::make_shared<std::string>();
  args->set_asset("POINTS");
  command->add_option("items", *items, "the basket: SKU:QTY ..., e.g. RICE_5KG:2 OIL_5L:1");
  command->add_option("--store", *args->mutable_store(), "the love supermarket's account")
      ->required();
  command->add_option("--member", *args->mutable_member(), "the member paying")->required();
  command->add_option("--amount", *args->mutable_amount(),
                      "without items: pay this amount (e.g. 45.50), goods named in --memo");
  command->add_option("--asset,--pay", *args->mutable_asset(), "POINTS or HOURS")
      ->capture_default_str();
  command->add_option("--memo", *args->mutable_memo(), "e.g. \"大米 5kg ×1\" (with --amount)");
  command->add_option("--payment-code", *args->mutable_payment_code(),
                      "the member's payment code (付款码) from its phone, scanned or typed");
  command->add_option("--request-id", *request_id,
                      "retry an interrupted redeem: the original outcome, never a second charge");
  command->footer(
      "Examples:\n  lovebank redeem --store store:main --member V00001 RICE_5KG:2 OIL_5L:1\n"
      "  lovebank redeem --store store:main --member V00001 --pay HOURS RICE_5KG:1\n"
      "  lovebank redeem --store store:main --member V00001 --amount 30 --memo \"大米 5kg ×1\"");
  command->callback([&globals, exit_code, args, items, request_id] {
    if (items->empty() == args->amount().empty()) {
      *exit_code = Usage("give the basket as SKU:QTY ... or --amount, not both");
      return;
    }
    Session session(globals);
    if (!items->empty()) {
      v1::CheckoutRequest request;
      request.set_request_id(RequestId(*request_id, "checkout"));
      request.set_member(args->member());
      request.set_store(args->store());
      request.set_pay_asset(args->asset());
      request.set_memo(args->memo());
      request.set_payment_code(args->payment_code());
      if (!ParseBasket(*items, request.mutable_lines(), exit_code)) return;
      *exit_code = Mutate(
          session, request.request_id(), "redeem", ToJson(request),
          [&](v1::Receipt* receipt) {
            return session.supermarket().Checkout(session.Context().get(), request, receipt);
          },
          [&](const v1::Receipt& receipt) {
            std::cout << "  " << Labels(session).Shop(request.store()) << "  兑换小票 receipt\n"
                      << "  会员 member      " << NameOf(session, request.member()) << "\n";
            PrintBasket(receipt);
            std::cout << "  余额 balance     "
                      << BalanceOf(receipt, request.member(), receipt.pay_asset()) << " "
                      << receipt.pay_asset() << "\n";
            PrintReceipt(receipt);
          });
      return;
    }
    v1::RedeemRequest request = *args;
    request.set_request_id(RequestId(*request_id, "redeem"));
    *exit_code = Mutate(
        session, request.request_id(), "redeem", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.ledger().Redeem(session.Context().get(), request, receipt);
        },
        [&](const v1::Receipt& receipt) {
          std::cout << "  " << Labels(session).Shop(request.store()) << "  兑换小票 receipt\n"
                    << "  会员 member      " << NameOf(session, request.member()) << "\n";
          if (!request.memo().empty()) std::cout << "  商品 goods       " << request.memo() << "\n";
          const std::string balance = BalanceOf(receipt, request.member(), request.asset());
          std::cout << "  支付 paid        " << AtScaleOf(request.amount(), balance) << " "
                    << request.asset() << "\n"
                    << "  余额 balance     " << balance << " " << request.asset() << "\n";
          PrintReceipt(receipt);
        });
  });
}

// hold / capture / void / holds show: the checkout lane's holds (docs/supermarket.md "Holds").
void AddHolds(CLI::App& app, Globals& globals, int* exit_code) {
  auto* hold = app.add_subcommand(
      "hold", "checkout lane: reserve a basket's points (or hours) and goods until captured");
  auto authorize = std::make_shared<v1::AuthorizeHoldRequest>();
  auto items = std::make_shared<std::vector<std::string>>();
  auto request_id = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::uint32_t>(0);
  authorize->set_pay_asset("POINTS");
  hold->add_option("items", *items, "the basket: SKU:QTY ...")->required();
  hold->add_option("--store", *authorize->mutable_store(), "the love supermarket's account")
      ->required();
  hold->add_option("--member", *authorize->mutable_member(), "the member paying")->required();
  hold->add_option("--payment-code", *authorize->mutable_payment_code(),
                   "the member's payment code (付款码) from its phone");
  hold->add_option("--pay", *authorize->mutable_pay_asset(), "POINTS or HOURS")
      ->capture_default_str();
  hold->add_option("--timeout", *timeout,
                   "seconds until the hold is released by itself (default 600, at most 86400)");
  hold->add_option("--memo", *authorize->mutable_memo(), "free text");
  hold->add_option("--request-id", *request_id, "retry an interrupted hold");
  hold->footer(
      "Example:\n  lovebank hold --store store:main --member V00001 RICE_5KG:2 OIL_5L:1\n"
      "then: lovebank capture <hold> --store store:main [SKU:QTY ...]  or  "
      "lovebank void <hold> --store store:main");
  hold->callback([&globals, exit_code, authorize, items, request_id, timeout] {
    v1::AuthorizeHoldRequest request = *authorize;
    request.set_timeout_seconds(*timeout);
    request.set_request_id(RequestId(*request_id, "hold"));
    if (!ParseBasket(*items, request.mutable_lines(), exit_code)) return;
    Session session(globals);
    *exit_code = Mutate(
        session, request.request_id(), "hold", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.supermarket().AuthorizeHold(session.Context().get(), request, receipt);
        },
        [&](const v1::Receipt& receipt) {
          std::cout << "  " << Labels(session).Shop(request.store()) << "  预留 hold #"
                    << receipt.seq() << " until " << LocalTime(receipt.hold_expires_unix_us())
                    << "\n"
                    << "  会员 member      " << NameOf(session, request.member()) << "\n";
          PrintBasket(receipt);
          std::cout << "  余额 balance     "
                    << BalanceOf(receipt, request.member(), receipt.pay_asset()) << " "
                    << receipt.pay_asset() << " (the basket is held, not yet paid)\n";
          PrintReceipt(receipt);
        });
  });

  auto* capture = app.add_subcommand(
      "capture", "checkout lane: sell a hold, whole or a smaller basket, at the hold's prices");
  auto capture_request = std::make_shared<v1::CaptureHoldRequest>();
  auto capture_items = std::make_shared<std::vector<std::string>>();
  auto capture_id = std::make_shared<std::string>();
  auto capture_seq = std::make_shared<std::uint64_t>(0);
  capture->add_option("hold", *capture_seq, "the hold's seq")->required();
  capture->add_option("items", *capture_items, "a smaller basket SKU:QTY ... (default: all)");
  capture->add_option("--store", *capture_request->mutable_store(), "the hold's store")->required();
  capture->add_option("--memo", *capture_request->mutable_memo(), "free text");
  capture->add_option("--request-id", *capture_id, "retry an interrupted capture");
  capture->callback([&globals, exit_code, capture_request, capture_items, capture_id, capture_seq] {
    v1::CaptureHoldRequest request = *capture_request;
    request.set_hold_seq(*capture_seq);
    request.set_request_id(RequestId(*capture_id, "capture"));
    if (!ParseBasket(*capture_items, request.mutable_lines(), exit_code)) return;
    Session session(globals);
    *exit_code = Mutate(
        session, request.request_id(), "capture", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.supermarket().CaptureHold(session.Context().get(), request, receipt);
        },
        [&](const v1::Receipt& receipt) {
          std::cout << "  " << Labels(session).Shop(request.store()) << "  兑换小票 receipt (hold #"
                    << request.hold_seq() << ")\n";
          PrintBasket(receipt);
          for (const auto& balance : receipt.balances_after()) {
            std::cout << "  " << balance.account() << "  " << balance.amount() << " "
                      << balance.asset() << "\n";
          }
          PrintReceipt(receipt);
        });
  });

  auto* void_hold = app.add_subcommand("void", "checkout lane: give a hold back whole");
  auto void_request = std::make_shared<v1::VoidHoldRequest>();
  auto void_id = std::make_shared<std::string>();
  auto void_seq = std::make_shared<std::uint64_t>(0);
  void_hold->add_option("hold", *void_seq, "the hold's seq")->required();
  void_hold->add_option("--store", *void_request->mutable_store(), "the hold's store")->required();
  void_hold->add_option("--memo", *void_request->mutable_memo(), "free text");
  void_hold->add_option("--request-id", *void_id, "retry an interrupted void");
  void_hold->callback([&globals, exit_code, void_request, void_id, void_seq] {
    v1::VoidHoldRequest request = *void_request;
    request.set_hold_seq(*void_seq);
    request.set_request_id(RequestId(*void_id, "void"));
    Session session(globals);
    *exit_code = Simple(
        session, request.request_id(), "void", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.supermarket().VoidHold(session.Context().get(), request, receipt);
        },
        "hold #" + std::to_string(request.hold_seq()) + " voided: everything given back");
  });

  auto* holds = app.add_subcommand("holds", "checkout lane: read holds");
  holds->require_subcommand(1);
  auto* show = holds->add_subcommand("show", "one hold: basket, expiry, state");
  auto show_seq = std::make_shared<std::uint64_t>(0);
  show->add_option("hold", *show_seq, "the hold's seq")->required();
  show->callback([&globals, exit_code, show_seq] {
    Session session(globals);
    v1::GetHoldRequest request;
    request.set_hold_seq(*show_seq);
    v1::Hold found;
    const grpc::Status status =
        session.supermarket().GetHold(session.Context().get(), request, &found);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(found));
    } else {
      std::string state = v1::HoldState_Name(found.state()).substr(11);
      std::transform(state.begin(), state.end(), state.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::cout << "  hold #" << found.seq() << "  " << state
                << (found.closed_seq() == 0 ? ""
                                            : " by entry #" + std::to_string(found.closed_seq()))
                << "\n  会员 member      " << found.member() << "\n  超市 store       "
                << found.store() << "\n";
      for (const auto& line : found.lines()) {
        std::cout << "  " << (line.name().empty() ? line.sku() : line.name()) << "  ×"
                  << line.quantity() << " " << line.unit() << " @ " << line.unit_price() << " = "
                  << line.amount() << " POINTS\n";
      }
      std::cout << "  合计 total       " << found.total_points() << " POINTS"
                << (found.pay_asset() == "HOURS"
                        ? " = " + found.hours() + " HOURS at " + found.points_per_hour()
                        : std::string())
                << "\n  held at " << LocalTime(found.time_unix_us()) << ", expires "
                << LocalTime(found.expires_unix_us()) << "\n";
    }
    *exit_code = kExitOk;
  });
}

void AddRefund(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand(
      "refund", "checkout: undo a sale (by seq or request id), or return some of its lines");
  auto target = std::make_shared<std::string>();
  auto lines = std::make_shared<std::vector<std::string>>();
  auto memo = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  auto of = std::make_shared<std::string>();
  command->add_option("entry", *target, "the sale's seq or request id")->required();
  command->add_option("--of", *of,
                      "whose request id the entry is (admins; default: your own — request ids "
                      "are each principal's own)");
  command->add_option("--lines", *lines,
                      "return only these lines of a basket, SKU:QTY ... (each line once)");
  command->add_option("--memo", *memo, "why, e.g. \"退货\"");
  command->add_option("--request-id", *request_id, "retry an interrupted refund");
  command->footer(
      "Examples:\n  lovebank refund cli-3f2a9c0e11d4-redeem --memo 退货\n"
      "  lovebank refund 1042 --lines RICE_5KG:1 --memo \"一袋破损\"");
  command->callback([&globals, exit_code, target, lines, memo, request_id, of] {
    Session session(globals);
    const bool by_seq =
        !target->empty() && target->find_first_not_of("0123456789") == std::string::npos;
    auto print = [&](const v1::Receipt& receipt) {
      std::cout << "  退款 refunded " << *target << "\n";
      if (receipt.lines_size() > 0) PrintBasket(receipt);
      for (const auto& balance : receipt.balances_after()) {
        std::cout << "  " << balance.account() << "  " << balance.amount() << " " << balance.asset()
                  << "\n";
      }
      PrintReceipt(receipt);
    };
    if (!lines->empty()) {
      v1::RefundRequest request;
      request.set_request_id(RequestId(*request_id, "refund"));
      request.set_memo(*memo);
      if (by_seq) {
        request.set_checkout_seq(std::stoull(*target));
      } else {
        v1::GetEntryRequest find;
        find.set_request_id(*target);
        find.set_request_actor(*of);
        v1::GetEntryResponse found;
        const grpc::Status status =
            session.ledger().GetEntry(session.Context().get(), find, &found);
        if (!status.ok()) {
          *exit_code = Fail(globals, status);
          return;
        }
        request.set_checkout_seq(found.seq());
      }
      if (!ParseBasket(*lines, request.mutable_lines(), exit_code)) return;
      *exit_code = Mutate(
          session, request.request_id(), "refund", ToJson(request),
          [&](v1::Receipt* receipt) {
            return session.supermarket().Refund(session.Context().get(), request, receipt);
          },
          print);
      return;
    }
    v1::ReverseRequest request;
    request.set_request_id(RequestId(*request_id, "refund"));
    if (by_seq) {
      request.set_seq(std::stoull(*target));
    } else {
      request.set_target_request_id(*target);
      request.set_target_actor(*of);
    }
    request.set_memo(*memo);
    *exit_code = Mutate(
        session, request.request_id(), "refund", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.ledger().Reverse(session.Context().get(), request, receipt);
        },
        print);
  });
}
void AddBalance(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand("balance", "hours and points of an account");
  auto account = std::make_shared<std::string>();
  auto as_of = std::make_shared<std::uint64_t>(0);
  command->add_option("account", *account, "default: the account of a member token");
  command->add_option("--as-of", *as_of, "balances right after this entry (seq)");
  command->footer("Examples:\n  lovebank balance V00001\n  lovebank balance --as-of 1200");
  command->callback([&globals, exit_code, account, as_of] {
    Session session(globals);
    v1::GetBalanceRequest request;
    request.set_account(BoundAccount(session, *account, exit_code));
    if (request.account().empty()) return;
    if (*as_of != 0) request.set_as_of_seq(*as_of);
    v1::GetBalanceResponse response;
    const grpc::Status status =
        session.ledger().GetBalance(session.Context().get(), request, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
      return;
    }
    std::cout << NameOf(session, request.account()) << "  as of entry " << response.as_of_seq()
              << "\n";
    if (response.balances_size() == 0) std::cout << "  (nothing yet)\n";
    Labels labels(session);
    for (const auto& balance : response.balances()) {
      const char* label = balance.asset() == "HOURS"    ? "志愿时长 hours "
                          : balance.asset() == "POINTS" ? "积分 points    "
                                                        : "";
      // A store's goods by name: "50 东北大米 5kg (RICE_5KG)".
      const std::string asset =
          *label != '\0' ? balance.asset() : labels.Item(request.account(), balance.asset());
      std::cout << "  " << label << " " << balance.amount() << " " << asset << "\n";
    }
    *exit_code = kExitOk;
  });
}

// One statement line: time, seq, what was done (and memo), then each asset moved.
void PrintItem(const v1::StatementItem& item, const std::string& account, Labels* labels) {
  std::cout << "  " << LocalTime(item.time_unix_us()) << "  #" << item.seq() << "  "
            << Describe(item, account, labels);
  if (!item.command().memo().empty()) std::cout << " · " << item.command().memo();
  std::cout << "\n";
  for (const auto& leg : item.legs()) {
    std::cout << "      " << leg.amount() << " " << leg.asset() << "  → " << leg.balance_after()
              << "\n";
  }
}

void AddHistory(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand("history", "an account's statement, newest first");
  auto account = std::make_shared<std::string>();
  auto limit = std::make_shared<std::uint32_t>(20);
  auto before = std::make_shared<std::string>();
  command->add_option("account", *account, "default: the account of a member token");
  command->add_option("--limit", *limit, "lines per page (1-1000)")->capture_default_str();
  command->add_option("--before", *before, "continue from the cursor a previous page printed");
  command->footer(
      "Examples:\n  lovebank history V00001 --limit 10\n"
      "  lovebank history V00001 --before c1.00000000000004d2");
  command->callback([&globals, exit_code, account, limit, before] {
    Session session(globals);
    v1::ListEntriesRequest request;
    request.set_account(BoundAccount(session, *account, exit_code));
    if (request.account().empty()) return;
    request.set_page_size(*limit);
    request.set_cursor(*before);
    v1::ListEntriesResponse response;
    const grpc::Status status =
        session.ledger().ListEntries(session.Context().get(), request, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
      return;
    }
    std::cout << NameOf(session, request.account()) << "\n";
    Labels labels(session);
    for (const auto& item : response.items()) PrintItem(item, request.account(), &labels);
    if (!response.next_cursor().empty()) {
      std::cout << "  more: lovebank history " << request.account() << " --before "
                << response.next_cursor() << "\n";
    }
    *exit_code = kExitOk;
  });
}

void AddWatch(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand(
      "watch", "print an account's new entries as they commit (the journal's: --journal)");
  auto account = std::make_shared<std::string>();
  auto journal = std::make_shared<bool>(false);
  auto after = std::make_shared<std::uint64_t>(0);
  auto from_now = std::make_shared<bool>(false);
  auto idle = std::make_shared<std::uint32_t>(0);
  auto count = std::make_shared<std::uint64_t>(0);
  command->add_option("account", *account, "default: the account of a member token");
  command->add_flag("--journal", *journal, "every entry (admins and auditors)");
  command->add_option("--after", *after, "entries after this seq (resume where you stopped)");
  command->add_flag("--new", *from_now, "only entries committed from now on (after the head)");
  command->add_option("--idle", *idle, "stop after this many seconds without an entry (0: never)")
      ->capture_default_str();
  command->add_option("--count", *count, "stop after this many entries (0: never)")
      ->capture_default_str();
  command->footer(
      "Examples:\n  lovebank watch V00001 --new\n  lovebank watch --journal --after 1200 --json");
  command->callback([&globals, exit_code, account, journal, after, from_now, idle, count] {
    Session session(globals);
    v1::WatchEntriesRequest request;
    if (!*journal) {
      request.set_account(BoundAccount(session, *account, exit_code));
      if (request.account().empty()) return;
    }
    request.set_after_seq(*after);
    request.set_idle_seconds(*idle);
    if (*from_now) {  // the head as the caller may learn it: its balance's seq, or the digest
      std::uint64_t head = 0;
      grpc::Status status;
      if (request.account().empty()) {
        v1::GetDigestResponse digest;
        status = session.audit().GetDigest(session.Context().get(), {}, &digest);
        head = digest.seq();
      } else {
        v1::GetBalanceRequest asked;
        asked.set_account(request.account());
        v1::GetBalanceResponse balance;
        status = session.ledger().GetBalance(session.Context().get(), asked, &balance);
        head = balance.as_of_seq();
      }
      if (!status.ok()) {
        *exit_code = Fail(globals, status);
        return;
      }
      request.set_after_seq(head);
    }
    // A watch lasts until --idle or --count ends it (or the server stops): no deadline to speak of.
    auto context = session.Context(365.0 * 24 * 3600);
    auto reader = session.ledger().WatchEntries(context.get(), request);
    v1::WatchEntriesResponse response;
    Labels labels(session);
    std::uint64_t seen = 0;
    while ((*count == 0 || seen < *count) && reader->Read(&response)) {
      ++seen;
      if (globals.json) {
        PrintJson(ToJson(response));
      } else if (response.has_item()) {
        PrintItem(response.item(), request.account(), &labels);
      } else {
        // The journal's entries: who did what (the command's kind), e.g. "earn by sw-li".
        const v1::Command& c = response.entry().entry().command();
        const auto* kind = c.GetReflection()->GetOneofFieldDescriptor(
            c, c.GetDescriptor()->FindOneofByName("body"));
        std::cout << "  " << LocalTime(response.entry().entry().time_unix_us()) << "  #"
                  << response.entry().seq() << "  " << (kind ? kind->name() : "entry") << " by "
                  << c.actor() << "\n";
      }
      std::cout.flush();
    }
    if (*count != 0 && seen == *count) context->TryCancel();
    const grpc::Status status = reader->Finish();
    if (!status.ok() && !(*count != 0 && seen == *count)) {
      *exit_code = Fail(globals, status);
      return;
    }
    *exit_code = kExitOk;
  });
}

void AddTransfer(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand("transfer", "give hours or points to another member (转赠)");
  auto args = std::make_shared<v1::TransferRequest>();
  auto request_id = std::make_shared<std::string>();
  args->set_asset("HOURS");
  command->add_option("--from", *args->mutable_from(), "default: the account of a member token");
  command->add_option("--to", *args->mutable_to(), "the receiving member")->required();
  command->add_option("--amount", *args->mutable_amount(), "e.g. 2")->required();
  command->add_option("--asset", *args->mutable_asset(), "HOURS or POINTS")->capture_default_str();
  command->add_option("--memo", *args->mutable_memo(), "e.g. \"转赠给外婆\"");
  command->add_option("--request-id", *request_id, "retry an interrupted transfer");
  command->footer("Example:\n  lovebank transfer --to V00002 --amount 2 --memo 转赠给外婆");
  command->callback([&globals, exit_code, args, request_id] {
    Session session(globals);
    v1::TransferRequest request = *args;
    request.set_from(BoundAccount(session, request.from(), exit_code));
    if (request.from().empty()) return;
    request.set_request_id(RequestId(*request_id, "transfer"));
    *exit_code = Mutate(
        session, request.request_id(), "transfer", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.ledger().Transfer(session.Context().get(), request, receipt);
        },
        [&](const v1::Receipt& receipt) {
          std::cout << "  " << request.amount() << " " << request.asset() << " from "
                    << request.from() << " to " << request.to() << "\n"
                    << "  balance " << BalanceOf(receipt, request.from(), request.asset()) << " "
                    << request.asset() << "\n";
          PrintReceipt(receipt);
        });
  });
}

void AddEarn(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand("earn", "record hours for an activity, or award points");
  auto args = std::make_shared<v1::EarnRequest>();
  auto hours = std::make_shared<std::string>();
  auto points = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  command->add_option("--member", *args->mutable_member(), "the volunteer or student")->required();
  command->add_option("--issuer", *args->mutable_issuer(), "default: the issuer token's account");
  auto* hours_option = command->add_option("--hours", *hours, "hours served, e.g. 2.5");
  auto* points_option = command->add_option("--points", *points, "points awarded, e.g. 500");
  hours_option->excludes(points_option);
  command->add_option("--activity", *args->mutable_activity()->mutable_name(),
                      "with --hours: the activity, e.g. 重阳节敬老活动");
  command->add_option("--date", *args->mutable_activity()->mutable_date(),
                      "with --hours: YYYY-MM-DD");
  command->add_option("--place", *args->mutable_activity()->mutable_place(), "with --hours");
  command->add_option("--team", *args->mutable_activity()->mutable_team(),
                      "with --hours: the organising team, e.g. 反诈宣传志愿队");
  command->add_option("--category", *args->mutable_activity()->mutable_category(),
                      "with --hours: the service category, e.g. 助老");
  command->add_option("--activity-id", *args->mutable_activity()->mutable_id(),
                      "with --hours: the activity's id, e.g. A26110001");
  command->add_option("--reason", *args->mutable_reason(), "with --points: e.g. 考上大学");
  command->add_option("--memo", *args->mutable_memo(), "free text");
  command->add_option("--request-id", *request_id, "retry an interrupted earn");
  command->footer(
      "Examples:\n"
      "  lovebank earn --member V00001 --hours 3 --activity 重阳节敬老活动 --date 2026-10-29\n"
      "  lovebank earn --member S00854 --points 500 --reason 期中考试进步明显");
  command->callback([&globals, exit_code, args, hours, points, request_id] {
    if (hours->empty() == points->empty()) {
      *exit_code = Usage("give --hours (with --activity and --date) or --points (with --reason)");
      return;
    }
    Session session(globals);
    v1::EarnRequest request = *args;
    request.set_issuer(BoundAccount(session, request.issuer(), exit_code));
    if (request.issuer().empty()) return;
    request.set_asset(hours->empty() ? "POINTS" : "HOURS");
    request.set_amount(hours->empty() ? *points : *hours);
    if (hours->empty()) request.clear_activity();
    request.set_request_id(RequestId(*request_id, "earn"));
    *exit_code = Mutate(
        session, request.request_id(), "earn", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.ledger().Earn(session.Context().get(), request, receipt);
        },
        [&](const v1::Receipt& receipt) {
          std::cout << "  " << NameOf(session, request.member()) << " +" << request.amount() << " "
                    << request.asset() << "  balance "
                    << BalanceOf(receipt, request.member(), request.asset()) << "\n";
          if (!receipt.hours_to_pool().empty()) {
            std::cout << "  past the storage cap: " << receipt.hours_to_pool()
                      << " HOURS to the donation pool (超出上限部分转入爱心池)\n";
          }
          PrintReceipt(receipt);
        });
  });
}

void AddDeduct(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command = app.add_subcommand("deduct", "take points back, with a reason");
  auto args = std::make_shared<v1::DeductRequest>();
  auto request_id = std::make_shared<std::string>();
  args->set_asset("POINTS");
  command->add_option("--member", *args->mutable_member(), "the student")->required();
  command->add_option("--issuer", *args->mutable_issuer(), "default: the issuer token's account");
  command->add_option("--points", *args->mutable_amount(), "e.g. 200")->required();
  command->add_option("--reason", *args->mutable_reason(), "e.g. 学习不努力")->required();
  command->add_option("--memo", *args->mutable_memo(), "free text");
  command->add_option("--request-id", *request_id, "retry an interrupted deduction");
  command->footer("Example:\n  lovebank deduct --member S00853 --points 200 --reason 学习不努力");
  command->callback([&globals, exit_code, args, request_id] {
    Session session(globals);
    v1::DeductRequest request = *args;
    request.set_issuer(BoundAccount(session, request.issuer(), exit_code));
    if (request.issuer().empty()) return;
    request.set_request_id(RequestId(*request_id, "deduct"));
    *exit_code = Mutate(
        session, request.request_id(), "deduct", ToJson(request),
        [&](v1::Receipt* receipt) {
          return session.ledger().Deduct(session.Context().get(), request, receipt);
        },
        [&](const v1::Receipt& receipt) {
          std::cout << "  " << NameOf(session, request.member()) << " -" << request.amount()
                    << " POINTS  balance " << BalanceOf(receipt, request.member(), "POINTS")
                    << "\n";
          PrintReceipt(receipt);
        });
  });
}

}  // namespace

std::optional<v1::PrincipalRecord> WhoAmI(Session& session, int* exit_code) {
  v1::PrincipalRecord me;
  const grpc::Status status = session.admin().WhoAmI(session.Context().get(), {}, &me);
  if (!status.ok()) {
    *exit_code = Fail(session.globals(), status);
    return std::nullopt;
  }
  return me;
}

int Mutate(Session& session, const std::string& request_id, const std::string& command,
           const nlohmann::json& args, const std::function<grpc::Status(v1::Receipt*)>& call,
           const std::function<void(const v1::Receipt&)>& print) {
  if (!LogRequest(session.globals(), request_id, command, args)) return kExitUsage;
  v1::Receipt receipt;
  const grpc::Status status = call(&receipt);
  LogOutcome(session.globals(), request_id, status, receipt.seq());
  if (!status.ok()) return Fail(session.globals(), status, request_id);
  if (session.globals().json) {
    PrintJson(ToJson(receipt));
  } else {
    print(receipt);
  }
  return kExitOk;
}

std::string BoundAccount(Session& session, const std::string& given, int* exit_code) {
  if (!given.empty()) return given;
  auto me = WhoAmI(session, exit_code);
  if (!me) return "";
  if (me->accounts_size() == 0) {
    *exit_code = Usage("name the account: this principal is bound to none");
    return "";
  }
  return me->accounts(0);
}

void PrintReceipt(const v1::Receipt& receipt) {
  std::cout << "  流水 entry #" << receipt.seq() << "  hash " << HashPrefix(receipt.hash()) << "  "
            << LocalTime(receipt.time_unix_us())
            << (receipt.replayed() ? "  (retry: the original receipt, applied once)" : "") << "\n";
  if (receipt.pending()) {
    std::cout << "  待审核 pending approval: nothing is posted until a different approver runs "
                 "`lovebank approve "
              << receipt.seq() << "`; lapses " << LocalTime(receipt.pending_expires_unix_us())
              << "\n";
  }
}

void AddMoneyCommands(CLI::App& app, Globals& globals, int* exit_code) {
  AddRedeem(app, globals, exit_code);
  AddRefund(app, globals, exit_code);
  AddHolds(app, globals, exit_code);
  AddBalance(app, globals, exit_code);
  AddHistory(app, globals, exit_code);
  AddWatch(app, globals, exit_code);
  AddTransfer(app, globals, exit_code);
  AddEarn(app, globals, exit_code);
  AddDeduct(app, globals, exit_code);
}

}  // namespace lovebank::cli
