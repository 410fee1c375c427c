// The benchmark's two 10,000-line files (harness/sysctl/largeFiles.ts) give exactly the findings
// recorded in test/fixtures/lint/largeFiles.snapshot.json (scripts/lint-snapshot.ts): speed work
// on the linter must not change a single finding, message, range or fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lintFiles, lintText } from '../../../src/core/sysctl/lint';
import { LARGE_FILE_LINES, LARGE_FILE_LIVE_VALUES, LARGE_FILE_PATH, LARGE_FILE_SIBLINGS, findingsSnapshot, mistakeHeavySysctlFile, realisticSysctlFile, type FindingsSnapshot } from '../../../harness/sysctl/largeFiles';

const sha256 = (t: string): string => createHash('sha256').update(t).digest('hex');
const recorded = JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'lint', 'largeFiles.snapshot.json'), 'utf8')) as Record<'realistic' | 'mistakeHeavy' | 'realisticOnHost', FindingsSnapshot>;

for (const [name, text] of [['realistic', realisticSysctlFile()], ['mistakeHeavy', mistakeHeavySysctlFile()]] as const) {
  test(`${name} 10,000-line file: the recorded findings, in full`, () => {
    assert.equal(text.split('\n').length - 1, LARGE_FILE_LINES);
    const now = findingsSnapshot(lintText(LARGE_FILE_PATH, text), text, sha256);
    // Codes and lines first (a readable diff), then everything else through the digest.
    assert.deepEqual(now.lines, recorded[name].lines);
    assert.equal(now.total, recorded[name].total);
    assert.equal(now.sha256, recorded[name].sha256);
  });
}

test('realistic file among a host\'s files, with live values: the recorded findings, in full', () => {
  const text = realisticSysctlFile();
  const findings = lintFiles([...LARGE_FILE_SIBLINGS, { path: LARGE_FILE_PATH, content: text }], { targets: [LARGE_FILE_PATH], context: { liveValues: LARGE_FILE_LIVE_VALUES } });
  const now = findingsSnapshot(findings, text, sha256);
  // Overridden (one loader, both, by a vendor file) and drift are in it: precedence is exercised.
  for (const code of ['overridden', 'drift']) assert.ok(code in now.lines, code);
  assert.deepEqual(now.lines, recorded.realisticOnHost.lines);
  assert.equal(now.total, recorded.realisticOnHost.total);
  assert.equal(now.sha256, recorded.realisticOnHost.sha256);
});

test('the snapshot sees a change in any field of any finding', () => {
  const text = mistakeHeavySysctlFile();
  const findings = lintText(LARGE_FILE_PATH, text);
  const base = findingsSnapshot(findings, text, sha256);
  const last = findings[findings.length - 1];
  assert.ok(last);
  const changed = [...findings.slice(0, -1), { ...last, fixes: [] }];
  assert.notEqual(findingsSnapshot(changed, text, sha256).sha256, base.sha256);
  assert.deepEqual(findingsSnapshot(changed, text, sha256).lines, base.lines);
});
