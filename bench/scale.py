#!/usr/bin/env python3
"""lovebank's scale figures (issue #29 item 5), each against a real lovebankd on loopback.

1. A big ledger (--members, --entries; make_ledger writes it through the engine): lovebankd's
   start-up, from exec to the first read answered (its start-up check replays the journal before
   it serves), and its memory (VmHWM: the peak, during the check; VmRSS after a read), --starts
   times after one start that makes the signing key.
2. `lovebank import` of a members file of --rows rows, and of an activities file of --rows rows
   (a month of a county's volunteering), timed, with the CLI's peak memory.
3. The monthly notice (`lovebank report --month`) on a year of that programme: --months months of
   --month-rows activity rows each imported, then the last month's notice timed.

  bench/scale.sh                                   # the issue's sizes (about 25 minutes here)
  bench/scale.sh --members 10000 --entries 100000 --rows 2000 --months 2 --month-rows 1000

Prints each run and a markdown table of medians."""
import argparse, os, random, re, shutil, signal, statistics, subprocess, sys, tempfile, threading
import time

SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'
GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽'
VILLAGES = ['沈周村', '红旗社区', '河头店村', '南溪村', '东岳社区', '西山村', '柳林村', '石桥村']
TEAMS = [('T01', '小雨滴志愿者服务队', '助老'), ('T02', '牵手怀童志愿服务队', '关爱儿童'),
         ('T03', '反诈宣传志愿队', '政策宣讲'), ('T04', '绿色家园环保队', '环境保护'),
         ('T05', '邻里互助服务队', '邻里互助')]
ACTIVITIES = ['重阳节敬老活动', '政策宣讲', '垃圾分类宣传', '关爱留守儿童', '义诊服务']


def name(rng):
    return rng.choice(SURNAMES) + ''.join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def status_kb(pid, field):
    with open(f'/proc/{pid}/status') as f:
        return int(re.search(field + r':\s+(\d+) kB', f.read()).group(1))


class Server:
    """lovebankd on 127.0.0.1, any free port, its log read until it listens."""

    def __init__(self, build, data_dir, *extra):
        self.build = build
        self.data = data_dir
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [f'{build}/bin/lovebankd', '--data-dir', data_dir, '--listen', '127.0.0.1:0',
             '--log-level', 'info', *extra], stderr=subprocess.PIPE, text=True)
        # The peak of each kind of resident memory while it starts, sampled every 50 ms: heap
        # (RssAnon) and mapped files (RssFile: table files read through mmap, page cache the
        # kernel can take back).
        self.peak = {'RssAnon': 0, 'RssFile': 0}
        self.sampling = True
        threading.Thread(target=self._sample, daemon=True).start()
        self.log = []
        self.port = None
        for line in self.proc.stderr:
            self.log.append(line)
            if m := re.search(r'listening on port (\d+)', line):
                self.port = int(m.group(1))
                break
        self.listening = time.monotonic() - self.started
        # Keep reading its log (a call a line at info): a full pipe would block lovebankd.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        if not self.port:
            sys.exit('scale: lovebankd did not start:\n' + ''.join(self.log[-20:]))
        self.check_ms = next((int(m.group(1)) for l in self.log
                              if (m := re.search(r'start-up check: .*\((\d+) ms', l))), None)

    def _sample(self):
        while self.sampling:
            try:
                for field in self.peak:
                    self.peak[field] = max(self.peak[field], status_kb(self.proc.pid, field))
            except (OSError, AttributeError):
                return
            time.sleep(0.05)

    def cli(self, token, *argv, timed=False):
        command = (['/usr/bin/time', '-f', 'TIME %e %M'] if timed else []) + [
            f'{self.build}/bin/lovebank', '--server', f'127.0.0.1:{self.port}', '--timeout', '600',
            *argv]
        proc = subprocess.run(command, capture_output=True, text=True,
                              env=dict(os.environ, LOVEBANK_TOKEN=token))
        if proc.returncode != 0:
            sys.exit(f'scale: lovebank {" ".join(argv)} failed:\n{proc.stdout[-2000:]}'
                     f'{proc.stderr[-2000:]}')
        if timed:
            seconds, kb = re.search(r'TIME (\S+) (\d+)', proc.stderr).groups()
            return proc.stdout, float(seconds), int(kb)
        return proc.stdout

    def stop(self):
        self.sampling = False
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def token_of(created):
    return re.search(r'token: (\S+)', created).group(1)


