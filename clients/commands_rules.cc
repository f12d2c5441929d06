// lovebank tags / family / transfer-policy / rules / award / approve / reject / pending /
// approval / activity: the programme's rules (issue #7; docs/programme.md) — who is a student,
// whom a volunteer may give hours to, the award catalogue and its maker-checker approval, and
// an activity's hours for many participants in one all-or-nothing call.

#include <iostream>
#include <map>

#include "clients/commands.h"
#include "clients/csv.h"
#include "ledger/format/amount.h"

namespace lovebank::cli {
namespace {

std::string Id(const std::string& given, const std::string& kind) {
  return given.empty() ? NewRequestId(kind) : given;
}

// "once" / "yearly" / "school-year" / "unlimited" -> the proto frequency.
v1::AwardFrequency Frequency(const std::string& text) {
  if (text == "once") return v1::AWARD_FREQUENCY_ONCE_EVER;
  if (text == "yearly") return v1::AWARD_FREQUENCY_ONCE_PER_YEAR;
  if (text == "school-year") return v1::AWARD_FREQUENCY_ONCE_PER_SCHOOL_YEAR;
  if (text == "unlimited") return v1::AWARD_FREQUENCY_UNLIMITED;
  return v1::AWARD_FREQUENCY_UNSPECIFIED;
}

std::string FrequencyText(v1::AwardFrequency frequency) {
  switch (frequency) {
    case v1::AWARD_FREQUENCY_ONCE_EVER:
      return "once";
    case v1::AWARD_FREQUENCY_ONCE_PER_YEAR:
      return "yearly";
    case v1::AWARD_FREQUENCY_ONCE_PER_SCHOOL_YEAR:
      return "school-year";
    default:
      return "unlimited";
  }
}

const std::vector<std::string> kFrequencies = {"once", "yearly", "school-year", "unlimited"};

void AddTagsAndFamily(CLI::App& app, Globals& globals, int* exit_code) {
  auto* tags = app.add_subcommand("tags", "an account's tags: student, poverty-tier:1, ...");
  tags->require_subcommand(1);
  auto* set_tags = tags->add_subcommand("set", "replace an account's tags (admin); none clears");
  auto tags_request = std::make_shared<v1::SetAccountTagsRequest>();
  auto tags_id = std::make_shared<std::string>();
  set_tags->add_option("account", *tags_request->mutable_account(), "e.g. S00801")->required();
  auto tag_list = std::make_shared<std::vector<std::string>>();
  set_tags->add_option("tags", *tag_list, "e.g. student poverty-tier:1");
  set_tags->add_option("--memo", *tags_request->mutable_memo(), "free text");
  set_tags->add_option("--request-id", *tags_id, "retry an interrupted call");
  set_tags->callback([&globals, exit_code, tags_request, tags_id, tag_list] {
    Session session(globals);
    v1::SetAccountTagsRequest r = *tags_request;
    for (const auto& tag : *tag_list) r.add_tags(tag);
    r.set_request_id(Id(*tags_id, "tags"));
    std::string done = r.account() + " tagged";
    for (const auto& tag : r.tags()) done += " " + tag;
    if (r.tags().empty()) done = r.account() + ": no tags";
    *exit_code = Simple(
        session, r.request_id(), "tags set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().SetAccountTags(session.Context().get(), r, receipt);
        },
        done);
  });

  auto* family = app.add_subcommand("family", "whom a member may give HOURS to (转赠 to 亲属)");
  family->require_subcommand(1);
  auto* set_family = family->add_subcommand("set", "replace a member's registered family (admin)");
  auto family_request = std::make_shared<v1::SetFamilyRequest>();
  auto family_id = std::make_shared<std::string>();
  set_family->add_option("member", *family_request->mutable_member(), "e.g. V00001")->required();
  auto relatives = std::make_shared<std::vector<std::string>>();
  set_family->add_option("relatives", *relatives, "MEMBER accounts, e.g. V00002 V00003");
  set_family->add_option("--memo", *family_request->mutable_memo(), "e.g. 母子");
  set_family->add_option("--request-id", *family_id, "retry an interrupted call");
  set_family->callback([&globals, exit_code, family_request, family_id, relatives] {
    Session session(globals);
    v1::SetFamilyRequest r = *family_request;
    for (const auto& relative : *relatives) r.add_relatives(relative);
    r.set_request_id(Id(*family_id, "family"));
    std::string done = r.member() + "'s family:";
    for (const auto& relative : r.relatives()) done += " " + relative;
    *exit_code = Simple(
        session, r.request_id(), "family set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().SetFamily(session.Context().get(), r, receipt);
        },
        done);
  });
}

