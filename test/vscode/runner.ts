/**
 * Runs an extensionTestsPath suite inside a real VS Code: code-server (VS Code server + web
 * workbench) on loopback, opened by headless Chromium, with the extension under development
 * loaded from this repository. The exit code is the one VS Code reports (0 pass, 1 fail);
 * 2 means the harness itself failed (no first paint, timeout, crash).
 *
 *   scripts/vscode/code-shim --extensionDevelopmentPath=… --extensionTestsPath=… [folder]
 *       (the arguments @vscode/test-electron's runTests passes to a VS Code executable;
 *       test/vscode/testElectron.ts is the suite's entry point and passes them)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, type Browser, type Page } from '../../harness/vscode/browser';
import { startCodeServer, writeUserSettings, type CodeServer } from '../../harness/vscode/codeServer';
import { installedPaths, repoRoot } from '../../harness/vscode/paths';
import { grepEnv, reportPrefix, resultsFileEnv, type SuiteResults } from './protocol';

export interface VscodeTestRun {
  /** Folder(s) holding the extension's package.json; default: this repository. */
  readonly extensionDevelopmentPath?: string | readonly string[];
  /** The bundled suite: a folder with index.js, or the .js file itself. */
  readonly extensionTestsPath: string;
  /** Folder opened as the workspace; default test/vscode/fixtures/workspace. */
  readonly workspace?: string;
  /** Extra environment for code-server and so for the extension host (e.g. SSH config paths). */
  readonly env?: Readonly<Record<string, string>>;
  /** Where a failed run leaves a screenshot and the logs; default test-output/vscode. */
  readonly artifactsDir?: string;
  /** Whole run, first paint included; default 5 minutes. */
  readonly timeoutMs?: number;
  /** From navigation to a painted workbench; default 90 s (12–16 s when the machine is idle). */
  readonly firstPaintTimeoutMs?: number;
  /** Only tests whose full name ("describe › it") matches this regular expression run. */
  readonly grep?: string;
  /** Receives the test report and the harness's progress lines; default stdout. */
  readonly print?: (line: string) => void;
  /** Also print the workbench, extension host and code-server logs as they come. */
  readonly verbose?: boolean;
  /** Keep the temporary state folder (user data, logs) for inspection. */
  readonly keepState?: boolean;
}

export interface VscodeTestOutcome {
  readonly exitCode: number;
  /** What the harness in the extension host wrote (absent if it never finished). */
  readonly results?: SuiteResults;
  /** Set when the run failed and left a screenshot and logs there. */
  readonly artifacts?: string;
  readonly timings: { readonly serverReadyMs: number; readonly firstPaintMs?: number; readonly totalMs: number };
}

const defaultWorkspace = join(repoRoot, 'test/vscode/fixtures/workspace');

function remoteUri(authority: string, path: string): string {
  return `vscode-remote://${authority}${resolve(path).split('/').map(encodeURIComponent).join('/')}`;
}

/** The logs the workbench hands to codeAutomationExit: [{ relativePath, contents }]. */
function isLogList(value: unknown): value is { relativePath: string; contents: string }[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null && 'relativePath' in v && 'contents' in v);
}

function formatLogArgs(args: unknown): string {
  const list = Array.isArray(args) ? args : [args];
  return list.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
}

