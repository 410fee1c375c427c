/**
 * Benchmark (not a test): what the product costs ON THE HOST at several table sizes, with the raw
 * dump measured in the same run as the baseline. Prints figures, asserts nothing.
 *   npm run bench:entries                          (sizes 0, 250,000 and 1,000,000; 3 runs)
 *   npm run bench:entries -- --sizes 0,250000 --runs 3
 *
 * Per size, interleaved rounds (median of --runs), each timed on the host (harness/hostCpu.ts:
 * user + system CPU of the script and everything it ran, 10 ms ticks; wall of the exec):
 *   raw dump          `conntrack -L -o extended > /dev/null` (the baseline of the ratios)
 *   periodic refresh  the collection script, part `frequent` (what HostSession.periodicSnapshot
 *                     runs while the files' fingerprint is unchanged), and its wall through the
 *                     product's SSH (periodicSnapshot itself: one round trip)
 *   sampled summary   the entry summary script with sample=10000 and sample=50000 (connect,
 *                     Refresh, `diagnose`), plus the wall of K=10k through SSH
 *   exact summary     source=proc (/proc/net/nf_conntrack) and source=conntrack (Full Count,
 *                     `entries --exact`; the product adds nice 19 / ionice -c3, which move the
 *                     wall, not the CPU: left out here)
 * then, untimed, how far the sampled shares are from the exact ones: the top source and the top
 * destination port of the exact summary, their share in each sample, |sampled − exact| and
 * whether the sample's 95 % Wilson bounds contain the exact share.
 *
 * The table is filled with a known shape: DOMINANT_PCT % of the entries from one source, the rest
 * from SRC_COUNT sources; PORT_MAIN_PCT % to port 443, the rest to 8080 (ASSURED TCP flows), to
 * DST_COUNT servers: the generator's flows to one port are limited to servers × 64,000 flow
 * numbers per host (harness/host/README.md), and past that it moves to the next port (at the
 * default 8 servers the 1M fill came out 41 % tcp/443, the rest on 444, 8080 and 8081). The
 * split the fill produced is printed next to the plan. "Exact" shares are of every entry listed
 * (the fill's and the SSH session's own, 1–2), the sampled ones of the first K listed.
 *
 * Needs root (harness/host: a network namespace with sshd). For tables above the global
 * nf_conntrack_max (262144 here) it raises the initial namespace's nf_conntrack_max for the FILL
 * only (entries above max stay until they expire; ASSURED ones are never early-dropped), and
 * restores it right after, in a finally, on process exit and on SIGINT/SIGTERM/SIGHUP. While max
 * is raised it holds the global conntrack lock exclusively (harness/conntrackLock.ts: the tests
 * that rely on max hold it shared) and refuses to raise while an --initial-netns host is
 * registered: such a host records the machine's netfilter sysctls when it comes up and writes
 * them back when it goes down, so it must never see the raised value.
 * nf_conntrack_buckets is left alone (1M entries in 262144 buckets = kube-proxy's max/4 sizing).
 * The test host is stopped the same way.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHost, type HostSession } from '../src/io/host';
import { collectionScript } from '../src/core/host/collect';
import { entrySummaryArgs, entrySummaryAwk, entrySummaryScript, type EntrySource } from '../src/core/host/entryScripts';
import { TIMEOUT_BUCKETS } from '../src/core/kernel/entrySummary';
import { entryEstimates, type EstimateRow } from '../src/core/sampling';
import type { EntrySummary } from '../src/core/kernel/entrySummary';
import type { HostSnapshot } from '../src/core/host/snapshot';
import { startHost, type TestHost } from '../harness/host/testHost';
import { CONNTRACK_LOCK_FILE, globalConntrackLock, type HeldLock } from '../harness/conntrackLock';
import { measureOnHost, type HostCost } from '../harness/hostCpu';

// --- options -------------------------------------------------------------------------------------
function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SIZES = [...new Set((argValue('--sizes') ?? '0,250000,1000000').split(',').map((s) => Number(s.replace(/_/g, ''))))].sort((a, b) => a - b);
const RUNS = Number(argValue('--runs') ?? '3');
if (SIZES.some((n) => !Number.isInteger(n) || n < 0) || !Number.isInteger(RUNS) || RUNS < 1) {
  console.error('usage: bench-entries.ts [--sizes N,N…] [--runs R]   (N ≥ 0 entries, R ≥ 1)');
  process.exit(2);
}
const TOPN = 10;
const SAMPLES = [10_000, 50_000] as const;
const SRC_COUNT = 2000;
const DOMINANT = '198.18.99.99'; // outside the spread sources (198.18.0-7.x)
const DOMINANT_PCT = 20;
const PORT_MAIN = 443;
const PORT_OTHER = 8080;
const PORT_MAIN_PCT = 60;
/** servers: twice the largest fill's flow numbers fit under one port (at least the generator's 8) */
const DST_COUNT = Math.max(8, Math.ceil((2 * Math.max(...SIZES)) / 64_000));
const HEADROOM = 16384; // entries above N allowed by max (the SSH connection, stray flows)

