/**
 * The Entries group of the Hosts tree against the real test host, filled with 2,000 ASSURED
 * flows by scripts/vscode/test.sh. Listings load lazily: the tests wait for the tree's own
 * change events, and check what the tree lists against `conntrack -L` run inside the host's
 * namespace (harness/host/ctd-host exec), independently of the product.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { after, before, describe, it } from './harness';
import { waitForEvent } from './waitFor';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import type { HostEntry } from '../../../src/extension/hosts';
import type { Node } from '../../../src/extension/tree';

import { extensionWithTestHost, onHost as onHostArgs } from './testHost';

type EntryLeaf = Extract<Node, { kind: 'entry' }>;

/** A command run inside the test host's namespaces, not through the product. */
const onHost = (...cmd: string[]): string => onHostArgs(cmd);

const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');

describe('entries in the hosts tree', () => {
  let api: ConntrackDoctorApi;
  let host: HostEntry;
  const original = { showQuickPick: vscode.window.showQuickPick, showInputBox: vscode.window.showInputBox, showErrorMessage: vscode.window.showErrorMessage };
  const win = vscode.window as unknown as Record<keyof typeof original, unknown>;

  const tree = (): ConntrackDoctorApi['tree'] => api.tree;
  const item = (n: Node): vscode.TreeItem => tree().getTreeItem(n);
  const label = (n: Node): string => {
    const l = item(n).label;
    return typeof l === 'string' ? l : (l?.label ?? '');
  };
  const tooltip = (n: Node): string => {
    const t = item(n).tooltip;
    return typeof t === 'string' ? t : (t?.value ?? '');
  };
  const isLoading = (children: Node[]): boolean => children.some((c) => item(c).contextValue === 'entries.loading');

  /** The children of a listing once loaded: the first call starts the load; its end fires a change for the node. */
  async function loaded(node: Node, accept: (children: Node[]) => boolean = () => true): Promise<Node[]> {
    await waitForEvent(tree().onDidChangeTreeData, (e) => e === node && !isLoading(tree().getChildren(node)) && accept(tree().getChildren(node)), {
      already: () => node,
      timeoutMs: 60_000,
      what: `the entries of "${label(node)}"`,
    });
    return tree().getChildren(node);
  }

  function entriesGroup(): Node {
    const hostNode = tree().getChildren().find((n) => n.kind === 'host' && n.host === host);
    assert.ok(hostNode, 'host node missing');
    const children = tree().getChildren(hostNode);
    const group = children.find((n) => n.kind === 'entries');
    assert.ok(group, `no Entries group: ${children.map(label).join(', ')}`);
    // after Top talkers, and the other groups are still there
    const groups = children.map((n) => (n.kind === 'group' ? n.group : n.kind));
    assert.deepEqual(groups, ['usage', 'findings', 'counters', 'timeouts', 'talkers', 'entries', 'files']);
    return group;
  }

  function child(parent: Node, name: string): Node {
    const children = tree().getChildren(parent);
    const found = children.find((n) => label(n) === name);
    assert.ok(found, `no "${name}" under "${label(parent)}": ${children.map(label).join(', ')}`);
    return found;
  }

  const entryLeaves = (children: Node[]): EntryLeaf[] => children.filter((n): n is EntryLeaf => n.kind === 'entry');

  before(async () => {
    ({ api, host } = await extensionWithTestHost());
    const all = await vscode.commands.getCommands(true);
    for (const c of ['conntrack-doctor.filterEntries', 'conntrack-doctor.clearEntryFilter', 'conntrack-doctor.loadMoreEntries']) assert.ok(all.includes(c), `${c} is not registered (extension.ts wiring)`);
    await vscode.commands.executeCommand('conntrack-doctor.connect', host);
    assert.equal(host.status, 'connected', host.error);
    // independent of the order of the spec files: start from no filter and a fresh snapshot
    await vscode.commands.executeCommand('conntrack-doctor.clearEntryFilter', host);
    await vscode.commands.executeCommand('conntrack-doctor.refresh', host);
  });

  after(async () => {
    win.showQuickPick = original.showQuickPick;
    win.showInputBox = original.showInputBox;
    win.showErrorMessage = original.showErrorMessage;
    if (host) await vscode.commands.executeCommand('conntrack-doctor.clearEntryFilter', host);
  });

  it('groups the entries by TCP state, protocol and source, with the counts of the snapshot', () => {
    const group = entriesGroup();
    const summary = host.snapshot?.entrySummary;
    assert.ok(summary, `no entry summary: ${JSON.stringify(host.snapshot?.unavailable)}`);
    assert.equal(item(group).description, `${summary.entries.toLocaleString('en-US')} entries`);
    assert.equal(item(group).contextValue, 'group.entries');
    assert.deepEqual(tree().getChildren(group).map(label), ['by TCP state', 'by protocol', 'by source']);

    const established = child(child(group, 'by TCP state'), 'ESTABLISHED');
    const n = Number(String(item(established).description).split(' ')[0]?.replace(/,/g, ''));
    assert.ok(n >= 2000, `ESTABLISHED ${n}`);
    assert.equal(item(established).contextValue, 'entries.filterable');
    assert.deepEqual(established.kind === 'entryValue' ? established.filter : undefined, { proto: 'tcp', state: 'ESTABLISHED' });
    assert.equal(item(established).collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);

    const tcp = child(child(group, 'by protocol'), 'tcp');
    assert.ok(Number(String(item(tcp).description).split(' ')[0]?.replace(/,/g, '')) >= 2000);
    const sources = tree().getChildren(child(group, 'by source'));
    assert.equal(sources.length, summary.topSources.items.length);
    assert.ok(sources.length > 1, 'the generated flows come from many sources');
  });

  it('expanding ESTABLISHED lists 50 entries and a load-more node; loading more lists 100', async () => {
    const established = child(child(entriesGroup(), 'by TCP state'), 'ESTABLISHED');
    const first = await loaded(established);
    const leaves = entryLeaves(first);
    assert.equal(leaves.length, 50);
    for (const leaf of leaves) {
      const ti = item(leaf);
      assert.match(label(leaf), /^tcp \d+\.\d+\.\d+\.\d+:\d+ → \d+\.\d+\.\d+\.\d+:\d+ {2}ESTABLISHED {2}\[ASSURED\]$/);
      assert.match(String(ti.description), /^timeout \d+ (d|h|min|s)/);
      assert.match(tooltip(leaf), /original: .*\nreply: /);
      assert.equal(ti.contextValue, 'entries.filterable');
      assert.equal(leaf.entry.state, 'ESTABLISHED');
      assert.deepEqual(leaf.filter, { proto: 'tcp', src: leaf.entry.orig.src, dst: leaf.entry.orig.dst, sport: leaf.entry.orig.sport, dport: leaf.entry.orig.dport });
    }
    const total = lines(onHost('conntrack', '-L', '-p', 'tcp', '--state', 'ESTABLISHED')).length;
    const more = first[first.length - 1];
    assert.ok(more && more.kind === 'entryMore', `no load-more node: ${first.map(label).slice(-2).join(', ')}`);
    const m = /^Load 50 more… \(50 of ([\d,]+)\)$/.exec(label(more));
    assert.ok(m, label(more));
    assert.ok(Math.abs(Number(m[1]?.replace(/,/g, '')) - total) <= 5, `${m[1]} listed vs ${total} on the host`);

    const command = item(more).command;
    assert.ok(command);
    const grown = waitForEvent(tree().onDidChangeTreeData, (e) => e === established, { timeoutMs: 60_000, what: 'the next page' });
    await vscode.commands.executeCommand(command.command, ...((command.arguments ?? []) as unknown[]));
    await grown;
    const second = tree().getChildren(established);
    const all = entryLeaves(second);
    assert.equal(all.length, 100);
    assert.equal(new Set(all.map((l) => label(l))).size, 100, 'a page repeated entries of the previous one');
    assert.match(label(second[second.length - 1] ?? first[0] ?? established), /^Load 50 more… \(100 of [\d,]+\)$/);
  }, { timeoutMs: 120_000 });

  it('a filter by a source (asked, validated) lists only that source\'s entries, as many as conntrack -L -s finds', async () => {
    const established = child(child(entriesGroup(), 'by TCP state'), 'ESTABLISHED');
    const sample = entryLeaves(await loaded(established))[0];
    assert.ok(sample);
    const addr = sample.entry.orig.src;

    const fieldsOffered: string[] = [];
    const validation: Record<string, string | undefined> = {};
    win.showQuickPick = (items: readonly (vscode.QuickPickItem & { field?: string })[]) => {
      fieldsOffered.push(...items.map((i) => i.field ?? i.label));
      return Promise.resolve(items.find((i) => i.field === 'src'));
    };
    win.showInputBox = async (options: vscode.InputBoxOptions) => {
      for (const v of ['a; rm -rf /', '999.1.1.1', addr]) validation[v] = (await options.validateInput?.(v)) as string | undefined;
      return addr;
    };
    const group = entriesGroup();
    let applied: unknown;
    try {
      applied = await vscode.commands.executeCommand('conntrack-doctor.filterEntries', host);
    } finally {
      win.showQuickPick = original.showQuickPick;
      win.showInputBox = original.showInputBox;
    }
    assert.deepEqual(fieldsOffered, ['src', 'dst', 'dport', 'state']);
    assert.deepEqual(applied, { src: addr });
    assert.match(validation['a; rm -rf /'] ?? '', /^src: "a; rm -rf \/" is not an IP address/);
    assert.match(validation['999.1.1.1'] ?? '', /^src: /);
    assert.equal(validation[addr], undefined);

    const children = await loaded(group);
    const leaves = entryLeaves(children);
    const expected = lines(onHost('conntrack', '-L', '-s', addr));
    assert.ok(expected.length > 0);
    assert.ok(leaves.length > 0);
    for (const leaf of leaves) {
      assert.equal(leaf.entry.orig.src, addr);
      assert.ok(label(leaf).includes(` ${addr}:`), label(leaf));
    }
    const description = String(item(group).description);
    assert.ok(description.startsWith(`filter: source ${addr} · `), description);
    const matching = Number(/· ([\d,]+) matching$/.exec(description)?.[1]?.replace(/,/g, ''));
    assert.equal(matching, expected.length, `${description} vs conntrack -L -s ${addr}: ${expected.length}`);
    assert.equal(leaves.length, Math.min(50, expected.length));
    assert.equal(item(group).contextValue, 'group.entries.filtered');
  }, { timeoutMs: 120_000 });

  it('a bad filter is refused with its reason; the filter of a value node applies directly; clearing shows the groups again', async () => {
    const errors: string[] = [];
    win.showErrorMessage = (message: string) => {
      errors.push(message);
      return Promise.resolve(undefined);
    };
    const before = api.tree.entries.filter(host);
    try {
      await vscode.commands.executeCommand('conntrack-doctor.filterEntries', { host, filter: { src: 'a; rm -rf /' } });
    } finally {
      win.showErrorMessage = original.showErrorMessage;
    }
    assert.ok(errors.some((e) => /src: .*a; rm -rf/.test(e)), errors.join(' | '));
    assert.deepEqual(api.tree.entries.filter(host), before, 'a refused filter changed the filter');

    await vscode.commands.executeCommand('conntrack-doctor.clearEntryFilter', host);
    const group = entriesGroup();
    const tcp = child(child(group, 'by protocol'), 'tcp');
    await vscode.commands.executeCommand('conntrack-doctor.filterEntries', tcp);
    assert.deepEqual(api.tree.entries.filter(host), { proto: 'tcp' });
    const leaves = entryLeaves(await loaded(group));
    assert.equal(leaves.length, 50);
    assert.ok(leaves.every((l) => l.entry.proto === 'tcp'));

    await vscode.commands.executeCommand('conntrack-doctor.clearEntryFilter', host);
    assert.equal(api.tree.entries.filter(host), undefined);
    assert.deepEqual(tree().getChildren(group).map(label), ['by TCP state', 'by protocol', 'by source']);
    assert.ok(!String(item(group).description).includes('filter'));
  }, { timeoutMs: 120_000 });

  it('a listing that cannot be loaded shows an error leaf (not a throw) and loads again once the host is back', async () => {
    const sources = child(entriesGroup(), 'by source');
    const value = tree().getChildren(sources).find((n) => n.kind === 'entryValue' && tree().entries.loaded(n) === undefined);
    assert.ok(value && value.kind === 'entryValue', 'no source left unexpanded');
    await api.hosts.disconnect(host);
    const failed = await loaded(value);
    const error = failed.find((n) => item(n).contextValue === 'entries.error');
    assert.ok(error, failed.map(label).join(', '));
    assert.match(label(error), /^Cannot list the entries: .*not connected/);
    assert.equal(item(error).command?.command, 'conntrack-doctor.loadMoreEntries');
    // no automatic retry against the same snapshot
    assert.deepEqual(tree().getChildren(value).map(label), failed.map(label));

    await vscode.commands.executeCommand('conntrack-doctor.connect', host);
    assert.equal(host.status, 'connected', host.error);
    const leaves = entryLeaves(await loaded(value, (c) => !c.some((n) => item(n).contextValue === 'entries.error')));
    const expected = lines(onHost('conntrack', '-L', '-s', value.value)).length;
    assert.equal(leaves.length, Math.min(50, expected));
    assert.ok(leaves.every((l) => l.entry.orig.src === value.value));
  }, { timeoutMs: 120_000 });
  it('with a sample smaller than the table the top talkers are estimates marked "sampled: K of N"; Full Count makes them exact', async () => {
    const cfg = vscode.workspace.getConfiguration('conntrackDoctor');
    await cfg.update('entrySampleSize', 500, vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('conntrack-doctor.refresh', host);
      const hostNode = tree().getChildren().find((n) => n.kind === 'host' && n.host === host);
      assert.ok(hostNode);
      const talkers = tree().getChildren(hostNode).find((n) => n.kind === 'group' && n.group === 'talkers');
      assert.ok(talkers);
      const total = Number(onHost('cat', '/proc/sys/net/netfilter/nf_conntrack_count').trim());
      assert.ok(total > 500, `the suite host has ${total} entries`);
      assert.match(String(item(talkers).description), /^sampled: 500 of [\d,]+ entries$/);
      assert.equal(item(talkers).contextValue, 'group.talkers');
      assert.match(String(item(entriesGroup()).description), /^sampled: 500 of /);
      const rows = tree().getChildren(talkers);
      assert.equal(label(rows[0] as Node), 'sampled');
      const src = rows.find((r) => label(r).startsWith('src '));
      assert.ok(src, rows.map(label).join(', '));
      assert.match(String(item(src).description), /^≈[\d,]+ entries \([\d.]+ %, 95 %: [\d.]+ %–[\d.]+ %\)$/);
      assert.equal(host.diagnosis?.entries?.sampleSize, 500);

      await vscode.commands.executeCommand('conntrack-doctor.fullCount', host);
      const after = host.diagnosis?.entries;
      assert.equal(after?.exact, true, JSON.stringify(after));
      assert.ok(Math.abs((after?.total ?? 0) - total) <= 20, `${after?.total} vs ${total}`);
      assert.match(String(item(talkers).description), /^exact: all [\d,]+ entries$/);
      const exactSrc = tree().getChildren(talkers).find((r) => label(r).startsWith('src '));
      assert.match(String(item(exactSrc as Node).description), /^[\d,]+ entries \([\d.]+ %\)$/);
    } finally {
      await cfg.update('entrySampleSize', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('conntrack-doctor.refresh', host);
    }
  }, { timeoutMs: 120_000 });
});
