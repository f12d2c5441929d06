#!/usr/bin/env python3
"""What a commit's fdatasync costs over a WAL made by fallocate (RocksDB's, lovebankd's: ext4
marks the extents unwritten, and a sync that first writes one of their pages back writes the
inode too) against one whose zeros were written and synced beforehand (issue #29,
docs/benchmarks.md). Appends RECORD random bytes and syncs, alternating the two files, N times;
prints each file's median and 90th percentile sync time.

  python3 bench/wal_sync_probe.py [--dir DIR] RECORD N      e.g. ... 1100 2000, ... 16000 1000"""
import argparse, os, statistics, time

p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
p.add_argument('record', type=int)
p.add_argument('n', type=int)
p.add_argument('--dir', default='.', help='where the two 64 MB files go (the disk to measure)')
o = p.parse_args()
size = 64 << 20
paths = [os.path.join(o.dir, 'wal-probe-fallocated'), os.path.join(o.dir, 'wal-probe-zeros')]
fds = [os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600) for path in paths]
try:
    os.posix_fallocate(fds[0], 0, size)
    os.fsync(fds[0])
    zeros = b'\0' * (1 << 20)
    for _ in range(size >> 20):
        os.write(fds[1], zeros)
    os.fsync(fds[1])
    record = os.urandom(o.record)
    times = [[], []]
    for i in range(o.n):
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            os.pwrite(fds[k], record, i * o.record)
            start = time.perf_counter()
            os.fdatasync(fds[k])
            times[k].append((time.perf_counter() - start) * 1e6)
    for name, t in zip(('fallocated', 'zeros written'), times):
        t.sort()
        print(f'{name:>13}: {o.record} B x {o.n}: sync median {statistics.median(t):.0f} µs, '
              f'p90 {t[int(0.9 * len(t))]:.0f} µs')
finally:
    for fd, path in zip(fds, paths):
        os.close(fd)
        os.unlink(path)
