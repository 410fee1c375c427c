import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { CommandLogEntry } from '../../src/io/runner';
import { LocalRunner } from '../../src/io/localRunner';
import { detectPrivilege } from '../../src/io/sudo';
import type { PromptRequest } from '../../src/io/ssh/auth';
import { rejectsKind } from './helpers/errors';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalRunner', () => {
  const local = new LocalRunner();

  test('argv goes to the program as is (no shell), exit codes are results', async () => {
    const r = await local.run(['printf', '%s|', '$(id)', 'a b', "it's", '*'], { timeoutMs: 5000 });
    assert.equal(r.stdout, "$(id)|a b|it's|*|");
    assert.equal(r.exitCode, 0);
    const f = await local.run(['sh', '-c', 'echo oops >&2; exit 3'], { timeoutMs: 5000 });
    assert.equal(f.exitCode, 3);
    assert.equal(f.stderr, 'oops\n');
    const missing = await local.run(['no-such-program-ctd'], { timeoutMs: 5000 });
    assert.equal(missing.exitCode, 127);
  });

  test('stdin is written and closed', async () => {
    const r = await local.run(['cat'], { stdin: 'line 1\nline 2\n', timeoutMs: 5000 });
    assert.equal(r.stdout, 'line 1\nline 2\n');
    const empty = await local.run(['cat'], { timeoutMs: 5000 });
    assert.equal(empty.stdout, '');
  });

  test('timeout kills the command quickly', async () => {
    const t0 = Date.now();
    const e = await rejectsKind(local.run(['sleep', '30'], { timeoutMs: 200 }), 'command-timeout');
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    assert.match(e.message, /timed out after 200 ms.*sleep 30/);
  });

  test('AbortSignal kills the command', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    await rejectsKind(local.run(['sleep', '30'], { timeoutMs: 10_000, signal: ac.signal }), 'command-aborted');
    assert.ok(Date.now() - t0 < 3000);
    await rejectsKind(local.run(['true'], { timeoutMs: 1000, signal: AbortSignal.abort() }), 'command-aborted');
  });

  test('maxOutputBytes: too much output is an error, not a truncated result', async () => {
    await rejectsKind(local.run(['head', '-c', '100000', '/dev/zero'], { timeoutMs: 5000, maxOutputBytes: 1000 }), 'output-too-large');
  });

  test('stream(): large output arrives in chunks with back-pressure; result has exit code and stderr', async () => {
    const s = local.stream(['sh', '-c', 'seq 1 200000; echo done >&2'], { timeoutMs: 20_000 });
    let chunks = 0;
    let text = '';
    for await (const c of s) {
      chunks++;
      text += c;
    }
    const r = await s.result;
    assert.ok(chunks > 1, `${chunks} chunk(s)`);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 200000);
    assert.equal(lines[199999], '200000');
    assert.equal(r.exitCode, 0);
    assert.equal(r.stderr, 'done\n');
    assert.equal(r.stdoutBytes, Buffer.byteLength(text));
  });

  test('stream(): breaking out of the loop kills the command', async () => {
    const s = local.stream(['sh', '-c', 'while :; do echo y; done'], { timeoutMs: 20_000 });
    let n = 0;
    for await (const c of s) {
      n += c.length;
      if (n > 10_000) break;
    }
    await rejectsKind(s.result, 'command-aborted');
  });

  test('stream(): a timeout ends the iteration with command-timeout', async () => {
    const s = local.stream(['sh', '-c', 'echo first; sleep 30'], { timeoutMs: 300 });
    const got: string[] = [];
    await rejectsKind(
      (async () => {
        for await (const c of s) got.push(c);
      })(),
      'command-timeout',
    );
    assert.deepEqual(got, ['first\n']);
  });
});

