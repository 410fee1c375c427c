import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  interpretConntrackCount,
  interpretConntrackDelete,
  interpretConntrackFlush,
  parseConntrackCount,
  parseConntrackDeleteCount,
  parseConntrackListSummary,
} from '../../../src/core/kernel/conntrackCommands';
import { parseConntrackToolMessage } from '../../../src/core/kernel/result';
import { captured, err, ok, sample } from './samples';

test('conntrack -C → integer', () => {
  assert.equal(ok(parseConntrackCount(sample('conntrack_-C.txt'))), 212);
  const c = captured('conntrack_-C');
  assert.equal(ok(interpretConntrackCount(c.stdout, c.stderr, c.exitCode)), 22);
});

test('conntrack -C: junk or nothing is an error', () => {
  assert.equal(err(parseConntrackCount('')).kind, 'empty');
  assert.equal(err(parseConntrackCount('12 entries')).kind, 'malformed');
  assert.equal(err(parseConntrackCount('-1')).kind, 'malformed');
});

test('conntrack -C without CAP_NET_ADMIN: the procfs fallback count is used, with a warning', () => {
  const c = captured('nobody_conntrack_-C');
  assert.equal(c.exitCode, 1);
  const result = interpretConntrackCount(c.stdout, c.stderr, c.exitCode);
  assert.equal(ok(result), 22);
  assert.ok(result.ok && result.warnings.some((w) => w.includes('CAP_NET_ADMIN')));
});

test('conntrack -C: other failures are errors even with a number on stdout', () => {
  const e = err(interpretConntrackCount('0\n', 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters\n', 1));
  assert.equal(e.kind, 'tool-error');
  assert.match(e.message, /invalid parameters/);
  assert.equal(err(interpretConntrackCount('', 'sh: 1: conntrack: not found\n', 127)).kind, 'tool-error');
  assert.equal(err(interpretConntrackCount('', 'bash: conntrack: command not found\n', 127)).kind, 'tool-error');
});

test('conntrack -L summary line (stderr) → number; absent → undefined', () => {
  assert.equal(parseConntrackListSummary(sample('conntrack_-L.stderr.txt')), 213);
  assert.equal(parseConntrackListSummary(captured('conntrack_-L.empty').stderr), 0);
  assert.equal(parseConntrackListSummary(''), undefined);
  assert.equal(parseConntrackListSummary(captured('nobody_conntrack_-L').stderr), undefined);
  assert.deepEqual(parseConntrackToolMessage('conntrack v1.4.7 (conntrack-tools): 213 flow entries have been shown.'), { version: '1.4.7', message: '213 flow entries have been shown.' });
});

test('conntrack -D: deleted count; 0 deleted with exit 1 is not an error', () => {
  const some = captured('conntrack_-D_-p_udp');
  assert.equal(parseConntrackDeleteCount(some.stderr), 2);
  assert.deepEqual(ok(interpretConntrackDelete(some.stdout, some.stderr, some.exitCode)), { deleted: 2 });
  const none = captured('conntrack_-D_-p_udp.again');
  assert.equal(none.exitCode, 1);
  assert.deepEqual(ok(interpretConntrackDelete(none.stdout, none.stderr, none.exitCode)), { deleted: 0 });
  const merged = `${some.stdout}${some.stderr}`;
  assert.deepEqual(ok(interpretConntrackDelete(merged, '', 0)), { deleted: 2 }, 'streams merged');
});

test('conntrack -D: a permission error, a missing summary, or exit 1 after deleting some are errors', () => {
  const denied = captured('nobody_conntrack_-L');
  assert.equal(err(interpretConntrackDelete('', denied.stderr, 1)).kind, 'tool-error');
  assert.equal(err(interpretConntrackDelete('', '', 1)).kind, 'malformed');
  assert.equal(err(interpretConntrackDelete('', 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n', 1)).kind, 'tool-error');
});

test('conntrack -F', () => {
  const f = captured('conntrack_-F');
  assert.deepEqual(ok(interpretConntrackFlush(f.stdout, f.stderr, f.exitCode)), { emptied: true });
  const denied = captured('nobody_conntrack_-L');
  const e = err(interpretConntrackFlush('', denied.stderr, 1));
  assert.match(e.message, /CAP_NET_ADMIN/);
  assert.equal(err(interpretConntrackFlush('', '', 0)).kind, 'tool-error', 'no confirmation');
});
