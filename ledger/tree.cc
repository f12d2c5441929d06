// The ledger's Merkle tree: the builder thread and the reader of stored nodes (tree.h).

#include "ledger/tree.h"

#include <pthread.h>
#include <sched.h>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"

namespace lovebank {
namespace {

// Entries a builder step integrates before it writes: a WriteBatch of ~4,000 nodes, ~200 KB.
constexpr std::uint64_t kStepEntriesMax = 65536;

absl::StatusOr<merkle::Hash> LeafAt(Store& store, std::uint64_t index) {
  LOVEBANK_ASSIGN_OR_RETURN(auto value, store.Get(Family::kJournal, EncodeFixed64BE(index + 1)));
  auto view = value ? DecodeStoredEntry(*value) : std::nullopt;
  if (!view) return absl::DataLossError(Cat("journal entry ", index + 1, " is missing"));
  return merkle::LeafHash(view->hash);
}

}  // namespace

merkle::NodeReader TreeReader(Store& store) {
  return [&store](unsigned level, std::uint64_t index) -> absl::StatusOr<merkle::Hash> {
    if (level == 0) return LeafAt(store, index);
    if (level < kTreeStoredLevelMin) {
      // Not stored: hashed from the 2^level entries under it (at most 8).
      const std::uint64_t width = std::uint64_t{1} << level;
      std::vector<merkle::Hash> layer;
      auto it = store.NewIterator(Family::kJournal);
      it->Seek(EncodeFixed64BE(index * width + 1));
      for (std::uint64_t seq = index * width + 1; seq <= (index + 1) * width; ++seq, it->Next()) {
        if (!it->Valid() || it->key().size() != 8 || GetFixed64BE(it->key().data()) != seq) {
          LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the journal"));
          return absl::DataLossError(Cat("journal entry ", seq, " is missing"));
        }
        auto view = DecodeStoredEntry(it->value().ToStringView());
        if (!view) return absl::DataLossError(Cat("journal entry ", seq, " is malformed"));
        layer.push_back(merkle::LeafHash(view->hash));
      }
      while (layer.size() > 1) {
        std::vector<merkle::Hash> up;
        for (std::size_t i = 0; i < layer.size(); i += 2) {
          up.push_back(merkle::NodeHash(layer[i], layer[i + 1]));
        }
        layer = std::move(up);
      }
      return layer[0];
    }
    LOVEBANK_ASSIGN_OR_RETURN(auto node, store.Get(Family::kTree, TreeNodeKey(level, index)));
    if (!node || node->size() != 32) {
      return absl::DataLossError(Cat("tree node ", level, "/", index, " is missing"));
    }
    return *HashFromBytes(*node);
  };
}

absl::Status TreeBuilder::Load(std::uint64_t head_seq) {
  LOVEBANK_ASSIGN_OR_RETURN(const std::optional<std::uint64_t> stored, StoredTreeSize(*store_));
  const std::uint64_t built = stored.value_or(0);
  if (built > head_seq) {
    return absl::DataLossError(Cat("the tree covers ", built, " entries, the journal ", head_seq));
  }
  const merkle::NodeReader read = TreeReader(*store_);
  std::vector<merkle::Hash> nodes;
  for (const merkle::NodeId& id : merkle::FrontierNodes(built)) {
    LOVEBANK_ASSIGN_OR_RETURN(nodes.emplace_back(), read(id.level, id.index));
  }
  frontier_ = merkle::Frontier(built, std::move(nodes));
  absl::MutexLock lock(&mu_);
  built_ = built;
  return absl::OkStatus();
}

void TreeBuilder::Start(
    std::function<Head(std::uint64_t, absl::Duration, const std::atomic<bool>*)> wait_for_head,
    std::function<void()> wake) {
  wait_for_head_ = std::move(wait_for_head);
  wake_ = std::move(wake);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lb-tree");
    // Idle priority: the tree takes the CPU the commits leave. On a busy 2-core machine it lags
    // (proofs then wait for it) rather than slow the commits; at normal priority it cost ~10 %
    // of ledger_bench at batch 1,024 (docs/benchmarks.md).
    sched_param idle{};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
    Loop();
  });
}

void TreeBuilder::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  hurry_.store(true);  // ends a gathering wait
  wake_();
  thread_.join();
}

