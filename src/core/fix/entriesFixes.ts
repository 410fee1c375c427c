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

/** `conntrack -L <filter>`: the listing a count or a delete selects (shown to the user). */
export function listArgv(filter: EntryFilter): string[] {
  return ['conntrack', '-L', ...filterArgs(filter)];
}

/**
 * Counts on the host: the listing goes through `awk` there and only the number comes back, so
 * a table of any size stays far below the runner's output cap (32 MiB ≈ 220k entries).
 * POSIX sh has no pipefail, so conntrack's exit code travels as a last `ctd-exit N` line
 * (conntrack's own lines start with a protocol name) and awk exits with it.
 */
const COUNT_SCRIPT = '{ conntrack -L "$@"; echo "ctd-exit $?"; } | awk \'$1 == "ctd-exit" && NF == 2 { rc = $2; next } NF { n++ } END { print n + 0; exit rc }\'';

/**
 * How many entries the filter selects now (what a delete with it would remove): one integer
 * on stdout, conntrack's exit code; needs root.
 */
export function countArgv(filter: EntryFilter): string[] {
  return ['sh', '-c', COUNT_SCRIPT, 'conntrack-count', ...filterArgs(filter)];
}

/**
 * The connection the tool's own commands travel on: the host's `$SSH_CONNECTION`
 * ("client-address client-port server-address server-port", set by sshd for every session).
 */
export interface OwnConnection {
  readonly clientAddress: IpAddress;
  readonly clientPort: number;
  readonly serverAddress: IpAddress;
  readonly serverPort: number;
}

/** `$SSH_CONNECTION` → the connection; undefined when empty (not an SSH session); throws when malformed. */
export function parseSshConnection(text: string): OwnConnection | undefined {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return undefined;
  if (words.length !== 4) throw new ValidationError('SSH_CONNECTION', `expected "client-address client-port server-address server-port", got ${JSON.stringify(text.trim().slice(0, 200))}`);
  return {
    clientAddress: validateAddress('SSH_CONNECTION client address', words[0]),
    clientPort: validatePort('SSH_CONNECTION client port', words[1]),
    serverAddress: validateAddress('SSH_CONNECTION server address', words[2]),
    serverPort: validatePort('SSH_CONNECTION server port', words[3]),
  };
}

/**
 * The ct mark bit that shields the tool's own connection during a delete or flush. conntrack
 * cannot say "all but this tuple", so the own entry gets this bit (`-U --mark BIT/BIT` sets
 * only it), the delete selects `--mark 0/BIT`, and the bit is cleared again (also on TERM).
 * Observed on the test host (conntrack 1.4.7): the own entry keeps its state and mark=0
 * afterwards. Caveat: other entries that already carry this bit survive too (fewer deleted,
 * which the read-back reports), and a bit the own entry had is cleared.
 */
export const OWN_CONNECTION_MARK_BIT = '0x40000000';

/**
 * Arguments: MODE (D = delete with the filter that follows, F = everything), then the own
 * connection (client address, port, server address, port; `-` four times when unknown), then
 * the filter. The deleted entries' listing (conntrack -D prints every one) is discarded on the
 * host; only conntrack's summary line (stderr) comes back.
 */
const DELETE_SCRIPT = [
  'mode=$1 csrc=$2 cport=$3 sdst=$4 sport=$5; shift 5',
  `bit=${OWN_CONNECTION_MARK_BIT}`,
  'if [ "$csrc" = - ]; then',
  '  if [ "$mode" = F ]; then exec conntrack -F; fi',
  '  exec conntrack -D "$@" >/dev/null',
  'fi',
  'own() { conntrack -U -p tcp --orig-src "$csrc" --orig-port-src "$cport" --orig-dst "$sdst" --orig-port-dst "$sport" --mark "$1" >/dev/null 2>&1; }',
  "trap 'own 0/$bit; exit 143' TERM INT HUP",
  'own $bit/$bit',
  'conntrack -D "$@" --mark 0/$bit >/dev/null; rc=$?',
  'own 0/$bit',
  'exit $rc',
].join('\n');