export async function runVscodeTests(run: VscodeTestRun): Promise<VscodeTestOutcome> {
  const print = run.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const elapsed = (): number => Date.now() - started;
  const paths = installedPaths();
  const devPaths = [run.extensionDevelopmentPath ?? repoRoot].flat().map((p) => resolve(p));
  const testsPath = resolve(run.extensionTestsPath);
  const workspace = resolve(run.workspace ?? defaultWorkspace);
  for (const p of [...devPaths, testsPath, workspace]) if (!existsSync(p)) throw new Error(`${p} does not exist`);

  const stateDir = mkdtempSync(join(tmpdir(), 'ctd-vscode-'));
  const resultsFile = join(stateDir, 'results.json');
  writeUserSettings(stateDir);

  const workbenchLog: string[] = [];
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let firstPaintMs: number | undefined;
  let serverReadyMs = 0;
  let exitCode = 2;
  let failure: string | undefined;
  let exitLogs: { relativePath: string; contents: string }[] = [];

  const stopSignals = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  // Ctrl-C must not leave code-server and its extension hosts running.
  let interrupted = false;
  function onSignal(sig: NodeJS.Signals): void {
    interrupted = true;
    stopSignals();
    void Promise.allSettled([browser?.close(), server?.stop()]).then(() => {
      if (!run.keepState) rmSync(stateDir, { recursive: true, force: true });
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const cs = await startCodeServer({
      paths,
      stateDir,
      smokeTestDriver: true,
      env: {
        // No extension gallery: this network has none, and each lookup waits for DNS.
        EXTENSIONS_GALLERY: '{}',
        ...run.env,
        [resultsFileEnv]: resultsFile,
        ...(run.grep ? { [grepEnv]: run.grep } : {}),
      },
      onOutput: (line) => {
        workbenchLog.push(`[code-server] ${line}`);
        if (run.verbose) print(`[code-server] ${line}`);
      },
    });
    server = cs;
    serverReadyMs = elapsed();
    print(`vscode-test: code-server ${cs.url} ready after ${serverReadyMs} ms`);

    browser = await launchBrowser(paths, join(stateDir, 'chromium-profile'));
    page = await browser.newPage();
    let settle: (code: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (settle = r));
    await page.exposeFunction('codeAutomationExit', (code: number, logs?: unknown) => {
      if (isLogList(logs)) exitLogs = logs;
      settle(code);
    });
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
      const text = formatLogArgs(args);
      workbenchLog.push(`[${type}] ${text}`);
      // The harness prints each report line with the prefix; console.log may join several.
      for (const line of text.split('\n')) {
        if (line.startsWith(reportPrefix)) print(line.slice(reportPrefix.length));
        else if (run.verbose) print(`[workbench ${type}] ${line}`);
      }
    });
    page.on('pageerror', (err) => workbenchLog.push(`[pageerror] ${err.stack ?? err.message}`));

    const payload = JSON.stringify([
      ...devPaths.map((p) => ['extensionDevelopmentPath', remoteUri(cs.authority, p)]),
      ['extensionTestsPath', remoteUri(cs.authority, testsPath)],
    ]);
    const url = `${cs.url}?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`;
    const timeoutMs = run.timeoutMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, timeoutMs - elapsed()))));
    const serverDied = cs.exited.then((how) => `${how} during the run` as const);

    // The tests may finish before the paint is noticed here, so this wait races the exit.
    const firstPaint = (async () => {
      await page.goto(url, { waitUntil: 'domcontentloaded', timeout: run.firstPaintTimeoutMs ?? 90_000 });
      await page.waitForSelector('.monaco-workbench', { timeout: run.firstPaintTimeoutMs ?? 90_000 });
      firstPaintMs = elapsed() - serverReadyMs;
      print(`vscode-test: workbench painted after ${firstPaintMs} ms; running ${testsPath}`);
    })();
    const paintFailed = firstPaint.then(
      () => new Promise<never>(() => undefined),
      (err: unknown) => `no workbench: ${err instanceof Error ? err.message : String(err)}` as const,
    );
    const outcome = await Promise.race([exited, timedOut, serverDied, paintFailed]);
    clearTimeout(timer);
    if (typeof outcome === 'number') {
      exitCode = outcome;
    } else {
      failure = outcome === 'timeout' ? `no result after ${timeoutMs} ms` : outcome;
      print(`vscode-test: ${failure}`);
    }
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
    print(`vscode-test: ${failure}`);
  }

  let results: SuiteResults | undefined;
  if (existsSync(resultsFile)) results = JSON.parse(readFileSync(resultsFile, 'utf8')) as SuiteResults;
  if (exitCode === 0 && !results) {
    // VS Code reports 0 for a suite whose run() resolved; ours always writes results.
    print(`vscode-test: exit code 0 but the harness wrote no ${resultsFile}; is ${testsPath} built from test/vscode/suite?`);
  }

  let artifacts: string | undefined;
  if (exitCode !== 0 && !interrupted) {
    artifacts = resolve(run.artifactsDir ?? join(repoRoot, 'test-output/vscode'));
    mkdirSync(artifacts, { recursive: true });
    try {
      if (page && !page.isClosed()) await page.screenshot({ path: join(artifacts, 'failure.png') });
    } catch (err) {
      print(`vscode-test: no screenshot: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
    }
    writeFileSync(join(artifacts, 'workbench.log'), `${workbenchLog.join('\n')}\n`);
    if (server) writeFileSync(join(artifacts, 'code-server.log'), server.output());
    for (const log of exitLogs) {
      const target = join(artifacts, 'vscode-logs', log.relativePath);
      mkdirSync(resolve(target, '..'), { recursive: true });
      writeFileSync(target, log.contents);
    }
    print(`vscode-test: exit code ${exitCode}; screenshot and logs in ${artifacts}`);
  }

  stopSignals();
  await browser?.close().catch(() => undefined);
  await server?.stop();
  if (run.keepState) print(`vscode-test: state kept in ${stateDir}`);
  else rmSync(stateDir, { recursive: true, force: true });
  const totalMs = elapsed();
  print(`vscode-test: exit code ${exitCode} after ${totalMs} ms`);
  return {
    exitCode,
    ...(results ? { results } : {}),
    ...(artifacts ? { artifacts } : {}),
    timings: { serverReadyMs, ...(firstPaintMs !== undefined ? { firstPaintMs } : {}), totalMs },
  };
}

/**
 * The arguments @vscode/test-electron (and @vscode/test-cli) pass to a VS Code executable.
 * Only the extension paths and the folder matter; Electron flags and profile folders are
 * ignored (every run gets fresh ones).
 */
export function parseCodeArgs(argv: readonly string[]): { extensionDevelopmentPath: string[]; extensionTestsPath?: string; workspace?: string; ignored: string[] } {
  const extensionDevelopmentPath: string[] = [];
  let extensionTestsPath: string | undefined;
  let workspace: string | undefined;
  const ignored: string[] = [];
  const withValue = new Set(['--extensionDevelopmentPath', '--extensionTestsPath', '--extensions-dir', '--user-data-dir', '--folder-uri', '--locale', '--log']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    let value = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (withValue.has(flag) && value === undefined) value = argv[++i];
    if (flag === '--extensionDevelopmentPath' && value) extensionDevelopmentPath.push(value);
    else if (flag === '--extensionTestsPath' && value) extensionTestsPath = value;
    else if (flag === '--folder-uri' && value?.startsWith('file://')) workspace = fileURLToPath(value);
    else if (!flag.startsWith('-')) workspace = flag;
    else ignored.push(value === undefined ? flag : `${flag}=${value}`);
  }
  return { extensionDevelopmentPath, ...(extensionTestsPath ? { extensionTestsPath } : {}), ...(workspace ? { workspace } : {}), ignored };
}

/**
 * As a VS Code executable (scripts/vscode/code-shim), for @vscode/test-electron's runTests:
 * `--version`, or a test run. Options that have no VS Code argument come from the environment:
 * CTD_VSCODE_VERBOSE=1, CTD_VSCODE_KEEP_STATE=1, CTD_VSCODE_ARTIFACTS=DIR.
 */
async function main(argv: string[]): Promise<number> {
  if (argv[0] !== '--code-cli') {
    console.error('usage: scripts/vscode/code-shim --extensionDevelopmentPath=DIR --extensionTestsPath=PATH [FOLDER]\n(run the suite with: node --import tsx test/vscode/testElectron.ts --help)');
    return 2;
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    // `code --version`: version, commit, architecture.
    const product = JSON.parse(readFileSync(join(installedPaths().codeServerPackage, 'lib/vscode/product.json'), 'utf8')) as { version: string; commit: string };
    console.log(`${product.version}\n${product.commit}\n${process.arch}`);
    return 0;
  }
  const code = parseCodeArgs(argv.slice(1));
  if (!code.extensionTestsPath) {
    console.error('code-shim: only extension test runs are supported (no --extensionTestsPath given)');
    return 2;
  }
  const artifacts = process.env['CTD_VSCODE_ARTIFACTS'];
  const outcome = await runVscodeTests({
    extensionTestsPath: code.extensionTestsPath,
    ...(code.extensionDevelopmentPath.length > 0 ? { extensionDevelopmentPath: code.extensionDevelopmentPath } : {}),
    ...(code.workspace ? { workspace: code.workspace } : {}),
    ...(artifacts ? { artifactsDir: artifacts } : {}),
    verbose: process.env['CTD_VSCODE_VERBOSE'] === '1',
    keepState: process.env['CTD_VSCODE_KEEP_STATE'] === '1',
  });
  return outcome.exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(2);
    },
  );
}
