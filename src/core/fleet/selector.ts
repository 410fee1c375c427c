/**
 * The fleet selector (`{job="node"}`, `cluster="eu",env!~"dev|test"`): label matchers that narrow
 * every fleet query. Parsed here, never pasted: a typo is a clear error before anything is sent,
 * and the matchers are rendered back in one canonical form to be merged into each query.
 */
import { ValidationError } from '../fix/validate';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

const LABEL_NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** Parses label matchers, with or without the surrounding braces. An empty text selects everything. */
export function parseSelector(text: string, field = 'selector'): LabelMatcher[] {
  let s = text.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new ValidationError(field, `${JSON.stringify(text)}: missing the closing "}"`);
    s = s.slice(1, -1);
  }
  const out: LabelMatcher[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new ValidationError(field, `${JSON.stringify(text)}: ${why} (expected label matchers like {job="node", cluster=~"eu-.*"})`);
  };
  const skipSpace = (): void => {
    while (i < s.length && /\s/.test(s[i] ?? '')) i++;
  };
  skipSpace();
  while (i < s.length) {
    LABEL_NAME.lastIndex = i;
    const m = LABEL_NAME.exec(s);
    if (!m) fail(`a label name was expected at "${s.slice(i, i + 12)}"`);
    const name = m?.[0] ?? '';
    if (name === '__name__') fail('__name__ cannot be narrowed: the fleet queries choose the metrics');
    i += name.length;
    skipSpace();
    const op = (['=~', '!~', '!=', '='] as const).find((o) => s.startsWith(o, i));
    if (!op) fail(`an operator (=, !=, =~, !~) was expected after ${name}`);
    i += op?.length ?? 0;
    skipSpace();
    const quote = s[i];
    if (quote !== '"' && quote !== "'" && quote !== '`') fail(`the value of ${name} must be quoted`);
    i++;
    let value = '';
    for (;;) {
      if (i >= s.length) fail(`the value of ${name} is not closed`);
      const c = s[i] ?? '';
      if (c === quote) break;
      if (c === '\\' && quote !== '`') {
        const e = s[i + 1] ?? '';
        const mapped = ESCAPES[e];
        if (mapped !== undefined) {
          value += mapped;
          i += 2;
          continue;
        }
        const hex = /^(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))/.exec(s.slice(i + 1));
        if (!hex) fail(`unknown escape \\${e} in the value of ${name}`);
        const code = parseInt(hex?.[1] ?? hex?.[2] ?? hex?.[3] ?? '', 16);
        if (code > 0x10ffff) fail(`escape out of range in the value of ${name}`);
        value += String.fromCodePoint(code);
        i += 1 + (hex?.[0].length ?? 0);
        continue;
      }
      if (c === '\n' && quote !== '`') fail(`the value of ${name} spans lines`);
      value += c;
      i++;
    }
    i++;
    if ((op === '=~' || op === '!~') && !isRegex(value)) fail(`the regular expression of ${name} does not compile`);
    out.push({ name, op: op ?? '=', value });
    skipSpace();
    if (i < s.length) {
      if (s[i] !== ',') fail(`"," was expected at "${s.slice(i, i + 12)}"`);
      i++;
      skipSpace();
    }
  }
  return out;
}

/** Go's RE2 and JavaScript agree on the common syntax; this catches the unbalanced ones early. */
function isRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** A PromQL double-quoted string: JSON's escapes are a subset Go (and so PromQL) reads alike. */
export function promString(value: string): string {
  return JSON.stringify(value);
}

/** The matchers as they go inside braces: `job="node",cluster=~"eu-.*"`. */
export function renderMatchers(matchers: readonly LabelMatcher[]): string {
  return matchers.map((m) => `${m.name}${m.op}${promString(m.value)}`).join(',');
}

/** The canonical, braced form for display and JSON: `{job="node"}` (or `{}`). */
export function renderSelector(matchers: readonly LabelMatcher[]): string {
  return `{${renderMatchers(matchers)}}`;
}

/** A regular expression matching exactly these strings (Prometheus anchors it). */
export function exactAlternatives(values: readonly string[]): string {
  return values.map((v) => v.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')).join('|');
}
