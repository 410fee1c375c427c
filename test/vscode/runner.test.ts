/**
 * The runner itself: a suite with a failing test must make the suite's entry point
 * (@vscode/test-electron's runTests → scripts/vscode/code-shim → code-server) fail with exit
 * code 1, counts and a screenshot; extensionTestsEnv must reach the extension host; and the
 * arguments test-electron passes to a VS Code executable must be understood.
 * One real code-server run (~30–40 s); needs `bash scripts/vscode/install.sh`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from '../../harness/vscode/paths';
import { parseCodeArgs } from './runner';

describe('VS Code test runner', () => {
  test('understands the arguments @vscode/test-electron passes to a VS Code executable', () => {
    const parsed = parseCodeArgs([
      '/work/ws', '--no-sandbox', '--disable-gpu-sandbox', '--disable-updates', '--skip-welcome', '--skip-release-notes',
      '--disable-workspace-trust', '--extensionTestsPath=/x/out/suite', '--extensionDevelopmentPath=/x',
      '--extensionDevelopmentPath', '/y', '--extensions-dir=/c/extensions', '--user-data-dir', '/c/user-data',
    ]);
    assert.deepEqual(parsed.extensionDevelopmentPath, ['/x', '/y']);
    assert.equal(parsed.extensionTestsPath, '/x/out/suite');
    assert.equal(parsed.workspace, '/work/ws');
    assert.ok(parsed.ignored.includes('--user-data-dir=/c/user-data'));
    assert.equal(parseCodeArgs(['--folder-uri=file:///a%20b']).workspace, '/a b');
  });

  const artifacts = mkdtempSync(join(tmpdir(), 'ctd-vscode-runner-test-'));
  after(() => rmSync(artifacts, { recursive: true, force: true }));

  test('a failing test makes the suite fail through @vscode/test-electron runTests, as npm test runs it', { timeout: 240_000 }, async () => {
    // The same entry point as scripts/vscode/test.sh, on the deliberately failing suite.
    const r = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/vscode/testElectron.ts'), '--no-build',
      '--tests', join(repoRoot, 'test/vscode/fixtures/failing-suite'), '--env', 'CTD_VSCODE_PROBE=from-the-runner'], { CTD_VSCODE_ARTIFACTS: artifacts });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^1 passed, 1 failed$/m, r.out);
    assert.match(r.out, /✗ .*fails on purpose/, r.out);
    // extensionTestsEnv reached the extension host (the passing test checks it there).
    assert.match(r.out, /✓ .*sees the environment the runner was given/, r.out);
    assert.match(r.out, /Test run failed with code 1/, 'the failure came back through runTests');
    assert.ok(existsSync(join(artifacts, 'failure.png')), 'a failed run leaves a screenshot');
  });
});

function run(command: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('close', (code) => done({ code, out }));
  });
}
