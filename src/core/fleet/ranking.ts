/**
 * The fleet ranking: the answers of the fleet queries (promql.ts) joined per job + instance
 * into one row per host, with the host view's levels (usageLevel), sorted worst first. Pure and
 * linear in the number of series, so 5,000 instances rank in milliseconds (npm run bench:fleet).
 *
 * What a row's numbers are: count and max are node_exporter's nf_conntrack_count / max, i.e. of
 * the network namespace node_exporter runs in (the host's own for the usual install; a pod's
 * when it runs in a pod without hostNetwork). For an instance that is down, they are the last
 * values scraped in the lookback, and `up` says so.
 */
import type { UsageLevel } from '../host/diagnosis';
import { DEFAULT_THRESHOLDS, usageLevel, type Thresholds } from '../host/thresholds';
import { sampleValue, type Vector, type VectorSample } from './api';
import { RATE_COUNTERS, type RateCounter } from './promql';
import { sshTargetFor, type SshMapping } from './sshTarget';

export type FleetRates = Readonly<Record<RateCounter, number | null>>;

export interface FleetHost {
  readonly instance: string;
  readonly job: string;
  /** The series' other labels (cluster, env, …), without __name__, job and instance. */
  readonly labels: Readonly<Record<string, string>>;
  readonly count: number | null;
  readonly max: number | null;
  readonly percent: number | null;
  readonly level: UsageLevel;
  /** The highest count of the lookback (24 h) against the last known max, in percent. */
  readonly peakPercent24h: number | null;
  /** Per-second rates; null when the counters are unavailable. A counter without enough samples yet is null. */
  readonly rates: FleetRates | null;
  /** false when node_exporter cannot read /proc/net/stat/nf_conntrack (collector success 0, no stat_* series). */
  readonly countersAvailable: boolean;
  /** Prometheus's last scrape of the instance succeeded. */
  readonly up: boolean;
  readonly sshTarget: string | null;
  /** Why there is no SSH target (a label missing, a value no SSH connection can be made to). */
  readonly sshTargetError?: string;
}

/** What the fleet queries answered; a failed optional query is simply missing (its error goes to `errors`). */
export interface FleetAnswers {
  readonly entries: Vector;
  readonly limit?: Vector;
  readonly peak?: Vector;
  readonly up?: Vector;
  readonly collectorSuccess?: Vector;
  readonly rates?: Partial<Record<RateCounter, Vector>>;
}

export interface RankOptions {
  readonly thresholds?: Partial<Pick<Thresholds, 'warnPercent' | 'highPercent' | 'criticalPercent'>>;
  readonly ssh?: SshMapping;
}

/**
 * The join, column-wise: the entries answer gives each job + instance its row (a map per job: no
 * joined key strings to build and hash); every other answer is read once into a column of
 * numbers by row. Lookups only (no map per answer to build) and no closure per host: 5,000
 * instances join and sort in a few milliseconds (npm run bench:fleet).
 */
type Rows = Map<string, Map<string, number>>;

interface Column {
  readonly value: Float64Array;
  /** 1 where the answer had a series for the row (the first one wins when a selector let two through). */
  readonly has: Uint8Array;
}

function column(v: Vector | undefined, rows: Rows, n: number): Column {
  const value = new Float64Array(n);
  const has = new Uint8Array(n);
  for (const s of v ?? []) {
    const row = rows.get(s.metric['job'] ?? '')?.get(s.metric['instance'] ?? '');
    if (row === undefined || has[row]) continue;
    has[row] = 1;
    value[row] = sampleValue(s.value[1]);
  }
  return { value, has };
}

const finiteAt = (c: Column, row: number): number | null => {
  const v = c.value[row];
  return c.has[row] && v !== undefined && Number.isFinite(v) ? v : null;
};
const equalsAt = (c: Column, row: number, x: number): boolean => c.has[row] === 1 && c.value[row] === x;

const LEVEL_RANK: Record<UsageLevel, number> = { critical: 4, high: 3, elevated: 2, ok: 1, unknown: 0 };

/** Dropping new connections, or usage at the warning threshold or above. */
export function inTrouble(h: Pick<FleetHost, 'level' | 'rates'>): boolean {
  return (h.rates?.drop ?? 0) > 0 || LEVEL_RANK[h.level] >= LEVEL_RANK.elevated;
}

/**
 * Worst first: dropping; then by level; a host that cannot be scraped comes right after the
 * hosts in trouble and before the healthy ones (a full table refuses the scrape's new
 * connections too); then by percent, then by instance for a stable order.
 */
