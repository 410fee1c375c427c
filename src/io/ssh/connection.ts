/**
 * SSH connections over ssh2: one per resolved chain (ProxyJump hops + target), reused by a
 * ConnectionPool, kept alive, re-established with exponential backoff after a drop.
 *
 * - Each hop: TCP connect (own timer: ConnectTimeout) or, after the first hop, a `direct-tcpip`
 *   channel through the previous hop (`forwardOut`); then key exchange, with the host key checked
 *   against known_hosts in ssh2's `hostVerifier` BEFORE any authentication; then auth
 *   (see auth.ts). Timers: TCP connect, handshake, authentication — time spent waiting for the
 *   user (host-key question, passwords) is not counted.
 * - Errors are IoErrors with a kind: dns, refused, unreachable, timeout (a TCP connect timeout
 *   says that a full conntrack table on the host is one known cause), host-key-*, auth-failed
 *   (lists the methods tried), cancelled, connection-lost, protocol.
 * - A drop (network, keepalive timeout, sshd restart) marks the connection lost; the next exec
 *   reconnects with backoff (host keys are verified again; a password that worked and decrypted
 *   keys are reused from memory, never from disk). Auth and host-key failures are not retried.
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Client, type AnyAuthMethod, type AuthenticationType, type ClientChannel, type ConnectConfig } from 'ssh2';
import { CONNTRACK_TIMEOUT_HINT, IoError, isIoError } from '../errors';
import { buildAuthPlan, describeTried, HopCredentials, type Prompter } from './auth';
import { chainKey, resolveChain, type ResolvedHost, type ResolveOptions, type StrictHostKeyChecking } from './config';
import { formatHost, type TargetSpec } from './target';
import { HostKeyVerifier, SessionHostKeys, type HostKeyAnswer, type HostKeyQuestion } from './knownHosts';

export type { Prompter, PromptRequest } from './auth';

export interface HostKeyPolicy {
  /** overrides each hop's StrictHostKeyChecking; default: the config's, else 'ask' */
  readonly mode?: StrictHostKeyChecking;
  /** answers 'ask' questions; without it 'ask' refuses unknown keys */
  readonly ask?: (q: HostKeyQuestion) => Promise<HostKeyAnswer>;
  /** may accepted keys be appended to a known_hosts file? Default false: nothing is ever written */
  readonly allowWrite?: boolean;
  /** the file to append to when allowWrite (default: the hop's first UserKnownHostsFile) */
  readonly writeFile?: string;
  /** required for mode 'no' (see knownHosts.ts) */
  readonly insecureAllowNoCheck?: boolean;
  /** keys accepted in this session; share one between connections (the pool does) */
  readonly session?: SessionHostKeys;
}

export interface SshLogEvent {
  readonly type: 'connect' | 'host-key' | 'auth' | 'ready' | 'lost' | 'reconnect' | 'closed' | 'warning';
  readonly target: string;
  readonly message: string;
}

/** One log line for an SSH event (the CLI's -v and the extension's log channel). */
export function describeSshEvent(e: SshLogEvent): string {
  return `[${e.target}] ssh ${e.type}: ${e.message}`;
}

export type LookupFunction = NonNullable<net.TcpNetConnectOpts['lookup']>;

