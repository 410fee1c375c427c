/**
 * A rollback interrupted after its `iptables -D` ran but before the record said so runs that
 * step again: it must find the rule gone and be done (issue 11: "a rerun of iptables -D in a
 * rollback is idempotent"). Real iptables-nft in a fresh namespace (helpers/netns.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidDropRule, RULE_TAG } from '../../../src/core/fix/builders';
import { applyFix, rollbackLast } from '../../../src/io/apply';
import { Netns } from './helpers/netns';

test('rollback: iptables -D of a rule that is already gone counts as restored', async () => {
  const ns = Netns.open();
  try {
    const fix = invalidDropRule({ target: { kind: 'iptables', backend: 'nf_tables', coexisting: true }, persistence: { kind: 'none' } });
    const record = await applyFix(ns.runner, fix, { confirm: () => Promise.resolve(true), timeoutMs: 120_000 });
    assert.ok(record.ok);
    const rules = (): string => ns.run(['iptables-nft', '-w', '-S', 'INPUT']).stdout;
    assert.ok(rules().includes(RULE_TAG), rules());
    // What the interrupted rollback already did: the rule is deleted, the record does not know.
    ns.setup([['iptables-nft', '-w', '-D', 'INPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-m', 'comment', '--comment', RULE_TAG, '-j', 'DROP']]);
    const back = await rollbackLast(ns.runner, { timeoutMs: 120_000 });
    assert.equal(back.record.id, record.id);
    assert.deepEqual(back.steps.map((s) => [s.skipped ?? false, s.ok, s.exitCode]), [[true, true, 1]]);
    assert.match(back.steps[0]?.description ?? '', /already done: `iptables-nft -w -C INPUT .*` finds nothing/);
    assert.ok(!rules().includes(RULE_TAG));
  } finally {
    ns.close();
  }
});
