/**
 * The usage chart's HTML: pure (no vscode, no I/O), so it is unit-tested with plain Node.
 * No scripts at all: both charts are inline SVG, coloured by VS Code's theme variables, and the
 * page's CSP allows nothing but its own nonce'd style sheet. Hover titles on the points and a
 * table of the latest values keep it readable without a mouse or with a screen reader.
 */
import { formatDurationShort, formatInt, formatRate, formatShare } from '../core/format';

/** One poll of a host, as HostEntry.history keeps it; drop and invalid are per second. */
export interface UsageSample {
  readonly at: number;
  readonly count?: number;
  readonly max?: number;
  readonly drop?: number;
  readonly invalid?: number;
}

/** The sample a new snapshot and its diagnosis make (what is unknown stays absent, never zero). */
export function usageSample(s: { readonly takenAt: number; readonly count?: number | undefined; readonly max?: number | undefined }, perSecond: Readonly<Record<string, number>> | undefined): UsageSample {
  const drop = perSecond?.['drop'];
  const invalid = perSecond?.['invalid'];
  return { at: s.takenAt, ...(s.count !== undefined ? { count: s.count } : {}), ...(s.max !== undefined ? { max: s.max } : {}), ...(drop !== undefined ? { drop } : {}), ...(invalid !== undefined ? { invalid } : {}) };
}

export interface UsageChartInput {
  readonly hostLabel: string;
  readonly history: readonly UsageSample[];
  /** A fresh random nonce per render; the only thing the CSP lets in is the style sheet carrying it. */
  readonly nonce: string;
  /**
   * The time the axis is relative to (default: the latest sample). webview.cspSource is
   * deliberately not taken: the page loads no resource, and cspSource names an https origin.
   */
  readonly now?: number;
}

export const NOT_ENOUGH_SAMPLES = 'Not enough samples yet: refresh the host (or wait for the polling interval).';

