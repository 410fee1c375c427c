/**
 * `conntrack-doctor fleet` against a real monitoring stack (harness/fleet/stack.ts): three test
 * hosts, each with Debian's node_exporter in its network namespace, and Debian's Prometheus
 * scraping them every second. One host's table is filled past the warning threshold and gets
 * INVALID packets; one exporter cannot read /proc/net/stat/nf_conntrack (counters unavailable);
 * one exporter is stopped (up: false). What the CLI says is checked against the hosts' own
 * `conntrack -C` / `conntrack -S` and this machine's /proc (max is global), and against
 * Prometheus asked directly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run, useHost } from '../../harness/host/testHost';
import { promQuery, startNodeExporter, startPrometheus, until, type NodeExporter, type PrometheusServer } from '../../harness/fleet/stack';
import { CLI, ensureCliBuilt, MAX_PATH, machineSysctl, scratchDir, writeSshConfig } from './helpers';
import { globalConntrackLock } from '../../harness/conntrackLock';

const dir = scratchDir('fleet');
const tag = process.pid % 10000;
const busy = useHost(`itq${tag}a`);
const calm = useHost(`itq${tag}b`);
const blind = useHost(`itq${tag}c`);

interface JsonHost {
  instance: string;
  job: string;
  labels: Record<string, string>;
  count: number | null;
  max: number | null;
  percent: number | null;
  level: string;
  peakPercent24h: number | null;
  rates: Record<'drop' | 'early_drop' | 'insert_failed' | 'invalid', number | null> | null;
  countersAvailable: boolean;
  up: boolean;
  sshTarget: string | null;
}
interface FleetJson {
  source: { url: string; selector: string };
  queriedAt: string;
  thresholds: Record<string, number>;
  hosts: JsonHost[];
  errors: { message: string }[];
  diagnoses?: { target: string; diagnosis?: { usage: { count?: number; max?: number } }; error?: string }[];
}

async function fleet(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  ensureCliBuilt();
  return run(process.execPath, [CLI, 'fleet', ...args], { timeoutMs: 180_000, env });
}

const exporters: Record<string, NodeExporter> = {};
let prom: PrometheusServer;
let release: (() => Promise<void>) | undefined;

describe('fleet from a real Prometheus scraping node_exporter in each test host', () => {
  before(async () => {
    // Our percentages are of the global max: nobody may change it while we look.
    const held = await globalConntrackLock('shared');
  release = () => held.release();
    exporters['busy'] = await startNodeExporter(busy.host.info, { dir });
    exporters['calm'] = await startNodeExporter(calm.host.info, { dir });
    exporters['blind'] = await startNodeExporter(blind.host.info, { dir, hideStats: true });
    prom = await startPrometheus({
      dir: join(dir, 'prom'),
      targets: [
        { instance: exporters['busy'].instance, labels: { cluster: 'eu', role: 'lb' } },
        { instance: exporters['calm'].instance, labels: { cluster: 'calm' } },
        { instance: exporters['blind'].instance, labels: { cluster: 'eu', role: 'old-kernel' } },
      ],
    });
    await until('Prometheus to scrape all three exporters', async () => ((await promQuery(prom.url, 'up == 1')).length === 3 ? true : undefined), 60_000);
  });
  after(async () => {
    await Promise.allSettled(Object.values(exporters).map((e) => e.stop()));
    await prom?.stop();
    await release?.();
  });

  test('the host with a filled table is ranked first with its own numbers; exit 1', async () => {
    const max = machineSysctl(MAX_PATH);
    const want = Math.ceil(max * 0.8);
    await busy.host.fill({ assured: want - (await busy.host.conntrackCount()) });
    const before = (await busy.host.conntrackStats())['invalid'] ?? 0;
    await busy.host.invalid(300, { to: 'forward' });
    assert.ok(((await busy.host.conntrackStats())['invalid'] ?? 0) >= before + 300);
    // Prometheus has the new count and a rate over two scrapes after the packets.
    await until('the filled count in Prometheus', async () => {
      const r = await promQuery(prom.url, `node_nf_conntrack_entries{instance="${exporters['busy']?.instance}"}`);
      return Number(r[0]?.value[1] ?? 0) >= want ? true : undefined;
    }, 30_000);
    await until('a non-zero invalid rate', async () => ((await promQuery(prom.url, `rate(node_nf_conntrack_stat_invalid{instance="${exporters['busy']?.instance}"}[5m]) > 0`)).length === 1 ? true : undefined), 30_000);

    const r = await fleet(['--prometheus', prom.url, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout) as FleetJson;
    assert.equal(j.source.url, prom.url);
    assert.equal(j.source.selector, '{}');
    assert.deepEqual(j.thresholds, { warnPercent: 75, highPercent: 90, criticalPercent: 95 });
    assert.ok(Math.abs(Date.parse(j.queriedAt) - Date.now()) < 120_000);
    assert.deepEqual(j.errors, []);
    assert.equal(j.hosts.length, 3);
    const first = j.hosts[0];
    assert.ok(first);
    assert.equal(first.instance, exporters['busy']?.instance);
    assert.equal(first.job, 'node');
    assert.deepEqual(first.labels, { cluster: 'eu', role: 'lb' });
    const count = await busy.host.conntrackCount();
    assert.ok(first.count !== null && Math.abs(first.count - count) <= 50, `Prometheus says ${first.count}, conntrack -C ${count}`);
    assert.equal(first.max, max, 'max is the global nf_conntrack_max');
    assert.ok(first.percent !== null && Math.abs(first.percent - (100 * (first.count ?? 0)) / max) < 1e-9);
    assert.equal(first.level, first.percent >= 90 ? (first.percent >= 95 ? 'critical' : 'high') : 'elevated');
    assert.ok(first.peakPercent24h !== null && first.peakPercent24h >= first.percent - 1e-9);
    assert.equal(first.countersAvailable, true);
    assert.ok(first.rates && (first.rates.invalid ?? 0) > 0, `invalid rate ${JSON.stringify(first.rates)}`);
    assert.equal(first.rates.drop, 0);
    assert.equal(first.up, true);
    assert.equal(first.sshTarget, busy.host.address);

    // The blind exporter: entries and limit, no counters (collector success 0).
    const blindRow = j.hosts.find((h) => h.instance === exporters['blind']?.instance);
    assert.ok(blindRow);
    assert.equal(blindRow.countersAvailable, false);
    assert.equal(blindRow.rates, null);
    assert.equal(blindRow.up, true);
    assert.ok(blindRow.count !== null && Math.abs(blindRow.count - (await blind.host.conntrackCount())) <= 20);
    assert.equal((await promQuery(prom.url, `node_scrape_collector_success{collector="conntrack",instance="${exporters['blind']?.instance}"}`))[0]?.value[1], '0');
    assert.equal((await promQuery(prom.url, `node_nf_conntrack_stat_drop{instance="${exporters['blind']?.instance}"}`)).length, 0);
    const calmRow = j.hosts.find((h) => h.instance === exporters['calm']?.instance);
    assert.equal(calmRow?.level, 'ok');
    assert.equal(calmRow?.countersAvailable, true);

    // The table: the same order, the notes for what matters.
    const t = await fleet(['--prometheus', prom.url]);
    assert.equal(t.code, 1);
    const lines = t.stdout.split('\n');
    assert.match(lines[0] ?? '', /^INSTANCE\s+USAGE\s+LEVEL\s+ENTRIES \/ MAX\s+PEAK 24H\s+DROP\/S\s+EARLY\/S\s+INSFAIL\/S\s+INVALID\/S\s+UP\s+SSH TARGET$/);
    assert.ok(lines[1]?.startsWith(`${exporters['busy']?.instance} `), t.stdout);
    assert.match(lines[1] ?? '', /█{8}░{2} 8\d\.\d % +elevated/);
    assert.match(t.stdout, new RegExp(`${exporters['blind']?.instance?.replace(/\./g, '\\.')} .* n/a +n/a +n/a +n/a +up`));
    assert.match(t.stdout, /3 instance\(s\) from .*: 1 at warning or above or dropping, 0 down, 1 without counters/);
    assert.match(t.stdout, /CONFIG_NF_CONNTRACK_PROCFS/);
    assert.match(t.stdout, /count is the network namespace node_exporter runs in; max is global/);

    // --top
    const top = JSON.parse((await fleet(['--prometheus', prom.url, '--json', '--top', '1'])).stdout) as FleetJson;
    assert.deepEqual(top.hosts.map((h) => h.instance), [exporters['busy']?.instance]);
  });

  test('a selector narrows it (a cluster label): exit 0 when none of those is in trouble', async () => {
    const r = await fleet(['--prometheus', prom.url, '--selector', '{cluster="calm"}', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as FleetJson;
    assert.equal(j.source.selector, '{cluster="calm"}');
    assert.deepEqual(j.hosts.map((h) => h.instance), [exporters['calm']?.instance]);
    const eu = JSON.parse((await fleet(['--prometheus', prom.url, '--selector', 'cluster="eu",role!="lb"', '--json'])).stdout) as FleetJson;
    assert.deepEqual(eu.hosts.map((h) => h.instance), [exporters['blind']?.instance]);
    const none = await fleet(['--prometheus', prom.url, '--selector', '{cluster="nowhere"}']);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^No instance exports node_nf_conntrack_entries \{cluster="nowhere"\} on /);
    const bad = await fleet(['--prometheus', prom.url, '--selector', '{cluster="eu"']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--selector: .*missing the closing "\}"/);
  });

  test('--diagnose 1 goes on to diagnose the worst over SSH: the same JSON as diagnose HOST… --json', async () => {
    const cfg = writeSshConfig(dir, busy.host, { alias: busy.host.address });
    const r = await fleet(['--prometheus', prom.url, '--json', '--diagnose', '1', '--ssh-config', cfg, '--interval', '0']);
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout) as FleetJson;
    assert.equal(j.diagnoses?.length, 1);
    const d = j.diagnoses?.[0];
    assert.equal(d?.target, busy.host.address);
    assert.ok(d?.diagnosis, `not diagnosed: ${d?.error ?? ''}`);
    const count = await busy.host.conntrackCount();
    assert.ok(Math.abs((d.diagnosis.usage.count ?? 0) - count) <= 50, `diagnosis ${d.diagnosis.usage.count}, conntrack -C ${count}`);
    assert.equal(d.diagnosis.usage.max, machineSysctl(MAX_PATH));
    // the text form: the fleet table, then diagnose's own report (one host: no overview table)
    const t = await fleet(['--prometheus', prom.url, '--diagnose', '1', '--ssh-config', cfg, '--interval', '0']);
    assert.equal(t.code, 1, t.stderr);
    const address = busy.host.address.replace(/\./g, '\\.');
    assert.match(t.stdout, new RegExp(`\\n== diagnose ${address}\\nConntrack on ${address}\\n`));
    assert.match(t.stdout, /Conntrack table [\d.]+ % full/);
  });

  test('an exporter that stops is up: false with its last numbers, listed before the healthy hosts', async () => {
    const instance = exporters['calm']?.instance ?? '';
    const lastCount = await calm.host.conntrackCount();
    await exporters['calm']?.stop();
    await until('Prometheus to see the exporter down', async () => ((await promQuery(prom.url, `up{instance="${instance}"} == 0`)).length === 1 ? true : undefined), 30_000);
    const r = await fleet(['--prometheus', prom.url, '--json']);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout) as FleetJson;
    const row = j.hosts.find((h) => h.instance === instance);
    assert.ok(row, r.stdout);
    assert.equal(row.up, false);
    assert.ok(row.count !== null && Math.abs(row.count - lastCount) <= 20, 'the last count scraped');
    assert.deepEqual(j.hosts.map((h) => h.instance), [exporters['busy']?.instance, instance, exporters['blind']?.instance]);
    const t = await fleet(['--prometheus', prom.url]);
    assert.match(t.stdout, new RegExp(`${instance.replace(/\./g, '\\.')} .* DOWN `));
    assert.match(t.stdout, /1 down/);
    assert.ok(readFileSync(prom.log, 'utf8').length > 0);
  });
});
