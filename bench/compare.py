#!/usr/bin/env python3
"""lovebank against the database a town's IT would use (issue #29), side by side in one run.

Starts a throwaway PostgreSQL 15 (fsync and synchronous_commit on) holding the plpgsql transfer
the issue describes, and a throwaway lovebankd; then, at each concurrency, runs the same workload
on each side in turn -- uniform random member-to-member transfers over the same number of funded
accounts, one outstanding call per client, each call durable before it is answered -- with
pgbench against PostgreSQL and lovebank_load against lovebankd (gRPC, and HTTP/JSON). The order
of the sides rotates from round to round. Prints each run, then per concurrency the medians of
the rounds: transfers/s, p50/p99 latency, the server's CPU per transfer, and lovebank/PostgreSQL.

  bench/compare.sh                       # Release build in build-release, 3 rounds of 10 s
  bench/compare.sh --runs 5 --seconds 10 --clients 1,4,16,64 --sides pg,grpc,http
  bench/compare.sh --sides pg,grpc,floor:inline,floor:async   # and gRPC's floor

A floor side is not lovebank: bench/grpc_floor.cc serves Ledger.Transfer with nothing behind it
but a group commit of 512 bytes and an fdatasync, driven by the same lovebank_load clients
(--no-setup). floor:inline is the callback API lovebankd uses (a commit on the handler's thread
when idle, as lovebankd's lone commands are), floor:async the completion-queue API with one
polling thread, floor:async-inline the same committing on that thread when idle; a third
part, floor:API:zeroed, writes the synced file with zeros first, as PostgreSQL's recycled WAL
segments are (floor alone: --floor-api, inline by default). What gRPC itself and the sync cost
on this machine: no ledger served the same way can be faster.

Every side is measured the same way: transfers completed inside a window of --seconds that
starts --warmup seconds after the clients start, and the latency of each of those calls from
send to answer. Server CPU per transfer: the server's processes' utime+stime over that window
(/proc), divided by the transfers completed in it."""
import argparse, glob, os, pwd, re, shutil, signal, socket, statistics, subprocess, sys, tempfile
import threading, time

PG_BIN = '/usr/lib/postgresql/15/bin'
TICK = os.sysconf('SC_CLK_TCK')

# The transfer a town's IT would write: an idempotency row (a retry returns the first answer),
# a journal row, and two balance updates with an overdraft check, the rows locked in id order
# (no deadlocks between opposite transfers). One call, one transaction, committed with fsync.
SCHEMA = """
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE requests (request_id text PRIMARY KEY, seq bigint NOT NULL);
CREATE TABLE journal (seq bigserial PRIMARY KEY, from_id int NOT NULL, to_id int NOT NULL,
                      amount bigint NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION transfer(rid text, src int, dst int, amt bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE s bigint;
BEGIN
  SELECT seq INTO s FROM requests WHERE request_id = rid;
  IF FOUND THEN RETURN s; END IF;
  IF amt <= 0 OR src = dst THEN RAISE EXCEPTION 'invalid transfer'; END IF;
  IF src < dst THEN
    UPDATE accounts SET balance = balance - amt WHERE id = src AND balance >= amt;
    IF NOT FOUND THEN RAISE EXCEPTION 'insufficient funds'; END IF;
    UPDATE accounts SET balance = balance + amt WHERE id = dst;
  ELSE
    UPDATE accounts SET balance = balance + amt WHERE id = dst;
    UPDATE accounts SET balance = balance - amt WHERE id = src AND balance >= amt;
    IF NOT FOUND THEN RAISE EXCEPTION 'insufficient funds'; END IF;
  END IF;
  INSERT INTO journal (from_id, to_id, amount) VALUES (src, dst, amt) RETURNING seq INTO s;
  INSERT INTO requests VALUES (rid, s);
  RETURN s;
END $$;
INSERT INTO accounts SELECT i, 100000000 FROM generate_series(1, {accounts}) i;
VACUUM ANALYZE;
CHECKPOINT;
"""
# One transfer per pgbench transaction: a random payer and a different random payee, 1 (0.01
# POINTS in lovebank_load's terms), a request id unique to the client and the call.
PGBENCH_SCRIPT = r"""\set src random(1, :accounts)
\set dst random(1, :accounts - 1)
\set dst :dst + (case when :dst >= :src then 1 else 0 end)
\set r random(1, 9000000000000000000)
SELECT transfer(CAST(:client_id AS text) || '-' || CAST(:r AS text), :src, :dst, 1);
"""


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total / TICK


