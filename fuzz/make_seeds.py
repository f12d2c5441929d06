#!/usr/bin/env python3
"""Seeds for entry_fuzz and export_fuzz from a real export (docs/export-format.md).

    build/bin/lovebank-demo --db /tmp/demo-db
    build/bin/lovebank-audit export --db /tmp/demo-db --out /tmp/demo.export
    fuzz/make_seeds.py /tmp/demo.export fuzz/corpus

Writes, for the first N entries (N = 4, 16, 40): entry_fuzz/journal-N (each payload as a 2-byte
big-endian length and its bytes) and export_fuzz/export-N (a valid export of those N entries:
the same stored bytes, the header's head and count set to entry N, the trailer recomputed).
"""
import hashlib
import pathlib
import struct
import sys

source = pathlib.Path(sys.argv[1]).read_bytes()
out = pathlib.Path(sys.argv[2])
header = source[:76]
assert header[:8] == b"LBEXPORT"
ledger_id = header[12:28]
records = []
at = 76
count = struct.unpack(">Q", header[68:76])[0]
for _ in range(count):
    seq, length = struct.unpack(">QI", source[at:at + 12])
    records.append((seq, source[at + 12:at + 12 + length]))
    at += 12 + length

for n in (4, 16, 40):
    chosen = records[:n]
    journal = b"".join(struct.pack(">H", len(value) - 65) + value[65:] for _, value in chosen)
    (out / "entry_fuzz" / f"journal-{n}").write_bytes(journal)
    head_seq, head_value = chosen[-1]
    body = (b"LBEXPORT" + struct.pack(">I", 1) + ledger_id + struct.pack(">Q", head_seq) +
            head_value[1:33] + struct.pack(">Q", len(chosen)))
    for seq, value in chosen:
        body += struct.pack(">QI", seq, len(value)) + value
    (out / "export_fuzz" / f"export-{n}").write_bytes(body + b"LBEXEND\0" + hashlib.sha256(body).digest())
