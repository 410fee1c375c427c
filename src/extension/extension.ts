/**
 * VS Code entry point: a wiring table. Every feature lives in its own module and is an adapter
 * over the pure core (src/core) and the I/O layer (src/io).
 */
import * as vscode from 'vscode';
import { initLog, log } from './log';
import { onSettingsChanged, readSettings } from './settings';
import { SysctlLanguage } from './sysctl/language';
import { registerContextSource } from './sysctl/context';
import { HostManager } from './hosts';
import { HostsTree } from './tree';
import { UsageStatusBar } from './statusBar';
import { registerCommands, refreshHost } from './commands';
import { RemoteFileSystem, REMOTE_SCHEME, remoteUri } from './remoteFs';
import { registerHostFileActions } from './sysctl/hostActions';
import { registerUsageChart, type UsageChart } from './chart';
import { registerEntryCommands } from './entries';
import { registerReadOnlyDocs } from './readOnlyDocs';
import { registerFleet, type FleetView } from './fleet';
import { registerAnsibleExport } from './ansible';

/** What tests (and other extensions) can reach. */
export interface ConntrackDoctorApi {
  readonly hosts: HostManager;
  readonly language: SysctlLanguage;
  readonly statusBar: UsageStatusBar;
  readonly tree: HostsTree;
  readonly chart: UsageChart;
  readonly fleet: FleetView;
}

export function activate(context: vscode.ExtensionContext): ConntrackDoctorApi {
  initLog(context);
  const hosts = new HostManager(context.secrets);
  const language = new SysctlLanguage(context.extensionUri);
  const tree = new HostsTree(hosts);
  const view = vscode.window.createTreeView('conntrack.hosts', { treeDataProvider: tree, showCollapseAll: true });
  const statusBar = new UsageStatusBar(hosts);
  const remoteFs = new RemoteFileSystem(hosts);
  const { chart, disposables: chartDisposables } = registerUsageChart(hosts);
  const { fleet, disposables: fleetDisposables } = registerFleet(hosts, context.secrets);

  // Badge: warnings of all connected hosts; polling only while the view is visible.
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
    const seconds = readSettings().refreshIntervalSeconds;
    if (seconds > 0 && view.visible) {
      timer = setInterval(() => {
        for (const h of hosts.list()) if (h.status === 'connected') void hosts.refresh(h).catch((err: unknown) => log.warn(`refresh ${h.label}: ${err instanceof Error ? err.message : String(err)}`));
      }, seconds * 1000);
    }
  };
  const updateBadge = (): void => {
    const n = hosts.list().reduce((a, h) => a + (h.diagnosis?.findings.filter((f) => f.severity !== 'info').length ?? 0), 0);
    view.badge = n > 0 ? { value: n, tooltip: `${n} conntrack warning(s)` } : undefined;
    void vscode.commands.executeCommand('setContext', 'conntrackDoctor.hasHosts', hosts.list().length > 0);
  };

  context.subscriptions.push(
    hosts, language, view, statusBar,
    registerReadOnlyDocs(),
    vscode.workspace.registerFileSystemProvider(REMOTE_SCHEME, remoteFs, { isCaseSensitive: true }),
    registerContextSource(remoteFs),
    hosts.onDidChange(() => {
      updateBadge();
      language.refreshAll();
    }),
    view.onDidChangeVisibility(schedule),
    onSettingsChanged(() => {
      language.refreshAll();
      schedule();
      void hosts.reload();
    }),
    new vscode.Disposable(() => timer && clearInterval(timer)),
    ...registerCommands(hosts),
    ...registerHostFileActions(hosts),
    ...chartDisposables,
    ...fleetDisposables,
    ...registerEntryCommands(hosts, tree),
    ...registerAnsibleExport(hosts),
    vscode.commands.registerCommand('conntrack-doctor.showLog', () => log.show()),
    vscode.commands.registerCommand('conntrack-doctor.openRemoteFile', async (arg?: { host?: { id: string } }) => {
      const list = hosts.list().filter((h) => h.status === 'connected');
      const host = arg?.host ? hosts.get(arg.host.id) : list.length === 1 ? list[0] : (await vscode.window.showQuickPick(list.map((h) => ({ label: h.label, host: h })), { title: 'Open a sysctl file on…' }))?.host;
      if (!host) return;
      if (!host.snapshot) await refreshHost(hosts, host);
      const files = (host.snapshot?.sysctlFiles ?? []).map((f) => f.path);
      const path = await vscode.window.showQuickPick(files.length > 0 ? files : ['/etc/sysctl.conf'], { title: `sysctl files on ${host.label}` });
      if (path) await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(remoteUri(host.id, path)));
    }),
    vscode.commands.registerCommand('conntrack-doctor.quickMenu', async () => {
      const pick = await vscode.window.showQuickPick([
        { label: '$(refresh) Refresh', command: 'conntrack-doctor.refresh' },
        { label: '$(checklist) Diagnose Host', command: 'conntrack-doctor.diagnose' },
        { label: '$(file) Open Remote sysctl File…', command: 'conntrack-doctor.openRemoteFile' },
        { label: '$(output) Show Log', command: 'conntrack-doctor.showLog' },
      ], { title: 'Conntrack' });
      if (pick) await vscode.commands.executeCommand(pick.command, statusBar.activeHost);
    }),
  );
  void hosts.reload();
  log.info(`Conntrack Doctor activated (VS Code ${vscode.version})`);
  return { hosts, language, statusBar, tree, chart, fleet };
}

export function deactivate(): void {
  // Disposables registered in context.subscriptions are released by VS Code.
}
