/**
 * Study (not a test): is the first K entries the kernel lists a random sample of the table?
 * Prints figures, asserts nothing (test/integration/sampleOrder.test.ts asserts the core of it).
 *   npm run bench:sample-order                               (5 fresh hosts, 250,000 entries each)
 *   npm run bench:sample-order -- --hosts 10 --entries 250000 --order blocks|swapped|interleaved
 *
 * Each host is a fresh network namespace (a fresh per-netns value in the kernel's hash key), filled
 * the way bench:entries fills: 60 % of the flows to port 443, 40 % to 8080, 20 % of each from one
 * dominant source; `blocks` fills 443 then 8080 (as bench:entries), `swapped` 8080 then 443,
 * `interleaved` ten rounds of both. Its /proc/net/nf_conntrack is read once, in the kernel's order,
 * and analysed here, pooled over the hosts, for the dominant source and tcp/443:
 *   first K     the product's sample (K = 2,000 / 10,000 / 50,000): does the 95 % Wilson interval
 *               (src/core/sampling.ts) contain the exact share?
 *   windows     the listing cut into disjoint windows of K: how often the 95 % bounds miss, against
 *               the rate a random sample of K has (computed exactly: ≈ 5 %, less where K is a large
 *               part of the table, which the bounds ignore), and the spread of the window shares in
 *               standard errors (√(1 − K/N) for a random sample; more would mean a design effect
 *               the bounds do not carry)
 *   lag 1 / 2   autocorrelation of neighbours in the listing (inside one hash bucket the newest entry
 *               comes first: entries filled in blocks show it, it moves nothing between windows)
 * Needs root (harness/host). At most 262,143 − a few entries per host: it never raises the global
 * nf_conntrack_max (bench:entries does, under the global lock).
 */
import { startHost, type TestHost } from '../harness/host/testHost';
import { parseConntrackLine, type ConntrackEntry } from '../src/core/kernel/conntrackEntries';
import { wilsonInterval } from '../src/core/sampling';

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const HOSTS = Number(argValue('--hosts') ?? '5');
const ENTRIES = Number((argValue('--entries') ?? '250000').replace(/_/g, ''));
const ORDER = argValue('--order') ?? 'blocks';
if (!Number.isInteger(HOSTS) || HOSTS < 1 || !Number.isInteger(ENTRIES) || ENTRIES < 1000 || ENTRIES > 250_000 || !['blocks', 'swapped', 'interleaved'].includes(ORDER)) {
  console.error('usage: bench-sample-order.ts [--hosts H ≥ 1] [--entries 1000…250000] [--order blocks|swapped|interleaved]');
  process.exit(2);
}
const KS = [2_000, 10_000, 50_000].filter((k) => k <= ENTRIES / 2);
const DOMINANT = '198.18.99.99';
const KEYS: readonly { name: string; is: (e: ConntrackEntry) => boolean }[] = [
  { name: `source ${DOMINANT}`, is: (e) => e.orig.src === DOMINANT },
  { name: 'tcp/443', is: (e) => e.proto === 'tcp' && e.orig.dport === 443 },
];

/** ln Γ(x), x > 0 (Lanczos, g = 7, 9 terms). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0] ?? 1;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] ?? 0) / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}
const lnChoose = (n: number, k: number): number => lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1);

/**
 * How often the 95 % Wilson interval of K entries drawn at random (without replacement) from a
 * table of n with m hits misses m / n: exact, over the hypergeometric distribution of the hits
 * (Wilson's coverage is not exactly 95 %: it moves with the share and K, and the finite table
 * makes it conservative where K is a large part of n).
 */
const missCache = new Map<string, number>();
function expectedMiss(n: number, m: number, k: number): number {
  const key = `${n} ${m} ${k}`;
  const cached = missCache.get(key);
  if (cached !== undefined) return cached;
  const truth = m / n;
  const base = lnChoose(n, k);
  let p = 0;
  for (let h = Math.max(0, k - (n - m)); h <= Math.min(k, m); h++) {
    const b = wilsonInterval(h, k);
    if (truth < b.low || truth > b.high) p += Math.exp(lnChoose(m, h) + lnChoose(n - m, k - h) - base);
  }
  missCache.set(key, p);
  return p;
}

async function fill(host: TestHost): Promise<void> {
  const part = (assured: number, dport: number): Promise<unknown> => host.fill({ assured, srcCount: 2000, dominant: DOMINANT, dominantPct: 20, dport });
  const main = Math.round(ENTRIES * 0.6);
  if (ORDER === 'blocks') {
    await part(main, 443);
    await part(ENTRIES - main, 8080);
  } else if (ORDER === 'swapped') {
    await part(ENTRIES - main, 8080);
    await part(main, 443);
  } else {
    for (let i = 0; i < 10; i++) {
      await part(Math.round(main / 10), 443);
      await part(Math.round((ENTRIES - main) / 10), 8080);
    }
  }
}

