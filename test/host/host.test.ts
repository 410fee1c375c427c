/**
 * The test host itself, proven against the real thing: OpenSSH's client logs into Debian's sshd
 * inside the namespace, and the kernel's own conntrack table and counters are read back.
 * Needs root and harness/host/install-deps.sh; fails (never skips) without them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CTD_HOST, run, startHost, type TestHost } from '../../harness/host/testHost';

const NAME = `ht${process.pid % 100000}`;
const scratch = mkdtempSync(join(tmpdir(), 'ctd-host-test-'));

/** Initial-namespace settings the host must not change (read from this process, which is in the root netns). */
const ROOT_SYSCTLS = [
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_buckets',
  'net/netfilter/nf_conntrack_tcp_loose',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/netfilter/nf_log_all_netns',
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/rp_filter',
  'net/ipv4/conf/default/rp_filter',
  'net/ipv6/conf/all/disable_ipv6',
  'net/core/netdev_max_backlog',
  'kernel/hostname',
];
/** Machine files a careless host would change (users, sudo, iptables alternatives). */
const MACHINE_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/sudoers', '/etc/hostname', '/etc/hosts', '/var/lib/dpkg/alternatives/iptables'];
const MACHINE_LINKS = ['/etc/alternatives/iptables', '/etc/alternatives/ip6tables', '/etc/alternatives/iptables-save'];

function snapshot(): Record<string, string> {
  const s: Record<string, string> = {};
  for (const k of ROOT_SYSCTLS) s[k] = existsSync(`/proc/sys/${k}`) ? readFileSync(`/proc/sys/${k}`, 'utf8').trim() : '(absent)';
  for (const f of MACHINE_FILES) s[f] = existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : '(absent)';
  for (const l of MACHINE_LINKS) s[l] = existsSync(l) ? readlinkSync(l) : '(absent)';
  return s;
}

function timed<T>(label: string, p: Promise<T>): Promise<T> {
  const t0 = performance.now();
  return p.then((v) => {
    console.log(`# ${label}: ${Math.round(performance.now() - t0)} ms`);
    return v;
  });
}

let host: TestHost;
let before0: Record<string, string>;

before(async () => {
  before0 = snapshot();
  host = await timed('up', startHost(NAME));
});

