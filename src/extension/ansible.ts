/**
 * "Export as Ansible Playbook…": a fix (a tree item, the preview's dialog, a quick fix on a
 * host's sysctl file, or picked from the palette) as the playbook and rollback playbook the CLI's
 * `ansible` command writes (core/ansible), opened as untitled YAML or saved where the user picks.
 * Nothing is run on any host.
 */
import * as vscode from 'vscode';
import type { Fix, LintFix } from '../core/fix/model';
import { buildPlaybooks, rollbackNameFor } from '../core/ansible/playbook';
import { fixFromLintFix } from '../core/ansible/hostFileFix';
import { COMMAND_PREFIX, type CommandSpec } from './commands';
import type { HostEntry, HostManager } from './hosts';
import type { Node } from './tree';
import { remoteHostId } from './remoteFs';
import { log } from './log';

export const EXPORT_ANSIBLE_COMMAND = 'conntrack-doctor.exportAnsible';
export const EXPORT_ANSIBLE_TITLE = 'Export as Ansible Playbook…';

/** What the command is called with. */
export type ExportArg =
  | Extract<Node, { kind: 'fix' }>
  | { readonly host: HostEntry; readonly fix: Fix }
  | { readonly kind: 'lint-fix'; readonly uri: string; readonly fix: LintFix }
  | undefined;

export interface ExportResult {
  readonly id: string;
  readonly playbook: vscode.Uri;
  readonly rollback: vscode.Uri;
}

function fixOf(arg: ExportArg, hosts: HostManager): { host: HostEntry; fix: Fix } | undefined {
  if (!arg) return undefined;
  if ('kind' in arg && arg.kind === 'fix') return { host: arg.host, fix: arg.fix };
  if ('kind' in arg && arg.kind === 'lint-fix') {
    const uri = vscode.Uri.parse(arg.uri);
    const id = remoteHostId(uri);
    const host = id === undefined ? undefined : hosts.get(id);
    if (!host?.snapshot) throw new Error(`${uri.path}: export needs the host it is on, connected`);
    const snap = host.snapshot;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const known = (path: string): string | undefined => [...(snap.sysctlFiles ?? []), ...(snap.modulesLoad ?? []), ...(snap.modprobe ?? [])].find((f) => f.path === path)?.content;
    const fix = fixFromLintFix({
      path: uri.path,
      hostContent: known(uri.path),
      text: doc?.getText() ?? known(uri.path) ?? '',
      fix: arg.fix,
      contentOf: known,
      live: snap.sysctl ?? {},
      initialNetns: snap.initialNetns,
    });
    return { host, fix };
  }
  if ('fix' in arg && 'host' in arg) return { host: arg.host, fix: arg.fix };
  return undefined;
}

/** From the palette: a connected host, then one of the fixes its diagnosis offers. */
async function pickFix(hosts: HostManager): Promise<{ host: HostEntry; fix: Fix } | undefined> {
  const connected = hosts.list().filter((h) => h.status === 'connected' && h.diagnosis);
  if (connected.length === 0) {
    void vscode.window.showInformationMessage('Conntrack: connect to a host first; its diagnosis offers the fixes to export.');
    return undefined;
  }
  const host = connected.length === 1 ? connected[0] : (await vscode.window.showQuickPick(connected.map((h) => ({ label: h.label, description: h.target, host: h })), { title: 'Export a fix of…' }))?.host;
  if (!host?.diagnosis) return undefined;
  const fixes = host.diagnosis.findings.flatMap((f) => f.fixes.map((fix) => ({ label: fix.title, description: f.title, fix })));
  if (fixes.length === 0) {
    void vscode.window.showInformationMessage(`Conntrack: the diagnosis of ${host.label} offers no fix.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(fixes, { title: `Export as Ansible Playbook: a fix for ${host.label}` });
  return pick ? { host, fix: pick.fix } : undefined;
}

function defaultName(fix: Fix): string {
  return `conntrack-doctor-${fix.id}.yml`;
}

async function exportFix(host: HostEntry, fix: Fix): Promise<ExportResult | undefined> {
  const OPEN = 'Open in Editor';
  const SAVE = 'Save to…';
  const how = await vscode.window.showQuickPick([
    { label: OPEN, description: 'two untitled YAML editors: the playbook and its rollback' },
    { label: SAVE, description: 'the playbook where you pick, the rollback next to it' },
  ], { title: `Export "${fix.title}" (computed on ${host.label}) as an Ansible playbook` });
  if (!how) return undefined;
  if (how.label === OPEN) {
    const made = buildPlaybooks({ fixes: [fix], computedOn: host.label, fileName: defaultName(fix) });
    const rollback = await vscode.workspace.openTextDocument({ language: 'yaml', content: made.rollback });
    await vscode.window.showTextDocument(rollback, { preview: false, preserveFocus: true });
    const playbook = await vscode.workspace.openTextDocument({ language: 'yaml', content: made.playbook });
    await vscode.window.showTextDocument(playbook, { preview: false });
    log.info(`exported ${fix.title} (computed on ${host.label}) as playbook ${made.id} (untitled)`);
    return { id: made.id, playbook: playbook.uri, rollback: rollback.uri };
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    title: 'Save the Ansible playbook (its rollback is saved next to it)',
    ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, defaultName(fix)) } : {}),
    filters: { 'Ansible playbook': ['yml', 'yaml'] },
  });
  if (!target) return undefined;
  const name = target.path.slice(target.path.lastIndexOf('/') + 1);
  const rollbackUri = vscode.Uri.joinPath(target, '..', rollbackNameFor(name));
  const made = buildPlaybooks({ fixes: [fix], computedOn: host.label, fileName: name, rollbackFileName: rollbackNameFor(name) });
  // The save dialog asked about the playbook; the rollback next to it is not replaced silently.
  const exists = await vscode.workspace.fs.stat(rollbackUri).then(() => true, () => false);
  if (exists) {
    const REPLACE = 'Replace';
    const answer = await vscode.window.showWarningMessage(`${rollbackUri.path} exists. Replace it with the rollback of this playbook?`, { modal: true }, REPLACE);
    if (answer !== REPLACE) return undefined;
  }
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(made.playbook));
  await vscode.workspace.fs.writeFile(rollbackUri, new TextEncoder().encode(made.rollback));
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(target), { preview: false });
  log.info(`exported ${fix.title} (computed on ${host.label}) to ${target.fsPath} and ${rollbackUri.fsPath}`);
  return { id: made.id, playbook: target, rollback: rollbackUri };
}

/** "Export as Ansible Playbook…" (conntrack-doctor.exportAnsible): resolves to what was written, or undefined. */
export function ansibleCommands(hosts: HostManager): CommandSpec[] {
  return [{
    id: EXPORT_ANSIBLE_COMMAND.slice(COMMAND_PREFIX.length),
    run: async (arg?: unknown): Promise<ExportResult | undefined> => {
      const a = arg as ExportArg;
      const chosen = fixOf(a, hosts) ?? (a ? undefined : await pickFix(hosts));
      return chosen ? await exportFix(chosen.host, chosen.fix) : undefined;
    },
  }];
}
