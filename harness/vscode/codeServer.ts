/**
 * Starts code-server (a real VS Code server + web workbench) on a free loopback port with
 * every piece of state inside one folder, and stops it with all its descendants.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { InstalledPaths } from './paths';

export interface CodeServerOptions {
  readonly paths: InstalledPaths;
  /** Holds user data, extensions, XDG folders and TMPDIR; the caller creates and removes it. */
  readonly stateDir: string;
  /** `--vscode-option enable-smoke-test-driver`: needed for extensionTestsPath, hides toasts. */
  readonly smokeTestDriver: boolean;
  /** Added to code-server's environment, which its extension hosts inherit. */
  readonly env?: Readonly<Record<string, string>>;
  /** Receives code-server's output line by line (it also stays in `output()`). */
  readonly onOutput?: (line: string) => void;
  readonly readyTimeoutMs?: number;
  /**
   * Serve with `--auth password` and this password (handed over in the PASSWORD environment
   * variable, never in argv, where every local user could read it). Default: `--auth none`.
   */
  readonly password?: string;
  /** Listen on 127.0.0.1:port (fails when it is taken). Default: a free port. */
  readonly port?: number;
}

export function extensionsDir(stateDir: string): string {
  return join(stateDir, 'extensions');
}

export interface CodeServer {
  /** `127.0.0.1:<port>`: the authority of vscode-remote:// URIs for this server. */
  readonly authority: string;
  readonly url: string;
  output(): string;
  /** Resolves (with how it ended) when the code-server process exits. */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

/**
 * User settings for a throwaway profile: no gallery lookups, no AI panels, no welcome page,
 * no git prompt about the repository around a test folder: less noise in the log, fewer
 * toasts over the UI and less work on a 2-core machine. Nothing here changes how an
 * extension behaves.
 */
const quietSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'security.workspace.trust.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
};

/** Writes the user settings.json of the profile in stateDir (before code-server starts). */
export function writeUserSettings(stateDir: string, extra: Readonly<Record<string, unknown>> = {}): void {
  const dir = join(stateDir, 'user-data/User');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'settings.json'), `${JSON.stringify({ ...quietSettings, ...extra }, null, 2)}\n`);
}

function stateLayout(stateDir: string): { userData: string; extensions: string; env: Record<string, string> } {
  const dirs = {
    userData: join(stateDir, 'user-data'),
    extensions: extensionsDir(stateDir),
    config: join(stateDir, 'xdg-config'),
    data: join(stateDir, 'xdg-data'),
    cache: join(stateDir, 'xdg-cache'),
    tmp: join(stateDir, 'tmp'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  return {
    userData: dirs.userData,
    extensions: dirs.extensions,
    env: { XDG_CONFIG_HOME: dirs.config, XDG_DATA_HOME: dirs.data, XDG_CACHE_HOME: dirs.cache, TMPDIR: dirs.tmp },
  };
}

/**
 * What npm exports to the scripts it runs (see scripts/lib/npm-env.sh, which removes the same
 * from the shell scripts): a process started under `npm test` / `npm run demo` must not hand
 * it on to a program on another Node (code-server runs on Node 24).
 */
export function isNpmState(name: string): boolean {
  return /^npm_(config|package|lifecycle)_/.test(name) || ['npm_command', 'npm_execpath', 'npm_node_execpath', 'INIT_CWD', 'NODE', 'COLOR'].includes(name);
}

/** PATH without the node_modules/.bin folders and node-gyp-bin npm puts first. */
export function withoutNpmPath(path: string): string {
  return path
    .split(':')
    .filter((p) => p !== '' && !p.endsWith('/node_modules/.bin') && !p.endsWith('/@npmcli/run-script/lib/node-gyp-bin'))
    .join(':');
}

/**
 * The environment code-server gets: ours without what would make it talk to another VS Code
 * (VSCODE_IPC_HOOK_CLI when run from a VS Code terminal), preload our tsx into Node 24, or
 * carry the state of an npm on Node 20 that started us.
 */
export function serverEnv(extra: Readonly<Record<string, string>>, layout: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE' || key === 'NODE_OPTIONS' || isNpmState(key)) continue;
    env[key] = key === 'PATH' && value !== undefined ? withoutNpmPath(value) : value;
  }
  return { ...env, ...layout, ...extra };
}

function serverArgs(paths: InstalledPaths, layout: { userData: string; extensions: string }): string[] {
  return [join(paths.codeServerPackage, 'out/node/entry.js'), '--user-data-dir', layout.userData, '--extensions-dir', layout.extensions];
}

/** Runs the code-server CLI (e.g. `--install-extension x.vsix`) against the same state folder. */
export function codeServerCli(paths: InstalledPaths, stateDir: string, args: readonly string[]): SpawnSyncReturns<string> {
  const layout = stateLayout(stateDir);
  return spawnSync(paths.node24, [...serverArgs(paths, layout), ...args], { env: serverEnv({}, layout.env), encoding: 'utf8', timeout: 120_000 });
}

/**
 * Ports browsers (and Node's fetch, the readiness probe) refuse to connect to: the "bad ports" of
 * the Fetch standard.
 */
const browserBlockedPorts = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113,
  115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556,
  563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667,
  6668, 6669, 6679, 6697, 10080,
]);

