/**
 * Pure edits of sysctl.conf / sysctl.d content, as whole new content (for FileEdit) or as
 * TextEdit ranges (for editor quick fixes). Both come from one plan, so they always agree.
 *
 * Setting a key:
 *  - the LAST active assignment of the key (the one the loader applies) gets the new value in
 *    place: prefix, key spelling, spacing and line terminator stay as written;
 *  - earlier assignments of the key in the same file are dead lines; they are commented out
 *    with a note naming the line that now sets the key (nothing is deleted);
 *  - a value that carried a would-be inline comment (`65536 # old`, which sysctl writes as part
 *    of the value) loses it from the value; the comment text moves to its own line above;
 *  - when the key is absent, `key = value` is appended (optionally under a comment line);
 *  - a new file starts with a header comment.
 * The file's line terminator (LF or CRLF) and its final newline (present or not) are kept, and
 * no value is ever followed by an inline comment. Keys compare in canonical dotted form, so
 * `net/netfilter/nf_conntrack_max` and the alias `net.nf_conntrack_max` count as the same key.
 */
import type { TextEdit } from './model';
import { MAX_VALUE_LENGTH, inlineCommentOffset, parseSysctl, type Assignment, type SysctlDocument } from '../sysctl/syntax';
import { canonicalKey } from '../sysctl/catalog';
import { normalizeKey } from '../sysctl/keys';
import { ValidationError, validateSingleLine, validateSysctlKey } from './validate';

export const DEFAULT_HEADER: readonly string[] = [
  'Written by Conntrack Doctor. One `key = value` per line; sysctl has no inline comments.',
  'net.netfilter.* keys exist only once nf_conntrack is loaded: see /etc/modules-load.d/nf_conntrack.conf.',
];

export interface SetKeyOptions {
  /** Comment line(s) written above an appended assignment (who/why). */
  readonly comment?: string | readonly string[];
  /** Header comment lines for a new file (default DEFAULT_HEADER; [] for none). */
  readonly header?: readonly string[];
}

export interface SysctlEditPlan {
  /** The whole new content. */
  readonly content: string;
  /** The same change as ranges over the old content. */
  readonly edits: readonly TextEdit[];
  /** 0-based line of the assignment that sets the key in the new content. */
  readonly line: number;
  /** 0-based lines (in the new content) that were commented out. */
  readonly commentedOut: readonly number[];
}

function validateValue(value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError('value', 'a sysctl value may not be empty');
  validateSingleLine('value', value);
  if (value !== value.trim()) throw new ValidationError('value', 'a sysctl value may not start or end with blanks (the loaders trim them)');
  if (value.length > MAX_VALUE_LENGTH) throw new ValidationError('value', `a sysctl value is limited to ${MAX_VALUE_LENGTH} characters`);
  if (inlineCommentOffset(value) !== -1) {
    throw new ValidationError('value', `${JSON.stringify(value)} looks like a value with an inline comment; sysctl would write the comment too`);
  }
  return value;
}

function asLines(comment: string | readonly string[] | undefined, field: string): string[] {
  if (comment === undefined) return [];
  const list = typeof comment === 'string' ? [comment] : [...comment];
  return list.map((c) => {
    const text = validateSingleLine(field, c).trim();
    return text.length === 0 ? '#' : `# ${text}`;
  });
}

function keyMatcher(key: string): (a: Assignment) => boolean {
  const want = canonicalKey(validateSysctlKey('key', key));
  return (a) => !a.glob && canonicalKey(a.normalizedKey) === want;
}

function docOf(content: string): SysctlDocument {
  // An empty file has no lines (parseSysctl would report one blank line).
  if (content === '') return { lines: [], eol: '\n', finalNewline: true };
  return parseSysctl(content);
}

/** Per old line: what replaces it (one or more lines). Unlisted lines stay. */
type LineRewrite = { readonly before: readonly string[]; readonly text: string };

function render(doc: SysctlDocument, rewrites: ReadonlyMap<number, LineRewrite>, appended: readonly string[]): { content: string; map: number[] } {
  const out: string[] = [];
  const map: number[] = []; // old line → new line index of its (rewritten) text
  for (const l of doc.lines) {
    const r = rewrites.get(l.line);
    if (r) out.push(...r.before);
    map.push(out.length);
    out.push(r ? r.text : l.text);
  }
  out.push(...appended);
  const body = out.join(doc.eol);
  return { content: out.length > 0 && doc.finalNewline ? body + doc.eol : body, map };
}

function appendEdit(doc: SysctlDocument, appended: readonly string[]): TextEdit {
  const n = doc.lines.length;
  if (n === 0) return { range: { startLine: 0, startCol: 0, endLine: 0, endCol: 0 }, newText: appended.join(doc.eol) + doc.eol };
  if (doc.finalNewline) {
    return { range: { startLine: n, startCol: 0, endLine: n, endCol: 0 }, newText: appended.join(doc.eol) + doc.eol };
  }
  const last = doc.lines[n - 1];
  const col = last?.text.length ?? 0;
  return { range: { startLine: n - 1, startCol: col, endLine: n - 1, endCol: col }, newText: doc.eol + appended.join(doc.eol) };
}

