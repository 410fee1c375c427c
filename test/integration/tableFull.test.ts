/**
 * Acceptance 2: a table full of ASSURED TCP (the kernel refuses new entries: `drop` rises,
 * `early_drop` stays flat because ASSURED entries cannot be evicted). The product, over the SSH
 * connection it opened before the table filled up, names the cause with the kernel's own
 * evidence (counter rates between two snapshots, the table-full lines of THIS namespace) and
 * recommends a max within the memory budget; a new login times out, as the kernel makes it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { diagnose } from '../../src/core/host/diagnose';
import { isIoError } from '../../src/io/errors';
import { formatInt } from '../../src/core/format';
import { useHost, type FullResult } from '../../harness/host/testHost';
import { MAX_PATH, machineSysctl, openSession, scratchDir, type Session } from './helpers';
import { globalConntrackLock, type HeldLock } from '../../harness/conntrackLock';

const dir = scratchDir('full');
let lock: HeldLock | undefined;
let s: Session | undefined;
// `full` fills up to the machine's global max: no other test file may change it meanwhile.
before(async () => {
  lock = await globalConntrackLock('shared');
});
after(async () => {
  await s?.session.close();
  await lock?.release();
});
const h = useHost(`itf${process.pid % 10000}`);

test('table full of ASSURED TCP: critical too-many-connections, drop rising, early_drop flat, this netns\'s kernel lines, a max within the memory budget', async () => {
  const host = h.host;
  // Read in the host (not through the product, and without a login of its own).
  const [memTotalKb, objSize] = (await host.execOk(['sh', '-c', "awk '/^MemTotal:/ { print $2 }' /proc/meminfo; awk '$1 == \"nf_conntrack\" { print $4 }' /proc/slabinfo"]))
    .trim().split('\n').map(Number);
  assert.ok(memTotalKb && objSize, 'MemTotal and the nf_conntrack objsize');
  // Opened while the table has room: the product keeps this connection and works over it.
  s = await openSession(dir, host);
  // Earlier logins (ctd-host's ssh-keyscan) left closing entries; once the table is full the
  // kernel's GC evicts such early-droppable entries, and a freed slot would let a new login in.
  // Only ASSURED entries remain, as on a host full of established connections.
  await host.exec(['sh', '-c', 'for st in SYN_SENT SYN_RECV FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE; do conntrack -D -p tcp --state $st; done >/dev/null 2>&1; true']);

  const full: FullResult = await host.full();
  const max = machineSysctl(MAX_PATH);
  assert.equal(full.max, max);
  assert.ok(full.drop > full.dropBefore, JSON.stringify(full));

  const first = await s.session.snapshot({ entries: false });
  // More traffic while full: every new flow is refused.
  const more = await host.fill({ assured: 2000 });
  assert.ok(more.dropAfter > more.dropBefore, `more flows, more drops: ${JSON.stringify(more)}`);
  const second = await s.session.snapshot({ entries: false });

  const a = first.counters?.totals;
  const b = second.counters?.totals;
  assert.ok(a && b, 'counters read over the existing connection');
  assert.ok((b['drop'] ?? 0) > (a['drop'] ?? 0), `drop rises: ${a['drop']} → ${b['drop']}`);
  assert.equal(b['early_drop'], a['early_drop'], 'early_drop is flat: ASSURED entries cannot be evicted');

  const d = diagnose(second, { previous: first });
  const f = d.findings.find((x) => x.cause === 'too-many-connections');
  assert.ok(f, JSON.stringify(d.findings.map((x) => x.code)));
  assert.equal(f.code, 'table-full');
  assert.equal(f.severity, 'critical');
  assert.equal(d.findings[0], f, 'the critical finding comes first');
  assert.ok((d.rates?.perSecond['drop'] ?? 0) > 0);
  assert.equal(d.rates?.perSecond['early_drop'], 0);
  assert.match(f.detail, /early_drop is flat/);
  assert.match(f.detail, /ASSURED/);
  assert.ok(['critical', 'high'].includes(d.usage.level), d.usage.level);

  // The kernel's table-full lines of THIS namespace are the evidence (the kernel log is global).
  const inode = host.info.netnsInode;
  assert.equal(second.netnsInode, inode);
  const mine = second.kernelLog?.events.filter((e) => e.netns === inode) ?? [];
  assert.ok(mine.length > 0, 'the snapshot read the table-full lines of this netns');
  assert.ok(full.dmesgLine.includes(`table full in netns ${inode}`), full.dmesgLine);
  const klog = f.evidence.find((e) => e.label === 'kernel log');
  assert.ok(klog, JSON.stringify(f.evidence));
  assert.match(klog.value, new RegExp(`"table full, dropping packet" lines in netns ${inode}`));
  const dropEv = f.evidence.find((e) => e.label.startsWith('drop'));
  assert.match(dropEv?.value ?? '', /\/s now/);

  // The recommended max, with its arithmetic: within MemTotal × 5 % / (objsize + 8 B).
  const rec = f.recommendation;
  assert.ok(rec, 'a recommendation');
  const memTotal = memTotalKb * 1024;
  assert.equal(second.memTotalBytes, memTotal);
  assert.equal(second.slabObjSize, objSize);
  const cap = Math.floor((memTotal * 5) / 100 / (objSize + 8));
  assert.ok(rec.value > max, `raises max: ${rec.value} > ${max}`);
  assert.ok(rec.value <= cap, `${rec.value} within the budget ${cap}`);
  assert.equal(rec.value, Math.max(Math.ceil(max / 0.65 / 65536) * 65536, 32768 * (second.cpus ?? 1), 131072), 'peak (= max while dropping) ÷ 0.65, rounded up to 65,536');
  assert.ok(rec.steps.some((st) => st.includes(`${formatInt(cap)} entries at most`)), rec.steps.join('\n'));
  const raise = f.fixes.find((x) => x.id === 'raise-max');
  assert.ok(raise, 'the fix raises max');
  assert.equal(raise.title, `Raise nf_conntrack_max to ${rec.value}`);
  assert.equal(raise.needsInitialNetns, true);

  // A NEW login cannot get a conntrack entry: it times out (and the product says why) ...
  const dropBeforeLogin = (await host.conntrackStats())['drop'] ?? 0;
  let err: unknown;
  try {
    const late = await openSession(dir, host, { alias: 'late', connectTimeoutMs: 3000 });
    await late.session.close();
  } catch (e) {
    err = e;
  }
  assert.ok(isIoError(err, 'timeout'), `expected a connect timeout, got ${String(err)}`);
  assert.match(err.message, /full conntrack table/);
  assert.ok(((await host.conntrackStats())['drop'] ?? 0) > dropBeforeLogin, 'its SYNs were dropped by the kernel');

  // ... while the connection opened before keeps working: a whole snapshot over it.
  const third = await s.session.snapshot({ entries: false });
  assert.ok((third.count ?? 0) >= max - 5000, `count ${third.count} near max ${max}`);
  assert.ok((third.counters?.totals['drop'] ?? 0) >= (b['drop'] ?? 0));
});
