/**
 * Exported playbooks against a real host (issue 16): settings, entries, module at boot. The CLI
 * computes each fix from the host's diagnosis and writes the playbook, its rollback and an
 * inventory of the ssh config; Debian's Ansible runs them over SSH (user `ops`, `become`
 * through sudo, the host key checked against known_hosts, StrictHostKeyChecking yes). For each
 * fix kind (ansibleRun.ts `exercise`): ansible-lint and --syntax-check of both playbooks,
 * --check --diff shows the change and changes nothing, the real run applies it and its
 * read-backs pass, the diagnosis no longer reports the finding, a second run reports
 * changed=0, the rollback restores files byte for byte and values value for value.
 *
 * The host's drop-in starts with a comment holding a Jinja expression that would create a file
 * on this machine if Ansible ever templated it: it must reach the host as text.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { diagnose } from '../../src/core/host/diagnose';
import type { Diagnosis } from '../../src/core/host/diagnosis';
import { buildHostFix } from '../../src/core/host/fixes';
import { buildFixSequence } from '../../src/core/ansible/fixes';
import { buildPlaybooks } from '../../src/core/ansible/playbook';
import { MODULES_LOAD_PATH, SYSCTL_DROP_IN } from '../../src/core/fix/builders';
import type { HostSnapshot } from '../../src/core/host/snapshot';
import { useHost } from '../../harness/host/testHost';
import { MAX_PATH, cli, machineSysctl, openSession, scratchDir, writeSshConfig, type Session } from './helpers';
import { globalConntrackLock } from '../../harness/conntrackLock';
import { ansiblePlaybook, closeAnsibleConnections, exercise, recapOf, requireAnsible } from './ansibleRun';

requireAnsible();
const dir = scratchDir('ansible');
const ESTABLISHED = 'net.netfilter.nf_conntrack_tcp_timeout_established';
const PWNED = `/tmp/ctd-ansible-pwned-${process.pid}`;
const HOSTILE = `# kept by the admin: {{ lookup('pipe', 'touch ${PWNED}') }} {% raw %}\n`;
let release: (() => Promise<void>) | undefined;
let s: Session | undefined;

// Usage percentages below depend on the global nf_conntrack_max: no file may change it meanwhile.
before(async () => {
  const held = await globalConntrackLock('shared');
  release = () => held.release();
});
const h = useHost(`ita${process.pid % 10000}`);
after(async () => {
  await closeAnsibleConnections(dir);
  await s?.session.close();
  await release?.();
});

let config = '';
let inventory = '';

async function session(): Promise<Session> {
  s ??= await openSession(dir, h.host, { alias: `${h.host.name}-product` });
  return s;
}

async function diagnosis(entries = true): Promise<Diagnosis> {
  return diagnose(await (await session()).session.snapshot({ entries }));
}

function codes(d: Diagnosis): string[] {
  return d.findings.map((f) => f.code);
}

/** `conntrack-doctor ansible HOST ARGS… -o FILE` as a user runs it; resolves with the two playbook paths. */
async function exportPlaybook(name: string, args: readonly string[]): Promise<{ playbook: string; rollback: string; stdout: string }> {
  const playbook = join(dir, `${name}.yml`);
  const r = await cli(['ansible', h.host.name, ...args, '-o', playbook, '--inventory', inventory, '--ssh-config', config, '--force']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Wrote ${playbook.replace(/[.]/g, '\\.')}\n`));
  return { playbook, rollback: join(dir, `${name}-rollback.yml`), stdout: r.stdout };
}

describe('exported playbooks on a host in a network namespace', () => {
  test('setup: the ssh config (user ops, sudo, host key checked) and the inventory the CLI writes from it', async () => {
    const host = h.host;
    config = writeSshConfig(dir, host, { user: 'ops', strict: 'yes' });
    inventory = join(dir, 'inventory.yml');
    // The admin's drop-in with the hostile comment; a table above 75 % of the global max.
    await host.execOk(['sh', '-c', 'cat > "$1"', 'sh', SYSCTL_DROP_IN], { input: HOSTILE });
    const max = machineSysctl(MAX_PATH);
    const fill = await host.fill({ assured: Math.ceil(max * 0.8) - (await host.conntrackCount()), srcCount: 250 });
    assert.ok(fill.countAfter >= max * 0.78, JSON.stringify(fill));
  });

  test('set-timeout: the established timeout, in the drop-in, loaded by the handler; the rollback brings 432000 and the admin\'s file back', async () => {
    const host = h.host;
    const d = await diagnosis();
    const finding = d.findings.find((f) => f.code === 'established-timeout-long');
    assert.ok(finding, codes(d).join(', '));
    assert.ok(finding.fixes.some((f) => f.id === 'set-timeout'));
    const snap = await (await session()).session.snapshot({ entries: false });
    const expected = buildHostFix(snap, 'set-timeout').fileEdits.find((e) => e.path === SYSCTL_DROP_IN);
    assert.ok(expected?.before === HOSTILE, 'the fix extends the admin\'s drop-in');

    const { playbook, rollback, stdout } = await exportPlaybook('timeout', ['set-timeout']);
    assert.match(stdout, /1\. Set nf_conntrack_tcp_timeout_established to 86400\n/);
    assert.match(stdout, /Files on each host: \/etc\/sysctl\.d\/90-conntrack-doctor\.conf\n/);
    // the inventory lists the ssh config's host and hands OpenSSH that config
    assert.match(readFileSync(inventory, 'utf8'), new RegExp(`hosts:\\n {8}${host.name}: \\{\\}\\n {6}vars:\\n {8}ansible_ssh_common_args: !unsafe "-F ${config}"`));

    await exercise({
      dir, host, inventoryName: host.name, inventory, playbook, rollback,
      paths: [SYSCTL_DROP_IN], keys: [ESTABLISHED],
      preview: [
        /\+net\.netfilter\.nf_conntrack_tcp_timeout_established = 86400\n/,
        /"msg": "would run: sysctl -w net\.netfilter\.nf_conntrack_tcp_timeout_established=86400"/,
      ],
      applied: async (b, a, run) => {
        assert.equal(b.values[ESTABLISHED], '432000');
        assert.equal(a.values[ESTABLISHED], '86400');
        assert.equal(a.files[SYSCTL_DROP_IN], expected.after, 'the drop-in is byte for byte what apply would write');
        assert.ok(a.files[SYSCTL_DROP_IN]?.startsWith(HOSTILE), 'the Jinja in the host\'s file reached it as text');
        assert.equal(existsSync(PWNED), false, 'nothing of the host\'s text was ever templated');
        assert.match(run.output, /RUNNING HANDLER \[Load \/etc\/sysctl\.d\/90-conntrack-doctor\.conf\] \*+\nchanged: /);
        assert.match(run.output, /TASK \[Fix 1: Read back net\.netfilter\.nf_conntrack_tcp_timeout_established[^\]]*\] \*+\nok: \[[^\]]+\] => \{\n\s+"changed": false,\n\s+"msg": "86400"/);
        assert.ok(!codes(await diagnosis()).includes('established-timeout-long'), 'the finding is gone');
      },
      rolledBack: async (state) => {
        assert.equal(state.files[SYSCTL_DROP_IN], HOSTILE);
        assert.ok(codes(await diagnosis()).includes('established-timeout-long'), 'the finding is back with the old value');
      },
    });
  });

  test('flush-table: refused without confirmation, then once per host; the table-usage finding goes', async () => {
    const host = h.host;
    assert.ok(codes(await diagnosis(false)).includes('table-usage'));
    const { playbook, rollback } = await exportPlaybook('flush', ['flush-table']);
    const max = machineSysctl(MAX_PATH);

    const refused = await ansiblePlaybook(dir, ['-i', inventory, playbook], 'flush-unconfirmed');
    assert.equal(refused.code, 2, refused.output);
    assert.match(refused.output, /Run it with -e conntrack_doctor_confirm=true\./);
    assert.equal(recapOf(refused, host.name).failed, 1);
    assert.ok((await host.conntrackCount()) >= max * 0.75, 'nothing was flushed');

    await exercise({
      dir, host, inventoryName: host.name, inventory, playbook, rollback,
      paths: [], keys: [], irreversible: true,
      runArgs: ['-e', 'conntrack_doctor_confirm=true'],
      extra: { full: ['sh', '-c', `test "$(conntrack -C)" -ge ${Math.floor(max * 0.75)}`] },
      preview: [/"msg": "would run: conntrack -F"/, /TASK \[Report before the change: cat \/proc\/sys\/net\/netfilter\/nf_conntrack_count\] \*+\nok: \[[^\]]+\] => \{\n\s+"msg": "\d{6}"/],
      applied: async (_b, a) => {
        assert.match(a.extra['full'] ?? '', /^exit 1\n/, 'the table was flushed');
        assert.ok((await host.conntrackCount()) < 100);
        assert.ok(!codes(await diagnosis(false)).includes('table-usage'), 'the finding is gone');
      },
    });
  });

  test('delete-entries: the unreplied flood of one source, deleted once; stale-entries goes', async () => {
    const host = h.host;
    const src = '198.18.9.9';
    await host.fill({ unreplied: 5000, src });
    const d = await diagnosis();
    const stale = d.findings.find((f) => f.code === 'stale-entries');
    assert.ok(stale?.fixes.some((f) => f.id === 'delete-entries'), codes(d).join(', '));
    const { playbook, rollback } = await exportPlaybook('delete', ['delete-entries', '--src', src]);
    await exercise({
      dir, host, inventoryName: host.name, inventory, playbook, rollback,
      paths: [], keys: [], irreversible: true,
      runArgs: ['-e', 'conntrack_doctor_confirm=true'],
      extra: { matching: ['sh', '-c', `conntrack -L -s ${src} 2>/dev/null | wc -l`] },
      // the delete runs in a small sh script that discards conntrack -D's listing on the host
      preview: [/"msg": "would run: sh -c .*exec conntrack -D .* conntrack-delete D - - - - -f ipv4 --orig-src 198\.18\.9\.9"/, /"msg": "5000"/],
      applied: async (b, a) => {
        assert.equal(b.extra['matching'], 'exit 0\n5000\n');
        assert.equal(a.extra['matching'], 'exit 0\n0\n');
        assert.ok(!codes(await diagnosis()).includes('stale-entries'), 'the finding is gone');
      },
    });
  });

  test('load-module-at-boot: the modules-load.d file (this kernel has conntrack built in: the fix is built as for a module kernel)', async () => {
    const host = h.host;
    // The CLI refuses it here, and says why.
    const r = await cli(['ansible', host.name, 'load-module-at-boot', '-o', join(dir, 'refused.yml'), '--ssh-config', config]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /nf_conntrack is built into this kernel: there is no module to load at boot/);
    // A net.netfilter setting in a boot file, and the same host seen as a module kernel.
    await host.execOk(['sh', '-c', 'printf "net.netfilter.nf_conntrack_udp_timeout = 30\\n" > /etc/sysctl.d/60-app.conf']);
    const asModule = async (): Promise<HostSnapshot> => ({ ...(await (await session()).session.snapshot({ entries: false })), conntrackModule: 'module' });
    const before = diagnose(await asModule());
    assert.ok(before.findings.find((f) => f.code === 'module-not-loaded-at-boot')?.fixes.some((f) => f.id === 'load-module-at-boot'), codes(before).join(', '));
    const fixes = buildFixSequence(await asModule(), [{ id: 'load-module-at-boot' }]);
    const made = buildPlaybooks({ fixes, computedOn: host.name, fileName: 'module.yml' });
    const playbook = join(dir, 'module.yml');
    const rollback = join(dir, 'module-rollback.yml');
    writeFileSync(playbook, made.playbook);
    writeFileSync(rollback, made.rollback);
    await exercise({
      dir, host, inventoryName: host.name, inventory, playbook, rollback,
      paths: [MODULES_LOAD_PATH], keys: [],
      preview: [/\+\+\+ after: [^\n]+\n@@ -0,0 \+1,2 @@\n\+# Load conntrack at boot[^\n]*\n\+nf_conntrack\n/],
      applied: async (b, a) => {
        assert.equal(b.files[MODULES_LOAD_PATH], null);
        assert.equal(a.files[MODULES_LOAD_PATH], fixes[0]?.fileEdits[0]?.after);
        assert.ok(!codes(diagnose(await asModule())).includes('module-not-loaded-at-boot'), 'the finding is gone');
      },
      rolledBack: async () => {
        assert.ok(codes(diagnose(await asModule())).includes('module-not-loaded-at-boot'), 'the finding is back');
      },
    });
    await host.execOk(['rm', '/etc/sysctl.d/60-app.conf']);
  });
});
