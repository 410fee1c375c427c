/**
 * Boot ordering for net.netfilter.* keys: /proc/sys/net/netfilter exists only once nf_conntrack
 * is loaded, and the sysctl loaders skip missing keys silently. A module list read before the
 * sysctl files are applied, naming nf_conntrack or a module that depends on it, makes the keys
 * exist in time:
 * - systemd: `modules-load.d/*.conf` (systemd-sysctl.service runs after systemd-modules-load);
 * - Debian/Alpine: /etc/modules;
 * - OpenWrt: /etc/modules-boot.d/* (preinit) and /etc/modules.d/* (any file name), loaded by
 *   /etc/init.d/boot (START=10, `load_modules /etc/modules.d/*`) before /etc/init.d/sysctl
 *   (START=11) applies /etc/sysctl.d/*.conf and /etc/sysctl.conf (openwrt/openwrt
 *   package/base-files/files/etc/init.d/boot and …/sysctl).
 */

export interface ConfigFile {
  readonly path: string;
  readonly content: string;
}

/** systemd's modules-load.d directories (only `*.conf` files count). */
const SYSTEMD_MODULES_LOAD_DIRS: readonly string[] = ['/etc/modules-load.d', '/run/modules-load.d', '/usr/local/lib/modules-load.d', '/usr/lib/modules-load.d', '/lib/modules-load.d'];
/** OpenWrt's module lists (every file counts, whatever its name). */
export const OPENWRT_MODULES_DIR = '/etc/modules.d';
const OPENWRT_MODULES_DIRS: readonly string[] = ['/etc/modules-boot.d', OPENWRT_MODULES_DIR];
/** The list the product writes on OpenWrt (every file of the directory is loaded, so the name is ours). */
export const OPENWRT_MODULES_FILE = `${OPENWRT_MODULES_DIR}/nf-conntrack`;
/** Every directory of module lists loaded at boot before the sysctl files (plus /etc/modules). */
export const MODULES_LOAD_DIRS: readonly string[] = [...SYSTEMD_MODULES_LOAD_DIRS, ...OPENWRT_MODULES_DIRS];
export const ETC_MODULES = '/etc/modules';
export const MODPROBE_DIRS: readonly string[] = ['/etc/modprobe.d', '/run/modprobe.d', '/usr/local/lib/modprobe.d', '/usr/lib/modprobe.d', '/lib/modprobe.d'];

/** The drop-in the product writes when it makes nf_conntrack load at boot. */
export const MODULES_LOAD_FILE = '/etc/modules-load.d/nf_conntrack.conf';
export const MODPROBE_FILE = '/etc/modprobe.d/nf_conntrack.conf';

/** Loading any of these loads nf_conntrack as a dependency. */
const PULLS_IN_CONNTRACK = new Set([
  'nf_conntrack', 'nf_conntrack_ipv4', 'nf_conntrack_ipv6', 'nf_conntrack_netlink', 'nf_conntrack_ftp', 'nf_conntrack_sip',
  'nf_conntrack_tftp', 'nf_conntrack_h323', 'nf_conntrack_pptp', 'nf_conntrack_irc', 'nf_conntrack_amanda', 'nf_conntrack_snmp',
  'nf_nat', 'nf_nat_ipv4', 'nf_nat_ipv6', 'nft_ct', 'nft_nat', 'nft_masq', 'nft_redir', 'xt_conntrack', 'xt_state', 'xt_nat',
  'xt_MASQUERADE', 'xt_REDIRECT', 'xt_CT', 'xt_connmark', 'xt_connlimit', 'iptable_nat', 'ip6table_nat', 'openvswitch',
]);

/** Whether a boot-time module loader reads this file (systemd reads only `*.conf` in modules-load.d). */
export function isModuleListFile(path: string): boolean {
  if (path === ETC_MODULES) return true;
  const dir = path.slice(0, path.lastIndexOf('/'));
  if (OPENWRT_MODULES_DIRS.includes(dir)) return true;
  return SYSTEMD_MODULES_LOAD_DIRS.includes(dir) && path.endsWith('.conf');
}

/** Module names a modules-load.d file (or /etc/modules) loads. Module names treat `-` and `_` alike. */
export function parseModulesLoad(content: string): string[] {
  const out: string[] = [];
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const name = line.split(/\s+/)[0];
    if (name) out.push(name.replace(/-/g, '_'));
  }
  return out;
}

export interface ModprobeOptions {
  readonly path: string;
  readonly line: number;
  readonly module: string;
  readonly params: ReadonlyMap<string, string>;
}

export function parseModprobe(path: string, content: string): ModprobeOptions[] {
  const out: ModprobeOptions[] = [];
  content.split('\n').forEach((raw, line) => {
    const words = raw.trim().split(/\s+/);
    if (words[0] !== 'options' || !words[1]) return;
    const params = new Map<string, string>();
    for (const w of words.slice(2)) {
      if (w.startsWith('#')) break;
      const eq = w.indexOf('=');
      if (eq > 0) params.set(w.slice(0, eq), w.slice(eq + 1));
    }
    out.push({ path, line, module: words[1].replace(/-/g, '_'), params });
  });
  return out;
}

export interface BootFacts {
  readonly modulesLoad: readonly ConfigFile[];
  readonly modprobe: readonly ConfigFile[];
  /** nf_conntrack compiled into the kernel: the keys exist from the start. */
  readonly conntrackBuiltin?: boolean | undefined;
}

/** The file and module that make nf_conntrack load at boot, if any. */
export function conntrackLoadedBy(boot: BootFacts): { path: string; module: string } | undefined {
  for (const f of boot.modulesLoad) {
    if (!isModuleListFile(f.path)) continue;
    const mod = parseModulesLoad(f.content).find((m) => PULLS_IN_CONNTRACK.has(m));
    if (mod) return { path: f.path, module: mod };
  }
  return undefined;
}

/** hashsize= from `options nf_conntrack hashsize=N` (the last one read wins). */
export function configuredHashsize(boot: BootFacts): { value: number; path: string; line: number } | undefined {
  let found: { value: number; path: string; line: number } | undefined;
  for (const f of boot.modprobe) {
    for (const o of parseModprobe(f.path, f.content)) {
      const v = o.module === 'nf_conntrack' ? o.params.get('hashsize') : undefined;
      if (v !== undefined && /^\d+$/.test(v)) found = { value: Number(v), path: f.path, line: o.line };
    }
  }
  return found;
}
