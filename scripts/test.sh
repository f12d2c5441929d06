#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, checks the sources' format
# (scripts/format-check.sh), runs every test through CTest, then the sanitizer and fuzzing stage
# (scripts/sanitize.sh: a clang ASan+UBSan build, the unit and integration tests under it, each
# fuzz target briefly), with the Debian package built, installed, run and removed in between
# (scripts/package-test.sh). Exits non-zero on any failure.
#   LOVEBANK_SKIP_SANITIZE=1 scripts/test.sh   # the main build's tests only (quick local runs)
#   LOVEBANK_SKIP_PACKAGE=1 scripts/test.sh    # without the Debian package's install test
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
scripts/format-check.sh
build_dir=${BUILD_DIR:-build}
built=$(date +%s)
# Two jobs: this machine (and CI) has two cores; tests are separate binaries.
ctest --test-dir "$build_dir" --output-on-failure -j "${CTEST_JOBS:-2}" "$@"
tested=$(date +%s)
# The Debian package of these binaries: built, installed, run, removed (issue #28).
if [ "${LOVEBANK_SKIP_PACKAGE:-0}" != "1" ]; then
  scripts/package-test.sh
fi
packaged=$(date +%s)
echo "test: build $((built - start)) s, tests $((tested - built)) s, package $((packaged - tested)) s" >&2
if [ "${LOVEBANK_SKIP_SANITIZE:-0}" != "1" ]; then
  scripts/sanitize.sh
fi
