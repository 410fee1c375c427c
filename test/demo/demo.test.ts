/**
 * The README's main command, as CI runs it: `npm run demo -- --check` installs (cached),
 * packages the extension, brings up the demo host in trouble, diagnoses it with the CLI, starts
 * code-server with the VSIX, and drives it with headless Chromium: the extension must connect to
 * the demo host and show the expected findings. Afterwards nothing of the demo may be left.
 * And the check must fail when the extension cannot connect.
 *
 * Root, Debian/Ubuntu; the first run installs code-server and Chromium (~7 min), later ones take
 * ~3 min on a busy 2-core machine.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';

const repo = resolve(__dirname, '../..');

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
}

/** Runs a command to its end (SIGTERM at the deadline, which the demo answers by cleaning up). */
function run(command: string, args: readonly string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => {
      out += `\n[test] still running after ${timeoutMs} ms: SIGTERM\n`;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, out });
    });
  });
}

/**
 * Pids of the processes whose command line or environment contains `text` (this test's own
 * process excluded): code-server's children carry the state folder in XDG_* and TMPDIR only.
 */
function processesWith(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(text)) found.push(pid);
      else if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(text)) found.push(pid);
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

function netnsList(): string {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
}

function isPng(path: string): boolean {
  return existsSync(path) && readFileSync(path).subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
}

async function closedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

