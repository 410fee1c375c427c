/**
 * The usage chart against the real test host (scripts/vscode/test.sh: CTD_TEST_SSH_CONFIG,
 * CTD_TEST_HOST, CTD_TEST_HOST_NAME). The count and max it shows are checked against the host's
 * own, read independently inside its namespace with harness/host/ctd-host exec.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { after, before, describe, it } from './harness';
import { waitForEvent } from './waitFor';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import type { HostEntry } from '../../../src/extension/hosts';

import { extensionWithTestHost, onHost as onHostArgs } from './testHost';

/** A command run inside the test host's namespaces, not through the product. */
const onHost = (...cmd: string[]): string => onHostArgs(cmd);

function cell(html: string, field: string): string {
  const v = new RegExp(`<td data-field="${field}">([^<]*)</td>`).exec(html)?.[1];
  assert.ok(v !== undefined, `no ${field} cell in the chart`);
  return v;
}

const toNumber = (s: string): number => Number(s.replace(/,/g, ''));

describe('usage chart', () => {
  let api: ConntrackDoctorApi;
  let host: HostEntry;
  const panels: vscode.WebviewPanel[] = [];

  before(async () => {
    ({ api, host } = await extensionWithTestHost());
    const all = await vscode.commands.getCommands(true);
    assert.ok(all.includes('conntrack-doctor.showUsageChart'), 'conntrack-doctor.showUsageChart is not registered (extension.ts wiring)');
  });

  after(() => {
    for (const p of panels) p.dispose(); // a no-op for a panel already closed
  });

  it('shows the polling history with the host\'s real count and max, under a strict CSP and without scripts', async () => {
    await vscode.commands.executeCommand('conntrack-doctor.connect', host);
    assert.equal(host.status, 'connected', host.error);
    await vscode.commands.executeCommand('conntrack-doctor.refresh', host);
    await vscode.commands.executeCommand('conntrack-doctor.refresh', host);
    assert.ok(host.history.length >= 2, `${host.history.length} samples`);

    const panel = await vscode.commands.executeCommand<vscode.WebviewPanel | undefined>('conntrack-doctor.showUsageChart', host);
    assert.ok(panel, 'the command returned no panel');
    panels.push(panel);
    assert.equal(panel.title, `Conntrack usage — ${host.label}`);
    assert.equal(panel.viewType, 'conntrack.usageChart');
    assert.equal(panel.webview.options.enableScripts, false);
    assert.deepEqual(panel.webview.options.localResourceRoots, []);

    const html = panel.webview.html;
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /style-src 'nonce-[A-Za-z0-9+/=]+'(;|$)/);
    assert.ok(!/<script/i.test(html), 'a script tag in the chart');
    assert.ok(!/https?:/i.test(html), 'a URL in the chart');
    assert.equal(Number(/data-samples="(\d+)"/.exec(html)?.[1]), host.history.length);
    assert.equal([...html.matchAll(/<circle class="pt count"/g)].length, host.history.filter((p) => p.count !== undefined).length);

    const count = toNumber(cell(html, 'count'));
    const max = toNumber(cell(html, 'max'));
    const realCount = Number(onHost('conntrack', '-C').trim());
    const realMax = Number(onHost('cat', '/proc/sys/net/netfilter/nf_conntrack_max').trim());
    assert.equal(max, realMax);
    // the table holds the 2,000 generated flows plus our own SSH connections
    assert.ok(realCount >= 2000, `the host has ${realCount} entries: was it filled?`);
    assert.ok(Math.abs(count - realCount) <= 5, `chart ${count} vs host ${realCount}`);
    assert.equal(cell(html, 'percent'), `${((100 * count) / max).toFixed(1)} %`);
  }, { timeoutMs: 90_000 });

  it('re-renders with a fresh nonce when the host is refreshed', async () => {
    const panel = await vscode.commands.executeCommand<vscode.WebviewPanel | undefined>('conntrack-doctor.showUsageChart', host);
    assert.ok(panel);
    const before = panel.webview.html;
    const samples = host.history.length;
    const changed = waitForEvent(api.hosts.onDidChange, (e) => e === host && host.history.length > samples, { timeoutMs: 60_000, what: 'a new sample of the host' });
    await vscode.commands.executeCommand('conntrack-doctor.refresh', host);
    await changed;
    const html = panel.webview.html;
    assert.notEqual(html, before);
    const nonce = (s: string): string | undefined => /'nonce-([^']+)'/.exec(s)?.[1];
    assert.notEqual(nonce(html), nonce(before));
    assert.ok(html.includes(`<style nonce="${nonce(html) ?? ''}">`));
    assert.equal(Number(/data-samples="(\d+)"/.exec(html)?.[1]), host.history.length);
  }, { timeoutMs: 90_000 });

  it('keeps one panel per host: a tree node or the palette reveals the same one; a closed one is replaced', async () => {
    const first = await vscode.commands.executeCommand<vscode.WebviewPanel | undefined>('conntrack-doctor.showUsageChart', host);
    const fromNode = await vscode.commands.executeCommand<vscode.WebviewPanel | undefined>('conntrack-doctor.showUsageChart', { kind: 'host', host });
    assert.ok(first && fromNode);
    assert.equal(fromNode, first);

    // from the palette: one connected host is taken as is; several are offered in a quick pick
    const original = vscode.window.showQuickPick;
    const offered: string[] = [];
    (vscode.window as { showQuickPick: unknown }).showQuickPick = (items: readonly { label: string; host?: HostEntry }[]) => {
      offered.push(...items.map((i) => i.label));
      return Promise.resolve(items.find((i) => i.host === host));
    };
    let fromPalette: vscode.WebviewPanel | undefined;
    try {
      fromPalette = await vscode.commands.executeCommand<vscode.WebviewPanel | undefined>('conntrack-doctor.showUsageChart');
    } finally {
      (vscode.window as { showQuickPick: unknown }).showQuickPick = original;
    }
    assert.equal(fromPalette, first);
    const connected = api.hosts.list().filter((h) => h.status === 'connected');
    if (connected.length > 1) assert.ok(offered.includes(host.label), offered.join(', '));

    const closed = waitForEvent(first.onDidDispose, () => true, { what: 'the panel to close' });
    first.dispose();
    await closed;
    const next = await vscode.commands.executeCommand<vscode.WebviewPanel | undefined>('conntrack-doctor.showUsageChart', host);
    assert.ok(next);
    panels.push(next);
    assert.notEqual(next, first);
    assert.match(next.webview.html, /<svg id="count-chart"/);
  }, { timeoutMs: 60_000 });
});
