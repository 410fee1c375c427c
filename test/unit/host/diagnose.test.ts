/** Diagnosis over snapshots built from real kernel outputs (test/fixtures/samples). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnose, computeRates } from '../../../src/core/host/diagnose';
import { CAUSES, diagnosisJson, diagnosisJsonSchema, type Finding } from '../../../src/core/host/diagnosis';
import { renderDiagnosis } from '../../../src/core/host/report';
import { CAUSE_CHECKS } from '../../../src/core/host/causes';
import { UNAVAILABLE_CODES } from '../../../src/core/host/unavailable';
import { parseSnapshot, type HostSnapshot } from '../../../src/core/host/snapshot';
import { parseConntrackStats } from '../../../src/core/kernel/conntrackStats';
import { parseTableFullLog } from '../../../src/core/kernel/kernelLog';
import { parseConntrackTable } from '../../../src/core/kernel/conntrackTable';
import { summarizeEntries } from '../../../src/core/kernel/entrySummary';
import { parseSysctlOutput } from '../../../src/core/kernel/sysctlOutput';
import { GiB, maxWithinBudget } from '../../../src/core/sizing';
import { renderCommand } from '../../../src/core/fix/quote';

const sample = (name: string): string => readFileSync(join(__dirname, '../../fixtures/samples', name), 'utf8');

function ok<T>(p: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

const liveSysctl = (): Record<string, string> => {
  const out = ok(parseSysctlOutput(sample('sysctl_-a_grep_nf_conntrack.rootns.txt')));
  return Object.fromEntries(out.values as unknown as Iterable<[string, string]>);
};

function statsText(cpus: Record<string, number>[]): string {
  return cpus.map((c, i) => `cpu=${i}   \tfound=0 invalid=${c['invalid'] ?? 0} insert=0 insert_failed=${c['insert_failed'] ?? 0} drop=${c['drop'] ?? 0} early_drop=${c['early_drop'] ?? 0} error=0 search_restart=0 clash_resolve=${c['clash_resolve'] ?? 0} chaintoolong=${c['chaintoolong'] ?? 0} \n`).join('');
}

/** A healthy 24 GiB, 2-CPU host as sampled: 212 entries, default settings. */
function healthy(over: Partial<HostSnapshot> = {}): HostSnapshot {
  return parseSnapshot({
    takenAt: 1_000_000,
    host: 'web-1',
    kernelRelease: '6.18.44',
    initialNetns: true,
    sysctl: liveSysctl(),
    count: Number(sample('conntrack_-C.txt').trim()),
    max: 262144,
    buckets: 262144,
    counters: ok(parseConntrackStats(statsText([{}, {}]))),
    slabObjSize: 256,
    memTotalBytes: 25276026880,
    cpus: 2,
    conntrackModule: 'builtin',
    firewall: { iptablesBackend: 'nf_tables', iptablesVersion: 'v1.8.9', alternativesMode: 'auto', legacyTables: [], nftTables: ['inet filter'], nftInputChain: { family: 'inet', table: 'filter', chain: 'input' }, invalidRules: [], persistence: 'none' },
    ...over,
  });
}

const severe = (d: { findings: readonly Finding[] }): Finding[] => d.findings.filter((f) => f.severity !== 'info');

test('the sysctl sample parses into the live values the diagnosis reads', () => {
  assert.equal(liveSysctl()['net.netfilter.nf_conntrack_tcp_timeout_established'], '432000');
});

test('healthy host: no warnings, usage ok, every timeout listed against its default', () => {
  const d = diagnose(healthy());
  assert.deepEqual(severe(d), []);
  assert.equal(d.usage.level, 'ok');
  assert.equal(d.usage.count, 212);
  const est = d.timeouts.find((t) => t.key.endsWith('tcp_timeout_established'));
  assert.deepEqual(est, { key: 'net.netfilter.nf_conntrack_tcp_timeout_established', value: 432000, defaultValue: 432000, differsFromDefault: false });
});

test('missing data stays missing: no counters means no counter evidence and no zeros', () => {
  const s = healthy();
  delete (s as { counters?: unknown }).counters;
  const d = diagnose(s);
  assert.equal(d.counters, undefined);
  assert.equal(d.rates, undefined);
});

