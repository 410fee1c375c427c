/**
 * A host the product talks to: a runner (SSH or local) plus the round trips built on it —
 * one snapshot, the entry summary on the host, a page of entries, counting the entries a
 * filter selects. Used by the CLI and the extension; no vscode here. Failures are IoErrors
 * (errors.ts): `command-error` when a command ran and failed, with its own words.
 */
import { randomBytes } from 'node:crypto';
import { buildSnapshot, collectionScript, parseCollectionOutput, withFrequentFields, type CollectionPart } from '../core/host/collect';
import { nextAutomaticRunAt, parseHostCpuMs, withoutHostCpu, type HostCpuCost } from '../core/host/cpuBudget';
import { entryPageArgs, entryPageScript, entrySummaryArgs, entrySummaryScript, parseEntryPageOutput, parseEntrySourceError, parseEntrySummaryOutput, summaryProgressLine, type EntryPage, type EntrySource } from '../core/host/entryScripts';
import { rootRemedy, type Unavailable } from '../core/host/unavailable';
import { conntrackInstallAdvice } from '../core/host/osRelease';
import type { HostSnapshot } from '../core/host/snapshot';
import type { EntrySummary } from '../core/kernel/entrySummary';
import { countArgv, parseSshConnection, type EntryFilter, type OwnConnection } from '../core/fix/entriesFixes';
import { renderCommand } from '../core/fix/quote';
import { IoError, isIoError } from './errors';
import { ConnectionPool, type ConnectionPoolOptions, type SshLogEvent } from './ssh/connection';
import { LocalRunner } from './localRunner';
import { SshRunner } from './sshRunner';
import type { CommandLogEntry, CommandRunner, RunOptions, RunResult } from './runner';
import type { Privilege } from './sudo';
import type { Prompter } from './ssh/auth';
import type { ResolveOptions } from './ssh/config';
import type { HostKeyPolicy } from './ssh/connection';
import { errorMessage, formatDuration } from '../core/format';

export interface OpenHostOptions {
  /** `local` (this machine, no SSH), an ssh config alias, or user@host[:port]. */
  readonly target: string;
  readonly resolve?: ResolveOptions;
  readonly hostKeys?: HostKeyPolicy;
  readonly prompt?: Prompter;
  /** every command run on the host */
  readonly log?: (entry: CommandLogEntry) => void;
  /** the SSH connection's events: connect, host-key decision, auth tries, reconnects, ssh config warnings */
  readonly events?: (event: SshLogEvent) => void;
  readonly pool?: ConnectionPool;
  readonly connection?: Omit<ConnectionPoolOptions, 'resolve' | 'hostKeys' | 'prompt' | 'log'>;
}

export const LOCAL_TARGET = 'local';

/** How long the entry summary of a snapshot may take (BusyBox awk at 250k entries: 13 s on a loaded 2-core machine). */
const SUMMARY_TIMEOUT_MS = 120_000;

/** How long counting the entries of a filter may take (conntrack -L of a full table). */
const COUNT_TIMEOUT_MS = 300_000;

/** sudo could not be used without a password that was not given, or was refused: reads then run unprivileged. */
function rootRefused(err: unknown): err is IoError {
  return isIoError(err, 'sudo-password-required') || isIoError(err, 'privilege-unavailable') || isIoError(err, 'sudo-refused');
}

export interface SummaryOptions {
  readonly topN?: number;
  readonly filter?: EntryFilter;
  /** read only the first K entries listed (a sample: sampling.ts) */
  readonly sample?: number;
  /** force the entries' source (default: /proc/net/nf_conntrack when readable, else conntrack) */
  readonly source?: EntrySource;
  /** run at nice 19 and idle I/O class (the exact count on demand) */
  readonly lowPriority?: boolean;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /**
   * Called while the pass runs (the output is then streamed): the lines read so far, every
   * 65,536, and the table's count when the pass began (what a progress bar divides by).
   */
  readonly onProgress?: (read: number, tableCount: number | undefined) => void;
}

export class HostSession {
  /** Why root could not be used for reading (then every read runs unprivileged until retryAsRoot). */
  private rootRefusal: string | undefined;

  constructor(
    readonly name: string,
    readonly runner: CommandRunner,
    private readonly pool: ConnectionPool | undefined,
    private readonly ownsPool: boolean,
  ) {}

  /** root, passwordless sudo, sudo with a password, or none (the runner detects it once). */
  privileges(): Promise<Privilege> {
    return this.runner.privilege();
  }

  /**
   * Why reads run without root although the account may use sudo (no password given, not in
   * sudoers, password refused); undefined when they run as root or the account has no sudo.
   */
  get limitedBy(): string | undefined {
    return this.rootRefusal;
  }

