import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandStep, Verification } from '../../../src/core/fix/model';
import { HANDLE_PLACEHOLDER, checkVerification, expandHandleStep, findHandles, shouldSkip, stepSucceeded } from '../../../src/core/fix/steps';

const LISTING = `table inet filter {
\tchain input { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t\tct state invalid counter packets 3 bytes 120 drop comment "conntrack-doctor-invalid-drop" # handle 4
\t\tct state invalid counter packets 0 bytes 0 drop # handle 3
\t\ttcp dport 22 accept # handle 2
\t}
}
`;

test('shouldSkip: exit 0 skips; with skipIfContains the text must be there too', () => {
  const plain: CommandStep = { argv: ['iptables', '-I'], description: '', privileged: true, skipIf: ['iptables', '-C'] };
  assert.equal(shouldSkip(plain, { exitCode: 0, stdout: '' }), true);
  assert.equal(shouldSkip(plain, { exitCode: 1, stdout: '' }), false);
  assert.equal(shouldSkip({ ...plain, skipIf: undefined as never }, { exitCode: 0, stdout: '' }), false);
  const nft: CommandStep = { ...plain, skipIfContains: 'comment "conntrack-doctor-invalid-drop"' };
  assert.equal(shouldSkip(nft, { exitCode: 0, stdout: LISTING }), true);
  assert.equal(shouldSkip(nft, { exitCode: 0, stdout: LISTING.replace('comment "conntrack-doctor-invalid-drop" ', '') }), false);
  assert.equal(shouldSkip(nft, { exitCode: 1, stdout: LISTING }), false);
});

test('stepSucceeded honours okExitCodes', () => {
  const step: CommandStep = { argv: ['conntrack', '-D'], description: '', privileged: true, okExitCodes: [0, 1] };
  assert.equal(stepSucceeded(step, 1), true);
  assert.equal(stepSucceeded(step, 2), false);
  assert.equal(stepSucceeded({ ...step, okExitCodes: undefined as never }, 1), false);
});

test('handles: found by tag, substituted for the placeholder, none → nothing to run', () => {
  assert.deepEqual(findHandles(LISTING, 'conntrack-doctor-invalid-drop'), [4]);
  assert.deepEqual(findHandles(LISTING, 'ct state invalid'), [4, 3]);
  const step: CommandStep = {
    argv: ['nft', 'delete', 'rule', 'inet', 'filter', 'input', 'handle', HANDLE_PLACEHOLDER],
    description: 'd',
    privileged: true,
    handleFrom: { argv: ['nft', '-a', 'list', 'chain', 'inet', 'filter', 'input'], lineContains: 'conntrack-doctor-invalid-drop' },
  };
  const steps = expandHandleStep(step, LISTING);
  assert.deepEqual(steps, [{ argv: ['nft', 'delete', 'rule', 'inet', 'filter', 'input', 'handle', '4'], description: 'd', privileged: true }]);
  assert.deepEqual(expandHandleStep(step, 'table inet filter {}\n'), []);
  const plain: CommandStep = { argv: ['true'], description: '', privileged: false };
  assert.deepEqual(expandHandleStep(plain, LISTING), [plain]);
});

test('checkVerification: every expectation kind, trimmed stdout, line counts', () => {
  const v = (expect: Verification['expect'], measure?: 'line-count'): Verification => ({ description: '', argv: ['x'], privileged: false, expect, ...(measure ? { measure } : {}) });
  assert.equal(checkVerification(v({ kind: 'equals', value: '262144' }), { exitCode: 0, stdout: '262144\n' }).ok, true);
  assert.equal(checkVerification(v({ kind: 'equals', value: '262144' }), { exitCode: 0, stdout: '65536\n' }).ok, false);
  assert.equal(checkVerification(v({ kind: 'equals', value: '262144' }), { exitCode: 1, stdout: '262144\n' }).ok, false);
  assert.equal(checkVerification(v({ kind: 'exit-zero' }), { exitCode: 0, stdout: '' }).ok, true);
  assert.equal(checkVerification(v({ kind: 'exit-zero' }), { exitCode: 1, stdout: '' }).ok, false);
  assert.equal(checkVerification(v({ kind: 'contains', value: 'ct state invalid' }), { exitCode: 0, stdout: LISTING }).ok, true);
  assert.equal(checkVerification(v({ kind: 'contains', value: 'nope' }), { exitCode: 0, stdout: LISTING }).ok, false);
  assert.equal(checkVerification(v({ kind: 'integer-at-most', value: 5 }), { exitCode: 0, stdout: ' 5\n' }).ok, true);
  assert.equal(checkVerification(v({ kind: 'integer-at-most', value: 5 }), { exitCode: 0, stdout: '6' }).ok, false);
  assert.equal(checkVerification(v({ kind: 'integer-at-least', value: 5 }), { exitCode: 0, stdout: 'five' }).ok, false);
  assert.equal(checkVerification(v({ kind: 'integer-at-least', value: 5 }), { exitCode: 0, stdout: '7' }).ok, true);
  const entries = 'tcp 6 99 ESTABLISHED src=1.1.1.1\nudp 17 20 src=1.1.1.1\n';
  assert.deepEqual(checkVerification(v({ kind: 'integer-at-most', value: 0 }, 'line-count'), { exitCode: 0, stdout: entries }), { ok: false, observed: '2' });
  assert.deepEqual(checkVerification(v({ kind: 'integer-at-most', value: 0 }, 'line-count'), { exitCode: 0, stdout: '' }), { ok: true, observed: '0' });
});
