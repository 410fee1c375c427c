/**
 * Per-CPU conntrack counters from `conntrack -S` (netlink) and from `/proc/net/stat/nf_conntrack`
 * (procfs). Both produce the same {@link ConntrackStats} shape, with counters named as netlink
 * names them, so the diagnosis layer never needs to know which source it got.
 *
 * Column semantics, read in the kernel's nf_conntrack_standalone.c (ct_cpu_seq_show) and
 * nf_conntrack_netlink.c (ctnetlink_ct_stat_cpu_fill_info):
 * - procfs `clashres` prints st->clash_resolve (netlink CTA_STATS_CLASH_RESOLVE, `clash_resolve`).
 *   The column was `searched` until the clash-resolve counter took its slot (Linux 5.10).
 * - procfs `chainlength` prints st->chaintoolong (netlink CTA_STATS_CHAIN_TOOLONG, `chaintoolong`).
 *   The column was `delete_list` before (Linux 5.15).
 * - procfs `icmp_error` prints st->error (netlink CTA_STATS_ERROR, `error`).
 * - On kernels whose header says `clashres`, the `new`, `ignore`, `delete` (and `delete_list`)
 *   columns are printed as a literal 0: those counters no longer exist. They are dropped (listed in
 *   `placeholderColumns`) rather than reported as zeros. With the older `searched` header they are
 *   kept; be aware that kernels 4.10–5.9 already printed some of them (searched, new, delete,
 *   delete_list) as constant 0 and the header alone cannot tell those kernels apart.
 * - `entries` repeats the netns's entry count on every row: it is exposed once as `entries`, not
 *   summed.
 * - procfs rows carry no CPU number; the row index is used (it equals the CPU id whenever the
 *   possible CPUs are numbered without gaps, the normal case).
 *
 * conntrack-tools 1.4.7 without CAP_NET_ADMIN falls back to procfs for `-S`: it prints
 * `cpu=N entries=… clashres=… icmp_error=…` (procfs names, real values), then
 * `Operation failed: sorry, you must be root…` and exits 1. That output parses as
 * `source: 'procfs-fallback'` with the error kept in `toolMessages`.
 */
import { z } from 'zod';
import {
  type Parsed,
  failure,
  isSafeKey,
  parseConntrackToolMessage,
  parseDecimal,
  splitLines,
  validated,
} from './result';

/** procfs column name → the netlink name of the same kernel counter. */
export const procfsToNetlinkCounterName: Readonly<Record<string, string>> = {
  clashres: 'clash_resolve',
  chainlength: 'chaintoolong',
  icmp_error: 'error',
};

/** Columns a `clashres`-era kernel prints as constant 0 (the counters were removed). */
const placeholderColumnsWhenClashres = ['new', 'ignore', 'delete', 'delete_list'] as const;

const counterName = z.string().regex(/^[a-z][a-z0-9_]*$/);
const counterValue = z.number().int().nonnegative();

export const cpuCountersSchema = z.object({
  cpu: z.number().int().nonnegative(),
  counters: z.record(counterName, counterValue),
});
export type CpuCounters = z.infer<typeof cpuCountersSchema>;

export const conntrackStatsSchema = z.object({
  /** netlink = `conntrack -S`; procfs = /proc/net/stat/nf_conntrack; procfs-fallback = `conntrack -S` that read procfs. */
  source: z.enum(['netlink', 'procfs', 'procfs-fallback']),
  perCpu: z.array(cpuCountersSchema).min(1),
  /** Sum over CPUs, per counter; a counter absent on every CPU is absent here. */
  totals: z.record(counterName, counterValue),
  /** Entries in this netns (procfs only; the same on every row). */
  entries: counterValue.optional(),
  /** procfs columns dropped because the kernel prints them as constant 0. */
  placeholderColumns: z.array(z.string()),
  /** conntrack's own messages printed alongside the counters (e.g. the netlink error before a procfs fallback). */
  toolMessages: z.array(z.string()),
});
export type ConntrackStats = z.infer<typeof conntrackStatsSchema>;

interface Row {
  readonly cpu: number;
  readonly counters: Map<string, number>;
}

/**
 * Builds the common shape from rows keyed by the names the source printed: renames procfs names,
 * drops placeholder columns, pulls `entries` out, sums the rest.
 */
