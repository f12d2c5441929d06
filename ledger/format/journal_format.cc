#include "ledger/format/journal_format.h"

#include <chrono>
#include <cstdio>
#include <initializer_list>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/format/sha256.h"

namespace lovebank {

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int byte = 0;
    for (char c : hex.substr(i, 2)) {
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return std::nullopt;
      byte = byte * 16 + digit;
    }
    out.push_back(static_cast<char>(byte));
  }
  return out;
}

Hash GenesisHash(std::string_view ledger_id) { return Sha256({"lovebank/v1/genesis", ledger_id}); }

Hash ChainHash(const Hash& prev, std::uint64_t seq, std::string_view payload) {
  char numbers[16];
  StoreFixed64BE(numbers, seq);
  StoreFixed64BE(numbers + 8, payload.size());
  return Sha256({HashBytes(prev), std::string_view(numbers, sizeof(numbers)), payload});
}

std::string HashToHex(const Hash& hash) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

std::string TreeNodeKey(unsigned level, std::uint64_t index) {
  std::string key(1, static_cast<char>(level));
  PutFixed64BE(&key, index);
  return key;
}

std::optional<Hash> HashFromBytes(std::string_view bytes) {
  if (bytes.size() != 32) return std::nullopt;
  Hash hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

std::string EncodeStoredEntry(const Hash& hash, const Hash& prev_hash, std::string_view payload) {
  std::string value;
  value.reserve(kStoredEntryHeaderBytes + payload.size());
  value.push_back(static_cast<char>(kEntryFormatVersion));
  value.append(hash.begin(), hash.end());
  value.append(prev_hash.begin(), prev_hash.end());
  value.append(payload);
  return value;
}

std::optional<StoredEntryView> DecodeStoredEntry(std::string_view value) {
  if (value.size() < kStoredEntryHeaderBytes) return std::nullopt;
  if (static_cast<std::uint8_t>(value[0]) != kEntryFormatVersion) return std::nullopt;
  StoredEntryView view;
  std::copy(value.begin() + 1, value.begin() + 33, view.hash.begin());
  std::copy(value.begin() + 33, value.begin() + 65, view.prev_hash.begin());
  view.payload = value.substr(kStoredEntryHeaderBytes);
  return view;
}

std::string BalanceKey(std::string_view account, std::string_view asset) {
  std::string key;
  key.reserve(account.size() + 1 + asset.size());
  key.append(account);
  key.push_back('\0');
  key.append(asset);
  return key;
}

std::string AccountEntryPrefix(std::string_view account) {
  std::string key(account);
  key.push_back('\0');
  return key;
}

std::string PeriodStart(v1::Period period, std::int64_t time_unix_us) {
  using namespace std::chrono;
  const auto local =
      sys_seconds(seconds(time_unix_us / 1'000'000 - (time_unix_us % 1'000'000 < 0 ? 1 : 0) +
                          kProgrammeUtcOffsetSeconds));
  sys_days day = floor<days>(local);
  char letter = 'D';
  switch (period) {
    case v1::PERIOD_DAY:
      break;
    case v1::PERIOD_WEEK:
      letter = 'W';
      day -= (weekday(day) - Monday);
      break;
    case v1::PERIOD_MONTH: {
      letter = 'M';
      const year_month_day ymd(day);
      day = sys_days(ymd.year() / ymd.month() / 1);
      break;
    }
    case v1::PERIOD_YEAR: {
      letter = 'Y';
      const year_month_day ymd(day);
      day = sys_days(ymd.year() / January / 1);
      break;
    }
    default:
      LOVEBANK_CHECK(false && "PeriodStart of an unspecified period");
  }
  const year_month_day ymd(day);
  char text[16];
  std::snprintf(text, sizeof(text), "%c%04d-%02u-%02u", letter, static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

std::int64_t ProgrammeDayEnd(std::string_view day) {
  using namespace std::chrono;
  const auto number = [&day](std::size_t at, std::size_t size) {
    int value = 0;
    for (std::size_t i = at; i < at + size; ++i) value = value * 10 + (day[i] - '0');
    return value;
  };
  LOVEBANK_CHECK(day.size() == 10);
  const sys_days next = sys_days(year(number(0, 4)) / month(static_cast<unsigned>(number(5, 2))) /
                                 static_cast<unsigned>(number(8, 2))) +
                        days(1);
  return (static_cast<std::int64_t>(next.time_since_epoch().count()) * 86400 -
          kProgrammeUtcOffsetSeconds) *
         1'000'000;
}

std::string ProgrammeDay(std::int64_t time_unix_us) {
  return PeriodStart(v1::PERIOD_DAY, time_unix_us).substr(1);
}

std::string UsageKey(std::string_view member, std::string_view sku, v1::Period period,
                     std::int64_t time_unix_us) {
  std::string key(member);
  key.push_back('\0');
  key.append(sku);
  key.push_back('\0');
  key.append(PeriodStart(period, time_unix_us));
  return key;
}

std::string SettingKey(const v1::SettingValue& value) {
  if (value.value_case() == v1::SettingValue::VALUE_NOT_SET) return {};
  const auto* field = v1::SettingValue::descriptor()->FindFieldByNumber(value.value_case());
  return std::string(meta_key::kSettingPrefix) + field->name();
}

std::string SettingKeyOfType(const google::protobuf::Descriptor* type) {
  const auto* oneof = v1::SettingValue::descriptor()->FindOneofByName("value");
  for (int i = 0; i < oneof->field_count(); ++i) {
    if (oneof->field(i)->message_type() == type) {
      return std::string(meta_key::kSettingPrefix) + oneof->field(i)->name();
    }
  }
  return {};
}

bool IsProgrammeRuleKey(std::string_view key) {
  for (std::string_view prefix : {meta_key::kAwardRulePrefix, meta_key::kTransferPolicyPrefix,
                                  meta_key::kApprovalThresholdPrefix, meta_key::kSettingPrefix}) {
    if (key.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

bool IsSettingKey(std::string_view key) {
  return key != meta_key::kFormatVersion && key != meta_key::kLedgerId &&
         key != meta_key::kHeadSeq && key != meta_key::kHeadHash;
}

std::string AwardMonth(const v1::Award& award, std::int64_t time_unix_us) {
  if (!award.month().empty()) return award.month();
  return PeriodStart(v1::PERIOD_MONTH, time_unix_us).substr(1, 7);
}

std::int64_t AwardTime(const v1::Award& award, std::int64_t time_unix_us) {
  if (award.month().empty()) return time_unix_us;
  return ProgrammeDayEnd(award.month() + "-01") - std::int64_t{86400} * 1'000'000;
}

std::string AwardMonthProblem(std::string_view month, std::int64_t time_unix_us) {
  if (!IsValidMonth(month)) return "an award's month is YYYY-MM, e.g. 2026-11";
  const std::string posted = PeriodStart(v1::PERIOD_MONTH, time_unix_us).substr(1, 7);
  if (month > posted)
    return Cat("month ", month, " is after ", posted, ", the month it is posted in");
  const int index =
      std::stoi(std::string(month.substr(0, 4))) * 12 + std::stoi(std::string(month.substr(5, 2)));
  const int posted_index = std::stoi(posted.substr(0, 4)) * 12 + std::stoi(posted.substr(5, 2));
  if (posted_index - index > kAwardMonthsBackMax) {
    return Cat("month ", month, " is more than ", kAwardMonthsBackMax, " months before ", posted);
  }
  return "";
}

std::string AwardPeriod(v1::AwardFrequency frequency, std::int64_t time_unix_us) {
  switch (frequency) {
    case v1::AWARD_FREQUENCY_ONCE_EVER:
      return "ever";
    case v1::AWARD_FREQUENCY_ONCE_PER_YEAR:
      return PeriodStart(v1::PERIOD_YEAR, time_unix_us).substr(0, 5);  // "Y2026"
    case v1::AWARD_FREQUENCY_ONCE_PER_SCHOOL_YEAR: {
      // "M2026-11-01": months 9-12 belong to the school year starting that year.
      const std::string month = PeriodStart(v1::PERIOD_MONTH, time_unix_us);
      int year = std::stoi(month.substr(1, 4));
      if (std::stoi(month.substr(6, 2)) < 9) --year;
      return "S" + std::to_string(year);
    }
    default:
      return "";
  }
}

std::string ApprovalUsageKey(std::string_view issuer, std::string_view member,
                             std::string_view asset, std::int64_t time_unix_us) {
  std::string key(member);
  key.append(1, '\0').append("APPROVAL").append(1, '\0').append(issuer).append(1, '\0');
  key.append(asset).append(1, '\0').append(PeriodStart(v1::PERIOD_DAY, time_unix_us));
  return key;
}

std::string AwardUsageKey(std::string_view member, std::string_view rule, std::string_view period) {
  std::string key(member);
  key.append(1, '\0').append("AWARD").append(1, '\0').append(rule).append(1, '\0').append(period);
  return key;
}

std::string ServiceDay(const v1::Move& earn, std::int64_t time_unix_us) {
  if (!earn.activity().date().empty()) return earn.activity().date();
  return PeriodStart(v1::PERIOD_DAY, time_unix_us).substr(1);
}

std::string ServiceDayKey(std::string_view member, std::string_view day) {
  std::string key(member);
  key.push_back('\0');
  key.append(kHoursAsset);
  key.push_back('\0');
  key.push_back('D');
  key.append(day);
  return key;
}

std::string RefundedLineKey(std::uint64_t checkout_seq, std::string_view sku) {
  std::string key;
  PutFixed64BE(&key, checkout_seq);
  key.append(sku);
  return key;
}

std::string AccountEntryKey(std::string_view account, std::uint64_t seq) {
  std::string key = AccountEntryPrefix(account);
  PutFixed64BE(&key, seq);
  return key;
}

std::string EncodeBalanceValue(const Int128& minor, std::uint64_t seq) {
  std::string value;
  value.reserve(24);
  AppendMinorFixed16(&value, minor);
  PutFixed64BE(&value, seq);
  return value;
}

std::optional<BalanceValue> DecodeBalanceValue(std::string_view value) {
  if (value.size() != 24) return std::nullopt;
  BalanceValue decoded;
  decoded.minor = DecodeMinorFixed16(value.data());
  decoded.seq = GetFixed64BE(value.data() + 16);
  return decoded;
}

std::string EncodeRequestValue(std::uint64_t seq, std::string_view fingerprint) {
  LOVEBANK_DCHECK(fingerprint.size() == 32);
  std::string value;
  value.reserve(40);
  PutFixed64BE(&value, seq);
  value.append(fingerprint);
  return value;
}

std::string RequestKey(std::string_view actor, std::string_view request_id) {
  std::string key;
  key.reserve(actor.size() + 1 + request_id.size());
  key.append(actor).push_back('\0');
  key.append(request_id);
  return key;
}

std::optional<RequestValue> DecodeRequestValue(std::string_view value) {
  if (value.size() != 40) return std::nullopt;
  return RequestValue{GetFixed64BE(value.data()), std::string(value.substr(8))};
}

std::string SerializeCommand(const v1::Command& command) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    (void)command.ByteSizeLong();  // SerializeWithCachedSizes requires the sizes cached
    command.SerializeWithCachedSizes(&coded);
  }
  return bytes;
}

std::string CommandFingerprint(const v1::Command& command) {
  return FingerprintOfSerialized(SerializeCommand(command));
}

std::string FingerprintOfSerialized(std::string_view serialized) {
  return std::string(HashBytes(SerializedCommandFingerprint(serialized)));
}

Hash SerializedCommandFingerprint(std::string_view serialized) { return Sha256({serialized}); }

Int128 AddPricedLine(v1::Pricing* pricing, std::string_view sku, std::uint32_t quantity,
                     std::string_view unit_price_minor) {
  // A price is at most POINTS' maximum (~10^17 minor units) and a quantity at most 10^4: far
  // inside Int128.
  const Int128 amount = *MinorFromString(unit_price_minor) * quantity;
  auto* line = pricing->add_lines();
  line->set_sku(std::string(sku));
  line->set_quantity(quantity);
  line->set_unit_price_minor(std::string(unit_price_minor));
  line->set_amount_minor(MinorToString(amount));
  return amount;
}

v1::AssetRecord StockAssetRecord(std::string_view sku, std::string_view name, std::uint64_t seq) {
  v1::AssetRecord record;
  record.set_code(std::string(sku));
  record.set_scale(kStockScale);
  record.set_maximum_minor(std::string(kStockMaximum));
  record.set_display_name(std::string(name));
  record.set_defined_seq(seq);
  record.set_stock(true);
  return record;
}

namespace {

// Protobuf's wire format for the fields the encoders below write: varints, and length-delimited
// fields (wire type 2) with numbers below 16, whose tag is one byte.
std::size_t VarintSize(std::uint64_t value) {
  std::size_t size = 1;
  for (; value >= 0x80; value >>= 7) ++size;
  return size;
}

void AppendLengthDelimited(std::string* bytes, std::uint32_t number, std::size_t size) {
  bytes->push_back(static_cast<char>(number << 3 | 2));
  AppendVarint(bytes, size);
}

// proto3 writes no empty string.
std::size_t StringFieldSize(std::string_view text) {
  return text.empty() ? 0 : 1 + VarintSize(text.size()) + text.size();
}

void AppendStringField(std::string* bytes, std::uint32_t number, std::string_view text) {
  if (text.empty()) return;
  AppendLengthDelimited(bytes, number, text.size());
  bytes->append(text);
}

// proto3 writes no zero; an int64 is the varint of its two's complement (10 bytes if negative).
void AppendVarintField(std::string* bytes, std::uint32_t number, std::uint64_t value) {
  if (value == 0) return;
  bytes->push_back(static_cast<char>(number << 3));
  AppendVarint(bytes, value);
}

// A message field is written even when the message is empty (it is present).
void AppendMessageField(std::string* bytes, std::uint32_t number,
                        const google::protobuf::MessageLite& message) {
  const std::size_t size = message.ByteSizeLong();
  AppendLengthDelimited(bytes, number, size);
  const std::size_t at = bytes->size();
  bytes->resize(at + size);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(bytes->data() + at));
}

}  // namespace

void AppendStatementLeg(std::string* bytes, std::string_view asset, std::string_view amount_minor,
                        std::string_view balance_after_minor) {
  using Leg = v1::StatementLine::Leg;
  static_assert(v1::StatementLine::kLegsFieldNumber < 16 && Leg::kAssetFieldNumber < 16 &&
                Leg::kAmountMinorFieldNumber < 16 && Leg::kBalanceAfterMinorFieldNumber < 16);
  // An empty leg is still written: a repeated message field keeps every element.
  AppendLengthDelimited(bytes, v1::StatementLine::kLegsFieldNumber,
                        StringFieldSize(asset) + StringFieldSize(amount_minor) +
                            StringFieldSize(balance_after_minor));
  AppendStringField(bytes, Leg::kAssetFieldNumber, asset);
  AppendStringField(bytes, Leg::kAmountMinorFieldNumber, amount_minor);
  AppendStringField(bytes, Leg::kBalanceAfterMinorFieldNumber, balance_after_minor);
}

std::string EncodeEntryPayload(std::uint64_t seq, std::int64_t time_unix_us,
                               std::string_view command_bytes,
                               std::span<const PostingText> postings, const v1::Pricing* pricing,
                               const v1::AwardFacts* award) {
  using Entry = v1::Entry;
  static_assert(Entry::kSeqFieldNumber < 16 && Entry::kTimeUnixUsFieldNumber < 16 &&
                Entry::kCommandFieldNumber < 16 && Entry::kPostingsFieldNumber < 16 &&
                Entry::kPricingFieldNumber < 16 && Entry::kAwardFieldNumber < 16 &&
                v1::Posting::kAccountFieldNumber < 16 && v1::Posting::kAssetFieldNumber < 16 &&
                v1::Posting::kAmountMinorFieldNumber < 16);
  // Protobuf writes fields in the order of their numbers: seq, time, command, postings,
  // pricing, award.
  static_assert(Entry::kSeqFieldNumber < Entry::kTimeUnixUsFieldNumber &&
                Entry::kTimeUnixUsFieldNumber < Entry::kCommandFieldNumber &&
                Entry::kCommandFieldNumber < Entry::kPostingsFieldNumber &&
                Entry::kPostingsFieldNumber < Entry::kPricingFieldNumber &&
                Entry::kPricingFieldNumber < Entry::kAwardFieldNumber);
  std::string bytes;
  bytes.reserve(32 + command_bytes.size() + 64 * postings.size());
  AppendVarintField(&bytes, Entry::kSeqFieldNumber, seq);
  AppendVarintField(&bytes, Entry::kTimeUnixUsFieldNumber,
                    static_cast<std::uint64_t>(time_unix_us));
  AppendLengthDelimited(&bytes, Entry::kCommandFieldNumber, command_bytes.size());
  bytes.append(command_bytes);
  for (const PostingText& posting : postings) {
    AppendLengthDelimited(&bytes, Entry::kPostingsFieldNumber,
                          StringFieldSize(posting.account) + StringFieldSize(posting.asset) +
                              StringFieldSize(posting.amount_minor));
    AppendStringField(&bytes, v1::Posting::kAccountFieldNumber, posting.account);
    AppendStringField(&bytes, v1::Posting::kAssetFieldNumber, posting.asset);
    AppendStringField(&bytes, v1::Posting::kAmountMinorFieldNumber, posting.amount_minor);
  }
  if (pricing != nullptr) AppendMessageField(&bytes, Entry::kPricingFieldNumber, *pricing);
  if (award != nullptr) AppendMessageField(&bytes, Entry::kAwardFieldNumber, *award);
  return bytes;
}

}  // namespace lovebank