/** A free 127.0.0.1 port (0), or `port` itself if nothing listens there (else an error). */
async function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => reject(port !== 0 && err.code === 'EADDRINUSE' ? new Error(`127.0.0.1:${port} is already in use: pick another port`) : err));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Every live descendant of pid, read from /proc (some, like the pty host, leave the group). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function signal(target: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(target, sig);
    return true;
  } catch {
    return false;
  }
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const { paths, stateDir } = options;
  const layout = stateLayout(stateDir);
  // A fixed port is checked first: the readiness probe must not find another server there.
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535 || browserBlockedPorts.has(options.port))) {
    throw new Error(`port ${options.port}: not a port browsers connect to (pick another, e.g. 8080)`);
  }
  const port = await freePort(options.port ?? 0);
  const authority = `127.0.0.1:${port}`;
  const args = [
    ...serverArgs(paths, layout),
    '--bind-addr', authority,
    '--auth', options.password !== undefined ? 'password' : 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...(options.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
  ];
  const env = serverEnv(options.env ?? {}, layout.env);
  if (options.password !== undefined) {
    if (options.password === '') throw new Error('startCodeServer: empty password');
    // HASHED_PASSWORD would win over PASSWORD; code-server removes both from its environment
    // after reading them, so extension hosts never see the password.
    delete env['HASHED_PASSWORD'];
    env['PASSWORD'] = options.password;
  }
  // detached = setsid(): code-server leads its own process group, so one kill reaches the
  // extension hosts it forks, which outlive the page otherwise.
  const child = spawn(paths.node24, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('code-server did not start');
  let output = '';
  let pending = '';
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString();
    output += text;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) options.onOutput?.(line);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited: string | undefined;
  const exitPromise = new Promise<string>((resolve) => child.once('exit', (code, sig) => {
    exited = `code-server exited (${sig ?? code})`;
    resolve(exited);
  }));

  const stop = async (): Promise<void> => {
    const all = [pid, ...descendants(pid)];
    signal(-pid, 'SIGTERM');
    for (const p of all) signal(p, 'SIGTERM');
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && all.some((p) => signal(p, 0))) await new Promise((r) => setTimeout(r, 50));
    signal(-pid, 'SIGKILL');
    for (const p of all) signal(p, 'SIGKILL');
    await Promise.race([exitPromise, new Promise((r) => setTimeout(r, 1000))]);
  };

  const url = `http://${authority}/`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) throw new Error(`${exited} before it was ready:\n${output}`);
    try {
      const res = await fetch(`${url}healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server was not ready on ${url} after ${options.readyTimeoutMs ?? 30_000} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { authority, url, output: () => output, exited: exitPromise, stop };
}
