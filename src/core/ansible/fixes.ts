/**
 * Several fixes for one playbook, built from one host's snapshot the way `apply` would build
 * them one after the other: each fix sees the files and live values the fixes before it leave
 * (so two settings in the same drop-in become one file, the second edit starting where the
 * first ended). The builders are the ones `apply` uses (core/host/fixes.ts).
 */
import type { Fix } from '../fix/model';
import { sysctlWriteOf } from '../fix/steps';
import { ValidationError } from '../fix/validate';
import { NFTABLES_CONF } from '../fix/invalidRule';
import { buildHostFix, FIX_IDS, type FixParams } from '../host/fixes';
import type { HostSnapshot } from '../host/snapshot';
import { isLoaderPath, resolveLink } from '../sysctl/loaders';

export interface FixRequest {
  readonly id: string;
  readonly params?: FixParams;
}

/**
 * `FIX`, `FIX=VALUE` or `FIX:KEY=VALUE` (set-timeout / set-sysctl), as the `ansible` command
 * takes them: several fixes on one command line, each with its own value.
 */
export function parseFixSpec(spec: string): FixRequest {
  const m = /^([a-z-]+)(?::([^=]+))?(?:=(.*))?$/.exec(spec);
  const id = m?.[1];
  if (!m || id === undefined || !(FIX_IDS as readonly string[]).includes(id)) {
    throw new ValidationError('fix', `unknown fix "${spec}"; one of: ${FIX_IDS.join(', ')} (FIX, FIX=VALUE or set-sysctl:KEY=VALUE)`);
  }
  const key = m[2];
  const value = m[3];
  if (key !== undefined && id !== 'set-timeout' && id !== 'set-sysctl') throw new ValidationError('fix', `${id} takes no key ("${spec}")`);
  if (value !== undefined && !['raise-max', 'set-buckets', 'set-timeout', 'set-sysctl'].includes(id)) throw new ValidationError('fix', `${id} takes no value ("${spec}")`);
  if (value !== undefined && !/^[0-9]{1,10}$/.test(value)) throw new ValidationError('fix', `the value in "${spec}" must be a whole number`);
  return { id, params: { ...(key !== undefined ? { key } : {}), ...(value !== undefined ? { value } : {}) } };
}

function upsert<T extends { path: string }>(list: readonly T[] | undefined, path: string, make: (old: T | undefined) => T): T[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((f) => f.path === path);
  out.splice(i === -1 ? out.length : i, i === -1 ? 0 : 1, make(out[i === -1 ? out.length : i]));
  return out;
}

/** The snapshot as it would read after `fix` was applied (its files and its sysctl writes). */
export function snapshotAfter(s: HostSnapshot, fix: Fix): HostSnapshot {
  let next: HostSnapshot = { ...s };
  for (const e of fix.fileEdits) {
    if (isLoaderPath(e.path) || next.sysctlFiles?.some((f) => f.path === e.path)) {
      // A link (99-sysctl.conf -> ../sysctl.conf) shows its target's content.
      const files = upsert(next.sysctlFiles, e.path, (old) => ({ ...old, path: e.path, content: e.after }));
      next = { ...next, sysctlFiles: files.map((f) => (f.linkTarget !== undefined && resolveLink(f.path, f.linkTarget) === e.path ? { ...f, content: e.after } : f)) };
    }
    if (e.path.startsWith('/etc/modules-load.d/')) next = { ...next, modulesLoad: upsert(next.modulesLoad, e.path, () => ({ path: e.path, content: e.after })) };
    if (e.path.startsWith('/etc/modprobe.d/')) next = { ...next, modprobe: upsert(next.modprobe, e.path, () => ({ path: e.path, content: e.after })) };
    if (e.path === NFTABLES_CONF && next.firewall) next = { ...next, firewall: { ...next.firewall, nftablesConf: e.after } };
  }
  for (const step of fix.runtime) {
    const w = sysctlWriteOf(step);
    if (!w) continue;
    next = { ...next, sysctl: { ...next.sysctl, [w.key]: w.value } };
    if (w.key === 'net.netfilter.nf_conntrack_max') next = { ...next, max: Number(w.value) };
    if (w.key === 'net.netfilter.nf_conntrack_buckets') next = { ...next, buckets: Number(w.value) };
  }
  return next;
}

/** The fixes in order, each built on the state the ones before it leave. */
export function buildFixSequence(snapshot: HostSnapshot, requests: readonly FixRequest[]): Fix[] {
  if (requests.length === 0) throw new ValidationError('fix', `give at least one fix: ${FIX_IDS.join(', ')}`);
  const fixes: Fix[] = [];
  let s = snapshot;
  for (const r of requests) {
    const fix = buildHostFix(s, r.id, r.params ?? {});
    fixes.push(fix);
    s = snapshotAfter(s, fix);
  }
  return fixes;
}
