import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { MAX_COMMAND_BYTES, QuoteError, parseQuotedLine, renderCheckedCommand, renderCommand, shellQuote } from '../../../src/core/fix/quote';

// ---------------------------------------------------------------------------------------------
// Unit cases

test('plain safe words stay unquoted for readability', () => {
  for (const w of ['-w', 'net.netfilter.nf_conntrack_max=262144', '/etc/sysctl.d/90-conntrack.conf', 'conntrack', '--orig-port-dst', '10.0.0.0/8', 'user@host:22', '100%', 'a+b,c']) {
    assert.equal(shellQuote(w), w);
  }
});

test('the empty string becomes two single quotes', () => {
  assert.equal(shellQuote(''), "''");
  assert.equal(renderCommand(['printf', '%s', '']), "printf %s ''");
});

test('shell syntax is single-quoted, with an embedded quote as \'\\\'\'', () => {
  assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
  assert.equal(shellQuote('`id`'), "'`id`'");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote('a b'), "'a b'");
  assert.equal(shellQuote('262144; reboot'), "'262144; reboot'");
  assert.equal(shellQuote('~root'), "'~root'");
  assert.equal(shellQuote('*'), "'*'");
  assert.equal(shellQuote('{a,b}'), "'{a,b}'");
  assert.equal(shellQuote('!'), "'!'");
  assert.equal(shellQuote('#x'), "'#x'");
  assert.equal(shellQuote('é'), "'é'");
  assert.equal(shellQuote('a\nb'), "'a\nb'");
});

test('a backslash or a quote is escaped outside the single quotes (fish reads \\\\ and \\\' inside them as escapes); %self is quoted (fish expands it)', () => {
  assert.equal(shellQuote('a\\b'), "'a'\\\\'b'");
  assert.equal(shellQuote('x\\'), "'x'\\\\");
  assert.equal(shellQuote("\\'"), "\\\\\\'");
  assert.equal(shellQuote('%self'), "'%self'");
  assert.equal(shellQuote('100%'), '100%');
  assert.equal(shellQuote('%s'), '%s');
});

test('assignment-looking and =-leading words are quoted (command position, zsh =cmd)', () => {
  assert.equal(shellQuote('FOO=bar'), "'FOO=bar'");
  assert.equal(shellQuote('_x1=2'), "'_x1=2'");
  assert.equal(shellQuote('=ls'), "'=ls'");
  assert.equal(renderCommand(['FOO=bar', 'x']), "'FOO=bar' x");
  // A dotted key is not a shell name, so it stays readable.
  assert.equal(shellQuote('net.netfilter.nf_conntrack_max=1'), 'net.netfilter.nf_conntrack_max=1');
});

test('NUL, lone surrogates, empty argv and over-long commands are refused', () => {
  assert.throws(() => shellQuote('a\0b'), (e: unknown) => e instanceof QuoteError && /NUL/.test(e.message));
  assert.throws(() => shellQuote('x\uD800y'), (e: unknown) => e instanceof QuoteError && /surrogate/.test(e.message));
  assert.throws(() => shellQuote('\uDC00'), QuoteError);
  assert.equal(shellQuote('\uD83D\uDE00'), "'\uD83D\uDE00'"); // a well-formed pair is fine
  assert.throws(() => renderCommand([]), QuoteError);
  assert.throws(() => renderCommand(['printf', 'x'.repeat(MAX_COMMAND_BYTES)]), (e: unknown) => e instanceof QuoteError && /limited/.test(e.message));
  assert.throws(() => renderCommand(['printf', '%s', 'ok', '\0']), QuoteError);
});

// ---------------------------------------------------------------------------------------------
// A real shell gives back the exact bytes

interface Shell {
  readonly name: string;
  readonly argv: readonly string[];
}

const SHELLS: readonly Shell[] = [
  { name: '/bin/sh (dash)', argv: ['/bin/sh', '-c'] },
  { name: 'bash', argv: ['bash', '-c'] },
  { name: 'busybox sh', argv: ['busybox', 'sh', '-c'] },
  // not POSIX, but a login shell some admins use: sshd runs the command line with it
  { name: 'fish', argv: ['fish', '--no-config', '-c'] },
];

