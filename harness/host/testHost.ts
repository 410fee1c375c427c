/**
 * Real test hosts for node:test suites: a network namespace with the kernel's conntrack table
 * and Debian's OpenSSH sshd, driven through harness/host/ctd-host (see that script for what a host
 * is made of). Needs root and the packages of harness/host/install-deps.sh; when something is
 * missing this module throws with the reason — it never skips.
 *
 *   const h = useHost('mytest');                      // at top level or inside describe()
 *   test('x', async () => { const r = await h.host.ssh('root', 'conntrack -C'); ... });
 *
 * or imperatively: `const host = await startHost('mytest', { after })` and `await host.stop()`.
 * Either way every started host is also torn down when the process exits (crash, SIGINT/SIGTERM).
 * A host may be a variant (`{ variants: ['busybox', 'no-procfs'] }`): see HOST_VARIANTS.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after as nodeTestAfter, before as nodeTestBefore } from 'node:test';
import { z } from 'zod';

/** Absolute path of the ctd-host script. */
export const CTD_HOST = join(__dirname, 'ctd-host');
const INSTALL_HINT = 'run harness/host/install-deps.sh as root (the project setup should do it)';

const HostKeySchema = z.object({ path: z.string(), pub: z.string(), sha256: z.string().startsWith('SHA256:') });

/**
 * The kinds of host `ctd-host up --variant` builds (harness/host/README.md says what each changes,
 * how, and where it is an approximation); several combine, one fw-* at most.
 */
export const HOST_VARIANTS = [
  /** + user `guest` (key, no sudo rights at all); `audit` (sudo asks a password) exists on every host */
  'nopriv',
  /** no `conntrack` program (and no conntrack package in dpkg's status) */
  'no-conntrack-tools',
  /** a kernel without CONFIG_NF_CONNTRACK_PROCFS: no /proc/net/nf_conntrack, /proc/net/stat/nf_conntrack */
  'no-procfs',
  /** connection tracking not in use: no nf_conntrack sysctls, /proc files or /sys/module entry; nfnetlink unavailable */
  'no-conntrack',
  /** BusyBox userland (ash login shell, BusyBox awk/sed/grep/…), no bash, no sudo; doas for ops */
  'busybox',
  /** nftables only: no iptables programs */
  'fw-nft-only',
  /** iptables-legacy only: no nft, no iptables-nft; the tracking rules are legacy iptables rules */
  'fw-legacy-only',
  /** iptables → iptables-nft (rules in iptables-nft's tables), nft present */
  'fw-iptables-nft',
  /** neither nft nor iptables */
  'fw-none',
  /** LANG=de_DE.UTF-8 (generated), entries with zone=/mark=/labels=, IPv6 on with IPv6 flows */
  'locale-de',
] as const;
export type HostVariant = (typeof HOST_VARIANTS)[number];

export const HostInfoSchema = z.object({
  name: z.string(),
  netns: z.string(),
  netnsInode: z.number().int(),
  index: z.number().int(),
  address: z.string(),
  port: z.number().int(),
  rootAddress: z.string(),
  rootInterface: z.string(),
  users: z.object({
    root: z.object({ key: z.string() }),
    ops: z.object({ key: z.string() }),
    audit: z.object({ key: z.string(), password: z.string() }),
    /** variant nopriv: a key, no sudo rights */
    guest: z.object({ key: z.string() }).optional(),
  }),
  variants: z.array(z.enum(HOST_VARIANTS)),
  /** variant locale-de: the host's IPv6 address and the generator's IPv6 ranges (`fill({ ipv6: true })`) */
  ipv6: z.object({ address: z.string(), clients: z.string(), servers: z.string() }).optional(),
  /** variant locale-de: the client ranges whose entries carry a zone, a mark, labels (named in /etc/xtables/connlabel.conf) */
  quirks: z
    .object({
      zone: z.object({ clients: z.string(), zone: z.number().int() }),
      mark: z.object({ clients: z.string(), mark: z.number().int() }),
      labels: z.object({ clients: z.string(), labels: z.array(z.string()) }),
      /** [OFFLOAD] entries: this kernel has no flowtables (CONFIG_NF_FLOW_TABLE is not set) */
      offload: z.boolean(),
    })
    .optional(),
  hostKeys: z.object({ ed25519: HostKeySchema, rsa: HostKeySchema }),
  knownHostsLine: z.string(),
  knownHostsPath: z.string(),
  statePath: z.string(),
  sshdPid: z.number().int(),
  sshdLog: z.string(),
  ranges: z.object({ clients: z.string(), servers: z.string() }),
  /** true: sshd on 127.0.0.1:port in the machine's initial netns (see StartHostOptions.initialNetns). */
  initialNetns: z.boolean().optional(),
  /** initial-netns hosts: the machine's writable net.netfilter.* values recorded at `up`, written back at `down`. */
  savedSysctls: z.record(z.string(), z.string()).optional(),
});
export type HostInfo = z.infer<typeof HostInfoSchema>;
export type HostUser = keyof HostInfo['users'];

