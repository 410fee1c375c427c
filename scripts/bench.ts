/**
 * Benchmarks (not tests): prints figures, asserts nothing.
 *   npm run bench
 * 1. lint of 10,000-line sysctl files (harness/sysctl/largeFiles.ts: realistic, realistic among a host's
 *    files, mistake-heavy), against parsing the same text (alternating, same run);
 * 2. parsing + summarising a 1M-line `conntrack -L` stream fed in 64 KiB chunks, against splitting
 *    lines alone (same run), with heap sampled after GC at 250k / 500k / 1M lines to show memory
 *    does not grow with input size.
 */
import { lintFiles, lintText } from '../src/core/sysctl/lint';
import { LARGE_FILE_LIVE_VALUES, LARGE_FILE_PATH, LARGE_FILE_SIBLINGS, mistakeHeavySysctlFile, realisticSysctlFile } from '../harness/sysctl/largeFiles';
import { parseSysctl } from '../src/core/sysctl/syntax';
import { createConntrackTableReader } from '../src/core/kernel/conntrackTable';
import { createLineSplitter } from '../src/core/kernel/lineSplitter';
import { summarizeEntries } from '../src/core/kernel/entrySummary';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc (npm run bench does)');
  process.exit(2);
}

function heapMiB(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

interface Timing {
  /** Median wall-clock time (ms). */
  readonly wall: number;
  /** Least CPU time of the process (ms): on a shared, loaded machine the steadiest figure. */
  readonly cpu: number;
}

function timeRun(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/** Runs a and b alternately (so load from other work hits both alike), `runs` times each. */
function timePair(a: () => void, b: () => void, runs: number): [Timing, Timing] {
  const ra: { wall: number; cpu: number }[] = [];
  const rb: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < runs; i++) {
    ra.push(timeRun(a));
    rb.push(timeRun(b));
  }
  const sum = (r: { wall: number; cpu: number }[]): Timing => ({ wall: median(r.map((x) => x.wall)), cpu: Math.min(...r.map((x) => x.cpu)) });
  return [sum(ra), sum(rb)];
}

const ms = (t: Timing): string => `${t.cpu.toFixed(1).padStart(6)} ms cpu (least), ${t.wall.toFixed(1).padStart(6)} ms wall (median)`;

// --- 1. lint ---------------------------------------------------------------------------------
/** Lint against parsing the same text, alternating in one run; the editor's goal is ≤ `goal` ms. */
function benchLint(title: string, text: string, lint: () => readonly unknown[], goal: number): void {
  lint(); // warm: the key catalogue is parsed once per process
  let findings = 0;
  const [parse, full] = timePair(() => void parseSysctl(text), () => {
    findings = lint().length;
  }, 21);
  console.log(title);
  console.log(`  parse only (baseline): ${ms(parse)}`);
  console.log(`  full lint:             ${ms(full)}; ${(full.cpu / parse.cpu).toFixed(1)}× parse (cpu), ${findings} findings; goal ≤ ${goal} ms`);
}
const realistic = realisticSysctlFile();
const mistakeHeavy = mistakeHeavySysctlFile();
benchLint('lint, 10,000-line realistic file (every subsystem, per-interface keys, typical mistakes)', realistic, () => lintText(LARGE_FILE_PATH, realistic), 20);
benchLint('lint, the realistic file among a host\'s files, with live values (the editor on a host)', realistic,
  () => lintFiles([...LARGE_FILE_SIBLINGS, { path: LARGE_FILE_PATH, content: realistic }], { targets: [LARGE_FILE_PATH], context: { liveValues: LARGE_FILE_LIVE_VALUES } }), 20);
benchLint('lint, 10,000-line mistake-heavy file (ten lines repeated: duplicates, typos, legacy key, units, inline comments)', mistakeHeavy, () => lintText(LARGE_FILE_PATH, mistakeHeavy), 50);

// --- 2. stream ----------------------------------------------------------------------------------
const TOTAL = 1_000_000;
const CHUNK = 64 * 1024;

function* conntrackListing(n: number): Generator<string> {
  let buf = '';
  for (let i = 0; i < n; i++) {
    const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const sport = 1024 + (i % 60000);
    buf += i % 3 === 0
      ? `udp      17 29 src=${a} dst=10.203.0.128 sport=${sport} dport=53 [UNREPLIED] src=10.203.0.128 dst=${a} sport=53 dport=${sport} mark=0 use=1\n`
      : `tcp      6 431999 ESTABLISHED src=${a} dst=10.203.0.128 sport=${sport} dport=443 src=10.203.0.128 dst=${a} sport=443 dport=${sport} [ASSURED] mark=0 use=1\n`;
    if (buf.length >= CHUNK) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

// Baseline: generating the chunks and splitting lines, nothing parsed.
let t0 = process.hrtime.bigint();
let count = 0;
const splitter = createLineSplitter(() => {
  count++;
});
for (const chunk of conntrackListing(TOTAL)) splitter.push(chunk);
splitter.end();
const splitMs = Number(process.hrtime.bigint() - t0) / 1e6;

const samples: string[] = [];
const before = heapMiB();
t0 = process.hrtime.bigint();
const reader = createConntrackTableReader();
const summary = summarizeEntries();
let parsed = 0;
for (const chunk of conntrackListing(TOTAL)) {
  for (const line of reader.push(chunk)) {
    summary.addLine(line);
    parsed++;
    if (parsed === 250_000 || parsed === 500_000) samples.push(`${parsed / 1000}k lines: heap ${heapMiB().toFixed(1)} MiB`);
  }
}
for (const line of reader.end()) summary.addLine(line);
const parseStreamMs = Number(process.hrtime.bigint() - t0) / 1e6;
samples.push(`1000k lines: heap ${heapMiB().toFixed(1)} MiB`);
const result = summary.result();
console.log(`\nconntrack -L stream, ${TOTAL.toLocaleString('en-US')} lines in 64 KiB chunks`);
console.log(`  split lines only (baseline): ${splitMs.toFixed(0)} ms (${count.toLocaleString('en-US')} lines)`);
console.log(`  parse + summarise:           ${parseStreamMs.toFixed(0)} ms (${(parseStreamMs / splitMs).toFixed(1)}× baseline, ${((TOTAL / parseStreamMs) * 1000).toFixed(0)} lines/s)`);
console.log(`  heap before: ${before.toFixed(1)} MiB; ${samples.join('; ')}`);
console.log(`  summary: ${result.entries.toLocaleString('en-US')} entries, ${result.unreplied.toLocaleString('en-US')} unreplied, top source list approximate=${String(result.topSources.approximate)} (capacity ${result.topSources.capacity})`);
console.log(`  rss: ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MiB`);
