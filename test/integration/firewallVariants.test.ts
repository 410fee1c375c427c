/**
 * Issue 12, variant 6: firewall backends. On an iptables-legacy-only host (`fw-legacy-only`: no
 * nft, no iptables-nft) the INVALID drop rule is offered for iptables, applied, and found again
 * in the legacy tables (read with the machine's iptables-legacy inside the host); with neither
 * nft nor iptables (`fw-none`) the finding says "no firewall tool found" and `apply` refuses
 * before anything runs. Both after an INVALID burst that has passed: the count since boot is an
 * info finding that says it is not current. On an nftables-only host (`fw-nft-only`: no iptables
 * programs) the rule is offered for nft, inserted into inet filter input and persisted in
 * /etc/nftables.conf; on an iptables-nft host (`fw-iptables-nft`) it goes through iptables (the
 * nft flavour) and is found with iptables-nft -S.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { diagnosisJsonSchema, type DiagnosisJson } from '../../src/core/host/diagnosis';
import { useHost, type TestHost } from '../../harness/host/testHost';
import { cli, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('fwvar');
const legacy = useHost(`itg${process.pid % 10000}`, { variants: ['fw-legacy-only'] });
const none = useHost(`itw${process.pid % 10000}`, { variants: ['fw-none'] });
const nftOnly = useHost(`itn${process.pid % 10000}`, { variants: ['fw-nft-only'] });
const iptNft = useHost(`itx${process.pid % 10000}`, { variants: ['fw-iptables-nft'] });
const NO_TOOL = 'no firewall tool found on this host (none of nft, iptables, iptables-nft, iptables-legacy is installed): a drop rule cannot be added';

async function invalidFinding(host: TestHost): Promise<DiagnosisJson['findings'][number]> {
  const r = await cli(['diagnose', host.name, '--ssh-config', writeSshConfig(dir, host), '--json', '--interval', '1']);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  const d = diagnosisJsonSchema.parse(JSON.parse(r.stdout));
  const f = d.findings.find((x) => x.code === 'invalid-packets');
  assert.ok(f, JSON.stringify(d.findings.map((x) => x.code)));
  assert.ok(d.rates && (d.rates.perSecond['invalid'] ?? 0) === 0, 'the burst has passed');
  return f;
}

describe('firewall backends', () => {
  before(async () => {
    for (const h of [legacy.host, none.host, nftOnly.host, iptNft.host]) {
      const r = await h.invalid(150);
      assert.ok(r.invalidAfter - r.invalidBefore >= 150, JSON.stringify(r));
    }
  });

  test('iptables-legacy only: "N INVALID since boot, none now" (info), the rule offered for iptables, applied and found in the legacy table', async () => {
    const f = await invalidFinding(legacy.host);
    assert.equal(f.severity, 'info');
    assert.match(f.title, /^\d[\d,]* INVALID since boot, none now$/);
    assert.deepEqual(f.fixes.map((x) => x.title), ['Drop INVALID packets (iptables INPUT)']);
    const r = await cli(['apply', legacy.host.name, 'invalid-drop-rule', '--ssh-config', writeSshConfig(dir, legacy.host), '--yes']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /No firewall persistence was found: the rule lasts until the next reboot/);
    const rules = await legacy.host.execOk(['iptables-legacy', '-S', 'INPUT']);
    assert.match(rules, /^-A INPUT -m conntrack --ctstate INVALID -m comment --comment conntrack-doctor-invalid-drop -j DROP$/m);
  });

  test('no firewall tool: the finding says so instead of offering a rule; apply refuses before anything runs', async () => {
    const f = await invalidFinding(none.host);
    assert.equal(f.severity, 'info');
    assert.deepEqual(f.fixes, []);
    assert.deepEqual(f.fixErrors, [NO_TOOL]);
    const r = await cli(['apply', none.host.name, 'invalid-drop-rule', '--ssh-config', writeSshConfig(dir, none.host), '--yes']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(NO_TOOL.replace(/[()]/g, '\\$&')));
  });

  test('nftables only (no iptables programs): the rule offered for nft, applied, in the live ruleset and persisted in /etc/nftables.conf', async () => {
    const f = await invalidFinding(nftOnly.host);
    assert.deepEqual(f.fixes.map((x) => x.title), ['Drop INVALID packets (nft inet filter input)']);
    const r = await cli(['apply', nftOnly.host.name, 'invalid-drop-rule', '--ssh-config', writeSshConfig(dir, nftOnly.host), '--yes']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Persist the rule as the first rule of chain input in \/etc\/nftables\.conf/);
    const live = await nftOnly.host.execOk(['nft', 'list', 'chain', 'inet', 'filter', 'input']);
    assert.match(live, /ct state invalid .*drop.*conntrack-doctor-invalid-drop|ct state invalid .*comment "conntrack-doctor-invalid-drop"/);
    const conf = await nftOnly.host.execOk(['cat', '/etc/nftables.conf']);
    assert.match(conf, /conntrack-doctor-invalid-drop/);
  });

  test('iptables-nft: the rule offered for iptables, applied through iptables-nft and found in its tables', async () => {
    const f = await invalidFinding(iptNft.host);
    // iptables here is iptables-nft (the alternative): the rule goes through it, into the ip filter table it manages.
    assert.deepEqual(f.fixes.map((x) => x.title), ['Drop INVALID packets (iptables INPUT)']);
    const r = await cli(['apply', iptNft.host.name, 'invalid-drop-rule', '--ssh-config', writeSshConfig(dir, iptNft.host), '--yes']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /No firewall persistence was found: the rule lasts until the next reboot/);
    const rules = await iptNft.host.execOk(['iptables-nft', '-S', 'INPUT']);
    assert.match(rules, /^-A INPUT -m conntrack --ctstate INVALID -m comment --comment conntrack-doctor-invalid-drop -j DROP$/m);
  });
});