  /** The next read tries root again (after the user gave a sudo password). */
  retryAsRoot(): void {
    this.rootRefusal = undefined;
  }

  /**
   * A read: as root when the account can become root, else unprivileged. A person with this
   * account could still read count, max, timeouts and files by hand, so a refused sudo never
   * fails a read: it runs again without root and the snapshot says what that costs.
   */
  private async runRead(argv: readonly string[], opts: Omit<RunOptions, 'privileged'>): Promise<{ result: RunResult; privileged: boolean }> {
    const privileged = this.rootRefusal === undefined && (await this.privileges()) !== 'none';
    try {
      return { result: await this.runner.run(argv, { ...opts, privileged }), privileged };
    } catch (err) {
      if (!privileged || !rootRefused(err)) throw err;
      this.rootRefusal = err.message;
      return { result: await this.runner.run(argv, { ...opts, privileged: false }), privileged: false };
    }
  }

  /**
   * runRead with stdout streamed: `onLine` sees every complete line as it arrives (the whole
   * output is still returned; summaries are a few hundred bytes plus their progress lines).
   */
  private async streamRead(argv: readonly string[], opts: Omit<RunOptions, 'privileged'>, onLine: (line: string) => void): Promise<{ result: RunResult; privileged: boolean }> {
    const once = async (privileged: boolean): Promise<RunResult> => {
      const s = this.runner.stream(argv, { ...opts, privileged });
      s.result.catch(() => undefined); // awaited below; an early end rejects the iteration too
      let stdout = '';
      let pending = '';
      for await (const chunk of s) {
        stdout += chunk;
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      }
      const r = await s.result;
      return { stdout, stderr: r.stderr, exitCode: r.exitCode, durationMs: r.durationMs, ...(r.signal !== undefined ? { signal: r.signal } : {}) };
    };
    const privileged = this.rootRefusal === undefined && (await this.privileges()) !== 'none';
    try {
      return { result: await once(privileged), privileged };
    } catch (err) {
      if (!privileged || !rootRefused(err)) throw err;
      this.rootRefusal = err.message;
      return { result: await once(false), privileged: false };
    }
  }

  /** What an unprivileged read misses, and how to get it. */
  private async rootUnavailable(): Promise<Unavailable> {
    const who = this.runner.description;
    const account = who.includes('@') ? who.slice(0, who.indexOf('@')) : 'this account';
    const sudo = (await this.privileges()) === 'sudo-password';
    const why = this.rootRefusal !== undefined ? `${who} is not root and sudo was not used (${this.rootRefusal})` : `${who} is not root and cannot use sudo (or doas without a password)`;
    return {
      code: 'needs-root',
      what: 'root',
      why: `${why}: counters, slab size, firewall rules, the entries and the kernel log are limited to what an unprivileged user may read`,
      remedy: sudo ? rootRemedy(account) : `connect as root or as an account with sudo rights, or a doas nopass rule (${account} has neither)`,
    };
  }

