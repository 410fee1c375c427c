/**
 * Benchmarks (not tests): prints figures, asserts nothing.
 *   npm run bench
 * 1. lint of a 10,000-line sysctl file (one repetitive, one realistic), against parsing alone (same run);
 * 2. parsing + summarising a 1M-line `conntrack -L` stream fed in 64 KiB chunks, against splitting
 *    lines alone (same run), with heap sampled after GC at 250k / 500k / 1M lines to show memory
 *    does not grow with input size.
 */
import { lintText } from '../src/core/sysctl/lint';
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

function time(fn: () => void, runs: number): number {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(out);
}

// --- 1. lint ---------------------------------------------------------------------------------
const keys = [
  'net.netfilter.nf_conntrack_max = 262144',
  'net.netfilter.nf_conntrack_tcp_timeout_established = 432000',
  'net.netfilter.nf_conntrack_udp_timeout = 30s',
  'net.netfilter.nf_conntrack_tcp_timeout_establised = 3600',
  'vm.swappiness = 10',
  '# a comment',
  'net.ipv4.netfilter.ip_conntrack_max = 65536',
  'net.core.somaxconn = 4096 # inline',
  '',
  'kernel.sysrq = 16',
];
const lines: string[] = [];
for (let i = 0; i < 10_000; i++) lines.push(keys[i % keys.length] ?? '');
/** Lint against parse alone, same run; medians of 7. */
function benchLint(title: string, text: string): void {
  const parseMs = time(() => void parseSysctl(text), 7);
  let findings = 0;
  const lintMs = time(() => {
    findings = lintText('/etc/sysctl.d/90-big.conf', text).length;
  }, 7);
  console.log(title);
  console.log(`  parse only (baseline): ${parseMs.toFixed(1)} ms`);
  console.log(`  full lint:             ${lintMs.toFixed(1)} ms (${(lintMs / parseMs).toFixed(1)}× parse), ${findings} findings`);
}
benchLint('lint, 10,000-line file', `${lines.join('\n')}\n`);

// 1b. A realistic file: keys of every subsystem (per-interface keys make most lines unique),
// comments and blank lines, and the mistakes real files have (typos, removed keys, inline comments).
const realistic = [
  '# node tuning',
  'net.ipv4.conf.eth{i}.rp_filter = 1',
  'net.ipv6.conf.eth{i}.accept_ra = 0',
  'net.ipv4.neigh.eth{i}.gc_stale_time = 120',
  'net.ipv4.conf.eth{i}.log_martians = 1 # audit',
  '',
  'net.core.somaxconn = 65535',
  'net.ipv4.tcp_tw_recycle = 1',
  'fs.file_max = 2097152',
  'vm.swappiness = 10',
  'kernel.pid_max = 4194304',
  'net.netfilter.nf_conntrack_max = 1048576',
  'net.netfilter.nf_conntrack_tcp_timeout_established = 86400 # kube-proxy',
  'net.ipv4.tcp_rmem = 4096 87380 16777216',
];
const realLines: string[] = [];
for (let i = 0; realLines.length < 10_000; i++) {
  for (const l of realistic) if (realLines.length < 10_000 && (i === 0 || l.includes('{i}') || l.startsWith('#') || l === '')) realLines.push(l.replace('{i}', String(i)));
}
benchLint('lint, 10,000-line realistic file (every subsystem, per-interface keys, typical mistakes)', `${realLines.join('\n')}\n`);

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
