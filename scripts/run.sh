#!/usr/bin/env bash
# The README's run command. Builds lovebank (installing what is missing) and runs it.
#
# The gRPC server lovebankd arrives with issue #4. Until then this runs the ledger end to end
# in-process: lovebank-demo records a month of the sample programme (examples/data) in a
# RocksDB ledger at $LOVEBANK_DB (default var/demo-ledger) and prints outcomes, top volunteers,
# a statement and the digest. Run it twice: the second run applies nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
db=${LOVEBANK_DB:-var/demo-ledger}
mkdir -p "$(dirname "$db")"
exec "${BUILD_DIR:-build}/bin/lovebank-demo" --db "$db" "$@"
