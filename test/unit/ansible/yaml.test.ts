/**
 * The YAML emitter's styles, exactly. That every emitted document reads back as the same data
 * under Ansible's own loader is tested against the real loader in
 * test/integration/ansibleYaml.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Commented, Flow, MAX_LINE, Unsafe, isPlainSafe, scalar, yamlDocument } from '../../../src/core/ansible/yaml';

test('plain only where YAML 1.1 and 1.2 read the same string back', () => {
  for (const s of ['sysctl', 'net.netfilter.nf_conntrack_max', '/etc/sysctl.d/90-conntrack-doctor.conf', 'Raise nf_conntrack_max to 524288', 'ansible.builtin.copy', 'a-b_c', 'preserve']) {
    assert.equal(isPlainSafe(s), true, s);
    assert.equal(scalar(s), s);
  }
  // bools and nulls of YAML 1.1 (PyYAML) and 1.2, numbers, octal modes, dates, indicators
  for (const s of ['yes', 'No', 'ON', 'off', 'y', 'n', 'true', 'False', 'null', '~', '', '0644', '10%', '1e3', '.5', '.inf', '.NaN', '12:30', '2024-01-01', '-p', '-', '?x', ':x', '#x', '!x', '&x', '*x', '|', '>', '@x', '`x', '%x', '[x', '{x', '"x', "'x", 'a: b', 'a #b', 'a:', ' lead', 'trail ', 'tab\tin', '{{ x }}', 'x{{ y }}', 'a,b[c]']) {
    assert.equal(isPlainSafe(s), false, JSON.stringify(s));
  }
});

test('quoted scalars: double quotes unless the text has " or \\, then single quotes, else escapes', () => {
  assert.equal(scalar('0644'), '"0644"');
  assert.equal(scalar('-p'), '"-p"');
  assert.equal(scalar("{{ x | default('a') }}"), `"{{ x | default('a') }}"`);
  assert.equal(scalar('comment "tag"'), 'comment "tag"', 'quotes inside a plain scalar are text');
  assert.equal(scalar('"tag" first'), `'"tag" first'`);
  assert.equal(scalar(`'it's "x"`), `"'it's \\"x\\""`);
  assert.equal(scalar('a\\1'), `'a\\1'`);
  assert.equal(scalar('bell\u0007 nul\u0000 del\u007f ls\u2028'), '"bell\\x07 nul\\x00 del\\x7f ls\\u2028"');
  assert.equal(scalar(true), 'true');
  assert.equal(scalar(false), 'false');
  assert.equal(scalar(null), 'null');
  assert.equal(scalar(0), '0');
  assert.equal(scalar(new Unsafe('plain')), '!unsafe "plain"');
  assert.equal(scalar(new Unsafe('{{ evil }}')), '!unsafe "{{ evil }}"');
  assert.throws(() => scalar(Number.NaN), /cannot write NaN/);
});

test('multi-line text: a literal block with the right chomping and indentation indicator', () => {
  const doc = (text: string): string => yamlDocument({ content: text });
  assert.equal(doc('a\nb\n'), '---\ncontent: |\n  a\n  b\n');
  assert.equal(doc('a\nb'), '---\ncontent: |-\n  a\n  b\n');
  assert.equal(doc('a\nb\n\n\n'), '---\ncontent: |+\n  a\n  b\n\n\n');
  assert.equal(doc('a\n\nb\n'), '---\ncontent: |\n  a\n\n  b\n');
  assert.equal(doc('  indented\nnext\n'), '---\ncontent: |2\n    indented\n  next\n');
  assert.equal(doc('\n\tx\n'), '---\ncontent: |2\n\n  \tx\n');
  assert.equal(yamlDocument({ content: new Unsafe('x = {{ y }}\n#z\n') }), '---\ncontent: !unsafe |\n  x = {{ y }}\n  #z\n');
  // not representable in a literal block (or not lint-clean there): double-quoted with escapes
  assert.equal(doc('trailing \nspace\n'), '---\ncontent: "trailing \\nspace\\n"\n');
  assert.equal(doc('crlf\r\nline\r\n'), '---\ncontent: "crlf\\r\\nline\\r\\n"\n');
  assert.equal(doc('\n'), '---\ncontent: "\\n"\n');
});

test('over-long text is folded at spaces (read back as one space) or at escaped line breaks', () => {
  const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
  const out = yamlDocument({ msg: `"${words}"` });
  const lines = out.split('\n');
  assert.ok(lines.length > 3, out);
  for (const l of lines) assert.ok(l.length <= MAX_LINE, `${l.length}: ${l}`);
  assert.ok(lines.slice(1, -2).every((l) => !l.endsWith(' ')), 'no trailing spaces');
  const unbroken = 'x'.repeat(400);
  const out2 = yamlDocument({ msg: `a${unbroken}` });
  assert.match(out2, /\\\n {2}x/, 'escaped line breaks where there is no space');
  for (const l of out2.split('\n')) assert.ok(l.length <= MAX_LINE);
  // a space that would start a continuation line is escaped (folding strips leading blanks)
  const spaced = `a${' '.repeat(400)}`;
  assert.ok(yamlDocument({ msg: spaced }).includes('\n  \\ '), yamlDocument({ msg: spaced }));
});

test('mappings, sequences, flow lists, comments and empty collections', () => {
  const out = yamlDocument(
    [
      new Commented(['first play', '', 'two lines'], {
        name: 'Play',
        hosts: "{{ h | default('all') }}",
        vars: {},
        tasks: [
          { name: 'A', 'ansible.builtin.command': { argv: new Flow(['sysctl', '-n', 'net.netfilter.nf_conntrack_max']) }, changed_when: false },
          { name: 'B', block: [{ name: 'C', loop: ['{{ item }}', 'x'] }], skipped: undefined },
          [],
        ],
      }),
    ],
    ['header'],
  );
  assert.equal(
    out,
    [
      '---',
      '# header',
      '# first play',
      '#',
      '# two lines',
      '- name: Play',
      `  hosts: "{{ h | default('all') }}"`,
      '  vars: {}',
      '  tasks:',
      '    - name: A',
      '      ansible.builtin.command:',
      '        argv: [sysctl, "-n", net.netfilter.nf_conntrack_max]',
      '      changed_when: false',
      '    - name: B',
      '      block:',
      '        - name: C',
      '          loop:',
      '            - "{{ item }}"',
      '            - x',
      '    - []',
      '',
    ].join('\n'),
  );
  // a flow list too long for one line becomes a block list
  const long = yamlDocument({ argv: new Flow(Array.from({ length: 40 }, (_, i) => `argument-${i}`)) });
  assert.match(long, /^argv:\n {2}- argument-0\n/m);
  // keys that are not plain are quoted
  assert.equal(yamlDocument({ '/etc/x.conf': 1, 'yes': 2, 'a b': 3 }), '---\n"/etc/x.conf": 1\n"yes": 2\n"a b": 3\n');
});
