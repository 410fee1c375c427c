/**
 * Shared pieces of the integration suite: the product driven as a user drives it (an ssh config
 * file, `openHost`, the built CLI in a child process) against the real test hosts of
 * harness/host/testHost.ts, plus independent reads (OpenSSH's own client, `ctd-host exec`, /proc
 * of this machine) to check what the product says.
 *
 * Nothing here skips: a missing prerequisite throws with the reason.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after } from 'node:test';
import { openHost, type HostSession } from '../../src/io/host';
import type { CommandLogEntry } from '../../src/io/runner';
import type { HostKeyPolicy } from '../../src/io/ssh/connection';
import type { Prompter } from '../../src/io/ssh/auth';
import type { StrictHostKeyChecking } from '../../src/io/ssh/config';
import { CTD_HOST, run, type ExecResult, type HostUser, type TestHost } from '../../harness/host/testHost';

export const REPO = resolve(__dirname, '../..');
export const CLI = join(REPO, 'dist/cli.js');
export const MAX_PATH = '/proc/sys/net/netfilter/nf_conntrack_max';
export const BUCKETS_PATH = '/proc/sys/net/netfilter/nf_conntrack_buckets';

/** A scratch directory for this test file, removed when the file's tests are done. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ctd-it-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The machine's own value (this process runs in the initial network namespace). */
export function machineSysctl(path: string): number {
  return Number(readFileSync(path, 'utf8').trim());
}

/**
 * The machine's nf_conntrack_max and nf_conntrack_buckets as they are now; the function returned
 * writes back whichever changed and asserts both (for files that change them, in `after`).
 */
