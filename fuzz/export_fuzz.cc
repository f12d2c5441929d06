// libFuzzer target (issue #8 item 4): the audit's export reader. The input is an export file
// (docs/export-format.md); the target reads it as `lovebank-audit --file` does (FileSource, then
// the whole audit when the file reads whole). Whatever the bytes: no crash, no sanitizer report;
// a bad file is an error status ("could not run").

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "ledger/audit/audit.h"
#include "ledger/audit/export.h"
#include "ledger/base/check.h"

// Protobuf logs every string field with invalid UTF-8 it is asked to parse: millions of lines.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lovebank;
  // An in-memory file: the reader opens a path, as the command line does.
  static const int fd = ::memfd_create("lovebank-export-fuzz", 0);
  LOVEBANK_CHECK(fd >= 0);
  LOVEBANK_CHECK(::ftruncate(fd, 0) == 0);
  LOVEBANK_CHECK(::pwrite(fd, data, size, 0) == static_cast<ssize_t>(size));
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  // The reader alone first, to its end or its first error (most mutated files stop here: the
  // trailer hash covers every byte); a file it reads whole is audited as `lovebank-audit --file`.
  {
    auto source = audit::FileSource(path);
    if (!source.ok()) return 0;
    audit::RawRecord record;
    for (;;) {
      auto more = (*source)->Next(&record);
      if (!more.ok()) return 0;
      if (!*more) break;
    }
  }
  auto source = audit::FileSource(path);
  LOVEBANK_CHECK(source.ok());
  audit::Options options;
  options.reopen = [&path] { return audit::FileSource(path); };
  const auto report = audit::Run(**source, nullptr, options);
  LOVEBANK_CHECK(report.ok());  // it read whole once; it reads whole again
  return 0;
}
