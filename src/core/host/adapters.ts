/**
 * A host snapshot seen through the eyes of the other core modules: the inputs of the fix
 * builders (module state, sysctl files, firewall target and persistence), and the linter's
 * host context and boot facts. Used by the diagnosis (causes/), by fixes.ts (palette and CLI
 * fixes) and by the extension's remote files, so each is built one way.
 */
import type { Fix } from '../fix/model';
import type { ConntrackModuleState, SysctlHost } from '../fix/sysctlFixes';
import type { FirewallPersistence, FirewallTarget } from '../fix/invalidRule';
import type { HostContext } from '../sysctl/lint';
import { conntrackLoadedBy, MODPROBE_FILE, MODULES_LOAD_FILE, type BootFacts } from '../sysctl/boot';
import type { HostSnapshot } from './snapshot';
import { CATALOG } from '../sysctl/catalog';
import { errorMessage } from '../format';

/** A live sysctl value as an integer (undefined when absent or not a plain integer). */
export function liveInt(s: HostSnapshot, key: string): number | undefined {
  const v = s.sysctl?.[key]?.trim();
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

export function moduleState(s: HostSnapshot): ConntrackModuleState {
  const loaded = conntrackLoadedBy({ modulesLoad: s.modulesLoad ?? [], modprobe: s.modprobe ?? [] });
  const existing = s.modulesLoad?.find((f) => f.path === MODULES_LOAD_FILE)?.content;
  return {
    conntrack: s.conntrackModule === 'builtin' ? 'builtin' : 'module',
    moduleLoadedAtBoot: loaded !== undefined,
    ...(existing !== undefined ? { modulesLoadContent: existing } : {}),
  };
}

export function sysctlHost(s: HostSnapshot): SysctlHost {
  return { ...moduleState(s), files: s.sysctlFiles ?? [], ...(s.loader ? { loadersInUse: [s.loader] } : {}) };
}

/** The content of the host's /etc/modprobe.d/nf_conntrack.conf, where the hash size is persisted. */
export function modprobeContent(s: HostSnapshot): string | undefined {
  return s.modprobe?.find((f) => f.path === MODPROBE_FILE)?.content;
}

export function firewallTarget(s: HostSnapshot): FirewallTarget | undefined {
  const fw = s.firewall;
  if (!fw) return undefined;
  const legacyPresent = (fw.legacyTables?.length ?? 0) > 0;
  const iptablesNftTables = (fw.nftTables ?? []).some((t) => t === 'ip filter' || t === 'ip6 filter');
  // A native nft input chain takes the rule unless iptables-nft manages the ip filter table;
  // legacy tables next to it are a separate firewall (reported as iptables-backend).
  if (fw.nftInputChain && !iptablesNftTables) {
    return { kind: 'nft', family: fw.nftInputChain.family, table: fw.nftInputChain.table, chain: fw.nftInputChain.chain };
  }
  if (fw.iptablesBackend === undefined) return undefined;
  return {
    kind: 'iptables',
    backend: fw.iptablesBackend,
    coexisting: legacyPresent && fw.iptablesBackend === 'nf_tables',
    ambiguous: fw.alternativesMode === undefined,
  };
}

/** The programs a drop rule can be added with. */
const FIREWALL_TOOLS = ['nft', 'iptables', 'iptables-nft', 'iptables-legacy'] as const;

/** Why no firewall rule can be offered when the host has none of the firewall programs; undefined when it has one (or it is not known). */
export function noFirewallTool(s: HostSnapshot): string | undefined {
  return FIREWALL_TOOLS.every((t) => s.missingPrograms?.includes(t)) ? `no firewall tool found on this host (none of ${FIREWALL_TOOLS.join(', ')} is installed): a drop rule cannot be added` : undefined;
}

export function firewallPersistence(s: HostSnapshot): FirewallPersistence {
  const p = s.firewall?.persistence;
  if (p === 'nftables-conf') return { kind: 'nftables-conf', content: s.firewall?.nftablesConf };
  if (p === 'netfilter-persistent' || p === 'iptables-services' || p === 'firewalld' || p === 'ufw') return { kind: p };
  return { kind: 'none' };
}

/** Builds each fix; one whose builder throws (an input failed validation) is named in `fixErrors` instead. */
export function buildFixes(...builders: readonly (() => Fix)[]): { fixes: Fix[]; fixErrors?: string[] } {
  const fixes: Fix[] = [];
  const errors: string[] = [];
  for (const build of builders) {
    try {
      fixes.push(build());
    } catch (err) {
      errors.push(errorMessage(err));
    }
  }
  return { fixes, ...(errors.length > 0 ? { fixErrors: errors } : {}) };
}

/** What the linter knows about the host the files belong to. */
export function lintHostContext(s: HostSnapshot, usagePercent: number | undefined): HostContext {
  return {
    // Without nf_conntrack its keys are missing from the live list but not unknown: the catalogue judges them.
    ...(s.liveKeys ? { liveKeys: new Set(s.conntrackModule === 'absent' ? [...s.liveKeys, ...CATALOG.keys()] : s.liveKeys) } : {}),
    ...(s.sysctl ? { liveValues: new Map(Object.entries(s.sysctl)) } : {}),
    ...(s.memTotalBytes ? { memTotalBytes: s.memTotalBytes } : {}),
    ...(s.slabObjSize ? { slabObjSize: s.slabObjSize } : {}),
    ...(s.kernelRelease ? { kernelRelease: s.kernelRelease } : {}),
    ...(s.initialNetns !== undefined ? { initialNetns: s.initialNetns } : {}),
    ...(usagePercent !== undefined ? { usagePercent } : {}),
    ...(s.buckets ? { liveBuckets: s.buckets } : {}),
  };
}

/** The boot files (modules-load.d, modprobe.d) the linter judges persistence by, when both were read. */
export function bootFacts(s: HostSnapshot): BootFacts | undefined {
  return s.modulesLoad && s.modprobe ? { modulesLoad: s.modulesLoad, modprobe: s.modprobe, conntrackBuiltin: s.conntrackModule === 'builtin' } : undefined;
}
