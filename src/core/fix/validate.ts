/**
 * Validators that run before any command or file content is built. Each returns a typed,
 * normalised value or throws a ValidationError naming the field. They are deliberately
 * strict: whatever passes is safe as one argv element AND means one thing to the tool that
 * reads it (e.g. no leading zeros, because the kernel's sysctl parser reads `010` as octal 8).
 */
import { normalizeKey } from '../sysctl/keys';

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

function show(input: unknown): string {
  if (typeof input === 'string') return JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input);
  if (typeof input === 'number' || typeof input === 'bigint' || typeof input === 'boolean') return String(input);
  return input === undefined ? 'undefined' : input === null ? 'null' : typeof input;
}

function requireString(field: string, input: unknown): string {
  if (typeof input !== 'string') throw new ValidationError(field, `expected text, got ${show(input)}`);
  return input;
}

// ---------------------------------------------------------------------------------------------
// Integers

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

export interface IntegerRange {
  readonly min?: number;
  readonly max?: number;
}

/**
 * A non-negative decimal integer: `0` or digits without a leading zero; no sign, no spaces,
 * no `256k`, no `1e6`, no hex, at most Number.MAX_SAFE_INTEGER. Numbers must be safe integers.
 * The range bounds are inclusive (a fractional max is floored).
 */
export function validateInteger(field: string, input: unknown, range: IntegerRange = {}): number {
  let n: number;
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw new ValidationError(field, `expected a non-negative whole number, got ${show(input)}`);
    }
    n = input;
  } else if (typeof input === 'string') {
    if (!DECIMAL.test(input)) {
      throw new ValidationError(field, `expected a decimal whole number (digits only, no sign, unit or leading zero), got ${show(input)}`);
    }
    n = Number(input);
    if (!Number.isSafeInteger(n)) throw new ValidationError(field, `${show(input)} is larger than ${Number.MAX_SAFE_INTEGER}`);
  } else {
    throw new ValidationError(field, `expected a whole number, got ${show(input)}`);
  }
  const min = Math.max(0, Math.ceil(range.min ?? 0));
  const max = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(range.max ?? Number.MAX_SAFE_INTEGER));
  if (n < min || n > max) throw new ValidationError(field, `${n} is outside ${min}–${max}`);
  return n;
}

export function validatePort(field: string, input: unknown): number {
  return validateInteger(field, input, { min: 1, max: 65535 });
}

// ---------------------------------------------------------------------------------------------
// Addresses

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p) && Number(p) <= 255);
}

const HEXTET = /^[0-9A-Fa-f]{1,4}$/;

/** RFC 4291 section 2.2 text forms: 8 groups, one `::`, optional trailing dotted IPv4. */
function isIPv6(text: string): boolean {
  if (text.length === 0 || text.length > 45) return false;
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groupsOf = (half: string): string[] | undefined => {
    if (half === '') return [];
    const g = half.split(':');
    return g.every((x) => x.length > 0) ? g : undefined;
  };
  const left = groupsOf(halves[0] ?? '');
  const right = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!left || !right) return false;
  const all = [...left, ...right];
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i] ?? '';
    if (HEXTET.test(g)) count += 1;
    else if (i === all.length - 1 && !text.endsWith(':') && isIPv4(g)) count += 2; // only as the text's last group
    else return false;
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}

export function validateIPv4(field: string, input: unknown): string {
  const s = requireString(field, input);
  if (!isIPv4(s)) throw new ValidationError(field, `expected an IPv4 address like 192.0.2.10 (no leading zeros), got ${show(s)}`);
  return s;
}

export function validateIPv6(field: string, input: unknown): string {
  const s = requireString(field, input);
  if (s.includes('%')) throw new ValidationError(field, `zone ids (%eth0) are not accepted: ${show(s)}`);
  if (!isIPv6(s)) throw new ValidationError(field, `expected an IPv6 address like 2001:db8::1, got ${show(s)}`);
  return s.toLowerCase();
}

export type AddressFamily = 'ipv4' | 'ipv6';

