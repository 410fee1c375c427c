/**
 * A small YAML emitter for the playbooks we export: block mappings and sequences, comments, and
 * scalars in the plainest style that reads back as the same string under YAML 1.1 (PyYAML, which
 * Ansible uses) and YAML 1.2 (yamllint, ansible-lint). It only writes; it never parses.
 *
 * Why our own: the output must be what a person commits (comments where they help, literal
 * blocks for file contents, `!unsafe` for text Ansible must not template) and pass ansible-lint
 * (its yamllint rules: 2-space indentation, lines ≤ 160, no trailing spaces, `true`/`false`).
 * The tests read every emitted document back with Ansible's own loader.
 *
 * Scalar styles, first that fits: plain (no indicator, not a YAML 1.1/1.2 bool/null/number/
 * timestamp look-alike), double-quoted (no `"` or `\`), single-quoted (no `'`), a literal block
 * `|` (multi-line text without trailing blanks, control characters or over-long lines),
 * else double-quoted with escapes, folded at escaped line breaks so no line is too long.
 */

/** Text Ansible must take as it is, never as a Jinja template (`!unsafe`). */
export class Unsafe {
  constructor(readonly text: string) {}
}

/** Comment lines written before a mapping entry or a sequence item. */
export class Commented {
  constructor(
    readonly comment: readonly string[],
    readonly node: YamlNode,
  ) {}
}

/** A sequence of scalars written on one line (`[a, "-b"]`) when it fits, else as a block. */
export class Flow {
  constructor(readonly items: readonly YamlScalar[]) {}
}

export type YamlScalar = string | number | boolean | null | Unsafe;
export type YamlNode = YamlScalar | readonly YamlNode[] | YamlMapping | Commented | Flow;
/** Entries in insertion order; `undefined` values are left out. */
export interface YamlMapping {
  readonly [key: string]: YamlNode | undefined;
}

const INDENT = '  ';
/** ansible-lint's yamllint line-length limit is 160; stay well below. */
export const MAX_LINE = 150;

