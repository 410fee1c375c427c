/**
 * Issue 13: is "the first K entries the kernel lists" a random sample of the table — for the
 * destination port as well as the source? A real table filled like `npm run bench:entries` does
 * it: first a block of flows to port 443, then a block to port 8080, each with 20 % from one
 * dominant source. Were the listing in insertion order, the first K entries would be all 443.
 *
 * The kernel lists bucket after bucket, and the bucket is a keyed SipHash of the whole tuple
 * with a per-boot key mixed with a per-netns random value (nf_conntrack_core.c
 * hash_conntrack_raw; docs/benchmarks.md "Is the sample random?"): position in the listing is
 * unrelated to port, source or insertion time, except that inside one bucket the newest entry
 * comes first (hlist_nulls_add_head_rcu), which moves nothing across windows.
 *
 * Asserted (thresholds a random sample exceeds with probability ≤ 1e-4 each, so the test does
 * not fail by chance; what it catches is order: the fill order, checked too, misses in most windows):
 * - the product's sample (entry summary with `sample: K`, the dump stopped after K) has the top
 *   port tcp/443 and the dominant source inside 99.9 % Wilson bounds of the exact shares;
 * - the full listing cut into 40 disjoint windows of 500: the 95 % bounds of each window miss
 *   the exact share in at most 9 windows (a random sample: 2 expected, P(≥ 10) = 2e-5), and the
 *   spread of the windows' shares is binomial (Σz² ≤ 90.1, the 1 − 1e-5 quantile of χ²(40)).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parseConntrackLine, type ConntrackEntry } from '../../src/core/kernel/conntrackEntries';
import { wilsonInterval } from '../../src/core/sampling';
import { useHost } from '../../harness/host/testHost';
import { openSession, scratchDir, type Session } from './helpers';

const dir = scratchDir('sampleorder');
let s: Session | undefined;
after(async () => {
  await s?.session.close();
});
const h = useHost(`s13o${process.pid % 10000}`);

const DOMINANT = '198.18.99.99';
const Z999 = 3.290527;
const WINDOW = 500;
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

interface Key {
  readonly name: string;
  readonly is: (e: ConntrackEntry) => boolean;
}
const KEYS: readonly Key[] = [
  { name: 'tcp/443', is: (e) => e.proto === 'tcp' && e.orig.dport === 443 },
  { name: `source ${DOMINANT}`, is: (e) => e.orig.src === DOMINANT },
];

/** The 95 % misses and Σz² of the key's share over the disjoint windows of WINDOW entries. */
function windowCheck(entries: readonly ConntrackEntry[], key: Key, truth: number): { windows: number; misses: number; sumZ2: number } {
  const windows = Math.floor(entries.length / WINDOW);
  let misses = 0;
  let sumZ2 = 0;
  for (let w = 0; w < windows; w++) {
    const hits = entries.slice(w * WINDOW, (w + 1) * WINDOW).filter(key.is).length;
    const b = wilsonInterval(hits, WINDOW);
    if (truth < b.low || truth > b.high) misses++;
    sumZ2 += (hits / WINDOW - truth) ** 2 / ((truth * (1 - truth)) / WINDOW);
  }
  return { windows, misses, sumZ2 };
}

describe('the sample is random in the port as well as the source', () => {
  test('port blocks filled one after the other: sampled shares inside their bounds, listing windows binomial', async () => {
    const host = h.host;
    await host.fill({ assured: 12_000, srcCount: 400, dominant: DOMINANT, dominantPct: 20, dport: 443 });
    await host.fill({ assured: 8_000, srcCount: 400, dominant: DOMINANT, dominantPct: 20, dport: 8080 });

    // The whole listing once, in the kernel's order (the table holds still: ASSURED flows, 5 days).
    const listing: ConntrackEntry[] = [];
    for (const line of (await host.execOk(['cat', '/proc/net/nf_conntrack'])).split('\n')) {
      const p = parseConntrackLine(line);
      if (p.kind === 'entry') listing.push(p.entry);
      else assert.equal(p.kind, 'blank', `unparsed: ${line}`);
    }
    const n = listing.length;
    assert.ok(n >= 19_900, `fill: ${n} entries`);
    const truth = new Map(KEYS.map((k) => [k.name, listing.filter(k.is).length / n]));
    assert.ok(Math.abs((truth.get('tcp/443') ?? 0) - 0.6) < 0.01 && Math.abs((truth.get(`source ${DOMINANT}`) ?? 0) - 0.2) < 0.01, JSON.stringify([...truth]));

    // The product's sample: the first K entries listed, summarised on the host.
    s = await openSession(dir, host);
    for (const k of [1_000, 4_000]) {
      const summary = await s.session.entrySummary({ topN: 5, sample: k });
      assert.equal(summary.entries, k);
      const rows = [
        { name: 'tcp/443', row: summary.topDestinationPorts.items.find((i) => i.key === 'tcp/443') },
        { name: `source ${DOMINANT}`, row: summary.topSources.items.find((i) => i.key === DOMINANT) },
      ];
      for (const { name, row } of rows) {
        assert.ok(row, `${name} not in the sample's top 5`);
        const t = truth.get(name) ?? NaN;
        const b = wilsonInterval(row.count, k, Z999);
        console.log(`# K=${k}: ${name} sampled ${pct(row.count / k)}, exact ${pct(t)}, 99.9 %: ${pct(b.low)}–${pct(b.high)}`);
        assert.ok(b.low <= t && t <= b.high, `K=${k}: ${name} ${pct(b.low)}–${pct(b.high)} does not contain ${pct(t)}`);
      }
    }

    // The listing's order: disjoint windows behave like independent random samples.
    for (const key of KEYS) {
      const t = truth.get(key.name) ?? NaN;
      const w = windowCheck(listing, key, t);
      console.log(`# ${w.windows} windows of ${WINDOW}: ${key.name} (exact ${pct(t)}): 95 % bounds missed in ${w.misses}; Σz² ${w.sumZ2.toFixed(1)} (random: ≈ ${w.windows})`);
      assert.ok(w.misses <= 9, `${key.name}: the 95 % bounds missed in ${w.misses} of ${w.windows} windows (a random sample: about 2)`);
      assert.ok(w.sumZ2 <= 90.1, `${key.name}: Σz² = ${w.sumZ2.toFixed(1)} over ${w.windows} windows (χ²(40) quantile 1 − 1e-5: 90.1): the listing is not a random order`);
    }
    // The same check rejects the fill's order (the 443 block, then the 8080 block): it can fail.
    const filled = [...listing].sort((a, b) => Number(KEYS[0]?.is(b)) - Number(KEYS[0]?.is(a)));
    const control = windowCheck(filled, KEYS[0] as Key, truth.get('tcp/443') ?? NaN);
    assert.ok(control.misses > 9 && control.sumZ2 > 90.1, `fill order: ${JSON.stringify(control)}`);
  });
});
