#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs lovebankd (the lovebank
# gRPC server) in the foreground on 127.0.0.1:50051, and the same API as HTTP/JSON on
# 127.0.0.1:8080, with its data in var/ledger.
#
# On a new data directory lovebankd creates the first admin and prints the path of the file
# holding its token (mode 0600). Ctrl-C or SIGTERM stops it cleanly. Extra arguments go to
# lovebankd (see `build/bin/lovebankd --help`), e.g. scripts/run.sh --listen 0.0.0.0:50051.
#
#   LOVEBANK_DATA_DIR=/srv/lovebank scripts/run.sh
#
# The in-process demo of a month of the sample programme: build/bin/lovebank-demo --db DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
data_dir=${LOVEBANK_DATA_DIR:-var/ledger}
# --init: create the ledger the first time (lovebankd refuses to start a new one otherwise).
# --http-listen: phones and browsers reach the same API as HTTP/JSON on port 8080 (docs/api.md).
# --web-root: the pages (http://127.0.0.1:8080/app/ for members, /counter/ for the till).
exec "${BUILD_DIR:-build}/bin/lovebankd" --init --data-dir "$data_dir" \
  --http-listen "${LOVEBANK_HTTP_LISTEN:-127.0.0.1:8080}" --web-root clients/web "$@"
