/**
 * Issue 11 item 11: sshd runs every command line with the account's login shell. With fish as
 * that shell (a real fish, set as `ops`'s shell in the test host's private /etc/passwd), the
 * product's quoting must still give each command exactly its argv: hostile arguments come back
 * byte for byte, as the user and through sudo. Before the fix, a backslash inside single quotes
 * (which fish takes as an escape) changed the words or broke the line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHost } from '../../harness/host/testHost';
import { openSession, scratchDir } from './helpers';

const dir = scratchDir('fish-login');
const h = useHost(`ifs${process.pid % 10000}`);

const HOSTILE = ['\\', "\\'", "a\\'b", "'\\''", '\\\\n', 'x\\', "it's", '$(id)', '`id`', '$HOME', '{a,b}', '*', '~', '%self', '(echo x)', 'a;b', 'a|b', '"q"', 'tab\there', 'line\nbreak', '', 'ünï ✓', '#c', 'FOO=bar', '=ls', '100%'];

function nulSeparated(args: readonly string[]): string {
  return args.map((a) => `${a}\0`).join('');
}

describe('a fish login shell', () => {
  test('every argument reaches the command unchanged, as the user and through sudo', async () => {
    const fish = (await h.host.execOk(['sh', '-c', 'command -v fish || true'])).trim();
    assert.ok(fish !== '', 'fish is not installed on this machine: apt-get install -y fish (harness/host/install-deps.sh installs it)');
    await h.host.execOk(['usermod', '-s', fish, 'ops']);
    const s = await openSession(dir, h.host, { user: 'ops', alias: 'ops-fish' });
    try {
      const runner = s.session.runner;
      // the login shell really is fish: $version is a fish variable (sh would print nothing)
      const shell = await runner.run(['sh', '-c', 'ps -o comm= -p "$PPID"'], { timeoutMs: 30_000 });
      assert.equal(shell.stdout.trim(), 'fish', `login shell: ${shell.stdout} ${shell.stderr}`);
      const plain = await runner.run(['printf', '%s\\0', ...HOSTILE], { timeoutMs: 30_000 });
      assert.equal(plain.stderr, '');
      assert.equal(plain.stdout, nulSeparated(HOSTILE));
      const root = await runner.run(['sh', '-c', 'id -u; printf "%s\\0" "$@"', 'sh', ...HOSTILE], { privileged: true, timeoutMs: 30_000 });
      assert.equal(root.stdout, `0\n${nulSeparated(HOSTILE)}`, root.stderr);
    } finally {
      await s.session.close();
    }
  });
});
