import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SpaceSaving } from '../../../src/core/kernel/spaceSaving';

function exactCounts(keys: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

test('exact while distinct keys fit the capacity', () => {
  const s = new SpaceSaving(3);
  for (const k of ['a', 'b', 'a', 'c', 'a', 'b']) s.add(k);
  const top = s.top(10);
  assert.equal(top.approximate, false);
  assert.equal(top.total, 6);
  assert.deepEqual(top.items, [
    { key: 'a', count: 3, error: 0 },
    { key: 'b', count: 2, error: 0 },
    { key: 'c', count: 1, error: 0 },
  ]);
  assert.deepEqual(s.top(1).items.map((i) => i.key), ['a']);
});

test('past capacity: the minimum is replaced and its count becomes the error bound', () => {
  const s = new SpaceSaving(2);
  for (const k of ['a', 'a', 'a', 'b', 'c']) s.add(k);
  const top = s.top(5);
  assert.equal(top.approximate, true);
  assert.equal(top.tracked, 2);
  assert.deepEqual(top.items, [
    { key: 'a', count: 3, error: 0 },
    { key: 'c', count: 2, error: 1 },
  ]);
});

test('Space-Saving guarantees hold on random streams (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.integer({ min: 0, max: 40 }).map((n) => `k${n}`), { maxLength: 400 }),
      (capacity, keys) => {
        const s = new SpaceSaving(capacity);
        keys.forEach((k) => s.add(k));
        const truth = exactCounts(keys);
        const top = s.top(capacity);
        assert.ok(top.tracked <= capacity);
        assert.equal(top.total, keys.length);
        assert.equal(top.approximate, truth.size > capacity);
        const reported = new Map(top.items.map((i) => [i.key, i]));
        for (const item of top.items) {
          const t = truth.get(item.key) ?? 0;
          assert.ok(item.count - item.error <= t && t <= item.count, `bounds for ${item.key}`);
        }
        // Every key with a true count above N / capacity is tracked.
        for (const [key, count] of truth) if (count > keys.length / capacity) assert.ok(reported.has(key), `${key} (${count}) missing`);
        if (!top.approximate) for (const [key, count] of truth) assert.equal(reported.get(key)?.count, count);
      },
    ),
    { numRuns: 500 },
  );
});

test('memory is bounded by capacity whatever the number of distinct keys; heavy hitters survive', () => {
  const s = new SpaceSaving(64);
  for (let i = 0; i < 200_000; i++) {
    s.add(`noise-${i}`);
    if (i % 4 === 0) s.add('heavy');
    if (i % 10 === 0) s.add('medium');
  }
  assert.equal(s.size, 64);
  const top = s.top(2);
  assert.equal(top.approximate, true);
  assert.deepEqual(top.items.map((i) => i.key), ['heavy', 'medium']);
  const heavy = top.items[0];
  assert.ok(heavy !== undefined && heavy.count - heavy.error <= 50_000 && heavy.count >= 50_000);
});

test('capacity must be a positive integer', () => {
  assert.throws(() => new SpaceSaving(0), RangeError);
  assert.throws(() => new SpaceSaving(1.5), RangeError);
});
