/**
 * Against REAL OpenSSH servers started here (see helpers/sshd.ts): sshd "A" is the target,
 * "B" the jump host, "C" the one whose host key changes. Needs openssh-server
 * (`apt-get install -y openssh-server`); every sshd is stopped by pid in after().
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CommandLogEntry } from '../../src/io/runner';
import { LocalRunner } from '../../src/io/localRunner';
import { SshRunner } from '../../src/io/sshRunner';
import { detectPrivilege } from '../../src/io/sudo';
import type { PromptRequest } from '../../src/io/ssh/auth';
import type { ResolveOptions } from '../../src/io/ssh/config';
import { ConnectionPool, describeSshEvent, type ConnectionPoolOptions, type SshLogEvent } from '../../src/io/ssh/connection';
import { openHost } from '../../src/io/host';
import { fingerprintSha256 } from '../../src/io/ssh/knownHosts';
import { freePort, keygen, keygenFingerprint, sshdAvailable, startSshd, type Sshd } from './helpers/sshd';
import { rejectsKind } from './helpers/errors';

describe('SSH against real OpenSSH servers', () => {
  assert.ok(sshdAvailable(), 'openssh-server is required for these tests: apt-get install -y openssh-server');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-ssh-'));
  const clientKey = path.join(dir, 'id_ed25519');
  const encKey = path.join(dir, 'id_enc');
  const strangerKey = path.join(dir, 'id_stranger_enc');
  const cfg = path.join(dir, 'ssh_config');
  const knownHosts = path.join(dir, 'known_hosts');
  const emptyKnownHosts = path.join(dir, 'known_hosts_empty');
  const cKnownHosts = path.join(dir, 'known_hosts_c');
  let A: Sshd;
  let B: Sshd;
  let C: Sshd;
  let agent: ChildProcess | undefined;
  const agentSock = path.join(dir, 'agent.sock');
  const pools: ConnectionPool[] = [];
  const resolve: ResolveOptions = { configFile: cfg, homeDir: path.join(dir, 'home'), env: {} };

  function pool(extra: Partial<ConnectionPoolOptions> = {}, events: SshLogEvent[] = []): ConnectionPool {
    const p = new ConnectionPool({ resolve, hostKeys: { mode: 'yes' }, log: (e) => events.push(e), connectTimeoutMs: 5000, ...extra });
    pools.push(p);
    return p;
  }

  before(async () => {
    keygen(clientKey);
    keygen(encKey, 'ed25519', 'correct horse');
    keygen(strangerKey, 'ed25519', 'stranger pass');
    const authorized = `${readFileSync(`${clientKey}.pub`, 'utf8')}${readFileSync(`${encKey}.pub`, 'utf8')}`;
    [A, B, C] = await Promise.all([startSshd('A', dir, authorized), startSshd('B', dir, authorized), startSshd('C', dir, authorized)]);
    writeFileSync(knownHosts, `${A.knownHostsLine()}\n${B.knownHostsLine()}\n`);
    writeFileSync(emptyKnownHosts, '');
    writeFileSync(cKnownHosts, `${C.knownHostsLine()}\n`);
    const common = (port: number, kh: string): string =>
      [`  HostName 127.0.0.1`, `  Port ${port}`, `  User root`, `  UserKnownHostsFile ${kh}`, `  GlobalKnownHostsFile none`, `  IdentityAgent none`].join('\n');
    writeFileSync(
      cfg,
      [
        `Host target`,
        common(A.port, knownHosts),
        `  IdentityFile ${clientKey}`,
        `Host target-unknown`,
        common(A.port, emptyKnownHosts),
        `  IdentityFile ${clientKey}`,
        `Host target-accept`,
        common(A.port, path.join(dir, 'kh-accept-not-allowed')),
        `  IdentityFile ${clientKey}`,
        `Host target-enc`,
        common(A.port, knownHosts),
        `  IdentityFile ${strangerKey}`,
        `  IdentityFile ${encKey}`,
        `Host target-stranger`,
        common(A.port, knownHosts),
        `  IdentityFile ${strangerKey}`,
        `Host target-agent`,
        `  HostName 127.0.0.1`,
        `  Port ${A.port}`,
        `  User root`,
        `  UserKnownHostsFile ${knownHosts}`,
        `  IdentityAgent ${agentSock}`,
        `  IdentityFile ${path.join(dir, 'does-not-exist')}`,
        `Host jump`,
        common(B.port, knownHosts),
        `  IdentityFile ${clientKey}`,
        `Host behind-jump`,
        common(A.port, knownHosts),
        `  IdentityFile ${clientKey}`,
        `  ProxyJump jump`,
        `Host behind-jump-unknown`,
        common(A.port, emptyKnownHosts),
        `  IdentityFile ${clientKey}`,
        `  ProxyJump jump`,
        `Host changing`,
        common(C.port, cKnownHosts),
        `  IdentityFile ${clientKey}`,
        `Host target-warned`,
        common(A.port, knownHosts),
        `  IdentityFile ${clientKey}`,
        `Match originalhost target-warned exec "touch ${path.join(dir, 'match-exec-ran')}"`,
        `  User nobody`,
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.closeAll()));
    await Promise.all([A, B, C].filter((s) => s !== undefined).map((s) => s.stop()));
    if (agent?.pid !== undefined && agent.exitCode === null) process.kill(agent.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  test('connects with a key (host key checked first) and runs id -u', async () => {
    const events: SshLogEvent[] = [];
    const conn = await pool({}, events).get('target');
    const r = await new SshRunner(conn).run(['id', '-u'], { timeoutMs: 10_000 });
    assert.equal(r.stdout, '0\n');
    assert.equal(r.exitCode, 0);
    const firstHostKey = events.findIndex((e) => e.type === 'host-key');
    const firstAuth = events.findIndex((e) => e.type === 'auth');
    assert.ok(firstHostKey !== -1 && firstAuth > firstHostKey, events.map((e) => `${e.type}: ${e.message}`).join('\n'));
    assert.ok(events[firstHostKey]?.message.includes(keygenFingerprint(`${A.hostKey}.pub`)));
  });

  test('what the ssh config cannot honour (Match exec) reaches the events of openHost, and the exec never runs', async () => {
    const events: SshLogEvent[] = [];
    const host = await openHost({ target: 'target-warned', resolve, hostKeys: { mode: 'yes' }, events: (e) => events.push(e), connection: { connectTimeoutMs: 5000 } });
    try {
      assert.equal((await host.runner.run(['id', '-u'], { timeoutMs: 10_000 })).stdout, '0\n', 'the Match block did not apply (User root kept)');
    } finally {
      await host.close();
    }
    const warning = events.find((e) => e.type === 'warning' && /Match exec/.test(e.message));
    assert.ok(warning, events.map(describeSshEvent).join('\n'));
    assert.match(describeSshEvent(warning), /^\[root@127\.0\.0\.1:\d+\] ssh warning: .*ssh_config:\d+: "Match exec" is never run/);
    assert.ok(!existsSync(path.join(dir, 'match-exec-ran')), 'Match exec ran a command');
    assert.ok(events.some((e) => e.type === 'connect') && events.some((e) => e.type === 'host-key') && events.some((e) => e.type === 'auth'), 'connect, host-key and auth events reach the caller');
  });

  test('hostile argv round-trips through the real remote shell (printf %s\\n)', async () => {
    const hostile = ['$(id)', '`id`', "it's", "'", '"double"', 'a\nb', 'tab\there', ';', '|', '&&', '>x', '*', '~', '$HOME', '\\', ' lead', 'trail ', '!', '#c', 'NAME=v', '=cmd', 'ü€', '-n', '--'];
    const conn = await pool().get('target');
    const r = await new SshRunner(conn).run(['printf', '%s\\n'.replace('\\\\', '\\'), ...hostile], { timeoutMs: 10_000 });
    assert.equal(r.stdout, hostile.map((h) => `${h}\n`).join(''));
    assert.equal(r.stderr, '');
  });

  test('reuse: one connection per host, shared by concurrent runs', async () => {
    const before = (A.log().match(/Accepted publickey/g) ?? []).length;
    const p = pool();
    const [c1, c2] = await Promise.all([p.get('target'), p.get('root@target')]);
    assert.equal(c1, c2);
    assert.equal(p.size, 1);
    const runner = new SshRunner(c1);
    const rs = await Promise.all([runner.run(['echo', 'one'], { timeoutMs: 10_000 }), new SshRunner(c2).run(['echo', 'two'], { timeoutMs: 10_000 })]);
    assert.deepEqual(rs.map((r) => r.stdout), ['one\n', 'two\n']);
    assert.equal(c1.connectCount, 1);
    assert.equal((A.log().match(/Accepted publickey/g) ?? []).length - before, 1);
  });

  test('unknown host key is refused under "yes" before any authentication', async () => {
    const mark = A.log().length;
    const events: SshLogEvent[] = [];
    const e = await rejectsKind(pool({}, events).get('target-unknown'), 'host-key-unknown');
    assert.ok(e.message.includes(keygenFingerprint(`${A.hostKey}.pub`)), e.message);
    assert.equal(e.details.hostKey?.keyType, 'ssh-ed25519');
    assert.deepEqual(events.filter((x) => x.type === 'auth'), [], 'an auth method was tried');
    await new Promise((r) => setTimeout(r, 200));
    const serverSide = A.log().slice(mark);
    assert.doesNotMatch(serverSide, /Accepted|Failed|Postponed|userauth|Invalid user/, serverSide);
    assert.equal(readFileSync(emptyKnownHosts, 'utf8'), '');
  });

  test('accept-new accepts, and writes only to a file the caller allows', async () => {
    const notAllowed = path.join(dir, 'kh-accept-not-allowed');
    const c1 = await pool({ hostKeys: { mode: 'accept-new' } }).get('target-accept');
    assert.equal(c1.state, 'ready');
    assert.equal(existsSync(notAllowed), false, 'known_hosts written without permission');
    assert.equal(existsSync(path.join(dir, 'home', '.ssh', 'known_hosts')), false);

    const allowed = path.join(dir, 'kh-allowed', 'known_hosts');
    const c2 = await pool({ hostKeys: { mode: 'accept-new', allowWrite: true, writeFile: allowed } }).get('target-accept');
    assert.equal(c2.state, 'ready');
    const text = readFileSync(allowed, 'utf8');
    const [, type, b64] = A.knownHostsLine().split(' ');
    assert.equal(text, `[127.0.0.1]:${A.port} ${type ?? ''} ${b64 ?? ''}\n`);
    assert.equal(existsSync(notAllowed), false);
    // the saved key now counts as known in strict mode
    const c3 = await pool({ hostKeys: { mode: 'yes', allowWrite: true, writeFile: allowed } }).get('target-accept');
    assert.equal(c3.state, 'ready');
  });

  test('a CHANGED host key is refused in yes, accept-new and ask modes (also on reconnect), with both fingerprints', async () => {
    const oldFp = keygenFingerprint(`${C.hostKey}.pub`);
    const events: SshLogEvent[] = [];
    const live = pool({ reconnect: { attempts: 2, initialDelayMs: 50 } }, events);
    const conn = await live.get('changing');
    const runner = new SshRunner(conn);
    assert.equal((await runner.run(['true'], { timeoutMs: 10_000 })).exitCode, 0);

    await C.restart({ newHostKey: true });
    const newFp = keygenFingerprint(`${C.hostKey}.pub`);
    assert.notEqual(oldFp, newFp);
    // the old session survives an sshd restart: drop it, so the next command reconnects
    await rejectsKind(runner.run(['sh', '-c', 'kill -9 $PPID'], { timeoutMs: 10_000 }), 'connection-lost');
    const onReconnect = await rejectsKind(runner.run(['true'], { timeoutMs: 10_000 }), 'host-key-changed');
    assert.ok(onReconnect.message.includes(oldFp) && onReconnect.message.includes(newFp), onReconnect.message);

    let asked = 0;
    for (const mode of ['yes', 'accept-new', 'ask'] as const) {
      const e = await rejectsKind(
        pool({
          hostKeys: {
            mode,
            allowWrite: true,
            writeFile: cKnownHosts,
            ask: () => {
              asked++;
              return Promise.resolve('accept-and-save');
            },
          },
        }).get('changing'),
        'host-key-changed',
      );
      assert.ok(e.message.includes(`known   ssh-ed25519 ${oldFp}`), e.message);
      assert.ok(e.message.includes(`offered ssh-ed25519 ${newFp}`), e.message);
      assert.ok(e.message.includes(`${cKnownHosts}:1`), e.message);
    }
    assert.equal(asked, 0);
    assert.equal(readFileSync(cKnownHosts, 'utf8').trim().split('\n').length, 1, 'known_hosts was modified');
  });

  test('timeout and abort of `sleep 30` are fast; the channel closes and the remote process is gone', async () => {
    const conn = await pool().get('target');
    const runner = new SshRunner(conn);
    const local = new LocalRunner();
    const gone = async (pattern: string): Promise<boolean> => {
      for (let i = 0; i < 40; i++) {
        if ((await local.run(['pgrep', '-f', pattern], { timeoutMs: 5000 })).exitCode === 1) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };

    let t0 = Date.now();
    const e = await rejectsKind(runner.run(['sleep', '30.011'], { timeoutMs: 400 }), 'command-timeout');
    assert.ok(Date.now() - t0 < 3000, `timeout took ${Date.now() - t0} ms`);
    assert.match(e.message, /timed out after 400 ms/);
    assert.ok(await gone('^sleep 30.011$'), 'remote sleep still running after the timeout');

    const ac = new AbortController();
    t0 = Date.now();
    setTimeout(() => ac.abort(), 300);
    await rejectsKind(runner.run(['sleep', '30.012'], { timeoutMs: 20_000, signal: ac.signal }), 'command-aborted');
    assert.ok(Date.now() - t0 < 3000, `abort took ${Date.now() - t0} ms`);
    assert.ok(await gone('^sleep 30.012$'), 'remote sleep still running after the abort');
    for (let i = 0; i < 40 && conn.activeChannels > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(conn.activeChannels, 0, 'a channel stayed open');
    // the connection is still usable
    assert.equal((await runner.run(['echo', 'still here'], { timeoutMs: 10_000 })).stdout, 'still here\n');
  });

  test('connection refused and DNS failure are reported as such', async () => {
    const port = await freePort();
    const refused = await rejectsKind(pool().get(`root@127.0.0.1:${port}`), 'refused');
    assert.match(refused.message, /refused/);
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND no-such-host.invalid'), { code: 'ENOTFOUND' });
    const dns = await rejectsKind(
      pool({ lookup: ((_h: string, _o: unknown, cb: (e: Error) => void) => process.nextTick(() => cb(notFound))) as never }).get('root@no-such-host.invalid'),
      'dns',
    );
    assert.match(dns.message, /cannot resolve/);
  });

  test('a SYN that is never answered times out, naming a full conntrack table as one cause', async () => {
    // a listener with a full accept queue: the kernel drops further SYNs, as a full conntrack table would
    const script =
      'use Socket; socket(my $s, PF_INET, SOCK_STREAM, 0) or die; bind($s, pack_sockaddr_in(0, inet_aton("127.0.0.1"))) or die; listen($s, 0) or die; my ($p) = unpack_sockaddr_in(getsockname($s)); $| = 1; print "$p\\n"; sleep 60;';
    const perl = spawn('perl', ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const filler: net.Socket[] = [];
    try {
      const port = await new Promise<number>((r) => perl.stdout.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
      for (let i = 0; i < 2; i++) filler.push(net.connect({ host: '127.0.0.1', port }).on('error', () => undefined));
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      const e = await rejectsKind(pool({ connectTimeoutMs: 800 }).get(`root@127.0.0.1:${port}`), 'timeout');
      assert.ok(Date.now() - t0 < 3000);
      assert.equal(e.details.phase, 'tcp-connect');
      assert.match(e.message, /conntrack table/);
      assert.match(e.message, /existing|already exist/);
    } finally {
      filler.forEach((s) => s.destroy());
      if (perl.pid !== undefined) process.kill(perl.pid, 'SIGTERM');
    }
  });

  test('ProxyJump through a second sshd: each hop is verified', async () => {
    const events: SshLogEvent[] = [];
    const p = pool({}, events);
    const conn = await p.get('behind-jump');
    assert.equal(conn.key, `root@127.0.0.1:${B.port} > root@127.0.0.1:${A.port}`);
    assert.equal((await new SshRunner(conn).run(['id', '-u'], { timeoutMs: 10_000 })).stdout, '0\n');
    const verified = events.filter((e) => e.type === 'host-key' && /: known$/.test(e.message)).map((e) => e.target);
    assert.deepEqual(verified, [`root@127.0.0.1:${B.port}`, `root@127.0.0.1:${A.port}`]);
    assert.match(B.log(), /direct-tcpip|Accepted publickey/);
    // the target behind the jump host with an unknown key: refused, naming that hop
    const e = await rejectsKind(pool().get('behind-jump-unknown'), 'host-key-unknown');
    assert.equal(e.details.target, `127.0.0.1:${A.port}`);
  });

  test('stream() over SSH: 100k lines arrive in pieces; exit code at the end', async () => {
    const conn = await pool().get('target');
    const s = new SshRunner(conn).stream(['seq', '1', '100000'], { timeoutMs: 30_000 });
    let text = '';
    let chunks = 0;
    for await (const c of s) {
      text += c;
      chunks++;
    }
    const r = await s.result;
    assert.equal(r.exitCode, 0);
    assert.ok(chunks > 1);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 100000);
    assert.equal(lines[99999], '100000');
    await rejectsKind(new SshRunner(conn).run(['seq', '1', '100000'], { timeoutMs: 10_000, maxOutputBytes: 10_000 }), 'output-too-large');
  });

  test('a dropped connection is re-established by the next command', async () => {
    const p = pool({ reconnect: { attempts: 3, initialDelayMs: 50 } });
    const conn = await p.get('target');
    const runner = new SshRunner(conn);
    // kill our own sshd session process: the TCP connection drops mid-command
    await rejectsKind(runner.run(['sh', '-c', 'kill -9 $PPID'], { timeoutMs: 10_000 }), 'connection-lost');
    const r = await runner.run(['id', '-u'], { timeoutMs: 10_000 });
    assert.equal(r.stdout, '0\n');
    assert.equal(conn.connectCount, 2);
  });

  test('privileges on a root login: detected as root, privileged commands run as is with their stdin', async () => {
    const log: CommandLogEntry[] = [];
    const runner = new SshRunner(await pool().get('target'), { log: (e) => log.push(e) });
    assert.equal(await detectPrivilege(runner), 'root');
    const r = await runner.run(['cat'], { stdin: 'data for root\n', timeoutMs: 10_000, privileged: true });
    assert.equal(r.stdout, 'data for root\n');
    assert.equal(log.at(-1)?.command, 'cat');
    assert.equal(log.at(-1)?.privileged, true);
  });

  test('identity files in order; a passphrase is asked only for the key the server accepts', async () => {
    const prompts: PromptRequest[] = [];
    const conn = await pool({
      prompt: (req) => {
        prompts.push(req);
        return Promise.resolve(req.attempt === 1 ? 'wrong guess' : 'correct horse');
      },
    }).get('target-enc');
    assert.equal(conn.state, 'ready');
    assert.deepEqual(
      prompts.map((p) => [p.kind, p.keyFile, p.attempt, p.echo]),
      [
        ['passphrase', encKey, 1, false],
        ['passphrase', encKey, 2, false],
      ],
    );
  });

  test('authentication failure names the methods tried', async () => {
    const e = await rejectsKind(pool().get('target-stranger'), 'auth-failed');
    assert.match(e.message, new RegExp(`publickey \\(${strangerKey.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
    assert.deepEqual(e.details.triedMethods, [`publickey (${strangerKey})`]);
  });

  test('ssh-agent (IdentityAgent path) authenticates', async () => {
    agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
    execFileSync('ssh-add', ['-q', clientKey], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: 'ignore' });
    const events: SshLogEvent[] = [];
    const conn = await pool({}, events).get('target-agent');
    assert.equal((await new SshRunner(conn).run(['echo', 'via agent'], { timeoutMs: 10_000 })).stdout, 'via agent\n');
    assert.ok(events.some((e) => e.type === 'auth' && e.message.includes(`agent ${agentSock}`)));
    assert.equal(fingerprintSha256(Buffer.from(readFileSync(`${clientKey}.pub`, 'utf8').split(' ')[1] ?? '', 'base64')), keygenFingerprint(`${clientKey}.pub`));
  });
});