export interface IpAddress {
  readonly family: AddressFamily;
  readonly address: string;
  readonly prefix?: number;
  /** The address as passed on to tools (`address` or `address/prefix`). */
  readonly text: string;
}

/** An IPv4 or IPv6 address, with an optional `/prefix` when allowPrefix is set. */
export function validateAddress(field: string, input: unknown, opts: { readonly allowPrefix?: boolean } = {}): IpAddress {
  const s = requireString(field, input);
  const slash = s.indexOf('/');
  const addrText = slash === -1 ? s : s.slice(0, slash);
  let family: AddressFamily;
  let address: string;
  try {
    if (addrText.includes(':')) {
      address = validateIPv6(field, addrText);
      family = 'ipv6';
    } else {
      address = validateIPv4(field, addrText);
      family = 'ipv4';
    }
  } catch (err) {
    // Name the whole input, not just the part before a '/'.
    if (slash === -1 || !(err instanceof ValidationError)) throw err;
    throw new ValidationError(field, `expected an IPv4 or IPv6 address${opts.allowPrefix ? ' with an optional /prefix' : ''} (like 192.0.2.10/24 or 2001:db8::/32), got ${show(s)}`);
  }
  if (slash === -1) return { family, address, text: address };
  if (!opts.allowPrefix) throw new ValidationError(field, `a single address is expected here, not a network: ${show(s)}`);
  const prefix = validateInteger(`${field} prefix`, s.slice(slash + 1), { min: 0, max: family === 'ipv4' ? 32 : 128 });
  return { family, address, prefix, text: `${address}/${prefix}` };
}

// ---------------------------------------------------------------------------------------------
// Protocols and states

export const PROTOCOL_NUMBERS = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  dccp: 33,
  gre: 47,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
} as const;

export type ProtocolName = keyof typeof PROTOCOL_NUMBERS;

export interface Protocol {
  readonly number: number;
  /** The name conntrack knows it by, when it has one. */
  readonly name?: ProtocolName;
  /** What to pass to tools: the name when known, else the number. */
  readonly text: string;
}

function isProtocolName(s: string): s is ProtocolName {
  return Object.hasOwn(PROTOCOL_NUMBERS, s);
}

/** tcp/udp/icmp/icmpv6/sctp/dccp/gre/udplite (any case) or an IP protocol number 0–255. */
export function validateProtocol(field: string, input: unknown): Protocol {
  if (typeof input === 'string') {
    const lower = input.toLowerCase();
    if (isProtocolName(lower)) return { number: PROTOCOL_NUMBERS[lower], name: lower, text: lower };
    if (!DECIMAL.test(input)) {
      throw new ValidationError(field, `expected one of ${Object.keys(PROTOCOL_NUMBERS).join(', ')} or a number 0–255, got ${show(input)}`);
    }
  }
  const number = validateInteger(field, input, { min: 0, max: 255 });
  const name = (Object.keys(PROTOCOL_NUMBERS) as ProtocolName[]).find((k) => PROTOCOL_NUMBERS[k] === number);
  return name ? { number, name, text: name } : { number, text: String(number) };
}

/** Protocols whose conntrack entries have ports (`--sport`/`--dport` are accepted for them). */
export const PORT_PROTOCOLS: readonly ProtocolName[] = ['tcp', 'udp', 'sctp', 'dccp', 'udplite'];

/** conntrack's TCP state names (conntrack-tools `--state`, kernel tcp_conntrack_names). */
export const TCP_STATES = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'LISTEN',
  'SYN_SENT2',
] as const;

export type TcpState = (typeof TCP_STATES)[number];

