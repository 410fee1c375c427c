/**
 * Issue 13: who fills the table from a sample. A real table with a known dominant source (and
 * the rest spread over 400 clients, filled one after the other, so insertion order alone would
 * put the dominant source first or last); the first K entries the kernel lists (entry summary
 * with `sample: K`, the dump stopped after K) name the dominant source first, and the Wilson
 * interval of its share contains the true share (counted exactly, independently, with
 * `conntrack -L -s`). The bounds asserted are 99.9 % ones (a 95 % interval misses the truth one
 * time in twenty by design: a test on it would fail by chance); whether the 95 % one contained
 * it is printed, with the error at each K.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { wilsonInterval } from '../../src/core/sampling';
import { useHost } from '../../harness/host/testHost';
import { openSession, scratchDir, type Session } from './helpers';

const dir = scratchDir('sampling');
let s: Session | undefined;
after(async () => {
  await s?.session.close();
});
const h = useHost(`its${process.pid % 10000}`);

const DOMINANT = '198.18.0.77';
const Z999 = 3.290527;
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

describe('sampled top talkers', () => {
  test('the first K entries name the dominant source, and its bounds contain the true share', async () => {
    const host = h.host;
    await host.fill({ assured: 12_000, srcCount: 400 });
    await host.fill({ assured: 8_000, dominant: DOMINANT, dominantPct: 100 });
    await host.fill({ assured: 10_000, srcCount: 400 });
    s = await openSession(dir, host);
    const counted = (await host.execOk(['sh', '-c', `conntrack -C; conntrack -L -s ${DOMINANT} 2>/dev/null | wc -l`])).trim().split('\n').map(Number);
    const [total, dominant] = counted;
    assert.ok(total && dominant && dominant >= 7_900, `fill: ${counted.join(' ')}`);
    const truth = dominant / total;

    for (const k of [1_000, 5_000, 10_000]) {
      const before = s.log.length;
      const summary = await s.session.entrySummary({ topN: 5, sample: k });
      assert.equal(summary.sample?.limit, k);
      assert.equal(summary.entries, k, 'the sample has K entries');
      const ran = s.log.slice(before).map((e) => e.command);
      assert.ok(ran.some((c) => new RegExp(`sh -s -- 5 '?sample=${k}'?$`).test(c)), ran.join(' | '));
      const top = summary.topSources.items[0];
      assert.equal(top?.key, DOMINANT, JSON.stringify(summary.topSources.items));
      const b95 = wilsonInterval(top.count, summary.entries);
      const b999 = wilsonInterval(top.count, summary.entries, Z999);
      console.log(`# K=${k} of ${total}: ${DOMINANT} ${pct(b95.share)} (95 %: ${pct(b95.low)}–${pct(b95.high)}${b95.low <= truth && truth <= b95.high ? ', contains' : ', MISSES'} the truth ${pct(truth)}); error ${((b95.share - truth) * 100).toFixed(2)} points`);
      assert.ok(b999.low <= truth && truth <= b999.high, `K=${k}: ${pct(b999.low)}–${pct(b999.high)} does not contain ${pct(truth)}`);
    }
  });
});