def big_ledger(args, work, rows):
    data = args.ledger or os.path.join(work, 'big')
    if not args.ledger:
        os.makedirs(data, mode=0o700)
        made = subprocess.run(['/usr/bin/time', '-f', 'TIME %e %M', f'{args.build}/bin/make_ledger',
                               '--db', os.path.join(data, 'db'), '--members', str(args.members),
                               '--entries', str(args.entries)], capture_output=True, text=True)
        if made.returncode != 0:
            sys.exit('scale: make_ledger failed:\n' + made.stderr[-2000:])
        print(made.stdout.strip(), flush=True)
    size = subprocess.run(['du', '-sm', data], capture_output=True, text=True).stdout.split()[0]
    if not os.path.exists(os.path.join(data, 'signing.key')):
        Server(args.build, data, '--new-signing-key').stop()  # the key, the first admin
    admin = open(os.path.join(data, 'admin.token')).read().strip()
    listen, check, read, hwm, rss, anon, mapped = [], [], [], [], [], [], []
    for i in range(args.starts):
        server = Server(args.build, data)
        try:
            out = server.cli(admin, '--json', 'balance', 'm0')
            read.append(time.monotonic() - server.started)
            server.sampling = False  # the peaks: from exec to the first read answered
            listen.append(server.listening)
            check.append(server.check_ms / 1000)
            hwm.append(status_kb(server.proc.pid, 'VmHWM') / 1024)
            rss.append(status_kb(server.proc.pid, 'VmRSS') / 1024)
            anon.append(server.peak['RssAnon'] / 1024)
            mapped.append(server.peak['RssFile'] / 1024)
        finally:
            server.stop()
        print(f'start {i + 1}: check {check[-1]:.2f} s, listening {listen[-1]:.2f} s, first read '
              f'{read[-1]:.2f} s, peak RSS {hwm[-1]:.0f} MiB (peaks: heap {anon[-1]:.0f}, mapped '
              f'files {mapped[-1]:.0f}), RSS after a read {rss[-1]:.0f} MiB '
              f'({len(out)} bytes read)', flush=True)
    runs = lambda xs, f: ' / '.join(f.format(x) for x in xs)
    entries = int(re.search(r'check: (\d+) journal entries', ''.join(server.log)).group(1))
    rows += [('ledger on disk', f'{entries:,} entries', f'{int(size):,} MB', ''),
             ('start-up check (replay + compare)', runs(check, '{:.2f} s'),
              f'{statistics.median(check):.2f} s', f'{entries / statistics.median(check):,.0f} entries/s'),
             ('exec to the first read answered', runs(read, '{:.2f} s'),
              f'{statistics.median(read):.2f} s', 'goal ≤ 1 s'),
             ('peak RSS (VmHWM)', runs(hwm, '{:.0f}'), f'{statistics.median(hwm):.0f} MiB',
              'goal ≤ 256 MiB'),
             ('peak heap (RssAnon, sampled every 50 ms; its own moment)', runs(anon, '{:.0f}'),
              f'{statistics.median(anon):.0f} MiB', ''),
             ('peak mapped files (RssFile, sampled; its own moment)', runs(mapped, '{:.0f}'),
              f'{statistics.median(mapped):.0f} MiB', ''),
             ('RSS after the first read', runs(rss, '{:.0f}'), f'{statistics.median(rss):.0f} MiB', '')]
    if not args.keep and not args.ledger:
        shutil.rmtree(data)


def programme(args, work, rows):
    rng = random.Random(29)
    data = os.path.join(work, 'programme')
    server = Server(args.build, data, '--init')
    try:
        notice(args, work, rows, rng, server)
    finally:
        server.stop()


