/**
 * Runs test/vscode/suite through @vscode/test-electron's runTests, unchanged from how an
 * extension runs it on desktop VS Code:
 *
 *   node --import tsx test/vscode/testElectron.ts             # here: code-server via scripts/vscode/code-shim
 *   CTD_VSCODE_EXECUTABLE=download node --import tsx test/vscode/testElectron.ts
 *                                                             # where VS Code can be downloaded (desktop, CI with
 *                                                             # internet; Linux needs a display: xvfb-run)
 *   CTD_VSCODE_EXECUTABLE=/path/to/code node --import tsx …   # an installed VS Code
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildSuite } from './buildSuite';
import { repoRoot, requireTool } from '../../harness/vscode/paths';

interface TestElectron {
  runTests(options: {
    vscodeExecutablePath?: string;
    version?: string;
    extensionDevelopmentPath: string;
    extensionTestsPath: string;
    launchArgs?: string[];
    extensionTestsEnv?: Record<string, string>;
  }): Promise<number>;
}

async function main(): Promise<number> {
  const testElectron = requireTool('@vscode/test-electron') as TestElectron;
  if (spawnSync(process.execPath, ['esbuild.js'], { cwd: repoRoot, stdio: 'inherit' }).status !== 0) return 2;
  const extensionTestsPath = await buildSuite(join(repoRoot, 'test/vscode/suite'));
  const executable = process.env['CTD_VSCODE_EXECUTABLE'] ?? join(repoRoot, 'scripts/vscode/code-shim');
  try {
    return await testElectron.runTests({
      ...(executable === 'download' ? {} : { vscodeExecutablePath: executable }),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath,
      launchArgs: [join(repoRoot, 'test/vscode/fixtures/workspace'), '--disable-extensions'],
    });
  } catch (err) {
    // runTests rejects with TestRunFailedError for a non-zero exit; its message says which.
    console.error(err instanceof Error ? err.message : err);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
