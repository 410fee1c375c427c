/**
 * Runs commands over an SshConnection. Each exec line is renderCheckedCommand (core/fix/quote.ts)
 * of `sh -c 'echo <marker> $$ >&2 && exec "$@"' sh argv…`: the quoting is parsed back before
 * anything is sent, the command runs with exactly argv, and its pid (taken out of stderr) lets
 * a timeout or an abort kill it even where sshd refuses signal requests.
 */
import { PassThrough } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { QuoteError, renderCheckedCommand } from '../core/fix/quote';
import { IoError } from './errors';
import { BaseRunner, KILL_GRACE_MS, type RunnerOptions, type SpawnContext, type Spawned } from './runner';
import type { SshConnection } from './ssh/connection';

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
 * The SSH runner. A timeout or an abort kills the command by pid (`kill -s TERM pid`, then KILL,
 * over a second channel with the command's own privileges) besides the channel's signal
 * request. The log shows the plain command (renderCommand(argv)).
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
      line = renderCheckedCommand(wrapped);
    } catch (e) {
      if (e instanceof QuoteError) throw new IoError('command-failed', e.message, { phase: 'exec' }, { cause: e });
      throw e;
    }
    const { channel, release } = await this.connection.exec(line, ctx.signal, { beyondLimit: ctx.internal });
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
