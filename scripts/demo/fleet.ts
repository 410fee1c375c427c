/**
 * The fleet part of `npm run demo`: a small fleet of demo hosts (real test hosts: network
 * namespace, sshd, the kernel's conntrack table), Debian's node_exporter in each, Debian's
 * Prometheus scraping them. One host is in trouble (table above 90 %, INVALID packets arriving),
 * one runs an exporter that cannot read /proc/net/stat/nf_conntrack (an "old kernel": counters
 * unavailable), the others are calm. Names come from --prefix, so it runs beside the demo, or on
 * its own with other names (the demo uses fixed, machine-wide ones):
 *
 *   node --import tsx scripts/demo/fleet.ts --prefix dfl --check        # up, `fleet` checked, down
 *   node --import tsx scripts/demo/fleet.ts --prefix demof --dir DIR     # up until SIGTERM (demo.sh)
 *
 * Without --check it writes DIR/fleet.json ({ url, instances, troubled }) and DIR/ssh_config
 * (a Host block per host address, key login, host key known) and holds everything until
 * SIGINT/SIGTERM; then it stops Prometheus, the exporters and the hosts, by pid and by name.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startHost, type TestHost } from '../../harness/host/testHost';
import { promQuery, startNodeExporter, startPrometheus, until, type NodeExporter, type PrometheusServer } from '../../harness/fleet/stack';

export interface DemoFleetOptions {
  /** Host names are PREFIX1…PREFIXn (ctd-host names: short, unique on the machine). */
  readonly prefix: string;
  readonly hosts?: number;
  readonly dir: string;
}

export interface DemoFleet {
  readonly url: string;
  readonly hosts: readonly TestHost[];
  readonly instances: readonly string[];
  /** The instance in trouble (ranked first). */
  readonly troubled: string;
  /** Host blocks for an ssh config: the fleet's SSH targets are the hosts' addresses. */
  readonly sshConfig: string;
  stop(): Promise<void>;
}

