/**
 * The one lock around the machine's nf_conntrack_max (harness/conntrackLock.ts), on a lock file
 * of its own (CTD_HOSTS_ROOT points to a temp dir: the machine's real lock is never touched).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'ctd-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
process.env['CTD_HOSTS_ROOT'] = root;

test('shared holders share; an exclusive one waits for them, and a timeout says so', async () => {
  const { globalConntrackLock, CONNTRACK_LOCK_FILE } = await import('../../../harness/conntrackLock');
  assert.equal(CONNTRACK_LOCK_FILE, join(root, '.global-conntrack.lock'));
  const a = await globalConntrackLock('shared');
  const b = await globalConntrackLock('shared', { timeoutS: 5 });
  await assert.rejects(globalConntrackLock('exclusive', { timeoutS: 1 }), /before taking .*waited at most 1 s/);
  let got = false;
  const exclusive = globalConntrackLock('exclusive', { timeoutS: 30 }).then((l) => {
    got = true;
    return l;
  });
  await a.release();
  assert.equal(got, false, 'one shared holder is left');
  b.releaseSync();
  const held = await exclusive;
  await assert.rejects(globalConntrackLock('shared', { timeoutS: 1 }));
  await held.release();
  await (await globalConntrackLock('shared', { timeoutS: 5 })).release();
});
