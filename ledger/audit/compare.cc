// The audit's comparison of the store's derived records with the replay, both directions:
// nothing missing, nothing extra, nothing different (issue #3).

#include <algorithm>
#include <future>
#include <map>

#include "ledger/audit/replay.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/storage/store.h"
#include "rocksdb/perf_level.h"

namespace lovebank::audit {
namespace {

// A balances key (account ‖ 0x00 ‖ asset) as "account/asset"; hex when malformed.
std::string ShowBalanceKey(std::string_view key) {
  const std::size_t zero = key.find('\0');
  if (zero == std::string_view::npos) return ToHex(key);
  return Cat(key.substr(0, zero), "/", key.substr(zero + 1));
}

// Walks one family in key order against an expected map, reporting differences. `show` turns
// a key into text, `compare` returns the (expected, found) texts when a value differs.
template <class Map, class Describe>
absl::Status CompareFamily(Store& store, Family family, const Map& expected, Findings& findings,
                           Describe describe) {
  const std::string name = FamilyName(family);
  std::size_t matched = 0;
  auto it = store.NewIterator(family);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key = it->key().ToString();
    auto want = expected.find(key);
    if (want == expected.end()) {
      findings.Add(FindingKind::kRecordExtra, 0, Cat(name, " ", describe.key(key)), "no record",
                   describe.found(it->value().ToStringView()));
      continue;
    }
    ++matched;
    const std::string expected_text = describe.expected(want->second);
    const std::string found_text = describe.found(it->value().ToStringView());
    if (expected_text != found_text) {
      findings.Add(FindingKind::kRecordDiffers, 0, Cat(name, " ", describe.key(key)), expected_text,
                   found_text);
    }
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), Cat("reading ", name)));
  // Every stored key was looked up in `expected`; only when fewer matched than expected holds
  // is something missing, and only then is it worth a second pass to name it.
  if (matched == expected.size()) return absl::OkStatus();
  for (const auto& [key, value] : expected) {
    LOVEBANK_ASSIGN_OR_RETURN(auto stored, store.Get(family, key));
    if (!stored.has_value()) {
      findings.Add(FindingKind::kRecordMissing, 0, Cat(name, " ", describe.key(key)),
                   describe.expected(value), "no record");
    }
  }
  return absl::OkStatus();
}

template <class Message>
std::string ParsedText(std::string_view bytes) {
  Message message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return "undecodable";
  return message.ShortDebugString();
}

// Fast mode: whether the request index agrees with the replay, as one order-independent
// digest and a count. Reads `state` only: it runs on a thread of its own beside the rest of
// the comparison (CompareStore).
absl::StatusOr<bool> RequestIndexAgrees(Store& store, const ReplayState& state) {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);  // as the audit's other threads
  std::uint64_t digest = 0;
  std::uint64_t count = 0;
  bool agrees = true;
  auto it = store.NewIterator(Family::kRequests);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto value = DecodeRequestValue(it->value().ToStringView());
    auto fingerprint = value ? HashFromBytes(value->fingerprint) : std::nullopt;
    if (!fingerprint) {
      agrees = false;
      continue;
    }
    digest += RequestDigest(it->key().ToStringView(), value->seq, *fingerprint);
    ++count;
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading requests"));
  return agrees && digest == state.requests_digest && count == state.request_hashes.size();
}