/** The smallest single edit turning one line into another (the editor keeps the cursor and undo tidy). */
function minimalLineEdit(line: number, from: string, to: string): TextEdit {
  let p = 0;
  while (p < from.length && p < to.length && from[p] === to[p]) p++;
  let q = 0;
  while (q < from.length - p && q < to.length - p && from[from.length - 1 - q] === to[to.length - 1 - q]) q++;
  return { range: { startLine: line, startCol: p, endLine: line, endCol: from.length - q }, newText: to.slice(p, to.length - q) };
}

function lineEdits(doc: SysctlDocument, rewrites: ReadonlyMap<number, LineRewrite>): TextEdit[] {
  const edits: TextEdit[] = [];
  for (const [line, r] of [...rewrites].sort((a, b) => a[0] - b[0])) {
    const old = doc.lines[line];
    if (!old) continue;
    if (r.before.length > 0) {
      edits.push({ range: { startLine: line, startCol: 0, endLine: line, endCol: 0 }, newText: r.before.map((b) => b + doc.eol).join('') });
    }
    if (r.text !== old.text) edits.push(minimalLineEdit(line, old.text, r.text));
  }
  return edits;
}

/** The note that replaces a dead or conflicting line: `# conntrack-doctor: <why>: <line>`. */
export function commentLine(original: string, why: string): string {
  return `# conntrack-doctor: ${why}: ${original.trimStart()}`;
}

/** Plans setting `key = value` in a file (content undefined = the file does not exist yet). */
export function planSetKey(content: string | undefined, key: string, value: string, opts: SetKeyOptions = {}): SysctlEditPlan {
  const matches = keyMatcher(key);
  const v = validateValue(value);
  const dotted = normalizeKey(key);
  const commentLines = asLines(opts.comment, 'comment');
  const isNew = content === undefined;
  const doc = docOf(content ?? '');
  const hits = doc.lines.filter((l): l is Assignment => l.kind === 'assignment' && matches(l));
  const last = hits[hits.length - 1];

  if (!last) {
    const appended: string[] = [];
    if (isNew) {
      appended.push(...asLines(opts.header ?? DEFAULT_HEADER, 'header'));
      if (appended.length > 0) appended.push('');
    } else if (commentLines.length > 0 && doc.lines.length > 0 && doc.lines[doc.lines.length - 1]?.kind !== 'blank') {
      appended.push('');
    }
    appended.push(...commentLines, `${dotted} = ${v}`);
    const { content: out } = render(doc, new Map(), appended);
    const line = doc.lines.length + appended.length - 1;
    return { content: out, edits: [appendEdit(doc, appended)], line, commentedOut: [] };
  }

  // Replace the last value in place; move a would-be inline comment to its own line above.
  const off = inlineCommentOffset(last.value.text);
  const moved = off === -1 ? [] : [last.value.text.slice(off).trim()];
  const newText =
    last.value.text === ''
      ? `${last.text.slice(0, last.equals + 1)} ${v}${last.text.slice(last.equals + 1).trimStart()}`
      : last.text.slice(0, last.value.start) + v + last.text.slice(last.value.end);
  const rewrites = new Map<number, LineRewrite>([[last.line, { before: moved, text: newText }]]);
  // Earlier duplicates: commented out. Their new line numbers depend on the moved comment,
  // which only shifts lines at or after `last`, so the winner's final number is known now.
  const winnerLine = last.line + moved.length;
  for (const dup of hits.slice(0, -1)) {
    rewrites.set(dup.line, { before: [], text: commentLine(dup.text, `superseded by line ${winnerLine + 1}`) });
  }
  const { content: out, map } = render(doc, rewrites, []);
  return {
    content: out,
    edits: lineEdits(doc, rewrites),
    line: map[last.line] ?? winnerLine,
    commentedOut: hits.slice(0, -1).map((d) => map[d.line] ?? d.line),
  };
}

/** New content that sets `key = value` (see planSetKey). */
export function setKeyInContent(content: string | undefined, key: string, value: string, opts: SetKeyOptions = {}): string {
  return planSetKey(content, key, value, opts).content;
}

/** The same change as planSetKey, as ranges over `content` (for editor quick fixes). */
export function setKeyTextEdits(content: string, key: string, value: string, opts: SetKeyOptions = {}): TextEdit[] {
  return [...planSetKey(content, key, value, opts).edits];
}

export interface CommentOutPlan {
  readonly content: string;
  readonly edits: readonly TextEdit[];
  /** 0-based lines that were commented out (line numbers do not change). */
  readonly lines: readonly number[];
}

/** Comments out every active assignment of `key` (for conflicting lines in other files). */
export function planCommentOutKey(content: string, key: string, why: string): CommentOutPlan {
  const matches = keyMatcher(key);
  const reason = validateSingleLine('why', why).trim();
  const doc = docOf(content);
  const rewrites = new Map<number, LineRewrite>();
  for (const l of doc.lines) {
    if (l.kind === 'assignment' && matches(l)) rewrites.set(l.line, { before: [], text: commentLine(l.text, reason) });
  }
  if (rewrites.size === 0) return { content, edits: [], lines: [] };
  return { content: render(doc, rewrites, []).content, edits: lineEdits(doc, rewrites), lines: [...rewrites.keys()] };
}

export function commentOutKey(content: string, key: string, why: string): string {
  return planCommentOutKey(content, key, why).content;
}

export function commentOutKeyTextEdits(content: string, key: string, why: string): TextEdit[] {
  return [...planCommentOutKey(content, key, why).edits];
}

/** One implementation of text edits for the whole core (also used by the lint quick fixes). */
export { applyTextEdits } from '../textEdits';
