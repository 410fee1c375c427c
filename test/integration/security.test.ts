/**
 * Security, against the host's real sshd and its log (LogLevel VERBOSE):
 *  - acceptance 10: hostile filter and target strings are refused with a clear error before
 *    anything connects or runs;
 *  - acceptance 9: an unknown host key is refused under StrictHostKeyChecking yes before any
 *    authentication; a sudo password never shows in the host's process list, the sshd log, the
 *    product's command log or the CLI's output; a changed host key is refused in every mode with
 *    both SHA256 fingerprints.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ValidationError } from '../../src/core/fix/validate';
import { isIoError } from '../../src/io/errors';
import type { PromptRequest } from '../../src/io/ssh/auth';
import type { HostKeyQuestion } from '../../src/io/ssh/knownHosts';
import { useHost, type TestHost } from '../../harness/host/testHost';
import { cli, cliOnTerminal, openSession, scratchDir, sshdLog, sshdLogSize, watchProcesses, writeSshConfig, type Session } from './helpers';
import { retryUntil } from '../../harness/poll';

const dir = scratchDir('security');
const sessions: Session[] = [];
after(async () => {
  for (const x of sessions) await x.session.close();
});
const h = useHost(`its${process.pid % 10000}`);

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return assert.fail('expected a rejection');
}

/** Waits until sshd has logged the end of every connection it logged the start of (after `from`). */
async function connectionsSettled(host: TestHost, from: number): Promise<string> {
  return retryUntil('sshd to log the end of the connection(s)', 10_000, () => {
    const log = sshdLog(host, from);
    const ports = [...log.matchAll(/^Connection from \S+ port (\d+) on/gm)].map((m) => m[1]);
    const ended = (p: string | undefined): boolean => new RegExp(`^(Connection closed by|Disconnected from|Received disconnect from|Connection reset by)\\b.* port ${p}\\b`, 'm').test(log);
    return ports.length > 0 && ports.every(ended) ? log : undefined;
  });
}