export interface SshConnectionOptions {
  readonly prompt?: Prompter;
  readonly hostKeys?: HostKeyPolicy;
  readonly log?: (event: SshLogEvent) => void;
  /** TCP connect budget per hop; default the hop's ConnectTimeout, else 15 s */
  readonly connectTimeoutMs?: number;
  /** from TCP connected to key exchange done (host-key questions excluded); default 20 s */
  readonly handshakeTimeoutMs?: number;
  /** authentication budget, prompts excluded; default 60 s */
  readonly authTimeoutMs?: number;
  /** default: the target's ServerAliveInterval, else 15 s (0 disables) */
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  readonly reconnect?: { readonly attempts?: number; readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** concurrent channels per connection (sshd's MaxSessions defaults to 10); default 8 */
  readonly maxChannels?: number;
  /** DNS lookup used for the first hop (tests inject failures); default dns.lookup */
  readonly lookup?: LookupFunction;
}

export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'lost' | 'reconnecting' | 'closed';

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 20_000;
const DEFAULT_AUTH_TIMEOUT_MS = 60_000;
const DEFAULT_KEEPALIVE_MS = 15_000;
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'] as const;

type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

function hopLabel(h: ResolvedHost): string {
  return formatHost({ user: h.user, hostname: h.hostname, port: h.port });
}

/** A timer that can be paused while the user is being asked something. */
class PausableTimer {
  private handle: NodeJS.Timeout | undefined;
  private remaining: number;
  private started = 0;
  private pauses = 0;

  constructor(
    ms: number,
    private readonly onFire: () => void,
  ) {
    this.remaining = ms;
    this.resume();
  }

  pause(): void {
    if (this.pauses++ === 0 && this.handle !== undefined) {
      clearTimeout(this.handle);
      this.handle = undefined;
      this.remaining -= Date.now() - this.started;
    }
  }

  resume(): void {
    if (this.pauses > 0) this.pauses--;
    if (this.pauses === 0 && this.handle === undefined && this.remaining !== Infinity) {
      this.started = Date.now();
      this.handle = setTimeout(this.onFire, Math.max(0, this.remaining));
    }
  }

  stop(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.remaining = Infinity;
  }
}

function mapSocketError(e: NodeJS.ErrnoException, target: string, phase: 'tcp-connect' | 'jump-forward'): IoError {
  const code = e.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME' || code === 'EAI_NODATA') {
    return new IoError('dns', `cannot resolve the host name of ${target} (${code}): check the name and DNS`, { target, phase: 'dns' }, { cause: e });
  }
  if (code === 'ECONNREFUSED') {
    return new IoError('refused', `connection to ${target} refused: nothing listens on that port (is sshd running? right port?)`, { target, phase }, { cause: e });
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN' || code === 'ENETDOWN') {
    return new IoError('unreachable', `${target} is unreachable (${code})`, { target, phase }, { cause: e });
  }
  if (code === 'ETIMEDOUT') return connectTimeoutError(target, phase, undefined, e);
  return new IoError('protocol', `connection to ${target} failed: ${e.message}`, { target, phase }, { cause: e });
}

function connectTimeoutError(target: string, phase: 'tcp-connect' | 'jump-forward', ms: number | undefined, cause?: unknown): IoError {
  const after = ms === undefined ? '' : ` after ${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
  const how = phase === 'jump-forward' ? 'the jump host could not open a TCP connection to' : 'TCP connection to';
  return new IoError('timeout', `timed out${after}: ${how} ${target} did not complete (no answer to the SYN). ${CONNTRACK_TIMEOUT_HINT}`, { target, phase }, cause === undefined ? undefined : { cause });
}

function tcpConnect(host: string, port: number, timeoutMs: number, lookup: LookupFunction | undefined): Promise<net.Socket> {
  const target = formatHost({ hostname: host, port });
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, ...(lookup === undefined ? {} : { lookup }) });
    let looked = net.isIP(host) !== 0;
    sock.once('lookup', (err) => {
      if (err === null) looked = true;
    });
    const timer = setTimeout(() => {
      sock.destroy();
      if (!looked) reject(new IoError('dns', `DNS look-up of ${host} timed out after ${timeoutMs} ms`, { target, phase: 'dns' }));
      else reject(connectTimeoutError(target, 'tcp-connect', timeoutMs));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      reject(mapSocketError(e, target, 'tcp-connect'));
    });
  });
}

function forwardOut(via: Client, host: string, port: number, timeoutMs: number, viaLabel: string): Promise<Duplex> {
  const target = formatHost({ hostname: host, port });
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(connectTimeoutError(`${target} (via ${viaLabel})`, 'jump-forward', timeoutMs));
    }, timeoutMs);
    via.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      clearTimeout(timer);
      if (done) {
        if (err === undefined) stream.close();
        return;
      }
      done = true;
      if (err !== undefined) {
        const msg = err.message;
        const t = `${target} (via ${viaLabel})`;
        if (/refused/i.test(msg)) reject(new IoError('refused', `connection to ${t} refused: nothing listens on that port`, { target: t, phase: 'jump-forward' }, { cause: err }));
        else if (/timed out/i.test(msg)) reject(connectTimeoutError(t, 'jump-forward', undefined, err));
        else if (/not known|resolve|name/i.test(msg)) reject(new IoError('dns', `the jump host ${viaLabel} cannot resolve ${host}: ${msg}`, { target: t, phase: 'dns' }, { cause: err }));
        else if (/unreachable/i.test(msg)) reject(new IoError('unreachable', `${t} is unreachable: ${msg}`, { target: t, phase: 'jump-forward' }, { cause: err }));
        else reject(new IoError('protocol', `the jump host ${viaLabel} could not open a connection to ${target}: ${msg}`, { target: t, phase: 'jump-forward' }, { cause: err }));
        return;
      }
      resolve(stream);
    });
  });
}

async function socketExists(p: string): Promise<boolean> {
  try {
    const st = await fs.stat(p);
    return st.isSocket();
  } catch {
    return false;
  }
}

function hostKeyAlgorithmsFor(knownTypes: readonly string[]): HostKeyAlgorithm[] {
  const preferred: HostKeyAlgorithm[] = [];
  for (const t of knownTypes) {
    const algos: readonly HostKeyAlgorithm[] = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : HOST_KEY_ALGORITHMS.filter((a) => a === t);
    for (const a of algos) if (!preferred.includes(a)) preferred.push(a);
  }
  return [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}

/** Why `signal` was aborted: its reason when that is an IoError (e.g. a command's deadline), else command-aborted. */
function abortReason(signal: AbortSignal | undefined, message: string): IoError {
  const reason: unknown = signal?.reason;
  return reason instanceof IoError ? reason : new IoError('command-aborted', message);
}

/** `p`, or the abort of `signal` (whichever comes first); `p` itself is not cancelled. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, message: string): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(abortReason(signal, message));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal, message));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A counting semaphore for channels. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  get inUse(): number {
    return this.used;
  }
  /** `beyondLimit`: taken at once even when every slot is in use (see exec) */
  async acquire(signal?: AbortSignal, beyondLimit = false): Promise<() => void> {
    if (!beyondLimit && this.used >= this.max) {
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.waiting.indexOf(wake);
          if (i !== -1) this.waiting.splice(i, 1);
          reject(abortReason(signal, 'aborted while waiting for a free SSH channel'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(wake);
      });
    }
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
      if (this.used < this.max) this.waiting.shift()?.();
    };
  }
}

export class SshConnection extends EventEmitter {
  readonly key: string;
  readonly chain: readonly ResolvedHost[];
  private clients: Client[] = [];
  private _state: ConnectionState = 'idle';
  private pending: Promise<void> | undefined;
  private readonly credentials: HopCredentials[];
  private readonly slots: Slots;
  private readonly session: SessionHostKeys;
  private lastDropReason = '';
  private closing = false;
  /** incremented on every successful (re)connect */
  private generation = 0;

  constructor(
    chain: readonly ResolvedHost[],
    private readonly opts: SshConnectionOptions = {},
  ) {
    super();
    if (chain.length === 0) throw new IoError('config', 'empty connection chain');
    this.chain = chain;
    this.key = chainKey(chain);
    this.credentials = chain.map(() => new HopCredentials());
    this.slots = new Slots(opts.maxChannels ?? 8);
    this.session = opts.hostKeys?.session ?? new SessionHostKeys();
  }

  get target(): ResolvedHost {
    const t = this.chain[this.chain.length - 1];
    if (t === undefined) throw new IoError('config', 'empty connection chain');
    return t;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** channels currently open on this connection */
  get activeChannels(): number {
    return this.slots.inUse;
  }

  /** how many times the connection has been established (1 after the first connect) */
  get connectCount(): number {
    return this.generation;
  }

  private log(type: SshLogEvent['type'], target: string, message: string): void {
    this.opts.log?.({ type, target, message });
  }

  private setState(s: ConnectionState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit('state', s);
  }

  /** Connects (once); later calls wait for the same attempt or return at once when ready. */
  connect(): Promise<void> {
    if (this._state === 'closed') return Promise.reject(new IoError('connection-lost', `connection to ${this.key} was closed`));
    if (this._state === 'ready') return Promise.resolve();
    if (this.pending !== undefined) return this.pending;
    const first = this._state === 'idle';
    this.setState(first ? 'connecting' : 'reconnecting');
    const p = (first ? this.establish() : this.reconnectWithBackoff()).finally(() => {
      this.pending = undefined;
    });
    this.pending = p;
    return p;
  }

  private async reconnectWithBackoff(): Promise<void> {
    const attempts = this.opts.reconnect?.attempts ?? 5;
    const initial = this.opts.reconnect?.initialDelayMs ?? 500;
    const max = this.opts.reconnect?.maxDelayMs ?? 8000;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (this.closing) break;
      if (i > 0) {
        const delay = Math.min(max, initial * 2 ** (i - 1));
        this.log('reconnect', this.key, `reconnect attempt ${i + 1}/${attempts} in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      } else {
        this.log('reconnect', this.key, `connection lost (${this.lastDropReason || 'closed'}); reconnecting`);
      }
      try {
        await this.establish();
        return;
      } catch (e) {
        last = e;
        // never retry what retrying cannot fix
        if (isIoError(e) && ['host-key-unknown', 'host-key-changed', 'host-key-revoked', 'auth-failed', 'cancelled', 'config'].includes(e.kind)) {
          this.setState('lost');
          throw e;
        }
      }
    }
    this.setState(this.closing ? 'closed' : 'lost');
    const why = last instanceof Error ? last.message : String(last);
    throw new IoError('connection-lost', `lost the connection to ${this.key} and could not re-establish it after ${attempts} attempts: ${why}`, { target: this.key }, { cause: last });
  }

  private async establish(): Promise<void> {
    const clients: Client[] = [];
    try {
      for (let i = 0; i < this.chain.length; i++) {
        const hop = this.chain[i];
        if (hop === undefined) continue;
        const prev = clients[i - 1];
        const prevHop = this.chain[i - 1];
        clients.push(await this.connectHop(i, hop, prev === undefined || prevHop === undefined ? undefined : { client: prev, label: hopLabel(prevHop) }));
      }
    } catch (e) {
      for (const c of clients.reverse()) c.end();
      if (this._state !== 'closed') this.setState(this.generation === 0 ? 'idle' : 'lost');
      throw e;
    }
    if (this.closing) {
      for (const c of [...clients].reverse()) c.end();
      throw new IoError('connection-lost', `connection to ${this.key} was closed`);
    }
    this.clients = clients;
    this.generation++;
    const gen = this.generation;
    for (const c of clients) c.once('close', () => this.onDrop(gen));
    this.setState('ready');
    this.log('ready', this.key, `connected${this.chain.length > 1 ? ` through ${this.chain.length - 1} jump host(s)` : ''}`);
  }

  private onDrop(gen: number): void {
    if (gen !== this.generation || this._state === 'closed') return;
    for (const c of [...this.clients].reverse()) c.end();
    this.clients = [];
    if (this.closing) {
      this.setState('closed');
      return;
    }
    this.setState('lost');
    this.log('lost', this.key, `connection lost${this.lastDropReason === '' ? '' : `: ${this.lastDropReason}`}`);
    this.emit('lost', this.lastDropReason);
  }

  private hostKeyVerifier(hop: ResolvedHost): HostKeyVerifier {
    const policy = this.opts.hostKeys ?? {};
    const label = hopLabel(hop);
    let mode: StrictHostKeyChecking = policy.mode ?? hop.strictHostKeyChecking ?? 'ask';
    if (policy.mode === undefined && mode === 'no' && policy.insecureAllowNoCheck !== true) {
      this.log('warning', label, `StrictHostKeyChecking no in the ssh config is not honoured: host keys are checked in "ask" mode${policy.ask === undefined ? ' (no one to ask: unknown keys are refused)' : ''}`);
      mode = 'ask';
    }
    const writeFile = policy.allowWrite === true ? (policy.writeFile ?? hop.userKnownHostsFiles[0]) : undefined;
    const files = [...hop.userKnownHostsFiles, ...hop.globalKnownHostsFiles];
    if (writeFile !== undefined && !files.includes(writeFile)) files.unshift(writeFile);
    return new HostKeyVerifier({
      mode,
      knownHostsFiles: files,
      ...(writeFile === undefined ? {} : { writeFile }),
      hashOnWrite: hop.hashKnownHosts,
      ...(policy.ask === undefined ? {} : { ask: policy.ask }),
      ...(policy.insecureAllowNoCheck === undefined ? {} : { insecureAllowNoCheck: policy.insecureAllowNoCheck }),
      session: this.session,
      log: (m) => this.log('host-key', label, m),
    });
  }

  private async connectHop(index: number, hop: ResolvedHost, via: { client: Client; label: string } | undefined): Promise<Client> {
    const label = hopLabel(hop);
    const connectTimeout = this.opts.connectTimeoutMs ?? hop.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    // What the ssh config could not honour (Match exec not run, ignored options, loose file modes), once.
    if (this.generation === 0) for (const w of hop.warnings) this.log('warning', label, w);
    const verifier = this.hostKeyVerifier(hop);
    const knownTypes = await verifier.preferredKeyTypes(hop.hostname, hop.port, hop.hostKeyAlias);
    this.log('connect', label, via === undefined ? `connecting to ${label}` : `connecting to ${label} via ${via.label}`);
    const sock: Duplex = via === undefined ? await tcpConnect(hop.hostname, hop.port, connectTimeout, this.opts.lookup) : await forwardOut(via.client, hop.hostname, hop.port, connectTimeout, via.label);

    const creds = this.credentials[index] ?? new HopCredentials();
    const client = new Client();
    return new Promise<Client>((resolve, reject) => {
      let settled = false;
      let hostKeyError: IoError | undefined;
      let authTimer: PausableTimer | undefined;
      const fail = (e: IoError): void => {
        if (settled) return;
        settled = true;
        handshakeTimer.stop();
        authTimer?.stop();
        client.end();
        sock.destroy();
        reject(e);
      };
      const handshakeTimer = new PausableTimer(this.opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, () => {
        fail(new IoError('timeout', `timed out: ${label} accepted the TCP connection but the SSH handshake did not complete (sshd overloaded, MaxStartups reached, or not an SSH server?)`, { target: label, phase: 'handshake' }));
      });
      const plan = buildAuthPlan({
        hop,
        target: label,
        prompt: this.opts.prompt,
        credentials: creds,
        agentSocketExists: socketExists,
        note: (m) => this.log('auth', label, m),
        onAttempt: (m) => this.log('auth', label, `trying ${m}`),
        promptStarted: () => authTimer?.pause(),
        promptEnded: () => authTimer?.resume(),
      });
      const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
        handshakeTimer.pause();
        verifier.verify(hop.hostname, hop.port, key, hop.hostKeyAlias).then(
          (d) => {
            handshakeTimer.resume();
            this.log('host-key', label, `${d.keyType} ${d.fingerprint}: ${d.how}${d.saved ? ' (saved)' : ''}`);
            verify(true);
          },
          (e: unknown) => {
            hostKeyError = isIoError(e) ? e : new IoError('protocol', `host key check of ${label} failed: ${(e as Error).message}`, { target: label, phase: 'host-key' }, { cause: e });
            this.log('host-key', label, hostKeyError.message.split('\n')[0] ?? '');
            verify(false);
          },
        );
      };
      client.on('handshake', () => {
        handshakeTimer.stop();
        authTimer = new PausableTimer(this.opts.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS, () => {
          fail(new IoError('timeout', `timed out while authenticating to ${label}`, { target: label, phase: 'auth' }));
        });
      });
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        handshakeTimer.stop();
        authTimer?.stop();
        if (plan.lastPassword !== undefined) creds.password = plan.lastPassword;
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (settled) {
          // after connect: remembered for the 'lost' message; the 'close' that follows is handled by establish()
          this.lastDropReason = `${label}: ${err.message}`;
          return;
        }
        // agent trouble and a failed signature are not fatal: ssh2 moves on to the next method
        if (err.level === 'agent' || (err.level === 'client-authentication' && !/All configured authentication methods failed/.test(err.message))) {
          this.log('auth', label, err.message);
          return;
        }
        if (hostKeyError !== undefined) return fail(hostKeyError);
        if (err.level === 'client-authentication') {
          if (plan.cancelled) return fail(new IoError('cancelled', `authentication to ${label} cancelled`, { target: label, phase: 'auth' }));
          const tried = describeTried(plan, creds.fileAgent);
          return fail(
            new IoError(
              'auth-failed',
              `authentication to ${label} failed; tried: ${tried.length === 0 ? 'nothing (no key, agent or prompt available)' : tried.join(', ')}`,
              { target: label, phase: 'auth', triedMethods: tried },
            ),
          );
        }
        const code = (err as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && code.startsWith('E')) return fail(mapSocketError(err, label, 'tcp-connect'));
        fail(new IoError('protocol', `SSH connection to ${label} failed: ${err.message}`, { target: label, phase: authTimer === undefined ? 'handshake' : 'auth' }, { cause: err }));
      });
      client.on('close', () => {
        if (settled) return;
        if (hostKeyError !== undefined) return fail(hostKeyError);
        fail(new IoError('protocol', `${label} closed the connection during ${authTimer === undefined ? 'the handshake' : 'authentication'}`, { target: label, phase: authTimer === undefined ? 'handshake' : 'auth' }));
      });
      const keepalive = this.opts.keepaliveIntervalMs ?? (hop.serverAliveIntervalMs > 0 ? hop.serverAliveIntervalMs : DEFAULT_KEEPALIVE_MS);
      const config: ConnectConfig = {
        sock,
        username: hop.user,
        readyTimeout: 0,
        keepaliveInterval: keepalive,
        keepaliveCountMax: this.opts.keepaliveCountMax ?? hop.serverAliveCountMax,
        hostVerifier,
        authHandler: plan.handler as unknown as (authsLeft: AuthenticationType[], partial: boolean, next: (m: AnyAuthMethod) => void) => void,
        algorithms: { serverHostKey: hostKeyAlgorithmsFor(knownTypes) },
      };
      try {
        client.connect(config);
      } catch (e) {
        fail(new IoError('protocol', `cannot start SSH to ${label}: ${(e as Error).message}`, { target: label }, { cause: e }));
      }
    });
  }

  /**
   * Opens an exec channel running `command` (a line for the remote shell: build it with
   * renderCommand). Reconnects first when the connection was lost. The returned release
   * function MUST be called when the channel has closed (SshRunner does).
   * `beyondLimit`: for the runner's kill-by-pid helpers, which must not queue behind the very
   * commands they kill (maxChannels 8 stays below sshd's default MaxSessions 10 to leave room).
   */
  async exec(command: string, signal?: AbortSignal, opts: { readonly beyondLimit?: boolean } = {}): Promise<{ channel: ClientChannel; release: () => void }> {
    if (signal?.aborted === true) throw abortReason(signal, 'aborted before the command started');
    const release = await this.slots.acquire(signal, opts.beyondLimit === true);
    // set while a channel open is abandoned (signal) but not settled: its slot stays taken
    let opening = false;
    try {
      for (let attempt = 0; ; attempt++) {
        // a reconnect (with its backoff) is shared by every caller: abandoning it here does not stop it
        await untilAborted(this.connect(), signal, 'aborted while connecting');
        const client = this.clients[this.clients.length - 1];
        if (client === undefined) throw new IoError('connection-lost', `not connected to ${this.key}`);
        const open = new Promise<ClientChannel>((resolve, reject) => {
          client.exec(command, (err, ch) => (err === undefined ? resolve(ch) : reject(err)));
        });
        opening = true;
        try {
          const channel = await untilAborted(open, signal, 'aborted while the channel was opening');
          opening = false;
          return { channel, release };
        } catch (e) {
          if (signal !== undefined && e === signal.reason) {
            // Abandoned while the server had not confirmed: the server may still open it (and
            // run the command): close it then. The slot is freed once the open settles (ssh2
            // settles every pending open when the connection closes).
            open.then(
              (ch) => {
                ch.on('close', release);
                ch.close();
              },
              () => release(),
            );
            throw e;
          }
          opening = false;
          // the channel never opened, so the command did not run: safe to retry once after a drop
          if (attempt === 0 && this.state !== 'ready') continue;
          throw new IoError('command-failed', `cannot open a channel on ${this.key}: ${(e as Error).message}`, { target: this.key, phase: 'exec' }, { cause: e });
        }
      }
    } catch (e) {
      if (!opening) release();
      throw e;
    }
  }

  /** Closes every hop (target first). Idempotent. */
  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this.closing = true;
    const pending = this.pending;
    if (pending !== undefined) await pending.catch(() => undefined);
    const clients = [...this.clients].reverse();
    this.clients = [];
    await Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 2000);
            c.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            c.end();
          }),
      ),
    );
    for (const cr of this.credentials) cr.clear();
    this.setState('closed');
    this.log('closed', this.key, 'connection closed');
  }
}

