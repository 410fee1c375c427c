/**
 * A rollout to two real hosts in one run (issue 16): the INVALID drop rule computed on one host,
 * the inventory of both written from the ssh config, batches of one host (`--serial 1`). The
 * first host in the inventory fails on purpose (its nft ruleset has no `inet filter` table, so
 * the insert fails after its nftables.conf was written): the play stops there, as
 * max_fail_percentage 0 says, the report names that host, and the second host is never touched.
 * The rollback playbook then restores the failed host byte for byte and finds nothing to undo on
 * the other.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { diagnose } from '../../src/core/host/diagnose';
import { NFTABLES_CONF, NFT_TAG_TEXT } from '../../src/core/fix/builders';
import { useHost, type TestHost } from '../../harness/host/testHost';
import { cli, openSession, scratchDir, writeSshConfig, type Session } from './helpers';
import { ansiblePlaybook, closeAnsibleConnections, playbookOk, readHostState, recapOf, requireAnsible, type HostState } from './ansibleRun';

requireAnsible();
const dir = scratchDir('ansible-fleet');
const broken = useHost(`itc${process.pid % 10000}a`);
const healthy = useHost(`itc${process.pid % 10000}b`);
let s: Session | undefined;
after(async () => {
  await closeAnsibleConnections(dir);
  await s?.session.close();
});

const state = (host: TestHost): Promise<HostState> =>
  readHostState(host, [NFTABLES_CONF], [], { rule: ['sh', '-c', `nft list ruleset | grep -c '${NFT_TAG_TEXT}' || true`], record: ['ls', '-A', '/var/lib/conntrack-doctor'] });

describe('two hosts, serial 1, the first one failing', () => {
  test('the play stops at the failed host, names it, and leaves the other untouched; the rollback restores the failed one', async () => {
    // One ssh config for both hosts, in this order: the inventory follows it.
    const config = join(dir, 'ssh_config');
    writeFileSync(config, [broken.host, healthy.host].map((h) => readFileSync(writeSshConfig(dir, h, { user: 'ops' }), 'utf8')).join('\n'));

    // Computed on the healthy host: INVALID packets and no rule.
    s = await openSession(dir, healthy.host, { alias: `${healthy.host.name}-product` });
    const first = await s.session.snapshot({ entries: false });
    await healthy.host.invalid(300);
    const d = diagnose(await s.session.snapshot({ entries: false }), { previous: first });
    assert.ok(d.findings.find((f) => f.code === 'invalid-packets')?.fixes.some((f) => f.id === 'invalid-drop-rule'));
    const playbook = join(dir, 'fleet.yml');
    const inventory = join(dir, 'inventory.yml');
    const r = await cli(['ansible', healthy.host.name, 'invalid-drop-rule', '--serial', '1', '-o', playbook, '--inventory', inventory, '--ssh-config', config]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(inventory, 'utf8'), new RegExp(`hosts:\\n {8}${broken.host.name}: \\{\\}\\n {8}${healthy.host.name}: \\{\\}\\n`));
    assert.match(readFileSync(playbook, 'utf8'), /\n {2}serial: "\{\{ conntrack_doctor_serial \| default\('1'\) \}\}"\n {2}max_fail_percentage: 0\n/);

    // The first host's firewall lost its table: the same nftables.conf, but nothing to insert into.
    await broken.host.execOk(['nft', 'delete', 'table', 'inet', 'filter']);
    const brokenBefore = await state(broken.host);
    const healthyBefore = await state(healthy.host);

    const run = await ansiblePlaybook(dir, ['-i', inventory, playbook], 'fleet');
    assert.equal(run.code, 2, run.output);
    assert.match(run.output, new RegExp(`TASK \\[Insert "ct state invalid counter drop" at the top of inet filter input\\] \\*+\\nfatal: \\[${broken.host.name}\\]: FAILED! => .*Error: Could not process rule: No such file or directory`));
    assert.match(run.output, /NO MORE HOSTS LEFT/);
    assert.equal(recapOf(run, broken.host.name).failed, 1);
    assert.equal(run.recap.has(healthy.host.name), false, `the second host never ran:\n${run.output.slice(-3000)}`);
    assert.doesNotMatch(run.output, new RegExp(`\\[${healthy.host.name}\\]`), 'no task ran on the second host');

    assert.deepEqual(await state(healthy.host), healthyBefore, 'the second host is untouched');
    const brokenAfter = await state(broken.host);
    assert.notEqual(brokenAfter.files[NFTABLES_CONF], brokenBefore.files[NFTABLES_CONF], 'the failed host got the file before its insert failed');
    assert.match(brokenAfter.extra['record'] ?? '', /^exit 0\nansible\n/, 'and a record the rollback can use');

    // The rollback, on both: the failed host as before, nothing to do on the other.
    const rollback = await playbookOk(dir, ['-i', inventory, join(dir, 'fleet-rollback.yml')], 'fleet-rollback', broken.host.name, 'some');
    assert.equal(recapOf(rollback, healthy.host.name).changed, 0);
    assert.match(rollback.output, new RegExp(`No record of [^ ]+ on ${healthy.host.name}`));
    const restored = await state(broken.host);
    assert.equal(restored.files[NFTABLES_CONF], brokenBefore.files[NFTABLES_CONF], 'restored byte for byte');
    assert.deepEqual(await state(healthy.host), healthyBefore);
  });
});
