/**
 * Benchmark (not a test): the on-host entry summary against a real conntrack table of 250k and 1M
 * ASSURED entries, with baselines measured in the same run. Prints figures, asserts nothing.
 *   npm run bench:entries            (node --import tsx --expose-gc scripts/bench-entries.ts)
 *   … -- --sizes 250000,1000000 --runs 3
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
 *
 * Per size N, interleaved rounds (median of --runs):
 *   A  raw dump       `conntrack -L -o extended > /dev/null` timed on the host (wall by date +%s%N,
 *                     CPU by the shell's `times`), and its wall time through the product's SSH;
 *   P  the product    HostSession.entrySummary({topN: 10}): client wall time and client memory
 *                     (sampled every 100 ms); the same script + args timed on the host in a
 *                     separate call (wall and CPU);
 *   -  proposed       the same pipeline with PROPOSED awk (below, benchmark-only), on the host;
 *   B  streaming      runner.stream(conntrack -L -o extended) → createConntrackTableReader →
 *                     summarizeEntries on the client: wall, bytes, client memory; plus one
 *                     untimed B with a GC before every sample (the memory really kept alive);
 * then where the on-host time goes (the dump saved in the host's /root and read by awk:
 * reading, splitting, the product program with and without top-N, busybox awk,
 * /proc/net/nf_conntrack, the proposed program) and whether P and B agree.
 * CPU figures are the stable ones on a busy machine: the test host and this client share its CPUs.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHost, type HostSession } from '../src/io/host';
import { entrySummaryArgs, entrySummaryAwk, entrySummaryScript, parseEntrySummaryOutput } from '../src/core/host/entryScripts';
import { createConntrackTableReader } from '../src/core/kernel/conntrackTable';
import { summarizeEntries, TIMEOUT_BUCKETS, type EntrySummary } from '../src/core/kernel/entrySummary';
import { startHost, type TestHost } from '../harness/host/testHost';
import { CONNTRACK_LOCK_FILE, globalConntrackLock, type HeldLock } from '../harness/conntrackLock';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc (npm run bench:entries does)');
  process.exit(2);
}
const collect = (): void => gc?.();

// --- options -------------------------------------------------------------------------------------
function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SIZES = (argValue('--sizes') ?? '250000,1000000').split(',').map((s) => Number(s.replace(/_/g, '')));
const RUNS = Number(argValue('--runs') ?? '3');
if (SIZES.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(RUNS) || RUNS < 1) {
  console.error('usage: bench-entries.ts [--sizes N,N…] [--runs R]');
  process.exit(2);
}
const TOPN = 10;
const SRC_COUNT = 2000; // within the client summariser's Space-Saving capacity (4096): both sides exact
const DOMINANT = '198.18.99.99'; // outside the spread sources (198.18.0-7.x)
const DOMINANT_PCT = 20;
const HEADROOM = 16384; // entries above N allowed by max (the SSH connection, stray flows)
const BUSYBOX_LINES = 50_000; // busybox awk takes ~20 µs/entry: compared with mawk on a slice

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
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const MiB = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const fmtBytes = (b: number): string => (b >= 1024 * 1024 ? MiB(b) : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`);
const fmtMs = (ms: number): string => (!Number.isFinite(ms) ? 'n/a' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const fmtN = (n: number): string => n.toLocaleString('en-US');
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface MemPeak {
  baseRss: number;
  peakRss: number;
  baseHeap: number;
  peakHeap: number;
  baseExternal: number;
  peakExternal: number;
  heapAfterGc: number;
  externalAfterGc: number;
}

/** Samples rss, heapUsed and external (Buffers) every 100 ms (and at the end); GC before and after (+300 ms). */
async function withMemory<T>(fn: () => Promise<T>, gcEverySample = false): Promise<{ value: T; mem: MemPeak }> {
  collect();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  let peakExternal = base.external;
  const sample = (): void => {
    if (gcEverySample) collect(); // then only live memory counts
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    if (m.external > peakExternal) peakExternal = m.external;
  };
  const timer = setInterval(sample, 100);
  try {
    const value = await fn();
    sample();
    // ArrayBuffer backing stores (ssh2's chunks) are freed by a sweeper after the GC: wait for it
    collect();
    await new Promise((r) => setTimeout(r, 300));
    collect();
    const after = process.memoryUsage();
    return { value, mem: { baseRss: base.rss, peakRss, baseHeap: base.heapUsed, peakHeap, baseExternal: base.external, peakExternal, heapAfterGc: after.heapUsed, externalAfterGc: after.external - base.external } };
  } finally {
    clearInterval(timer);
  }
}

/** Bytes both ways on the veth that carries the SSH connection (initial-namespace end). */
function wireBytes(iface: string): number {
  const stat = (f: string): number => Number(readFileSync(`/sys/class/net/${iface}/statistics/${f}`, 'utf8'));
  return stat('rx_bytes') + stat('tx_bytes');
}

