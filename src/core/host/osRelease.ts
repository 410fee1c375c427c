/**
 * Which distribution a host runs (`/etc/os-release`, os-release(5): KEY=value lines, values
 * optionally quoted) and how a missing program is installed there. Only what the advice needs.
 */
export interface OsRelease {
  id?: string | undefined;
  /** ID_LIKE: the distributions this one derives from, closest first */
  idLike: string[];
  prettyName?: string | undefined;
}

export function parseOsRelease(text: string): OsRelease {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m?.[1]) continue;
    let v = (m[2] ?? '').trim();
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) v = v.slice(1, -1);
    values.set(m[1], v.replace(/\\(["'$`\\])/g, '$1'));
  }
  const id = values.get('ID')?.toLowerCase();
  const prettyName = values.get('PRETTY_NAME');
  return {
    ...(id ? { id } : {}),
    idLike: (values.get('ID_LIKE') ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    ...(prettyName ? { prettyName } : {}),
  };
}

/** Package managers by distribution id (ID or one of ID_LIKE), with the package that holds `conntrack`. */
const INSTALLERS: readonly { readonly ids: readonly string[]; readonly conntrack: string }[] = [
  { ids: ['debian', 'ubuntu'], conntrack: 'apt-get install conntrack' },
  { ids: ['fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'ol', 'amzn'], conntrack: 'dnf install conntrack-tools (yum on older releases)' },
  { ids: ['opensuse', 'suse', 'sles', 'opensuse-leap', 'opensuse-tumbleweed'], conntrack: 'zypper install conntrack-tools' },
  { ids: ['alpine'], conntrack: 'apk add conntrack-tools' },
  { ids: ['arch'], conntrack: 'pacman -S conntrack-tools' },
  { ids: ['openwrt'], conntrack: 'opkg install conntrack' },
];

/** How to install the conntrack program on this distribution (as root), or undefined when unknown. */
export function conntrackInstallCommand(os: OsRelease | undefined): string | undefined {
  if (!os) return undefined;
  for (const id of [os.id, ...os.idLike]) {
    const hit = INSTALLERS.find((i) => id !== undefined && i.ids.includes(id));
    if (hit) return hit.conntrack;
  }
  return undefined;
}

/** The sentence for a missing conntrack program: the host's own install command when known. */
export function conntrackInstallAdvice(os: OsRelease | undefined): string {
  const cmd = conntrackInstallCommand(os);
  return cmd ? `install it: ${cmd}${os?.prettyName ? ` (${os.prettyName})` : ''}` : 'install the conntrack program (package conntrack or conntrack-tools) with the host\'s package manager';
}
