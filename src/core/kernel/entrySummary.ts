/**
 * Who fills the table: an incremental summary of conntrack entries whose memory does not grow with
 * the number of entries. Counts by protocol / state are exact (their key sets are small and capped);
 * top sources, destinations and destination ports use Space-Saving (see spaceSaving.ts).
 */
import { z } from 'zod';
import type { ConntrackEntry, ConntrackLine } from './conntrackEntries';
import { DEFAULT_TOP_K_CAPACITY, SpaceSaving } from './spaceSaving';

/** Timeout buckets, upper bounds exclusive. 432000 s (5 d) is the default established timeout. */
export const TIMEOUT_BUCKETS = [
  { label: '<1m', maxSeconds: 60 },
  { label: '<10m', maxSeconds: 600 },
  { label: '<1h', maxSeconds: 3600 },
  { label: '<1d', maxSeconds: 86400 },
  { label: '<5d', maxSeconds: 432000 },
  { label: '>=5d', maxSeconds: undefined },
] as const;

/**
 * How long entries have been idle (configured timeout − remaining: the timer restarts at each
 * packet), lower bounds of the buckets in seconds. The common proposed timeouts (1 min, 5 min,
 * 1 h, 2 h, 1 d) are edges, so "idle longer than the proposed timeout" is exact for them.
 */
export const IDLE_EDGES = [0, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 172800, 259200, 345600] as const;
/** Timeout classes (sysctls) the on-host summary reads and histograms: bounds its output. */
export const MAX_IDLE_CLASSES = 24;

/** Distinct protocol / state names counted before the rest goes to `other` (guards against junk input). */
export const MAX_CATEGORY_KEYS = 256;
export const OTHER_CATEGORY = 'other';

const nonNegInt = z.number().int().nonnegative();

export const heavyHitterSchema = z.object({ key: z.string(), count: nonNegInt, error: nonNegInt });

export const topKResultSchema = z.object({
  approximate: z.boolean(),
  capacity: z.number().int().positive(),
  total: nonNegInt,
  tracked: nonNegInt,
  items: z.array(heavyHitterSchema),
});

export const entrySummarySchema = z.object({
  /** Entries read: every one, or the first `sample.limit` the kernel listed (fewer: the whole table was read). */
  entries: nonNegInt,
  /** Present when the summary is a sample of the table (its shares are estimates: sampling.ts). */
  sample: z.object({ limit: z.number().int().positive(), /** nf_conntrack_count read just before the listing */ tableCount: nonNegInt.optional() }).optional(),
  /** Lines that failed to parse. */
  malformedLines: nonNegInt,
  /** The tool's own count (`N flow entries have been shown.`), when it was in the stream. */
  shownByTool: nonNegInt.optional(),
  byL3: z.record(z.string(), nonNegInt),
  byProtocol: z.record(z.string(), nonNegInt),
  /** TCP entries by state. */
  byTcpState: z.record(z.string(), nonNegInt),
  assured: nonNegInt,
  unreplied: nonNegInt,
  offloaded: nonNegInt,
  timeoutHistogram: z.array(z.object({ label: z.string(), minSeconds: nonNegInt, maxSeconds: nonNegInt.optional(), count: nonNegInt })),
  /** Original-direction source addresses. */
  topSources: topKResultSchema,
  /** Original-direction destination addresses. */
  topDestinations: topKResultSchema,
  /** Original-direction destination ports, keyed `proto/port` (e.g. `tcp/443`). */
  topDestinationPorts: topKResultSchema,
  /**
   * Per timeout class (the sysctl key without `nf_conntrack_`, e.g. `tcp_timeout_established`,
   * `udp_timeout_stream`): its value on the host when the summary ran, and the entries by idle
   * time (configured − remaining) in IDLE_EDGES buckets. `armedEarlier`: entries with more time
   * left than configured, i.e. armed under an earlier, longer setting (their idle time is
   * unknown). Only the on-host summary has it (it reads the host's timeouts).
   */
  idleHistogram: z.array(z.object({
    key: z.string(),
    configured: nonNegInt,
    armedEarlier: nonNegInt,
    buckets: z.array(z.object({ minSeconds: nonNegInt, maxSeconds: nonNegInt.optional(), count: nonNegInt })),
  })).optional(),
});
export type EntrySummary = z.infer<typeof entrySummarySchema>;

