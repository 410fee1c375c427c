/**
 * Everything known about one host at one moment: what the collector (SSH layer) fills from one
 * round trip, validated here. Every field is optional: what could not be read is missing (and
 * `unavailable` says why), never zero.
 */
import { z } from 'zod';
import { conntrackStatsSchema } from '../kernel/conntrackStats';
import { tableFullLogSchema } from '../kernel/kernelLog';
import { entrySummarySchema } from '../kernel/entrySummary';
import { unavailableItemSchema } from './unavailable';

const count = z.number().int().nonnegative();

export const invalidRuleSchema = z.object({
  /** Where the rule lives: native nft, or iptables through its nft or legacy backend. */
  backend: z.enum(['nft', 'iptables-nft', 'iptables-legacy']),
  family: z.string().optional(),
  table: z.string(),
  chain: z.string(),
  verdict: z.string(),
  packets: count.optional(),
  bytes: count.optional(),
  text: z.string(),
});
export type InvalidRule = z.infer<typeof invalidRuleSchema>;

export const firewallSchema = z.strictObject({
  /** Backend of the `iptables` command on PATH. */
  iptablesBackend: z.enum(['nf_tables', 'legacy']).optional(),
  iptablesVersion: z.string().optional(),
  alternativesMode: z.enum(['auto', 'manual']).optional(),
  /** Non-empty /proc/net/ip_tables_names: legacy tables exist in this netns. */
  legacyTables: z.array(z.string()).optional(),
  /** nft tables, as `family name` (e.g. `inet filter`, `ip filter`). */
  nftTables: z.array(z.string()).optional(),
  /** The input chain native nft rules live in, when one was found (`inet filter input`). */
  nftInputChain: z.object({ family: z.string(), table: z.string(), chain: z.string() }).optional(),
  invalidRules: z.array(invalidRuleSchema).optional(),
  /** What persists the firewall on this host. */
  persistence: z.enum(['nftables-conf', 'netfilter-persistent', 'iptables-services', 'firewalld', 'ufw', 'none']).optional(),
  /** Content of /etc/nftables.conf when it exists and is readable (a regular file). */
  nftablesConf: z.string().optional(),
});
export type Firewall = z.infer<typeof firewallSchema>;

export const externalOwnersSchema = z.strictObject({
  kubeProxy: z.boolean().optional(),
  kubeProxyMode: z.string().optional(),
  cilium: z.boolean().optional(),
  calicoEbpf: z.boolean().optional(),
});

export const configFileSchema = z.object({ path: z.string(), content: z.string() });

export const hostSnapshotSchema = z.strictObject({
  /** Client clock, ms since the epoch, when the snapshot's output arrived. */
  takenAt: z.number(),
  /** Host's seconds since boot when the snapshot was taken (for rates across reboots). */
  uptimeSeconds: z.number().nonnegative().optional(),
  host: z.string().optional(),
  kernelRelease: z.string().optional(),
  /** false inside a container / non-initial network namespace. */
  initialNetns: z.boolean().optional(),
  netnsInode: count.optional(),
  /** Live net.netfilter.* values (and net.nf_conntrack_max), dotted keys. */
  sysctl: z.record(z.string(), z.string()).optional(),
  /** Every key the host's kernel has (for unknown-key verdicts). */
  liveKeys: z.array(z.string()).optional(),
  count: count.optional(),
  max: count.optional(),
  buckets: count.optional(),
  counters: conntrackStatsSchema.optional(),
  slabObjSize: z.number().int().positive().optional(),
  memTotalBytes: z.number().int().positive().optional(),
  cpus: z.number().int().positive().optional(),
  conntrackModule: z.enum(['module', 'builtin', 'absent']).optional(),
  firewall: firewallSchema.optional(),
  kernelLog: tableFullLogSchema.optional(),
  externalOwners: externalOwnersSchema.optional(),
  sysctlFiles: z.array(z.object({ path: z.string(), content: z.string().optional(), linkTarget: z.string().optional() })).optional(),
  modulesLoad: z.array(configFileSchema).optional(),
  modprobe: z.array(configFileSchema).optional(),
  /** /etc/os-release: the distribution (for install advice). */
  osRelease: z.strictObject({ id: z.string().optional(), idLike: z.array(z.string()), prettyName: z.string().optional() }).optional(),
  /** Programs the product uses that the host does not have (`command -v` failed), e.g. `conntrack`. */
  missingPrograms: z.array(z.string()).optional(),
  /** The loader this host boots with, when known. */
  loader: z.enum(['systemd', 'procps']).optional(),
  entrySummary: entrySummarySchema.optional(),
  /** A checksum of the names, mtimes and sizes of the files a full collection reads: when it changes, they are read again. */
  fingerprint: z.string().optional(),
  /** What could not be read, why (a stable code and words) and how to get it (e.g. `conntrack -S`: needs-root). */
  unavailable: z.array(unavailableItemSchema).optional(),
});
export type HostSnapshot = z.infer<typeof hostSnapshotSchema>;

export function parseSnapshot(value: unknown): HostSnapshot {
  return hostSnapshotSchema.parse(value);
}

/** count / max as a percentage; undefined when either is missing or max is 0 (unlimited). */
export function usagePercent(s: Pick<HostSnapshot, 'count' | 'max'>): number | undefined {
  if (s.count === undefined || s.max === undefined || s.max === 0) return undefined;
  return (100 * s.count) / s.max;
}
