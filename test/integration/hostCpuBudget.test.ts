/**
 * Issue 13: the host CPU budget (core/host/cpuBudget.ts) bounds what runs by itself. A full read
 * measures its own host CPU (the scripts' `times` on exit); when a sysctl file changes, the
 * periodic refresh reads everything again only once that cost ÷ budget has passed since: at
 * 0.1 % it keeps to the one frequent command (and the old fingerprint, so the change is still
 * seen later); at 100 %, after the cost's own length of time, it reads everything again.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { minimumIntervalMs, nextAutomaticRunAt } from '../../src/core/host/cpuBudget';
import { useHost } from '../../harness/host/testHost';
import { openSession, scratchDir, type Session } from './helpers';

const dir = scratchDir('cpu-budget');
let s: Session | undefined;
after(async () => {
  await s?.session.close();
});
const h = useHost(`b13b${process.pid % 10000}`);

describe('host CPU budget', () => {
  test('a changed file is read again only when the last full read’s measured cost ÷ budget has passed', async () => {
    const host = h.host;
    await host.fill({ assured: 3000, srcCount: 50 });
    s = await openSession(dir, host);
    const full = await s.session.snapshot({ sample: 1000 });
    assert.ok(full.entrySummary && full.fingerprint);
    const cost = s.session.lastFullReadCost;
    // the collection alone reads sysctl -a, the firewall and the files: well above one 10 ms tick
    assert.ok(cost && cost.hostCpuMs >= 10 && cost.endedAt <= Date.now(), JSON.stringify(cost));
    console.log(`# full read: ${cost.hostCpuMs} ms host CPU → next automatic one after ${minimumIntervalMs(cost.hostCpuMs, 1) / 1000} s at 1 %`);

    await host.execOk(['sh', '-c', 'echo "net.netfilter.nf_conntrack_tcp_timeout_established = 86400" > /etc/sysctl.d/50-budget.conf']);
    const before = s.log.length;
    const deferred = await s.session.periodicSnapshot(full, { sample: 1000, hostCpuBudgetPercent: 0.1 });
    const ran = s.log.slice(before).map((e) => e.command);
    assert.equal(ran.length, 1, `only the frequent collection: ${ran.join(' | ')}`);
    assert.match(ran[0] ?? '', / frequent$/);
    assert.equal(deferred.fingerprint, full.fingerprint, 'the old fingerprint is kept so a later refresh still sees the change');
    assert.deepEqual(deferred.entrySummary, full.entrySummary, "the last sample is kept");
    assert.equal(s.session.fullReadDeferredUntil, nextAutomaticRunAt(cost, 0.1));
    assert.ok(!deferred.sysctlFiles?.some((f) => f.path.endsWith('50-budget.conf')), 'the new file is not read yet');

    // At 100 % the pause is the cost itself: once it has passed, the change is read.
    await delay(Math.max(0, nextAutomaticRunAt(cost, 100) - Date.now()));
    const mark = s.log.length;
    const reread = await s.session.periodicSnapshot(deferred, { sample: 1000, hostCpuBudgetPercent: 100 });
    const ran2 = s.log.slice(mark).map((e) => e.command);
    assert.ok(ran2.length >= 3 && ran2.some((c) => / all$/.test(c)) && ran2.some((c) => /sample=1000/.test(c)), ran2.join(' | '));
    assert.notEqual(reread.fingerprint, full.fingerprint);
    assert.ok(reread.sysctlFiles?.some((f) => f.path.endsWith('50-budget.conf')), 'the new file is read');
    assert.equal(s.session.fullReadDeferredUntil, undefined);
    assert.ok((s.session.lastFullReadCost?.endedAt ?? 0) > cost.endedAt, 'the new read is the new measure');
  });
});