// A stand-in `sudo` (first on PATH) that behaves like the real one for the options used:
// -n (fail: a password is required, unless FAKE_SUDO_NOPASSWD), -k, -S (read a password line
// from stdin), -p PROMPT, -v (validate only), --. It records what it saw.
const bin = path.join(dir, 'bin');
mkdirSync(bin);
const sudoLog = path.join(dir, 'sudo.log');
writeFileSync(
  path.join(bin, 'sudo'),
  `#!/bin/sh
nonint=0; validate=0; prompt=''
echo "argv: $*" >> "${sudoLog}"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) nonint=1 ;; -k) ;; -S) ;; -p) shift; prompt="$1" ;; -v) validate=1 ;; --) shift; break ;; *) break ;;
  esac
  shift
done
if [ "$nonint" = 1 ]; then
  if [ -n "$FAKE_SUDO_NOPASSWD" ]; then exec "$@"; fi
  echo "sudo: a password is required" >&2; exit 1
fi
# like sudo -S: the prompt on stderr (no newline), then one line from stdin
printf '%s' "$prompt" >&2
IFS= read -r pw
if [ "$pw" != "$FAKE_SUDO_PASSWORD" ]; then echo "Sorry, try again." >&2; echo "sudo: 1 incorrect password attempt" >&2; exit 1; fi
echo "password ok" >> "${sudoLog}"
[ "$validate" = 1 ] && exit 0
exec "$@"
`,
);
chmodSync(path.join(bin, 'sudo'), 0o755);
const PATH = `${bin}:${process.env['PATH'] ?? ''}`;

