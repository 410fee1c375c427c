/**
 * The Hosts view around its tree: the badge (warnings of every connected host), the
 * `conntrackDoctor.hasHosts` context (the welcome view), and the polling that refreshes the
 * connected hosts while the view is visible: each host `refreshIntervalSeconds` after its last
 * refresh ended (so never on top of the connect's own, and never two at once).
 */
import * as vscode from 'vscode';
import { warnings } from '../core/host/diagnosis';
import type { HostEntry, HostManager } from './hosts';
import { log } from './log';
import { onSettingsChanged, readSettings } from './settings';
import type { HostsTree, Node } from './tree';
import { errorMessage } from '../core/format';

export const HOSTS_VIEW = 'conntrack.hosts';

export class HostsView implements vscode.Disposable {
  readonly view: vscode.TreeView<Node>;
  private readonly timers = new Map<HostEntry, NodeJS.Timeout>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly hosts: HostManager, tree: HostsTree) {
    this.view = vscode.window.createTreeView(HOSTS_VIEW, { treeDataProvider: tree, showCollapseAll: true });
    this.subscriptions = [
      this.view,
      hosts.onDidChange(() => this.updateBadge()),
      hosts.onDidRefresh((h) => this.scheduleHost(h, Date.now())),
      hosts.onDidDisconnect((h) => this.cancelHost(h)),
      this.view.onDidChangeVisibility(() => this.schedule()),
      onSettingsChanged(() => this.schedule()),
    ];
  }

  dispose(): void {
    for (const h of [...this.timers.keys()]) this.cancelHost(h);
    for (const s of this.subscriptions) s.dispose();
  }

  /** Polls only while the view is visible and an interval is set. */
  private schedule(): void {
    for (const h of [...this.timers.keys()]) this.cancelHost(h);
    for (const h of this.hosts.list()) if (h.snapshot) this.scheduleHost(h, h.snapshot.takenAt);
  }

  /** The host's next periodic refresh, the interval after `since` (its last refresh's end, or its snapshot's time). */
  private scheduleHost(h: HostEntry, since: number): void {
    this.cancelHost(h);
    const seconds = readSettings().refreshIntervalSeconds;
    if (seconds <= 0 || !this.view.visible || h.status !== 'connected' || !h.snapshot) return;
    const due = Math.max(0, since + seconds * 1000 - Date.now());
    this.timers.set(h, setTimeout(() => {
      this.timers.delete(h);
      // the next one is scheduled when this one ends (onDidRefresh)
      if (h.status === 'connected') void this.hosts.refresh(h, undefined, { periodic: true }).catch((err: unknown) => log.warn(`refresh ${h.label}: ${errorMessage(err)}`));
    }, due));
  }

  private cancelHost(h: HostEntry): void {
    const t = this.timers.get(h);
    if (t) clearTimeout(t);
    this.timers.delete(h);
  }

  private updateBadge(): void {
    const n = this.hosts.list().reduce((a, h) => a + warnings(h.diagnosis?.findings ?? []), 0);
    this.view.badge = n > 0 ? { value: n, tooltip: `${n} conntrack warning(s)` } : undefined;
    void vscode.commands.executeCommand('setContext', 'conntrackDoctor.hasHosts', this.hosts.list().length > 0);
  }
}