// --- timing on the host ---------------------------------------------------------------------------
const DIR = '/root'; // the host's own fresh directory (in its state dir); /run there is a 16 MiB tmpfs
const DUMP = `${DIR}/ctd-bench-dump.txt`;
const AWK_FILE = `${DIR}/ctd-bench-product.awk`;
const PROPOSED_FILE = `${DIR}/ctd-bench-proposed.awk`;
const TIMES_FILE = `${DIR}/ctd-bench.times`;

/** Wall time and CPU time (user + sys of every process of the command, kernel work included). */
interface Timing {
  wall: number;
  cpu: number;
}
const NO_TIMING: Timing = { wall: NaN, cpu: NaN };

/**
 * A command timed on the host: wall by date +%s%N, CPU by the `times` builtin of a subshell
 * (its children: every process of a pipeline, 10 ms ticks). The CPU figure barely depends on
 * what else the machine runs; the wall figure does (this machine has 2 vCPUs, shared).
 */
const timed = (cmd: string): string =>
  `t0=$(date +%s%N); ( ${cmd}; times >${TIMES_FILE} ); t1=$(date +%s%N); echo "@@ns $((t1 - t0))"; sed -n '2s/^/@@cpu /p' ${TIMES_FILE}`;
const notTimed = 'echo "@@ns -1"; echo "@@cpu 0m0s 0m0s"';

function secondsOf(s: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

/** Runs a shell snippet on the host through the product's connection; returns its timed() results in order. */
async function hostSh(session: HostSession, script: string, opts: { stdin?: string; args?: readonly string[] } = {}): Promise<{ stdout: string; t: Timing[]; wallMs: number }> {
  const t0 = nowMs();
  const r = await session.runner.run(['sh', '-c', `${script}\nrm -f ${TIMES_FILE}`, 'sh', ...(opts.args ?? [])], {
    privileged: true,
    timeoutMs: 300_000,
    maxOutputBytes: 4 * 1024 * 1024,
    ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
  });
  const wallMs = nowMs() - t0;
  if (r.exitCode !== 0) throw new Error(`host script failed (exit ${r.exitCode}): ${r.stderr.trim().slice(0, 500)}\n${script}`);
  const ns = [...r.stdout.matchAll(/^@@ns (-?\d+)$/gm)].map((m) => Number(m[1]) / 1e6);
  const cpu = [...r.stdout.matchAll(/^@@cpu (\S+) (\S+)$/gm)].map((m) => (secondsOf(m[1] ?? '') + secondsOf(m[2] ?? '')) * 1000);
  const t = ns.map((wall, i) => (wall < 0 ? NO_TIMING : { wall, cpu: cpu[i] ?? NaN }));
  return { stdout: r.stdout.replace(/^@@(ns|cpu) .*\n?/gm, ''), t, wallMs };
}

const medianT = (xs: readonly Timing[]): Timing => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) });

// --- the measurements ------------------------------------------------------------------------------
interface RawDump {
  host: Timing;
  wallMs: number;
  shown: number;
  wire: number;
}
async function rawDump(session: HostSession, iface: string): Promise<RawDump> {
  const w0 = wireBytes(iface);
  const err = `${DIR}/ctd-bench.err`;
  const r = await hostSh(session, `${timed(`conntrack -L -o extended >/dev/null 2>${err}`)}; cat ${err}; rm -f ${err}`);
  const wire = wireBytes(iface) - w0;
  const shown = Number(/(\d+) flow entries have been shown/.exec(r.stdout)?.[1] ?? NaN);
  return { host: r.t[0] ?? NO_TIMING, wallMs: r.wallMs, shown, wire };
}

interface ProductRun {
  wallMs: number;
  summary: EntrySummary;
  wire: number;
  mem: MemPeak;
}
async function product(session: HostSession, iface: string): Promise<ProductRun> {
  const w0 = wireBytes(iface);
  const t0 = nowMs();
  const { value: summary, mem } = await withMemory(() => session.entrySummary({ topN: TOPN }));
  const wallMs = nowMs() - t0;
  return { wallMs, summary, wire: wireBytes(iface) - w0, mem };
}

/** The product's exact pipeline (same script on stdin, same args), timed on the host in its own call. */
async function productOnHost(session: HostSession): Promise<{ host: Timing; bytes: number; summary: EntrySummary }> {
  const script = entrySummaryScript();
  const r = await hostSh(session, timed('sh -s -- "$@"'), { stdin: script, args: entrySummaryArgs(TOPN) });
  return { host: r.t[0] ?? NO_TIMING, bytes: Buffer.byteLength(script) + Buffer.byteLength(r.stdout), summary: parseEntrySummaryOutput(r.stdout) };
}

