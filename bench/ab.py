#!/usr/bin/env python3
"""Alternates two builds of one Google Benchmark program and prints each benchmark's median
items/s for A and B and the median of the paired ratios B/A (docs/benchmarks.md).

  bench/ab.py --runs 5 --a OLD/build-release/bin/ledger_bench --b build-release/bin/ledger_bench \
      -- --benchmark_filter='DurableTransfers/batch:1024/outstanding:4' --benchmark_min_time=2

Environment for one side only: --a-env NAME=VALUE / --b-env NAME=VALUE (e.g. the audit's kept
ledger, which differs between store formats)."""
import argparse, json, os, statistics, subprocess, sys

def run(binary, env, args, metrics):
    e = dict(os.environ); e.update(env)
    out = subprocess.run([binary, '--benchmark_format=json', *args], env=e, check=True,
                         capture_output=True, text=True).stdout
    return {f"{b['name']} {m}": b[m] for b in json.loads(out)['benchmarks'] for m in metrics
            if m in b and b.get('run_type') != 'aggregate'}

def pairs(values):
    return dict(v.split('=', 1) for v in values)

p = argparse.ArgumentParser()
p.add_argument('--runs', type=int, default=5)
p.add_argument('--a', required=True); p.add_argument('--b', required=True)
p.add_argument('--a-env', action='append', default=[]); p.add_argument('--b-env', action='append', default=[])
# What to compare: items_per_second, or a counter the benchmark reports (ledger_bench's seq_us,
# writer_us, client_us: CPU µs per transfer of each thread). Repeat for several.
p.add_argument('--metric', action='append', default=[])
p.add_argument('args', nargs='*')
o = p.parse_args()
a_env, b_env = pairs(o.a_env), pairs(o.b_env)
metrics = o.metric or ['items_per_second']
results = {}
for i in range(o.runs):
    ra = run(o.a, a_env, o.args, metrics); rb = run(o.b, b_env, o.args, metrics)
    for name in ra:
        if name in rb:
            results.setdefault(name, []).append((ra[name], rb[name]))
    print(f'run {i + 1}: ' + '; '.join(f'{n}: A {a:,.3f} B {b:,.3f}' for n, v in results.items()
                                      for a, b in [v[-1]]), file=sys.stderr)
for name, v in results.items():
    ma = statistics.median(a for a, _ in v); mb = statistics.median(b for _, b in v)
    ratio = statistics.median(b / a for a, b in v)
    print(f'{name}: A median {ma:,.3f}, B median {mb:,.3f}, B/A median of {len(v)} pairs {ratio:.3f} '
          f'(pairs {min(b / a for a, b in v):.3f}-{max(b / a for a, b in v):.3f})')