export interface ConnectionPoolOptions extends SshConnectionOptions {
  readonly resolve?: ResolveOptions;
}

/**
 * One connection per chain (key: `user@host:port` of each hop, jump hosts first), shared by
 * every runner. Concurrent get()s for the same target wait for the same connect.
 */
export class ConnectionPool {
  private readonly connections = new Map<string, SshConnection>();
  private readonly session: SessionHostKeys;
  private readonly opts: ConnectionPoolOptions;

  constructor(opts: ConnectionPoolOptions = {}) {
    this.session = opts.hostKeys?.session ?? new SessionHostKeys();
    this.opts = { ...opts, hostKeys: { ...(opts.hostKeys ?? {}), session: this.session } };
  }

  get size(): number {
    return this.connections.size;
  }

  /** Resolves the target through the ssh config (or takes a resolved chain) and returns its connection, connected. */
  async get(target: string | TargetSpec | readonly ResolvedHost[], options: { readonly jump?: string } = {}): Promise<SshConnection> {
    const chain = isChain(target) ? target : await resolveChain(target, { ...(this.opts.resolve ?? {}), ...(options.jump === undefined ? {} : { jump: options.jump }) });
    const key = chainKey(chain);
    let conn = this.connections.get(key);
    if (conn === undefined || conn.state === 'closed') {
      conn = new SshConnection(chain, this.opts);
      this.connections.set(key, conn);
    }
    try {
      await conn.connect();
    } catch (e) {
      if (conn.connectCount === 0 && this.connections.get(key) === conn) this.connections.delete(key);
      throw e;
    }
    return conn;
  }

  async closeAll(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}

function isChain(t: string | TargetSpec | readonly ResolvedHost[]): t is readonly ResolvedHost[] {
  return Array.isArray(t);
}
