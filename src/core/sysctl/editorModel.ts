/**
 * What the sysctl editor offers besides diagnostics, computed purely from a document and
 * what is known about its host: key completion (the key catalogue offline, the host's own key
 * list on a host file), value completion after `=` (default, live value, recommended value),
 * the outline (keys grouped by subsystem) and folding of comment blocks.
 */
import { recommendBuckets, recommendEstablishedTimeout, recommendMax } from '../host/recommend';
import { formatDuration, formatInt } from '../format';
import { CATALOG, canonicalKey, type KeyInfo } from './catalog';
import { keyCatalog, lookupSysctl, type SysctlKeyInfo } from './keyCatalog';
import type { HostContext } from './lint';
import type { SysctlDocument } from './syntax';

export interface KeyCompletion {
  readonly key: string;
  /** One line: unit and default. */
  readonly detail: string;
  /** Markdown: meaning, default, unit, scope, live value. */
  readonly documentation: string;
}

export interface ValueCompletion {
  readonly value: string;
  readonly label: string;
  readonly detail: string;
  readonly preselect: boolean;
}

const UNIT_WORDS: Record<string, string> = { seconds: 'seconds', milliseconds: 'milliseconds', centiseconds: '1/100 s', pages: 'pages (4 KiB)' };

/** Catalogue keys as they can be written: an interface directory is offered for `all` and `default`. */
function writableCatalogKeys(): string[] {
  const out: string[] = [];
  for (const info of keyCatalog().values()) {
    if (info.removedIn !== undefined || info.readOnly) continue;
    if (info.key.includes('.*.')) {
      out.push(info.key.replace('.*.', '.all.'), info.key.replace('.*.', '.default.'));
    } else out.push(info.key);
  }
  return out;
}

function unitOf(ct: KeyInfo | undefined, info: SysctlKeyInfo | undefined): string | undefined {
  if (ct) return ct.unit;
  return info?.unit ? UNIT_WORDS[info.unit] : info?.kind === 'int' && info.count > 1 ? `${info.count} numbers` : undefined;
}

function defaultOf(ct: KeyInfo | undefined, info: SysctlKeyInfo | undefined): string | undefined {
  if (ct?.defaultValue !== undefined) return `${formatInt(ct.defaultValue)}${ct.unit === 'seconds' ? ` (${formatDuration(ct.defaultValue)})` : ''}`;
  if (ct?.defaultNote) return ct.defaultNote;
  return info?.defaultValue;
}

function scopeOf(ct: KeyInfo | undefined, info: SysctlKeyInfo | undefined): string | undefined {
  const scope = ct?.scope ?? (info?.netns === 'netns' ? 'netns' : info?.netns === 'global-ro' || info?.netns === 'init-only' ? 'init' : undefined);
  if (scope === 'netns') return 'per network namespace (writable in containers)';
  if (scope === 'init') return 'global: writable only in the initial (host) network namespace';
  return undefined;
}

/** The documentation of a key, as hovers and completion show it. */
export function describeKey(key: string, live?: string): { summary?: string; rows: [string, string][] } {
  const canon = canonicalKey(key);
  const ct = CATALOG.get(canon);
  const info = lookupSysctl(canon);
  const rows: [string, string][] = [];
  const def = defaultOf(ct, info);
  if (def !== undefined) rows.push(['default', def]);
  const unit = unitOf(ct, info);
  if (unit) rows.push(['unit', unit]);
  if (ct) rows.push(['range', ct.unit === 'boolean' ? '0 or 1' : `${formatInt(ct.min)}–${formatInt(ct.max)}`]);
  const scope = scopeOf(ct, info);
  if (scope) rows.push(['scope', scope]);
  if (info?.readOnly || ct?.scope === 'read-only') rows.push(['writable', 'no: read-only']);
  if (info?.removedIn) rows.push(['removed', info.removedIn === 'distribution' ? 'never in mainline Linux' : `Linux ${info.removedIn}${info.movedTo ? `, now ${info.movedTo}` : ''}`]);
  if (live !== undefined) rows.push(['live', live]);
  const summary = ct?.summary ?? info?.summary;
  return summary !== undefined ? { summary, rows } : { rows };
}

