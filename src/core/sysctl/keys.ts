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
