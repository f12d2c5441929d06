#include "ledger/audit/export.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/storage/store.h"

namespace lovebank::audit {
namespace {

constexpr std::size_t kHeaderBytes = 8 + 4 + kLedgerIdBytes + 8 + 32 + 8;

// A running SHA-256 over everything written or read before the trailer.
class RunningSha256 {
 public:
  RunningSha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    LOVEBANK_CHECK(context_ && EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) == 1);
  }
  void Update(std::string_view bytes) {
    LOVEBANK_CHECK(EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()) == 1);
  }
  std::string Final() {
    std::string digest(32, '\0');
    unsigned int length = 0;
    LOVEBANK_CHECK(EVP_DigestFinal_ex(context_.get(),
                                      reinterpret_cast<unsigned char*>(digest.data()),
                                      &length) == 1);
    return digest;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

std::string Header(std::string_view ledger_id, const Digest& head, std::uint64_t count) {
  std::string header(kExportMagic);
  PutFixed32BE(&header, kExportVersion);
  header.append(ledger_id);
  PutFixed64BE(&header, head.seq);
  header.append(reinterpret_cast<const char*>(head.hash.data()), head.hash.size());
  PutFixed64BE(&header, count);
  return header;
}

class ExportFileSource : public JournalSource {
 public:
  explicit ExportFileSource(std::ifstream in) : in_(std::move(in)) {}

  absl::Status ReadHeader() {
    // The file's size bounds every record: a corrupt length is refused before anything the size
    // it claims (up to 16 MiB) is allocated.
    in_.seekg(0, std::ios::end);
    const std::streamoff size = in_.tellg();
    in_.seekg(0, std::ios::beg);
    if (size < 0) return absl::DataLossError("export size cannot be read");
    unread_ = static_cast<std::uint64_t>(size);
    std::string header(kHeaderBytes, '\0');
    if (!in_.read(header.data(), header.size()))
      return absl::DataLossError("export header is truncated");
    if (header.substr(0, 8) != kExportMagic) return absl::DataLossError("not a lovebank export");
    if (GetFixed32BE(header.data() + 8) != kExportVersion) {
      return absl::DataLossError("export format version is not 1");
    }
    ledger_id_ = header.substr(12, kLedgerIdBytes);
    head_.seq = GetFixed64BE(header.data() + 12 + kLedgerIdBytes);
    std::copy(header.begin() + 20 + kLedgerIdBytes, header.begin() + 52 + kLedgerIdBytes,
              head_.hash.begin());
    count_ = GetFixed64BE(header.data() + 52 + kLedgerIdBytes);
    sha_.Update(header);
    unread_ -= header.size();
    return absl::OkStatus();
  }

  std::string ledger_id() const override { return ledger_id_; }
  Digest claimed_head() const override { return head_; }
  // Each record is at least its 12-byte prefix and a 65-byte stored-entry header.
  std::uint64_t record_bound() const override { return read_ + unread_ / (12 + 65); }

  absl::StatusOr<bool> Next(RawRecord* record) override {
    if (read_ == count_) {
      LOVEBANK_RETURN_IF_ERROR(CheckTrailer());
      return false;
    }
    char prefix[12];
    if (!in_.read(prefix, sizeof(prefix))) {
      return absl::DataLossError(Cat("export ends after ", read_, " of ", count_, " records"));
    }
    const std::uint32_t length = GetFixed32BE(prefix + 8);
    if (length > kExportRecordBytesMax) {
      return absl::DataLossError(Cat("export record ", read_ + 1, " claims ", length, " bytes"));
    }
    unread_ -= sizeof(prefix);
    if (length > unread_) {
      return absl::DataLossError(Cat("export record ", read_ + 1, " is truncated: it claims ",
                                     length, " bytes and ", unread_, " are left"));
    }
    unread_ -= length;
    record->key.assign(prefix, 8);
    record->value.resize(length);
    if (!in_.read(record->value.data(), length)) {
      return absl::DataLossError(Cat("export record ", read_ + 1, " is truncated"));
    }
    sha_.Update(std::string_view(prefix, sizeof(prefix)));
    sha_.Update(record->value);
    ++read_;
    return true;
  }

 private:
  absl::Status CheckTrailer() {
    if (trailer_checked_) return absl::OkStatus();
    std::string trailer(40, '\0');
    if (!in_.read(trailer.data(), trailer.size()) || trailer.substr(0, 8) != kExportTrailerMagic) {
      return absl::DataLossError("export trailer is missing: the file is truncated");
    }
    if (trailer.substr(8) != sha_.Final()) {
      return absl::DataLossError("export trailer hash does not match the file: it was altered");
    }
    if (in_.peek() != std::char_traits<char>::eof()) {
      return absl::DataLossError("export has bytes after its trailer");
    }
    trailer_checked_ = true;
    return absl::OkStatus();
  }

  std::ifstream in_;
  RunningSha256 sha_;
  std::string ledger_id_;
  Digest head_;
  std::uint64_t count_ = 0;
  std::uint64_t read_ = 0;
  std::uint64_t unread_ = 0;  // bytes of the file after what was read
  bool trailer_checked_ = false;
};

}  // namespace

absl::StatusOr<ExportSummary> ExportJournal(Store& store, const std::string& path) {
  return ExportJournal([&store] { return StoreSource(store); }, path);
}

absl::StatusOr<ExportSummary> ExportJournal(const SourceFactory& open, const std::string& path) {
  // Two passes over the same journal (the header carries the record count so that a reader
  // knows where the trailer starts); nothing is held in memory.
  std::uint64_t count = 0;
  {
    LOVEBANK_ASSIGN_OR_RETURN(auto counting, open());
    RawRecord record;
    for (;;) {
      LOVEBANK_ASSIGN_OR_RETURN(const bool more, counting->Next(&record));
      if (!more) break;
      ++count;
    }
  }
  LOVEBANK_ASSIGN_OR_RETURN(auto source, open());
  ExportSummary summary;
  summary.head = source->claimed_head();
  const std::string temporary = path + ".partial";
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  if (!out) return absl::UnavailableError(Cat("cannot write ", temporary));
  RunningSha256 sha;
  const std::string header = Header(source->ledger_id(), summary.head, count);
  out.write(header.data(), header.size());
  sha.Update(header);
  RawRecord record;
  for (;;) {
    LOVEBANK_ASSIGN_OR_RETURN(const bool more, source->Next(&record));
    if (!more) break;
    std::string prefix = record.key;
    PutFixed32BE(&prefix, static_cast<std::uint32_t>(record.value.size()));
    out.write(prefix.data(), prefix.size());
    out.write(record.value.data(), record.value.size());
    sha.Update(prefix);
    sha.Update(record.value);
    ++summary.records;
  }
  if (summary.records != count) {
    return absl::AbortedError("the journal changed between the two export passes");
  }
  const std::string trailer = std::string(kExportTrailerMagic) + sha.Final();
  out.write(trailer.data(), trailer.size());
  out.flush();
  if (!out) return absl::UnavailableError(Cat("writing ", temporary, " failed"));
  out.close();
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::UnavailableError(Cat("cannot rename to ", path, ": ", error.message()));
  return summary;
}

absl::StatusOr<std::unique_ptr<JournalSource>> FileSource(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(Cat("cannot open ", path));
  auto source = std::make_unique<ExportFileSource>(std::move(in));
  LOVEBANK_RETURN_IF_ERROR(source->ReadHeader());
  return std::unique_ptr<JournalSource>(std::move(source));
}

}  // namespace lovebank::audit
