/**
 * Issue 11 item 10, with the real sudo of a test host (variant nopriv): `audit`'s sudo asks a
 * password. The password goes to stdin only when sudo prints the runner's random prompt, and the
 * command's own stdin only after the command started. With a sudoers rule that lets `sh` run
 * without a password (the issue's case), the password must not become the first line of what
 * the command reads — before the fix a written file started with the password.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHost } from '../../harness/host/testHost';
import type { PromptRequest } from '../../src/io/ssh/auth';
import { openSession, scratchDir } from './helpers';

const dir = scratchDir('sudo-prompt');
const h = useHost(`isp${process.pid % 10000}`, { variants: ['nopriv'] });

async function auditSession(alias: string, asked: PromptRequest[]): Promise<Awaited<ReturnType<typeof openSession>>> {
  const password = h.host.info.users.audit.password;
  const s = await openSession(dir, h.host, {
    user: 'audit',
    alias,
    prompt: (req) => {
      asked.push(req);
      return Promise.resolve(req.kind === 'sudo-password' ? password : undefined);
    },
  });
  return s;
}

describe('sudo with a password (real sudo)', () => {
  test('the password answers sudo\'s own prompt; the command gets exactly its stdin and a clean stderr', async () => {
    const asked: PromptRequest[] = [];
    const s = await auditSession('audit-pw', asked);
    try {
      const runner = s.session.runner;
      assert.equal(await runner.privilege(), 'sudo-password');
      const id = await runner.run(['id', '-u'], { privileged: true, timeoutMs: 30_000 });
      assert.equal(id.stdout, '0\n');
      assert.equal(id.stderr, '', 'no prompt, no marker in the command\'s stderr');
      const cat = await runner.run(['cat'], { stdin: 'first line\nsecond\n', privileged: true, timeoutMs: 30_000 });
      assert.equal(cat.stdout, 'first line\nsecond\n');
      const err = await runner.run(['sh', '-c', 'echo to-stderr >&2; exit 3'], { privileged: true, timeoutMs: 30_000 });
      assert.deepEqual([err.exitCode, err.stderr], [3, 'to-stderr\n']);
      assert.equal(asked.filter((a) => a.kind === 'sudo-password').length, 1, 'asked once');
      const password = h.host.info.users.audit.password;
      for (const e of s.log) assert.ok(!e.command.includes(password), e.command);
    } finally {
      await s.session.close();
    }
  });

  test('a sudoers rule that lets sh run without a password: the command\'s stdin does not start with the password', async () => {
    // sudoers is private to the host (its /etc overlay)
    await h.host.execOk(['sh', '-c', 'grep -q "NOPASSWD: /usr/bin/sh" /etc/sudoers || echo "audit ALL=(ALL:ALL) NOPASSWD: /usr/bin/sh, /bin/sh" >> /etc/sudoers']);
    const asked: PromptRequest[] = [];
    const s = await auditSession('audit-nopw-sh', asked);
    try {
      const runner = s.session.runner;
      // plain `sudo -n true` still needs the password: the account is in sudo-password mode
      assert.equal(await runner.privilege(), 'sudo-password');
      const file = '/root/written-by-sudo';
      const w = await runner.run(['sh', '-c', 'cat > "$1" && cat "$1"', 'write', file], { stdin: 'the content\n', privileged: true, timeoutMs: 30_000 });
      assert.equal(w.exitCode, 0, w.stderr);
      assert.equal(w.stdout, 'the content\n', 'what the command read');
      assert.equal(await h.host.execOk(['cat', file]), 'the content\n', 'the file on the host');
      const password = h.host.info.users.audit.password;
      assert.ok(!w.stdout.includes(password));
    } finally {
      await s.session.close();
    }
  });
});
