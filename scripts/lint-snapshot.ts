/**
 * Writes test/fixtures/lint/largeFiles.snapshot.json: the findings of the benchmark's two
 * 10,000-line files (harness/sysctl/largeFiles.ts). Run it only when a change of the findings is
 * intended; test/unit/sysctl/largeFiles.test.ts holds the linter to it (e.g. across speed work).
 *   node --import tsx scripts/lint-snapshot.ts
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { lintFiles, lintText } from '../src/core/sysctl/lint';
import { LARGE_FILE_LIVE_VALUES, LARGE_FILE_PATH, LARGE_FILE_SIBLINGS, findingsSnapshot, mistakeHeavySysctlFile, realisticSysctlFile } from '../harness/sysctl/largeFiles';

const sha256 = (t: string): string => createHash('sha256').update(t).digest('hex');
const out = join(__dirname, '..', 'test', 'fixtures', 'lint', 'largeFiles.snapshot.json');
mkdirSync(dirname(out), { recursive: true });
const realistic = realisticSysctlFile();
const mistakeHeavy = mistakeHeavySysctlFile();
const snapshot = {
  realistic: findingsSnapshot(lintText(LARGE_FILE_PATH, realistic), realistic, sha256),
  mistakeHeavy: findingsSnapshot(lintText(LARGE_FILE_PATH, mistakeHeavy), mistakeHeavy, sha256),
  realisticOnHost: findingsSnapshot(
    lintFiles([...LARGE_FILE_SIBLINGS, { path: LARGE_FILE_PATH, content: realistic }], { targets: [LARGE_FILE_PATH], context: { liveValues: LARGE_FILE_LIVE_VALUES } }),
    realistic,
    sha256,
  ),
};
writeFileSync(out, `${JSON.stringify(snapshot, null, 2)}\n`);
console.log(`wrote ${out}: ${snapshot.realistic.total}, ${snapshot.mistakeHeavy.total}, ${snapshot.realisticOnHost.total} findings`);
