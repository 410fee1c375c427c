/**
 * Hosts the extension knows (ssh config + added in settings) and their connection state, last
 * snapshots and diagnosis. One HostSession (one SSH connection) per host, reused; one snapshot
 * per refresh. Prompts (passwords, passphrases, host keys) go through VS Code's UI; sudo
 * passwords can be remembered in SecretStorage only.
 *
 * Two lifetimes: the HostManager lives as long as the extension (closeAll() at deactivation);
 * a connection lives from connect() to disconnect(): what belongs to it elsewhere (the entry
 * listings) is dropped on onDidDisconnect.
 */
import * as vscode from 'vscode';
import { openHost, type HostSession } from '../io/host';
import { listConfiguredHosts } from '../io/ssh/config';
import { IoError, isIoError } from '../io/errors';
import { describeCommand } from '../io/runner';
import { describeSshEvent } from '../io/ssh/connection';
import type { PromptRequest } from '../io/ssh/auth';
import type { HostKeyQuestion, HostKeyAnswer } from '../io/ssh/knownHosts';
import { diagnose } from '../core/host/diagnose';
import { withFrequentFields } from '../core/host/collect';
import { summaryProgress } from '../core/host/entryScripts';
import type { Diagnosis } from '../core/host/diagnosis';
import type { HostSnapshot } from '../core/host/snapshot';
import type { Unavailable } from '../core/host/unavailable';
import type { DeferredRead } from '../core/host/cpuBudget';
import { usageSample, type UsageSample } from './chartHtml';
import { hostKeyCheckingSetByUser, readSettings } from './settings';
import { log } from './log';
import { errorMessage, safeForTerminal } from '../core/format';
import type { CommandLogEntry } from '../io/runner';
import { setTimeout as sleep } from 'node:timers/promises';

export type ConnectionStatus = 'disconnected' | 'connecting' | 'connected' | 'error';

export class HostEntry {
  status: ConnectionStatus = 'disconnected';
  error: string | undefined;
  session: HostSession | undefined;
  snapshot: HostSnapshot | undefined;
  previous: HostSnapshot | undefined;
  diagnosis: Diagnosis | undefined;
  /** The files changed but the host CPU budget put off reading them again (shown on the host's row until the re-read). */
  deferredRead: DeferredRead | undefined;
  /** The polling history (the usage chart), oldest first. */
  readonly history: UsageSample[] = [];
  constructor(
    readonly id: string,
    readonly label: string,
    readonly target: string,
    readonly origin: 'ssh-config' | 'settings' | 'added',
  ) {}
}

/**
 * Why a connected host's root-only parts (entries, netlink counters, rules, kernel log) were not
 * read — its account is not root and sudo was not used — or undefined when they were.
 */
export function rootLimit(h: HostEntry): Unavailable | undefined {
  return h.snapshot?.unavailable?.find((u) => u.what === 'root' && u.code === 'needs-root');
}

const SUDO_SECRET = (target: string): string => `conntrack-doctor.sudo.${target}`;
const MAX_HISTORY = 360;
/**
 * On connect, the second sample comes this long after the first, so the first picture has
 * rates (INVALID/s, drops/s) instead of totals since boot; the CLI's diagnose waits 2 s too.
 */
export const RATE_SAMPLE_MS = 2_000;
/** A full count of a 1M-entry table at nice 19 on a busy host may take minutes. */
const FULL_COUNT_TIMEOUT_MS = 600_000;

/** A command that ran on a host (the log channel's lines; the tests watch them). */
export interface HostCommandEvent {
  readonly host: HostEntry;
  readonly command: CommandLogEntry;
  /** Date.now() when it ended; it started durationMs before. */
  readonly endedAt: number;
}

/** The one refresh in flight for a host, and who waits for it. */
interface InFlight {
  readonly done: Promise<Diagnosis | undefined>;
  readonly abort: AbortController;
  readonly periodic: boolean;
  /** callers with a cancellation token that have not cancelled (the periodic refresh has none) */
  watching: number;
}

