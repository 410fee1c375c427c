/**
 * Connecting and the periodic refresh against the real test host (issue 18, items 5 and 6;
 * issue 13): one refresh per host at a time (the connect's own and the timer's never run
 * together, and the interval counts from the end of the first picture), the first picture has
 * rates, and the periodic refresh runs only the frequent collection (no table dump).
 * What ran on the host is read from the commands the extension reports (the log channel's
 * lines, HostManager.onDidRunCommand); INVALID packets are sent by the test host itself.
 * A file changed while the CPU budget puts off its re-read: the host's row says so until it is read.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { after, before, describe, it, note } from './harness';
import { waitForEvent } from './waitFor';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import type { HostCommandEvent, HostEntry } from '../../../src/extension/hosts';
import { extensionWithTestHost, onHost, testHostEnv } from './testHost';

interface Ran {
  readonly command: string;
  readonly start: number;
  readonly end: number;
}

/** The collection script's command line: `sh -s -- NONCE PART` (24 hex digits), with or without sudo. */
const isCollection = (command: string): boolean => /\bsh -s -- [0-9a-f]{24} (all|frequent)$/.test(command);

/** INVALID packets into the host until stopped (bursts of `ctd-host invalid`, one after the other). */
function sendInvalidPackets(hostName: string): { stop: () => Promise<void> } {
  let stopped = false;
  let child: ChildProcess | undefined;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      child = spawn('harness/host/ctd-host', ['invalid', hostName, '200', '--to', 'local'], { cwd: process.env['CTD_REPO'] ?? process.cwd(), stdio: 'ignore' });
      await new Promise((resolve) => child?.once('exit', resolve));
    }
  };
  const running = loop();
  return {
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

describe('connecting and the periodic refresh', () => {
  let api: ConntrackDoctorApi;
  let host: HostEntry;
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('conntrackDoctor');

  before(async () => {
    ({ api, host } = await extensionWithTestHost());
    if (host.session) await api.hosts.disconnect(host);
    // A refresh every second while the view is visible: today's timer then fires during the connect's own refresh.
    await config().update('refreshIntervalSeconds', 1, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('conntrack.hosts.focus');
  });

  after(async () => {
    await config().update('refreshIntervalSeconds', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
  });

  it('one collection at a time, the interval after the first picture, and the first picture has rates', async () => {
    const ran: Ran[] = [];
    let connectDone = 0;
    const sub = api.hosts.onDidRunCommand((e: HostCommandEvent) => {
      if (e.host === host) ran.push({ command: e.command.command, start: e.endedAt - e.command.durationMs, end: e.endedAt });
    });
    const invalid = sendInvalidPackets(testHostEnv().hostName);
    try {
      await vscode.commands.executeCommand('conntrack-doctor.connect', host);
      connectDone = Date.now();
      assert.equal(host.status, 'connected', host.error);
      const connectRuns = ran.filter((r) => isCollection(r.command)).length;

      // The first picture: rates over a few seconds, and INVALID packets as a rate.
      const d = host.diagnosis;
      assert.ok(d?.rates, 'the first picture after connecting has no rates (one sample only)');
      assert.ok(d.rates.intervalSeconds >= 1 && d.rates.intervalSeconds <= 30, `rates over ${d.rates.intervalSeconds} s`);
      const invalidFinding = d.findings.find((f) => f.cause === 'invalid-packets');
      assert.ok(invalidFinding, `no invalid-packets finding while INVALID packets arrive: ${d.findings.map((f) => f.title).join(' | ')}`);
      assert.match(invalidFinding.title, /^[\d,.]+\/s INVALID, not dropped$/);
      assert.doesNotMatch(invalidFinding.title, /since boot/);
      note(`first picture: ${invalidFinding.title} (rates over ${d.rates.intervalSeconds.toFixed(1)} s, ${connectRuns} collections)`);

      // Then three periodic refreshes.
      await waitForEvent(api.hosts.onDidRefresh, () => ran.filter((r) => isCollection(r.command)).length >= connectRuns + 3, { timeoutMs: 120_000, what: 'three periodic refreshes' });
    } finally {
      sub.dispose();
      await invalid.stop();
    }

    // Never two commands on the host at once (a few ms for the clock's rounding).
    const sorted = [...ran].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      const cur = sorted[i];
      assert.ok(prev && cur);
      assert.ok(cur.start >= prev.end - 20, `two commands on the host at once:\n  ${prev.command} (${prev.start}–${prev.end})\n  ${cur.command} (${cur.start}–${cur.end})`);
    }
    // The first periodic collection starts an interval (1 s) after the connect's picture was complete.
    const collections = sorted.filter((r) => isCollection(r.command));
    const connectCollections = collections.slice(0, 2);
    const firstPeriodic = collections[2];
    assert.ok(firstPeriodic, 'no periodic collection');
    // Other one-off commands (the privilege probe `id -u` of a view that asks what the account may do) may run between;
    // the interval counts from the connect's own last command.
    const lastOfConnect = sorted.filter((r) => r.end <= connectDone).at(-1);
    assert.ok(lastOfConnect);
    assert.ok(firstPeriodic.start - lastOfConnect.end >= 900, `the periodic refresh started ${firstPeriodic.start - lastOfConnect.end} ms after the connect's last command; commands: ${sorted.map((r) => `${r.command.slice(-40)} ${r.start}–${r.end}`).join(' | ')}`);
    // The periodic refreshes read only what changes every few seconds: one frequent collection each, never the table.
    const periodic = sorted.filter((r) => r.start >= firstPeriodic.start);
    assert.ok(periodic.every((r) => /\bsh -s -- [0-9a-f]{24} frequent$/.test(r.command)), `the periodic refresh ran more than its frequent collection: ${periodic.map((r) => r.command).join(' | ')}`);
    note(`collections: ${collections.length}; connect's two ${connectCollections.map((c) => `${c.end - c.start} ms`).join(', ')}; the first periodic one ${firstPeriodic.start - lastOfConnect.end} ms after`);
  }, { timeoutMs: 240_000 });

  it('a changed file whose re-read the CPU budget puts off is shown on the host row until it is read', async () => {
    const file = '/etc/sysctl.d/50-ctd-deferred.conf';
    if (!host.session) await vscode.commands.executeCommand('conntrack-doctor.connect', host);
    assert.equal(host.status, 'connected', host.error);
    // 0.1 %: the connect's full read (tens of ms of host CPU at least) puts the next one minutes away
    await config().update('hostCpuBudgetPercent', 0.1, vscode.ConfigurationTarget.Global);
    try {
      onHost(['sh', '-c', `echo "net.netfilter.nf_conntrack_tcp_timeout_established = 86400" > ${file}`]);
      await waitForEvent(api.hosts.onDidRefresh, () => host.deferredRead !== undefined, { timeoutMs: 60_000, what: 'a periodic refresh that puts off the re-read' });
      const row = api.tree.getTreeItem({ kind: 'host', host });
      assert.match(String(row.description), / · files changed$/);
      const tooltip = row.tooltip instanceof vscode.MarkdownString ? row.tooltip.value : String(row.tooltip);
      assert.match(tooltip, /the host CPU budget of 0\.1 % of one CPU \(conntrackDoctor\.hostCpuBudgetPercent\) puts the next one at \d\d:\d\d:\d\d/);
      const first = api.tree.getChildren({ kind: 'host', host })[0];
      assert.ok(first?.kind === 'leaf', `the first row under the host is a ${first?.kind ?? 'nothing'}`);
      assert.equal(first.label, 'files changed');
      assert.match(first.description ?? '', /^re-read at \d\d:\d\d:\d\d \(CPU budget 0\.1 %\)$/);
      assert.ok(!host.snapshot?.sysctlFiles?.some((f) => f.path.endsWith('50-ctd-deferred.conf')), 'the new file is not read yet');
      note(`put off: ${first.description ?? ''}`);

      // At 100 % the pause is the last read's own cost: the next refreshes read it, and the row goes.
      await config().update('hostCpuBudgetPercent', 100, vscode.ConfigurationTarget.Global);
      await waitForEvent(api.hosts.onDidRefresh, () => host.deferredRead === undefined && (host.snapshot?.sysctlFiles?.some((f) => f.path.endsWith('50-ctd-deferred.conf')) ?? false), { timeoutMs: 60_000, what: 'the re-read' });
      assert.doesNotMatch(String(api.tree.getTreeItem({ kind: 'host', host }).description), /files changed/);
      assert.notEqual(api.tree.getChildren({ kind: 'host', host })[0]?.kind, 'leaf');
    } finally {
      onHost(['rm', '-f', file]);
      await config().update('hostCpuBudgetPercent', undefined, vscode.ConfigurationTarget.Global);
    }
  }, { timeoutMs: 180_000 });
});
