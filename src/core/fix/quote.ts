/**
 * THE quoting function for commands sent to a remote shell (sshd runs the user's login shell
 * with `-c <command>`). Every argv element becomes exactly one word with exactly its bytes:
 * single quotes make everything literal in sh/dash/bash/ash/zsh, and each `'` or `\` is written
 * outside the quotes, backslash-escaped (`'it'\''s'`, `'a'\\'b'`). fish reads the same words:
 * inside single quotes it takes `\'` and `\\` as escapes, so no backslash is ever put there
 * (test/unit/fix/quote.test.ts runs every rendered line through dash, bash, busybox sh and fish).
 *
 * Words made only of `[A-Za-z0-9_@%+=:,./-]` stay unquoted for readability, except:
 *  - a word that looks like an assignment (`NAME=…`): in command position the shell would
 *    set a variable instead of running a command;
 *  - a word starting with `=`: zsh expands `=cmd` to the path of cmd;
 *  - `%self`: fish expands it to its pid (fish 3.6 expands no other `%` word).
 * `~`, globs, braces, `$`, backticks, `!`, `#`, whitespace and every non-ASCII character are
 * always quoted.
 *
 * Refused (QuoteError): a NUL character (an argv element is a C string and cannot contain one),
 * a lone UTF-16 surrogate (has no UTF-8 encoding, so the bytes the host gets would differ), and
 * a rendered command longer than MAX_COMMAND_BYTES (Linux refuses any single exec argument,
 * here the `-c` string, longer than 128 KiB: E2BIG).
 *
 * Second line of defence: renderCheckedCommand parses the rendered line back with a strict
 * POSIX word parser (single quotes, backslash escapes, safe characters, nothing else) and
 * refuses a line that does not give back exactly argv. The SSH runner sends nothing else.
 */

/** Linux MAX_ARG_STRLEN (32 pages) minus the terminating NUL. */
export const MAX_COMMAND_BYTES = 32 * 4096 - 1;

export class QuoteError extends Error {
  override readonly name = 'QuoteError';
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const LONE_SURROGATE = /\p{Surrogate}/u;

function describe(arg: string): string {
  const shown = arg.length > 40 ? `${arg.slice(0, 40)}…` : arg;
  return JSON.stringify(shown);
}

/** Quotes one argv element for a POSIX shell. Throws QuoteError for NUL or lone surrogates. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) {
    throw new QuoteError(`cannot pass ${describe(arg)} to a command: it contains a NUL character, which no argv element can hold`);
  }
  if (LONE_SURROGATE.test(arg)) {
    throw new QuoteError(`cannot pass ${describe(arg)} to a command: it contains a lone UTF-16 surrogate, which has no UTF-8 encoding`);
  }
  if (arg === '') return "''";
  if (SAFE_WORD.test(arg) && !ASSIGNMENT.test(arg) && !arg.startsWith('=') && arg !== '%self') return arg;
  // Runs without ' and \ single-quoted; each ' and \ backslash-escaped outside the quotes.
  // fish treats \' and \\ inside single quotes as escapes, POSIX shells do not: this way no
  // backslash is ever inside single quotes and both read the same word.
  let out = '';
  let run = '';
  for (const ch of arg) {
    if (ch === "'" || ch === '\\') {
      if (run !== '') out += `'${run}'`;
      run = '';
      out += `\\${ch}`;
    } else run += ch;
  }
  if (run !== '') out += `'${run}'`;
  return out;
}

/** Renders an argv array as one command line for a POSIX shell. */
export function renderCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new QuoteError('cannot render an empty command');
  const line = argv.map(shellQuote).join(' ');
  const bytes = new TextEncoder().encode(line).length;
  if (bytes > MAX_COMMAND_BYTES) {
    throw new QuoteError(`command is ${bytes} bytes long; a shell command line is limited to ${MAX_COMMAND_BYTES} bytes`);
  }
  return line;
}

const UNQUOTED_OK = /[A-Za-z0-9_@%+=:,./-]/;

/** Splits a line made of single-quoted strings, backslash escapes and safe characters; undefined for anything else. */
export function parseQuotedLine(line: string): { words: string[]; firstWordBare: string } | undefined {
  const words: string[] = [];
  let cur = '';
  let bare = ''; // unquoted prefix of the current word
  let quotedYet = false;
  let inWord = false;
  let firstWordBare = '';
  const endWord = (): void => {
    if (words.length === 0) firstWordBare = bare;
    words.push(cur);
    cur = '';
    bare = '';
    quotedYet = false;
    inWord = false;
  };
  for (let i = 0; i < line.length; ) {
    const c = line.charAt(i);
    if (c === ' ') {
      if (inWord) endWord();
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const j = line.indexOf("'", i + 1);
      if (j === -1) return undefined;
      cur += line.slice(i + 1, j);
      quotedYet = true;
      i = j + 1;
    } else if (c === '\\') {
      const n = line.charAt(i + 1);
      if (n === '' || n === '\n') return undefined;
      cur += n;
      quotedYet = true;
      i += 2;
    } else if (UNQUOTED_OK.test(c)) {
      cur += c;
      if (!quotedYet) bare += c;
      i++;
    } else {
      return undefined;
    }
  }
  if (inWord) endWord();
  return { words, firstWordBare };
}

/** renderCommand, then the parse-back check: refuses (QuoteError) a line that does not give back exactly argv. */
export function renderCheckedCommand(argv: readonly string[]): string {
  const line = renderCommand(argv);
  const parsed = parseQuotedLine(line);
  const same = parsed !== undefined && parsed.words.length === argv.length && parsed.words.every((w, i) => w === argv[i]);
  const assignment = parsed !== undefined && /^[A-Za-z_][A-Za-z0-9_]*=/.test(parsed.firstWordBare);
  if (!same || assignment || (parsed?.firstWordBare.startsWith('=') ?? false)) {
    throw new QuoteError(`refusing to send a command: its shell quoting does not round-trip (argv ${JSON.stringify(argv).slice(0, 200)}); this is a bug in the quoting function`);
  }
  return line;
}