export class HostManager implements vscode.Disposable {
  private readonly hosts = new Map<string, HostEntry>();
  private readonly changed = new vscode.EventEmitter<HostEntry | undefined>();
  private readonly disconnected = new vscode.EventEmitter<HostEntry>();
  private readonly refreshed = new vscode.EventEmitter<HostEntry>();
  private readonly commandRan = new vscode.EventEmitter<HostCommandEvent>();
  private readonly inFlight = new Map<HostEntry, InFlight>();
  readonly onDidChange = this.changed.event;
  /** A refresh of the host ended (with a new snapshot or an error): the periodic refresh counts its interval from here. */
  readonly onDidRefresh = this.refreshed.event;
  readonly onDidRunCommand = this.commandRan.event;
  /** A host's connection ended (disconnect, or the extension going away): drop what belonged to it. */
  readonly onDidDisconnect = this.disconnected.event;

  constructor(private readonly secrets: vscode.SecretStorage) {}

  /** Closes every connection; resolves when they are closed (deactivate() waits for it). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => this.endConnection(h)));
  }

  dispose(): void {
    this.closeAll().catch((err: unknown) => log.error('closing the connections', err));
    this.changed.dispose();
    this.disconnected.dispose();
    this.refreshed.dispose();
    this.commandRan.dispose();
  }

  list(): HostEntry[] {
    return [...this.hosts.values()].sort((a, b) => a.label.localeCompare(b.label));
  }

  get(id: string): HostEntry | undefined {
    return this.hosts.get(id);
  }

  /** Re-reads hosts from the ssh config and the user's settings, keeping connected ones. */
  async reload(): Promise<void> {
    const settings = readSettings();
    const found = new Map<string, HostEntry>();
    try {
      const configured = await listConfiguredHosts(settings.sshConfigFile ? { configFile: settings.sshConfigFile } : {});
      for (const c of configured) found.set(c.alias, this.hosts.get(c.alias) ?? new HostEntry(c.alias, c.alias, c.alias, 'ssh-config'));
    } catch (err) {
      log.warn(`cannot read the ssh config: ${errorMessage(err)}`);
    }
    for (const h of settings.hosts) found.set(h.target, this.hosts.get(h.target) ?? new HostEntry(h.target, h.name, h.target, 'settings'));
    for (const [id, h] of this.hosts) if (h.origin === 'added' || h.session) found.set(id, h);
    this.hosts.clear();
    for (const [id, h] of found) this.hosts.set(id, h);
    this.changed.fire(undefined);
  }

  /** Adds a host for this session (and to the user's settings when asked). */
  async add(name: string, target: string, persist: boolean): Promise<HostEntry> {
    const entry = this.hosts.get(target) ?? new HostEntry(target, name, target, persist ? 'settings' : 'added');
    this.hosts.set(target, entry);
    if (persist) {
      const cfg = vscode.workspace.getConfiguration('conntrackDoctor');
      const current = (cfg.inspect<{ name: string; target: string }[]>('hosts')?.globalValue ?? []).filter((h) => h.target !== target);
      await cfg.update('hosts', [...current, { name, target }], vscode.ConfigurationTarget.Global);
    }
    this.changed.fire(undefined);
    return entry;
  }

  /**
   * Opens the host's session once: a connect asked for while one is under way (the periodic
   * timer's refresh and the Connect command at the same moment) waits for it instead of opening a
   * second session, which would replace the first in the entry and leave it open, its reads (and
   * their measured cost: the CPU budget's measure) on a session nobody uses again.
   */
  connect(entry: HostEntry, token?: vscode.CancellationToken): Promise<void> {
    if (entry.session) return Promise.resolve();
    const under = this.connecting.get(entry);
    if (under) return under;
    const opening = this.openSession(entry, token).finally(() => this.connecting.delete(entry));
    this.connecting.set(entry, opening);
    return opening;
  }

