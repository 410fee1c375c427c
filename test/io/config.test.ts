import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { IoError } from '../../src/io/errors';
import { chainKey, listConfiguredHosts, resolveChain, resolveHost, type ResolveOptions } from '../../src/io/ssh/config';
import { isValidHostname, parseProxyJump, parseTarget } from '../../src/io/ssh/target';
import { rejectsKind } from './helpers/errors';

const root = mkdtempSync(path.join(os.tmpdir(), 'ctd-config-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh home with ~/.ssh/config = text (and extra files relative to ~/.ssh). */
function home(config: string, files: Record<string, string> = {}): ResolveOptions {
  const dir = path.join(root, `home${n++}`);
  mkdirSync(path.join(dir, '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, '.ssh', 'config'), config, { mode: 0o600 });
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, '.ssh', name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text, { mode: 0o600 });
  }
  return { homeDir: dir, systemConfigFile: null, localUser: 'alice', localUid: process.getuid?.() ?? 0, localHostname: 'laptop.example.org', env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } };
}

describe('target parsing', () => {
  test('alias, user@host:port, [v6]:port, ssh:// URI', () => {
    assert.deepEqual(parseTarget('web1'), { host: 'web1' });
    assert.deepEqual(parseTarget('bob@db.example.com:2222'), { host: 'db.example.com', user: 'bob', port: 2222 });
    assert.deepEqual(parseTarget('[2001:db8::1]:2200'), { host: '2001:db8::1', port: 2200 });
    assert.deepEqual(parseTarget('root@[::1]'), { host: '::1', user: 'root' });
    assert.deepEqual(parseTarget('fe80::1'), { host: 'fe80::1' });
    assert.deepEqual(parseTarget('ssh://ops@10.0.0.5:22'), { host: '10.0.0.5', user: 'ops', port: 22 });
  });

  test('hostile targets are refused', () => {
    for (const bad of ['-oProxyCommand=touch /tmp/x', 'a b', 'host\nname', 'h;reboot', 'h$(id)', 'x@y:0', 'x@y:70000', 'x@y:22a', '[::1', '-l root', '']) {
      assert.throws(() => parseTarget(bad), (e: unknown) => e instanceof IoError && e.kind === 'config', bad);
    }
  });

  test('host name validation: DNS names, IPv4, IPv6', () => {
    for (const ok of ['example.com', 'a-b.c_d.example.', '10.1.2.3', '::1', '2001:db8::42', 'fe80::1%eth0', 'localhost']) assert.ok(isValidHostname(ok), ok);
    for (const bad of ['-oProxyCommand=x', 'a;b', 'a b', 'a\nb', '999.1.1.1', '-a.com', 'a..b', '`id`', 'a/b', '']) assert.ok(!isValidHostname(bad), bad);
  });
});

describe('resolveHost', () => {
  test('Host blocks, first value wins, %h in HostName, defaults', async () => {
    const o = home(`
Host web1
  HostName %h.prod.example.com
  User deploy
  Port 2201

Host web*
  User nobody
  Port 9999
  IdentityFile ~/.ssh/web_key

Host *
  User fallback
  ServerAliveInterval 30
  ConnectTimeout 7
`);
    const r = await resolveHost('web1', o);
    assert.equal(r.hostname, 'web1.prod.example.com');
    assert.equal(r.user, 'deploy');
    assert.equal(r.port, 2201);
    assert.deepEqual(r.identityFiles, [path.join(o.homeDir ?? '', '.ssh', 'web_key')]);
    assert.equal(r.identityFilesExplicit, true);
    assert.equal(r.serverAliveIntervalMs, 30_000);
    assert.equal(r.connectTimeoutMs, 7_000);
    assert.match(r.sources['user'] ?? '', /config:4$/);
    // the command line (target) wins over the config
    const r2 = await resolveHost('root@web1:22', o);
    assert.equal(r2.user, 'root');
    assert.equal(r2.port, 22);
    // an unknown host gets Host * values and OpenSSH's default identity files
    const r3 = await resolveHost('other', o);
    assert.equal(r3.user, 'fallback');
    assert.equal(r3.port, 22);
    assert.equal(r3.identityFilesExplicit, false);
    assert.ok(r3.identityFiles.some((f) => f.endsWith('/.ssh/id_ed25519')));
  });

  test('negated Host patterns and ? wildcard', async () => {
    const o = home(`
Host db? !db9
  User dbadmin
`);
    assert.equal((await resolveHost('db1', o)).user, 'dbadmin');
    assert.equal((await resolveHost('db9', o)).user, 'alice');
    assert.equal((await resolveHost('db10', o)).user, 'alice');
  });

  test('every IdentityFile in order, ~ and %d %u %h %r %% tokens', async () => {
    const o = home(`
Host box
  HostName box.example.net
  User ops
  IdentityFile ~/.ssh/id_%h_%r
  IdentityFile %d/keys/%u-100%%
  IdentityFile ~/.ssh/id_%h_%r
  IdentitiesOnly yes
`);
    const r = await resolveHost('box', o);
    const h = o.homeDir ?? '';
    assert.deepEqual(r.identityFiles, [path.join(h, '.ssh', 'id_box.example.net_ops'), path.join(h, 'keys', 'alice-100%')]);
    assert.equal(r.identitiesOnly, true);
  });

  test('IdentityAgent: none, SSH_AUTH_SOCK, a path', async () => {
    const o = home(`
Host a
  IdentityAgent none
Host b
  IdentityAgent SSH_AUTH_SOCK
Host c
  IdentityAgent ~/.ssh/agent.%h.sock
`);
    assert.deepEqual((await resolveHost('a', o)).identityAgent, { kind: 'none' });
    assert.deepEqual((await resolveHost('b', o)).identityAgent, { kind: 'env', socket: '/tmp/agent.sock' });
    assert.deepEqual((await resolveHost('c', o)).identityAgent, { kind: 'path', socket: path.join(o.homeDir ?? '', '.ssh', 'agent.c.sock') });
  });

  test('known-hosts files, StrictHostKeyChecking, keepalive', async () => {
    const o = home(`
Host k
  UserKnownHostsFile ~/.ssh/kh1 /etc/extra_known_hosts
  GlobalKnownHostsFile /etc/ssh/global_kh
  StrictHostKeyChecking accept-new
  ServerAliveCountMax 5
  HashKnownHosts yes
Host n
  StrictHostKeyChecking off
`);
    const r = await resolveHost('k', o);
    assert.deepEqual(r.userKnownHostsFiles, [path.join(o.homeDir ?? '', '.ssh', 'kh1'), '/etc/extra_known_hosts']);
    assert.deepEqual(r.globalKnownHostsFiles, ['/etc/ssh/global_kh']);
    assert.equal(r.strictHostKeyChecking, 'accept-new');
    assert.equal(r.serverAliveCountMax, 5);
    assert.equal(r.hashKnownHosts, true);
    assert.equal((await resolveHost('n', o)).strictHostKeyChecking, 'no');
    const d = await resolveHost('other', o);
    assert.equal(d.strictHostKeyChecking, undefined);
    assert.deepEqual(d.userKnownHostsFiles, [path.join(o.homeDir ?? '', '.ssh', 'known_hosts'), path.join(o.homeDir ?? '', '.ssh', 'known_hosts2')]);
  });

  test('Include: relative to ~/.ssh, globs in order, inside a Host block only when it matches', async () => {
    const o = home(
      `
Include conf.d/*.conf
Host inc
  Include extra/only-inc
Host *
  User late
`,
      {
        'conf.d/10-a.conf': 'Host alpha\n  HostName alpha.example.com\n  User a-user\n',
        'conf.d/20-b.conf': 'Host alpha beta\n  User b-user\n  Port 2022\n',
        'conf.d/.hidden.conf': 'Host alpha\n  Port 1\n',
        'extra/only-inc': 'User from-include\nHost never-applies\n  Port 4444\n',
      },
    );
    const a = await resolveHost('alpha', o);
    assert.equal(a.hostname, 'alpha.example.com');
    assert.equal(a.user, 'a-user');
    assert.equal(a.port, 2022);
    assert.equal((await resolveHost('beta', o)).user, 'b-user');
    const inc = await resolveHost('inc', o);
    assert.equal(inc.user, 'from-include');
    assert.equal(inc.port, 22);
    assert.equal((await resolveHost('zzz', o)).user, 'late');
  });

  test('Include recursion is limited', async () => {
    const o = home('Include loop\n', { loop: 'Include loop\n' });
    await rejectsKind(resolveHost('x', o), 'config', /Include nested more than 16 levels/);
  });

  test('Match host / originalhost / user / localuser / all, with negation', async () => {
    const o = home(`
Host short
  HostName short.internal.example.com
Match host *.internal.example.com
  Port 2200
Match originalhost short user alice
  IdentityFile ~/.ssh/short_key
Match !localuser alice
  User not-alice
Match localuser alice !host *.internal.example.com
  User alice-elsewhere
Match all
  ConnectTimeout 3
`);
    const s = await resolveHost('short', o);
    assert.equal(s.port, 2200);
    assert.deepEqual(s.identityFiles, [path.join(o.homeDir ?? '', '.ssh', 'short_key')]);
    assert.equal(s.user, 'alice');
    assert.equal(s.connectTimeoutMs, 3000);
    const other = await resolveHost('other.example.org', o);
    assert.equal(other.port, 22);
    assert.equal(other.user, 'alice-elsewhere');
    // "Match user" compares the user given on the command line
    const asBob = await resolveHost('bob@short', o);
    assert.equal(asBob.identityFilesExplicit, false);
  });

  test('Match final runs a second pass where Host matches the HostName', async () => {
    const o = home(`
Host jump-alias
  HostName bastion.example.com
Host bastion.example.com
  User from-final-pass
Match final host bastion.example.com
  Port 2022
`);
    const r = await resolveHost('jump-alias', o);
    assert.equal(r.user, 'from-final-pass');
    assert.equal(r.port, 2022);
  });

  test('Match exec is NEVER executed: the block does not match and a warning says so', async () => {
    const marker = path.join(root, 'match-exec-ran');
    const o = home(`
Match exec "touch ${marker}"
  User exec-user
  Port 2345
Match host x !exec "touch ${marker}-negated"
  User negated-exec-user
`);
    const r = await resolveHost('x', o);
    assert.equal(existsSync(marker), false, 'Match exec command was run');
    assert.equal(existsSync(`${marker}-negated`), false, 'negated Match exec command was run');
    assert.equal(r.user, 'alice');
    assert.equal(r.port, 22);
    assert.ok(r.warnings.some((w) => /Match exec" is never run/.test(w)), r.warnings.join('\n'));
  });

  test('hostile HostName / Port / User values are refused with file:line', async () => {
    const cases: [string, RegExp][] = [
      ['Host h\n  HostName -oProxyCommand=touch\n', /config:2: refusing host name/],
      ['Host h\n  HostName a;reboot\n', /refusing host name/],
      ['Host h\n  HostName "a b"\n', /refusing host name/],
      ['Host h\n  HostName $(id)\n', /refusing host name/],
      ['Host h\n  HostName %p.example\n', /refusing host name/],
      ['Host h\n  Port 0\n', /config:2: invalid port/],
      ['Host h\n  Port 22;id\n', /invalid port/],
      ['Host h\n  User "-oProxyCommand=x"\n', /invalid user name/],
      ['Host h\n  User a;b\n', /invalid user name/],
      ['Host h\n  ProxyCommand nc %h %p\n', /ProxyCommand is not supported/],
      ['Host h\n  ProxyJump -oProxyCommand=x\n', /not a host/],
      ['Host h\n  StrictHostKeyChecking maybe\n', /StrictHostKeyChecking must be/],
    ];
    for (const [cfg, re] of cases) await rejectsKind(resolveHost('h', home(cfg)), 'config', re);
  });

  test('a value cannot smuggle a second directive: the next line is its own (refused) ProxyCommand, never run', async () => {
    const marker = path.join(root, 'proxycommand-ran');
    await rejectsKind(resolveHost('h', home(`Host h\n  HostName good.example.com\nProxyCommand touch ${marker}\n`)), 'config', /config:3: ProxyCommand is not supported/);
    assert.equal(existsSync(marker), false);
  });
});

describe('ProxyJump', () => {
  test('parsing: comma chains, user@host:port, [v6]:port, none', () => {
    assert.deepEqual(parseProxyJump('none'), []);
    assert.deepEqual(
      parseProxyJump('bastion,ops@gw.example.com:2222,[2001:db8::1]:22').map(({ user, host, port }) => ({ user, host, port })),
      [
        { user: undefined, host: 'bastion', port: undefined },
        { user: 'ops', host: 'gw.example.com', port: 2222 },
        { user: undefined, host: '2001:db8::1', port: 22 },
      ],
    );
    assert.throws(() => parseProxyJump('a,,b'), IoError);
  });

  test('resolveChain: first hop uses its own config (and its ProxyJump), later hops ignore theirs', async () => {
    const o = home(`
Host target
  HostName 10.0.0.9
  User app
  ProxyJump hop1,admin@hop2:2222
Host hop1
  HostName hop1.example.com
  User j1
  ProxyJump hop0
Host hop0
  HostName 192.0.2.10
Host hop2
  HostName hop2.example.com
  ProxyJump ignored-because-later
`);
    const chain = await resolveChain('target', o);
    assert.deepEqual(
      chain.map((h) => `${h.user}@${h.hostname}:${h.port}`),
      ['alice@192.0.2.10:22', 'j1@hop1.example.com:22', 'admin@hop2.example.com:2222', 'app@10.0.0.9:22'],
    );
    assert.equal(chainKey(chain), 'alice@192.0.2.10:22 > j1@hop1.example.com:22 > admin@hop2.example.com:2222 > app@10.0.0.9:22');
    // ProxyJump none (first value wins) disables a later ProxyJump
    const o2 = home('Host direct\n  ProxyJump none\nHost *\n  ProxyJump bastion\n');
    assert.equal((await resolveChain('direct', o2)).length, 1);
    // a jump given by the caller replaces the config's
    const viaCaller = await resolveChain('target', { ...o, jump: 'hop0' });
    assert.deepEqual(viaCaller.map((h) => h.hostname), ['192.0.2.10', '10.0.0.9']);
  });

  test('a ProxyJump loop is refused', async () => {
    const o = home('Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n');
    await rejectsKind(resolveChain('a', o), 'config', /loop|longer than/);
  });
});

describe('listConfiguredHosts', () => {
  test('concrete Host patterns, Includes followed, wildcards and negations left out', async () => {
    const o = home('Host web1 web2 *.example.com !bad\n  User x\nInclude more/*\nMatch all\n  User y\nHost web1\n', { 'more/a': 'Host db1 db?\n' });
    const hosts = await listConfiguredHosts(o);
    assert.deepEqual(
      hosts.map((h) => h.alias),
      ['web1', 'web2', 'db1'],
    );
    assert.match(hosts[2]?.at ?? '', /more\/a:1$/);
  });
});
