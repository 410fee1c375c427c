/**
 * Issue 12, variant 3: a kernel without CONFIG_NF_CONNTRACK_PROCFS (variant `no-procfs`: no
 * /proc/net/nf_conntrack, no /proc/net/stat/nf_conntrack for any process of the host). Counters
 * and entries then come from `conntrack` (netlink); on a host that also lacks the program
 * (`no-conntrack-tools,no-procfs`) the diagnosis says exactly that: each gap `program-missing`,
 * naming the missing procfs files, with the host's install command — and still the usage.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { diagnosisJsonSchema, type DiagnosisJson } from '../../src/core/host/diagnosis';
import { useHost, type TestHost } from '../../harness/host/testHost';
import { cli, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('noprocfs');
const netlinkOnly = useHost(`itp${process.pid % 10000}`, { variants: ['no-procfs'] });
const neither = useHost(`itq${process.pid % 10000}`, { variants: ['no-conntrack-tools', 'no-procfs'] });
const FILLED = 900;
const INSTALL = 'install it: apt-get install conntrack (Debian GNU/Linux 12 (bookworm))';

async function diagnose(host: TestHost, interval: string): Promise<DiagnosisJson> {
  const r = await cli(['diagnose', host.name, '--ssh-config', writeSshConfig(dir, host), '--json', '--interval', interval]);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code} (a diagnosis, not a host error): ${r.stderr}`);
  return diagnosisJsonSchema.parse(JSON.parse(r.stdout));
}

describe('a kernel without the conntrack procfs files', () => {
  before(async () => {
    for (const h of [netlinkOnly.host, neither.host]) {
      await h.fill({ assured: FILLED });
      // the premise, as root over SSH: the files are absent
      const r = await h.ssh('root', 'ls /proc/net/nf_conntrack /proc/net/stat/nf_conntrack 2>&1; true');
      assert.equal((r.stdout.match(/No such file or directory/g) ?? []).length, 2, r.stdout);
    }
  });

  test('with conntrack: counters (with rates) and the entry summary over netlink, nothing unavailable', async () => {
    const d = await diagnose(netlinkOnly.host, '1');
    assert.equal(d.counterSource, 'netlink');
    const kernel = await netlinkOnly.host.conntrackStats();
    assert.ok(d.counters && d.counters['insert'] !== undefined && (d.counters['invalid'] ?? Infinity) <= (kernel['invalid'] ?? 0), `${JSON.stringify(d.counters)} vs ${JSON.stringify(kernel)}`);
    assert.ok(d.rates, 'two snapshots: rates');
    assert.deepEqual(d.unavailable, []);
    const r = await cli(['entries', netlinkOnly.host.name, '--ssh-config', writeSshConfig(dir, netlinkOnly.host), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { entries: number; assured: number };
    const count = await netlinkOnly.host.conntrackCount();
    assert.ok(summary.entries >= FILLED && Math.abs(summary.entries - count) < 20, `${summary.entries} vs the kernel's ${count}`);
  });

  test('with neither: the usage, and each gap says the program is missing and the kernel has no procfs files', async () => {
    const d = await diagnose(neither.host, '0');
    const count = await neither.host.conntrackCount();
    assert.ok(d.usage.count !== undefined && Math.abs(d.usage.count - count) < 20, `${d.usage.count} vs ${count}`);
    assert.equal(d.counters, null);
    const byWhat = new Map(d.unavailable.map((u) => [u.what, u]));
    assert.deepEqual([...byWhat.keys()].sort(), ['conntrack tool', 'entry summary', 'per-CPU counters (drop, early_drop, insert_failed, invalid…)'], JSON.stringify(d.unavailable));
    for (const u of byWhat.values()) {
      assert.equal(u.code, 'program-missing', u.what);
      assert.equal(u.remedy, INSTALL, u.what);
    }
    assert.match(byWhat.get('per-CPU counters (drop, early_drop, insert_failed, invalid…)')?.why ?? '', /conntrack tool is not installed, and \/proc\/net\/stat\/nf_conntrack is absent \(kernel without CONFIG_NF_CONNTRACK_PROCFS\)/);
    assert.match(byWhat.get('entry summary')?.why ?? '', /conntrack program is not installed and this kernel has no \/proc\/net\/nf_conntrack/);
  });
});
