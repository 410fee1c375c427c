/**
 * Issue 11 item 14: host-provided text is printed without its terminal control characters. An
 * SSH server (ssh2's real server implementation: OpenSSH's keyboard-interactive prompts come from
 * PAM and cannot be chosen per test) sends a keyboard-interactive prompt that would set the
 * terminal's title, clear the screen and move the cursor; the built CLI runs on a real
 * pseudo-terminal (util-linux `script`). What reaches the terminal shows those characters
 * escaped (\u001b…), so the person sees them and the terminal does not act on them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server } from 'ssh2';
import { keygen } from '../io/helpers/sshd';
import { cliOnTerminal } from './helpers';

const HOSTILE_PROMPT = '\u001b]0;owned\u0007\u001b[2J\u001b[HVerification code: ';

describe('host-provided text on a terminal', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-terminal-text-'));
  const answers: string[] = [];
  let server: Server;
  let cfg = '';

  before(async () => {
    const hostKey = path.join(dir, 'host_key');
    const clientKey = path.join(dir, 'id_ed25519');
    keygen(hostKey);
    keygen(clientKey);
    server = new Server({ hostKeys: [readFileSync(hostKey)] }, (client) => {
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
        ctx.prompt([{ prompt: HOSTILE_PROMPT, echo: true }], 'Login\u001b[31m', 'Instructions\u009b2J', (typed) => {
          answers.push(...typed);
          client.end(); // the answer is all this test needs
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    const [type, b64] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
    const kh = path.join(dir, 'known_hosts');
    writeFileSync(kh, `[127.0.0.1]:${addr.port} ${type ?? ''} ${b64 ?? ''}\n`);
    cfg = path.join(dir, 'ssh_config');
    writeFileSync(
      cfg,
      ['Host prompter', '  HostName 127.0.0.1', `  Port ${addr.port}`, '  User root', `  IdentityFile ${clientKey}`, '  IdentitiesOnly yes', '  IdentityAgent none', `  UserKnownHostsFile ${kh}`, '  GlobalKnownHostsFile none', '  StrictHostKeyChecking yes', ''].join('\n'),
    );
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('a keyboard-interactive prompt with escape sequences is shown escaped, and answered', async () => {
    const r = await cliOnTerminal(['diagnose', 'prompter', '--ssh-config', cfg, '--interval', '0'], /Verification code: /, '123456', 90_000);
    assert.ok(r.prompted, `never prompted: ${JSON.stringify(r.output)}`);
    assert.deepEqual(answers, ['123456']);
    assert.ok(r.output.includes('\\u001b]0;owned\\u0007\\u001b[2J\\u001b[HVerification code: '), JSON.stringify(r.output));
    for (const raw of ['\u001b]0;owned', '\u001b[2J', '\u001b[H', '\u001b[31m', '\u009b']) assert.ok(!r.output.includes(raw), `${JSON.stringify(raw)} reached the terminal: ${JSON.stringify(r.output)}`);
    assert.equal(r.code, 3, 'the server ended the connection during authentication');
  });
});
