#include "ledger/storage/memtable.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string_view>

#include "ledger/base/check.h"
#include "rocksdb/slice.h"

namespace lovebank {
namespace {

// RocksDB's skiplist shape: a node reaches level i+1 with probability 1/4, at most 12 levels.
constexpr int kMaxHeight = 12;
constexpr std::uint64_t kBranching = 4;

std::atomic<std::uint64_t> hinted_inserts{0};  // MemtableHintedInserts

// A memtable entry as RocksDB lays it out (memtablerep.h calls the format frozen, part of the
// API contract): varint32 internal-key size, the internal key — the user key, then 8 bytes
// little-endian holding sequence << 8 | type — varint32 value size, the value.
struct InternalKey {
  const char* user;
  std::uint32_t user_size;
  std::uint64_t trailer;
};

const char* DecodeVarint32(const char* p, std::uint32_t* value) {
  std::uint32_t result = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    const std::uint32_t byte = static_cast<unsigned char>(*p++);
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) break;
  }
  *value = result;
  return p;
}

InternalKey FromInternalKey(const char* data, std::size_t size) {
  LOVEBANK_DCHECK(size >= 8);
  std::uint64_t trailer = 0;
  for (int i = 7; i >= 0; --i) {
    trailer = (trailer << 8) | static_cast<unsigned char>(data[size - 8 + i]);
  }
  return InternalKey{data, static_cast<std::uint32_t>(size - 8), trailer};
}

// RocksDB's order with its default comparator: user keys bytewise, then newer (a larger
// sequence) first.
int CompareKeys(const InternalKey& a, const InternalKey& b) {
  const std::uint32_t common = std::min(a.user_size, b.user_size);
  if (common != 0) {
    const int order = std::memcmp(a.user, b.user, common);
    if (order != 0) return order;
  }
  if (a.user_size != b.user_size) return a.user_size < b.user_size ? -1 : 1;
  if (a.trailer != b.trailer) return a.trailer > b.trailer ? -1 : 1;
  return 0;
}

int Sign(int value) { return (value > 0) - (value < 0); }

// The memtable key (varint32 size, internal key) a rocksdb::LookupKey holds. LookupKey is
// not in RocksDB's public headers; since LevelDB it starts with three pointers: the memtable
// key, the internal key within it, and their end. Checked on every call (two compares), so a
// RocksDB that changed it fails loudly instead of reading the wrong key.
const char* MemtableKeyOf(const rocksdb::LookupKey& lookup) {
  const char* const* fields = reinterpret_cast<const char* const*>(&lookup);
  const char* start = fields[0];
  const char* internal_key = fields[1];
  const char* end = fields[2];
  std::uint32_t size = 0;
  LOVEBANK_CHECK(start != nullptr && DecodeVarint32(start, &size) == internal_key &&
                 internal_key + size == end && size >= 8);
  return start;
}

// A key to compare nodes against: decoded once, and kept as RocksDB's internal key for the
// checking comparison of builds without NDEBUG.
struct Target {
  InternalKey key;
  rocksdb::Slice internal_key;
};

Target TargetOfInternalKey(const rocksdb::Slice& internal_key) {
  return Target{FromInternalKey(internal_key.data(), internal_key.size()), internal_key};
}

Target TargetOfEntry(const char* entry) {
  std::uint32_t size = 0;
  const char* data = DecodeVarint32(entry, &size);
  return TargetOfInternalKey(rocksdb::Slice(data, size));
}

// A skiplist node: its header, `height` links, then the memtable entry RocksDB writes. Lives
// in the memtable's arena (freed with the memtable, never one by one).
class Node {
 public:
  static std::size_t Size(int height, std::size_t entry_size) {
    return sizeof(Node) + static_cast<std::size_t>(height) * sizeof(std::atomic<Node*>) +
           entry_size;
  }
  // `memory`: 8-byte aligned, Size(height, ...) bytes.
  static Node* Make(void* memory, int height) {
    Node* node = new (memory) Node(height);
    for (int i = 0; i < height; ++i) new (&node->links()[i]) std::atomic<Node*>(nullptr);
    return node;
  }