/** The proposed awk (see proposedAwk) in the product's pipeline, timed on the host. */
async function proposedOnHost(session: HostSession): Promise<{ host: Timing; stdout: string }> {
  const r = await hostSh(session, `cat >${PROPOSED_FILE}\n${timed(`conntrack -L -o extended 2>/dev/null | mawk -v TOPN=${TOPN} -v NB=${TIMEOUT_BUCKETS.length} -f ${PROPOSED_FILE}`)}\nrm -f ${PROPOSED_FILE}`, { stdin: proposedAwk() });
  return { host: r.t[0] ?? NO_TIMING, stdout: r.stdout };
}

interface StreamRun {
  wallMs: number;
  bytes: number;
  wire: number;
  summary: EntrySummary;
  mem: MemPeak;
}
/** Baseline B: the whole listing streamed to the client, parsed and summarised there. */
async function streamToClient(session: HostSession, iface: string, gcEverySample = false): Promise<StreamRun> {
  const w0 = wireBytes(iface);
  const t0 = nowMs();
  const { value, mem } = await withMemory(async () => {
    const s = session.runner.stream(['conntrack', '-L', '-o', 'extended'], { privileged: true, timeoutMs: 300_000 });
    const reader = createConntrackTableReader();
    const sum = summarizeEntries({ topN: TOPN });
    for await (const chunk of s) for (const line of reader.push(chunk)) sum.addLine(line);
    for (const line of reader.end()) sum.addLine(line);
    const res = await s.result;
    if (res.exitCode !== 0) throw new Error(`conntrack -L exited ${res.exitCode}: ${res.stderr.trim().slice(0, 300)}`);
    return { summary: sum.result(), bytes: res.stdoutBytes };
  }, gcEverySample);
  return { wallMs: nowMs() - t0, bytes: value.bytes, wire: wireBytes(iface) - w0, summary: value.summary, mem };
}

// --- where the on-host time goes ----------------------------------------------------------------
/**
 * A proposed replacement for the awk program of src/core/host/entryScripts.ts (benchmark-only here):
 * same output, except the order of top-N keys with EQUAL counts (the product leaves that order
 * to awk's `for (k in …)` as well). Three changes:
 *  1. FS = " src=": a record splits into 3 fields (header, original tuple, reply tuple) instead of
 *     ~20; the header and the original tuple are split() on their own (6 + 4 pieces).
 *  2. Flags by index($0, …) (one C-level search each) instead of comparing every field.
 *  3. top(): one pass per list keeping a sorted TOPN buffer (O(keys), rare inserts) instead of
 *     TOPN passes over all keys (O(TOPN × keys): 7 s extra for TOPN=100 and 250k distinct sources).
 */
/** The program proposed by this benchmark was adopted in src/core/host/entryScripts.ts: it is the product's now. */
function proposedAwk(): string {
  return entrySummaryAwk();
}

/** awk output with the keys of top-N lines dropped (their order among equal counts is unspecified), sorted. */
function countsOnly(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (/^(src|dst|port) /.test(l) ? l.split(' ').slice(0, 2).join(' ') : l))
    .sort()
    .join('\n');
}

/** Rows of the breakdown: key, label, command (reads DUMP), every run or the first only. */
const BREAKDOWN_ROWS: readonly { key: string; label: string; cmd: string; every: boolean; guard?: string }[] = [
  { key: 'dumpFile', label: 'conntrack -L -o extended > file (kept for the runs)', cmd: `conntrack -L -o extended >${DUMP} 2>/dev/null`, every: false },
  { key: 'pipeCat', label: 'conntrack -L -o extended | cat > /dev/null (the pipe)', cmd: 'conntrack -L -o extended 2>/dev/null | cat >/dev/null', every: false },
  { key: 'proc', label: 'cat /proc/net/nf_conntrack > /dev/null', cmd: 'cat /proc/net/nf_conntrack >/dev/null', every: false, guard: '[ -r /proc/net/nf_conntrack ]' },
  { key: 'nr', label: 'mawk END{NR} over the file (reading lines)', cmd: `mawk 'END { print NR > "/dev/null" }' ${DUMP}`, every: false },
  { key: 'fields', label: 'mawk, every field touched, no arrays (splitting)', cmd: `mawk '{ for (k = 1; k <= NF; k++) f = $k }' ${DUMP}`, every: false },
  { key: 'top0', label: 'product awk over the file, TOPN=0 (no top-N)', cmd: `mawk -v TOPN=0 -v NB=${TIMEOUT_BUCKETS.length} -f ${AWK_FILE} ${DUMP} >/dev/null`, every: false },
  { key: 'product', label: `product awk over the file, TOPN=${TOPN}`, cmd: `mawk -v TOPN=${TOPN} -v NB=${TIMEOUT_BUCKETS.length} -f ${AWK_FILE} ${DUMP} >${DIR}/ctd-bench-product.out`, every: true },
  { key: 'mawk50k', label: `product awk, first ${fmtN(BUSYBOX_LINES)} lines: mawk`, cmd: `head -n ${BUSYBOX_LINES} ${DUMP} >${DUMP}.50k; mawk -v TOPN=${TOPN} -v NB=${TIMEOUT_BUCKETS.length} -f ${AWK_FILE} ${DUMP}.50k >/dev/null`, every: false },
  { key: 'busybox', label: `product awk, first ${fmtN(BUSYBOX_LINES)} lines: busybox awk`, cmd: `busybox awk -v TOPN=${TOPN} -v NB=${TIMEOUT_BUCKETS.length} -f ${AWK_FILE} ${DUMP}.50k >/dev/null; rm -f ${DUMP}.50k`, every: false },
  { key: 'proposed', label: `PROPOSED awk over the file, TOPN=${TOPN}`, cmd: `mawk -v TOPN=${TOPN} -v NB=${TIMEOUT_BUCKETS.length} -f ${PROPOSED_FILE} ${DUMP} >${DIR}/ctd-bench-proposed.out`, every: true },
  { key: 'proposedProc', label: 'PROPOSED awk reading /proc/net/nf_conntrack', cmd: `mawk -v TOPN=${TOPN} -v NB=${TIMEOUT_BUCKETS.length} -f ${PROPOSED_FILE} /proc/net/nf_conntrack >${DIR}/ctd-bench-proc.out`, every: false, guard: '[ -r /proc/net/nf_conntrack ]' },
];

