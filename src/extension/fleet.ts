/**
 * The Fleet view (Conntrack container): every instance exporting node_exporter's conntrack
 * metrics in the user's Prometheus, ranked worst first (core/fleet), with usage bars, levels,
 * rates and a 24 h sparkline; a filter; refresh on an interval while visible; "Diagnose over
 * SSH" on a row hands the row's SSH target to the Hosts view's own Diagnose. States the user
 * must tell apart have their own welcome content (context key conntrackDoctor.fleet.state):
 * unconfigured, loading, unreachable (error), no conntrack metrics, nothing matches the filter.
 *
 * The password or token is in SecretStorage only; the settings say which kind it is.
 */
import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { isPrometheusError, prometheusHint } from '../core/fleet/errors';
import { filterHosts, inTrouble, summarizeFleet, type FleetHost } from '../core/fleet/ranking';
import { rowDescription, rowTooltip, type FleetReport } from '../core/fleet/report';
import { parseSelector, type LabelMatcher } from '../core/fleet/selector';
import { checkSourceUrl, PrometheusClient, readFleet, readUsageHistory, type PrometheusAuth } from '../io/prometheus';
import type { CommandSpec } from './commands';
import type { HostManager } from './hosts';
import { log } from './log';
import { onPrometheusSettingsChanged, readPrometheusSettings, readSettings, updatePrometheusSetting, type PrometheusSettings } from './settings';

export const FLEET_VIEW_ID = 'conntrack.fleet';
const SECRET_KEY = 'conntrack-doctor.prometheus.secret';
/** Sparklines are fetched for this many rows from the top (the rows a person looks at). */
const HISTORY_ROWS = 100;
/**
 * Rows handed to the tree: the worst of the (filtered) ranking. VS Code turns every child into
 * an item at once; past a few hundred nobody scrolls, they filter (the last row says how many
 * more there are).
 */
export const MAX_ROWS = 500;

export type FleetState = 'unconfigured' | 'loading' | 'ok' | 'empty' | 'filtered-empty' | 'error';

export type FleetRow = { readonly kind: 'fleet-host'; readonly host: FleetHost } | { readonly kind: 'fleet-more'; readonly hidden: number };

const historyKey = (h: Pick<FleetHost, 'job' | 'instance'>): string => `${h.job}\u0000${h.instance}`;

