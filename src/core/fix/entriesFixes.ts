/**
 * Fixes that remove entries from the table: delete-entries (by filter) and flush-table.
 * Flags are conntrack-tools' own (conntrack(8), checked against conntrack v1.4.7):
 *   -f ipv4|ipv6, -p PROTO, --orig-src/--orig-dst ADDR[/prefix] (= -s/-d),
 *   --orig-port-src/--orig-port-dst PORT (= --sport/--dport, need -p with ports),
 *   --state STATE (TCP only, needs -p tcp; upper case).
 * Behaviour observed with 1.4.7: `-D` prints every deleted entry on stdout and
 * `N flow entries have been deleted.` on stderr, and exits 1 when nothing matched; `-L` prints
 * one entry per line on stdout and its summary on stderr; without -f both families are listed
 * and deleted (older man pages say -L defaults to IPv4, so -f is passed whenever known).
 */
import type { EntryFilterSpec, Fix, Verification } from './model';
import {
  PORT_PROTOCOLS,
  ValidationError,
  validateAddress,
  validateInteger,
  validatePort,
  validateProtocol,
  validateSingleLine,
  validateTcpState,
  type AddressFamily,
  type IpAddress,
  type Protocol,
  type TcpState,
} from './validate';

export type EntryFilter = EntryFilterSpec;

export interface ValidEntryFilter {
  readonly family?: AddressFamily;
  readonly src?: IpAddress;
  readonly dst?: IpAddress;
  readonly proto?: Protocol;
  readonly sport?: number;
  readonly dport?: number;
  readonly state?: TcpState;
}

/** Validates a filter: addresses (CIDR allowed) of one family, ports and state only with a protocol that has them. */
export function validateEntryFilter(filter: EntryFilter): ValidEntryFilter {
  const src = filter.src === undefined ? undefined : validateAddress('src', filter.src, { allowPrefix: true });
  const dst = filter.dst === undefined ? undefined : validateAddress('dst', filter.dst, { allowPrefix: true });
  const proto = filter.proto === undefined ? undefined : validateProtocol('proto', filter.proto);
  const sport = filter.sport === undefined ? undefined : validatePort('sport', filter.sport);
  const dport = filter.dport === undefined ? undefined : validatePort('dport', filter.dport);
  const state = filter.state === undefined ? undefined : validateTcpState('state', filter.state);
  let family: AddressFamily | undefined;
  if (filter.family !== undefined) {
    if (filter.family !== 'ipv4' && filter.family !== 'ipv6') throw new ValidationError('family', `expected ipv4 or ipv6, got ${JSON.stringify(filter.family)}`);
    family = filter.family;
  }
  for (const [field, a] of [['src', src], ['dst', dst]] as const) {
    if (!a) continue;
    if (family && a.family !== family) throw new ValidationError(field, `${a.text} is ${a.family}, but the filter is ${family}`);
    family = a.family;
  }
  const portName = proto?.name && PORT_PROTOCOLS.includes(proto.name);
  if ((sport !== undefined || dport !== undefined) && !portName) {
    throw new ValidationError(sport !== undefined ? 'sport' : 'dport', `ports need proto set to one of ${PORT_PROTOCOLS.join(', ')}`);
  }
  if (state !== undefined && proto?.name !== 'tcp') throw new ValidationError('state', 'a TCP state needs proto tcp');
  if (family === 'ipv4' && proto?.name === 'icmpv6') throw new ValidationError('proto', 'icmpv6 does not exist in IPv4');
  if (family === 'ipv6' && proto?.name === 'icmp') throw new ValidationError('proto', 'use icmpv6 for IPv6');
  const out: ValidEntryFilter = {
    ...(family ? { family } : {}),
    ...(src ? { src } : {}),
    ...(dst ? { dst } : {}),
    ...(proto ? { proto } : {}),
    ...(sport !== undefined ? { sport } : {}),
    ...(dport !== undefined ? { dport } : {}),
    ...(state ? { state } : {}),
  };
  if (!out.src && !out.dst && !out.proto) {
    throw new ValidationError('filter', 'give at least a source, a destination or a protocol (to empty the whole table, use flush-table)');
  }
  return out;
}

/** The conntrack arguments selecting the filter's entries (shared by -L and -D). */
export function filterArgs(filter: EntryFilter): string[] {
  const f = validateEntryFilter(filter);
  const args: string[] = [];
  if (f.family) args.push('-f', f.family);
  if (f.proto) args.push('-p', f.proto.text);
  if (f.src) args.push('--orig-src', f.src.text);
  if (f.dst) args.push('--orig-dst', f.dst.text);
  if (f.sport !== undefined) args.push('--orig-port-src', String(f.sport));
  if (f.dport !== undefined) args.push('--orig-port-dst', String(f.dport));
  if (f.state) args.push('--state', f.state);
  return args;
}

/**
 * `conntrack -L <filter>`: the entries a delete with the same filter would remove. The count
 * is the number of non-empty stdout lines (Verification.measure 'line-count'); needs root.
 */
export function countArgv(filter: EntryFilter): string[] {
  return ['conntrack', '-L', ...filterArgs(filter)];
}

