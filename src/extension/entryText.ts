/**
 * The Entries group's pure half (no vscode, no I/O; unit-tested with node:test, as chartHtml.ts
 * is): how an entry and a filter are shown, which filter a grouping value or an entry stands
 * for, and what is wrong with a typed filter value. The browser (entryBrowser.ts) and the
 * commands (entryCommands.ts) are its VS Code adapters.
 */
import { describeFilter, validateEntryFilter, type EntryFilter } from '../core/fix/entriesFixes';
import { PORT_PROTOCOLS, ValidationError, validateProtocol } from '../core/fix/validate';
import type { ConntrackEntry, ConntrackTuple } from '../core/kernel/conntrackEntries';
import { errorMessage, formatDurationShort, formatInt } from '../core/format';

export type EntryGrouping = 'state' | 'protocol' | 'source';

/** A field the user can filter by (ports and states imply TCP). */
export type FilterField = 'src' | 'dst' | 'dport' | 'state';

/** The filter in words, without the address family when the addresses imply it. */
export function filterText(filter: EntryFilter): string {
  const text = describeFilter(filter);
  return filter.family === undefined ? text.replace(/^IPv[46], /, '') : text;
}

/** A filter with its keys in one order, so that equal filters give equal keys. */
export function filterKey(filter: EntryFilter): string {
  return JSON.stringify(Object.entries(filter).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
}

/** What is wrong with a filter (`field: reason`), or undefined when conntrack can select by it. */
export function filterProblem(filter: EntryFilter): string | undefined {
  try {
    validateEntryFilter(filter);
    return undefined;
  } catch (err) {
    return err instanceof ValidationError ? `${err.field}: ${err.reason}` : errorMessage(err);
  }
}

function validOrUndefined(filter: EntryFilter): EntryFilter | undefined {
  return filterProblem(filter) === undefined ? filter : undefined;
}

/** The current filter with one field set (ports and states need TCP). */
export function withField(current: EntryFilter, field: FilterField, value: string): EntryFilter {
  if (field === 'dport' || field === 'state') return { ...current, proto: 'tcp', [field]: value };
  return { ...current, [field]: value };
}

/** What is wrong with a typed value, in the user's words first, then the whole filter's validation. */
export function inputProblem(field: FilterField, value: string, filter: EntryFilter): string | undefined {
  if ((field === 'src' || field === 'dst') && !/^[0-9A-Fa-f.:]+(?:\/\d{1,3})?$/.test(value)) {
    return `${field}: ${JSON.stringify(value)} is not an IP address (only digits, a–f, ".", ":" and an optional /prefix)`;
  }
  if (field === 'dport' && !/^\d+$/.test(value)) return `dport: ${JSON.stringify(value)} is not a port (a number from 1 to 65535)`;
  return filterProblem(filter);
}

/** The filter a value of a grouping stands for (undefined when conntrack cannot select it, e.g. the `other` bucket). */
export function valueFilter(by: EntryGrouping, value: string): EntryFilter | undefined {
  switch (by) {
    case 'state':
      return validOrUndefined({ proto: 'tcp', state: value });
    case 'protocol':
      return validOrUndefined({ proto: value });
    case 'source':
      return validOrUndefined({ src: value });
  }
}

/** The filter selecting one entry: its protocol and original tuple. */
export function entryFilter(e: ConntrackEntry): EntryFilter | undefined {
  let proto: string | number = e.protonum;
  try {
    const p = validateProtocol('proto', e.proto);
    if (p.number === e.protonum && p.name) proto = p.name;
  } catch {
    // an unnamed protocol: its number
  }
  const ports = typeof proto === 'string' && (PORT_PROTOCOLS as readonly string[]).includes(proto);
  return validOrUndefined({
    proto,
    src: e.orig.src,
    dst: e.orig.dst,
    ...(ports && e.orig.sport !== undefined ? { sport: e.orig.sport } : {}),
    ...(ports && e.orig.dport !== undefined ? { dport: e.orig.dport } : {}),
  });
}

function endpoint(address: string, port: number | undefined): string {
  if (port === undefined) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function tupleText(t: ConntrackTuple): string {
  const extra = [
    t.type !== undefined ? `type=${t.type}` : '',
    t.code !== undefined ? `code=${t.code}` : '',
    t.id !== undefined ? `id=${t.id}` : '',
    t.srckey !== undefined ? `srckey=${t.srckey}` : '',
    t.dstkey !== undefined ? `dstkey=${t.dstkey}` : '',
  ].filter(Boolean).join(' ');
  return `${endpoint(t.src, t.sport)} → ${endpoint(t.dst, t.dport)}${extra ? ` ${extra}` : ''}`;
}

function flagsOf(e: ConntrackEntry): string[] {
  return [...(e.unreplied ? ['UNREPLIED'] : []), ...(e.assured ? ['ASSURED'] : []), ...(e.offload === 'hardware' ? ['HW_OFFLOAD'] : e.offload === 'software' ? ['OFFLOAD'] : []), ...e.flags];
}

/** `tcp 198.18.0.5:40000 → 198.19.0.1:80  ESTABLISHED  [ASSURED]` */
export function entryLabel(e: ConntrackEntry): string {
  const flags = flagsOf(e);
  return [`${e.proto} ${tupleText(e.orig)}`, e.state ?? '', flags.length > 0 ? `[${flags.join('] [')}]` : ''].filter(Boolean).join('  ');
}

/** The whole entry, field by field, for the tooltip. */
export function entryDetail(e: ConntrackEntry): string {
  const counters = (c: ConntrackEntry['origCounters']): string => (c ? `  (packets=${c.packets} bytes=${c.bytes})` : '');
  const lines = [
    `${e.l3 ? `${e.l3} ` : ''}${e.proto} (protocol ${e.protonum})${e.state ? `, ${e.state}` : ''}`,
    `expires in ${formatInt(e.timeout)} s (${formatDurationShort(e.timeout)})`,
    `original: ${tupleText(e.orig)}${counters(e.origCounters)}`,
    `reply:    ${tupleText(e.reply)}${counters(e.replyCounters)}`,
  ];
  const flags = flagsOf(e);
  if (flags.length > 0) lines.push(`flags: ${flags.join(' ')}`);
  const misc = [
    e.mark !== undefined ? `mark=${e.mark}` : '',
    e.zone !== undefined ? `zone=${e.zone}` : '',
    e.secctx !== undefined ? `secctx=${e.secctx}` : '',
    e.use !== undefined ? `use=${e.use}` : '',
    e.id !== undefined ? `id=${e.id}` : '',
    e.deltaTime !== undefined ? `age=${formatDurationShort(e.deltaTime)}` : '',
    ...Object.entries(e.extra).map(([k, v]) => `${k}=${v}`),
  ].filter(Boolean);
  if (misc.length > 0) lines.push(misc.join(' '));
  return lines.join('\n');
}