  int height() const { return static_cast<int>(height_); }
  const char* Entry() const { return reinterpret_cast<const char*>(links() + height_); }
  char* Entry() { return reinterpret_cast<char*>(links() + height_); }

  // Readers: acquire, pairing with Publish, so a node's entry and links are seen complete.
  Node* Next(int level) const { return links()[level].load(std::memory_order_acquire); }
  // The writer (the only thread that changes links) reads them without ordering.
  Node* NextOfWriter(int level) const { return links()[level].load(std::memory_order_relaxed); }
  // Before the node is reachable.
  void Init(int level, Node* next) { links()[level].store(next, std::memory_order_relaxed); }
  void Publish(int level, Node* next) { links()[level].store(next, std::memory_order_release); }

 private:
  explicit Node(int height) : height_(static_cast<std::uint64_t>(height)) {}
  std::atomic<Node*>* links() { return reinterpret_cast<std::atomic<Node*>*>(this + 1); }
  const std::atomic<Node*>* links() const {
    return reinterpret_cast<const std::atomic<Node*>*>(this + 1);
  }

  std::uint64_t height_;  // 8 bytes, so that the links after it are aligned
};
static_assert(sizeof(Node) == 8 && alignof(Node) == 8);

class FingerSkipList final : public rocksdb::MemTableRep {
 public:
  FingerSkipList(const KeyComparator& compare, rocksdb::Allocator* allocator)
      : MemTableRep(allocator),
        compare_(compare),
        random_(0x9E3779B97F4A7C15ULL ^ reinterpret_cast<std::uintptr_t>(this)) {
    head_ = Node::Make(AllocateAligned(Node::Size(kMaxHeight, 0)), kMaxHeight);
    std::fill(std::begin(finger_), std::end(finger_), head_);
  }

  rocksdb::KeyHandle Allocate(const std::size_t len, char** buf) override {
    const int height = RandomHeight();
    Node* node = Node::Make(AllocateAligned(Node::Size(height, len)), height);
    *buf = node->Entry();
    return node;
  }

  // RocksDB inserts through InsertKey, which reports a duplicate instead.
  void Insert(rocksdb::KeyHandle handle) override { LOVEBANK_CHECK(InsertKey(handle)); }
  bool InsertKey(rocksdb::KeyHandle handle) override;

  bool Contains(const char* entry) const override {
    const Target target = TargetOfEntry(entry);
    const Node* node = Search(target);
    return node != nullptr && Compare(node, target) == 0;
  }

  // RocksDB's own MemTableRep::Get never deletes the iterator it makes: point reads are ours.
  void Get(const rocksdb::LookupKey& lookup, void* callback_args,
           bool (*callback)(void* arg, const char* entry)) override {
    const Target target = TargetOfEntry(MemtableKeyOf(lookup));
    for (const Node* node = Search(target);
         node != nullptr && callback(callback_args, node->Entry()); node = node->Next(0)) {
    }
  }

  // The nodes are in the allocator's arena, which RocksDB counts itself (as for its skiplist);
  // the hints are not.
  std::size_t ApproximateMemoryUsage() override {
    return hint_bytes_.load(std::memory_order_relaxed);
  }

  Iterator* GetIterator(rocksdb::Arena* arena) override;

  // The first node >= target, or null; and in `*before` (when given) the last node < target,
  // or null.
  Node* Search(const Target& target, Node** before = nullptr) const {
    Node* node = head_;
    const Node* known_not_less = nullptr;  // compared one level up: no need to compare again
    for (int level = max_height_.load(std::memory_order_relaxed) - 1;;) {
      Node* next = node->Next(level);
      if (next != nullptr && next != known_not_less && Compare(next, target) < 0) {
        node = next;
        continue;
      }
      if (level == 0) {
        if (before != nullptr) *before = node == head_ ? nullptr : node;
        return next;
      }
      known_not_less = next;
      --level;
    }
  }
  // Last node, or null.
  Node* FindLast() const {
    Node* node = head_;
    for (int level = max_height_.load(std::memory_order_relaxed) - 1;;) {
      if (Node* next = node->Next(level); next != nullptr) {
        node = next;
        continue;
      }
      if (level == 0) return node == head_ ? nullptr : node;
      --level;
    }
  }
  Node* First() const { return head_->Next(0); }

