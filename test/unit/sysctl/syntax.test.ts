import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSysctl, parseLine, inlineCommentOffset, suppressedCodes } from '../../../src/core/sysctl/syntax';
import { normalizeKey, keyToProcPath } from '../../../src/core/sysctl/keys';

test('comments with # and ; and blank lines', () => {
  const doc = parseSysctl('# a\n   ; b\n\n  \t\n');
  assert.deepEqual(doc.lines.map((l) => l.kind), ['comment', 'comment', 'blank', 'blank']);
});

test('key = value with exact columns, inner spaces kept, trimmed ends', () => {
  const l = parseLine('  kernel.domainname =  example.com ; note  ', 0);
  assert.equal(l.kind, 'assignment');
  if (l.kind !== 'assignment') return;
  assert.deepEqual(l.key, { text: 'kernel.domainname', start: 2, end: 19 });
  assert.deepEqual(l.value, { text: 'example.com ; note', start: 23, end: 41 });
  assert.equal(l.ignoreFailure, false);
});

test('- prefix marks ignore-failure; -key alone is an exclusion', () => {
  const a = parseLine('-net.netfilter.nf_conntrack_max = 1', 0);
  assert.equal(a.kind === 'assignment' && a.ignoreFailure, true);
  if (a.kind === 'assignment') assert.equal(a.key.start, 1);
  const e = parseLine('-net.ipv4.conf.all.rp_filter', 0);
  assert.equal(e.kind, 'exclusion');
});

test('lines without = are invalid, keys with spaces are invalid, empty key is invalid', () => {
  const l = parseLine('net.netfilter.nf_conntrack_max 262144', 3);
  assert.equal(l.kind, 'invalid');
  if (l.kind === 'invalid') assert.equal(l.reason, 'no-equals');
  const s = parseLine('net.netfilter nf_conntrack_max = 1', 0);
  assert.equal(s.kind === 'invalid' && s.reason, 'space-in-key');
  const k = parseLine(' = 5', 0);
  assert.equal(k.kind === 'invalid' && k.reason, 'empty-key');
});

test('empty value keeps a zero-width span after =', () => {
  const l = parseLine('a.b =', 0);
  assert.equal(l.kind, 'assignment');
  if (l.kind === 'assignment') assert.deepEqual(l.value, { text: '', start: 5, end: 5 });
});

test('a 4096+ character value is parsed whole', () => {
  const v = 'x'.repeat(5000);
  const l = parseLine(`kernel.x = ${v}`, 0);
  assert.equal(l.kind === 'assignment' && l.value.text.length, 5000);
});

test('CRLF files: \\r is not part of values; eol and final newline are remembered', () => {
  const doc = parseSysctl('a.b = 1\r\nc.d = 2\r\n');
  assert.equal(doc.eol, '\r\n');
  assert.equal(doc.finalNewline, true);
  const [first] = doc.lines;
  assert.equal(first?.kind === 'assignment' && first.value.text, '1');
  assert.equal(doc.lines.length, 2);
  assert.equal(parseSysctl('a.b = 1').finalNewline, false);
});

test('glob keys are recognised (matching them: test/unit/glob.test.ts)', () => {
  const l = parseLine('net.ipv4.conf.*.rp_filter = 2', 0);
  assert.equal(l.kind === 'assignment' && l.glob, true);
  const plain = parseLine('net.ipv4.conf.all.rp_filter = 2', 0);
  assert.equal(plain.kind === 'assignment' && plain.glob, false);
});

test('separator normalisation: first separator decides', () => {
  assert.equal(normalizeKey('net/netfilter/nf_conntrack_max'), 'net.netfilter.nf_conntrack_max');
  assert.equal(normalizeKey('net.netfilter.nf_conntrack_max'), 'net.netfilter.nf_conntrack_max');
  // dotted form with a slash: interface name with a dot (VLAN)
  assert.equal(normalizeKey('net.ipv4.conf.enp3s0/200.forwarding'), 'net.ipv4.conf.enp3s0/200.forwarding');
  // path form with a dot inside a component: swap back to the dotted form sysctl -a prints
  assert.equal(normalizeKey('net/ipv4/conf/enp3s0.200/forwarding'), 'net.ipv4.conf.enp3s0/200.forwarding');
  assert.equal(keyToProcPath('net.ipv4.conf.enp3s0/200.forwarding'), '/proc/sys/net/ipv4/conf/enp3s0.200/forwarding');
});

test('inline comment detection needs whitespace before the marker', () => {
  assert.equal(inlineCommentOffset('262144 # raised'), 7);
  assert.equal(inlineCommentOffset('1 ; x'), 2);
  assert.equal(inlineCommentOffset('a#b'), -1);
  assert.equal(inlineCommentOffset('262144'), -1);
});

test('suppression comments list codes', () => {
  const c = parseLine('# conntrack-doctor: disable=duplicate-key, overridden', 0);
  assert.deepEqual([...suppressedCodes(c)], ['duplicate-key', 'overridden']);
  assert.equal(suppressedCodes(parseLine('# just a comment', 0)).size, 0);
  assert.equal(suppressedCodes(parseLine('a.b = 1', 0)).size, 0);
});

test('a /proc/sys path maps back to the dotted key (inverse of keyToProcPath)', async () => {
  const { procPathToKey } = await import('../../../src/core/sysctl/keys');
  assert.equal(procPathToKey('/proc/sys/net/ipv4/conf/enp3s0.200/forwarding'), 'net.ipv4.conf.enp3s0/200.forwarding');
  assert.equal(procPathToKey(keyToProcPath('net.netfilter.nf_conntrack_max')), 'net.netfilter.nf_conntrack_max');
  assert.equal(procPathToKey('/etc/sysctl.conf'), undefined);
});
