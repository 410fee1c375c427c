/**
 * Issue 12 in the sidebar: three more kinds of real host, started here with `ctd-host up
 * --variant` (owned by this process: reaped if it dies) next to the suite's own host —
 *   1. `nopriv`, as `audit`, whose sudo asks a password the user does not give at connect: a
 *      limited host (usage, timeouts, files; a "limited" marker; the root-only parts listed with
 *      why) with the "Provide sudo password…" action, which stores the password in SecretStorage
 *      and reads everything again as root;
 *   2. `no-conntrack-tools`, as root: counters and entries from /proc, the missing program named
 *      with the host's install command;
 *   4. `no-conntrack`, as root: "connection tracking is not active on this host", healthy.
 * The numbers are checked against the hosts' own view (`ctd-host exec`), never through the product.
 * The sudo prompt and the action's password box are the one API corner replaced (showInputBox).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { after, before, describe, it } from './harness';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import type { HostEntry } from '../../../src/extension/hosts';
import type { Node } from '../../../src/extension/tree';
import { ctdHost, extensionWithTestHost, testHostEnv } from './testHost';

interface VariantInfo {
  name: string;
  address: string;
  port: number;
  knownHostsPath: string;
  statePath: string;
  users: { root: { key: string }; audit: { key: string; password: string } };
}

const repo = (): string => process.env['CTD_REPO'] ?? process.cwd();

/** `ctd-host up NAME --variant V`, without blocking the extension host while it builds the host. */
function upVariant(name: string, variant: string): Promise<VariantInfo> {
  return new Promise((resolve, reject) => {
    execFile('harness/host/ctd-host', ['up', name, '--variant', variant, '--owner', String(process.pid)], { cwd: repo(), encoding: 'utf8', timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ctd-host up ${name} --variant ${variant}: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as VariantInfo);
    });
  });
}

function sshBlock(alias: string, h: VariantInfo, user: 'root' | 'audit'): string[] {
  return [`Host ${alias}`, `  HostName ${h.address}`, `  Port ${h.port}`, `  User ${user}`, `  IdentityFile ${h.users[user].key}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${h.knownHostsPath}`, '  StrictHostKeyChecking yes', ''];
}