  int Compare(const Node* node, const Target& target) const {
    const InternalKey key = TargetOfEntry(node->Entry()).key;
    const int order = CompareKeys(key, target.key);
    // RocksDB's comparison with an internal key ignores the type byte (its 0: same user key
    // and sequence); ours orders by the whole trailer, as its comparison of two entries does.
    // No two entries share a sequence, so both find the same place.
    LOVEBANK_DCHECK([&] {
      const int theirs = compare_(node->Entry(), target.internal_key);
      if (theirs != 0) return Sign(theirs) == Sign(order);
      return key.user_size == target.key.user_size &&
             (key.trailer >> 8) == (target.key.trailer >> 8) &&
             (key.user_size == 0 || std::memcmp(key.user, target.key.user, key.user_size) == 0);
    }());
    return order;
  }

 private:
  // From the memtable's arena: RocksDB's MemTableRep::Allocate hands out unaligned bytes.
  void* AllocateAligned(std::size_t size) {
    char* raw = nullptr;
    MemTableRep::Allocate(size + alignof(Node) - 1, &raw);
    const auto address = reinterpret_cast<std::uintptr_t>(raw);
    return reinterpret_cast<void*>((address + alignof(Node) - 1) & ~(alignof(Node) - 1));
  }

  // Hints: where the last insert of a key, and of a key's group, went. Two shapes of key are
  // written over and over at random places: a group's next line (a statement line: the
  // account's prefix, then a larger 8-byte sequence) lands right after the group's last line,
  // and a value's new version (the same user key, a newer sequence: a family without in-place
  // updates) right after the node before the key's last version. Both are remembered by slot
  // (a hash; a collision only costs a search), checked before use (Brackets), and point into
  // the arena, which outlives them. A family written a few times never gets the table
  // (kInsertsBeforeHints), one whose keys it seldom places drops it (CheckHints); a busy one's
  // is 64 KB of heap beside its memtable. Measured (issue #29, docs/benchmarks.md): InsertKey
  // 15.7 -> 10.6 % of lovebankd's CPU at 64 clients.
  static constexpr std::size_t kHintSlots = 8192;
  static constexpr std::uint64_t kInsertsBeforeHints = 256;
  struct Slots {
    std::size_t same_key;    // the user key: the node before its last version
    std::size_t same_group;  // the user key but its last 8 bytes: the group's last node
  };
  static Slots SlotsOf(const InternalKey& key) {
    const std::string_view user(key.user, key.user_size);
    const std::size_t group = user.size() >= 8 ? user.size() - 8 : 0;
    return Slots{std::hash<std::string_view>{}(user) % kHintSlots,
                 (std::hash<std::string_view>{}(user.substr(0, group)) ^ 0x5bd1e995) % kHintSlots};
  }
  void Remember(const Slots& slots, Node* pred, Node* node) {
    hints_[slots.same_key] = pred;
    hints_[slots.same_group] = node;
  }
  // Counts a try; every kHintTriesPerCheck tries, drops the hints of a family whose keys they
  // seldom place (random ones: request ids), where they would only cost comparisons.
  static constexpr std::uint32_t kHintTriesPerCheck = 4096;
  void CheckHints(bool placed) {
    hint_hits_ += placed ? 1 : 0;
    if (++hint_tries_ < kHintTriesPerCheck) return;
    if (hint_hits_ * 10 < hint_tries_) {
      hints_.reset();
      hints_off_ = true;
      hint_bytes_.store(0, std::memory_order_relaxed);
    }
    hint_tries_ = hint_hits_ = 0;
  }
  // Whether `pred` is the node right before `target` on level 0 (pred < target < its next).
  bool Brackets(const Node* pred, const Target& target) const {
    if (pred == nullptr || Compare(pred, target) >= 0) return false;
    const Node* next = pred->NextOfWriter(0);
    return next == nullptr || Compare(next, target) > 0;
  }

