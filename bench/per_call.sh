#!/usr/bin/env bash
# Context switches and CPU per call in lovebankd (issue #29): starts a throwaway lovebankd, runs
# lovebank_load's unary durable transfers for 6 s and counts the server's context switches and
# CPU time with `perf stat` over 3 s in the middle. Prints one line per build given, alternated
# round by round; compare builds with medians of several rounds (this machine is noisy).
#   bench/per_call.sh CLIENTS ROUNDS BUILD_DIR...    e.g. bench/per_call.sh 1 3 /tmp/a build-release
set -euo pipefail
clients=$1
rounds=$2
shift 2
one() {
  local bin=$1/bin dir
  dir=$(mktemp -d)
  "$bin/lovebankd" --init --data-dir "$dir/d" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    --log-level warn 2>"$dir/err" &
  local server=$!
  for _ in $(seq 100); do grep -q "HTTP/JSON on port" "$dir/err" && break; sleep 0.1; done
  local port
  port=$(grep -o 'listening on port [0-9]*' "$dir/err" | grep -o '[0-9]*$')
  "$bin/lovebank_load" --server "127.0.0.1:$port" --admin-token-file "$dir/d/admin.token" \
    --mode unary --clients "$clients" --channels "$clients" --accounts 1000 --seconds 6 \
    --warmup 1 >"$dir/load" 2>&1 &
  local load=$!
  sleep 3.5
  perf stat -x, -e context-switches,cpu-clock -p "$server" -- sleep 3 2>"$dir/stat"
  wait "$load"
  kill "$server"
  wait "$server" 2>/dev/null || true
  python3 - "$1" "$clients" "$dir/load" "$dir/stat" <<'PY'
import re, sys
build, clients, load, stat = sys.argv[1:]
tx = float(re.search(r'tx/s=(\S+)', open(load).read()).group(1))
counts = {line.split(',')[2]: float(line.split(',')[0]) for line in open(stat) if line.count(',') > 2}
calls = tx * 3
print(f'{build} clients={clients} tx/s={tx:,.0f} switches/call={counts["context-switches"] / calls:.1f} '
      f'server_cpu_us/call={counts["cpu-clock"] * 1000 / calls:.0f}')
PY
  rm -rf "$dir"
}
for _ in $(seq "$rounds"); do
  for build in "$@"; do one "$build"; done
done
