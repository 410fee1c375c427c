/**
 * Exported playbooks for the INVALID drop rule against a real host, with each firewall the fix
 * knows (issue 16): the host's native nftables ruleset persisted in /etc/nftables.conf (the
 * edited file validated with `nft -c -f` before it replaces the host's), then legacy iptables
 * persisted by netfilter-persistent (/etc/iptables/rules.v4 from iptables-legacy-save), then
 * iptables-nft next to legacy tables (named explicitly). Each one the whole way
 * (ansibleRun.ts `exercise`): lint, syntax, --check --diff changes nothing, the real run, the
 * diagnosis (two snapshots around INVALID packets) no longer asks for a rule, changed=0 on a
 * second run, the rollback restores the files byte for byte and removes the rule.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { diagnose } from '../../src/core/host/diagnose';
import type { Finding } from '../../src/core/host/diagnosis';
import { buildHostFix } from '../../src/core/host/fixes';
import { NFTABLES_CONF, NFT_TAG_TEXT, RULE_TAG } from '../../src/core/fix/builders';
import { useHost } from '../../harness/host/testHost';
import { cli, openSession, scratchDir, writeSshConfig, type Session } from './helpers';
import { closeAnsibleConnections, exercise, requireAnsible } from './ansibleRun';

requireAnsible();
const dir = scratchDir('ansible-fw');
let s: Session | undefined;
const h = useHost(`itb${process.pid % 10000}`);
after(async () => {
  await closeAnsibleConnections(dir);
  await s?.session.close();
});

const RULES_V4 = '/etc/iptables/rules.v4';
const SPEC = ['-m', 'conntrack', '--ctstate', 'INVALID', '-m', 'comment', '--comment', RULE_TAG, '-j', 'DROP'];

async function session(): Promise<Session> {
  s ??= await openSession(dir, h.host, { alias: `${h.host.name}-product` });
  return s;
}

/** The invalid-packets finding from two snapshots with INVALID packets sent in between (a rate). */
async function invalidFinding(): Promise<Finding | undefined> {
  const session0 = (await session()).session;
  const first = await session0.snapshot({ entries: false });
  await h.host.invalid(300);
  const second = await session0.snapshot({ entries: false });
  return diagnose(second, { previous: first }).findings.find((f) => f.code === 'invalid-packets');
}

async function exportRule(name: string): Promise<{ playbook: string; rollback: string; inventory: string; config: string; stdout: string }> {
  const config = writeSshConfig(dir, h.host, { user: 'ops' });
  const playbook = join(dir, `${name}.yml`);
  const inventory = join(dir, 'inventory.yml');
  const r = await cli(['ansible', h.host.name, 'invalid-drop-rule', '-o', playbook, '--inventory', inventory, '--ssh-config', config, '--force']);
  assert.equal(r.code, 0, r.stderr);
  return { playbook, rollback: join(dir, `${name}-rollback.yml`), inventory, config, stdout: r.stdout };
}

