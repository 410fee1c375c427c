/**
 * Which file wins: the two boot-time loaders and their (different) orders.
 *
 * systemd-sysctl: `*.conf` from /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d,
 *   /usr/lib/sysctl.d; a file shadows a same-named file in a later directory; a symlink to
 *   /dev/null masks; survivors are applied sorted by FILE NAME whatever their directory.
 *   /etc/sysctl.conf is not read, except through a `99-sysctl.conf -> ../sysctl.conf` link.
 * procps `sysctl --system`: the same plus /lib/sysctl.d, same shadowing and order, then
 *   /etc/sysctl.conf LAST (so it beats every sysctl.d file, and is applied twice when the
 *   99-sysctl.conf link exists).
 */
import { parseSysctl, type Assignment, type SysctlDocument } from './syntax';
import { canonicalKey, lookupKey } from './catalog';
import { writeAccepted } from './kernelWrite';

export type Loader = 'systemd' | 'procps';
export const LOADERS: readonly Loader[] = ['systemd', 'procps'];

export const loaderLabel: Record<Loader, string> = {
  systemd: 'systemd-sysctl',
  procps: 'sysctl --system (procps)',
};

export const SYSCTL_CONF = '/etc/sysctl.conf';

const DIRS: Record<Loader, readonly string[]> = {
  systemd: ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d'],
  procps: ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'],
};

/** Every directory either loader reads (for collection from a host or a --root tree). */
export const ALL_SYSCTL_DIRS: readonly string[] = DIRS.procps;

/** A sysctl file as found on a host (paths are the host's absolute paths). */
export interface SysctlFile {
  readonly path: string;
  /** Content; for a symlink, the content of its target (undefined when unreadable/dangling). */
  readonly content?: string | undefined;
  /** Where a symlink points, as written (e.g. `../sysctl.conf`, `/dev/null`). */
  readonly linkTarget?: string | undefined;
  /** Why the file's content was not read (a FIFO, a device, a loop of links): a file-unreadable finding. */
  readonly unreadable?: string | undefined;
}

export interface ParsedSysctlFile extends SysctlFile {
  readonly doc: SysctlDocument;
}

/** One file as a loader applies it, in application order. */
export interface AppliedFile {
  readonly path: string;
  /** For the 99-sysctl.conf link: /etc/sysctl.conf (the file whose lines are applied). */
  readonly contentPath: string;
}

/** Why a file is not applied by a loader. */
export interface SkippedFile {
  readonly path: string;
  readonly reason: 'shadowed' | 'masked' | 'not-read' | 'not-conf';
  readonly by?: string;
}