after(async () => {
  await host?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a real host over SSH', () => {
  test('up describes a host whose sshd runs inside its own netns', () => {
    const i = host.info;
    assert.equal(i.name, NAME);
    assert.equal(i.netns, `ctd-${NAME}`);
    assert.match(i.address, /^10\.231\.\d+\.2$/);
    assert.ok(i.rootInterface.length <= 15);
    assert.equal(readlinkSync(`/proc/${i.sshdPid}/ns/net`), `net:[${i.netnsInode}]`);
    assert.notEqual(readlinkSync(`/proc/${i.sshdPid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'));
    assert.equal(readFileSync(i.knownHostsPath, 'utf8').split('\n')[0], i.knownHostsLine);
    assert.deepEqual(JSON.parse(readFileSync(join(i.statePath, 'host.json'), 'utf8')), i);
  });

  test('root logs in with its key, host key checked strictly, and runs conntrack -C', async () => {
    const r = await host.ssh('root', 'conntrack -C; hostname');
    assert.equal(r.code, 0, r.stderr);
    const [count, hostname] = r.stdout.trim().split('\n');
    assert.match(count ?? '', /^\d+$/);
    assert.equal(hostname, NAME);
  });

  test('sudo: ops without a password; audit needs one (-n fails, -S with the password works)', async () => {
    const ops = await host.ssh('ops', 'sudo -n id -u');
    assert.equal(ops.code, 0, ops.stderr);
    assert.equal(ops.stdout.trim(), '0');

    const n = await host.ssh('audit', 'sudo -n id -u');
    assert.notEqual(n.code, 0);
    assert.match(n.stderr, /a password is required/);

    const s = await host.ssh('audit', "sudo -S -p '' id -u", { input: `${host.info.users.audit.password}\n` });
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout.trim(), '0');

    const wrong = await host.ssh('audit', "sudo -S -p '' id -u", { input: 'not-the-password\n' });
    assert.notEqual(wrong.code, 0);
  });

  test('audit logs in with its password (password and keyboard-interactive)', async () => {
    const askpass = join(scratch, 'askpass');
    writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$CTD_TEST_PASSWORD"\n');
    chmodSync(askpass, 0o755);
    const env = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', CTD_TEST_PASSWORD: host.info.users.audit.password };
    for (const method of ['password', 'keyboard-interactive']) {
      const r = await run('ssh', [
        '-F', '/dev/null', '-o', `UserKnownHostsFile=${host.info.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
        '-o', 'PubkeyAuthentication=no', '-o', `PreferredAuthentications=${method}`, '-o', 'NumberOfPasswordPrompts=1',
        `audit@${host.address}`, 'id -un',
      ], { env });
      assert.equal(r.code, 0, `${method}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), 'audit');
    }
  });

  test('fill --assured 1000: 1000 more ESTABLISHED [ASSURED] entries', async () => {
    const before = await host.conntrackCount();
    const f = await timed('fill --assured 1000', host.fill({ assured: 1000 }));
    assert.equal(f.countBefore, before);
    assert.ok(f.countAfter >= before + 1000, JSON.stringify(f));
    assert.ok((await host.conntrackCount()) >= 1000);
    const list = await host.execOk(['conntrack', '-L', '-p', 'tcp', '--state', 'ESTABLISHED', '-s', '198.18.0.0/16']);
    const assured = list.split('\n').filter((l) => l.includes('[ASSURED]') && l.includes('dport=443'));
    assert.ok(assured.length >= 1000, `${assured.length} ASSURED entries`);
  });

  test('INVALID packets raise the invalid counter (conntrack -S, summed over CPUs) and the input rule counter', async () => {
    const s0 = await host.conntrackStats();
    const local = await host.invalid(300);
    const s1 = await host.conntrackStats();
    assert.ok((s1['invalid'] ?? 0) - (s0['invalid'] ?? 0) >= 300, JSON.stringify({ s0, s1 }));
    assert.equal(local.countAfter, local.countBefore, 'INVALID packets never become entries');
    const rules = await host.execOk(['nft', 'list', 'chain', 'inet', 'filter', 'input']);
    const m = /ct state invalid counter packets (\d+)/.exec(rules);
    assert.ok(m && Number(m[1]) >= 300, rules);

    // Through the forward path every kind (SYN+FIN, bad checksum, out-of-window ACK) counts exactly once.
    const fwd = await host.invalid(300, { to: 'forward' });
    assert.equal(fwd.invalidAfter - fwd.invalidBefore, 300, JSON.stringify(fwd));
  });

  test('unreplied flood: one dominant source owns the UNREPLIED entries', async () => {
    const f = await host.fill({ unreplied: 3000, src: '203.0.113.7' });
    assert.ok(f.countAfter - f.countBefore >= 3000, JSON.stringify(f));
    await host.fill({ assured: 500, dominant: '198.18.200.9', dominantPct: 90 });
    const list = await host.execOk(['conntrack', '-L']);
    const bySource = new Map<string, number>();
    let unreplied = 0;
    for (const line of list.split('\n')) {
      const src = /src=(\S+)/.exec(line)?.[1];
      if (src) bySource.set(src, (bySource.get(src) ?? 0) + 1);
      if (src === '203.0.113.7' && line.includes('SYN_SENT') && line.includes('[UNREPLIED]')) unreplied++;
    }
    const top = [...bySource].sort((a, b) => b[1] - a[1]);
    assert.equal(top[0]?.[0], '203.0.113.7');
    assert.ok(unreplied >= 3000, `${unreplied} unreplied`);
    assert.ok((bySource.get('198.18.200.9') ?? 0) >= 400, 'the assured dominant source');
  });

  test('backend switching changes iptables -V over ssh, never the machine', async () => {
    const machine = readlinkSync('/etc/alternatives/iptables');
    assert.match((await host.backend('legacy')).iptablesV, /\(legacy\)/);
    let r = await host.ssh('root', 'iptables -V; ip6tables -V; iptables-save -V');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/\(legacy\)/g)?.length, 3, r.stdout);
    assert.equal(readlinkSync('/etc/alternatives/iptables'), machine);

    await host.backend('nft');
    r = await host.ssh('ops', 'sudo -n iptables -V');
    assert.match(r.stdout, /\(nf_tables\)/, r.stderr);
  });

  test('mix: legacy tables next to the nft ruleset', async () => {
    assert.match((await host.mix()).legacyTables, /filter/);
    const r = await host.ssh('root', 'cat /proc/net/ip_tables_names; iptables-nft -S 2>&1; nft list tables');
    assert.match(r.stdout, /^filter$/m);
    assert.match(r.stdout, /iptables-legacy tables present/);
    assert.match(r.stdout, /table inet filter/);
  });

  test('what a remote root changes stays in the host: /etc is private, global sysctls and /usr are read-only', async () => {
    const probe = '/etc/sysctl.d/99-ctd-host-probe.conf';
    const r = await host.ssh('root', [
      `echo 'net.netfilter.nf_conntrack_tcp_timeout_established = 7200' > ${probe}`,
      `sysctl -p ${probe}`,
      'sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established',
      'sysctl -w kernel.pid_max=4194304 || echo global-refused',
      'touch /usr/ctd-probe || echo usr-refused',
      'sysctl -w net.netfilter.nf_conntrack_max=1; sysctl -n net.netfilter.nf_conntrack_max',
    ].join('; '));
    assert.match(r.stdout, /^7200$/m, r.stderr);
    assert.match(r.stdout, /global-refused/);
    assert.match(r.stdout, /usr-refused/);
    assert.match(r.stdout, new RegExp(`^${readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8').trim()}$`, 'm'), 'max is read-only in a netns');
    assert.ok(!existsSync(probe), 'the machine has no probe file');
    assert.equal(readFileSync('/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established', 'utf8').trim(), before0['net/netfilter/nf_conntrack_tcp_timeout_established']);
    assert.ok(readFileSync(join(host.info.statePath, 'fs/etc/upper/sysctl.d/99-ctd-host-probe.conf'), 'utf8').includes('7200'));
  });

  test('swap-hostkey: new fingerprint, the old known_hosts is refused', async () => {
    const oldKnownHosts = join(scratch, 'known_hosts.old');
    copyFileSync(host.info.knownHostsPath, oldKnownHosts);
    const old = host.info.hostKeys.ed25519.sha256;
    const s = await host.swapHostKey();
    assert.equal(s.old, old);
    assert.notEqual(s.new, old);
    assert.equal(host.info.hostKeys.ed25519.sha256, s.new);

    const scan = await run('ssh-keyscan', ['-t', 'ed25519', host.address]);
    const fp = spawnSync('ssh-keygen', ['-lf', '-', '-E', 'sha256'], { input: scan.stdout, encoding: 'utf8' }).stdout.split(' ')[1];
    assert.equal(fp, s.new);

    const stale = await host.ssh('root', 'true', { sshOptions: ['-o', `UserKnownHostsFile=${oldKnownHosts}`] });
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
    const fresh = await host.ssh('root', 'true');
    assert.equal(fresh.code, 0, fresh.stderr);
  });

  test('full: count reaches the global max, drop rises, dmesg says table full; open connections still work', async () => {
    const cm = join(scratch, 'cm');
    const master = await host.ssh('root', 'true', { sshOptions: ['-o', 'ControlMaster=yes', '-o', `ControlPath=${cm}`, '-o', 'ControlPersist=120'] });
    assert.equal(master.code, 0, master.stderr);
    try {
      // Earlier tests left early-droppable entries (the unreplied flood, closing SSH logins); once
      // the table is full the kernel's GC evicts those, and a freed slot would let a new login in.
      await host.exec(['sh', '-c', 'for st in SYN_SENT SYN_RECV FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE; do conntrack -D -p tcp --state $st; done >/dev/null 2>&1; conntrack -D -p udp >/dev/null 2>&1; true']);
      const f = await timed('full', host.full());
      const max = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8'));
      assert.equal(f.max, max);
      // Once the table is full the kernel's GC evicts early-droppable entries (TIME_WAIT of earlier
      // SSH logins, the UNREPLIED flood) while count >= 95 % of max: "at max" is max minus a few.
      const nearMax = (n: number): boolean => n <= max && n >= max - 5000;
      assert.ok(nearMax(f.count), JSON.stringify(f));
      assert.ok(nearMax(await host.conntrackCount()));
      assert.ok(f.drop > f.dropBefore, JSON.stringify(f));
      // (early_drop may rise too: the unreplied SYN_SENT entries of an earlier test are evictable)
      assert.match(f.dmesgLine, new RegExp(`table full in netns ${host.info.netnsInode}, dropping packet`));
      const dmesg = spawnSync('dmesg', { encoding: 'utf8' }).stdout;
      assert.ok(dmesg.includes(`table full in netns ${host.info.netnsInode}`));

      // The existing connection keeps working; a new login cannot get a conntrack entry.
      const viaMaster = await host.ssh('root', 'conntrack -C', { sshOptions: ['-o', `ControlPath=${cm}`] });
      assert.equal(viaMaster.code, 0, viaMaster.stderr);
      assert.ok(nearMax(Number(viaMaster.stdout.trim())), viaMaster.stdout);
      const fresh = await host.ssh('root', 'true', { sshOptions: ['-o', 'ControlPath=none', '-o', 'ConnectTimeout=3'] });
      assert.notEqual(fresh.code, 0);
      assert.match(fresh.stderr, /timed out/);
    } finally {
      await run('ssh', ['-o', `ControlPath=${cm}`, '-O', 'exit', `root@${host.address}`]);
    }
  });

  test('down removes everything and leaves the machine as it was', async () => {
    const { statePath, sshdPid, netns, rootInterface } = host.info;
    const t0 = performance.now();
    await host.stop();
    console.log(`# down (after full): ${Math.round(performance.now() - t0)} ms`);
    assert.ok(!existsSync(`/run/netns/${netns}`), 'netns gone');
    assert.ok(!existsSync(`/sys/class/net/${rootInterface}`), 'veth gone');
    assert.ok(!existsSync(`/proc/${sshdPid}`) || !readFileSync(`/proc/${sshdPid}/cmdline`, 'utf8').includes(statePath), 'sshd gone');
    assert.ok(!existsSync(statePath), 'state dir gone');
    const leftovers = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(statePath);
      } catch {
        return false;
      }
    });
    assert.deepEqual(leftovers, [], 'no process of the host is left');
    assert.deepEqual(snapshot(), before0);
    const list = await run(CTD_HOST, ['list']);
    assert.doesNotMatch(list.stdout, new RegExp(`^${NAME}$`, 'm'));
    // idempotent, also for a host that never existed
    assert.equal((await run(CTD_HOST, ['down', NAME])).code, 0);
    assert.equal((await run(CTD_HOST, ['down', `${NAME}x`])).code, 0);
  });
});