void AddTransferPolicy(CLI::App& app, Globals& globals, int* exit_code) {
  auto* policy = app.add_subcommand("transfer-policy", "who may give what to whom (转赠)");
  policy->require_subcommand(1);
  auto* set = policy->add_subcommand("set", "the rule for an asset, optionally per tag (admin)");
  auto request = std::make_shared<v1::SetTransferPolicyRequest>();
  auto rule = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  set->add_option("--asset", *request->mutable_policy()->mutable_asset(), "HOURS or POINTS")
      ->required();
  set->add_option("--rule", *rule, "open | family-or-pool | closed")
      ->check(CLI::IsMember({"open", "family-or-pool", "closed"}))
      ->required();
  set->add_option("--tag", *request->mutable_policy()->mutable_tag(),
                  "only givers with this tag, e.g. student (default: everyone)");
  set->add_option("--pool", *request->mutable_policy()->mutable_pool_account(),
                  "family-or-pool: the SYSTEM donation pool, e.g. system:pool");
  set->add_option("--memo", *request->mutable_memo(), "free text");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->footer(
      "Examples (Shanghai: hours only to family or the pool; student points stay put):\n"
      "  lovebank transfer-policy set --asset HOURS --rule family-or-pool --pool system:pool\n"
      "  lovebank transfer-policy set --asset POINTS --tag student --rule closed");
  set->callback([&globals, exit_code, request, rule, request_id] {
    Session session(globals);
    v1::SetTransferPolicyRequest r = *request;
    r.mutable_policy()->set_rule(*rule == "open"     ? v1::TRANSFER_RULE_OPEN
                                 : *rule == "closed" ? v1::TRANSFER_RULE_CLOSED
                                                     : v1::TRANSFER_RULE_FAMILY_OR_POOL);
    r.set_request_id(Id(*request_id, "transfer-policy"));
    *exit_code = Simple(
        session, r.request_id(), "transfer-policy set", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().SetTransferPolicy(session.Context().get(), r, receipt);
        },
        r.policy().asset() + " transfers" +
            (r.policy().tag().empty() ? "" : " by " + r.policy().tag() + " members") + ": " +
            *rule);
  });
}

// One rule from the options or a CSV row.
struct RuleText {
  std::string code, asset = "POINTS", amount, kind = "award", frequency, tags, approval = "no",
                    description;
};

v1::SetAwardRule ToRule(const RuleText& text) {
  v1::SetAwardRule rule;
  rule.set_code(text.code);
  rule.set_asset(text.asset);
  rule.set_amount(text.amount);
  rule.set_deduction(text.kind == "deduction");
  for (auto& tag : SplitList(text.tags)) rule.add_eligible_tags(std::move(tag));
  rule.set_frequency(Frequency(text.frequency));
  rule.set_needs_approval(text.approval == "yes");
  rule.set_description(text.description);
  rule.set_active(true);
  return rule;
}

int SetRule(Session& session, const v1::SetAwardRule& rule, const std::string& request_id,
            const std::string& memo) {
  v1::SetAwardRuleRequest r;
  r.set_request_id(request_id);
  *r.mutable_rule() = rule;
  r.set_memo(memo);
  return Simple(
      session, r.request_id(), "rules set", ToJson(r),
      [&](v1::Receipt* receipt) {
        return session.programme().SetAwardRule(session.Context().get(), r, receipt);
      },
      "rule " + rule.code() + ": " + (rule.deduction() ? "-" : "+") + rule.amount() + " " +
          rule.asset() + ", " + FrequencyText(rule.frequency()) +
          (rule.needs_approval() ? ", needs a second approver" : "") +
          (rule.active() ? "" : " (retired)"));
}