interface Breakdown {
  t: Record<string, Timing>;
  dumpBytes: number;
  short: string[];
  topDistinct: string;
  proposedAgrees: boolean;
  /** entries counted by the proposed awk reading /proc/net/nf_conntrack (first run) */
  procEntries: number;
}
/** The dump is taken in the first run and removed after the last one. */
async function breakdown(session: HostSession, first: boolean, last: boolean): Promise<Breakdown> {
  const both = `${DIR}/ctd-bench-both.awk`;
  const outs = `${DIR}/ctd-bench-product.out ${DIR}/ctd-bench-proposed.out ${DIR}/ctd-bench-proc.out`;
  const rows = BREAKDOWN_ROWS.map((row) => {
    if (!row.every && !first) return notTimed;
    return row.guard === undefined ? timed(row.cmd) : `if ${row.guard}; then ${timed(row.cmd)}; else ${notTimed}; fi`;
  });
  const r = await hostSh(
    session,
    [
      // the two programs arrive on stdin, separated by a marker line
      `cat >${both}; sed '/^@@split$/,$d' ${both} >${AWK_FILE}; sed '1,/^@@split$/d' ${both} >${PROPOSED_FILE}`,
      first ? ':' : `[ -s ${DUMP} ] || { echo "the dump ${DUMP} is missing" >&2; exit 1; }`,
      ...rows,
      `echo "@@bytes $(wc -c <${DUMP})"`,
      first ? `mawk '$5 + 0 < 600' ${DUMP} | head -3 | sed 's/^/@@short /'` : ':',
      `echo "@@distinct $(grep '^D ' ${DIR}/ctd-bench-product.out | tr '\\n' ' ')"`,
      `echo @@product; cat ${DIR}/ctd-bench-product.out; echo @@proposed; cat ${DIR}/ctd-bench-proposed.out; echo @@end`,
      `[ -s ${DIR}/ctd-bench-proc.out ] && sed -n 's/^T /@@procT /p' ${DIR}/ctd-bench-proc.out`,
      `rm -f ${last ? `${DUMP} ` : ''}${AWK_FILE} ${PROPOSED_FILE} ${both} ${outs}`,
    ].join('\n'),
    { stdin: `${entrySummaryAwk()}\n@@split\n${proposedAwk()}\n` },
  );
  const t: Record<string, Timing> = {};
  BREAKDOWN_ROWS.forEach((row, i) => (t[row.key] = r.t[i] ?? NO_TIMING));
  const out = /@@product\n([\s\S]*)@@proposed\n([\s\S]*)@@end/.exec(r.stdout);
  return {
    t,
    dumpBytes: Number(/^@@bytes (\d+)/m.exec(r.stdout)?.[1] ?? NaN),
    short: [...r.stdout.matchAll(/^@@short (.*)$/gm)].map((x) => x[1] ?? ''),
    topDistinct: (/^@@distinct (.*)$/m.exec(r.stdout)?.[1] ?? '').trim(),
    proposedAgrees: out !== null && (out[1] ?? '').includes('T ') && countsOnly(out[1] ?? '') === countsOnly(out[2] ?? ''),
    procEntries: Number(/^@@procT (\d+)$/m.exec(r.stdout)?.[1] ?? NaN),
  };
}

// --- agreement -----------------------------------------------------------------------------------
const srcCounts = (x: EntrySummary): string => x.topSources.items.map((i) => i.count).join(',');

