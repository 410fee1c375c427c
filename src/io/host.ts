/**
 * A host the product talks to: a runner (SSH or local) plus the round trips built on it —
 * one snapshot, the entry summary on the host, a page of entries, applying and rolling back
 * fixes. Used by the CLI and (later) the extension; no vscode here.
 */
import { randomBytes } from 'node:crypto';
import { buildSnapshot, collectionScript, parseCollectionOutput } from '../core/host/collect';
import { entryPageArgs, entryPageScript, entrySummaryArgs, entrySummaryScript, parseEntrySummaryOutput } from '../core/host/entries';
import type { HostSnapshot } from '../core/host/snapshot';
import type { EntrySummary } from '../core/kernel/entrySummary';
import { parseConntrackLine, type ConntrackEntry } from '../core/kernel/conntrackEntries';
import type { EntryFilter } from '../core/fix/entries-fixes';
import { ConnectionPool, type ConnectionPoolOptions } from './ssh/connection';
import { detectPrivilege, LocalRunner, SshRunner, type CommandLogEntry, type CommandRunner, type Privilege } from './runner';
import type { Prompter } from './ssh/auth';
import type { ResolveOptions } from './ssh/config';
import type { HostKeyPolicy } from './ssh/connection';

export interface OpenHostOptions {
  /** `local` (this machine, no SSH), an ssh config alias, or user@host[:port]. */
  readonly target: string;
  readonly resolve?: ResolveOptions;
  readonly hostKeys?: HostKeyPolicy;
  readonly prompt?: Prompter;
  readonly log?: (entry: CommandLogEntry) => void;
  readonly pool?: ConnectionPool;
  readonly connection?: Omit<ConnectionPoolOptions, 'resolve' | 'hostKeys' | 'prompt'>;
}

export const LOCAL_TARGET = 'local';

export class HostSession {
  private privilege: Privilege | undefined;

  constructor(
    readonly name: string,
    readonly runner: CommandRunner,
    private readonly pool: ConnectionPool | undefined,
    private readonly ownsPool: boolean,
  ) {}

  /** root, passwordless sudo, sudo with a password, or none (cached). */
  async privileges(): Promise<Privilege> {
    if (this.privilege === undefined) this.privilege = await detectPrivilege(this.runner, { timeoutMs: 15_000 });
    return this.privilege;
  }

  /** One round trip: everything the diagnosis needs (privileged when possible). */
  async snapshot(opts: { signal?: AbortSignal; timeoutMs?: number; entries?: boolean; topN?: number } = {}): Promise<HostSnapshot> {
    const priv = await this.privileges();
    const privileged = priv !== 'none';
    const nonce = randomBytes(12).toString('hex');
    const r = await this.runner.run(['sh', '-s', '--', nonce], {
      stdin: collectionScript(),
      privileged,
      timeoutMs: opts.timeoutMs ?? 60_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (r.exitCode !== 0 && !r.stdout.includes(`@@${nonce} begin`)) {
      throw new Error(`collection failed on ${this.name} (exit ${r.exitCode}): ${r.stderr.trim().slice(0, 500)}`);
    }
    let snap = buildSnapshot(parseCollectionOutput(r.stdout, nonce), { takenAt: Date.now(), host: this.name });
    if (!privileged) {
      snap = { ...snap, unavailable: [{ what: 'root', why: `${this.runner.description} is not root and cannot use sudo: counters, slab size, firewall rules and the kernel log are limited to what an unprivileged user may read` }, ...(snap.unavailable ?? [])] };
    }
    if (opts.entries !== false) {
      try {
        snap = { ...snap, entrySummary: await this.entrySummary({ topN: opts.topN ?? 10, ...(opts.signal ? { signal: opts.signal } : {}) }) };
      } catch (err) {
        snap = { ...snap, unavailable: [...(snap.unavailable ?? []), { what: 'entry summary', why: err instanceof Error ? err.message : String(err) }] };
      }
    }
    return snap;
  }

  /** Top talkers etc., computed on the host in one streaming pass (awk). */
  async entrySummary(opts: { topN?: number; filter?: EntryFilter; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<EntrySummary> {
    const privileged = (await this.privileges()) !== 'none';
    const r = await this.runner.run(['sh', '-s', '--', ...entrySummaryArgs(opts.topN ?? 10, opts.filter ?? {})], {
      stdin: entrySummaryScript(),
      privileged,
      timeoutMs: opts.timeoutMs ?? 120_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (r.exitCode !== 0) throw new Error(r.stderr.replace(/^@@error /m, '').trim() || `entry summary failed (exit ${r.exitCode})`);
    return parseEntrySummaryOutput(r.stdout);
  }

  /** A page of entries (filtered on the host), and how many entries matched in all. */
  async entryPage(offset: number, limit: number, opts: { filter?: EntryFilter; signal?: AbortSignal } = {}): Promise<{ entries: ConntrackEntry[]; total: number; unparsed: number }> {
    const privileged = (await this.privileges()) !== 'none';
    const r = await this.runner.run(['sh', '-s', '--', ...entryPageArgs(offset, limit, opts.filter ?? {})], {
      stdin: entryPageScript(),
      privileged,
      timeoutMs: 120_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const entries: ConntrackEntry[] = [];
    let total = 0;
    let unparsed = 0;
    let rc: number | undefined;
    for (const line of r.stdout.split('\n')) {
      const m = /^@@total (\d+)$/.exec(line);
      if (m) {
        total = Number(m[1]);
        continue;
      }
      const code = /^@@rc (\d+)$/.exec(line);
      if (code) {
        rc = Number(code[1]);
        continue;
      }
      if (!line.trim()) continue;
      const parsed = parseConntrackLine(line);
      if (parsed.kind === 'entry') entries.push(parsed.entry);
      else unparsed++;
    }
    if (r.exitCode !== 0 || rc === undefined || rc !== 0) {
      const why = r.stderr.split('\n').filter((l) => l.trim() && !/flow entries have been shown/.test(l)).join(' ').trim();
      throw new Error(`listing the entries failed on ${this.name} (${rc !== undefined ? `conntrack exit ${rc}` : `exit ${r.exitCode}`})${why ? `: ${why.slice(0, 300)}` : ''}`);
    }
    return { entries, total, unparsed };
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool?.closeAll();
  }
}

/** Opens a host: `local` runs on this machine through execa; anything else over SSH. */
export async function openHost(o: OpenHostOptions): Promise<HostSession> {
  if (o.target === LOCAL_TARGET) {
    return new HostSession('local', new LocalRunner({ ...(o.log ? { log: o.log } : {}), ...(o.prompt ? { prompt: o.prompt } : {}) }), undefined, false);
  }
  const pool = o.pool ?? new ConnectionPool({
    ...(o.connection ?? {}),
    ...(o.resolve ? { resolve: o.resolve } : {}),
    ...(o.hostKeys ? { hostKeys: o.hostKeys } : {}),
    ...(o.prompt ? { prompt: o.prompt } : {}),
  });
  try {
    const conn = await pool.get(o.target);
    return new HostSession(o.target, new SshRunner(conn, { ...(o.log ? { log: o.log } : {}), ...(o.prompt ? { prompt: o.prompt } : {}) }), pool, o.pool === undefined);
  } catch (err) {
    if (o.pool === undefined) await pool.closeAll();
    throw err;
  }
}
