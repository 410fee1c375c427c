/**
 * Shares estimated from a sample of the table (the first K entries the kernel lists: hash order,
 * unrelated to addresses and ports) and their error bounds: the Wilson score interval of a
 * binomial proportion, which stays inside [0, 1] and is usable for small and extreme shares
 * where the normal approximation is not.
 */

import { z } from 'zod';
import { formatInt as int, formatPercent } from './format';

/** z for a two-sided 95 % interval. */
export const Z95 = 1.959964;

export interface ShareEstimate {
  /** hits / sampled */
  readonly share: number;
  readonly low: number;
  readonly high: number;
}

/** The share of `hits` among `sampled` entries with its Wilson interval at `z` (default 95 %). */
export function wilsonInterval(hits: number, sampled: number, z: number = Z95): ShareEstimate {
  if (!Number.isFinite(hits) || !Number.isFinite(sampled) || sampled <= 0 || hits < 0 || hits > sampled) throw new Error(`a share needs 0 <= hits <= sampled > 0 (got ${hits} of ${sampled})`);
  const p = hits / sampled;
  const z2 = z * z;
  const denom = 1 + z2 / sampled;
  const centre = (p + z2 / (2 * sampled)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / sampled + z2 / (4 * sampled * sampled))) / denom;
  // at the extremes the bound is exactly 0 or 1 (the arithmetic above lands a rounding error off)
  return { share: p, low: hits === 0 ? 0 : Math.max(0, centre - half), high: hits === sampled ? 1 : Math.min(1, centre + half) };
}

/**
 * Entries read for the top talkers by default (connect, Refresh, `diagnose`): the dump stops
 * after them, so the pass costs the same at any table size (docs/benchmarks.md).
 */
export const DEFAULT_SAMPLE_SIZE = 10_000;

const count = z.number().int().nonnegative();

/** One row of a top list as shown: exact counts, or estimates scaled to the table with their bounds. */
export const estimateRowSchema = z.strictObject({
  key: z.string(),
  /** entries with this key among those read */
  counted: count,
  /** entries in the table: `counted` when exact, else share × total */
  entries: count,
  share: z.number(),
  /** 95 % Wilson bounds of the share and in entries (× total); null when exact */
  low: z.number().nullable(),
  high: z.number().nullable(),
  lowEntries: count.nullable(),
  highEntries: count.nullable(),
}).readonly();
export type EstimateRow = z.infer<typeof estimateRowSchema>;

/** Who fills the table, as the product shows it (tree, report, `diagnose --json` `entries`). */
export const entryEstimatesSchema = z.strictObject({
  /** every entry was read (no sample, or the table had fewer entries than the sample size) */
  exact: z.boolean(),
  /** entries read (the sample size K, or every entry) */
  sampleSize: count,
  /** entries in the table (nf_conntrack_count of its netns; the entries read when exact) */
  total: count,
  /** the confidence of the bounds (0.95), null when exact */
  confidence: z.number().nullable(),
  sources: z.array(estimateRowSchema).readonly(),
  destinations: z.array(estimateRowSchema).readonly(),
  /** keyed `proto/port` */
  ports: z.array(estimateRowSchema).readonly(),
  /** TCP states */
  states: z.array(estimateRowSchema).readonly(),
  /** ASSURED and UNREPLIED entries */
  flags: z.array(estimateRowSchema).readonly(),
}).readonly();
export type EntryEstimates = z.infer<typeof entryEstimatesSchema>;

/** The summary fields estimates are made from (kernel/entrySummary.ts EntrySummary). */
interface SummaryLike {
  readonly entries: number;
  readonly sample?: { readonly limit: number; readonly tableCount?: number | undefined } | undefined;
  readonly byTcpState: Readonly<Record<string, number>>;
  readonly assured: number;
  readonly unreplied: number;
  readonly topSources: { readonly items: readonly { readonly key: string; readonly count: number }[] };
  readonly topDestinations: { readonly items: readonly { readonly key: string; readonly count: number }[] };
  readonly topDestinationPorts: { readonly items: readonly { readonly key: string; readonly count: number }[] };
}

/**
 * A summary's rows as shares of the table. A sample (the first K entries listed) is exact when
 * fewer than K came (the whole table was read); otherwise each share gets its Wilson interval
 * and is scaled to the table's count read with the sample (else `tableCount`, the snapshot's).
 */
export function entryEstimates(summary: SummaryLike, tableCount: number | undefined): EntryEstimates {
  const read = summary.entries;
  const exact = summary.sample === undefined || read < summary.sample.limit;
  const total = exact ? read : Math.max(read, summary.sample?.tableCount ?? tableCount ?? read);
  const row = (key: string, counted: number): EstimateRow => estimateRow({ exact, sampleSize: read, total }, key, counted);
  const rows = (items: readonly { key: string; count: number }[]): EstimateRow[] => items.map((i) => row(i.key, i.count));
  return {
    exact,
    sampleSize: read,
    total,
    confidence: exact ? null : 0.95,
    sources: rows(summary.topSources.items),
    destinations: rows(summary.topDestinations.items),
    ports: rows(summary.topDestinationPorts.items),
    states: Object.entries(summary.byTcpState).sort((a, b) => b[1] - a[1]).map(([k, c]) => row(k, c)),
    flags: [row('ASSURED', summary.assured), row('UNREPLIED', summary.unreplied)],
  };
}

/** The row of `counted` entries of a key among those `e` read: exact, or scaled with its bounds. */
export function estimateRow(e: Pick<EntryEstimates, 'exact' | 'sampleSize' | 'total'>, key: string, counted: number): EstimateRow {
  const read = e.sampleSize;
  if (e.exact || read === 0) return { key, counted, entries: counted, share: read > 0 ? counted / read : 0, low: null, high: null, lowEntries: null, highEntries: null };
  const w = wilsonInterval(Math.min(counted, read), read);
  return { key, counted, entries: Math.round(w.share * e.total), share: w.share, low: w.low, high: w.high, lowEntries: Math.floor(w.low * e.total), highEntries: Math.ceil(w.high * e.total) };
}

const pct = (share: number): string => formatPercent(100 * share);

/** "sampled: 10,000 of 1,234,567 entries" or "exact: all 1,234 entries". */
export function sampleLabel(e: EntryEstimates): string {
  return e.exact ? `exact: all ${int(e.total)} entries` : `sampled: ${int(e.sampleSize)} of ${int(e.total)} entries`;
}

/** "1,234 entries (12.3 %)" when exact; "≈123,400 entries (12.3 %, 95 %: 11.7–12.9 %)" when sampled. */
export function describeEstimate(r: EstimateRow): string {
  if (r.low === null || r.high === null) return `${int(r.entries)} entries (${pct(r.share)})`;
  return `≈${int(r.entries)} entries (${pct(r.share)}, 95 %: ${pct(r.low)}–${pct(r.high)})`;
}
