/**
 * The Entries group of the Hosts tree: the table's entries grouped by TCP state, protocol and
 * source (counts from the snapshot's entry summary, no extra round trip), each value listing
 * its entries page by page (HostSession.entryPage, filtered on the host) only when expanded;
 * and a per-host filter (source, destination, destination port, TCP state) under which the
 * group lists the matching entries directly.
 *
 * The browser owns its nodes (EntryNode); the tree shows them (tree.ts imports only types from
 * here) and gives it a factory for plain leaves (messages such as "Loading entries…"). Text and
 * filters are entryText.ts (pure); the commands are entryCommands.ts.
 *
 * Listings belong to a connection: kept until the host's snapshot changes (an expanded listing
 * then reloads as many entries as it showed, in one round trip), dropped when it disconnects.
 * Pages are offsets into a live table, so an entry may move between pages when the table
 * changes in between (the tooltip says so).
 */
import * as vscode from 'vscode';
import { validateEntryFilter, type EntryFilter } from '../core/fix/entriesFixes';
import type { ConntrackEntry } from '../core/kernel/conntrackEntries';
import { errorMessage, formatDurationShort, formatInt, formatShare } from '../core/format';
import type { HostEntry } from './hosts';
import { entryDetail, entryFilter, entryLabel, filterKey, filterText, valueFilter, type EntryGrouping } from './entryText';
import { log } from './log';
import { describeEstimate, estimateRow, sampleLabel } from '../core/sampling';

export const ENTRY_PAGE_SIZE = 50;
export const LOAD_MORE_COMMAND = 'conntrack-doctor.loadMoreEntries';

/** The Entries group of one host. */
export type EntriesNode = { readonly kind: 'entries'; readonly host: HostEntry };
export type EntryValueNode = { readonly kind: 'entryValue'; readonly host: HostEntry; readonly by: EntryGrouping; readonly value: string; readonly filter?: EntryFilter };
/** Nodes that list entries: a value of a grouping, or the Entries group itself while a filter is set. */
export type ListingNode = EntriesNode | EntryValueNode;

export type EntryNode =
  | EntriesNode
  | { readonly kind: 'entryGrouping'; readonly host: HostEntry; readonly by: EntryGrouping }
  | EntryValueNode
  | { readonly kind: 'entry'; readonly host: HostEntry; readonly entry: ConntrackEntry; readonly filter?: EntryFilter }
  | { readonly kind: 'entryMore'; readonly host: HostEntry; readonly listing: ListingNode };

/** A plain row (a message, an error): the tree turns it into its own leaf node. */
export interface LeafSpec {
  readonly label: string;
  readonly description?: string;
  readonly tooltip?: string;
  readonly icon?: vscode.ThemeIcon;
  readonly contextValue?: string;
  readonly command?: vscode.Command;
}

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