def descendants(pid):
    """pid and every process under it (PostgreSQL's backends are the postmaster's children)."""
    children = {}
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            fields = open(stat).read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.split('/')[2]))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


class Window:
    """The server's CPU over the measured window: sampled at window start and end."""

    def __init__(self, server_pid, warmup, seconds):
        self.server_pid, self.warmup, self.seconds = server_pid, warmup, seconds
        self.cpu = None
        self.thread = None

    def start(self):  # call when the clients start
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        time.sleep(self.warmup)
        before = {pid: cpu_seconds([pid]) for pid in descendants(self.server_pid)}
        time.sleep(self.seconds)
        # The processes alive at both samples (pgbench's backends live through the run).
        alive = set(descendants(self.server_pid))
        self.cpu = sum(cpu_seconds([pid]) - cpu for pid, cpu in before.items() if pid in alive)

    def result(self):
        if self.thread:
            self.thread.join()
        return self.cpu


def percentile(values, q):
    if not values:
        return float('nan')
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Postgres:
    def __init__(self, root, accounts):
        self.dir = os.path.join(root, 'pg')
        self.port = free_port()
        self.user = None
        os.makedirs(self.dir)
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            self.user = 'postgres'
            uid = pwd.getpwnam(self.user)
            os.chown(root, uid.pw_uid, uid.pw_gid)
            os.chown(self.dir, uid.pw_uid, uid.pw_gid)
        self._run([f'{PG_BIN}/initdb', '-D', self.dir, '-U', 'bench', '--auth=trust', '-E', 'UTF8',
                   '--no-sync'], quiet=True)
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200 -c fsync=on -c synchronous_commit=on "
                   "-c full_page_writes=on -c shared_buffers=256MB")
        self._run([f'{PG_BIN}/pg_ctl', '-D', self.dir, '-l', os.path.join(self.dir, 'log'), '-w',
                   '-o', options, 'start'], quiet=True)
        self.pid = int(open(os.path.join(self.dir, 'postmaster.pid')).readline())
        self._run(['psql', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', str(self.port),
                   '-U', 'bench', '-d', 'postgres', '-c', 'CREATE DATABASE bench'], quiet=True)
        schema = os.path.join(self.dir, 'schema.sql')
        with open(schema, 'w') as f:
            f.write(SCHEMA.format(accounts=accounts))
        self._run(['psql', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', str(self.port),
                   '-U', 'bench', '-d', 'bench', '-f', schema], quiet=True)
        self.script = os.path.join(self.dir, 'transfer.sql')
        with open(self.script, 'w') as f:
            f.write(PGBENCH_SCRIPT)
        self.run_number = 0

    def _run(self, argv, quiet=False):
        if self.user:
            argv = ['runuser', '-u', self.user, '--'] + argv
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL if quiet else None)

    def load(self, clients, accounts, warmup, seconds):
        self.run_number += 1
        prefix = os.path.join(self.dir, f'run{self.run_number}')
        argv = ['pgbench', '-n', '-M', 'prepared', '-h', '127.0.0.1', '-p', str(self.port),
                '-U', 'bench', '-c', str(clients), '-j', str(min(clients, 2)),
                '-T', str(int(warmup + seconds + 1)), '-D', f'accounts={accounts}',
                '-f', self.script, '--log', f'--log-prefix={prefix}', 'bench']
        if self.user:
            argv = ['runuser', '-u', self.user, '--'] + argv
        window = Window(self.pid, warmup, seconds)
        start = time.time()
        window.start()
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f'compare: pgbench failed:\n{done.stderr[-2000:]}')
        begin, end = start + warmup, start + warmup + seconds
        latencies = []
        for log in glob.glob(prefix + '.*'):
            for line in open(log):
                fields = line.split()
                finished = int(fields[4]) + int(fields[5]) / 1e6
                if begin <= finished < end:
                    latencies.append(int(fields[2]) / 1000)
            os.remove(log)
        errors = re.search(r'number of failed transactions: (\d+)', done.stdout)
        return dict(tx=len(latencies) / seconds, p50=percentile(latencies, 0.5),
                    p99=percentile(latencies, 0.99), cpu=window.result(), calls=len(latencies),
                    failed=int(errors.group(1)) if errors else 0)

    def stop(self):
        self._run([f'{PG_BIN}/pg_ctl', '-D', self.dir, '-m', 'fast', '-w', 'stop'], quiet=True)