/** The filter in words, for titles and confirmations. */
export function describeFilter(filter: EntryFilter): string {
  const f = validateEntryFilter(filter);
  const parts: string[] = [];
  if (f.family) parts.push(f.family === 'ipv4' ? 'IPv4' : 'IPv6');
  if (f.proto) parts.push(`protocol ${f.proto.text}`);
  if (f.src) parts.push(`source ${f.src.text}`);
  if (f.dst) parts.push(`destination ${f.dst.text}`);
  if (f.sport !== undefined) parts.push(`source port ${f.sport}`);
  if (f.dport !== undefined) parts.push(`destination port ${f.dport}`);
  if (f.state) parts.push(`state ${f.state}`);
  return parts.join(', ');
}

function hostPart(host: string | undefined): string {
  return host === undefined ? '' : ` on ${validateSingleLine('host', host)}`;
}

export interface DeleteEntriesInput {
  readonly filter: EntryFilter;
  /** How many entries the preview (countArgv) found; named in the confirmation. */
  readonly expectedCount: number | string;
  /** Host name for the confirmation text. */
  readonly host?: string;
  /** Entries allowed to match afterwards (live flows come back at once); default 0. */
  readonly allowRemaining?: number | string;
}

export function deleteEntries(input: DeleteEntriesInput): Fix {
  const args = filterArgs(input.filter);
  const what = describeFilter(input.filter);
  const expected = validateInteger('expectedCount', input.expectedCount);
  const remaining = input.allowRemaining === undefined ? 0 : validateInteger('allowRemaining', input.allowRemaining);
  const verify: Verification = {
    description: `No more than ${remaining} entries match ${what}`,
    argv: ['conntrack', '-L', ...args],
    privileged: true,
    measure: 'line-count',
    expect: { kind: 'integer-at-most', value: remaining },
  };
  return {
    id: 'delete-entries',
    title: `Delete conntrack entries matching ${what}`,
    summary: `Remove the ${expected} tracked entries matching ${what} from the table, freeing their slots at once instead of waiting for their timeouts.`,
    destructive: true,
    affectedEntries: expected,
    confirmation: `Delete ${expected} conntrack ${expected === 1 ? 'entry' : 'entries'} matching ${what}${hostPart(input.host)}? Connections behind them lose their state (and their NAT mapping); this cannot be undone.`,
    needsInitialNetns: false,
    fileEdits: [],
    runtime: [
      {
        argv: ['conntrack', '-D', ...args],
        description: `Delete the entries matching ${what} (conntrack exits 1 when none matched)`,
        privileged: true,
        okExitCodes: [0, 1],
      },
    ],
    verify: [verify],
    rollback: [],
    filter: input.filter,
    notes: [
      'Deleted entries cannot be restored. A live connection whose entry is deleted is picked up again by its next packet when nf_conntrack_tcp_loose=1 (the default), or becomes INVALID (and is dropped by an INVALID-drop rule) when it is 0; NATed connections lose their mapping and usually break.',
      'The table is per network namespace: this deletes entries in the namespace the command runs in.',
      'conntrack filters in user space after a full dump, so on a large table the delete takes about as long as a full listing, and it prints every deleted entry.',
    ],
  };
}

export interface FlushTableInput {
  /** Entries in the table now (named in the confirmation). */
  readonly entryCount: number | string;
  readonly host?: string;
  /** Count that must not be exceeded right after the flush; default entryCount - 1. */
  readonly verifyAtMost?: number | string;
}

export function flushTable(input: FlushTableInput): Fix {
  const count = validateInteger('entryCount', input.entryCount);
  const atMost = input.verifyAtMost === undefined ? Math.max(0, count - 1) : validateInteger('verifyAtMost', input.verifyAtMost);
  return {
    id: 'flush-table',
    title: 'Flush the conntrack table',
    summary: `Delete all ${count} tracked entries at once. Use when the table is full of stale entries and the host must accept new connections now; fix the cause as well, or it fills up again.`,
    destructive: true,
    affectedEntries: count,
    confirmation: `Flush the whole conntrack table${hostPart(input.host)}? All ${count} tracked ${count === 1 ? 'entry' : 'entries'} will be deleted: every tracked flow loses its state and NATed connections break.`,
    needsInitialNetns: false,
    fileEdits: [],
    runtime: [{ argv: ['conntrack', '-F'], description: 'Delete every entry of the conntrack table', privileged: true }],
    verify: [
      {
        description: `The entry count dropped (at most ${atMost}; live flows reappear at once)`,
        argv: ['cat', '/proc/sys/net/netfilter/nf_conntrack_count'],
        privileged: false,
        expect: { kind: 'integer-at-most', value: atMost },
      },
    ],
    rollback: [],
    notes: [
      'A flush drops every tracked flow: connections still in use are picked up again at once by their next packet (loose pickup, nf_conntrack_tcp_loose=1), so the count does not stay at 0; with tcp_loose=0 they become INVALID, and NATed connections lose their mapping.',
      'It cannot be undone, and it only buys time: the cause (a timeout too long, a flood, a max too small) fills the table again.',
      'The table is per network namespace: this flushes the namespace the command runs in.',
    ],
  };
}
