/**
 * The global settings, exported (issue 16): raise-max and set-buckets computed on a host in a
 * network namespace — the usual place a full table is seen, where max and buckets are read-only —
 * and rolled out by Ansible to a host in the machine's initial network namespace, where they are
 * writable. Because both numbers are global, the diagnosis of the first host is the proof: its
 * table-usage (then hash-chains-long) finding goes when the playbook ran on the other host, and
 * comes back with the rollback. The whole way for each (ansibleRun.ts `exercise`).
 *
 * This file changes the machine's nf_conntrack_max and nf_conntrack_buckets: it holds the
 * exclusive global lock, and restores both in `after` whatever happens (the initial-netns host's
 * `down` restores them too). Buckets are lowered only to where chains average 20.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { diagnose } from '../../src/core/host/diagnose';
import type { Diagnosis } from '../../src/core/host/diagnosis';
import { SYSCTL_DROP_IN } from '../../src/core/fix/builders';
import { useHost } from '../../harness/host/testHost';
import { BUCKETS_PATH, MAX_PATH, cli, machineConntrackRestorer, machineSysctl, openSession, scratchDir, writeSshConfig, type Session } from './helpers';
import { globalConntrackLock } from '../../harness/conntrackLock';
import { closeAnsibleConnections, exercise, requireAnsible } from './ansibleRun';

requireAnsible();
const dir = scratchDir('ansible-initial');
const MAX = 'net.netfilter.nf_conntrack_max';
const BUCKETS = 'net.netfilter.nf_conntrack_buckets';
const max0 = machineSysctl(MAX_PATH);
const restoreMachine = machineConntrackRestorer();
let release: (() => Promise<void>) | undefined;
let s: Session | undefined;

before(async () => {
  const held = await globalConntrackLock('exclusive');
  release = () => held.release();
});
const target = useHost(`itd${process.pid % 10000}`);
const fleet = useHost(`itdi${process.pid % 10000}`, { initialNetns: true });
// Registered after useHost: runs after the hosts are down.
after(async () => {
  await closeAnsibleConnections(dir);
  await s?.session.close();
  try {
    restoreMachine();
  } finally {
    await release?.();
  }
});

let config = '';
const inventory = join(dir, 'inventory.yml');

async function targetDiagnosis(): Promise<Diagnosis> {
  s ??= await openSession(dir, target.host, { alias: `${target.host.name}-product` });
  return diagnose(await s.session.snapshot({ entries: false }));
}

/** `conntrack-doctor ansible TARGET FIX` (FIX=VALUE: the value the finding offers). */
async function exportFrom(name: string, fix: string): Promise<{ playbook: string; rollback: string }> {
  const playbook = join(dir, `${name}.yml`);
  const r = await cli(['ansible', target.host.name, fix, '-o', playbook, '--inventory', inventory, '--ssh-config', config, '--force']);
  assert.equal(r.code, 0, r.stderr);
  // Said, since the host it was computed on cannot take it itself.
  assert.match(r.stderr, new RegExp(`note: ${target.host.name} is not the initial network namespace`));
  return { playbook, rollback: join(dir, `${name}-rollback.yml`) };
}

describe('global settings computed on a namespaced host, rolled out to the host itself', () => {
  test('raise-max: the table-usage finding of the namespaced host goes when the initial namespace takes the new max', async () => {
    config = join(dir, 'ssh_config');
    writeFileSync(config, [target.host, fleet.host].map((h) => readFileSync(writeSshConfig(dir, h, { user: 'ops' }), 'utf8')).join('\n'));
    await target.host.fill({ assured: Math.ceil(max0 * 0.8), srcCount: 250 });
    const d = await targetDiagnosis();
    const usage = d.findings.find((f) => f.code === 'table-usage');
    const raise = usage?.fixes.find((f) => f.id === 'raise-max');
    assert.ok(raise, JSON.stringify(d.findings.map((f) => f.code)));
    const value = /to (\d+)$/.exec(raise.title)?.[1];
    assert.ok(value && Number(value) > max0);

    const { playbook, rollback } = await exportFrom('max', `raise-max=${value}`);
    await exercise({
      dir, host: fleet.host, inventoryName: fleet.host.name, inventory, playbook, rollback,
      paths: [SYSCTL_DROP_IN], keys: [MAX],
      preview: [new RegExp(`\\n\\+net\\.netfilter\\.nf_conntrack_max = ${value}\\n`), new RegExp(`"msg": "would run: sysctl -w net\\.netfilter\\.nf_conntrack_max=${value}"`)],
      applied: async (b, a) => {
        assert.equal(b.values[MAX], String(max0));
        assert.equal(a.values[MAX], value);
        assert.equal(machineSysctl(MAX_PATH), Number(value), 'the machine\'s global max');
        assert.match(a.files[SYSCTL_DROP_IN] ?? '', new RegExp(`^net\\.netfilter\\.nf_conntrack_max = ${value}$`, 'm'));
        assert.ok(!(await targetDiagnosis()).findings.some((f) => f.code === 'table-usage'), 'the namespaced host is no longer near its limit');
      },
      rolledBack: async () => {
        assert.equal(machineSysctl(MAX_PATH), max0);
        assert.ok((await targetDiagnosis()).findings.some((f) => f.code === 'table-usage'), 'and is again with the old max');
      },
    });
  });

  test('set-buckets: hash-chains-long goes when the initial namespace resizes the table; the rollback brings the host\'s own value back', async () => {
    // Chains of about 20 on average when the table is full (the finding starts above 16); the
    // kernel rounds the size up (26214 becomes 26624).
    writeFileSync(BUCKETS_PATH, `${Math.floor((2 * max0) / 20)}\n`);
    const lowered = machineSysctl(BUCKETS_PATH);
    assert.ok((2 * max0) / lowered > 16, `${lowered} buckets`);
    const d = await targetDiagnosis();
    const set = d.findings.find((f) => f.code === 'hash-chains-long')?.fixes.find((f) => f.id === 'set-buckets');
    assert.ok(set, JSON.stringify(d.findings.map((f) => f.code)));
    const value = /to (\d+)$/.exec(set.title)?.[1];
    assert.ok(value && Number(value) > lowered);

    const { playbook, rollback } = await exportFrom('buckets', `set-buckets=${value}`);
    await exercise({
      dir, host: fleet.host, inventoryName: fleet.host.name, inventory, playbook, rollback,
      paths: [SYSCTL_DROP_IN], keys: [BUCKETS],
      preview: [new RegExp(`\\n\\+net\\.netfilter\\.nf_conntrack_buckets = ${value}\\n`)],
      applied: async (b, a) => {
        assert.equal(b.values[BUCKETS], String(lowered));
        assert.equal(a.values[BUCKETS], value);
        assert.equal(machineSysctl(BUCKETS_PATH), Number(value));
        assert.ok(!(await targetDiagnosis()).findings.some((f) => f.code === 'hash-chains-long'), 'the finding is gone');
      },
      rolledBack: async () => {
        assert.equal(machineSysctl(BUCKETS_PATH), lowered, 'the value this host had before the playbook, not the one it was computed on');
        assert.ok((await targetDiagnosis()).findings.some((f) => f.code === 'hash-chains-long'));
      },
    });
  });
});
