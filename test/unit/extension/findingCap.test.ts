/** The editor's cap on shown findings (pure): the most severe first, file order kept, the rest counted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SHOWN_FINDINGS, capFindings, hiddenFindingsMessage } from '../../../src/extension/sysctl/findingCap';
import { lintText } from '../../../src/core/sysctl/lint';
import { LARGE_FILE_PATH, mistakeHeavySysctlFile, realisticSysctlFile } from '../../../harness/sysctl/largeFiles';

test('at or under the cap every finding is shown, as given', () => {
  const findings = [{ severity: 'info' as const, n: 1 }, { severity: 'error' as const, n: 2 }];
  const r = capFindings(findings, 2);
  assert.equal(r.shown, findings);
  assert.equal(r.hidden, 0);
});

test('over the cap: errors, then warnings, then info; shown in file order', () => {
  const findings = [
    { severity: 'info' as const, n: 0 }, { severity: 'warning' as const, n: 1 }, { severity: 'error' as const, n: 2 },
    { severity: 'warning' as const, n: 3 }, { severity: 'info' as const, n: 4 }, { severity: 'error' as const, n: 5 },
  ];
  const r = capFindings(findings, 3);
  assert.deepEqual(r.shown.map((f) => f.n), [1, 2, 5]);
  assert.equal(r.hidden, 3);
});

test('the mistake-heavy benchmark file: the cap, with every error of the first ones kept', () => {
  const findings = lintText(LARGE_FILE_PATH, mistakeHeavySysctlFile());
  const r = capFindings(findings);
  assert.equal(r.shown.length, MAX_SHOWN_FINDINGS);
  assert.equal(r.hidden, findings.length - MAX_SHOWN_FINDINGS);
  // It has more errors than the cap: the shown ones are all errors, the first in the file.
  const errors = findings.filter((f) => f.severity === 'error');
  assert.ok(errors.length > MAX_SHOWN_FINDINGS);
  assert.deepEqual(r.shown, errors.slice(0, MAX_SHOWN_FINDINGS));
});

test('the realistic benchmark file: its warnings are capped and its lines stay in order', () => {
  const findings = lintText(LARGE_FILE_PATH, realisticSysctlFile());
  const r = capFindings(findings);
  assert.equal(r.shown.length, MAX_SHOWN_FINDINGS);
  const lines = r.shown.map((f) => f.range.startLine);
  assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
});

test('the message says how many are not shown, of how many, and where the rest are', () => {
  assert.equal(
    hiddenFindingsMessage(10994, 10494, 500),
    '10,494 more findings not shown: the editor shows the 500 most severe of 10,994. Fix these (Fix all fixes every finding) or run `conntrack-doctor lint` on the file for the full list.',
  );
  assert.match(hiddenFindingsMessage(501, 1, 500), /^1 more finding not shown/);
});
