// libFuzzer target (issue #8 item 4): the journal entry decoder and the audit's replay of what it
// decodes. The input is a journal of payloads, each a 2-byte big-endian length and that many
// bytes; each payload that decodes as a lovebank.v1.Entry is numbered from seq 1 and replayed by
// the audit's ReplayEntry (what audit::Run does after its reader has checked keys and hashes —
// that reader is fuzzed by export_fuzz), as an auditor would over a ledger someone forged with a
// valid chain. Whatever the bytes: no crash, no sanitizer report. The same bytes also go, whole,
// through the stored-entry decoder, which must round-trip anything it accepts. Each payload also
// goes through the audit reader's canonical decoder (ledger/audit/entry_decoder.h): whatever it
// accepts, protobuf's parser must accept too, with the same message, the same command
// fingerprint, and a serialization equal to the payload — both into a fresh message and into one
// message reused for every payload of the input, as the audit reader reuses them.

#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "ledger/audit/entry_decoder.h"
#include "ledger/audit/replay.h"
#include "ledger/base/check.h"
#include "ledger/format/journal_format.h"

// Protobuf logs every string field with invalid UTF-8 it is asked to parse: millions of lines.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lovebank;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto stored = DecodeStoredEntry(input)) {
    LOVEBANK_CHECK(EncodeStoredEntry(stored->hash, stored->prev_hash, stored->payload) == input);
  }
  audit::ReplayState state;
  audit::Findings findings;
  std::uint64_t seq = 0;
  v1::Entry reused;
  for (std::size_t at = 0; at + 2 <= size;) {
    const std::size_t length = (std::size_t{data[at]} << 8) | data[at + 1];
    at += 2;
    const std::string_view payload = input.substr(at, length);
    at += payload.size();
    ++seq;
    v1::Entry entry;
    const bool parses = entry.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
    v1::Entry fast;
    std::string_view command_bytes;
    if (audit::DecodeCanonicalEntry(payload, &fast, &command_bytes)) {
      LOVEBANK_CHECK(parses);
      LOVEBANK_CHECK(google::protobuf::util::MessageDifferencer::Equals(fast, entry));
      LOVEBANK_CHECK(HashFromBytes(CommandFingerprint(entry.command())) ==
                     SerializedCommandFingerprint(command_bytes));
      LOVEBANK_CHECK(entry.SerializeAsString() == payload);
    }
    if (audit::DecodeCanonicalEntry(payload, &reused, &command_bytes)) {
      LOVEBANK_CHECK(parses);
      LOVEBANK_CHECK(google::protobuf::util::MessageDifferencer::Equals(reused, entry));
      LOVEBANK_CHECK(reused.SerializeAsString() == payload);
    }
    if (!parses) continue;
    entry.set_seq(seq);  // as the reader does after reporting a mismatch
    audit::ReplayEntry(entry, *HashFromBytes(CommandFingerprint(entry.command())), state, findings);
  }
  return 0;
}
