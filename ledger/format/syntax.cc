// Stateless command checks, run on the caller's thread before a command is queued
// (DESIGN.md "The write path": request threads do the syntax work).

#include "ledger/format/syntax.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/amount.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/signature.h"

namespace lovebank {
namespace {

SyntaxCheck Refuse(Reason reason, std::string message) { return {reason, std::move(message)}; }

SyntaxCheck CheckAccountId(std::string_view id, std::string_view field) {
  if (IsValidAccountId(id)) return {};
  return Refuse(Reason::kAccountIdInvalid,
                Cat(field, ": account ids are 1-64 bytes of [A-Za-z0-9._:@-]"));
}

SyntaxCheck CheckAssetCode(std::string_view code) {
  if (IsValidAssetCode(code)) return {};
  return Refuse(Reason::kAssetCodeInvalid,
                "asset codes are 1-16 bytes of [A-Z0-9_] starting with a letter");
}

SyntaxCheck CheckDisplayName(std::string_view name) {
  if (!name.empty() && name.size() <= kDisplayNameBytesMax && IsValidText(name, false)) return {};
  return Refuse(Reason::kDisplayNameInvalid,
                "display names are 1-128 bytes of UTF-8 text without control characters");
}

SyntaxCheck CheckAmountText(std::string_view amount, std::string_view field) {
  const Reason reason = CheckAmountGrammar(amount);
  if (reason == Reason::kOk) return {};
  return Refuse(reason, Cat(field, ": ", ReasonName(reason)));
}

SyntaxCheck CheckTags(const google::protobuf::RepeatedPtrField<std::string>& tags,
                      std::string_view field) {
  if (tags.size() > static_cast<int>(kTagsMax)) {
    return Refuse(Reason::kTagsInvalid, Cat(field, ": at most ", kTagsMax, " tags"));
  }
  std::set<std::string_view> seen;
  for (const auto& tag : tags) {
    if (!IsValidTag(tag)) {
      return Refuse(Reason::kTagsInvalid,
                    Cat(field, ": a tag is 1-32 bytes of [a-z0-9:._-], e.g. poverty-tier:1"));
    }
    if (!seen.insert(tag).second) {
      return Refuse(Reason::kTagsInvalid, Cat(field, ": ", tag, " is listed twice"));
    }
  }
  return {};
}

SyntaxCheck CheckMove(const v1::Move& move) {
  if (auto check = CheckAccountId(move.from(), "from"); check.reason != Reason::kOk) return check;
  if (auto check = CheckAccountId(move.to(), "to"); check.reason != Reason::kOk) return check;
  if (auto check = CheckAssetCode(move.asset()); check.reason != Reason::kOk) return check;
  if (auto check = CheckAmountText(move.amount(), "amount"); check.reason != Reason::kOk) {
    return check;
  }
  if (move.from() == move.to()) {
    return Refuse(Reason::kSameAccount, "a movement needs two different accounts");
  }
  if (move.has_activity()) {
    const v1::Activity& activity = move.activity();
    if (activity.name().empty() || activity.name().size() > kActivityNameBytesMax ||
        !IsValidText(activity.name(), false)) {
      return Refuse(Reason::kActivityInvalid, "activity name is 1-128 bytes of UTF-8 text");
    }
    if (!IsValidDate(activity.date())) {
      return Refuse(Reason::kActivityInvalid, "activity date is a calendar day as YYYY-MM-DD");
    }
    if (activity.place().size() > kPlaceBytesMax || !IsValidText(activity.place(), false)) {
      return Refuse(Reason::kActivityInvalid, "activity place is at most 128 bytes of UTF-8 text");
    }
    for (const std::string* text : {&activity.team(), &activity.category()}) {
      if (text->size() > kActivityNameBytesMax || !IsValidText(*text, false)) {
        return Refuse(Reason::kActivityInvalid,
                      "activity team and category are at most 128 bytes of UTF-8 text each");
      }
    }
    if (!activity.id().empty() && !IsValidAccountId(activity.id())) {
      return Refuse(Reason::kActivityInvalid,
                    "an activity id is 1-64 bytes of [A-Za-z0-9._:@-], e.g. A26110001");
    }
  }
  if (move.reason().size() > kMoveReasonBytesMax || !IsValidText(move.reason(), true)) {
    return Refuse(Reason::kMoveReasonInvalid, "reason is at most 256 bytes of UTF-8 text");
  }
  return {};
}

SyntaxCheck CheckText(std::string_view text, std::size_t max_bytes, Reason reason,
                      std::string_view what) {
  if (!text.empty() && text.size() <= max_bytes && IsValidText(text, true)) return {};
  return Refuse(reason, Cat(what, " is 1-", max_bytes, " bytes of UTF-8 text"));
}

// What every setting obeys, whatever its rule: no field this server does not know, each string
// UTF-8 text without control characters or line breaks (kSettingTextBytesMax), each list at
// most kSettingListMax long, the whole at most kSettingBytesMax serialized.
SyntaxCheck CheckSettingFields(const google::protobuf::Message& message, const std::string& path) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) {
    return Refuse(Reason::kSettingInvalid, Cat(path, " has a field this ledger does not know"));
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    const std::string name = Cat(path, ".", field->name());
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    if (field->is_repeated() && count > static_cast<int>(kSettingListMax)) {
      return Refuse(Reason::kSettingInvalid,
                    Cat(name, " lists ", count, "; at most ", kSettingListMax));
    }
    for (int i = 0; i < count; ++i) {
      const std::string at = field->is_repeated() ? Cat(name, "[", i, "]") : name;
      if (field->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& text =
            field->is_repeated()
                ? reflection->GetRepeatedStringReference(message, field, i, &scratch)
                : reflection->GetStringReference(message, field, &scratch);
        if (text.size() > kSettingTextBytesMax || !IsValidText(text, false)) {
          return Refuse(Reason::kSettingInvalid,
                        Cat(at, " is at most ", kSettingTextBytesMax,
                            " bytes of UTF-8 text without control characters"));
        }
      } else if (field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
        const google::protobuf::Message& inner =
            field->is_repeated() ? reflection->GetRepeatedMessage(message, field, i)
                                 : reflection->GetMessage(message, field);
        if (auto check = CheckSettingFields(inner, at); check.reason != Reason::kOk) return check;
      }
    }
  }
  return {};
}

