/**
 * One conntrack entry per line, in the three textual forms a host gives:
 * - `conntrack -L`:               `tcp      6 431999 ESTABLISHED src=… dst=… sport=… dport=… src=… … [ASSURED] mark=0 use=1`
 * - `conntrack -L -o extended`:   the same, prefixed by the layer-3 name and number (`ipv4     2 `)
 * - `/proc/net/nf_conntrack`:     the extended form plus `zone=`, IPv6 addresses written out in full
 *
 * Field order, as printed by libnetfilter_conntrack and by the kernel's ct_seq_show:
 * [l3 l3num] l4 l4num timeout [STATE] orig-tuple [packets= bytes=] [UNREPLIED] reply-tuple
 * [packets= bytes=] [ASSURED|OFFLOAD|HW_OFFLOAD] mark= [secctx=] [zone=] [delta-time=] [start=…] use= [id=]
 * Everything is read by name; unknown `key=value` tokens and unknown `[FLAGS]` are kept.
 *
 * Note: the kernel's procfs prints `[OFFLOAD]`/`[HW_OFFLOAD]` *instead of* `[ASSURED]`, so an
 * offloaded flow from /proc/net/nf_conntrack has `assured: false` even though the kernel keeps it
 * assured. The `offload` field says so.
 */
import { z } from 'zod';
import { isSafeKey, parseConntrackToolMessage, parseFlowEntriesMessage } from './result';

const port = z.number().int().min(0).max(65535);
const u32 = z.number().int().min(0).max(0xffffffff);
const count = z.number().int().nonnegative();

export const conntrackTupleSchema = z.object({
  src: z.string().min(1),
  dst: z.string().min(1),
  sport: port.optional(),
  dport: port.optional(),
  /** ICMP / ICMPv6 */
  type: z.number().int().min(0).max(255).optional(),
  code: z.number().int().min(0).max(255).optional(),
  id: port.optional(),
  /** GRE keys as printed (hex, e.g. `0x0`). */
  srckey: z.string().optional(),
  dstkey: z.string().optional(),
});
export type ConntrackTuple = z.infer<typeof conntrackTupleSchema>;

export const flowCountersSchema = z.object({ packets: count, bytes: count });
export type FlowCounters = z.infer<typeof flowCountersSchema>;

export const conntrackEntrySchema = z.object({
  /** Layer-3 name (`ipv4`, `ipv6`, …), only in the extended and procfs forms. */
  l3: z.string().optional(),
  l3num: z.number().int().nonnegative().optional(),
  /** Protocol name as printed (`tcp`, `udp`, `icmp`, `icmpv6`, `gre`, `sctp`, `unknown`, …). */
  proto: z.string().min(1),
  protonum: z.number().int().min(0).max(255),
  /** Seconds until the entry expires. */
  timeout: count,
  /** Protocol state (TCP, SCTP, DCCP), e.g. `ESTABLISHED`. */
  state: z.string().optional(),
  orig: conntrackTupleSchema,
  reply: conntrackTupleSchema,
  /** Per-direction counters; present only with accounting (`nf_conntrack_acct=1`). */
  origCounters: flowCountersSchema.optional(),
  replyCounters: flowCountersSchema.optional(),
  assured: z.boolean(),
  unreplied: z.boolean(),
  offload: z.enum(['software', 'hardware']).optional(),
  mark: u32.optional(),
  zone: z.number().int().nonnegative().optional(),
  use: u32.optional(),
  /** Conntrack id (`-o id`). */
  id: u32.optional(),
  secctx: z.string().optional(),
  /** Seconds since the entry was created (`nf_conntrack_timestamp=1`). */
  deltaTime: count.optional(),
  /** Other `[FLAG]` tokens, without brackets. */
  flags: z.array(z.string()),
  /** Other `key=value` tokens (and `[key=value]` ones such as `start=`), as printed. */
  extra: z.record(z.string(), z.string()),
});
export type ConntrackEntry = z.infer<typeof conntrackEntrySchema>;

/** What one line of a conntrack listing is. */
export type ConntrackLine =
  | { readonly kind: 'entry'; readonly entry: ConntrackEntry }
  /** `conntrack v1.4.7 (conntrack-tools): 213 flow entries have been shown.` (stderr, merged in). */
  | { readonly kind: 'summary'; readonly shown: number }
  /** Any other `conntrack v… (conntrack-tools): …` line, e.g. a permission error. */
  | { readonly kind: 'tool-message'; readonly message: string }
  | { readonly kind: 'blank' }
  | { readonly kind: 'error'; readonly line: string; readonly message: string };

type MutableTuple = { -readonly [K in keyof ConntrackTuple]: ConntrackTuple[K] };

const fullIpv6Re = /^[0-9a-f]{4}(?::[0-9a-f]{4}){7}$/i;