export const FillResultSchema = z.object({
  host: z.string(),
  mode: z.enum(['assured', 'unreplied', 'invalid']),
  requested: z.number(),
  countBefore: z.number(),
  countAfter: z.number(),
  invalidBefore: z.number(),
  invalidAfter: z.number(),
  dropBefore: z.number(),
  dropAfter: z.number(),
  ms: z.number(),
  generator: z.object({ mode: z.string(), flows: z.number(), packets: z.number(), seconds: z.number() }),
});
export type FillResult = z.infer<typeof FillResultSchema>;

export const FullResultSchema = z.object({
  host: z.string(),
  count: z.number(),
  max: z.number(),
  dropBefore: z.number(),
  drop: z.number(),
  earlyDrop: z.number(),
  dmesgLine: z.string(),
  ms: z.number(),
});
export type FullResult = z.infer<typeof FullResultSchema>;

export const SwapHostKeyResultSchema = z.object({
  host: z.string(),
  old: z.string(),
  new: z.string(),
  knownHostsLine: z.string(),
  previousKnownHosts: z.string(),
  sshdPid: z.number(),
});
export type SwapHostKeyResult = z.infer<typeof SwapHostKeyResultSchema>;

const BackendResultSchema = z.object({ host: z.string(), backend: z.enum(['legacy', 'nft']), iptablesV: z.string() });
export type BackendResult = z.infer<typeof BackendResultSchema>;
const MixResultSchema = z.object({ host: z.string(), legacyTables: z.string() });
export type MixResult = z.infer<typeof MixResultSchema>;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** Kill the command after this many ms (default 60 000). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export type FillOptions =
  | { assured: number; srcCount?: number; dstCount?: number; dominant?: string; dominantPct?: number; dport?: number; ipv6?: boolean }
  | { unreplied: number; src: string; proto?: 'tcp' | 'udp'; dstCount?: number; dport?: number; ipv6?: boolean }
  | { invalid: number; to?: 'local' | 'forward'; kind?: InvalidKind };
export type InvalidKind = 'mix' | 'synfin' | 'badsum' | 'oow';

export interface StartHostOptions {
  /** Fixed address index 1..254 (10.231.N.2); default: the lowest free one. */
  index?: number;
  /**
   * sshd on 127.0.0.1:<free port> in the machine's INITIAL network namespace (private mount and
   * UTS namespaces, the same overlays), where the global nf_conntrack_max / buckets are writable
   * over SSH. Only /proc/sys/net/netfilter is writable there; the machine's values are recorded
   * at up and restored when the last such host goes down (also on crash: reap, exit hook).
   * No traffic generator on such a host (fill/full/invalid/mix refuse).
   */
  initialNetns?: boolean;
  /** State dir of this host (default /tmp/ctd-hosts/NAME). */
  stateDir?: string;
  /** Host variants (netns hosts only): see HOST_VARIANTS and harness/host/README.md. */
  variants?: readonly HostVariant[];
  /**
   * Registers `stop()` here, e.g. node:test's `after` called at suite-definition time, or
   * `t.after.bind(t)` of a test context. Do not pass node:test's `after` from inside a
   * `before` hook: there it attaches to the hook and runs as soon as the hook ends.
   */
  after?: (fn: () => Promise<void>) => void;
}

