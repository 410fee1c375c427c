/**
 * Fault injection for the fault suite: a TCP relay between the product's SSH client and a real
 * test host's sshd that can cut the connection after a chosen number of client→server bytes
 * (the way a dropped Wi-Fi or a sleeping laptop cuts it: sshd sees the TCP connection end and
 * closes the session's stdin), plus the session opened through it and independent reads of the
 * host's files (`ctd-host exec`, no SSH involved).
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { after } from 'node:test';
import { retryUntil } from '../../harness/poll';
import type { TestHost } from '../../harness/host/testHost';
import type { CommandRunner, CommandStream, Privilege, RunOptions, RunResult, StreamOptions } from '../../src/io/runner';
import { openSession, type Session } from '../integration/helpers';

export class CutRelay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** client→server bytes relayed so far (all connections) */
  up = 0;
  private cutAt: number | undefined;
  /** set by a cut: new connections are refused */
  private down = false;
  /** resolves when a cut happened */
  private onCut: (() => void) | undefined;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly finDelayMs = 1000,
  ) {}

  async listen(): Promise<number> {
    const server = net.createServer((client) => {
      // After a cut the link stays down: the client's reconnects fail too.
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      let cutting = false;
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
      };
      const clientGone = (): void => {
        if (!cutting) drop();
      };
      client.on('error', clientGone).on('close', clientGone);
      upstream.on('error', drop).on('close', drop);
      upstream.on('data', (b: Buffer) => client.write(b));
      client.on('data', (b: Buffer) => {
        if (this.cutAt !== undefined && this.up + b.length >= this.cutAt) {
          const part = b.subarray(0, Math.max(0, this.cutAt - this.up));
          this.up += part.length;
          this.cutAt = undefined;
          // The prefix reaches sshd; the TCP connection ends (FIN) a moment later, as on a slow
          // link that goes away: by then the command runs and has read the prefix. (A cut within
          // the same instant as the exec kills the command before it starts: its first write to
          // the closed stderr is a SIGPIPE.)
          cutting = true;
          this.down = true;
          client.destroy();
          upstream.write(part);
          setTimeout(() => upstream.end(), this.finDelayMs);
          this.onCut?.();
          return;
        }
        this.up += b.length;
        upstream.write(b);
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('relay has no port');
    return addr.port;
  }

  /** Cuts every connection once `bytes` more client→server bytes went through. */
  cutAfter(bytes: number): Promise<void> {
    this.cutAt = this.up + bytes;
    return new Promise((resolve) => {
      this.onCut = resolve;
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A product session (root) to `host` through a CutRelay on loopback; both closed after the file. */
export async function relayedSession(dir: string, host: TestHost, alias: string): Promise<{ session: Session; relay: CutRelay }> {
  const relay = new CutRelay({ host: host.address, port: host.info.port });
  const port = await relay.listen();
  const session = await openSession(dir, host, { alias, hostName: '127.0.0.1', port, extraLines: [`  HostKeyAlias ${host.address}`], reconnect: { attempts: 1, initialDelayMs: 50 } });
  after(async () => {
    await session.session.close().catch(() => undefined);
    await relay.close();
  });
  return { session, relay };
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The bytes of a file on the host, read inside the host (no SSH); undefined when it does not exist. */
export async function hostFile(host: TestHost, path: string): Promise<Buffer | undefined> {
  const r = await host.exec(['sh', '-c', 'if [ -e "$1" ]; then base64 -w0 -- "$1"; else exit 44; fi', 'read', path]);
  if (r.code === 44) return undefined;
  if (r.code !== 0) throw new Error(`reading ${path} on ${host.name}: ${r.stderr}`);
  return Buffer.from(r.stdout.trim(), 'base64');
}

/** Waits until no process of the product's remote scripts runs on the host any more (after a cut). */
export async function remoteScriptsGone(host: TestHost): Promise<void> {
  await retryUntil(`conntrack-doctor scripts on ${host.name} ended`, 30_000, async () => {
    // Processes of this host only (its network namespace): other hosts on the machine run the same scripts.
    const r = await host.exec(['sh', '-c', 'me=$(readlink /proc/self/ns/net); n=0; for p in $(pgrep -f "[c]onntrack-doctor-"); do [ "$(readlink /proc/$p/ns/net 2>/dev/null)" = "$me" ] && n=$((n+1)); done; echo $n']);
    return r.stdout.trim() === '0' ? true : undefined;
  });
}

/** Temp files the writer leaves beside the target (`.conntrack-doctor.XXXXXX`). */
export async function leftoverTemps(host: TestHost, dir: string): Promise<string[]> {
  const r = await host.exec(['sh', '-c', 'ls -A -- "$1" | grep "^\\.conntrack-doctor\\." || true', 'ls', dir]);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/**
 * The product's runner with a hook at every command: `onCall(n, argv)` runs as command n starts
 * (the command itself runs on the real connection; the hook arms a cut or presses Cancel).
 */
export class HookedRunner implements CommandRunner {
  calls = 0;
  readonly description: string;
  constructor(
    private readonly inner: CommandRunner,
    private readonly onCall: (n: number, argv: readonly string[]) => void,
  ) {
    this.description = inner.description;
  }

  run(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
    this.calls += 1;
    this.onCall(this.calls, argv);
    return this.inner.run(argv, opts);
  }

  stream(argv: readonly string[], opts: StreamOptions): CommandStream {
    return this.inner.stream(argv, opts);
  }

  privilege(): Promise<Privilege> {
    return this.inner.privilege();
  }
}
