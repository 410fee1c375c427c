/**
 * Builds a named fix for a host from its snapshot and the user's parameters (CLI `apply`,
 * the extension's palette commands). Validation happens in the builders, before any argv.
 */
import type { Fix, FixId } from '../fix/model';
import { raiseMax, setBuckets, setSysctl, setConntrackTimeout, loadModuleAtBoot } from '../fix/sysctlFixes';
import { deleteEntries, flushTable, type EntryFilter, type OwnConnection } from '../fix/entriesFixes';
import { invalidDropRule } from '../fix/invalidRule';
import { applySysctlFile } from '../fix/applyFile';
import { ValidationError } from '../fix/validate';
import { lookupKey } from '../sysctl/catalog';
import { ESTABLISHED_KEY } from '../facts';
import { recommendBuckets, recommendEstablishedTimeout, recommendMax } from './recommend';
import { firewallPersistence, firewallTarget, liveInt, noFirewallTool, modprobeContent, moduleState, sysctlHost } from './adapters';
import type { HostSnapshot } from './snapshot';
import { conntrackInstallAdvice } from './osRelease';
import { withImpact } from './impact';

export const FIX_IDS: readonly FixId[] = ['raise-max', 'set-buckets', 'set-timeout', 'set-sysctl', 'load-module-at-boot', 'delete-entries', 'flush-table', 'invalid-drop-rule', 'apply-file'];

export interface FixParams {
  /** New value (raise-max, set-buckets, set-timeout, set-sysctl); default: the recommendation. */
  readonly value?: string | number;
  /** Key for set-timeout / set-sysctl (dotted, e.g. net.netfilter.nf_conntrack_tcp_timeout_established). */
  readonly key?: string;
  readonly filter?: EntryFilter;
  /** How many entries the filter matches now (counted on the host before deleting). */
  readonly expectedCount?: number;
  readonly ipv6?: boolean;
  /** apply-file: the sysctl file on the host whose conntrack settings are applied at runtime. */
  readonly path?: string;
  /** apply-file: only this 0-based line. */
  readonly line?: number;
  /** delete-entries / flush-table: the tool's own SSH connection ($SSH_CONNECTION), kept in the table. */
  readonly ownConnection?: OwnConnection;
  /** delete-entries / flush-table: go ahead although established connections will be dropped (asked again). */
  readonly evenIfConnectionsDrop?: boolean;
}

/**
 * Why deleting entries would cut established connections on this host, from the snapshot:
 * with nf_conntrack_tcp_loose = 0 the next packet of a connection whose entry is gone is
 * INVALID (no mid-stream pickup), and an INVALID drop/reject rule then drops it — ufw's
 * default. Undefined when the snapshot shows no such combination.
 */
export function connectionsDropOnDelete(s: HostSnapshot): string | undefined {
  if (s.sysctl?.['net.netfilter.nf_conntrack_tcp_loose'] !== '0') return undefined;
  const rule = s.firewall?.invalidRules?.find((r) => r.verdict === 'drop' || r.verdict === 'reject');
  if (!rule) return undefined;
  return `nf_conntrack_tcp_loose is 0 and ${rule.backend} drops INVALID packets (${rule.table} ${rule.chain}: ${rule.text.trim()}): every established TCP connection whose entry is deleted becomes INVALID at its next packet and is ${rule.verdict === 'drop' ? 'dropped' : 'rejected'} — other SSH sessions included`;
}

function refuseIfConnectionsDrop(s: HostSnapshot, id: string, p: FixParams): void {
  const why = connectionsDropOnDelete(s);
  if (why === undefined || p.evenIfConnectionsDrop) return;
  const own = p.ownConnection ? 'this tool\'s own session is kept' : 'this tool\'s own session could not be identified, so it may be cut before the change is read back and recorded';
  throw new ValidationError('tcp_loose', `${id} refused: ${why}; ${own}. Set nf_conntrack_tcp_loose to 1 first, or confirm that these connections may drop (CLI: --even-if-connections-drop). Nothing was changed.`);
}

/** Fixes that run the conntrack program (counting, deleting, flushing entries). */
const NEEDS_CONNTRACK_PROGRAM: ReadonlySet<string> = new Set(['delete-entries', 'flush-table']);

/**
 * Refuses, before anything runs on the host, a fix whose program the host does not have —
 * instead of a fix that fails half-way (a count that cannot run, a flush after a backup).
 */
export function assertFixRunnable(s: HostSnapshot, id: string): void {
  if (NEEDS_CONNTRACK_PROGRAM.has(id) && s.missingPrograms?.includes('conntrack')) {
    throw new ValidationError('conntrack', `${id} runs the conntrack program, which is not installed on this host; ${conntrackInstallAdvice(s.osRelease)} (nothing was changed)`);
  }
}

