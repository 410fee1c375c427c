/**
 * The Entries group of the Hosts tree: the table's entries grouped by TCP state, protocol and
 * source (counts from the snapshot's entry summary, no extra round trip), each value listing
 * its entries page by page (HostSession.entryPage, filtered on the host) only when expanded;
 * and a per-host filter (source, destination, destination port, TCP state) under which the
 * group lists the matching entries directly.
 *
 * Listings are kept until the host's snapshot changes; an expanded listing then reloads as
 * many entries as it showed, in one round trip. Pages are offsets into a live table, so an
 * entry may move between pages when the table changes in between (the tooltip says so).
 */
import * as vscode from 'vscode';
import { describeFilter, validateEntryFilter, type EntryFilter } from '../core/fix/entries-fixes';
import { PORT_PROTOCOLS, TCP_STATES, ValidationError, validateProtocol } from '../core/fix/validate';
import type { ConntrackEntry, ConntrackTuple } from '../core/kernel/conntrackEntries';
import { formatDurationShort, formatInt, formatShare } from '../core/format';
import { HostEntry, type HostManager } from './hosts';
import type { HostsTree, Node } from './tree';
import { log } from './log';

export const ENTRY_PAGE_SIZE = 50;
export const LOAD_MORE_COMMAND = 'conntrack-doctor.loadMoreEntries';

export type EntryGrouping = 'state' | 'protocol' | 'source';

export type EntriesGroupNode = { readonly kind: 'group'; readonly host: HostEntry; readonly group: 'entries' };
export type EntryValueNode = { readonly kind: 'entryValue'; readonly host: HostEntry; readonly by: EntryGrouping; readonly value: string; readonly filter?: EntryFilter };
/** Nodes that list entries: a value of a grouping, or the Entries group itself while a filter is set. */
export type ListingNode = EntriesGroupNode | EntryValueNode;

export type EntryNode =
  | { readonly kind: 'entryGrouping'; readonly host: HostEntry; readonly by: EntryGrouping }
  | EntryValueNode
  | { readonly kind: 'entry'; readonly host: HostEntry; readonly entry: ConntrackEntry; readonly filter?: EntryFilter }
  | { readonly kind: 'entryMore'; readonly host: HostEntry; readonly listing: ListingNode };

interface Listing {
  readonly filter: EntryFilter;
  entries: ConntrackEntry[];
  total: number | undefined;
  unparsed: number;
  error: string | undefined;
  /** The snapshot the listing belongs to: a newer snapshot reloads it. */
  snapshotAt: number | undefined;
  /** The snapshot current when the last load failed: no automatic retry before the next one. */
  errorAt: number | undefined;
  loading: Promise<void> | undefined;
}

const GROUPING_TITLE: Record<EntryGrouping, string> = { state: 'by TCP state', protocol: 'by protocol', source: 'by source' };
const GROUPING_ICON: Record<EntryGrouping, string> = { state: 'symbol-enum', protocol: 'symbol-namespace', source: 'arrow-right' };

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The filter in words, without the address family when the addresses imply it. */
export function filterText(filter: EntryFilter): string {
  const text = describeFilter(filter);
  return filter.family === undefined ? text.replace(/^IPv[46], /, '') : text;
}

