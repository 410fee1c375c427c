/**
 * The Entries group's commands, given the browser they act on: Filter Entries… (argument: a
 * host, a tree node of a host; a node carrying `{ host, filter }`, such as a value or an entry,
 * filters by that directly), Clear Entry Filter, and the listing nodes' internal load-more. And
 * askFilter, the one way a filter is asked for (also by Delete Entries… from the palette):
 * every typed value is validated as it is typed.
 */
import * as vscode from 'vscode';
import type { EntryFilter } from '../core/fix/entriesFixes';
import { TCP_STATES } from '../core/fix/validate';
import { formatInt } from '../core/format';
import { hostCommand, type CommandSpec } from './commands';
import type { EntryBrowser, ListingNode } from './entryBrowser';
import { filterProblem, filterText, inputProblem, withField } from './entryText';
import type { HostEntry, HostManager } from './hosts';

/**
 * Asks for one field of a filter, added to `current`. Undefined when cancelled; null for "clear"
 * (offered when there is a current filter).
 */
export async function askFilter(host: HostEntry, current: EntryFilter | undefined, title = `Filter the entries of ${host.label}`): Promise<EntryFilter | null | undefined> {
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
    title,
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
    const problem = filterProblem(filter);
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

/** The filter an argument carries (`{ host, filter }`: a grouping value or an entry of the tree). */
export function filterOf(arg: unknown): EntryFilter | undefined {
  return arg !== null && typeof arg === 'object' && 'filter' in arg && arg.filter !== null && typeof arg.filter === 'object' ? arg.filter : undefined;
}

function isListing(arg: unknown): arg is ListingNode {
  return arg !== null && typeof arg === 'object' && 'kind' in arg && (arg.kind === 'entries' || arg.kind === 'entryValue');
}

export function entryCommands<Leaf>(hosts: HostManager, browser: EntryBrowser<Leaf>): CommandSpec[] {
  return [
    hostCommand(hosts, 'filterEntries', { connected: true, title: 'Filter the entries of…' }, async (host, arg) => {
      const filter = filterOf(arg) ?? (await askFilter(host, browser.filter(host)));
      if (filter === undefined) return undefined;
      browser.setFilter(host, filter ?? undefined);
      return filter ?? undefined;
    }),
    hostCommand(hosts, 'clearEntryFilter', { where: (h) => browser.filter(h) !== undefined, title: 'Clear the entry filter of…', none: 'Conntrack: no host has an entry filter.' }, (host) => browser.setFilter(host, undefined)),
    { id: 'loadMoreEntries', run: (arg: unknown) => (isListing(arg) ? browser.loadMore(arg) : undefined) },
  ];
}
