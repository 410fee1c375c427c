/**
 * The PromQL of the fleet view: a few plain instant queries (one per fact, so each result is a
 * simple vector keyed by job + instance and any one of them may fail alone), plus one range
 * query for the sparklines of the rows on screen. node_exporter's metrics:
 * `node_nf_conntrack_entries` / `_entries_limit` (nf_conntrack_count / max of the exporter's
 * network namespace), `node_nf_conntrack_stat_*` (counters summed over CPUs: monotonic, so rate()),
 * `node_scrape_collector_success{collector="conntrack"}` (0 when /proc/net/stat/nf_conntrack is
 * missing, e.g. kernels without CONFIG_NF_CONNTRACK_PROCFS) and Prometheus's own `up`.
 */
import { exactAlternatives, promString, renderMatchers, type LabelMatcher } from './selector';

/** The counters whose rates the fleet shows (the ones that tell "table full" apart). */
export const RATE_COUNTERS = ['drop', 'early_drop', 'insert_failed', 'invalid'] as const;
export type RateCounter = (typeof RATE_COUNTERS)[number];

export interface FleetQueryOptions {
  /** Range of rate(); default 5m (at least 4 samples at the usual 15–60 s scrape interval). */
  readonly rateWindow?: string;
  /** How far back the peak and the last value of a host that is down are looked for; default 24h. */
  readonly lookback?: string;
}

export interface FleetQueries {
  /** The last count of every instance seen in the lookback (the current one while it is up). */
  readonly entries: string;
  readonly limit: string;
  /** The highest count in the lookback (every sample counts). */
  readonly peak: string;
  readonly up: string;
  readonly collectorSuccess: string;
  readonly rates: Readonly<Record<RateCounter, string>>;
}

const DURATION = /^[1-9][0-9]*(ms|s|m|h|d|w|y)$/;

function duration(value: string | undefined, fallback: string, field: string): string {
  const v = value ?? fallback;
  if (!DURATION.test(v)) throw new Error(`${field}: ${JSON.stringify(v)} is not a Prometheus duration like 5m or 24h`);
  return v;
}

/** `metric{matchers}` with the fleet selector (and any extra matchers) merged in. */
function series(metric: string, matchers: readonly LabelMatcher[], extra = ''): string {
  const inner = [extra, renderMatchers(matchers)].filter(Boolean).join(',');
  return `${metric}{${inner}}`;
}

/**
 * The facts joined to the entries answer need only job and instance: aggregating by them on the
 * server drops every other label from the answer (a third of its bytes at 5,000 hosts, and
 * JSON.parse of the answers is most of the time from response to ranking: npm run bench:fleet).
 * `max` also decides when a selector lets two series of one job + instance through.
 */
const byInstance = (expr: string): string => `max by (job, instance) (${expr})`;

export function fleetQueries(matchers: readonly LabelMatcher[], options: FleetQueryOptions = {}): FleetQueries {
  const window = duration(options.rateWindow, '5m', 'rate window');
  const lookback = duration(options.lookback, '24h', 'lookback');
  const rates = Object.fromEntries(RATE_COUNTERS.map((c) => [c, byInstance(`rate(${series(`node_nf_conntrack_stat_${c}`, matchers)}[${window}])`)])) as Record<RateCounter, string>;
  return {
    // last_over_time ignores staleness markers: a host whose exporter stopped keeps its last value.
    entries: `last_over_time(${series('node_nf_conntrack_entries', matchers)}[${lookback}])`,
    limit: byInstance(`last_over_time(${series('node_nf_conntrack_entries_limit', matchers)}[${lookback}])`),
    peak: byInstance(`max_over_time(${series('node_nf_conntrack_entries', matchers)}[${lookback}])`),
    up: byInstance(series('up', matchers)),
    collectorSuccess: byInstance(series('node_scrape_collector_success', matchers, `collector=${promString('conntrack')}`)),
    rates,
  };
}

/**
 * Usage in percent over time, for the sparklines of the given instances only (the rows on
 * screen): the whole fleet's 24 h history would be megabytes for a few pixels each.
 */
export function usageHistoryQuery(matchers: readonly LabelMatcher[], instances: readonly string[]): string {
  const only = instances.length > 0 ? `instance=~${promString(exactAlternatives(instances))}` : '';
  return `100 * ${series('node_nf_conntrack_entries', matchers, only)} / ${series('node_nf_conntrack_entries_limit', matchers, only)}`;
}
