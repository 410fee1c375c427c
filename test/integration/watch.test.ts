/**
 * Issue 13 §1: `conntrack-doctor watch TARGET --count 3` against a real test host prints one
 * JSON object per refresh (time, count, max, percent, counter rates) through the extension's
 * periodic refresh (HostSession.periodicSnapshot): only the frequent collection runs after the
 * first snapshot, and the table is never listed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHost } from '../../harness/host/testHost';
import { cli, scratchDir, sshOk, writeSshConfig } from './helpers';

const dir = scratchDir('watch');
const h = useHost(`s13w${process.pid % 10000}`);

describe('watch', () => {
  test('--count 3 --json: three refreshes with count, max, percent and rates, through the frequent collection only', async () => {
    const host = h.host;
    await host.fill({ assured: 500, srcCount: 20 });
    const max = Number((await sshOk(host, 'cat /proc/sys/net/netfilter/nf_conntrack_max')).trim());
    const r = await cli(['watch', host.name, '--ssh-config', writeSshConfig(dir, host), '--interval', '1', '--count', '3', '--json', '-v'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { time: string; count: number; max: number; percent: number; rates: Record<string, number> });
    assert.equal(rows.length, 3, r.stdout);
    let last = 0;
    for (const row of rows) {
      const at = Date.parse(row.time);
      assert.ok(at > last, `times increase: ${r.stdout}`);
      last = at;
      assert.ok(row.count >= 500, JSON.stringify(row));
      assert.equal(row.max, max);
      assert.ok(Math.abs(row.percent - (100 * row.count) / row.max) < 1e-9);
      for (const k of ['drop', 'early_drop', 'insert_failed', 'invalid']) assert.equal(typeof row.rates[k], 'number', `rate of ${k}: ${JSON.stringify(row)}`);
    }
    // -v logs every command: one full collection (no entries), then three frequent ones; no listing
    const ran = r.stderr.split('\n').filter((l) => /sh -s -- /.test(l));
    assert.equal(ran.filter((l) => / frequent\b/.test(l)).length, 3, ran.join('\n'));
    assert.equal(ran.filter((l) => / all\b/.test(l)).length, 1, ran.join('\n'));
    assert.ok(!/conntrack -L|sample=/.test(r.stderr), r.stderr);

    const text = await cli(['watch', host.name, '--ssh-config', writeSshConfig(dir, host), '--interval', '1', '--count', '1']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}[\d,]+ \/ [\d,]+ {2}[\d.]+ % {2}drop [\d.,]+\/s/);
  });
});
