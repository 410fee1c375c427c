/**
 * The runner itself: a suite with a failing test must make it fail (exit code 1, counts,
 * a screenshot), the environment given to the runner must reach the extension host, and the arguments @vscode/test-electron passes must be understood.
 * One real code-server run (~30–40 s); needs `bash scripts/vscode/install.sh`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildSuite } from './buildSuite';
import { repoRoot } from '../../harness/vscode/paths';
import { parseCodeArgs, runVscodeTests } from './runner';

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

  test('a failing test in the extension host makes the run exit 1', { timeout: 240_000 }, async () => {
    const tests = await buildSuite(join(repoRoot, 'test/vscode/fixtures/failing-suite'));
    const lines: string[] = [];
    const outcome = await runVscodeTests({ extensionTestsPath: tests, artifactsDir: artifacts, env: { CTD_VSCODE_PROBE: 'from-the-runner' }, print: (l) => lines.push(l) });
    assert.equal(outcome.exitCode, 1, lines.join('\n'));
    assert.equal(outcome.results?.passed, 1);
    assert.equal(outcome.results?.failed, 1);
    assert.match(outcome.results?.vscodeVersion ?? '', /^1\.\d+\.\d+/);
    assert.match(outcome.results?.tests.find((t) => t.status === 'failed')?.error ?? '', /fails on purpose/);
    assert.ok(lines.includes('1 passed, 1 failed'), lines.join('\n'));
    assert.ok(existsSync(join(artifacts, 'failure.png')), 'a failed run leaves a screenshot');
  });
});