/** A TCP state name (any case; conntrack itself wants upper case, which is what is returned). */
export function validateTcpState(field: string, input: unknown): TcpState {
  const s = requireString(field, input).toUpperCase();
  const found = TCP_STATES.find((t) => t === s);
  if (!found) throw new ValidationError(field, `expected a TCP state (${TCP_STATES.join(', ')}), got ${show(input)}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Names

const KEY_CHARS = /^[A-Za-z0-9][A-Za-z0-9_./-]*$/;

/**
 * A sysctl key (explicit, no glob), returned in the dotted form. Only `[A-Za-z0-9_./-]`, must
 * start with a letter or digit (a leading `-` would be an option to sysctl or the ignore-failure
 * prefix in a file), and every component between separators must be non-empty: this refuses
 * `..`, `//`, `./` and leading/trailing separators, so the /proc/sys path can never escape.
 */
export function validateSysctlKey(field: string, input: unknown): string {
  const s = requireString(field, input);
  if (s.length === 0 || s.length > 256) throw new ValidationError(field, `a sysctl key must be 1–256 characters long`);
  if (!KEY_CHARS.test(s)) {
    throw new ValidationError(field, `a sysctl key may contain only letters, digits, '_', '.', '-' and '/', starting with a letter or digit: ${show(s)}`);
  }
  if (s.split(/[./]/).some((part) => part.length === 0)) {
    throw new ValidationError(field, `a sysctl key may not contain empty components ('..', '//', './' or a trailing separator): ${show(s)}`);
  }
  return normalizeKey(s);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** nft table or chain name (conservative subset of nft's identifiers; no quoting needed). */
export function validateNftName(field: string, input: unknown): string {
  const s = requireString(field, input);
  if (s.length > 255 || !IDENT.test(s)) {
    throw new ValidationError(field, `expected an nft name (a letter or '_', then letters, digits, '_', '.', '-'; at most 255), got ${show(s)}`);
  }
  return s;
}

/** iptables chain name: at most 28 characters (XT_EXTENSION_MAXNAMELEN - 1), same charset. */
export function validateIptablesChain(field: string, input: unknown): string {
  const s = requireString(field, input);
  if (s.length > 28 || !IDENT.test(s)) {
    throw new ValidationError(field, `expected an iptables chain name (a letter or '_', then letters, digits, '_', '.', '-'; at most 28), got ${show(s)}`);
  }
  return s;
}

export const IPTABLES_TABLES = ['filter', 'nat', 'mangle', 'raw', 'security'] as const;
export type IptablesTable = (typeof IPTABLES_TABLES)[number];

/** One of a fixed list of words (`what` names the list in the error). */
function validateOneOf<T extends string>(field: string, input: unknown, list: readonly T[], what: string): T {
  const s = requireString(field, input);
  const found = list.find((t) => t === s);
  if (!found) throw new ValidationError(field, `expected ${what} (${list.join(', ')}), got ${show(s)}`);
  return found;
}

export function validateIptablesTable(field: string, input: unknown): IptablesTable {
  return validateOneOf(field, input, IPTABLES_TABLES, 'an iptables table');
}

/** nft families in which `ct state` filtering of host traffic makes sense. */
export const NFT_FAMILIES = ['ip', 'ip6', 'inet'] as const;
export type NftFamily = (typeof NFT_FAMILIES)[number];

export function validateNftFamily(field: string, input: unknown): NftFamily {
  return validateOneOf(field, input, NFT_FAMILIES, 'an nft family');
}

const PATH_CHARS = /^\/[A-Za-z0-9_@%+=:,./-]*$/;

/** An absolute host path with a conservative charset and no `.`/`..`/empty components. */
export function validateHostPath(field: string, input: unknown): string {
  const s = requireString(field, input);
  if (s.length > 4096 || !PATH_CHARS.test(s)) {
    throw new ValidationError(field, `expected an absolute path of letters, digits and _@%+=:,./- only, got ${show(s)}`);
  }
  const parts = s.slice(1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new ValidationError(field, `a path may not contain '.', '..' or empty components: ${show(s)}`);
  }
  return s;
}

/** One line of text for a file comment or a note: no line breaks, no NUL. */
export function validateSingleLine(field: string, input: unknown): string {
  const s = requireString(field, input);
  if (/[\r\n\0\u2028\u2029\u0085]/.test(s)) throw new ValidationError(field, `must be a single line of text: ${show(s)}`);
  return s;
}
