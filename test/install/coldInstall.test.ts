/**
 * The cold path a new user takes, on every run of `npm test`: the VS Code tools are installed
 * into a fresh, empty cache by `npm run vscode:install` — through npm, as a user's
 * `npm run demo` / `npm test` reach scripts/vscode/install.sh — and the result must work:
 * code-server starts and serves a workbench that paints in Chromium, and the extension can
 * be packaged and installed into it.
 *
 * Why through npm: npm exports npm_config_user_agent (naming *its* Node), npm_config_* and
 * npm_lifecycle_* to what it runs. A nested `npm install` on another Node inherited them and
 * code-server's postinstall refused to install ("requires node v24 … you are on node v20"),
 * while a run of install.sh from a shell worked. This test fails if that leak comes back.
 *
 * Root, Debian/Ubuntu, the npm registry reachable; about 4–5 minutes on 2 cores.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';

const repo = resolve(__dirname, '../..');

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly ms: number;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      out += `\n[test] still running after ${timeoutMs} ms: SIGTERM\n`;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, out, ms: Date.now() - started });
    });
  });
}

describe('cold install (empty tool cache, through npm)', () => {
  const cache = mkdtempSync(join(tmpdir(), 'ctd-cold-cache-'));
  const work = mkdtempSync(join(tmpdir(), 'ctd-cold-work-'));
  after(() => {
    rmSync(cache, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });
  // Every later step reads the tool paths from this cache (scripts/vscode/paths.sh honours it).
  const env = { ...process.env, CTD_VSCODE_CACHE: cache };

  test('npm run vscode:install fills the empty cache', { timeout: 20 * 60_000 }, async () => {
    const install = await run('npm', ['run', 'vscode:install'], env, 19 * 60_000);
    console.log(`cold install: exit ${install.code} after ${(install.ms / 1000).toFixed(0)} s`);
    assert.equal(install.code, 0, install.out);
    const again = await run('npm', ['run', 'vscode:install'], env, 5 * 60_000);
    console.log(`warm install: exit ${again.code} after ${(again.ms / 1000).toFixed(1)} s`);
    assert.equal(again.code, 0, again.out);
    assert.doesNotMatch(again.out, /npm install code-server/, 'a second run must not install again');
  });

  test('code-server from that cache serves a workbench that paints', { timeout: 5 * 60_000 }, async () => {
    process.env['CTD_VSCODE_CACHE'] = cache;
    const { installedPaths } = await import('../../harness/vscode/paths');
    const { startCodeServer, writeUserSettings } = await import('../../harness/vscode/codeServer');
    const { launchBrowser } = await import('../../harness/vscode/browser');
    const paths = installedPaths();
    assert.ok(paths.codeServerPackage.startsWith(cache), `code-server must come from the fresh cache, not ${paths.codeServerPackage}`);
    const state = join(work, 'code-server');
    writeUserSettings(state);
    const server = await startCodeServer({ paths, stateDir: state, smokeTestDriver: false });
    const browser = await launchBrowser(paths, join(work, 'chromium'));
    try {
      const page = await browser.newPage();
      const started = Date.now();
      await page.goto(server.url, { waitUntil: 'domcontentloaded', timeout: 120_000 });
      await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
      console.log(`workbench painted after ${Date.now() - started} ms`);
    } finally {
      await browser.close();
      await server.stop();
    }
  });

  test('the extension packages and installs into that code-server', { timeout: 5 * 60_000 }, async () => {
    const out = join(work, 'vsix');
    const pack = await run('bash', ['scripts/vscode/package.sh', out], env, 4 * 60_000);
    assert.equal(pack.code, 0, pack.out);
    const vsix = pack.out.split('\n').find((l) => l.endsWith('.vsix') && existsSync(l.trim()))?.trim();
    assert.ok(vsix, `package.sh printed no VSIX path:\n${pack.out}`);
    process.env['CTD_VSCODE_CACHE'] = cache;
    const { installedPaths } = await import('../../harness/vscode/paths');
    const { codeServerCli } = await import('../../harness/vscode/codeServer');
    const paths = installedPaths();
    const state = join(work, 'install');
    const installed = codeServerCli(paths, state, ['--install-extension', vsix]);
    assert.equal(installed.status, 0, `${installed.stdout}\n${installed.stderr}`);
    const listed = codeServerCli(paths, state, ['--list-extensions', '--show-versions']);
    assert.match(listed.stdout, /^conntrack-doctor\.conntrack-doctor@\d+\.\d+\.\d+$/m, listed.stderr);
  });
});