  int RandomHeight() {
    int height = 1;
    while (height < kMaxHeight && NextRandom() % kBranching == 0) ++height;
    return height;
  }
  std::uint64_t NextRandom() {  // xorshift64*: the writer's only
    random_ ^= random_ >> 12;
    random_ ^= random_ << 25;
    random_ ^= random_ >> 27;
    return (random_ * 0x2545F4914F6CDD1DULL) >> 32;
  }

  const KeyComparator& compare_;  // RocksDB's, owned by the memtable: checks ours in Debug
  Node* head_ = nullptr;
  std::atomic<int> max_height_{1};

  // The writer's state. The finger: finger_[i] is the last node at level i at or before the
  // previous insert (that node itself on the levels it has); levels the list has not reached
  // yet hold head_.
  Node* finger_[kMaxHeight] = {};
  const Node* last_ = nullptr;  // the previous insert; null: search the next one from the top
  std::uint64_t random_;
  std::unique_ptr<Node*[]> hints_;  // kHintSlots, once kInsertsBeforeHints searched
  std::uint64_t searched_ = 0;      // inserts that searched, until the hints exist
  std::uint32_t hint_tries_ = 0;    // since the last check (CheckHints)
  std::uint32_t hint_hits_ = 0;
  bool hints_off_ = false;                  // dropped for good: this family's keys are random
  std::atomic<std::size_t> hint_bytes_{0};  // ApproximateMemoryUsage reads it from any thread
};

bool FingerSkipList::InsertKey(rocksdb::KeyHandle handle) {
  Node* node = static_cast<Node*>(handle);
  const Target target = TargetOfEntry(node->Entry());
  const int max_height = max_height_.load(std::memory_order_relaxed);
  auto duplicate = [this] {
    last_ = nullptr;  // the finger is half rewritten: the next insert searches from the top
    return false;
  };

  // A node on level 0 alone (3 in 4) needs only its predecessor there: a hint that brackets the
  // key links it with two comparisons instead of a search. The finger stays the path to the last
  // searched insert: every finger_[i] is still a node of level i at or before last_.
  const Slots slots = hints_ != nullptr ? SlotsOf(target.key) : Slots{};
  if (node->height() == 1 && hints_ != nullptr) {
    Node* hint = hints_[slots.same_group];
    if (!Brackets(hint, target)) hint = hints_[slots.same_key];
    const bool placed = Brackets(hint, target);
    if (placed) {
      node->Init(0, hint->NextOfWriter(0));
      hint->Publish(0, node);
      hinted_inserts.fetch_add(1, std::memory_order_relaxed);
      Remember(slots, hint, node);
    }
    CheckHints(placed);  // may drop them
    if (placed) return true;
  }

  // Where to search from. After the previous insert (a batch's keys arrive sorted): climb the
  // finger while the next node at that level is still before the key. Nodes on higher levels
  // are nodes of this one too, so the finger above the level it stops at brackets the key
  // already. Otherwise from the top.
  int level = max_height - 1;
  Node* pred = head_;
  const Node* known_not_less = nullptr;
  if (last_ != nullptr && Compare(last_, target) < 0) {
    for (level = 0;; ++level) {
      const Node* next = finger_[level]->NextOfWriter(level);
      if (next == nullptr || level == max_height - 1) break;
      const int order = Compare(next, target);
      if (order == 0) return duplicate();
      if (order > 0) {
        known_not_less = next;
        break;
      }
    }
    pred = finger_[level];
  }
  for (;; --level) {
    Node* next = nullptr;
    while ((next = pred->NextOfWriter(level)) != nullptr && next != known_not_less) {
      const int order = Compare(next, target);
      if (order == 0) return duplicate();
      if (order > 0) break;
      pred = next;
    }
    known_not_less = next;
    finger_[level] = pred;
    if (level == 0) break;
  }

  // Link bottom up; each link is published with release, after the node's own links are set.
  // Readers that see a taller list than a node's levels reach it from head_ (finger_ there).
  const int height = node->height();
  if (height > max_height) max_height_.store(height, std::memory_order_relaxed);
  Node* const before = finger_[0];
  for (int i = 0; i < height; ++i) {
    node->Init(i, finger_[i]->NextOfWriter(i));
    finger_[i]->Publish(i, node);
    finger_[i] = node;
  }
  last_ = node;
  if (hints_ != nullptr) {
    Remember(slots, before == head_ ? nullptr : before, node);
  } else if (!hints_off_ && ++searched_ == kInsertsBeforeHints) {
    hints_.reset(new (std::nothrow) Node*[kHintSlots]());  // all null; none if no memory
    if (hints_ != nullptr) hint_bytes_.store(kHintSlots * sizeof(Node*), std::memory_order_relaxed);
  }
  return true;
}