SyntaxCheck CheckSetSetting(const v1::SetSetting& set) {
  if (set.value().value_case() == v1::SettingValue::VALUE_NOT_SET) {
    return Refuse(Reason::kSettingInvalid, "value names no setting this ledger knows");
  }
  if (set.ByteSizeLong() > kSettingBytesMax) {
    return Refuse(Reason::kSettingInvalid,
                  Cat("a setting is at most ", kSettingBytesMax, " bytes"));
  }
  return CheckSettingFields(set.value(), "value");
}

SyntaxCheck CheckSetAwardRule(const v1::SetAwardRule& rule) {
  if (!IsValidRuleCode(rule.code())) {
    return Refuse(Reason::kAwardRuleInvalid,
                  "rule codes are 1-32 bytes of [A-Z0-9_] starting with a letter");
  }
  if (auto check = CheckAssetCode(rule.asset()); check.reason != Reason::kOk) return check;
  if (rule.asset() == kHoursAsset) {
    return Refuse(Reason::kAwardRuleInvalid,
                  "hours are served, not awarded: a rule awards POINTS or another asset");
  }
  if (auto check = CheckAmountText(rule.amount(), "amount"); check.reason != Reason::kOk) {
    return check;
  }
  if (auto check = CheckTags(rule.eligible_tags(), "eligible_tags"); check.reason != Reason::kOk) {
    return check;
  }
  if (rule.frequency() == v1::AWARD_FREQUENCY_UNSPECIFIED ||
      !v1::AwardFrequency_IsValid(rule.frequency())) {
    return Refuse(Reason::kAwardRuleInvalid,
                  "frequency must be UNLIMITED, ONCE_EVER, ONCE_PER_YEAR or ONCE_PER_SCHOOL_YEAR");
  }
  return CheckText(rule.description(), kRuleDescriptionBytesMax, Reason::kAwardRuleInvalid,
                   "description");
}

