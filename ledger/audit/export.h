#pragma once
// The portable export of a ledger's journal: what an auditor takes home and checks offline with
// `lovebank-audit --file`. docs/export-format.md is the same contract with the byte layout.
//
//   header   "LBEXPORT" | u32 version = 1 | ledger_id (16) | head_seq u64 | head_hash (32) |
//            record count u64
//   records  seq u64 | length u32 | the stored journal value, exactly as in RocksDB
//   trailer  "LBEXEND\0" | SHA-256 of every byte before the trailer (32)
// All integers big-endian.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ledger/audit/audit.h"

namespace lovebank {
class Store;
}

namespace lovebank::audit {

inline constexpr std::string_view kExportMagic = "LBEXPORT";
inline constexpr std::string_view kExportTrailerMagic = std::string_view("LBEXEND\0", 8);
inline constexpr std::uint32_t kExportVersion = 1;
// A stored journal value above this is refused when reading an export (a payload is bounded by
// the command limits to a few KB; 16 MiB leaves room and stops a corrupt length from allocating
// gigabytes).
inline constexpr std::uint32_t kExportRecordBytesMax = 16u << 20;

struct ExportSummary {
  std::uint64_t records = 0;
  Digest head;
};

// Writes the journal of `store` (one snapshot: meta head and entries agree) to `path`, through a
// temporary file renamed into place. Errors: Unavailable for I/O; DataLoss when meta is missing.
absl::StatusOr<ExportSummary> ExportJournal(Store& store, const std::string& path);
// The same from any source: `open` is called twice and must give the same journal both times
// (e.g. a gRPC stream up to a fixed seq). Errors also: Aborted when the two passes differ.
using SourceFactory = std::function<absl::StatusOr<std::unique_ptr<JournalSource>>()>;
absl::StatusOr<ExportSummary> ExportJournal(const SourceFactory& open, const std::string& path);

// Reads an export. Errors at open: NotFound, or DataLoss for a bad header; while reading
// (Next): DataLoss for a truncated record, a missing trailer, a record count or trailer hash
// that does not match.
absl::StatusOr<std::unique_ptr<JournalSource>> FileSource(const std::string& path);

}  // namespace lovebank::audit
