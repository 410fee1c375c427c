/** What each fix frees (core/host/impact.ts), from exact and sampled entry summaries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixImpact, estimateCount } from '../../../src/core/host/impact';
import { buildHostFix } from '../../../src/core/host/fixes';
import { diagnose } from '../../../src/core/host/diagnose';
import { diagnosisJson, diagnosisJsonSchema } from '../../../src/core/host/diagnosis';
import { renderDiagnosis } from '../../../src/core/host/report';
import { renderPreview } from '../../../src/core/fix/preview';
import { parseSnapshot, type HostSnapshot } from '../../../src/core/host/snapshot';
import { entrySummaryAwk, parseEntrySummaryOutput } from '../../../src/core/host/entryScripts';
import { IDLE_EDGES, TIMEOUT_BUCKETS, type EntrySummary } from '../../../src/core/kernel/entrySummary';
import { wilsonInterval } from '../../../src/core/sampling';
import { parseConntrackStats } from '../../../src/core/kernel/conntrackStats';

const EST = 'net.netfilter.nf_conntrack_tcp_timeout_established';

/** A listing line of an ESTABLISHED entry with `left` seconds on its timer. */
const estLine = (i: number, left: number, src = '198.18.0.1'): string =>
  `ipv4     2 tcp      6 ${left} ESTABLISHED src=${src} dst=198.19.0.1 sport=${1024 + i} dport=443 src=198.19.0.1 dst=${src} sport=443 dport=${1024 + i} [ASSURED] mark=0 use=1`;

