#!/usr/bin/env bash
# gRPC's own cost per unary call (issue #29; bench/grpc_floor.cc): for each server API, a
# grpc_floor server and CLIENTS blocking clients for 6 s; `perf stat` counts the server's context
# switches and CPU over 3 s in the middle, divided by the clients' average calls/s × 3. APIs
# alternate round by round (APIS="callback mixed async" by default; also "inline"); compare medians.
#   bench/grpc_floor.sh CLIENTS ROUNDS [--no-sync]     e.g. bench/grpc_floor.sh 1 3
set -euo pipefail
clients=$1
rounds=$2
sync=()
case "${3:-}" in
  "") ;;
  --no-sync) sync=(--no-sync) ;;
  *) echo "grpc_floor.sh: the third argument may only be --no-sync" >&2; exit 2 ;;
esac
bin=${BUILD_DIR:-build-release}/bin
server=""
dir=""
cleanup() {
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; fi
  if [[ -n $dir ]]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
one() {
  local api=$1
  dir=$(mktemp -d)
  "$bin/grpc_floor" serve --api "$api" --dir "$dir" "${sync[@]}" >"$dir/port" &
  server=$!
  for _ in $(seq 50); do grep -q port "$dir/port" && break; sleep 0.1; done
  local port
  port=$(awk '/port/ {print $2}' "$dir/port")
  if [[ -z $port ]]; then echo "grpc_floor.sh: the $api server did not start" >&2; exit 1; fi
  local callers=()
  for c in $(seq "$clients"); do
    "$bin/grpc_floor" call --server "127.0.0.1:$port" --seconds 6 >"$dir/calls.$c" &
    callers+=($!)
  done
  sleep 2
  perf stat -x, -e context-switches,cpu-clock -p "$server" -- sleep 3 2>"$dir/stat"
  for caller in "${callers[@]}"; do wait "$caller"; done  # each: a failed client stops the run
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
  python3 - "$api" "$clients" "$dir" <<'PY'
import glob, re, sys
api, clients, d = sys.argv[1:]
calls = sum(float(re.search(r'calls/s=(\S+)', open(f).read()).group(1)) for f in glob.glob(d + '/calls.*'))
counts = {l.split(',')[2]: float(l.split(',')[0]) for l in open(d + '/stat') if l.count(',') > 2}
n = calls * 3
print(f'{api:8} clients={clients} calls/s={calls:,.0f} switches/call={counts["context-switches"] / n:.1f} '
      f'server_cpu_us/call={counts["cpu-clock"] * 1000 / n:.0f}')
PY
  rm -rf "$dir"
  dir=""
}
for _ in $(seq "$rounds"); do
  for api in ${APIS:-callback mixed async}; do one "$api"; done
done