test('table full of ASSURED TCP: critical, drop rising, early_drop flat, log lines, max within budget', () => {
  const log = ok(parseTableFullLog(sample('dmesg_table_full.txt')));
  const before = healthy({ takenAt: 0, count: 262144, initialNetns: false, netnsInode: 4026532176, counters: ok(parseConntrackStats(statsText([{ drop: 100 }, { drop: 50 }]))) });
  const now = healthy({ takenAt: 10_000, count: 262144, initialNetns: false, netnsInode: 4026532176, counters: ok(parseConntrackStats(statsText([{ drop: 600 }, { drop: 550 }]))), kernelLog: log });
  const d = diagnose(now, { previous: before });
  const f = d.findings.find((x) => x.cause === 'too-many-connections');
  assert.ok(f);
  assert.equal(f.severity, 'critical');
  assert.equal(f.code, 'table-full');
  assert.equal(d.rates?.perSecond['drop'], 100);
  assert.equal(d.rates?.perSecond['early_drop'], 0);
  assert.match(f.detail, /early_drop is flat: the table is full of ASSURED entries/);
  assert.ok(f.evidence.some((e) => e.label === 'kernel log' && /3 "table full, dropping packet" lines in netns 4026532176/.test(e.value)), JSON.stringify(f.evidence));
  const rec = f.recommendation;
  assert.ok(rec);
  assert.ok(rec.value > 262144);
  assert.ok(rec.value <= maxWithinBudget(25276026880, 256), `${rec.value} beyond budget`);
  assert.ok(rec.steps.some((st) => /5 % of/.test(st)));
  // in a container namespace the max fix is still offered, flagged as needing the host namespace
  const raise = f.fixes.find((x) => x.id === 'raise-max');
  assert.equal(raise?.needsInitialNetns, true);
  assert.ok(raise);
  assert.deepEqual(raise.runtime[0]?.argv, ['sysctl', '-w', `net.netfilter.nf_conntrack_max=${rec.value}`]);
  // long established timeout under pressure is its own finding with the timeout fix
  assert.ok(d.findings.some((x) => x.cause === 'long-timeouts' && x.fixes.some((fx) => fx.id === 'set-timeout')));
});

test('flood of unreplied entries: early_drop rising tells a different story', () => {
  const before = healthy({ takenAt: 0, count: 262144, counters: ok(parseConntrackStats(statsText([{ drop: 0, early_drop: 0 }]))) });
  const now = healthy({ takenAt: 1_000, count: 262144, counters: ok(parseConntrackStats(statsText([{ drop: 20, early_drop: 5000 }]))) });
  const f = diagnose(now, { previous: before }).findings.find((x) => x.cause === 'too-many-connections');
  assert.match(f?.detail ?? '', /Early drop is evicting non-assured entries/);
});

function floodSummary(): ReturnType<ReturnType<typeof summarizeEntries>['result']> {
  const lines: string[] = [];
  for (let i = 0; i < 4000; i++) lines.push(`udp      17 29 src=10.203.0.66 dst=10.203.0.128 sport=${10000 + i} dport=53 [UNREPLIED] src=10.203.0.128 dst=10.203.0.66 sport=53 dport=${10000 + i} mark=0 use=1`);
  for (let i = 0; i < 1000; i++) lines.push(`tcp      6 431999 ESTABLISHED src=10.203.0.${(i % 50) + 1} dst=10.203.0.128 sport=${20000 + i} dport=443 src=10.203.0.128 dst=10.203.0.${(i % 50) + 1} sport=443 dport=${20000 + i} [ASSURED] mark=0 use=1`);
  const s = summarizeEntries();
  for (const l of parseConntrackTable([lines.join('\n') + '\n'])) s.addLine(l);
  return s.result();
}

test('unreplied flood from one source: the source is named and stale-entries offers deleting its entries', () => {
  const d = diagnose(healthy({ count: 5000, max: 6000, entrySummary: floodSummary() }));
  const f = d.findings.find((x) => x.cause === 'stale-entries');
  assert.ok(f);
  assert.equal(f.title, '80.0 % from 10.203.0.66');
  assert.equal(f.severity, 'warning');
  const del = f.fixes[0];
  assert.equal(del?.id, 'delete-entries');
  assert.equal(del?.destructive, true);
  assert.match(del?.confirmation ?? '', /4000/);
  assert.ok(del?.runtime[0]?.argv.includes('10.203.0.66'));
});