/** Runs a program; resolves with its exit code and output (never rejects for a non-zero exit). */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: opts.timeoutMs ?? 60_000, env: opts.env ?? process.env },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          if (error.killed || error.signal) {
            resolve({ code: 128, stdout, stderr: `${stderr}\n[killed: ${error.signal ?? 'timeout'}]` });
          } else reject(new Error(`cannot run ${file}: ${error.message}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    // A program that exits without reading its stdin closes the pipe: EPIPE here is not an error
    // of the run (unhandled, it would crash the test process).
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

function ctdEnv(stateDir: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (stateDir !== undefined) env['CTD_STATE_DIR'] = stateDir;
  else delete env['CTD_STATE_DIR'];
  return env;
}

/** Throws (with the reason and the install hint) unless this process can run test hosts (of these variants). */
export function checkPrerequisites(variants: readonly HostVariant[] = []): void {
  if (process.platform !== 'linux') throw new Error(`test hosts need Linux (this is ${process.platform})`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('test hosts need root (network namespaces, AF_PACKET, sshd); run the tests as root');
  }
  if (!existsSync(CTD_HOST)) throw new Error(`${CTD_HOST} is missing`);
  const r = spawnSync(CTD_HOST, ['check', ...(variants.length > 0 ? ['--variant', variants.join(',')] : [])], { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${CTD_HOST}: ${r.error.message}; ${INSTALL_HINT}`);
  if (r.status !== 0) {
    throw new Error(`test host prerequisites missing: ${r.stdout.trim().split('\n').join(', ')}; ${INSTALL_HINT}`);
  }
}

// Every host started by this process, torn down synchronously if the process exits first.
const live = new Map<string, { stateDir: string | undefined }>();
let exitHookInstalled = false;

