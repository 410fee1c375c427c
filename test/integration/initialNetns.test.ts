/**
 * Acceptance 7: raise-max applied for real, on a host in the machine's INITIAL network namespace
 * (`ctd-host up --initial-netns`: sshd on 127.0.0.1 in a private mount namespace whose /etc,
 * /var/lib and /var/backups are overlays, so the product's files never reach the machine's).
 * The live value changes (read over ssh AND in this machine's /proc), the file and the change
 * record exist on the host, the CLI says verified; a file changed between preview and apply is
 * refused with nothing changed; rollback restores the value and removes the file.
 * The machine's nf_conntrack_max is restored in `after` whatever happens (and by `ctd-host down`).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildHostFix } from '../../src/core/host/fixes';
import { applyFix, ApplyError, CHANGES_DIR, type ChangeRecord } from '../../src/io/apply';
import { useHost } from '../../harness/host/testHost';
import { MAX_PATH, cli, machineConntrackRestorer, machineSysctl, openSession, scratchDir, sshOk, writeSshConfig, type Session } from './helpers';
import { globalConntrackLock, type HeldLock } from '../../harness/conntrackLock';

const DROP_IN = '/etc/sysctl.d/90-conntrack-doctor.conf';
const dir = scratchDir('initial');
const max0 = machineSysctl(MAX_PATH);
const restoreMachine = machineConntrackRestorer();
let lock: HeldLock | undefined;
let s: Session | undefined;

// This file changes the machine's global max: no other test file may rely on it meanwhile.
before(async () => {
  lock = await globalConntrackLock('exclusive');
});
const h = useHost(`iti${process.pid % 10000}`, { initialNetns: true });
// Registered after useHost: runs after the host is down (which restores the values too).
after(async () => {
  await s?.session.close();
  try {
    restoreMachine();
  } finally {
    await lock?.release();
  }
});

async function changeRecords(): Promise<ChangeRecord[]> {
  const out = await sshOk(h.host, `for f in ${CHANGES_DIR}/*.json; do [ -f "$f" ] && cat "$f" && printf '\\036'; done; true`);
  return out.split('\u001e').filter((c) => c.trim()).map((c) => JSON.parse(c) as ChangeRecord);
}

describe('a host in the initial network namespace', () => {
  test('sshd in the machine\'s netns but its own mount namespace; only net/netfilter is writable there', async () => {
    const host = h.host;
    assert.equal(host.initialNetns, true);
    assert.equal(host.address, '127.0.0.1');
    assert.equal(readlinkSync(`/proc/${host.info.sshdPid}/ns/net`), readlinkSync('/proc/self/ns/net'));
    assert.notEqual(readlinkSync(`/proc/${host.info.sshdPid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'));
    assert.equal(host.info.savedSysctls?.['net.netfilter.nf_conntrack_max'], String(max0), 'the machine\'s max was recorded at up');

    s = await openSession(dir, host);
    const snap = await s.session.snapshot({ entries: false });
    assert.equal(snap.initialNetns, true);
    assert.equal(snap.max, max0);
    // Other network settings of the machine stay read-only (same value written: harmless if it were not).
    const probe = await host.ssh('root', 'sysctl -w net.ipv4.ip_forward=$(sysctl -n net.ipv4.ip_forward)');
    assert.match(probe.stderr, /permission denied|Read-only/i, probe.stdout);
    const writable = await host.ssh('root', 'test -w /proc/sys/net/netfilter/nf_conntrack_max && echo writable');
    assert.equal(writable.stdout.trim(), 'writable');
  });

  test('a file changed between preview and apply is refused; nothing changes', async () => {
    const host = h.host;
    assert.ok(s);
    const snap = await s.session.snapshot({ entries: false });
    const fix = buildHostFix(snap, 'raise-max', { value: max0 + 65536 });
    assert.deepEqual(fix.fileEdits.map((e) => e.path), [DROP_IN]);
    assert.equal(fix.fileEdits[0]?.before, undefined, 'previewed as a new file');
    // Someone writes the file after the preview.
    await sshOk(host, `printf '# written by the admin meanwhile\\n' > ${DROP_IN}`);
    let err: unknown;
    try {
      await applyFix(s.session.runner, fix, { host: host.name });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ApplyError, String(err));
    assert.match(err.message, /90-conntrack-doctor\.conf changed since it was read/);
    assert.match(err.message, /nothing was changed/);
    assert.equal(err.record, undefined);
    assert.equal(machineSysctl(MAX_PATH), max0);
    assert.equal((await sshOk(host, 'sysctl -n net.netfilter.nf_conntrack_max')).trim(), String(max0));
    assert.equal(await sshOk(host, `cat ${DROP_IN}`), '# written by the admin meanwhile\n', 'the admin\'s file is untouched');
    assert.deepEqual(await changeRecords(), [], 'nothing was recorded');
    await sshOk(host, `rm ${DROP_IN}`);
  });

  test('CLI apply raise-max --value N --yes: live value, persisted file, record; rollback --yes restores both', async () => {
    const host = h.host;
    const want = max0 + 65536;
    const config = writeSshConfig(dir, host);
    const r = await cli(['apply', host.name, 'raise-max', '--value', String(want), '--ssh-config', config, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Applied and verified: Raise nf_conntrack_max to ${want} \\(change \\S+; undo with: conntrack-doctor rollback ${host.name}\\)`));
    assert.match(r.stdout, new RegExp(`read back: .*nf_conntrack_max.*: ${want}$`, 'm'));

    // the live value, read independently over ssh and here on the machine
    assert.equal((await sshOk(host, 'sysctl -n net.netfilter.nf_conntrack_max')).trim(), String(want));
    assert.equal(machineSysctl(MAX_PATH), want);
    // the persisted file (in the host's /etc overlay, not the machine's /etc)
    assert.match(await sshOk(host, `cat ${DROP_IN}`), new RegExp(`^net\\.netfilter\\.nf_conntrack_max = ${want}$`, 'm'));
    assert.ok(!existsSync(DROP_IN), 'the machine\'s own /etc is untouched');
    assert.ok(existsSync(join(host.info.statePath, 'fs/etc/upper/sysctl.d/90-conntrack-doctor.conf')));
    // the change record, on the host (overlay of /var/lib)
    const records = await changeRecords();
    assert.equal(records.length, 1);
    const rec = records[0];
    assert.ok(rec);
    assert.equal(rec.fixId, 'raise-max');
    assert.equal(rec.ok, true);
    assert.deepEqual(rec.files.map((f) => [f.path, f.existed]), [[DROP_IN, false]]);
    assert.deepEqual(rec.rollback.map((st) => st.argv.join(' ')), [`sysctl -w net.netfilter.nf_conntrack_max=${max0}`]);
    assert.ok(!existsSync('/var/lib/conntrack-doctor'), 'no record in the machine\'s own /var/lib');
    assert.ok(existsSync(join(host.info.statePath, `fs/var/lib/upper/conntrack-doctor/changes/${rec.id}.json`)));

    const rb = await cli(['rollback', host.name, '--ssh-config', config, '--yes']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, new RegExp(`Rolled back: Raise nf_conntrack_max to ${want} \\(change ${rec.id}\\); restored ${DROP_IN.replace(/\./g, '\\.')}`));
    assert.match(rb.stdout, new RegExp(`read back: net\\.netfilter\\.nf_conntrack_max is back to ${max0}: ${max0}`));
    assert.equal(machineSysctl(MAX_PATH), max0);
    assert.equal((await sshOk(host, 'sysctl -n net.netfilter.nf_conntrack_max')).trim(), String(max0));
    assert.equal((await host.ssh('root', `test -e ${DROP_IN}`)).code, 1, 'the file it created is removed');
    const [after1] = await changeRecords();
    assert.ok(after1?.rolledBackAt, 'the record says it was rolled back');
    assert.equal(readFileSync(MAX_PATH, 'utf8').trim(), String(max0));
  });
});
