/** The usage chart's HTML (pure): strict CSP, no scripts, escaping, gaps, axes and the latest values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOT_ENOUGH_SAMPLES, relativeTimeLabel, renderUsageChartHtml, type UsageSample } from '../../../src/extension/chartHtml';

const nonce = 'AbCdEf0123456789xyzXYZ==';
const t0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const every30s = (values: Partial<Omit<UsageSample, 'at'>>[]): UsageSample[] => values.map((v, i) => ({ at: t0 + i * 30_000, ...v }));

function render(history: UsageSample[], hostLabel = 'web-1'): string {
  return renderUsageChartHtml({ hostLabel, history, nonce });
}

/** The elements with a class list containing all of `classes`, with their attributes. */
function elements(html: string, tag: string, classes: string[]): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)) attrs[a[1] ?? ''] = a[2] ?? '';
    const cls = (attrs['class'] ?? '').split(/\s+/);
    if (classes.every((c) => cls.includes(c))) out.push(attrs);
  }
  return out;
}

function points(attr: string | undefined): { x: number; y: number }[] {
  return (attr ?? '').trim().split(/\s+/).map((p) => {
    const [x, y] = p.split(',').map(Number);
    return { x: x ?? NaN, y: y ?? NaN };
  });
}

/** One chart's markup. */
function chart(html: string, id: 'count-chart' | 'rate-chart'): string {
  const m = new RegExp(`<svg id="${id}"[\\s\\S]*?</svg>`).exec(html);
  assert.ok(m, `${id} missing`);
  return m[0];
}

function cell(html: string, field: string): string | undefined {
  return new RegExp(`<td data-field="${field}">([^<]*)</td>`).exec(html)?.[1];
}

const steady = every30s([
  { count: 100, max: 1000 },
  { count: 200, max: 1000, drop: 0, invalid: 0.5 },
  { count: 300, max: 1000, drop: 2, invalid: 0.25 },
  { count: 400, max: 1000, drop: 0, invalid: 0 },
  { count: 500, max: 1000, drop: 12.4, invalid: 1 },
]);

test('the CSP is present and strict: nothing but the nonce-carrying style sheet', () => {
  const html = render(steady);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.ok(csp, 'no CSP meta tag');
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k ?? '', v]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('style-src'), [`'nonce-${nonce}'`]);
  assert.deepEqual(directives.get('script-src'), ["'none'"]);
  assert.ok(!/unsafe-inline|unsafe-eval|\*/.test(csp), csp);
  // the CSP comes before anything it governs
  assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<style'));
  // every style sheet carries the nonce; no inline style attributes (they would need unsafe-inline)
  const styles = [...html.matchAll(/<style\b([^>]*)>/g)];
  assert.equal(styles.length, 1);
  assert.equal(styles[0]?.[1], ` nonce="${nonce}"`);
  assert.ok(!/\sstyle=/.test(html), 'inline style attribute found');
});

