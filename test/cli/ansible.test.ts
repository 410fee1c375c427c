/**
 * The `ansible` command's refusals, as a user meets them: the built CLI in a child process.
 * Everything here is refused before any connection (the target `local` would be this machine).
 * The command against real hosts, and the playbooks it writes, run in
 * test/integration/ansible*.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '../..');
const cli = join(repo, 'dist/cli.js');
let dir = '';

before(() => {
  const b = spawnSync(process.execPath, [join(repo, 'esbuild.js')], { cwd: repo, encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  dir = mkdtempSync(join(tmpdir(), 'ctd-cli-ansible-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  // Every case is refused before `local` (this machine) is opened; the timeout guards that.
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('help and usage', () => {
  const h = run(['ansible', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^usage: conntrack-doctor ansible TARGET FIX\.\.\. \[-o FILE\]/);
  assert.match(h.stdout, /raise-max, set-buckets, set-timeout, set-sysctl, load-module-at-boot, delete-entries, flush-table, invalid-drop-rule, apply-file/);
  const none = run(['ansible', 'web-1']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /usage: conntrack-doctor ansible/);
  const main = run(['--help']);
  assert.match(main.stdout, /\n {2}ansible TARGET FIX\.\.\. \[-o FILE\] \[--hosts PATTERN\] \[--inventory FILE\]\n/);
});

test('bad fixes, patterns and options are refused before connecting, nothing written', () => {
  const cases: [string[], RegExp][] = [
    [['ansible', 'local', 'raise-maximum'], /unknown fix "raise-maximum"/],
    [['ansible', 'local', 'raise-max=1; touch x'], /must be a whole number/],
    [['ansible', 'local', 'flush-table=1'], /flush-table takes no value/],
    [['ansible', 'local', 'raise-max', 'set-timeout', '--value', '5'], /with several fixes, give each its value as FIX=VALUE/],
    [['ansible', 'local', 'delete-entries'], /delete-entries needs a filter/],
    [['ansible', 'local', 'delete-entries', '--src', '10.0.0.1;id'], /src/],
    [['ansible', 'local', 'raise-max', '--hosts', "web') }}{{ lookup('pipe','id')"], /--hosts: expected an Ansible host pattern/],
    [['ansible', 'local', 'raise-max', '--serial', '0'], /--serial: expected a batch size/],
    [['ansible', 'local', 'raise-max', '--max-fail-percentage', '101'], /--max-fail-percentage: must be an integer from 0 to 100/],
  ];
  for (const [args, message] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
});

test('existing files are not overwritten without --force', () => {
  writeFileSync(join(dir, 'site-rollback.yml'), 'mine\n');
  const r = run(['ansible', 'local', 'raise-max', '-o', 'site.yml']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /site-rollback\.yml exists: choose another name with -o, or overwrite it with --force/);
  assert.equal(existsSync(join(dir, 'site.yml')), false);
  rmSync(join(dir, 'site-rollback.yml'));
});
