/** Reading Prometheus's answers into data or typed errors; the fleet's JSON and table; proxies from the environment. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asMatrix, asVector, readAnswer, sampleValue, type RawAnswer } from '../../../src/core/fleet/api';
import { PrometheusError, prometheusHint, type PrometheusErrorKind } from '../../../src/core/fleet/errors';
import { proxyFor } from '../../../src/core/fleet/proxy';
import { fleetJson, formatRate, renderFleetTable, rowDescription, rowTooltip, sparkline, usageBar, type FleetReport } from '../../../src/core/fleet/report';
import { rankFleet } from '../../../src/core/fleet/ranking';
import { stripPort } from '../../../src/core/fleet/sshTarget';

const answer = (over: Partial<RawAnswer>): RawAnswer => ({ url: 'http://prom:9090/api/v1/query', status: 200, contentType: 'application/json', body: '', credentialsSent: false, ...over });
function kind(a: RawAnswer): PrometheusErrorKind {
  try {
    readAnswer(a);
  } catch (e) {
    assert.ok(e instanceof PrometheusError);
    return e.kind;
  }
  assert.fail('no error');
}

// Real answers of Prometheus 2.42 (captured from the test stack).
const VECTOR = '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"node_nf_conntrack_entries","cluster":"a","instance":"10.231.3.2:9100","job":"node"},"value":[1796463991.329,"6"]}]}}';
const BAD_DATA = '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:4: parse error: unexpected end of input inside braces"}';

test('a vector, a matrix, warnings; sample values with NaN and ±Inf', () => {
  const { data, warnings } = readAnswer(answer({ body: VECTOR }));
  assert.deepEqual(warnings, []);
  assert.equal(asVector(data, 'q')[0]?.metric['instance'], '10.231.3.2:9100');
  assert.throws(() => asMatrix(data, 'q'), /expected a matrix for q, got a vector/);
  const m = readAnswer(answer({ body: '{"status":"success","warnings":["w1"],"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"NaN"]]}]}}' }));
  assert.deepEqual(m.warnings, ['w1']);
  assert.equal(asMatrix(m.data, 'q')[0]?.values.length, 2);
  assert.equal(sampleValue('+Inf'), Infinity);
  assert.equal(sampleValue('-Inf'), -Infinity);
  assert.ok(Number.isNaN(sampleValue('NaN')));
  assert.equal(sampleValue('262144'), 262144);
});

test('every failure has its kind: api (with errorType), 401 with/without credentials, 403, HTML, redirect, not JSON, not the envelope', () => {
  try {
    readAnswer(answer({ status: 400, body: BAD_DATA }));
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof PrometheusError);
    assert.equal(e.kind, 'api');
    assert.equal(e.details.errorType, 'bad_data');
    assert.match(e.message, /^Prometheus refused the query \(bad_data, HTTP 400\): invalid parameter/);
  }
  assert.equal(kind(answer({ status: 401, body: 'Unauthorized\n', contentType: 'text/plain' })), 'unauthorized');
  assert.throws(() => readAnswer(answer({ status: 401, credentialsSent: true })), /the credentials were refused/);
  assert.throws(() => readAnswer(answer({ status: 401 })), /it needs credentials and none were given/);
  assert.equal(kind(answer({ status: 403 })), 'forbidden');
  assert.equal(kind(answer({ contentType: 'text/html', body: '<html><title>Login</title></html>' })), 'html-page');
  assert.equal(kind(answer({ contentType: undefined, body: '  <!DOCTYPE html><p>hi' })), 'html-page');
  assert.throws(() => readAnswer(answer({ status: 302, location: 'https://sso/login' })), /HTTP 302 redirects to https:\/\/sso\/login/);
  assert.equal(kind(answer({ status: 404, contentType: 'text/plain', body: '404 page not found\n' })), 'not-prometheus');
  assert.throws(() => readAnswer(answer({ body: '{"data":[]}' })), /JSON, but not the Prometheus API's answer/);
  assert.throws(() => readAnswer(answer({ body: '' })), /is not JSON: empty body/);
  // a series of the wrong shape is refused, not ranked
  assert.throws(() => readAnswer(answer({ body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"node"},"value":[1,2]}]}}' })), /data\.result\.0: expected \{ metric/);
  assert.throws(() => readAnswer(answer({ body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":1},"value":[1,"2"]}]}}' })), /not the Prometheus API's answer/);
  assert.throws(() => readAnswer(answer({ body: '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"],["x","y"]]}]}}' })), /expected \{ metric: .*values/);
  assert.equal(kind(answer({ status: 500, body: VECTOR })), 'not-prometheus');
  for (const k of ['config', 'dns', 'refused', 'unreachable', 'timeout', 'tls', 'proxy', 'unauthorized', 'forbidden', 'html-page', 'not-prometheus', 'api'] as const) assert.ok(prometheusHint(k).length > 20);
});

test('proxies as curl reads them: https_proxy for https, http_proxy (not HTTP_PROXY) for http, all_proxy, NO_PROXY', () => {
  const u = (s: string): URL => new URL(s);
  assert.equal(proxyFor(u('https://prom:9090'), { HTTPS_PROXY: 'proxy:3128' })?.href, 'http://proxy:3128/');
  assert.equal(proxyFor(u('http://prom:9090'), { HTTP_PROXY: 'http://evil:1' }), undefined);
  assert.equal(proxyFor(u('http://prom:9090'), { http_proxy: 'http://p:1' })?.host, 'p:1');
  assert.equal(proxyFor(u('http://prom:9090'), { ALL_PROXY: 'http://a:1' })?.host, 'a:1');
  const env = { https_proxy: 'http://p:1', NO_PROXY: 'localhost, .corp.example,10.0.0.5,other:8443,[::1]' };
  assert.equal(proxyFor(u('https://localhost:9090'), env), undefined);
  assert.equal(proxyFor(u('https://prom.corp.example'), env), undefined);
  assert.equal(proxyFor(u('https://corp.example'), env), undefined);
  assert.equal(proxyFor(u('https://10.0.0.5:9090'), env), undefined);
  assert.equal(proxyFor(u('https://other:8443'), env), undefined);
  assert.ok(proxyFor(u('https://other:9443'), env));
  assert.equal(proxyFor(u('https://[::1]:9090'), env), undefined);
  assert.ok(proxyFor(u('https://notcorp.example'), env));
  assert.equal(proxyFor(u('https://x'), { https_proxy: 'http://p:1', no_proxy: '*' }), undefined);
  assert.throws(() => proxyFor(u('https://x'), { https_proxy: 'http://[bad' }), /is not a URL/);
});

test('bars, sparklines, rates, and instance ports', () => {
  assert.equal(usageBar(84), '████████░░');
  assert.equal(usageBar(0), '░░░░░░░░░░');
  assert.equal(usageBar(120), '██████████');
  assert.equal(usageBar(null), '··········');
  assert.equal(sparkline([0, 12.5, 50, 99.9, 100, null, Number.NaN]), '▁▂▅██  ');
  assert.equal(formatRate(null), '-');
  assert.equal(formatRate(0), '0');
  assert.equal(formatRate(0.001), '<0.01');
  assert.equal(formatRate(1.234), '1.23');
  assert.equal(formatRate(12345.6), '12,346');
  assert.equal(stripPort('web-1:9100'), 'web-1');
  assert.equal(stripPort('web-1'), 'web-1');
  assert.equal(stripPort('[fe80::1%eth0]:9100'), 'fe80::1%eth0');
  assert.equal(stripPort('2001:db8::1'), '2001:db8::1');
});

test('the JSON has exactly the documented fields; the table says what the numbers are', () => {
  const T = 1796463991;
  const hosts = rankFleet({
    entries: [{ metric: { instance: 'a:9100', job: 'node', cluster: 'eu' }, value: [T, '240000'] }, { metric: { instance: 'b:9100', job: 'node' }, value: [T, '10'] }],
    limit: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '262144'] }, { metric: { instance: 'b:9100', job: 'node' }, value: [T, '262144'] }],
    up: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '1'] }, { metric: { instance: 'b:9100', job: 'node' }, value: [T, '0'] }],
    collectorSuccess: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '0'] }],
  });
  const report: FleetReport = { source: { url: 'http://prom:9090', selector: '{}' }, queriedAt: '2026-12-05T09:00:00.000Z', thresholds: { warnPercent: 75, highPercent: 90, criticalPercent: 95 }, hosts, errors: [{ query: 'peak', message: 'timeout' }] };
  const j = fleetJson(report) as { hosts: Record<string, unknown>[] };
  assert.deepEqual(Object.keys(j), ['source', 'queriedAt', 'thresholds', 'hosts', 'errors']);
  assert.deepEqual(Object.keys(j.hosts[0] ?? {}), ['instance', 'job', 'labels', 'count', 'max', 'percent', 'level', 'peakPercent24h', 'rates', 'countersAvailable', 'up', 'sshTarget']);
  assert.equal(j.hosts[0]?.['level'], 'high');
  const text = renderFleetTable(report);
  assert.match(text, /^INSTANCE +USAGE +LEVEL/);
  assert.match(text, /\na:9100 +█████████░ 91\.6 % +high +240,000 \/ 262,144 +\? +n\/a +n\/a +n\/a +n\/a +up +a\n/);
  assert.match(text, /\nb:9100 .* DOWN +b\n/);
  assert.match(text, /2 instance\(s\) from http:\/\/prom:9090 \{\}: 1 at warning or above or dropping, 1 down, 2 without counters/);
  assert.match(text, /DOWN: the last scrape failed/);
  assert.match(text, /error: peak: timeout/);
  assert.match(renderFleetTable(report, 1), /… 1 more \(--top 1\)/);
  assert.match(renderFleetTable({ ...report, hosts: [] }), /^No instance exports node_nf_conntrack_entries \{\} on http:\/\/prom:9090/);
});

test('a view row: bar, percent, the rates that matter, DOWN, no counters, the sparkline from its first point; a tooltip that says what count is', () => {
  const T = 1796463991;
  const [a, b] = rankFleet({
    entries: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '250000'] }, { metric: { instance: 'b:9100', job: 'node', cluster: 'eu' }, value: [T, '1000'] }],
    limit: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '262144'] }, { metric: { instance: 'b:9100', job: 'node' }, value: [T, '262144'] }],
    up: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '1'] }, { metric: { instance: 'b:9100', job: 'node' }, value: [T, '0'] }],
    collectorSuccess: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '1'] }],
    rates: { drop: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '12.5'] }], invalid: [{ metric: { instance: 'a:9100', job: 'node' }, value: [T, '0.5'] }] },
  });
  assert.ok(a && b);
  assert.equal(rowDescription(a, [null, null, 90, 95.4, 100]), '████████ 95.4 % · drop 13/s · ███');
  assert.equal(rowDescription(b), '░░░░░░░░ 0.4 % · no counters · DOWN');
  const tip = rowTooltip(b, [10, null, 20]);
  assert.match(tip, /^\*\*b:9100\*\*/);
  assert.match(tip, /\| scrape \| down \\\(numbers: the last scraped\\\) \|/);
  assert.match(tip, /\| cluster \| eu \|/);
  assert.match(tip, /Counters unavailable: node\\_exporter cannot read/);
  assert.match(tip, /\*count\* is the network namespace node\\_exporter runs in/);
  assert.match(tip, /24 h: `▁ ▂`/);
});
