/** The active host in the status bar: name and usage %, warning/error colours above the thresholds. */
import * as vscode from 'vscode';
import type { HostEntry, HostManager } from './hosts';
import { formatPercent, formatUsage } from '../core/format';
import { warnings } from '../core/host/diagnosis';

export class UsageStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('conntrack-doctor.usage', vscode.StatusBarAlignment.Left, 50);
  private active: HostEntry | undefined;
  private readonly sub: vscode.Disposable;

  constructor(hosts: HostManager) {
    this.item.name = 'Conntrack usage';
    this.item.command = 'conntrack-doctor.quickMenu';
    this.sub = hosts.onDidChange((h) => {
      if (h && h.status === 'connected') this.active = h;
      if (this.active && !hosts.get(this.active.id)) this.active = undefined;
      this.update();
    });
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }

  get activeHost(): HostEntry | undefined {
    return this.active;
  }

  /** Visible for tests: the text and state shown. */
  get state(): { text: string; level: string } {
    return { text: this.item.text, level: this.active?.diagnosis?.usage.level ?? 'unknown' };
  }

  private update(): void {
    const h = this.active;
    if (!h || h.status !== 'connected' || !h.diagnosis) {
      this.item.hide();
      return;
    }
    const u = h.diagnosis.usage;
    const pct = u.active === false ? 'not tracking' : u.percent !== undefined ? formatPercent(u.percent) : '?';
    const warningCount = warnings(h.diagnosis.findings);
    this.item.text = `$(${u.level === 'critical' ? 'error' : u.level === 'high' || u.level === 'elevated' ? 'warning' : 'pulse'}) ${h.label} ${pct}`;
    this.item.tooltip = `Conntrack on ${h.label}: ${formatUsage(u)} entries (${u.level}); ${warningCount} warning(s)`;
    this.item.backgroundColor = u.level === 'critical' ? new vscode.ThemeColor('statusBarItem.errorBackground') : u.level === 'high' || u.level === 'elevated' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }
}
