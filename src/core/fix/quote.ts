/**
 * THE quoting function for commands sent to a remote POSIX shell (sshd runs the user's shell
 * with `-c <command>`). Every argv element becomes exactly one word with exactly its bytes:
 * single quotes make everything literal in sh/dash/bash/ash/zsh, and a `'` inside is written as
 * `'\''` (close, escaped quote, reopen).
 *
 * Words made only of `[A-Za-z0-9_@%+=:,./-]` stay unquoted for readability, except:
 *  - a word that looks like an assignment (`NAME=…`): in command position the shell would
 *    set a variable instead of running a command;
 *  - a word starting with `=`: zsh expands `=cmd` to the path of cmd.
 * `~`, globs, braces, `$`, backticks, `!`, `#`, whitespace and every non-ASCII character are
 * always quoted.
 *
 * Refused (QuoteError): a NUL character (an argv element is a C string and cannot contain one),
 * a lone UTF-16 surrogate (has no UTF-8 encoding, so the bytes the host gets would differ), and
 * a rendered command longer than MAX_COMMAND_BYTES (Linux refuses any single exec argument,
 * here the `-c` string, longer than 128 KiB: E2BIG).
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
  if (SAFE_WORD.test(arg) && !ASSIGNMENT.test(arg) && !arg.startsWith('=')) return arg;
  return `'${arg.replaceAll("'", "'\\''")}'`;
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