function markdown(d: ReturnType<typeof describeKey>): string {
  const table = d.rows.length > 0 ? `| | |\n|---|---|\n${d.rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`).join('\n')}\n` : '';
  return `${d.summary ? `${d.summary}\n\n` : ''}${table}`;
}

/**
 * Keys to offer for what is typed so far. With the host's key list, exactly its keys (the
 * authority on that host); offline, the catalogue's writable keys.
 */
export function completeKeys(typed: string, host?: { liveKeys?: ReadonlySet<string> | undefined; liveValues?: ReadonlyMap<string, string> | undefined }): KeyCompletion[] {
  const pool = host?.liveKeys && host.liveKeys.size > 0 ? [...host.liveKeys] : writableCatalogKeys();
  // Offer the keys below the segment being typed (VS Code filters further as the user types).
  const dot = typed.lastIndexOf('.');
  const parent = dot >= 0 ? typed.slice(0, dot + 1) : '';
  const out: KeyCompletion[] = [];
  for (const key of pool) {
    if (!key.startsWith(parent)) continue;
    const d = describeKey(key, host?.liveValues?.get(canonicalKey(key)));
    const def = d.rows.find((r) => r[0] === 'default')?.[1];
    const unit = d.rows.find((r) => r[0] === 'unit')?.[1];
    out.push({ key, detail: [unit, def !== undefined ? `default ${def}` : undefined].filter(Boolean).join(' · ') || 'sysctl', documentation: markdown(d) });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** Values to offer after `key =`: the kernel's default, the host's live value, and a recommendation where the product has one. */
export function completeValues(key: string, host?: HostContext, live?: string): ValueCompletion[] {
  const canon = canonicalKey(key);
  const ct = CATALOG.get(canon);
  const info = lookupSysctl(canon);
  const out: ValueCompletion[] = [];
  const add = (value: string, label: string, detail: string, preselect = false): void => {
    if (value === '' || out.some((o) => o.value === value)) {
      const same = out.find((o) => o.value === value);
      if (same) out[out.indexOf(same)] = { ...same, label: `${same.label}, ${label}` };
      return;
    }
    out.push({ value, label, detail, preselect });
  };
  const rec = recommendation(canon, host, live);
  if (rec) add(String(rec.value), 'recommended', rec.why, true);
  if (live !== undefined) add(live.trim().split(/\s+/).join(' '), 'live value', `on the host now`);
  if (ct?.defaultValue !== undefined) add(String(ct.defaultValue), 'kernel default', ct.unit === 'seconds' ? formatDuration(ct.defaultValue) : ct.unit);
  else if (info?.defaultValue !== undefined && /^-?\d+( -?\d+)*$/.test(info.defaultValue)) add(info.defaultValue, 'kernel default', 'from the kernel documentation');
  if (ct?.unit === 'boolean' || (info?.kind === 'int' && info.defaultValue !== undefined && /^[01]$/.test(info.defaultValue) && ct === undefined)) {
    add('0', 'off', 'boolean');
    add('1', 'on', 'boolean');
  }
  return out;
}

/** The product's own recommendations (the same arithmetic the host fixes show). */
function recommendation(key: string, host: HostContext | undefined, live: string | undefined): { value: number; why: string } | undefined {
  const liveInt = live !== undefined && /^\d+$/.test(live.trim()) ? Number(live.trim()) : undefined;
  if (key === 'net.netfilter.nf_conntrack_max' && host?.memTotalBytes !== undefined && liveInt !== undefined) {
    const peak = host.usagePercent !== undefined ? Math.round((host.usagePercent / 100) * liveInt) : 0;
    const r = recommendMax({ currentMax: liveInt, observedPeak: peak, memTotalBytes: host.memTotalBytes, slabObjSize: host.slabObjSize });
    return { value: r.value, why: r.steps.join('; ') };
  }
  if (key === 'net.netfilter.nf_conntrack_tcp_timeout_established') {
    const r = recommendEstablishedTimeout(liveInt ?? CATALOG.get(key)?.defaultValue ?? 432000);
    return { value: r.value, why: r.steps.join('; ') };
  }
  if (key === 'net.netfilter.nf_conntrack_buckets') {
    const max = host?.liveValues?.get('net.netfilter.nf_conntrack_max');
    if (max !== undefined && /^\d+$/.test(max.trim())) {
      const r = recommendBuckets(Number(max.trim()), liveInt);
      return { value: r.value, why: r.steps.join('; ') };
    }
  }
  if (key === 'net.netfilter.nf_conntrack_tcp_loose' || key === 'net.netfilter.nf_conntrack_checksum') return { value: 1, why: 'the default: see the tcp-loose-off / checksum-off rules' };
  return undefined;
}

export interface OutlineEntry {
  readonly key: string;
  readonly line: number;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly lineLength: number;
  readonly value: string;
}

export interface OutlineGroup {
  /** Subsystem: `net.ipv4`, `net.netfilter`, `vm`, `kernel`, … */
  readonly name: string;
  readonly entries: readonly OutlineEntry[];
}

/** The subsystem a key belongs to: two segments under net., one elsewhere. */
export function subsystemOf(key: string): string {
  const parts = key.split('.');
  if (parts[0] === 'net' && parts.length > 2) return `${parts[0]}.${parts[1] ?? ''}`;
  return parts[0] ?? key;
}

/** Assignments grouped by subsystem, in order of first appearance. */
export function outline(doc: SysctlDocument): OutlineGroup[] {
  const groups = new Map<string, OutlineEntry[]>();
  for (const l of doc.lines) {
    if (l.kind !== 'assignment') continue;
    const name = subsystemOf(l.normalizedKey);
    const list = groups.get(name) ?? [];
    list.push({ key: l.normalizedKey, line: l.line, keyStart: l.key.start, keyEnd: l.key.end, lineLength: l.text.length, value: l.value.text });
    groups.set(name, list);
  }
  return [...groups].map(([name, entries]) => ({ name, entries }));
}

export interface FoldingRange {
  readonly start: number;
  readonly end: number;
}

/** Blocks of two or more consecutive comment lines. */
export function commentBlocks(doc: SysctlDocument): FoldingRange[] {
  const out: FoldingRange[] = [];
  let start = -1;
  const close = (end: number): void => {
    if (start >= 0 && end > start) out.push({ start, end });
    start = -1;
  };
  for (const l of doc.lines) {
    if (l.kind === 'comment') {
      if (start < 0) start = l.line;
    } else close(l.line - 1);
  }
  close(doc.lines.length - 1);
  return out;
}

/** Whether completion at this column of a line is for the key (before `=`) or the value. */
export function completionSlot(lineText: string, col: number): { slot: 'key'; typed: string; start: number } | { slot: 'value'; key: string; start: number; end: number } | undefined {
  const trimmed = lineText.trimStart();
  if (trimmed.startsWith('#') || trimmed.startsWith(';')) return undefined;
  const eq = lineText.indexOf('=');
  if (eq >= 0 && col > eq) {
    const rawKey = lineText.slice(0, eq).trim().replace(/^-/, '');
    if (rawKey === '') return undefined;
    let start = eq + 1;
    while (start < lineText.length && /\s/.test(lineText[start] ?? '')) start++;
    return { slot: 'value', key: rawKey, start: Math.min(start, col), end: lineText.length };
  }
  const lead = lineText.length - trimmed.length;
  const start = lead + (trimmed.startsWith('-') ? 1 : 0);
  return { slot: 'key', typed: lineText.slice(start, col), start };
}
