/**
 * The extension against a real test host (network namespace + sshd + kernel conntrack), set up
 * by scripts/vscode/test.sh and passed in CTD_TEST_SSH_CONFIG / CTD_TEST_HOST / CTD_TEST_HOST_NAME.
 * Modal dialogs cannot be clicked with the smoke-test driver on, so window.showWarningMessage and
 * window.showInputBox (the one API corner) are replaced by recorders that answer like a user who
 * dismisses the dialog, or presses Enter in the input box without typing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as vscode from 'vscode';
import { after, before, describe, it } from './harness';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import { ctdHost, extensionWithTestHost, onHost, testHostEnv } from './testHost';

// Read when a test runs (not at import): without the test host only these tests fail, loudly.
const env = testHostEnv;

/** Counted independently of the product, inside the host's namespace (a new SSH login would time out once the table is full). */
function hostCount(): number {
  return Number(onHost(['conntrack', '-C']).trim());
}

describe('a real host in the sidebar', () => {
  let api: ConntrackDoctorApi;
  const asked: string[] = [];
  const original = vscode.window.showWarningMessage;
  const originalInputBox = vscode.window.showInputBox;
  /** What each input box's validation said about a few answers. */
  const validated: Record<string, string | undefined>[] = [];

  before(async () => {
    ({ api } = await extensionWithTestHost());
    await vscode.workspace.getConfiguration('conntrackDoctor').update('hostKeyChecking', 'ask', vscode.ConfigurationTarget.Global);
    (vscode.window as { showWarningMessage: unknown }).showWarningMessage = (message: string, ...rest: unknown[]) => {
      const opts = rest[0] as { detail?: string } | undefined;
      asked.push(`${message}\n${opts?.detail ?? ''}`);
      return Promise.resolve(undefined); // the user closes the dialog
    };
    (vscode.window as { showInputBox: unknown }).showInputBox = async (options: vscode.InputBoxOptions) => {
      asked.push(`${options.title ?? ''}\n${options.prompt ?? ''}`);
      const v: Record<string, string | undefined> = {};
      for (const typed of ['', 'y', env().alias, `${env().alias}x`]) {
        const r = await options.validateInput?.(typed);
        v[typed] = r === undefined || r === null ? undefined : typeof r === 'string' ? r : r.message;
      }
      validated.push(v);
      return ''; // Enter, nothing typed
    };
  });

  after(() => {
    (vscode.window as { showWarningMessage: unknown }).showWarningMessage = original;
    (vscode.window as { showInputBox: unknown }).showInputBox = originalInputBox;
    // The full table this block made would drop the next spec's new connections (their SYN gets
    // no entry): empty it again, on the host, as the test harness.
    ctdHost(['exec', env().hostName, 'conntrack', '-F']);
  });

  it('lists the hosts of the ssh config and connects: the tree shows the real count / max', async () => {
    const h = api.hosts.get(env().alias);
    assert.ok(h, `host ${env().alias} not listed: ${api.hosts.list().map((x) => x.id).join(', ')}`);
    await vscode.commands.executeCommand('conntrack-doctor.connect', h);
    assert.equal(h.status, 'connected', h.error);
    const hostNode = api.tree.getChildren().find((n) => n.kind === 'host' && n.host === h);
    assert.ok(hostNode);
    const usage = api.tree.getChildren(hostNode).find((n) => n.kind === 'group' && n.group === 'usage');
    assert.ok(usage);
    const entries = api.tree.getChildren(usage).map((n) => api.tree.getTreeItem(n)).find((i) => i.label === 'entries');
    const count = hostCount();
    const max = spawnSync('ssh', ['-F', env().sshConfig, '-o', 'BatchMode=yes', env().alias, 'cat', '/proc/sys/net/netfilter/nf_conntrack_max'], { encoding: 'utf8' }).stdout.trim();
    const shown = String(entries?.description ?? '');
    assert.match(shown, new RegExp(`^${Number(max).toLocaleString('en-US')}`.replace(/^\^/, '').replace(/,/g, ','), 'u'));
    assert.ok(shown.includes(`/ ${Number(max).toLocaleString('en-US')}`), shown);
    // the count is the host's, within the few entries our own SSH checks add
    const shownCount = Number(shown.split(' / ')[0]?.replace(/,/g, ''));
    assert.ok(Math.abs(shownCount - count) <= 5, `${shownCount} vs ${count}`);
  });

  it('an unknown host key is not trusted silently', async () => {
    await api.hosts.reload();
    const h = api.hosts.get(env().unknownAlias);
    assert.ok(h, 'second alias (empty known_hosts) missing');
    asked.length = 0;
    await vscode.commands.executeCommand('conntrack-doctor.connect', h);
    assert.notEqual(h.status, 'connected');
    assert.ok(asked.some((m) => /authenticity of host/.test(m) && /SHA256:/.test(m)), `the user was not asked: ${asked.join(' | ')}`);
    assert.match(h.error ?? '', /host key|refused|rejected/i);
  });

  it('a full table turns the status bar to error and shows the findings', async () => {
    ctdHost(['full', env().hostName]);
    const h = api.hosts.get(env().alias);
    assert.ok(h);
    await vscode.commands.executeCommand('conntrack-doctor.refresh', h);
    assert.equal(api.statusBar.state.level, 'critical', JSON.stringify(h.diagnosis?.usage));
    assert.match(api.statusBar.state.text, /\$\(error\)/);
    const findings = h.diagnosis?.findings ?? [];
    assert.ok(findings.some((f) => f.cause === 'too-many-connections' && f.severity === 'critical'));
    // Filling 262,144 entries and a refresh of a full table: seconds on a quiet machine, more
    // than the default 20 s when the machine is loaded.
  }, { timeoutMs: 90_000 });

  it('a destructive command without confirmation does nothing', async () => {
    const h = api.hosts.get(env().alias);
    assert.ok(h);
    const before = hostCount();
    asked.length = 0;
    await vscode.commands.executeCommand('conntrack-doctor.flushTable', h);
    assert.ok(asked.some((m) => /Flush|flush/.test(m) && /entries/.test(m) && m.includes(`Type ${env().alias} to confirm`)), `no confirmation naming the entries and asking for the host name was shown: ${asked.join(' | ')}`);
    // Enter in the box without the name: nothing runs; a wrong name is refused before Enter.
    const afterCount = hostCount();
    assert.ok(afterCount >= before - 5, `${before} -> ${afterCount}: the table was flushed on a bare Enter`);
    const v = validated[validated.length - 1];
    assert.ok(v, 'no input box was shown');
    assert.equal(v[env().alias], undefined, 'the host name is accepted');
    assert.match(v['y'] ?? '', /Type .* exactly/, 'a "y" is refused');
    assert.match(v[`${env().alias}x`] ?? '', /Type .* exactly/, 'a near miss is refused');
  });

});
