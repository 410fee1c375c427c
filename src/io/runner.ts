/**
 * THE way everything above the I/O layer runs a command on a host: `CommandRunner`.
 *
 * - `run(argv, opts)` buffers stdout/stderr (bounded by maxOutputBytes) and resolves with the
 *   exit code (a command that exits non-zero is NOT an error: callers read exitCode).
 *   It rejects only with an IoError: command-timeout, command-aborted, output-too-large,
 *   connection trouble, sudo-*.
 * - `stream(argv, opts)` yields stdout as decoded text chunks while the command runs, with
 *   back-pressure (`conntrack -L` of a million entries is never held whole); `result` gives the
 *   exit code and stderr at the end. Breaking out of the loop kills the command.
 * - `privileged: true` runs the command as root (sudo.ts); `privilege()` says whether it can,
 *   detected once per runner.
 * - Every command goes to `log` (rendered, secrets redacted) with its exit code and duration.
 *
 * This module is the plumbing both runners share (start, stdin, stderr limits, timeout, abort,
 * kill, the log); sshRunner.ts runs argv over an SshConnection, rendered by the ONE quoting
 * function and checked by parsing it back (core/fix/quote.ts); localRunner.ts runs argv with
 * execa, no shell involved.
 */
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { QuoteError, renderCommand } from '../core/fix/quote';
import { IoError, type IoErrorKind } from './errors';
import type { Prompter } from './ssh/auth';
import { detectPrivilege, Sudo, SUDO_REFUSED, type Prepared, type Privilege, type SudoDialog } from './sudo';

export type { Privilege } from './sudo';

export interface RunOptions {
  /** written to the command's stdin, then stdin is closed (it is always closed) */
  readonly stdin?: string | Buffer;
  /** hard limit; the command is killed (TERM, then KILL) and the call rejects with command-timeout */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** run as root (see the module comment) */
  readonly privileged?: boolean;
  /** stdout + stderr limit for run() (default 32 MiB); stream() limits only stderr (maxStderrBytes) */
  readonly maxOutputBytes?: number;
  /** strings replaced by *** in the logged command line */
  readonly redact?: readonly string[];
}

export interface StreamOptions extends RunOptions {
  /** stderr kept for the result (default 1 MiB, the rest is dropped and noted) */
  readonly maxStderrBytes?: number;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  /** the exit status; 128 + N when the command was killed by signal N (like a shell) */
  readonly exitCode: number;
  /** signal name (e.g. "TERM") when the command was killed by one */
  readonly signal?: string;
  readonly durationMs: number;
}

export interface StreamResult {
  readonly stderr: string;
  readonly exitCode: number;
  readonly signal?: string;
  readonly durationMs: number;
  readonly stdoutBytes: number;
}

/** stdout as text chunks; iterate it (or cancel()) — an unread stream stalls the command. */
export interface CommandStream extends AsyncIterable<string> {
  /** settles when the command has ended: rejects with the IoError that ended it early */
  readonly result: Promise<StreamResult>;
  /** kills the command (the iteration ends with a command-aborted error) */
  cancel(): void;
}

export interface CommandRunner {
  /** `user@host:port` (through jumps: the whole chain) or `local` */
  readonly description: string;
  run(argv: readonly string[], opts: RunOptions): Promise<RunResult>;
  stream(argv: readonly string[], opts: StreamOptions): CommandStream;
  /** What the account may do as root (detected once, then remembered). */
  privilege(): Promise<Privilege>;
  /** Until the kills sent for aborted commands have run: wait for it before closing the connection. */
  killsSettled?(): Promise<void>;
}

export interface CommandLogEntry {
  readonly runner: string;
  /** rendered command line, secrets redacted (for privileged commands: with the sudo prefix) */
  readonly command: string;
  readonly privileged: boolean;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly durationMs: number;
  /** set when the command did not end normally */
  readonly error?: IoErrorKind;
}

