// The WAL's preallocation sets the file's size (ledger/storage/store.cc, SizedWalFileSystem):
// a process that dies leaves its live WAL longer than its records, the rest reading as zeros.
// Recovery must read every synced record and stop at the zeros — a read-only open beside it
// too — and a clean close trims the WAL to its records.

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/sha256.h"
#include "ledger/ledger.h"
#include "tests/test_util.h"

namespace lovebank {
namespace {

using testing::Earn;
using testing::TempDir;

constexpr int kEarns = 40;

// The largest WAL file in `db` and its size (0 when there is none).
std::pair<std::string, std::uintmax_t> LargestWal(const std::string& db) {
  std::pair<std::string, std::uintmax_t> largest{"", 0};
  for (const auto& file : std::filesystem::directory_iterator(db)) {
    if (file.path().extension() == ".log" && file.file_size() >= largest.second) {
      largest = {file.path().string(), file.file_size()};
    }
  }
  return largest;
}

// Whether the last `bytes` bytes of `path` are all zero.
bool EndsInZeros(const std::string& path, std::uintmax_t size, std::size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(size - bytes));
  std::string tail(bytes, '\1');
  in.read(tail.data(), static_cast<std::streamsize>(bytes));
  return in.gcount() == static_cast<std::streamsize>(bytes) &&
         tail.find_first_not_of('\0') == std::string::npos;
}

TEST(SizedWal, ADeadProcessLeavesAZeroTailThatRecoveryReadsAsTheLogsEnd) {
  TempDir dir;
  const std::string db = dir.path();
  const std::string head_file = dir.Sub("head");
  // The child commits and dies without closing anything (no flush, no trim), as a SIGKILL
  // leaves it; fork before this process starts any thread of its own.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto ledger = testing::OpenLedger(db);
    if (!ledger) ::_exit(3);
    testing::OpenProgramme(*ledger, 2);
    Outcome last;
    for (int i = 0; i < kEarns; ++i) {
      last = ledger->Execute(Earn(Cat("e", i), "issuer:town", i % 2 == 0 ? "m1" : "m2", "1.25"));
      if (!last.ok()) ::_exit(4);
    }
    std::ofstream(head_file) << last.receipt.seq << " " << ToHex(HashBytes(last.receipt.hash));
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::uint64_t seq = 0;
  std::string hash;
  std::ifstream(head_file) >> seq >> hash;
  ASSERT_GT(seq, static_cast<std::uint64_t>(kEarns));

  // The live WAL is preallocated past its records (RocksDB's 1.1 x the 32 MB write buffer),
  // and its tail reads as zeros. Without the sized preallocation it ends at its last record.
  const auto [wal, size] = LargestWal(db);
  ASSERT_FALSE(wal.empty());
  EXPECT_GE(size, std::uintmax_t{32} << 20) << wal;
  EXPECT_TRUE(EndsInZeros(wal, size, 4096)) << wal;

  // A read-only open (the audit's) reads the WAL with its zero tail: every commit is there.
  const auto dump = testing::DumpStore(db);
  EXPECT_EQ(dump.at("journal").size(), seq) << "journal entries seen by a read-only open";

  // The writer's recovery: the head the child last acknowledged, every balance, and commits go on.
  auto ledger = testing::OpenLedger(db);
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->GetHead().seq, seq);
  EXPECT_EQ(ToHex(HashBytes(ledger->GetHead().hash)), hash);
  EXPECT_EQ(ledger->GetBalance("m1", "POINTS")->decimal, "25.00");
  EXPECT_EQ(ledger->GetBalance("m2", "POINTS")->decimal, "25.00");
  const Outcome retried = ledger->Execute(Earn("e0", "issuer:town", "m1", "1.25"));
  ASSERT_TRUE(retried.ok()) << retried.message;
  EXPECT_LE(retried.receipt.seq, seq) << "a retry of an acknowledged command is its first answer";
  const Outcome next = ledger->Execute(Earn("after", "issuer:town", "m2", "1"));
  ASSERT_TRUE(next.ok()) << next.message;
  EXPECT_EQ(next.receipt.seq, seq + 1);
  ledger.reset();

  // A clean close trims the live WAL to its records.
  const auto [closed_wal, closed_size] = LargestWal(db);
  EXPECT_LT(closed_size, std::uintmax_t{1} << 20) << closed_wal;
}

}  // namespace
}  // namespace lovebank
