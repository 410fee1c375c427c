import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wilsonInterval } from '../../src/core/sampling';

test('Wilson interval: the textbook values, inside [0, 1] at the extremes, bad input refused', () => {
  // 10 of 100 at 95 %: 0.0552–0.1744 (Newcombe 1998, method 3)
  const a = wilsonInterval(10, 100);
  assert.equal(a.share, 0.1);
  assert.ok(Math.abs(a.low - 0.0552) < 0.0005 && Math.abs(a.high - 0.1744) < 0.0005, JSON.stringify(a));
  const none = wilsonInterval(0, 50);
  assert.equal(none.low, 0);
  assert.ok(none.high > 0.05 && none.high < 0.08, JSON.stringify(none));
  const all = wilsonInterval(50, 50);
  assert.equal(all.high, 1);
  assert.ok(all.low < 1);
  assert.throws(() => wilsonInterval(5, 0));
  assert.throws(() => wilsonInterval(6, 5));
});