describe('npm run demo -- --check', () => {
  test('connects a real VS Code to the demo host in trouble, shows the findings, then removes everything', { timeout: 660_000 }, async () => {
    const started = Date.now();
    // Through npm, exactly as a user types it (npm's environment reaches every nested install).
    const r = await run('npm', ['run', 'demo', '--', '--check'], 600_000);
    const out = r.out;
    const context = `\n--- demo output ---\n${out}`;
    assert.equal(r.code, 0, `exit ${r.code ?? r.signal}${context}`);

    // The CLI's diagnosis, printed before VS Code starts (the product's headless half).
    for (const expected of [
      /WARNING \[too-many-connections\] Conntrack table 9\d\.\d % full/,
      /\[stale-entries\] ≈?[\d.]+ % from 198\.18\.66\.66/,
      /\[invalid-packets\] .*INVALID, not dropped/,
      /\[iptables-backend\] Legacy iptables \+ nft active/,
      /\[long-timeouts\]/,
      /\[config-drift\] Kernel refuses \d+ lines/,
      /\(not-an-integer\)/,
      /Did you mean `net\.netfilter\.nf_conntrack_tcp_timeout_established`/,
      // sampled since the sample landed: "≈91,130   38.0 %   37.0 %–38.9 %  198.18.66.66"
      /top sources:\n\s+≈?[\d,]+\s+\d+\.\d %\s+(?:[\d.]+ %–[\d.]+ %\s+)?198\.18\.66\.66/,
      // The demo fleet from its Prometheus: the host in trouble among three, one without counters.
      /== conntrack-doctor fleet --prometheus http:\/\/127\.0\.0\.1:\d+\b/,
      /3 instance\(s\) from .*: 1 at warning or above or dropping, 0 down, 1 without counters/,
    ]) assert.match(out, expected, context);
    // INVALID packets are never said to sit in the table.
    assert.doesNotMatch(out, /INVALID entries (fill|consume|occupy)/i);

    // What the VS Code side bar showed, as the check printed it.
    const sidebar = out.slice(out.indexOf('Sidebar (Conntrack › Hosts):'));
    assert.ok(out.includes('Sidebar (Conntrack › Hosts):'), context);
    for (const expected of [
      /^ {3}▾ demo — 9\d\.\d %$/m,
      /^ {9}entries — [\d,]+ \/ [\d,]+ \(9\d\.\d %\)$/m,
      /^ {5}▾ Findings — \d+ warning\(s\), \d+ in all$/m,
      /^ {7}▾ too-many-connections\n {9}▸ Conntrack table 9\d\.\d % full$/m,
      /^ {7}▾ stale-entries\n {9}▸ ≈?[\d.]+ % from 198\.18\.66\.66$/m,
      /^ {7}▾ invalid-packets\n {9}▸ [\d.]+\/s INVALID, not dropped$/m,
      /^ {7}▾ iptables-backend\n {11}Legacy iptables \+ nft active$/m,
      /^ {7}▾ long-timeouts\n {9}▸ ESTABLISHED kept 5 days$/m,
    ]) assert.match(sidebar, expected, context);
    assert.doesNotMatch(out, /^FAIL /m, context);
    assert.match(out, /^PASS remote \/etc\/sysctl\.conf opened \(conntrack:\/\/demo\/etc\/sysctl\.conf\): [1-9]\d* error and \d+ warning squiggles$/m, context);
    assert.match(out, /^demo check: the extension connected to the demo host and shows the expected findings/m, context);

    // Screenshots of this run.
    for (const name of ['demo-sidebar.png', 'demo-findings.png', 'demo-sysctl.png']) {
      const path = join(repo, 'test-output/demo', name);
      assert.ok(isPng(path), `${path} is not a PNG${context}`);
      assert.ok(statSync(path).mtimeMs >= started - 1000, `${path} is older than this run`);
      assert.match(out, new RegExp(`^screenshot .*${name.replace('.', '\\.')}$`, 'm'));
    }

    // Nothing of the demo is left: host, traffic loop, code-server, the work folder.
    assert.doesNotMatch(netnsList(), /\bctd-demo\b/);
    const work = /(\/\S*\/ctd-demo\.\w+)\/vsix\//.exec(out)?.[1];
    assert.ok(work, `the output names no work folder${context}`);
    assert.ok(!existsSync(work), `${work} is still there`);
    assert.deepEqual(processesWith(`${work}/`), [], 'processes of the demo (code-server, its extension hosts) are still running');
    assert.deepEqual(processesWith('scripts/demo/traffic.sh demo'), [], 'the traffic loop is still running');
    assert.match(out, /== demo stopped/);
  });

  test('a second demo says that one is already running and how to stop it, before installing anything', { timeout: 420_000 }, async () => {
    // A demo host that is up and owned by a live process (this test): what a running demo leaves.
    const host = join(repo, 'harness/host/ctd-host');
    spawnSync(host, ['down', 'demo'], { encoding: 'utf8' });
    let t = Date.now();
    const up = spawnSync(host, ['up', 'demo', '--owner', String(process.pid)], { encoding: 'utf8', timeout: 180_000 });
    console.log(`ctd-host up demo: ${Date.now() - t} ms`);
    assert.equal(up.status, 0, up.stderr);
    try {
      t = Date.now();
      const r = await run('npm', ['run', 'demo', '--', '--check'], 180_000);
      const context = `\n--- output ---\n${r.out}`;
      assert.equal(r.code, 1, `exit ${r.code ?? r.signal}${context}`);
      assert.match(r.out, /demo: a demo is already running on this machine \(host ctd-demo is up, started by pid (\d+)\)/, context);
      assert.match(r.out, new RegExp(`kill ${process.pid}\\b`), context);
      assert.match(r.out, /ctd-host down demo/, context);
      assert.doesNotMatch(r.out, /== installing|vscode-install|== packaging/, `it must stop before installing${context}`);
      console.log(`refused after ${Date.now() - t} ms`);
      // The running demo's host is left alone.
      assert.match(netnsList(), /\bctd-demo\b/);
    } finally {
      spawnSync(host, ['down', 'demo'], { encoding: 'utf8' });
    }
  });

  test('--check fails, with a screenshot, when the extension cannot connect', { timeout: 480_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctd-demo-test-'));
    try {
      const pack = spawnSync('bash', [join(repo, 'scripts/vscode/package.sh'), join(dir, 'vsix')], { cwd: repo, encoding: 'utf8', timeout: 180_000 });
      assert.equal(pack.status, 0, `${pack.stdout}${pack.stderr}`);
      const vsix = pack.stdout.trim();
      // An ssh config whose only host refuses connections (nothing listens on that port).
      const cfg = join(dir, 'ssh_config');
      writeFileSync(cfg, `Host demo\n  HostName 127.0.0.1\n  Port ${await closedPort()}\n  User root\n  UserKnownHostsFile ${join(dir, 'known_hosts')}\n`);
      writeFileSync(join(dir, 'known_hosts'), '');
      mkdirSync(join(dir, 'workspace'));
      const shots = join(dir, 'shots');
      const state = join(dir, 'state');
      const r = await run('node', ['--import', 'tsx', join(repo, 'scripts/demo/demo.ts'), '--vsix', vsix, '--ssh-config', cfg, '--host', 'demo',
        '--state', state, '--workspace', join(dir, 'workspace'), '--check', '--screenshots', shots], 420_000);
      const context = `\n--- output ---\n${r.out}`;
      assert.equal(r.code, 1, `exit ${r.code ?? r.signal}${context}`);
      assert.match(r.out, /^FAIL waiting for "demo" to connect: the extension could not connect to "demo" \(its row shows "error"\); VS Code says: Conntrack: .*(refused|ECONNREFUSED)/im, context);
      assert.match(r.out, /^Sidebar \(Conntrack › Hosts\) at the failure:\n {5}demo — error$/m, context);
      assert.ok(isPng(join(shots, 'failure.png')), `no failure screenshot${context}`);
      assert.ok(!existsSync(state), 'the state folder is still there');
      assert.deepEqual(processesWith(`${state}/`), [], 'code-server processes are still running');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