void TreeBuilder::Loop() {
  for (;;) {
    const bool last = stopping_.load();  // read before the head: the final head is seen
    Head head = wait_for_head_(frontier_.size(), absl::Seconds(1), &stopping_);
    if (head.seq > frontier_.size()) {
      if (head.seq - frontier_.size() < kTreeGatherEntries) {
        // Gather: one write for many commits rather than one per commit. A query or the close
        // sets `hurry_` after its `wanted_` or `stopping_`, so clearing it first and reading
        // those after sees either the one or the other.
        hurry_.store(false);
        if (wanted_.load() <= frontier_.size() && !stopping_.load()) {
          head = wait_for_head_(frontier_.size() + kTreeGatherEntries - 1, gather_wait_, &hurry_);
        }
      }
      if (absl::Status status = Integrate(head.seq); !status.ok()) {
        absl::MutexLock lock(&mu_);
        error_ = status;  // queries say Unavailable with it; the journal is untouched
        return;
      }
      continue;
    }
    if (last) return;
  }
}

absl::Status TreeBuilder::Integrate(std::uint64_t to_seq) {
  auto it = store_->NewScan(Family::kJournal);
  std::uint64_t seq = frontier_.size() + 1;
  it->Seek(EncodeFixed64BE(seq));
  while (seq <= to_seq) {
    rocksdb::WriteBatch batch;
    const std::uint64_t step_end = std::min(to_seq, seq - 1 + kStepEntriesMax);
    for (; seq <= step_end; ++seq, it->Next()) {
      if (!it->Valid() || it->key().size() != 8 || GetFixed64BE(it->key().data()) != seq) {
        LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the journal"));
        return absl::DataLossError(Cat("journal entry ", seq, " is missing"));
      }
      auto view = DecodeStoredEntry(it->value().ToStringView());
      if (!view) return absl::DataLossError(Cat("journal entry ", seq, " is malformed"));
      frontier_.Append(merkle::LeafHash(view->hash),
                       [&](unsigned level, std::uint64_t index, const merkle::Hash& node) {
                         if (level < kTreeStoredLevelMin) return;
                         batch.Put(store_->handle(Family::kTree), TreeNodeKey(level, index),
                                   rocksdb::Slice(reinterpret_cast<const char*>(node.data()), 32));
                       });
    }
    batch.Put(store_->handle(Family::kTree), kTreeSizeKey, EncodeFixed64BE(step_end));
    batch.Delete(store_->handle(Family::kMeta), meta_key::kTreeSize);  // an older store's
    // Without the WAL: derived data, rebuilt from the journal when a crash loses it, and kept out
    // of the write-ahead log every commit syncs (with it, four batches in flight lost ~11 % of
    // their throughput to the builder's writes: docs/benchmarks.md). Nodes and size are in one
    // family, so whatever a flush keeps of them agrees; a clean close flushes them.
    rocksdb::WriteOptions unlogged;
    unlogged.disableWAL = true;
    LOVEBANK_RETURN_IF_ERROR(FromRocks(store_->db()->Write(unlogged, &batch), "writing the tree"));
    absl::MutexLock lock(&mu_);
    built_ = step_end;
    ++writes_;
  }
  return absl::OkStatus();
}

TreeBuilder::Progress TreeBuilder::progress() {
  absl::MutexLock lock(&mu_);
  return Progress{built_, writes_};
}

absl::Status TreeBuilder::WaitFor(std::uint64_t size, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, size]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return built_ >= size || !error_.ok();
  };
  if (!reached()) {
    // The builder may be gathering: have it integrate what is committed now.
    std::uint64_t wanted = wanted_.load();
    while (wanted < size && !wanted_.compare_exchange_weak(wanted, size)) {
    }
    hurry_.store(true);
    mu_.Unlock();
    if (wake_) wake_();  // takes the head's lock: not under mu_
    mu_.Lock();
    mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  if (!error_.ok())
    return absl::UnavailableError(Cat("the tree builder failed: ", std::string(error_.message())));
  if (built_ < size) {
    return absl::UnavailableError(
        Cat("the tree covers ", built_, " of ", size, " entries so far: retry in a moment"));
  }
  return absl::OkStatus();
}

}  // namespace lovebank