/** One log line for a command run (the CLI's -v and the extension's log channel). */
export function describeCommand(e: CommandLogEntry): string {
  return `[${e.runner}] ${e.privileged ? '# ' : '$ '}${e.command} → ${e.exitCode ?? e.error ?? '?'} (${e.durationMs} ms)`;
}

export interface RunnerOptions {
  /** receives every command run */
  readonly log?: (entry: CommandLogEntry) => void;
  /** asks for the sudo password (kind 'sudo-password') */
  readonly prompt?: Prompter;
  /** known privilege level (skips detection) */
  readonly privilege?: Privilege;
}

const DEFAULT_MAX_OUTPUT = 32 * 1024 * 1024;
const DEFAULT_MAX_STDERR = 1024 * 1024;
/** TERM, then KILL after this long. */
export const KILL_GRACE_MS = 1000;
const SETTLE_AFTER_KILL_MS = 2000;

/** A started process (local or remote), as the shared plumbing drives it. */
export interface Spawned {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** resolves once the process has ended and its streams are closed */
  readonly done: Promise<{ code: number | null; signal: string | null; lost?: boolean }>;
  /** TERM, then KILL after a grace period, then close everything */
  kill(): void;
}

interface Running {
  readonly stdout: Readable;
  readonly finished: Promise<{ exitCode: number; signal?: string; stderr: string; durationMs: number }>;
  /** rejects with the reason as soon as the command is killed (timeout, abort, too much output) */
  readonly failed: Promise<never>;
  kill(reason: IoError): void;
  readonly command: string;
}

/** What spawn() gets besides argv. */
export interface SpawnContext {
  readonly signal: AbortSignal | undefined;
  readonly privileged: boolean;
  /** a helper command of the runner itself (no further helpers when it must be killed; over SSH it does not wait for a channel slot) */
  readonly internal: boolean;
}

function signalNumber(name: string): number {
  const n = (osConstants.signals as Record<string, number | undefined>)[`SIG${name.replace(/^SIG/, '')}`];
  return n ?? 0;
}

function toBuffer(x: string | Buffer | undefined): Buffer | undefined {
  if (x === undefined) return undefined;
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
}

function ended(stream: Readable, maxMs: number): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, maxMs);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

export abstract class BaseRunner implements CommandRunner {
  abstract readonly description: string;
  private sudoState: Sudo | undefined;

  protected constructor(protected readonly ropts: RunnerOptions) {}

  /** Created on first use: the subclass has set `description` by then. */
  private get sudo(): Sudo {
    this.sudoState ??= new Sudo(
      {
        description: this.description,
        account: () => this.accountLabel(),
        detect: () => detectPrivilege(this),
        check: async (argv, stdin, timeoutMs) => {
          const check = await this.start({ argv, stdinPrefix: stdin, sudoPassword: false, privileged: false }, { timeoutMs }, DEFAULT_MAX_STDERR, true);
          check.stdout.resume();
          return check.finished;
        },
      },
      this.ropts.prompt,
      this.ropts.privilege,
    );
    return this.sudoState;
  }

  protected abstract spawn(argv: readonly string[], ctx: SpawnContext): Promise<Spawned>;
  /** the login account name, for the sudo prompt */
  protected abstract accountLabel(): string;

  privilege(): Promise<Privilege> {
    return this.sudo.privilege();
  }

  protected redactLine(line: string, extra: readonly string[] | undefined): string {
    let out = line;
    const secret = this.sudo.secret;
    for (const s of [...(extra ?? []), ...(secret === undefined ? [] : [secret])]) {
      if (s.length > 0) out = out.split(s).join('***');
    }
    return out;
  }

  private prepare(argv: readonly string[], opts: RunOptions): Promise<Prepared> {
    return this.sudo.prepare(argv, opts);
  }