void AddRules(CLI::App& app, Globals& globals, int* exit_code) {
  auto* rules = app.add_subcommand("rules", "the award catalogue (奖励/扣减规则)");
  rules->require_subcommand(1);

  auto* set = rules->add_subcommand("set", "define or change a rule (admin)");
  auto text = std::make_shared<RuleText>();
  auto retire = std::make_shared<bool>(false);
  auto memo = std::make_shared<std::string>();
  auto request_id = std::make_shared<std::string>();
  set->add_option("code", text->code, "e.g. STUDENT_PROGRESS")->required();
  set->add_option("--amount", text->amount, "what it awards or deducts, e.g. 500")->required();
  set->add_option("--asset", text->asset, "default POINTS (never HOURS)")->capture_default_str();
  set->add_flag(
      "--deduct", [text](std::int64_t) { text->kind = "deduction"; },
      "takes the amount from the member");
  set->add_option("--frequency", text->frequency, "once | yearly | school-year | unlimited")
      ->check(CLI::IsMember(kFrequencies))
      ->required();
  set->add_option("--tags", text->tags,
                  "eligibility: every tag required, e.g. student;poverty-tier:1");
  set->add_flag(
      "--approval", [text](std::int64_t) { text->approval = "yes"; },
      "a different principal must approve each award");
  set->add_option("--description", text->description, "e.g. 考上大学当年一次性奖励")->required();
  set->add_flag("--retire", *retire, "no new awards by this rule");
  set->add_option("--memo", *memo, "free text");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->footer(
      "Example:\n  lovebank rules set UNIVERSITY_ADMISSION --amount 3000 --frequency yearly "
      "--tags student --approval --description 考上大学当年一次性奖励");
  set->callback([&globals, exit_code, text, retire, memo, request_id] {
    Session session(globals);
    v1::SetAwardRule rule = ToRule(*text);
    rule.set_active(!*retire);
    *exit_code = SetRule(session, rule, Id(*request_id, "rule"), *memo);
  });

  auto* load = rules->add_subcommand("load", "define every rule of a programme file (admin)");
  auto file = std::make_shared<std::string>();
  load->add_option("file", *file, "CSV: code,asset,amount,kind,frequency,tags,approval,description")
      ->required();
  load->footer(
      "Example:\n  lovebank rules load docs/examples/award-rules.csv\n"
      "Loading the same file again changes nothing: each rule's request id comes from "
      "its row.");
  load->callback([&globals, exit_code, file] {
    auto table = csv::Read(*file);
    if (!table.ok()) {
      *exit_code = Usage(std::string(table.status().message()));
      return;
    }
    std::map<std::string, std::size_t> column;
    for (std::size_t i = 0; i < table->header.size(); ++i) column[table->header[i]] = i;
    for (const char* name : {"code", "amount", "frequency", "description"}) {
      if (!column.contains(name)) {
        *exit_code = Usage(*file + ": no column " + name + " (see lovebank rules load --help)");
        return;
      }
    }
    Session session(globals);
    int worst = kExitOk;
    for (const csv::Row& row : table->rows) {
      auto get = [&](const std::string& name, const std::string& fallback = "") {
        auto it = column.find(name);
        return it == column.end() || it->second >= row.fields.size() ||
                       row.fields[it->second].empty()
                   ? fallback
                   : row.fields[it->second];
      };
      RuleText rule{get("code"),           get("asset", "POINTS"), get("amount"),
                    get("kind", "award"),  get("frequency"),       get("tags"),
                    get("approval", "no"), get("description")};
      const int code = SetRule(session, ToRule(rule), RowRequestId(*table, row), *file);
      worst = std::max(worst, code);
    }
    *exit_code = worst;
  });

  auto* list = rules->add_subcommand("list", "the award catalogue");
  list->callback([&globals, exit_code] {
    Session session(globals);
    v1::ListAwardRulesResponse response;
    const grpc::Status status =
        session.programme().ListAwardRules(session.Context().get(), {}, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      for (const auto& record : response.rules()) {
        const v1::SetAwardRule& rule = record.rule();
        std::cout << "  " << rule.code() << "  " << (rule.deduction() ? "-" : "+") << rule.amount()
                  << " " << rule.asset() << "  " << FrequencyText(rule.frequency());
        for (const auto& tag : rule.eligible_tags()) std::cout << "  #" << tag;
        std::cout << (rule.needs_approval() ? "  需审核 approval" : "")
                  << (rule.active() ? "" : "  (retired)") << "  " << rule.description() << "\n";
      }
    }
    *exit_code = kExitOk;
  });
}

