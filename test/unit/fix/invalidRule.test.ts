import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertNftRuleInConf, invalidDropRule, NFT_RULE_TEXT, NFT_TAG_TEXT, RULE_TAG } from '../../../src/core/fix/builders';
import { HANDLE_PLACEHOLDER } from '../../../src/core/fix/steps';
import { ValidationError } from '../../../src/core/fix/validate';

const DEBIAN_CONF = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\ttcp dport { 22, 80 } accept # web and ssh
\t}
\tchain forward {
\t\ttype filter hook forward priority filter;
\t}
}
`;

test('nft: insert with a tag, skip when the tag is listed, verify by tag, roll back by handle', () => {
  const fix = invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'filter', chain: 'input' }, persistence: { kind: 'none' } });
  assert.equal(fix.id, 'invalid-drop-rule');
  const [step] = fix.runtime;
  assert.deepEqual(step?.argv, ['nft', 'insert', 'rule', 'inet', 'filter', 'input', 'ct', 'state', 'invalid', 'counter', 'drop', 'comment', `"${RULE_TAG}"`]);
  assert.deepEqual(step?.skipIf, ['nft', 'list', 'chain', 'inet', 'filter', 'input']);
  assert.equal(step?.skipIfContains, NFT_TAG_TEXT);
  assert.deepEqual(fix.verify[0]?.expect, { kind: 'contains', value: NFT_TAG_TEXT });
  const [rb] = fix.rollback;
  assert.deepEqual(rb?.argv, ['nft', 'delete', 'rule', 'inet', 'filter', 'input', 'handle', HANDLE_PLACEHOLDER]);
  assert.deepEqual(rb?.handleFrom, { argv: ['nft', '-a', 'list', 'chain', 'inet', 'filter', 'input'], lineContains: NFT_TAG_TEXT });
  assert.match(fix.notes.join('\n'), /does not free table space/);
});

test('nft: persisted into nftables.conf as the chain’s first rule, checked with nft -c', () => {
  const fix = invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'filter', chain: 'input' }, persistence: { kind: 'nftables-conf', content: DEBIAN_CONF } });
  const [e] = fix.fileEdits;
  assert.equal(e?.path, '/etc/nftables.conf');
  assert.equal(e?.before, DEBIAN_CONF);
  assert.equal(
    e?.after,
    DEBIAN_CONF.replace('policy accept;\n', `policy accept;\n\t\t${NFT_RULE_TEXT}\n`),
  );
  assert.ok(fix.verify.some((v) => v.argv.join(' ') === 'nft -c -f /etc/nftables.conf' && v.expect.kind === 'exit-zero'));
  // already there: no edit
  const again = invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'filter', chain: 'input' }, persistence: { kind: 'nftables-conf', content: e?.after ?? '' } });
  assert.deepEqual(again.fileEdits, []);
});

test('nftables.conf editing: right table family, empty chains, CRLF, and refusal when not line-editable', () => {
  const twoTables = 'table ip filter {\n  chain input {\n    type filter hook input priority 0;\n    accept\n  }\n}\ntable inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n  }\n}\n';
  assert.equal(
    insertNftRuleInConf(twoTables, 'inet', 'filter', 'input', 'R'),
    twoTables.replace('policy drop;\n', 'policy drop;\n    R\n'),
  );
  // `table filter` means family ip
  assert.equal(insertNftRuleInConf('table filter {\n\tchain INPUT {\n\t}\n}\n', 'ip', 'filter', 'INPUT', 'R'), 'table filter {\n\tchain INPUT {\n\t\tR\n\t}\n}\n');
  assert.equal(insertNftRuleInConf('table inet t {\r\n chain c {\r\n  type filter hook input priority 0\r\n  ct state established accept\r\n }\r\n}', 'inet', 't', 'c', 'R'), 'table inet t {\r\n chain c {\r\n  type filter hook input priority 0\r\n  R\r\n  ct state established accept\r\n }\r\n}');
  // a chain name inside a comment or a string is not a chain
  assert.equal(insertNftRuleInConf('# table inet filter { chain input {\n', 'inet', 'filter', 'input', 'R'), undefined);
  // one-line chain, rule on the declaration line, missing chain, include-only file
  assert.equal(insertNftRuleInConf('table inet filter {\n chain input { type filter hook input priority 0; }\n}\n', 'inet', 'filter', 'input', 'R'), undefined);
  assert.equal(insertNftRuleInConf('table inet filter {\n chain input { type filter hook input priority 0; accept\n }\n}\n', 'inet', 'filter', 'input', 'R'), undefined);
  assert.equal(insertNftRuleInConf(DEBIAN_CONF, 'inet', 'filter', 'output', 'R'), undefined);
  assert.equal(insertNftRuleInConf('include "/etc/nftables.d/*.nft"\n', 'inet', 'filter', 'input', 'R'), undefined);
  // a nested set in an earlier chain does not confuse the depth
  const sets = 'table inet filter {\n set allowed { type ipv4_addr; elements = { 10.0.0.1 } }\n chain output {\n  ip daddr @allowed accept\n }\n chain input {\n  type filter hook input priority 0;\n }\n}\n';
  assert.equal(insertNftRuleInConf(sets, 'inet', 'filter', 'input', 'R'), sets.replace('priority 0;\n', 'priority 0;\n  R\n'));
});

test('nft: a conf file that cannot be edited gives a note, not a broken edit', () => {
  const fix = invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'filter', chain: 'input' }, persistence: { kind: 'nftables-conf', content: 'include "/etc/nft/*.nft"\n' } });
  assert.deepEqual(fix.fileEdits, []);
  assert.match(fix.notes.join('\n'), /by hand/);
});

test('iptables: -C as skipIf, -I … 1, tagged, -w, verify with -C, rollback -D; ip6tables when asked', () => {
  const fix = invalidDropRule({ target: { kind: 'iptables', backend: 'nf_tables' }, persistence: { kind: 'none' }, ipv6: true });
  const spec = ['-m', 'conntrack', '--ctstate', 'INVALID', '-m', 'comment', '--comment', RULE_TAG, '-j', 'DROP'];
  assert.deepEqual(fix.runtime.map((s) => [s.argv, s.skipIf]), [
    [['iptables', '-w', '-I', 'INPUT', '1', ...spec], ['iptables', '-w', '-C', 'INPUT', ...spec]],
    [['ip6tables', '-w', '-I', 'INPUT', '1', ...spec], ['ip6tables', '-w', '-C', 'INPUT', ...spec]],
  ]);
  assert.deepEqual(fix.verify.map((v) => [v.argv[0], v.expect.kind]), [['iptables', 'exit-zero'], ['ip6tables', 'exit-zero']]);
  assert.deepEqual(fix.rollback.map((s) => s.argv), [['iptables', '-w', '-D', 'INPUT', ...spec], ['ip6tables', '-w', '-D', 'INPUT', ...spec]]);
});

test('iptables: explicit backend binary when both backends coexist; netfilter-persistent saves via stdoutTo', () => {
  const fix = invalidDropRule({ target: { kind: 'iptables', backend: 'legacy', coexisting: true, chain: 'FORWARD' }, persistence: { kind: 'netfilter-persistent' }, ipv6: true });
  assert.deepEqual(fix.runtime.map((s) => s.argv.slice(0, 4)), [
    ['iptables-legacy', '-w', '-I', 'FORWARD'],
    ['ip6tables-legacy', '-w', '-I', 'FORWARD'],
    ['iptables-legacy-save'],
    ['ip6tables-legacy-save'],
  ]);
  assert.deepEqual(fix.runtime.slice(2).map((s) => s.stdoutTo), ['/etc/iptables/rules.v4', '/etc/iptables/rules.v6']);
  assert.match(fix.notes.join('\n'), /both exist/);
  const ambiguous = invalidDropRule({ target: { kind: 'iptables', backend: 'nf_tables', ambiguous: true }, persistence: { kind: 'iptables-services' } });
  assert.deepEqual(ambiguous.runtime.map((s) => [s.argv[0], s.stdoutTo]), [['iptables-nft', undefined], ['iptables-nft-save', '/etc/sysconfig/iptables']]);
});

test('firewalld/ufw: no raw rule, a note', () => {
  for (const kind of ['firewalld', 'ufw'] as const) {
    const fix = invalidDropRule({ target: { kind: 'iptables', backend: 'nf_tables' }, persistence: { kind } });
    assert.deepEqual([fix.runtime, fix.fileEdits, fix.rollback], [[], [], []]);
    assert.match(fix.notes[0] ?? '', new RegExp(kind));
  }
});

test('hostile table/chain/family names are refused', () => {
  const bad = (target: Parameters<typeof invalidDropRule>[0]['target'], field: string): void => {
    assert.throws(() => invalidDropRule({ target, persistence: { kind: 'none' } }), (e: unknown) => e instanceof ValidationError && e.field === field);
  };
  bad({ kind: 'nft', family: 'inet', table: 'filter; flush ruleset', chain: 'input' }, 'table');
  bad({ kind: 'nft', family: 'inet', table: 'filter', chain: '$(reboot)' }, 'chain');
  bad({ kind: 'nft', family: 'netdev', table: 'filter', chain: 'input' }, 'family');
  bad({ kind: 'iptables', backend: 'nf_tables', chain: '-F' }, 'chain');
  assert.throws(
    () => invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'f', chain: 'c' }, persistence: { kind: 'nftables-conf', path: '/etc/../x', content: '' } }),
    (e: unknown) => e instanceof ValidationError && e.field === 'persistence.path',
  );
});
