/**
 * A fresh host (a non-initial network namespace with Debian's sshd and the kernel's own table):
 *  - acceptance 1: the diagnosis of a healthy host has nothing at warning or above, and the
 *    numbers it shows are the kernel's (checked with OpenSSH's client and this machine's /proc);
 *  - acceptance 6: max and buckets are global: the product says the fix needs the host's
 *    namespace and the CLI refuses it; a forced write is refused by the kernel while sysctl
 *    still exits 0, and the product's read-back catches it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { diagnose } from '../../src/core/host/diagnose';
import { diagnosisJsonSchema } from '../../src/core/host/diagnosis';
import { buildHostFix } from '../../src/core/host/fixes';
import { applyFix, ApplyError, listChanges, rollbackLast } from '../../src/io/apply';
import { useHost } from '../../harness/host/testHost';
import {
  BUCKETS_PATH, MAX_PATH, cli, controlMaster, machineSysctl, openSession, scratchDir, sshOk, writeSshConfig, type Session,
} from './helpers';
import { globalConntrackLock, type HeldLock } from '../../harness/conntrackLock';

const dir = scratchDir('healthy');
let lock: HeldLock | undefined;
let s: Session | undefined;

// The assertions below compare against the machine's global max: no other test file may change it meanwhile.
before(async () => {
  lock = await globalConntrackLock('shared');
});
after(async () => {
  await s?.session.close();
  await lock?.release();
});
const h = useHost(`ith${process.pid % 10000}`);

describe('healthy host', () => {
  test('diagnose: no finding at warning or above; count and max are what the kernel says', async () => {
    const host = h.host;
    const cm = await controlMaster(host, dir);
    try {
      s = await openSession(dir, host);
      const snap = await s.session.snapshot();
      // Read independently over an SSH connection that was open before the snapshot (so no new
      // connection adds an entry): OpenSSH's client, the kernel's own tools.
      const [count, max, buckets] = (await sshOk(host, 'conntrack -C; sysctl -n net.netfilter.nf_conntrack_max; cat /proc/sys/net/netfilter/nf_conntrack_buckets', 'root', cm.options))
        .trim().split('\n').map(Number);
      const d = diagnose(snap);
      assert.equal(d.usage.count, count, 'count = conntrack -C');
      assert.equal(d.usage.max, max, 'max = sysctl -n net.netfilter.nf_conntrack_max');
      assert.equal(d.usage.max, machineSysctl(MAX_PATH), 'max is the machine\'s global value');
      assert.equal(d.usage.buckets, buckets);
      assert.equal(d.usage.level, 'ok');
      assert.ok((d.usage.percent ?? 100) < 1, `a fresh host uses almost nothing: ${d.usage.percent}`);
      assert.equal(snap.initialNetns, false);
      assert.equal(snap.netnsInode, host.info.netnsInode);
      assert.deepEqual(d.unavailable, [], 'root over SSH: nothing is missing');
      const loud = d.findings.filter((f) => f.severity !== 'info');
      assert.deepEqual(loud.map((f) => `${f.severity} ${f.code}: ${f.title}`), []);
      assert.ok(d.findings.some((f) => f.code === 'not-initial-netns' && f.severity === 'info'), 'it says where it runs');
      assert.equal(snap.entrySummary?.entries, count, 'the entry summary (computed on the host) saw the same table');
    } finally {
      await cm.close();
    }

    // The CLI as a user runs it: exit 0 (nothing at warning or above), the same numbers; -v
    // shows the SSH connection's events and every command on stderr, the JSON stays alone on stdout.
    const r = await cli(['diagnose', host.name, '--ssh-config', writeSshConfig(dir, host), '--json', '--interval', '0', '-v']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (const line of [/^\[root@[\d.]+:22\] ssh connect: connecting to /m, /^\[root@[\d.]+:22\] ssh host-key: ssh-ed25519 SHA256:/m, /^\[root@[\d.]+:22\] ssh auth: trying /m, /^\[root@[\d.]+:22\] [#$] sh -s -- [0-9a-f]{24} all → 0 \(\d+ ms\)$/m, /^\[root@[\d.]+:22\] [#$] sh -s -- 10 'sample=10000' → 0 \(\d+ ms\)$/m]) {
      assert.match(r.stderr, line);
    }
    const j = diagnosisJsonSchema.parse(JSON.parse(r.stdout));
    assert.equal(j.usage.max, machineSysctl(MAX_PATH));
    assert.equal(j.usage.level, 'ok');
    assert.deepEqual(j.findings.filter((f) => f.severity !== 'info'), []);
  });
});

describe('non-initial network namespace: max and buckets are the host\'s business', () => {
  test('raise-max and set-buckets say they need the initial namespace; CLI apply refuses (exit 1) and changes nothing', async () => {
    const host = h.host;
    assert.ok(s, 'session from the previous test');
    const max0 = machineSysctl(MAX_PATH);
    const buckets0 = machineSysctl(BUCKETS_PATH);
    const snap = await s.session.snapshot({ entries: false });
    const raise = buildHostFix(snap, 'raise-max', { value: max0 + 65536 });
    const buckets = buildHostFix(snap, 'set-buckets', { value: buckets0 * 2 });
    assert.equal(raise.needsInitialNetns, true);
    assert.equal(buckets.needsInitialNetns, true);
    assert.equal(snap.initialNetns, false);

    const config = writeSshConfig(dir, host);
    const runs = await Promise.all(([['raise-max', String(max0 + 65536)], ['set-buckets', String(buckets0 * 2)]] as const).map(
      async ([fix, value]) => [fix, await cli(['apply', host.name, fix, '--value', value, '--ssh-config', config, '--yes'])] as const,
    ));
    for (const [fix, r] of runs) {
      assert.equal(r.code, 1, `${fix}: ${r.stderr}`);
      assert.match(r.stderr, /is not the initial network namespace/);
      assert.match(r.stderr, /can only be applied on the host itself/);
      assert.match(r.stdout, /Must run in the initial \(host\) network namespace/, 'the preview says so too');
      assert.doesNotMatch(r.stdout, /Applied/);
    }
    assert.equal(machineSysctl(MAX_PATH), max0);
    assert.equal(machineSysctl(BUCKETS_PATH), buckets0);
    const files = await sshOk(host, 'ls /etc/sysctl.d; ls /var/lib/conntrack-doctor/changes 2>/dev/null | wc -l');
    assert.doesNotMatch(files, /90-conntrack-doctor\.conf/, 'no file was written');
    assert.match(files, /^0$/m, 'no change was recorded');
  });

  test('a forced write: sysctl exits 0, the kernel refuses, the read-back catches it (and it rolls back)', async () => {
    const host = h.host;
    assert.ok(s);
    const max0 = machineSysctl(MAX_PATH);
    const want = max0 + 65536;

    // The kernel fact, independently: inside a netns the write is refused, yet sysctl exits 0.
    const raw = await host.ssh('root', `sysctl -w net.netfilter.nf_conntrack_max=${want}; echo "exit=$?"; sysctl -n net.netfilter.nf_conntrack_max`);
    assert.match(raw.stdout, /^exit=0$/m, raw.stderr);
    assert.match(raw.stderr, /Invalid argument|permission denied/i);
    assert.match(raw.stdout, new RegExp(`^${max0}$`, 'm'));

    // The product's apply path, forced past the CLI's refusal.
    const snap = await s.session.snapshot({ entries: false });
    const fix = buildHostFix(snap, 'raise-max', { value: want });
    let err: unknown;
    try {
      await applyFix(s.session.runner, fix, { host: host.name });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ApplyError, `expected ApplyError, got ${String(err)}`);
    assert.match(err.message, /read-back failed/);
    assert.match(err.message, new RegExp(`got "${max0}"`));
    const rec = err.record;
    assert.ok(rec, 'the attempt is recorded');
    assert.equal(rec.ok, false);
    const write = rec.steps.find((st) => st.command.startsWith('sysctl -w'));
    assert.ok(write, JSON.stringify(rec.steps));
    assert.equal(write.exitCode, 0, 'sysctl exited 0 although the kernel refused');
    assert.equal(rec.verification[0]?.ok, false);
    assert.equal(rec.verification[0]?.observed, String(max0));
    assert.equal(machineSysctl(MAX_PATH), max0, 'the machine\'s max did not change');
    assert.equal((await sshOk(host, 'sysctl -n net.netfilter.nf_conntrack_max')).trim(), String(max0));

    // What it wrote (the persisted file, in the host's private /etc) is undone by the rollback.
    assert.equal((await listChanges(s.session.runner))[0]?.id, rec.id);
    const rb = await rollbackLast(s.session.runner, { host: host.name });
    assert.equal(rb.record.id, rec.id);
    assert.deepEqual(rb.restored, fix.fileEdits.map((e) => e.path).reverse());
    const left = await host.ssh('root', `test -e ${fix.fileEdits[0]?.path ?? '/nonexistent'}; echo $?`);
    assert.equal(left.stdout.trim(), '1', 'the file the failed attempt created is gone');
    assert.equal(machineSysctl(MAX_PATH), max0);
  });
});
