/**
 * Issue 12, variant 7: a German locale (`locale-de`: LANG=de_DE.UTF-8 for every SSH session, so
 * the host's tools translate), IPv6 entries, and entries with zone=, mark= and labels. Everything
 * parsed runs under LC_ALL=C: the diagnosis is complete (nothing unavailable), the entry summary
 * counts IPv6, and every listed entry parses, with its zone and mark.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { diagnosisJsonSchema } from '../../src/core/host/diagnosis';
import { useHost } from '../../harness/host/testHost';
import { cli, scratchDir, writeSshConfig } from './helpers';

const dir = scratchDir('locale');
const h = useHost(`itd${process.pid % 10000}`, { variants: ['locale-de'] });

describe('a host in a German locale with quirky entries', () => {
  before(async () => {
    // the premise: the host's tools speak German to an SSH session
    const r = await h.host.ssh('root', 'echo "$LANG"; ls /nonexistent 2>&1; true');
    assert.match(r.stdout, /^de_DE\.UTF-8\n.*Datei oder Verzeichnis nicht gefunden/, r.stdout);
  });

  test('diagnose --json: complete — usage, netlink counters, timeouts, nothing unavailable', async () => {
    const r = await cli(['diagnose', h.host.name, '--ssh-config', writeSshConfig(dir, h.host), '--json', '--interval', '1']);
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
    const d = diagnosisJsonSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(d.unavailable, []);
    assert.equal(d.counterSource, 'netlink');
    assert.ok(d.rates);
    assert.ok(d.timeouts.length > 10 && d.timeouts.every((t) => t.value !== undefined));
    assert.ok((d.usage.count ?? 0) >= 300);
  });

  test('entries: every line parses; IPv6 counted; zone= and mark= read', async () => {
    const quirks = h.host.info.quirks;
    assert.ok(quirks);
    const s = await cli(['entries', h.host.name, '--ssh-config', writeSshConfig(dir, h.host), '--json']);
    assert.equal(s.code, 0, s.stderr);
    const summary = JSON.parse(s.stdout) as { entries: number; malformedLines: number; byL3: Record<string, number> };
    assert.equal(summary.malformedLines, 0);
    assert.ok((summary.byL3['ipv6'] ?? 0) >= 300, JSON.stringify(summary.byL3));
    const l = await cli(['entries', h.host.name, '--ssh-config', writeSshConfig(dir, h.host), '--list', '--limit', '5000', '--json']);
    assert.equal(l.code, 0, l.stderr);
    const page = JSON.parse(l.stdout) as { total: number; unparsed: number; entries: { l3: string; zone?: number; mark?: number; orig: { src: string } }[] };
    assert.equal(page.unparsed, 0);
    assert.equal(page.entries.length, page.total);
    const prefix = (net: string): string => net.replace(/\.0(\/\d+)?$/, '.');
    const zoned = page.entries.filter((e) => e.orig.src.startsWith(prefix(quirks.zone.clients)));
    assert.ok(zoned.length > 0 && zoned.every((e) => e.zone === quirks.zone.zone), JSON.stringify(zoned.slice(0, 2)));
    const marked = page.entries.filter((e) => e.orig.src.startsWith(prefix(quirks.mark.clients)));
    assert.ok(marked.length > 0 && marked.every((e) => e.mark === quirks.mark.mark), JSON.stringify(marked.slice(0, 2)));
    assert.ok(page.entries.filter((e) => e.l3 === 'ipv6').length >= 300);
  });
});
