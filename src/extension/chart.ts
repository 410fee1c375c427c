/**
 * "Show Usage Chart": one webview panel per host with its polling history (entries against
 * nf_conntrack_max, drop/s and invalid/s), re-rendered whenever the host changes. The page is
 * built by chartHtml.ts (pure) and runs no script: enableScripts is off and the CSP allows only
 * the nonce'd style sheet, with a fresh nonce per render.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { renderUsageChartHtml } from './chartHtml';
import { hostCommand, type CommandSpec } from './commands';
import { refreshHost } from './flows';
import type { HostEntry, HostManager } from './hosts';
import { log } from './log';
import { errorMessage } from '../core/format';

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
      log.warn(`usage chart of ${host.label}: ${errorMessage(err)}`);
    }
  }

  private forget(id: string, shown: Shown): void {
    if (this.panels.get(id) === shown) this.panels.delete(id);
    for (const s of shown.subscriptions) s.dispose();
  }
}

/** Show Usage Chart: of the host given (a HostEntry, a tree node), the only connected one, or the one picked. */
export function chartCommands(hosts: HostManager, chart: UsageChart): CommandSpec[] {
  return [
    hostCommand(hosts, 'showUsageChart', { connected: true, title: 'Conntrack: show the usage chart of…', none: 'Conntrack: connect a host first (Conntrack: Connect to Host…); the chart shows its polling history.' }, async (host) => {
      if (!host.snapshot) await refreshHost(hosts, host);
      return chart.show(host);
    }),
  ];
}
