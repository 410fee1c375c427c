/**
 * The host locations the product manages, and so the only ones the `conntrack://` file system
 * reads or writes (it runs as root, and its URIs can come from a link, a workspace file or
 * another extension): sysctl files, modprobe.d, modules-load.d, /etc/modules, and the
 * firewall's persistence files. Everything else is refused with the reason.
 */
import { ALL_SYSCTL_DIRS, SYSCTL_CONF } from '../sysctl/loaders';
import { ETC_MODULES, MODPROBE_DIRS, MODULES_LOAD_DIRS } from '../sysctl/boot';
import { NFTABLES_CONF } from './invalidRule';
import type { Fix } from './model';
import { ValidationError } from './validate';

/** Single files (netfilter-persistent's rules.v4/v6, iptables-services' sysconfig files). */
const MANAGED_FILES: readonly string[] = [SYSCTL_CONF, ETC_MODULES, NFTABLES_CONF, '/etc/iptables/rules.v4', '/etc/iptables/rules.v6', '/etc/sysconfig/iptables', '/etc/sysconfig/ip6tables'];
/** Directories whose files the loaders read. */
const MANAGED_DIRS: readonly string[] = [...new Set([...ALL_SYSCTL_DIRS, ...MODPROBE_DIRS, ...MODULES_LOAD_DIRS])];

export const MANAGED_LOCATIONS_TEXT = 'sysctl.conf, sysctl.d, modprobe.d, modules-load.d, /etc/modules, nftables.conf, iptables rules.v4/v6, sysconfig/iptables';

export type PathAccess = 'read' | 'write' | 'list' | 'stat';

function normalised(path: string): boolean {
  return path.startsWith('/') && !path.includes('//') && (path === '/' || !path.endsWith('/')) && !path.split('/').some((s) => s === '.' || s === '..');
}

function parent(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/**
 * Why `path` may not be accessed this way, or undefined when it may: files in the managed
 * locations for read and write; a managed directory for listing; its ancestors for stat only
 * (the editor stats them; they reveal no content).
 */
export function managedPathRefusal(path: string, access: PathAccess): string | undefined {
  const refused = `${JSON.stringify(path)} is not a location Conntrack Doctor manages (${MANAGED_LOCATIONS_TEXT}): refused`;
  if (!normalised(path)) return refused;
  const isFile = MANAGED_FILES.includes(path) || (MANAGED_DIRS.includes(parent(path)) && !path.slice(parent(path).length + 1).startsWith('.'));
  const isDir = MANAGED_DIRS.includes(path);
  if (access === 'read' || access === 'write') return isFile ? undefined : refused;
  if (access === 'list') return isDir ? undefined : refused;
  const ancestor = [...MANAGED_FILES, ...MANAGED_DIRS].some((m) => path === '/' || m.startsWith(`${path}/`));
  return isFile || isDir || ancestor ? undefined : refused;
}

/**
 * A save from the editor (`conntrack://`) as a fix, so it goes through the same path as any
 * other: atomic write refused when the file changed since it was read, a backup, a change
 * record — and `rollback` restores it.
 */
export function editFile(input: { readonly path: string; readonly before: string | undefined; readonly after: string }): Fix {
  const why = managedPathRefusal(input.path, 'write');
  if (why !== undefined) throw new ValidationError('path', why);
  return {
    id: 'edit-file',
    title: `Save ${input.path} (edited in the editor)`,
    summary: `Write ${input.path} as edited, atomically, with a backup.`,
    destructive: false,
    needsInitialNetns: false,
    fileEdits: [{ path: input.path, description: 'saved from the editor', before: input.before, after: input.after, createMode: 0o644, winsAfter: [] }],
    runtime: [],
    verify: [],
    rollback: [],
    notes: ['Only the file changes: live values are set by applying it (the editor offers that).'],
  };
}
