#!/usr/bin/env bash
# The HTTP/JSON listener beside gRPC (issue #24): unary durable transfers through lovebank_load,
# the same workload over each transport, alternated run by run at 1, 4, 16 and 64 clients; prints
# each run's line and the median tx/s and p50/p99 per transport and concurrency, with the ratio.
#   bench/http_vs_grpc.sh [BUILD_DIR] [RUNS] [SECONDS]      e.g. bench/http_vs_grpc.sh build-release 3 5
set -euo pipefail
build=${1:-build-release}
runs=${2:-3}
seconds=${3:-5}
load="$build/bin/lovebank_load"
out=$(mktemp)
for clients in 1 4 16 64; do
  for run in $(seq "$runs"); do
    for transport in grpc http; do
      line=$("$load" --transport "$transport" --mode unary --clients "$clients" --accounts 1000 \
        --seconds "$seconds" --warmup 1 --http-threads "$clients" 2>/dev/null | tail -1 || true)
      echo "$line"
      echo "$clients $transport $line" >>"$out"
    done
  done
done
python3 - "$out" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    clients, transport, rest = line.split(' ', 2)
    tx = float(re.search(r'tx/s=(\S+)', rest).group(1))
    p50 = float(re.search(r'p50=(\S+)', rest).group(1))
    p99 = float(re.search(r'p99=(\S+)', rest).group(1))
    rows.setdefault((int(clients), transport), []).append((tx, p50, p99))
print('| clients | gRPC tx/s | gRPC p50 / p99 ms | HTTP tx/s | HTTP p50 / p99 ms | HTTP/gRPC tx/s |')
print('|---:|---:|---:|---:|---:|---:|')
for clients in sorted({c for c, _ in rows}):
    med = {t: [statistics.median(v[i] for v in rows[(clients, t)]) for i in range(3)]
           for t in ('grpc', 'http')}
    g, h = med['grpc'], med['http']
    print(f'| {clients} | {g[0]:,.0f} | {g[1]:.2f} / {g[2]:.2f} | {h[0]:,.0f} | {h[1]:.2f} / {h[2]:.2f} | '
          f'{h[0] / g[0]:.2f} |')
PY
rm -f "$out"