function teardownAllSync(): void {
  for (const [name, { stateDir }] of live) {
    spawnSync(CTD_HOST, ['down', name], { env: ctdEnv(stateDir), stdio: 'ignore', timeout: 30_000 });
  }
  live.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', teardownAllSync);
  // Under `node --test` the runner turns SIGINT/SIGTERM into process.exit() (so 'exit' runs);
  // a plain `node file` gets handlers of its own that clean up, then die of the same signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    const onSignal = (): void => {
      teardownAllSync();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

export class TestHost {
  private stopped = false;

  constructor(
    public info: HostInfo,
    private readonly stateDir: string | undefined,
  ) {}

  get name(): string {
    return this.info.name;
  }

  get address(): string {
    return this.info.address;
  }

  /** sshd in the machine's initial network namespace (127.0.0.1:port), not a netns of its own. */
  get initialNetns(): boolean {
    return this.info.initialNetns === true;
  }

  /** ctd-host SUBCOMMAND NAME ARGS… ; throws with stderr on a non-zero exit. */
  private async ctd(sub: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const r = await run(CTD_HOST, [sub, this.name, ...args], { timeoutMs, env: ctdEnv(this.stateDir) });
    if (r.code !== 0) throw new Error(`ctd-host ${sub} ${this.name} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  private async ctdJson<T>(schema: z.ZodType<T>, sub: string, args: readonly string[], timeoutMs?: number): Promise<T> {
    const out = await this.ctd(sub, args, timeoutMs);
    return schema.parse(JSON.parse(out.trim().split('\n').pop() ?? ''));
  }

  /** Runs argv inside the host (its net, mount and UTS namespaces), independently of SSH. */
  exec(argv: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
    return run(CTD_HOST, ['exec', this.name, ...argv], { ...opts, env: ctdEnv(this.stateDir) });
  }

  /** Like exec, but resolves with stdout and throws on a non-zero exit. */
  async execOk(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
    const r = await this.exec(argv, opts);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} on ${this.name} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /**
   * Runs argv in the host's network namespace with the machine's own files and programs: the
   * kernel's real state, whatever a variant hides from the host's sessions (`ctd-host netexec`).
   */
  netExec(argv: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
    return run(CTD_HOST, ['netexec', this.name, ...argv], { ...opts, env: ctdEnv(this.stateDir) });
  }

  /** Like netExec, but resolves with stdout and throws on a non-zero exit. */
  async netExecOk(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
    const r = await this.netExec(argv, opts);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} in the netns of ${this.name} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** The variants this host was started with. */
  get variants(): readonly HostVariant[] {
    return this.info.variants;
  }

  /** The private key of USER; throws when the host has no such user (guest: variant nopriv). */
  userKey(user: HostUser): string {
    const u = this.info.users[user];
    if (!u) throw new Error(`host ${this.name} has no user ${user} (guest comes with the variant nopriv)`);
    return u.key;
  }

  /** `conntrack -C` in the host's netns (the machine's conntrack: works whatever the variant hides). */
  async conntrackCount(): Promise<number> {
    return Number((await this.netExecOk(['conntrack', '-C'])).trim());
  }

  /** `conntrack -S` counters summed over CPUs, by name (in the host's netns, like conntrackCount). */
  async conntrackStats(): Promise<Record<string, number>> {
    const sums: Record<string, number> = {};
    for (const m of (await this.netExecOk(['conntrack', '-S'])).matchAll(/(\w+)=(\d+)/g)) {
      const [, key, value] = m;
      if (key === undefined || value === undefined || key === 'cpu') continue;
      sums[key] = (sums[key] ?? 0) + Number(value);
    }
    return sums;
  }

  /** Generates flows or INVALID packets in the host (see ctflood.c). */
  fill(opts: FillOptions): Promise<FillResult> {
    const a: string[] = [];
    const opt = (flag: string, v: string | number | undefined): void => {
      if (v !== undefined) a.push(flag, String(v));
    };
    if ('assured' in opts) {
      opt('--assured', opts.assured);
      opt('--src-count', opts.srcCount);
      opt('--dst-count', opts.dstCount);
      opt('--dominant', opts.dominant);
      opt('--dominant-pct', opts.dominantPct);
      opt('--dport', opts.dport);
      if (opts.ipv6 === true) a.push('--ipv6');
    } else if ('unreplied' in opts) {
      opt('--unreplied', opts.unreplied);
      opt('--src', opts.src);
      opt('--proto', opts.proto);
      opt('--dst-count', opts.dstCount);
      opt('--dport', opts.dport);
      if (opts.ipv6 === true) a.push('--ipv6');
    } else {
      opt('--invalid', opts.invalid);
      opt('--to', opts.to);
      opt('--kind', opts.kind);
    }
    return this.ctdJson(FillResultSchema, 'fill', a);
  }

  /** N INVALID packets; default destination the host itself (through its input chain). */
  invalid(n: number, opts: { to?: 'local' | 'forward'; kind?: InvalidKind } = {}): Promise<FillResult> {
    return this.fill({ invalid: n, ...opts });
  }

  /**
   * Fills the table to the global nf_conntrack_max, then `extra` more flows so `drop` rises and
   * the kernel logs "table full in netns …". New SSH logins to the host time out from then on:
   * open the connections you need (or an OpenSSH ControlMaster) before calling this.
   */
  full(opts: { extra?: number } = {}): Promise<FullResult> {
    return this.ctdJson(FullResultSchema, 'full', opts.extra === undefined ? [] : ['--extra', String(opts.extra)]);
  }

  /** Which iptables the host's SSH sessions get (update-alternatives in the host's private /etc). */
  backend(which: 'legacy' | 'nft'): Promise<BackendResult> {
    return this.ctdJson(BackendResultSchema, 'backend', [which]);
  }

  /** Legacy iptables table + chain (CTD_LEG, jumped to from INPUT) next to the nft ruleset. */
  mix(): Promise<MixResult> {
    return this.ctdJson(MixResultSchema, 'mix', []);
  }

  /** New ed25519 host key (sshd reloaded, same pid); `info` and STATE/known_hosts follow it. */
  async swapHostKey(): Promise<SwapHostKeyResult> {
    const r = await this.ctdJson(SwapHostKeyResultSchema, 'swap-hostkey', []);
    this.info = HostInfoSchema.parse(JSON.parse(await this.ctd('json', [])));
    return r;
  }

  /**
   * argv for the system ssh client as USER (key auth), verifying the host key against
   * STATE/known_hosts; `extraOptions` (e.g. ['-o', 'ControlPath=…']) take precedence.
   */
  sshArgs(user: HostUser, extraOptions: readonly string[] = []): string[] {
    // ssh keeps the first value it sees for an option: the caller's come first.
    return [
      ...extraOptions,
      '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${this.info.knownHostsPath}`,
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'ConnectTimeout=10',
      '-F', '/dev/null',
      '-i', this.userKey(user),
      '-p', String(this.info.port),
      `${user}@${this.info.address}`,
    ];
  }

  /** Runs a remote command with the system ssh client (key auth). */
  ssh(user: HostUser, command: string, opts: RunOptions & { sshOptions?: readonly string[] } = {}): Promise<ExecResult> {
    return run('ssh', [...this.sshArgs(user, opts.sshOptions), command], opts);
  }

  /** Tears the host down (idempotent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const r = await run(CTD_HOST, ['down', this.name], { env: ctdEnv(this.stateDir), timeoutMs: 60_000 });
    live.delete(this.name);
    if (r.code !== 0) throw new Error(`ctd-host down ${this.name} failed (${r.code}): ${r.stderr.trim()}`);
  }
}

/**
 * Starts host NAME (an existing one of that name is torn down first) and waits until its sshd
 * serves its host key. Hosts left behind by crashed runs of other processes are reaped first.
 */
export async function startHost(name: string, opts: StartHostOptions = {}): Promise<TestHost> {
  checkPrerequisites(opts.variants);
  installExitHook();
  await run(CTD_HOST, ['reap'], { timeoutMs: 120_000 });
  live.set(name, { stateDir: opts.stateDir });
  const args = ['up', name, '--owner', String(process.pid)];
  if (opts.index !== undefined) args.push('--index', String(opts.index));
  if (opts.initialNetns === true) args.push('--initial-netns');
  if (opts.variants !== undefined && opts.variants.length > 0) args.push('--variant', opts.variants.join(','));
  const r = await run(CTD_HOST, args, { env: ctdEnv(opts.stateDir), timeoutMs: 120_000 });
  if (r.code !== 0) {
    live.delete(name);
    throw new Error(`ctd-host up ${name} failed (${r.code}): ${r.stderr.trim()}\nIf a tool is missing: ${INSTALL_HINT}`);
  }
  const host = new TestHost(HostInfoSchema.parse(JSON.parse(r.stdout)), opts.stateDir);
  opts.after?.(() => host.stop());
  return host;
}

/**
 * Declares a host for the current suite (call it at top level or inside describe(), not in a
 * hook): started in `before`, stopped in `after`. Read `.host` inside tests and hooks.
 */
export function useHost(name: string, opts: Omit<StartHostOptions, 'after'> = {}): { readonly host: TestHost } {
  let host: TestHost | undefined;
  nodeTestBefore(async () => {
    host = await startHost(name, opts);
  });
  nodeTestAfter(async () => {
    await host?.stop();
  });
  return {
    get host(): TestHost {
      if (!host) throw new Error(`test host ${name} is not started (useHost's before hook has not run or failed)`);
      return host;
    },
  };
}