void AddAward(CLI::App& app, Globals& globals, int* exit_code) {
  auto* command =
      app.add_subcommand("award", "award or deduct by a rule of the catalogue (issuer)");
  auto request = std::make_shared<v1::AwardRequest>();
  auto request_id = std::make_shared<std::string>();
  command->add_option("rule", *request->mutable_rule(), "e.g. STUDENT_PROGRESS")->required();
  command->add_option("--member", *request->mutable_member(), "the student")->required();
  command->add_option("--issuer", *request->mutable_issuer(),
                      "default: the issuer token's account");
  command->add_option("--reason", *request->mutable_reason(), "e.g. 期中考试进步明显")->required();
  command->add_option("--memo", *request->mutable_memo(), "free text");
  command->add_option("--month", *request->mutable_month(),
                      "the month the award is for, YYYY-MM (default: this month; the notice "
                      "counts it there)");
  command->add_option("--request-id", *request_id, "retry an interrupted award");
  command->footer(
      "Example:\n  lovebank award STUDENT_PROGRESS --member S00854 --reason 期中考试进步明显\n"
      "  lovebank award STUDENT_PROGRESS --member S00854 --reason 期中考试进步明显 --month "
      "2026-11");
  command->callback([&globals, exit_code, request, request_id] {
    Session session(globals);
    v1::AwardRequest r = *request;
    r.set_issuer(BoundAccount(session, r.issuer(), exit_code));
    if (r.issuer().empty()) return;
    r.set_request_id(Id(*request_id, "award"));
    *exit_code = Mutate(
        session, r.request_id(), "award", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().Award(session.Context().get(), r, receipt);
        },
        [&](const v1::Receipt& receipt) {
          std::cout << "  " << r.rule() << " " << r.member() << " " << receipt.award_amount();
          for (const auto& balance : receipt.balances_after()) {
            if (balance.account() == r.member()) {
              std::cout << "  balance " << balance.amount() << " " << balance.asset();
            }
          }
          std::cout << "\n";
          PrintReceipt(receipt);
        });
  });
}