/**
 * The only shell a fix runs: these constant scripts, with every value (filter, own connection)
 * as a positional parameter after them — never spliced into the script (test/unit/fix/allFixes).
 */
export const ON_HOST_SCRIPTS: ReadonlySet<string> = new Set([COUNT_SCRIPT, DELETE_SCRIPT]);

function ownConnectionNote(own: OwnConnection | undefined): string {
  return own
    ? `The entry of the tool's own SSH connection (${own.clientAddress.text}:${own.clientPort} → ${own.serverAddress.text}:${own.serverPort}) is left in place, so the session that reads back and records the change is not cut.`
    : 'The tool\'s own connection is not known (not over SSH): nothing is shielded.';
}

function deleteArgv(mode: 'D' | 'F', own: OwnConnection | undefined, args: readonly string[]): string[] {
  const tuple = own ? [own.clientAddress.text, String(own.clientPort), own.serverAddress.text, String(own.serverPort)] : ['-', '-', '-', '-'];
  return ['sh', '-c', DELETE_SCRIPT, 'conntrack-delete', mode, ...tuple, ...args];
}

function inNetwork(a: IpAddress, net: IpAddress | undefined): boolean {
  if (!net) return true;
  if (a.family !== net.family) return false;
  if (net.prefix === undefined) return a.address === net.address;
  // Exact containment needs address arithmetic; "may match" is enough here (it only widens the
  // read-back's allowance by the one shielded entry).
  return true;
}

/** Whether the filter may select the own connection's entry (which the delete then leaves). */
export function mayMatchOwnConnection(filter: EntryFilter, own: OwnConnection): boolean {
  const f = validateEntryFilter(filter);
  if (f.family && f.family !== own.clientAddress.family) return false;
  if (f.proto && f.proto.name !== 'tcp') return false;
  if (f.sport !== undefined && f.sport !== own.clientPort) return false;
  if (f.dport !== undefined && f.dport !== own.serverPort) return false;
  return inNetwork(own.clientAddress, f.src) && inNetwork(own.serverAddress, f.dst);
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
  /** The tool's own SSH connection: its entry is never deleted. */
  readonly ownConnection?: OwnConnection;
}

export function deleteEntries(input: DeleteEntriesInput): Fix {
  const args = filterArgs(input.filter);
  const what = describeFilter(input.filter);
  const expected = validateInteger('expectedCount', input.expectedCount);
  const own = input.ownConnection;
  const shielded = own !== undefined && mayMatchOwnConnection(input.filter, own) ? 1 : 0;
  const remaining = (input.allowRemaining === undefined ? 0 : validateInteger('allowRemaining', input.allowRemaining)) + shielded;
  const verify: Verification = {
    description: `No more than ${remaining} entries match ${what}${shielded ? ' (the tool\'s own SSH connection is kept)' : ''}`,
    argv: countArgv(input.filter),
    privileged: true,
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
        argv: deleteArgv('D', own, args),
        description: `Delete the entries matching ${what}${own ? ', except the tool\'s own SSH connection' : ''}; the listing of deleted entries is discarded on the host (conntrack exits 1 when none matched)`,
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
      'conntrack filters in user space after a full dump, so on a large table the delete takes about as long as a full listing; the entries it prints are discarded on the host and only its summary line comes back.',
      ownConnectionNote(own),
    ],
  };
}

export interface FlushTableInput {
  /** Entries in the table now (named in the confirmation). */
  readonly entryCount: number | string;
  readonly host?: string;
  /** Count that must not be exceeded right after the flush; default entryCount - 1. */
  readonly verifyAtMost?: number | string;
  /** The tool's own SSH connection: its entry is kept (the flush becomes a delete of all others). */
  readonly ownConnection?: OwnConnection;
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
    runtime: [
      input.ownConnection
        ? { argv: deleteArgv('F', input.ownConnection, []), description: 'Delete every entry of the conntrack table except the tool\'s own SSH connection (conntrack exits 1 when there was no other)', privileged: true, okExitCodes: [0, 1] }
        : { argv: ['conntrack', '-F'], description: 'Delete every entry of the conntrack table', privileged: true },
    ],
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
      ownConnectionNote(input.ownConnection),
    ],
  };
}
