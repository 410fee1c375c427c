/**
 * Every way asking Prometheus fails, against real servers: Debian's Prometheus with TLS and
 * basic auth (`--web.config.file`), a plain one behind Debian's tinyproxy (HTTP and CONNECT),
 * and small node:http servers for what sits in front of Prometheus in the field (an HTML login
 * page, a redirect to a sign-in, a bearer-token gate, a JSON 404, a server that never answers).
 * Each failure is a typed PrometheusError (client) and a clear message with exit 3 (CLI); a
 * secret never appears in what the CLI prints.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PrometheusError, type PrometheusErrorKind } from '../../src/core/fleet/errors';
import { parseSelector } from '../../src/core/fleet/selector';
import { PrometheusClient, readFleet, type PrometheusSource } from '../../src/io/prometheus';
import { run } from '../../harness/host/testHost';
import { freePort, makeCertificates, startNodeExporter, startPrometheus, until, httpGet, type NodeExporter, type PrometheusServer } from '../../harness/fleet/stack';
import { CLI, ensureCliBuilt, scratchDir } from './helpers';

const dir = scratchDir('fleetfail');
const USER = 'fleet';
const PASSWORD = 'fleet-test-password';
// bcrypt (cost 4) of PASSWORD, for Prometheus's basic_auth_users
const PASSWORD_HASH = '$2b$04$j8oXfIh/ISJ5IQqBUTQGQu4godP5aWr1QWAwiAzd/asx.//UN4by2';
const TOKEN = 'fleet-test-token-7f3a';

let exporter: NodeExporter;
let plain: PrometheusServer;
let secured: PrometheusServer;
let certs: { ca: string; cert: string; key: string };
const servers: Server[] = [];
let tinyproxy: { child: ChildProcess; port: number; log: string } | undefined;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const srv = createServer(handler);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const a = srv.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

async function kindOf(source: PrometheusSource, query = 'up'): Promise<PrometheusError> {
  const err = await new PrometheusClient(source).query(query).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof PrometheusError, `expected a PrometheusError, got ${String(err)}`);
  return err;
}

async function rejectsWith(source: PrometheusSource, kind: PrometheusErrorKind, message: RegExp): Promise<PrometheusError> {
  const err = await kindOf(source);
  assert.equal(err.kind, kind, err.message);
  assert.match(err.message, message);
  return err;
}

async function fleet(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  ensureCliBuilt();
  // Only what the test gives: no proxy or credential from the environment running the tests.
  const base: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root' };
  return run(process.execPath, [CLI, 'fleet', ...args], { timeoutMs: 120_000, env: { ...base, ...env } });
}

describe('asking Prometheus: every failure is typed and said clearly', () => {
  before(async () => {
    // node_exporter of this machine's own namespace (read-only), so the servers have a real row.
    exporter = await startNodeExporter({ address: '127.0.0.1' }, { dir, port: await freePort() });
    plain = await startPrometheus({ dir: join(dir, 'plain'), targets: [{ instance: exporter.instance }] });
    certs = makeCertificates(join(dir, 'tls'));
    secured = await startPrometheus({
      dir: join(dir, 'secured'),
      targets: [{ instance: exporter.instance }],
      webConfig: ['tls_server_config:', `  cert_file: ${certs.cert}`, `  key_file: ${certs.key}`, 'basic_auth_users:', `  ${USER}: ${PASSWORD_HASH}`, ''].join('\n'),
    });
    await until('the plain Prometheus to scrape', async () => ((await httpGet(`${plain.url}/api/v1/query?query=node_nf_conntrack_entries`)).body.includes('"instance"') ? true : undefined), 30_000);
    // the secured one too, asked with curl (not the product's client)
    await until('the secured Prometheus to scrape', async () => {
      const r = await run('curl', ['-sS', '--cacert', certs.ca, '-u', `${USER}:${PASSWORD}`, `${secured.url}/api/v1/query?query=node_nf_conntrack_entries`]);
      return r.stdout.includes('"instance"') ? true : undefined;
    }, 30_000);
  });
  after(async () => {
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (tinyproxy && tinyproxy.child.exitCode === null) {
      const exited = new Promise((r) => tinyproxy?.child.once('exit', r));
      tinyproxy.child.kill('SIGTERM');
      await exited;
    }
    await secured?.stop();
    await plain?.stop();
    await exporter?.stop();
  });

  test('the real thing answers: one row from the plain Prometheus', async () => {
    const r = await readFleet(new PrometheusClient({ url: plain.url, proxyEnv: false }));
    assert.equal(r.hosts.length, 1);
    assert.equal(r.hosts[0]?.instance, exporter.instance);
    assert.equal(r.hosts[0]?.sshTarget, '127.0.0.1');
  });

  test('wrong port: refused', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await rejectsWith({ url, proxyEnv: false }, 'refused', /connection refused \(nothing listens on that port\)/);
    const r = await fleet(['--prometheus', url]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /cannot query Prometheus: .*connection refused/);
    assert.match(r.stderr, /Prometheus listens on 9090 by default/);
  });

  test('an HTML login page (200 text/html), or a redirect to a sign-in page, is not the API', async () => {
    const login = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html><html><head><title>Sign in – Corp SSO</title></head><body><form>…</form></body></html>');
    });
    await rejectsWith({ url: login, proxyEnv: false }, 'html-page', /HTML page \("Sign in – Corp SSO"\), not the Prometheus API: a login page/);
    const r = await fleet(['--prometheus', login]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /HTML page .*login page or portal/);
    const redirect = await serve((_req, res) => {
      res.writeHead(302, { Location: '/oauth2/start?rd=%2Fapi%2Fv1%2Fquery' });
      res.end();
    });
    await rejectsWith({ url: redirect, proxyEnv: false }, 'html-page', /HTTP 302 redirects to \/oauth2\/start/);
  });

  test('an answer that is JSON but not the API envelope (wrong path prefix): not-prometheus', async () => {
    const other = await serve((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"message":"no route"}');
    });
    await rejectsWith({ url: other, proxyEnv: false }, 'not-prometheus', /HTTP 404: JSON, but not the Prometheus API's answer/);
    // The real Prometheus under a path it does not serve: its 404 page is plain text.
    await rejectsWith({ url: `${plain.url}/prometheus`, proxyEnv: false }, 'not-prometheus', /HTTP 404/);
  });

  test('a server slower than the timeout: timeout, within the budget', async () => {
    const slow = await serve(() => {
      // never answers; the socket is closed in after()
    });
    const started = Date.now();
    await rejectsWith({ url: slow, proxyEnv: false, timeoutMs: 1000 }, 'timeout', /no answer within 1\.0 s/);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    const r = await fleet(['--prometheus', slow, '--timeout', '1']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no answer within 1\.0 s/);
    assert.match(r.stderr, /raise the timeout/);
  });

  test('Prometheus refuses a query (errorType from the API)', async () => {
    // RE2 has no look-ahead; JavaScript does, so this passes our parser and reaches Prometheus.
    const err = await kindOf({ url: plain.url, proxyEnv: false }, 'up{job=~"(?=x)"}');
    assert.equal(err.kind, 'api');
    assert.equal(err.details.errorType, 'bad_data');
    assert.equal(err.details.status, 400);
    const r = await fleet(['--prometheus', plain.url, '--selector', '{job=~"(?=x)"}']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /Prometheus refused the query \(bad_data, HTTP 400\): .*invalid/);
  });

  test('TLS: an unknown CA is refused; the CA given (or --insecure, asked for) works; plain HTTP to it is not the API', async () => {
    const auth = { kind: 'basic' as const, username: USER, password: PASSWORD };
    await rejectsWith({ url: secured.url, auth, proxyEnv: false }, 'tls', /certificate/i);
    const ca = readFileSync(certs.ca, 'utf8');
    const ok = await readFleet(new PrometheusClient({ url: secured.url, auth, ca, proxyEnv: false }));
    assert.equal(ok.hosts[0]?.instance, exporter.instance);
    const insecure = await readFleet(new PrometheusClient({ url: secured.url, auth, insecure: true, proxyEnv: false }));
    assert.equal(insecure.hosts.length, 1);
    await rejectsWith({ url: secured.url.replace('https:', 'http:'), auth, proxyEnv: false }, 'not-prometheus', /HTTP 400 .*HTTP request to an HTTPS server/);
    const r = await fleet(['--prometheus', secured.url, '--user', USER], { CONNTRACK_DOCTOR_PROMETHEUS_PASSWORD: PASSWORD });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /certificate/i);
    assert.match(r.stderr, /--ca FILE/);
    const withCa = await fleet(['--prometheus', secured.url, '--user', USER, '--ca', certs.ca, '--json'], { CONNTRACK_DOCTOR_PROMETHEUS_PASSWORD: PASSWORD });
    assert.ok(withCa.code === 0 || withCa.code === 1, withCa.stderr);
    assert.equal((JSON.parse(withCa.stdout) as { hosts: unknown[] }).hosts.length, 1);
  });

  test('401 from the real Prometheus: without credentials, with a wrong password; the password never printed', async () => {
    const ca = readFileSync(certs.ca, 'utf8');
    const none = await rejectsWith({ url: secured.url, ca, proxyEnv: false }, 'unauthorized', /401 Unauthorized: it needs credentials and none were given/);
    assert.equal(none.details.credentialsSent, false);
    const wrong = await rejectsWith({ url: secured.url, ca, auth: { kind: 'basic', username: USER, password: 'not-the-password' }, proxyEnv: false }, 'unauthorized', /credentials were refused/);
    assert.equal(wrong.details.credentialsSent, true);
    assert.doesNotMatch(wrong.message, /not-the-password/);
    const r1 = await fleet(['--prometheus', secured.url, '--ca', certs.ca]);
    assert.equal(r1.code, 3);
    assert.match(r1.stderr, /needs credentials and none were given/);
    const r2 = await fleet(['--prometheus', secured.url, '--ca', certs.ca, '--user', USER], { CONNTRACK_DOCTOR_PROMETHEUS_PASSWORD: 'wrong-secret-xyz' });
    assert.equal(r2.code, 3);
    assert.match(r2.stderr, /credentials were refused/);
    assert.doesNotMatch(r2.stderr + r2.stdout, /wrong-secret-xyz/);
    // from a file too
    const pw = join(dir, 'password');
    writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
    const r3 = await fleet(['--prometheus', secured.url, '--ca', certs.ca, '--user', USER, '--password-file', pw, '--json']);
    assert.ok(r3.code === 0 || r3.code === 1, r3.stderr);
    // never on the command line
    const r4 = await fleet(['--prometheus', `https://${USER}:${PASSWORD}@127.0.0.1:${secured.port}`]);
    assert.equal(r4.code, 2);
    assert.match(r4.stderr, /contains a user name or password/);
    assert.doesNotMatch(r4.stderr, new RegExp(PASSWORD));
    const r5 = await fleet(['--prometheus', plain.url, '--header', `Authorization: Bearer ${TOKEN}`]);
    assert.equal(r5.code, 2);
    assert.match(r5.stderr, /--header: Authorization carries a secret/);
  });

  test('a bearer-token gate in front of Prometheus: 401 without the token, rows with it (file or environment)', async () => {
    const gate = await serve((req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Bearer', 'Content-Type': 'text/plain' });
        res.end('unauthorized\n');
        return;
      }
      const upstream = request(`${plain.url}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers: { 'content-type': req.headers['content-type'] ?? '', 'content-length': req.headers['content-length'] ?? '0' } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await rejectsWith({ url: gate, proxyEnv: false }, 'unauthorized', /none were given/);
    await rejectsWith({ url: gate, auth: { kind: 'bearer', token: 'nope' }, proxyEnv: false }, 'unauthorized', /refused/);
    const ok = await readFleet(new PrometheusClient({ url: gate, auth: { kind: 'bearer', token: TOKEN }, proxyEnv: false }));
    assert.equal(ok.hosts.length, 1);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const r = await fleet(['--prometheus', gate, '--token-file', tokenFile, '--json']);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { hosts: unknown[] }).hosts.length, 1);
    const e = await fleet(['--prometheus', gate, '--json'], { CONNTRACK_DOCTOR_PROMETHEUS_TOKEN: TOKEN });
    assert.ok(e.code === 0 || e.code === 1, e.stderr);
    // a secret header from a file works the same way (the gate reads Authorization)
    const headers = join(dir, 'headers');
    writeFileSync(headers, `# secret headers\nAuthorization: Bearer ${TOKEN}\nX-Scope-OrgID: team-a\n`, { mode: 0o600 });
    const h = await fleet(['--prometheus', gate, '--headers-file', headers, '--json']);
    assert.ok(h.code === 0 || h.code === 1, h.stderr);
  });

  test('proxies from the environment: HTTP through tinyproxy, HTTPS through its CONNECT tunnel, a dead proxy is said to be the proxy', async () => {
    const port = await freePort();
    const log = join(dir, 'tinyproxy.log');
    const conf = join(dir, 'tinyproxy.conf');
    writeFileSync(conf, [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 30', `LogFile "${log}"`, 'LogLevel Info', 'MaxClients 20', 'Allow 127.0.0.1', ''].join('\n'));
    const child = spawn('/usr/bin/tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
    tinyproxy = { child, port, log };
    await until('tinyproxy to listen', async () => ((await httpGet(`http://127.0.0.1:${port}/`)).status > 0 ? true : undefined), 15_000);
    const proxy = `http://127.0.0.1:${port}`;

    const viaHttp = await readFleet(new PrometheusClient({ url: plain.url, proxyEnv: { http_proxy: proxy } }));
    assert.equal(viaHttp.hosts.length, 1, JSON.stringify(viaHttp));
    assert.match(readFileSync(log, 'utf8'), new RegExp(`Request \\(file descriptor \\d+\\): POST http://127\\.0\\.0\\.1:${plain.port}/api/v1/query`));
    const viaConnect = await readFleet(new PrometheusClient({ url: secured.url, ca: readFileSync(certs.ca, 'utf8'), auth: { kind: 'basic', username: USER, password: PASSWORD }, proxyEnv: { HTTPS_PROXY: proxy } }));
    assert.equal(viaConnect.hosts.length, 1);
    assert.match(readFileSync(log, 'utf8'), new RegExp(`CONNECT 127\\.0\\.0\\.1:${secured.port}`));
    // NO_PROXY: straight there (the proxy below does not exist)
    const dead = `http://127.0.0.1:${await freePort()}`;
    const direct = await readFleet(new PrometheusClient({ url: plain.url, proxyEnv: { http_proxy: dead, NO_PROXY: 'localhost,127.0.0.1' } }));
    assert.equal(direct.hosts.length, 1);
    await rejectsWith({ url: plain.url, proxyEnv: { http_proxy: dead } }, 'proxy', /the proxy 127\.0\.0\.1:\d+: /);
    // the CLI reads them from its environment
    const r = await fleet(['--prometheus', plain.url, '--json'], { http_proxy: proxy });
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    const r2 = await fleet(['--prometheus', plain.url], { http_proxy: dead });
    assert.equal(r2.code, 3);
    assert.match(r2.stderr, /the proxy .*HTTPS_PROXY \/ HTTP_PROXY \/ NO_PROXY/s);
  });

  test('bad input is refused before anything is sent', async () => {
    assert.throws(() => parseSelector('{__name__="x"}'), /__name__ cannot be narrowed/);
    for (const [args, re] of [
      [['--prometheus', 'ftp://x'], /ftp: URLs are not supported/],
      [['--prometheus', 'not a url'], /is not a URL/],
      [[], /the Prometheus URL is needed/],
      [['--prometheus', plain.url, '--top', '0'], /--top: must be an integer/],
      [['--prometheus', plain.url, '--user', 'u'], /CONNTRACK_DOCTOR_PROMETHEUS_PASSWORD or --password-file/],
      [['--prometheus', plain.url, '--ca', '/nonexistent/ca.pem'], /--ca: cannot read/],
    ] as const) {
      const r = await fleet([...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });
});
