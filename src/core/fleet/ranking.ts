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
import { sampleValue, type Vector } from './api';
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

/** One value per job + instance (a map per job: no joined key strings to build and hash per lookup); the first series wins when a selector let two through. */
type ByInstance = Map<string, Map<string, number>>;

function index(v: Vector | undefined): ByInstance {
  const out: ByInstance = new Map();
  for (const s of v ?? []) {
    const job = s.metric['job'] ?? '';
    let m = out.get(job);
    if (!m) out.set(job, (m = new Map<string, number>()));
    const instance = s.metric['instance'] ?? '';
    if (!m.has(instance)) m.set(instance, sampleValue(s.value[1]));
  }
  return out;
}

const finite = (n: number | undefined): number | null => (n !== undefined && Number.isFinite(n) ? n : null);

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

export function compareHosts(a: FleetHost, b: FleetHost): number {
  return troubleRank(b) - troubleRank(a) || (b.rates?.drop ?? 0) - (a.rates?.drop ?? 0) || (b.percent ?? -1) - (a.percent ?? -1) || Number(a.up) - Number(b.up) || (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0) || (a.job < b.job ? -1 : a.job > b.job ? 1 : 0);
}

export function rankFleet(answers: FleetAnswers, options: RankOptions = {}): FleetHost[] {
  const t = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const limit = index(answers.limit);
  const peak = index(answers.peak);
  const up = index(answers.up);
  const success = index(answers.collectorSuccess);
  const [drop, earlyDrop, insertFailed, invalid] = RATE_COUNTERS.map((c) => index(answers.rates?.[c]));
  const seen = index(answers.entries);
  const hosts: FleetHost[] = [];
  for (const s of answers.entries) {
    const job = s.metric['job'] ?? '';
    const instance = s.metric['instance'] ?? '';
    // the first series of a job + instance only
    const mine = seen.get(job);
    if (!mine?.delete(instance)) continue;
    const at = (m: ByInstance | undefined): number | undefined => m?.get(job)?.get(instance);
    // A plain loop, not object rest: this runs once per host of fleets of thousands.
    const labels: Record<string, string> = {};
    for (const name in s.metric) if (name !== '__name__' && name !== 'job' && name !== 'instance') labels[name] = s.metric[name] ?? '';
    const count = finite(sampleValue(s.value[1]));
    const max = finite(at(limit));
    const percent = count !== null && max !== null && max > 0 ? (100 * count) / max : null;
    const peakCount = finite(at(peak));
    const peakPercent24h = peakCount !== null && max !== null && max > 0 ? (100 * Math.max(peakCount, count ?? 0)) / max : null;
    const ok = at(success);
    // The collector's own verdict first (node_exporter >= 1.4 fails it when the stat file is
    // missing); without it, whether any counter series came back.
    const countersAvailable = ok === 1 ? true : ok === 0 ? false : [drop, earlyDrop, insertFailed, invalid].some((m) => at(m) !== undefined);
    const rates: FleetRates | null = countersAvailable ? { drop: finite(at(drop)), early_drop: finite(at(earlyDrop)), insert_failed: finite(at(insertFailed)), invalid: finite(at(invalid)) } : null;
    const ssh = sshTargetFor(instance, s.metric, options.ssh);
    hosts.push({
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
      up: at(up) === 1,
      sshTarget: 'target' in ssh ? ssh.target : null,
      ...('error' in ssh ? { sshTargetError: ssh.error } : {}),
    });
  }
  // Decorate-sort: the rank is computed once per host, not once per comparison.
  return hosts
    .map((h) => ({ h, r: troubleRank(h) }))
    .sort((a, b) => b.r - a.r || compareHosts(a.h, b.h))
    .map((x) => x.h);
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
