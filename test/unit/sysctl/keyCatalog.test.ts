/**
 * The generated key catalogue as the linter reads it (the catalogue against a real kernel is
 * test/integration/sysctlKernel.test.ts; regenerating it is scripts/catalog/generate.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_CATALOG_KERNEL, editDistance, keyCatalog, lookupSysctl, suggestSysctlKey, templateKey } from '../../../src/core/sysctl/keyCatalog';
import { HISTORY } from '../../../scripts/catalog/history';
import { kernelReadInts } from '../../../src/core/sysctl/values';
import { kernelWrite } from '../../../src/core/sysctl/kernelWrite';

test('the catalogue covers every subsystem and records its sources', () => {
  assert.ok(keyCatalog().size > 900);
  for (const key of ['vm.swappiness', 'kernel.pid_max', 'fs.file-max', 'net.core.somaxconn', 'net.ipv4.tcp_rmem', 'net.bridge.bridge-nf-call-iptables', 'net.ipv4.vs.am_droprate', 'net.netfilter.nf_conntrack_max']) {
    assert.ok(lookupSysctl(key), key);
  }
  assert.match(KEY_CATALOG_KERNEL, /^\d+\.\d+/);
  // bridge and ipvs keys come from the kernel source (modules the reference kernel does not load)
  assert.equal(lookupSysctl('net.bridge.bridge-nf-call-iptables')?.inSource, true);
});

test('interface directories match any interface name', () => {
  assert.equal(templateKey('net.ipv4.conf.eth0/100.rp_filter'), 'net.ipv4.conf.*.rp_filter');
  assert.ok(lookupSysctl('net.ipv6.conf.wg0.accept_ra'));
  assert.ok(lookupSysctl('net.ipv4.neigh.default.gc_thresh3'));
  assert.equal(templateKey('kernel.pid_max'), 'kernel.pid_max');
});

test('value shapes: how many numbers a write takes, and units', () => {
  assert.equal(lookupSysctl('net.ipv4.tcp_rmem')?.count, 3);
  assert.equal(lookupSysctl('net.ipv4.ip_local_port_range')?.count, 2);
  assert.equal(lookupSysctl('kernel.core_pattern')?.kind, 'string');
  assert.equal(lookupSysctl('net.ipv4.udp_mem')?.unit, 'pages');
  assert.equal(lookupSysctl('fs.file-nr')?.readOnly, true);
});

test('every history entry is in the catalogue as removed, with its citation kept in the generator', () => {
  for (const h of HISTORY) {
    const info = lookupSysctl(h.key);
    assert.equal(info?.removedIn, h.removedIn, h.key);
    assert.ok(h.source.length > 20, `${h.key}: cite a source`);
  }
  assert.equal(lookupSysctl('kernel.sched_latency_ns')?.movedTo, '/sys/kernel/debug/sched/latency_ns');
});

test('did you mean: the closest live key within a few edits', () => {
  assert.equal(suggestSysctlKey('net.core.rmrm_max'), 'net.core.rmem_max');
  assert.equal(suggestSysctlKey('fs.file_max'), 'fs.file-max');
  assert.equal(suggestSysctlKey('net.ipv4.conf.eth0.rp_filtre'), 'net.ipv4.conf.eth0.rp_filter');
  assert.equal(suggestSysctlKey('completely.unrelated.thing'), undefined);
  // a host's list is searched instead of the catalogue
  assert.equal(suggestSysctlKey('vendor.tunabel', ['vendor.tunable']), 'vendor.tunable');
  assert.equal(editDistance('abc', 'abd'), 1);
  assert.equal(editDistance('abcdef', 'zzzzzz', 2), 3, 'stops early past the limit');
});

test('the kernel parser model: numbers end at a blank; what follows them is never read', () => {
  assert.deepEqual(kernelReadInts('7200 # raised', 1), { ok: true, values: [{ value: 7200, form: 'decimal' }], ignored: '# raised' });
  assert.deepEqual(kernelReadInts('45#glued', 1), { ok: false, reason: 'glued', at: 0 });
  assert.deepEqual(kernelReadInts('20000 # x', 2), { ok: false, reason: 'not-a-number', at: 1 });
  assert.deepEqual(kernelReadInts('+5', 1), { ok: false, reason: 'not-a-number', at: 0 });
  assert.deepEqual(kernelReadInts('', 1), { ok: false, reason: 'empty', at: 0 });
  assert.equal(kernelReadInts('1234567890123456789012', 1).ok, false, 'longer than the kernel reads');
  assert.deepEqual(kernelWrite('net.ipv4.ip_local_port_range', '20000\t60999 # x'), { accepted: true, applied: '20000 60999', ignored: '# x' });
  assert.deepEqual(kernelWrite('kernel.domainname', 'example.com ; note'), { accepted: true, applied: 'example.com ; note', ignored: '' });
  assert.deepEqual(kernelWrite('net.netfilter.nf_conntrack_checksum', '2'), { accepted: false });
});