/**
 * P (awk on the host) against B (the client's parser). The listing's own SSH connections are
 * entries of this table: while B streams, its connection's timeout is capped at 300 s
 * (unacknowledged data) and moves to another bucket; a TIME_WAIT entry of the host's start-up
 * expires after 120 s. Up to 2 entries of difference are put down to that and shown.
 */
function agreement(a: EntrySummary, b: EntrySummary): { ok: boolean; text: string } {
  const top = (s: EntrySummary): string => `${s.topSources.items[0]?.key ?? '-'} ${s.topSources.items[0]?.count ?? 0}`;
  const counts = (s: EntrySummary['topSources']): string => s.items.map((i) => i.count).join(',');
  const hist = (x: EntrySummary): string => x.timeoutHistogram.map((h) => `${h.label}:${h.count}`).join(' ');
  const diffs: string[] = [];
  if (Math.abs(a.entries - b.entries) > 2) diffs.push(`entries ${a.entries} vs ${b.entries}`);
  if (Math.abs(a.assured - b.assured) > 2) diffs.push(`assured ${a.assured} vs ${b.assured}`);
  if (top(a) !== top(b)) diffs.push(`top source ${top(a)} vs ${top(b)}`);
  // ties may be listed in another order: compare the counts of the whole lists
  if (counts(a.topSources) !== counts(b.topSources)) diffs.push(`top-${TOPN} source counts ${counts(a.topSources)} vs ${counts(b.topSources)}`);
  if (counts(a.topDestinations) !== counts(b.topDestinations)) diffs.push('top destinations differ');
  if (counts(a.topDestinationPorts) !== counts(b.topDestinationPorts)) diffs.push('top ports differ');
  const moved = a.timeoutHistogram.reduce((sum, h, i) => sum + Math.abs(h.count - (b.timeoutHistogram[i]?.count ?? 0)), 0) / 2;
  if (moved > 2) diffs.push(`timeout histogram ${hist(a)} vs ${hist(b)}`);
  if (b.topSources.approximate) diffs.push('(client top-K approximate)');
  if (diffs.length > 0) return { ok: false, text: `NO: ${diffs.join('; ')}` };
  const notes = [
    ...(a.entries === b.entries ? [] : [`entries ${fmtN(a.entries)} vs ${fmtN(b.entries)}`]),
    ...(moved > 0
      ? [`${moved} entr${moved === 1 ? 'y' : 'ies'} in another timeout bucket (${a.timeoutHistogram.flatMap((h, i) => (h.count === b.timeoutHistogram[i]?.count ? [] : [`${h.label}: ${h.count} vs ${b.timeoutHistogram[i]?.count ?? 0}`])).join(', ')})`]
      : []),
  ];
  return {
    ok: true,
    text: `yes: ${fmtN(a.entries)} entries, ${fmtN(a.assured)} assured, top source ${top(a)}, top-${TOPN} counts equal${notes.length ? `; ${notes.join('; ')} = the table's own SSH entries` : ''}`,
  };
}

// --- one size -------------------------------------------------------------------------------------
interface SizeResult {
  n: number;
  count: number;
  fillMs: number;
  shown: number;
  raw: Timing;
  rawWall: number;
  prodWall: number;
  prodHost: Timing;
  proposedHost: Timing;
  proposedOk: boolean;
  prodBytes: number;
  prodWire: number;
  prodMem: { rssRise: number; heapRise: number; peakRss: number; heapAfterGc: number };
  streamWall: number;
  streamBytes: number;
  streamWire: number;
  streamMem: { rssRise: number; heapRise: number; externalRise: number; externalAfterGc: number; liveExternal: number; liveHeap: number; peakRss: number; heapAfterGc: number };
  agree: string;
  breakdown: Breakdown[];
}

function slabLine(): string {
  const line = readFileSync('/proc/slabinfo', 'utf8').split('\n').find((l) => l.startsWith('nf_conntrack '));
  if (!line) return 'n/a';
  const [, active, , objsize] = line.split(/\s+/);
  return `${fmtN(Number(active))} objects × ${objsize} B = ${MiB(Number(active) * Number(objsize))} (all namespaces)`;
}