describe('privileges', () => {
  test('detectPrivilege: root here (id -u = 0), sudo variants through the stand-in', async () => {
    const fake = (uid: string, sudoExit: number, sudoErr: string): Parameters<typeof detectPrivilege>[0] => ({
      run: (argv) => Promise.resolve(argv[0] === 'id' ? { stdout: `${uid}\n`, stderr: '', exitCode: 0 } : { stdout: '', stderr: sudoErr, exitCode: sudoExit }),
    });
    assert.equal(await detectPrivilege(fake('0', 1, '')), 'root');
    assert.equal(await detectPrivilege(fake('1000', 0, '')), 'sudo-nopasswd');
    assert.equal(await detectPrivilege(fake('1000', 1, 'sudo: a password is required\n')), 'sudo-password');
    assert.equal(await detectPrivilege(fake('1000', 127, 'env: sudo: No such file or directory\n')), 'none', 'neither sudo nor doas (the fake answers 127 for both)');
    const noSudo = (doasExit: number): Parameters<typeof detectPrivilege>[0] => ({
      run: (argv) => Promise.resolve(argv[0] === 'id' ? { stdout: '1000\n', stderr: '', exitCode: 0 } : argv[2] === 'sudo' ? { stdout: '', stderr: "env: can't execute 'sudo': No such file or directory\n", exitCode: 127 } : { stdout: '', stderr: doasExit === 0 ? '' : 'doas: Operation not permitted\n', exitCode: doasExit }),
    });
    assert.equal(await detectPrivilege(noSudo(0)), 'doas-nopasswd', 'no sudo, a doas nopass rule');
    assert.equal(await detectPrivilege(noSudo(1)), 'none', 'no sudo, doas refuses');
    assert.equal(await detectPrivilege(fake('1000', 1, 'alice is not in the sudoers file.\n')), 'none');
    if (process.getuid?.() === 0) assert.equal(await detectPrivilege(new LocalRunner()), 'root');
    const viaStandIn = new LocalRunner({ env: { PATH, FAKE_SUDO_NOPASSWD: '1' } });
    // the stand-in only matters when not root; as root id -u wins
    assert.ok(['root', 'sudo-nopasswd'].includes(await detectPrivilege(viaStandIn)));
  });

  test('sudo-nopasswd: privileged commands run as sudo -n -- argv', async () => {
    const log: CommandLogEntry[] = [];
    const r = new LocalRunner({ env: { PATH, FAKE_SUDO_NOPASSWD: '1' }, privilege: 'sudo-nopasswd', log: (e) => log.push(e) });
    const out = await r.run(['printf', '%s', 'as root'], { timeoutMs: 5000, privileged: true });
    assert.equal(out.stdout, 'as root');
    assert.equal(log[0]?.command, "sudo -n -- printf %s 'as root'");
    assert.equal(log[0]?.privileged, true);
  });

  test('sudo-password: asked once, checked, written to stdin FIRST, then the command stdin; never in argv or logs', async () => {
    writeFileSync(sudoLog, '');
    const secret = 'pa ss$(word)';
    const prompts: PromptRequest[] = [];
    const log: CommandLogEntry[] = [];
    const r = new LocalRunner({
      env: { PATH, FAKE_SUDO_PASSWORD: secret },
      privilege: 'sudo-password',
      prompt: (req) => {
        prompts.push(req);
        return Promise.resolve(secret);
      },
      log: (e) => log.push(e),
    });
    const a = await r.run(['cat'], { stdin: 'command input\n', timeoutMs: 5000, privileged: true });
    assert.equal(a.stdout, 'command input\n', 'the command saw the password or lost its stdin');
    const b = await r.run(['cat'], { stdin: 'second\n', timeoutMs: 5000, privileged: true });
    assert.equal(b.stdout, 'second\n');
    assert.equal(prompts.length, 1);
    assert.equal(prompts[0]?.kind, 'sudo-password');
    assert.equal(prompts[0]?.echo, false);
    const seen = readFileSync(sudoLog, 'utf8');
    assert.ok(!seen.includes(secret), 'password in sudo argv');
    assert.match(seen, /argv: -k -S -p {2}-v/);
    assert.match(seen, /argv: -k -S -p \[conntrack-doctor-sudo-[0-9a-f]{18}\] -- sh -c echo "\$0" >&2 && exec "\$@" conntrack-doctor-started-[0-9a-f]{18} cat/);
    assert.equal((seen.match(/password ok/g) ?? []).length, 3);
    for (const e of log) assert.ok(!e.command.includes(secret), e.command);
    assert.equal(log[0]?.command, "env 'LC_ALL=C' sudo -k -S -p '' -v");
    for (const e of log.slice(1)) assert.match(e.command, /^sudo -k -S -p '\[conntrack-doctor-sudo-[0-9a-f]{18}\]' -- sh -c 'echo "\$0" >&2 && exec "\$@"' conntrack-doctor-started-[0-9a-f]{18} cat$/);
    assert.equal(log.length, 3);
    assert.equal(a.stderr, '', 'the prompt and the start marker are not the command\'s stderr');
  });

  test('a refused sudo password is a clear error after 3 attempts; no prompt at all is sudo-password-required', async () => {
    let asked = 0;
    const r = new LocalRunner({
      env: { PATH, FAKE_SUDO_PASSWORD: 'right' },
      privilege: 'sudo-password',
      prompt: () => {
        asked++;
        return Promise.resolve('wrong');
      },
    });
    const e = await rejectsKind(r.run(['true'], { timeoutMs: 5000, privileged: true }), 'sudo-refused');
    assert.match(e.message, /refused the password/);
    assert.ok(!e.message.includes('wrong'));
    assert.equal(asked, 3);
    await rejectsKind(new LocalRunner({ env: { PATH }, privilege: 'sudo-password' }).run(['true'], { timeoutMs: 5000, privileged: true }), 'sudo-password-required');
    await rejectsKind(
      new LocalRunner({ privilege: 'sudo-password', prompt: () => Promise.resolve(undefined) }).run(['true'], { timeoutMs: 5000, privileged: true }),
      'sudo-password-required',
    );
    await rejectsKind(new LocalRunner({ privilege: 'none' }).run(['true'], { timeoutMs: 5000, privileged: true }), 'privilege-unavailable');
  });

  test('the log hook gets every command with exit code, duration and redactions', async () => {
    const log: CommandLogEntry[] = [];
    const r = new LocalRunner({ log: (e) => log.push(e) });
    await r.run(['echo', 'token=abc123'], { timeoutMs: 5000, redact: ['abc123'] });
    await rejectsKind(r.run(['sleep', '5'], { timeoutMs: 100 }), 'command-timeout');
    assert.equal(log[0]?.command, "echo 'token=***'");
    assert.equal(log[0]?.exitCode, 0);
    assert.ok((log[0]?.durationMs ?? -1) >= 0);
    assert.equal(log[1]?.error, 'command-timeout');
  });
});