/** Runs the on-host awk (mawk and busybox awk) over a listing, with the host's timeouts from a temp dir. */
function onHost(lines: readonly string[], timeouts: Record<string, number>, awk: readonly string[] = ['mawk'], sample?: number): EntrySummary {
  const dir = mkdtempSync(join(tmpdir(), 'ctd-impact-'));
  try {
    for (const [k, v] of Object.entries(timeouts)) writeFileSync(join(dir, `nf_conntrack_${k}`), `${v}\n`);
    const r = spawnSync(awk[0] ?? 'mawk', [...awk.slice(1), '-v', 'TOPN=5', '-v', `NB=${TIMEOUT_BUCKETS.length}`, '-v', `CFGDIR=${dir}/`, entrySummaryAwk()], { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
    assert.equal(r.status, 0, `${awk.join(' ')}: ${r.stderr} ${String(r.error)} (run scripts/setup.sh to install busybox)`);
    return parseEntrySummaryOutput(r.stdout, sample);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function host(over: Partial<HostSnapshot> = {}): HostSnapshot {
  return parseSnapshot({
    takenAt: 1_000_000,
    host: 'web-1',
    initialNetns: true,
    sysctl: { [EST]: '432000', 'net.netfilter.nf_conntrack_tcp_loose': '1', 'net.netfilter.nf_conntrack_max': '262144' },
    count: 100,
    max: 262144,
    buckets: 262144,
    slabObjSize: 256,
    memTotalBytes: 8 * 1024 ** 3,
    cpus: 2,
    conntrackModule: 'builtin',
    ...over,
  });
}

test('the on-host summary histograms idle time (configured − left) per timeout class, the same under mawk and busybox awk', () => {
  // idle 5 s, 1 h 30 min, 2 days; one armed under a longer earlier setting (more left than configured)
  const lines = [estLine(1, 431995), estLine(2, 432000 - 5400), estLine(3, 432000 - 172800), estLine(4, 500000)];
  const byAwk = ['mawk', 'busybox awk'].map((a) => onHost(lines, { tcp_timeout_established: 432000 }, a.split(' ')).idleHistogram);
  assert.deepEqual(byAwk[0], byAwk[1]);
  const row = byAwk[0]?.find((r) => r.key === 'tcp_timeout_established');
  assert.ok(row);
  assert.equal(row.configured, 432000);
  assert.equal(row.armedEarlier, 1);
  const at = (min: number): number => row.buckets.find((b) => b.minSeconds === min)?.count ?? -1;
  assert.equal(at(0), 1);
  assert.equal(at(3600), 1);
  assert.equal(at(172800), 1);
  assert.equal(row.buckets.length, IDLE_EDGES.length);
  assert.equal(row.buckets.reduce((a, b) => a + b.count, 0), 3);
  // the program travels inside single quotes of a shell command line
  assert.ok(!entrySummaryAwk().includes("'"), 'no single quote in the awk program');
});

test('a class whose timeout cannot be read is left out, and without CFGDIR there is no idle histogram at all', () => {
  const s = onHost([estLine(1, 100)], {});
  assert.equal(s.idleHistogram, undefined);
  const r = spawnSync('mawk', ['-v', 'TOPN=5', '-v', `NB=${TIMEOUT_BUCKETS.length}`, entrySummaryAwk()], { input: `${estLine(1, 100)}\n`, encoding: 'utf8' });
  assert.equal(parseEntrySummaryOutput(r.stdout).idleHistogram, undefined);
});

test('set-timeout (exact summary): frees nothing at once, counts the entries idle longer than the new timeout, says when they go', () => {
  // 4 entries idle > 1 day (25 h, 2, 3 and 4.9 days), 2 active (idle 5 s, 1 h)
  const lines = [estLine(1, 431995), estLine(2, 428400), estLine(3, 432000 - 172800), estLine(4, 432000 - 259200), estLine(5, 432000 - 423360), estLine(6, 432000 - 90000)];
  const s = host({ count: 6, entrySummary: onHost(lines, { tcp_timeout_established: 432000 }) });
  const fix = buildHostFix(s, 'set-timeout', { key: EST, value: 86400 });
  const i = fix.impact;
  assert.ok(i);
  assert.deepEqual(i.freesNow, { value: 0, low: 0, high: 0, exact: true });
  assert.deepEqual(i.idleBeyond, { value: 4, low: 4, high: 4, exact: true });
  assert.equal(i.freedWithinSeconds, 432000 - 86400);
  assert.match(i.basis, /exact: all 6 entries/);
  assert.match(i.text, /frees nothing at once; 4 tcp_established entries idle > 86,400 s/);
  assert.ok(i.notes.some((n) => /re-armed with 86,400 s at that packet; idle entries keep the expiry/.test(n)), i.notes.join('\n'));
  assert.ok(i.notes.some((n) => /NATed connection .* breaks; with nf_conntrack_tcp_loose=0 \(here 1/.test(n)), i.notes.join('\n'));
  assert.ok(i.notes.some((n) => /0 entries have more time left/.test(n)));
  // a new timeout between bucket edges: the entry idle 25 h sits in [1 d, 2 d), which straddles it
  const between = buildHostFix(s, 'set-timeout', { key: EST, value: 100000 }).impact;
  assert.deepEqual(between?.idleBeyond, { value: 4, low: 3, high: 4, exact: false });
  // raising the timeout frees nothing
  assert.match(buildHostFix(s, 'set-timeout', { key: EST, value: 500000 }).impact?.text ?? '', /frees no entries/);
});

test('set-timeout without idle times says it does not know, rather than a number', () => {
  const i = buildHostFix(host(), 'set-timeout', { key: EST, value: 86400 }).impact;
  assert.equal(i?.idleBeyond, undefined);
  assert.match(i?.text ?? '', /not known/);
});

test('estimates from a sample scale to the table with Wilson bounds that contain the truth', () => {
  const scale = { sampled: true, k: 10_000, n: 1_000_000, basis: '' };
  const e = estimateCount(scale, 2_500);
  const w = wilsonInterval(2_500, 10_000);
  assert.equal(e.value, 250_000);
  assert.equal(e.low, Math.floor(1_000_000 * w.low));
  assert.equal(e.high, Math.ceil(1_000_000 * w.high));
  assert.ok(e.low < 250_000 && 250_000 < e.high && e.high - e.low < 20_000);
  assert.equal(e.exact, false);
});

test('delete-entries of a top source: the estimate from a sampled summary, marked sampled', () => {
  const lines = Array.from({ length: 1000 }, (_, i) => estLine(i, 431000, i % 4 === 0 ? '198.18.0.66' : `198.18.1.${i % 200}`));
  const summary = onHost(lines, { tcp_timeout_established: 432000 }, ['mawk'], 1000);
  const s = host({ count: 40_000, entrySummary: summary });
  const d = diagnose(s, { thresholds: { topSourceShare: 0.2 } });
  const del = d.findings.flatMap((f) => f.fixes).find((x) => x.id === 'delete-entries');
  assert.ok(del?.impact?.freesNow, JSON.stringify(d.findings.map((f) => f.code)));
  assert.equal(del.impact.freesNow.value, 10_000);
  assert.ok(del.impact.freesNow.low < 10_000 && del.impact.freesNow.high > 10_000);
  assert.match(del.impact.basis, /sampled: 1,000 of 40,000 entries/);
  assert.match(del.impact.text, /frees ~10,000 \(\d[\d,]*–\d[\d,]*\) entries now/);
  assert.ok(del.impact.notes.some((n) => /not known from one snapshot/.test(n)));
});

test('delete-entries: whether they come back, from the selection’s growth between two snapshots', () => {
  const summaryOf = (n: number): EntrySummary => onHost(Array.from({ length: n }, (_, i) => estLine(i, 431000, '198.18.0.66')), { tcp_timeout_established: 432000 });
  const previous = host({ takenAt: 1_000_000, count: 100, entrySummary: summaryOf(100) });
  const now = host({ takenAt: 1_010_000, count: 150, entrySummary: summaryOf(150) });
  const fix = buildHostFix(now, 'delete-entries', { filter: { src: '198.18.0.66' }, expectedCount: 150 });
  assert.deepEqual(fix.impact?.freesNow, { value: 150, low: 150, high: 150, exact: true });
  assert.match(fix.impact?.basis ?? '', /counted on the host/);
  const d = diagnose(now, { previous, thresholds: { minEntriesForShares: 10 } });
  const del = d.findings.flatMap((f) => f.fixes).find((x) => x.id === 'delete-entries');
  assert.equal(del?.impact?.returnPerSecond, 5);
  assert.match(del?.impact?.text ?? '', /they come back at 5\.00\/s/);
});

test('raise-max: headroom in entries and in time at the observed growth, memory against the budget', () => {
  const previous = host({ takenAt: 1_000_000, count: 200_000 });
  const now = host({ takenAt: 1_100_000, count: 210_000 });
  const i = fixImpact(buildHostFix(now, 'raise-max', { value: 524288 }), { snapshot: now, previous });
  assert.ok(i);
  assert.equal(i.headroomEntries, 524288 - 262144);
  assert.equal(i.headroomSeconds, (524288 - 210_000) / 100); // 100 entries/s
  assert.equal(i.memoryBytes, 524288 * 256 + 524288 * 8);
  assert.equal(i.memoryBudgetBytes, Math.floor((8 * 1024 ** 3 * 5) / 100));
  assert.match(i.text, /\+262,144 slots \(314,288 free\), which last 52 min 23 s at the observed 100 entries\/s; 132 MiB when full \(budget 410 MiB\)/);
  assert.ok(i.notes.some((n) => /within it/.test(n)));
});

test('raise-max on a full table counts the drop rate as demand', () => {
  const stats = (drop: number): ReturnType<typeof parseConntrackStats> => parseConntrackStats(`cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=${drop} early_drop=0 error=0 search_restart=0 \n`);
  const ok = <T,>(r: { ok: true; value: T } | { ok: false }): T => (r.ok ? r.value : assert.fail('stats'));
  const previous = host({ takenAt: 1_000_000, count: 262144, counters: ok(stats(0)) });
  const now = host({ takenAt: 1_010_000, count: 262144, counters: ok(stats(500)) });
  const d = diagnose(now, { previous });
  const raise = d.findings.flatMap((f) => f.fixes).find((x) => x.id === 'raise-max');
  assert.ok(raise?.impact?.headroomSeconds, JSON.stringify(raise?.impact));
  assert.equal(raise.impact.headroomSeconds, ((raise.change?.to ?? 0) - 262144) / 50);
  assert.ok(raise.impact.notes.some((n) => /dropped packets as entries that could not be inserted/.test(n)));
});

test('the INVALID drop rule frees no entries and says what it does instead', () => {
  const s = host({ firewall: { iptablesBackend: 'nf_tables', nftTables: ['inet filter'], nftInputChain: { family: 'inet', table: 'filter', chain: 'input' }, invalidRules: [], persistence: 'none' } });
  const i = buildHostFix(s, 'invalid-drop-rule').impact;
  assert.deepEqual(i?.freesNow, { value: 0, low: 0, high: 0, exact: true });
  assert.match(i?.text ?? '', /frees no entries \(INVALID packets are not tracked\); drops the packets/);
  assert.ok(i?.notes.some((n) => /creates an ESTABLISHED \[UNREPLIED\] entry instead of being INVALID/.test(n)));
});

test('impact travels into diagnose --json (schema-checked), the text report and the preview', () => {
  const lines = [estLine(1, 431995), estLine(2, 432000 - 172800)];
  const s = host({ count: 250_000, entrySummary: onHost(lines, { tcp_timeout_established: 432000 }) });
  const d = diagnose(s);
  const json = diagnosisJsonSchema.parse(diagnosisJson(d));
  const fixes = json.findings.flatMap((f) => f.fixes);
  assert.ok(fixes.length > 0);
  const timeout = fixes.find((f) => f.id === 'set-timeout');
  assert.ok(timeout?.impact?.idleBeyond, JSON.stringify(fixes));
  assert.match(renderDiagnosis(d), /impact: frees nothing at once; 1 tcp_established entries idle > 86,400 s/);
  const fix = d.findings.flatMap((f) => f.fixes).find((f) => f.id === 'set-timeout');
  assert.ok(fix);
  assert.match(renderPreview(fix), /## Impact \(exact: all 2 entries\)\nfrees nothing at once/);
});
