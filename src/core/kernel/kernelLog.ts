/**
 * "table full, dropping packet" in the kernel log, in the forms hosts give:
 *   dmesg            [ 4893.494207] nf_conntrack: nf_conntrack: table full in netns 4026532176, dropping packet
 *   dmesg -T         [Fri Nov 27 07:31:19 2026] nf_conntrack: table full, dropping packet
 *   dmesg -t         nf_conntrack: table full, dropping packet
 *   journalctl -k -o short-iso / rsyslog RFC 3339
 *                    2026-11-27T07:31:19+0000 host kernel: nf_conntrack: table full, dropping packet
 *   syslog / journalctl -o short
 *                    Nov 27 07:31:19 host kernel: [ 4893.494207] nf_conntrack: table full, dropping packet
 * The initial netns prints `nf_conntrack: table full, dropping packet`; other netns (kernel 6.x)
 * `… table full in netns <inode>, dropping packet`; old kernels end with a period and old
 * ip_conntrack said `ip_conntrack: table full, dropping packet.`.
 *
 * The message is rate-limited through net_ratelimit (10 per burst), after which the kernel prints
 * `net_ratelimit: N callbacks suppressed`. That counter is shared by every net_ratelimit user, so a
 * suppressed count is attributed to table-full only when, among the lines given, the nearest
 * preceding line other than a suppression line is a table-full line. Otherwise it is reported as
 * unattributed. Feeding only the matching lines (`grep -E 'table full|callbacks suppressed'`)
 * therefore attributes every suppressed count that follows a table-full line.
 */
import { z } from 'zod';
import { type Parsed, failure, splitLines, validated } from './result';

const logTimeSchema = z.object({
  /** Seconds since boot (dmesg's `[ 4893.494207]`, also inside syslog lines). */
  uptimeSeconds: z.number().nonnegative().optional(),
  /** Wall-clock time exactly as printed (ISO 8601, `Fri Nov 27 07:31:19 2026`, or syslog's `Nov 27 07:31:19`). */
  wallClock: z.string().optional(),
});
export type KernelLogTime = z.infer<typeof logTimeSchema>;

export const tableFullEventSchema = logTimeSchema.extend({
  /** netns inode from the `in netns N` form; absent for the initial-netns form. */
  netns: z.number().int().nonnegative().optional(),
  host: z.string().optional(),
  line: z.string(),
});
export type TableFullEvent = z.infer<typeof tableFullEventSchema>;

export const suppressedEventSchema = logTimeSchema.extend({
  count: z.number().int().nonnegative(),
  /** Whether the count is attributed to the preceding table-full burst. */
  attributed: z.boolean(),
  line: z.string(),
});
export type SuppressedEvent = z.infer<typeof suppressedEventSchema>;

export const tableFullLogSchema = z.object({
  events: z.array(tableFullEventSchema),
  suppressed: z.array(suppressedEventSchema),
  summary: z.object({
    /** Table-full lines printed. */
    tableFullLines: z.number().int().nonnegative(),
    /** Lines of the initial-netns form (no `in netns`). */
    initialNetnsLines: z.number().int().nonnegative(),
    /** Suppressed callbacks attributed to table-full bursts. */
    suppressedTotal: z.number().int().nonnegative(),
    /** Suppressed callbacks not attributable (another line came between). */
    unattributedSuppressed: z.number().int().nonnegative(),
    first: logTimeSchema.optional(),
    last: logTimeSchema.optional(),
    /** Distinct netns inodes, ascending. */
    netnsIds: z.array(z.number().int().nonnegative()),
  }),
});
export type TableFullLog = z.infer<typeof tableFullLogSchema>;

interface Stamped {
  readonly time: KernelLogTime;
  readonly host?: string;
  readonly message: string;
}

const dmesgRe = /^\[\s*(\d+\.\d+)\]\s?(.*)$/;
const dmesgHumanRe = /^\[([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})\]\s?(.*)$/;
const isoRe = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+(.*)$/;
const syslogRe = /^([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2})\s+(.*)$/;
const hostKernelRe = /^(\S+)\s+kernel:\s?(.*)$/;

