/**
 * The developer loop: F5 (.vscode/launch.json) builds through the default build task of
 * .vscode/tasks.json, whose esbuild problem matcher reads what esbuild.js prints in watch mode.
 * Run for real: the watch build of a broken file reports the error where the matcher finds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(__dirname, '../..');
const json = <T>(path: string): T => JSON.parse(readFileSync(join(repo, path), 'utf8')) as T;

interface Task { label?: string; type?: string; script?: string; dependsOn?: string[]; group?: string | { kind: string; isDefault?: boolean }; problemMatcher?: unknown }
interface Matcher { pattern: { regexp: string }[]; background: { beginsPattern: string; endsPattern: string } }
const tasks = json<{ tasks: Task[] }>('.vscode/tasks.json').tasks;
const launch = json<{ configurations: { name: string; type: string; preLaunchTask?: string; program?: string; args?: string[] }[] }>('.vscode/launch.json').configurations;
const scripts = json<{ scripts: Record<string, string> }>('package.json').scripts;

const labelOf = (t: Task): string => t.label ?? `npm: ${t.script ?? ''}`;

test('F5 starts the extension in a development host after the default build task; every task it needs exists', () => {
  const run = launch.find((c) => c.type === 'extensionHost');
  assert.ok(run?.args?.includes('--extensionDevelopmentPath=${workspaceFolder}'), 'no extensionHost configuration');
  assert.equal(run?.preLaunchTask, '${defaultBuildTask}');
  const defaults = tasks.filter((t) => typeof t.group === 'object' && t.group.isDefault);
  assert.equal(defaults.length, 1);
  for (const dep of defaults[0]?.dependsOn ?? []) assert.ok(tasks.some((t) => labelOf(t) === dep), `dependsOn "${dep}" names no task`);
  for (const t of tasks) if (t.type === 'npm') assert.ok(scripts[t.script ?? ''], `npm script "${t.script ?? ''}" does not exist`);
});

test('the watch build reports a broken file the way the problem matcher reads it', async () => {
  const matcher = tasks.find((t) => t.script === 'watch')?.problemMatcher as Matcher;
  const dir = mkdtempSync(join(tmpdir(), 'ctd-watch-'));
  try {
    // esbuild.js's own watch plugin, run on a copy whose entries are one broken file
    const broken = join(dir, 'broken.ts');
    writeFileSync(broken, 'export const x = ;\n');
    const script = readFileSync(join(repo, 'esbuild.js'), 'utf8')
      .replace(/const entries = \[[\s\S]*?\];/, `const entries = [{ entryPoints: [${JSON.stringify(broken)}], outfile: ${JSON.stringify(join(dir, 'out.js'))} }];`)
      .replace("require('esbuild')", `require(${JSON.stringify(join(repo, 'node_modules/esbuild'))})`);
    writeFileSync(join(dir, 'esbuild.js'), script);
    const child = spawn(process.execPath, [join(dir, 'esbuild.js'), '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "build finished" in 60 s:\n${out}`)), 60_000);
      const onData = (b: Buffer): void => {
        out += b.toString('utf8');
        if (new RegExp(matcher.background.endsPattern, 'm').test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
    });
    try {
      await done;
    } finally {
      child.kill();
    }
    const lines = out.split('\n');
    assert.match(out, new RegExp(matcher.background.beginsPattern, 'm'));
    const at = lines.findIndex((l) => new RegExp(matcher.pattern[0]?.regexp ?? '^$').test(l));
    assert.ok(at >= 0, out);
    const location = new RegExp(matcher.pattern[1]?.regexp ?? '^$').exec(lines[at + 1] ?? '');
    assert.ok(location, `no location line after the error:\n${out}`);
    assert.match(location[1] ?? '', /broken\.ts$/);
    assert.equal(location[2], '1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
