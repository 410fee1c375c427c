import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTableFullLog, tableFullLogSchema } from '../../../src/core/kernel/kernelLog';
import { err, ok, sample } from './samples';

test('dmesg: netns form, suppressed counts attributed to the burst', () => {
  const log = ok(parseTableFullLog(sample('dmesg_table_full.txt')));
  tableFullLogSchema.parse(log);
  assert.equal(log.events.length, 3);
  assert.deepEqual(log.events[0], {
    uptimeSeconds: 4893.494207,
    netns: 4026532176,
    line: '[ 4893.494207] nf_conntrack: nf_conntrack: table full in netns 4026532176, dropping packet',
  });
  assert.deepEqual(log.summary, {
    tableFullLines: 3,
    initialNetnsLines: 0,
    suppressedTotal: 1333 + 14995,
    unattributedSuppressed: 0,
    first: { uptimeSeconds: 4893.494207 },
    last: { uptimeSeconds: 4893.494224 },
    netnsIds: [4026532176],
  });
});

// The other forms below are the same kernel message as rendered by dmesg -T, journalctl and
// rsyslog (formats from util-linux, systemd and rsyslog); this machine has no journal to capture.
test('dmesg -T, journalctl short-iso, syslog: initial-netns form, hosts and wall clock as printed', () => {
  const text = [
    '[Fri Nov 27 07:31:19 2026] nf_conntrack: table full, dropping packet',
    '2026-11-27T07:31:20+0000 web-1 kernel: nf_conntrack: table full, dropping packet',
    '2026-11-27T07:31:21.123456+00:00 web-1 kernel: nf_conntrack: nf_conntrack: table full in netns 4026532999, dropping packet',
    'Nov 27 07:31:22 web-1 kernel: [ 4893.494207] nf_conntrack: table full, dropping packet',
    'Nov 27 07:31:23 web-1 kernel: net_ratelimit: 42 callbacks suppressed',
    'nf_conntrack: table full, dropping packet.',
    'ip_conntrack: table full, dropping packet.',
    '2026-11-27T07:31:24,123456+00:00 nf_conntrack: table full, dropping packet',
  ].join('\n');
  const log = ok(parseTableFullLog(text));
  assert.equal(log.events.length, 7);
  assert.deepEqual(log.events[0], { wallClock: 'Fri Nov 27 07:31:19 2026', line: '[Fri Nov 27 07:31:19 2026] nf_conntrack: table full, dropping packet' });
  assert.equal(log.events[1]?.wallClock, '2026-11-27T07:31:20+0000');
  assert.equal(log.events[1]?.host, 'web-1');
  assert.equal(log.events[2]?.netns, 4026532999);
  assert.deepEqual([log.events[3]?.wallClock, log.events[3]?.uptimeSeconds], ['Nov 27 07:31:22', 4893.494207]);
  assert.equal(log.events[4]?.wallClock, undefined, 'no timestamp (dmesg -t): absent');
  assert.equal(log.events[6]?.wallClock, '2026-11-27T07:31:24,123456+00:00', 'dmesg --time-format iso');
  assert.equal(log.events[6]?.host, undefined);
  assert.equal(log.summary.initialNetnsLines, 6);
  assert.deepEqual(log.summary.netnsIds, [4026532999]);
  assert.equal(log.summary.suppressedTotal, 42);
  assert.deepEqual(log.summary.first, { wallClock: 'Fri Nov 27 07:31:19 2026' });
  assert.deepEqual(log.summary.last, { wallClock: '2026-11-27T07:31:24,123456+00:00' });
});

test('suppressed counts after an unrelated line are not attributed', () => {
  const text = [
    '[ 10.000000] nf_conntrack: table full, dropping packet',
    '[ 11.000000] IPv4: martian source 10.0.0.1 from 10.0.0.2, on dev eth0',
    '[ 12.000000] net_ratelimit: 7 callbacks suppressed',
    '[ 13.000000] nf_conntrack: table full, dropping packet',
    '[ 14.000000] net_ratelimit: 5 callbacks suppressed',
    '[ 15.000000] eth0: some driver: 9 callbacks suppressed',
  ].join('\n');
  const log = ok(parseTableFullLog(text));
  assert.equal(log.summary.suppressedTotal, 5);
  assert.equal(log.summary.unattributedSuppressed, 7);
  assert.deepEqual(log.suppressed.map((s) => [s.count, s.attributed]), [[7, false], [5, true]]);
});

test('a log without table-full lines is a valid empty result; unreadable dmesg is an error', () => {
  const quiet = ok(parseTableFullLog(sample('dmesg_nf_ct_proto_6_log_invalid.txt')));
  assert.equal(quiet.events.length, 0);
  assert.equal(quiet.summary.first, undefined);
  assert.equal(ok(parseTableFullLog('')).summary.tableFullLines, 0);
  const e = err(parseTableFullLog('dmesg: read kernel buffer failed: Operation not permitted\n'));
  assert.equal(e.kind, 'tool-error');
  assert.match(e.message, /Operation not permitted/);
});

test('look-alike lines are not events', () => {
  const log = ok(parseTableFullLog('[ 1.0] nf_conntrack: table nearly full\n[ 2.0] someone said nf_conntrack table full dropping packet\n'));
  assert.equal(log.events.length, 0);
});

test("journalctl's markers (`-- No entries --`, `-- Boot … --`) are not kernel lines", () => {
  const empty = ok(parseTableFullLog('-- No entries --\n'));
  assert.equal(empty.summary.tableFullLines, 0);
  assert.deepEqual(empty.events, []);
  const full = '2026-11-27T07:31:19+0000 web-1 kernel: nf_conntrack: table full, dropping packet';
  const suppressed = '2026-11-27T07:31:24+0000 web-1 kernel: net_ratelimit: 12 callbacks suppressed';
  // `-- No entries --` between them changes nothing; a boot separates them (another kernel)
  const same = ok(parseTableFullLog([full, '-- No entries --', suppressed].join('\n')));
  assert.deepEqual([same.summary.tableFullLines, same.summary.suppressedTotal, same.summary.unattributedSuppressed], [1, 12, 0]);
  const rebooted = ok(parseTableFullLog([full, '-- Boot 0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f --', suppressed].join('\n')));
  assert.deepEqual([rebooted.summary.tableFullLines, rebooted.summary.suppressedTotal, rebooted.summary.unattributedSuppressed], [1, 0, 12]);
});
