#!/usr/bin/env python3
# Prints the "Every reason" table of docs/api.md from ledger/format/reason.h and ledger/format/reason.cc:
#   python3 scripts/reason-table.py   (run from the repository root)
import re
src=open('ledger/format/reason.h').read()
body=src[src.index('enum class Reason'):src.index('};',src.index('enum class Reason'))]
rows=[]
for m in re.finditer(r'^\s*k(\w+)\s*=\s*(\d+),\s*(?://\s*(.*))?$', body, re.M):
    name,val,comment=m.group(1),int(m.group(2)),(m.group(3) or '').strip()
    if val==0: continue
    rows.append((val,name,comment))
def snake(n): return re.sub(r'(?<!^)(?=[A-Z])','_',n).upper()
cc=open('ledger/format/reason.cc').read()
names=dict(re.findall(r'LOVEBANK_REASON_NAME\(k(\w+),\s*"(\w+)"\)',cc))
def code(v,n):
    sw=cc[cc.index('absl::StatusCode ReasonCode'):]
    # find case lists
    for block in re.finditer(r'((?:\s*case Reason::k\w+:)+)\s*return absl::StatusCode::k(\w+);',sw):
        cases=re.findall(r'k(\w+)',block.group(1))
        if n in cases:
            return re.sub(r'(?<!^)(?=[A-Z])','_',block.group(2)).upper()
    # Reasons outside 10-49 that the final rule names explicitly ("|| reason == Reason::kX").
    explicit=re.findall(r'reason == Reason::k(\w+)', sw[:sw.index('return absl::StatusCode::kInvalidArgument')])
    return 'INVALID_ARGUMENT' if 10<=v<50 or 100<=v<110 or n in explicit else 'FAILED_PRECONDITION'
out=['| value | reason | code | meaning |','|---|---|---|---|']
for v,n,c in sorted(rows):
    out.append(f'| {v} | `{names[n]}` | {code(v,n)} | {c} |')
print('\n'.join(out))