SyntaxCheck CheckGrantPrincipal(const v1::GrantPrincipal& grant) {
  if (!IsValidPrincipal(grant.principal())) {
    return Refuse(Reason::kPrincipalInvalid, "principal names are 1-64 bytes of [A-Za-z0-9._:@-]");
  }
  if (grant.principal() == kEngineActor || grant.principal() == kLovebankdActor) {
    return Refuse(Reason::kPrincipalInvalid,
                  Cat(grant.principal(), " is the ledger's own actor, no principal's name"));
  }
  if (grant.role() == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(grant.role())) {
    return Refuse(Reason::kRoleInvalid,
                  "role must be ADMIN, ISSUER, TERMINAL, MEMBER, AUDITOR or APPROVER");
  }
  for (const auto& account : grant.accounts()) {
    if (auto check = CheckAccountId(account, "accounts"); check.reason != Reason::kOk) {
      return check;
    }
  }
  const std::size_t count = grant.accounts_size();
  const std::set<std::string_view> distinct(grant.accounts().begin(), grant.accounts().end());
  bool fits = distinct.size() == count;
  switch (grant.role()) {
    case v1::ROLE_ISSUER:
      fits = fits && count >= 1 && count <= kRoleAccountsMax;
      break;
    case v1::ROLE_TERMINAL:
    case v1::ROLE_MEMBER:
      fits = fits && count == 1;
      break;
    default:
      fits = fits && count == 0;
      break;
  }
  if (!fits) {
    return Refuse(Reason::kRoleAccountsInvalid,
                  "ISSUER binds 1-64 distinct accounts, TERMINAL and MEMBER exactly one, "
                  "ADMIN and AUDITOR none");
  }
  if (grant.token_sha256().size() != 32) {
    return Refuse(Reason::kTokenHashInvalid, "token_sha256 is 32 bytes");
  }
  if (grant.display_name().size() > kDisplayNameBytesMax ||
      !IsValidText(grant.display_name(), false)) {
    return Refuse(Reason::kDisplayNameInvalid, "display names are at most 128 bytes of UTF-8 text");
  }
  if (grant.activation_ttl_seconds() != 0) {
    if (grant.role() != v1::ROLE_MEMBER) {
      return Refuse(Reason::kRoleInvalid, "only MEMBER devices wait for activation");
    }
    if (grant.activation_ttl_seconds() < kActivationTtlSecondsMin ||
        grant.activation_ttl_seconds() > kActivationTtlSecondsMax) {
      return Refuse(Reason::kPrincipalInvalid,
                    "an activation code lasts 60 seconds to 30 days (activation_ttl_seconds)");
    }
  }
  return {};
}

SyntaxCheck CheckActivatePrincipal(const v1::ActivatePrincipal& activate) {
  if (!IsValidPrincipal(activate.principal())) {
    return Refuse(Reason::kPrincipalInvalid, "principal names are 1-64 bytes of [A-Za-z0-9._:@-]");
  }
  if (activate.token_sha256().size() != 32) {
    return Refuse(Reason::kTokenHashInvalid, "token_sha256 is 32 bytes");
  }
  if (activate.device_name().size() > kDisplayNameBytesMax ||
      !IsValidText(activate.device_name(), false)) {
    return Refuse(Reason::kDisplayNameInvalid, "device names are at most 128 bytes of UTF-8 text");
  }
  return {};
}

}  // namespace

SyntaxCheck CheckContact(std::string_view card_number, std::string_view phone) {
  const bool card_ok =
      card_number.empty() ||
      (card_number.size() >= kCardNumberBytesMin && card_number.size() <= kCardNumberBytesMax &&
       std::all_of(card_number.begin(), card_number.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }));
  if (!card_ok) {
    return Refuse(Reason::kAccountCardInvalid, Cat("a card number is ", kCardNumberBytesMin, "-",
                                                   kCardNumberBytesMax, " of 0-9 and A-Z"));
  }
  const std::string_view digits = !phone.empty() && phone[0] == '+' ? phone.substr(1) : phone;
  const bool phone_ok =
      phone.empty() ||
      (digits.size() >= kPhoneDigitsMin && digits.size() <= kPhoneDigitsMax &&
       std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }));
  if (!phone_ok) {
    return Refuse(
        Reason::kAccountPhoneInvalid,
        Cat("a phone is an optional + and ", kPhoneDigitsMin, "-", kPhoneDigitsMax, " digits"));
  }
  return {};
}

