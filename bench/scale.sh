#!/usr/bin/env bash
# lovebank's scale figures (issue #29 item 5): see bench/scale.py.
#   bench/scale.sh [--members 1000000] [--entries 10000000] [--rows 100000] [--months 12]
# Builds Release in build-release (lovebankd, the lovebank CLI, make_ledger).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE=Release BUILD_DIR=${BUILD_DIR:-build-release} LOVEBANK_SKIP_BUILD=1 scripts/setup.sh
cmake --build "${BUILD_DIR:-build-release}" --target lovebankd lovebank make_ledger -- --quiet
exec python3 bench/scale.py --build "${BUILD_DIR:-build-release}" "$@"