export function machineConntrackRestorer(): () => void {
  const saved = [[MAX_PATH, machineSysctl(MAX_PATH)], [BUCKETS_PATH, machineSysctl(BUCKETS_PATH)]] as const;
  return () => {
    for (const [path, value] of saved) {
      if (machineSysctl(path) !== value) writeFileSync(path, `${value}\n`);
      assert.equal(machineSysctl(path), value, `${path} restored`);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// ssh config files, as a user would write them

export interface SshConfigOptions {
  readonly alias?: string;
  readonly user?: HostUser;
  /** default: the host's known_hosts */
  readonly knownHosts?: string;
  readonly strict?: StrictHostKeyChecking;
  /** raw lines added to the Host block (hostile values in tests) */
  readonly extraLines?: readonly string[];
  /** HostName override (hostile values in tests) */
  readonly hostName?: string;
  /** Port override (a relay in front of the host's sshd) */
  readonly port?: number;
}

/** Writes an ssh config for `host` into `dir` and returns its path (Host alias → the host). */
export function writeSshConfig(dir: string, host: TestHost, o: SshConfigOptions = {}): string {
  const alias = o.alias ?? host.name;
  const user = o.user ?? 'root';
  const file = join(dir, `ssh_config.${alias}`);
  writeFileSync(
    file,
    [
      `Host ${alias}`,
      `  HostName ${o.hostName ?? host.address}`,
      `  Port ${o.port ?? host.info.port}`,
      `  User ${user}`,
      `  IdentityFile ${host.userKey(user)}`,
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      `  UserKnownHostsFile ${o.knownHosts ?? host.info.knownHostsPath}`,
      '  GlobalKnownHostsFile none',
      `  StrictHostKeyChecking ${o.strict ?? 'yes'}`,
      ...(o.extraLines ?? []),
      '',
    ].join('\n'),
  );
  return file;
}

export interface Session {
  readonly session: HostSession;
  /** every command the product ran, as its command log reports it */
  readonly log: CommandLogEntry[];
  readonly alias: string;
  readonly configFile: string;
}

/** Opens the host through the product's SSH layer (ssh config, host keys checked before auth). */
export async function openSession(
  dir: string,
  host: TestHost,
  o: SshConfigOptions & { prompt?: Prompter; hostKeys?: HostKeyPolicy; connectTimeoutMs?: number; reconnect?: { attempts?: number; initialDelayMs?: number } } = {},
): Promise<Session> {
  const configFile = writeSshConfig(dir, host, o);
  const alias = o.alias ?? host.name;
  const log: CommandLogEntry[] = [];
  const session = await openHost({
    target: alias,
    resolve: { configFile, env: {} },
    ...(o.hostKeys ? { hostKeys: o.hostKeys } : {}),
    ...(o.prompt ? { prompt: o.prompt } : {}),
    log: (e) => log.push(e),
    connection: { connectTimeoutMs: o.connectTimeoutMs ?? 10_000, ...(o.reconnect ? { reconnect: o.reconnect } : {}) },
  });
  return { session, log, alias, configFile };
}

// ---------------------------------------------------------------------------------------------
// The built CLI

let built = false;

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      if (p === join(REPO, 'src/extension')) continue; // not part of the CLI bundle
      newest = Math.max(newest, newestSource(p));
    } else newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/cli.js with `node esbuild.js` when it is missing or older than the sources it
 * bundles (once per process; under a lock so that parallel test files do not build at once).
 */
export function ensureCliBuilt(): void {
  if (built) return;
  const stale = (): boolean => !existsSync(CLI) || statSync(CLI).mtimeMs < newestSource(join(REPO, 'src'));
  if (stale()) {
    const r = spawnSync('flock', ['-x', '/tmp/.ctd-it-build.lock', process.execPath, join(REPO, 'esbuild.js')], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `node esbuild.js failed:\n${r.stdout}\n${r.stderr}`);
    assert.ok(!stale(), 'dist/cli.js is still older than src/ after node esbuild.js');
  }
  built = true;
}

/** Runs `node dist/cli.js ARGS` (no terminal: stdin is a pipe). */
export async function cli(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  ensureCliBuilt();
  return run(process.execPath, [CLI, ...args], { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), typing `answer` once `promptRe`
 * appears in its output, as a person at a terminal would. Resolves with everything the terminal
 * showed and the exit code.
 */
export async function cliOnTerminal(args: readonly string[], promptRe: RegExp, answer: string, timeoutMs = 60_000): Promise<{ code: number; output: string; prompted: boolean }> {
  ensureCliBuilt();
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => undefined);
  let output = '';
  let prompted = false;
  const onData = (b: Buffer): void => {
    output += b.toString('utf8');
    if (!prompted && promptRe.test(output)) {
      prompted = true;
      child.stdin.write(`${answer}\r`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number>((done) => child.once('close', (c) => done(c ?? 128)));
  clearTimeout(timer);
  child.stdin.destroy();
  return { code, output, prompted };
}

// ---------------------------------------------------------------------------------------------
// Independent reads

/** Runs a shell command on the host with OpenSSH's client (not the product), as root; throws on failure. */
export async function sshOk(host: TestHost, command: string, user: HostUser = 'root', sshOptions: readonly string[] = []): Promise<string> {
  const r = await host.ssh(user, command, { sshOptions });
  assert.equal(r.code, 0, `ssh ${user}@${host.address}: ${command}\n${r.stderr}`);
  return r.stdout;
}

/** One OpenSSH ControlMaster connection to the host, so independent reads open no new TCP connection. */
export async function controlMaster(host: TestHost, dir: string): Promise<{ options: string[]; close: () => Promise<void> }> {
  const path = join(dir, `cm-${host.name}`);
  const options = ['-o', `ControlPath=${path}`];
  const r = await host.ssh('root', 'true', { sshOptions: [...options, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=300'] });
  assert.equal(r.code, 0, r.stderr);
  return {
    options,
    close: async () => {
      await run('ssh', ['-o', `ControlPath=${path}`, '-O', 'exit', `root@${host.address}`]);
    },
  };
}

/** The host's sshd log from byte `from` on. */
export function sshdLog(host: TestHost, from = 0): string {
  return readFileSync(host.info.sshdLog, 'utf8').slice(from);
}

export function sshdLogSize(host: TestHost): number {
  return statSync(host.info.sshdLog).size;
}

/** `conntrack -C` and the number of SSH (dport 22) entries, in the host, without SSH. */
export async function countsWithoutSsh(host: TestHost): Promise<{ count: number; ssh: number; other: number }> {
  const out = await host.execOk(['sh', '-c', 'conntrack -C; conntrack -L -p tcp --orig-port-dst 22 2>/dev/null | wc -l']);
  const [count, ssh] = out.trim().split('\n').map(Number);
  assert.ok(Number.isInteger(count) && Number.isInteger(ssh), out);
  return { count: count ?? 0, ssh: ssh ?? 0, other: (count ?? 0) - (ssh ?? 0) };
}

/**
 * Runs `ps -eo args` every 50 ms inside the host (its namespaces, via `ctd-host exec`, not SSH)
 * until `stop()`, which resolves with every listing taken. One long-running process, so the
 * watching itself does not slow the machine down.
 */
export function watchProcesses(host: TestHost): { stop: () => Promise<string[]> } {
  const child = spawn(CTD_HOST, ['exec', host.name, 'sh', '-c', 'while :; do ps -eo args; echo @@end; sleep 0.05; done'], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  const closed = new Promise<void>((done) => child.once('close', () => done()));
  return {
    stop: async () => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL'); // the whole group: ctd-host, nsenter, the loop
        } catch {
          // already gone
        }
      }
      await closed;
      return out.split('@@end\n').slice(0, -1);
    },
  };
}

/** Every text a finding shows a user (title, detail, evidence). */
export function findingTexts(f: { title: string; detail: string; evidence: readonly { label: string; value: string }[] }): string[] {
  return [f.title, f.detail, ...f.evidence.map((e) => `${e.label}: ${e.value}`)];
}