namespace {

SyntaxCheck CheckOpenAccount(const v1::OpenAccount& open) {
  if (auto check = CheckAccountId(open.account(), "account"); check.reason != Reason::kOk) {
    return check;
  }
  if (auto check = CheckDisplayName(open.display_name()); check.reason != Reason::kOk) {
    return check;
  }
  if (open.kind() == v1::ACCOUNT_KIND_UNSPECIFIED || !v1::AccountKind_IsValid(open.kind())) {
    return Refuse(Reason::kAccountKindInvalid, "kind must be MEMBER, STORE, ISSUER or SYSTEM");
  }
  if (!open.budgets().empty() && open.kind() != v1::ACCOUNT_KIND_ISSUER) {
    return Refuse(Reason::kBudgetInvalid, "only ISSUER accounts have budgets");
  }
  std::set<std::string_view> assets;
  for (const auto& budget : open.budgets()) {
    if (auto check = CheckAssetCode(budget.asset()); check.reason != Reason::kOk) return check;
    if (auto check = CheckAmountText(budget.amount(), "budget"); check.reason != Reason::kOk) {
      return check;
    }
    if (!assets.insert(budget.asset()).second) {
      return Refuse(Reason::kBudgetInvalid, Cat("two budgets for ", budget.asset()));
    }
  }
  if (auto check = CheckContact(open.card_number(), open.phone()); check.reason != Reason::kOk) {
    return check;
  }
  return CheckTags(open.tags(), "tags");
}

SyntaxCheck CheckDefineAsset(const v1::DefineAsset& define) {
  if (auto check = CheckAssetCode(define.code()); check.reason != Reason::kOk) return check;
  if (define.scale() > kScaleMax) {
    return Refuse(Reason::kScaleInvalid, "scale is 0-18 decimal places");
  }
  if (auto check = CheckAmountText(define.maximum(), "maximum"); check.reason != Reason::kOk) {
    return check;
  }
  return CheckDisplayName(define.display_name());
}

SyntaxCheck CheckBasket(const google::protobuf::RepeatedPtrField<v1::BasketLine>& lines) {
  if (lines.empty() || lines.size() > static_cast<int>(kBasketLinesMax)) {
    return Refuse(Reason::kBasketInvalid, "a basket has 1-100 lines");
  }
  std::set<std::string_view> skus;
  for (const auto& line : lines) {
    if (auto check = CheckAssetCode(line.sku()); check.reason != Reason::kOk) return check;
    if (line.quantity() == 0 || line.quantity() > kBasketQuantityMax) {
      return Refuse(Reason::kBasketInvalid,
                    Cat(line.sku(), ": a line's quantity is 1-10000 whole units"));
    }
    if (!skus.insert(line.sku()).second) {
      return Refuse(Reason::kBasketInvalid, Cat(line.sku(), " is on two lines"));
    }
  }
  return {};
}

// Receiving stock names the donor; writing it off names the reason.
SyntaxCheck CheckStockMove(const v1::Move& move, std::string_view needs) {
  if (auto check = CheckMove(move); check.reason != Reason::kOk) return check;
  if (move.reason().empty()) return Refuse(Reason::kMoveReasonMissing, Cat("reason: ", needs));
  return {};
}

SyntaxCheck CheckMemberStorePay(const std::string& member, const std::string& store,
                                const std::string& pay_asset) {
  if (auto check = CheckAccountId(member, "member"); check.reason != Reason::kOk) return check;
  if (auto check = CheckAccountId(store, "store"); check.reason != Reason::kOk) return check;
  if (pay_asset != kPointsAsset && pay_asset != kHoursAsset) {
    return Refuse(Reason::kPayAssetInvalid, "a basket is paid in POINTS or HOURS");
  }
  return {};
}

SyntaxCheck CheckHoldTarget(std::uint64_t hold_seq, const std::string& store) {
  if (hold_seq == 0) return Refuse(Reason::kHoldCommandInvalid, "hold_seq names the hold's entry");
  return CheckAccountId(store, "store");
}

// Services (issue #26): a posting's texts, day and hours; a step's seq, hours and reason.
SyntaxCheck ServiceInvalid(std::string message) {
  return Refuse(Reason::kServiceInvalid, std::move(message));
}

SyntaxCheck CheckServiceText(std::string_view text, std::size_t min_bytes, std::size_t max_bytes,
                             std::string_view what) {
  if (text.size() >= min_bytes && text.size() <= max_bytes && IsValidText(text, false)) return {};
  return ServiceInvalid(
      Cat(what, " is ", min_bytes, "-", max_bytes, " bytes of UTF-8 text without line breaks"));
}

SyntaxCheck CheckServiceHours(std::string_view hours, std::string_view field) {
  const Reason reason = CheckAmountGrammar(hours);
  if (reason == Reason::kOk) return {};
  return ServiceInvalid(
      Cat(field, " is a number of hours above 0, e.g. 2 or 1.50 (", ReasonName(reason), ")"));
}

SyntaxCheck CheckPostService(const v1::PostService& post) {
  if (post.kind() != v1::SERVICE_KIND_REQUEST && post.kind() != v1::SERVICE_KIND_OFFER) {
    return ServiceInvalid("kind is REQUEST or OFFER");
  }
  if (auto check = CheckAccountId(post.member(), "member"); check.reason != Reason::kOk) {
    return check;
  }
  for (const auto& [text, low, high, what] :
       {std::tuple<const std::string&, std::size_t, std::size_t, const char*>{
            post.category(), 1, kServiceCategoryBytesMax, "category"},
        {post.description(), 1, kServiceDescriptionBytesMax, "description"},
        {post.place(), 0, kServicePlaceBytesMax, "place"},
        {post.time(), 0, kServiceTimeBytesMax, "time"}}) {
    if (auto check = CheckServiceText(text, low, high, what); check.reason != Reason::kOk) {
      return check;
    }
  }
  if (!IsValidDate(post.day())) return ServiceInvalid("day is a calendar day as YYYY-MM-DD");
  if (post.kind() == v1::SERVICE_KIND_OFFER) {
    if (!post.hours().empty() || !post.provider().empty()) {
      return ServiceInvalid("an offer names no hours and no provider: a request pays them");
    }
    return {};
  }
  if (!post.hours().empty()) {
    if (auto check = CheckServiceHours(post.hours(), "hours"); check.reason != Reason::kOk) {
      return check;
    }
  }
  if (!post.provider().empty()) {
    if (auto check = CheckAccountId(post.provider(), "provider"); check.reason != Reason::kOk) {
      return check;
    }
    if (post.provider() == post.member()) return ServiceInvalid("a member does not serve itself");
  }
  return {};
}

SyntaxCheck CheckServiceSeq(std::uint64_t seq) {
  if (seq == 0) return ServiceInvalid("service_seq names the request's or offer's entry");
  return {};
}

SyntaxCheck CheckServiceReason(std::string_view reason) {
  return CheckText(reason, kMoveReasonBytesMax, Reason::kServiceInvalid, "reason");
}

SyntaxCheck CheckSetItem(const v1::SetItem& set) {
  if (auto check = CheckAccountId(set.store(), "store"); check.reason != Reason::kOk) return check;
  if (auto check = CheckAssetCode(set.sku()); check.reason != Reason::kOk) return check;
  if (auto check = CheckDisplayName(set.name()); check.reason != Reason::kOk) return check;
  if (set.unit().empty() || set.unit().size() > kItemUnitBytesMax ||
      !IsValidText(set.unit(), false)) {
    return Refuse(Reason::kItemUnitInvalid, "unit is 1-16 bytes of UTF-8 text, e.g. 袋");
  }
  return CheckAmountText(set.price(), "price");
}

}  // namespace

