import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySysctlFile, changedAssignmentLines, liveVersionOf } from '../../../src/core/fix/builders';
import { ValidationError } from '../../../src/core/fix/validate';
import { renderCommand } from '../../../src/core/fix/quote';

const EST = 'net.netfilter.nf_conntrack_tcp_timeout_established';
const MAX = 'net.netfilter.nf_conntrack_max';
const live = { [EST]: '432000', [MAX]: '262144', 'net.netfilter.nf_conntrack_udp_timeout': '30', 'net.netfilter.nf_conntrack_buckets': '65536' };

const FILE = [
  '# tuned',
  'vm.swappiness = 10',
  'net.netfilter.nf_conntrack_max = 131072',
  'net.netfilter.nf_conntrack_max = 524288 # raised',
  `${EST} = 3600`,
  'net.netfilter.nf_conntrack_tcp_timeout_establised = 60',
  'net.netfilter.nf_conntrack_udp_timeout = 30s',
  'net.netfilter.nf_conntrack_buckets = 16384',
  'net.ipv4.netfilter.ip_conntrack_tcp_timeout_time_wait = 30',
  'net.netfilter.nf_conntrack_udp_timeout = 30',
].join('\n');

test('apply-file: sysctl -w for each conntrack key that differs, read back, rolled back to the live value', () => {
  const fix = applySysctlFile({ path: '/etc/sysctl.conf', content: FILE, live, initialNetns: true });
  assert.equal(fix.id, 'apply-file');
  assert.deepEqual(fix.fileEdits, []);
  // max: the file's last line for it is broken (inline comment), so neither line is applied:
  // systemd-sysctl would write only the refused value, procps the earlier one.
  assert.deepEqual(fix.runtime.map((s) => renderCommand(s.argv)), [`sysctl -w ${EST}=3600`]);
  assert.deepEqual(fix.verify.map((v) => [renderCommand(v.argv), v.expect]), [[`sysctl -n ${EST}`, { kind: 'equals', value: '3600' }]]);
  assert.deepEqual(fix.rollback.map((s) => renderCommand(s.argv)), [`sysctl -w ${EST}=432000`]);
  assert.ok(fix.runtime.every((s) => s.privileged));
  assert.equal(fix.needsInitialNetns, false);
  const notes = fix.notes.join('\n');
  assert.match(notes, /line 2: vm\.swappiness is not a conntrack key/);
  assert.match(notes, /line 4: "524288 # raised" is not a value the kernel accepts.*line 3 is not applied either/);
  assert.match(notes, /line 6: net\.netfilter\.nf_conntrack_tcp_timeout_establised .*\(a typo\?\)/);
  assert.match(notes, /line 7: "30s" is not a value/);
  assert.match(notes, /line 8: net\.netfilter\.nf_conntrack_buckets is set through the module option/);
  assert.match(notes, /line 9: net\.ipv4\.netfilter\.ip_conntrack_tcp_timeout_time_wait no longer exists/);
  assert.match(notes, /nf_conntrack_udp_timeout is already 30/);
});

test('apply-file: a global key is applied in the initial namespace only', () => {
  const both = applySysctlFile({ path: '/etc/sysctl.conf', content: `${MAX} = 524288\n${EST} = 3600\n`, live, initialNetns: true });
  assert.deepEqual(both.runtime.map((s) => renderCommand(s.argv)), [`sysctl -w ${MAX}=524288`, `sysctl -w ${EST}=3600`]);
  assert.equal(both.needsInitialNetns, true);
  assert.equal(both.title, 'Apply 2 conntrack settings of /etc/sysctl.conf');
  const fix = applySysctlFile({ path: '/etc/sysctl.conf', content: `${MAX} = 524288\n${EST} = 3600\n`, live, initialNetns: false });
  assert.deepEqual(fix.runtime.map((s) => renderCommand(s.argv)), [`sysctl -w ${EST}=3600`]);
  assert.equal(fix.needsInitialNetns, false);
  assert.match(fix.notes.join('\n'), /line 1: net\.netfilter\.nf_conntrack_max is global/);
  assert.equal(fix.title, 'Set nf_conntrack_tcp_timeout_established to 3600');
});

test('apply-file: one line (after a quick fix); a line that sets nothing or changes nothing is refused with the reason', () => {
  const fix = applySysctlFile({ path: '/etc/sysctl.conf', content: FILE, live, line: 4 });
  assert.equal(fix.title, 'Set nf_conntrack_tcp_timeout_established to 3600');
  assert.equal(fix.runtime.length, 1);
  assert.throws(() => applySysctlFile({ path: '/etc/sysctl.conf', content: FILE, live, line: 0 }), (e: unknown) => e instanceof ValidationError && /line 1 of \/etc\/sysctl\.conf sets no key/.test(e.message));
  assert.throws(() => applySysctlFile({ path: '/etc/sysctl.conf', content: FILE, live, line: 9 }), /nothing to apply .*already 30/);
  assert.throws(() => applySysctlFile({ path: '/etc/sysctl.conf', content: FILE, live, line: 5 }), /a typo\?/);
});

test('apply-file: hostile values and paths never reach an argv', () => {
  const hostile = `${EST} = 3600; reboot\n${EST} = $(reboot)\n`;
  assert.throws(() => applySysctlFile({ path: '/etc/sysctl.conf', content: hostile, live }), ValidationError);
  assert.throws(() => applySysctlFile({ path: '/etc/sysctl.conf\n; reboot', content: `${EST} = 60\n`, live }), ValidationError);
  assert.throws(() => applySysctlFile({ path: '/etc/sysctl.conf', content: `${EST} = 99999999999\n`, live }), /not a value the kernel accepts/);
});

test('changedAssignmentLines: the lines a quick fix created or changed', () => {
  const before = `a.b = 1\n${EST.replace('established', 'establised')} = 3600\nc.d = 2 # x\n`;
  assert.deepEqual(changedAssignmentLines(before, `a.b = 1\n${EST} = 3600\nc.d = 2 # x\n`), [1]);
  // moving an inline comment above shifts the line down
  assert.deepEqual(changedAssignmentLines(before, `a.b = 1\n${EST.replace('established', 'establised')} = 3600\n# x\nc.d = 2\n`), [3]);
  assert.deepEqual(changedAssignmentLines(before, before), []);
});

test('liveVersionOf: the file with the live values, for "Compare with live"', () => {
  const content = `# x\r\n${EST} = 3600\r\nvm.swappiness = 10\r\nnet.netfilter.nf_conntrack_udp_timeout=30\r\nnet.nf_conntrack_max = 1000 \r\n`;
  assert.equal(liveVersionOf(content, live), `# x\r\n${EST} = 432000\r\nvm.swappiness = 10\r\nnet.netfilter.nf_conntrack_udp_timeout=30\r\nnet.nf_conntrack_max = 262144 \r\n`);
});