/** Per-host filter and paged listings of the Entries group. */
export class EntryBrowser<Leaf> implements vscode.Disposable {
  private readonly filters = new WeakMap<HostEntry, EntryFilter>();
  private readonly listings = new WeakMap<HostEntry, Map<string, Listing>>();
  /** Node objects are kept, so that one node can be refreshed on its own (the tree knows nodes by reference). */
  private readonly nodes = new WeakMap<HostEntry, Map<string, EntryNode>>();
  private readonly changedEmitter = new vscode.EventEmitter<EntryNode>();
  /** A node whose children changed (a page loaded, a filter set). */
  readonly onDidChange = this.changedEmitter.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly leaf: (spec: LeafSpec) => Leaf,
    onDidDisconnect: vscode.Event<HostEntry>,
  ) {
    this.subscription = onDidDisconnect((host) => this.listings.delete(host));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changedEmitter.dispose();
  }

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
    this.changedEmitter.fire(this.root(host));
  }

  /** The host's Entries group node. */
  root(host: HostEntry): EntriesNode {
    return this.node(host, 'group', () => ({ kind: 'entries', host }));
  }

  /** The entries listed so far under a listing node, and how many matched in all (undefined before the first page). */
  loaded(listing: ListingNode): { entries: readonly ConntrackEntry[]; total: number | undefined; error: string | undefined; loading: boolean } | undefined {
    const l = this.listingOf(listing, false);
    return l ? { entries: l.entries, total: l.total, error: l.error, loading: l.loading !== undefined } : undefined;
  }

  private rootItem(n: EntriesNode): vscode.TreeItem {
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
      const est = n.host.diagnosis?.entries;
      if (est && !est.exact) item.description = sampleLabel(est);
      else if (summary) item.description = `${formatInt(summary.entries)} ${summary.entries === 1 ? 'entry' : 'entries'}`;
      item.tooltip = 'The entries of the table, grouped; expand a value to list its entries. Conntrack: Filter Entries… lists only the entries matching a filter.';
      item.contextValue = 'group.entries';
    }
    return item;
  }

  treeItem(n: EntryNode): vscode.TreeItem {
    switch (n.kind) {
      case 'entries':
        return this.rootItem(n);
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
        const est = n.host.diagnosis?.entries;
        // A sample's count is of the entries read: shown scaled to the table, with its bounds.
        const estimate = count !== undefined && est && !est.exact ? describeEstimate(estimateRow(est, n.value, count)) : undefined;
        item.description = count === undefined ? '' : estimate ?? `${formatInt(count)}${total ? ` (${formatShare(count, total)})` : ''}`;
        if (n.filter) {
          item.tooltip = `${estimate ?? `${formatInt(count ?? 0)} entries`} with ${filterText(n.filter)} at the last refresh${est && !est.exact ? ` (${sampleLabel(est)})` : ''}. Expand to list them, ${ENTRY_PAGE_SIZE} at a time.`;
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

  /** The children of an entries node: groupings, values, entries (a page at a time) and messages as leaves. */
  children(n: EntryNode): (EntryNode | Leaf)[] {
    if (n.kind === 'entries') return this.rootChildren(n.host);
    if (n.kind === 'entryValue') return n.filter ? this.listingChildren(n) : [];
    if (n.kind !== 'entryGrouping') return [];
    const s = n.host.snapshot?.entrySummary;
    if (!s) return [];
    const values: [string, number][] =
      n.by === 'state' ? Object.entries(s.byTcpState)
        : n.by === 'protocol' ? Object.entries(s.byProtocol)
          : s.topSources.items.map((i) => [i.key, i.count]);
    if (values.length === 0) return [this.leaf({ label: n.by === 'state' ? 'no TCP entries' : 'no entries' })];
    return values.sort((a, b) => b[1] - a[1]).map(([value]) => {
      const filter = valueFilter(n.by, value);
      return this.node(n.host, `value\0${n.by}\0${value}\0${filter ? filterKey(filter) : ''}`, () => ({ kind: 'entryValue', host: n.host, by: n.by, value, ...(filter ? { filter } : {}) }));
    });
  }

  /** Children of the Entries group (groupings, or the filtered listing). */
  private rootChildren(host: HostEntry): (EntryNode | Leaf)[] {
    if (this.filters.has(host)) return this.listingChildren(this.root(host));
    const s = host.snapshot?.entrySummary;
    if (!s) {
      const why = host.snapshot?.unavailable?.find((u) => u.what === 'entry summary')?.why;
      return [this.leaf({ label: 'entry summary unavailable', ...(why ? { description: why, tooltip: why } : {}), icon: new vscode.ThemeIcon('warning') })];
    }
    return (['state', 'protocol', 'source'] as const).map((by) => this.node(host, `by\0${by}`, () => ({ kind: 'entryGrouping', host, by })));
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

  private node<T extends EntryNode>(host: HostEntry, key: string, make: () => T): T {
    let map = this.nodes.get(host);
    if (!map) this.nodes.set(host, (map = new Map<string, EntryNode>()));
    const known = map.get(key);
    if (known) return known as T;
    const made = make();
    map.set(key, made);
    return made;
  }

  private listingOf(n: ListingNode, create: boolean): Listing | undefined {
    const filter = n.kind === 'entries' ? this.filters.get(n.host) : n.filter;
    if (!filter) return undefined;
    const key = `${n.kind === 'entries' ? 'filter' : `value\0${n.by}\0${n.value}`}\0${filterKey(filter)}`;
    let map = this.listings.get(n.host);
    if (!map) this.listings.set(n.host, (map = new Map<string, Listing>()));
    let l = map.get(key);
    if (!l && create) map.set(key, (l = { filter, entries: [], total: undefined, unparsed: 0, error: undefined, snapshotAt: undefined, errorAt: undefined, loading: undefined }));
    return l;
  }

  /** What a listing node shows now; starts a load when it has none (or an outdated one) and refreshes the node when it is done. */
  private listingChildren(n: ListingNode): (EntryNode | Leaf)[] {
    const l = this.listingOf(n, true);
    if (!l) return [];
    const snapshotAt = n.host.snapshot?.takenAt;
    const fresh = l.total !== undefined && l.snapshotAt === snapshotAt;
    const failedNow = l.error !== undefined && l.errorAt === snapshotAt;
    if (!fresh && !l.loading && !failedNow) {
      // First page, or the same number of entries again after a new snapshot (one round trip).
      void this.load(n, l, 0, Math.max(ENTRY_PAGE_SIZE, l.entries.length), true);
    }
    const out: (EntryNode | Leaf)[] = l.entries.map((entry) => {
      const filter = entryFilter(entry);
      return { kind: 'entry', host: n.host, entry, ...(filter ? { filter } : {}) };
    });
    if (l.error !== undefined) {
      out.push(this.leaf({ label: `Cannot list the entries: ${l.error}`, tooltip: `${l.error}\n\nClick to try again.`, icon: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')), contextValue: 'entries.error', command: { command: LOAD_MORE_COMMAND, title: 'Try again', arguments: [n] } }));
    } else if (l.total === undefined || (l.loading && l.entries.length === 0)) {
      out.push(this.leaf({ label: 'Loading entries…', icon: new vscode.ThemeIcon('loading~spin'), contextValue: 'entries.loading' }));
    } else if (l.total === 0) {
      out.push(this.leaf({ label: n.kind === 'entries' ? 'No entries match the filter' : 'No matching entries now', description: n.kind === 'entries' ? '' : 'the table changed since the last refresh', icon: new vscode.ThemeIcon('info') }));
    } else if (l.entries.length < l.total) {
      out.push(this.node(n.host, `more\0${n.kind === 'entries' ? 'group' : `${n.by}\0${n.value}`}\0${filterKey(l.filter)}`, () => ({ kind: 'entryMore', host: n.host, listing: n })));
    }
    if (l.unparsed > 0) out.push(this.leaf({ label: `${formatInt(l.unparsed)} line(s) could not be read`, icon: new vscode.ThemeIcon('warning') }));
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
        l.error = errorMessage(err);
        l.errorAt = snapshotAt;
      } finally {
        l.loading = undefined;
        this.changedEmitter.fire(n);
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
