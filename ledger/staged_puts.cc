#include "ledger/staged_puts.h"

#include <algorithm>

#include "ledger/check.h"

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

void StagedPuts::WriteSorted(rocksdb::ColumnFamilyHandle* family, rocksdb::WriteBatch* write) {
  const auto by_key = [this](const Put& a, const Put& b) { return KeyOf(a) < KeyOf(b); };
  // The journal's keys arrive in order already.
  if (!std::is_sorted(puts_.begin(), puts_.end(), by_key)) {
    std::sort(puts_.begin(), puts_.end(), by_key);
  }
  LOVEBANK_DCHECK(std::adjacent_find(puts_.begin(), puts_.end(), [this](const Put& a,
                                                                        const Put& b) {
                    return KeyOf(a) == KeyOf(b);
                  }) == puts_.end());
  const std::string_view bytes(bytes_);
  for (const Put& put : puts_) {
    write->Put(family, rocksdb::Slice(bytes.data() + put.offset, put.key_size),
               rocksdb::Slice(bytes.data() + put.offset + put.key_size, put.value_size));
  }
}

}  // namespace lovebank