  private readonly connecting = new Map<HostEntry, Promise<void>>();

  private async openSession(entry: HostEntry, token?: vscode.CancellationToken): Promise<void> {
    entry.status = 'connecting';
    entry.error = undefined;
    this.changed.fire(entry);
    const settings = readSettings();
    const mode = hostKeyCheckingSetByUser();
    try {
      entry.session = await openHost({
        target: entry.target,
        ...(settings.sshConfigFile ? { resolve: { configFile: settings.sshConfigFile } } : {}),
        // a mode only when the user chose one (a host's StrictHostKeyChecking yes wins over the
        // setting's default); keys accepted with accept-new or "Trust and Save" go to the
        // host's first UserKnownHostsFile, hashed when its HashKnownHosts says so (like OpenSSH)
        hostKeys: { ...(mode === undefined ? {} : { mode }), allowWrite: true, ask: (q) => this.askHostKey(q) },
        prompt: (req) => this.prompt(entry, req, token),
        log: (e) => {
          log.info(describeCommand(e));
          this.commandRan.fire({ host: entry, command: e, endedAt: Date.now() });
        },
        events: (e) => (e.type === 'warning' ? log.warn : log.info)(describeSshEvent(e)),
      });
      // Rates come from two samples of this connection, never from one taken before it.
      entry.snapshot = undefined;
      entry.previous = undefined;
      entry.status = 'connected';
    } catch (err) {
      entry.status = 'error';
      entry.error = errorMessage(err);
      log.error(`connecting to ${entry.target}`, err);
      throw err;
    } finally {
      this.changed.fire(entry);
    }
  }

  async disconnect(entry: HostEntry): Promise<void> {
    const ended = this.endConnection(entry);
    entry.status = 'disconnected';
    this.changed.fire(entry);
    await ended;
  }

  /** The end of a connection's lifetime: its session closed, and whoever kept something for it told. */
  private async endConnection(entry: HostEntry): Promise<void> {
    const s = entry.session;
    if (!s) return;
    entry.session = undefined;
    entry.deferredRead = undefined;
    this.disconnected.fire(entry);
    try {
      await s.close();
    } catch (err) {
      log.error(`closing the connection to ${entry.target}`, err);
    }
  }

  /**
   * A new snapshot and diagnosis; the previous snapshot gives rates. One refresh per host at a
   * time: a request while one runs joins it (two collection scripts at once would double the
   * cost on a host already short of resources); a full one asked for during a periodic one runs
   * after it. Cancelling stops the shared refresh only when no other caller with a token is
   * still waiting for it.
   *
   * `periodic`: the timer's refresh reads only what changes every few seconds (collect.ts
   * `frequent`), and everything again only when the fingerprint of the files says they changed.
   */
  refresh(entry: HostEntry, token?: vscode.CancellationToken, opts: { periodic?: boolean } = {}): Promise<Diagnosis | undefined> {
    const periodic = opts.periodic === true;
    let run = this.inFlight.get(entry);
    if (run && run.periodic && !periodic) {
      const after = run.done.catch(() => undefined);
      return after.then(() => this.refresh(entry, token, opts));
    }
    if (!run) {
      const abort = new AbortController();
      const done = this.takeSnapshot(entry, abort.signal, periodic, token).finally(() => {
        this.inFlight.delete(entry);
        this.refreshed.fire(entry);
      });
      run = { done, abort, periodic, watching: 0 };
      this.inFlight.set(entry, run);
    }
    if (token) {
      const joined = run;
      joined.watching++;
      const sub = token.onCancellationRequested(() => {
        sub.dispose();
        if (--joined.watching === 0) joined.abort.abort();
      });
      const release = (): void => {
        sub.dispose();
      };
      joined.done.then(release, release);
    }
    return run.done;
  }

