/** The on-host awk summary agrees with the client-side summariser, under mawk and busybox awk. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entrySummaryAwk, entrySummaryArgs, entryPageArgs, parseEntryPageOutput, parseEntrySummaryOutput } from '../../../src/core/host/entryScripts';
import { TIMEOUT_BUCKETS, summarizeEntries } from '../../../src/core/kernel/entrySummary';
import { parseConntrackTable } from '../../../src/core/kernel/conntrackTable';

const samples = join(__dirname, '../../fixtures/samples');

function viaAwk(awk: string[], input: string, topN = 10): ReturnType<typeof parseEntrySummaryOutput> {
  const r = spawnSync(awk[0] ?? 'awk', [...awk.slice(1), '-v', `TOPN=${topN}`, '-v', `NB=${TIMEOUT_BUCKETS.length}`, entrySummaryAwk()], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, `${awk.join(' ')}: ${r.stderr} ${String(r.error)} (run scripts/setup.sh to install busybox)`);
  return parseEntrySummaryOutput(r.stdout);
}

function viaClient(input: string, topN = 10): ReturnType<ReturnType<typeof summarizeEntries>['result']> {
  const s = summarizeEntries({ topN });
  for (const l of parseConntrackTable([input])) s.addLine(l);
  return s.result();
}

function comparable(x: ReturnType<typeof parseEntrySummaryOutput>): unknown {
  // Ties at the cut-off may be broken differently: compare the counts, and the keys strictly above the cut-off.
  const top = (t: typeof x.topSources): { counts: number[]; sure: Record<string, number> } => {
    const counts = t.items.map((i) => i.count).sort((a, b) => b - a);
    const cut = counts[counts.length - 1] ?? 0;
    return { counts, sure: Object.fromEntries(t.items.filter((i) => i.count > cut).map((i) => [i.key, i.count])) };
  };
  return {
    entries: x.entries, byProtocol: x.byProtocol, byTcpState: x.byTcpState, assured: x.assured, unreplied: x.unreplied,
    hist: x.timeoutHistogram.map((h) => h.count), src: top(x.topSources), dst: top(x.topDestinations), port: top(x.topDestinationPorts),
  };
}

function synthetic(): string {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(`ipv4     2 udp      17 ${i % 30} src=10.9.0.66 dst=10.9.0.1 sport=${10000 + i} dport=53 [UNREPLIED] src=10.9.0.1 dst=10.9.0.66 sport=53 dport=${10000 + i} mark=0 zone=0 use=2`);
  for (let i = 0; i < 700; i++) lines.push(`ipv4     2 tcp      6 ${431000 + i} ESTABLISHED src=10.9.1.${i % 7} dst=10.9.0.1 sport=${20000 + i} dport=443 src=10.9.0.1 dst=10.9.1.${i % 7} sport=443 dport=${20000 + i} [ASSURED] mark=0 zone=0 use=2`);
  for (let i = 0; i < 50; i++) lines.push(`ipv6     10 tcp      6 110 TIME_WAIT src=fd00::${i % 3 + 1} dst=fd00::99 sport=${30000 + i} dport=22 src=fd00::99 dst=fd00::${i % 3 + 1} sport=22 dport=${30000 + i} [ASSURED] mark=0 zone=0 use=2`);
  lines.push('ipv4     2 icmp     1 29 src=10.9.0.5 dst=10.9.0.1 type=8 code=0 id=7 src=10.9.0.1 dst=10.9.0.5 type=0 code=0 id=7 mark=0 zone=0 use=2');
  lines.push('garbage line that is not an entry');
  return `${lines.join('\n')}\n`;
}

for (const awk of [['awk'], ['busybox', 'awk']]) {
  test(`${awk.join(' ')}: same summary as the client on a real /proc/net/nf_conntrack capture`, () => {
    const input = readFileSync(join(samples, 'proc_net_nf_conntrack.txt'), 'utf8');
    assert.deepEqual(comparable(viaAwk(awk, input)), comparable(viaClient(input)));
  });
  test(`${awk.join(' ')}: same summary on a real conntrack -L capture and on a synthetic flood`, () => {
    const input = readFileSync(join(samples, 'conntrack_-L.txt'), 'utf8');
    assert.deepEqual(comparable(viaAwk(awk, input)), comparable(viaClient(input)));
    const flood = synthetic();
    const a = viaAwk(awk, flood, 3);
    assert.deepEqual(comparable(a), comparable(viaClient(flood, 3)));
    assert.equal(a.topSources.items[0]?.key, '10.9.0.66');
    assert.equal(a.topSources.items[0]?.count, 3000);
    assert.equal(a.malformedLines, 1);
    assert.equal(a.topDestinationPorts.items[0]?.key, 'udp/53');
  });
}

test('arguments are validated before a command is built', () => {
  assert.deepEqual(entrySummaryArgs(10, { src: '10.0.0.1', proto: 'tcp', dport: 443 }), ['10', '-f', 'ipv4', '-p', 'tcp', '--orig-src', '10.0.0.1', '--orig-port-dst', '443']);
  assert.throws(() => entrySummaryArgs(0));
  assert.throws(() => entrySummaryArgs(10, { src: '10.0.0.1; reboot' }));
  assert.throws(() => entryPageArgs(-1, 10));
  assert.deepEqual(entryPageArgs(100, 50, { state: 'ESTABLISHED', proto: 'tcp' }), ['100', '50', '-p', 'tcp', '--state', 'ESTABLISHED']);
});

test('an empty or failed listing is an error, not a summary of zeros', () => {
  assert.throws(() => parseEntrySummaryOutput(''), /no totals/);
});

test('a page of entries: the entry lines, the total and conntrack\'s own exit status; a failure in conntrack\'s words', () => {
  const lines = readFileSync(join(__dirname, '../../fixtures/samples/conntrack_-L_-o_extended.txt'), 'utf8').split('\n').filter((l) => /^ipv[46] /.test(l)).slice(0, 3);
  const page = parseEntryPageOutput(`${lines.join('\n')}\nnot an entry\n@@total 212\n@@rc 0\n`, 'conntrack v1.4.7 (conntrack-tools): 212 flow entries have been shown.\n', 0);
  assert.ok(page.ok);
  assert.equal(page.page.entries.length, 3);
  assert.equal(page.page.total, 212);
  assert.equal(page.page.unparsed, 1);
  const failed = parseEntryPageOutput('@@total 0\n@@rc 1\n', 'conntrack v1.4.7 (conntrack-tools): Operation not permitted\n', 0);
  assert.deepEqual(failed, { ok: false, why: 'conntrack exit 1: conntrack v1.4.7 (conntrack-tools): Operation not permitted' });
  assert.equal(parseEntryPageOutput('', '', 2).ok, false, 'no status line at all is a failure');
  // stopped before listing: the script's reason code travels with the words
  assert.deepEqual(parseEntryPageOutput('', '@@error program-missing browsing the entries needs the conntrack program, which is not installed\n', 3), { ok: false, code: 'program-missing', why: 'browsing the entries needs the conntrack program, which is not installed' });
});