interface Tally {
  misses: number;
  /** the misses a random sample has, summed over the records */
  expected: number;
  n: number;
  z: number[];
  fpc: number;
}
const tallies = new Map<string, Tally>();
function tally(key: string, fpc: number): Tally {
  let t = tallies.get(key);
  if (!t) tallies.set(key, (t = { misses: 0, expected: 0, n: 0, z: [], fpc }));
  return t;
}
function record(t: Tally, hits: number, k: number, size: number, total: number): void {
  const truth = total / size;
  const b = wilsonInterval(hits, k);
  if (truth < b.low || truth > b.high) t.misses++;
  t.expected += expectedMiss(size, total, k);
  t.n++;
  t.z.push((hits / k - truth) / Math.sqrt((truth * (1 - truth)) / k));
}
const lags: Record<string, number[][]> = {};

function analyse(listing: readonly ConntrackEntry[]): void {
  const n = listing.length;
  for (const key of KEYS) {
    const x = listing.map((e) => (key.is(e) ? 1 : 0));
    const total = x.reduce((a: number, b) => a + b, 0);
    const truth = total / n;
    const prefix = [0];
    for (const v of x) prefix.push((prefix[prefix.length - 1] ?? 0) + v);
    const hitsIn = (from: number, k: number): number => (prefix[from + k] ?? 0) - (prefix[from] ?? 0);
    for (const k of KS) {
      const fpc = Math.sqrt(1 - k / n);
      record(tally(`first K   K=${k} ${key.name}`, fpc), hitsIn(0, k), k, n, total);
      const w = tally(`windows   K=${k} ${key.name}`, fpc);
      for (let from = 0; from + k <= n; from += k) record(w, hitsIn(from, k), k, n, total);
    }
    const variance = truth * (1 - truth);
    const ac = [1, 2].map((lag) => {
      let s = 0;
      for (let i = lag; i < n; i++) s += ((x[i] ?? 0) - truth) * ((x[i - lag] ?? 0) - truth);
      return s / (n - lag) / variance;
    });
    (lags[key.name] ??= []).push(ac);
  }
}

async function main(): Promise<void> {
  console.log(`is the listing a random sample? ${HOSTS} fresh hosts × ${ENTRIES.toLocaleString('en-US')} entries, fill order ${ORDER}; ${process.version}`);
  for (let i = 0; i < HOSTS; i++) {
    const host = await startHost(`so${process.pid % 100000}x${i}`);
    try {
      await fill(host);
      const listing: ConntrackEntry[] = [];
      let unparsed = 0;
      for (const line of (await host.execOk(['cat', '/proc/net/nf_conntrack'], { timeoutMs: 300_000 })).split('\n')) {
        const p = parseConntrackLine(line);
        if (p.kind === 'entry') listing.push(p.entry);
        else if (p.kind !== 'blank') unparsed++;
      }
      if (unparsed > 0) throw new Error(`${unparsed} lines of /proc/net/nf_conntrack did not parse`);
      analyse(listing);
      console.log(`  host ${i + 1}: ${listing.length.toLocaleString('en-US')} entries listed`);
    } finally {
      await host.stop();
    }
  }
  console.log('\n95 % Wilson bounds against the exact share, pooled over the hosts:');
  const order = (name: string): number => (name.startsWith('windows') ? 1e6 : 0) + Number(/K=(\d+)/.exec(name)?.[1] ?? 0);
  for (const [name, t] of [...tallies].sort((a, b) => order(a[0]) - order(b[0]))) {
    const mean = t.z.reduce((a, b) => a + b, 0) / t.n;
    const sd = Math.sqrt(t.z.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, t.n - 1));
    console.log(`  ${name.padEnd(36)} missed ${String(t.misses).padStart(4)} of ${String(t.n).padStart(5)} = ${((100 * t.misses) / t.n).toFixed(2).padStart(5)} % (a random sample: ${((100 * t.expected) / t.n).toFixed(2)} %); spread ${sd.toFixed(3)} standard errors (random: ${t.fpc.toFixed(3)})`);
  }
  console.log('\nautocorrelation of neighbours in the listing, lag 1 / lag 2, per host (noise ≈ ±2/√N):');
  for (const [name, rows] of Object.entries(lags)) console.log(`  ${name.padEnd(22)} ${rows.map((r) => r.map((v) => (v >= 0 ? '+' : '') + v.toFixed(4)).join(' / ')).join('   ')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