  /** Kills a remote process by pid with the same privileges it was started with (SshRunner). */
  protected killByPid(pid: number, sig: 'TERM' | 'KILL', privileged: boolean): void {
    const sent: Promise<void> = this.prepare(['kill', '-s', sig, String(pid)], { timeoutMs: 5000, privileged })
      .then((prep) => this.start(prep, { timeoutMs: 5000 }, DEFAULT_MAX_STDERR, true))
      .then(async (r) => {
        r.stdout.resume();
        await r.finished;
      })
      .catch(() => undefined)
      .finally(() => this.pendingKills.delete(sent));
    this.pendingKills.add(sent);
  }

  private readonly pendingKills = new Set<Promise<void>>();

  /**
   * Until the kills of aborted commands have run (each bounded by its 5 s timeout). Closing the
   * connection before would cut them off, and the end of the connection alone does not stop a
   * command (measured: an interrupted `entries --exact` of 200,000 entries ran on to the end).
   */
  async killsSettled(): Promise<void> {
    await Promise.all([...this.pendingKills]);
  }

  /** Starts a prepared command. `internal`: a helper of the runner (never killed through helpers). */
  private async start(prep: Prepared, opts: StreamOptions, maxStderr: number, internal = false): Promise<Running> {
    let shown: string;
    try {
      shown = this.redactLine(renderCommand(prep.argv), opts.redact);
    } catch (e) {
      if (e instanceof QuoteError) throw new IoError('command-failed', e.message, { phase: 'exec' }, { cause: e });
      throw e;
    }
    if (opts.signal?.aborted === true) throw new IoError('command-aborted', `aborted before start: ${shown}`, { command: shown, target: this.description, phase: 'exec' });
    const t0 = performance.now();
    // The deadline starts here, before spawning: waiting for a channel slot, a reconnect with
    // its backoff and the channel open are inside timeoutMs (a host that never confirms the
    // channel must not hang the caller). spawn() gets one signal for both Cancel and the deadline.
    const early = new AbortController();
    const earlyTimer = setTimeout(() => {
      early.abort(new IoError('command-timeout', `command timed out after ${opts.timeoutMs} ms before it could start on ${this.description} (waiting for a free channel, a reconnect or the channel to open): ${shown}`, { command: shown, target: this.description, phase: 'exec' }));
    }, opts.timeoutMs);
    const onEarlyAbort = (): void => early.abort(new IoError('command-aborted', `aborted before start: ${shown}`, { command: shown, target: this.description, phase: 'exec' }));
    opts.signal?.addEventListener('abort', onEarlyAbort, { once: true });
    let spawned: Spawned;
    try {
      spawned = await this.spawn(prep.argv, { signal: early.signal, privileged: prep.privileged, internal });
    } catch (e) {
      clearTimeout(earlyTimer);
      const error = e instanceof IoError ? e : new IoError('command-failed', `cannot start: ${shown}: ${(e as Error).message}`, { command: shown, target: this.description, phase: 'exec' }, { cause: e });
      this.ropts.log?.({ runner: this.description, command: shown, privileged: prep.privileged, error: error.kind, durationMs: Math.round(performance.now() - t0) });
      throw error;
    } finally {
      opts.signal?.removeEventListener('abort', onEarlyAbort);
    }
    clearTimeout(earlyTimer);
    const remainingMs = Math.max(0, opts.timeoutMs - (performance.now() - t0));
    let failure: IoError | undefined;
    let rejectFailed: (e: IoError) => void = () => undefined;
    const failed = new Promise<never>((_resolve, reject) => {
      rejectFailed = reject;
    });
    failed.catch(() => undefined);
    const stderrChunks: Buffer[] = [];
    let stderrBytes = 0;
    let stderrDropped = 0;
    const keepStderr = (b: Buffer): void => {
      const room = maxStderr - stderrBytes;
      if (room <= 0) {
        stderrDropped += b.length;
        return;
      }
      const part = b.length > room ? b.subarray(0, room) : b;
      stderrChunks.push(part);
      stderrBytes += part.length;
      stderrDropped += b.length - part.length;
    };
    spawned.stdin.on('error', () => undefined); // EPIPE when the command exits without reading stdin
    const input = Buffer.concat([prep.stdinPrefix ?? Buffer.alloc(0), toBuffer(opts.stdin) ?? Buffer.alloc(0)]);
    const writeInput = (): void => {
      if (input.length > 0) spawned.stdin.end(input);
      else spawned.stdin.end();
    };

    const kill = (reason: IoError): void => {
      if (failure !== undefined) return;
      failure = reason;
      rejectFailed(reason);
      spawned.kill();
    };

    // sudo with a password (sudo.ts): sudo's stderr comes before the command's marker line. The
    // password goes to stdin only when sudo prints its prompt, the caller's stdin only once the
    // command has started; a second prompt means sudo refused the password.
    const dialog = prep.sudoDialog;
    let sudoHead: Buffer | undefined = dialog === undefined ? undefined : Buffer.alloc(0);
    let answered = false;
    const readSudoHead = (d: SudoDialog, head: Buffer): Buffer | undefined => {
      for (let i = head.indexOf(d.prompt); i !== -1; i = head.indexOf(d.prompt)) {
        head = Buffer.concat([head.subarray(0, i), head.subarray(i + d.prompt.length)]);
        if (answered) {
          this.sudo.forget();
          kill(new IoError('sudo-refused', `sudo refused the password on ${this.description}`, { command: shown, target: this.description, phase: 'exec' }));
          return head;
        }
        answered = true;
        spawned.stdin.write(d.line);
      }
      const m = head.indexOf(d.marker);
      if (m === -1) return head;
      keepStderr(head.subarray(0, m));
      keepStderr(head.subarray(m + d.marker.length));
      writeInput();
      return undefined;
    };
    spawned.stderr.on('data', (b: Buffer) => {
      if (sudoHead === undefined || dialog === undefined) return keepStderr(b);
      sudoHead = readSudoHead(dialog, Buffer.concat([sudoHead, b]));
    });
    if (dialog === undefined) writeInput();
    const timer = setTimeout(() => {
      kill(new IoError('command-timeout', `command timed out after ${opts.timeoutMs} ms and was killed: ${shown}`, { command: shown, target: this.description, phase: 'exec' }));
    }, remainingMs);
    const onAbort = (): void => kill(new IoError('command-aborted', `command aborted: ${shown}`, { command: shown, target: this.description, phase: 'exec' }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // a Cancel while spawning that the spawn did not see (LocalRunner starts at once)
    if (early.signal.reason instanceof IoError && early.signal.reason.kind === 'command-aborted') onAbort();

    const finished = (async () => {
      let exit: Awaited<Spawned['done']>;
      try {
        // once killed, wait a little for the process to go, but never hang on it
        exit = await Promise.race([
          spawned.done,
          failed.catch(async () => {
            await Promise.race([spawned.done, new Promise((r) => setTimeout(r, SETTLE_AFTER_KILL_MS))]);
            return { code: null, signal: null };
          }),
        ]);
      } finally {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      }
      // ended before its marker (sudo refused, not allowed): sudo's own messages
      if (sudoHead !== undefined) keepStderr(sudoHead);
      sudoHead = undefined;
      const durationMs = Math.round(performance.now() - t0);
      const signal = exit.signal ?? undefined;
      const exitCode = exit.code ?? (signal !== undefined ? 128 + signalNumber(signal) : -1);
      const stderr = Buffer.concat(stderrChunks).toString('utf8') + (stderrDropped > 0 ? `\n[${stderrDropped} more bytes of stderr dropped]` : '');
      let error = failure;
      if (error === undefined && exit.lost === true) {
        error = new IoError('connection-lost', `the connection to ${this.description} dropped while this command ran; its outcome is unknown: ${shown}`, { command: shown, target: this.description, phase: 'exec' });
      }
      if (error === undefined && prep.sudoPassword && exitCode === 1 && SUDO_REFUSED.test(stderr)) {
        this.sudo.forget();
        error = new IoError('sudo-refused', `sudo refused the password on ${this.description}`, { command: shown, target: this.description, phase: 'exec' });
      }
      this.ropts.log?.({
        runner: this.description,
        command: shown,
        privileged: prep.privileged,
        ...(error === undefined ? { exitCode } : { error: error.kind }),
        ...(signal === undefined ? {} : { signal }),
        durationMs,
      });
      if (error !== undefined) throw error;
      return { exitCode, ...(signal === undefined ? {} : { signal }), stderr, durationMs };
    })();
    finished.catch(() => undefined); // observed by the caller; never an unhandled rejection
    return { stdout: spawned.stdout, finished, failed, kill, command: shown };
  }

  async run(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
    const prepared = await this.prepare(argv, opts);
    const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const running = await this.start(prepared, opts, max);
    const chunks: Buffer[] = [];
    let bytes = 0;
    running.stdout.on('data', (b: Buffer) => {
      if (bytes > max) return;
      bytes += b.length;
      if (bytes > max) {
        running.kill(new IoError('output-too-large', `command printed more than ${max} bytes and was killed (use stream() for large outputs): ${running.command}`, { command: running.command, target: this.description, phase: 'exec' }));
        return;
      }
      chunks.push(b);
    });
    running.stdout.on('error', () => undefined);
    const r = await running.finished;
    await ended(running.stdout, 1000);
    return { stdout: Buffer.concat(chunks).toString('utf8'), stderr: r.stderr, exitCode: r.exitCode, ...(r.signal === undefined ? {} : { signal: r.signal }), durationMs: r.durationMs };
  }

  stream(argv: readonly string[], opts: StreamOptions): CommandStream {
    const startP = this.prepare(argv, opts).then((prep) => this.start(prep, opts, opts.maxStderrBytes ?? DEFAULT_MAX_STDERR));
    startP.catch(() => undefined);
    let stdoutBytes = 0;
    let cancelled = false;
    const description = this.description;
    const cancelError = (cmd: string): IoError => new IoError('command-aborted', `command cancelled: ${cmd}`, { command: cmd, target: description, phase: 'exec' });
    const result: Promise<StreamResult> = startP.then(async (r) => {
      const f = await r.finished;
      return { stderr: f.stderr, exitCode: f.exitCode, ...(f.signal === undefined ? {} : { signal: f.signal }), durationMs: f.durationMs, stdoutBytes };
    });
    result.catch(() => undefined);
    async function* iterate(): AsyncGenerator<string> {
      const r = await startP;
      if (cancelled) r.kill(cancelError(r.command));
      const decoder = new TextDecoder('utf-8');
      const it = r.stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      let complete = false;
      // One failure listener for the whole stream: racing every read against the pending
      // `failed` promise kept each chunk reachable until the command ended (the whole listing).
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      r.failed.catch((e: unknown) => {
        failure = e instanceof Error ? e : new Error(String(e));
        wake?.();
      });
      const nextOrFail = (): Promise<IteratorResult<Buffer>> =>
        new Promise<IteratorResult<Buffer>>((resolve, reject) => {
          if (failure !== undefined) {
            reject(failure);
            return;
          }
          wake = () => reject(failure ?? new Error('command failed'));
          it.next().then(resolve, reject).finally(() => {
            wake = undefined;
          });
        });
      try {
        for (;;) {
          const next = await nextOrFail();
          if (next.done === true) break;
          stdoutBytes += next.value.length;
          const text = decoder.decode(next.value, { stream: true });
          if (text !== '') yield text;
        }
        const tail = decoder.decode();
        if (tail !== '') yield tail;
        await r.finished;
        complete = true;
      } finally {
        if (!complete) {
          r.kill(cancelError(r.command));
          void it.return?.();
        }
      }
    }
    const iterable = iterate();
    return {
      [Symbol.asyncIterator]: () => iterable,
      result,
      cancel: () => {
        cancelled = true;
        startP.then((r) => r.kill(cancelError(r.command)), () => undefined);
      },
    };
  }
}
