/** The README documents every setting and every palette command the manifest contributes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(__dirname, '../..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
interface Manifest {
  contributes: {
    configuration: { properties: Record<string, { default?: unknown; scope?: string }> };
    commands: { command: string; title: string }[];
    menus: { commandPalette: { command: string; when: string }[] };
  };
}
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Manifest;

test('README: every setting is in the settings table with its default and scope', () => {
  for (const [key, spec] of Object.entries(manifest.contributes.configuration.properties)) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
    assert.ok(row, `${key} is not documented in the README's settings table`);
    if (spec.default !== undefined && key !== 'conntrackDoctor.sshConfigFile') assert.ok(row.includes(`\`${JSON.stringify(spec.default).replace(/^"|"$/g, '')}\``), `${key}: default ${JSON.stringify(spec.default)} not in "${row}"`);
    if (spec.scope) assert.ok(row.includes(spec.scope), `${key}: scope ${spec.scope} not in "${row}"`);
  }
});

test('README: every command a user can run from the palette is listed', () => {
  const hidden = new Set(manifest.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command));
  const section = readme.slice(readme.indexOf('### Commands (category "Conntrack")'));
  const list = section.slice(0, section.indexOf('\n## ')).replace(/\s+/g, ' ');
  for (const c of manifest.contributes.commands) {
    if (hidden.has(c.command)) continue;
    assert.ok(list.includes(c.title), `"${c.title}" (${c.command}) is not in the README's command list`);
  }
});

test('README: the images it shows exist and are small', () => {
  for (const m of readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)) {
    const path = m[1] ?? '';
    const size = readFileSync(join(repo, path)).length;
    assert.ok(size > 5_000 && size < 400_000, `${path}: ${size} bytes`);
  }
});

test('docs/architecture.md: every file it names exists, and the README points to it', () => {
  const doc = readFileSync(join(repo, 'docs/architecture.md'), 'utf8');
  const all: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(repo, dir), { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${dir}/${e.name}`);
      else all.push(`${dir}/${e.name}`);
    }
  };
  for (const top of ['src', 'test', 'harness', 'scripts', 'docs']) walk(top);
  all.push('eslint.config.mjs', 'package.json');
  const named = [...doc.matchAll(/`([\w./<>-]+\.(?:ts|md|mjs|json))`/g)].map((m) => m[1] ?? '').filter((n) => !n.includes('<'));
  assert.ok(named.length > 30, `${named.length} files named`);
  for (const name of named) assert.ok(all.some((p) => p === name || p.endsWith(`/${name}`)), `docs/architecture.md names ${name}, which does not exist`);
  assert.match(readme, /\[docs\/architecture\.md\]\(docs\/architecture\.md\)/);
});