  /**
   * One round trip: everything the diagnosis needs (privileged when possible), then the entry
   * summary unless `entries: false` (of the first `sample` entries listed: sampling.ts; every
   * entry without it). `part: 'frequent'` reads only what changes every few seconds
   * and the fingerprint of the rest (merge it with collect.ts withFrequentFields); it never
   * lists the table.
   */
  async snapshot(opts: { signal?: AbortSignal; timeoutMs?: number; entries?: boolean; topN?: number; part?: CollectionPart; sample?: number; summaryTimeoutMs?: number } = {}): Promise<HostSnapshot> {
    const nonce = randomBytes(12).toString('hex');
    const part = opts.part ?? 'all';
    const started = Date.now();
    const { result: r, privileged } = await this.runRead(['sh', '-s', '--', nonce, part], {
      stdin: collectionScript(),
      timeoutMs: opts.timeoutMs ?? 60_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (r.exitCode !== 0 && !r.stdout.includes(`@@${nonce} begin`)) {
      throw new IoError('command-error', `collection failed on ${this.name} (exit ${r.exitCode}): ${withoutHostCpu(r.stderr).trim().slice(0, 500)}`, { target: this.runner.description, phase: 'exec' });
    }
    let snap = buildSnapshot(parseCollectionOutput(r.stdout, nonce), { takenAt: Date.now(), host: this.name });
    // a shell without `times`: its wall time stands in (an upper bound for one busy process)
    let hostCpuMs = parseHostCpuMs(r.stderr) ?? Date.now() - started;
    let unavailable = snap.unavailable ?? [];
    if (!privileged) {
      const root = await this.rootUnavailable();
      unavailable = [root, ...unavailable.map((u) => (u.code === 'needs-root' && u.remedy === undefined ? { ...u, remedy: root.remedy } : u))];
    }
    // No nf_conntrack, no entries: CONNTRACK_INACTIVE already says so.
    if (opts.entries !== false && part === 'all' && snap.conntrackModule !== 'absent') {
      try {
        const summaryTimeoutMs = opts.summaryTimeoutMs ?? SUMMARY_TIMEOUT_MS;
        const summary = await this.summaryOrWhy({ topN: opts.topN ?? 10, timeoutMs: summaryTimeoutMs, ...(opts.sample !== undefined ? { sample: opts.sample } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }, (ms) => (hostCpuMs += ms));
        if ('entries' in summary) snap = { ...snap, entrySummary: summary };
        else unavailable = [...unavailable, summary.code === 'program-missing' && summary.remedy === undefined ? { ...summary, remedy: conntrackInstallAdvice(snap.osRelease) } : summary];
      } catch (err) {
        if (isIoError(err, 'command-timeout')) hostCpuMs += opts.summaryTimeoutMs ?? SUMMARY_TIMEOUT_MS; // it ran that long, then was stopped
        // A summary that outlives its time is stopped (the host is in trouble: its cost stays
        // bounded) and the diagnosis says so, with the rest of the snapshot intact.
        unavailable = [...unavailable, isIoError(err, 'command-timeout')
          ? { code: 'cut-off', what: 'entry summary', why: `stopped after ${formatDuration((opts.summaryTimeoutMs ?? SUMMARY_TIMEOUT_MS) / 1000)} without a result (the table is too large for this host's awk in that time): no top talkers in this snapshot` }
          : { code: 'failed', what: 'entry summary', why: errorMessage(err) }];
      }
    }
    if (part === 'all') {
      this.lastFullReadCost = { hostCpuMs, endedAt: Date.now() };
      // whatever a periodic refresh had put off has just been read
      this.fullReadDeferredUntil = undefined;
    }
    return { ...snap, unavailable };
  }

  /**
   * The host CPU of the last full read (collection and entry summary, measured on the host) and
   * when it ended: the budget's measure (core/host/cpuBudget.ts).
   */
  lastFullReadCost: HostCpuCost | undefined;
  /** Set while a periodic refresh saw the files change but the budget postponed reading them again. */
  fullReadDeferredUntil: number | undefined;

  /**
   * The periodic refresh (the extension's timer and `watch`): the frequent fields merged into
   * `previous`; everything again (with the sample) only when the files' fingerprint changed.
   */
  async periodicSnapshot(previous: HostSnapshot, opts: { signal?: AbortSignal; sample?: number; hostCpuBudgetPercent?: number } = {}): Promise<HostSnapshot> {
    const signal = opts.signal ? { signal: opts.signal } : {};
    const frequent = await this.snapshot({ ...signal, part: 'frequent' });
    if (frequent.fingerprint !== undefined && frequent.fingerprint === previous.fingerprint) {
      // unchanged since the last full read (a change put off may have been undone): nothing is owed
      this.fullReadDeferredUntil = undefined;
      return withFrequentFields(previous, frequent);
    }
    // The files changed (or this host gives no fingerprint): read everything again, unless the
    // budget says the last full read was too recent for its cost. Then keep the old fingerprint,
    // so a later refresh still sees the change.
    const nextAt = opts.hostCpuBudgetPercent === undefined ? 0 : nextAutomaticRunAt(this.lastFullReadCost, opts.hostCpuBudgetPercent);
    if (Date.now() < nextAt) {
      this.fullReadDeferredUntil = nextAt;
      const kept = withFrequentFields(previous, frequent);
      return previous.fingerprint === undefined ? kept : { ...kept, fingerprint: previous.fingerprint };
    }
    this.fullReadDeferredUntil = undefined;
    return this.snapshot({ ...signal, ...(opts.sample !== undefined ? { sample: opts.sample } : {}) });
  }

  /**
   * Top talkers etc., computed on the host in one streaming pass (awk); with `sample: K`, over
   * the first K entries only (the dump stops there: its cost does not grow with the table).
   */
  async entrySummary(opts: SummaryOptions = {}): Promise<EntrySummary> {
    const summary = await this.summaryOrWhy(opts);
    if ('entries' in summary) return summary;
    throw new IoError('command-error', summary.why, { target: this.runner.description, phase: 'exec' });
  }

  /** The summary, or why there is none (the source's `@@error`, which the pipeline's exit 0 hides). */
  private async summaryOrWhy(opts: SummaryOptions, cost?: (hostCpuMs: number) => void): Promise<EntrySummary | Unavailable> {
    const started = Date.now();
    const argv = ['sh', '-s', '--', ...entrySummaryArgs(opts.topN ?? 10, opts.filter ?? {}, opts.sample, { ...(opts.source ? { source: opts.source } : {}), ...(opts.lowPriority ? { lowPriority: true } : {}), ...(opts.onProgress ? { progress: true } : {}) })];
    const runOpts = { stdin: entrySummaryScript(), timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.signal ? { signal: opts.signal } : {}) };
    const onProgress = opts.onProgress;
    let tableCount: number | undefined;
    const { result: r, privileged } = onProgress
      ? await this.streamRead(argv, runOpts, (line) => {
          const p = summaryProgressLine(line);
          if (p && 'tableCount' in p) tableCount = p.tableCount;
          else if (p) onProgress(p.read, tableCount);
        })
      : await this.runRead(argv, runOpts);
    cost?.(parseHostCpuMs(r.stderr) ?? Date.now() - started);
    const error = parseEntrySourceError(r.stderr);
    if (error) return { code: error.code, what: 'entry summary', why: error.why, ...(error.code === 'needs-root' && !privileged ? { remedy: (await this.rootUnavailable()).remedy ?? '' } : {}) };
    if (r.exitCode !== 0) return { code: 'failed', what: 'entry summary', why: withoutHostCpu(r.stderr).trim() || `entry summary failed (exit ${r.exitCode})` };
    return parseEntrySummaryOutput(r.stdout, opts.sample);
  }

  /** A page of entries (filtered on the host), and how many entries matched in all. */
  async entryPage(offset: number, limit: number, opts: { filter?: EntryFilter; signal?: AbortSignal } = {}): Promise<EntryPage> {
    const { result: r } = await this.runRead(['sh', '-s', '--', ...entryPageArgs(offset, limit, opts.filter ?? {})], {
      stdin: entryPageScript(),
      timeoutMs: 120_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const page = parseEntryPageOutput(r.stdout, r.stderr, r.exitCode);
    if (!page.ok) throw new IoError('command-error', page.code ? `listing the entries is not available on ${this.name}: ${page.why} [${page.code}]` : `listing the entries failed on ${this.name} (${page.why})`, { target: this.runner.description, phase: 'exec' });
    return page.page;
  }

  /** How many entries the filter selects now (what a delete with it would remove); needs root. */
  async countEntries(filter: EntryFilter, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const argv = countArgv(filter);
    const r = await this.runner.run(argv, { privileged: true, timeoutMs: COUNT_TIMEOUT_MS, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (r.exitCode !== 0) {
      throw new IoError('command-error', `counting the matching entries failed (${renderCommand(argv)}, exit ${r.exitCode}): ${r.stderr.trim()}`, { target: this.runner.description, phase: 'exec' });
    }
    const n = r.stdout.trim();
    if (!/^[0-9]+$/.test(n)) throw new IoError('command-error', `counting the matching entries printed ${JSON.stringify(n.slice(0, 200))}, not a number`, { target: this.runner.description, phase: 'exec' });
    return Number(n);
  }

  /**
   * The SSH connection this session's commands travel on, as the host sees it
   * ($SSH_CONNECTION, read unprivileged: sudo's env_reset drops it); undefined for `local`.
   * Read right before a delete or flush, so a reconnect in between is followed.
   */
  async ownConnection(opts: { signal?: AbortSignal } = {}): Promise<OwnConnection | undefined> {
    if (this.runner instanceof LocalRunner) return undefined;
    const r = await this.runner.run(['printenv', 'SSH_CONNECTION'], { timeoutMs: 30_000, ...(opts.signal ? { signal: opts.signal } : {}) });
    return r.exitCode === 0 ? parseSshConnection(r.stdout) : undefined;
  }

  async close(): Promise<void> {
    // a cancelled command's kill travels on this connection: let it arrive first
    await this.runner.killsSettled?.();
    if (this.ownsPool) await this.pool?.closeAll();
  }
}

/** Opens a host: `local` runs on this machine through execa; anything else over SSH. */
export async function openHost(o: OpenHostOptions): Promise<HostSession> {
  const runnerOptions = { ...(o.log ? { log: o.log } : {}), ...(o.prompt ? { prompt: o.prompt } : {}) };
  if (o.target === LOCAL_TARGET) return new HostSession('local', new LocalRunner(runnerOptions), undefined, false);
  const pool = o.pool ?? new ConnectionPool({
    ...(o.connection ?? {}),
    ...(o.resolve ? { resolve: o.resolve } : {}),
    ...(o.hostKeys ? { hostKeys: o.hostKeys } : {}),
    ...(o.prompt ? { prompt: o.prompt } : {}),
    ...(o.events ? { log: o.events } : {}),
  });
  try {
    const conn = await pool.get(o.target);
    return new HostSession(o.target, new SshRunner(conn, runnerOptions), pool, o.pool === undefined);
  } catch (err) {
    if (o.pool === undefined) await pool.closeAll();
    throw err;
  }
}