function assemble(
  source: ConntrackStats['source'],
  rows: readonly Row[],
  procfsNames: boolean,
  toolMessages: readonly string[],
): Parsed<ConntrackStats> {
  const first = rows[0];
  if (first === undefined) return failure('empty', 'no per-CPU counter rows');
  const placeholders = new Set<string>();
  if (procfsNames && rows.some((r) => r.counters.has('clashres'))) {
    for (const name of placeholderColumnsWhenClashres) if (rows.some((r) => r.counters.has(name))) placeholders.add(name);
  }
  const perCpu: CpuCounters[] = [];
  const totals: Record<string, number> = {};
  const warnings: string[] = [];
  for (const row of rows) {
    const counters: Record<string, number> = {};
    for (const [printed, value] of row.counters) {
      if (printed === 'entries' && procfsNames) continue;
      if (placeholders.has(printed)) continue;
      const name = procfsNames ? (procfsToNetlinkCounterName[printed] ?? printed) : printed;
      if (name in counters) warnings.push(`cpu ${row.cpu}: counter ${name} printed twice; kept the first`);
      else counters[name] = value;
    }
    perCpu.push({ cpu: row.cpu, counters });
    for (const [name, value] of Object.entries(counters)) totals[name] = (totals[name] ?? 0) + value;
  }
  const entries = procfsNames ? first.counters.get('entries') : undefined;
  const value = {
    source,
    perCpu,
    totals,
    ...(entries === undefined ? {} : { entries }),
    placeholderColumns: [...placeholders],
    toolMessages: [...toolMessages],
  };
  return validated(conntrackStatsSchema, value, warnings);
}

/**
 * `conntrack -S` output (stdout, optionally with stderr appended). One `cpu=N name=value …` line
 * per CPU; field sets differ between kernels and tool versions, all are kept by name.
 */
export function parseConntrackStats(text: string): Parsed<ConntrackStats> {
  const rows: Row[] = [];
  const toolMessages: string[] = [];
  let sawEntries = false;
  for (const raw of splitLines(text)) {
    const line = raw.trim();
    if (line === '') continue;
    const tool = parseConntrackToolMessage(line);
    if (tool !== undefined) {
      toolMessages.push(tool.message);
      continue;
    }
    const tokens = line.split(/\s+/);
    const counters = new Map<string, number>();
    let cpu: number | undefined;
    for (const token of tokens) {
      const eq = token.indexOf('=');
      const name = eq > 0 ? token.slice(0, eq) : '';
      const value = eq > 0 ? parseDecimal(token.slice(eq + 1)) : undefined;
      if (name === '' || value === undefined || !/^[a-z][a-z0-9_]*$/.test(name) || !isSafeKey(name)) {
        return failure('malformed', `not a name=number counter: '${token}'`, raw);
      }
      if (name === 'cpu') cpu = value;
      else if (!counters.has(name)) counters.set(name, value);
    }
    if (cpu === undefined) return failure('malformed', 'counter line without cpu=', raw);
    if (counters.size === 0) return failure('malformed', 'cpu line without counters', raw);
    if (counters.has('entries')) sawEntries = true;
    if (rows.some((r) => r.cpu === cpu)) return failure('malformed', `cpu=${cpu} appears twice (two outputs concatenated?)`, raw);
    rows.push({ cpu, counters });
  }
  if (rows.length === 0) {
    if (toolMessages.length > 0) return failure('tool-error', toolMessages.join('; '));
    return failure('empty', 'conntrack -S printed nothing');
  }
  // Only the procfs fallback prints `entries` per CPU (netlink has no such per-CPU attribute).
  return assemble(sawEntries ? 'procfs-fallback' : 'netlink', rows, sawEntries, toolMessages);
}

/** `/proc/net/stat/nf_conntrack`: a header row naming the columns, then one hex row per CPU. */
export function parseProcConntrackStats(text: string): Parsed<ConntrackStats> {
  const lines = splitLines(text).filter((l) => l.trim() !== '');
  const header = lines[0];
  if (header === undefined) return failure('empty', '/proc/net/stat/nf_conntrack is empty');
  const names = header.trim().split(/\s+/);
  if (!names.every((n) => /^[a-z][a-z0-9_]*$/.test(n) && isSafeKey(n))) {
    return failure('malformed', 'first line is not a header of column names', header);
  }
  if (new Set(names).size !== names.length) return failure('malformed', 'duplicate column names in header', header);
  const rows: Row[] = [];
  for (const [index, line] of lines.slice(1).entries()) {
    const cells = line.trim().split(/\s+/);
    if (cells.length !== names.length) {
      return failure('malformed', `row has ${cells.length} columns, header names ${names.length}`, line);
    }
    const counters = new Map<string, number>();
    for (const [i, cell] of cells.entries()) {
      if (!/^[0-9a-fA-F]{1,16}$/.test(cell)) return failure('malformed', `not a hex number: '${cell}'`, line);
      const value = Number.parseInt(cell, 16);
      if (!Number.isSafeInteger(value)) return failure('malformed', `number too large: '${cell}'`, line);
      counters.set(names[i] ?? '', value);
    }
    rows.push({ cpu: index, counters });
  }
  if (rows.length === 0) return failure('empty', 'header without any CPU row', header);
  return assemble('procfs', rows, true, []);
}