def run_load(build, server_pid, port, argv, clients, accounts, warmup, seconds, client_api):
    """lovebank_load's unary transfers against the server on `port` (pid `server_pid`)."""
    argv = [f'{build}/bin/lovebank_load', '--server', f'127.0.0.1:{port}', '--mode', 'unary',
            '--clients', str(clients), '--channels', str(clients), '--accounts', str(accounts),
            '--seconds', str(seconds), '--warmup', str(warmup), '--client-api', client_api] + argv
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    window = Window(server_pid, warmup, seconds)
    errors = []
    for line in proc.stderr:  # "... set up in N s": the clients start now
        errors.append(line)
        if 'set up in' in line:
            window.start()
            break
    out, err = proc.communicate()
    if proc.returncode != 0 or 'tx/s=' not in out:
        sys.exit(f'compare: lovebank_load failed:\n{"".join(errors)}{err[-2000:]}{out}')
    value = lambda name: float(re.search(name + r'=(\S+)', out).group(1))
    return dict(tx=value('tx/s'), p50=value('p50'), p99=value('p99'), cpu=window.result(),
                calls=value('committed'), failed=value('failed_calls'))


class Lovebank:
    def __init__(self, root, build):
        self.dir = os.path.join(root, 'lovebank')
        self.build = build
        self.proc = subprocess.Popen(
            [f'{build}/bin/lovebankd', '--init', '--data-dir', self.dir, '--listen', '127.0.0.1:0',
             '--http-listen', '127.0.0.1:0', '--http-threads', '64', '--http-connections-max', '256',
             '--log-level', 'warn'], stderr=subprocess.PIPE, text=True)
        self.port = self.http_port = None
        for line in self.proc.stderr:
            if m := re.search(r'listening on port (\d+)', line):
                self.port = int(m.group(1))
            if m := re.search(r'HTTP/JSON on port (\d+)', line):
                self.http_port = int(m.group(1))
            if self.port and self.http_port:
                break
        if not self.port:
            sys.exit('compare: lovebankd did not start')
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def load(self, transport, clients, accounts, warmup, seconds, client_api):
        argv = ['--admin-token-file', os.path.join(self.dir, 'admin.token'),
                '--transport', transport]
        if transport == 'http':
            argv += ['--http-server', f'127.0.0.1:{self.http_port}']
        return run_load(self.build, self.proc.pid, self.port, argv, clients, accounts, warmup,
                        seconds, client_api)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


class Floor:
    """bench/grpc_floor.cc's server: gRPC and a synced group commit, no ledger."""

    def __init__(self, root, side, build, default_api):
        # floor[:API[:zeroed]]: bench/grpc_floor.cc's --api, and its --zeroed file.
        _, _, spec = side.partition(':')
        api, _, option = spec.partition(':')
        if option not in ('', 'zeroed'):
            sys.exit(f'compare: unknown floor option {option!r} in {side!r} (floor:API[:zeroed])')
        self.name = f"gRPC's floor, {api or default_api}{', zeroed' if option else ''} (no ledger)"
        self.dir = os.path.join(root, side.replace(':', '-'))
        os.makedirs(self.dir)
        self.build = build
        self.proc = subprocess.Popen(
            [f'{build}/bin/grpc_floor', 'serve', '--api', api or default_api, '--dir', self.dir]
            + (['--zeroed'] if option else []), stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('port '):
            sys.exit('compare: grpc_floor did not start')
        self.port = int(line.split()[1])

    def load(self, clients, accounts, warmup, seconds, client_api):
        return run_load(self.build, self.proc.pid, self.port, ['--no-setup'], clients, accounts,
                        warmup, seconds, client_api)

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=60)


