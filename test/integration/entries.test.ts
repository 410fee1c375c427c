/**
 * Who fills the table, and deleting a source's entries:
 *  - acceptance 3: an unreplied SYN flood from one source; the entry summary (computed on the
 *    host) names it first with the same count `conntrack -L -s SRC` gives, and the diagnosis has
 *    `stale-entries` naming it;
 *  - acceptance 8: delete by source: the count the preview announces is exactly what leaves the
 *    table (generated flows are static); without a confirmation nothing is deleted.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { diagnose } from '../../src/core/host/diagnose';
import { buildHostFix } from '../../src/core/host/fixes';
import { countArgv } from '../../src/core/fix/entriesFixes';
import { applyFix, ApplyError, listChanges } from '../../src/io/apply';
import { useHost } from '../../harness/host/testHost';
import { cli, countsWithoutSsh, openSession, scratchDir, sshOk, writeSshConfig, type Session } from './helpers';

const dir = scratchDir('entries');
let s: Session | undefined;
after(async () => {
  await s?.session.close();
});
const h = useHost(`ite${process.pid % 10000}`);

/** The flooding source (TEST-NET-3), and how many SYNs it sends. */
const SRC = '203.0.113.77';
const FLOOD = 3000;

/** Entries whose original source is `src`, counted independently (OpenSSH + conntrack + wc). */
async function independentCount(src: string): Promise<number> {
  return Number((await sshOk(h.host, `conntrack -L -s ${src} 2>/dev/null | wc -l`)).trim());
}

describe('an unreplied flood from one source', () => {
  test('the entry summary names the source first, with the count conntrack -L -s gives; stale-entries names it', async () => {
    const host = h.host;
    // Background: 2000 ASSURED flows from 250 clients (8 each), then the flood.
    await host.fill({ assured: 2000, srcCount: 250 });
    const flood = await host.fill({ unreplied: FLOOD, src: SRC });
    assert.ok(flood.countAfter - flood.countBefore >= FLOOD, JSON.stringify(flood));

    s = await openSession(dir, host);
    const summary = await s.session.entrySummary({ topN: 5 });
    const top = summary.topSources.items[0];
    assert.equal(top?.key, SRC, JSON.stringify(summary.topSources.items));
    assert.equal(top.count, await independentCount(SRC));
    assert.equal(top.count, FLOOD);
    assert.ok((summary.topSources.items[1]?.count ?? 0) < 20, 'the others are small');
    assert.ok(summary.unreplied >= FLOOD);
    assert.ok(summary.assured >= 2000);
    // the summary was computed on the host: the command the product ran is the awk pass, not a listing
    assert.ok(s.log.some((e) => e.command.startsWith('sh -s -- 5') && e.privileged), JSON.stringify(s.log.map((e) => e.command)));

    // The CLI shows the same, source first.
    const r = await cli(['entries', host.name, '--ssh-config', writeSshConfig(dir, host), '--top', '3']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.includes('top sources'));
    assert.ok(at >= 0, r.stdout);
    assert.match(lines[at + 1] ?? '', new RegExp(`^\\s+3,000\\s+[\\d.]+ %\\s+${SRC.replace(/\./g, '\\.')}$`), r.stdout);

    const snap = await s.session.snapshot();
    const d = diagnose(snap);
    const f = d.findings.find((x) => x.cause === 'stale-entries');
    assert.ok(f, JSON.stringify(d.findings.map((x) => `${x.code}: ${x.title}`)));
    assert.match(f.title, new RegExp(`^[\\d.]+ % from ${SRC.replace(/\./g, '\\.')}$`));
    assert.ok(f.evidence.some((e) => e.label === `source ${SRC}` && e.value.startsWith('3,000 entries')), JSON.stringify(f.evidence));
    assert.ok(f.evidence.some((e) => e.label === 'UNREPLIED entries'));
    const del = f.fixes.find((x) => x.id === 'delete-entries');
    assert.ok(del, 'it offers to delete that source\'s entries');
    assert.equal(del.destructive, true);
    assert.match(del.confirmation ?? '', new RegExp(`Delete 3000 conntrack entries matching IPv4, source ${SRC.replace(/\./g, '\\.')}`));
  });
});

describe('delete by source', () => {
  test('without a confirmation nothing is deleted', async () => {
    const host = h.host;
    assert.ok(s);
    const counted = await s.session.runner.run(countArgv({ src: SRC }), { privileged: true, timeoutMs: 60_000 });
    const expected = Number(counted.stdout.trim()); // counted on the host: one number
    assert.equal(expected, FLOOD);
    const fix = buildHostFix(await s.session.snapshot({ entries: false }), 'delete-entries', { filter: { src: SRC }, expectedCount: expected });
    const changes = (await listChanges(s.session.runner)).length;
    const before = await countsWithoutSsh(host);
    for (const confirm of [undefined, () => Promise.resolve(false)]) {
      let err: unknown;
      try {
        await applyFix(s.session.runner, fix, confirm ? { confirm } : {});
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ApplyError, String(err));
      assert.match(err.message, /not confirmed: Delete 3000 conntrack entries/);
      assert.match(err.message, /nothing was changed/);
    }
    assert.equal(await independentCount(SRC), FLOOD);
    assert.equal((await countsWithoutSsh(host)).other, before.other);
    assert.equal((await listChanges(s.session.runner)).length, changes, 'nothing recorded');
  });

  test('CLI: the preview announces N; apply --yes removes exactly N entries from the table', async () => {
    const host = h.host;
    const config = writeSshConfig(dir, host);
    const preview = await cli(['apply', host.name, 'delete-entries', '--src', SRC, '--ssh-config', config, '--dry-run']);
    assert.equal(preview.code, 0, preview.stderr);
    const announced = /DESTRUCTIVE: Delete (\d+) conntrack entries matching IPv4, source 203\.0\.113\.77/.exec(preview.stdout);
    assert.ok(announced, preview.stdout);
    const n = Number(announced[1]);
    assert.equal(n, await independentCount(SRC));
    assert.equal(await independentCount(SRC), FLOOD, 'a dry run deletes nothing');

    // Counted in the host without SSH; SSH entries (this test's own logins) are left out of the sum.
    const before = await countsWithoutSsh(host);
    const r = await cli(['apply', host.name, 'delete-entries', '--src', SRC, '--ssh-config', config, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Applied and verified: Delete conntrack entries matching IPv4, source 203\.0\.113\.77/);
    assert.match(r.stdout, /read back: No more than 0 entries match IPv4, source 203\.0\.113\.77: 0/);
    const afterCounts = await countsWithoutSsh(host);
    assert.equal(before.other - afterCounts.other, n, `conntrack -C (without SSH entries) dropped by exactly ${n}: ${JSON.stringify({ before, afterCounts })}`);
    assert.equal(await independentCount(SRC), 0);
    // the background flows are untouched
    assert.ok(Number((await sshOk(host, 'conntrack -L -s 198.18.0.0/16 2>/dev/null | wc -l')).trim()) >= 2000);
  });
});