test('INVALID flood without a drop rule: warning, nft rule fix, and never a claim that INVALID entries fill the table', () => {
  const before = healthy({ takenAt: 0, counters: ok(parseConntrackStats(statsText([{ invalid: 0 }, { invalid: 150 }]))) });
  const now = healthy({ takenAt: 2_000, counters: ok(parseConntrackStats(statsText([{ invalid: 400 }, { invalid: 350 }]))) });
  const d = diagnose(now, { previous: before });
  const f = d.findings.find((x) => x.cause === 'invalid-packets');
  assert.ok(f);
  assert.equal(f.severity, 'warning');
  assert.equal(f.title, '300/s INVALID, not dropped');
  assert.match(f.detail, /never create entries/);
  for (const x of d.findings) assert.doesNotMatch(`${x.title} ${x.detail}`, /INVALID entries (fill|consume|occupy)|grep INVALID.*finds? (them|entries)/i);
  const rule = f.fixes[0];
  assert.equal(rule?.id, 'invalid-drop-rule');
  assert.match(renderCommand(rule?.runtime.at(-1)?.argv ?? []), /nft .*inet filter input ct state invalid counter drop/);
});

test('INVALID with an iptables backend gets an iptables rule with -C before -I', () => {
  const fw = { iptablesBackend: 'nf_tables' as const, alternativesMode: 'auto' as const, legacyTables: [], nftTables: ['ip filter'], invalidRules: [], persistence: 'none' as const };
  const before = healthy({ takenAt: 0, firewall: fw, counters: ok(parseConntrackStats(statsText([{ invalid: 0 }]))) });
  const now = healthy({ takenAt: 1_000, firewall: fw, counters: ok(parseConntrackStats(statsText([{ invalid: 50 }]))) });
  const fix = diagnose(now, { previous: before }).findings.find((x) => x.cause === 'invalid-packets')?.fixes[0];
  const step = fix?.runtime.find((st) => st.argv.includes('-I'));
  assert.ok(step, JSON.stringify(fix?.runtime));
  assert.match(step.argv.join(' '), /^iptables .*-I INPUT 1 -m conntrack --ctstate INVALID .*-j DROP$/);
  assert.ok(step.skipIf?.includes('-C'));
});

test('INVALID already dropped by a rule: info only, no fix', () => {
  const fw = { iptablesBackend: 'nf_tables' as const, legacyTables: [], nftTables: ['inet filter'], invalidRules: [{ backend: 'nft' as const, family: 'inet', table: 'filter', chain: 'input', verdict: 'drop', packets: 4000, text: 'ct state invalid counter packets 4000 bytes 160000 drop' }] };
  const before = healthy({ takenAt: 0, firewall: fw, counters: ok(parseConntrackStats(statsText([{ invalid: 0 }]))) });
  const now = healthy({ takenAt: 1_000, firewall: fw, counters: ok(parseConntrackStats(statsText([{ invalid: 50 }]))) });
  const f = diagnose(now, { previous: before }).findings.find((x) => x.cause === 'invalid-packets');
  assert.equal(f?.severity, 'info');
  assert.equal(f?.fixes.length, 0);
  assert.ok(f?.evidence.some((e) => /4,000 packets/.test(e.value)));
});

test('kernel log lines of other namespaces are not this namespace\'s, but the host is told about them', () => {
  const log = ok(parseTableFullLog(sample('dmesg_table_full.txt')));
  const host = diagnose(healthy({ kernelLog: log, uptimeSeconds: 4930 }));
  assert.ok(!host.findings.some((x) => x.cause === 'too-many-connections'));
  const other = host.findings.find((x) => x.code === 'netns-table-full');
  assert.equal(other?.severity, 'warning');
  assert.match(other?.evidence[0]?.value ?? '', /4026532176/);
  const old = diagnose(healthy({ kernelLog: log, uptimeSeconds: 4928 + 7200 }));
  assert.equal(old.findings.find((x) => x.code === 'netns-table-full')?.severity, 'info');
  const elsewhere = diagnose(healthy({ kernelLog: log, initialNetns: false, netnsInode: 999 }));
  assert.ok(!elsewhere.findings.some((x) => x.cause === 'too-many-connections' || x.code === 'netns-table-full'));
});

