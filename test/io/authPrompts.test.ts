/**
 * Password and keyboard-interactive authentication through the prompt callback, against an
 * in-process ssh2 server (the test sshd only accepts keys: giving root a password would change
 * the machine). The host key is still verified from a known_hosts file first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server, utils, type AuthContext, type Connection } from 'ssh2';
import { IoError } from '../../src/io/errors';
import type { PromptRequest } from '../../src/io/ssh/auth';
import type { ResolveOptions } from '../../src/io/ssh/config';
import { ConnectionPool, type SshConnectionOptions } from '../../src/io/ssh/connection';

const PASSWORD = 'right pass';

describe('password and keyboard-interactive prompts', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-auth-'));
  const hostKey = utils.generateKeyPairSync('ed25519');
  let server: Server;
  let port = 0;
  /** which methods the server offers; 'keyboard-interactive' asks "Password: " */
  let offer: ('password' | 'keyboard-interactive')[] = ['password'];
  const secretsSeen: string[] = [];
  const clients = new Set<Connection>();
  const pools: ConnectionPool[] = [];
  let resolve: ResolveOptions;

  before(async () => {
    server = new Server({ hostKeys: [hostKey.private] }, (client) => {
      clients.add(client);
      client.on('error', () => undefined);
      client.on('close', () => clients.delete(client));
      client.on('authentication', (ctx: AuthContext) => {
        if (ctx.method === 'password' && offer.includes('password')) {
          secretsSeen.push(ctx.password);
          if (ctx.password === PASSWORD) ctx.accept();
          else ctx.reject(offer);
          return;
        }
        if (ctx.method === 'keyboard-interactive' && offer.includes('keyboard-interactive')) {
          ctx.prompt([{ prompt: 'Password: ', echo: false }], 'login', 'enter your password', (answers) => {
            secretsSeen.push(answers[0] ?? '');
            if (answers[0] === PASSWORD) ctx.accept();
            else ctx.reject(offer);
          });
          return;
        }
        ctx.reject(offer);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const kh = path.join(dir, 'known_hosts');
    const [type, b64] = hostKey.public.trim().split(/\s+/);
    writeFileSync(kh, `[127.0.0.1]:${port} ${type ?? ''} ${b64 ?? ''}\n`);
    const cfg = path.join(dir, 'config');
    writeFileSync(cfg, `Host 127.0.0.1\n  User ops\n  UserKnownHostsFile ${kh}\n  GlobalKnownHostsFile none\n  IdentityAgent none\n  IdentityFile ${path.join(dir, 'no-key')}\n`);
    resolve = { configFile: cfg, homeDir: dir, env: {} };
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.closeAll()));
    for (const c of clients) c.end();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  function connect(opts: SshConnectionOptions) {
    const p = new ConnectionPool({ resolve, hostKeys: { mode: 'yes' }, ...opts });
    pools.push(p);
    return p.get(`127.0.0.1:${port}`);
  }

  test('password: asked through the prompt (hidden), retried after a refusal', async () => {
    offer = ['password'];
    secretsSeen.length = 0;
    const prompts: PromptRequest[] = [];
    const conn = await connect({
      prompt: (req) => {
        prompts.push(req);
        return Promise.resolve(req.attempt === 1 ? 'wrong' : PASSWORD);
      },
    });
    assert.equal(conn.state, 'ready');
    assert.deepEqual(
      prompts.map((p) => [p.kind, p.echo, p.attempt, p.target]),
      [
        ['password', false, 1, `ops@127.0.0.1:${port}`],
        ['password', false, 2, `ops@127.0.0.1:${port}`],
      ],
    );
    assert.deepEqual(secretsSeen, ['wrong', PASSWORD]);
  });

  test('keyboard-interactive: the server prompt is shown with its instructions', async () => {
    offer = ['keyboard-interactive'];
    const prompts: PromptRequest[] = [];
    const conn = await connect({
      prompt: (req) => {
        prompts.push(req);
        return Promise.resolve(PASSWORD);
      },
    });
    assert.equal(conn.state, 'ready');
    assert.equal(prompts.length, 1);
    assert.equal(prompts[0]?.kind, 'keyboard-interactive');
    assert.equal(prompts[0]?.echo, false);
    assert.match(prompts[0]?.message ?? '', /enter your password\nPassword: /);
  });

  test('cancelling the prompt is a cancellation; no prompt at all is auth-failed listing what was tried', async () => {
    offer = ['password'];
    await assert.rejects(connect({ prompt: () => Promise.resolve(undefined) }), (e: unknown) => e instanceof IoError && e.kind === 'cancelled');
    await assert.rejects(connect({}), (e: unknown) => {
      assert.ok(e instanceof IoError);
      assert.equal(e.kind, 'auth-failed');
      assert.match(e.message, /authentication to ops@127\.0\.0\.1:\d+ failed; tried: nothing/);
      return true;
    });
  });

  test('failed passwords are never part of an error message', async () => {
    offer = ['password'];
    try {
      await connect({ prompt: () => Promise.resolve('secret-wrong-1') });
      assert.fail('should not connect');
    } catch (e) {
      assert.ok(e instanceof IoError);
      assert.equal(e.kind, 'auth-failed');
      assert.deepEqual(e.details.triedMethods, ['password']);
      assert.ok(!e.message.includes('secret-wrong-1'));
    }
  });
});
