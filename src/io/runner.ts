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
 * - `privileged: true` runs the command as root: as is when the login is root, as
 *   `sudo -n -- argv…` with passwordless sudo, or as `sudo -k -S -p '' -- argv…` with the
 *   password written to stdin FIRST, followed by a newline, then the command's own stdin. The
 *   password is asked once through the prompt callback, checked once with `sudo -k -S -p '' -v`
 *   (so a wrong password is a clear `sudo-refused` error and the command's stdin is never eaten
 *   by password retries), kept in memory only, and never put in argv, the environment or a log.
 *   `-k` makes sudo ignore cached credentials, so it always reads the password line and the line
 *   never reaches the command. (Caveat: a sudoers rule that is NOPASSWD for this particular
 *   command while `sudo -n true` needs a password would let the line through to the command's
 *   stdin: detectPrivilege reports sudo-password only when plain `sudo -n true` needs one.)
 * - Every command goes to `log` (rendered, secrets redacted) with its exit code and duration.
 *
 * SshRunner renders argv with the project's ONE quoting function (renderCommand) and, as a
 * second line of defence, parses the rendered line back with a strict POSIX word parser: a
 * line that does not give back exactly argv is never sent. LocalRunner runs argv with execa,
 * no shell involved.
 */
import { constants as osConstants } from 'node:os';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { QuoteError, renderCommand } from '../core/fix/quote';
import { IoError, type IoErrorKind } from './errors';
import type { Prompter } from './ssh/auth';
import type { SshConnection } from './ssh/connection';
import type { ClientChannel } from 'ssh2';

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
}

export type Privilege = 'root' | 'sudo-nopasswd' | 'sudo-password' | 'none';

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
const KILL_GRACE_MS = 1000;
const SETTLE_AFTER_KILL_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Second line of defence for the quoting: parse the line back, demand exactly argv.

const UNQUOTED_OK = /[A-Za-z0-9_@%+=:,./-]/;

/** Splits a line made of single-quoted strings, backslash escapes and safe characters; undefined for anything else. */
export function parseQuotedLine(line: string): { words: string[]; firstWordBare: string } | undefined {
  const words: string[] = [];
  let cur = '';
  let bare = ''; // unquoted prefix of the current word
  let quotedYet = false;
  let inWord = false;
  let firstWordBare = '';
  const endWord = (): void => {
    if (words.length === 0) firstWordBare = bare;
    words.push(cur);
    cur = '';
    bare = '';
    quotedYet = false;
    inWord = false;
  };
  for (let i = 0; i < line.length; ) {
    const c = line.charAt(i);
    if (c === ' ') {
      if (inWord) endWord();
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const j = line.indexOf("'", i + 1);
      if (j === -1) return undefined;
      cur += line.slice(i + 1, j);
      quotedYet = true;
      i = j + 1;
    } else if (c === '\\') {
      const n = line.charAt(i + 1);
      if (n === '' || n === '\n') return undefined;
      cur += n;
      quotedYet = true;
      i += 2;
    } else if (UNQUOTED_OK.test(c)) {
      cur += c;
      if (!quotedYet) bare += c;
      i++;
    } else {
      return undefined;
    }
  }
  if (inWord) endWord();
  return { words, firstWordBare };
}

function checkRendered(argv: readonly string[], line: string): void {
  const parsed = parseQuotedLine(line);
  const same = parsed !== undefined && parsed.words.length === argv.length && parsed.words.every((w, i) => w === argv[i]);
  const assignment = parsed !== undefined && /^[A-Za-z_][A-Za-z0-9_]*=/.test(parsed.firstWordBare);
  if (!same || assignment || (parsed?.firstWordBare.startsWith('=') ?? false)) {
    throw new IoError('command-failed', `refusing to send a command: its shell quoting does not round-trip (argv ${JSON.stringify(argv).slice(0, 200)}); this is a bug in the quoting function`, {
      phase: 'exec',
    });
  }
}

// ---------------------------------------------------------------------------------------------

interface Spawned {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** resolves once the process has ended and its streams are closed */
  readonly done: Promise<{ code: number | null; signal: string | null; lost?: boolean }>;
  /** TERM, then KILL after a grace period, then close everything */
  kill(): void;
}