test('legacy and nft tables together: iptables-backend', () => {
  const d = diagnose(healthy({ firewall: { iptablesBackend: 'nf_tables', legacyTables: ['filter'], nftTables: ['ip filter'] } }));
  const f = d.findings.find((x) => x.cause === 'iptables-backend');
  assert.equal(f?.severity, 'warning');
  assert.match(f?.detail ?? '', /No chain\/target\/match by that name/);
  assert.ok(!diagnose(healthy({ firewall: { iptablesBackend: 'nf_tables', legacyTables: [], nftTables: ['ip filter'] } })).findings.some((x) => x.cause === 'iptables-backend'));
});

test('non-initial netns: the fixes for max say they need the host namespace', () => {
  const d = diagnose(healthy({ initialNetns: false, netnsInode: 4026532176, count: 250000 }));
  const netns = d.findings.find((x) => x.cause === 'netns-limits');
  assert.ok(netns);
  const full = d.findings.find((x) => x.cause === 'too-many-connections');
  assert.match(full?.detail ?? '', /only be changed on the host \(initial namespace\)/);
  assert.equal(full?.fixes.find((x) => x.id === 'raise-max')?.needsInitialNetns, true);
});

test('usage thresholds 75/90/95 and custom thresholds', () => {
  assert.equal(diagnose(healthy({ count: 196608 })).usage.level, 'elevated'); // 75 %
  assert.equal(diagnose(healthy({ count: 240000 })).usage.level, 'high');
  assert.equal(diagnose(healthy({ count: 250000 })).usage.level, 'critical');
  assert.equal(diagnose(healthy({ count: 190000 })).usage.level, 'ok');
  assert.equal(diagnose(healthy({ count: 190000 }), { thresholds: { warnPercent: 70 } }).usage.level, 'elevated');
  assert.equal(diagnose(healthy({ count: 250000 })).findings[0]?.severity, 'critical');
});

test('hash buckets: chaintoolong rising is a warning with the set-buckets fix', () => {
  const before = healthy({ takenAt: 0, buckets: 16384, counters: ok(parseConntrackStats(statsText([{ chaintoolong: 0 }]))) });
  const now = healthy({ takenAt: 1_000, buckets: 16384, counters: ok(parseConntrackStats(statsText([{ chaintoolong: 7 }]))) });
  const f = diagnose(now, { previous: before }).findings.find((x) => x.cause === 'hash-buckets');
  assert.equal(f?.severity, 'warning');
  assert.equal(f?.fixes[0]?.id, 'set-buckets');
  assert.equal(f?.recommendation?.value, 262144);
});

test('nat race: insert_failed rising', () => {
  const before = healthy({ takenAt: 0, counters: ok(parseConntrackStats(statsText([{ insert_failed: 0 }]))) });
  const now = healthy({ takenAt: 1_000, counters: ok(parseConntrackStats(statsText([{ insert_failed: 30, clash_resolve: 4 }]))) });
  const f = diagnose(now, { previous: before }).findings.find((x) => x.cause === 'nat-race');
  assert.equal(f?.severity, 'warning');
  assert.match(f?.detail ?? '', /--random-fully/);
});

test('memory: a max beyond the budget', () => {
  const f = diagnose(healthy({ max: 16_777_216, buckets: 16_777_216, memTotalBytes: 8 * GiB })).findings.find((x) => x.cause === 'memory');
  assert.ok(f);
  assert.ok(f.evidence.some((e) => e.label === 'bytes per entry' && e.value === '256 (slabinfo)'));
});

test('files: boot persistence, drift and refused lines come from the host files', () => {
  const s = healthy({
    conntrackModule: 'module',
    sysctlFiles: [{ path: '/etc/sysctl.d/90-ct.conf', content: 'net.netfilter.nf_conntrack_max = 524288\nnet.netfilter.nf_conntrack_tcp_timeout_close_wait = 60#default\n' }],
    modulesLoad: [],
    modprobe: [],
  });
  const d = diagnose(s);
  const boot = d.findings.find((x) => x.cause === 'boot-persistence');
  assert.equal(boot?.fixes[0]?.id, 'load-module-at-boot');
  const drift = d.findings.find((x) => x.code === 'drift');
  assert.match(drift?.evidence[0]?.value ?? '', /524288.*262144/);
  assert.ok(d.findings.some((x) => x.code === 'setting-not-applied' && x.cause === 'config-drift'));
});