SyntaxCheck CheckCommandSyntax(const v1::Command& command) {
  if (!IsValidRequestId(command.request_id())) {
    return Refuse(Reason::kRequestIdInvalid, "request ids are 1-128 bytes of [A-Za-z0-9._:@-]");
  }
  if (command.actor().empty() || command.actor().size() > kActorBytesMax ||
      !IsValidText(command.actor(), false)) {
    return Refuse(Reason::kActorInvalid, "actor is 1-128 bytes of UTF-8 text");
  }
  if (command.memo().size() > kMemoBytesMax || !IsValidText(command.memo(), true)) {
    return Refuse(Reason::kMemoInvalid, "memo is at most 512 bytes of UTF-8 text");
  }
  // The "lovebank:" request ids are the engine's own: exactly one per ReleaseHold and
  // ExpirePending it writes.
  const bool engine_id = command.request_id().starts_with(kEngineRequestPrefix);
  if (command.has_release_hold()) {
    if (command.request_id() != ReleaseRequestId(command.release_hold().hold_seq()) ||
        command.actor() != kEngineActor) {
      return Refuse(Reason::kHoldCommandInvalid,
                    "holds are released by the engine alone when they expire");
    }
  } else if (command.has_expire_pending()) {
    if (command.request_id() != ExpireRequestId(command.expire_pending().seq()) ||
        command.actor() != kEngineActor || command.expire_pending().seq() == 0) {
      return Refuse(Reason::kPendingCommandInvalid,
                    "pending awards lapse by the engine alone when they expire");
    }
  } else if (command.has_expire_service()) {
    if (command.request_id() != ServiceExpireRequestId(command.expire_service().service_seq()) ||
        command.actor() != kEngineActor || command.expire_service().service_seq() == 0) {
      return Refuse(Reason::kServiceInvalid, "services lapse by the engine alone");
    }
  } else if (engine_id) {
    return Refuse(Reason::kRequestIdReserved,
                  Cat("request ids starting with ", kEngineRequestPrefix, " are the engine's own"));
  }
  switch (command.body_case()) {
    case v1::Command::kEarn:
      return CheckMove(command.earn());
    case v1::Command::kDeduct:
      return CheckMove(command.deduct());
    case v1::Command::kRedeem:
      return CheckMove(command.redeem());
    case v1::Command::kTransfer:
      return CheckMove(command.transfer());
    case v1::Command::kReverse:
      return {};  // the sequencer looks the entry up (seq 0 is never one: kEntryUnknown)
    case v1::Command::kOpenAccount:
      return CheckOpenAccount(command.open_account());
    case v1::Command::kDefineAsset:
      return CheckDefineAsset(command.define_asset());
    case v1::Command::kSetAccountStatus: {
      const auto& set = command.set_account_status();
      if (auto check = CheckAccountId(set.account(), "account"); check.reason != Reason::kOk) {
        return check;
      }
      if (set.status() == v1::ACCOUNT_STATUS_UNSPECIFIED ||
          !v1::AccountStatus_IsValid(set.status())) {
        return Refuse(Reason::kAccountStatusInvalid, "status must be ACTIVE or FROZEN");
      }
      return {};
    }
    case v1::Command::kGrantPrincipal:
      return CheckGrantPrincipal(command.grant_principal());
    case v1::Command::kActivatePrincipal:
      return CheckActivatePrincipal(command.activate_principal());
    case v1::Command::kRevokePrincipal:
      if (!IsValidPrincipal(command.revoke_principal().principal())) {
        return Refuse(Reason::kPrincipalInvalid,
                      "principal names are 1-64 bytes of [A-Za-z0-9._:@-]");
      }
      return {};
    case v1::Command::kSetDevicePin: {
      const auto& set = command.set_device_pin();
      if (!IsValidPrincipal(set.principal())) {
        return Refuse(Reason::kPrincipalInvalid,
                      "principal names are 1-64 bytes of [A-Za-z0-9._:@-]");
      }
      const bool cleared = set.pin_key_wrapped().empty() && set.wrap_nonce().empty();
      if (!cleared && (set.pin_key_wrapped().size() != 32 || set.wrap_nonce().size() != 16)) {
        return Refuse(
            Reason::kDevicePinInvalid,
            "a PIN's wrapped code key is 32 bytes with a 16-byte nonce (both empty: none)");
      }
      return {};
    }
    case v1::Command::kReceiveStock:
      return CheckStockMove(command.receive_stock(), "the donor, e.g. 爱心企业 XX 公司");
    case v1::Command::kWriteOffStock:
      return CheckStockMove(command.write_off_stock(), "why, e.g. 过期 or 破损");
    case v1::Command::kSettle:
      return CheckMove(command.settle());
    case v1::Command::kCheckout: {
      const auto& checkout = command.checkout();
      if (auto check =
              CheckMemberStorePay(checkout.member(), checkout.store(), checkout.pay_asset());
          check.reason != Reason::kOk) {
        return check;
      }
      return CheckBasket(checkout.lines());
    }
    case v1::Command::kAuthorizeHold: {
      const auto& hold = command.authorize_hold();
      if (auto check = CheckMemberStorePay(hold.member(), hold.store(), hold.pay_asset());
          check.reason != Reason::kOk) {
        return check;
      }
      if (hold.timeout_seconds() > kHoldTimeoutMaxSeconds) {
        return Refuse(Reason::kHoldCommandInvalid,
                      Cat("a hold lasts at most ", kHoldTimeoutMaxSeconds, " seconds"));
      }
      return CheckBasket(hold.lines());
    }
    case v1::Command::kCaptureHold: {
      const auto& capture = command.capture_hold();
      if (auto check = CheckHoldTarget(capture.hold_seq(), capture.store());
          check.reason != Reason::kOk) {
        return check;
      }
      return capture.lines().empty() ? SyntaxCheck{} : CheckBasket(capture.lines());
    }
    case v1::Command::kVoidHold:
      return CheckHoldTarget(command.void_hold().hold_seq(), command.void_hold().store());
    case v1::Command::kSetStarLevels: {
      const auto& thresholds = command.set_star_levels().thresholds();
      if (thresholds.empty() || thresholds.size() > static_cast<int>(kStarLevelsMax)) {
        return Refuse(Reason::kStarLevelsInvalid, "1-10 star thresholds, in HOURS");
      }
      for (const auto& threshold : thresholds) {
        if (auto check = CheckAmountText(threshold, "thresholds"); check.reason != Reason::kOk) {
          return check;
        }
      }
      return {};
    }
    case v1::Command::kSetHoursCap: {
      const auto& cap = command.set_hours_cap();
      if (auto check = CheckAmountText(cap.maximum(), "maximum"); check.reason != Reason::kOk) {
        return check;
      }
      if (cap.maximum() == "0" && cap.pool_account().empty()) return {};
      return CheckAccountId(cap.pool_account(), "pool_account");
    }
    case v1::Command::kSetDailyHoursCap:
      return CheckAmountText(command.set_daily_hours_cap().maximum(), "maximum");
    case v1::Command::kReleaseHold:
      if (command.release_hold().hold_seq() == 0) {
        return Refuse(Reason::kHoldCommandInvalid, "hold_seq names the hold's entry");
      }
      return {};
    case v1::Command::kRefund:
      return CheckBasket(command.refund().lines());
    case v1::Command::kSetItem:
      return CheckSetItem(command.set_item());
    case v1::Command::kSetExchangeRatio: {
      const auto& set = command.set_exchange_ratio();
      if (auto check = CheckAccountId(set.exchange_account(), "exchange_account");
          check.reason != Reason::kOk) {
        return check;
      }
      return CheckAmountText(set.points_per_hour(), "points_per_hour");
    }
    case v1::Command::kSetLimit: {
      const auto& set = command.set_limit();
      if (!set.sku().empty()) {
        if (auto check = CheckAssetCode(set.sku()); check.reason != Reason::kOk) return check;
      }
      if (set.period() == v1::PERIOD_UNSPECIFIED || !v1::Period_IsValid(set.period())) {
        return Refuse(Reason::kPeriodInvalid, "period must be DAY, WEEK, MONTH or YEAR");
      }
      return CheckAmountText(set.maximum(), "maximum");
    }
    case v1::Command::kSetHousehold: {
      const auto& set = command.set_household();
      if (auto check = CheckAccountId(set.household(), "household"); check.reason != Reason::kOk) {
        return check;
      }
      if (set.members_size() > static_cast<int>(kHouseholdMembersMax)) {
        return Refuse(Reason::kHouseholdInvalid, "a household has at most 32 members");
      }
      std::set<std::string_view> members;
      for (const auto& member : set.members()) {
        if (auto check = CheckAccountId(member, "members"); check.reason != Reason::kOk) {
          return check;
        }
        if (!members.insert(member).second) {
          return Refuse(Reason::kHouseholdInvalid, Cat(member, " is listed twice"));
        }
      }
      return {};
    }
    case v1::Command::kSetAccountContact: {
      const auto& set = command.set_account_contact();
      if (auto check = CheckAccountId(set.account(), "account"); check.reason != Reason::kOk) {
        return check;
      }
      return CheckContact(set.card_number(), set.phone());
    }
    case v1::Command::kSetBudget: {
      const auto& set = command.set_budget();
      if (auto check = CheckAccountId(set.account(), "account"); check.reason != Reason::kOk) {
        return check;
      }
      if (auto check = CheckAssetCode(set.budget().asset()); check.reason != Reason::kOk) {
        return check;
      }
      return CheckAmountText(set.budget().amount(), "budget");
    }
    case v1::Command::kSetAccountTags:
      if (auto check = CheckAccountId(command.set_account_tags().account(), "account");
          check.reason != Reason::kOk) {
        return check;
      }
      return CheckTags(command.set_account_tags().tags(), "tags");
    case v1::Command::kSetFamily: {
      const auto& set = command.set_family();
      if (auto check = CheckAccountId(set.member(), "member"); check.reason != Reason::kOk) {
        return check;
      }
      if (set.relatives_size() > static_cast<int>(kRelativesMax)) {
        return Refuse(Reason::kFamilyInvalid, Cat("at most ", kRelativesMax, " relatives"));
      }
      std::set<std::string_view> relatives;
      for (const auto& relative : set.relatives()) {
        if (auto check = CheckAccountId(relative, "relatives"); check.reason != Reason::kOk) {
          return check;
        }
        if (relative == set.member()) {
          return Refuse(Reason::kFamilyInvalid, "a member is not their own relative");
        }
        if (!relatives.insert(relative).second) {
          return Refuse(Reason::kFamilyInvalid, Cat(relative, " is listed twice"));
        }
      }
      return {};
    }
    case v1::Command::kSetTransferPolicy: {
      const auto& set = command.set_transfer_policy();
      if (auto check = CheckAssetCode(set.asset()); check.reason != Reason::kOk) return check;
      if (!set.tag().empty() && !IsValidTag(set.tag())) {
        return Refuse(Reason::kTagsInvalid, "a tag is 1-32 bytes of [a-z0-9:._-]");
      }
      if (set.rule() == v1::TRANSFER_RULE_UNSPECIFIED || !v1::TransferRule_IsValid(set.rule())) {
        return Refuse(Reason::kTransferPolicyInvalid,
                      "rule must be OPEN, FAMILY_OR_POOL or CLOSED");
      }
      if (set.pool_account().empty()) return {};
      if (set.rule() != v1::TRANSFER_RULE_FAMILY_OR_POOL) {
        return Refuse(Reason::kTransferPolicyInvalid,
                      "a donation pool goes with the FAMILY_OR_POOL rule only");
      }
      return CheckAccountId(set.pool_account(), "pool_account");
    }
    case v1::Command::kSetAwardRule:
      return CheckSetAwardRule(command.set_award_rule());
    case v1::Command::kAward: {
      const auto& award = command.award();
      if (!IsValidRuleCode(award.rule())) {
        return Refuse(Reason::kAwardRuleInvalid,
                      "rule codes are 1-32 bytes of [A-Z0-9_] starting with a letter");
      }
      if (auto check = CheckAccountId(award.member(), "member"); check.reason != Reason::kOk) {
        return check;
      }
      if (auto check = CheckAccountId(award.issuer(), "issuer"); check.reason != Reason::kOk) {
        return check;
      }
      if (!award.month().empty() && !IsValidMonth(award.month())) {
        return Refuse(Reason::kAwardMonthInvalid, "an award's month is YYYY-MM, e.g. 2026-11");
      }
      return CheckText(award.reason(), kMoveReasonBytesMax, Reason::kMoveReasonInvalid,
                       "an award's reason");
    }
    case v1::Command::kSetApprovalThreshold: {
      const auto& set = command.set_approval_threshold();
      if (auto check = CheckAssetCode(set.asset()); check.reason != Reason::kOk) return check;
      if (set.asset() == kHoursAsset) {
        return Refuse(Reason::kPendingCommandInvalid,
                      "approval thresholds are for assets other than HOURS (the daily cap "
                      "guards hours)");
      }
      return CheckAmountText(set.amount(), "amount");
    }
    case v1::Command::kApprove:
      if (command.approve().seq() == 0) {
        return Refuse(Reason::kPendingCommandInvalid, "seq names the pending entry");
      }
      return {};
    case v1::Command::kReject:
      if (command.reject().seq() == 0) {
        return Refuse(Reason::kPendingCommandInvalid, "seq names the pending entry");
      }
      return CheckText(command.reject().reason(), kMoveReasonBytesMax,
                       Reason::kPendingCommandInvalid, "a rejection's reason");
    case v1::Command::kExpirePending:
      return {};  // checked above with its request id
    case v1::Command::kSetSetting:
      return CheckSetSetting(command.set_setting());
    case v1::Command::kCosignHead: {
      const v1::CosignHead& cosign = command.cosign_head();
      if (cosign.tree_size() == 0 || cosign.root().size() != 32 ||
          cosign.witness_key().size() != signature::kPublicKeyBytes ||
          cosign.signature().size() != signature::kSignatureBytes) {
        return Refuse(Reason::kCosignatureInvalid,
                      "a co-signature names a tree size from 1, a 32-byte root, a 32-byte "
                      "Ed25519 key and a 64-byte signature");
      }
      return {};
    }
    case v1::Command::kPostService:
      return CheckPostService(command.post_service());
    case v1::Command::kAcceptService:
      if (auto check = CheckServiceSeq(command.accept_service().service_seq());
          check.reason != Reason::kOk) {
        return check;
      }
      return CheckAccountId(command.accept_service().provider(), "provider");
    case v1::Command::kCompleteService:
      if (auto check = CheckServiceSeq(command.complete_service().service_seq());
          check.reason != Reason::kOk) {
        return check;
      }
      return CheckServiceHours(command.complete_service().hours(), "hours");
    case v1::Command::kConfirmService:
      if (auto check = CheckServiceSeq(command.confirm_service().service_seq());
          check.reason != Reason::kOk) {
        return check;
      }
      return CheckServiceHours(command.confirm_service().hours(), "hours");
    case v1::Command::kCancelService:
      if (auto check = CheckServiceSeq(command.cancel_service().service_seq());
          check.reason != Reason::kOk) {
        return check;
      }
      return CheckServiceReason(command.cancel_service().reason());
    case v1::Command::kDisputeService:
      if (auto check = CheckServiceSeq(command.dispute_service().service_seq());
          check.reason != Reason::kOk) {
        return check;
      }
      return CheckServiceReason(command.dispute_service().reason());
    case v1::Command::kResolveService: {
      const auto& resolve = command.resolve_service();
      if (auto check = CheckServiceSeq(resolve.service_seq()); check.reason != Reason::kOk) {
        return check;
      }
      // "0" pays nothing: the amount grammar takes it.
      if (auto check = CheckServiceHours(resolve.hours(), "hours"); check.reason != Reason::kOk) {
        return check;
      }
      return CheckServiceReason(resolve.reason());
    }
    case v1::Command::kExpireService:
      return {};  // checked above with its request id
    case v1::Command::BODY_NOT_SET:
      break;
  }
  return Refuse(Reason::kCommandMissing, "the command has no body");
}

}  // namespace lovebank
