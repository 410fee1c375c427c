/**
 * Issue 11 item 4: a command's deadline starts when it is asked for. Waiting for a free channel,
 * a reconnect with its backoff and a channel open that the server never confirms are all inside
 * `timeoutMs`.
 *
 * - "never confirms": an SSH server (ssh2's real server implementation, the protocol the
 *   product's client speaks) that authenticates, answers every keepalive, and leaves session
 *   channel opens unanswered. OpenSSH cannot be made to do this (MaxSessions 0 answers the open
 *   with a failure at once), and a byte relay cannot pick one message out of the encrypted stream.
 * - channel slots and reconnect backoff: a real OpenSSH sshd (test/io/helpers/sshd.ts), the
 *   latter behind the fault suite's cutting relay.
 * The assertions are on the error kind: before the fix these calls hung (never confirmed, slot)
 * or ended with connection-lost after the whole backoff.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server } from 'ssh2';
import { SshRunner } from '../../src/io/sshRunner';
import { ConnectionPool, type ConnectionPoolOptions, type SshLogEvent } from '../../src/io/ssh/connection';
import { keygen, sshdAvailable, startSshd, type Sshd } from '../io/helpers/sshd';
import { rejectsKind } from '../io/helpers/errors';
import { cli } from '../integration/helpers';
import { CutRelay } from './helpers';

/**
 * Authenticates anyone, answers keepalives (ssh2's server answers every global request it does
 * not handle, keepalive@openssh.com included, with REQUEST_FAILURE: an answer is what keeps the
 * client's keepalive satisfied), never confirms a session channel.
 */