/** Runs one `printf '%s\0' <args>` per argv array in ONE shell process (spawning is the slow part). */
function runInShell(shell: Shell, ...batches: (readonly string[])[]): Buffer {
  const [cmd, ...rest] = shell.argv;
  const script = batches.map((args) => `printf '%s\\0' ${renderCommand(args)}`).join('\n');
  const r = spawnSync(cmd ?? '', [...rest, script], { maxBuffer: 64 * 1024 * 1024 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${shell.name} is not installed: run scripts/setup.sh (it installs busybox, bash and fish)` : `${shell.name}: ${r.error.message}`);
  }
  assert.equal(r.status, 0, `${shell.name} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

function expected(...batches: (readonly string[])[]): Buffer {
  return Buffer.concat(batches.flat().flatMap((a) => [Buffer.from(a, 'utf8'), Buffer.from([0])]));
}

const HOSTILE = [
  '$(reboot)',
  '`reboot`',
  "'",
  "''",
  "'\\''",
  '"',
  '\\',
  '\\\\n',
  '\n',
  '\r\n',
  'a\nb\n',
  ';rm -rf /',
  '262144; reboot',
  '&& id',
  '| cat /etc/shadow',
  '> /tmp/x',
  '*',
  '?',
  '[a]',
  '~root',
  '~',
  '-n',
  '-e',
  '--',
  '!',
  '!!',
  '{a,b}',
  '$HOME',
  '${IFS}',
  '$\'\\x41\'',
  '#comment',
  'FOO=bar',
  '=ls',
  '%1',
  '%self',
  'a\\b',
  "\\'",
  '\t',
  ' ',
  '',
  'ünïcödé ✓ 日本語 🎉',
  '\u200B\uFEFF',
  '\u0085\u2028',
  '\x01\x1b[31m',
];
const LONG = 'x'.repeat(20000);

// Code points, not UTF-16 units: splitting '🎉' by units would make lone surrogates.
const metaChars = fc.constantFrom(...[..."'\"\\$`!*?[]{}~#;&|<>()= \t\n\r-%@:,./é🎉日"]);
const arg = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: metaChars, maxLength: 30 }) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 500, maxLength: 2000 }) },
).filter((s) => !s.includes('\0'));
const argvArb = fc.array(arg, { minLength: 1, maxLength: 16 });
/** Several argv arrays per shell process: 40 runs × ~5.5 ≈ 220 commands per shell. */
const batchArb = fc.array(argvArb, { minLength: 1, maxLength: 10 });

for (const shell of SHELLS) {
  test(`every argument comes back byte-identical from ${shell.name} (hostile set)`, () => {
    assert.deepEqual(runInShell(shell, HOSTILE, [LONG]), expected(HOSTILE, [LONG]));
  });

  test(`property: arbitrary unicode arguments come back byte-identical from ${shell.name}`, () => {
    fc.assert(
      fc.property(batchArb, (batches) => {
        const out = runInShell(shell, ...batches);
        assert.ok(out.equals(expected(...batches)), `mismatch for ${JSON.stringify(batches)}: got ${JSON.stringify(out.toString('utf8'))}`);
      }),
      { numRuns: 40 },
    );
  });
}

test('a long multi-byte argument near the limit survives', () => {
  const big = '日'.repeat(40000); // 120000 bytes
  assert.deepEqual(runInShell(SHELLS[0] ?? { name: 'sh', argv: ['/bin/sh', '-c'] }, [big]), expected([big]));
});

test('negative control: an unquoted join would NOT round-trip (the check can fail)', () => {
  const args = ['a b', '$HOME'];
  const r = spawnSync('/bin/sh', ['-c', `printf '%s\\0' ${args.join(' ')}`]);
  assert.notDeepEqual(r.stdout, expected(args));
});

test('the parse-back check: rendered hostile argv parses back to exactly argv', () => {
  const argv = ['printf', '%s\n', '$(id)', "it's", 'a"b', 'x\ny', '`id`', ';', '|', '&&', '*', '~', '$HOME', '\\', ' lead', '', "'", "''", 'NAME=v', '=cmd', '#c', '!', 'ü'];
  assert.deepEqual(parseQuotedLine(renderCommand(argv))?.words, argv);
  assert.equal(renderCheckedCommand(argv), renderCommand(argv));
});

test('the parse-back check accepts nothing but quotes, escapes and safe characters', () => {
  assert.equal(parseQuotedLine("echo 'unterminated"), undefined);
  assert.equal(parseQuotedLine('echo $(id)'), undefined);
  assert.equal(parseQuotedLine('echo a;b'), undefined);
  assert.equal(parseQuotedLine('echo "x"'), undefined);
  assert.equal(parseQuotedLine('NAME=v cmd')?.firstWordBare, 'NAME=v', 'an assignment in command position is seen');
});

test('property: every argv renderCommand accepts passes the parse-back check unchanged', () => {
  fc.assert(
    fc.property(argvArb, (argv) => {
      assert.equal(renderCheckedCommand(argv), renderCommand(argv));
    }),
    { numRuns: 500 },
  );
});
