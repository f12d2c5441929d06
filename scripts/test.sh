#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test through CTest.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${BUILD_DIR:-build}
# Two jobs: this machine (and CI) has two cores; tests are separate binaries.
ctest --test-dir "$build_dir" --output-on-failure -j "${CTEST_JOBS:-2}" "$@"
