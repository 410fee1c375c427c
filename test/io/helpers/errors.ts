/** Asserting on the I/O layer's typed errors. */
import assert from 'node:assert/strict';
import { IoError } from '../../../src/io/errors';

/** Awaits `p`, which must reject with an IoError of `kind` (and a message matching `re`); returns it. */
export async function rejectsKind(p: Promise<unknown>, kind: IoError['kind'], re?: RegExp): Promise<IoError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof IoError, `expected IoError(${kind}), got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (re !== undefined) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected a rejection with ${kind}`);
}
