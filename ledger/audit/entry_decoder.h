#pragma once
// A decoder for journal payloads in the canonical form the engine writes: the audit reader's
// fast path beside protobuf's parser (issue #3). Internal to ledger/audit.
//
// Why: protobuf 3.21 validates every proto3 string as UTF-8 one byte at a time and allocates
// through its generic parse loop; for the bulk of a journal (value moves: ~190 bytes of ids,
// amounts and memo) that was a third of the reader thread, the audit's bottleneck.

#include <string_view>

#include "lovebank/v1/journal.pb.h"

namespace lovebank::audit {

// Fills `entry` — a new message, or one that only this function has filled before (reused from
// entry to entry: its strings keep their capacity) — from `payload` and returns true when
// the payload is canonical — every field in number order and written once (postings: repeated,
// together), no unknown field, no wire type but the field's own, no default value written out,
// every varint minimal, every string valid UTF-8 — and holds nothing but what value-moving
// entries hold: seq, time, a Command (request id, actor, memo and a Move body: earn, deduct,
// redeem, transfer, receive_stock, write_off_stock or settle, its activity included; or a
// Reverse) and postings. For such a payload `entry` ends exactly as ParseFromArray would leave
// it, and `command_bytes` is the command's own serialisation (the bytes CommandFingerprint
// hashes; empty when the entry has no command). Anything else returns false, leaving `entry` in
// an unspecified state (still fit for this function's next call): parse the payload with
// protobuf into a fresh message then. The
// equivalence is checked on arbitrary bytes by fuzz/entry_fuzz.cc and on the engine's own
// entries by tests/audit/entry_decoder_test.cc.
bool DecodeCanonicalEntry(std::string_view payload, v1::Entry* entry,
                          std::string_view* command_bytes);

}  // namespace lovebank::audit