function withHost(rest: string, time: KernelLogTime): Stamped {
  const hk = hostKernelRe.exec(rest);
  if (hk === null) return { time, message: rest };
  let message = hk[2] ?? '';
  let t = time;
  const inner = dmesgRe.exec(message);
  if (inner !== null) {
    t = { ...time, uptimeSeconds: Number(inner[1]) };
    message = inner[2] ?? '';
  }
  return { time: t, host: hk[1] ?? '', message };
}

function splitStamp(line: string): Stamped {
  let m = dmesgRe.exec(line);
  if (m !== null) return { time: { uptimeSeconds: Number(m[1]) }, message: m[2] ?? '' };
  m = dmesgHumanRe.exec(line);
  if (m !== null) return { time: { wallClock: m[1] ?? '' }, message: m[2] ?? '' };
  m = isoRe.exec(line);
  if (m !== null) return withHost(m[2] ?? '', { wallClock: m[1] ?? '' });
  m = syslogRe.exec(line);
  if (m !== null) return withHost(m[2] ?? '', { wallClock: m[1] ?? '' });
  return { time: {}, message: line };
}

const tableFullRe = /\b(?:nf|ip)_conntrack: (?:(?:nf|ip)_conntrack: )?table full(?: in netns (\d+))?, dropping packet\.?\s*$/;
const suppressedRe = /^(\S+): (\d+) callbacks suppressed\s*$/;

function stamp(time: KernelLogTime): KernelLogTime {
  return {
    ...(time.uptimeSeconds === undefined ? {} : { uptimeSeconds: time.uptimeSeconds }),
    ...(time.wallClock === undefined ? {} : { wallClock: time.wallClock }),
  };
}

/** Finds table-full events in kernel log text; other lines are skipped. No event at all is a valid, empty result. */
export function parseTableFullLog(text: string): Parsed<TableFullLog> {
  const events: TableFullEvent[] = [];
  const suppressed: SuppressedEvent[] = [];
  const netns = new Set<number>();
  let initialNetnsLines = 0;
  let suppressedTotal = 0;
  let unattributed = 0;
  let previous: 'table-full' | 'other' | undefined;
  const toolErrors: string[] = [];
  for (const raw of splitLines(text)) {
    const line = raw.trim();
    if (line === '') continue;
    if (/^(?:dmesg|journalctl): /.test(line) || /^Failed to (?:open|read) journal/.test(line)) {
      toolErrors.push(line);
      continue;
    }
    // journalctl's own markers (`-- No entries --`, `-- Boot 1a2b… --`) are not kernel lines. A
    // boot between a table-full line and a suppressed count separates them (another kernel).
    if (/^-- .* --$/.test(line)) {
      if (line.startsWith('-- Boot ')) previous = 'other';
      continue;
    }
    const { time, host, message } = splitStamp(line);
    const full = tableFullRe.exec(message);
    if (full !== null) {
      const id = full[1] === undefined ? undefined : Number(full[1]);
      if (id === undefined) initialNetnsLines++;
      else netns.add(id);
      events.push({ ...stamp(time), ...(id === undefined ? {} : { netns: id }), ...(host === undefined ? {} : { host }), line: raw });
      previous = 'table-full';
      continue;
    }
    const sup = suppressedRe.exec(message.trim());
    if (sup !== null && (sup[1] === 'net_ratelimit' || sup[1] === 'nf_conntrack')) {
      const n = Number(sup[2]);
      const attributed = previous === 'table-full';
      if (attributed) suppressedTotal += n;
      else unattributed += n;
      suppressed.push({ ...stamp(time), count: n, attributed, line: raw });
      continue;
    }
    previous = 'other';
  }
  // `dmesg: read kernel buffer failed: Operation not permitted` (dmesg_restrict) must not read as "no event".
  if (events.length === 0 && suppressed.length === 0 && toolErrors.length > 0) return failure('tool-error', toolErrors.join('; '), toolErrors[0]);
  const firstEvent = events[0];
  const lastEvent = events[events.length - 1];
  return validated(tableFullLogSchema, {
    events,
    suppressed,
    summary: {
      tableFullLines: events.length,
      initialNetnsLines,
      suppressedTotal,
      unattributedSuppressed: unattributed,
      ...(firstEvent === undefined ? {} : { first: stamp(firstEvent) }),
      ...(lastEvent === undefined ? {} : { last: stamp(lastEvent) }),
      netnsIds: [...netns].sort((a, b) => a - b),
    },
  }, toolErrors);
}
