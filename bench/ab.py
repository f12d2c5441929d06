#!/usr/bin/env python3
"""Alternates two builds of one Google Benchmark program and prints each benchmark's median
items/s for A and B and the median of the paired ratios B/A (docs/benchmarks.md).

  bench/ab.py --runs 5 --a OLD/build-release/bin/ledger_bench --b build-release/bin/ledger_bench \
      -- --benchmark_filter='DurableTransfers/batch:1024/outstanding:4' --benchmark_min_time=2

Environment for one side only: --a-env NAME=VALUE / --b-env NAME=VALUE (e.g. the audit's kept
ledger, which differs between store formats)."""
import argparse, json, os, statistics, subprocess, sys

def run(binary, env, args):
    e = dict(os.environ); e.update(env)
    out = subprocess.run([binary, '--benchmark_format=json', *args], env=e, check=True,
                         capture_output=True, text=True).stdout
    return {b['name']: b['items_per_second'] for b in json.loads(out)['benchmarks']
            if 'items_per_second' in b and b.get('run_type') != 'aggregate'}

def pairs(values):
    return dict(v.split('=', 1) for v in values)

p = argparse.ArgumentParser()
p.add_argument('--runs', type=int, default=5)
p.add_argument('--a', required=True); p.add_argument('--b', required=True)
p.add_argument('--a-env', action='append', default=[]); p.add_argument('--b-env', action='append', default=[])
p.add_argument('args', nargs='*')
o = p.parse_args()
a_env, b_env = pairs(o.a_env), pairs(o.b_env)
results = {}
for i in range(o.runs):
    ra = run(o.a, a_env, o.args); rb = run(o.b, b_env, o.args)
    for name in ra:
        if name in rb:
            results.setdefault(name, []).append((ra[name], rb[name]))
    print(f'run {i + 1}: ' + '; '.join(f'{n}: A {a:,.0f} B {b:,.0f}' for n, v in results.items()
                                      for a, b in [v[-1]]), file=sys.stderr)
for name, v in results.items():
    ma = statistics.median(a for a, _ in v); mb = statistics.median(b for _, b in v)
    ratio = statistics.median(b / a for a, b in v)
    print(f'{name}: A median {ma:,.0f}/s, B median {mb:,.0f}/s, B/A median of {len(v)} pairs {ratio:.3f} '
          f'(pairs {min(b / a for a, b in v):.3f}-{max(b / a for a, b in v):.3f})')
