/**
 * The Hosts view around its tree: the badge (warnings of every connected host), the
 * `conntrackDoctor.hasHosts` context (the welcome view), and the polling that refreshes the
 * connected hosts every `refreshIntervalSeconds` while the view is visible.
 */
import * as vscode from 'vscode';
import { warnings } from '../core/host/diagnosis';
import type { HostManager } from './hosts';
import { log } from './log';
import { onSettingsChanged, readSettings } from './settings';
import type { HostsTree, Node } from './tree';
import { errorMessage } from '../core/format';

export const HOSTS_VIEW = 'conntrack.hosts';

export class HostsView implements vscode.Disposable {
  readonly view: vscode.TreeView<Node>;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly hosts: HostManager, tree: HostsTree) {
    this.view = vscode.window.createTreeView(HOSTS_VIEW, { treeDataProvider: tree, showCollapseAll: true });
    this.subscriptions = [
      this.view,
      hosts.onDidChange(() => this.updateBadge()),
      this.view.onDidChangeVisibility(() => this.schedule()),
      onSettingsChanged(() => this.schedule()),
    ];
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.subscriptions) s.dispose();
  }

  /** Polls only while the view is visible and an interval is set. */
  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const seconds = readSettings().refreshIntervalSeconds;
    if (seconds <= 0 || !this.view.visible) return;
    this.timer = setInterval(() => {
      for (const h of this.hosts.list()) {
        if (h.status === 'connected') void this.hosts.refresh(h).catch((err: unknown) => log.warn(`refresh ${h.label}: ${errorMessage(err)}`));
      }
    }, seconds * 1000);
  }

  private updateBadge(): void {
    const n = this.hosts.list().reduce((a, h) => a + warnings(h.diagnosis?.findings ?? []), 0);
    this.view.badge = n > 0 ? { value: n, tooltip: `${n} conntrack warning(s)` } : undefined;
    void vscode.commands.executeCommand('setContext', 'conntrackDoctor.hasHosts', this.hosts.list().length > 0);
  }
}
