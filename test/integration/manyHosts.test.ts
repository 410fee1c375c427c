/**
 * `diagnose HOST…`: many hosts at once. Two real test hosts (one healthy, one with a dominant
 * source, legacy and nft firewalls both active) and one target that cannot be reached, in one command: an overview table (worst first,
 * the unreachable one named with its reason), each host's report, JSON for scripts, and an exit
 * status that says the worst of it. Counts are checked against each host's own `conntrack -C`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fleetJsonSchema } from '../../src/core/host/diagnosis';
import { useHost } from '../../harness/host/testHost';
import { cli, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('many');
const busy = useHost(`itm${process.pid % 10000}a`);
const calm = useHost(`itm${process.pid % 10000}b`);

function config(): string {
  const file = join(dir, 'ssh_config');
  const parts = [writeSshConfig(dir, busy.host, { alias: 'busy' }), writeSshConfig(dir, calm.host, { alias: 'calm' })].map((f) => readFileSync(f, 'utf8'));
  // A host nobody answers for: a closed port on this machine's loopback.
  parts.push(['Host gone', '  HostName 127.0.0.1', '  Port 1', '  User root', '  StrictHostKeyChecking yes', ''].join('\n'));
  writeFileSync(file, parts.join('\n'));
  return file;
}

describe('diagnose many hosts at once', () => {
  test('an overview table worst first, every report, exit 3 because one host could not be diagnosed', async () => {
    // legacy iptables tables next to nftables: a warning at any usage
    await busy.host.fill({ unreplied: 3000, src: '198.18.66.66' });
    await busy.host.mix();
    const cfg = config();
    const r = await cli(['diagnose', 'calm', 'gone', 'busy', '--ssh-config', cfg, '--interval', '0'], { timeoutMs: 180_000 });
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.split('\n');
    assert.match(lines[0] ?? '', /^HOST\s+USAGE\s+ENTRIES \/ MAX\s+FINDINGS$/);
    // worst first: the unreachable host, then the one with findings, then the healthy one
    assert.match(lines[1] ?? '', /^gone\s+-\s+-\s+not diagnosed: .*(refused|ECONNREFUSED)/i);
    assert.match(lines[2] ?? '', /^busy\s+[\d.]+ %\s+[\d,]+ \/ [\d,]+\s+\d+ warning.*iptables-backend/, r.stdout);
    assert.match(lines[3] ?? '', /^calm\s+[\d.]+ %\s+[\d,]+ \/ [\d,]+\s+ok$/);
    assert.match(lines[4] ?? '', /^3 host\(s\): 1 with findings, 1 not diagnosed, 1 ok$/);
    // the entry counts are each host's own
    for (const [alias, host] of [['busy', busy.host], ['calm', calm.host]] as const) {
      const shown = Number(new RegExp(`^${alias}\\s+[\\d.]+ %\\s+([\\d,]+) /`, 'm').exec(r.stdout)?.[1]?.replace(/,/g, ''));
      const count = await host.conntrackCount();
      assert.ok(Math.abs(shown - count) <= 5, `${alias}: shown ${shown}, conntrack -C ${count}`);
    }
    assert.match(r.stdout, /\n== busy\nConntrack on busy\n/);
    assert.match(r.stdout, /\n== calm\nConntrack on calm\n/);
    assert.doesNotMatch(r.stdout, /\n== gone\n/);
  });

  test('--json: one object per host, in the order given; --summary without unreachable hosts exits 1', async () => {
    const cfg = config();
    const r = await cli(['diagnose', 'busy', 'gone', '--ssh-config', cfg, '--interval', '0', '--json', '--parallel', '1'], { timeoutMs: 180_000 });
    assert.equal(r.code, 3, r.stderr);
    const rows = fleetJsonSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(rows.map((x) => x.target), ['busy', 'gone']);
    const [busy, gone] = rows;
    assert.ok(busy && 'diagnosis' in busy && (busy.diagnosis.usage.count ?? 0) > 0, JSON.stringify(busy));
    assert.ok(gone && 'error' in gone && gone.error !== '', JSON.stringify(gone));
    const s = await cli(['diagnose', 'busy', 'calm', '--ssh-config', cfg, '--interval', '0', '--summary'], { timeoutMs: 180_000 });
    assert.equal(s.code, 1, s.stderr);
    assert.doesNotMatch(s.stdout, /Conntrack on /);
    assert.match(s.stdout, /2 host\(s\): 1 with findings, 0 not diagnosed, 1 ok/);
  });

  test('--all takes every host of the ssh config; a bad --parallel is a usage error before any connection', async () => {
    const cfg = config();
    const bad = await cli(['diagnose', '--all', '--ssh-config', cfg, '--parallel', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--parallel/);
    const r = await cli(['diagnose', '--all', '--ssh-config', cfg, '--interval', '0', '--summary'], { timeoutMs: 180_000 });
    assert.equal(r.code, 3, r.stderr);
    for (const alias of ['busy', 'calm', 'gone']) assert.match(r.stdout, new RegExp(`^${alias}\\s`, 'm'));
  });
});