/** How a command is started: as given (internal checks) or after privilege preparation. */
interface Prepared {
  readonly argv: readonly string[];
  readonly stdinPrefix: Buffer | undefined;
  readonly sudoPassword: boolean;
  readonly privileged: boolean;
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
interface SpawnContext {
  readonly signal: AbortSignal | undefined;
  readonly privileged: boolean;
  /** a helper command of the runner itself (no further helpers when it must be killed) */
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

const SUDO_REFUSED = /incorrect password|Sorry, try again|no password was provided|authentication failure/i;
const SUDO_NOT_ALLOWED = /not in the sudoers|is not allowed to|may not run sudo/i;

abstract class BaseRunner implements CommandRunner {
  abstract readonly description: string;
  private privilege: Privilege | undefined;
  private privilegePending: Promise<Privilege> | undefined;
  private sudoPassword: string | undefined;
  private sudoPending: Promise<string> | undefined;

  protected constructor(protected readonly ropts: RunnerOptions) {
    this.privilege = ropts.privilege;
  }

  protected abstract spawn(argv: readonly string[], ctx: SpawnContext): Promise<Spawned>;
  /** the login account name, for the sudo prompt */
  protected abstract accountLabel(): string;

  /** Sets the privilege level (e.g. from an earlier detectPrivilege). */
  setPrivilege(p: Privilege): void {
    this.privilege = p;
  }

  /** Detects (once) and returns the privilege level of this runner's account. */
  async getPrivilege(): Promise<Privilege> {
    if (this.privilege !== undefined) return this.privilege;
    this.privilegePending ??= detectPrivilege(this).then(
      (p) => {
        this.privilege = p;
        return p;
      },
      (e: unknown) => {
        this.privilegePending = undefined;
        throw e;
      },
    );
    return this.privilegePending;
  }

  protected redactLine(line: string, extra: readonly string[] | undefined): string {
    let out = line;
    for (const s of [...(extra ?? []), ...(this.sudoPassword === undefined ? [] : [this.sudoPassword])]) {
      if (s.length > 0) out = out.split(s).join('***');
    }
    return out;
  }

