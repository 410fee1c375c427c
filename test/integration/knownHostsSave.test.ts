/**
 * Issue 11 item 6: `accept-new` saves the host key like OpenSSH does — to the host's first
 * UserKnownHostsFile, hashed when `HashKnownHosts yes` — so the next run (and a cron job) checks
 * it instead of accepting whatever key is presented. Proved with OpenSSH's own tools: `ssh-keygen
 * -F` finds the saved line and `ssh -o StrictHostKeyChecking=yes` connects with that file alone.
 * Before the fix the CLI never allowed the write: the file stayed absent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { useHost } from '../../harness/host/testHost';
import { cli, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('known-hosts-save');
const h = useHost(`ikh${process.pid % 10000}`);

/** OpenSSH's own check of a known_hosts file: ssh with StrictHostKeyChecking=yes and only that file. */
function opensshAccepts(knownHosts: string): { code: number | null; stderr: string } {
  const host = h.host;
  const r = spawnSync(
    'ssh',
    ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-i', host.userKey('root'), '-p', String(host.info.port), `root@${host.address}`, 'true'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, stderr: r.stderr };
}

describe('accept-new saves the host key like OpenSSH', () => {
  test('StrictHostKeyChecking accept-new + HashKnownHosts yes in the ssh config: a hashed line OpenSSH finds and trusts', async () => {
    const kh = join(dir, 'known_hosts_hashed');
    const cfg = writeSshConfig(dir, h.host, { alias: 'kh-hashed', knownHosts: kh, strict: 'accept-new', extraLines: ['  HashKnownHosts yes'] });
    const r = await cli(['diagnose', 'kh-hashed', '--ssh-config', cfg, '--interval', '0', '--json'], { timeoutMs: 120_000 });
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
    assert.ok(existsSync(kh), 'the accepted key was not saved');
    const lines = readFileSync(kh, 'utf8').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0] ?? '', /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ (ssh-ed25519|ecdsa-sha2-nistp\d+|rsa-sha2-\d+|ssh-rsa) [A-Za-z0-9+/=]+$/, 'hashed, no host name in clear');
    assert.ok(!lines[0]?.includes(h.host.address));
    const found = spawnSync('ssh-keygen', ['-F', h.host.address, '-f', kh], { encoding: 'utf8' });
    assert.equal(found.status, 0, `ssh-keygen -F does not find ${h.host.address}: ${found.stdout}${found.stderr}`);
    const ssh = opensshAccepts(kh);
    assert.equal(ssh.code, 0, ssh.stderr);
    // the next run with strict checking uses the saved key (and writes nothing more)
    const strict = writeSshConfig(dir, h.host, { alias: 'kh-hashed-strict', knownHosts: kh, strict: 'yes' });
    const again = await cli(['diagnose', 'kh-hashed-strict', '--ssh-config', strict, '--interval', '0', '--json'], { timeoutMs: 120_000 });
    assert.ok(again.code === 0 || again.code === 1, `exit ${again.code}: ${again.stderr}`);
    assert.equal(readFileSync(kh, 'utf8').split('\n').filter((l) => l !== '').length, 1);
  });

  test('--host-key-check accept-new without HashKnownHosts: a plain line', async () => {
    const kh = join(dir, 'known_hosts_plain');
    const cfg = writeSshConfig(dir, h.host, { alias: 'kh-plain', knownHosts: kh, strict: 'yes' });
    const r = await cli(['diagnose', 'kh-plain', '--ssh-config', cfg, '--interval', '0', '--json', '--host-key-check', 'accept-new'], { timeoutMs: 120_000 });
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
    const lines = readFileSync(kh, 'utf8').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(lines[0]?.startsWith(`${h.host.address} `), lines[0]);
    assert.equal(opensshAccepts(kh).code, 0);
  });
});
