/**
 * sysctl key spelling. procps and systemd accept `.` or `/` as separators: when the
 * first separator is `/` the key is a path and stays as written; when it is `.`, dots and
 * slashes swap (so `net.ipv4.conf.enp3s0/200.forwarding` is `net/ipv4/conf/enp3s0.200/forwarding`).
 * We compare keys in the dotted form that `sysctl -a` prints.
 */

function swapSeparators(text: string): string {
  let out = '';
  for (const ch of text) {
    out += ch === '.' ? '/' : ch === '/' ? '.' : ch;
  }
  return out;
}

/** The dotted form of a key as written in a file (`net/netfilter/x` → `net.netfilter.x`). */
export function normalizeKey(raw: string): string {
  const key = raw.replace(/^\/+/, '');
  const firstDot = key.indexOf('.');
  const firstSlash = key.indexOf('/');
  if (firstSlash !== -1 && (firstDot === -1 || firstSlash < firstDot)) {
    return swapSeparators(key);
  }
  return key;
}

/** The /proc/sys path of a dotted key. */
export function keyToProcPath(dotted: string): string {
  return `/proc/sys/${swapSeparators(dotted)}`;
}

/** The dotted key of a /proc/sys path (`/proc/sys/net/ipv4/conf/eth0.100/rp_filter` → `net.ipv4.conf.eth0/100.rp_filter`). */
export function procPathToKey(path: string): string | undefined {
  const m = /^\/proc\/sys\/(.+?)\/*$/.exec(path);
  return m?.[1] === undefined ? undefined : swapSeparators(m[1]);
}

/** True when the key is a glob pattern (sysctl.d globs: `*`, `?`, `[...]`). */
export function isGlobKey(key: string): boolean {
  return /[*?[]/.test(key);
}

/** fnmatch-style match of a dotted key against a dotted glob (no special meaning for `.`). */
export function globMatches(pattern: string, key: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close === -1) re += '\\[';
      else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  re += '$';
  try {
    return new RegExp(re).test(key);
  } catch {
    return false;
  }
}
