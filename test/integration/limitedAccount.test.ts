/**
 * Issue 12, variant 1: an account without root. `audit` (sudo asks a password) and `guest` (no
 * sudo rights; variant `nopriv`) run the built CLI as a script does — stdin a pipe, no
 * terminal. Before issue 12 both got exit 3 and nothing ("sudo needs a password and none was
 * given"); now the diagnosis holds what any user may read, and `unavailable` says what needs
 * root (code `needs-root`) and how to get it. The numbers are checked against the kernel's
 * (netExec: the host's netns, the machine's tools).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { diagnosisJsonSchema, type DiagnosisJson } from '../../src/core/host/diagnosis';
import { useHost, type HostUser } from '../../harness/host/testHost';
import { MAX_PATH, cli, machineSysctl, openSession, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('limited');
const h = useHost(`itl${process.pid % 10000}`, { variants: ['nopriv'] });
const FILLED = 2000;

async function diagnoseAs(user: HostUser, extra: readonly string[] = []): Promise<{ code: number; json: DiagnosisJson; stderr: string }> {
  const host = h.host;
  const r = await cli(['diagnose', host.name, '--ssh-config', writeSshConfig(dir, host, { user, alias: `${host.name}-${user}` }), '--json', ...extra].map((a) => (a === host.name ? `${host.name}-${user}` : a)));
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code} (a diagnosis, not a host error): ${r.stderr}`);
  return { code: r.code, json: diagnosisJsonSchema.parse(JSON.parse(r.stdout)), stderr: r.stderr };
}

function item(d: DiagnosisJson, what: string): DiagnosisJson['unavailable'][number] {
  const u = d.unavailable.find((x) => x.what === what);
  assert.ok(u, `no unavailable item "${what}": ${JSON.stringify(d.unavailable)}`);
  return u;
}

describe('an account without root, no terminal', () => {
  before(async () => {
    await h.host.fill({ assured: FILLED });
  });

  test('audit (sudo needs a password), no --sudo: what any user may read, and what needs root with the way to get it', async () => {
    const { code, json: d } = await diagnoseAs('audit', ['--interval', '1']);
    const count = await h.host.conntrackCount();
    // The SSH connections of the CLI and of netExec add a few entries around the fill.
    assert.ok(d.usage.count !== undefined && d.usage.count >= FILLED && Math.abs(d.usage.count - count) < 20, `count ${d.usage.count} vs the kernel's ${count}`);
    assert.equal(d.usage.max, machineSysctl(MAX_PATH));
    assert.ok(d.usage.buckets !== undefined && d.usage.buckets > 0);
    assert.equal(d.usage.level, 'ok');
    assert.ok(d.timeouts.some((t) => t.key === 'net.netfilter.nf_conntrack_tcp_timeout_established' && t.value !== undefined), 'timeouts are readable by any user');
    assert.equal(d.counterSource, 'procfs', 'counters from /proc/net/stat/nf_conntrack (world-readable)');
    assert.ok(d.counters && d.counters['invalid'] !== undefined);
    assert.ok(d.rates, 'two snapshots: rates (the second snapshot runs unprivileged too, without asking again)');
    const root = item(d, 'root');
    assert.equal(root.code, 'needs-root');
    assert.match(root.why, /^audit@[\d.]+:22 is not root and sudo was not used \(.*sudo needs a password and none was given\)/);
    assert.match(root.remedy ?? '', /--sudo on a terminal .*audit's sudo password/);
    for (const what of ['netlink counters (conntrack -S)', 'entry size (/proc/slabinfo)', 'firewall rules (nft list ruleset, iptables-save)', 'entry summary']) {
      const u = item(d, what);
      assert.equal(u.code, 'needs-root', what);
      assert.equal(u.remedy, root.remedy, `${what}: the way to get root`);
    }
    assert.match(item(d, 'entry summary').why, /listing the entries needs root/, 'the summary says why, not "0 entries"');
    assert.equal(code, d.findings.some((f) => f.severity !== 'info') ? 1 : 0, 'exit status: the diagnosis\'s');
  });

  test('audit with --sudo but no terminal to ask on: the same limited diagnosis, not a host error', async () => {
    const { json: d } = await diagnoseAs('audit', ['--sudo', '--interval', '0']);
    assert.equal(item(d, 'root').code, 'needs-root');
    assert.equal(d.counterSource, 'procfs');
  });

  test('guest (no sudo rights): the same; the text report names each gap with its code and remedy', async () => {
    const { json: d } = await diagnoseAs('guest', ['--interval', '0']);
    assert.equal(item(d, 'root').code, 'needs-root');
    assert.ok(d.usage.count !== undefined && d.usage.count >= FILLED);
    const host = h.host;
    const r = await cli(['diagnose', `${host.name}-guest`, '--ssh-config', writeSshConfig(dir, host, { user: 'guest', alias: `${host.name}-guest` }), '--interval', '0']);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.match(r.stdout, /Not available:\n {2}- root: guest@[\d.]+:22 is not root .* \[needs-root\]\n {6}how: run diagnose with --sudo on a terminal/);
    assert.match(r.stdout, /- entry summary: listing the entries needs root .*\[needs-root\]/);
  });

  test('the product\'s API: a refused sudo is remembered (asked once), retryAsRoot asks again', async () => {
    let asked = 0;
    const s = await openSession(dir, h.host, { user: 'audit', alias: `${h.host.name}-api`, prompt: () => { asked++; return Promise.resolve(undefined); } });
    try {
      const first = await s.session.snapshot({ entries: false });
      const second = await s.session.snapshot({ entries: false });
      assert.equal(asked, 1);
      assert.match(s.session.limitedBy ?? '', /none was given/);
      for (const snap of [first, second]) assert.equal(snap.unavailable?.[0]?.what, 'root');
      assert.ok(!s.log.slice(-1)[0]?.privileged, 'the second snapshot ran unprivileged');
      s.session.retryAsRoot();
      await s.session.snapshot({ entries: false });
      assert.equal(asked, 2);
    } finally {
      await s.session.close();
    }
  });
});