describe('issue 12: host variants in the sidebar', () => {
  let api: ConntrackDoctorApi;
  const base = (): string => testHostEnv().hostName;
  const names = { limited: '', noTools: '', inactive: '' };
  const started: string[] = [];
  let limited: VariantInfo;
  const alias = { limited: '', noTools: '', inactive: '' };
  const asked: string[] = [];
  let actionPassword: string | undefined;
  const originalInputBox = vscode.window.showInputBox;
  let originalConfig: string | undefined;

  const hostOf = (a: string): HostEntry => {
    const h = api.hosts.get(a);
    assert.ok(h, `${a} not listed: ${api.hosts.list().map((x) => x.id).join(', ')}`);
    return h;
  };
  const hostNode = (h: HostEntry): Node => {
    const n = api.tree.getChildren().find((x) => x.kind === 'host' && x.host === h);
    assert.ok(n, `no tree row for ${h.id}`);
    return n;
  };
  const group = (h: HostEntry, g: string): Node | undefined => api.tree.getChildren(hostNode(h)).find((n) => n.kind === 'group' && n.group === g);
  const rows = (h: HostEntry, g: string): vscode.TreeItem[] => {
    const n = group(h, g);
    assert.ok(n, `${h.id} has no ${g} group`);
    return api.tree.getChildren(n).map((x) => api.tree.getTreeItem(x));
  };
  const tooltip = (i: vscode.TreeItem): string => (typeof i.tooltip === 'string' ? i.tooltip : i.tooltip?.value ?? '');
  const connect = async (h: HostEntry): Promise<void> => {
    await vscode.commands.executeCommand('conntrack-doctor.connect', h);
    assert.equal(h.status, 'connected', h.error);
    assert.equal(h.error, undefined);
    assert.ok(h.diagnosis, 'a diagnosis');
  };

  before(async () => {
    ({ api } = await extensionWithTestHost());
    names.limited = `${base()}n`;
    names.noTools = `${base()}t`;
    names.inactive = `${base()}i`;
    for (const n of Object.values(names)) spawnDown(n);
    const [l, t, i] = await Promise.all([upVariant(names.limited, 'nopriv'), upVariant(names.noTools, 'no-conntrack-tools'), upVariant(names.inactive, 'no-conntrack')]);
    started.push(names.limited, names.noTools, names.inactive);
    limited = l;
    ctdHost(['fill', names.limited, '--assured', '500']);
    ctdHost(['fill', names.noTools, '--assured', '700']);
    const env = testHostEnv();
    alias.limited = 'v12-limited';
    alias.noTools = 'v12-no-tools';
    alias.inactive = 'v12-inactive';
    const file = join(l.statePath, 'ssh_config.suite');
    writeFileSync(file, [readFileSync(env.sshConfig, 'utf8'), '', ...sshBlock(alias.limited, l, 'audit'), ...sshBlock(alias.noTools, t, 'root'), ...sshBlock(alias.inactive, i, 'root')].join('\n'));
    const cfg = vscode.workspace.getConfiguration('conntrackDoctor');
    originalConfig = cfg.inspect<string>('sshConfigFile')?.globalValue;
    await cfg.update('sshConfigFile', file, vscode.ConfigurationTarget.Global);
    await api.hosts.reload();
    (vscode.window as { showInputBox: unknown }).showInputBox = (options: vscode.InputBoxOptions) => {
      asked.push(options.title ?? '');
      // the action's own box gets the password; sudo's prompt at connect is dismissed (none given)
      return Promise.resolve(options.title?.startsWith('Conntrack: sudo password') ? actionPassword : undefined);
    };
  }, { timeoutMs: 300_000 });

  after(async () => {
    (vscode.window as { showInputBox: unknown }).showInputBox = originalInputBox;
    for (const a of Object.values(alias)) {
      const h = a ? api.hosts.get(a) : undefined;
      if (h) {
        await api.hosts.disconnect(h);
        await api.hosts.forgetSecrets(h);
      }
    }
    await vscode.workspace.getConfiguration('conntrackDoctor').update('sshConfigFile', originalConfig, vscode.ConfigurationTarget.Global);
    for (const n of started) ctdHost(['down', n]);
  }, { timeoutMs: 60_000 });

  it('variant 1 (sudo asks a password, none given): a limited host, not an error — usage, timeouts, the marker and what needs root', async () => {
    const h = hostOf(alias.limited);
    asked.length = 0;
    await connect(h);
    assert.deepEqual(asked, [`sudo password on audit@${limited.address}:${limited.port}`], 'sudo asked once, at connect');
    const item = api.tree.getTreeItem(hostNode(h));
    assert.match(String(item.description), / · limited$/);
    assert.equal(item.contextValue, 'host.connected.limited');
    assert.match(tooltip(item), /\*\*Limited\*\*: audit@[\d.]+:22 is not root and sudo was not used \(.*none was given\)/);
    assert.match(tooltip(item), /- entry summary: listing the entries needs root/);
    // what any user may read: count / max, timeouts
    const entries = rows(h, 'usage').find((i) => i.label === 'entries');
    const shown = Number(String(entries?.description).split(' / ')[0]?.replace(/,/g, ''));
    const kernel = Number(ctdHost(['exec', names.limited, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count']).trim());
    assert.ok(shown >= 500 && Math.abs(shown - kernel) <= 10, `${String(entries?.description)} vs the kernel's ${kernel}`);
    assert.ok(rows(h, 'timeouts').some((i) => i.label === 'tcp_timeout_established' && /\d+ s/.test(String(i.description))));
    const gaps = rows(h, 'unavailable');
    const root = gaps.find((i) => i.label === 'root');
    assert.ok(root, JSON.stringify(gaps.map((i) => i.label)));
    assert.equal(root.command?.command, 'conntrack-doctor.provideSudoPassword');
    assert.match(String(root.description), /^needs-root/);
    for (const what of ['entry summary', 'firewall rules (nft list ruleset, iptables-save)']) {
      assert.equal(gaps.find((i) => i.label === what)?.description, 'needs-root', what);
    }
    assert.equal(h.snapshot?.entrySummary, undefined);
  }, { timeoutMs: 120_000 });

  it('variant 1: "Provide sudo password…" keeps the password in SecretStorage and reads again as root', async () => {
    const h = hostOf(alias.limited);
    actionPassword = limited.users.audit.password;
    asked.length = 0;
    await vscode.commands.executeCommand('conntrack-doctor.provideSudoPassword', h);
    assert.deepEqual(asked, [`Conntrack: sudo password on ${alias.limited}`], 'only the action asked: sudo took the stored password');
    const item = api.tree.getTreeItem(hostNode(h));
    assert.equal(item.contextValue, 'host.connected');
    assert.doesNotMatch(String(item.description), /limited/);
    assert.equal(group(h, 'unavailable'), undefined, JSON.stringify(h.diagnosis?.unavailable));
    assert.equal(h.diagnosis?.counterSource, 'netlink', 'conntrack -S as root');
    assert.ok((h.snapshot?.entrySummary?.entries ?? 0) >= 500, 'the entries, listed as root');
    // stored, not only used: a new connection reads as root without asking anyone
    await api.hosts.disconnect(h);
    asked.length = 0;
    await connect(h);
    assert.deepEqual(asked, []);
    assert.equal(api.tree.getTreeItem(hostNode(h)).contextValue, 'host.connected');
  }, { timeoutMs: 120_000 });

  it('variant 1: a wrong password is not kept; the host stays limited and says so', async () => {
    const h = hostOf(alias.limited);
    await api.hosts.forgetSecrets(h);
    await api.hosts.disconnect(h);
    actionPassword = undefined;
    await connect(h);
    assert.equal(api.tree.getTreeItem(hostNode(h)).contextValue, 'host.connected.limited');
    actionPassword = 'not-the-password';
    const ok = await api.hosts.provideSudoPassword(h, 'not-the-password');
    assert.equal(ok, false);
    assert.equal(api.tree.getTreeItem(hostNode(h)).contextValue, 'host.connected.limited');
    await api.hosts.disconnect(h);
    asked.length = 0;
    actionPassword = undefined;
    await connect(h);
    assert.ok(asked.length >= 1 && asked.every((t) => t.startsWith('sudo password on')), `the wrong password was dropped: sudo asks again (${asked.join(' | ')})`);
  }, { timeoutMs: 180_000 });

  it('variant 2 (no conntrack-tools, root): counters and top talkers from /proc; the missing program with the install command', async () => {
    const h = hostOf(alias.noTools);
    await connect(h);
    const item = api.tree.getTreeItem(hostNode(h));
    assert.equal(item.contextValue, 'host.connected');
    assert.equal(h.diagnosis?.counterSource, 'procfs');
    assert.ok(rows(h, 'counters').some((i) => i.label === 'invalid'));
    // The summary's first row says how many entries it read (from /proc/net/nf_conntrack here: no conntrack program).
    const talkers = rows(h, 'talkers').find((i) => i.label === 'exact' || i.label === 'sampled');
    assert.match(String(talkers?.description), /^(exact: all|sampled: [\d,]+ of) [\d,]+ entries$/, 'the entry summary from /proc/net/nf_conntrack');
    const tool = rows(h, 'unavailable').find((i) => i.label === 'conntrack tool');
    assert.equal(tool?.description, 'program-missing');
    assert.match(tooltip(tool ?? {}), /How: install it: apt-get install conntrack \(Debian/);
    assert.match(tooltip(item), /- conntrack tool: the conntrack program is not installed/);
  }, { timeoutMs: 120_000 });

  it('variant 4 (conntrack not in use, root): "connection tracking is not active on this host", healthy, nothing else missing', async () => {
    const h = hostOf(alias.inactive);
    await connect(h);
    const item = api.tree.getTreeItem(hostNode(h));
    assert.equal(item.description, 'not tracking');
    assert.match(tooltip(item), /connection tracking is not active on this host/);
    assert.deepEqual(rows(h, 'usage').map((i) => [i.label, i.description]), [['entries', 'connection tracking is not active on this host']]);
    assert.deepEqual(rows(h, 'findings').map((i) => i.label), ['No findings: nothing is tracked, so no table can fill']);
    assert.deepEqual(rows(h, 'unavailable').map((i) => [i.label, i.description]), [['connection tracking', 'conntrack-inactive']]);
    assert.equal(h.diagnosis?.usage.level, 'ok');
  }, { timeoutMs: 120_000 });
});

/** A leftover host of an earlier, killed run with the same name goes first (ours only: the names derive from CTD_VSC_HOST). */
function spawnDown(name: string): void {
  try {
    ctdHost(['down', name]);
  } catch {
    // not running: nothing to remove
  }
}