async function fillTo(host: TestHost, n: number, log: (s: string) => void): Promise<number> {
  const fill = async (): Promise<number> => {
    let count = await host.conntrackCount();
    for (let attempt = 0; count < n && attempt < 3; attempt++) {
      const r = await host.fill({ assured: n - count, srcCount: SRC_COUNT, dominant: DOMINANT, dominantPct: DOMINANT_PCT });
      count = r.countAfter;
      if (r.dropAfter > r.dropBefore) log(`  fill: drop rose ${r.dropBefore} → ${r.dropAfter}`);
    }
    return count;
  };
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

async function measureSize(host: TestHost, session: HostSession, n: number, log: (s: string) => void): Promise<SizeResult> {
  const iface = host.info.rootInterface;
  const t0 = nowMs();
  const count = await fillTo(host, n, log);
  const fillMs = nowMs() - t0;
  log(`N=${fmtN(n)}: table holds ${fmtN(count)} entries (fill ${fmtMs(fillMs)}); slab ${slabLine()}; loadavg ${loadavg()}`);

  // Warm-up (untimed): conntrack binary, page cache, the awk program.
  await rawDump(session, iface);
  await productOnHost(session);

  const A: RawDump[] = [];
  const P: ProductRun[] = [];
  const PH: Awaited<ReturnType<typeof productOnHost>>[] = [];
  const PP: Awaited<ReturnType<typeof proposedOnHost>>[] = [];
  const B: StreamRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = await rawDump(session, iface);
    // P and its on-host twin alternate their order (the later one ran measurably slower here)
    let p: ProductRun;
    let ph: Awaited<ReturnType<typeof productOnHost>>;
    if (i % 2 === 0) {
      p = await product(session, iface);
      ph = await productOnHost(session);
    } else {
      ph = await productOnHost(session);
      p = await product(session, iface);
    }
    const pp = await proposedOnHost(session);
    const b = await streamToClient(session, iface);
    A.push(a);
    P.push(p);
    PH.push(ph);
    PP.push(pp);
    B.push(b);
    const t = (x: Timing): string => `${fmtMs(x.wall)} (cpu ${fmtMs(x.cpu)})`;
    log(`  run ${i + 1}: raw dump ${t(a.host)} · summary wall ${fmtMs(p.wallMs)}, on host ${t(ph.host)} · proposed ${t(pp.host)} · stream ${fmtMs(b.wallMs)}, rss ${MiB(b.mem.peakRss)}; loadavg ${loadavg()}`);
  }
  // One more B, untimed, with a GC before every memory sample: what the client really keeps alive.
  const live = await streamToClient(session, iface, true);
  log(`  B with GC every 100 ms (untimed): live external peak +${MiB(live.mem.peakExternal - live.mem.baseExternal)}, live heap peak +${MiB(live.mem.peakHeap - live.mem.baseHeap)}`);
  const bd: Breakdown[] = [];
  try {
    for (let i = 0; i < RUNS; i++) bd.push(await breakdown(session, i === 0, i === RUNS - 1));
  } finally {
    await hostSh(session, `rm -f ${DUMP} ${DUMP}.50k`).catch(() => undefined);
  }

  const ref = (P[P.length - 1] as ProductRun).summary;
  const refB = (B[B.length - 1] as StreamRun).summary;
  const ag = agreement(ref, refB);
  const stable = [...P.map((p) => p.summary), ...PH.map((p) => p.summary)].every((x) => Math.abs(x.entries - ref.entries) <= 2 && srcCounts(x) === srcCounts(ref));
  const proposedOk = PP.every((pp) => {
    try {
      const x = parseEntrySummaryOutput(pp.stdout);
      return Math.abs(x.entries - ref.entries) <= 2 && srcCounts(x) === srcCounts(ref);
    } catch {
      return false;
    }
  });
  return {
    n,
    count,
    fillMs,
    shown: median(A.map((a) => a.shown)),
    raw: medianT(A.map((a) => a.host)),
    rawWall: median(A.map((a) => a.wallMs)),
    prodWall: median(P.map((p) => p.wallMs)),
    prodHost: medianT(PH.map((p) => p.host)),
    proposedHost: medianT(PP.map((p) => p.host)),
    proposedOk,
    prodBytes: median(PH.map((p) => p.bytes)),
    prodWire: median(P.map((p) => p.wire)),
    prodMem: {
      rssRise: Math.max(...P.map((p) => p.mem.peakRss - p.mem.baseRss)),
      heapRise: Math.max(...P.map((p) => p.mem.peakHeap - p.mem.baseHeap)),
      peakRss: Math.max(...P.map((p) => p.mem.peakRss)),
      heapAfterGc: median(P.map((p) => p.mem.heapAfterGc)),
    },
    streamWall: median(B.map((b) => b.wallMs)),
    streamBytes: median(B.map((b) => b.bytes)),
    streamWire: median(B.map((b) => b.wire)),
    streamMem: {
      rssRise: Math.max(...B.map((b) => b.mem.peakRss - b.mem.baseRss)),
      heapRise: Math.max(...B.map((b) => b.mem.peakHeap - b.mem.baseHeap)),
      externalRise: Math.max(...B.map((b) => b.mem.peakExternal - b.mem.baseExternal)),
      externalAfterGc: Math.max(...B.map((b) => b.mem.externalAfterGc)),
      liveExternal: live.mem.peakExternal - live.mem.baseExternal,
      liveHeap: live.mem.peakHeap - live.mem.baseHeap,
      peakRss: Math.max(...B.map((b) => b.mem.peakRss)),
      heapAfterGc: median(B.map((b) => b.mem.heapAfterGc)),
    },
    agree: stable ? ag.text : `${ag.text} (and the product's own runs disagree beyond ±2 entries!)`,
    breakdown: bd,
  };
}