/** Words YAML 1.1 (PyYAML) or 1.2 would read as a bool or null when plain. */
const RESERVED = /^(?:y|n|yes|no|true|false|on|off|null|~)$/i;
/** Plain text that could read as a number, a date, a sexagesimal or `.inf` in YAML 1.1 or 1.2. */
const NUMERIC_LOOK = /^[-+]?(?:[0-9]|\.[0-9]|\.(?:inf|nan)$)/i;
const PLAIN_FIRST = /^[A-Za-z_/(]/;
const PLAIN_CHARS = /^[A-Za-z0-9_ ./(),=+%@$^~<>;`'"!?*&|-]*$/;

function isPrintable(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ud800-\udfff]/.test(text);
}

/** True when `text` can be written without quotes and reads back as the same string. */
export function isPlainSafe(text: string): boolean {
  if (text.length === 0 || text.length > MAX_LINE) return false;
  if (!PLAIN_FIRST.test(text) || !PLAIN_CHARS.test(text)) return false;
  if (RESERVED.test(text) || NUMERIC_LOOK.test(text)) return false;
  if (text !== text.trim()) return false;
  if (text.includes(': ') || text.includes(' #') || text.endsWith(':')) return false;
  if (text.includes('{{') || text.includes('{%')) return false; // never reached: braces are not plain chars
  return true;
}

/** Each character of `text` as it is written inside double quotes (an escape or itself). */
function escapedUnits(text: string): string[] {
  const units: string[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') units.push('\\"');
    else if (ch === '\\') units.push('\\\\');
    else if (ch === '\n') units.push('\\n');
    else if (ch === '\t') units.push('\\t');
    else if (ch === '\r') units.push('\\r');
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) units.push(`\\x${code.toString(16).padStart(2, '0')}`);
    else if (code === 0x2028 || code === 0x2029 || code === 0xfeff || (code >= 0xd800 && code <= 0xdfff)) units.push(`\\u${code.toString(16).padStart(4, '0')}`);
    else units.push(ch);
  }
  return units;
}

function doubleQuoted(text: string): string {
  return `"${escapedUnits(text).join('')}"`;
}

/**
 * A double-quoted scalar cut into lines that end before MAX_LINE: the first one after `used`
 * columns, the others at `indent`. A single space between two other characters becomes the line
 * break (YAML folds it back into one space); where there is none, the line ends in an escaped
 * line break (`\` then newline: nothing is added to the value), and a space that would start the
 * next line is written `\ ` (folding strips it).
 */
function foldedDoubleQuoted(text: string, indent: string, used: number): string {
  const units = ['"', ...escapedUnits(text), '"'];
  if (used + units.join('').length <= MAX_LINE) return units.join('');
  const lines: string[] = [];
  let start = 0;
  while (start < units.length) {
    // Room for this line's text and its trailing backslash.
    const room = Math.max(16, MAX_LINE - (lines.length === 0 ? used : indent.length) - 1);
    let len = 0;
    let end = start;
    while (end < units.length && len + (units[end] ?? '').length <= room) len += (units[end++] ?? '').length;
    if (end === start) end = start + 1; // a unit longer than the room still moves on
    if (end >= units.length) {
      lines.push(units.slice(start).join(''));
      break;
    }
    // The last lone space in this line's range (not the first unit: a line is never empty).
    let space = -1;
    for (let k = end - 1; k > start; k--) {
      if (units[k] === ' ' && units[k - 1] !== ' ' && units[k + 1] !== ' ' && units[k + 1] !== undefined) {
        space = k;
        break;
      }
    }
    if (space !== -1 && space - start >= room / 3) {
      lines.push(units.slice(start, space).join(''));
      start = space + 1;
    } else {
      lines.push(`${units.slice(start, end).join('')}\\`);
      if (units[end] === ' ') units[end] = '\\ ';
      start = end;
    }
  }
  return lines.map((l, i) => (i === 0 ? l : indent + l)).join('\n');
}

/** A literal block (`|`) is exact for this text at this indentation. */
function literalFits(text: string, indent: string): boolean {
  if (!text.includes('\n') || !isPrintable(text)) return false;
  if (text.includes('\r')) return false;
  const body = text.replace(/\n+$/, '');
  if (body.length === 0) return false;
  const lines = body.split('\n');
  // Trailing blanks break yamllint's trailing-spaces rule; an all-blank line cannot carry spaces.
  if (lines.some((l) => /[ \t]$/.test(l))) return false;
  if (lines.some((l) => indent.length + INDENT.length + l.length > MAX_LINE)) return false;
  return true;
}

function literalBlock(text: string, indent: string): string {
  const trailing = /\n*$/.exec(text)?.[0].length ?? 0;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = text.slice(0, text.length - trailing);
  const lines = body.split('\n');
  // An explicit indentation indicator when the first text line starts with a blank (else the
  // block's indentation would be guessed from it).
  const firstText = lines.find((l) => l.length > 0) ?? '';
  const indicator = /^[ \t]/.test(firstText) ? String(INDENT.length) : '';
  const inner = indent + INDENT;
  const out = lines.map((l) => (l.length === 0 ? '' : inner + l));
  for (let i = 1; i < trailing; i++) out.push('');
  return `|${indicator}${chomp}\n${out.join('\n')}`;
}

/**
 * The scalar as it appears after `key: ` or `- ` of a node at `indent`, whose first line already
 * has `used` columns (default: `- ` at indent).
 */
export function scalar(value: YamlScalar, indent = '', used = indent.length + 2): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (value instanceof Unsafe) return `!unsafe ${stringScalar(value.text, indent, false, used + '!unsafe '.length)}`;
  return stringScalar(value, indent, true, used);
}

function stringScalar(text: string, indent: string, allowPlain: boolean, used: number): string {
  if (allowPlain && isPlainSafe(text) && used + text.length <= MAX_LINE) return text;
  const oneLine = !text.includes('\n') && !text.includes('\r') && isPrintable(text);
  if (oneLine && used + text.length + 2 <= MAX_LINE) {
    if (!text.includes('"') && !text.includes('\\')) return `"${text}"`;
    if (!text.includes("'")) return `'${text}'`;
  }
  if (literalFits(text, indent)) return literalBlock(text, indent);
  return foldedDoubleQuoted(text, indent + INDENT, used);
}

const KEY_PLAIN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function key(k: string): string {
  if (KEY_PLAIN.test(k) && isPlainSafe(k)) return k;
  if (!k.includes('\n') && isPrintable(k) && !k.includes('"') && !k.includes('\\')) return `"${k}"`;
  return doubleQuoted(k);
}

/**
 * Comment lines. Every YAML line break (CR, NEL, LS, PS too) starts a new comment line, so no
 * text can leave the comment; other control characters are written as escapes.
 */
function commentLines(lines: readonly string[], indent: string): string[] {
  const out: string[] = [];
  for (const raw of lines) {
    for (const line of raw.split(/\r\n|[\n\r\u0085\u2028\u2029]/)) {
      const text = [...line].map((ch) => (isPrintable(ch) ? ch : (escapedUnits(ch)[0] ?? '?'))).join('').replace(/[\t ]+$/, '');
      out.push(text.length === 0 ? `${indent}#` : `${indent}# ${text}`);
    }
  }
  return out;
}

