/**
 * Issue 11 items 9 and 6 in the real extension host, against the real test host's sshd:
 * - the host-key setting is passed only when the user set it: a host's `StrictHostKeyChecking
 *   yes` in the ssh config then wins (before the fix the setting's default "ask" turned it into
 *   a question);
 * - the question offers "Trust and Save" (saved to the host's UserKnownHostsFile, hashed with
 *   `HashKnownHosts yes`, found by OpenSSH's ssh-keygen -F) and "This Session Only" (nothing
 *   written).
 * The modal dialog is the one API corner replaced (window.showWarningMessage), answering with a
 * button the dialog offered.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import { after, before, describe, it } from './harness';
import { extensionWithTestHost, testHostEnv } from './testHost';

describe('host keys: the ssh config\'s policy, Trust and Save / This Session Only', () => {
  let api: ConntrackDoctorApi;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-vsc-hostkeys-'));
  const asked: { message: string; buttons: string[] }[] = [];
  let answer: string | undefined;
  const original = vscode.window.showWarningMessage;
  const cfg = vscode.workspace.getConfiguration('conntrackDoctor');
  let previousMode: unknown;
  let address = '';

  /** A Host block for the test host (address, user, key copied from the unknown-key alias) with its own known_hosts. */
  function addAlias(alias: string, knownHosts: string, extra: readonly string[]): void {
    const text = readFileSync(testHostEnv().sshConfig, 'utf8');
    const block = new RegExp(`^Host ${testHostEnv().unknownAlias}\\n((?:  .*\\n)+)`, 'm').exec(text)?.[1];
    assert.ok(block, `no Host ${testHostEnv().unknownAlias} block in ${testHostEnv().sshConfig}`);
    address = /^ {2}HostName (\S+)$/m.exec(block)?.[1] ?? '';
    const lines = block.split('\n').filter((l) => l !== '' && !/^ {2}(UserKnownHostsFile|StrictHostKeyChecking) /.test(l));
    appendFileSync(testHostEnv().sshConfig, [`Host ${alias}`, ...lines, `  UserKnownHostsFile ${knownHosts}`, ...extra, ''].join('\n'));
  }

  before(async () => {
    ({ api } = await extensionWithTestHost());
    previousMode = cfg.inspect('hostKeyChecking')?.globalValue;
    await cfg.update('hostKeyChecking', undefined, vscode.ConfigurationTarget.Global);
    addAlias('vsc-strict-unknown', path.join(dir, 'kh-strict'), ['  StrictHostKeyChecking yes']);
    addAlias('vsc-key-once', path.join(dir, 'kh-once'), []);
    addAlias('vsc-key-save', path.join(dir, 'kh-save'), ['  HashKnownHosts yes']);
    await api.hosts.reload();
    (vscode.window as { showWarningMessage: unknown }).showWarningMessage = (message: string, ...rest: unknown[]) => {
      const buttons = rest.slice(1).filter((x): x is string => typeof x === 'string');
      asked.push({ message, buttons });
      return Promise.resolve(answer !== undefined && buttons.includes(answer) ? answer : undefined);
    };
  });

  after(async () => {
    (vscode.window as { showWarningMessage: unknown }).showWarningMessage = original;
    await cfg.update('hostKeyChecking', previousMode, vscode.ConfigurationTarget.Global);
  });

  async function connect(alias: string): Promise<NonNullable<ReturnType<ConntrackDoctorApi['hosts']['get']>>> {
    const h = api.hosts.get(alias);
    assert.ok(h, `${alias} not listed: ${api.hosts.list().map((x) => x.id).join(', ')}`);
    asked.length = 0;
    await vscode.commands.executeCommand('conntrack-doctor.connect', h);
    return h;
  }

  it('setting not set: the host\'s StrictHostKeyChecking yes wins (refused, nobody asked); set to ask: the user is asked', async () => {
    const h = await connect('vsc-strict-unknown');
    assert.notEqual(h.status, 'connected');
    assert.deepEqual(asked, [], 'asked although the ssh config says StrictHostKeyChecking yes');
    assert.match(h.error ?? '', /not a known host/);
    // the user's own choice still applies over the ssh config
    await cfg.update('hostKeyChecking', 'ask', vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('conntrack-doctor.disconnect', h);
      const again = await connect('vsc-strict-unknown');
      assert.notEqual(again.status, 'connected');
      assert.equal(asked.length, 1);
    } finally {
      await cfg.update('hostKeyChecking', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('"This Session Only" connects and writes nothing; "Trust and Save" writes a hashed line OpenSSH finds', async () => {
    answer = 'This Session Only';
    const once = await connect('vsc-key-once');
    assert.equal(once.status, 'connected', once.error);
    assert.deepEqual(asked[0]?.buttons, ['Trust and Save', 'This Session Only']);
    assert.ok(!existsSync(path.join(dir, 'kh-once')), 'a session-only key was saved');
    await vscode.commands.executeCommand('conntrack-doctor.disconnect', once);

    answer = 'Trust and Save';
    const saved = await connect('vsc-key-save');
    assert.equal(saved.status, 'connected', saved.error);
    const kh = path.join(dir, 'kh-save');
    const lines = readFileSync(kh, 'utf8').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^\|1\|/, 'hashed (HashKnownHosts yes)');
    const found = spawnSync('ssh-keygen', ['-F', address, '-f', kh], { encoding: 'utf8' });
    assert.equal(found.status, 0, `ssh-keygen -F ${address}: ${found.stdout}${found.stderr}`);
    await vscode.commands.executeCommand('conntrack-doctor.disconnect', saved);
    // saved: the next connect is not asked
    const next = await connect('vsc-key-save');
    assert.equal(next.status, 'connected', next.error);
    assert.deepEqual(asked, []);
    await vscode.commands.executeCommand('conntrack-doctor.disconnect', next);
  });
});
