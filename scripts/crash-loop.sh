#!/usr/bin/env bash
# The long crash loop (issue #8, docs/reliability.md): lovebankd killed with SIGKILL under
# concurrent gRPC load N times (default 100), each restart checked (tests/service/crash_test.cc).
#   scripts/crash-loop.sh [CYCLES] [SEED]
# Uses the build in ${BUILD_DIR:-build} (scripts/setup.sh makes it). Exit 0 when every cycle held.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
ninja -C "$build_dir" crash_test lovebankd >/dev/null
export LOVEBANK_CRASH_CYCLES=${1:-100}
[[ -n "${2:-}" ]] && export LOVEBANK_CRASH_SEED=$2
start=$(date +%s)
"$build_dir/bin/crash_test" --gtest_brief=1
echo "crash loop: ${LOVEBANK_CRASH_CYCLES} cycles passed in $(( $(date +%s) - start )) s"
