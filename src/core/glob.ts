/**
 * glob(3) / fnmatch(3) patterns, the one implementation in the project: sysctl.d glob keys
 * (systemd-sysctl and procps match them with fnmatch) and the ssh config's Include (glob(3),
 * matched one path segment at a time by io/ssh/configFiles.ts). OpenSSH's own Host/Match
 * patterns are another language (`*` and `?` only, comma lists, `!`): io/ssh/patterns.ts.
 *
 *   `*` any run of characters, `?` one character, `[...]` one of a class (`a-z` ranges; `!` or
 *   `^` first negates; a `]` first is a member, as in fnmatch), `\x` the character x itself.
 *   A `[` without its `]` is a plain character.
 */

/** True when the text has a glob character (`*`, `?` or `[`). */
export function hasGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

/** The pattern as an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern.charAt(i);
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern.charAt(++i));
    else if (ch === '[') {
      const cls = bracket(pattern, i);
      if (cls === undefined) re += '\\[';
      else {
        re += cls.source;
        i = cls.end;
      }
    } else re += escapeRegExp(ch);
  }
  return new RegExp(`^${re}$`, 's');
}

/** Does the whole text match the pattern? */
export function globMatch(pattern: string, text: string): boolean {
  return globToRegExp(pattern).test(text);
}

function escapeRegExp(ch: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(ch) ? `\\${ch}` : ch;
}

/** The class starting at `[` (index `open`) as a regexp class, and the index of its `]`. */
function bracket(pattern: string, open: number): { source: string; end: number } | undefined {
  let i = open + 1;
  const negated = pattern[i] === '!' || pattern[i] === '^';
  if (negated) i++;
  let members = '';
  let first = true;
  for (; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === ']' && !first) return { source: `[${negated ? '^' : ''}${members}]`, end: i };
    first = false;
    if (c === '\\' && i + 1 < pattern.length) members += `\\${pattern.charAt(++i)}`;
    else if (c === '-' && members !== '' && pattern[i + 1] !== ']') members += '-';
    else members += /[\]\\^[-]/.test(c) ? `\\${c}` : c;
  }
  return undefined;
}
