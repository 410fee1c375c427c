/**
 * Every lint rule, with a case that must produce it and a close case that must not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lintFiles, lintText, type LintOptions, type LintFinding } from '../../../src/core/sysctl/lint';
import type { SysctlFile } from '../../../src/core/sysctl/loaders';
import { RULES, type RuleCode } from '../../../src/core/sysctl/rules';
import { applyTextEdits } from '../../../src/core/textEdits';
import { GiB } from '../../../src/core/sizing';

const P = '/etc/sysctl.d/90-test.conf';

function lint(content: string, options: LintOptions = {}): LintFinding[] {
  return lintText(P, content, options);
}

function has(findings: readonly LintFinding[], code: RuleCode, line?: number): boolean {
  return findings.some((f) => f.code === code && (line === undefined || f.range.startLine + 1 === line));
}

interface Case {
  code: RuleCode;
  yes: string;
  line: number;
  no: string;
  options?: LintOptions;
  noOptions?: LintOptions;
}

const bigHost = { context: { memTotalBytes: 8 * GiB, kernelRelease: '6.1.0' } } satisfies LintOptions;

const cases: Case[] = [
  { code: 'invalid-syntax', yes: 'net.netfilter.nf_conntrack_max 262144\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 262144\n' },
  { code: 'value-too-long', yes: `kernel.x = ${'a'.repeat(4097)}\n`, line: 1, no: `kernel.x = ${'a'.repeat(4096)}\n` },
  { code: 'empty-value', yes: 'vm.swappiness =\n', line: 1, no: 'vm.swappiness = 10\n' },
  { code: 'inline-comment', yes: 'net.netfilter.nf_conntrack_max = 262144 # raised\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 262144\n# raised\n' },
  { code: 'not-an-integer', yes: 'net.netfilter.nf_conntrack_max = 256k\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 0x40000\n' },
  { code: 'octal-value', yes: 'net.netfilter.nf_conntrack_tcp_timeout_time_wait = 060\n', line: 1, no: 'net.netfilter.nf_conntrack_tcp_timeout_time_wait = 60\n' },
  { code: 'out-of-range', yes: 'net.netfilter.nf_conntrack_tcp_timeout_close = -5\n', line: 1, no: 'net.netfilter.nf_conntrack_tcp_timeout_close = 5\n' },
  { code: 'out-of-range', yes: 'net.netfilter.nf_conntrack_checksum = 2\n', line: 1, no: 'net.netfilter.nf_conntrack_checksum = 1\n' },
  { code: 'timeout-not-portable', yes: 'net.netfilter.nf_conntrack_generic_timeout = 3000000\n', line: 1, no: 'net.netfilter.nf_conntrack_generic_timeout = 2000000\n' },
  { code: 'max-unlimited', yes: 'net.netfilter.nf_conntrack_max = 0\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 262144\n' },
  { code: 'unknown-key', yes: 'net.netfilter.nf_conntrack_tcp_timeout_establised = 3600\n', line: 1, no: 'net.netfilter.nf_conntrack_tcp_timeout_established = 3600\n' },
  { code: 'legacy-key', yes: 'net.ipv4.netfilter.ip_conntrack_max = 65536\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 65536\n' },
  { code: 'removed-key', yes: 'net.ipv4.tcp_tw_recycle = 0\n', line: 1, no: 'net.ipv4.tcp_tw_reuse = 1\n' },
  {
    code: 'tcp-tw-recycle',
    yes: 'net.ipv4.tcp_tw_recycle = 1\n',
    line: 1,
    no: 'net.ipv4.tcp_tw_recycle = 0\n',
    options: { context: { liveKeys: new Set(['net.ipv4.tcp_tw_recycle']) } },
    noOptions: { context: { liveKeys: new Set(['net.ipv4.tcp_tw_recycle']) } },
  },
  { code: 'pages-not-bytes', yes: 'net.ipv4.tcp_mem = 4096 87380 16777216\n', line: 1, no: 'net.ipv4.tcp_mem = 188058 250744 376116\n' },
  { code: 'unrendered-template', yes: '{% for k, v in sysctl.items() %}\n{{ k }} = {{ v }}\n{% endfor %}\n', line: 1, no: 'vm.swappiness = 10\n' },
  { code: 'key-alias', yes: 'net.nf_conntrack_max = 262144\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 262144\n' },
  { code: 'read-only-key', yes: 'net.netfilter.nf_conntrack_count = 5\n', line: 1, no: 'net.netfilter.nf_conntrack_expect_max = 4096\n' },
  { code: 'duplicate-key', yes: 'vm.swappiness = 1\nvm.swappiness = 10\n', line: 1, no: 'vm.swappiness = 1\nvm.dirty_ratio = 10\n' },
  { code: 'established-timeout-long', yes: 'net.netfilter.nf_conntrack_tcp_timeout_established = 432000\n', line: 1, no: 'net.netfilter.nf_conntrack_tcp_timeout_established = 86400\n' },
  { code: 'timeout-too-short', yes: 'net.netfilter.nf_conntrack_tcp_timeout_established = 300\n', line: 1, no: 'net.netfilter.nf_conntrack_tcp_timeout_established = 3600\n' },
  { code: 'timeout-too-short', yes: 'net.netfilter.nf_conntrack_udp_timeout_stream = 5\n', line: 1, no: 'net.netfilter.nf_conntrack_udp_timeout_stream = 60\n' },
  { code: 'max-below-default', yes: 'net.netfilter.nf_conntrack_max = 16384\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 65536\n' },
  { code: 'max-below-default', yes: 'net.netfilter.nf_conntrack_max = 100000\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 262144\n', options: bigHost, noOptions: bigHost },
  // 8 GiB, 5 % budget, 320 B + 8 B per entry → 1,309,338 entries at most.
  { code: 'max-exceeds-memory', yes: 'net.netfilter.nf_conntrack_max = 4194304\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 1048576\n', options: bigHost, noOptions: bigHost },
  { code: 'max-exceeds-memory', yes: 'net.netfilter.nf_conntrack_max = 33554432\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 4194304\n' },
  {
    code: 'hash-chains-long',
    yes: 'net.netfilter.nf_conntrack_max = 1048576\n',
    line: 1,
    no: 'net.netfilter.nf_conntrack_max = 1048576\n',
    options: { context: { liveBuckets: 65536 } },
    noOptions: { context: { liveBuckets: 262144 } },
  },
  { code: 'tcp-loose-off', yes: 'net.netfilter.nf_conntrack_tcp_loose = 0\n', line: 1, no: 'net.netfilter.nf_conntrack_tcp_loose = 1\n' },
  { code: 'checksum-off', yes: 'net.netfilter.nf_conntrack_checksum = 0\n', line: 1, no: 'net.netfilter.nf_conntrack_checksum = 1\n' },
  { code: 'buckets-via-sysctl', yes: 'net.netfilter.nf_conntrack_buckets = 262144\n', line: 1, no: 'net.netfilter.nf_conntrack_max = 262144\n' },
  {
    code: 'global-key-in-netns',
    yes: 'net.netfilter.nf_conntrack_max = 262144\n',
    line: 1,
    no: 'net.netfilter.nf_conntrack_tcp_timeout_established = 86400\n',
    options: { context: { initialNetns: false } },
    noOptions: { context: { initialNetns: false } },
  },
  {
    code: 'module-not-loaded-at-boot',
    yes: 'net.netfilter.nf_conntrack_max = 262144\n',
    line: 1,
    no: 'net.netfilter.nf_conntrack_max = 262144\n',
    options: { boot: { modulesLoad: [{ path: '/etc/modules-load.d/loop.conf', content: 'loop\n' }], modprobe: [] } },
    noOptions: { boot: { modulesLoad: [{ path: '/etc/modules', content: '# mods\nnf_conntrack\n' }], modprobe: [] } },
  },
  {
    code: 'drift',
    yes: 'net.netfilter.nf_conntrack_max = 262144\n',
    line: 1,
    no: 'net.netfilter.nf_conntrack_max = 262144\n',
    options: { context: { liveValues: new Map([['net.netfilter.nf_conntrack_max', '65536']]) } },
    noOptions: { context: { liveValues: new Map([['net.netfilter.nf_conntrack_max', '262144']]) } },
  },
];

for (const c of cases) {
  test(`${c.code}: reported on "${c.yes.split('\n')[0]?.slice(0, 60) ?? ''}" and not on "${c.no.split('\n')[0]?.slice(0, 60) ?? ''}"`, () => {
    const yes = lint(c.yes, c.options);
    assert.ok(has(yes, c.code, c.line), `expected ${c.code} at line ${c.line}, got ${JSON.stringify(yes.map((f) => `${f.code}@${f.range.startLine + 1}`))}`);
    const no = lint(c.no, c.noOptions);
    assert.ok(!has(no, c.code), `did not expect ${c.code}, got ${JSON.stringify(no.map((f) => f.code))}`);
  });
}

test('every rule has a positive case here', () => {
  const covered = new Set(cases.map((c) => c.code));
  // overridden and file-not-loaded need several files: covered in lintFiles.test.ts; file-unreadable
  // needs a FIFO or a link loop on disk: covered in test/cli/lint.test.ts
  for (const code of RULES.keys()) if (code !== 'overridden' && code !== 'file-not-loaded' && code !== 'file-unreadable') assert.ok(covered.has(code), `no case for ${code}`);
});

test('offline, every key is judged against the key catalogue; with a host, its key list decides', () => {
  const text = 'vm.swappiness = 10\nfs.file-max = 2097152\nkernel.nosuchthing = 1\n';
  assert.deepEqual(lint(text).map((x) => `${x.code}@${x.range.startLine + 1}`), ['unknown-key@3']);
  const live = new Set(['vm.swappiness', 'kernel.nosuchthing']);
  const f = lint(text, { context: { liveKeys: live } });
  // the host lacks fs.file-max (say, a container without it) and has the vendor key: the host wins
  assert.deepEqual(f.map((x) => `${x.code}@${x.range.startLine + 1}`), ['unknown-key@2']);
});

test('with the host key list, a catalog key missing on that kernel is unknown there', () => {
  const f = lint('net.netfilter.nf_conntrack_dccp_timeout_open = 100\n', { context: { liveKeys: new Set(['net.netfilter.nf_conntrack_max']) } });
  assert.ok(has(f, 'unknown-key', 1));
  assert.match(f[0]?.message ?? '', /DCCP/);
});

test('did-you-mean fix renames the key', () => {
  const text = 'net.netfilter.nf_conntrack_tcp_timeout_establised = 3600\n';
  const f = lint(text).find((x) => x.code === 'unknown-key');
  assert.match(f?.message ?? '', /Did you mean `net\.netfilter\.nf_conntrack_tcp_timeout_established`/);
  const fix = f?.fixes.find((x) => x.preferred);
  assert.ok(fix);
  assert.equal(applyTextEdits(text, fix.edits), 'net.netfilter.nf_conntrack_tcp_timeout_established = 3600\n');
});

test('inline comment fix moves the comment above and keeps the value', () => {
  const text = '  net.netfilter.nf_conntrack_max = 262144 # raised after outage\n';
  const f = lint(text).find((x) => x.code === 'inline-comment');
  // one-number key: applied as 262144 by accident, so a warning that says so
  assert.equal(f?.severity, 'warning');
  assert.match(f?.message ?? '', /applies 262144 and never reads the rest/);
  const fix = f?.fixes[0];
  assert.ok(fix?.preferred);
  assert.equal(applyTextEdits(text, fix.edits), '  # raised after outage\n  net.netfilter.nf_conntrack_max = 262144\n');
  // After the fix the file is clean.
  assert.equal(lint(applyTextEdits(text, fix.edits)).length, 0);
});

test('inline comment: the severity and the message say which case the line is in', () => {
  const one = (text: string): LintFinding | undefined => {
    const f = lint(text);
    return f.find((x) => x.code === 'inline-comment');
  };
  // a string key stores the comment as part of its value: a real failure
  const str = one('kernel.domainname = example.com ; note\n');
  assert.equal(str?.severity, 'error');
  assert.match(str?.message ?? '', /stores `example\.com ; note`, comment included/);
  // glued to the number: refused
  const glued = one('net.netfilter.nf_conntrack_udp_timeout = 45#glued\n');
  assert.equal(glued?.severity, 'error');
  assert.match(glued?.message ?? '', /refuses the value \(Invalid argument\)/);
  // a two-number key given one number and a comment: the comment is read as the second number
  const short = one('net.ipv4.ip_local_port_range = 20000 # x\n');
  assert.equal(short?.severity, 'error');
  assert.match(short?.message ?? '', /takes 2 numbers and the comment is read as number 2/);
  // the same key with both numbers: applied, fragile
  const full = one('net.ipv4.ip_local_port_range = 20000 60999 # x\n');
  assert.equal(full?.severity, 'warning');
  assert.match(full?.message ?? '', /applies 20000 60999/);
  // one-number key: applied
  const est = one('net.netfilter.nf_conntrack_tcp_timeout_established = 7200 # raised\n');
  assert.equal(est?.severity, 'warning');
  assert.match(est?.message ?? '', /applies 7200/);
});

test('shorthand values get a did-you-mean number', () => {
  const f = lint('net.netfilter.nf_conntrack_udp_timeout = 30s\n').find((x) => x.code === 'not-an-integer');
  assert.match(f?.message ?? '', /Did you mean 30\?/);
  const g = lint('net.netfilter.nf_conntrack_max = 256k\n').find((x) => x.code === 'not-an-integer');
  assert.match(g?.message ?? '', /262144/);
});

test('duplicate: the earlier line is dead (unnecessary) and removing it is the fix', () => {
  const text = 'vm.swappiness = 1\nvm.swappiness = 10\n';
  const f = lint(text).find((x) => x.code === 'duplicate-key');
  assert.equal(f?.unnecessary, true);
  assert.equal(applyTextEdits(text, f?.fixes[0]?.edits ?? []), 'vm.swappiness = 10\n');
});

test('a later line the kernel refuses does not make the earlier line dead; one it applies does', () => {
  const refused = lint('net.netfilter.nf_conntrack_max = 131072\nnet.netfilter.nf_conntrack_max = 262144#raised\n');
  assert.ok(!has(refused, 'duplicate-key'));
  assert.ok(has(refused, 'inline-comment', 2));
  const applied = lint('net.netfilter.nf_conntrack_max = 131072\nnet.netfilter.nf_conntrack_max = 262144 # raised\n');
  assert.ok(has(applied, 'duplicate-key', 1));
});

test('established timeout under table pressure becomes an error', () => {
  const text = 'net.netfilter.nf_conntrack_tcp_timeout_established = 432000\n';
  assert.equal(lint(text).find((x) => x.code === 'established-timeout-long')?.severity, 'warning');
  const hot = lint(text, { context: { usagePercent: 92 } }).find((x) => x.code === 'established-timeout-long');
  assert.equal(hot?.severity, 'error');
  assert.match(hot?.message ?? '', /92\.0 % full/, 'the one usage format (core/format.ts)');
});

test('memory finding shows its arithmetic and a budget-capped fix', () => {
  const f = lint('net.netfilter.nf_conntrack_max = 4194304\n', { context: { memTotalBytes: 8 * GiB, slabObjSize: 256 } }).find((x) => x.code === 'max-exceeds-memory');
  assert.ok(f);
  assert.match(f.message, /256 B per entry \(slabinfo\)/);
  assert.match(f.message, /5 %/);
  const capped = Number(f.fixes[0]?.edits[0]?.newText);
  assert.ok(capped > 1_000_000 && capped < 4194304, String(capped));
  assert.ok(capped * (256 + 8) <= 0.05 * 8 * GiB);
});

test('suppression comment on the line before silences exactly that code', () => {
  const text = '# conntrack-doctor: disable=tcp-loose-off\nnet.netfilter.nf_conntrack_tcp_loose = 0\nnet.netfilter.nf_conntrack_checksum = 0\n';
  const f = lint(text);
  assert.ok(!has(f, 'tcp-loose-off'));
  assert.ok(has(f, 'checksum-off', 3));
  const other = lint('# conntrack-doctor: disable=checksum-off\nnet.netfilter.nf_conntrack_tcp_loose = 0\n');
  assert.ok(has(other, 'tcp-loose-off', 2));
});

test('buckets fix moves the value to modprobe.d', () => {
  const text = 'net.netfilter.nf_conntrack_buckets = 131072\n';
  const f = lint(text).find((x) => x.code === 'buckets-via-sysctl');
  const fix = f?.fixes[0];
  assert.deepEqual(fix?.files, [{ path: '/etc/modprobe.d/nf_conntrack.conf', content: 'options nf_conntrack hashsize=131072\n' }]);
  assert.equal(applyTextEdits(text, fix?.edits ?? []), '');
});

test('boot persistence is not judged without boot facts, and not for built-in conntrack', () => {
  const text = 'net.netfilter.nf_conntrack_max = 262144\n';
  assert.ok(!has(lint(text), 'module-not-loaded-at-boot'));
  assert.ok(!has(lint(text, { boot: { modulesLoad: [], modprobe: [], conntrackBuiltin: true } }), 'module-not-loaded-at-boot'));
  const f = lint(text, { boot: { modulesLoad: [], modprobe: [] } }).find((x) => x.code === 'module-not-loaded-at-boot');
  assert.deepEqual(f?.fixes[0]?.files?.map((x) => x.path), ['/etc/modules-load.d/nf_conntrack.conf']);
  // a module that depends on nf_conntrack loads it too
  assert.ok(!has(lint(text, { boot: { modulesLoad: [{ path: '/etc/modules-load.d/fw.conf', content: 'xt_conntrack\n' }], modprobe: [] } }), 'module-not-loaded-at-boot'));
});

test('hash chains: buckets from modprobe.d hashsize count too', () => {
  const f = lintFiles([{ path: P, content: 'net.netfilter.nf_conntrack_max = 2097152\n' }], {
    boot: { modulesLoad: [{ path: '/etc/modules', content: 'nf_conntrack\n' }], modprobe: [{ path: '/etc/modprobe.d/ct.conf', content: 'options nf_conntrack hashsize=65536\n' }] },
  });
  const h = f.find((x) => x.code === 'hash-chains-long');
  assert.match(h?.message ?? '', /hashsize= in \/etc\/modprobe\.d\/ct\.conf/);
});

test('drift only for the line that wins', () => {
  const files: SysctlFile[] = [
    { path: '/etc/sysctl.d/10-a.conf', content: 'net.netfilter.nf_conntrack_max = 100000\n' },
    { path: '/etc/sysctl.d/20-b.conf', content: 'net.netfilter.nf_conntrack_max = 262144\n' },
  ];
  const f = lintFiles(files, { context: { liveValues: new Map([['net.netfilter.nf_conntrack_max', '65536']]) } }).filter((x) => x.code === 'drift');
  assert.deepEqual(f.map((x) => x.path), ['/etc/sysctl.d/20-b.conf']);
});

test('every finding carries a doc link to its rule', () => {
  for (const f of lint('net.netfilter.nf_conntrack_max = 0\nnet.netfilter.nf_conntrack_tcp_loose = 0\n')) {
    assert.deepEqual(f.doc, { page: 'rules.md', anchor: f.code });
  }
});

test('the full example tree from the README gives the expected findings and nothing else', () => {
  // A clean, typical file gives nothing at all: no noise.
  const clean = [
    '# conntrack sizing for a 16 GiB proxy',
    'net.netfilter.nf_conntrack_max = 524288',
    'net.netfilter.nf_conntrack_tcp_timeout_established = 86400',
    'net.netfilter.nf_conntrack_tcp_timeout_time_wait = 30',
    'net.ipv4.ip_local_port_range = 10240 65000',
    'vm.swappiness = 10',
    '',
  ].join('\n');
  assert.deepEqual(lint(clean, { context: { memTotalBytes: 16 * GiB } }), []);
});

test('drift is not reported for global keys inside a network namespace (they cannot be applied there)', () => {
  const live = new Map([['net.netfilter.nf_conntrack_max', '262144'], ['net.netfilter.nf_conntrack_tcp_loose', '1']]);
  const text = 'net.netfilter.nf_conntrack_max = 131072\nnet.netfilter.nf_conntrack_tcp_loose = 0\n';
  const f = lint(text, { context: { liveValues: live, initialNetns: false } });
  assert.deepEqual(f.filter((x) => x.code === 'drift').map((x) => x.range.startLine + 1), [2]);
  assert.ok(has(f, 'global-key-in-netns', 1));
  const host = lint(text, { context: { liveValues: live, initialNetns: true } });
  assert.deepEqual(host.filter((x) => x.code === 'drift').map((x) => x.range.startLine + 1), [1, 2]);
});