def notice(args, work, rows, rng, server):
    admin = open(os.path.join(server.data, 'admin.token')).read().strip()
    server.cli(admin, 'setting', 'set', 'programme_profile', '{"name": "南溪县爱心银行"}')
    server.cli(admin, 'account', 'open', 'issuer:county', '--kind', 'issuer', '--name', '县爱心银行',
               '--budget', 'POINTS=100000000', '--budget', 'HOURS=100000000')
    worker = token_of(server.cli(admin, 'principal', 'create', 'worker-1', '--role', 'issuer',
                                 '--account', 'issuer:county', '--name', '社工'))
    auditor = token_of(server.cli(admin, 'principal', 'create', 'auditor-1', '--role', 'auditor'))
    with open(os.path.join(work, 'teams.csv'), 'w') as f:
        f.write('team_id,team_name,service_category\n')
        f.writelines(f'{t},{n},{c}\n' for t, n, c in TEAMS)
    server.cli(admin, 'import', os.path.join(work, 'teams.csv'))
    members = [(f'V{i:06d}', name(rng)) for i in range(1, args.rows + 1)]
    path = os.path.join(work, 'members.csv')
    with open(path, 'w') as f:
        f.write('member_id,name,village,tags\n')
        f.writelines(f'{m},{n},{rng.choice(VILLAGES)},volunteer\n' for m, n in members)
    _, seconds, kb = server.cli(admin, 'import', path, timed=True)
    print(f'import members: {args.rows} rows in {seconds:.1f} s, {kb // 1024} MiB', flush=True)
    rows.append(('`lovebank import` members', f'{args.rows:,} rows', f'{seconds:.1f} s',
                 f'{args.rows / seconds:,.0f} rows/s, CLI peak {kb // 1024} MiB'))

    def month_file(month, count):
        path = os.path.join(work, f'activities-2026-{month:02d}.csv')
        with open(path, 'w') as f:
            f.write('activity_id,date,team_id,team_name,activity,member_id,member_name,hours\n')
            for i in range(count):
                team = TEAMS[i // 50 % len(TEAMS)]
                member = members[rng.randrange(len(members))]
                f.write(f'A26{month:02d}{i // 50:05d},2026-{month:02d}-{1 + i // 50 % 28:02d},'
                        f'{team[0]},{team[1]},{ACTIVITIES[i // 50 % len(ACTIVITIES)]},'
                        f'{member[0]},{member[1]},{rng.choice((1, 2, 3, 4))}\n')
        return path

    _, seconds, kb = server.cli(worker, 'import', month_file(1, args.rows), timed=True)
    print(f'import activities: {args.rows} rows in {seconds:.1f} s, {kb // 1024} MiB', flush=True)
    rows.append(('`lovebank import` a month of activities', f'{args.rows:,} rows',
                 f'{seconds:.1f} s', f'{args.rows / seconds:,.0f} rows/s, CLI peak {kb // 1024} MiB'))
    for month in range(2, args.months + 1):
        server.cli(worker, 'import', month_file(month, args.month_rows))
    head = re.search(r'(\d+):', server.cli(auditor, 'digest')).group(1)
    times, peaks = [], []
    os.makedirs(os.path.join(work, 'notice'))
    for _ in range(args.starts):
        _, seconds, kb = server.cli(auditor, 'report', '--month', f'2026-{args.months:02d}',
                                    '--out', os.path.join(work, 'notice'), timed=True)
        times.append(seconds)
        peaks.append(kb // 1024)
    print(f'notice on a journal of {head} entries: {times} s, {peaks} MiB', flush=True)
    rows.append((f'`lovebank report --month` (notice) on {args.months} months',
                 f'{int(head):,} entries; ' + ' / '.join(f'{t:.1f} s' for t in times),
                 f'{statistics.median(times):.1f} s', f'CLI peak {statistics.median(peaks):.0f} MiB'))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--build', default='build-release')
    p.add_argument('--members', type=int, default=1000000)
    p.add_argument('--entries', type=int, default=10000000)
    p.add_argument('--ledger', help='a data directory whose db/ make_ledger wrote: used, kept')
    p.add_argument('--starts', type=int, default=3)
    p.add_argument('--rows', type=int, default=100000)
    p.add_argument('--months', type=int, default=12)
    p.add_argument('--month-rows', type=int, default=100000)
    p.add_argument('--parts', default='ledger,programme')
    p.add_argument('--keep', action='store_true', help='keep the work directory')
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix='lovebank-scale-')
    rows = []
    try:
        if 'ledger' in args.parts:
            big_ledger(args, work, rows)
        if 'programme' in args.parts:
            programme(args, work, rows)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print('kept', work)
    print('\n| figure | runs | median | |\n|---|---|---:|---|')
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')


if __name__ == '__main__':
    main()