  private async takeSnapshot(entry: HostEntry, signal: AbortSignal, periodic: boolean, token?: vscode.CancellationToken): Promise<Diagnosis | undefined> {
    if (!entry.session) await this.connect(entry, token);
    const session = entry.session;
    if (!session) return undefined;
    // Who fills the table from the first K entries listed: the pass costs the same at any size.
    const sample = (): { sample?: number } => {
      const k = readSettings().entrySampleSize;
      return k > 0 ? { sample: k } : {};
    };
    try {
      let previous = entry.snapshot;
      let snap: HostSnapshot;
      // What runs by itself stays within the host CPU budget (the user's Refresh is not periodic).
      if (periodic && previous) {
        const budget = readSettings().hostCpuBudgetPercent;
        snap = await session.periodicSnapshot(previous, { signal, ...sample(), hostCpuBudgetPercent: budget });
        const until = session.fullReadDeferredUntil;
        entry.deferredRead = until === undefined ? undefined : { until, budgetPercent: budget, ...(session.lastFullReadCost ? { lastCostMs: session.lastFullReadCost.hostCpuMs } : {}) };
        if (until !== undefined) log.info(`${entry.label}: the files changed; reading them again from ${new Date(until).toLocaleTimeString()} on (host CPU budget ${budget} %)`);
      } else {
        snap = await session.snapshot({ signal, ...sample() });
        entry.deferredRead = undefined; // everything was read
      }
      if (!previous) {
        // A first sample only has totals since boot: take the second one a moment later (the
        // frequent part; the rest of the first, its entry summary among them, is kept).
        await sleep(Math.max(0, snap.takenAt + RATE_SAMPLE_MS - Date.now()), undefined, { signal }).catch((err: unknown) => {
          throw new IoError('command-aborted', `reading ${entry.label} was cancelled`, {}, { cause: err });
        });
        previous = snap;
        snap = withFrequentFields(previous, await session.snapshot({ signal, part: 'frequent' }));
      }
      entry.previous = previous;
      entry.snapshot = snap;
      entry.diagnosis = this.diagnosisOf(entry, snap);
      entry.history.push(usageSample(snap, entry.diagnosis.rates?.perSecond));
      if (entry.history.length > MAX_HISTORY) entry.history.shift();
      entry.status = 'connected';
      entry.error = undefined;
      return entry.diagnosis;
    } catch (err) {
      if (isIoError(err) && (err.kind === 'connection-lost' || err.kind === 'timeout')) entry.status = 'error';
      entry.error = errorMessage(err);
      throw err;
    } finally {
      this.changed.fire(entry);
    }
  }

  private diagnosisOf(entry: HostEntry, snap: HostSnapshot): Diagnosis {
    const settings = readSettings();
    const peak = Math.max(0, ...entry.history.map((h) => h.count ?? 0), snap.count ?? 0);
    return diagnose(snap, {
      previous: entry.previous,
      observedPeak: peak,
      thresholds: { warnPercent: settings.warnPercent, highPercent: settings.highPercent, criticalPercent: settings.criticalPercent, memoryBudgetPercent: settings.memoryBudgetPercent },
    });
  }

  /**
   * Full Count: every entry read (nice 19, idle I/O class on the host), replacing the sample
   * until the next full refresh. Cancelling the token kills the host command and its pipeline.
   */
  async fullCount(entry: HostEntry, token?: vscode.CancellationToken, progress?: vscode.Progress<{ message?: string; increment?: number }>): Promise<Diagnosis | undefined> {
    const session = entry.session;
    const snap = entry.snapshot;
    if (!session || !snap) return undefined;
    const abort = new AbortController();
    const sub = token?.onCancellationRequested(() => abort.abort());
    let shown = 0; // percent reported so far (VS Code adds up increments)
    const onProgress = (read: number, tableCount: number | undefined): void => {
      const p = summaryProgress(read, tableCount);
      const increment = p.percent !== undefined && p.percent > shown ? p.percent - shown : undefined;
      if (increment !== undefined) shown += increment;
      progress?.report({ message: p.message, ...(increment !== undefined ? { increment } : {}) });
    };
    try {
      const summary = await session.entrySummary({ lowPriority: true, signal: abort.signal, timeoutMs: FULL_COUNT_TIMEOUT_MS, ...(progress ? { onProgress } : {}) });
      // the newest snapshot, which a periodic refresh may have replaced meanwhile
      const now = entry.snapshot ?? snap;
      entry.snapshot = { ...now, entrySummary: summary, unavailable: (now.unavailable ?? []).filter((u) => u.what !== 'entry summary') };
      entry.diagnosis = this.diagnosisOf(entry, entry.snapshot);
      this.changed.fire(entry);
      return entry.diagnosis;
    } finally {
      sub?.dispose();
    }
  }