export function troubleRank(h: FleetHost): number {
  if ((h.rates?.drop ?? 0) > 0) return 6;
  const r = LEVEL_RANK[h.level];
  if (r >= LEVEL_RANK.elevated) return r + 1;
  return h.up ? r : 2;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compareHosts(a: FleetHost, b: FleetHost): number {
  return troubleRank(b) - troubleRank(a) || (b.rates?.drop ?? 0) - (a.rates?.drop ?? 0) || (b.percent ?? -1) - (a.percent ?? -1) || Number(a.up) - Number(b.up) || byName(a.instance, b.instance) || byName(a.job, b.job);
}

/** compareHosts's keys, computed once per host rather than once per comparison. */
interface SortKey {
  readonly h: FleetHost;
  readonly rank: number;
  readonly drop: number;
  readonly percent: number;
  readonly up: number;
}

const compareKeys = (a: SortKey, b: SortKey): number =>
  b.rank - a.rank || b.drop - a.drop || b.percent - a.percent || a.up - b.up || byName(a.h.instance, b.h.instance) || byName(a.h.job, b.h.job);

export function rankFleet(answers: FleetAnswers, options: RankOptions = {}): FleetHost[] {
  const t = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  // One row per job + instance of the entries answer, its first series.
  const rows: Rows = new Map();
  const series: VectorSample[] = [];
  for (const s of answers.entries) {
    const job = s.metric['job'] ?? '';
    let m = rows.get(job);
    if (!m) rows.set(job, (m = new Map<string, number>()));
    const instance = s.metric['instance'] ?? '';
    if (m.has(instance)) continue;
    m.set(instance, series.length);
    series.push(s);
  }
  const n = series.length;
  const limit = column(answers.limit, rows, n);
  const peak = column(answers.peak, rows, n);
  const up = column(answers.up, rows, n);
  const success = column(answers.collectorSuccess, rows, n);
  const [drop, earlyDrop, insertFailed, invalid] = RATE_COUNTERS.map((c) => column(answers.rates?.[c], rows, n)) as [Column, Column, Column, Column];
  const keys: SortKey[] = new Array<SortKey>(n);
  for (let row = 0; row < n; row++) {
    const s = series[row] as VectorSample;
    const job = s.metric['job'] ?? '';
    const instance = s.metric['instance'] ?? '';
    // A plain loop, not object rest: this runs once per host of fleets of thousands.
    const labels: Record<string, string> = {};
    for (const name in s.metric) if (name !== '__name__' && name !== 'job' && name !== 'instance') labels[name] = s.metric[name] ?? '';
    const v = sampleValue(s.value[1]);
    const count = Number.isFinite(v) ? v : null;
    const max = finiteAt(limit, row);
    const percent = count !== null && max !== null && max > 0 ? (100 * count) / max : null;
    const peakCount = finiteAt(peak, row);
    const peakPercent24h = peakCount !== null && max !== null && max > 0 ? (100 * Math.max(peakCount, count ?? 0)) / max : null;
    // The collector's own verdict first (node_exporter >= 1.4 fails it when the stat file is
    // missing); without it, whether any counter series came back.
    const countersAvailable = equalsAt(success, row, 1) ? true : equalsAt(success, row, 0) ? false : drop.has[row] === 1 || earlyDrop.has[row] === 1 || insertFailed.has[row] === 1 || invalid.has[row] === 1;
    const rates: FleetRates | null = countersAvailable ? { drop: finiteAt(drop, row), early_drop: finiteAt(earlyDrop, row), insert_failed: finiteAt(insertFailed, row), invalid: finiteAt(invalid, row) } : null;
    const ssh = sshTargetFor(instance, s.metric, options.ssh);
    const h: FleetHost = {
      instance,
      job,
      labels,
      count,
      max,
      percent,
      level: usageLevel(percent ?? undefined, t),
      peakPercent24h,
      rates,
      countersAvailable,
      up: equalsAt(up, row, 1),
      sshTarget: 'target' in ssh ? ssh.target : null,
      ...('error' in ssh ? { sshTargetError: ssh.error } : {}),
    };
    keys[row] = { h, rank: troubleRank(h), drop: rates?.drop ?? 0, percent: percent ?? -1, up: Number(h.up) };
  }
  return keys.sort(compareKeys).map((k) => k.h);
}

export interface FleetSummary {
  readonly total: number;
  readonly inTrouble: number;
  readonly down: number;
  readonly withoutCounters: number;
  readonly byLevel: Readonly<Record<UsageLevel, number>>;
}

export function summarizeFleet(hosts: readonly FleetHost[]): FleetSummary {
  const byLevel: Record<UsageLevel, number> = { critical: 0, high: 0, elevated: 0, ok: 0, unknown: 0 };
  let trouble = 0;
  let down = 0;
  let noCounters = 0;
  for (const h of hosts) {
    byLevel[h.level]++;
    if (inTrouble(h)) trouble++;
    if (!h.up) down++;
    if (!h.countersAvailable) noCounters++;
  }
  return { total: hosts.length, inTrouble: trouble, down, withoutCounters: noCounters, byLevel };
}

/** Case-insensitive substring on instance, job, SSH target and label values (the view's filter). */
export function filterHosts(hosts: readonly FleetHost[], text: string): FleetHost[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return [...hosts];
  return hosts.filter((h) => h.instance.toLowerCase().includes(needle) || h.job.toLowerCase().includes(needle) || (h.sshTarget ?? '').toLowerCase().includes(needle) || Object.entries(h.labels).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(needle)));
}
