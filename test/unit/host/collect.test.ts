/**
 * The collection script run for real on this machine (a real kernel) under dash, bash and
 * busybox sh, and inside a throwaway network namespace; plus framing against hostile content.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { buildSnapshot, collectionScript, fingerprintOf, grepSysctlLines, parseCollectionOutput, withFrequentFields } from '../../../src/core/host/collect';
import { diagnose } from '../../../src/core/host/diagnose';
import { parseSnapshot } from '../../../src/core/host/snapshot';

const shells: [string, string[]][] = [['dash', ['/bin/sh']], ['bash', ['bash']], ['busybox', ['busybox', 'sh']]];

function run(argv: string[], nonce: string, part?: 'frequent'): string {
  const r = spawnSync(argv[0] ?? 'sh', [...argv.slice(1), '-s', '--', nonce, ...(part ? [part] : [])], { input: collectionScript(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.error, undefined, `${argv.join(' ')}: ${String(r.error)} (run scripts/setup.sh to install busybox)`);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

for (const [label, argv] of shells) {
  test(`collection under ${label}: one round trip gives a snapshot matching the kernel`, () => {
    const nonce = randomBytes(12).toString('hex');
    const out = parseCollectionOutput(run(argv, nonce), nonce);
    const snap = buildSnapshot(out, { takenAt: Date.now() });
    assert.equal(snap.kernelRelease, spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim());
    assert.equal(snap.initialNetns, true);
    assert.equal(snap.max, Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8')));
    assert.equal(snap.buckets, Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_buckets', 'utf8')));
    assert.ok(snap.sysctl?.['net.netfilter.nf_conntrack_tcp_timeout_established']);
    assert.ok((snap.liveKeys?.length ?? 0) > 100);
    assert.ok(snap.liveKeys?.includes('vm.swappiness'));
    assert.equal(snap.counters?.source, 'netlink', JSON.stringify(snap.unavailable));
    assert.ok((snap.slabObjSize ?? 0) > 0);
    assert.ok((snap.memTotalBytes ?? 0) > 0);
    assert.ok((snap.cpus ?? 0) >= 1);
    assert.ok(snap.firewall?.iptablesBackend);
    assert.equal(snap.conntrackModule, 'builtin');
    assert.ok(Array.isArray(snap.sysctlFiles));
    // the snapshot diagnoses without throwing
    assert.ok(Array.isArray(diagnose(snap).findings));
  });
}

for (const [label, argv] of shells) {
  test(`the periodic part under ${label}: count, max, every netfilter sysctl and the netlink counters; no slab or memory read; the same fingerprint as the full part`, () => {
    const nonce = randomBytes(12).toString('hex');
    const full = buildSnapshot(parseCollectionOutput(run(argv, nonce), nonce), { takenAt: Date.now() });
    const text = run(argv, nonce, 'frequent');
    const out = parseCollectionOutput(text, nonce);
    assert.deepEqual([...out.sections.keys()], ['sysctl', 'stats_netlink', 'fingerprint'], 'the procfs counters are read only when netlink failed; slabinfo and meminfo only in the full part');
    const frequent = buildSnapshot(out, { takenAt: Date.now() });
    assert.equal(frequent.max, Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8')));
    assert.equal(frequent.sysctl?.['net.nf_conntrack_max'], readFileSync('/proc/sys/net/nf_conntrack_max', 'utf8').trim());
    assert.deepEqual(Object.keys(frequent.sysctl ?? {}).sort(), Object.keys(full.sysctl ?? {}).sort(), 'the same sysctls as the full part');
    assert.equal(frequent.counters?.source, 'netlink');
    assert.ok(frequent.fingerprint && /^[0-9a-f]{14}$/.test(frequent.fingerprint), String(frequent.fingerprint));
    assert.equal(frequent.fingerprint, full.fingerprint);
    const merged = withFrequentFields(full, frequent);
    assert.equal(merged.slabObjSize, full.slabObjSize, 'the entry size is kept from the full read');
    assert.equal(merged.memTotalBytes, full.memTotalBytes);
  });
}

for (const [label, argv] of shells) {
  test(`without nf_conntrack (/proc/sys/net hidden in a mount namespace) the periodic part under ${label} reads on to the end: no sysctl, no table, still a fingerprint`, () => {
    const nonce = randomBytes(12).toString('hex');
    // an empty tmpfs over /proc/sys/net, in a private mount namespace: what a host without nf_conntrack shows
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs none /proc/sys/net && exec ${argv.join(' ')} -s -- "$0" frequent`, nonce], { input: collectionScript(), encoding: 'utf8' });
    assert.equal(r.status, 0, `unshare/mount failed (root and util-linux are required): ${r.stderr}`);
    const out = parseCollectionOutput(r.stdout, nonce);
    assert.equal(out.sections.get('sysctl')?.body.trim(), '', 'nothing to read, and grep was not left reading the script from stdin');
    assert.ok(out.sections.get('fingerprint')?.body.trim(), 'the script ran on to the fingerprint');
    const snap = buildSnapshot(out, { takenAt: Date.now() });
    assert.equal(snap.count, undefined);
    assert.ok(snap.unavailable?.some((u) => u.code === 'conntrack-inactive'), JSON.stringify(snap.unavailable));
  });
}

test('grep -H lines become key = value lines; a directory is skipped, an unreadable file keeps its error', () => {
  const body = [
    '/proc/sys/net/netfilter/nf_conntrack_max:262144',
    'grep: /proc/sys/net/netfilter/nf_log: Is a directory',
    'grep: /proc/sys/net/netfilter/nf_conntrack_secret: Permission denied',
    '/proc/sys/net/netfilter/nf_conntrack_helper:',
    '/proc/sys/net/nf_conntrack_max:262144',
    'net.netfilter.nf_conntrack_acct = 0',
  ].join('\n');
  assert.deepEqual(grepSysctlLines(body).split('\n'), [
    'net.netfilter.nf_conntrack_max = 262144',
    'net.netfilter.nf_conntrack_secret = Permission denied',
    'net.netfilter.nf_conntrack_helper = ',
    'net.nf_conntrack_max = 262144',
    'net.netfilter.nf_conntrack_acct = 0',
  ]);
});

test('the fingerprint names the stat lines: any change of a line moves it', () => {
  const lines = '1671429998 2355 1124\n1750775976 4096 1125';
  assert.equal(fingerprintOf(lines), fingerprintOf(lines));
  assert.notEqual(fingerprintOf(lines), fingerprintOf(lines.replace('2355', '2356')));
  assert.notEqual(fingerprintOf(lines), fingerprintOf(lines.replace('1750775976', '1750775977')));
  assert.notEqual(fingerprintOf(lines), fingerprintOf(`${lines}\n1750775976 10 1126`));
});

const ns = `ctd-collect-${process.pid}`;
after(() => {
  spawnSync('ip', ['netns', 'del', ns]);
});

test('inside a non-initial network namespace: initialNetns false, count is the namespace\'s', () => {
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  assert.equal(add.status, 0, `ip netns add failed (root and iproute2 are required): ${add.stderr}`);
  const nonce = randomBytes(12).toString('hex');
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sh', '-s', '--', nonce], { input: collectionScript(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const snap = buildSnapshot(parseCollectionOutput(r.stdout, nonce), { takenAt: Date.now() });
  assert.equal(snap.initialNetns, false);
  assert.equal(snap.count, 0);
  assert.equal(snap.sysctl?.['net.nf_conntrack_max'], undefined);
  const d = diagnose(snap);
  assert.ok(d.findings.some((f) => f.cause === 'netns-limits'));
});

test('framing: file content imitating frames cannot inject sections; cut-off output is reported', () => {
  const nonce = 'a'.repeat(24);
  const fake = `@@${'b'.repeat(24)} end files 0\n@@${nonce.slice(0, 10)} begin meta\nkernel=evil\n`;
  const out = [
    `@@${nonce} begin meta`, 'kernel=6.1.0', 'uid=0', '', `@@${nonce} end meta 0`,
    `@@${nonce} begin files`,
    `@@${nonce} file sysctl /etc/sysctl.d/10-x.conf`, `${fake}net.netfilter.nf_conntrack_max = 5`, `@@${nonce} endfile`,
    `@@${nonce} file sysctl /etc/sysctl.d/99-sysctl.conf`, `@@${nonce} link ../sysctl.conf`, 'a.b = 1', `@@${nonce} endfile`,
    `@@${nonce} file sysctl /etc/sysctl.d/20-secret.conf`, `@@${nonce} unreadable permission`, `@@${nonce} endfile`,
    '', `@@${nonce} end files 0`,
    `@@${nonce} begin sysctl`, 'net.netfilter.nf_conntrack_count = 12',
  ].join('\n');
  const parsed = parseCollectionOutput(out, nonce);
  assert.equal(parsed.sections.get('meta')?.body.includes('kernel=6.1.0'), true);
  assert.equal(parsed.files.length, 3);
  assert.equal(parsed.files[0]?.content, `${fake}net.netfilter.nf_conntrack_max = 5`);
  assert.equal(parsed.files[1]?.linkTarget, '../sysctl.conf');
  assert.equal(parsed.files[2]?.unreadable, 'permission');
  assert.equal(parsed.sections.get('sysctl')?.exitCode, -1);
  const snap = buildSnapshot(parsed, { takenAt: 1 });
  assert.equal(snap.kernelRelease, '6.1.0');
  assert.ok(snap.unavailable?.some((u) => /cut off/.test(u.why)));
  assert.ok(snap.unavailable?.some((u) => u.what === '/etc/sysctl.d/20-secret.conf'));
  assert.throws(() => parseCollectionOutput(out, 'not-hex!'));
});

test('file contents come back byte-exact, with or without a final newline', () => {
  const nonce = 'c'.repeat(16);
  const out = `@@${nonce} begin files\n@@${nonce} file sysctl /etc/sysctl.conf\na = 1\n\n@@${nonce} endfile\n@@${nonce} file sysctl /etc/sysctl.d/1.conf\nb = 2\n@@${nonce} endfile\n\n@@${nonce} end files 0\n`;
  const files = parseCollectionOutput(out, nonce).files;
  assert.equal(files[0]?.content, 'a = 1\n');
  assert.equal(files[1]?.content, 'b = 2');
});

test('a snapshot field nobody declared is refused, in the snapshot and in its firewall part', () => {
  assert.throws(() => parseSnapshot({ takenAt: 1, maxx: 262144 }), /maxx/);
  assert.throws(() => parseSnapshot({ takenAt: 1, firewall: { iptablesBackends: 'legacy' } }), /iptablesBackends/);
  assert.equal(parseSnapshot({ takenAt: 1, max: 262144 }).max, 262144);
});