class NeverConfirmingServer {
  sessionOpens = 0;
  private readonly server: Server;
  constructor(hostKey: Buffer) {
    this.server = new Server({ hostKeys: [hostKey] }, (client) => {
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => ctx.accept());
      client.on('session', () => {
        this.sessionOpens += 1; // neither accept() nor reject(): the open stays unanswered
      });
      client.on('request', () => undefined);
    });
  }
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    return addr.port;
  }
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('deadlines start when a command is asked for', () => {
  assert.ok(sshdAvailable(), 'openssh-server is required for these tests: apt-get install -y openssh-server');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-deadline-'));
  const clientKey = path.join(dir, 'id_ed25519');
  const serverKey = path.join(dir, 'stuck_host_key');
  const cfg = path.join(dir, 'ssh_config');
  const knownHosts = path.join(dir, 'known_hosts');
  let sshd: Sshd;
  let stuck: NeverConfirmingServer;
  let relay: CutRelay;
  const pools: ConnectionPool[] = [];

  function pool(extra: Partial<ConnectionPoolOptions>, events: SshLogEvent[] = []): ConnectionPool {
    const p = new ConnectionPool({ resolve: { configFile: cfg, homeDir: path.join(dir, 'home'), env: {} }, hostKeys: { mode: 'yes' }, connectTimeoutMs: 10_000, log: (e) => events.push(e), ...extra });
    pools.push(p);
    return p;
  }

  before(async () => {
    keygen(clientKey);
    keygen(serverKey);
    sshd = await startSshd('D', dir, readFileSync(`${clientKey}.pub`, 'utf8'));
    stuck = new NeverConfirmingServer(readFileSync(serverKey));
    const stuckPort = await stuck.listen();
    relay = new CutRelay({ host: '127.0.0.1', port: sshd.port }, 0);
    const relayPort = await relay.listen();
    const [type, b64] = readFileSync(`${serverKey}.pub`, 'utf8').trim().split(/\s+/);
    writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n[127.0.0.1]:${stuckPort} ${type ?? ''} ${b64 ?? ''}\n`);
    const common = (port: number): string => [`  HostName 127.0.0.1`, `  Port ${port}`, `  User root`, `  UserKnownHostsFile ${knownHosts}`, `  GlobalKnownHostsFile none`, `  IdentityAgent none`, `  IdentityFile ${clientKey}`].join('\n');
    writeFileSync(cfg, [`Host real`, common(sshd.port), `Host stuck`, common(stuckPort), `Host relayed`, common(relayPort), `  HostKeyAlias [127.0.0.1]:${sshd.port}`, ''].join('\n'));
  });

  after(async () => {
    for (const p of pools) await p.closeAll().catch(() => undefined);
    await stuck.close().catch(() => undefined);
    await relay.close().catch(() => undefined);
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a server that answers keepalives but never confirms the session channel: run() times out, the connection stays up', { timeout: 60_000 }, async () => {
    const events: SshLogEvent[] = [];
    const conn = await pool({ keepaliveIntervalMs: 200, keepaliveCountMax: 3 }, events).get('stuck');
    const runner = new SshRunner(conn, { privilege: 'root' });
    const e = await rejectsKind(runner.run(['true'], { timeoutMs: 1500 }), 'command-timeout', /before it could start/);
    assert.match(e.message, /1500 ms/);
    assert.equal(stuck.sessionOpens, 1, 'the channel open reached the server');
    // keepalives were answered the whole time: the connection was never declared lost
    assert.equal(conn.state, 'ready');
    assert.ok(!events.some((x) => x.type === 'lost'), events.map((x) => x.message).join('\n'));
    // the unanswered open keeps its slot (the server counts it as well), and a second command
    // gets its own deadline instead of queueing behind it forever
    assert.equal(conn.activeChannels, 1);
    await rejectsKind(runner.run(['true'], { timeoutMs: 800 }), 'command-timeout');
    const s = runner.stream(['true'], { timeoutMs: 800 });
    await rejectsKind(s.result, 'command-timeout');
    assert.equal(stuck.sessionOpens, 3);
  });

  test('Cancel while the channel is not confirmed: command-aborted at once', { timeout: 60_000 }, async () => {
    const conn = await pool({}).get('stuck');
    const runner = new SshRunner(conn, { privilege: 'root' });
    const ac = new AbortController();
    const p = runner.run(['true'], { timeoutMs: 600_000, signal: ac.signal });
    const opensBefore = stuck.sessionOpens;
    // wait for the open to reach the server (an event, not a sleep)
    for (let i = 0; stuck.sessionOpens === opensBefore; i++) await new Promise((r) => setImmediate(r));
    ac.abort();
    await rejectsKind(p, 'command-aborted');
  });

  test('diagnose of many hosts: a host whose channel never opens is "not diagnosed", the worker goes on to the next host', { timeout: 180_000 }, async () => {
    // --parallel 1: one worker for both hosts; before the fix it never came back from "stuck"
    const r = await cli(['diagnose', 'stuck', 'real', '--ssh-config', cfg, '--interval', '0', '--parallel', '1', '--json'], { timeoutMs: 170_000 });
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    const rows = JSON.parse(r.stdout) as { target: string; error?: string; diagnosis?: unknown }[];
    assert.deepEqual(rows.map((x) => x.target), ['stuck', 'real']);
    assert.match(rows[0]?.error ?? '', /timed out .*before it could start/);
    // the worker reached the real host (diagnosed, or refused for its own reasons, not a hang)
    assert.ok(rows[1] !== undefined && (rows[1].diagnosis !== undefined || !/timed out/.test(rows[1].error ?? '')), JSON.stringify(rows[1]));
  });

  test('waiting for a free channel is inside the deadline (real sshd)', { timeout: 60_000 }, async () => {
    const conn = await pool({ maxChannels: 1 }).get('real');
    const runner = new SshRunner(conn, { privilege: 'root' });
    const hold = new AbortController();
    const holder = runner.run(['sleep', '30'], { timeoutMs: 60_000, signal: hold.signal });
    holder.catch(() => undefined);
    try {
      const e = await rejectsKind(runner.run(['true'], { timeoutMs: 1500 }), 'command-timeout', /before it could start/);
      assert.match(e.message, /free channel/);
    } finally {
      hold.abort();
    }
    await rejectsKind(holder, 'command-aborted');
    // the slot is free again: the next command runs
    const r = await runner.run(['echo', 'ok'], { timeoutMs: 15_000 });
    assert.equal(r.stdout, 'ok\n');
  });

  test('a reconnect with its backoff is inside the deadline (real sshd behind a relay that went down)', { timeout: 90_000 }, async () => {
    const events: SshLogEvent[] = [];
    // long backoff: before the fix the call waited for every attempt and ended with connection-lost
    const conn = await pool({ reconnect: { attempts: 4, initialDelayMs: 4000 } }, events).get('relayed');
    const runner = new SshRunner(conn, { privilege: 'root' });
    assert.equal((await runner.run(['echo', 'up'], { timeoutMs: 15_000 })).stdout, 'up\n');
    const cut = relay.cutAfter(1);
    const e = runner.run(['true'], { timeoutMs: 1500 });
    await cut;
    await rejectsKind(e, 'command-timeout', /before it could start/);
    assert.ok(events.some((x) => x.type === 'reconnect'), 'the connection was reconnecting when the deadline passed');
  });
});
