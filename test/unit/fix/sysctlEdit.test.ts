import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  applyTextEdits,
  commentOutKey,
  commentOutKeyTextEdits,
  planCommentOutKey,
  planSetKey,
  setKeyInContent,
  setKeyTextEdits,
} from '../../../src/core/fix/sysctlEdit';
import { ValidationError } from '../../../src/core/fix/validate';
import { assignments, parseSysctl } from '../../../src/core/sysctl/syntax';

const MAX = 'net.netfilter.nf_conntrack_max';

/** The value the loaders apply for `key` from this content (last assignment wins). */
function applied(content: string, key: string): string | undefined {
  const list = assignments(parseSysctl(content)).filter((a) => a.normalizedKey === key);
  return list[list.length - 1]?.value.text;
}

test('a new file gets a header and the assignment, with a final newline', () => {
  const plan = planSetKey(undefined, MAX, '262144');
  assert.match(plan.content, /^# Written by Conntrack Doctor/);
  assert.ok(plan.content.endsWith(`\n${MAX} = 262144\n`));
  assert.equal(plan.content.split('\n')[plan.line], `${MAX} = 262144`);
  assert.equal(applied(plan.content, MAX), '262144');
  assert.equal(setKeyInContent(undefined, MAX, '1', { header: [] }), `${MAX} = 1\n`);
});

test('the last assignment is changed in place, formatting kept', () => {
  const before = '# tuning\n  net.netfilter.nf_conntrack_max=65536\nvm.swappiness = 10\n';
  const after = setKeyInContent(before, MAX, '262144');
  assert.equal(after, '# tuning\n  net.netfilter.nf_conntrack_max=262144\nvm.swappiness = 10\n');
  // -key (ignore failure) keeps its prefix; a slashed spelling is the same key
  assert.equal(setKeyInContent('-net/netfilter/nf_conntrack_max =  1\n', MAX, '2'), '-net/netfilter/nf_conntrack_max =  2\n');
  // the initial-netns alias writes the same value: it is the same key
  assert.equal(setKeyInContent('net.nf_conntrack_max = 5\n', MAX, '7'), 'net.nf_conntrack_max = 7\n');
  // an empty value gets one
  assert.equal(setKeyInContent(`${MAX} =\n`, MAX, '9'), `${MAX} = 9\n`);
});

test('earlier duplicates are commented out with a note naming the winning line', () => {
  const before = `${MAX} = 1000\nvm.swappiness = 10\n${MAX} = 2000\n# end\n`;
  const plan = planSetKey(before, MAX, '262144');
  const lines = plan.content.split('\n');
  assert.equal(lines[0], `# conntrack-doctor: superseded by line 3: ${MAX} = 1000`);
  assert.equal(lines[2], `${MAX} = 262144`);
  assert.equal(plan.line, 2);
  assert.deepEqual(plan.commentedOut, [0]);
  assert.equal(assignments(parseSysctl(plan.content)).filter((a) => a.normalizedKey === MAX).length, 1);
});

test('CRLF and a missing final newline are preserved', () => {
  const crlf = `a.b = 1\r\n${MAX} = 5\r\n${MAX} = 6\r\n`;
  const out = setKeyInContent(crlf, MAX, '8');
  assert.equal(out, `a.b = 1\r\n# conntrack-doctor: superseded by line 3: ${MAX} = 5\r\n${MAX} = 8\r\n`);
  assert.equal(out.replace(/\r\n/g, '').includes('\n'), false, 'no bare LF in a CRLF file');
  const appended = setKeyInContent('a.b = 1\r\n', MAX, '8', { comment: 'why' });
  assert.equal(appended, `a.b = 1\r\n\r\n# why\r\n${MAX} = 8\r\n`);
  assert.equal(setKeyInContent('a.b = 1', MAX, '8'), `a.b = 1\n${MAX} = 8`);
  assert.equal(setKeyInContent(`${MAX} = 1`, MAX, '8'), `${MAX} = 8`);
});

test('a value carrying a would-be inline comment loses it; the text moves to its own line', () => {
  const plan = planSetKey(`${MAX} = 65536 # raised last year\n`, MAX, '262144');
  assert.equal(plan.content, `# raised last year\n${MAX} = 262144\n`);
  assert.equal(plan.line, 1);
  assert.equal(applied(plan.content, MAX), '262144');
  // with a duplicate above, the note names the shifted line
  const dup = planSetKey(`${MAX} = 1\n${MAX} = 2 ; old\n`, MAX, '3');
  assert.equal(dup.content, `# conntrack-doctor: superseded by line 3: ${MAX} = 1\n; old\n${MAX} = 3\n`);
});

test('an absent key is appended, under an optional comment', () => {
  const out = setKeyInContent('vm.swappiness = 10\n', MAX, '262144', { comment: ['Raised by Conntrack Doctor', 'table was full'] });
  assert.equal(out, `vm.swappiness = 10\n\n# Raised by Conntrack Doctor\n# table was full\n${MAX} = 262144\n`);
  assert.equal(setKeyInContent('', MAX, '1'), `${MAX} = 1\n`);
  // globs are not explicit assignments of the key
  assert.equal(setKeyInContent('net.netfilter.*_max = 5\n', MAX, '1'), `net.netfilter.*_max = 5\n${MAX} = 1\n`);
});

test('values and keys are validated: no inline comments, no line breaks, no hostile keys', () => {
  for (const bad of ['', ' 1', '1 ', '1\n2', '1 # x', '1 ; x', 'x'.repeat(4097)]) {
    assert.throws(() => setKeyInContent('', MAX, bad), (e: unknown) => e instanceof ValidationError && e.field === 'value', JSON.stringify(bad));
  }
  for (const bad of ['net..x', '../x', 'net.x;id', 'net.*']) {
    assert.throws(() => setKeyInContent('', bad, '1'), (e: unknown) => e instanceof ValidationError && e.field === 'key');
  }
  assert.throws(() => setKeyInContent('', MAX, '1', { comment: 'a\nb' }), ValidationError);
});

test('commentOutKey comments out every active assignment and nothing else', () => {
  const before = `# ${MAX} = 1\r\n${MAX} = 2\r\nvm.x = 1\r\n  -${MAX}=3\r\n`;
  const plan = planCommentOutKey(before, MAX, 'overridden by /etc/sysctl.d/90-conntrack-doctor.conf');
  assert.deepEqual(plan.lines, [1, 3]);
  assert.equal(
    plan.content,
    `# ${MAX} = 1\r\n# conntrack-doctor: overridden by /etc/sysctl.d/90-conntrack-doctor.conf: ${MAX} = 2\r\nvm.x = 1\r\n# conntrack-doctor: overridden by /etc/sysctl.d/90-conntrack-doctor.conf: -${MAX}=3\r\n`,
  );
  assert.equal(applied(plan.content, MAX), undefined);
  assert.equal(commentOutKey('vm.x = 1\n', MAX, 'x'), 'vm.x = 1\n');
  assert.deepEqual(commentOutKeyTextEdits('vm.x = 1\n', MAX, 'x'), []);
  assert.throws(() => commentOutKey('', MAX, 'two\nlines'), ValidationError);
});

test('TextEdits reproduce the whole-content result', () => {
  const cases: [string, string][] = [
    [`${MAX} = 1\nvm.x = 2\n${MAX} = 3 # c\n`, '9'],
    ['vm.x = 2', '9'],
    ['vm.x = 2\r\n', '9'],
    ['', '9'],
  ];
  for (const [content, value] of cases) {
    assert.equal(applyTextEdits(content, setKeyTextEdits(content, MAX, value, { comment: 'c' })), setKeyInContent(content, MAX, value, { comment: 'c' }));
  }
  const c = `${MAX} = 1\nvm.x = 2\n`;
  assert.equal(applyTextEdits(c, commentOutKeyTextEdits(c, MAX, 'r')), commentOutKey(c, MAX, 'r'));
  // a value edit touches only the value's columns
  assert.deepEqual(setKeyTextEdits(`  ${MAX}  =  1  \n`, MAX, '22'), [{ range: { startLine: 0, startCol: 37, endLine: 0, endCol: 38 }, newText: '22' }]);
});

test('property: for any sysctl-like file, the key ends up set once to the value and edits agree', () => {
  const line = fc.oneof(
    fc.constantFrom(`${MAX} = 1`, `${MAX}=2`, `  -${MAX} = 3`, `net/netfilter/nf_conntrack_max = 4`, `${MAX} = 5 # c`, `net.nf_conntrack_max = 6`),
    fc.constantFrom('# comment', '; other', '', '   ', 'vm.swappiness = 10', 'junk line', 'net.netfilter.*_max = 1', '-net.ipv4.x'),
  );
  const file = fc.record({ lines: fc.array(line, { maxLength: 12 }), crlf: fc.boolean(), finalNewline: fc.boolean() }).map(({ lines, crlf, finalNewline }) => {
    const eol = crlf ? '\r\n' : '\n';
    return lines.join(eol) + (finalNewline && lines.length > 0 ? eol : '');
  });
  fc.assert(
    fc.property(file, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (content, n) => {
      const plan = planSetKey(content, MAX, String(n), { comment: 'why' });
      const active = assignments(parseSysctl(plan.content)).filter((a) => a.normalizedKey === MAX || a.normalizedKey === 'net.nf_conntrack_max');
      assert.equal(active.length, 1);
      assert.equal(active[0]?.value.text, String(n));
      assert.equal(active[0]?.line, plan.line);
      assert.equal(applyTextEdits(content, plan.edits), plan.content);
      if (content.includes('\r\n')) assert.equal(/(^|[^\r])\n/.test(plan.content), false);
      if (content.length > 0) assert.equal(plan.content.endsWith('\n'), content.endsWith('\n'));
      // nothing but the key's lines changed: other lines survive in order
      const others = (s: string): string[] => s.split(/\r?\n/).filter((l) => !l.includes('nf_conntrack_max') && l !== '# why' && !/^[#;] c$|^; c$/.test(l.trim()));
      assert.deepEqual(others(plan.content).filter((l) => l !== ''), others(content).filter((l) => l !== ''));
    }),
    { numRuns: 300 },
  );
});
