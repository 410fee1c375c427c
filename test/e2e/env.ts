/**
 * The end-to-end environment: a real test host in trouble (harness/host/ctd-host, name `e2e`),
 * an ssh_config naming it `e2e-host`, code-server WITHOUT the smoke-test driver (so toasts and
 * modal dialogs are real DOM a user clicks) with this repository's extension loaded in
 * development mode, and headless Chromium on the workbench. Every step is timed; everything
 * is torn down by `close()` (also after a failed setup) and, should the process die first,
 * by an exit hook (the host by harness/host/testHost.ts, code-server here).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, type Browser, type Page } from '../../harness/vscode/browser';
import { extensionsDir, startCodeServer, writeUserSettings, type CodeServer } from '../../harness/vscode/codeServer';
import { installedPaths, repoRoot } from '../../harness/vscode/paths';
import { run, startHost, type TestHost } from '../../harness/host/testHost';
import { waitForWorkbench } from '../../harness/vscode/workbenchUi';

/** The test host's name (ctd-host up e2e → network namespace ctd-e2e). */
export const HOST_NAME = process.env['CTD_E2E_HOST'] ?? 'e2e'; // another name lets two runs share a machine
/** Its alias in the ssh_config the extension reads (and the label of its tree row). */
export const HOST_ALIAS = 'e2e-host';
/** Screenshots and, after a failure, logs. */
export const ARTIFACTS = join(repoRoot, 'test-output/e2e');

export interface E2eEnv {
  readonly host: TestHost;
  readonly sshConfig: string;
  readonly server: CodeServer;
  readonly page: Page;
  /** Runs a command on the host over SSH with the system client (sshd's view, /etc overlay included). */
  ssh(command: string): Promise<string>;
  /** `conntrack -C` inside the host (ctd-host exec: independent of the extension). */
  conntrackCount(): Promise<number>;
  /** A sysctl's live value inside the host (ctd-host exec). */
  sysctl(key: string): Promise<string>;
  /** Saves test-output/e2e/<name>.png. */
  screenshot(name: string): Promise<string>;
  /** Writes code-server's output and the page's console/errors to test-output/e2e. */
  saveLogs(): void;
  close(): Promise<void>;
}

export type Log = (line: string) => void;

/** Times a step and prints "e2e: what … N ms". */
export async function timed<T>(log: Log, what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  log(`e2e: ${what}: ${Date.now() - started} ms`);
  return result;
}

/**
 * Registers this repository as an installed extension of the fresh profile: the profile's
 * extensions.json may point an extension at any folder, so the working tree (its package.json
 * and the dist/extension.js that esbuild just built) is loaded as is, in code-server's Node
 * extension host. (Development mode through the `payload` URL parameter is not an option: the
 * built workbench honours it only with the smoke-test driver on, which hides notifications.)
 */
function installFromWorkingTree(stateDir: string): string {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; publisher: string; version: string };
  const id = `${manifest.publisher}.${manifest.name}`;
  const dir = extensionsDir(stateDir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'extensions.json'), JSON.stringify([{
    identifier: { id },
    version: manifest.version,
    location: { $mid: 1, scheme: 'file', path: repoRoot },
    metadata: { installedTimestamp: Date.now(), source: 'resource' },
  }]));
  return `${id}@${manifest.version}`;
}

/** Every process whose command line mentions `marker` (our unique state folder), by pid. */
function pidsMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

function sshConfigFor(host: TestHost): string {
  return [
    `Host ${HOST_ALIAS}`,
    `  HostName ${host.info.address}`,
    `  Port ${host.info.port}`,
    '  User root',
    `  IdentityFile ${host.info.users.root.key}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${host.info.knownHostsPath}`,
    '  StrictHostKeyChecking yes',
    '',
  ].join('\n');
}

