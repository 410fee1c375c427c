/**
 * Issue 12, variant 4: connection tracking not in use (variant `no-conntrack`: no nf_conntrack
 * sysctls, /proc files or /sys/module entry; nfnetlink unavailable, so `conntrack` crashes).
 * `diagnose --json` as root gives a healthy, clear answer — one `conntrack-inactive` item, no
 * errors, no unknown-key noise — while a sysctl file that sets net.netfilter.* keys still gets its
 * boot-persistence finding (at boot those keys are skipped until the module is loaded).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { diagnosisJsonSchema } from '../../src/core/host/diagnosis';
import { useHost } from '../../harness/host/testHost';
import { cli, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('inactive');
const h = useHost(`iti${process.pid % 10000}`, { variants: ['no-conntrack'] });
const FILE = '/etc/sysctl.d/90-conntrack.conf';

async function diagnose(): Promise<{ code: number; json: ReturnType<typeof diagnosisJsonSchema.parse>; stdout: string }> {
  const host = h.host;
  const r = await cli(['diagnose', host.name, '--ssh-config', writeSshConfig(dir, host), '--json', '--interval', '1']);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code} (a diagnosis, not a host error): ${r.stderr}`);
  return { code: r.code, json: diagnosisJsonSchema.parse(JSON.parse(r.stdout)), stdout: r.stdout };
}

describe('a host without connection tracking', () => {
  before(async () => {
    // the premise, seen from inside the host: no sysctls, no module directory
    const r = await h.host.exec(['sh', '-c', 'ls /proc/sys/net/netfilter/; test -d /sys/module/nf_conntrack; echo "module $?"']);
    assert.doesNotMatch(r.stdout, /nf_conntrack_/, r.stdout);
    assert.match(r.stdout, /module 1/);
  });

  test('diagnose --json: "not active", healthy, exit 0, one conntrack-inactive item and nothing else missing', async () => {
    const { code, json: d } = await diagnose();
    assert.equal(code, 0);
    assert.deepEqual(d.usage, { level: 'ok', active: false });
    assert.deepEqual(d.findings, [], JSON.stringify(d.findings));
    assert.equal(d.counters, null);
    assert.deepEqual(d.unavailable.map((u) => [u.code, u.what]), [['conntrack-inactive', 'connection tracking']], JSON.stringify(d.unavailable));
    assert.match(d.unavailable[0]?.why ?? '', /^connection tracking is not active on this host/);
  });

  test('a file setting net.netfilter keys: boot-persistence, and no unknown-key noise', async () => {
    await h.host.execOk(['sh', '-c', `printf 'net.netfilter.nf_conntrack_max = 524288\\nnet.netfilter.nf_conntrack_tcp_timeout_established = 3600\\n' > ${FILE}`]);
    const { code, json: d } = await diagnose();
    assert.equal(code, 1, 'the finding is a warning');
    assert.deepEqual(d.findings.map((f) => f.code), ['module-not-loaded-at-boot'], JSON.stringify(d.findings.map((f) => [f.code, f.title])));
    const boot = d.findings[0];
    assert.ok(boot?.evidence.some((e) => e.value === `${FILE}:1`), JSON.stringify(boot?.evidence));
    assert.deepEqual(boot?.fixes.map((f) => f.id), ['load-module-at-boot']);
    assert.equal(d.usage.active, false);
  });

  test('entries --list: refused with the reason code, before conntrack runs (it would crash without nfnetlink)', async () => {
    const host = h.host;
    const r = await cli(['entries', host.name, '--ssh-config', writeSshConfig(dir, host), '--list']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /listing the entries is not available on .*: connection tracking is not active on this host .*\[conntrack-inactive\]/);
  });

  test('the text report says it in words', async () => {
    const host = h.host;
    const r = await cli(['diagnose', host.name, '--ssh-config', writeSshConfig(dir, host), '--interval', '0']);
    assert.match(r.stdout, /^ {2}usage {5}connection tracking is not active on this host$/m, r.stdout);
    assert.doesNotMatch(r.stdout, /counters {2}unavailable|unknown-key/);
  });
});