describe('hostile strings are refused before anything runs', () => {
  const marker = `/tmp/ctd-pwned-${process.pid}`;
  const hostile = `10.0.0.1; touch ${marker}`;

  test('a filter with shell syntax: entries and apply delete-entries exit 2, nothing connects', async () => {
    const host = h.host;
    const config = writeSshConfig(dir, host);
    const from = sshdLogSize(host);
    const cases = [
      ['entries', host.name, '--src', hostile],
      ['entries', host.name, '--list', '--dst', `$(touch ${marker})`],
      ['apply', host.name, 'delete-entries', '--src', hostile, '--yes'],
    ];
    const results = await Promise.all(cases.map((args) => cli([...args, '--ssh-config', config])));
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 2, `${cases[i]?.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^conntrack-doctor: (src|dst): expected an IPv4 (or IPv6 )?address/m);
      // the whole hostile input is named, not a piece of it
      assert.ok(r.stderr.includes(JSON.stringify(cases[i]?.[cases[i].length - (cases[i][2] === 'delete-entries' ? 2 : 1)] ?? '')), r.stderr);
      assert.equal(r.stdout, '');
    }
    assert.ok(!existsSync(marker), 'nothing ran (the host shares this machine\'s /tmp)');
    assert.doesNotMatch(sshdLog(host, from), /Connection from/, 'the CLI did not even connect');
  });

  test('a target or ssh config with shell syntax is refused (exit 3), nothing connects', async () => {
    const host = h.host;
    const config = writeSshConfig(dir, host);
    const from = sshdLogSize(host);
    const cases: [string[], RegExp][] = [
      [['diagnose', `a$(touch ${marker})b`, '--ssh-config', config], /contains whitespace or control characters/],
      [['diagnose', '$(reboot)', '--ssh-config', config], /is not a valid host or alias/],
      [['diagnose', 'x`id`', '--ssh-config', config], /is not a valid host or alias/],
      [['diagnose', 'evil', '--ssh-config', writeSshConfig(dir, host, { alias: 'evil', hostName: `${host.address};touch\${IFS}${marker}` })], /refusing host name/],
      [['diagnose', 'proxy', '--ssh-config', writeSshConfig(dir, host, { alias: 'proxy', extraLines: [`  ProxyCommand touch ${marker}`] })], /ProxyCommand is not supported/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli([...args, '--interval', '0'])));
    for (const [i, r] of results.entries()) {
      const [args, why] = cases[i] ?? [[], /$^/];
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.equal(r.stdout, '');
    }
    assert.ok(!existsSync(marker), 'nothing ran');
    assert.doesNotMatch(sshdLog(host, from), /Connection from/);
  });

  test('API: a hostile filter throws ValidationError and no command is sent', async () => {
    const host = h.host;
    const s = await openSession(dir, host);
    sessions.push(s);
    await s.session.privileges();
    const commands = s.log.length;
    const from = sshdLogSize(host);
    for (const call of [() => s.session.entrySummary({ filter: { src: hostile } }), () => s.session.entryPage(0, 10, { filter: { proto: 'tcp; reboot' } })]) {
      const err = await rejects(call());
      assert.ok(err instanceof ValidationError, String(err));
    }
    assert.equal(s.log.length, commands, JSON.stringify(s.log.slice(commands)));
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotMatch(sshdLog(host, from), /Starting session/);
    assert.ok(!existsSync(marker));
  });
});

describe('host keys', () => {
  test('an unknown host key is refused under StrictHostKeyChecking yes, before any authentication', async () => {
    const host = h.host;
    const empty = join(dir, 'known_hosts.empty');
    writeFileSync(empty, '');
    // Positive control: a normal login does show its authentication in the sshd log.
    let from = sshdLogSize(host);
    const ok = await openSession(dir, host);
    sessions.push(ok);
    await retryUntil('the login in the sshd log', 10_000, () => (/^Accepted publickey for root from /m.test(sshdLog(host, from)) ? true : undefined));

    from = sshdLogSize(host);
    const err = await rejects(openSession(dir, host, { alias: 'unknown', knownHosts: empty, strict: 'yes' }));
    assert.ok(isIoError(err, 'host-key-unknown'), String(err));
    assert.match(err.message, /not a known host and host-key checking is strict/);
    assert.ok(err.message.includes(host.info.hostKeys.ed25519.sha256), err.message);
    const log = await connectionsSettled(host, from);
    assert.match(log, /^Connection from /m, 'the connection reached sshd');
    assert.doesNotMatch(log, /Accepted|Postponed|Failed|authenticating user|Invalid user|Starting session|userauth/i, `no authentication was attempted:\n${log}`);
    assert.equal(readFileSync(empty, 'utf8'), '', 'nothing was written to known_hosts');

    // The CLI says the same, with the fingerprint to verify, exit 3.
    from = sshdLogSize(host);
    const r = await cli(['diagnose', 'unknown', '--ssh-config', writeSshConfig(dir, host, { alias: 'unknown', knownHosts: empty }), '--interval', '0']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /REFUSED: .* is not a known host/);
    assert.ok(r.stderr.includes(host.info.hostKeys.ed25519.sha256));
    assert.doesNotMatch(await connectionsSettled(host, from), /Accepted|Postponed|Failed|authenticating user/i);
  });
});

describe('a sudo password never leaks', () => {
  test('CLI --sudo on a terminal: the password is typed at the prompt and never shown', async () => {
    const host = h.host;
    const password = host.info.users.audit.password;
    const config = writeSshConfig(dir, host, { alias: 'audit-cli', user: 'audit' });
    const from = sshdLogSize(host);
    const r = await cliOnTerminal(['diagnose', 'audit-cli', '--ssh-config', config, '--sudo', '--interval', '0', '--no-entries'], /sudo password for audit@/, password);
    assert.ok(r.prompted, r.output);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /counters {2}drop=0/, 'privileged counters were read through sudo');
    assert.ok(!r.output.includes(password), `the password shows in the CLI output:\n${r.output}`);
    assert.ok(!sshdLog(host, from).includes(password), 'not in the sshd log');
  });

  test('API: privileged snapshot and a long privileged command as audit (sudo with a password)', async () => {
    const host = h.host;
    const password = host.info.users.audit.password;
    const prompts: PromptRequest[] = [];
    const from = sshdLogSize(host);
    const s = await openSession(dir, host, {
      alias: 'audit-api',
      user: 'audit',
      prompt: (req) => {
        prompts.push(req);
        return Promise.resolve(req.kind === 'sudo-password' ? password : undefined);
      },
    });
    sessions.push(s);
    assert.equal(await s.session.privileges(), 'sudo-password');

    // Watch the host's process list (from inside the host, not over SSH) the whole time.
    const watcher = watchProcesses(host);
    let seen: string[];
    let snap: Awaited<ReturnType<typeof s.session.snapshot>> | undefined;
    try {
      snap = await s.session.snapshot({ entries: false });
      const long = await s.session.runner.run(['sleep', '2.718'], { privileged: true, timeoutMs: 30_000 });
      assert.equal(long.exitCode, 0, long.stderr);
    } finally {
      seen = await watcher.stop();
    }
    assert.deepEqual(prompts.map((p) => p.kind), ['sudo-password'], 'asked once');
    assert.ok(snap);
    assert.ok(snap.counters?.source === 'netlink', 'conntrack -S ran as root through sudo');
    assert.ok(!snap.unavailable?.some((u) => u.what === 'root'), JSON.stringify(snap.unavailable));
    assert.ok(seen.length >= 5, `${seen.length} process lists`);
    // sudo asks with its own random prompt and starts the command through sh (a marker first: the password only answers that prompt)
    assert.ok(seen.some((ps) => /sudo -k -S -p \S+ -- sh -c .* sleep 2\.718/.test(ps)), `the watcher saw the privileged command run: ${seen.flatMap((ps) => ps.split('\n').filter((l) => l.includes('sleep'))).slice(0, 3).join(' | ')}`);
    assert.ok(seen.every((ps) => !ps.includes(password)), 'the password is never in the process list');
    assert.ok(s.log.some((e) => e.privileged && /^sudo -k -S -p \S+ -- sh -c .* sleep 2\.718$/.test(e.command)), JSON.stringify(s.log.map((e) => e.command)));
    assert.ok(!JSON.stringify(s.log).includes(password), 'not in the product\'s command log');
    assert.ok(!sshdLog(host, from).includes(password), 'not in the sshd log');
  });
});

describe('a changed host key', () => {
  test('refused in modes yes, accept-new and ask, with both SHA256 fingerprints', async () => {
    const host = h.host;
    const oldKnownHosts = join(dir, 'known_hosts.before-swap');
    copyFileSync(host.info.knownHostsPath, oldKnownHosts);
    const oldFp = host.info.hostKeys.ed25519.sha256;
    const swap = await host.swapHostKey();
    assert.equal(swap.old, oldFp);
    for (const mode of ['yes', 'accept-new', 'ask'] as const) {
      const asked: HostKeyQuestion[] = [];
      const from = sshdLogSize(host);
      const err = await rejects(openSession(dir, host, {
        alias: `changed-${mode}`,
        knownHosts: oldKnownHosts,
        strict: mode,
        hostKeys: { mode, allowWrite: true, ask: (q) => { asked.push(q); return Promise.resolve('accept-and-save'); } },
      }));
      assert.ok(isIoError(err, 'host-key-changed'), `${mode}: ${String(err)}`);
      const msg = err.message;
      assert.match(msg, /has CHANGED/);
      assert.ok(msg.includes(swap.old) && msg.includes(swap.new), `${mode}: both fingerprints in:\n${msg}`);
      assert.deepEqual(asked, [], `${mode}: nobody is asked to accept a changed key`);
      assert.doesNotMatch(await connectionsSettled(host, from), /Accepted|Postponed|Failed|authenticating user/i, `${mode}: no authentication`);
    }
    assert.equal(readFileSync(oldKnownHosts, 'utf8'), readFileSync(join(host.info.statePath, 'known_hosts.prev'), 'utf8'), 'known_hosts was not rewritten');
    // with the new key on record the host is reachable again
    const fresh = await openSession(dir, host, { alias: 'after-swap' });
    sessions.push(fresh);
    assert.equal((await fresh.session.runner.run(['true'], { timeoutMs: 10_000 })).exitCode, 0);
  });
});
