/**
 * OpenSSH pattern matching (match.c): `*` matches any run of characters (also none), `?` exactly
 * one character, nothing else is special (no brackets, no escapes). A pattern list is
 * comma-separated; an entry starting with `!` negates: if a negated entry matches, the whole
 * list is a definite non-match, whatever else matched.
 *
 * A language of its own (Host, Match, known_hosts): glob(3) patterns such as Include's, with
 * classes and escapes, are core/glob.ts.
 */

/** One pattern against one string. Iterative (no regex, no exponential backtracking). */
export function matchPattern(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

export type ListMatch = 'match' | 'no-match' | 'negated';

/** A comma-separated pattern list (match_pattern_list). `lower` lower-cases both sides (host names). */
export function matchPatternList(text: string, list: string, lower = false): ListMatch {
  const subject = lower ? text.toLowerCase() : text;
  let positive = false;
  for (const raw of list.split(',')) {
    if (raw === '') continue;
    const negated = raw.startsWith('!');
    let pattern = negated ? raw.slice(1) : raw;
    if (lower) pattern = pattern.toLowerCase();
    if (matchPattern(subject, pattern)) {
      if (negated) return 'negated';
      positive = true;
    }
  }
  return positive ? 'match' : 'no-match';
}

/** True when the string contains a wildcard (used to tell concrete hosts from patterns). */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}