// --- initial-namespace sysctls: raise temporarily, restore always ------------------------------
const SYSCTL_DIR = '/proc/sys/net/netfilter';
const saved = new Map<string, string>(); // key → original value, while changed

function readSysctl(key: string): string {
  return readFileSync(join(SYSCTL_DIR, key), 'utf8').trim();
}

function writeSysctl(key: string, value: string): void {
  if (!saved.has(key)) saved.set(key, readSysctl(key));
  writeFileSync(join(SYSCTL_DIR, key), `${value}\n`);
  const now = readSysctl(key);
  if (now !== value) throw new Error(`${key}: wrote ${value}, reads back ${now}`);
}

/** Synchronous so it also works in 'exit' and signal handlers. */
function restoreSysctlsSync(): string[] {
  const done: string[] = [];
  for (const key of [...saved.keys()]) {
    const value = saved.get(key);
    if (value === undefined) continue;
    try {
      writeFileSync(join(SYSCTL_DIR, key), `${value}\n`);
      const now = readSysctl(key);
      if (now === value) {
        saved.delete(key);
        done.push(`${key}=${value}`);
      } else console.error(`bench-entries: could not restore ${key}: reads ${now}, wanted ${value}`);
    } catch (err) {
      console.error(`bench-entries: could not restore ${key}=${value}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return done;
}

const HOSTS_ROOT = process.env['CTD_HOSTS_ROOT'] ?? '/tmp/ctd-hosts';
let conntrackLock: HeldLock | undefined;

function releaseLockSync(): void {
  conntrackLock?.releaseSync();
  conntrackLock = undefined;
}

/** Registered --initial-netns hosts (they snapshot and later write back the netfilter sysctls). */
function initialNetnsHosts(): string[] {
  const reg = join(HOSTS_ROOT, '.registry');
  const names = existsSync(reg) ? readdirSync(reg).filter((f) => /^KIND=initial$/m.test(readFileSync(join(reg, f), 'utf8'))) : [];
  if (existsSync(join(HOSTS_ROOT, '.initial-netns.saved'))) names.push('(.initial-netns.saved present)');
  return names;
}

let scratch: string | undefined;
function cleanupSync(): void {
  restoreSysctlsSync();
  releaseLockSync();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

// Installed before startHost: testHost then adds only its 'exit' hook (which downs the host) and
// leaves the signals to us; process.exit() runs both exit hooks.
process.on('exit', cleanupSync);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.on(signal, () => {
    console.error(`\nbench-entries: ${signal}: restoring sysctls, stopping the test host`);
    cleanupSync();
    process.exit(code);
  });
}

// --- helpers ----------------------------------------------------------------------------------------
function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
const nowMs = (): number => performance.now();
const fmtMs = (ms: number): string => (!Number.isFinite(ms) ? 'n/a' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const fmtN = (n: number): string => n.toLocaleString('en-US');
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// --- filling ------------------------------------------------------------------------------------------
/** Fills up to n entries in two parts (port 443 and 8080), each with the dominant source's share. */
async function fillParts(host: TestHost, n: number, log: (s: string) => void): Promise<number> {
  let count = await host.conntrackCount();
  for (let attempt = 0; count < n && attempt < 3; attempt++) {
    const need = n - count;
    const main = Math.round((need * PORT_MAIN_PCT) / 100);
    for (const [assured, dport] of [[main, PORT_MAIN], [need - main, PORT_OTHER]] as const) {
      if (assured < 1) continue;
      const r = await host.fill({ assured, srcCount: SRC_COUNT, dstCount: DST_COUNT, dominant: DOMINANT, dominantPct: DOMINANT_PCT, dport });
      count = r.countAfter;
      if (r.dropAfter > r.dropBefore) log(`  fill: drop rose ${r.dropBefore} → ${r.dropAfter}`);
    }
  }
  return count;
}

async function fillTo(host: TestHost, n: number, log: (s: string) => void): Promise<number> {
  if (n === 0) return host.conntrackCount();
  const fill = (): Promise<number> => fillParts(host, n, log);
  const max = Number(readSysctl('nf_conntrack_max'));
  if (n + HEADROOM <= max) return fill();
  // Raised for the fill only, under the global conntrack lock, never while an --initial-netns host exists.
  for (let waited = 0; ; waited += 5) {
    conntrackLock = await globalConntrackLock('exclusive', { timeoutS: 600 });
    const initial = initialNetnsHosts();
    if (initial.length === 0) break;
    releaseLockSync();
    if (waited >= 90) throw new Error(`cannot raise nf_conntrack_max for N=${fmtN(n)}: --initial-netns host(s) ${initial.join(', ')} registered for 90 s (they would record or restore the raised value)`);
    if (waited === 0) log(`waiting for --initial-netns host(s) ${initial.join(', ')} to go away before raising nf_conntrack_max…`);
    await new Promise((r) => setTimeout(r, 5000));
  }
  const t0 = nowMs();
  try {
    const want = n + HEADROOM;
    writeSysctl('nf_conntrack_max', String(want));
    log(`raised the global nf_conntrack_max ${fmtN(max)} → ${fmtN(want)} for the fill (holding ${CONNTRACK_LOCK_FILE})`);
    return await fill();
  } finally {
    const restored = restoreSysctlsSync();
    releaseLockSync();
    log(`restored ${restored.join(', ')} after ${fmtMs(nowMs() - t0)}; the entries stay (ASSURED: never early-dropped; new flows in this netns are refused until the host is stopped)`);
  }
}

// --- the measurements ------------------------------------------------------------------------------
/** The rows, in print order: what runs on the host (script on stdin of `sh -s -- ARGS`). */
interface Row {
  readonly key: string;
  readonly label: string;
  readonly script: () => string;
  readonly args: () => readonly string[];
}
const nonce = (): string => randomBytes(12).toString('hex');
const summaryRow = (key: string, label: string, sample: number | undefined, source?: EntrySource): Row => ({
  key,
  label,
  script: entrySummaryScript,
  args: () => entrySummaryArgs(TOPN, {}, sample, source ? { source } : {}),
});
const ROWS: readonly Row[] = [
  { key: 'raw', label: 'raw dump: conntrack -L -o extended > /dev/null', script: () => 'conntrack -L -o extended >/dev/null 2>&1', args: () => [] },
  { key: 'refresh', label: 'periodic refresh (collection part frequent)', script: collectionScript, args: () => [nonce(), 'frequent'] },
  ...SAMPLES.map((k) => summaryRow(`sample${k}`, `sampled summary, K = ${fmtN(k)}`, k)),
  summaryRow('proc', 'exact summary via /proc (source=proc)', undefined, 'proc'),
  summaryRow('conntrack', 'exact summary via conntrack (source=conntrack)', undefined, 'conntrack'),
  // what a BusyBox host pays: the same program and listing, BusyBox's awk instead of the one the script picks
  {
    key: 'busybox',
    label: 'the exact pass via /proc with BusyBox awk',
    script: () => `LC_ALL=C busybox awk -v TOPN=${TOPN} -v NB=${TIMEOUT_BUCKETS.length} -v CFGDIR=/proc/sys/net/netfilter/ '${entrySummaryAwk()}' /proc/net/nf_conntrack >/dev/null`,
    args: () => [],
  },
];

/** A sampled share against the exact one. */
interface ShareCheck {
  key: string;
  exact: number;
  /** undefined when the key is not among the sample's top N */
  row: EstimateRow | undefined;
}
interface SampleCheck {
  k: number;
  exact: boolean;
  read: number;
  source: ShareCheck;
  port: ShareCheck;
}

interface SizeResult {
  n: number;
  count: number;
  fillMs: number;
  cost: Record<string, { cpu: number; wall: number; bytes: number }>;
  refreshSshWall: number;
  sampleSshWall: number;
  refreshReread: number;
  checks: SampleCheck[];
}

function shareCheck(exact: EntrySummary, sampled: readonly EstimateRow[], list: 'topSources' | 'topDestinationPorts'): ShareCheck {
  const top = exact[list].items[0];
  const key = top?.key ?? '-';
  return { key, exact: top && exact.entries > 0 ? top.count / exact.entries : NaN, row: sampled.find((r) => r.key === key) };
}

async function measureSize(host: TestHost, session: HostSession, n: number, log: (s: string) => void): Promise<SizeResult> {
  const t0 = nowMs();
  const count = await fillTo(host, n, log);
  const fillMs = nowMs() - t0;
  log(`N=${fmtN(n)}: table holds ${fmtN(count)} entries (fill ${fmtMs(fillMs)}); loadavg ${loadavg()}`);

  // Warm-up (untimed): the conntrack binary, the page cache, the session's privilege probe.
  for (const row of ROWS) await measureOnHost(host, row.script(), row.args());
  const previous: HostSnapshot = await session.snapshot({ entries: false });

  const runs: Record<string, HostCost[]> = Object.fromEntries(ROWS.map((r) => [r.key, []]));
  const refreshWall: number[] = [];
  const sampleWall: number[] = [];
  let reread = 0;
  for (let i = 0; i < RUNS; i++) {
    // the order rotates each run: on a shared machine the later commands of a round ran slower
    const order = ROWS.map((_, j) => ROWS[(j + i) % ROWS.length] as Row);
    for (const row of order) runs[row.key]?.push(await measureOnHost(host, row.script(), row.args()));
    let w = nowMs();
    const snap = await session.periodicSnapshot(previous);
    refreshWall.push(nowMs() - w);
    if (snap.fingerprint !== previous.fingerprint) reread++; // the files changed: it read everything again
    w = nowMs();
    await session.entrySummary({ topN: TOPN, sample: SAMPLES[0] });
    sampleWall.push(nowMs() - w);
    const c = (k: string): string => `${fmtMs(runs[k]?.[i]?.cpuMs ?? NaN)}`;
    log(`  run ${i + 1}: cpu raw ${c('raw')} · refresh ${c('refresh')} · K=10k ${c('sample10000')} · K=50k ${c('sample50000')} · proc ${c('proc')} · conntrack ${c('conntrack')} · busybox awk ${c('busybox')}; loadavg ${loadavg()}`);
  }
  const cost: SizeResult['cost'] = {};
  for (const row of ROWS) {
    const xs = runs[row.key] ?? [];
    cost[row.key] = { cpu: median(xs.map((x) => x.cpuMs)), wall: median(xs.map((x) => x.wallMs)), bytes: median(xs.map((x) => x.stdoutBytes)) };
  }

  // The sampled shares against the exact ones (untimed; the table holds still: ASSURED flows).
  const exact = await session.entrySummary({ topN: TOPN, source: 'proc' });
  if (exact.entries > 100) {
    const share = (port: number): string => pct((exact.topDestinationPorts.items.find((i) => i.key === `tcp/${port}`)?.count ?? 0) / exact.entries);
    log(`  the fill's split: tcp/${PORT_MAIN} ${share(PORT_MAIN)}, tcp/${PORT_OTHER} ${share(PORT_OTHER)} of ${fmtN(exact.entries)} (planned ${PORT_MAIN_PCT} / ${100 - PORT_MAIN_PCT} %)`);
  }
  const checks: SampleCheck[] = [];
  for (const k of SAMPLES) {
    const s = await session.entrySummary({ topN: TOPN, sample: k });
    const e = entryEstimates(s, exact.entries);
    checks.push({ k, exact: e.exact, read: e.sampleSize, source: shareCheck(exact, e.sources, 'topSources'), port: shareCheck(exact, e.ports, 'topDestinationPorts') });
  }
  return { n, count, fillMs, cost, refreshSshWall: median(refreshWall), sampleSshWall: median(sampleWall), refreshReread: reread, checks };
}

// --- output ---------------------------------------------------------------------------------------
/** A ratio to the raw dump's CPU only where that is measurable (10 ms ticks). */
function ratio(cpu: number, raw: number): string {
  return raw >= 50 && Number.isFinite(cpu) ? `${(cpu / raw).toFixed(2)}×` : '—';
}

function printTable(results: readonly SizeResult[]): void {
  const W = 26;
  const head = (s: string): string => s.padEnd(50);
  console.log(`host CPU (user+sys, ms) / wall (ms), medians of ${RUNS}; ratio = CPU against the raw dump's CPU in the same run`);
  console.log(head('entries in the table') + results.map((r) => fmtN(r.count).padStart(W)).join(''));
  for (const row of ROWS) {
    const cells = results.map((r) => {
      const c = r.cost[row.key];
      const raw = r.cost['raw']?.cpu ?? NaN;
      const x = `${fmtMs(c?.cpu ?? NaN)} / ${fmtMs(c?.wall ?? NaN)}${row.key === 'raw' ? '' : ` ${ratio(c?.cpu ?? NaN, raw)}`}`;
      return x.padStart(W);
    });
    console.log(head(row.label) + cells.join(''));
  }
  console.log(head('periodic refresh through SSH (periodicSnapshot), wall') + results.map((r) => `${fmtMs(r.refreshSshWall)}${r.refreshReread > 0 ? ` (${r.refreshReread} re-read)` : ''}`.padStart(W)).join(''));
  console.log(head(`sampled summary K = ${fmtN(SAMPLES[0])} through SSH, wall`) + results.map((r) => fmtMs(r.sampleSshWall).padStart(W)).join(''));
  console.log(head('bytes printed: refresh / K=10k / exact') + results.map((r) => `${r.cost['refresh']?.bytes ?? '?'} / ${r.cost['sample10000']?.bytes ?? '?'} / ${r.cost['proc']?.bytes ?? '?'} B`.padStart(W)).join(''));

  console.log('\nsampled shares against the exact ones (the top source and the top port of the exact summary):');
  for (const r of results) {
    for (const c of r.checks) {
      const one = (what: string, s: ShareCheck): string => {
        if (!s.row) return `${what} ${s.key}: exact ${pct(s.exact)}, NOT in the sample's top ${TOPN}`;
        if (c.exact) return `${what} ${s.key}: exact ${pct(s.exact)}, sample read the whole table (${pct(s.row.share)})`;
        const hold = s.row.low !== null && s.row.high !== null && s.row.low <= s.exact && s.exact <= s.row.high;
        const se = Math.sqrt((s.exact * (1 - s.exact)) / c.read); // the error a random sample of K has
        return `${what} ${s.key}: exact ${pct(s.exact)}, sampled ${pct(s.row.share)} (95 %: ${pct(s.row.low ?? NaN)}–${pct(s.row.high ?? NaN)}), error ${(100 * (s.row.share - s.exact)).toFixed(2)} points = ${((s.row.share - s.exact) / se).toFixed(1)} standard errors, bounds hold: ${hold ? 'yes' : 'NO'}`;
      };
      console.log(`  N=${fmtN(r.count)}, K=${fmtN(c.k)} (read ${fmtN(c.read)}):`);
      console.log(`    ${one('top source', c.source)}`);
      console.log(`    ${one('top port  ', c.port)}`);
    }
  }
}

async function main(): Promise<void> {
  const started = nowMs();
  const log = (s: string): void => console.log(`[${((nowMs() - started) / 1000).toFixed(1).padStart(6)} s] ${s}`);
  console.log(`conntrack host-cost benchmark: sizes ${SIZES.map(fmtN).join(', ')}, ${RUNS} runs each, top ${TOPN}`);
  console.log(`global nf_conntrack_max ${readSysctl('nf_conntrack_max')}, buckets ${readSysctl('nf_conntrack_buckets')}; ${process.version}; loadavg ${loadavg()}`);
  let host: TestHost | undefined;
  let session: HostSession | undefined;
  const results: SizeResult[] = [];
  try {
    host = await startHost(`b13be${process.pid % 100000}`);
    log(`host ${host.name} up at ${host.address}`);
    scratch = mkdtempSync(join(tmpdir(), 'ctd-bench-entries-'));
    const cfg = join(scratch, 'ssh_config');
    writeFileSync(
      cfg,
      [
        'Host bench',
        `  HostName ${host.address}`,
        `  Port ${host.info.port}`,
        '  User root',
        `  IdentityFile ${host.info.users.root.key}`,
        `  UserKnownHostsFile ${host.info.knownHostsPath}`,
        '  GlobalKnownHostsFile none',
        '  IdentityAgent none',
        '',
      ].join('\n'),
    );
    session = await openHost({ target: 'bench', resolve: { configFile: cfg, homeDir: scratch, env: {} }, hostKeys: { mode: 'yes' } });
    log(`connected through the product's SSH layer (privilege: ${await session.privileges()})`);
    const tools = await host.execOk(['sh', '-c', 'for a in mawk gawk busybox; do command -v $a; done; conntrack --version 2>&1; [ -r /proc/net/nf_conntrack ] && echo "/proc/net/nf_conntrack readable"']);
    log(`host: ${tools.trim().split('\n').join(', ')}`);
    for (const n of SIZES) results.push(await measureSize(host, session, n, log));
  } finally {
    await session?.close().catch(() => undefined);
    const restored = restoreSysctlsSync();
    if (restored.length > 0) log(`restored ${restored.join(', ')}`);
    await host?.stop().catch((err: unknown) => console.error(`stopping the host: ${err instanceof Error ? err.message : String(err)}`));
    cleanupSync();
  }
  console.log('');
  printTable(results);
  console.log(`\nglobal nf_conntrack_max ${readSysctl('nf_conntrack_max')}, buckets ${readSysctl('nf_conntrack_buckets')} (unchanged / restored); loadavg ${loadavg()}; total ${fmtMs(nowMs() - started)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
