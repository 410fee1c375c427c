import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countArgv, deleteEntries, describeFilter, filterArgs, flushTable, validateEntryFilter } from '../../../src/core/fix/builders';
import { listArgv, mayMatchOwnConnection, parseSshConnection, OWN_CONNECTION_MARK_BIT } from '../../../src/core/fix/entriesFixes';
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
  assert.deepEqual(listArgv({ proto: 'udp', dport: 53 }), ['conntrack', '-L', '-p', 'udp', '--orig-port-dst', '53']);
  // counted on the host: a constant script, the filter as its positional arguments
  const count = countArgv({ proto: 'udp', dport: 53 });
  assert.deepEqual([count[0], count[1], ...count.slice(3)], ['sh', '-c', 'conntrack-count', '-p', 'udp', '--orig-port-dst', '53']);
  assert.match(count[2] ?? '', /conntrack -L "\$@"/);
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
  // the listing of deleted entries is discarded on the host; no own connection known: nothing shielded
  assert.deepEqual(step?.argv.slice(3), ['conntrack-delete', 'D', '-', '-', '-', '-', '-p', 'tcp', '--orig-port-dst', '80', '--state', 'TIME_WAIT']);
  assert.match(step?.argv[2] ?? '', /exec conntrack -D "\$@" >\/dev\/null/);
  assert.deepEqual(step?.okExitCodes, [0, 1]);
  assert.equal(step?.privileged, true);
  const [v] = fix.verify;
  assert.deepEqual(v?.argv, countArgv({ proto: 'tcp', dport: 80, state: 'TIME_WAIT' }));
  assert.equal(v?.measure, undefined, 'the count comes back as one number, not as a listing');
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

test('own connection: $SSH_CONNECTION parsed and validated; the delete and the flush shield its entry', () => {
  const own = parseSshConnection('10.231.2.1 45878 10.231.2.2 22\n');
  assert.ok(own);
  assert.equal(own.clientAddress.text, '10.231.2.1');
  assert.equal(own.serverPort, 22);
  assert.equal(parseSshConnection(''), undefined);
  refuses(() => parseSshConnection('10.0.0.1 1 2'), 'SSH_CONNECTION');
  refuses(() => parseSshConnection('$(id) 1 10.0.0.2 22'), 'SSH_CONNECTION client address');
  refuses(() => parseSshConnection('10.0.0.1 99999 10.0.0.2 22'), 'SSH_CONNECTION client port');

  const del = deleteEntries({ filter: { proto: 'tcp', dport: 22 }, expectedCount: 7, ownConnection: own });
  assert.deepEqual(del.runtime[0]?.argv.slice(3), ['conntrack-delete', 'D', '10.231.2.1', '45878', '10.231.2.2', '22', '-p', 'tcp', '--orig-port-dst', '22']);
  assert.ok(del.runtime[0]?.argv[2]?.includes(`bit=${OWN_CONNECTION_MARK_BIT}`));
  assert.match(del.runtime[0]?.description ?? '', /except the tool's own SSH connection/);
  // the own entry matches --dport 22 and stays: the read-back allows it
  assert.deepEqual(del.verify[0]?.expect, { kind: 'integer-at-most', value: 1 });
  assert.deepEqual(deleteEntries({ filter: { proto: 'udp' }, expectedCount: 7, ownConnection: own }).verify[0]?.expect, { kind: 'integer-at-most', value: 0 });

  const flush = flushTable({ entryCount: 10, ownConnection: own });
  assert.deepEqual(flush.runtime[0]?.argv.slice(3), ['conntrack-delete', 'F', '10.231.2.1', '45878', '10.231.2.2', '22']);
  assert.deepEqual(flush.runtime[0]?.okExitCodes, [0, 1]);

  assert.equal(mayMatchOwnConnection({ proto: 'tcp', dport: 22 }, own), true);
  assert.equal(mayMatchOwnConnection({ proto: 'tcp', dport: 80 }, own), false);
  assert.equal(mayMatchOwnConnection({ src: '10.231.2.1' }, own), true);
  assert.equal(mayMatchOwnConnection({ src: '10.231.2.9' }, own), false);
  assert.equal(mayMatchOwnConnection({ src: '2001:db8::/64' }, own), false);
});
