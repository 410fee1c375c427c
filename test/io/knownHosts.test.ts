import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { utils } from 'ssh2';
import { IoError } from '../../src/io/errors';
import {
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  HostKeyVerifier,
  knownHostName,
  parseKnownHosts,
  SessionHostKeys,
  sshKeyType,
  type HostKeyQuestion,
} from '../../src/io/ssh/knownHosts';
import { rejectsKind } from './helpers/errors';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ctd-kh-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function newKey(type: 'ed25519' | 'ecdsa' = 'ed25519'): { blob: Buffer; line: string } {
  const pair = type === 'ecdsa' ? utils.generateKeyPairSync('ecdsa', { bits: 256 }) : utils.generateKeyPairSync('ed25519');
  const [t, b64] = pair.public.trim().split(/\s+/);
  return { blob: Buffer.from(b64 ?? '', 'base64'), line: `${t ?? ''} ${b64 ?? ''}` };
}

function hashed(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

let fileNo = 0;
function khFile(text: string): string {
  const f = path.join(dir, `known_hosts_${fileNo++}`);
  writeFileSync(f, text);
  return f;
}

describe('known_hosts parsing and matching', () => {
  const k1 = newKey();
  const k2 = newKey();

  test('fingerprint is OpenSSH SHA256 style (same as ssh-keygen -l)', () => {
    const f = path.join(dir, 'fp.pub');
    writeFileSync(f, `${k1.line} comment\n`);
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', f], { encoding: 'utf8' });
    assert.match(fingerprintSha256(k1.blob), /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.ok(out.includes(fingerprintSha256(k1.blob)), out);
    assert.equal(sshKeyType(k1.blob), 'ssh-ed25519');
  });

  test('hashed entry (|1|salt|HMAC-SHA1) generated here is matched, for port 22 and [host]:port', () => {
    const text = `${hashed('server.example.com')} ${k1.line}\n${hashed('[server.example.com]:2222')} ${k2.line}\n`;
    const { entries, warnings } = parseKnownHosts(text, 'kh');
    assert.deepEqual(warnings, []);
    assert.equal(checkHostKey(entries, knownHostName('server.example.com', 22), k1.blob).status, 'known');
    assert.equal(checkHostKey(entries, knownHostName('SERVER.example.com', 2222), k2.blob).status, 'known');
    assert.equal(checkHostKey(entries, knownHostName('server.example.com', 2223), k2.blob).status, 'unknown');
    // the port-22 key presented on 2222 is a CHANGED key for [server]:2222
    assert.equal(checkHostKey(entries, knownHostName('server.example.com', 2222), k1.blob).status, 'changed');
  });

  test('[host]:port plain entries, comma lists, wildcards and ! negation', () => {
    const text = [
      `[10.0.0.5]:2200,plain.example.com ${k1.line}`,
      `*.corp.example.com,!evil.corp.example.com ${k2.line}`,
      `db?.example.com ${k2.line}`,
    ].join('\n');
    const { entries } = parseKnownHosts(text, 'kh');
    assert.equal(checkHostKey(entries, knownHostName('10.0.0.5', 2200), k1.blob).status, 'known');
    assert.equal(checkHostKey(entries, knownHostName('10.0.0.5', 22), k1.blob).status, 'unknown');
    assert.equal(checkHostKey(entries, knownHostName('plain.example.com', 22), k1.blob).status, 'known');
    assert.equal(checkHostKey(entries, knownHostName('app.corp.example.com', 22), k2.blob).status, 'known');
    assert.equal(checkHostKey(entries, knownHostName('evil.corp.example.com', 22), k2.blob).status, 'unknown');
    assert.equal(checkHostKey(entries, knownHostName('db1.example.com', 22), k2.blob).status, 'known');
    assert.equal(checkHostKey(entries, knownHostName('db12.example.com', 22), k2.blob).status, 'unknown');
  });

  test('@revoked wins over everything, for any host; @cert-authority is ignored with a warning', () => {
    const text = `host.example.com ${k1.line}\n@revoked * ${k1.line}\n@cert-authority *.example.com ${k2.line}\n`;
    const { entries, warnings } = parseKnownHosts(text, 'kh');
    assert.equal(checkHostKey(entries, 'host.example.com', k1.blob).status, 'revoked');
    assert.ok(warnings.some((w) => /kh:3: @cert-authority entries are not supported/.test(w)), warnings.join('\n'));
    const r = checkHostKey(entries, 'other.example.com', k2.blob);
    assert.deepEqual(r, { status: 'unknown', certAuthorityMatched: true });
  });

  test('broken lines are reported and skipped', () => {
    const { entries, warnings } = parseKnownHosts(`# comment\n\nonlyhost\nh ssh-rsa !!notbase64\nh ssh-rsa ${k1.line.split(' ')[1] ?? ''}\n@bogus h ${k1.line}\n`, 'kh');
    assert.equal(entries.length, 0);
    assert.equal(warnings.length, 4, warnings.join('\n'));
  });
});

describe('HostKeyVerifier', () => {
  const known = newKey();
  const offered = newKey();

  test('a CHANGED key is refused in every mode, showing both fingerprints and file:line', async () => {
    const f = khFile(`# first line\nsrv.example.com ${known.line}\n`);
    let asked = 0;
    for (const mode of ['yes', 'accept-new', 'ask'] as const) {
      const v = new HostKeyVerifier({
        mode,
        knownHostsFiles: [f],
        writeFile: f,
        ask: () => {
          asked++;
          return Promise.resolve('accept-and-save');
        },
      });
      const e = await rejectsKind(v.verify('srv.example.com', 22, offered.blob), 'host-key-changed');
      assert.ok(e.message.includes(fingerprintSha256(known.blob)), e.message);
      assert.ok(e.message.includes(fingerprintSha256(offered.blob)), e.message);
      assert.ok(e.message.includes(`${f}:2`), e.message);
      assert.equal(e.details.hostKey?.knownAt, `${f}:2`);
    }
    assert.equal(asked, 0, 'a changed key must not even be asked about');
    assert.equal(readFileSync(f, 'utf8'), `# first line\nsrv.example.com ${known.line}\n`, 'known_hosts was modified');
  });

  test('a host known only with another key type is treated as changed', async () => {
    const ecdsa = newKey('ecdsa');
    const v = new HostKeyVerifier({ mode: 'accept-new', knownHostsFiles: [khFile(`srv ${ecdsa.line}\n`)] });
    const e = await rejectsKind(v.verify('srv', 22, offered.blob), 'host-key-changed');
    assert.match(e.message, /on record with a ecdsa-sha2-nistp256 key/);
    assert.deepEqual(await v.preferredKeyTypes('srv', 22), ['ecdsa-sha2-nistp256']);
  });

  test('yes: unknown refused with the fingerprint; known accepted', async () => {
    const f = khFile(`[srv]:2222 ${known.line}\n`);
    const v = new HostKeyVerifier({ mode: 'yes', knownHostsFiles: [f, path.join(dir, 'missing')] });
    assert.equal((await v.verify('srv', 2222, known.blob)).how, 'known');
    const e = await rejectsKind(v.verify('srv', 2223, known.blob), 'host-key-unknown');
    assert.ok(e.message.includes(fingerprintSha256(known.blob)));
  });

  test('accept-new: accepts; writes only when given a file; remembers the key for the session', async () => {
    const session = new SessionHostKeys();
    const noWrite = new HostKeyVerifier({ mode: 'accept-new', knownHostsFiles: [path.join(dir, 'never-written')], session });
    const d = await noWrite.verify('new.example.com', 22, known.blob);
    assert.equal(d.how, 'accepted-new');
    assert.equal(d.saved, false);
    assert.equal(existsSync(path.join(dir, 'never-written')), false);
    // same session, different key: changed (a MITM after the first connect is caught)
    await rejectsKind(noWrite.verify('new.example.com', 22, offered.blob), 'host-key-changed');

    const target = path.join(dir, 'sub', 'written_known_hosts');
    const w = new HostKeyVerifier({ mode: 'accept-new', knownHostsFiles: [target], writeFile: target, hashOnWrite: true });
    const d2 = await w.verify('other.example.com', 2200, known.blob);
    assert.equal(d2.saved, true);
    const written = readFileSync(target, 'utf8');
    assert.match(written, /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 [A-Za-z0-9+/=]+\n$/);
    assert.equal(checkHostKey(parseKnownHosts(written, target).entries, '[other.example.com]:2200', known.blob).status, 'known');
  });

  test('ask: the callback gets host, key type and fingerprint; reject is a cancellation', async () => {
    const questions: HostKeyQuestion[] = [];
    const f = path.join(dir, 'ask_kh');
    const v = new HostKeyVerifier({
      mode: 'ask',
      knownHostsFiles: [f],
      writeFile: f,
      ask: (q) => {
        questions.push(q);
        return Promise.resolve(q.host === 'yes.example.com' ? 'accept-and-save' : 'reject');
      },
    });
    assert.equal((await v.verify('yes.example.com', 22, known.blob)).saved, true);
    await rejectsKind(v.verify('no.example.com', 22, known.blob), 'cancelled');
    assert.deepEqual(
      questions.map((q) => [q.host, q.keyType, q.fingerprint]),
      [
        ['yes.example.com', 'ssh-ed25519', fingerprintSha256(known.blob)],
        ['no.example.com', 'ssh-ed25519', fingerprintSha256(known.blob)],
      ],
    );
    assert.equal(readFileSync(f, 'utf8'), `${formatKnownHostsLine('yes.example.com', known.blob)}\n`);
    // ask without a callback refuses
    await rejectsKind(new HostKeyVerifier({ mode: 'ask', knownHostsFiles: [] }).verify('x', 22, known.blob), 'host-key-unknown');
  });

  test('mode "no" is refused unless explicitly forced, and even then a changed key is refused', async () => {
    assert.throws(() => new HostKeyVerifier({ mode: 'no', knownHostsFiles: [] }), (e: unknown) => e instanceof IoError && e.kind === 'config' && /refused/.test(e.message));
    const v = new HostKeyVerifier({ mode: 'no', knownHostsFiles: [khFile(`srv ${known.line}\n`)], insecureAllowNoCheck: true });
    assert.equal((await v.verify('unknown-host', 22, offered.blob)).how, 'unchecked');
    await rejectsKind(v.verify('srv', 22, offered.blob), 'host-key-changed');
  });

  test('revoked keys are refused in every mode', async () => {
    const f = khFile(`@revoked * ${offered.line}\n`);
    for (const mode of ['yes', 'accept-new', 'ask'] as const) {
      const v = new HostKeyVerifier({ mode, knownHostsFiles: [f], ask: () => Promise.resolve('accept-once') });
      const e = await rejectsKind(v.verify('anything', 22, offered.blob), 'host-key-revoked');
      assert.ok(e.message.includes(`${f}:1`));
    }
  });
});
