/**
 * The Fleet view against the real Prometheus of scripts/vscode/test.sh (harness/fleet/stackCli.ts):
 * two of Debian's node_exporter in the fleet test host's network namespace (one without
 * /proc/net/stat/nf_conntrack: counters unavailable), scraped every second. Numbers are
 * checked against the hosts' own `conntrack -C` (ctd-host exec, not the product); credentials
 * go through VS Code's real SecretStorage to a bearer-token gate in front of that Prometheus;
 * the scale check serves a generated 5,000-host fleet the way Prometheus answers.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import * as vscode from 'vscode';
import { after, before, describe, it, note } from './harness';
import { ctdHost, extensionWithTestHost } from './testHost';
import { waitForEvent } from './waitFor';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import type { FleetRow, FleetState } from '../../../src/extension/fleet';
import type { HostEntry } from '../../../src/extension/hosts';
import { freePort, promQuery, until } from '../../../harness/fleet/stack';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const env = (name: string): string => {
  const v = process.env[name];
  assert.ok(v, `${name} missing: run through scripts/vscode/test.sh`);
  return v;
};

const prometheus = (key: string, value: unknown): Thenable<void> => vscode.workspace.getConfiguration('conntrackDoctor.prometheus').update(key, value, vscode.ConfigurationTarget.Global);

describe('Fleet view', () => {
  let api: ConntrackDoctorApi;
  let url: string;
  let fleetHost: string;
  let instance: string;
  let hidden: string;
  const servers: Server[] = [];

  /** Sets the URL (the settings change triggers a refresh too) and waits for a refresh that ends in `state`. */
  async function showFleetOf(target: string, state: FleetState): Promise<void> {
    const done = waitForEvent(api.fleet.onDidRefresh, (s) => s === state, { timeoutMs: 60_000, what: `the fleet in state ${state}` });
    await prometheus('url', target);
    await api.fleet.refresh();
    await done;
  }

  /** The host rows of the tree (not the "… more" row). */
  const rows = (): Extract<FleetRow, { kind: 'fleet-host' }>[] => api.fleet.getChildren().filter((r): r is Extract<FleetRow, { kind: 'fleet-host' }> => r.kind === 'fleet-host');

  before(async () => {
    ({ api } = await extensionWithTestHost());
    url = env('CTD_TEST_PROMETHEUS_URL');
    fleetHost = env('CTD_TEST_FLEET_HOST_NAME');
    instance = env('CTD_TEST_FLEET_INSTANCE');
    hidden = env('CTD_TEST_FLEET_HIDDEN_INSTANCE');
    const all = await vscode.commands.getCommands(true);
    for (const c of ['setUpPrometheus', 'refreshFleet', 'filterFleet', 'clearFleetFilter', 'diagnoseFleetHost', 'forgetPrometheusCredentials']) assert.ok(all.includes(`conntrack-doctor.${c}`), `conntrack-doctor.${c} is not registered`);
  });

  after(async () => {
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await api.fleet.forgetSecret();
    for (const k of ['url', 'auth', 'selector']) await prometheus(k, undefined);
    await vscode.workspace.getConfiguration('conntrackDoctor').update('refreshIntervalSeconds', undefined, vscode.ConfigurationTarget.Global);
  });

  it('without a Prometheus URL: the welcome state, no rows', async () => {
    await prometheus('url', undefined);
    await api.fleet.refresh();
    assert.equal(api.fleet.state, 'unconfigured');
    assert.deepEqual(rows(), []);
  });

  it('a Prometheus nobody answers for: the error state names the reason, no rows', async () => {
    await showFleetOf(`http://127.0.0.1:${await freePort()}`, 'error');
    assert.match(api.fleet.error?.message ?? '', /connection refused \(nothing listens on that port\)/);
    assert.deepEqual(rows(), []);
  }, { timeoutMs: 90_000 });

  it('the real fleet: the host with a filled table first, with its own numbers, bars, level and sparkline; counters unavailable said', async () => {
    const max = Number(ctdHost(['exec', fleetHost, 'cat', '/proc/sys/net/netfilter/nf_conntrack_max']).trim());
    const now = Number(ctdHost(['exec', fleetHost, 'conntrack', '-C']).trim());
    const want = Math.ceil(max * 0.8);
    if (now < want) ctdHost(['fill', fleetHost, '--assured', String(want - now)]);
    await until('Prometheus to scrape the filled count', async () => (Number((await promQuery(url, `node_nf_conntrack_entries{instance="${instance}"}`))[0]?.value[1] ?? 0) >= want ? true : undefined), 30_000);
    await showFleetOf(url, 'ok');
    // Both exporters run in the filled host: its two rows come first (in either order: the same table).
    assert.deepEqual(rows().slice(0, 2).map((r) => r.host.instance).sort(), [instance, hidden].sort());
    const first = rows().find((r) => r.host.instance === instance)?.host;
    assert.ok(first, 'no row for the filled host');
    const count = Number(ctdHost(['exec', fleetHost, 'conntrack', '-C']).trim());
    assert.ok(first.count !== null && Math.abs(first.count - count) <= 50, `view ${first.count}, conntrack -C ${count}`);
    assert.equal(first.max, max);
    assert.equal(first.level, 'elevated');
    assert.equal(first.sshTarget, instance.replace(/:\d+$/, ''));
    const item = api.fleet.getTreeItem({ kind: 'fleet-host', host: first });
    assert.equal(item.label, instance);
    assert.match(String(item.description), /^█{6,7}░{1,2} 8\d\.\d %/);
    assert.equal(item.contextValue, 'fleet.host.ssh');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'warning');
    assert.equal(item.tooltip, undefined, 'the tooltip is resolved on hover');
    const resolved = api.fleet.resolveTreeItem(item, { kind: 'fleet-host', host: first });
    assert.match((resolved.tooltip as vscode.MarkdownString).value, /\| entries \/ max \| [\d,]+ \/ [\d,]+ \|/);
    // the 24 h sparkline of the top rows came with the same refresh
    assert.ok(api.fleet.history.get(`node\u0000${instance}`)?.some((p) => p !== null && p > 70), 'no usage history for the first row');
    assert.match(String(item.description), / · [▁▂▃▄▅▆▇█][▁▂▃▄▅▆▇█ ]*$/);
    const blind = rows().find((r) => r.host.instance === hidden)?.host;
    assert.ok(blind, `no row for ${hidden}`);
    assert.equal(blind.countersAvailable, false);
    assert.match(String(api.fleet.getTreeItem({ kind: 'fleet-host', host: blind }).description), /no counters/);
    note(`rows: ${rows().map((r) => `${r.host.instance} ${r.host.percent?.toFixed(1) ?? '?'} %`).join(', ')}`);
  }, { timeoutMs: 120_000 });

  it('filter by label or instance; nothing matching is its own state; Clear Fleet Filter brings all back', async () => {
    api.fleet.filter = 'role=old-kernel';
    api.fleet.showReport();
    assert.deepEqual(rows().map((r) => r.host.instance), [hidden]);
    api.fleet.filter = 'no-such-host';
    api.fleet.showReport();
    assert.equal(api.fleet.state, 'filtered-empty');
    assert.deepEqual(rows(), []);
    await vscode.commands.executeCommand('conntrack-doctor.clearFleetFilter');
    assert.equal(api.fleet.filter, '');
    assert.equal(api.fleet.state, 'ok');
    assert.equal(rows().length, 2);
  });

  it('Diagnose over SSH on the worst row: the Hosts view\'s diagnosis of that host, with its own count', async () => {
    const row = rows()[0];
    assert.ok(row);
    const entry = await vscode.commands.executeCommand<HostEntry | undefined>('conntrack-doctor.diagnoseFleetHost', row);
    assert.ok(entry, 'no host entry');
    assert.equal(entry.target, row.host.sshTarget);
    assert.equal(api.hosts.get(entry.id), entry);
    assert.equal(entry.status, 'connected', entry.error);
    const count = Number(ctdHost(['exec', fleetHost, 'conntrack', '-C']).trim());
    assert.ok(Math.abs((entry.diagnosis?.usage.count ?? -1) - count) <= 50, `diagnosis ${entry.diagnosis?.usage.count}, conntrack -C ${count}`);
    assert.ok(entry.diagnosis?.findings.some((f) => f.code === 'table-usage'), 'no table-usage finding');
    assert.ok(vscode.workspace.textDocuments.some((d) => d.getText().startsWith(`Conntrack on `) && d.getText().includes('elevated')), 'the diagnosis report is not open');
    await api.hosts.disconnect(entry);
  }, { timeoutMs: 120_000 });

  it('credentials come from SecretStorage: a bearer-token gate in front of the real Prometheus', async () => {
    const token = 'vsc-fleet-token-31c9';
    const gate = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { 'Content-Type': 'text/plain' });
        res.end('unauthorized\n');
        return;
      }
      const up = request(`${url}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers: { 'content-type': req.headers['content-type'] ?? '', 'content-length': req.headers['content-length'] ?? '0' } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    servers.push(gate);
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    const a = gate.address();
    const gateUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    await api.fleet.forgetSecret();
    await prometheus('auth', 'bearer');
    await showFleetOf(gateUrl, 'error');
    assert.match(api.fleet.error?.message ?? '', /no token stored for Prometheus/);
    await api.fleet.storeSecret('wrong-token');
    await api.fleet.refresh();
    assert.equal(api.fleet.state, 'error');
    assert.match(api.fleet.error?.message ?? '', /401 Unauthorized: the credentials were refused/);
    await api.fleet.storeSecret(token);
    await api.fleet.refresh();
    assert.equal(api.fleet.state, 'ok', api.fleet.error?.message);
    assert.ok(rows().some((r) => r.host.instance === instance));
    // the token is in the secret storage, never in the settings
    const cfg = JSON.stringify(vscode.workspace.getConfiguration('conntrackDoctor').inspect('prometheus'));
    assert.ok(!cfg.includes(token), 'the token is in the settings');
    await vscode.commands.executeCommand('conntrack-doctor.forgetPrometheusCredentials');
    await api.fleet.refresh();
    assert.equal(api.fleet.state, 'error', 'still querying after the token was forgotten');
    // Kept rows of the last good refresh: the error is a message above them.
    assert.ok(rows().length > 0);
    await prometheus('auth', undefined);
  }, { timeoutMs: 120_000 });

  it('refreshes on the interval while the view is visible', async () => {
    await showFleetOf(url, 'ok');
    await vscode.commands.executeCommand('conntrack.fleet.focus');
    await vscode.workspace.getConfiguration('conntrackDoctor').update('refreshIntervalSeconds', 1, vscode.ConfigurationTarget.Global);
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      await waitForEvent(api.fleet.onDidRefresh, (s) => s === 'ok', { timeoutMs: 30_000, what: 'a refresh on the interval' });
      seen.push(api.fleet.report?.queriedAt ?? '');
    }
    assert.notEqual(seen[0], seen[1]);
    await vscode.workspace.getConfiguration('conntrackDoctor').update('refreshIntervalSeconds', undefined, vscode.ConfigurationTarget.Global);
  }, { timeoutMs: 90_000 });

  it('5,000 generated instances: ranked, the worst 500 rendered and a row saying how many more, the extension host stays responsive (figures printed)', async () => {
    // The generated fleet is served from a process of its own: the stall measured is the extension host's.
    const server = spawn(process.execPath, ['--import', 'tsx', 'harness/fleet/syntheticServer.ts', '5000'], { cwd: env('CTD_REPO'), stdio: ['pipe', 'pipe', 'inherit'] });
    const fakeUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout }).once('line', resolve);
      server.once('exit', (code) => reject(new Error(`harness/fleet/syntheticServer.ts exited (${code ?? '?'})`)));
    });
    try {
      // An event-loop probe: the longest a 10 ms timer waited while the fleet was read and rendered.
      let worst = 0;
      let last = performance.now();
      const probe = setInterval(() => {
        const t = performance.now();
        worst = Math.max(worst, t - last - 10);
        last = t;
      }, 10);
      const t0 = performance.now();
      await showFleetOf(fakeUrl, 'ok');
      const t1 = performance.now();
      const children = api.fleet.getChildren();
      const items = children.map((r) => api.fleet.getTreeItem(r));
      const t2 = performance.now();
      clearInterval(probe);
      assert.equal(api.fleet.report?.hosts.length, 5000, 'all 5,000 ranked');
      const shown = rows();
      assert.equal(shown.length, 500);
      assert.equal(items.length, 501);
      assert.equal(items[500]?.label, '… 4,500 more, in better shape');
      // the rows shown are the worst of the whole ranking
      assert.deepEqual(shown.map((r) => r.host.instance), api.fleet.report?.hosts.slice(0, 500).map((h) => h.instance));
      // a filter reaches the others
      const lastInstance = api.fleet.report?.hosts[4999]?.instance ?? '';
      api.fleet.filter = lastInstance;
      api.fleet.showReport();
      assert.deepEqual(rows().map((r) => r.host.instance), [lastInstance]);
      api.fleet.filter = '';
      api.fleet.showReport();
      assert.ok((shown[0]?.host.rates?.drop ?? 0) > 0, 'a dropping host first');
      assert.equal(api.fleet.history.size, 100, 'a sparkline for the top 100 rows only');
      note(`5,000 instances: refresh (9 queries + ranking + history of 100 rows) ${(t1 - t0).toFixed(0)} ms, 501 tree items ${(t2 - t1).toFixed(0)} ms, longest event-loop stall ${worst.toFixed(0)} ms`);
    } finally {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        server.stdin.end();
        await exited;
      }
      await prometheus('url', undefined);
    }
  }, { timeoutMs: 120_000 });
});
