/**
 * Issue 13: the periodic refresh costs the same at any table size. Its collection (collect.ts
 * part `frequent`) reads count, max, the netfilter sysctls, the counters and a fingerprint of the
 * files: against a real table of 2,000 and then ~100,000 entries it runs the same one command
 * and prints the same bytes (give or take the digits of growing numbers), while the full
 * collection's entry summary grows with the table. The fingerprint stays while nothing changes
 * and moves when a sysctl file is added. The host CPU of each is printed (measured on the host:
 * the script's reaped user + system time), not asserted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { collectionScript, withFrequentFields } from '../../src/core/host/collect';
import { entrySummaryArgs, entrySummaryScript } from '../../src/core/host/entryScripts';
import { useHost } from '../../harness/host/testHost';
import { measureOnHost, type HostCost } from '../../harness/hostCpu';
import { openSession, scratchDir, type Session } from './helpers';

const dir = scratchDir('refresh-cost');
let s: Session | undefined;
after(async () => {
  await s?.session.close();
});
const h = useHost(`itr${process.pid % 10000}`);

const nonce = (): string => randomBytes(12).toString('hex');
const show = (c: HostCost): string => `${c.cpuMs.toFixed(0)} ms CPU, ${c.wallMs.toFixed(0)} ms wall, ${c.stdoutBytes} B`;

describe('the periodic refresh does not grow with the table', () => {
  test('one command, the same bytes at 2,000 and ~100,000 entries; the fingerprint moves only when a file does', async () => {
    const host = h.host;
    await host.fill({ assured: 2000, srcCount: 200 });
    s = await openSession(dir, host);
    const full = await s.session.snapshot({ topN: 5 });
    assert.ok(full.fingerprint, 'the full collection has a fingerprint');

    const measure = async (label: string): Promise<{ bytes: number; frequent: HostCost; summary: HostCost }> => {
      assert.ok(s);
      const before = s.log.length;
      const frequent = await s.session.snapshot({ part: 'frequent' });
      const ran = s.log.slice(before).map((e) => e.command);
      assert.equal(ran.length, 1, `the periodic refresh ran more than one command: ${ran.join(' | ')}`);
      assert.match(ran[0] ?? '', /\bsh -s -- [0-9a-f]{24} frequent$/);
      assert.equal(frequent.entrySummary, undefined);
      assert.equal(frequent.fingerprint, full.fingerprint, 'nothing changed, the fingerprint moved');
      const merged = withFrequentFields(full, frequent);
      const independent = Number((await host.execOk(['conntrack', '-C'])).trim());
      assert.ok(merged.count !== undefined && Math.abs(merged.count - independent) <= 20, `${merged.count} vs ${independent}`);
      assert.deepEqual(merged.sysctlFiles, full.sysctlFiles, 'the rarely changing part is kept');
      const cost = await measureOnHost(host, collectionScript(), [nonce(), 'frequent']);
      const summary = await measureOnHost(host, entrySummaryScript(), entrySummaryArgs(10));
      console.log(`# ${label} (${independent} entries): periodic refresh ${show(cost)}; exact entry summary ${show(summary)}`);
      return { bytes: cost.stdoutBytes, frequent: cost, summary };
    };

    const small = await measure('small table');
    const fill = await host.fill({ assured: 98_000, srcCount: 400 });
    assert.ok(fill.countAfter >= 95_000, JSON.stringify(fill));
    const large = await measure('large table');
    // The same sections; only the digits of numbers (count, counters) may differ.
    assert.ok(Math.abs(large.bytes - small.bytes) <= 200, `${small.bytes} B -> ${large.bytes} B`);
    // What the periodic refresh no longer does grows with the table (the control: the same
    // measurement sees the table).
    assert.ok(large.summary.stdoutBytes > 0);

    // A new sysctl file: the next periodic refresh sees another fingerprint (and the manager reads everything again).
    await host.execOk(['sh', '-c', 'echo "net.netfilter.nf_conntrack_tcp_timeout_established = 86400" > /etc/sysctl.d/50-refresh-cost.conf']);
    const next = await s.session.snapshot({ part: 'frequent' });
    assert.notEqual(next.fingerprint, full.fingerprint, 'a new sysctl file left the fingerprint as it was');
  });
});