// --- output ---------------------------------------------------------------------------------------
function printTable(results: readonly SizeResult[]): void {
  const goal = (x: number): string => (x <= 1.5 ? '  ok' : '  ✗');
  const rows: [string, (r: SizeResult) => string][] = [
    ['entries (conntrack -C after the fill / shown by the dumps)', (r) => `${fmtN(r.count)} / ${fmtN(r.shown)}`],
    ['A raw dump on host, wall (conntrack -L -o extended >/dev/null)', (r) => fmtMs(r.raw.wall)],
    ['A raw dump on host, cpu (user+sys, kernel dump included)', (r) => fmtMs(r.raw.cpu)],
    ['A raw dump, wall through ssh', (r) => fmtMs(r.rawWall)],
    ['P summary, client wall (HostSession.entrySummary, incl. ssh)', (r) => fmtMs(r.prodWall)],
    ['P summary pipeline on host, wall', (r) => fmtMs(r.prodHost.wall)],
    ['P summary pipeline on host, cpu', (r) => fmtMs(r.prodHost.cpu)],
    ['  P client wall / A on host wall   (goal ≤ 1.5×)', (r) => `${ratio(r.prodWall, r.raw.wall)}${goal(r.prodWall / r.raw.wall)}`],
    ['  P client wall / A wall through ssh', (r) => ratio(r.prodWall, r.rawWall)],
    ['  P on host / A on host, wall', (r) => ratio(r.prodHost.wall, r.raw.wall)],
    ['  P on host / A on host, cpu', (r) => ratio(r.prodHost.cpu, r.raw.cpu)],
    ['  proposed awk pipeline on host / A, wall', (r) => `${ratio(r.proposedHost.wall, r.raw.wall)}${r.proposedOk ? '' : ' (counts differ!)'}`],
    ['  proposed awk pipeline on host / A, cpu', (r) => ratio(r.proposedHost.cpu, r.raw.cpu)],
    ['B stream to client + summarise there, wall', (r) => fmtMs(r.streamWall)],
    ['  P client wall / B wall', (r) => ratio(r.prodWall, r.streamWall)],
    ['bytes P: script in + counts out', (r) => fmtBytes(r.prodBytes)],
    ['bytes P: on the veth (both ways, ssh + TCP/IP)', (r) => fmtBytes(r.prodWire)],
    ['bytes B: stdout of conntrack -L', (r) => fmtBytes(r.streamBytes)],
    ['bytes B: on the veth (both ways, ssh + TCP/IP)', (r) => fmtBytes(r.streamWire)],
    ['client P: peak rss rise / heapUsed rise', (r) => `${MiB(r.prodMem.rssRise)} / ${MiB(r.prodMem.heapRise)}`],
    ['client B: peak rss rise / heapUsed rise', (r) => `${MiB(r.streamMem.rssRise)} / ${MiB(r.streamMem.heapRise)}`],
    ['client B: external (Buffers) rise: peak / after GC', (r) => `${MiB(r.streamMem.externalRise)} / ${MiB(r.streamMem.externalAfterGc)}`],
    ['client B: LIVE peak rise, GC every sample: external / heap', (r) => `${MiB(r.streamMem.liveExternal)} / ${MiB(r.streamMem.liveHeap)}`],
    ['client peak rss (absolute): P / B', (r) => `${MiB(r.prodMem.peakRss)} / ${MiB(r.streamMem.peakRss)}`],
    ['client heap after GC: P / B', (r) => `${MiB(r.prodMem.heapAfterGc)} / ${MiB(r.streamMem.heapAfterGc)}`],
  ];
  const w0 = Math.max(...rows.map(([l]) => l.length));
  const cols = results.map((r) => `N = ${fmtN(r.n)}`);
  const cells = rows.map(([, f]) => results.map(f));
  const ws = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (l: string, vs: readonly string[]): string => `${l.padEnd(w0)} │ ${vs.map((v, i) => v.padStart(ws[i] ?? 0)).join(' │ ')}`;
  console.log(`medians of ${RUNS} runs; memory = the largest of the runs`);
  console.log(line('', cols));
  console.log(`${'─'.repeat(w0)}─┼─${ws.map((w) => '─'.repeat(w)).join('─┼─')}`);
  rows.forEach(([l], i) => console.log(line(l, cells[i] ?? [])));
  for (const r of results) {
    if (r.streamMem.liveExternal > r.streamBytes / 2) {
      console.log(`note N = ${fmtN(r.n)}: during B the client keeps ${MiB(r.streamMem.liveExternal)} of Buffers ALIVE for a ${MiB(r.streamBytes)} listing: the stream is held whole (not bounded by back-pressure)`);
    }
  }
  console.log('\nP (awk on the host) and B (client parser) agree? (entries, assured, top-10 source/destination/port counts, timeout histogram)');
  for (const r of results) console.log(`  N = ${fmtN(r.n)}: ${r.agree}`);
}