void AddApproval(CLI::App& app, Globals& globals, int* exit_code) {
  auto* approve = app.add_subcommand("approve", "confirm a pending award or earning (approver)");
  auto approve_request = std::make_shared<v1::ApproveRequest>();
  auto approve_id = std::make_shared<std::string>();
  auto approve_seq = std::make_shared<std::uint64_t>(0);
  approve->add_option("seq", *approve_seq, "the pending entry")->required();
  approve->add_option("--memo", *approve_request->mutable_memo(), "e.g. 已核实录取通知书");
  approve->add_option("--request-id", *approve_id, "retry an interrupted call");
  approve->callback([&globals, exit_code, approve_request, approve_id, approve_seq] {
    Session session(globals);
    v1::ApproveRequest r = *approve_request;
    r.set_seq(*approve_seq);
    r.set_request_id(Id(*approve_id, "approve"));
    *exit_code = Simple(
        session, r.request_id(), "approve", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().Approve(session.Context().get(), r, receipt);
        },
        "approved entry " + std::to_string(r.seq()));
  });

  auto* reject = app.add_subcommand("reject", "turn down a pending award or earning (approver)");
  auto reject_request = std::make_shared<v1::RejectRequest>();
  auto reject_id = std::make_shared<std::string>();
  auto reject_seq = std::make_shared<std::uint64_t>(0);
  reject->add_option("seq", *reject_seq, "the pending entry")->required();
  reject->add_option("--reason", *reject_request->mutable_reason(), "e.g. 材料不全")->required();
  reject->add_option("--memo", *reject_request->mutable_memo(), "free text");
  reject->add_option("--request-id", *reject_id, "retry an interrupted call");
  reject->callback([&globals, exit_code, reject_request, reject_id, reject_seq] {
    Session session(globals);
    v1::RejectRequest r = *reject_request;
    r.set_seq(*reject_seq);
    r.set_request_id(Id(*reject_id, "reject"));
    *exit_code = Simple(
        session, r.request_id(), "reject", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().Reject(session.Context().get(), r, receipt);
        },
        "rejected entry " + std::to_string(r.seq()));
  });

  auto* pending = app.add_subcommand("pending", "awards and earnings waiting for approval");
  auto member = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  pending->add_option("member", *member, "only this member's (a member token: its own)");
  pending->add_flag("--all", *all, "approved, rejected and lapsed ones too");
  pending->callback([&globals, exit_code, member, all] {
    Session session(globals);
    v1::ListPendingRequest request;
    request.set_member(*member);
    request.set_include_closed(*all);
    v1::ListPendingResponse response;
    const grpc::Status status =
        session.programme().ListPending(session.Context().get(), request, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else {
      for (const auto& p : response.pending()) {
        // POINTS and HOURS are kept at scale 2 (the genesis defines them): 300000 is 3000.00.
        const bool two_places = p.asset() == "POINTS" || p.asset() == "HOURS";
        const std::optional<Int128> minor = MinorFromString(p.amount_minor());
        const std::string amount = two_places && minor ? FormatAmount(Amount::FromMinor(*minor), 2)
                                                       : p.amount_minor() + " (minor units)";
        std::cout << "  #" << p.seq() << "  " << (p.rule().empty() ? "earn" : p.rule()) << "  "
                  << p.member() << "  " << amount << " " << p.asset() << "  by " << p.maker()
                  << "  " << v1::PendingState_Name(p.state()).substr(14);
        if (p.state() == v1::PENDING_STATE_PENDING) {
          std::cout << "  lapses " << LocalTime(p.expires_unix_us());
        } else {
          std::cout << " by entry " << p.closed_seq();
        }
        std::cout << "\n";
      }
      std::cout << "  (" << response.pending_size() << " as of entry " << response.as_of_seq()
                << ")\n";
    }
    *exit_code = kExitOk;
  });

  auto* threshold =
      app.add_subcommand("approval", "earnings above a size wait for a second approver (admin)");
  threshold->require_subcommand(1);
  auto* set = threshold->add_subcommand("threshold", "set it per asset; --amount 0 turns it off");
  auto request = std::make_shared<v1::SetApprovalThresholdRequest>();
  auto request_id = std::make_shared<std::string>();
  set->add_option("--asset", *request->mutable_asset(), "e.g. POINTS (not HOURS)")->required();
  set->add_option("--amount", *request->mutable_amount(), "e.g. 1000")->required();
  set->add_option("--memo", *request->mutable_memo(), "free text");
  set->add_option("--request-id", *request_id, "retry an interrupted call");
  set->callback([&globals, exit_code, request, request_id] {
    Session session(globals);
    v1::SetApprovalThresholdRequest r = *request;
    r.set_request_id(Id(*request_id, "threshold"));
    *exit_code = Simple(
        session, r.request_id(), "approval threshold", ToJson(r),
        [&](v1::Receipt* receipt) {
          return session.programme().SetApprovalThreshold(session.Context().get(), r, receipt);
        },
        r.amount() == "0"
            ? "no approval threshold for " + r.asset()
            : "earnings of " + r.asset() + " above " + r.amount() + " wait for a second approver");
  });
}

