import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ConntrackLine } from '../../../src/core/kernel/conntrackEntries';
import { createConntrackTableReader, parseConntrackTable, parseConntrackTableAsync } from '../../../src/core/kernel/conntrackTable';
import { createLineSplitter } from '../../../src/core/kernel/lineSplitter';
import { sample } from './samples';

function splitAt(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let last = 0;
  for (const p of points) {
    chunks.push(text.slice(last, p));
    last = p;
  }
  chunks.push(text.slice(last));
  return chunks;
}

function collect(chunks: string[], maxLineLength?: number): string[] {
  const lines: string[] = [];
  const overlong: string[] = [];
  const s = createLineSplitter((l) => lines.push(l), maxLineLength === undefined ? {} : { maxLineLength, onOverlongLine: (p, n) => overlong.push(`${p}…(${n})`) });
  for (const c of chunks) s.push(c);
  s.end();
  return [...lines, ...overlong];
}

test('line splitter: lines split across chunks at any position come out whole', () => {
  const text = sample('proc_net_nf_conntrack.txt');
  const expected = text.split('\n').slice(0, -1);
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
      assert.deepEqual(collect(splitAt(text, cuts)), expected);
    }),
    { numRuns: 200 },
  );
  assert.deepEqual(collect([...text]), expected, 'one character per chunk');
});

test('line splitter: CRLF, blank lines, a last line without newline', () => {
  assert.deepEqual(collect(['a\r', '\nb\n\nc']), ['a', 'b', '', 'c']);
  assert.deepEqual(collect(['', '']), []);
});

test('line splitter: an overlong line is reported once and skipped, with bounded memory', () => {
  const huge = 'x'.repeat(5000);
  const out = collect(['ok1\n', huge.slice(0, 1234), huge.slice(1234), '\nok2\n'], 100);
  assert.deepEqual(out, ['ok1', 'ok2', `${'x'.repeat(100)}…(5000)`]);
  assert.deepEqual(collect(['y'.repeat(101)], 100), [`${'y'.repeat(100)}…(101)`], 'at end of stream too');
  assert.deepEqual(collect(['z'.repeat(100), '\r\n'], 100), ['z'.repeat(100)], 'the CR does not count');
});

test('table reader: a real listing in random chunks gives the same results as in one piece', () => {
  const text = sample('conntrack_-L_-o_extended.txt');
  const whole = [...parseConntrackTable([text])];
  assert.equal(whole.filter((l) => l.kind === 'entry').length, 214);
  assert.deepEqual(whole.at(-1), { kind: 'summary', shown: 214 });
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 60 }), (cuts) => {
      assert.deepEqual([...parseConntrackTable(splitAt(text, cuts))], whole);
    }),
    { numRuns: 100 },
  );
});

test('table reader: a bad line is an error result and the stream goes on', () => {
  const text = 'tcp 6 10 CLOSE src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 use=1\ngarbage here\nudp 17 5 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 use=1\n';
  const kinds = [...parseConntrackTable([text])].map((l) => (l.kind === 'error' ? `error:${l.line}` : l.kind));
  assert.deepEqual(kinds, ['entry', 'error:garbage here', 'entry']);
});

test('table reader: an overlong line becomes an error result', () => {
  const reader = createConntrackTableReader({ maxLineLength: 50 });
  const out = [...reader.push(`${'a'.repeat(80)}\n`), ...reader.end()];
  assert.equal(out.length, 1);
  assert.equal(out[0]?.kind, 'error');
});

test('table reader: with schema validation on, every real entry still passes', () => {
  const out = [...parseConntrackTable([sample('netns-lo/conntrack_-L.txt')], { validate: true })];
  assert.ok(out.every((l) => l.kind === 'entry'));
});

test('async table reader over an async source', async () => {
  async function* source(): AsyncGenerator<string> {
    const text = sample('netns-lo/acct_proc_net_nf_conntrack.txt');
    for (let i = 0; i < text.length; i += 7) {
      await Promise.resolve();
      yield text.slice(i, i + 7);
    }
  }
  const out: ConntrackLine[] = [];
  for await (const l of parseConntrackTableAsync(source())) out.push(l);
  assert.equal(out.length, 5);
  assert.ok(out.every((l) => l.kind === 'entry'));
});
