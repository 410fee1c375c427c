import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parseConntrackLine } from '../../../src/core/kernel/conntrackEntries';
import { createConntrackTableReader, parseConntrackTable } from '../../../src/core/kernel/conntrackTable';
import { MAX_CATEGORY_KEYS, OTHER_CATEGORY, entrySummarySchema, summarizeEntries } from '../../../src/core/kernel/entrySummary';
import { sample } from './samples';

test('summary of a real listing: protocols, TCP states, flags, top talkers, tool count', () => {
  const s = summarizeEntries({ topN: 3 });
  for (const line of parseConntrackTable([sample('conntrack_-L_-o_extended.txt')])) s.addLine(line);
  const r = entrySummarySchema.parse(s.result());
  assert.equal(r.entries, 214);
  assert.equal(r.shownByTool, 214);
  assert.equal(r.malformedLines, 0);
  assert.deepEqual(r.byL3, { ipv4: 214 });
  assert.deepEqual(r.byProtocol, { udp: 50, tcp: 164 });
  assert.deepEqual(r.byTcpState, { ESTABLISHED: 121, TIME_WAIT: 23, SYN_SENT: 20 });
  assert.equal(r.byTcpState['ESTABLISHED'], 121);
  assert.equal(r.topSources.approximate, false);
  assert.deepEqual(r.topSources.items[0], { key: '10.203.0.66', count: 74, error: 0 });
  assert.equal(r.topSources.items.length, 3);
  assert.equal(r.topDestinations.items[0]?.key, '10.203.0.128');
  assert.equal(r.topDestinations.items[0]?.count, 210, 'the other 4 go to 10.203.0.2 (ssh)');
  assert.match(r.topDestinationPorts.items[0]?.key ?? '', /^(tcp|udp)\/\d+$/);
  assert.equal(r.timeoutHistogram.reduce((a, b) => a + b.count, 0), 214);
  const text = sample('conntrack_-L_-o_extended.txt');
  assert.equal(r.assured, text.split('\n').filter((l) => l.includes('[ASSURED]')).length);
  assert.equal(r.unreplied, text.split('\n').filter((l) => l.includes('[UNREPLIED]')).length);
});

test('summary of the loopback capture: mixed protocols, unreplied and the timeout buckets', () => {
  const s = summarizeEntries();
  for (const line of parseConntrackTable([sample('netns-lo/conntrack_-L_-o_extended.txt')])) s.addLine(line);
  const r = s.result();
  assert.deepEqual(r.byProtocol, { tcp: 12, udp: 6, icmp: 1, icmpv6: 1, gre: 1, unknown: 1 });
  assert.deepEqual(r.byL3, { ipv4: 17, ipv6: 5 });
  assert.deepEqual(r.byTcpState, { ESTABLISHED: 8, TIME_WAIT: 3, SYN_SENT: 1 });
  assert.equal(r.assured, 11);
  assert.equal(r.unreplied, 7);
  const buckets = Object.fromEntries(r.timeoutHistogram.map((b) => [b.label, b.count]));
  // 9 under a minute (icmp 29, udp 28-29, gre 29), 5 under ten (TIME_WAIT/SYN_SENT 118, unknown 599), 8 established.
  assert.deepEqual(buckets, { '<1m': 9, '<10m': 5, '<1h': 0, '<1d': 0, '<5d': 8, '>=5d': 0 });
  assert.deepEqual(r.timeoutHistogram[4], { label: '<5d', minSeconds: 86400, maxSeconds: 432000, count: 8 });
  assert.deepEqual(r.timeoutHistogram[5], { label: '>=5d', minSeconds: 432000, count: 0 });
  assert.equal(r.topDestinationPorts.items[0]?.key, 'tcp/8080');
});

test('malformed lines are counted, not summarized', () => {
  const s = summarizeEntries();
  s.addLine(parseConntrackLine('not an entry'));
  s.addLine(parseConntrackLine('tcp 6 432000 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=22 src=2.2.2.2 dst=1.1.1.1 sport=22 dport=1 [ASSURED] use=1'));
  const r = s.result();
  assert.equal(r.entries, 1);
  assert.equal(r.malformedLines, 1);
  assert.equal(r.timeoutHistogram[5]?.count, 1, '432000 s lands in >=5d');
  assert.equal(r.shownByTool, undefined, 'absent, not zero');
});

test('a million-source flood keeps bounded state and flags the top lists as approximate', () => {
  const s = summarizeEntries({ capacity: 256, topN: 2 });
  for (let i = 0; i < 50_000; i++) {
    const src = i % 3 === 0 ? '192.0.2.1' : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const line = `udp 17 30 src=${src} dst=198.51.100.9 sport=${1024 + (i % 50000)} dport=53 [UNREPLIED] src=198.51.100.9 dst=${src} sport=53 dport=${1024 + (i % 50000)} mark=0 use=1`;
    s.addLine(parseConntrackLine(line));
  }
  const r = s.result();
  assert.equal(r.entries, 50_000);
  assert.equal(r.topSources.approximate, true);
  assert.ok(r.topSources.tracked <= 256);
  assert.equal(r.topSources.items[0]?.key, '192.0.2.1');
  const top = r.topSources.items[0];
  assert.ok(top !== undefined && top.count - top.error <= 16_667 && 16_667 <= top.count);
  assert.equal(r.topDestinations.approximate, false);
  assert.deepEqual(r.topDestinationPorts.items, [{ key: 'udp/53', count: 50_000, error: 0 }]);
  assert.equal(r.unreplied, 50_000);
});

test('reader + summarizer memory does not grow with the number of lines', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const reader = createConntrackTableReader();
  const s = summarizeEntries({ capacity: 512 });
  let i = 0;
  const feed = (lines: number): void => {
    for (let end = i + lines; i < end; ) {
      let chunk = '';
      for (let j = 0; j < 500; j++, i++) {
        const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        chunk += `ipv4     2 tcp      6 431999 ESTABLISHED src=${src} dst=10.1.${(i >> 8) & 255}.${i & 255} sport=${1024 + (i % 60000)} dport=${i % 65535} src=10.1.0.1 dst=${src} sport=80 dport=1 [ASSURED] mark=0 use=1\n`;
      }
      for (const line of reader.push(chunk)) s.addLine(line);
    }
  };
  feed(20_000);
  gc();
  const before = process.memoryUsage().heapUsed;
  feed(200_000);
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  const r = s.result();
  assert.equal(r.entries, 220_000);
  assert.ok(r.topSources.tracked <= 512 && r.topDestinations.tracked <= 512 && r.topDestinationPorts.tracked <= 512);
  // Keeping 200k entries would cost well over 50 MB; bounded state stays within noise.
  assert.ok(grown < 8 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MiB`);
});

test('category counts are capped: junk protocol names end up in `other`', () => {
  const s = summarizeEntries();
  for (let i = 0; i < 1000; i++) s.addLine(parseConntrackLine(`proto${i} 200 10 src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1 use=1`));
  const r = s.result();
  assert.equal(Object.keys(r.byProtocol).length, MAX_CATEGORY_KEYS + 1);
  assert.equal(r.byProtocol[OTHER_CATEGORY], 1000 - MAX_CATEGORY_KEYS);
});