  private async ensureSudoPassword(timeoutMs: number): Promise<string> {
    if (this.sudoPassword !== undefined) return this.sudoPassword;
    this.sudoPending ??= (async () => {
      const prompt = this.ropts.prompt;
      if (prompt === undefined) {
        throw new IoError('sudo-password-required', `this command needs root on ${this.description}: sudo asks for a password and no way to ask the user was given`);
      }
      for (let attempt = 1; attempt <= 3; attempt++) {
        const pw = await prompt({ kind: 'sudo-password', target: this.description, message: `[sudo] password for ${this.accountLabel()} on ${this.description}`, echo: false, attempt });
        if (pw === undefined) throw new IoError('sudo-password-required', `this command needs root on ${this.description}: sudo needs a password and none was given`);
        if (pw.includes('\n')) throw new IoError('sudo-refused', 'a sudo password cannot contain a newline');
        const check = await this.start(
          { argv: ['env', 'LC_ALL=C', 'sudo', '-k', '-S', '-p', '', '-v'], stdinPrefix: Buffer.from(`${pw}\n`, 'utf8'), sudoPassword: false, privileged: false },
          { timeoutMs: Math.max(timeoutMs, 15_000) },
          DEFAULT_MAX_STDERR,
          true,
        );
        check.stdout.resume();
        const r = await check.finished;
        if (r.exitCode === 0) {
          this.sudoPassword = pw;
          return pw;
        }
        if (SUDO_NOT_ALLOWED.test(r.stderr)) {
          throw new IoError('privilege-unavailable', `${this.accountLabel()} may not use sudo on ${this.description}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
        }
      }
      throw new IoError('sudo-refused', `sudo refused the password for ${this.accountLabel()} on ${this.description} (3 attempts)`);
    })().finally(() => {
      this.sudoPending = undefined;
    });
    return this.sudoPending;
  }

  private async prepare(argv: readonly string[], opts: RunOptions): Promise<Prepared> {
    if (argv.length === 0) throw new IoError('command-failed', 'empty command');
    if (opts.privileged !== true) return { argv, stdinPrefix: undefined, sudoPassword: false, privileged: false };
    const level = await this.getPrivilege();
    switch (level) {
      case 'root':
        return { argv, stdinPrefix: undefined, sudoPassword: false, privileged: true };
      case 'sudo-nopasswd':
        return { argv: ['sudo', '-n', '--', ...argv], stdinPrefix: undefined, sudoPassword: false, privileged: true };
      case 'sudo-password': {
        const pw = await this.ensureSudoPassword(opts.timeoutMs);
        return { argv: ['sudo', '-k', '-S', '-p', '', '--', ...argv], stdinPrefix: Buffer.from(`${pw}\n`, 'utf8'), sudoPassword: true, privileged: true };
      }
      case 'none':
        throw new IoError('privilege-unavailable', `this command needs root on ${this.description}, but ${this.accountLabel()} is not root and cannot use sudo`);
    }
  }

  /** Kills a remote process by pid with the same privileges it was started with (SshRunner). */
  protected killByPid(pid: number, sig: 'TERM' | 'KILL', privileged: boolean): void {
    this.prepare(['kill', '-s', sig, String(pid)], { timeoutMs: 5000, privileged })
      .then((prep) => this.start(prep, { timeoutMs: 5000 }, DEFAULT_MAX_STDERR, true))
      .then(async (r) => {
        r.stdout.resume();
        await r.finished;
      })
      .catch(() => undefined);
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
    const spawned = await this.spawn(prep.argv, { signal: opts.signal, privileged: prep.privileged, internal });
    let failure: IoError | undefined;
    let rejectFailed: (e: IoError) => void = () => undefined;
    const failed = new Promise<never>((_resolve, reject) => {
      rejectFailed = reject;
    });
    failed.catch(() => undefined);
    const stderrChunks: Buffer[] = [];
    let stderrBytes = 0;
    let stderrDropped = 0;
    spawned.stderr.on('data', (b: Buffer) => {
      const room = maxStderr - stderrBytes;
      if (room <= 0) {
        stderrDropped += b.length;
        return;
      }
      const part = b.length > room ? b.subarray(0, room) : b;
      stderrChunks.push(part);
      stderrBytes += part.length;
      stderrDropped += b.length - part.length;
    });
    spawned.stdin.on('error', () => undefined); // EPIPE when the command exits without reading stdin
    const input = Buffer.concat([prep.stdinPrefix ?? Buffer.alloc(0), toBuffer(opts.stdin) ?? Buffer.alloc(0)]);
    if (input.length > 0) spawned.stdin.end(input);
    else spawned.stdin.end();

    const kill = (reason: IoError): void => {
      if (failure !== undefined) return;
      failure = reason;
      rejectFailed(reason);
      spawned.kill();
    };
    const timer = setTimeout(() => {
      kill(new IoError('command-timeout', `command timed out after ${opts.timeoutMs} ms and was killed: ${shown}`, { command: shown, target: this.description, phase: 'exec' }));
    }, opts.timeoutMs);
    const onAbort = (): void => kill(new IoError('command-aborted', `command aborted: ${shown}`, { command: shown, target: this.description, phase: 'exec' }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

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
      const durationMs = Math.round(performance.now() - t0);
      const signal = exit.signal ?? undefined;
      const exitCode = exit.code ?? (signal !== undefined ? 128 + signalNumber(signal) : -1);
      const stderr = Buffer.concat(stderrChunks).toString('utf8') + (stderrDropped > 0 ? `\n[${stderrDropped} more bytes of stderr dropped]` : '');
      let error = failure;
      if (error === undefined && exit.lost === true) {
        error = new IoError('connection-lost', `the connection to ${this.description} dropped while this command ran; its outcome is unknown: ${shown}`, { command: shown, target: this.description, phase: 'exec' });
      }
      if (error === undefined && prep.sudoPassword && exitCode === 1 && SUDO_REFUSED.test(stderr)) {
        this.sudoPassword = undefined;
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

// ---------------------------------------------------------------------------------------------

/**
 * Sends a "signal" channel request (sshd: killpg of the session's process group; OpenSSH
 * refuses it for some sessions, e.g. root logins: "session signalling requires privilege
 * separation", hence the kill-by-pid below). ssh2's Channel.signal() refuses once our side
 * has sent EOF — stdin is always closed right after it is written — but the protocol allows
 * requests after EOF, so the request goes through ssh2's protocol object directly.
 */
function sendSignal(channel: ClientChannel, name: 'TERM' | 'KILL'): void {
  const ch = channel as unknown as {
    outgoing?: { state?: string; id?: number };
    _client?: { _protocol?: { signal?: (id: number, signal: string) => void } };
  };
  const state = ch.outgoing?.state;
  const id = ch.outgoing?.id;
  const protocol = ch._client?._protocol;
  if ((state === 'open' || state === 'eof') && id !== undefined && typeof protocol?.signal === 'function') {
    try {
      protocol.signal(id, name);
    } catch {
      /* connection already gone */
    }
  }
}

/** First stderr line of every remote command: its pid, so a timeout or abort can kill it. */
const PID_MARKER = '__conntrack_doctor_pid__';
const PID_LINE = new RegExp(`^${PID_MARKER} ([0-9]+)$`);
/** `sh -c '<this>' sh argv…`: report the pid, then become the command (same pid). */
const PID_WRAPPER = `echo ${PID_MARKER} $$ >&2 && exec "$@"`;

/**
 * Runs commands over an SshConnection. The exec line is renderCommand of
 * `sh -c 'echo <marker> $$ >&2 && exec "$@"' sh argv…`, checked by parsing it back: the command
 * runs with exactly argv, and its pid (taken out of stderr) lets a timeout or an abort kill it
 * (`kill -s TERM pid`, then KILL, with the command's own privileges) even where sshd refuses
 * signal requests. The log shows the plain command (renderCommand(argv)).
 */
export class SshRunner extends BaseRunner {
  readonly description: string;

  constructor(
    private readonly connection: SshConnection,
    opts: RunnerOptions = {},
  ) {
    super(opts);
    this.description = connection.key;
  }

  protected accountLabel(): string {
    return this.connection.target.user;
  }

  protected async spawn(argv: readonly string[], ctx: SpawnContext): Promise<Spawned> {
    const wrapped = ['sh', '-c', PID_WRAPPER, 'sh', ...argv];
    let line: string;
    try {
      line = renderCommand(wrapped);
    } catch (e) {
      if (e instanceof QuoteError) throw new IoError('command-failed', e.message, { phase: 'exec' }, { cause: e });
      throw e;
    }
    checkRendered(wrapped, line);
    const { channel, release } = await this.connection.exec(line, ctx.signal);
    let closed = false;
    let killRequested = false;
    let pid: number | undefined;
    channel.on('error', () => undefined);

    // stderr without the pid line
    const stderr = new PassThrough();
    let head = Buffer.alloc(0);
    let headDone = false;
    const flushHead = (): void => {
      if (headDone) return;
      headDone = true;
      const nl = head.indexOf(0x0a);
      const first = head.subarray(0, nl === -1 ? head.length : nl).toString('latin1');
      const m = PID_LINE.exec(first);
      if (m !== null) {
        pid = Number(m[1]);
        const rest = nl === -1 ? Buffer.alloc(0) : head.subarray(nl + 1);
        if (rest.length > 0) stderr.write(rest);
      } else if (head.length > 0) {
        stderr.write(head);
      }
    };
    channel.stderr.on('data', (b: Buffer) => {
      if (headDone) {
        stderr.write(b);
        return;
      }
      head = Buffer.concat([head, b]);
      if (head.includes(0x0a) || head.length > 256) flushHead();
    });
    channel.stderr.on('error', () => undefined);
    // The exit status comes with 'close' (ssh2 passes what the 'exit' event had): an 'exit'
    // listener attached here could miss it, as the exit-status may arrive in the same read as
    // the channel confirmation, before this code runs.
    const done = new Promise<{ code: number | null; signal: string | null; lost?: boolean }>((resolve) => {
      channel.once('close', (code?: number | null, sig?: string) => {
        closed = true;
        flushHead();
        stderr.end();
        release();
        const exit = { code: typeof code === 'number' ? code : null, signal: typeof sig === 'string' ? sig.replace(/^SIG/, '') : null };
        const sawExit = typeof code === 'number' || typeof sig === 'string';
        resolve(sawExit || killRequested ? exit : { ...exit, lost: true });
      });
    });
    return {
      stdin: channel,
      stdout: channel,
      stderr,
      done,
      kill: () => {
        if (killRequested) return;
        killRequested = true;
        sendSignal(channel, 'TERM');
        if (pid !== undefined && !ctx.internal) this.killByPid(pid, 'TERM', ctx.privileged);
        setTimeout(() => {
          if (closed) return;
          sendSignal(channel, 'KILL');
          if (pid !== undefined && !ctx.internal) this.killByPid(pid, 'KILL', ctx.privileged);
          channel.close();
        }, KILL_GRACE_MS).unref();
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------

export interface LocalRunnerOptions extends RunnerOptions {
  /** extra environment variables (the rest is inherited) */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** Runs commands on this machine with execa (no shell: argv goes to execve as is). */
export class LocalRunner extends BaseRunner {
  readonly description = 'local';

  constructor(private readonly lopts: LocalRunnerOptions = {}) {
    super(lopts);
  }

  protected accountLabel(): string {
    return process.env['USER'] ?? 'this user';
  }

  protected async spawn(argv: readonly string[], _ctx: SpawnContext): Promise<Spawned> {
    const [file, ...args] = argv;
    if (file === undefined) throw new IoError('command-failed', 'empty command');
    // execa is ESM-only: a dynamic import works from CommonJS tests (tsx) and bundles (esbuild)
    const { execa } = await import('execa');
    const sub = execa(file, args, {
      shell: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      encoding: 'buffer',
      stripFinalNewline: false,
      // own process group, so a kill reaches the children too (sh -c '…; sleep 30')
      detached: true,
      ...(this.lopts.env === undefined ? {} : { env: this.lopts.env }),
      ...(this.lopts.cwd === undefined ? {} : { cwd: this.lopts.cwd }),
    });
    let exited = false;
    const done = sub.then((r) => {
      exited = true;
      const code = (r as { code?: string }).code;
      if (r.failed && (code === 'ENOENT' || code === 'EACCES') && r.exitCode === undefined) {
        // no shell here: report like one would, so callers see the same thing locally and remotely
        return { code: code === 'ENOENT' ? 127 : 126, signal: null };
      }
      const sig = r.signal === undefined ? null : r.signal.replace(/^SIG/, '');
      return { code: r.exitCode ?? null, signal: sig };
    });
    return {
      stdin: sub.stdin,
      stdout: sub.stdout,
      stderr: sub.stderr,
      done,
      kill: () => {
        const group = (sig: NodeJS.Signals): void => {
          try {
            if (sub.pid !== undefined) process.kill(-sub.pid, sig);
            else sub.kill(sig);
          } catch {
            sub.kill(sig);
          }
        };
        group('SIGTERM');
        setTimeout(() => {
          if (exited) return;
          group('SIGKILL');
          sub.stdout.destroy();
          sub.stderr.destroy();
        }, KILL_GRACE_MS).unref();
      },
    };
  }
}

/**
 * What the runner's account may do: root, passwordless sudo, sudo with a password, or nothing.
 * Runs `id -u`, then `sudo -n true` (C locale, so messages can be recognised).
 */
export async function detectPrivilege(runner: CommandRunner, opts: { timeoutMs?: number } = {}): Promise<Privilege> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const id = await runner.run(['id', '-u'], { timeoutMs });
  if (id.exitCode === 0 && id.stdout.trim() === '0') return 'root';
  const s = await runner.run(['env', 'LC_ALL=C', 'sudo', '-n', 'true'], { timeoutMs });
  if (s.exitCode === 0) return 'sudo-nopasswd';
  if (s.exitCode === 127 || s.exitCode === 126) return 'none';
  if (SUDO_NOT_ALLOWED.test(s.stderr)) return 'none';
  if (/password is required|a terminal is required/i.test(s.stderr)) return 'sudo-password';
  return 'none';
}