def side_order(sides, round_number):
    """The sides' order in a round: a Williams design, so that over len(sides) rounds each side
    runs once in each place and (for an even count) right behind each other side once — none
    always follows the heaviest or the lightest (for an odd count every other round reverses)."""
    n = len(sides)
    base = [0 if j == 0 else (j + 1) // 2 if j % 2 else n - j // 2 for j in range(n)]
    order = [sides[(b + round_number) % n] for b in base]
    if n % 2 and round_number % 2:
        order.reverse()
    return order


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--build', default='build-release')
    p.add_argument('--runs', type=int, default=3, help='rounds (each side once per round)')
    p.add_argument('--seconds', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--clients', default='1,4,16,64')
    p.add_argument('--accounts', type=int, default=1000)
    p.add_argument('--sides', default='pg,grpc,http')
    p.add_argument('--settle', type=int, default=5,
                   help='seconds of one uncounted run of each side (4 clients) before round 1')
    p.add_argument('--floor-api', default='inline',
                   choices=['inline', 'callback', 'async', 'async-inline'],
                   help="the floor side's gRPC server API (bench/grpc_floor.cc)")
    p.add_argument('--client-api', default='auto', choices=['auto', 'blocking', 'callback'],
                   help="lovebank_load's gRPC client API (auto: blocking for 1 client, callback "
                        "for more)")
    o = p.parse_args()
    clients_list = [int(c) for c in o.clients.split(',')]
    sides = o.sides.split(',')
    root = tempfile.mkdtemp(prefix='lovebank-compare-')
    os.chmod(root, 0o755)
    pg = lb = None
    floors = {}
    results = {}
    try:
        if 'pg' in sides:
            pg = Postgres(root, o.accounts)
        if 'grpc' in sides or 'http' in sides:
            lb = Lovebank(root, o.build)
        floors = {side: Floor(root, side, o.build, o.floor_api)
                  for side in sides if side.startswith('floor')}
        def load(side, clients, seconds):
            if side == 'pg':
                return pg.load(clients, o.accounts, o.warmup, seconds)
            if side in floors:
                return floors[side].load(clients, o.accounts, o.warmup, seconds, o.client_api)
            return lb.load(side, clients, o.accounts, o.warmup, seconds, o.client_api)

        # One run of each side before the first round, not counted: a fresh PostgreSQL ran its
        # first pgbench run at a third of its later speed, every time (round 1 at 1 client:
        # ~1,000-1,250 against ~2,600-4,900 tx/s after), which flattered every ratio of round 1.
        # The CHECKPOINT after the schema's load (above) alone did not change that.
        for side in sides:
            if o.settle:
                load(side, 4, o.settle)
        for round_number in range(o.runs):
            for clients in clients_list:
                order = side_order(sides, round_number)
                for side in order:
                    r = load(side, clients, o.seconds)
                    r['cpu_us'] = r['cpu'] * 1e6 / r['calls'] if r['calls'] else float('nan')
                    results.setdefault((clients, side), []).append(r)
                    print(f'round {round_number + 1} clients {clients:>2} {side:>4}: '
                          f'{r["tx"]:>9,.0f} tx/s  p50 {r["p50"]:.2f} ms  p99 {r["p99"]:.2f} ms  '
                          f'server CPU {r["cpu_us"]:.0f} µs/tx  failed {r["failed"]:.0f}',
                          flush=True)
    finally:
        for floor in floors.values():
            floor.stop()
        if lb:
            lb.stop()
        if pg:
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    names = {'pg': 'PostgreSQL 15 (pgbench)', 'grpc': 'lovebank gRPC', 'http': 'lovebank HTTP/JSON'}
    names.update((side, floor.name) for side, floor in floors.items())
    header = ['clients']
    for side in sides:
        header += [f'{names[side]} tx/s', 'p50 / p99 ms', 'CPU µs/tx']
        if side != 'pg' and 'pg' in sides:
            header.append('× PostgreSQL')
    print(f'\nmedians of {o.runs} alternated rounds, {o.seconds} s each after {o.warmup} s, '
          f'{o.accounts} accounts:\n')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---:|' * len(header))
    for clients in clients_list:
        row = [str(clients)]
        med = {s: {k: statistics.median(r[k] for r in results[(clients, s)])
                   for k in ('tx', 'p50', 'p99', 'cpu_us')} for s in sides}
        for side in sides:
            m = med[side]
            row += [f'{m["tx"]:,.0f}', f'{m["p50"]:.2f} / {m["p99"]:.2f}', f'{m["cpu_us"]:.0f}']
            if side != 'pg' and 'pg' in sides:
                # The median of the rounds' ratios (each round's sides ran minutes apart at most).
                ratios = [a['tx'] / b['tx'] for a, b in
                          zip(results[(clients, side)], results[(clients, 'pg')])]
                row.append(f'{statistics.median(ratios):.2f}×')
        print('| ' + ' | '.join(row) + ' |')


if __name__ == '__main__':
    main()
