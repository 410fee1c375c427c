/**
 * Issue 12, variant 6: firewall backends. On an iptables-legacy-only host (`fw-legacy-only`: no
 * nft, no iptables-nft) the INVALID drop rule is offered for iptables, applied, and found again
 * in the legacy tables (read with the machine's iptables-legacy inside the host); with neither
 * nft nor iptables (`fw-none`) the finding says "no firewall tool found" and `apply` refuses
 * before anything runs. Both after an INVALID burst that has passed: the count since boot is an
 * info finding that says it is not current.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { diagnosisJsonSchema, type DiagnosisJson } from '../../src/core/host/diagnosis';
import { useHost, type TestHost } from '../../harness/host/testHost';
import { cli, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('fwvar');
const legacy = useHost(`itg${process.pid % 10000}`, { variants: ['fw-legacy-only'] });
const none = useHost(`itw${process.pid % 10000}`, { variants: ['fw-none'] });
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
    for (const h of [legacy.host, none.host]) {
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
});
