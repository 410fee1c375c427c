/**
 * The host CPU budget's rule (core/host/cpuBudget.ts): the pause after an automatic run is its
 * measured host CPU divided by the budget; the cost is read from the `times` lines the scripts
 * print on exit, as dash, bash and busybox ash print them (run here, not copied).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { DEFAULT_HOST_CPU_BUDGET_PERCENT, REPORT_HOST_CPU, describeDeferredRead, minimumIntervalMs, nextAutomaticRunAt, parseHostCpuMs, withoutHostCpu } from '../../../src/core/host/cpuBudget';

describe('host CPU budget', () => {
  test('cost / budget is the least interval; nothing measured yet: at once', () => {
    assert.equal(minimumIntervalMs(500, 1), 50_000);
    assert.equal(minimumIntervalMs(500, 100), 500);
    assert.equal(minimumIntervalMs(0, 1), 0);
    assert.equal(DEFAULT_HOST_CPU_BUDGET_PERCENT, 1);
    assert.equal(nextAutomaticRunAt(undefined, 1), 0);
    assert.equal(nextAutomaticRunAt({ hostCpuMs: 300, endedAt: 1_000_000 }, 2), 1_015_000);
    for (const bad of [0, -1, 101, NaN]) assert.throws(() => minimumIntervalMs(100, bad), /budget/);
    assert.throws(() => minimumIntervalMs(-5, 1), /cost/);
  });

  test('the scripts’ exit report is read from every shell, with the exit status kept', () => {
    for (const shell of [['sh'], ['bash'], ['busybox', 'sh']]) {
      if (spawnSync(shell[0] ?? '', [...shell.slice(1), '-c', 'true']).status !== 0) assert.fail(`${shell.join(' ')} is missing: apt-get install ${shell[0] === 'busybox' ? 'busybox' : shell[0]}`);
      // about 0.3 s of CPU in a child (awk counting), so the figure is above the 10 ms tick
      const r = spawnSync(shell[0] ?? '', [...shell.slice(1), '-c', `${REPORT_HOST_CPU}\nawk 'BEGIN { for (i = 0; i < 3000000; i++) s += i }'\nexit 3`], { encoding: 'utf8' });
      assert.equal(r.status, 3, shell.join(' '));
      const ms = parseHostCpuMs(r.stderr);
      assert.ok(ms !== undefined && ms >= 30, `${shell.join(' ')}: ${JSON.stringify(r.stderr)} → ${ms}`);
      assert.equal(withoutHostCpu(`before\n${r.stderr}`).trim(), 'before');
    }
    assert.equal(parseHostCpuMs('0m0.01s 0m0.02s\n'), undefined, 'without the marker');
    assert.equal(parseHostCpuMs('@@times\n0m0.010000s 0m0.020000s\n1m2.500000s 0m0.470000s\n'), 63_000);
  });
});

describe('a put-off re-read, as the host row shows it', () => {
  test('the time it is due and the budget, and the cost that set the pause when known', () => {
    const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
    const until = Date.UTC(2026, 11, 5, 21, 14, 5);
    const d = describeDeferredRead({ until, budgetPercent: 1, lastCostMs: 480 }, clock);
    assert.equal(d.description, 'files changed · re-read at 21:14:05 (CPU budget 1 %)');
    assert.match(d.tooltip, /fingerprint changed/);
    assert.match(d.tooltip, /The last full read took 480 ms of host CPU, so the host CPU budget of 1 % of one CPU \(conntrackDoctor\.hostCpuBudgetPercent\) puts the next one at 21:14:05\. Refresh reads everything now\./);
    const unknownCost = describeDeferredRead({ until, budgetPercent: 0.5 }, clock);
    assert.equal(unknownCost.description, 'files changed · re-read at 21:14:05 (CPU budget 0.5 %)');
    assert.doesNotMatch(unknownCost.tooltip, /last full read/);
  });
});