test('kube-proxy and eBPF datapaths are named as external owners', () => {
  const d = diagnose(healthy({ externalOwners: { kubeProxy: true, kubeProxyMode: 'iptables', cilium: true } }));
  const owners = d.findings.filter((x) => x.cause === 'external-owner');
  assert.equal(owners.length, 2);
  assert.match(owners[0]?.detail ?? '', /conntrack\.maxPerCore/);
});

test('rates: a counter that went backwards (module reload) or a reboot gives no rate', () => {
  const a = healthy({ takenAt: 0, uptimeSeconds: 100, counters: ok(parseConntrackStats(statsText([{ drop: 100 }]))) });
  const b = healthy({ takenAt: 1000, uptimeSeconds: 101, counters: ok(parseConntrackStats(statsText([{ drop: 5 }]))) });
  assert.equal(computeRates(a, b)?.perSecond['drop'], undefined);
  const c = healthy({ takenAt: 1000, uptimeSeconds: 5, counters: ok(parseConntrackStats(statsText([{ drop: 200 }]))) });
  assert.equal(computeRates(a, c), undefined);
});

test('every finding names a cause from the documented list and carries evidence', () => {
  const before = healthy({ takenAt: 0, count: 262144, counters: ok(parseConntrackStats(statsText([{ drop: 0, invalid: 0, insert_failed: 0 }]))) });
  const now = healthy({ takenAt: 1_000, count: 262144, initialNetns: false, counters: ok(parseConntrackStats(statsText([{ drop: 9, invalid: 90, insert_failed: 3 }]))), externalOwners: { kubeProxy: true }, firewall: { iptablesBackend: 'nf_tables', legacyTables: ['filter'], nftTables: ['ip filter'] }, entrySummary: floodSummary() });
  const d = diagnose(now, { previous: before });
  assert.ok(d.findings.length >= 6);
  for (const f of d.findings) {
    assert.ok((CAUSES as readonly string[]).includes(f.cause), f.cause);
    assert.ok(f.evidence.length > 0, `${f.code} has no evidence`);
  }
});

/**
 * A finding title must read whole in the sidebar at its default width (issue 18 item 7). The
 * e2e suite measured it: VS Code's default sidebar (300 px) leaves a finding row (4th level:
 * indent, twistie, icon) 201 px for its label, and 28 characters of a title took 139–182 px
 * (up to 6.5 px each, 7.2 px for digits). So 28 characters, decisive words first; the rest
 * belongs in the detail (the tooltip).
 */
const TITLE_BUDGET = 28;

test('finding titles fit the sidebar\'s default width: at most 28 characters', () => {
  const before = healthy({ takenAt: 0, count: 262144, counters: ok(parseConntrackStats(statsText([{ drop: 0, invalid: 0, insert_failed: 0, chaintoolong: 0 }]))) });
  const now = healthy({ takenAt: 1_000, count: 262144, initialNetns: false, counters: ok(parseConntrackStats(statsText([{ drop: 9, invalid: 90, insert_failed: 3, chaintoolong: 4 }]))), externalOwners: { kubeProxy: true }, firewall: { iptablesBackend: 'nf_tables', legacyTables: ['filter'], nftTables: ['ip filter'] }, entrySummary: floodSummary() });
  const titles = [diagnose(now, { previous: before }), diagnose(now), diagnose(healthy({ count: 240000 }))].flatMap((d) => d.findings.map((f) => f.title));
  assert.ok(new Set(titles).size >= 8, JSON.stringify(titles));
  const long = titles.filter((t) => t.length > TITLE_BUDGET);
  assert.deepEqual(long, [], `titles over ${TITLE_BUDGET} characters`);
});

