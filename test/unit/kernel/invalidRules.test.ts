import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invalidRulesReportSchema, parseIptablesSaveInvalidRules, parseNftInvalidRules } from '../../../src/core/kernel/invalidRules';
import { captured, err, ok } from './samples';

test('nft -a list ruleset (captured): every ct state invalid form, with handles, verdicts and counters', () => {
  const c = captured('nft_-a_list_ruleset');
  const report = ok(parseNftInvalidRules(c.stdout, c.stderr));
  invalidRulesReportSchema.parse(report);
  const brief = report.rules.map((r) => `${r.family} ${r.table} ${r.chain} #${r.handle ?? '-'} ${r.negated ? '!' : ''}${r.states.join(',')} → ${r.verdict}${r.verdictText === undefined ? '' : ` (${r.verdictText})`} ${r.counter === undefined ? 'no-counter' : `${r.counter.packets}/${r.counter.bytes}`}`);
  assert.deepEqual(brief, [
    'inet ctd input #5 invalid → drop 0/0',
    'inet ctd forward #13 invalid,established,related → drop no-counter',
    'inet ctd forward #14 invalid → reject 0/0',
    'inet ctd forward #15 invalid,untracked → none 0/0',
    'inet ctd forward #16 !invalid → accept 0/0',
    'ip6 ctd6 input #3 invalid → other (jump invalid6) 0/0',
    'ip filter INPUT #2 invalid → drop 0/0',
    'ip filter INPUT #5 invalid,related → other (jump CTD_LOG) 0/0',
    'ip filter CTD_LOG #4 invalid → none 0/0',
    'ip filter FORWARD #7 !invalid → accept 0/0',
    'ip mangle PREROUTING #2 invalid,untracked → drop 25/1000',
    'ip6 filter INPUT #2 invalid → reject 0/0',
  ]);
  assert.deepEqual(report.tablesManagedByIptablesNft.sort(), ['ip filter', 'ip mangle', 'ip6 filter']);
  assert.equal(report.rules.find((r) => r.table === 'ctd')?.managedByIptablesNft, false);
  assert.equal(report.rules.find((r) => r.table === 'mangle')?.managedByIptablesNft, true);
});

test('nft: sets/maps inside rules, quoted strings, multi-line rule, no -a', () => {
  const text = [
    'table inet filter {',
    '\tmap m {',
    '\t\ttype ipv4_addr : verdict',
    '\t\telements = { 10.0.0.1 : drop,',
    '\t\t\t     10.0.0.2 : accept }',
    '\t}',
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy drop;',
    '\t\tct state { established, related, invalid } counter packets 10 bytes 600 accept',
    '\t\tct state invalid log prefix "drop me { " drop',
    '\t\tct state vmap {',
    '\t\t\tinvalid : jump bad, established : accept }',
    '\t\ttcp dport 22 accept',
    '\t}',
    '}',
  ].join('\n');
  const report = ok(parseNftInvalidRules(text));
  assert.deepEqual(
    report.rules.map((r) => [r.states.join(','), r.verdict, r.verdictText ?? '', r.handle ?? 'none']),
    [
      ['established,related,invalid', 'accept', '', 'none'],
      ['invalid', 'drop', '', 'none'],
      ['invalid,established', 'other', 'jump bad', 'none'],
    ],
  );
  assert.equal(report.rules[0]?.counter?.packets, 10);
  assert.equal(report.rules[0]?.managedByIptablesNft, undefined, 'unknown without nft warnings');
});

test('nft: an empty ruleset is valid; truncated or non-nft output is an error', () => {
  assert.deepEqual(ok(parseNftInvalidRules('')).rules, []);
  assert.equal(err(parseNftInvalidRules('table inet filter {\n\tchain input {\n')).kind, 'malformed');
  assert.equal(err(parseNftInvalidRules('Error: Could not process rule: Operation not permitted\n')).kind, 'malformed');
});

test('iptables-save -c (iptables-nft, captured): tables, counters, negation, state match, legacy warning', () => {
  const c = captured('iptables-save_-c');
  const report = ok(parseIptablesSaveInvalidRules(c.stdout, c.stderr));
  assert.equal(report.legacyTablesPresent, true);
  assert.equal(report.backend, 'nf_tables');
  const brief = report.rules.map((r) => `${r.family} ${r.table} ${r.chain} ${r.match} ${r.negated ? '!' : ''}${r.states.join(',')} → ${r.verdict}${r.verdictText === undefined ? '' : ` (${r.verdictText})`} ${r.counter?.packets}/${r.counter?.bytes}`);
  assert.deepEqual(brief, [
    'ip mangle PREROUTING conntrack invalid,untracked → drop 25/1000',
    'ip filter INPUT conntrack invalid → drop 0/0',
    'ip filter INPUT conntrack invalid,related → other (CTD_LOG) 0/0',
    'ip filter FORWARD conntrack !invalid → accept 0/0',
    'ip filter CTD_LOG state invalid → other (LOG) 0/0',
  ]);
});

test('iptables-legacy-save -c and ip6tables-save -c (captured)', () => {
  const legacy = captured('iptables-legacy-save_-c');
  const l = ok(parseIptablesSaveInvalidRules(legacy.stdout, legacy.stderr));
  assert.equal(l.backend, 'legacy');
  assert.equal(l.legacyTablesPresent, false);
  assert.deepEqual(l.rules.map((r) => [r.table, r.chain, r.verdict]), [['filter', 'INPUT', 'drop']]);
  const v6 = captured('ip6tables-save_-c');
  const r6 = ok(parseIptablesSaveInvalidRules(v6.stdout, v6.stderr));
  assert.equal(r6.rules[0]?.family, 'ip6');
  assert.equal(r6.rules[0]?.verdict, 'reject');
  assert.equal(r6.rules[0]?.match, 'state');
});

test('iptables -S -v: counters as -c N M, warning on stderr', () => {
  const c = captured('iptables_-S_-v');
  const report = ok(parseIptablesSaveInvalidRules(c.stdout, c.stderr));
  assert.equal(report.legacyTablesPresent, true);
  assert.equal(report.rules.length, 4);
  assert.deepEqual(report.rules[0]?.counter, { packets: 0, bytes: 0 });
});

test('iptables-save: old `--state ! INVALID` syntax, goto, no counters, no verdict', () => {
  const text = ['*filter', '-A INPUT -m state --state ! INVALID -j ACCEPT', '-A INPUT -m conntrack --ctstate NEW,INVALID -g QUARANTINE', '-A INPUT -m conntrack --ctstate INVALID', '-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT', 'COMMIT'].join('\n');
  const report = ok(parseIptablesSaveInvalidRules(text));
  assert.deepEqual(
    report.rules.map((r) => [r.negated, r.verdict, r.verdictText ?? '', r.counter === undefined]),
    [
      [true, 'accept', '', true],
      [false, 'other', 'goto QUARANTINE', true],
      [false, 'none', '', true],
    ],
  );
  assert.equal(report.backend, undefined);
});

test('iptables-save: not iptables-save output is an error; an empty ruleset is fine', () => {
  assert.equal(err(parseIptablesSaveInvalidRules('iptables-save: command not found\n')).kind, 'malformed');
  assert.deepEqual(ok(parseIptablesSaveInvalidRules('')).rules, []);
});