/**
 * procfs prints IPv6 addresses in full (`0000:…:0001`); conntrack prints them compressed (`::1`).
 * The full form is compressed (RFC 5952) so the sources stay interchangeable; every other
 * address is kept as printed.
 */
export function canonicalAddress(address: string): string {
  if (address.length !== 39 || !fullIpv6Re.test(address)) return address;
  const groups = address.toLowerCase().split(':').map((g) => g.replace(/^0+(?=.)/, ''));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

function isDigits(s: string | undefined): boolean {
  if (s === undefined || s.length === 0 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Splits on blanks, keeping a `[…]` group with spaces inside (`[start=Fri Nov 27 08:46:59 2026]`) as one token. */
function tokenize(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    const start = i;
    if (c === 91 /* [ */) {
      const close = line.indexOf(']', i);
      i = close === -1 ? n : close + 1;
      // a bracket group runs to its `]`; anything glued after it stays in the token
      while (i < n && (c = line.charCodeAt(i)) !== 32 && c !== 9) i++;
    } else {
      while (i < n && (c = line.charCodeAt(i)) !== 32 && c !== 9) i++;
    }
    out.push(line.slice(start, i));
  }
  return out;
}

const icmpProtos = new Set([1, 58]);

class LineError extends Error {}

function num(value: string, key: string, max: number): number {
  if (!isDigits(value)) throw new LineError(`${key}=${value} is not a number`);
  const n = Number(value);
  if (n > max) throw new LineError(`${key}=${value} is out of range`);
  return n;
}

/** Parses one line; never throws. */
export function parseConntrackLine(line: string): ConntrackLine {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'blank' };
  if (trimmed.startsWith('conntrack v')) {
    const tool = parseConntrackToolMessage(trimmed);
    if (tool !== undefined) {
      const flow = parseFlowEntriesMessage(tool.message);
      if (flow !== undefined && flow.verb === 'shown') return { kind: 'summary', shown: flow.count };
      return { kind: 'tool-message', message: tool.message };
    }
  }
  try {
    return { kind: 'entry', entry: parseEntryTokens(tokenize(trimmed)) };
  } catch (e) {
    const message = e instanceof LineError ? e.message : `unexpected parser failure: ${String(e)}`;
    return { kind: 'error', line, message };
  }
}

interface TupleState {
  tuples: MutableTuple[];
  counters: (FlowCounters | undefined)[];
  current: Partial<MutableTuple> | undefined;
  packets: number | undefined;
  bytes: number | undefined;
}

function closeTuple(st: TupleState): void {
  const t = st.current;
  if (t === undefined) return;
  if (t.src === undefined || t.dst === undefined) throw new LineError('tuple without src= and dst=');
  st.tuples.push(t as MutableTuple);
  st.current = undefined;
}

/** Assigns a complete packets=/bytes= pair to the direction whose tuple came last. */
function flushCounters(st: TupleState): void {
  if (st.packets === undefined && st.bytes === undefined) return;
  if (st.packets === undefined || st.bytes === undefined) throw new LineError('packets= without bytes= (or the reverse)');
  const dir = st.tuples.length - 1;
  if (dir < 0 || dir > 1) throw new LineError('counters outside a direction');
  if (st.counters[dir] !== undefined) throw new LineError('counters printed twice for one direction');
  st.counters[dir] = { packets: st.packets, bytes: st.bytes };
  st.packets = undefined;
  st.bytes = undefined;
}

/** Handles a key=value inside a tuple; false when the key is not a tuple field (the tuple ends). */
function tupleField(t: Partial<MutableTuple>, key: string, value: string, icmp: boolean): boolean {
  switch (key) {
    case 'dst':
      if (value === '') throw new LineError('empty dst=');
      t.dst = canonicalAddress(value);
      return true;
    case 'sport':
      t.sport = num(value, key, 65535);
      return true;
    case 'dport':
      t.dport = num(value, key, 65535);
      return true;
    case 'srckey':
      t.srckey = value;
      return true;
    case 'dstkey':
      t.dstkey = value;
      return true;
    case 'type':
      t.type = num(value, key, 255);
      return true;
    case 'code':
      t.code = num(value, key, 255);
      return true;
    case 'id':
      // Inside an ICMP tuple `id=` is the echo id; after the tuples it is the conntrack id.
      if (!icmp || t.id !== undefined) return false;
      t.id = num(value, key, 65535);
      return true;
    default:
      return false;
  }
}

function parseEntryTokens(tokens: string[]): ConntrackEntry {
  let i = 0;
  let l3: string | undefined;
  let l3num: number | undefined;
  // Extended form: name num name num timeout; plain form: name num timeout.
  if (!isDigits(tokens[0]) && isDigits(tokens[1]) && !isDigits(tokens[2]) && isDigits(tokens[3]) && isDigits(tokens[4])) {
    l3 = tokens[0];
    l3num = Number(tokens[1]);
    i = 2;
  }
  const proto = tokens[i];
  const protonumText = tokens[i + 1];
  const timeoutText = tokens[i + 2];
  if (proto === undefined || proto.includes('=') || proto.startsWith('[') || isDigits(proto)) {
    throw new LineError('line does not start with a protocol name');
  }
  if (!isDigits(protonumText) || Number(protonumText) > 255) throw new LineError('protocol number missing or out of range');
  if (!isDigits(timeoutText)) throw new LineError('timeout missing');
  const protonum = Number(protonumText);
  const timeout = Number(timeoutText);
  i += 3;
  let state: string | undefined;
  const maybeState = tokens[i];
  if (maybeState !== undefined && !maybeState.includes('=') && !maybeState.startsWith('[')) {
    state = maybeState;
    i++;
  }

  const icmp = icmpProtos.has(protonum);
  const st: TupleState = { tuples: [], counters: [], current: undefined, packets: undefined, bytes: undefined };
  let assured = false;
  let unreplied = false;
  let offload: 'software' | 'hardware' | undefined;
  let mark: number | undefined;
  let zone: number | undefined;
  let use: number | undefined;
  let id: number | undefined;
  let secctx: string | undefined;
  let deltaTime: number | undefined;
  const flags: string[] = [];
  const extra: Record<string, string> = {};

  for (; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    if (t.charCodeAt(0) === 91 /* [ */) {
      if (!t.endsWith(']')) throw new LineError(`unterminated ${t}`);
      closeTuple(st);
      const flag = t.slice(1, -1);
      if (flag === 'ASSURED') assured = true;
      else if (flag === 'UNREPLIED') unreplied = true;
      else if (flag === 'OFFLOAD') offload = 'software';
      else if (flag === 'HW_OFFLOAD') offload = 'hardware';
      else {
        const eq = flag.indexOf('=');
        if (eq > 0 && isSafeKey(flag.slice(0, eq))) extra[flag.slice(0, eq)] = flag.slice(eq + 1);
        else flags.push(flag);
      }
      continue;
    }
    const eq = t.indexOf('=');
    if (eq <= 0) throw new LineError(`unexpected token '${t}'`);
    const key = t.slice(0, eq);
    const value = t.slice(eq + 1);
    if (key === 'src') {
      closeTuple(st);
      flushCounters(st);
      if (st.tuples.length >= 2) throw new LineError('more than two tuples');
      if (value === '') throw new LineError('empty src=');
      st.current = { src: canonicalAddress(value) };
      continue;
    }
    if (st.current !== undefined) {
      if (tupleField(st.current, key, value, icmp)) continue;
      closeTuple(st);
    }
    switch (key) {
      case 'packets':
        st.packets = num(value, key, Number.MAX_SAFE_INTEGER);
        if (st.bytes !== undefined) flushCounters(st);
        break;
      case 'bytes':
        st.bytes = num(value, key, Number.MAX_SAFE_INTEGER);
        if (st.packets !== undefined) flushCounters(st);
        break;
      case 'mark':
        mark = num(value, key, 0xffffffff);
        break;
      case 'zone':
        zone = num(value, key, 0xffff);
        break;
      case 'use':
        use = num(value, key, 0xffffffff);
        break;
      case 'id':
        id = num(value, key, 0xffffffff);
        break;
      case 'secctx':
        secctx = value;
        break;
      case 'delta-time':
        deltaTime = num(value, key, Number.MAX_SAFE_INTEGER);
        break;
      default:
        if (isSafeKey(key)) extra[key] = value;
    }
  }
  closeTuple(st);
  flushCounters(st);
  const [orig, reply] = st.tuples;
  if (orig === undefined || reply === undefined) throw new LineError('expected an original and a reply tuple');

  const entry: { -readonly [K in keyof ConntrackEntry]: ConntrackEntry[K] } = {
    proto,
    protonum,
    timeout,
    orig,
    reply,
    assured,
    unreplied,
    flags,
    extra,
  };
  if (l3 !== undefined) entry.l3 = l3;
  if (l3num !== undefined) entry.l3num = l3num;
  if (state !== undefined) entry.state = state;
  const [oc, rc] = st.counters;
  if (oc !== undefined) entry.origCounters = oc;
  if (rc !== undefined) entry.replyCounters = rc;
  if (offload !== undefined) entry.offload = offload;
  if (mark !== undefined) entry.mark = mark;
  if (zone !== undefined) entry.zone = zone;
  if (use !== undefined) entry.use = use;
  if (id !== undefined) entry.id = id;
  if (secctx !== undefined) entry.secctx = secctx;
  if (deltaTime !== undefined) entry.deltaTime = deltaTime;
  return entry;
}