test('no scripts, no event handlers, no remote resources, no http(s) URLs anywhere', () => {
  for (const history of [steady, [], steady.slice(0, 1)]) {
    const html = render(history);
    assert.ok(!/<script/i.test(html));
    assert.ok(!/\son\w+=/i.test(html), 'event handler attribute');
    assert.ok(!/https?:|\/\//i.test(html), 'a URL found');
    assert.ok(!/\b(?:src|href)=/i.test(html), 'a resource reference');
  }
});

test('a hostile host label is escaped everywhere', () => {
  const hostile = '<img src=x onerror=alert(1)>"\'&';
  const html = render(steady, hostile);
  assert.ok(!html.includes('<img'), 'raw tag in the output');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;'));
  assert.match(html, /<title>Conntrack usage — &lt;img/);
  assert.match(html, /<h1>Conntrack usage — &lt;img/);
});

test('a bad nonce is refused (it is written into the CSP and an attribute)', () => {
  assert.throws(() => renderUsageChartHtml({ hostLabel: 'x', history: steady, nonce: `${nonce}" onload="x` }), /nonce/);
  assert.throws(() => renderUsageChartHtml({ hostLabel: 'x', history: steady, nonce: 'short' }), /nonce/);
});

test('one plotted point per sample with a count, one line through them, with accessible titles', () => {
  const html = render(steady);
  const pts = elements(html, 'circle', ['pt', 'count']);
  assert.equal(pts.length, steady.length);
  const lines = elements(html, 'polyline', ['line', 'count']);
  assert.equal(lines.length, 1);
  assert.equal(points(lines[0]?.['points']).length, steady.length);
  // x grows with time, y falls as the count grows (SVG y points down)
  const ys = pts.map((p) => Number(p['cy']));
  const xs = pts.map((p) => Number(p['cx']));
  for (let i = 1; i < ys.length; i++) {
    assert.ok((ys[i] ?? 0) < (ys[i - 1] ?? 0));
    assert.ok((xs[i] ?? 0) > (xs[i - 1] ?? 0));
  }
  assert.match(html, /<svg id="count-chart"[^>]* role="img" aria-labelledby="count-chart-title count-chart-desc"/);
  assert.match(html, /<desc id="count-chart-desc">5 entry counts over the last 2 min, from 100 to 500; latest 500 of nf_conntrack_max 1,000\.<\/desc>/);
  assert.match(html, /<title>-2 min: 100 entries<\/title>/);
  assert.match(html, /<title>now: 500 entries<\/title>/);
});

test('the max line is drawn at the max value of the y axis', () => {
  for (const max of [1000, 262144, 7]) {
    const html = chart(render(every30s([{ count: 1, max }, { count: Math.ceil(max / 2), max }, { count: max, max }])), 'count-chart');
    const grid = elements(html, 'line', ['grid']).map((g) => ({ v: Number(g['data-value']), y: Number(g['y1']) }));
    const zero = grid.find((g) => g.v === 0);
    const top = grid[grid.length - 1];
    assert.ok(zero && top && top.v >= max, JSON.stringify(grid));
    const expectedY = zero.y + ((top.y - zero.y) * max) / top.v;
    const line = elements(html, 'polyline', ['line', 'max']);
    assert.equal(line.length, 1);
    for (const p of points(line[0]?.['points'])) assert.ok(Math.abs(p.y - expectedY) < 0.02, `max ${max}: y ${p.y}, expected ${expectedY}`);
    // the count reaching the max is plotted on the max line
    const pts = elements(html, 'circle', ['pt', 'count']);
    assert.ok(Math.abs(Number(pts[2]?.['cy']) - expectedY) < 0.02);
    assert.ok(html.includes(`nf_conntrack_max ${max.toLocaleString('en-US')}</text>`));
  }
});

test('missing counts are gaps, not zeros', () => {
  const html = render(every30s([{ count: 10, max: 100 }, { count: 20, max: 100 }, { max: 100 }, { count: 30, max: 100 }, { count: 40, max: 100 }, {}, { count: 50, max: 100 }]));
  assert.equal(elements(html, 'circle', ['pt', 'count']).length, 5);
  const lines = elements(html, 'polyline', ['line', 'count']);
  assert.deepEqual(lines.map((l) => points(l['points']).length), [2, 2], 'two segments of two; the lone last point has no line');
  // no point sits on the zero line
  const zeroY = Number(elements(html, 'line', ['grid']).find((g) => g['data-value'] === '0')?.['y1']);
  for (const p of elements(html, 'circle', ['pt', 'count'])) assert.notEqual(Number(p['cy']), zeroY);
  // the max line has a gap at the sample without any value
  assert.deepEqual(elements(html, 'polyline', ['line', 'max']).map((l) => points(l['points']).length), [5]);
});

test('the rate chart plots drop/s and invalid/s, the first sample (no rate yet) being a gap', () => {
  const html = render(steady);
  assert.equal(elements(html, 'circle', ['pt', 'drop']).length, 4);
  assert.equal(elements(html, 'circle', ['pt', 'invalid']).length, 4);
  assert.match(html, /drop peaks at 12\/s, invalid at 1\.00\/s/);
  assert.match(html, /<title>now: drop 12\/s<\/title>/);
});

test('the latest values table', () => {
  const html = render(steady);
  assert.equal(cell(html, 'count'), '500');
  assert.equal(cell(html, 'max'), '1,000');
  assert.equal(cell(html, 'percent'), '50.0 %');
  assert.equal(cell(html, 'drop'), '12');
  assert.equal(cell(html, 'invalid'), '1.00');
  assert.equal(cell(html, 'samples'), '5');
  const partial = render(every30s([{ count: 5 }, { count: 7 }]));
  assert.equal(cell(partial, 'max'), '—');
  assert.equal(cell(partial, 'percent'), '—');
  assert.equal(cell(partial, 'drop'), '—');
  assert.match(partial, /No rates yet/);
});

test('an empty or one-sample history shows the not-enough-samples message, not a chart', () => {
  for (const history of [[], every30s([{ count: 3, max: 10 }])]) {
    const html = render(history);
    assert.ok(html.includes(NOT_ENOUGH_SAMPLES));
    assert.match(NOT_ENOUGH_SAMPLES, /not enough samples yet: refresh the host \(or wait for the polling interval\)/i);
    assert.ok(!html.includes('<svg'));
    assert.equal(cell(html, 'samples'), String(history.length));
  }
  assert.equal(cell(render(every30s([{ count: 3, max: 10 }])), 'count'), '3');
});

test('an unlimited max (0) draws no max line', () => {
  const html = render(every30s([{ count: 3, max: 0 }, { count: 4, max: 0 }]));
  assert.equal(elements(html, 'polyline', ['line', 'max']).length, 0);
  assert.equal(cell(html, 'max'), '0 (unlimited)');
  assert.equal(cell(html, 'percent'), '—');
});

test('time axis labels are relative', () => {
  const html = chart(render(every30s(Array.from({ length: 21 }, (_, i) => ({ count: i, max: 100 })))), 'count-chart'); // 10 minutes
  const labels = [...html.matchAll(/<text class="tick" x="[^"]*" y="[^"]*" text-anchor="middle">([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(labels, ['now', '-2 min', '-4 min', '-6 min', '-8 min', '-10 min']);
  assert.equal(relativeTimeLabel(45_000), '-45 s');
  assert.equal(relativeTimeLabel(5_400_000), '-1 h 30 min');
  assert.equal(relativeTimeLabel(7_200_000), '-2 h');
  // a reference time after the latest sample
  const later = renderUsageChartHtml({ hostLabel: 'h', history: every30s([{ count: 1 }, { count: 2 }]), nonce, now: t0 + 300_000 });
  assert.match(later, /relative to now/);
  assert.match(later, /<title>-5 min: 1 entry<\/title>/);
  assert.match(later, /<title>-4 min 30 s: 2 entries<\/title>/);
  assert.equal(relativeTimeLabel(270_000), '-4 min 30 s');
});
