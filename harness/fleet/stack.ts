/**
 * A real monitoring stack for the fleet tests, the VS Code suite and the demo: Debian's
 * `prometheus-node-exporter`, one per test host, started inside the host's network namespace
 * (`ip netns exec ctd-NAME …`, so it reports that namespace's nf_conntrack_count), and Debian's
 * `prometheus` scraping them every second, on loopback with its own config and data dir. Never
 * the packages' services: every process here is our own, started with its own flags and
 * stopped by pid (also when this process exits).
 *
 * "Counters unavailable" (a kernel without CONFIG_NF_CONNTRACK_PROCFS): `hideStats` starts that
 * exporter with `--path.procfs` pointing at a prepared directory where `sys` links to the real
 * /proc/sys (live count and max, read in the exporter's own namespace) and `net/stat` is empty,
 * so node_exporter's conntrack collector gets ENOENT for net/stat/nf_conntrack exactly as on such
 * a kernel: entries and limit still come, the stat_* series do not, collector success is 0.
 * Chosen over a bind mount in a private mount namespace because the kernel does not keep mounts
 * on /proc/PID/net entries (they are revalidated on every lookup): the mount was there and the
 * exporter still read the real file (tried on kernel 6.18).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS = '/usr/bin/prometheus';
export const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const INSTALL_HINT = 'run harness/host/install-deps.sh as root (the project setup does): it installs prometheus and prometheus-node-exporter';

export function checkStackPrerequisites(): void {
  for (const bin of [PROMETHEUS, NODE_EXPORTER]) if (!existsSync(bin)) throw new Error(`${bin} is missing: ${INSTALL_HINT}`);
}

// Every process started here, killed synchronously if this process exits first.
const running = new Set<number>();
let hooked = false;
function track(pid: number): void {
  running.add(pid);
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const p of running) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

async function stopPid(child: ChildProcess, what: string): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    if (pid !== undefined) running.delete(pid);
    return;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  running.delete(pid);
  void what;
}

/** A port nothing listens on right now (bound, then closed). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** GET http://address/path; resolves with status and body, never rejects (status 0 on a connection error). */
export function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end();
  });
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface ExporterTarget {
  /** The test host's network namespace (`ctd-NAME`); undefined: this machine's own (then on loopback). */
  readonly netns?: string;
  /** The host's address inside it; the exporter listens there. */
  readonly address: string;
}

export interface NodeExporter {
  /** `address:port`, Prometheus's `instance` label. */
  readonly instance: string;
  readonly pid: number;
  readonly log: string;
  stop(): Promise<void>;
}

/** node_exporter (conntrack collector only) inside the host's netns, on its address. */
export async function startNodeExporter(host: ExporterTarget, opts: { dir: string; port?: number; hideStats?: boolean }): Promise<NodeExporter> {
  checkStackPrerequisites();
  const port = opts.port ?? 9100;
  const instance = `${host.address}:${port}`;
  mkdirSync(opts.dir, { recursive: true });
  const args = [NODE_EXPORTER, `--web.listen-address=${instance}`, '--collector.disable-defaults', '--collector.conntrack'];
  if (host.netns !== undefined) args.unshift('ip', 'netns', 'exec', host.netns);
  if (opts.hideStats) {
    const procfs = join(opts.dir, `procfs-${port}`);
    rmSync(procfs, { recursive: true, force: true });
    mkdirSync(join(procfs, 'net', 'stat'), { recursive: true });
    symlinkSync('/proc/sys', join(procfs, 'sys'));
    args.push(`--path.procfs=${procfs}`);
  }
  const where = host.netns ?? 'initial-netns';
  const log = join(opts.dir, `node_exporter-${where}-${port}.log`);
  const fd = openSync(log, 'a');
  const [file = NODE_EXPORTER, ...rest] = args;
  const child = spawn(file, rest, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start node_exporter in ${where}`);
  track(pid);
  const stop = (): Promise<void> => stopPid(child, 'node_exporter');
  try {
    await until(`node_exporter on ${instance} (log ${log})`, async () => {
      if (child.exitCode !== null) throw new Error(`node_exporter in ${where} exited (${child.exitCode}): ${readFileSync(log, 'utf8').slice(-800)}`);
      const r = await httpGet(`http://${instance}/metrics`);
      return r.status === 200 && r.body.includes('node_nf_conntrack_entries') ? true : undefined;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { instance, pid, log, stop };
}

export interface ScrapeTarget {
  readonly instance: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly job?: string;
}

export interface PrometheusServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  readonly log: string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  readonly targets: readonly ScrapeTarget[];
  /** Own temp dir (config, data, log) unless given; removed by stop() when it made it. */
  readonly dir?: string;
  readonly scrapeInterval?: string;
  /** `--web.config.file` content (TLS, basic auth). */
  readonly webConfig?: string;
  readonly listen?: string;
}

/** Prometheus on loopback (a free port), scraping the targets; resolves once it serves queries. */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  checkStackPrerequisites();
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ctd-prom-'));
  mkdirSync(dir, { recursive: true });
  const interval = opts.scrapeInterval ?? '1s';
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const t of opts.targets) jobs.set(t.job ?? 'node', [...(jobs.get(t.job ?? 'node') ?? []), t]);
  const yaml = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    ...[...jobs].flatMap(([job, targets]) => [
      `  - job_name: ${JSON.stringify(job)}`,
      '    static_configs:',
      ...targets.map((t) => `      - targets: [${JSON.stringify(t.instance)}]\n        labels: ${JSON.stringify(t.labels ?? {})}`),
    ]),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), yaml);
  const args = [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${opts.listen ?? '127.0.0.1:0'}`, '--log.level=info'];
  if (opts.webConfig !== undefined) {
    writeFileSync(join(dir, 'web.yml'), opts.webConfig);
    args.push(`--web.config.file=${join(dir, 'web.yml')}`);
  }
  const log = join(dir, 'prometheus.log');
  const fd = openSync(log, 'a');
  const child = spawn(PROMETHEUS, args, { stdio: ['ignore', fd, fd], detached: true, cwd: dir });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('cannot start prometheus');
  track(pid);
  const stop = async (): Promise<void> => {
    await stopPid(child, 'prometheus');
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await until(`prometheus to listen (log ${log})`, () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${readFileSync(log, 'utf8').slice(-1500)}`);
      const m = /msg="Listening on" address=[^\s]*:(\d+)/.exec(readFileSync(log, 'utf8'));
      return Promise.resolve(m ? Number(m[1]) : undefined);
    });
    await until('prometheus to be ready', () => Promise.resolve(/Server is ready to receive web requests/.test(readFileSync(log, 'utf8')) ? true : undefined));
    const scheme = opts.webConfig?.includes('tls_server_config') ? 'https' : 'http';
    return { url: `${scheme}://127.0.0.1:${port}`, port, pid, dir, log, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An instant query straight to Prometheus (the tests' independent check, not the product's client). */
export async function promQuery(url: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await httpGet(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  if (r.status !== 200) throw new Error(`query ${query}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  const body = JSON.parse(r.body) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result;
}

/** A self-signed CA and a server certificate for 127.0.0.1 (openssl), for Prometheus's TLS. */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const p = (n: string): string => join(dir, n);
  const ssl = (args: string[]): void => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0] ?? ''} failed: ${r.error?.message ?? r.stderr}; install Debian's openssl`);
  };
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=ctd test CA']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('ext.cnf')]);
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}
