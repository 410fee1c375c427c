/** The fleet selector: parsed into matchers (or a clear error), rendered back canonically. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exactAlternatives, parseSelector, renderMatchers, renderSelector } from '../../../src/core/fleet/selector';
import { fleetQueries, usageHistoryQuery } from '../../../src/core/fleet/promql';

test('braces optional, every operator, spaces, the three quotes and Go escapes', () => {
  assert.deepEqual(parseSelector(''), []);
  assert.deepEqual(parseSelector('{}'), []);
  assert.deepEqual(parseSelector('{job="node"}'), [{ name: 'job', op: '=', value: 'node' }]);
  assert.deepEqual(parseSelector(' cluster = "eu" , env!~\'dev|test\', role=~`lb.*`, x!="a\\"b\\\\c\\n" '), [
    { name: 'cluster', op: '=', value: 'eu' },
    { name: 'env', op: '!~', value: 'dev|test' },
    { name: 'role', op: '=~', value: 'lb.*' },
    { name: 'x', op: '!=', value: 'a"b\\c\n' },
  ]);
  assert.deepEqual(parseSelector('{a="\\u00e9\\x41"}'), [{ name: 'a', op: '=', value: 'éA' }]);
  assert.equal(renderSelector(parseSelector("cluster='eu',env!~\"dev\"")), '{cluster="eu",env!~"dev"}');
});

test('mistakes are named, with the whole input', () => {
  const cases: [string, RegExp][] = [
    ['{job="node"', /missing the closing "\}"/],
    ['job=node', /the value of job must be quoted/],
    ['job "node"', /an operator .* was expected after job/],
    ['job="node" cluster="eu"', /"," was expected at "cluster/],
    ['9job="x"', /a label name was expected at "9job/],
    ['job="no', /the value of job is not closed/],
    ['job=~"("', /the regular expression of job does not compile/],
    ['__name__="up"', /__name__ cannot be narrowed/],
    ['job="\\q"', /unknown escape \\q/],
    ['node_nf_conntrack_entries{job="x"}', /a label name was expected|an operator/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => parseSelector(input, '--selector'), (e: Error) => re.test(e.message) && e.message.startsWith(`--selector: ${JSON.stringify(input)}`), input);
  }
});

test('any value survives parse ∘ render (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ name: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).filter((n) => n !== '__name__'), op: fc.constantFrom('=' as const, '!=' as const), value: fc.string() }), { maxLength: 4 }), (matchers) => {
      assert.deepEqual(parseSelector(renderSelector(matchers)), matchers.map((m) => ({ ...m })));
    }),
  );
});

test('exact alternatives escape regex metacharacters (dots of addresses, brackets of IPv6)', () => {
  assert.equal(exactAlternatives(['10.0.0.1:9100', '[::1]:9100']), '10\\.0\\.0\\.1:9100|\\[::1\\]:9100');
  const re = new RegExp(`^(?:${exactAlternatives(['10.0.0.1:9100'])})$`);
  assert.ok(re.test('10.0.0.1:9100'));
  assert.ok(!re.test('10x0.0.1:9100'));
});

test('the fleet queries carry the selector into every metric; the history query names the rows on screen', () => {
  const m = parseSelector('{job="node"}');
  const q = fleetQueries(m);
  assert.equal(q.entries, 'last_over_time(node_nf_conntrack_entries{job="node"}[24h])');
  assert.equal(q.limit, 'max by (job, instance) (last_over_time(node_nf_conntrack_entries_limit{job="node"}[24h]))');
  assert.equal(q.peak, 'max by (job, instance) (max_over_time(node_nf_conntrack_entries{job="node"}[24h]))');
  assert.equal(q.up, 'max by (job, instance) (up{job="node"})');
  assert.equal(q.collectorSuccess, 'max by (job, instance) (node_scrape_collector_success{collector="conntrack",job="node"})');
  assert.equal(q.rates.drop, 'max by (job, instance) (rate(node_nf_conntrack_stat_drop{job="node"}[5m]))');
  assert.equal(q.rates.insert_failed, 'max by (job, instance) (rate(node_nf_conntrack_stat_insert_failed{job="node"}[5m]))');
  assert.equal(fleetQueries([]).up, 'max by (job, instance) (up{})');
  assert.equal(fleetQueries([], { rateWindow: '2m', lookback: '6h' }).rates.invalid, 'max by (job, instance) (rate(node_nf_conntrack_stat_invalid{}[2m]))');
  assert.throws(() => fleetQueries([], { rateWindow: '5 minutes' }), /not a Prometheus duration/);
  assert.equal(usageHistoryQuery(m, ['a.b:9100']), '100 * node_nf_conntrack_entries{instance=~"a\\\\.b:9100",job="node"} / node_nf_conntrack_entries_limit{instance=~"a\\\\.b:9100",job="node"}');
  assert.equal(renderMatchers([]), '');
});