/** The fix, with what it frees computed from the same snapshot (impact.ts). */
export function buildHostFix(s: HostSnapshot, id: string, p: FixParams = {}): Fix {
  return withImpact(buildFix(s, id, p), { snapshot: s, ...(p.expectedCount !== undefined ? { counted: p.expectedCount } : {}) });
}

function buildFix(s: HostSnapshot, id: string, p: FixParams): Fix {
  assertFixRunnable(s, id);
  switch (id) {
    case 'raise-max': {
      if (s.max === undefined) throw new ValidationError('max', 'nf_conntrack_max could not be read on this host');
      const value = p.value ?? recommendMax({ currentMax: s.max, observedPeak: Math.max(s.count ?? 0, s.max), memTotalBytes: s.memTotalBytes, slabObjSize: s.slabObjSize, cpus: s.cpus }).value;
      return raiseMax({ ...sysctlHost(s), value, current: s.max, ...(s.slabObjSize ? { objsize: s.slabObjSize } : {}), ...(s.buckets ? { buckets: s.buckets } : {}) });
    }
    case 'set-buckets': {
      if (s.buckets === undefined) throw new ValidationError('buckets', 'nf_conntrack_buckets could not be read on this host');
      const value = p.value ?? recommendBuckets(s.max ?? s.buckets, s.buckets).value;
      return setBuckets({ ...moduleState(s), value, current: s.buckets, modprobeContent: modprobeContent(s), files: s.sysctlFiles ?? [] });
    }
    case 'set-timeout':
    case 'set-sysctl': {
      const key = p.key ?? (id === 'set-timeout' ? ESTABLISHED_KEY : undefined);
      if (key === undefined) throw new ValidationError('key', 'give the sysctl key to set (--key)');
      const info = lookupKey(key);
      if (id === 'set-timeout' && info?.unit !== 'seconds') throw new ValidationError('key', `${key} is not a conntrack timeout`);
      const current = liveInt(s, key);
      if (current === undefined) throw new ValidationError('key', `${key} does not exist on this host (or could not be read)`);
      const rec = key === ESTABLISHED_KEY ? recommendEstablishedTimeout(current) : undefined;
      const value = p.value ?? rec?.value;
      if (value === undefined) throw new ValidationError('value', `give the new value for ${key} (--value)`);
      const tradeOff = rec?.caveats[0] ?? (info?.unit === 'seconds' ? 'A shorter timeout frees entries sooner; flows idle for longer than it lose their state.' : `Changes ${key} from ${current}.`);
      const input = { ...sysctlHost(s), key, value, current, tradeOff };
      return id === 'set-timeout' ? setConntrackTimeout(input) : setSysctl(input);
    }
    case 'load-module-at-boot':
      return loadModuleAtBoot(moduleState(s));
    case 'delete-entries': {
      if (!p.filter) throw new ValidationError('filter', 'give at least a source, destination or protocol');
      if (p.expectedCount === undefined) throw new ValidationError('expectedCount', 'count the matching entries first');
      refuseIfConnectionsDrop(s, id, p);
      return deleteEntries({ filter: p.filter, expectedCount: p.expectedCount, ...(s.host ? { host: s.host } : {}), ...(p.ownConnection ? { ownConnection: p.ownConnection } : {}) });
    }
    case 'flush-table': {
      if (s.count === undefined) throw new ValidationError('count', 'the entry count could not be read on this host');
      refuseIfConnectionsDrop(s, id, p);
      return flushTable({ entryCount: s.count, ...(s.host ? { host: s.host } : {}), ...(p.ownConnection ? { ownConnection: p.ownConnection } : {}) });
    }
    case 'invalid-drop-rule': {
      const target = firewallTarget(s);
      if (!target) throw new ValidationError('firewall', noFirewallTool(s) ?? 'the firewall backend could not be detected (iptables -V / nft list tables)');
      return invalidDropRule({ target, persistence: firewallPersistence(s), ...(p.ipv6 ? { ipv6: true } : {}) });
    }
    case 'apply-file': {
      if (p.path === undefined) throw new ValidationError('path', 'give the sysctl file to apply (--path)');
      const file = s.sysctlFiles?.find((f) => f.path === p.path);
      if (file?.content === undefined) throw new ValidationError('path', `${p.path} is not a sysctl file the loaders read on this host`);
      return applySysctlFile({ path: p.path, content: file.content, live: s.sysctl ?? {}, initialNetns: s.initialNetns, ...(p.line !== undefined ? { line: p.line } : {}) });
    }
    default:
      throw new ValidationError('fix', `unknown fix "${id}"; one of: ${FIX_IDS.join(', ')}`);
  }
}
