/**
 * The fleet as a person reads it (CLI table, the view's rows and tooltips) and as JSON for
 * scripts (`fleet --json`, documented in docs/cli.md). Pure formatting.
 */
import type { Thresholds } from '../host/thresholds';
import { formatInt, formatPercent } from '../format';
import { RATE_COUNTERS, type RateCounter } from './promql';
import { summarizeFleet, type FleetHost } from './ranking';

export interface FleetError {
  /** Which fact could not be read (`rates.drop`, `peak`, …), when the error is about one query. */
  readonly query?: string;
  readonly instance?: string;
  readonly message: string;
}

export interface FleetReport {
  readonly source: { readonly url: string; readonly selector: string };
  /** ISO 8601: the evaluation time of every query. */
  readonly queriedAt: string;
  readonly thresholds: Pick<Thresholds, 'warnPercent' | 'highPercent' | 'criticalPercent'>;
  readonly hosts: readonly FleetHost[];
  readonly errors: readonly FleetError[];
}

/** `fleet --json`: the documented shape, hosts worst first. */
export function fleetJson(r: FleetReport): unknown {
  return {
    source: r.source,
    queriedAt: r.queriedAt,
    thresholds: { warnPercent: r.thresholds.warnPercent, highPercent: r.thresholds.highPercent, criticalPercent: r.thresholds.criticalPercent },
    hosts: r.hosts.map((h) => ({
      instance: h.instance,
      job: h.job,
      labels: h.labels,
      count: h.count,
      max: h.max,
      percent: h.percent,
      level: h.level,
      peakPercent24h: h.peakPercent24h,
      rates: h.rates,
      countersAvailable: h.countersAvailable,
      up: h.up,
      sshTarget: h.sshTarget,
    })),
    errors: r.errors,
  };
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/** `███████░░░` for 0–100 %, `width` cells. */
export function usageBar(percent: number | null, width = 10): string {
  if (percent === null) return '·'.repeat(width);
  const filled = Math.max(0, Math.min(width, Math.round((percent / 100) * width)));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** One block character per point on a 0–100 % scale (so hosts compare at a glance); gaps as a space. */
export function sparkline(points: readonly (number | null)[]): string {
  return points.map((p) => (p === null || !Number.isFinite(p) ? ' ' : (BLOCKS[Math.max(0, Math.min(BLOCKS.length - 1, Math.floor((Math.min(100, Math.max(0, p)) / 100) * BLOCKS.length)))] ?? ' '))).join('');
}

/** A fleet percentage: `?` when Prometheus has none, else the one usage format (core/format.ts). */
export function fleetPercent(p: number | null): string {
  return p === null ? '?' : formatPercent(p);
}

export function formatRate(r: number | null | undefined): string {
  if (r === null || r === undefined) return '-';
  if (r === 0) return '0';
  return r >= 10 ? formatInt(Math.round(r)) : r >= 0.01 ? r.toFixed(2) : '<0.01';
}

export function formatCountMax(h: Pick<FleetHost, 'count' | 'max'>): string {
  return `${h.count !== null ? formatInt(h.count) : '?'} / ${h.max !== null ? (h.max === 0 ? 'unlimited' : formatInt(h.max)) : '?'}`;
}

const RATE_HEADERS: Record<RateCounter, string> = { drop: 'DROP/S', early_drop: 'EARLY/S', insert_failed: 'INSFAIL/S', invalid: 'INVALID/S' };

/** The CLI's table, worst first, then one summary line and the notes that matter for these rows. */
export function renderFleetTable(r: FleetReport, top?: number): string {
  const hosts = top !== undefined ? r.hosts.slice(0, top) : r.hosts;
  const header = ['INSTANCE', 'USAGE', 'LEVEL', 'ENTRIES / MAX', 'PEAK 24H', ...RATE_COUNTERS.map((c) => RATE_HEADERS[c]), 'UP', 'SSH TARGET'];
  const rows = hosts.map((h) => [
    h.instance,
    `${usageBar(h.percent)} ${fleetPercent(h.percent)}`,
    h.level,
    formatCountMax(h),
    fleetPercent(h.peakPercent24h),
    ...RATE_COUNTERS.map((c) => (h.rates ? formatRate(h.rates[c]) : 'n/a')),
    h.up ? 'up' : 'DOWN',
    h.sshTarget ?? `- (${h.sshTargetError ?? 'none'})`,
  ]);
  const right = new Set([3, 4, 5, 6, 7, 8]);
  const widths = header.map((hd, c) => Math.max(hd.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]): string => row.map((cell, c) => (c === row.length - 1 ? cell : right.has(c) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd();
  const s = summarizeFleet(r.hosts);
  if (r.hosts.length === 0) {
    return `${[`No instance exports node_nf_conntrack_entries ${r.source.selector} on ${r.source.url}: is node_exporter scraped there, with its conntrack collector (on by default)?`, ...r.errors.map((e) => `error: ${e.query ? `${e.query}: ` : ''}${e.message}`)].join('\n')}\n`;
  }
  const out = [line(header), ...rows.map(line)];
  if (top !== undefined && r.hosts.length > hosts.length) out.push(`… ${r.hosts.length - hosts.length} more (--top ${top})`);
  out.push(`${s.total} instance(s) from ${r.source.url} ${r.source.selector}: ${s.inTrouble} at warning or above or dropping, ${s.down} down, ${s.withoutCounters} without counters (queried ${r.queriedAt})`);
  if (s.down > 0) out.push('DOWN: the last scrape failed; the numbers are the last ones scraped in 24 h. A full table also refuses the scrape\'s new connections.');
  if (s.withoutCounters > 0) out.push('n/a: node_exporter cannot read /proc/net/stat/nf_conntrack (kernel without CONFIG_NF_CONNTRACK_PROCFS): diagnose over SSH reads the counters with conntrack -S.');
  out.push('count is the network namespace node_exporter runs in; max is global.');
  for (const e of r.errors) out.push(`error: ${e.query ? `${e.query}: ` : ''}${e.instance ? `${e.instance}: ` : ''}${e.message}`);
  return `${out.join('\n')}\n`;
}

/** The view's one-line description of a row: bar, percent, the rates that matter, state, 24 h sparkline. */
export function rowDescription(h: FleetHost, history?: readonly (number | null)[]): string {
  const parts = [`${usageBar(h.percent, 8)} ${fleetPercent(h.percent)}`];
  if (h.rates) {
    for (const c of RATE_COUNTERS) {
      const r = h.rates[c];
      if (r !== null && r > 0 && (c === 'drop' || c === 'early_drop' || c === 'insert_failed' || r >= 1)) parts.push(`${c} ${formatRate(r)}/s`);
    }
  } else parts.push('no counters');
  if (!h.up) parts.push('DOWN');
  // From the first point Prometheus has: a host scraped for an hour gets no 23 h of blanks.
  const from = history ? history.findIndex((p) => p !== null && Number.isFinite(p)) : -1;
  if (history && from >= 0) parts.push(sparkline(history.slice(from)));
  return parts.join(' · ');
}

const md = (s: string): string => s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');

/** The view's tooltip (Markdown): every number of the row, what it means, and where it came from. */
export function rowTooltip(h: FleetHost, history?: readonly (number | null)[]): string {
  const rows: [string, string][] = [
    ['level', h.level],
    ['entries / max', formatCountMax(h)],
    ['usage', fleetPercent(h.percent)],
    ['peak (24 h)', fleetPercent(h.peakPercent24h)],
    ...RATE_COUNTERS.map((c): [string, string] => [`${c}/s`, h.rates ? formatRate(h.rates[c]) : 'unavailable']),
    ['scrape', h.up ? 'up' : 'down (numbers: the last scraped)'],
    ['job', h.job],
    ...Object.entries(h.labels).map(([k, v]): [string, string] => [k, v]),
    ['SSH target', h.sshTarget ?? `none: ${h.sshTargetError ?? ''}`],
  ];
  const out = [`**${md(h.instance)}**`, '', '| | |', '|---|---|', ...rows.map(([k, v]) => `| ${md(k)} | ${md(v)} |`)];
  if (history && history.some((p) => p !== null)) out.push('', `24 h: \`${sparkline(history)}\``);
  if (!h.countersAvailable) out.push('', 'Counters unavailable: node\\_exporter cannot read /proc/net/stat/nf\\_conntrack (kernel without CONFIG\\_NF\\_CONNTRACK\\_PROCFS). *Diagnose over SSH* reads them with `conntrack -S`.');
  out.push('', '*count* is the network namespace node\\_exporter runs in (the host\'s own unless it runs in a pod without hostNetwork); *max* is global.');
  return out.join('\n');
}
