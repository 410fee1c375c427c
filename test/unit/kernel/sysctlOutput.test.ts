import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSysctlDirectoryListing, parseSysctlOutput, procSysPathToKey, sysctlOutputSchema } from '../../../src/core/kernel/sysctlOutput';
import { captured, err, ok, sample } from './samples';

test('sysctl -a: key = value lines, raw values by dotted key', () => {
  const out = ok(parseSysctlOutput(sample('sysctl_-a_grep_nf_conntrack.rootns.txt')));
  sysctlOutputSchema.parse(out);
  assert.equal(out.values.size, 42);
  assert.equal(out.values.get('net.netfilter.nf_conntrack_max'), '262144');
  assert.equal(out.values.get('net.nf_conntrack_max'), '262144');
  assert.equal(out.values.get('net.netfilter.nf_conntrack_count'), '0');
  assert.deepEqual(out.errors, []);
  const ns = ok(parseSysctlOutput(sample('sysctl_-a_grep_nf_conntrack.ns.txt')));
  assert.equal(ns.values.has('net.nf_conntrack_max'), false, 'absent in a non-initial netns');
});

test('sysctl -a as an unprivileged user: values plus permission-denied errors with their keys', () => {
  const c = captured('nobody_sysctl_-a');
  const out = ok(parseSysctlOutput(`${c.stdout}${c.stderr}`));
  assert.ok(out.values.size > 500);
  assert.equal(out.values.get('net.netfilter.nf_conntrack_tcp_timeout_established'), '432000');
  assert.ok(out.errors.length >= 5);
  assert.ok(out.errors.every((e) => e.kind === 'permission-denied'));
  assert.ok(out.errors.some((e) => e.key === 'net.ipv6.conf.all.stable_secret'));
  // multi-value lines keep their tabs
  assert.match(out.values.get('net.ipv4.tcp_rmem') ?? '', /^\d+\t\d+\t\d+$/);
  assert.deepEqual(out.unrecognized, []);
});

test('sysctl KEY… with a missing key: cannot stat → the key', () => {
  const c = captured('sysctl_keys_missing');
  const out = ok(parseSysctlOutput(`${c.stdout}${c.stderr}`));
  assert.equal(out.values.get('net.netfilter.nf_conntrack_count'), '22');
  assert.deepEqual(out.errors, [
    { kind: 'cannot-stat', key: 'net.nf_conntrack_max', reason: 'No such file or directory', line: 'sysctl: cannot stat /proc/sys/net/nf_conntrack_max: No such file or directory' },
  ]);
});

test('other procps messages: setting key, reading key, unknown key (older procps)', () => {
  const out = ok(parseSysctlOutput(sample('ns_sysctl_write_errors.txt')));
  const setting = out.errors.filter((e) => e.kind === 'setting');
  assert.deepEqual(setting.map((e) => e.key), ['net.netfilter.nf_conntrack_max', 'net.netfilter.nf_conntrack_buckets', 'net.netfilter.nf_conntrack_expect_max']);
  assert.equal(setting[0]?.reason, 'Invalid argument');
  assert.ok(out.unrecognized.includes('rc=0'));
  // procps 3.3 wording (not producible with this machine's procps 4.0.2)
  const old = ok(parseSysctlOutput('sysctl: reading key "net.ipv6.conf.all.stable_secret"\nsysctl: "net.nope" is an unknown key\n'));
  assert.deepEqual(old.errors.map((e) => [e.kind, e.key]), [['reading', 'net.ipv6.conf.all.stable_secret'], ['unknown-key', 'net.nope']]);
});

test('values: empty values, multi-line values, slashes in keys', () => {
  const out = ok(parseSysctlOutput('kernel.domainname = (none)\nnet.ipv4.ip_local_reserved_ports = \nnet.ipv4.conf.eth0/100.rp_filter = 1\ndev.cdrom.info = CD-ROM information\ndev.cdrom.info = \n'));
  assert.equal(out.values.get('net.ipv4.ip_local_reserved_ports'), '');
  assert.equal(out.values.get('net.ipv4.conf.eth0/100.rp_filter'), '1');
  assert.equal(out.values.get('dev.cdrom.info'), 'CD-ROM information\n');
});

test('sysctl output that is not sysctl output is an error', () => {
  assert.equal(err(parseSysctlOutput('')).kind, 'empty');
  const e = err(parseSysctlOutput('bash: sysctl: command not found\n'));
  assert.equal(e.kind, 'malformed');
  assert.equal(e.line, 'bash: sysctl: command not found');
});

test('procSysPathToKey swaps separators like procps', () => {
  assert.equal(procSysPathToKey('/proc/sys/net/ipv4/conf/eth0.100/rp_filter'), 'net.ipv4.conf.eth0/100.rp_filter');
  assert.equal(procSysPathToKey('/etc/sysctl.conf'), undefined);
});

test('ls /proc/sys/net/netfilter → key set', () => {
  const listing = ok(parseSysctlDirectoryListing(captured('ls_proc_sys_net_netfilter').stdout));
  assert.equal(listing.keys.size, 43);
  assert.ok(listing.keys.has('net.netfilter.nf_conntrack_max'));
  assert.ok(listing.keys.has('net.netfilter.nf_conntrack_tcp_timeout_unacknowledged'));
  const fromSysctl = ok(parseSysctlOutput(sample('sysctl_-a_grep_nf_conntrack.ns.txt')));
  for (const key of fromSysctl.values.keys()) assert.ok(listing.keys.has(key), key);
  const withDirs = ok(parseSysctlDirectoryListing('nf_conntrack_max\nnf_log/\n'));
  assert.deepEqual([...withDirs.directories], ['net.netfilter.nf_log']);
  assert.equal(ok(parseSysctlDirectoryListing('')).keys.size, 0, 'an empty directory is an empty set');
  assert.equal(err(parseSysctlDirectoryListing('/proc/sys/net/netfilter:\nnf_conntrack_max\n')).kind, 'malformed');
});
