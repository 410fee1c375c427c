import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEstimate, entryEstimates, entryEstimatesSchema, sampleLabel, wilsonInterval } from '../../src/core/sampling';

test('Wilson interval: the textbook values, inside [0, 1] at the extremes, bad input refused', () => {
  // 10 of 100 at 95 %: 0.0552–0.1744 (Newcombe 1998, method 3)
  const a = wilsonInterval(10, 100);
  assert.equal(a.share, 0.1);
  assert.ok(Math.abs(a.low - 0.0552) < 0.0005 && Math.abs(a.high - 0.1744) < 0.0005, JSON.stringify(a));
  const none = wilsonInterval(0, 50);
  assert.equal(none.low, 0);
  assert.ok(none.high > 0.05 && none.high < 0.08, JSON.stringify(none));
  const all = wilsonInterval(50, 50);
  assert.equal(all.high, 1);
  assert.ok(all.low < 1);
  assert.throws(() => wilsonInterval(5, 0));
  assert.throws(() => wilsonInterval(6, 5));
});

const summary = (entries: number, limit: number | undefined, tableCount?: number) => ({
  entries,
  ...(limit !== undefined ? { sample: { limit, ...(tableCount !== undefined ? { tableCount } : {}) } } : {}),
  byTcpState: { ESTABLISHED: Math.round(entries * 0.7), TIME_WAIT: Math.round(entries * 0.1) },
  assured: Math.round(entries * 0.8),
  unreplied: Math.round(entries * 0.05),
  topSources: { items: [{ key: '198.18.0.77', count: Math.round(entries * 0.4) }, { key: '10.0.0.2', count: 3 }] },
  topDestinations: { items: [] },
  topDestinationPorts: { items: [{ key: 'tcp/443', count: Math.round(entries * 0.9) }] },
});

test('a full sample is scaled to the table with Wilson bounds in entries, marked "sampled: K of N"', () => {
  const e = entryEstimates(summary(10_000, 10_000, 1_000_000), 999_000);
  assert.equal(e.exact, false);
  assert.equal(e.sampleSize, 10_000);
  assert.equal(e.total, 1_000_000, 'the count read with the sample wins over the snapshot\'s');
  assert.equal(e.confidence, 0.95);
  const top = e.sources[0];
  assert.ok(top);
  assert.equal(top.counted, 4_000);
  assert.equal(top.entries, 400_000);
  const w = wilsonInterval(4_000, 10_000);
  assert.equal(top.low, w.low);
  assert.equal(top.lowEntries, Math.floor(w.low * 1_000_000));
  assert.equal(top.highEntries, Math.ceil(w.high * 1_000_000));
  assert.ok((top.lowEntries ?? 0) < 400_000 && 400_000 < (top.highEntries ?? 0));
  assert.deepEqual(e.states.map((r) => r.key), ['ESTABLISHED', 'TIME_WAIT']);
  assert.deepEqual(e.flags.map((r) => [r.key, r.entries]), [['ASSURED', 800_000], ['UNREPLIED', 50_000]]);
  assert.equal(sampleLabel(e), 'sampled: 10,000 of 1,000,000 entries');
  assert.match(describeEstimate(top), /^≈400,000 entries \(40\.0 %, 95 %: 39\.0 %–41\.0 %\)$/);
  // without the count read with the sample, the snapshot's count scales it
  assert.equal(entryEstimates(summary(10_000, 10_000), 500_000).sources[0]?.entries, 200_000);
  entryEstimatesSchema.parse(e);
});

test('fewer entries than K (the whole table was read) or no sample: exact, no bounds', () => {
  for (const e of [entryEstimates(summary(3_000, 10_000, 3_010), 3_010), entryEstimates(summary(3_000, undefined), 5_000)]) {
    assert.equal(e.exact, true);
    assert.equal(e.total, 3_000, 'the entries read are the table');
    assert.equal(e.confidence, null);
    const top = e.sources[0];
    assert.deepEqual([top?.entries, top?.low, top?.high, top?.lowEntries], [1_200, null, null, null]);
    assert.equal(sampleLabel(e), 'exact: all 3,000 entries');
    assert.equal(describeEstimate(top ?? e.flags[0]!), '1,200 entries (40.0 %)');
  }
  const empty = entryEstimates(summary(0, 10_000, 0), 0);
  assert.equal(empty.exact, true);
  assert.equal(empty.flags[0]?.share, 0);
});