function isCollection(node: YamlNode): node is readonly YamlNode[] | YamlMapping {
  return typeof node === 'object' && node !== null && !(node instanceof Unsafe) && !(node instanceof Commented) && !(node instanceof Flow);
}

/** A scalar inside `[…]`: plain when that is safe there too (no `,`), else quoted. */
function flowItem(value: YamlScalar): string | undefined {
  if (typeof value === 'string' && isPlainSafe(value) && !value.includes(',')) return value;
  const text = value instanceof Unsafe ? value.text : value;
  if (typeof text !== 'string') return scalar(value);
  if (text.includes('\n') || text.includes('\r') || !isPrintable(text)) return undefined;
  const quoted = !text.includes('"') && !text.includes('\\') ? `"${text}"` : doubleQuoted(text);
  return value instanceof Unsafe ? `!unsafe ${quoted}` : quoted;
}

/** The flow form of `node` when it fits on a line of `room` characters. */
function flowLine(node: Flow, room: number): string | undefined {
  const items = node.items.map(flowItem);
  if (items.some((x) => x === undefined)) return undefined;
  const line = `[${items.join(', ')}]`;
  return line.length <= room ? line : undefined;
}

function entries(map: YamlMapping): [string, YamlNode][] {
  return Object.entries(map).filter((e): e is [string, YamlNode] => e[1] !== undefined);
}

/** Lines of a node placed in block context at `indent` (a mapping's entries or a sequence's items). */
function blockLines(node: YamlNode, indent: string): string[] {
  if (Array.isArray(node)) {
    const items = node as readonly YamlNode[];
    const out: string[] = [];
    for (const item of items) {
      const { comments, value } = unwrap(item, MAX_LINE - indent.length - 2);
      out.push(...commentLines(comments, indent));
      if (isCollection(value) && !isEmpty(value)) {
        // The first line of the nested block goes on the dash line.
        const inner = blockLines(value, indent + INDENT);
        const firstIdx = inner.findIndex((l) => !l.trimStart().startsWith('#'));
        const comments = inner.slice(0, firstIdx);
        out.push(...comments.map((c) => `${indent}${c.slice(indent.length)}`));
        out.push(`${indent}- ${(inner[firstIdx] ?? '').slice(indent.length + INDENT.length)}`, ...inner.slice(firstIdx + 1));
      } else {
        // A block scalar of a sequence item is indented from the dash (PyYAML: the indicator counts from the dash's column).
        out.push(`${indent}- ${inline(value, indent, indent.length + 2)}`);
      }
    }
    return out;
  }
  const out: string[] = [];
  for (const [k, raw] of entries(node as YamlMapping)) {
    const { comments, value } = unwrap(raw, MAX_LINE - indent.length - key(k).length - 2);
    out.push(...commentLines(comments, indent));
    if (isCollection(value) && !isEmpty(value)) {
      out.push(`${indent}${key(k)}:`, ...blockLines(value, indent + INDENT));
    } else {
      out.push(`${indent}${key(k)}: ${inline(value, indent, indent.length + key(k).length + 2)}`);
    }
  }
  return out;
}

/** The node without its comments (collected), and a flow list that does not fit as a block list. */
function unwrap(node: YamlNode, room: number): { comments: string[]; value: YamlNode } {
  const comments: string[] = [];
  let value = node;
  while (value instanceof Commented) {
    comments.push(...value.comment);
    value = value.node;
  }
  if (value instanceof Flow && flowLine(value, room) === undefined) value = value.items;
  return { comments, value };
}

function isEmpty(node: readonly YamlNode[] | YamlMapping): boolean {
  return Array.isArray(node) ? node.length === 0 : entries(node as YamlMapping).length === 0;
}

/** A scalar, or an empty collection, written after `key: ` / `- `. */
function inline(node: YamlNode, indent: string, used: number): string {
  if (node instanceof Commented) return inline(node.node, indent, used);
  if (node instanceof Flow) {
    const line = flowLine(node, Number.MAX_SAFE_INTEGER);
    if (line === undefined) throw new Error('a flow list that cannot be written on one line reached inline()');
    return line;
  }
  if (Array.isArray(node)) return '[]';
  if (isCollection(node)) return '{}';
  return scalar(node, indent, used);
}

/** One YAML document: `---`, the leading comment lines, the root collection, a final newline. */
export function yamlDocument(root: readonly YamlNode[] | YamlMapping, leadingComments: readonly string[] = []): string {
  const lines = ['---', ...commentLines(leadingComments, ''), ...(isEmpty(root) ? [Array.isArray(root) ? '[]' : '{}'] : blockLines(root, ''))];
  return `${lines.join('\n')}\n`;
}