  /** A file on the host changed through the editor: take a new snapshot in the background. */
  markStale(entry: HostEntry): void {
    void this.refresh(entry).catch((err: unknown) => log.error(`refreshing ${entry.label}`, err));
  }

  /**
   * The sudo password of a limited host (reads ran without root because none was given): kept
   * in SecretStorage only, where the sudo prompt finds it, and everything read again as root.
   * False when sudo still refused (the stored password is then dropped).
   */
  async provideSudoPassword(entry: HostEntry, password: string, token?: vscode.CancellationToken): Promise<boolean> {
    await this.secrets.store(SUDO_SECRET(entry.target), password);
    entry.session?.retryAsRoot();
    await this.refresh(entry, token);
    if (rootLimit(entry) === undefined) return true;
    await this.secrets.delete(SUDO_SECRET(entry.target));
    return false;
  }

  async forgetSecrets(entry: HostEntry): Promise<void> {
    await this.secrets.delete(SUDO_SECRET(entry.target));
  }

  private async askHostKey(q: HostKeyQuestion): Promise<HostKeyAnswer> {
    const trust = 'This Session Only';
    const save = q.saveTo ? 'Trust and Save' : undefined;
    const answer = await vscode.window.showWarningMessage(
      `The authenticity of host ${q.name} can't be established.`,
      {
        modal: true,
        detail:
          `${q.keyType} key fingerprint is ${q.fingerprint}.\nCompare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_${q.keyType.replace(/^ssh-/, '')}_key.pub) before trusting it.` +
          (q.saveTo ? `\n"Trust and Save" adds it to ${q.saveTo}.` : ''),
      },
      ...(save ? [save, trust] : [trust]),
    );
    return answer === trust ? 'accept-once' : answer !== undefined && answer === save ? 'accept-and-save' : 'reject';
  }

  /** Passwords and passphrases for `entry`'s connection; its sudo password is kept under the entry's target (what forgetSecrets and provideSudoPassword use). */
  private async prompt(entry: HostEntry, req: PromptRequest, token?: vscode.CancellationToken): Promise<string | undefined> {
    if (req.kind === 'sudo-password') {
      const stored = req.attempt === 1 ? await this.secrets.get(SUDO_SECRET(entry.target)) : undefined;
      if (stored) return stored;
    }
    const value = await vscode.window.showInputBox({
      title: req.kind === 'sudo-password' ? `sudo password on ${req.target}` : req.kind === 'passphrase' ? `Passphrase for ${req.keyFile ?? 'key'}` : `${req.target}`,
      // a keyboard-interactive prompt is the server's text
      prompt: safeForTerminal(`${req.message}${req.attempt > 1 ? ' (try again)' : ''}`),
      password: !req.echo,
      ignoreFocusOut: true,
    }, token);
    if (value !== undefined && req.kind === 'sudo-password') {
      const remember = await vscode.window.showInformationMessage(`Remember the sudo password for ${req.target} in VS Code's secret storage?`, 'Remember', 'Not now');
      if (remember === 'Remember') await this.secrets.store(SUDO_SECRET(entry.target), value);
    }
    return value;
  }
}
