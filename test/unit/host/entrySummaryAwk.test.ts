/**
 * The on-host summary's awk program, made cheaper in issue 13, prints what the program before it
 * printed (kept as test/fixtures/awk/entrySummaryBefore13.awk) on every line shape the kernel and
 * conntrack print and on junk — under mawk and busybox awk. The one deliberate change: among keys
 * tied at the top-N cut-off the smaller key is printed (before: the awk's hash order), so every
 * awk prints the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PICK_AWK, entrySummaryArgs, entrySummaryAwk, parseEntrySummaryOutput, summaryProgress, summaryProgressLine } from '../../../src/core/host/entryScripts';
import { MAX_IDLE_CLASSES, TIMEOUT_BUCKETS } from '../../../src/core/kernel/entrySummary';

const fixtures = join(__dirname, '../../fixtures');
const before = readFileSync(join(fixtures, 'awk/entrySummaryBefore13.awk'), 'utf8');
const AWKS = [['mawk'], ['busybox', 'awk']] as const;

function run(awk: readonly string[], program: string, input: string, cfgDir: string, topN: number, extra: readonly string[] = []): string {
  const r = spawnSync(awk[0] ?? 'mawk', [...awk.slice(1), ...extra, '-v', `TOPN=${topN}`, '-v', `NB=${TIMEOUT_BUCKETS.length}`, '-v', `CFGDIR=${cfgDir}`, program], {
    input,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `${awk.join(' ')}: ${r.stderr} ${String(r.error)} (run scripts/setup.sh to install busybox)`);
  return r.stdout;
}

const TOP = /^(src|dst|port) /;

/** The lines other than the top N, sorted (awks print array contents in their own order). */
const rest = (out: string): string[] => out.split('\n').filter((l) => l !== '' && !TOP.test(l)).sort();

/** Per top list: the counts in order, and the keys whose count is above the list's last (no tie can move them). */
function tops(out: string): Record<string, { counts: number[]; sure: string[] }> {
  const by: Record<string, { count: number; key: string }[]> = {};
  for (const l of out.split('\n').filter((x) => TOP.test(x))) {
    const [tag = '', count = '', ...key] = l.split(' ');
    (by[tag] ??= []).push({ count: Number(count), key: key.join(' ') });
  }
  return Object.fromEntries(
    Object.entries(by).map(([tag, items]) => {
      const cut = items[items.length - 1]?.count ?? 0;
      return [tag, { counts: items.map((i) => i.count), sure: items.filter((i) => i.count > cut).map((i) => i.key).sort() }];
    }),
  );
}

