/**
 * The one entry point of the VS Code extension suite: @vscode/test-electron's runTests, with the
 * options an extension author uses on desktop VS Code (extension development path, tests path,
 * launch args with a workspace, extensionTestsEnv). `npm test` runs it through
 * scripts/vscode/test.sh.
 *
 *   node --import tsx test/vscode/testElectron.ts [--grep RE] [--env K=V]… [--tests DIR]
 *       here: the "VS Code executable" is scripts/vscode/code-shim, which runs the suite in
 *       code-server + headless Chromium (test/vscode/runner.ts: screenshot and logs of a
 *       failed run in test-output/vscode, or $CTD_VSCODE_ARTIFACTS)
 *   CTD_VSCODE_EXECUTABLE=download …    test-electron downloads VS Code stable (a desktop, CI
 *                                       with internet; Linux needs a display: xvfb-run -a)
 *   CTD_VSCODE_EXECUTABLE=/path/to/code …   an installed VS Code
 *
 * Exit code: 0 every test passed, 1 a test failed (or VS Code exited non-zero), 2 the harness
 * failed before any test ran (no build, no suite).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runTests } from '@vscode/test-electron';
import { buildSuite } from './buildSuite';
import { repoRoot } from '../../harness/vscode/paths';
import { grepEnv } from './protocol';

const usage = `usage: node --import tsx test/vscode/testElectron.ts [options]
  --tests DIR        a folder of *.spec.ts with index.ts (default test/vscode/suite)
  --workspace DIR    the folder VS Code opens (default test/vscode/fixtures/workspace)
  --env KEY=VALUE    environment for the extension host (extensionTestsEnv; repeatable)
  --grep REGEXP      only tests whose "describe › it" name matches
  --no-build         do not run esbuild.js (the extension) first
Environment: CTD_VSCODE_EXECUTABLE (download | a path; default scripts/vscode/code-shim),
  CTD_VSCODE_VERBOSE=1, CTD_VSCODE_KEEP_STATE=1, CTD_VSCODE_ARTIFACTS=DIR (code-shim only).`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tests: { type: 'string' },
      workspace: { type: 'string' },
      env: { type: 'string', multiple: true },
      grep: { type: 'string' },
      'no-build': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--env ${pair}: expected KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (values.grep !== undefined) env[grepEnv] = values.grep;
  if (!values['no-build'] && spawnSync(process.execPath, ['esbuild.js'], { cwd: repoRoot, stdio: 'inherit' }).status !== 0) return 2;
  const testsDir = resolve(values.tests ?? join(repoRoot, 'test/vscode/suite'));
  const workspace = resolve(values.workspace ?? join(repoRoot, 'test/vscode/fixtures/workspace'));
  if (!existsSync(workspace)) throw new Error(`${workspace} does not exist`);
  // Per process, so that two runs on one machine never load each other's half-written bundle.
  const extensionTestsPath = await buildSuite(testsDir, `suite-${process.pid}`);
  const executable = process.env['CTD_VSCODE_EXECUTABLE'] ?? join(repoRoot, 'scripts/vscode/code-shim');
  try {
    return await runTests({
      ...(executable === 'download' ? {} : { vscodeExecutablePath: executable }),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath,
      launchArgs: [workspace, '--disable-extensions'],
      extensionTestsEnv: env,
    });
  } catch (err) {
    // runTests rejects (TestRunFailedError) when VS Code exits non-zero; the shim's 2 (the
    // harness failed) is handed on as it is.
    console.error(err instanceof Error ? err.message : err);
    const code = (err as { code?: unknown }).code;
    return code === 2 ? 2 : 1;
  } finally {
    rmSync(extensionTestsPath, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