describe('the INVALID drop rule, exported, on each firewall', () => {
  test('native nftables: the tagged rule at the top of inet filter input, persisted in nftables.conf', async () => {
    const host = h.host;
    const before = await invalidFinding();
    assert.equal(before?.severity, 'warning', JSON.stringify(before));
    assert.deepEqual(before.fixes.map((f) => f.title), ['Drop INVALID packets (nft inet filter input)']);
    const fix = buildHostFix(await (await session()).session.snapshot({ entries: false }), 'invalid-drop-rule');
    const conf = fix.fileEdits.find((e) => e.path === NFTABLES_CONF);
    assert.ok(conf);
    const { playbook, rollback, inventory } = await exportRule('nft');
    assert.match(readFileSync(playbook, 'utf8'), /\n {12}validate: nft -c -f %s\n/);
    await exercise({
      dir, host, inventoryName: host.name, inventory, playbook, rollback,
      paths: [NFTABLES_CONF], keys: [],
      extra: { rule: ['sh', '-c', `nft list chain inet filter input | grep -c '${NFT_TAG_TEXT}'`] },
      preview: [/\n\+\t\tct state invalid counter drop comment "conntrack-doctor-invalid-drop"\n/, /"msg": "would run: nft insert rule inet filter input ct state invalid counter drop comment '\\"conntrack-doctor-invalid-drop\\"'"/],
      applied: async (b, a) => {
        assert.equal(b.extra['rule'], 'exit 1\n0\n');
        assert.equal(a.extra['rule'], 'exit 0\n1\n', 'one tagged rule');
        assert.equal(a.files[NFTABLES_CONF], conf.after, 'nftables.conf is what apply would write');
        assert.equal((await host.exec(['nft', '-c', '-f', NFTABLES_CONF])).code, 0);
        const chain = (await host.execOk(['nft', 'list', 'chain', 'inet', 'filter', 'input'])).split('\n').map((l) => l.trim());
        assert.ok(chain[chain.findIndex((l) => l.startsWith('type filter hook input')) + 1]?.includes(RULE_TAG), 'at the top of the chain');
        const now = await invalidFinding();
        assert.equal(now?.title, 'INVALID dropped by a rule');
        assert.deepEqual(now.fixes, [], 'no rule is asked for any more');
      },
      rolledBack: async (state) => {
        assert.equal(state.extra['rule'], 'exit 1\n0\n');
        assert.equal((await invalidFinding())?.severity, 'warning', 'the finding is back');
      },
    });
  });

  test('legacy iptables persisted by netfilter-persistent: the rule in INPUT, rules.v4 saved, restored byte for byte', async () => {
    const host = h.host;
    await host.backend('legacy');
    // A legacy-iptables host: no native nft table, no nftables.conf, rules in /etc/iptables.
    await host.execOk(['sh', '-c', `nft delete table inet filter && iptables -w -I INPUT 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT && mv ${NFTABLES_CONF} /etc/nftables.conf.off && mkdir -p /etc/iptables && iptables-save > ${RULES_V4}`]);
    const before = await invalidFinding();
    assert.deepEqual(before?.fixes.map((f) => f.title), ['Drop INVALID packets (iptables INPUT)'], JSON.stringify(before));
    const { playbook, rollback, inventory, stdout } = await exportRule('legacy');
    assert.match(stdout, /Files on each host: \/etc\/iptables\/rules\.v4\n/);
    await exercise({
      dir, host, inventoryName: host.name, inventory, playbook, rollback,
      paths: [RULES_V4], keys: [],
      extra: { rule: ['iptables-legacy', '-w', '-C', 'INPUT', ...SPEC], nft: ['sh', '-c', 'nft list ruleset | grep -c conntrack-doctor || true'] },
      preview: [/"msg": "would run: iptables -w -I INPUT 1 -m conntrack --ctstate INVALID -m comment --comment conntrack-doctor-invalid-drop -j DROP"/, /--- before: \/etc\/iptables\/rules\.v4\n/],
      applied: async (b, a) => {
        assert.match(b.extra['rule'] ?? '', /^exit 1\n/);
        assert.equal(a.extra['rule'], 'exit 0\n', 'the legacy backend has the rule');
        assert.equal(a.extra['nft'], 'exit 0\n0\n', 'not in the nft ruleset');
        const saved = a.files[RULES_V4] ?? '';
        assert.match(saved, new RegExp(`^-A INPUT ${SPEC.join(' ')}$`, 'm'));
        assert.doesNotMatch(saved, /^# (Generated|Completed)/m, 'no timestamps: a second run writes nothing');
        assert.match(saved, /^:OUTPUT ACCEPT \[0:0\]$/m);
        const restored = await host.exec(['sh', '-c', `iptables-legacy-restore --test < ${RULES_V4}`]);
        assert.equal(restored.code, 0, `the saved rules load: ${restored.stderr}`);
        assert.equal((await invalidFinding())?.title, 'INVALID dropped by a rule');
      },
      rolledBack: (state) => {
        assert.match(state.files[RULES_V4] ?? '', /^# Generated by iptables-save/, 'the file as it was, with its timestamps');
      },
    });
  });

  test('iptables-nft next to legacy tables: iptables-nft named explicitly, rules.v4 from iptables-nft-save', async () => {
    const host = h.host;
    await host.backend('nft');
    await host.execOk(['sh', '-c', `iptables-nft -w -I INPUT 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT && iptables-nft-save > ${RULES_V4}`]);
    const before = await invalidFinding();
    assert.deepEqual(before?.fixes.map((f) => f.title), ['Drop INVALID packets (iptables-nft INPUT)'], JSON.stringify(before));
    const { playbook, rollback, inventory } = await exportRule('iptables-nft');
    assert.match(readFileSync(playbook, 'utf8'), /argv: \[iptables-nft-save\]/);
    await exercise({
      dir, host, inventoryName: host.name, inventory, playbook, rollback,
      paths: [RULES_V4], keys: [],
      extra: { nftRule: ['iptables-nft', '-w', '-C', 'INPUT', ...SPEC], legacyRule: ['iptables-legacy', '-w', '-C', 'INPUT', ...SPEC] },
      preview: [/"msg": "would run: iptables-nft -w -I INPUT 1 /],
      applied: async (_b, a) => {
        assert.equal(a.extra['nftRule'], 'exit 0\n');
        assert.match(a.extra['legacyRule'] ?? '', /^exit 1\n/, 'not in the legacy backend');
        assert.match(a.files[RULES_V4] ?? '', new RegExp(`^-A INPUT ${SPEC.join(' ')}$`, 'm'));
        assert.equal((await invalidFinding())?.title, 'INVALID dropped by a rule');
      },
    });
  });
});
