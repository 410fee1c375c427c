/**
 * The sysctl.conf / sysctl.d line syntax, as procps-ng `sysctl -p` and systemd-sysctl read it,
 * with exact ranges so that every diagnostic and edit can point at the right characters.
 *
 * - leading blanks are ignored; `#` or `;` as first non-blank character starts a comment line
 * - `key = value`: key and value are trimmed; the value keeps inner spaces and there are
 *   NO inline comments (`= 1 # x` writes `1 # x`)
 * - `-key = value`: a failure to set this key is ignored
 * - `-key` alone: excludes the key from glob matches (sysctl.d)
 * - anything else without `=` is invalid syntax (`invalid syntax, continuing...`)
 */
import type { Range } from '../types';
import { normalizeKey } from './keys';
import { hasGlob } from '../glob';

/** sysctl.d(5) and procps limit a value to 4096 characters. */
export const MAX_VALUE_LENGTH = 4096;

export interface Span {
  readonly text: string;
  readonly start: number; // column, 0-based
  readonly end: number; // column, exclusive
}

interface LineBase {
  readonly line: number; // 0-based
  readonly text: string; // the line as written, without its line terminator
}

export interface BlankLine extends LineBase {
  readonly kind: 'blank';
}

export interface CommentLine extends LineBase {
  readonly kind: 'comment';
  /** Comment text after the `#`/`;` marker, trimmed. */
  readonly body: string;
}

export interface Assignment extends LineBase {
  readonly kind: 'assignment';
  /** Key as written (without the `-` prefix). */
  readonly key: Span;
  /** Dotted form used for comparisons (see keys.ts). */
  readonly normalizedKey: string;
  readonly value: Span;
  /** `-key = value`: failures to write are ignored by the loaders. */
  readonly ignoreFailure: boolean;
  readonly glob: boolean;
  /** Column of the `=`. */
  readonly equals: number;
}

export interface Exclusion extends LineBase {
  readonly kind: 'exclusion';
  readonly key: Span;
  readonly normalizedKey: string;
}

export interface InvalidLine extends LineBase {
  readonly kind: 'invalid';
  readonly reason: 'no-equals' | 'empty-key' | 'space-in-key';
  readonly span: Span;
}

export type SysctlLine = BlankLine | CommentLine | Assignment | Exclusion | InvalidLine;

export interface SysctlDocument {
  readonly lines: readonly SysctlLine[];
  /** The line terminator the file uses (kept when edits are written back). */
  readonly eol: '\n' | '\r\n';
  /** True when the text ended with a line terminator. */
  readonly finalNewline: boolean;
}

const isBlank = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v';

function trimSpan(text: string, start: number, end: number): Span {
  let s = start;
  let e = end;
  while (s < e && isBlank(text[s])) s++;
  while (e > s && isBlank(text[e - 1])) e--;
  return { text: text.slice(s, e), start: s, end: e };
}

export function parseLine(text: string, line: number): SysctlLine {
  let i = 0;
  while (i < text.length && isBlank(text[i])) i++;
  if (i === text.length) return { kind: 'blank', line, text };
  const first = text[i];
  if (first === '#' || first === ';') {
    return { kind: 'comment', line, text, body: text.slice(i + 1).trim() };
  }
  let ignoreFailure = false;
  let keyStart = i;
  if (first === '-') {
    ignoreFailure = true;
    keyStart = i + 1;
  }
  const eq = text.indexOf('=', keyStart);
  if (eq === -1) {
    const key = trimSpan(text, keyStart, text.length);
    if (ignoreFailure && key.text.length > 0 && !/\s/.test(key.text)) {
      return { kind: 'exclusion', line, text, key, normalizedKey: normalizeKey(key.text) };
    }
    return { kind: 'invalid', line, text, reason: 'no-equals', span: trimSpan(text, i, text.length) };
  }
  const key = trimSpan(text, keyStart, eq);
  if (key.text.length === 0) {
    return { kind: 'invalid', line, text, reason: 'empty-key', span: trimSpan(text, i, text.length) };
  }
  if (/\s/.test(key.text)) {
    return { kind: 'invalid', line, text, reason: 'space-in-key', span: key };
  }
  const value = trimSpan(text, eq + 1, text.length);
  return {
    kind: 'assignment',
    line,
    text,
    key,
    normalizedKey: normalizeKey(key.text),
    value: value.text.length === 0 ? { text: '', start: eq + 1, end: eq + 1 } : value,
    ignoreFailure,
    glob: hasGlob(key.text),
    equals: eq,
  };
}

export function parseSysctl(content: string): SysctlDocument {
  const eol = content.includes('\r\n') ? '\r\n' : '\n';
  const finalNewline = content.endsWith('\n');
  const raw = content.split('\n');
  if (finalNewline) raw.pop();
  const lines = raw.map((l, n) => parseLine(l.endsWith('\r') ? l.slice(0, -1) : l, n));
  return { lines, eol, finalNewline };
}

export function assignments(doc: SysctlDocument): Assignment[] {
  return doc.lines.filter((l): l is Assignment => l.kind === 'assignment');
}

export function spanRange(line: number, span: Span): Range {
  return { startLine: line, startCol: span.start, endLine: line, endCol: span.end };
}

export function lineRange(l: { line: number; text: string }): Range {
  return { startLine: l.line, startCol: 0, endLine: l.line, endCol: l.text.length };
}

/**
 * The position of text that looks like an inline comment inside a value (`262144 # raised`),
 * i.e. a `#` or `;` preceded by whitespace. Returns the column within the value, or -1.
 */
export function inlineCommentOffset(value: string): number {
  const m = /\s[#;]/.exec(value);
  return m ? m.index + 1 : -1;
}

/** Reads `# conntrack-doctor: disable=code1,code2` comments. */
export function suppressedCodes(line: SysctlLine | undefined): ReadonlySet<string> {
  if (line?.kind !== 'comment') return new Set();
  const m = /^conntrack-doctor:\s*disable\s*=\s*([\w,\s-]+)$/.exec(line.body);
  if (!m?.[1]) return new Set();
  return new Set(m[1].split(',').map((c) => c.trim()).filter((c) => c.length > 0));
}
