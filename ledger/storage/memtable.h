#pragma once
// The memtable every lovebank column family uses: a skiplist written by one thread at a time
// and read by any number without locks, that finds where to insert a key by starting from
// where the previous key went (a finger). Internal to ledger/ (store.cc).
//
// Why not RocksDB's own skiplist: Debian's RocksDB is built without NDEBUG, and its skiplist
// runs ~20 checking comparisons per insert, each through the comparator's virtual calls; the
// writer spent ~55 % of its time there (docs/benchmarks.md, 2026-11-24). A batch's puts reach
// each family sorted (StagedPuts), so consecutive inserts land close together: this one
// climbs from the previous insert's path only as far as it must.
//
// REQUIRES: the family's comparator is RocksDB's default (bytewise user keys, then sequence
// descending) — every lovebank family's. Builds without NDEBUG check each comparison against
// the comparator RocksDB hands over. allow_concurrent_memtable_write must be false (RocksDB
// refuses to open otherwise: the factory does not support concurrent inserts).

#include <memory>

#include "rocksdb/memtablerep.h"

namespace lovebank {

std::shared_ptr<rocksdb::MemTableRepFactory> NewFingerSkipListFactory();

// Inserts, in this process so far, that a hint placed without a search (memtable.cc: a value's
// new version, a group's next line). For tests and benchmarks.
std::uint64_t MemtableHintedInserts();

}  // namespace lovebank
