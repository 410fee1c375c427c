/**
 * Issue 12, variant 5: a BusyBox userland (variant `busybox`: ash, BusyBox awk/sed/grep, no bash,
 * no sudo; `doas` with `permit nopass ops as root`). The collection and the on-host entry summary
 * run on BusyBox's applets; `ops` becomes root through doas; at 250 000 entries the summary
 * (`entries --exact`: every entry, at low priority) finishes within its timeout, and one that does
 * not is stopped and said (cut-off).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { diagnosisJsonSchema } from '../../src/core/host/diagnosis';
import { useHost } from '../../harness/host/testHost';
import { cli, openSession, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('busybox');
const h = useHost(`itb${process.pid % 10000}`, { variants: ['busybox'] });
const FILLED = 250_000;

describe('a BusyBox host with doas', () => {
  before(async () => {
    await h.host.fill({ assured: FILLED });
    // the premise: BusyBox's awk and sh, no sudo, doas for ops
    const r = await h.host.ssh('ops', 'readlink -f "$(command -v awk)"; readlink /proc/$$/exe; command -v sudo || echo no-sudo; doas -n id -u');
    assert.deepEqual(r.stdout.trim().split('\n'), ['/usr/bin/busybox', '/usr/bin/busybox', 'no-sudo', '0'], r.stdout + r.stderr);
  });

  test('ops (doas, no sudo): a root diagnosis — netlink counters, the entry summary of 250k entries, nothing unavailable', async () => {
    const host = h.host;
    const r = await cli(['diagnose', `${host.name}-ops`, '--ssh-config', writeSshConfig(dir, host, { user: 'ops', alias: `${host.name}-ops` }), '--json', '--interval', '1'], { timeoutMs: 300_000 });
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
    const d = diagnosisJsonSchema.parse(JSON.parse(r.stdout));
    assert.equal(d.counterSource, 'netlink', 'conntrack -S through doas');
    assert.deepEqual(d.unavailable, []);
    assert.ok((d.usage.count ?? 0) >= FILLED);
    const e = await cli(['entries', `${host.name}-ops`, '--ssh-config', writeSshConfig(dir, host, { user: 'ops', alias: `${host.name}-ops` }), '--json', '--exact'], { timeoutMs: 300_000 });
    assert.equal(e.code, 0, e.stderr);
    const summary = JSON.parse(e.stdout) as { entries: number; assured: number };
    const count = await h.host.conntrackCount();
    assert.ok(summary.entries >= FILLED && Math.abs(summary.entries - count) < 20, `${summary.entries} vs the kernel's ${count}`);
  });

  test('a summary that outlives its time is stopped and said: cut-off, the rest of the snapshot intact', async () => {
    const s = await openSession(dir, h.host, { alias: `${h.host.name}-api` });
    try {
      const snap = await s.session.snapshot({ summaryTimeoutMs: 300 });
      assert.equal(snap.entrySummary, undefined);
      const cut = snap.unavailable?.find((u) => u.what === 'entry summary');
      assert.equal(cut?.code, 'cut-off', JSON.stringify(snap.unavailable));
      assert.match(cut?.why ?? '', /^stopped after 0.3 s without a result/);
      assert.ok((snap.count ?? 0) >= FILLED && snap.counters !== undefined, 'the rest was read');
    } finally {
      await s.session.close();
    }
  });
});
