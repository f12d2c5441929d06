#include "ledger/storage/staged_puts.h"

#include <algorithm>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"

namespace lovebank {

void StagedPuts::Reserve(std::size_t puts, std::size_t bytes) {
  puts_.reserve(puts);
  bytes_.reserve(bytes);
}

void StagedPuts::Add(std::string_view key, std::string_view value) {
  LOVEBANK_CHECK(bytes_.size() + key.size() + value.size() < (std::size_t{1} << 32));
  puts_.push_back(Put{static_cast<std::uint32_t>(bytes_.size()),
                      static_cast<std::uint32_t>(key.size()),
                      static_cast<std::uint32_t>(value.size())});
  bytes_.append(key);
  bytes_.append(value);
}

void StagedPuts::Truncate(std::size_t puts) {
  if (puts >= puts_.size()) return;
  bytes_.resize(puts_[puts].offset);
  puts_.resize(puts);
}

namespace {

// RocksDB's record tags (db/dbformat.h ValueType): a put in the default family, a put in
// another.
constexpr char kTypeValue = 0x01;
constexpr char kTypeColumnFamilyValue = 0x05;

}  // namespace

std::size_t StagedPuts::AppendSorted(std::uint32_t family_id, std::string* rep) {
  if (puts_.empty()) return 0;
  const auto by_key = [this](const Put& a, const Put& b) { return KeyOf(a) < KeyOf(b); };
  // The journal's keys arrive in order already.
  if (!std::is_sorted(puts_.begin(), puts_.end(), by_key)) {
    // Most comparisons are decided by one integer compare: the keys' 8 bytes after the prefix
    // they all share (statement lines: the account ids' common start; request ids: the
    // client's). Equal heads fall back to the whole keys. Ordering by the zero-padded head
    // agrees with ordering by key wherever the heads differ: at the first differing byte the
    // larger head has a real byte, so the other key is smaller there or is a prefix.
    const std::string_view first = KeyOf(puts_.front());
    std::size_t common = first.size();
    for (const Put& put : puts_) {
      const std::string_view key = KeyOf(put);
      common = std::min(common, key.size());
      common = static_cast<std::size_t>(
          std::mismatch(first.begin(), first.begin() + common, key.begin()).first - first.begin());
    }
    for (Put& put : puts_) {
      const std::string_view key = KeyOf(put);
      std::uint64_t head = 0;
      for (std::size_t i = 0; i < 8; ++i) {
        const std::size_t at = common + i;
        head = head << 8 | (at < key.size() ? static_cast<unsigned char>(key[at]) : 0u);
      }
      put.head = head;
    }
    std::sort(puts_.begin(), puts_.end(), [this](const Put& a, const Put& b) {
      return a.head != b.head ? a.head < b.head : KeyOf(a) < KeyOf(b);
    });
  }
  LOVEBANK_DCHECK(
      std::adjacent_find(puts_.begin(), puts_.end(), [this](const Put& a, const Put& b) {
        return KeyOf(a) == KeyOf(b);
      }) == puts_.end());
  const std::string_view bytes(bytes_);
  for (const Put& put : puts_) {
    if (family_id == 0) {
      rep->push_back(kTypeValue);
    } else {
      rep->push_back(kTypeColumnFamilyValue);
      AppendVarint(rep, family_id);
    }
    AppendVarint(rep, put.key_size);
    rep->append(bytes.data() + put.offset, put.key_size);
    AppendVarint(rep, put.value_size);
    rep->append(bytes.data() + put.offset + put.key_size, put.value_size);
  }
  return puts_.size();
}

void StagedPuts::SetBatchCount(std::string* rep, std::uint32_t count) {
  LOVEBANK_CHECK(rep->size() >= kBatchHeaderSize);
  for (std::size_t i = 0; i < 4; ++i) (*rep)[8 + i] = static_cast<char>(count >> (8 * i));
}

}  // namespace lovebank