void AddActivity(CLI::App& app, Globals& globals, int* exit_code) {
  auto* activity = app.add_subcommand("activity", "an activity's hours, for its participants");
  activity->require_subcommand(1);
  auto* record = activity->add_subcommand(
      "record", "every participant's hours in one all-or-nothing call (issuer)");
  auto base = std::make_shared<v1::EarnRequest>();
  auto participants = std::make_shared<std::vector<std::string>>();
  auto hours = std::make_shared<std::string>();
  auto issuer = std::make_shared<std::string>();
  auto* a = base->mutable_activity();
  record
      ->add_option("participants", *participants, "MEMBER or MEMBER:HOURS, e.g. V00094 V00253:2.5")
      ->required();
  record->add_option("--id", *a->mutable_id(), "the activity's id, e.g. A26110001")->required();
  record->add_option("--name", *a->mutable_name(), "e.g. 政策宣讲")->required();
  record->add_option("--date", *a->mutable_date(), "YYYY-MM-DD")->required();
  record->add_option("--team", *a->mutable_team(), "the organising team, e.g. 反诈宣传志愿队");
  record->add_option("--category", *a->mutable_category(), "e.g. 助老");
  record->add_option("--place", *a->mutable_place(), "e.g. 沈周村文化礼堂");
  record->add_option("--hours", *hours, "each participant's hours unless MEMBER:HOURS says");
  record->add_option("--issuer", *issuer, "default: the issuer token's account");
  record->footer(
      "Example:\n  lovebank activity record --id A26110001 --name 政策宣讲 --date "
      "2026-11-01 --team 反诈宣传志愿队 --category 社区服务 --hours 3 V00094 V00253 "
      "V00154\nEach participant's request id is the activity's id and the member: "
      "running it again records nobody twice.");
  record->callback([&globals, exit_code, base, participants, hours, issuer] {
    Session session(globals);
    const std::string from = BoundAccount(session, *issuer, exit_code);
    if (from.empty()) return;
    v1::SubmitBatchRequest request;
    request.set_all_or_nothing(true);
    for (const std::string& participant : *participants) {
      const std::size_t colon = participant.find(':');
      const std::string member = participant.substr(0, colon);
      const std::string amount =
          colon == std::string::npos ? *hours : participant.substr(colon + 1);
      if (amount.empty()) {
        *exit_code = Usage("no hours for " + member + ": give --hours or MEMBER:HOURS");
        return;
      }
      v1::EarnRequest* earn = request.add_commands()->mutable_earn();
      *earn = *base;
      earn->set_request_id("act-" + base->activity().id() + "-" + member);
      earn->set_issuer(from);
      earn->set_member(member);
      earn->set_asset("HOURS");
      earn->set_amount(amount);
    }
    v1::SubmitBatchResponse response;
    const grpc::Status status =
        session.ledger().SubmitBatch(session.Context().get(), request, &response);
    if (!status.ok()) {
      *exit_code = Fail(globals, status);
      return;
    }
    int refused = 0;
    for (int i = 0; i < response.results_size(); ++i) {
      const v1::BatchResult& result = response.results(i);
      if (result.reason() != v1::REASON_OK && result.reason() != v1::REASON_BATCH_ABORTED) {
        ++refused;
        std::cerr << "lovebank: " << request.commands(i).earn().member() << ": "
                  << v1::Reason_Name(result.reason()).substr(7) << ": " << result.message() << "\n";
      }
    }
    if (globals.json) {
      PrintJson(ToJson(response));
    } else if (refused == 0) {
      std::cout << "  " << base->activity().name() << " " << base->activity().date() << ": "
                << response.results_size() << " participants recorded\n";
      for (int i = 0; i < response.results_size(); ++i) {
        const auto& earn = request.commands(i).earn();
        std::cout << "    " << earn.member() << " +" << earn.amount() << " HOURS  entry #"
                  << response.results(i).receipt().seq()
                  << (response.results(i).receipt().replayed() ? " (recorded before)" : "") << "\n";
      }
    } else {
      std::cerr << "lovebank: nothing recorded: the activity is all or nothing\n";
    }
    *exit_code = refused == 0 ? kExitOk : kExitRefused;
  });
}

}  // namespace

void AddRuleCommands(CLI::App& app, Globals& globals, int* exit_code) {
  AddTagsAndFamily(app, globals, exit_code);
  AddTransferPolicy(app, globals, exit_code);
  AddRules(app, globals, exit_code);
  AddAward(app, globals, exit_code);
  AddApproval(app, globals, exit_code);
  AddActivity(app, globals, exit_code);
}

}  // namespace lovebank::cli