/** Every line shape: /proc/net/nf_conntrack, conntrack -o extended (zones, accounting, secctx), conntrack -L without the L3 column, junk. */
function shapes(): string[] {
  const tuple = (s: string, d: string, sp: number, dp: number): string => `src=${s} dst=${d} sport=${sp} dport=${dp}`;
  const l: string[] = [];
  for (let i = 0; i < 40; i++) {
    const s = `10.1.${i % 3}.${i % 7}`;
    l.push(`ipv4     2 tcp      6 ${431000 + i * 37} ESTABLISHED ${tuple(s, '10.2.0.1', 30000 + i, 443)} ${tuple('10.2.0.1', s, 443, 30000 + i)} [ASSURED] mark=0 zone=0 use=2`);
    l.push(`ipv4     2 tcp      6 ${i * 3} SYN_SENT ${tuple(s, '10.2.0.2', 31000 + i, 80)} [UNREPLIED] ${tuple('10.2.0.2', s, 80, 31000 + i)} mark=0 use=1`);
    l.push(`ipv4     2 udp      17 ${i} ${tuple(s, '10.2.0.53', 32000 + i, 53)} [UNREPLIED] ${tuple('10.2.0.53', s, 53, 32000 + i)} mark=0 zone=0 use=2`);
    l.push(`ipv4     2 udp      17 ${100 + i} ${tuple(s, '10.2.0.54', 32000 + i, 4789)} ${tuple('10.2.0.54', s, 4789, 32000 + i)} [ASSURED] mark=0 use=1`);
  }
  l.push(
    `ipv6     10 tcp      6 110 TIME_WAIT ${tuple('fd00::1', 'fd00::99', 40000, 22)} ${tuple('fd00::99', 'fd00::1', 22, 40000)} [ASSURED] mark=0 zone=0 use=2`,
    `ipv6     10 udp      17 25 ${tuple('fd00::2', 'fd00::53', 40001, 53)} [UNREPLIED] ${tuple('fd00::53', 'fd00::2', 53, 40001)} mark=0 zone=0 use=2`,
    'ipv4     2 icmp     1 29 src=10.9.0.5 dst=10.9.0.1 type=8 code=0 id=7 src=10.9.0.1 dst=10.9.0.5 type=0 code=0 id=7 mark=0 zone=0 use=2',
    'ipv4     2 icmp     1 3 src=10.9.0.6 dst=10.9.0.1 type=8 code=0 id=8 [UNREPLIED] src=10.9.0.1 dst=10.9.0.6 type=0 code=0 id=8 mark=0 use=1',
    'ipv6     10 icmpv6   58 29 src=fd00::5 dst=fd00::1 type=128 code=0 id=9 src=fd00::1 dst=fd00::5 type=129 code=0 id=9 mark=0 zone=0 use=2',
    'ipv4     2 gre      47 179 timeout=180, stream_timeout=18000 src=10.3.0.1 dst=10.3.0.2 srckey=0x0 dstkey=0x0 src=10.3.0.2 dst=10.3.0.1 srckey=0x0 dstkey=0x0 [ASSURED] mark=0 use=2',
    'ipv4     2 unknown  47 599 src=10.3.0.3 dst=10.3.0.4 src=10.3.0.4 dst=10.3.0.3 mark=0 zone=0 use=2',
    `ipv4     2 sctp     132 3 ESTABLISHED ${tuple('10.4.0.1', '10.4.0.2', 5000, 36412)} ${tuple('10.4.0.2', '10.4.0.1', 36412, 5000)} [ASSURED] mark=0 use=1`,
    `ipv4     2 dccp     33 43200 OPEN ${tuple('10.4.0.3', '10.4.0.2', 5001, 5001)} ${tuple('10.4.0.2', '10.4.0.3', 5001, 5001)} [ASSURED] mark=0 use=1`,
    `ipv4     2 udplite  136 29 ${tuple('10.4.0.4', '10.4.0.2', 5002, 5004)} [UNREPLIED] ${tuple('10.4.0.2', '10.4.0.4', 5004, 5002)} mark=0 use=1`,
    `ipv4     2 tcp      6 431999 ESTABLISHED ${tuple('10.5.0.1', '10.5.0.2', 1, 443)} ${tuple('10.5.0.2', '10.5.0.1', 443, 1)} [OFFLOAD] mark=0 zone=0 use=3`,
    `ipv4     2 tcp      6 431999 ESTABLISHED ${tuple('10.5.0.3', '10.5.0.2', 2, 443)} ${tuple('10.5.0.2', '10.5.0.3', 443, 2)} [HW_OFFLOAD] mark=0 zone=0 use=3`,
    // conntrack -o extended: accounting, zones, marks, secctx, a TCP entry without a state
    `ipv4     2 tcp      6 300 ESTABLISHED ${tuple('10.6.0.1', '10.6.0.2', 3, 8080)} packets=5 bytes=300 ${tuple('10.6.0.2', '10.6.0.1', 8080, 3)} packets=4 bytes=900 [ASSURED] mark=7 secctx=system_u:object_r:unlabeled_t:s0 use=1`,
    `ipv4     2 tcp      6 60 CLOSE_WAIT ${tuple('10.6.0.3', '10.6.0.2', 4, 8080)} zone-orig=5 ${tuple('10.6.0.2', '10.6.0.3', 8080, 4)} zone-reply=5 [ASSURED] mark=0 zone=5 use=1`,
    `ipv4     2 tcp      6 10 ${tuple('10.6.0.4', '10.6.0.2', 5, 8080)} ${tuple('10.6.0.2', '10.6.0.4', 8080, 5)} mark=0 use=1`,
    `ipv4     2 tcp      6 432500 ESTABLISHED ${tuple('10.6.0.5', '10.6.0.2', 6, 8080)} ${tuple('10.6.0.2', '10.6.0.5', 8080, 6)} [ASSURED] mark=0 use=1`,
    `ipv4     2 tcp      6 99999999999 ESTABLISHED ${tuple('10.6.0.6', '10.6.0.2', 7, 8080)} ${tuple('10.6.0.2', '10.6.0.6', 8080, 7)} [ASSURED] mark=0 use=1`,
    // conntrack -L (no L3 column)
    `tcp      6 431999 ESTABLISHED ${tuple('10.7.0.1', '10.7.0.2', 8, 443)} ${tuple('10.7.0.2', '10.7.0.1', 443, 8)} [ASSURED] mark=0 use=1`,
    `udp      17 29 ${tuple('10.7.0.3', '10.7.0.2', 9, 53)} [UNREPLIED] ${tuple('10.7.0.2', '10.7.0.3', 53, 9)} mark=0 use=1`,
    // junk: not entries (counted as malformed), or odd ones read the generic way
    'conntrack v1.4.7 (conntrack-tools): 5 flow entries have been shown.',
    'garbage line that is not an entry',
    '',
    'ipv4     2 tcp',
    'ipv4     2 tcp      6 12x ESTABLISHED src=10.8.0.1 dst=10.8.0.2 sport=1 dport=2',
    'ipv4     2 tcp      6 100 ESTABLISHED src= dst=10.8.0.2 sport=1 dport=2 src=10.8.0.2 dst=10.8.0.1 sport=2 dport=1',
    'ipv4     2 tcp      6 100 [ESTABLISHED] src=10.8.0.3 dst=10.8.0.2 sport=1 dport=2 src=10.8.0.2 dst=10.8.0.3 sport=2 dport=1',
    'ipv4     2 tcp      6 100 established src=10.8.0.4 dst=10.8.0.2 sport=1 dport=2 src=10.8.0.2 dst=10.8.0.4 sport=2 dport=1',
    'ipv4\t2 tcp\t6 100 ESTABLISHED src=10.8.0.5 dst=10.8.0.2 sport=1 dport=2 src=10.8.0.2 dst=10.8.0.5 sport=2 dport=1',
  );
  return l;
}