/** A filter with its keys in one order, so that equal filters give equal keys. */
function filterKey(filter: EntryFilter): string {
  return JSON.stringify(Object.entries(filter).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
}

function validOrUndefined(filter: EntryFilter): EntryFilter | undefined {
  try {
    validateEntryFilter(filter);
    return filter;
  } catch {
    return undefined;
  }
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

/** Per-host filter and paged listings of the Entries group; the tree delegates its entry nodes here. */
export class EntryBrowser {
  private readonly filters = new WeakMap<HostEntry, EntryFilter>();
  private readonly listings = new WeakMap<HostEntry, Map<string, Listing>>();
  /** Node objects are kept, so that one node can be refreshed on its own (the tree knows nodes by reference). */
  private readonly nodes = new WeakMap<HostEntry, Map<string, Node>>();

  constructor(private readonly changed: (node: Node | undefined) => void) {}

  filter(host: HostEntry): EntryFilter | undefined {
    return this.filters.get(host);
  }

  /** Sets (validated) or clears the host's filter and refreshes its Entries group. */
  setFilter(host: HostEntry, filter: EntryFilter | undefined): void {
    if (filter === undefined) this.filters.delete(host);
    else {
      validateEntryFilter(filter);
      this.filters.set(host, { ...filter });
    }
    const listings = this.listings.get(host);
    for (const key of [...(listings?.keys() ?? [])]) if (key.startsWith('filter\0')) listings?.delete(key);
    this.changed(this.groupNode(host));
  }

  groupNode(host: HostEntry): EntriesGroupNode {
    return this.node(host, 'group', () => ({ kind: 'group', host, group: 'entries' }));
  }

  /** The entries listed so far under a listing node, and how many matched in all (undefined before the first page). */
  loaded(listing: ListingNode): { entries: readonly ConntrackEntry[]; total: number | undefined; error: string | undefined; loading: boolean } | undefined {
    const l = this.listingOf(listing, false);
    return l ? { entries: l.entries, total: l.total, error: l.error, loading: l.loading !== undefined } : undefined;
  }

  groupItem(n: EntriesGroupNode): vscode.TreeItem {
    const item = new vscode.TreeItem('Entries', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `group:${n.host.id}:entries`;
    item.iconPath = new vscode.ThemeIcon(this.filters.has(n.host) ? 'filter-filled' : 'list-tree');
    const f = this.filters.get(n.host);
    const summary = n.host.snapshot?.entrySummary;
    if (f) {
      const l = this.listingOf(n, false);
      item.description = `filter: ${filterText(f)}${l?.total !== undefined ? ` · ${formatInt(l.total)} matching` : ''}`;
      item.tooltip = `Entries matching ${filterText(f)}, ${ENTRY_PAGE_SIZE} at a time.\nConntrack: Clear Entry Filter shows all entries again.`;
      item.contextValue = 'group.entries.filtered';
    } else {
      if (summary) item.description = `${formatInt(summary.entries)} ${summary.entries === 1 ? 'entry' : 'entries'}`;
      item.tooltip = 'The entries of the table, grouped; expand a value to list its entries. Conntrack: Filter Entries… lists only the entries matching a filter.';
      item.contextValue = 'group.entries';
    }
    return item;
  }

  treeItem(n: EntryNode): vscode.TreeItem {
    switch (n.kind) {
      case 'entryGrouping': {
        const item = new vscode.TreeItem(GROUPING_TITLE[n.by], vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `entries:${n.host.id}:${n.by}`;
        item.iconPath = new vscode.ThemeIcon(GROUPING_ICON[n.by]);
        const s = n.host.snapshot?.entrySummary;
        if (s && n.by === 'source') item.description = `top ${s.topSources.items.length} of ${formatInt(s.topSources.tracked)}`;
        if (s && n.by === 'state') item.description = `${formatInt(Object.values(s.byTcpState).reduce((a, b) => a + b, 0))} TCP`;
        return item;
      }
      case 'entryValue': {
        const item = new vscode.TreeItem(n.value, n.filter ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.id = `entries:${n.host.id}:${n.by}:${n.value}`;
        const count = this.valueCount(n);
        const total = n.host.snapshot?.entrySummary?.entries;
        item.description = count === undefined ? '' : `${formatInt(count)}${total ? ` (${formatShare(count, total)})` : ''}`;
        if (n.filter) {
          item.tooltip = `${formatInt(count ?? 0)} entries with ${filterText(n.filter)} at the last refresh. Expand to list them, ${ENTRY_PAGE_SIZE} at a time.`;
          item.contextValue = 'entries.filterable';
        } else item.tooltip = 'conntrack cannot select these entries by a filter';
        return item;
      }
      case 'entry': {
        const item = new vscode.TreeItem(entryLabel(n.entry), vscode.TreeItemCollapsibleState.None);
        item.description = `timeout ${formatDurationShort(n.entry.timeout)}`;
        item.tooltip = `${entryDetail(n.entry)}\n\nAs listed at the last page load; the kernel counts the timeout down.`;
        item.iconPath = new vscode.ThemeIcon(n.entry.unreplied ? 'arrow-small-right' : 'arrow-swap');
        if (n.filter) item.contextValue = 'entries.filterable';
        return item;
      }
      case 'entryMore': {
        const l = this.listingOf(n.listing, false);
        const shown = l?.entries.length ?? 0;
        const total = l?.total ?? 0;
        const next = Math.min(ENTRY_PAGE_SIZE, Math.max(0, total - shown));
        const item = new vscode.TreeItem(`Load ${formatInt(next)} more… (${formatInt(shown)} of ${formatInt(total)})`, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('fold-down');
        item.tooltip = 'Lists the next page. Pages are offsets into the live table: an entry can move between pages when the table changes.';
        item.contextValue = 'entries.more';
        item.command = { command: LOAD_MORE_COMMAND, title: 'Load more entries', arguments: [n.listing] };
        return item;
      }
    }
  }

  /** Children of the Entries group (groupings, or the filtered listing). */
  groupChildren(host: HostEntry): Node[] {
    if (this.filters.has(host)) return this.listingChildren(this.groupNode(host));
    const s = host.snapshot?.entrySummary;
    if (!s) {
      const why = host.snapshot?.unavailable?.find((u) => u.what === 'entry summary')?.why;
      return [{ kind: 'leaf', label: 'entry summary unavailable', ...(why ? { description: why, tooltip: why } : {}), icon: new vscode.ThemeIcon('warning') }];
    }
    return (['state', 'protocol', 'source'] as const).map((by) => this.node(host, `by\0${by}`, () => ({ kind: 'entryGrouping', host, by })));
  }

  children(n: EntryNode): Node[] {
    if (n.kind === 'entryValue') return n.filter ? this.listingChildren(n) : [];
    if (n.kind !== 'entryGrouping') return [];
    const s = n.host.snapshot?.entrySummary;
    if (!s) return [];
    const values: [string, number][] =
      n.by === 'state' ? Object.entries(s.byTcpState)
        : n.by === 'protocol' ? Object.entries(s.byProtocol)
          : s.topSources.items.map((i) => [i.key, i.count]);
    if (values.length === 0) return [{ kind: 'leaf', label: n.by === 'state' ? 'no TCP entries' : 'no entries' }];
    return values.sort((a, b) => b[1] - a[1]).map(([value]) => {
      const filter = valueFilter(n.by, value);
      return this.node(n.host, `value\0${n.by}\0${value}\0${filter ? filterKey(filter) : ''}`, () => ({ kind: 'entryValue', host: n.host, by: n.by, value, ...(filter ? { filter } : {}) }));
    });
  }

  /** Loads the listing's next page (or retries after an error), then refreshes that node only. */
  async loadMore(listing: ListingNode): Promise<void> {
    const l = this.listingOf(listing, true);
    if (!l) return;
    if (l.loading) return l.loading;
    if (l.total === undefined) return this.load(listing, l, 0, ENTRY_PAGE_SIZE, true);
    if (l.entries.length >= l.total && l.error === undefined) return;
    return this.load(listing, l, l.entries.length, ENTRY_PAGE_SIZE, false);
  }

  private valueCount(n: EntryValueNode): number | undefined {
    const s = n.host.snapshot?.entrySummary;
    if (!s) return undefined;
    if (n.by === 'state') return s.byTcpState[n.value];
    if (n.by === 'protocol') return s.byProtocol[n.value];
    return s.topSources.items.find((i) => i.key === n.value)?.count;
  }

  private node<T extends Node>(host: HostEntry, key: string, make: () => T): T {
    let map = this.nodes.get(host);
    if (!map) this.nodes.set(host, (map = new Map<string, Node>()));
    const known = map.get(key);
    if (known) return known as T;
    const made = make();
    map.set(key, made);
    return made;
  }

  private listingOf(n: ListingNode, create: boolean): Listing | undefined {
    const filter = n.kind === 'group' ? this.filters.get(n.host) : n.filter;
    if (!filter) return undefined;
    const key = `${n.kind === 'group' ? 'filter' : `value\0${n.by}\0${n.value}`}\0${filterKey(filter)}`;
    let map = this.listings.get(n.host);
    if (!map) this.listings.set(n.host, (map = new Map<string, Listing>()));
    let l = map.get(key);
    if (!l && create) map.set(key, (l = { filter, entries: [], total: undefined, unparsed: 0, error: undefined, snapshotAt: undefined, errorAt: undefined, loading: undefined }));
    return l;
  }

  /** What a listing node shows now; starts a load when it has none (or an outdated one) and refreshes the node when it is done. */
  private listingChildren(n: ListingNode): Node[] {
    const l = this.listingOf(n, true);
    if (!l) return [];
    const snapshotAt = n.host.snapshot?.takenAt;
    const fresh = l.total !== undefined && l.snapshotAt === snapshotAt;
    const failedNow = l.error !== undefined && l.errorAt === snapshotAt;
    if (!fresh && !l.loading && !failedNow) {
      // First page, or the same number of entries again after a new snapshot (one round trip).
      void this.load(n, l, 0, Math.max(ENTRY_PAGE_SIZE, l.entries.length), true);
    }
    const out: Node[] = l.entries.map((entry) => {
      const filter = entryFilter(entry);
      return { kind: 'entry', host: n.host, entry, ...(filter ? { filter } : {}) };
    });
    if (l.error !== undefined) {
      out.push({ kind: 'leaf', label: `Cannot list the entries: ${l.error}`, tooltip: `${l.error}\n\nClick to try again.`, icon: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')), contextValue: 'entries.error', command: { command: LOAD_MORE_COMMAND, title: 'Try again', arguments: [n] } });
    } else if (l.total === undefined || (l.loading && l.entries.length === 0)) {
      out.push({ kind: 'leaf', label: 'Loading entries…', icon: new vscode.ThemeIcon('loading~spin'), contextValue: 'entries.loading' });
    } else if (l.total === 0) {
      out.push({ kind: 'leaf', label: n.kind === 'group' ? 'No entries match the filter' : 'No matching entries now', description: n.kind === 'group' ? '' : 'the table changed since the last refresh', icon: new vscode.ThemeIcon('info') });
    } else if (l.entries.length < l.total) {
      out.push(this.node(n.host, `more\0${n.kind === 'group' ? 'group' : `${n.by}\0${n.value}`}\0${filterKey(l.filter)}`, () => ({ kind: 'entryMore', host: n.host, listing: n })));
    }
    if (l.unparsed > 0) out.push({ kind: 'leaf', label: `${formatInt(l.unparsed)} line(s) could not be read`, icon: new vscode.ThemeIcon('warning') });
    return out;
  }

  private load(n: ListingNode, l: Listing, offset: number, limit: number, replace: boolean): Promise<void> {
    const session = n.host.session;
    const snapshotAt = n.host.snapshot?.takenAt;
    const run = async (): Promise<void> => {
      try {
        if (!session) throw new Error(`${n.host.label} is not connected`);
        const page = await session.entryPage(offset, limit, { filter: l.filter });
        l.entries = replace ? page.entries : [...l.entries, ...page.entries];
        l.total = page.total;
        l.unparsed = replace ? page.unparsed : l.unparsed + page.unparsed;
        if (replace) l.snapshotAt = snapshotAt;
        l.error = undefined;
      } catch (err) {
        log.error(`listing the entries with ${filterText(l.filter)} on ${n.host.label}`, err);
        l.error = errorText(err);
        l.errorAt = snapshotAt;
      } finally {
        l.loading = undefined;
        this.changed(n);
      }
    };
    // Set before any of the work runs (run may fail at once), and never fired from inside getChildren.
    const loading = (async (): Promise<void> => {
      await Promise.resolve();
      await vscode.window.withProgress({ location: { viewId: 'conntrack.hosts' } }, run);
    })();
    l.loading = loading;
    return loading;
  }
}

function hostOf(arg: unknown): HostEntry | undefined {
  if (arg instanceof HostEntry) return arg;
  if (arg && typeof arg === 'object' && 'host' in arg && arg.host instanceof HostEntry) return arg.host;
  return undefined;
}

async function pickHost(hosts: HostManager, arg: unknown, candidates: (h: HostEntry) => boolean, title: string): Promise<HostEntry | undefined> {
  const given = hostOf(arg);
  if (given) return given;
  const list = hosts.list().filter(candidates);
  if (list.length <= 1) return list[0];
  return (await vscode.window.showQuickPick(list.map((h) => ({ label: h.label, description: h.target, host: h })), { title, ignoreFocusOut: true }))?.host;
}

type FilterField = 'src' | 'dst' | 'dport' | 'state';

/** The current filter with one field set (ports and states need TCP). */
function withField(current: EntryFilter, field: FilterField, value: string): EntryFilter {
  if (field === 'dport' || field === 'state') return { ...current, proto: 'tcp', [field]: value };
  return { ...current, [field]: value };
}

/** What is wrong with a typed value, in the user's words first (then the full filter's validation). */
function inputProblem(field: FilterField, value: string, filter: EntryFilter): string | undefined {
  if ((field === 'src' || field === 'dst') && !/^[0-9A-Fa-f.:]+(?:\/\d{1,3})?$/.test(value)) {
    return `${field}: ${JSON.stringify(value)} is not an IP address (only digits, a–f, ".", ":" and an optional /prefix)`;
  }
  if (field === 'dport' && !/^\d+$/.test(value)) return `dport: ${JSON.stringify(value)} is not a port (a number from 1 to 65535)`;
  return validationMessage(filter);
}

function validationMessage(filter: EntryFilter): string | undefined {
  try {
    validateEntryFilter(filter);
    return undefined;
  } catch (err) {
    return err instanceof ValidationError ? `${err.field}: ${err.reason}` : errorText(err);
  }
}

/** Asks for one field of the filter (added to the current one); undefined when cancelled, null for "clear". */
async function askFilter(host: HostEntry, current: EntryFilter | undefined): Promise<EntryFilter | null | undefined> {
  const base = current ?? {};
  const now = (v: string | number | undefined): string => (v === undefined ? '' : `now ${v}`);
  const fields = [
    { label: '$(arrow-right) Source address', description: now(base.src), detail: 'IPv4 or IPv6 address, optionally /prefix', field: 'src' as const },
    { label: '$(arrow-left) Destination address', description: now(base.dst), detail: 'IPv4 or IPv6 address, optionally /prefix', field: 'dst' as const },
    { label: '$(plug) Destination port (TCP)', description: now(base.dport), detail: '1–65535', field: 'dport' as const },
    { label: '$(symbol-enum) TCP state', description: now(base.state), detail: 'ESTABLISHED, TIME_WAIT, SYN_SENT…', field: 'state' as const },
    ...(current ? [{ label: '$(clear-all) Clear the filter', description: filterText(current), field: 'clear' as const }] : []),
  ];
  const pick = await vscode.window.showQuickPick(fields, {
    title: `Filter the entries of ${host.label}`,
    placeHolder: current ? `Add to or change the filter (${filterText(current)})` : 'List only the entries with…',
    ignoreFocusOut: true,
  });
  if (!pick) return undefined;
  if (pick.field === 'clear') return null;
  if (pick.field === 'state') {
    const counts = host.snapshot?.entrySummary?.byTcpState ?? {};
    const st = await vscode.window.showQuickPick(TCP_STATES.filter((s) => s !== 'NONE').map((s) => ({ label: s, description: counts[s] !== undefined ? formatInt(counts[s]) : '' })), { title: 'TCP state', ignoreFocusOut: true });
    if (!st) return undefined;
    const filter = withField(base, 'state', st.label);
    const problem = validationMessage(filter);
    if (problem) throw new Error(problem);
    return filter;
  }
  const field = pick.field;
  const value = await vscode.window.showInputBox({
    title: pick.label.replace(/^\$\([\w-]+\) /, ''),
    prompt: `${pick.detail}${current ? ` — added to the filter (${filterText(current)})` : ''}`,
    value: base[field] !== undefined ? String(base[field]) : '',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'enter a value (Escape cancels)' : inputProblem(field, v.trim(), withField(base, field, v.trim()))),
  });
  if (value === undefined || value.trim() === '') return undefined;
  const filter = withField(base, field, value.trim());
  const problem = inputProblem(field, value.trim(), filter);
  if (problem) throw new Error(problem);
  return filter;
}

/**
 * Filter Entries… (argument: a host, a tree node of a host; a node carrying `{ host, filter }`,
 * such as a value or an entry of the Entries group, filters by that directly), Clear Entry
 * Filter, and the internal load-more command of the listing nodes.
 */
export function registerEntryCommands(hosts: HostManager, tree: HostsTree): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: unknown[]) => Promise<unknown>): vscode.Disposable =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        log.error(id, err);
        void vscode.window.showErrorMessage(`Conntrack: ${errorText(err)}`);
        return undefined;
      }
    });
  const browser = tree.entries;
  return [
    reg('conntrack-doctor.filterEntries', async (arg) => {
      const host = await pickHost(hosts, arg, (h) => h.status === 'connected', 'Filter the entries of…');
      if (!host) return undefined;
      const given = arg && typeof arg === 'object' && 'filter' in arg ? (arg as { filter?: EntryFilter }).filter : undefined;
      const filter = given ?? (await askFilter(host, browser.filter(host)));
      if (filter === undefined) return undefined;
      browser.setFilter(host, filter ?? undefined);
      return filter ?? undefined;
    }),
    reg('conntrack-doctor.clearEntryFilter', async (arg) => {
      const host = await pickHost(hosts, arg, (h) => browser.filter(h) !== undefined, 'Clear the entry filter of…');
      if (host) browser.setFilter(host, undefined);
    }),
    reg(LOAD_MORE_COMMAND, async (arg) => {
      const n = arg as ListingNode | undefined;
      if (n && (n.kind === 'entryValue' || (n.kind === 'group' && n.group === 'entries'))) await browser.loadMore(n);
    }),
  ];
}
