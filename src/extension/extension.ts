/**
 * VS Code entry point: a wiring table. Every feature lives in its own module and is an adapter
 * over the pure core (src/core) and the I/O layer (src/io); every command is a row of the
 * command table (commands.ts), registered here with one error policy. The extension's
 * lifetime owns what is pushed to context.subscriptions; a connection's lifetime is the
 * HostManager's (hosts.ts), whose connections deactivate() closes and waits for.
 */
import * as vscode from 'vscode';
import { ansibleCommands } from './ansible';
import { UsageChart, chartCommands } from './chart';
import { registerCommands } from './commands';
import { EntryBrowser } from './entryBrowser';
import { entryCommands } from './entryCommands';
import { fixCommands } from './fixCommands';
import { registerFleet, type FleetView } from './fleet';
import { hostCommands } from './hostCommands';
import { HostManager } from './hosts';
import { HostsView } from './hostsView';
import { initLog, log, showError } from './log';
import { registerReadOnlyDocs } from './readOnlyDocs';
import { RemoteFileSystem, REMOTE_SCHEME } from './remoteFs';
import { onSettingsChanged } from './settings';
import { UsageStatusBar } from './statusBar';
import { registerContextSource } from './sysctl/context';
import { hostFileActions } from './sysctl/hostActions';
import { SysctlLanguage } from './sysctl/language';
import { HostsTree, leafNode, type LeafNode } from './tree';

/** What tests (and other extensions) can reach. */
export interface ConntrackDoctorApi {
  readonly hosts: HostManager;
  readonly language: SysctlLanguage;
  readonly statusBar: UsageStatusBar;
  readonly tree: HostsTree;
  readonly chart: UsageChart;
  readonly fleet: FleetView;
}

let hostManager: HostManager | undefined;

export function activate(context: vscode.ExtensionContext): ConntrackDoctorApi {
  initLog(context);
  try {
    const hosts = (hostManager = new HostManager(context.secrets));
    const language = new SysctlLanguage(context.extensionUri);
    const entries = new EntryBrowser<LeafNode>(leafNode, hosts.onDidDisconnect);
    const tree = new HostsTree(hosts, entries);
    const statusBar = new UsageStatusBar(hosts);
    const remoteFs = new RemoteFileSystem(hosts);
    const chart = new UsageChart(hosts);
    const fileActions = hostFileActions(hosts);
    const fleet = registerFleet(hosts, context.secrets);

    context.subscriptions.push(
      hosts, language, entries, tree, new HostsView(hosts, tree), statusBar, chart,
      registerReadOnlyDocs(),
      vscode.workspace.registerFileSystemProvider(REMOTE_SCHEME, remoteFs, { isCaseSensitive: true }),
      registerContextSource(remoteFs),
      ...fileActions.disposables,
      ...fleet.disposables,
      hosts.onDidChange(() => language.refreshAll()),
      onSettingsChanged(() => {
        language.refreshAll();
        void hosts.reload();
      }),
      ...registerCommands([
        ...hostCommands(hosts, () => statusBar.activeHost),
        ...fixCommands(hosts),
        ...entryCommands(hosts, entries),
        ...chartCommands(hosts, chart),
        ...fileActions.commands,
        ...language.commands(),
        ...fleet.commands,
        ...ansibleCommands(hosts),
      ]),
    );
    void hosts.reload();
    log.info(`Conntrack Doctor activated (VS Code ${vscode.version})`);
    return { hosts, language, statusBar, tree, chart, fleet: fleet.fleet };
  } catch (err) {
    void showError('activating Conntrack Doctor', 'Conntrack Doctor could not start', err);
    throw err;
  }
}

/** Closes every connection; VS Code waits for the promise. */
export function deactivate(): Promise<void> | undefined {
  return hostManager?.closeAll();
}
