/**
 * "Show Usage Chart": one webview panel per host with its polling history (entries against
 * nf_conntrack_max, drop/s and invalid/s), re-rendered whenever the host changes. The page is
 * built by chartHtml.ts (pure) and runs no script: enableScripts is off and the CSP allows only
 * the nonce'd style sheet, with a fresh nonce per render.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { renderUsageChartHtml } from './chartHtml';
import { refreshHost } from './commands';
import { HostEntry, type HostManager } from './hosts';
import { log } from './log';

export const USAGE_CHART_VIEW_TYPE = 'conntrack.usageChart';

interface Shown {
  readonly panel: vscode.WebviewPanel;
  readonly subscriptions: vscode.Disposable[];
}

export class UsageChart implements vscode.Disposable {
  private readonly panels = new Map<string, Shown>();

  constructor(private readonly hosts: HostManager) {}

  /** Opens (or reveals) the host's chart panel. */
  show(host: HostEntry): vscode.WebviewPanel {
    const open = this.panels.get(host.id);
    if (open) {
      this.render(open.panel, host);
      open.panel.reveal(undefined, false);
      return open.panel;
    }
    const panel = vscode.window.createWebviewPanel(USAGE_CHART_VIEW_TYPE, `Conntrack usage — ${host.label}`, { viewColumn: vscode.ViewColumn.Active, preserveFocus: false }, {
      enableScripts: false,
      enableForms: false,
      enableCommandUris: false,
      localResourceRoots: [],
      enableFindWidget: true,
    });
    const shown: Shown = {
      panel,
      subscriptions: [
        this.hosts.onDidChange((changed) => {
          if (changed === undefined || changed === host) this.render(panel, host);
        }),
      ],
    };
    shown.subscriptions.push(panel.onDidDispose(() => this.forget(host.id, shown)));
    this.panels.set(host.id, shown);
    this.render(panel, host);
    return panel;
  }

  /** The open panel of a host, if any. */
  panel(host: HostEntry): vscode.WebviewPanel | undefined {
    return this.panels.get(host.id)?.panel;
  }

  dispose(): void {
    for (const shown of [...this.panels.values()]) shown.panel.dispose();
    this.panels.clear();
  }

  private render(panel: vscode.WebviewPanel, host: HostEntry): void {
    try {
      panel.title = `Conntrack usage — ${host.label}`;
      panel.webview.html = renderUsageChartHtml({ hostLabel: host.label, history: host.history, nonce: randomBytes(18).toString('base64') });
    } catch (err) {
      // A disposed panel throws on access; its onDidDispose removes it.
      log.warn(`usage chart of ${host.label}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private forget(id: string, shown: Shown): void {
    if (this.panels.get(id) === shown) this.panels.delete(id);
    for (const s of shown.subscriptions) s.dispose();
  }
}

/** A HostEntry, a tree node carrying one (`{ host }`), or nothing (then: a quick pick of connected hosts). */
async function hostFromArgument(hosts: HostManager, arg: unknown): Promise<HostEntry | undefined> {
  if (arg instanceof HostEntry) return arg;
  if (arg && typeof arg === 'object' && 'host' in arg && arg.host instanceof HostEntry) return arg.host;
  const connected = hosts.list().filter((h) => h.status === 'connected');
  if (connected.length === 0) {
    void vscode.window.showInformationMessage('Conntrack: connect a host first (Conntrack: Connect to Host…); the chart shows its polling history.');
    return undefined;
  }
  if (connected.length === 1) return connected[0];
  const pick = await vscode.window.showQuickPick(connected.map((h) => ({ label: h.label, description: `${h.history.length} samples`, host: h })), { title: 'Conntrack: show the usage chart of…' });
  return pick?.host;
}

export function registerUsageChart(hosts: HostManager): { chart: UsageChart; disposables: vscode.Disposable[] } {
  const chart = new UsageChart(hosts);
  const command = vscode.commands.registerCommand('conntrack-doctor.showUsageChart', async (arg?: unknown): Promise<vscode.WebviewPanel | undefined> => {
    try {
      const host = await hostFromArgument(hosts, arg);
      if (!host) return undefined;
      if (!host.snapshot) await refreshHost(hosts, host);
      return chart.show(host);
    } catch (err) {
      log.error('showUsageChart', err);
      void vscode.window.showErrorMessage(`Conntrack: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  });
  return { chart, disposables: [chart, command] };
}
