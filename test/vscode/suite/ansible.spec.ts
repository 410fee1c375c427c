/**
 * "Export as Ansible Playbook…" against the real test host: from a fix in the sidebar (untitled
 * YAML editors), from the preview's dialog (saved where the user picks, then checked by
 * `ansible-playbook --syntax-check`), and from a quick fix on the host's sysctl file. The quick
 * pick, the save dialog and the modal are the API corner answered here (the smoke-test driver
 * hides them); the playbooks are compared with what the core builds for the same fix, and the
 * host is checked (inside its namespaces, not through the extension) to have changed in nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { after, before, describe, it } from './harness';
import { waitForEvent } from './waitFor';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import type { HostEntry } from '../../../src/extension/hosts';
import type { Node } from '../../../src/extension/tree';
import type { ExportResult } from '../../../src/extension/ansible';
import { buildPlaybooks } from '../../../src/core/ansible/playbook';
import { ctdHost, extensionWithTestHost, onHost, testHostEnv } from './testHost';

type FixNode = Extract<Node, { kind: 'fix' }>;
const PATH = '/etc/sysctl.d/70-ctd-ansible-test.conf';
const EST = 'net.netfilter.nf_conntrack_tcp_timeout_established';

describe('Export as Ansible Playbook…', () => {
  let api: ConntrackDoctorApi;
  let host: HostEntry;
  let dir = '';
  const win = vscode.window as unknown as Record<string, unknown>;
  const original = { showQuickPick: win['showQuickPick'], showSaveDialog: win['showSaveDialog'], showWarningMessage: win['showWarningMessage'] };
  let pick = 'Open in Editor';
  let saveTo: vscode.Uri | undefined;
  const modals: string[] = [];

  before(async () => {
    ({ api, host } = await extensionWithTestHost());
    dir = mkdtempSync(join(tmpdir(), 'ctd-vsc-ansible-'));
    win['showQuickPick'] = (items: readonly vscode.QuickPickItem[]) => Promise.resolve(items.find((i) => i.label === pick));
    win['showSaveDialog'] = () => Promise.resolve(saveTo);
    // The preview's dialog, answered with its export button.
    win['showWarningMessage'] = (message: string, _opts: unknown, ...buttons: string[]) => {
      modals.push(`${message} [${buttons.join(' | ')}]`);
      return Promise.resolve(buttons.find((b) => b === 'Export as Ansible Playbook…'));
    };
    await vscode.commands.executeCommand('conntrack-doctor.connect', host);
    assert.equal(host.status, 'connected', host.error);
    // INVALID packets between two refreshes: a finding whose fix is the INVALID drop rule.
    ctdHost(['invalid', testHostEnv().hostName, '300']);
    await vscode.commands.executeCommand('conntrack-doctor.refresh', host);
  });

  after(() => {
    Object.assign(win, original);
    onHost(['rm', '-f', PATH]);
    rmSync(dir, { recursive: true, force: true });
  });

  function fixNodes(): FixNode[] {
    const out: FixNode[] = [];
    const walk = (n: Node | undefined): void => {
      for (const c of api.tree.getChildren(n)) {
        if (c.kind === 'fix') out.push(c);
        else if (c.kind === 'host' || c.kind === 'group' || c.kind === 'cause' || c.kind === 'finding') walk(c);
      }
    };
    walk(undefined);
    return out.filter((n) => n.host === host);
  }

  function ruleOnHost(): string {
    return onHost(['sh', '-c', 'nft list ruleset | grep -c conntrack-doctor-invalid-drop || true']).trim();
  }

  it('from a fix in the sidebar: the playbook and its rollback in untitled YAML editors, as the CLI builds them', async () => {
    const node = fixNodes().find((n) => n.fix.id === 'invalid-drop-rule');
    assert.ok(node, `no invalid-drop-rule fix in the tree: ${fixNodes().map((n) => n.fix.id).join(', ')}`);
    const fix = node.fix;
    assert.ok(fix);
    pick = 'Open in Editor';
    const r = await vscode.commands.executeCommand<ExportResult | undefined>('conntrack-doctor.exportAnsible', node);
    assert.ok(r, 'nothing exported');
    const expected = buildPlaybooks({ fixes: [fix], computedOn: host.label, fileName: 'conntrack-doctor-invalid-drop-rule.yml' });
    assert.equal(r.id, expected.id);
    const playbook = vscode.workspace.textDocuments.find((d) => d.uri.toString() === r.playbook.toString());
    const rollback = vscode.workspace.textDocuments.find((d) => d.uri.toString() === r.rollback.toString());
    assert.equal(playbook?.uri.scheme, 'untitled');
    assert.equal(playbook.languageId, 'yaml');
    assert.equal(playbook.getText(), expected.playbook);
    assert.equal(rollback?.getText(), expected.rollback);
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), r.playbook.toString(), 'the playbook has the focus');
    assert.equal(ruleOnHost(), '0', 'nothing ran on the host');
  });

  it('a fix in the sidebar says what it frees: beside its title and in its tooltip (issue 13 §2)', () => {
    const node = fixNodes().find((n) => n.fix.id === 'invalid-drop-rule');
    assert.ok(node);
    const item = api.tree.getTreeItem(node);
    assert.equal(item.description, 'frees no entries');
    assert.equal(typeof item.tooltip, 'string');
    assert.match(item.tooltip as string, /Impact: frees no entries \(INVALID packets are not tracked\); drops the packets conntrack marks INVALID(?: \([\d.]+\/s now\))? before they reach services \[the kernel: INVALID packets are never tracked\]/);
  });

  it('from the preview\'s dialog: saved where the user picks, the rollback next to it; ansible-playbook reads both', async () => {
    const node = fixNodes().find((n) => n.fix.id === 'invalid-drop-rule');
    assert.ok(node);
    saveTo = vscode.Uri.file(join(dir, 'fleet.yml'));
    pick = 'Save to…';
    modals.length = 0;
    await vscode.commands.executeCommand('conntrack-doctor.applyFix', node);
    assert.equal(modals.length, 1, modals.join('\n'));
    assert.match(modals[0] ?? '', /\[Apply \| Export as Ansible Playbook…\]$/);
    const saved = join(dir, 'fleet.yml');
    const rollback = join(dir, 'fleet-rollback.yml');
    const fix = node.fix;
    assert.ok(fix);
    const expected = buildPlaybooks({ fixes: [fix], computedOn: host.label, fileName: 'fleet.yml', rollbackFileName: 'fleet-rollback.yml' });
    assert.equal(readFileSync(saved, 'utf8'), expected.playbook);
    assert.equal(readFileSync(rollback, 'utf8'), expected.rollback);
    assert.match(expected.playbook, /# Roll back: ansible-playbook -i INVENTORY fleet-rollback\.yml\n/);
    assert.equal(ruleOnHost(), '0', 'exporting applies nothing');
    for (const file of [saved, rollback]) {
      const r = spawnSync('ansible-playbook', ['-i', 'localhost,', '--syntax-check', file], { encoding: 'utf8', env: { ...process.env, HOME: dir, ANSIBLE_LOCAL_TEMP: join(dir, 'tmp') } });
      assert.equal(r.status, 0, `ansible-playbook --syntax-check ${file}: ${r.error?.message ?? ''}${r.stdout}${r.stderr} (run harness/host/install-deps.sh: it installs Debian's ansible)`);
    }
  }, { timeoutMs: 60_000 });

  it('from a quick fix on the host\'s sysctl file: the file as the quick fix leaves it, and its value set at runtime', async () => {
    onHost(['sh', '-c', `cat > ${PATH}`], `${EST} = 7200 # raised for the batch jobs\n`);
    await vscode.commands.executeCommand('conntrack-doctor.refresh', host);
    const uri = vscode.Uri.from({ scheme: 'conntrack', authority: encodeURIComponent(host.id), path: PATH });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const inline = (): vscode.Diagnostic | undefined => vscode.languages.getDiagnostics(uri).find((d) => (typeof d.code === 'object' ? String(d.code.value) : String(d.code)) === 'inline-comment');
    if (!inline()) await waitForEvent(vscode.languages.onDidChangeDiagnostics, () => inline() !== undefined, { what: 'the inline-comment diagnostic', timeoutMs: 30_000 });
    const diag = inline();
    assert.ok(diag);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, diag.range, vscode.CodeActionKind.QuickFix.value);
    const preferred = actions.find((a) => a.isPreferred);
    assert.ok(preferred, actions.map((a) => a.title).join(' | '));
    const exporting = actions.find((a) => a.title === `${preferred.title}: Export as Ansible Playbook…`);
    assert.ok(exporting?.command, actions.map((a) => a.title).join(' | '));
    pick = 'Open in Editor';
    const r = await vscode.commands.executeCommand<ExportResult | undefined>(exporting.command.command, ...((exporting.command.arguments ?? []) as unknown[]));
    assert.ok(r);
    const text = vscode.workspace.textDocuments.find((d) => d.uri.toString() === r.playbook.toString())?.getText() ?? '';
    assert.match(text, new RegExp(`dest: ${PATH.replace(/[.]/g, '\\.')}\\n`));
    assert.match(text, /\n {14}# raised for the batch jobs\n {14}net\.netfilter\.nf_conntrack_tcp_timeout_established = 7200\n/, 'the file as the quick fix leaves it');
    assert.match(text, /argv: \[sysctl, "-w", net\.netfilter\.nf_conntrack_tcp_timeout_established=7200\]/, 'its value at runtime (the live value differs)');
    assert.equal(doc.getText(), `${EST} = 7200 # raised for the batch jobs\n`, 'the document itself is not edited');
    assert.equal(onHost(['cat', PATH]), `${EST} = 7200 # raised for the batch jobs\n`, 'nor the host\'s file');
  }, { timeoutMs: 60_000 });
});