export class FleetView implements vscode.TreeDataProvider<FleetRow>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<FleetRow | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly refreshed = new vscode.EventEmitter<FleetState>();
  /** Fires after every refresh (tests wait for it instead of sleeping). */
  readonly onDidRefresh = this.refreshed.event;
  report: FleetReport | undefined;
  history = new Map<string, (number | null)[]>();
  error: Error | undefined;
  filter = '';
  state: FleetState = 'unconfigured';
  private view: vscode.TreeView<FleetRow> | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;

  constructor(private readonly secrets: vscode.SecretStorage) {}

  attach(view: vscode.TreeView<FleetRow>): void {
    this.view = view;
  }

  dispose(): void {
    this.abort?.abort();
    this.changed.dispose();
    this.refreshed.dispose();
  }

  /** The rows shown: the ranking, filtered. */
  rows(): FleetHost[] {
    return this.report ? filterHosts(this.report.hosts, this.filter) : [];
  }

  getChildren(element?: FleetRow): FleetRow[] {
    if (element) return [];
    if (this.state === 'error' && !this.report) return [];
    const rows = this.rows();
    const shown: FleetRow[] = rows.slice(0, MAX_ROWS).map((host) => ({ kind: 'fleet-host', host }));
    if (rows.length > MAX_ROWS) shown.push({ kind: 'fleet-more', hidden: rows.length - MAX_ROWS });
    return shown;
  }

  getTreeItem(row: FleetRow): vscode.TreeItem {
    if (row.kind === 'fleet-more') {
      const more = new vscode.TreeItem(`… ${row.hidden.toLocaleString('en-US')} more, in better shape`, vscode.TreeItemCollapsibleState.None);
      more.description = 'Filter Fleet… to find one';
      more.command = { command: 'conntrack-doctor.filterFleet', title: 'Filter Fleet…' };
      more.contextValue = 'fleet.more';
      return more;
    }
    const h = row.host;
    const points = this.history.get(historyKey(h));
    const item = new vscode.TreeItem(h.instance, vscode.TreeItemCollapsibleState.None);
    item.id = historyKey(h);
    item.description = rowDescription(h, points);
    item.contextValue = h.sshTarget ? 'fleet.host.ssh' : 'fleet.host';
    const colour = (name: string): vscode.ThemeColor => new vscode.ThemeColor(name);
    item.iconPath = !h.up
      ? new vscode.ThemeIcon('debug-disconnect', colour('errorForeground'))
      : (h.rates?.drop ?? 0) > 0 || h.level === 'critical'
        ? new vscode.ThemeIcon('error', colour('errorForeground'))
        : h.level === 'high' || h.level === 'elevated'
          ? new vscode.ThemeIcon('warning', colour('editorWarning.foreground'))
          : h.level === 'ok'
            ? new vscode.ThemeIcon('pass')
            : new vscode.ThemeIcon('question');
    item.accessibilityInformation = { label: `${h.instance}: ${h.level}, ${item.description}` };
    return item;
  }

  /** The tooltip on hover only: VS Code asks for every row's item at once, and fleets have thousands. */
  resolveTreeItem(item: vscode.TreeItem, row: FleetRow): vscode.TreeItem {
    if (row.kind !== 'fleet-host') return item;
    item.tooltip = new vscode.MarkdownString(rowTooltip(row.host, this.history.get(historyKey(row.host))));
    return item;
  }

  /** Asks Prometheus again; concurrent calls share one round. */
  refresh(): Promise<void> {
    this.running ??= this.load().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async storeSecret(value: string): Promise<void> {
    await this.secrets.store(SECRET_KEY, value);
  }

  async forgetSecret(): Promise<void> {
    await this.secrets.delete(SECRET_KEY);
  }

  private async client(s: PrometheusSettings): Promise<PrometheusClient> {
    let auth: PrometheusAuth | undefined;
    if (s.auth !== 'none') {
      const secret = await this.secrets.get(SECRET_KEY);
      if (secret === undefined) throw new Error(`no ${s.auth === 'basic' ? 'password' : 'token'} stored for Prometheus: run Conntrack: Set Up Prometheus…`);
      auth = s.auth === 'basic' ? { kind: 'basic', username: s.username, password: secret } : { kind: 'bearer', token: secret };
    }
    const ca = s.caFile ? await readFile(s.caFile, 'utf8') : undefined;
    // proxyEnv false: VS Code's own proxy support (http.proxy, the environment) applies to node's http/https in extensions.
    return new PrometheusClient({ url: s.url, ...(auth ? { auth } : {}), headers: s.headers, ...(ca !== undefined ? { ca } : {}), insecure: s.insecureSkipVerify, timeoutMs: s.timeoutSeconds * 1000, proxyEnv: false });
  }

  private async load(): Promise<void> {
    const s = readPrometheusSettings();
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    if (!s.url) {
      this.report = undefined;
      this.error = undefined;
      this.setState('unconfigured', undefined);
      return;
    }
    if (!this.report) this.setState('loading', 'Asking Prometheus…');
    try {
      const matchers: LabelMatcher[] = parseSelector(s.selector, 'conntrackDoctor.prometheus.selector');
      const client = await this.client(s);
      const general = readSettings();
      const report = await readFleet(client, {
        matchers,
        thresholds: { warnPercent: general.warnPercent, highPercent: general.highPercent, criticalPercent: general.criticalPercent },
        ssh: { ...(s.sshTargetLabel ? { label: s.sshTargetLabel } : {}), ...(s.sshUser ? { user: s.sshUser } : {}), targets: s.sshTargets },
        signal: abort.signal,
      });
      if (abort.signal.aborted) return;
      this.report = report;
      this.error = undefined;
      for (const e of report.errors) log.warn(`fleet: ${e.query ?? e.instance ?? ''}: ${e.message}`);
      this.showReport();
      // Sparklines after the rows: the ranking is on screen before the history arrives.
      const top = report.hosts.slice(0, HISTORY_ROWS).map((h) => h.instance);
      if (top.length > 0) {
        try {
          this.history = await readUsageHistory(client, matchers, top, { signal: abort.signal });
          if (!abort.signal.aborted) this.changed.fire(undefined);
        } catch (err) {
          log.warn(`fleet: 24 h history: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      this.error = err instanceof Error ? err : new Error(String(err));
      log.error('fleet: asking Prometheus', err);
      const why = isPrometheusError(err) ? `${err.message} — ${prometheusHint(err.kind)}` : this.error.message;
      this.setState('error', this.report ? `Refresh failed, showing ${new Date(this.report.queriedAt).toLocaleTimeString()}: ${why}` : why);
    } finally {
      this.refreshed.fire(this.state);
    }
  }

  /** Re-applies the filter and the summary line to the current report. */
  showReport(): void {
    const r = this.report;
    if (!r) return;
    if (r.hosts.length === 0) {
      this.setState('empty', `No instance exports node_nf_conntrack_entries ${r.source.selector} on ${r.source.url}.`);
      return;
    }
    const shown = this.rows();
    const s = summarizeFleet(r.hosts);
    const summary = `${s.inTrouble} of ${s.total} in trouble${s.down ? `, ${s.down} down` : ''}${s.withoutCounters ? `, ${s.withoutCounters} without counters` : ''}${this.filter ? ` · filter "${this.filter}": ${shown.length} shown` : ''}`;
    this.setState(shown.length === 0 ? 'filtered-empty' : 'ok', summary);
    if (this.view) {
      this.view.description = new Date(r.queriedAt).toLocaleTimeString();
      const trouble = r.hosts.filter(inTrouble).length;
      this.view.badge = trouble > 0 ? { value: trouble, tooltip: `${trouble} host(s) at warning or above, or dropping` } : undefined;
    }
  }

  private setState(state: FleetState, message: string | undefined): void {
    this.state = state;
    if (this.view) this.view.message = message ?? '';
    void vscode.commands.executeCommand('setContext', 'conntrackDoctor.fleet.state', state);
    this.changed.fire(undefined);
  }
}

/** Set Up Prometheus…: URL, then the kind of credentials, then the secret (SecretStorage). */
async function setUp(fleet: FleetView): Promise<void> {
  const current = readPrometheusSettings();
  const url = await vscode.window.showInputBox({
    title: 'Conntrack: Prometheus URL',
    prompt: 'The Prometheus the team runs, e.g. https://prometheus.example.org:9090 (no user:password in it)',
    value: current.url,
    ignoreFocusOut: true,
    validateInput: (v) => {
      try {
        checkSourceUrl(v);
        return undefined;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    },
  });
  if (url === undefined) return;
  const auth = await vscode.window.showQuickPick(
    [
      { label: 'No credentials', value: 'none' as const },
      { label: 'Basic auth', description: 'user name and password', value: 'basic' as const },
      { label: 'Bearer token', description: 'a proxy or a hosted Prometheus', value: 'bearer' as const },
    ],
    { title: 'Conntrack: how does Prometheus want you to log in?', ignoreFocusOut: true },
  );
  if (!auth) return;
  let username = current.username;
  if (auth.value === 'basic') {
    const u = await vscode.window.showInputBox({ title: 'Conntrack: Prometheus user name', value: username, ignoreFocusOut: true, validateInput: (v) => (v && !v.includes(':') ? undefined : 'a user name without ":"') });
    if (u === undefined) return;
    username = u;
  }
  if (auth.value !== 'none') {
    const secret = await vscode.window.showInputBox({ title: `Conntrack: Prometheus ${auth.value === 'basic' ? 'password' : 'token'}`, prompt: 'Kept in VS Code\'s secret storage only', password: true, ignoreFocusOut: true });
    if (secret === undefined) return;
    await fleet.storeSecret(secret);
  } else await fleet.forgetSecret();
  await updatePrometheusSetting('url', url.trim());
  await updatePrometheusSetting('auth', auth.value);
  await updatePrometheusSetting('username', auth.value === 'basic' ? username : undefined);
  await fleet.refresh();
}

function rowFrom(arg: unknown): FleetHost | undefined {
  if (arg && typeof arg === 'object' && 'kind' in arg && arg.kind === 'fleet-host' && 'host' in arg) return (arg as { host: FleetHost }).host;
  return undefined;
}

/** The worst rows' SSH targets to pick from, from the palette. */
async function pickRow(fleet: FleetView): Promise<FleetHost | undefined> {
  const rows = fleet.rows().filter((h) => h.sshTarget);
  if (rows.length === 0) {
    void vscode.window.showInformationMessage('Conntrack: no fleet row has an SSH target (refresh the Fleet view, or map instances with conntrackDoctor.prometheus.sshTargets).');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(rows.slice(0, 200).map((h) => ({ label: h.instance, description: rowDescription(h), detail: `ssh ${h.sshTarget ?? ''}`, h })), { title: 'Conntrack: diagnose which host over SSH?' });
  return pick?.h;
}

/** The Fleet view, its refresh timer, and its rows of the command table. */
export function registerFleet(hosts: HostManager, secrets: vscode.SecretStorage): { fleet: FleetView; view: vscode.TreeView<FleetRow>; disposables: vscode.Disposable[]; commands: CommandSpec[] } {
  const fleet = new FleetView(secrets);
  const view = vscode.window.createTreeView(FLEET_VIEW_ID, { treeDataProvider: fleet });
  fleet.attach(view);
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
    const seconds = readSettings().refreshIntervalSeconds;
    if (seconds > 0 && view.visible && readPrometheusSettings().url) timer = setInterval(() => void fleet.refresh(), seconds * 1000);
  };
  const command = (id: string, fn: (arg?: unknown) => Promise<unknown>): CommandSpec => ({ id, run: fn });
  void vscode.commands.executeCommand('setContext', 'conntrackDoctor.fleet.state', readPrometheusSettings().url ? 'loading' : 'unconfigured');
  // Already visible when the extension activates (e.g. the container was open): no visibility event comes.
  if (view.visible) void fleet.refresh();
  schedule();
  return {
    fleet,
    view,
    disposables: [
      fleet,
      view,
      new vscode.Disposable(() => timer && clearInterval(timer)),
      view.onDidChangeVisibility(() => {
        schedule();
        if (view.visible) void fleet.refresh();
      }),
      onPrometheusSettingsChanged(() => {
        schedule();
        void fleet.refresh();
      }),
    ],
    commands: [
      command('setUpPrometheus', () => setUp(fleet)),
      command('refreshFleet', () => fleet.refresh()),
      command('filterFleet', async () => {
        const text = await vscode.window.showInputBox({ title: 'Conntrack: filter the fleet', prompt: 'Part of an instance, job, SSH target or label=value', value: fleet.filter });
        if (text === undefined) return;
        fleet.filter = text.trim();
        await vscode.commands.executeCommand('setContext', 'conntrackDoctor.fleet.filtered', fleet.filter !== '');
        fleet.showReport();
      }),
      command('clearFleetFilter', async () => {
        fleet.filter = '';
        await vscode.commands.executeCommand('setContext', 'conntrackDoctor.fleet.filtered', false);
        fleet.showReport();
      }),
      command('forgetPrometheusCredentials', async () => {
        await fleet.forgetSecret();
        void vscode.window.showInformationMessage('Conntrack: the Prometheus password or token was removed from the secret storage.');
      }),
      command('diagnoseFleetHost', async (arg) => {
        const row = rowFrom(arg) ?? (await pickRow(fleet));
        if (!row) return undefined;
        if (!row.sshTarget) throw new Error(`${row.instance} has no SSH target: ${row.sshTargetError ?? 'map it with conntrackDoctor.prometheus.sshTargets'}`);
        // An ssh config alias of that name is used as is; otherwise the target joins the Hosts view for this session.
        const entry = hosts.get(row.sshTarget) ?? (await hosts.add(row.sshTarget, row.sshTarget, false));
        await vscode.commands.executeCommand('conntrack-doctor.diagnose', entry);
        return entry;
      }),
    ],
  };
}
