#!/usr/bin/env bash
# The long fuzz runs (issue #8 item 4, docs/reliability.md): each libFuzzer target of the
# sanitizer build (scripts/sanitize.sh builds it in build-san) for RUNS executions (default
# 10,000,000) from its seed corpus, one after the other, on one core.
#   scripts/fuzz.sh [RUNS] [TARGET...]
# New interesting inputs collect in ${FUZZ_WORK:-/tmp/lovebank-fuzz}/<target>; a crash leaves
# crash-* there and stops. Every crash found becomes a seed in fuzz/corpus/<target> (named
# regression-*) and a test, so CTest replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-san}
runs=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(amount_fuzz request_fuzz export_fuzz entry_fuzz)
work=${FUZZ_WORK:-/tmp/lovebank-fuzz}
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  start=$(date +%s)
  # entry_fuzz replays every entry of its input: shorter inputs, more executions per second.
  max_len=8192
  [ "$target" = entry_fuzz ] && max_len=1024
  (cd "$work/$target" && "$OLDPWD/$build_dir/bin/$target" -runs="$runs" -max_len=$max_len \
     -print_final_stats=1 . "$OLDPWD/fuzz/corpus/$target" >"$work/$target.log" 2>&1)
  echo "$target: $runs runs in $(( $(date +%s) - start )) s;" \
       "$(grep -E '^#[0-9]+.*DONE' "$work/$target.log" | tail -1)"
done