test('INVALID rule goes to the native nft input chain even when legacy tables coexist', () => {
  const fw = { iptablesBackend: 'nf_tables' as const, legacyTables: ['filter'], nftTables: ['inet filter'], nftInputChain: { family: 'inet', table: 'filter', chain: 'input' }, invalidRules: [], persistence: 'none' as const };
  const before = healthy({ takenAt: 0, firewall: fw, counters: ok(parseConntrackStats(statsText([{ invalid: 0 }]))) });
  const now = healthy({ takenAt: 1_000, firewall: fw, counters: ok(parseConntrackStats(statsText([{ invalid: 50 }]))) });
  const fix = diagnose(now, { previous: before }).findings.find((x) => x.cause === 'invalid-packets')?.fixes[0];
  assert.match(renderCommand(fix?.runtime.at(-1)?.argv ?? []), /^nft insert rule inet filter input ct state invalid counter drop/);
});

test('the cause table checks every cause of CAUSES once, in that order, and docs/findings.md lists them in the same order', () => {
  assert.deepEqual(CAUSE_CHECKS.map((c) => c.cause), [...CAUSES]);
  const doc = readFileSync(join(__dirname, '../../../docs/findings.md'), 'utf8');
  const causes = doc.slice(doc.indexOf('## Causes'), doc.indexOf('\n## ', doc.indexOf('## Causes') + 1));
  const documented = [...causes.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented, [...CAUSES]);
});

test('every unavailable reason code is documented, in order, in docs/findings.md and named in docs/cli.md', () => {
  const doc = readFileSync(join(__dirname, '../../../docs/findings.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## What could not be read'));
  const documented = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented, [...UNAVAILABLE_CODES]);
  const cliRow = /^\| `unavailable` \|.*$/m.exec(readFileSync(join(__dirname, '../../../docs/cli.md'), 'utf8'))?.[0] ?? '';
  assert.deepEqual([...cliRow.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]).filter((c) => !['unavailable', 'code', 'remedy', 'null'].includes(c ?? '')), [...UNAVAILABLE_CODES]);
});

test('diagnose --json: every diagnosis parses with its one schema, and a fix that could not be built is in it', () => {
  const summary = floodSummary();
  // A "source" conntrack cannot select (not an address): the delete fix fails validation.
  const odd = { ...summary, topSources: { ...summary.topSources, items: summary.topSources.items.map((i, n) => (n === 0 ? { ...i, key: 'not-an-address' } : i)) } };
  const before = healthy({ takenAt: 0, count: 262144, counters: ok(parseConntrackStats(statsText([{ drop: 0, invalid: 0, insert_failed: 0 }]))) });
  const diagnoses = [
    diagnose(healthy()),
    diagnose(healthy({ takenAt: 1_000, count: 262144, initialNetns: false, counters: ok(parseConntrackStats(statsText([{ drop: 9, invalid: 90, insert_failed: 3 }]))), externalOwners: { kubeProxy: true }, entrySummary: summary }), { previous: before }),
    diagnose(healthy({ count: 5000, max: 6000, entrySummary: odd })),
  ];
  for (const d of diagnoses) diagnosisJsonSchema.parse(JSON.parse(JSON.stringify(diagnosisJson(d))));
  const stale = diagnosisJson(diagnoses[2] ?? diagnose(healthy())).findings.find((f) => f.cause === 'stale-entries');
  assert.deepEqual(stale?.fixes, []);
  assert.match(stale?.fixErrors[0] ?? '', /not-an-address/);
  assert.match(renderDiagnosis(diagnoses[2] ?? diagnose(healthy())), /\(fix not built: .*not-an-address/);
});

test('docs/cli.md describes diagnose --json exactly as its schema: the example parses, the table lists every field and no other', () => {
  const doc = readFileSync(join(__dirname, '../../../docs/cli.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## `diagnose --json`'), doc.indexOf('## `diagnose HOST… --json`'));
  const example = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  assert.ok(example, 'the section has a JSON example');
  diagnosisJsonSchema.parse(JSON.parse(example));
  const rows = [...section.matchAll(/^\| `([\w[\].]+)` \|/gm)].map((m) => m[1]);
  const finding = diagnosisJsonSchema.unwrap().shape.findings.unwrap().element.unwrap().shape;
  const fields = [...Object.keys(diagnosisJsonSchema.unwrap().shape), ...Object.keys(finding).map((k) => `findings[].${k}`)];
  assert.deepEqual([...rows].sort(), [...fields].sort());
});
