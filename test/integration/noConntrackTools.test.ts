/**
 * Issue 12, variant 2: a host without conntrack-tools (variant `no-conntrack-tools`: no
 * `conntrack` program, no conntrack package in dpkg's status), as root. Counters come from
 * /proc/net/stat/nf_conntrack and the entry summary from /proc/net/nf_conntrack; the missing
 * program is said once with the host's own install command (from /etc/os-release); the fixes that
 * run it (delete-entries, flush-table) are refused before anything runs on the host.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { diagnosisJsonSchema } from '../../src/core/host/diagnosis';
import { useHost } from '../../harness/host/testHost';
import { cli, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('noct');
const h = useHost(`itn${process.pid % 10000}`, { variants: ['no-conntrack-tools'] });
const SOURCE = '198.18.7.7';
const INSTALL = 'install it: apt-get install conntrack (Debian GNU/Linux 12 (bookworm))';

describe('a host without the conntrack program', () => {
  before(async () => {
    await h.host.fill({ assured: 1500 });
    await h.host.fill({ unreplied: 600, src: SOURCE });
  });

  test('the host has no conntrack (the premise, seen by root over SSH)', async () => {
    const r = await h.host.ssh('root', 'command -v conntrack; echo "exit $?"; dpkg -s conntrack 2>&1 | head -n 1');
    assert.match(r.stdout, /^exit 1\n.*(not installed|is not installed)/m, r.stdout);
  });

  test('diagnose --json: procfs counters, the program missing with the host\'s install command, nothing else missing', async () => {
    const host = h.host;
    const r = await cli(['diagnose', host.name, '--ssh-config', writeSshConfig(dir, host), '--json', '--interval', '0']);
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
    const d = diagnosisJsonSchema.parse(JSON.parse(r.stdout));
    assert.equal(d.counterSource, 'procfs');
    assert.ok(d.counters && d.counters['invalid'] !== undefined && d.counters['drop'] !== undefined);
    assert.ok((d.usage.count ?? 0) >= 2100, JSON.stringify(d.usage));
    const byWhat = new Map(d.unavailable.map((u) => [u.what, u]));
    assert.deepEqual([...byWhat.keys()].sort(), ['conntrack tool', 'netlink counters (conntrack -S)'], JSON.stringify(d.unavailable));
    for (const u of byWhat.values()) {
      assert.equal(u.code, 'program-missing');
      assert.equal(u.remedy, INSTALL);
    }
    assert.match(byWhat.get('conntrack tool')?.why ?? '', /deleting entries and flushing the table need the program/);
    // The entry summary (from /proc/net/nf_conntrack) saw the flood: stale-entries names its source.
    const stale = d.findings.find((f) => f.cause === 'stale-entries');
    assert.ok(stale, JSON.stringify(d.findings.map((f) => f.code)));
    assert.ok(stale.evidence.some((e) => e.value.includes(SOURCE)) || stale.title.includes(SOURCE) || stale.detail.includes(SOURCE), JSON.stringify(stale));
  });

  test('entries --json: the summary from /proc/net/nf_conntrack matches the kernel\'s count', async () => {
    const host = h.host;
    const r = await cli(['entries', host.name, '--ssh-config', writeSshConfig(dir, host), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { entries: number; unreplied: number; topSources: { items: { key: string; count: number }[] } };
    const count = await h.host.conntrackCount();
    assert.ok(Math.abs(summary.entries - count) < 20, `${summary.entries} vs the kernel's ${count}`);
    assert.ok(summary.unreplied >= 600);
    assert.equal(summary.topSources.items[0]?.key, SOURCE);
  });

  test('delete-entries and flush-table say the program is missing and how to install it; nothing runs', async () => {
    const host = h.host;
    const config = writeSshConfig(dir, host);
    const before = await h.host.conntrackCount();
    for (const args of [['delete-entries', '--src', SOURCE], ['flush-table']]) {
      const r = await cli(['apply', host.name, ...args, '--ssh-config', config, '--yes', '-v']);
      assert.equal(r.code, 2, `${args[0]}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${args[0]} runs the conntrack program, which is not installed on this host; install it: apt-get install conntrack .*nothing was changed`));
      assert.doesNotMatch(r.stderr, /\bconntrack -[LDF]\b/, 'no conntrack command was run');
    }
    assert.ok(await h.host.conntrackCount() >= before - 5, 'the table was not emptied');
  });
});
