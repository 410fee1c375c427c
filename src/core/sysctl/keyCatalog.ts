/**
 * Every sysctl key the kernel has or had (generated into keyCatalog.data.ts by
 * scripts/catalog/generate.ts from the reference kernel's /proc/sys, the kernel source's
 * ctl_tables and documentation, and a cited history of removed keys). Offline it decides
 * "unknown key", "removed key", read-only keys, value shapes and units for every subsystem;
 * with a host, the host's own key list stays the authority (lint.ts).
 *
 * Interface directories (net.ipv4.conf.<if>, net.ipv6.conf.<if>, neigh.<if>, mpls.conf.<if>)
 * are stored once with `*` for the interface and match any interface name.
 */
import { KEY_CATALOG_DATA, KEY_CATALOG_KERNEL, KEY_CATALOG_SOURCE_RELEASE } from './keyCatalog.data';

export { KEY_CATALOG_KERNEL, KEY_CATALOG_SOURCE_RELEASE };

export type ValueKind = 'int' | 'string' | 'other';
export type KeyUnitCode = 'seconds' | 'milliseconds' | 'centiseconds' | 'pages';

export interface SysctlKeyInfo {
  /** The catalogue key (with `*` for an interface segment). */
  readonly key: string;
  readonly kind: ValueKind;
  /** Numbers one write takes (integer keys). */
  readonly count: number;
  readonly unit?: KeyUnitCode;
  readonly readOnly: boolean;
  readonly writeOnly: boolean;
  /** Network-namespace behaviour of net.* keys on the reference kernel. */
  readonly netns?: 'netns' | 'global-ro' | 'init-only';
  /** Seen in /proc/sys of the reference kernel. */
  readonly onReferenceKernel: boolean;
  /** Defined by a ctl_table of the kernel source. */
  readonly inSource: boolean;
  readonly defaultValue?: string;
  /** Kernel version without it, or 'distribution' for keys mainline never had. */
  readonly removedIn?: string;
  readonly movedTo?: string;
  /** What it did and why it went (removed keys), else the documentation's first sentence. */
  readonly summary?: string;
}

const UNITS: Record<string, KeyUnitCode> = { s: 'seconds', ms: 'milliseconds', cs: 'centiseconds', pg: 'pages' };

/** Segments after which the next one names an interface. */
export const INTERFACE_DIRS: readonly string[] = ['net.ipv4.conf', 'net.ipv6.conf', 'net.ipv4.neigh', 'net.ipv6.neigh', 'net.mpls.conf'];

let table: Map<string, SysctlKeyInfo> | undefined;

function parseRow(row: string): SysctlKeyInfo | undefined {
  const [key, flags = '', shape = 'o', unit = '', def = '', removed = '', moved = '', summary = ''] = row.split('\t');
  if (!key) return undefined;
  const kind: ValueKind = shape.startsWith('i') ? 'int' : shape === 's' ? 'string' : 'other';
  const u = UNITS[unit];
  return {
    key,
    kind,
    count: kind === 'int' && shape.length > 1 ? Number(shape.slice(1)) : 1,
    ...(u ? { unit: u } : {}),
    readOnly: flags.includes('r'),
    writeOnly: flags.includes('w'),
    ...(flags.includes('n') ? { netns: 'netns' as const } : flags.includes('g') ? { netns: 'global-ro' as const } : flags.includes('i') ? { netns: 'init-only' as const } : {}),
    onReferenceKernel: flags.includes('L'),
    inSource: flags.includes('C'),
    ...(def ? { defaultValue: def } : {}),
    ...(removed ? { removedIn: removed } : {}),
    ...(moved ? { movedTo: moved } : {}),
    ...(summary ? { summary } : {}),
  };
}

/** The catalogue, parsed on first use (about a thousand rows). */
export function keyCatalog(): ReadonlyMap<string, SysctlKeyInfo> {
  if (!table) {
    table = new Map();
    for (const row of KEY_CATALOG_DATA.split('\n')) {
      const info = parseRow(row);
      if (info) table.set(info.key, info);
    }
  }
  return table;
}

/** The catalogue key a dotted key belongs to (`net.ipv4.conf.eth0.rp_filter` → `net.ipv4.conf.*.rp_filter`). */
export function templateKey(key: string): string {
  if (!key.startsWith('net.')) return key;
  for (const dir of INTERFACE_DIRS) {
    if (key.length > dir.length + 1 && key.startsWith(dir) && key[dir.length] === '.') {
      const rest = key.slice(dir.length + 1);
      const dot = rest.indexOf('.');
      if (dot > 0) return `${dir}.*.${rest.slice(dot + 1)}`;
    }
  }
  return key;
}

/** The interface segment of a key in an interface directory (`eth0` of net.ipv4.conf.eth0.rp_filter). */
export function interfaceOf(key: string): string | undefined {
  for (const dir of INTERFACE_DIRS) {
    if (key.startsWith(`${dir}.`)) {
      const rest = key.slice(dir.length + 1);
      const dot = rest.indexOf('.');
      if (dot > 0) return rest.slice(0, dot);
    }
  }
  return undefined;
}

/** Look-ups by key as written (interface names included): a large file asks for the same keys many times. */
const lookups = new Map<string, SysctlKeyInfo | null>();
const LOOKUP_MEMO_MAX = 20_000;

export function lookupSysctl(key: string): SysctlKeyInfo | undefined {
  const memo = lookups.get(key);
  if (memo !== undefined) return memo ?? undefined;
  const cat = keyCatalog();
  const info = cat.get(key) ?? cat.get(templateKey(key));
  if (lookups.size >= LOOKUP_MEMO_MAX) lookups.clear();
  lookups.set(key, info ?? null);
  return info;
}

/** Levenshtein distance with an early exit once every cell exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      prev[j] = v;
      diag = up;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
  }
  return prev[b.length] ?? 0;
}

/** How far a misspelling may be from the key it means: 2 edits, more for long keys. */
export function suggestionLimit(key: string): number {
  return Math.max(2, Math.floor(key.length / 8));
}

/**
 * The closest key for "did you mean": among `known` (a host's live list) or the live keys of
 * the catalogue. Keys in an interface directory are compared with the interface kept.
 */
export function suggestSysctlKey(key: string, known?: Iterable<string>): string | undefined {
  const iface = interfaceOf(key);
  const probe = iface !== undefined ? templateKey(key) : key;
  const limit = suggestionLimit(probe);
  let best: string | undefined;
  let bestDistance = limit + 1;
  const pool = known ?? [...keyCatalog().values()].filter((i) => i.removedIn === undefined && !i.readOnly).map((i) => i.key);
  for (const raw of pool) {
    const candidate = known ? templateKey(raw) : raw;
    if (candidate === probe) continue;
    const d = editDistance(probe, candidate, bestDistance - 1);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  return iface !== undefined && best.includes('.*.') ? best.replace('.*.', `.${iface}.`) : best;
}
