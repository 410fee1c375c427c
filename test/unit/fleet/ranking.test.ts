/** The ranking: joins per job + instance, the host view's levels, worst first, counters and up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareHosts, filterHosts, inTrouble, rankFleet, summarizeFleet, type FleetHost } from '../../../src/core/fleet/ranking';
import { fleetQueries, RATE_COUNTERS } from '../../../src/core/fleet/promql';
import { vectorSchema, type Vector } from '../../../src/core/fleet/api';
import { syntheticAnswers, syntheticHosts } from '../../../harness/fleet/synthetic';

const T = 1_796_463_991.329;
const vec = (rows: [string, number | string, Record<string, string>?][], job = 'node'): Vector => rows.map(([instance, v, labels]) => ({ metric: { __name__: 'x', instance, job, ...labels }, value: [T, String(v)] }));

function fleet(): FleetHost[] {
  return rankFleet({
    entries: vec([['calm:9100', 1000, { cluster: 'eu' }], ['full:9100', 250_000], ['high:9100', 240_000], ['dark:9100', 50_000], ['old:9100', 30_000], ['dropping:9100', 100_000], ['nomax:9100', 5]]),
    limit: vec([['calm:9100', 262144], ['full:9100', 262144], ['high:9100', 262144], ['dark:9100', 262144], ['old:9100', 262144], ['dropping:9100', 262144]]),
    peak: vec([['calm:9100', 131072], ['full:9100', 262144], ['high:9100', 240_000], ['dark:9100', 60_000], ['old:9100', 30_000], ['dropping:9100', 262144]]),
    up: vec([['calm:9100', 1], ['full:9100', 1], ['high:9100', 1], ['dark:9100', 0], ['old:9100', 1], ['dropping:9100', 1], ['nomax:9100', 1]]),
    collectorSuccess: vec([['calm:9100', 1], ['full:9100', 1], ['high:9100', 1], ['old:9100', 0], ['dropping:9100', 1], ['nomax:9100', 1]]),
    rates: {
      drop: vec([['calm:9100', 0], ['full:9100', 0], ['high:9100', 0], ['dropping:9100', 12.5]]),
      early_drop: vec([['calm:9100', 0], ['full:9100', 3], ['high:9100', 0], ['dropping:9100', 0]]),
      insert_failed: vec([['calm:9100', 0], ['full:9100', 0], ['high:9100', 0], ['dropping:9100', 0.5]]),
      invalid: vec([['calm:9100', 'NaN'], ['full:9100', 2], ['high:9100', 0], ['dropping:9100', 1]]),
    },
  });
}

test('worst first: dropping, critical, high, a host that cannot be scraped, then healthy ones; unknown last', () => {
  assert.deepEqual(fleet().map((h) => h.instance), ['dropping:9100', 'full:9100', 'high:9100', 'dark:9100', 'old:9100', 'calm:9100', 'nomax:9100']);
});

test('each row: count / max / percent, the host view\'s level, the peak against the last max, rates, counters, up, ssh target', () => {
  const by = new Map(fleet().map((h) => [h.instance, h]));
  const full = by.get('full:9100');
  assert.ok(full);
  assert.equal(full.count, 250_000);
  assert.equal(full.max, 262144);
  assert.equal(full.percent, (100 * 250_000) / 262144);
  assert.equal(full.level, 'critical');
  assert.equal(full.peakPercent24h, 100);
  assert.deepEqual(full.rates, { drop: 0, early_drop: 3, insert_failed: 0, invalid: 2 });
  assert.equal(full.countersAvailable, true);
  assert.equal(full.up, true);
  assert.equal(full.sshTarget, 'full');
  assert.equal(by.get('high:9100')?.level, 'high');
  assert.equal(by.get('calm:9100')?.level, 'ok');
  assert.deepEqual(by.get('calm:9100')?.labels, { cluster: 'eu' });
  assert.equal(by.get('calm:9100')?.rates?.invalid, null, 'NaN is no rate');
  assert.equal(by.get('calm:9100')?.peakPercent24h, 50);
  // collector success 0: counters unavailable, whatever else came
  assert.equal(by.get('old:9100')?.countersAvailable, false);
  assert.equal(by.get('old:9100')?.rates, null);
  // down: last values kept, up false; its counters are judged from what came (no rate: none)
  const dark = by.get('dark:9100');
  assert.equal(dark?.up, false);
  assert.equal(dark?.count, 50_000);
  assert.equal(dark?.countersAvailable, false);
  // no max: no percent, level unknown
  assert.equal(by.get('nomax:9100')?.percent, null);
  assert.equal(by.get('nomax:9100')?.level, 'unknown');
  assert.equal(by.get('nomax:9100')?.countersAvailable, true);
  assert.deepEqual(by.get('nomax:9100')?.rates, { drop: null, early_drop: null, insert_failed: null, invalid: null });
});

test('thresholds are the host view\'s settings; in trouble = warning or above, or dropping', () => {
  const hosts = rankFleet({ entries: vec([['a:1', 80], ['b:1', 50]]), limit: vec([['a:1', 100], ['b:1', 100]]) }, { thresholds: { warnPercent: 50, highPercent: 60, criticalPercent: 70 } });
  assert.deepEqual(hosts.map((h) => [h.instance, h.level]), [['a:1', 'critical'], ['b:1', 'elevated']]);
  assert.ok(hosts.every(inTrouble));
  assert.equal(inTrouble({ level: 'ok', rates: { drop: 0.1, early_drop: 0, insert_failed: 0, invalid: 0 } }), true);
  assert.equal(inTrouble({ level: 'ok', rates: null }), false);
  const s = summarizeFleet(fleet());
  assert.deepEqual(s, { total: 7, inTrouble: 3, down: 1, withoutCounters: 2, byLevel: { critical: 1, high: 1, elevated: 0, ok: 4, unknown: 1 } });
});

test('the same instance in two jobs is two rows; a duplicate series of one is counted once', () => {
  const entries = [...vec([['x:9100', 10]], 'node'), ...vec([['x:9100', 20]], 'node-canary'), ...vec([['x:9100', 99]], 'node')];
  const hosts = rankFleet({ entries, limit: [...vec([['x:9100', 100]], 'node'), ...vec([['x:9100', 100]], 'node-canary')] });
  assert.deepEqual(hosts.map((h) => [h.job, h.count]), [['node-canary', 20], ['node', 10]]);
});

test('ssh targets from the mapping, a label, or the instance; a value no SSH connection can use is an error, not a target', () => {
  const entries = vec([['web-1:9100', 1, { hostname: 'web-1.prod' }], ['[2001:db8::5]:9100', 1], ['evil:9100', 1, { hostname: 'x; rm -rf /' }]]);
  const plain = new Map(rankFleet({ entries }).map((h) => [h.instance, h.sshTarget]));
  assert.equal(plain.get('web-1:9100'), 'web-1');
  assert.equal(plain.get('[2001:db8::5]:9100'), '2001:db8::5');
  const labelled = rankFleet({ entries }, { ssh: { label: 'hostname', user: 'ops' } });
  const by = new Map(labelled.map((h) => [h.instance, h]));
  assert.equal(by.get('web-1:9100')?.sshTarget, 'ops@web-1.prod');
  assert.equal(by.get('[2001:db8::5]:9100')?.sshTarget, null);
  assert.match(by.get('[2001:db8::5]:9100')?.sshTargetError ?? '', /has no label "hostname"/);
  assert.equal(by.get('evil:9100')?.sshTarget, null);
  assert.match(by.get('evil:9100')?.sshTargetError ?? '', /is not a host an SSH connection can be made to/);
  const mapped = rankFleet({ entries }, { ssh: { targets: { 'web-1:9100': 'root@10.0.0.5:2222' } } });
  assert.equal(mapped.find((h) => h.instance === 'web-1:9100')?.sshTarget, 'root@10.0.0.5:2222');
});

test('filter: instance, job, ssh target or label=value, case-insensitive', () => {
  const hosts = fleet();
  assert.deepEqual(filterHosts(hosts, 'CLUSTER=eu').map((h) => h.instance), ['calm:9100']);
  assert.deepEqual(filterHosts(hosts, 'dro').map((h) => h.instance), ['dropping:9100']);
  assert.equal(filterHosts(hosts, '  ').length, hosts.length);
});

test('a generated fleet of 5,000: every host once, sorted by compareHosts, levels as the generator made them', () => {
  const gen = syntheticHosts(5000);
  const answers = syntheticAnswers(gen, T);
  const q = fleetQueries([]);
  const v = (query: string): Vector => vectorSchema.parse((JSON.parse(answers.get(query) ?? '') as { data: { result: unknown } }).data.result);
  const hosts = rankFleet({ entries: v(q.entries), limit: v(q.limit), peak: v(q.peak), up: v(q.up), collectorSuccess: v(q.collectorSuccess), rates: Object.fromEntries(RATE_COUNTERS.map((c) => [c, v(q.rates[c])])) });
  assert.equal(hosts.length, 5000);
  assert.equal(new Set(hosts.map((h) => h.instance)).size, 5000);
  for (let i = 1; i < hosts.length; i++) assert.ok(compareHosts(hosts[i - 1] as FleetHost, hosts[i] as FleetHost) <= 0, `rows ${i - 1} and ${i} out of order`);
  const critical = gen.filter((h) => (100 * h.count) / h.max >= 95).length;
  assert.equal(hosts.filter((h) => h.level === 'critical').length, critical);
  assert.ok(critical > 0);
  assert.ok((hosts[0]?.rates?.drop ?? 0) > 0, 'a dropping host first');
  assert.equal(hosts.filter((h) => !h.up).length, gen.filter((h) => !h.up).length);
});
