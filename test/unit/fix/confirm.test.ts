/** How a fix is confirmed (src/core/fix/confirm.ts): a destructive fix is never one Enter away. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TYPED_CONFIRMATION_ABOVE, confirmationFor, typedConfirms } from '../../../src/core/fix/confirm';
import { deleteEntries, flushTable, setConntrackTimeout } from '../../../src/core/fix/builders';

test('a flush asks for the host name whatever the count; only the name exactly confirms', () => {
  for (const entryCount of [1, 5000]) {
    const c = confirmationFor(flushTable({ entryCount, host: 'db-1' }), 'db-1');
    assert.equal(c.kind, 'type-host');
    assert.match(c.question, new RegExp(`All ${entryCount} tracked entr`));
    for (const typed of [undefined, '', 'y', 'yes', 'db-', 'DB-1', 'db-12']) assert.equal(typedConfirms(c, typed), false, `"${typed}" confirmed`);
    assert.equal(typedConfirms(c, 'db-1'), true);
    assert.equal(typedConfirms(c, ' db-1 \n'), true);
  }
});

test('a delete of more than a few entries asks for the host name; a small one is a question whose default is No', () => {
  const del = (n: number) => deleteEntries({ filter: { src: '203.0.113.7' }, expectedCount: n, host: 'db-1' });
  assert.equal(confirmationFor(del(TYPED_CONFIRMATION_ABOVE + 1), 'db-1').kind, 'type-host');
  const small = confirmationFor(del(TYPED_CONFIRMATION_ABOVE), 'db-1');
  assert.equal(small.kind, 'default-no');
  assert.equal(small.kind === 'default-no' ? small.action : '', `Delete ${TYPED_CONFIRMATION_ABOVE} entries on db-1`);
  assert.equal(typedConfirms(small, 'db-1'), false, 'a typed name means nothing to another kind of confirmation');
});

test('a fix that is not destructive is a plain question naming the host', () => {
  const c = confirmationFor(setConntrackTimeout({ conntrack: 'builtin', moduleLoadedAtBoot: true, files: [], key: 'net.netfilter.nf_conntrack_tcp_timeout_established', value: 3600, current: 432000, tradeOff: 'idle connections over 1 h break' }), 'db-1');
  assert.equal(c.kind, 'yes-no');
  assert.match(c.question, / on db-1\?$/);
});
