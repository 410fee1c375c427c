/** docs/rules.md documents every rule code (the diagnostics link there) with an example and a fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '../../../src/core/sysctl/rules';

const doc = readFileSync(join(__dirname, '../../../docs/rules.md'), 'utf8');

function section(code: string): string | undefined {
  const parts = doc.split(/^## /m);
  return parts.find((p) => p.startsWith(`${code}\n`));
}

test('every rule code has a section with its severity, an example and a fix', () => {
  for (const [code, meta] of RULES) {
    const s = section(code);
    assert.ok(s, `docs/rules.md has no "## ${code}" section`);
    assert.match(s, new RegExp(`\\*\\*${meta.severity}`), `${code}: default severity ${meta.severity} not stated first`);
    assert.match(s, /Example/, `${code}: no example`);
    assert.match(s, /Fix/, `${code}: no fix`);
  }
});

test('no section documents a code that does not exist', () => {
  const headings = [...doc.matchAll(/^## (\S+)$/gm)].map((m) => m[1]);
  for (const h of headings) assert.ok(RULES.has(h as never), `docs/rules.md documents unknown code ${h}`);
});