// Storage for the iterators RocksDB asks for "in its arena": it only destroys those, leaving the
// memory to the arena's owner. rocksdb::Arena is not in RocksDB's public headers, and growing
// the memtable's own arena after RocksDB has counted it breaks its accounting, so the storage
// comes from the heap and is kept for reuse by the thread that destroyed the iterator: that
// thread reuses (or frees) it only after the destructor has returned.
class IteratorStorage {
 public:
  static void* Take(std::size_t size) {
    Slots& slots = Local();
    if (slots.count == 0) return ::operator new(size);
    return slots.storage[--slots.count];
  }
  // From the destructor of the object in `storage`.
  static void Give(void* storage) noexcept {
    Slots& slots = Local();
    if (slots.count == kKept) {  // the oldest's destructor returned long ago
      ::operator delete(slots.storage[0]);
      std::copy(slots.storage + 1, slots.storage + kKept, slots.storage);
      --slots.count;
    }
    slots.storage[slots.count++] = storage;
  }

 private:
  static constexpr std::size_t kKept = 8;
  struct Slots {
    ~Slots() {
      for (std::size_t i = 0; i < count; ++i) ::operator delete(storage[i]);
    }
    void* storage[kKept] = {};
    std::size_t count = 0;
  };
  static Slots& Local() {
    thread_local Slots slots;
    return slots;
  }
};

class FingerIterator final : public rocksdb::MemTableRep::Iterator {
 public:
  // `pooled`: the storage is IteratorStorage's (RocksDB destroys it without deleting).
  FingerIterator(const FingerSkipList* list, bool pooled) : list_(list), pooled_(pooled) {}
  ~FingerIterator() override {
    if (pooled_) IteratorStorage::Give(this);
  }

  bool Valid() const override { return node_ != nullptr; }
  const char* key() const override { return node_->Entry(); }
  void Next() override { node_ = node_->Next(0); }
  void Prev() override {
    Node* before = nullptr;
    list_->Search(TargetOfEntry(node_->Entry()), &before);
    node_ = before;
  }
  void Seek(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override {
    node_ = list_->Search(TargetOfInternalKey(internal_key));
  }
  // Last node <= the key.
  void SeekForPrev(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override {
    const Target target = TargetOfInternalKey(internal_key);
    Node* before = nullptr;
    node_ = list_->Search(target, &before);
    if (node_ == nullptr || list_->Compare(node_, target) != 0) node_ = before;
  }
  void SeekToFirst() override { node_ = list_->First(); }
  void SeekToLast() override { node_ = list_->FindLast(); }

 private:
  const FingerSkipList* list_;
  const bool pooled_;
  const Node* node_ = nullptr;
};

rocksdb::MemTableRep::Iterator* FingerSkipList::GetIterator(rocksdb::Arena* arena) {
  if (arena == nullptr) return new FingerIterator(this, false);  // the caller deletes it
  return new (IteratorStorage::Take(sizeof(FingerIterator))) FingerIterator(this, true);
}

class FingerSkipListFactory final : public rocksdb::MemTableRepFactory {
 public:
  const char* Name() const override { return "lovebank.FingerSkipList"; }
  rocksdb::MemTableRep* CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator& compare,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform* /*prefix*/,
                                          rocksdb::Logger* /*logger*/) override {
    return new FingerSkipList(compare, allocator);
  }
};

}  // namespace

std::uint64_t MemtableHintedInserts() { return hinted_inserts.load(std::memory_order_relaxed); }

std::shared_ptr<rocksdb::MemTableRepFactory> NewFingerSkipListFactory() {
  return std::make_shared<FingerSkipListFactory>();
}

}  // namespace lovebank