export async function startDemoFleet(o: DemoFleetOptions): Promise<DemoFleet> {
  const n = o.hosts ?? 3;
  if (n < 2 || n > 20) throw new Error('--hosts: from 2 to 20');
  mkdirSync(o.dir, { recursive: true });
  const hosts: TestHost[] = [];
  const exporters: NodeExporter[] = [];
  let prom: PrometheusServer | undefined;
  const stop = async (): Promise<void> => {
    await prom?.stop();
    await Promise.allSettled(exporters.map((e) => e.stop()));
    await Promise.allSettled(hosts.map((h) => h.stop()));
  };
  try {
    for (let i = 1; i <= n; i++) hosts.push(await startHost(`${o.prefix}${i}`));
    const [troubled, ...calm] = hosts;
    if (!troubled) throw new Error('no host');
    const max = Number((await troubled.execOk(['cat', '/proc/sys/net/netfilter/nf_conntrack_max'])).trim());
    await troubled.fill({ assured: Math.ceil(max * 0.92) });
    await troubled.invalid(2000, { to: 'forward' });
    for (const [i, h] of calm.entries()) await h.fill({ assured: 2000 + 3000 * i });
    for (const [i, h] of hosts.entries()) exporters.push(await startNodeExporter(h.info, { dir: o.dir, hideStats: i === hosts.length - 1 && hosts.length > 2 }));
    const labels = (i: number): Record<string, string> => ({ cluster: 'demo', role: i === 0 ? 'edge-lb' : i === hosts.length - 1 && hosts.length > 2 ? 'old-kernel' : 'app' });
    prom = await startPrometheus({ dir: join(o.dir, 'prometheus'), targets: exporters.map((e, i) => ({ instance: e.instance, labels: labels(i) })) });
    const url = prom.url;
    const troubledInstance = exporters[0]?.instance ?? '';
    await until('Prometheus to scrape the demo fleet', async () => ((await promQuery(url, 'up == 1')).length === exporters.length ? true : undefined), 60_000);
    await until('the troubled host\'s count in Prometheus', async () => (Number((await promQuery(url, `node_nf_conntrack_entries{instance="${troubledInstance}"}`))[0]?.value[1] ?? 0) > max * 0.9 ? true : undefined), 30_000);
    const sshConfig = hosts
      .map((h) => [`Host ${h.address}`, '  User root', `  IdentityFile ${h.info.users.root.key}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${h.info.knownHostsPath}`, '  StrictHostKeyChecking yes', ''].join('\n'))
      .join('\n');
    return { url, hosts, instances: exporters.map((e) => e.instance), troubled: troubledInstance, sshConfig, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `conntrack-doctor fleet` against the demo fleet: the troubled host first, exit 1. Returns problems found. */
export function checkDemoFleet(fleet: DemoFleet, cli: string, print: (line: string) => void): string[] {
  const problems: string[] = [];
  const table = spawnSync(process.execPath, [cli, 'fleet', '--prometheus', fleet.url], { encoding: 'utf8' });
  print(table.stdout.trimEnd());
  if (table.status !== 1) problems.push(`fleet exited ${table.status ?? table.signal ?? '?'} (expected 1: a host in trouble): ${table.stderr}`);
  const json = spawnSync(process.execPath, [cli, 'fleet', '--prometheus', fleet.url, '--json'], { encoding: 'utf8' });
  try {
    const j = JSON.parse(json.stdout) as { hosts: { instance: string; level: string; countersAvailable: boolean }[] };
    if (j.hosts.length !== fleet.instances.length) problems.push(`${j.hosts.length} rows for ${fleet.instances.length} hosts`);
    if (j.hosts[0]?.instance !== fleet.troubled) problems.push(`first row ${j.hosts[0]?.instance ?? 'none'}, expected ${fleet.troubled}`);
    if (!['high', 'critical'].includes(j.hosts[0]?.level ?? '')) problems.push(`the troubled host is ${j.hosts[0]?.level ?? '?'}, expected high or critical`);
    if (fleet.instances.length > 2 && !j.hosts.some((h) => !h.countersAvailable)) problems.push('no host without counters');
  } catch (err) {
    problems.push(`fleet --json: ${err instanceof Error ? err.message : String(err)}: ${json.stderr}`);
  }
  return problems;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { prefix: { type: 'string' }, hosts: { type: 'string', default: '3' }, dir: { type: 'string' }, check: { type: 'boolean', default: false } } });
  if (!values.prefix || !/^[a-z][a-z0-9]{0,7}$/.test(values.prefix)) throw new Error('--prefix NAME: 1–8 lower-case letters or digits (host names are PREFIX1…)');
  const own = values.dir === undefined;
  const dir = resolve(values.dir ?? mkdtempSync(join(tmpdir(), 'ctd-demo-fleet-')));
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  print(`== a small fleet: ${values.hosts} demo hosts (${values.prefix}1…), node_exporter in each, Prometheus scraping them`);
  const fleet = await startDemoFleet({ prefix: values.prefix, hosts: Number(values.hosts), dir });
  try {
    print(`   Prometheus ${fleet.url}; in trouble: ${fleet.troubled}`);
    if (values.check) {
      const problems = checkDemoFleet(fleet, join(__dirname, '../../dist/cli.js'), print);
      for (const p of problems) print(`demo fleet check: ${p}`);
      print(problems.length === 0 ? 'demo fleet check: ok' : 'demo fleet check: FAILED');
      return problems.length === 0 ? 0 : 1;
    }
    writeFileSync(join(dir, 'ssh_config'), fleet.sshConfig);
    writeFileSync(join(dir, 'fleet.json'), `${JSON.stringify({ url: fleet.url, instances: fleet.instances, troubled: fleet.troubled })}\n`);
    return await new Promise<number>((done) => {
      process.once('SIGINT', () => done(130));
      process.once('SIGTERM', () => done(143));
    });
  } finally {
    await fleet.stop();
    if (own) rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`demo fleet: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    },
  );
}