// Fast mode: each account's statement lines as a rolling digest and a count, in seq order.
absl::Status CompareStatementDigests(Store& store, ReplayState& state) {
  std::size_t accounts_with_lines = 0;
  for (const auto& [id, account] : state.accounts)
    accounts_with_lines += account.lines_count > 0 ? 1 : 0;
  std::size_t accounts_seen = 0;
  std::string current;
  std::uint64_t digest = 0;
  std::uint64_t count = 0;
  auto finish_account = [&]() {
    if (current.empty()) return;
    auto found = state.accounts.find(current);
    if (found == state.accounts.end() || found->second.lines_digest != digest ||
        found->second.lines_count != count) {
      state.needs_exact = true;
    }
    ++accounts_seen;
  };
  auto it = store.NewIterator(Family::kAccountEntries);
  for (it->SeekToFirst(); it->Valid() && !state.needs_exact; it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::size_t zero = key.find('\0');
    if (zero == std::string_view::npos || zero == 0 || key.size() != zero + 9) {
      state.needs_exact = true;
      break;
    }
    if (key.substr(0, zero) != current) {
      finish_account();
      current.assign(key.substr(0, zero));
      digest = 0;
      count = 0;
    }
    // The stored bytes as they are (no decoding): the replay digests the lines it expects in
    // the engine's encoding (AppendStatementLeg).
    digest =
        NextLineDigest(digest, GetFixed64BE(key.data() + zero + 1), it->value().ToStringView());
    ++count;
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading account_entries"));
  finish_account();
  if (accounts_seen != accounts_with_lines) state.needs_exact = true;
  return absl::OkStatus();
}

// Every derived family but, in fast mode, the request index (CompareStore).
absl::Status CompareDerived(Store& store, ReplayState& state, Findings& findings) {
  // The meta head was compared by Run as the source's claimed head.
  struct BalanceDescribe {
    std::string key(const std::string& k) const { return ShowBalanceKey(k); }
    std::string expected(const ReplayState::Balance& b) const {
      return Cat(MinorToString(b.minor), " @", b.seq);
    }
    std::string found(std::string_view v) const {
      auto decoded = DecodeBalanceValue(v);
      return decoded ? Cat(MinorToString(decoded->minor), " @", decoded->seq) : "undecodable";
    }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kBalances, state.balances, findings, BalanceDescribe{}));

  struct RequestDescribe {
    // actor 0x00 request id, shown as "actor/request id".
    std::string key(const std::string& k) const {
      std::string shown = k;
      std::replace(shown.begin(), shown.end(), '\0', '/');
      return shown;
    }
    std::string expected(const ReplayState::Request& r) const {
      return Cat("seq ", r.seq, " ", HashToHex(r.fingerprint));
    }
    std::string found(std::string_view v) const {
      auto decoded = DecodeRequestValue(v);
      return decoded ? Cat("seq ", decoded->seq, " ", ToHex(decoded->fingerprint)) : "undecodable";
    }
  };
  if (state.mode == ReplayState::Mode::kExact) {
    LOVEBANK_RETURN_IF_ERROR(
        CompareFamily(store, Family::kRequests, state.requests, findings, RequestDescribe{}));
  }

  struct AccountDescribe {
    std::string key(const std::string& k) const { return k; }
    std::string expected(const ReplayState::Account& a) const {
      return a.record.ShortDebugString();
    }
    std::string found(std::string_view v) const { return ParsedText<v1::AccountRecord>(v); }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kAccounts, state.accounts, findings, AccountDescribe{}));

  struct AssetDescribe {
    std::string key(const std::string& k) const { return k; }
    std::string expected(const ReplayState::Asset& a) const { return a.record.ShortDebugString(); }
    std::string found(std::string_view v) const { return ParsedText<v1::AssetRecord>(v); }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kAssets, state.assets, findings, AssetDescribe{}));

  struct PrincipalDescribe {
    std::string key(const std::string& k) const { return k; }
    std::string expected(const v1::PrincipalRecord& p) const { return p.ShortDebugString(); }
    std::string found(std::string_view v) const { return ParsedText<v1::PrincipalRecord>(v); }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kPrincipals, state.principals, findings, PrincipalDescribe{}));

  struct ItemDescribe {
    std::string key(const std::string& k) const { return ShowBalanceKey(k); }
    std::string expected(const v1::ItemRecord& i) const { return i.ShortDebugString(); }
    std::string found(std::string_view v) const { return ParsedText<v1::ItemRecord>(v); }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kItems, state.items, findings, ItemDescribe{}));

  struct LimitDescribe {
    std::string key(const std::string& k) const { return k.empty() ? "(basket value)" : k; }
    std::string expected(const v1::LimitRecord& l) const { return l.ShortDebugString(); }
    std::string found(std::string_view v) const { return ParsedText<v1::LimitRecord>(v); }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kLimits, state.limits, findings, LimitDescribe{}));
  struct UsageDescribe {
    std::string key(std::string k) const {
      std::replace(k.begin(), k.end(), '\0', '/');
      return k;
    }
    std::string expected(const Int128& used) const { return MinorToString(used); }
    std::string found(std::string_view v) const { return std::string(v); }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kUsage, state.usage, findings, UsageDescribe{}));

  struct HouseholdDescribe {
    std::string key(const std::string& k) const { return k; }
    std::string expected(const std::string& household) const { return household; }
    std::string found(std::string_view v) const { return std::string(v); }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kHouseholds, state.households, findings, HouseholdDescribe{}));

  struct HoldDescribe {
    std::string key(const std::string& k) const {
      return k.size() == 8 ? Cat("hold ", GetFixed64BE(k.data())) : ToHex(k);
    }
    std::string expected(const v1::HoldRecord& h) const { return h.ShortDebugString(); }
    std::string found(std::string_view v) const { return ParsedText<v1::HoldRecord>(v); }
  };
  {
    std::map<std::string, v1::HoldRecord> holds;
    for (const auto& [seq, hold] : state.holds) holds.emplace(EncodeFixed64BE(seq), hold);
    LOVEBANK_RETURN_IF_ERROR(CompareFamily(store, Family::kHolds, holds, findings, HoldDescribe{}));
  }
  struct ServiceDescribe {
    std::string key(const std::string& k) const {
      return k.size() == 8 ? Cat("service ", GetFixed64BE(k.data())) : ToHex(k);
    }
    std::string expected(const v1::ServiceRecord& s) const { return s.ShortDebugString(); }
    std::string found(std::string_view v) const { return ParsedText<v1::ServiceRecord>(v); }
  };
  {
    std::map<std::string, v1::ServiceRecord> services;
    for (const auto& [seq, service] : state.services)
      services.emplace(EncodeFixed64BE(seq), service);
    LOVEBANK_RETURN_IF_ERROR(
        CompareFamily(store, Family::kServices, services, findings, ServiceDescribe{}));
  }

  struct VolunteerDescribe {
    std::string key(const std::string& k) const { return k; }
    std::string expected(const v1::VolunteerRecord& v) const { return v.ShortDebugString(); }
    std::string found(std::string_view v) const { return ParsedText<v1::VolunteerRecord>(v); }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kVolunteers, state.volunteers, findings, VolunteerDescribe{}));

  // The exchange policy and the star levels in force are one meta record each.
  auto compare_meta = [&](std::string_view key, const auto& expected_record,
                          auto parsed_text) -> absl::Status {
    LOVEBANK_ASSIGN_OR_RETURN(auto stored, store.Get(Family::kMeta, key));
    const std::string expected =
        expected_record ? expected_record->ShortDebugString() : "no record";
    const std::string found = stored ? parsed_text(*stored) : "no record";
    if (expected != found) {
      findings.Add(!stored            ? FindingKind::kRecordMissing
                   : !expected_record ? FindingKind::kRecordExtra
                                      : FindingKind::kRecordDiffers,
                   0, Cat("meta ", key), expected, found);
    }
    return absl::OkStatus();
  };
  LOVEBANK_RETURN_IF_ERROR(compare_meta(meta_key::kExchangePolicy, state.exchange_policy,
                                        ParsedText<v1::ExchangePolicy>));
  LOVEBANK_RETURN_IF_ERROR(
      compare_meta(meta_key::kStarLevels, state.star_levels, ParsedText<v1::StarLevels>));
  LOVEBANK_RETURN_IF_ERROR(
      compare_meta(meta_key::kHoursCap, state.hours_cap, ParsedText<v1::HoursCap>));
  LOVEBANK_RETURN_IF_ERROR(
      compare_meta(meta_key::kDailyHoursCap, state.daily_cap, ParsedText<v1::DailyHoursCap>));

  // Keyed programme rules and settings: the meta keys under their four prefixes, both ways.
  {
    std::map<std::string, std::string> expected;
    for (const auto& [key, record] : state.award_rules) expected[key] = record.ShortDebugString();
    for (const auto& [key, record] : state.transfer_policies) {
      expected[key] = record.ShortDebugString();
    }
    for (const auto& [key, record] : state.approval_thresholds) {
      expected[key] = record.ShortDebugString();
    }
    for (const auto& [key, record] : state.settings) expected[key] = record.ShortDebugString();
    auto found_text = [](std::string_view key, std::string_view bytes) {
      if (key.starts_with(meta_key::kAwardRulePrefix)) {
        return ParsedText<v1::AwardRuleRecord>(bytes);
      }
      if (key.starts_with(meta_key::kTransferPolicyPrefix)) {
        return ParsedText<v1::TransferPolicyRecord>(bytes);
      }
      if (key.starts_with(meta_key::kSettingPrefix)) return ParsedText<v1::SettingRecord>(bytes);
      return ParsedText<v1::ApprovalThresholdRecord>(bytes);
    };
    auto it = store.NewIterator(Family::kMeta);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      if (!IsProgrammeRuleKey(key)) continue;
      const std::string found = found_text(key, it->value().ToStringView());
      auto want = expected.find(key);
      if (want == expected.end()) {
        findings.Add(FindingKind::kRecordExtra, 0, Cat("meta ", key), "no record", found);
        continue;
      }
      if (want->second != found) {
        findings.Add(FindingKind::kRecordDiffers, 0, Cat("meta ", key), want->second, found);
      }
      expected.erase(want);
    }
    LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading meta"));
    for (const auto& [key, text] : expected) {
      findings.Add(FindingKind::kRecordMissing, 0, Cat("meta ", key), text, "no record");
    }
  }
  struct PendingDescribe {
    std::string key(const std::string& k) const {
      return k.size() == 8 ? Cat("entry ", GetFixed64BE(k.data())) : ToHex(k);
    }
    std::string expected(const v1::PendingRecord& p) const { return p.ShortDebugString(); }
    std::string found(std::string_view v) const { return ParsedText<v1::PendingRecord>(v); }
  };
  {
    std::map<std::string, v1::PendingRecord> pending;
    for (const auto& [seq, record] : state.pending) pending.emplace(EncodeFixed64BE(seq), record);
    LOVEBANK_RETURN_IF_ERROR(
        CompareFamily(store, Family::kPending, pending, findings, PendingDescribe{}));
  }

  std::map<std::string, std::uint64_t> reversed = state.refunded_lines;
  for (std::size_t i = 0; i < state.entries.size(); ++i) {
    if (state.entries[i].reversed_by != 0)
      reversed[EncodeFixed64BE(i + 1)] = state.entries[i].reversed_by;
  }
  struct ReversedDescribe {
    std::string key(const std::string& k) const {
      if (k.size() < 8) return ToHex(k);
      if (k.size() == 8) return Cat(GetFixed64BE(k.data()));
      return Cat(GetFixed64BE(k.data()), " line ", k.substr(8));  // a refunded line
    }
    std::string expected(std::uint64_t seq) const { return Cat("reversed by ", seq); }
    std::string found(std::string_view v) const {
      return v.size() == 8 ? Cat("reversed by ", GetFixed64BE(v.data())) : "undecodable";
    }
  };
  LOVEBANK_RETURN_IF_ERROR(
      CompareFamily(store, Family::kReversed, reversed, findings, ReversedDescribe{}));

  if (state.mode == ReplayState::Mode::kFast) return CompareStatementDigests(store, state);

  // The statement index is the largest family: a merge of the store's rows (account, then seq)
  // with the replay's lines, account by account in sorted order, without a map of every line.
  const std::string name = FamilyName(Family::kAccountEntries);
  std::vector<const std::string*> accounts;
  accounts.reserve(state.statement_lines.size());
  for (const auto& [account, lines] : state.statement_lines) accounts.push_back(&account);
  std::sort(accounts.begin(), accounts.end(), [](auto* a, auto* b) { return *a < *b; });
  std::size_t next_account = 0;
  const std::string* account = nullptr;  // the account being merged
  const std::vector<std::pair<std::uint64_t, std::string>>* lines = nullptr;
  std::size_t next_line = 0;
  auto line_key = [&name](const std::string& owner, std::uint64_t seq) {
    return Cat(name, " ", owner, "@", seq);
  };
  auto flush_missing = [&]() {
    for (; lines != nullptr && next_line < lines->size(); ++next_line) {
      const auto& [seq, text] = (*lines)[next_line];
      findings.Add(FindingKind::kRecordMissing, 0, line_key(*account, seq), text, "no record");
    }
    account = nullptr;
    lines = nullptr;
  };
  auto it = store.NewIterator(Family::kAccountEntries);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::size_t zero = key.find('\0');
    v1::StatementLine stored;
    const std::string found =
        stored.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))
            ? LegsText(stored)
            : std::string("undecodable");
    if (zero == std::string_view::npos || key.size() != zero + 9) {
      findings.Add(FindingKind::kRecordExtra, 0, Cat(name, " ", ToHex(key)), "no record", found);
      continue;
    }
    const std::string_view owner = key.substr(0, zero);
    const std::uint64_t seq = GetFixed64BE(key.data() + zero + 1);
    if (account == nullptr || *account != owner) {
      flush_missing();
      // Accounts the replay expects that sort before this row's account have no rows at all.
      while (next_account < accounts.size() && *accounts[next_account] < owner) {
        account = accounts[next_account++];
        lines = &state.statement_lines.at(*account);
        next_line = 0;
        flush_missing();
      }
      if (next_account < accounts.size() && *accounts[next_account] == owner) {
        account = accounts[next_account++];
        lines = &state.statement_lines.at(*account);
        next_line = 0;
      }
    }
    while (lines != nullptr && next_line < lines->size() && (*lines)[next_line].first < seq) {
      findings.Add(FindingKind::kRecordMissing, 0, line_key(*account, (*lines)[next_line].first),
                   (*lines)[next_line].second, "no record");
      ++next_line;
    }
    if (lines != nullptr && next_line < lines->size() && (*lines)[next_line].first == seq) {
      if ((*lines)[next_line].second != found) {
        findings.Add(FindingKind::kRecordDiffers, 0, line_key(*account, seq),
                     (*lines)[next_line].second, found);
      }
      ++next_line;
    } else {
      findings.Add(FindingKind::kRecordExtra, 0, line_key(std::string(owner), seq), "no record",
                   found);
    }
  }
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), Cat("reading ", name)));
  flush_missing();
  while (next_account < accounts.size()) {
    account = accounts[next_account++];
    lines = &state.statement_lines.at(*account);
    next_line = 0;
    flush_missing();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CompareStore(Store& store, ReplayState& state, Findings& findings) {
  // Fast mode: the request index (a row per entry) is digested on a second core while this
  // thread compares the rest; the future's destructor waits for it on every return.
  std::future<absl::StatusOr<bool>> requests_agree;
  if (state.mode == ReplayState::Mode::kFast) {
    requests_agree = std::async(std::launch::async,
                                [&store, &state] { return RequestIndexAgrees(store, state); });
  }
  LOVEBANK_RETURN_IF_ERROR(CompareDerived(store, state, findings));
  if (requests_agree.valid()) {
    LOVEBANK_ASSIGN_OR_RETURN(const bool agrees, requests_agree.get());
    if (!agrees) state.needs_exact = true;
  }
  return absl::OkStatus();
}

}  // namespace lovebank::audit
