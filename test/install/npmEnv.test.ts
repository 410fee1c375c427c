/**
 * What npm exports to the scripts it runs must not reach a nested npm or a program on another
 * Node: scripts/lib/npm-env.sh (the shell scripts) and serverEnv (code-server, started from
 * TypeScript) remove it. Checked against what a real `npm run` exports, so a new variable in a
 * future npm shows up here.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { isNpmState, withoutNpmPath } from '../../harness/vscode/codeServer';

const repo = resolve(__dirname, '../..');

function parseEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split('\0')) {
    const eq = line.indexOf('=');
    if (eq > 0) env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return env;
}

describe('the npm state a nested npm must not inherit', () => {
  const project = mkdtempSync(join(tmpdir(), 'ctd-npm-env-'));
  after(() => rmSync(project, { recursive: true, force: true }));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'npm-env-probe',
      version: '1.0.0',
      scripts: {
        raw: 'env -0',
        cleaned: `bash -c 'source "$0" && ctd_clean_npm_env && env -0' ${join(repo, 'scripts/lib/npm-env.sh')}`,
      },
    }),
  );
  // A known, small starting environment: what npm adds is then exactly the difference.
  const basePath = withoutNpmPath(process.env['PATH'] ?? '/usr/bin:/bin');
  const start = { HOME: process.env['HOME'] ?? '/root', PATH: basePath, EDITOR: 'vi' };
  const npmRun = (script: string): Map<string, string> =>
    parseEnv(execFileSync('npm', ['run', '--silent', script], { cwd: project, env: start, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  // stdin is not a socket (Node's default pipes are): Debian's bash would take the script for
  // an rsh/ssh session and read ~/.bashrc, adding the machine's own variables.
  // What a shell adds by itself, with or without npm.
  const shellOwn = new Set(['PWD', 'SHLVL', '_', 'OLDPWD']);

  const raw = npmRun('raw');
  const added = [...raw.keys()].filter((k) => !(k in start) && !shellOwn.has(k));

  test('npm really exports its state (else this test proves nothing)', () => {
    assert.match(raw.get('npm_config_user_agent') ?? '', /node\/v\d+/);
    assert.ok(added.length >= 10, added.join(' '));
    assert.notEqual(raw.get('PATH'), basePath, 'npm puts node_modules/.bin first on PATH');
  });

  test('ctd_clean_npm_env leaves the environment the script was started with', () => {
    const cleaned = npmRun('cleaned');
    const left = [...cleaned.keys()].filter((k) => !(k in start) && !shellOwn.has(k));
    assert.deepEqual(left, [], `left over: ${left.join(' ')}`);
    assert.equal(cleaned.get('PATH'), basePath);
    assert.equal(cleaned.get('EDITOR'), 'vi', "the user's own variables stay");
  });

  test('serverEnv drops the same for code-server', () => {
    assert.deepEqual(added.filter((k) => !isNpmState(k) && k !== 'PATH'), []);
    assert.equal(withoutNpmPath(raw.get('PATH') ?? ''), basePath);
    assert.equal(isNpmState('EDITOR'), false);
    assert.equal(isNpmState('NODE_OPTIONS'), false, 'handled on its own in serverEnv');
  });
});