const W = 720;
const H = 270;
const M = { left: 70, right: 20, top: 28, bottom: 34 } as const;
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;
const BOTTOM = M.top + PLOT_H;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A coordinate with at most 2 decimals (keeps the markup small and stable). */
function n2(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function formatTick(v: number): string {
  return Number.isInteger(v) ? formatInt(v) : String(Math.round(v * 1000) / 1000);
}

/** Seconds before the reference time, as an axis label: "-30 s", "-5 min", "-1 h 30 min". */
export function relativeTimeLabel(ms: number): string {
  const s = Math.round(ms / 1000);
  return s === 0 ? 'now' : `-${formatDurationShort(s)}`;
}

function spanText(ms: number): string {
  return relativeTimeLabel(ms).replace(/^-/, '').replace(/^now$/, '0 s');
}

/** A tick step of 1, 2, 2.5 or 5 × 10^k, at least `rough`. */
function niceStep(rough: number): number {
  const exp = Math.floor(Math.log10(rough));
  const base = 10 ** exp;
  for (const f of [1, 2, 2.5, 5, 10]) if (f * base >= rough) return f * base;
  return 10 * base;
}

interface Scale {
  readonly max: number;
  readonly ticks: number[];
  y(v: number): number;
}

function valueScale(largest: number, integers: boolean): Scale {
  const top = Math.max(largest, integers ? 4 : 1);
  let step = niceStep(top / 4);
  if (integers) step = Math.max(1, Math.ceil(step));
  const max = Math.ceil(top / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step / 1000; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return { max, ticks, y: (v) => M.top + PLOT_H * (1 - v / max) };
}

const TIME_STEPS_S = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

interface TimeAxis {
  readonly from: number;
  readonly to: number;
  x(t: number): number;
  readonly ticks: { at: number; label: string }[];
}

function timeAxis(from: number, to: number): TimeAxis {
  const span = Math.max(1, to - from);
  const stepS = TIME_STEPS_S.find((s) => span / (s * 1000) <= 6) ?? Math.ceil(span / 6000 / 86400) * 86400;
  const ticks: { at: number; label: string }[] = [];
  for (let at = to; at >= from - 1; at -= stepS * 1000) ticks.push({ at, label: relativeTimeLabel(to - at) });
  return { from, to, ticks, x: (t) => M.left + (PLOT_W * (t - from)) / span };
}

type SeriesKey = 'count' | 'max' | 'drop' | 'invalid';

/** Runs of consecutive samples that have the value: a missing value is a gap, never a zero. */
function runs(samples: readonly UsageSample[], key: SeriesKey): { at: number; v: number }[][] {
  const out: { at: number; v: number }[][] = [];
  let cur: { at: number; v: number }[] = [];
  for (const s of samples) {
    const v = s[key];
    if (v === undefined || !Number.isFinite(v)) {
      if (cur.length > 0) out.push(cur);
      cur = [];
    } else cur.push({ at: s.at, v });
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function axes(scale: Scale, time: TimeAxis, unit: string): string {
  const parts: string[] = [];
  for (const v of scale.ticks) {
    const y = n2(scale.y(v));
    parts.push(`<line class="grid" x1="${M.left}" x2="${M.left + PLOT_W}" y1="${y}" y2="${y}" data-value="${v}"></line>`);
    parts.push(`<text class="tick" x="${M.left - 6}" y="${y}" dy="0.32em" text-anchor="end">${formatTick(v)}</text>`);
  }
  for (const t of time.ticks) {
    const x = n2(time.x(t.at));
    parts.push(`<line class="tickmark" x1="${x}" x2="${x}" y1="${BOTTOM}" y2="${BOTTOM + 4}"></line>`);
    parts.push(`<text class="tick" x="${x}" y="${BOTTOM + 16}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  }
  parts.push(`<line class="axis" x1="${M.left}" x2="${M.left + PLOT_W}" y1="${BOTTOM}" y2="${BOTTOM}"></line>`);
  parts.push(`<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${BOTTOM}"></line>`);
  parts.push(`<text class="unit" x="${M.left - 6}" y="${M.top - 6}" text-anchor="end">${escapeHtml(unit)}</text>`);
  return parts.join('\n');
}

function series(samples: readonly UsageSample[], key: SeriesKey, scale: Scale, time: TimeAxis, opts: { area?: boolean; points?: boolean; describe: (v: number) => string }): string {
  const parts: string[] = [];
  for (const run of runs(samples, key)) {
    const pts = run.map((p) => `${n2(time.x(p.at))},${n2(scale.y(p.v))}`);
    if (run.length >= 2) {
      if (opts.area) {
        const first = run[0];
        const last = run[run.length - 1];
        if (first && last) parts.push(`<polygon class="area ${key}" points="${n2(time.x(first.at))},${BOTTOM} ${pts.join(' ')} ${n2(time.x(last.at))},${BOTTOM}"></polygon>`);
      }
      parts.push(`<polyline class="line ${key}" data-series="${key}" points="${pts.join(' ')}"></polyline>`);
    }
    if (opts.points !== false) {
      for (const p of run) {
        parts.push(`<circle class="pt ${key}" data-series="${key}" cx="${n2(time.x(p.at))}" cy="${n2(scale.y(p.v))}" r="${run.length === 1 ? 3.5 : 2.5}"><title>${escapeHtml(`${relativeTimeLabel(time.to - p.at)}: ${opts.describe(p.v)}`)}</title></circle>`);
      }
    }
  }
  return parts.join('\n');
}

function svg(id: string, title: string, desc: string, body: string): string {
  return `<svg id="${id}" class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-title ${id}-desc" preserveAspectRatio="xMidYMid meet">
<title id="${id}-title">${escapeHtml(title)}</title>
<desc id="${id}-desc">${escapeHtml(desc)}</desc>
${body}
</svg>`;
}

function legend(items: { key: SeriesKey; label: string }[]): string {
  return `<ul class="legend">${items.map((i) => `<li><span class="swatch ${i.key}" aria-hidden="true"></span>${escapeHtml(i.label)}</li>`).join('')}</ul>`;
}

function latestDefined(samples: readonly UsageSample[], key: SeriesKey): number | undefined {
  for (let i = samples.length - 1; i >= 0; i--) {
    const v = samples[i]?.[key];
    if (v !== undefined) return v;
  }
  return undefined;
}

function countChart(samples: readonly UsageSample[], time: TimeAxis): string {
  const counts = samples.flatMap((s) => (s.count === undefined ? [] : [s.count]));
  const maxes = samples.flatMap((s) => (s.max === undefined || s.max <= 0 ? [] : [s.max]));
  const scale = valueScale(Math.max(0, ...counts, ...maxes), true);
  const latestMax = latestDefined(samples, 'max');
  const latestCount = latestDefined(samples, 'count');
  const body = [
    axes(scale, time, 'entries'),
    series(samples.map((s) => (s.max !== undefined && s.max <= 0 ? { at: s.at } : s)), 'max', scale, time, { points: false, describe: (v) => `max ${formatInt(v)}` }),
    latestMax !== undefined && latestMax > 0 ? `<text class="label max" x="${M.left + PLOT_W - 4}" y="${n2(scale.y(latestMax) - 5)}" text-anchor="end">nf_conntrack_max ${formatInt(latestMax)}</text>` : '',
    series(samples, 'count', scale, time, { area: true, describe: (v) => `${formatInt(v)} ${v === 1 ? 'entry' : 'entries'}` }),
    counts.length === 0 ? `<text class="empty" x="${M.left + PLOT_W / 2}" y="${M.top + PLOT_H / 2}" text-anchor="middle">No entry count in these samples</text>` : '',
  ].filter(Boolean).join('\n');
  const desc = `${counts.length} entry counts over the last ${spanText(time.to - time.from)}`
    + (counts.length > 0 ? `, from ${formatInt(Math.min(...counts))} to ${formatInt(Math.max(...counts))}` : '')
    + (latestCount !== undefined ? `; latest ${formatInt(latestCount)}` : '')
    + (latestMax !== undefined ? (latestMax > 0 ? ` of nf_conntrack_max ${formatInt(latestMax)}` : '; nf_conntrack_max is 0 (unlimited)') : '')
    + '.';
  return `<section aria-label="Entries against nf_conntrack_max">
<h2>Entries against nf_conntrack_max</h2>
${svg('count-chart', 'Conntrack entries against nf_conntrack_max', desc, body)}
${legend([{ key: 'count', label: 'entries (this network namespace)' }, { key: 'max', label: 'nf_conntrack_max (global)' }])}
</section>`;
}

function rateChart(samples: readonly UsageSample[], time: TimeAxis): string {
  const drops = samples.flatMap((s) => (s.drop === undefined ? [] : [s.drop]));
  const invalids = samples.flatMap((s) => (s.invalid === undefined ? [] : [s.invalid]));
  const scale = valueScale(Math.max(0, ...drops, ...invalids), false);
  const body = [
    axes(scale, time, 'per second'),
    series(samples, 'invalid', scale, time, { describe: (v) => `invalid ${formatRate(v)}/s` }),
    series(samples, 'drop', scale, time, { describe: (v) => `drop ${formatRate(v)}/s` }),
    drops.length + invalids.length === 0 ? `<text class="empty" x="${M.left + PLOT_W / 2}" y="${M.top + PLOT_H / 2}" text-anchor="middle">No rates yet: they need two samples with readable counters</text>` : '',
  ].filter(Boolean).join('\n');
  const peak = (xs: number[]): string => (xs.length > 0 ? `${formatRate(Math.max(...xs))}/s` : 'unknown');
  const desc = `Packets dropped and invalid per second over the last ${spanText(time.to - time.from)}: drop peaks at ${peak(drops)}, invalid at ${peak(invalids)}.`;
  return `<section aria-label="Drops and invalid packets per second">
<h2>Drops and invalid packets per second</h2>
${svg('rate-chart', 'Conntrack drop and invalid rates', desc, body)}
${legend([{ key: 'drop', label: 'drop/s (table full or early drop)' }, { key: 'invalid', label: 'invalid/s' }])}
</section>`;
}

function latestTable(samples: readonly UsageSample[]): string {
  const last = samples[samples.length - 1];
  const dash = '—';
  const count = last?.count;
  const max = last?.max;
  const pct = count !== undefined && max !== undefined && max > 0 ? formatShare(count, max) : dash;
  const counts = samples.flatMap((s) => (s.count === undefined ? [] : [s.count]));
  const rows: [string, string, string][] = [
    ['count', 'entries', count !== undefined ? formatInt(count) : dash],
    ['max', 'nf_conntrack_max', max !== undefined ? (max === 0 ? '0 (unlimited)' : formatInt(max)) : dash],
    ['percent', 'used', pct],
    ['drop', 'drop/s', last?.drop !== undefined ? formatRate(last.drop) : dash],
    ['invalid', 'invalid/s', last?.invalid !== undefined ? formatRate(last.invalid) : dash],
    ['peak', 'peak entries in these samples', counts.length > 0 ? formatInt(Math.max(...counts)) : dash],
    ['samples', 'samples', formatInt(samples.length)],
  ];
  return `<table class="latest">
<caption>Latest values${last ? ` (sample taken ${escapeHtml(new Date(last.at).toLocaleTimeString('en-GB'))})` : ''}</caption>
<tbody>
${rows.map(([field, label, value]) => `<tr><th scope="row">${escapeHtml(label)}</th><td data-field="${field}">${escapeHtml(value)}</td></tr>`).join('\n')}
</tbody>
</table>`;
}

const STYLE = `
body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 20px 20px; }
h1 { font-size: 1.4em; font-weight: 600; }
h2 { font-size: 1.1em; font-weight: 600; margin: 1.4em 0 0.4em; }
.sub, .message { color: var(--vscode-descriptionForeground); }
.message { border-left: 3px solid var(--vscode-charts-blue); padding: 6px 10px; background: var(--vscode-textBlockQuote-background); }
svg.chart { width: 100%; max-width: ${W}px; height: auto; display: block; }
svg .grid { stroke: var(--vscode-editorWidget-border, var(--vscode-foreground)); stroke-opacity: 0.25; stroke-width: 1; }
svg .axis, svg .tickmark { stroke: var(--vscode-foreground); stroke-opacity: 0.6; stroke-width: 1; }
svg text { fill: var(--vscode-foreground); font-size: 11px; font-family: var(--vscode-font-family); }
svg text.tick, svg text.unit { fill: var(--vscode-descriptionForeground); }
svg text.empty { fill: var(--vscode-descriptionForeground); font-size: 13px; }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg .area.count { fill: var(--vscode-charts-blue); fill-opacity: 0.15; stroke: none; }
svg .line.count, svg .pt.count { stroke: var(--vscode-charts-blue); }
svg .pt.count { fill: var(--vscode-charts-blue); }
svg .line.max { stroke: var(--vscode-charts-red); stroke-dasharray: 6 4; }
svg text.label.max { fill: var(--vscode-charts-red); }
svg .line.drop, svg .pt.drop { stroke: var(--vscode-charts-red); }
svg .pt.drop { fill: var(--vscode-charts-red); }
svg .line.invalid, svg .pt.invalid { stroke: var(--vscode-charts-yellow); }
svg .pt.invalid { fill: var(--vscode-charts-yellow); }
.legend { list-style: none; padding: 0; margin: 4px 0 0; display: flex; gap: 18px; flex-wrap: wrap; color: var(--vscode-descriptionForeground); }
.swatch { display: inline-block; width: 14px; height: 4px; margin-right: 6px; vertical-align: middle; }
.swatch.count { background: var(--vscode-charts-blue); }
.swatch.max, .swatch.drop { background: var(--vscode-charts-red); }
.swatch.invalid { background: var(--vscode-charts-yellow); }
table.latest { border-collapse: collapse; margin-top: 1.4em; }
table.latest caption { text-align: left; font-weight: 600; padding-bottom: 4px; white-space: nowrap; }
table.latest th, table.latest td { padding: 3px 14px 3px 0; text-align: left; border-bottom: 1px solid var(--vscode-editorWidget-border, transparent); }
table.latest th { font-weight: normal; color: var(--vscode-descriptionForeground); }
table.latest td { font-variant-numeric: tabular-nums; }
`;

/** The webview document for one host's polling history. */
export function renderUsageChartHtml(input: UsageChartInput): string {
  if (!/^[A-Za-z0-9+/_-]{16,}={0,2}$/.test(input.nonce)) throw new Error('the nonce must be at least 16 base64 characters');
  const label = escapeHtml(input.hostLabel);
  const samples = [...input.history].filter((s) => Number.isFinite(s.at)).sort((a, b) => a.at - b.at);
  const csp = `default-src 'none'; style-src 'nonce-${input.nonce}'; img-src 'none'; font-src 'none'; script-src 'none'; connect-src 'none'; media-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'`;
  let main: string;
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (samples.length < 2 || !first || !last) {
    main = `<p class="message" role="status">${escapeHtml(NOT_ENOUGH_SAMPLES)} The chart needs at least two samples; it has ${samples.length}.</p>`;
  } else {
    const to = Math.max(last.at, input.now ?? last.at);
    const time = timeAxis(first.at, to);
    main = `<p class="sub">${formatInt(samples.length)} samples over the last ${escapeHtml(spanText(to - first.at))}; times are relative to ${input.now !== undefined ? 'now' : 'the latest sample'}. Hover a point for its value; gaps are samples without that value.</p>
${countChart(samples, time)}
${rateChart(samples, time)}`;
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conntrack usage — ${label}</title>
<style nonce="${input.nonce}">${STYLE}</style>
</head>
<body data-samples="${samples.length}">
<h1>Conntrack usage — ${label}</h1>
${main}
${latestTable(samples)}
</body>
</html>
`;
}