export interface EntrySummaryOptions {
  /** Items reported per top list (default 10). */
  readonly topN?: number;
  /** Keys tracked per top list (default 4096): exact while distinct keys stay within it. */
  readonly capacity?: number;
}

export interface EntrySummarizer {
  add(entry: ConntrackEntry): void;
  /** Feeds a parsed line: entries are added, errors counted, the tool's summary kept. */
  addLine(line: ConntrackLine): void;
  result(): EntrySummary;
}

class CappedCounter {
  private readonly counts = new Map<string, number>();
  add(key: string): void {
    const k = this.counts.has(key) || this.counts.size < MAX_CATEGORY_KEYS ? key : OTHER_CATEGORY;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.counts) if (k !== '__proto__') out[k] = v;
    return out;
  }
}

export function summarizeEntries(options: EntrySummaryOptions = {}): EntrySummarizer {
  const topN = options.topN ?? 10;
  const capacity = options.capacity ?? DEFAULT_TOP_K_CAPACITY;
  const sources = new SpaceSaving(capacity);
  const destinations = new SpaceSaving(capacity);
  const ports = new SpaceSaving(capacity);
  const byL3 = new CappedCounter();
  const byProtocol = new CappedCounter();
  const byTcpState = new CappedCounter();
  const histogram = TIMEOUT_BUCKETS.map(() => 0);
  let entries = 0;
  let malformed = 0;
  let shownByTool: number | undefined;
  let assured = 0;
  let unreplied = 0;
  let offloaded = 0;

  const add = (entry: ConntrackEntry): void => {
    entries++;
    if (entry.l3 !== undefined) byL3.add(entry.l3);
    byProtocol.add(entry.proto);
    if (entry.protonum === 6) byTcpState.add(entry.state ?? 'NONE');
    if (entry.assured) assured++;
    if (entry.unreplied) unreplied++;
    if (entry.offload !== undefined) offloaded++;
    let b = TIMEOUT_BUCKETS.findIndex((bucket) => bucket.maxSeconds !== undefined && entry.timeout < bucket.maxSeconds);
    if (b === -1) b = TIMEOUT_BUCKETS.length - 1;
    histogram[b] = (histogram[b] ?? 0) + 1;
    sources.add(entry.orig.src);
    destinations.add(entry.orig.dst);
    if (entry.orig.dport !== undefined) ports.add(`${entry.proto}/${entry.orig.dport}`);
  };

  return {
    add,
    addLine(line) {
      if (line.kind === 'entry') add(line.entry);
      else if (line.kind === 'error') malformed++;
      else if (line.kind === 'summary') shownByTool = line.shown;
    },
    result() {
      let min = 0;
      const timeoutHistogram = TIMEOUT_BUCKETS.map((bucket, i) => {
        const row = {
          label: bucket.label,
          minSeconds: min,
          ...(bucket.maxSeconds === undefined ? {} : { maxSeconds: bucket.maxSeconds }),
          count: histogram[i] ?? 0,
        };
        min = bucket.maxSeconds ?? min;
        return row;
      });
      return {
        entries,
        malformedLines: malformed,
        ...(shownByTool === undefined ? {} : { shownByTool }),
        byL3: byL3.toRecord(),
        byProtocol: byProtocol.toRecord(),
        byTcpState: byTcpState.toRecord(),
        assured,
        unreplied,
        offloaded,
        timeoutHistogram,
        topSources: sources.top(topN),
        topDestinations: destinations.top(topN),
        topDestinationPorts: ports.top(topN),
      };
    },
  };
}