export async function startE2e(log: Log): Promise<E2eEnv> {
  const paths = installedPaths(); // throws with the install hint when code-server/Chromium are missing
  mkdirSync(ARTIFACTS, { recursive: true });
  const stateDir = mkdtempSync(join(tmpdir(), 'ctd-e2e-'));
  // Should the test process die without close(): code-server and its extension hosts are ours by
  // the state folder on their command lines (the host has testHost's own exit hook).
  const exitHook = (): void => {
    for (const pid of pidsMentioning(stateDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.on('exit', exitHook);

  let host: TestHost | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  const consoleLines: string[] = [];
  const close = async (): Promise<void> => {
    const started = Date.now();
    // Every part is torn down even when another part's teardown fails; the first error is rethrown.
    const errors: unknown[] = [];
    for (const stop of [() => browser?.close(), () => server?.stop(), () => host?.stop()]) {
      try {
        await stop();
      } catch (err) {
        errors.push(err);
      }
    }
    exitHook();
    process.off('exit', exitHook);
    log(`e2e: teardown: ${Date.now() - started} ms`);
    if (errors.length > 0) throw errors[0];
  };

  try {
    const sshConfig = join(stateDir, 'ssh_config');
    host = await timed(log, `ctd-host up ${HOST_NAME}`, () => startHost(HOST_NAME));
    const h = host;
    writeFileSync(sshConfig, sshConfigFor(h));
    const ssh = async (command: string): Promise<string> => {
      const r = await run('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', HOST_ALIAS, command], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`ssh ${HOST_ALIAS} ${command}: exit ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    };

    await timed(log, 'host put in trouble (sysctl files, legacy+nft, 3000 assured flows, 500 INVALID packets)', async () => {
      // The typical sysctl mistakes, into the host's /etc overlay (the machine's /etc is untouched).
      const r = await run('bash', ['-c', `set -o pipefail; tar -C "$1" -cf - etc | ssh -F "$2" -o BatchMode=yes ${HOST_ALIAS} 'tar -xf - -C / && ln -sfn ../sysctl.conf /etc/sysctl.d/99-sysctl.conf'`, 'copy', join(repoRoot, 'examples/host-in-trouble'), sshConfig], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`copying examples/host-in-trouble/etc to the host: ${r.stderr.trim()}`);
      await h.mix();
      await h.fill({ assured: 3000 });
      await h.invalid(500);
    });

    await timed(log, 'node esbuild.js', () => {
      const built = spawnSync(process.execPath, ['esbuild.js'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
      if (built.status !== 0) throw new Error(`node esbuild.js failed (${built.status}):\n${built.stdout}${built.stderr}`);
      return Promise.resolve();
    });

    const workspace = join(stateDir, 'workspace');
    mkdirSync(workspace);
    writeFileSync(join(workspace, 'README.txt'), 'Conntrack Doctor end-to-end test workspace.\n');
    writeUserSettings(stateDir, {
      'conntrackDoctor.sshConfigFile': sshConfig,
      'conntrackDoctor.hostKeyChecking': 'yes',
      // The test refreshes explicitly (Conntrack: Refresh): a timer refresh in the middle of a
      // step would change rates-based findings under the assertions.
      'conntrackDoctor.refreshIntervalSeconds': 0,
      // No empty chat side bar taking a third of the 1280 px window from the editor.
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
    });
    log(`e2e: extension ${installFromWorkingTree(stateDir)} loaded from ${repoRoot}`);
    server = await timed(log, 'code-server ready', () =>
      startCodeServer({ paths, stateDir, smokeTestDriver: false, env: { EXTENSIONS_GALLERY: '{}' }, readyTimeoutMs: 60_000 }));
    const cs = server;
    browser = await timed(log, 'chromium launched', () => launchBrowser(paths, join(stateDir, 'chromium-profile')));
    const page = await browser.newPage();
    page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.stack ?? e.message}`));
    const url = `${cs.url}?folder=${encodeURIComponent(workspace)}`;
    await timed(log, 'workbench first paint', async () => {
      await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 120_000 });
      await waitForWorkbench(page, 120_000);
    });

    return {
      host: h,
      sshConfig,
      server: cs,
      page,
      ssh: (command) => ssh(command),
      conntrackCount: () => h.conntrackCount(),
      sysctl: async (key) => (await h.execOk(['sysctl', '-n', key])).trim(),
      screenshot: async (name) => {
        const file = join(ARTIFACTS, `${name}.png`);
        await page.screenshot({ path: file });
        return file;
      },
      saveLogs: () => {
        writeFileSync(join(ARTIFACTS, 'code-server.log'), cs.output());
        writeFileSync(join(ARTIFACTS, 'workbench-console.log'), `${consoleLines.join('\n')}\n`);
        // The extension's own output channel (every remote command, errors with their reasons).
        for (const file of findFiles(join(stateDir, 'user-data/logs'), (name) => name.endsWith('Conntrack Doctor.log'))) copyFileSync(file, join(ARTIFACTS, 'conntrack-doctor.log'));
      },
      close,
    };
  } catch (err) {
    if (server) writeFileSync(join(ARTIFACTS, 'code-server.log'), server.output());
    if (consoleLines.length > 0) writeFileSync(join(ARTIFACTS, 'workbench-console.log'), `${consoleLines.join('\n')}\n`);
    await close().catch((closeErr: unknown) => log(`e2e: teardown after the failed setup: ${String(closeErr)}`));
    throw err;
  }
}

/** Files under dir (recursively) whose name matches. */
function findFiles(dir: string, match: (name: string) => boolean): string[] {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(full, match));
    else if (match(e.name)) out.push(full);
  }
  return out;
}
