import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countArgv, deleteEntries, describeFilter, filterArgs, flushTable, validateEntryFilter } from '../../../src/core/fix/builders';
import { ValidationError } from '../../../src/core/fix/validate';

function refuses(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ValidationError && e.field === field);
}

test('filter → conntrack flags (conntrack(8): --orig-src/--orig-dst/-p/--orig-port-*/--state)', () => {
  assert.deepEqual(filterArgs({ src: '10.0.0.0/8', dst: '192.0.2.1', proto: 'TCP', sport: 1234, dport: '443', state: 'time_wait' }), [
    '-f', 'ipv4', '-p', 'tcp', '--orig-src', '10.0.0.0/8', '--orig-dst', '192.0.2.1', '--orig-port-src', '1234', '--orig-port-dst', '443', '--state', 'TIME_WAIT',
  ]);
  assert.deepEqual(filterArgs({ dst: '2001:DB8::1', proto: 17, dport: 53 }), ['-f', 'ipv6', '-p', 'udp', '--orig-dst', '2001:db8::1', '--orig-port-dst', '53']);
  assert.deepEqual(filterArgs({ proto: 'gre' }), ['-p', 'gre']);
  assert.deepEqual(countArgv({ proto: 'udp', dport: 53 }), ['conntrack', '-L', '-p', 'udp', '--orig-port-dst', '53']);
  assert.equal(describeFilter({ proto: 'tcp', dport: 80, state: 'ESTABLISHED' }), 'protocol tcp, destination port 80, state ESTABLISHED');
});

test('filter validation: state needs tcp, ports need a port protocol, one family, not empty', () => {
  refuses(() => validateEntryFilter({ proto: 'udp', state: 'ESTABLISHED' }), 'state');
  refuses(() => validateEntryFilter({ src: '10.0.0.1', state: 'ESTABLISHED' }), 'state');
  refuses(() => validateEntryFilter({ proto: 'icmp', dport: 22 }), 'dport');
  refuses(() => validateEntryFilter({ src: '10.0.0.1', sport: 22 }), 'sport');
  refuses(() => validateEntryFilter({ src: '10.0.0.1', dst: '::1' }), 'dst');
  refuses(() => validateEntryFilter({ family: 'ipv6', src: '10.0.0.1' }), 'src');
  refuses(() => validateEntryFilter({ family: 'inet', proto: 'tcp' }), 'family');
  refuses(() => validateEntryFilter({ proto: 'icmp', dst: '::1' }), 'proto');
  refuses(() => validateEntryFilter({}), 'filter');
  refuses(() => validateEntryFilter({ dport: 80 }), 'dport');
  refuses(() => validateEntryFilter({ src: '$(id)' }), 'src');
  refuses(() => validateEntryFilter({ proto: 'tcp', dport: '80; reboot' }), 'dport');
  refuses(() => validateEntryFilter({ proto: 'tcp', state: 'INVALID' }), 'state');
});

test('delete-entries: conntrack -D with the same filter as the count, exit 1 = none matched, destructive', () => {
  const fix = deleteEntries({ filter: { proto: 'tcp', dport: 80, state: 'TIME_WAIT' }, expectedCount: 1234, host: 'web-1' });
  assert.equal(fix.id, 'delete-entries');
  assert.equal(fix.destructive, true);
  assert.match(fix.confirmation ?? '', /Delete 1234 conntrack entries matching protocol tcp, destination port 80, state TIME_WAIT on web-1\?/);
  const [step] = fix.runtime;
  assert.deepEqual(step?.argv, ['conntrack', '-D', '-p', 'tcp', '--orig-port-dst', '80', '--state', 'TIME_WAIT']);
  assert.deepEqual(step?.okExitCodes, [0, 1]);
  assert.equal(step?.privileged, true);
  const [v] = fix.verify;
  assert.deepEqual(v?.argv, countArgv({ proto: 'tcp', dport: 80, state: 'TIME_WAIT' }));
  assert.equal(v?.measure, 'line-count');
  assert.deepEqual(v?.expect, { kind: 'integer-at-most', value: 0 });
  assert.deepEqual(fix.rollback, []);
  assert.ok(fix.notes.some((n) => /cannot be restored/.test(n)));
  assert.deepEqual(deleteEntries({ filter: { proto: 'udp' }, expectedCount: 5, allowRemaining: 3 }).verify[0]?.expect, { kind: 'integer-at-most', value: 3 });
});

test('delete-entries: hostile inputs are refused before a command is built', () => {
  refuses(() => deleteEntries({ filter: { proto: 'tcp' }, expectedCount: '12; reboot' }), 'expectedCount');
  refuses(() => deleteEntries({ filter: { src: '10.0.0.1;reboot' }, expectedCount: 1 }), 'src');
  refuses(() => deleteEntries({ filter: { proto: 'tcp' }, expectedCount: 1, host: 'a\nb' }), 'host');
});

test('flush-table: conntrack -F, destructive, names the count; verification allows loose pickup', () => {
  const fix = flushTable({ entryCount: 262144, host: 'db-2' });
  assert.deepEqual(fix.runtime.map((s) => s.argv), [['conntrack', '-F']]);
  assert.equal(fix.destructive, true);
  assert.match(fix.confirmation ?? '', /All 262144 tracked entries/);
  assert.match(fix.confirmation ?? '', /db-2/);
  assert.deepEqual(fix.verify[0]?.expect, { kind: 'integer-at-most', value: 262143 });
  assert.ok(fix.notes.some((n) => /reappear|picked up again/.test(n)));
  refuses(() => flushTable({ entryCount: '$(id)' }), 'entryCount');
  refuses(() => flushTable({ entryCount: -1 }), 'entryCount');
});