function printBreakdown(results: readonly SizeResult[]): void {
  console.log(`\nwhere the on-host time goes (median of ${RUNS} runs; * = first run only; awk rows read the dump saved in the host's /root):`);
  for (const r of results) {
    const bytes = median(r.breakdown.map((b) => b.dumpBytes));
    console.log(`  N = ${fmtN(r.n)}  (listing ${fmtBytes(bytes)}, ${(bytes / r.count).toFixed(0)} B/entry; distinct keys: ${r.breakdown[0]?.topDistinct ?? '?'})`);
    console.log(`    ${''.padEnd(58)} ${'wall'.padStart(8)} ${'cpu'.padStart(8)}   cpu / A cpu`);
    const row = (label: string, t: Timing, ref: Timing = r.raw, refName = ''): void => {
      if (Number.isFinite(t.wall)) console.log(`    ${label.padEnd(58)} ${fmtMs(t.wall).padStart(8)} ${fmtMs(t.cpu).padStart(8)}   ${ratio(t.cpu, ref.cpu).padStart(6)}${refName}`);
    };
    const bt = (key: string): Timing => medianT(r.breakdown.map((b) => b.t[key] ?? NO_TIMING));
    row('A  conntrack -L -o extended > /dev/null', r.raw);
    for (const def of BREAKDOWN_ROWS) {
      if (def.key.startsWith('proposed')) continue;
      const label = `   ${def.label}${def.every ? '' : ' *'}`;
      if (def.key === 'mawk50k' || def.key === 'busybox') row(label, bt(def.key), bt('mawk50k'), ' of mawk on the slice');
      else row(label, bt(def.key));
    }
    row('P  product pipeline: conntrack | mawk', r.prodHost);
    for (const def of BREAKDOWN_ROWS) if (def.key.startsWith('proposed')) row(`   ${def.label}${def.every ? '' : ' *'}`, bt(def.key));
    row('   PROPOSED awk in the pipeline: conntrack | mawk', r.proposedHost);
    for (const l of r.breakdown[0]?.short ?? []) console.log(`    entry with timeout < 10 min: ${l.replace(/\s+/g, ' ')}`);
    console.log(`    proposed awk output = product awk output (counts; ties may reorder keys): ${r.breakdown.every((b) => b.proposedAgrees) && r.proposedOk ? 'yes' : 'NO'}`);
    const procN = r.breakdown[0]?.procEntries ?? NaN;
    if (Number.isFinite(procN)) console.log(`    entries counted from /proc/net/nf_conntrack: ${fmtN(procN)} (${Math.abs(procN - r.count) <= 2 ? 'same table' : 'DIFFERENT from conntrack -L'})`);
  }
}

async function main(): Promise<void> {
  const started = nowMs();
  const log = (s: string): void => console.log(`[${((nowMs() - started) / 1000).toFixed(1).padStart(6)} s] ${s}`);
  console.log(`conntrack entry summary benchmark: sizes ${SIZES.map(fmtN).join(', ')}, ${RUNS} runs each, top ${TOPN}`);
  console.log(`global nf_conntrack_max ${readSysctl('nf_conntrack_max')}, buckets ${readSysctl('nf_conntrack_buckets')}; ${process.version}; loadavg ${loadavg()}`);
  let host: TestHost | undefined;
  let session: HostSession | undefined;
  const results: SizeResult[] = [];
  try {
    host = await startHost(`be${process.pid % 100000}`);
    log(`host ${host.name} up at ${host.address} (veth ${host.info.rootInterface})`);
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
    const tools = await hostSh(session, 'readlink -f "$(command -v awk)"; conntrack --version 2>&1');
    log(`host awk: ${tools.stdout.trim().split('\n').join(', ')}`);
    for (const n of [...SIZES].sort((a, b) => a - b)) results.push(await measureSize(host, session, n, log));
  } finally {
    await session?.close().catch(() => undefined);
    const restored = restoreSysctlsSync();
    if (restored.length > 0) log(`restored ${restored.join(', ')}`);
    await host?.stop().catch((err: unknown) => console.error(`stopping the host: ${err instanceof Error ? err.message : String(err)}`));
    cleanupSync();
  }
  console.log('');
  printTable(results);
  printBreakdown(results);
  console.log(`\nglobal nf_conntrack_max ${readSysctl('nf_conntrack_max')}, buckets ${readSysctl('nf_conntrack_buckets')} (unchanged / restored); loadavg ${loadavg()}; total ${fmtMs(nowMs() - started)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
