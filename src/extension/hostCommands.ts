/**
 * The commands about hosts themselves (category "Conntrack"): connect, add, list the ssh
 * config's, disconnect, refresh, diagnose (a readable report), open a remote sysctl file,
 * forget the sudo password, the status bar's menu and the log. Rows of the command table.
 */
import * as vscode from 'vscode';
import { renderDiagnosis } from '../core/host/report';
import { resolveLink } from '../core/sysctl/loaders';
import { hostCommand, type CommandSpec } from './commands';
import { refreshHost } from './flows';
import { rootLimit, type HostEntry, type HostManager } from './hosts';
import { log, showError } from './log';
import { showReadOnly } from './readOnlyDocs';
import { remoteUri } from './remoteFs';

export function hostCommands(hosts: HostManager, activeHost: () => HostEntry | undefined): CommandSpec[] {
  return [
    hostCommand(hosts, 'connect', {}, (h) => refreshHost(hosts, h)),
    {
      id: 'addHost',
      run: async () => {
        const target = await vscode.window.showInputBox({ title: 'Conntrack: Add Host', prompt: 'user@host[:port] or an alias from your ssh config', ignoreFocusOut: true, validateInput: (v) => (/^[\w.@:[\]-]+$/.test(v.trim()) ? undefined : 'Only user@host[:port] or an ssh config alias') });
        if (!target) return;
        const h = await hosts.add(target.trim(), target.trim(), true);
        await refreshHost(hosts, h);
      },
    },
    {
      id: 'useSshConfig',
      run: async () => {
        await hosts.reload();
        if (hosts.list().length === 0) void vscode.window.showInformationMessage('No concrete Host entries were found in your ssh config.');
      },
    },
    hostCommand(hosts, 'disconnect', { connected: true }, (h) => hosts.disconnect(h)),
    hostCommand(hosts, 'refresh', { connected: true }, (h) => refreshHost(hosts, h)),
    hostCommand(hosts, 'diagnose', {}, async (h) => {
      await refreshHost(hosts, h);
      if (!h.diagnosis) return;
      await showReadOnly(`Conntrack on ${h.label.replace(/[/\\]/g, '_')} (diagnosis).txt`, renderDiagnosis(h.diagnosis), 'plaintext', { preview: false });
    }),
    hostCommand(hosts, 'openRemoteFile', { connected: true, title: 'Open a sysctl file on…' }, async (h) => {
      if (!h.snapshot) await refreshHost(hosts, h);
      // A link to a listed file (99-sysctl.conf → ../sysctl.conf) is that file, offered once.
      const all = h.snapshot?.sysctlFiles ?? [];
      const listed = new Set(all.map((f) => f.path));
      const items = all.filter((f) => f.linkTarget === undefined || !listed.has(resolveLink(f.path, f.linkTarget))).map((f) => {
        const links = all.filter((l) => l.linkTarget !== undefined && resolveLink(l.path, l.linkTarget) === f.path).map((l) => l.path);
        return { label: f.path, ...(links.length > 0 ? { description: `linked from ${links.join(', ')}` } : {}) };
      });
      const picked = await vscode.window.showQuickPick(items.length > 0 ? items : [{ label: '/etc/sysctl.conf' }], { title: `sysctl files on ${h.label}` });
      const path = picked?.label;
      if (path) await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(remoteUri(h.id, path)));
    }),
    hostCommand(hosts, 'fullCount', { connected: true }, async (h) => {
      try {
        await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Conntrack: counting every entry on ${h.label} (nice 19, idle I/O)`, cancellable: true }, (progress, token) => hosts.fullCount(h, token, progress));
      } catch (err) {
        void showError(`counting the entries of ${h.label}`, `Conntrack: ${h.label}`, err);
      }
    }),
    hostCommand(hosts, 'provideSudoPassword', { connected: true, where: (h) => rootLimit(h) !== undefined, title: 'Provide the sudo password of…', none: 'Conntrack: no connected host reads without root.' }, async (h) => {
      const password = await vscode.window.showInputBox({ title: `Conntrack: sudo password on ${h.label}`, prompt: `${h.target} reads without root now. The password is kept in VS Code's secret storage and given to sudo on its stdin.`, password: true, ignoreFocusOut: true });
      if (password === undefined) return;
      const ok = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Conntrack: reading ${h.label} as root`, cancellable: true }, (_p, token) => hosts.provideSudoPassword(h, password, token));
      if (!ok) void vscode.window.showErrorMessage(`Conntrack: ${h.label} still reads without root: ${h.session?.limitedBy ?? rootLimit(h)?.why ?? 'sudo was refused'}. The password was not kept.`);
    }),
    hostCommand(hosts, 'forgetSecrets', {}, (h) => hosts.forgetSecrets(h)),
    { id: 'showLog', run: () => log.show() },
    {
      id: 'quickMenu',
      run: async () => {
        const pick = await vscode.window.showQuickPick([
          { label: '$(refresh) Refresh', command: 'conntrack-doctor.refresh' },
          { label: '$(checklist) Diagnose Host', command: 'conntrack-doctor.diagnose' },
          { label: '$(file) Open Remote sysctl File…', command: 'conntrack-doctor.openRemoteFile' },
          { label: '$(output) Show Log', command: 'conntrack-doctor.showLog' },
        ], { title: 'Conntrack' });
        if (pick) await vscode.commands.executeCommand(pick.command, activeHost());
      },
    },
  ];
}