/** The timeouts dir: the usual classes, one unreadable, and `extra` made-up TCP states (to pass MAX_IDLE_CLASSES). */
function withTimeouts<T>(extra: readonly string[], fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ctd-awk13-'));
  try {
    const t: Record<string, string> = { tcp_timeout_established: '432000', tcp_timeout_syn_sent: '120', tcp_timeout_time_wait: '120', tcp_timeout_close_wait: 'junk', udp_timeout: '30', udp_timeout_stream: '120', icmp_timeout: '30', icmpv6_timeout: '30' };
    for (const s of extra) t[`tcp_timeout_${s.toLowerCase()}`] = '3600';
    for (const [k, v] of Object.entries(t)) writeFileSync(join(dir, `nf_conntrack_${k}`), `${v}\n`);
    return fn(`${dir}/`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function same(input: string, label: string, topN = 5, extraStates: readonly string[] = []): void {
  withTimeouts(extraStates, (dir) => {
    const outs: string[] = [];
    for (const awk of AWKS) {
      for (const cfg of [dir, '']) {
        const was = run(awk, before, input, cfg, topN);
        const now = run(awk, entrySummaryAwk(), input, cfg, topN);
        const what = `${label}, ${awk.join(' ')}, CFGDIR ${cfg ? 'set' : 'empty'}`;
        assert.deepEqual(rest(now), rest(was), what);
        assert.deepEqual(tops(now), tops(was), what);
        if (cfg) outs.push(now);
      }
    }
    // ties go to the smaller key: the same lines under every awk
    assert.deepEqual(outs.map(rest), outs.map(() => rest(outs[0] ?? '')), `${label}: every awk prints the same`);
    assert.deepEqual(
      outs.map((o) => o.split('\n').filter((l) => TOP.test(l))),
      outs.map(() => (outs[0] ?? '').split('\n').filter((l) => TOP.test(l))),
      `${label}: the same top N under every awk`,
    );
  });
}

test('the recorded listings: the same summary as before issue 13', () => {
  for (const f of ['proc_net_nf_conntrack.txt', 'conntrack_-L_-o_extended.txt', 'conntrack_-L.txt']) same(readFileSync(join(fixtures, 'samples', f), 'utf8'), f);
});

test('every line shape (ipv6, zones, marks, accounting, UNREPLIED, OFFLOAD, icmp, gre, unknown L4, no L3 column, junk): the same summary', () => {
  const l = shapes();
  same(`${l.join('\n')}\n`, 'shapes', 5);
  same(`${l.join('\n')}\n`, 'shapes, top 100', 100);
});

test('more timeout classes than MAX_IDLE_CLASSES, and more than 65,536 lines (the histograms are folded in between): the same summary', () => {
  const states = Array.from({ length: MAX_IDLE_CLASSES + 4 }, (_, i) => `FAKE_${String.fromCharCode(65 + (i % 26))}${i >= 26 ? 'X' : ''}`);
  const l: string[] = [];
  for (let i = 0; i < 70_000; i++) {
    const st = states[i % states.length] ?? 'ESTABLISHED';
    l.push(`ipv4     2 tcp      6 ${(i * 7919) % 440_000} ${i % 11 === 0 ? 'ESTABLISHED' : st} src=10.${(i >> 8) & 255}.${i & 255}.1 dst=10.0.0.${i % 13} sport=${1024 + (i % 60000)} dport=${[443, 80, 22][i % 3]} src=10.0.0.${i % 13} dst=10.${(i >> 8) & 255}.${i & 255}.1 sport=${[443, 80, 22][i % 3]} dport=${1024 + (i % 60000)} [ASSURED] mark=0 use=1`);
  }
  same(`${l.join('\n')}\n`, 'many classes and lines', 10, states);
});

test('progress (PGS=1, the script\'s `progress` argument): "G LINES" every 65,536 lines and at the end, under mawk and busybox awk; the summary is the same as without it', () => {
  const l: string[] = [];
  for (let i = 0; i < 140_000; i++) l.push(`ipv4     2 tcp      6 ${1000 + (i % 5000)} ESTABLISHED src=10.${(i >> 8) & 255}.${i & 255}.1 dst=10.0.0.1 sport=${1024 + (i % 60000)} dport=443 src=10.0.0.1 dst=10.${(i >> 8) & 255}.${i & 255}.1 sport=443 dport=${1024 + (i % 60000)} [ASSURED] mark=0 use=1`);
  l.push('junk line');
  const input = `${l.join('\n')}\n`;
  for (const awk of AWKS) {
    const plain = run(awk, entrySummaryAwk(), input, '', 10);
    const withProgress = run(awk, entrySummaryAwk(), input, '', 10, ['-v', 'PGS=1']);
    const reads = withProgress.split('\n').map(summaryProgressLine).filter((p): p is { read: number } => p !== undefined && 'read' in p).map((p) => p.read);
    assert.deepEqual(reads, [65_536, 131_072, 140_001], awk.join(' '));
    assert.equal(plain.split('\n').some((x) => x.startsWith('G ')), false, 'no progress unless asked');
    assert.deepEqual(parseEntrySummaryOutput(withProgress), parseEntrySummaryOutput(plain), awk.join(' '));
  }
  assert.deepEqual(entrySummaryArgs(10, {}, undefined, { lowPriority: true, progress: true }), ['10', 'low-priority', 'progress']);
  assert.deepEqual(summaryProgressLine('C 250000'), { tableCount: 250_000 });
  assert.deepEqual(summaryProgress(65_536, 250_000), { percent: 26, message: '65,536 of ~250,000 entries read' });
  assert.equal(summaryProgress(300_000, 250_000).percent, 99, 'held below 100 % while the pass runs (the table grew)');
  assert.deepEqual(summaryProgress(65_536, undefined), { percent: undefined, message: '65,536 entries read' });
});

test('ties at the cut-off go to the smaller key', () => {
  const l = ['10.0.0.9', '10.0.0.10', '10.0.0.2', '10.0.0.1'].map((s, i) => `ipv4     2 udp      17 20 src=${s} dst=10.1.0.1 sport=${i} dport=53 [UNREPLIED] src=10.1.0.1 dst=${s} sport=53 dport=${i} mark=0 use=1`);
  for (const awk of AWKS) {
    const out = run(awk, entrySummaryAwk(), `${l.join('\n')}\n`, '', 2);
    assert.deepEqual(out.split('\n').filter((x) => x.startsWith('src ')), ['src 1 10.0.0.1', 'src 1 10.0.0.10'], awk.join(' '));
  }
});

test('the script picks the fastest awk present: mawk before a BusyBox awk; never a name that is BusyBox', () => {
  const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
  const mawk = spawnSync('sh', ['-c', 'command -v mawk'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(busybox && mawk, 'busybox and mawk are needed (run scripts/setup.sh)');
  const pick = (links: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'ctd-pickawk-'));
    try {
      for (const [name, target] of Object.entries({ readlink: busybox, ...links })) symlinkSync(target, join(dir, name));
      const r = spawnSync('/bin/sh', ['-c', `${PICK_AWK}\necho "$AWK"; "$AWK" 'BEGIN { print 1 + 1 }'`], { encoding: 'utf8', env: { PATH: dir } });
      assert.equal(r.status, 0, r.stderr);
      const [name, two] = r.stdout.trim().split('\n');
      assert.equal(two, '2', `${name ?? ''} runs`);
      return name ?? '';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  assert.equal(pick({ awk: busybox }), 'awk', 'only BusyBox: its awk');
  assert.equal(pick({ awk: busybox, nawk: busybox }), 'awk', 'a nawk that is BusyBox is no better');
  assert.equal(pick({ awk: busybox, mawk }), 'mawk');
  assert.equal(pick({ awk: mawk, nawk: busybox }), 'awk', 'plain awk when it is not BusyBox and no other is present');
});
