/** Completion, outline and folding of the sysctl editor, as pure functions (the VS Code suite drives the real providers). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commentBlocks, completeKeys, completeValues, completionSlot, describeKey, outline, subsystemOf } from '../../../src/core/sysctl/editorModel';
import { parseSysctl } from '../../../src/core/sysctl/syntax';
import { GiB } from '../../../src/core/sizing';

test('key completion offline: conntrack keys with meaning, unit and default', () => {
  const items = completeKeys('net.netfilter.nf_conntrack_t');
  const est = items.find((i) => i.key === 'net.netfilter.nf_conntrack_tcp_timeout_established');
  assert.ok(est, items.map((i) => i.key).slice(0, 5).join(', '));
  assert.match(est.detail, /seconds · default 432,000 \(5 days\)/);
  assert.match(est.documentation, /Idle timeout for ESTABLISHED TCP entries/);
  // every offered key is under the typed parent, and none is removed or read-only
  assert.ok(items.every((i) => i.key.startsWith('net.netfilter.')));
  assert.ok(!items.some((i) => i.key === 'net.netfilter.nf_conntrack_helper' || i.key === 'net.netfilter.nf_conntrack_count'));
});

test('key completion offline covers every subsystem; interface directories are offered for all and default', () => {
  const conf = completeKeys('net.ipv4.conf.').map((i) => i.key);
  assert.ok(conf.includes('net.ipv4.conf.all.rp_filter'));
  assert.ok(conf.includes('net.ipv4.conf.default.rp_filter'));
  assert.ok(!conf.some((k) => k.includes('*')));
  const vm = completeKeys('vm.sw');
  assert.ok(vm.some((i) => i.key === 'vm.swappiness' && /rough relative IO cost/.test(i.documentation)));
  const mem = completeKeys('net.ipv4.tcp_m').find((i) => i.key === 'net.ipv4.tcp_mem');
  assert.match(mem?.detail ?? '', /pages/);
});

test('key completion with a host: exactly the host\'s keys, with its live values', () => {
  const host = { liveKeys: new Set(['net.netfilter.nf_conntrack_max', 'net.netfilter.nf_conntrack_udp_timeout', 'vm.swappiness']), liveValues: new Map([['net.netfilter.nf_conntrack_udp_timeout', '30']]) };
  const items = completeKeys('net.netfilter.', host);
  assert.deepEqual(items.map((i) => i.key), ['net.netfilter.nf_conntrack_max', 'net.netfilter.nf_conntrack_udp_timeout']);
  assert.match(items[1]?.documentation ?? '', /\| live \| 30 \|/);
});

test('value completion: recommended first, then the live value and the kernel default', () => {
  const est = completeValues('net.netfilter.nf_conntrack_tcp_timeout_established', undefined, '432000');
  assert.deepEqual(est.map((v) => `${v.value} ${v.label}`), ['86400 recommended', '432000 live value, kernel default']);
  assert.equal(est[0]?.preselect, true);
  // nf_conntrack_max: recommended from RAM and usage when the host is known
  const max = completeValues('net.netfilter.nf_conntrack_max', { memTotalBytes: 8 * GiB, usagePercent: 90 }, '262144');
  assert.equal(max[0]?.label, 'recommended');
  assert.ok(Number(max[0]?.value) > 262144, max.map((v) => v.value).join(' '));
  // a boolean offers its two values
  assert.deepEqual(completeValues('net.netfilter.nf_conntrack_acct').map((v) => v.value), ['0', '1']);
  // a key of another subsystem: its documented default
  assert.ok(completeValues('net.ipv4.tcp_syncookies').some((v) => v.value === '1' && /kernel default/.test(v.label)));
});

test('hover/completion documentation says removed keys are gone and where they went', () => {
  const d = describeKey('kernel.sched_min_granularity_ns');
  assert.deepEqual(d.rows.find((r) => r[0] === 'removed'), ['removed', 'Linux 5.13, now /sys/kernel/debug/sched/min_granularity_ns']);
});

test('completion slot: key before `=`, value after it, nothing in comments', () => {
  assert.deepEqual(completionSlot('net.netfilter.nf_conntrack_t', 28), { slot: 'key', typed: 'net.netfilter.nf_conntrack_t', start: 0 });
  assert.deepEqual(completionSlot('  -net.core.so', 14), { slot: 'key', typed: 'net.core.so', start: 3 });
  assert.deepEqual(completionSlot('vm.swappiness = 1', 17), { slot: 'value', key: 'vm.swappiness', start: 16, end: 17 });
  assert.equal(completionSlot('# net.core', 10), undefined);
});

test('outline: keys grouped by subsystem in order of appearance; comment blocks fold', () => {
  const doc = parseSysctl([
    '# conntrack',
    '# sized for 16 GiB',
    'net.netfilter.nf_conntrack_max = 524288',
    'vm.swappiness = 10',
    'net.netfilter.nf_conntrack_tcp_timeout_established = 86400',
    '# one line',
    'net.ipv4.conf.all.rp_filter = 1',
    '',
  ].join('\n'));
  assert.deepEqual(outline(doc).map((g) => `${g.name}: ${g.entries.map((e) => e.line).join(',')}`), ['net.netfilter: 2,4', 'vm: 3', 'net.ipv4: 6']);
  assert.deepEqual(commentBlocks(doc), [{ start: 0, end: 1 }]);
  assert.equal(subsystemOf('kernel.pid_max'), 'kernel');
});