export interface LoaderPlan {
  readonly loader: Loader;
  readonly applied: readonly AppliedFile[];
  readonly skipped: readonly SkippedFile[];
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Resolves a link target relative to the link's directory (`../sysctl.conf` → `/etc/sysctl.conf`). */
export function resolveLink(linkPath: string, target: string): string {
  const parts = target.startsWith('/') ? [] : dirOf(linkPath).split('/').filter(Boolean);
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

/** Directories for packages' defaults (sysctl.d(5): vendor files in /usr/lib, local installs in /usr/local/lib). */
const VENDOR_DIRS: readonly string[] = ['/usr/lib/sysctl.d', '/lib/sysctl.d', '/usr/local/lib/sysctl.d'];

/** True for a package's default file, which the administrator is meant to override from /etc. */
export function isVendorPath(path: string): boolean {
  return VENDOR_DIRS.includes(dirOf(path));
}

/** True when the file lives where a loader looks (a loader directory or /etc/sysctl.conf). */
export function isLoaderPath(path: string): boolean {
  return path === SYSCTL_CONF || ALL_SYSCTL_DIRS.includes(dirOf(path));
}

export function planLoader(loader: Loader, files: readonly SysctlFile[]): LoaderPlan {
  const dirs = DIRS[loader];
  const byName = new Map<string, SysctlFile>();
  const skipped: SkippedFile[] = [];
  for (const dir of dirs) {
    const inDir = files.filter((f) => dirOf(f.path) === dir).sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const f of inDir) {
      const name = baseName(f.path);
      if (!name.endsWith('.conf')) {
        skipped.push({ path: f.path, reason: 'not-conf' });
        continue;
      }
      const earlier = byName.get(name);
      if (earlier) {
        skipped.push({ path: f.path, reason: 'shadowed', by: earlier.path });
        continue;
      }
      byName.set(name, f);
    }
  }
  for (const f of files) {
    const dir = dirOf(f.path);
    if (!dirs.includes(dir) && ALL_SYSCTL_DIRS.includes(dir)) skipped.push({ path: f.path, reason: 'not-read' });
  }
  const applied: AppliedFile[] = [];
  const names = [...byName.keys()].sort();
  for (const name of names) {
    const f = byName.get(name);
    if (!f) continue;
    if (f.linkTarget !== undefined) {
      const target = resolveLink(f.path, f.linkTarget);
      if (target === '/dev/null') {
        skipped.push({ path: f.path, reason: 'masked' });
        continue;
      }
      applied.push({ path: f.path, contentPath: target });
      continue;
    }
    applied.push({ path: f.path, contentPath: f.path });
  }
  const conf = files.find((f) => f.path === SYSCTL_CONF);
  if (conf) {
    if (loader === 'procps') applied.push({ path: SYSCTL_CONF, contentPath: SYSCTL_CONF });
    else if (!applied.some((a) => a.contentPath === SYSCTL_CONF)) skipped.push({ path: SYSCTL_CONF, reason: 'not-read' });
  }
  return { loader, applied, skipped };
}

/** One assignment of a key, located in the file a loader applies. */
export interface Occurrence {
  readonly path: string; // as applied (e.g. /etc/sysctl.d/99-sysctl.conf)
  readonly contentPath: string; // file holding the line (e.g. /etc/sysctl.conf)
  readonly assignment: Assignment;
  /** The kernel accepts the line's value (see writeFails). */
  readonly accepted: boolean;
}

export interface Precedence {
  readonly plan: LoaderPlan;
  /** Canonical key → every explicit assignment in application order; the last one wins. */
  readonly byKey: ReadonlyMap<string, readonly Occurrence[]>;
}

/** One assignment with what precedence needs of it: its canonical key and whether the kernel accepts its value. */
export interface KeyedAssignment {
  readonly key: string;
  readonly assignment: Assignment;
  readonly accepted: boolean;
}

/**
 * A document's explicit (non-glob) assignments, keyed, computed once per parsed document: the
 * linter and each loader's precedence ask for the same lines (a 10,000-line file asked three
 * times per line before).
 */
const keyedByDoc = new WeakMap<SysctlDocument, readonly KeyedAssignment[]>();

export function keyedAssignments(doc: SysctlDocument): readonly KeyedAssignment[] {
  let list = keyedByDoc.get(doc);
  if (!list) {
    const out: KeyedAssignment[] = [];
    for (const asg of doc.lines) {
      if (asg.kind !== 'assignment' || asg.glob) continue;
      out.push({ key: canonicalKey(asg.normalizedKey), assignment: asg, accepted: !writeFails(asg) });
    }
    list = out;
    keyedByDoc.set(doc, list);
  }
  return list;
}

function byKeyOf(plan: LoaderPlan, files: readonly ParsedSysctlFile[]): Map<string, Occurrence[]> {
  const byPath = new Map(files.map((f) => [f.path, f] as const));
  const byKey = new Map<string, Occurrence[]>();
  for (const a of plan.applied) {
    // A link's lines live in its target when we have it, else in the content read through the link.
    const file = byPath.get(a.contentPath) ?? byPath.get(a.path);
    if (!file) continue;
    for (const k of keyedAssignments(file.doc)) {
      const occ: Occurrence = { path: a.path, contentPath: file.path, assignment: k.assignment, accepted: k.accepted };
      const list = byKey.get(k.key);
      if (list) list.push(occ);
      else byKey.set(k.key, [occ]);
    }
  }
  return byKey;
}

export function computePrecedence(loader: Loader, files: readonly ParsedSysctlFile[]): Precedence {
  const plan = planLoader(loader, files);
  return { plan, byKey: byKeyOf(plan, files) };
}

function sameApplied(a: LoaderPlan, b: LoaderPlan): boolean {
  return a.applied.length === b.applied.length && a.applied.every((x, i) => x.path === b.applied[i]?.path && x.contentPath === b.applied[i]?.contentPath);
}

/**
 * Precedence under each loader. Loaders that apply the same files in the same order (the usual
 * case: no /etc/sysctl.conf, nothing in /lib/sysctl.d) share one key index.
 */
export function computePrecedences(loaders: readonly Loader[], files: readonly ParsedSysctlFile[]): Map<Loader, Precedence> {
  const out = new Map<Loader, Precedence>();
  for (const loader of loaders) {
    const plan = planLoader(loader, files);
    const twin = [...out.values()].find((p) => sameApplied(p.plan, plan));
    out.set(loader, { plan, byKey: twin ? twin.byKey : byKeyOf(plan, files) });
  }
  return out;
}

/**
 * True when the kernel refuses the line's value (e.g. `45#note`, or `20000 # x` on a two-number
 * key): the write fails and the key keeps the value an earlier line set.
 */
export function writeFails(a: Assignment): boolean {
  return !writeAccepted(a.normalizedKey, a.value.text) && lookupKey(a.normalizedKey)?.scope !== 'read-only';
}

/** The assignment that sets the key at the end of the loader's run: the last one the kernel accepts. */
export function effectiveOf(list: readonly Occurrence[] | undefined): Occurrence | undefined {
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const o = list[i];
    if (o?.accepted) return o;
  }
  return undefined;
}

export function winner(p: Precedence, key: string): Occurrence | undefined {
  return effectiveOf(p.byKey.get(canonicalKey(key)));
}

export function parseFiles(files: readonly SysctlFile[]): ParsedSysctlFile[] {
  return files.map((f) => ({ ...f, doc: parseSysctl(f.content ?? '') }));
}
