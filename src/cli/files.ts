/**
 * Reads sysctl files (and the boot files that decide whether net.netfilter keys survive a
 * reboot) from a directory that stands for a host's filesystem root. I/O lives here so the
 * core stays pure.
 */
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ALL_SYSCTL_DIRS, SYSCTL_CONF, resolveLink, type SysctlFile } from '../core/sysctl/loaders';
import { ETC_MODULES, MODPROBE_DIRS, MODULES_LOAD_DIRS, isModuleListFile, type BootFacts, type ConfigFile } from '../core/sysctl/boot';
import { errorMessage } from '../core/format';

export class InputError extends Error {}

/** Larger than any real sysctl or boot file by far: a bigger one is refused before it is read
 *  (a 50 MB file took 31 s and 2.4 GB to lint). */
export const MAX_FILE_BYTES = 1024 * 1024;

/** Reads a text file, refusing directories, binary content and invalid UTF-8 with a clear message. */
export async function readTextFile(diskPath: string): Promise<string> {
  let info;
  try {
    info = await stat(diskPath);
  } catch (err) {
    throw new InputError(`${diskPath}: ${describeFsError(err)}`);
  }
  if (info.isDirectory()) throw new InputError(`${diskPath}: is a directory (pass files, or use --root DIR for a host tree)`);
  if (!info.isFile()) throw new InputError(`${diskPath}: not a regular file`);
  if (info.size > MAX_FILE_BYTES) throw new InputError(`${diskPath}: too large for a sysctl file (${info.size} bytes; the limit is ${MAX_FILE_BYTES}): not read`);
  let buf: Buffer;
  try {
    buf = await readFile(diskPath);
  } catch (err) {
    throw new InputError(`${diskPath}: ${describeFsError(err)}`);
  }
  if (buf.includes(0)) throw new InputError(`${diskPath}: binary file (contains NUL bytes), not a sysctl file`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new InputError(`${diskPath}: not valid UTF-8 text`);
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'ELOOP': return 'too many levels of symbolic links';
    default: return errorMessage(err);
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new InputError(`${dir}: ${describeFsError(err)}`);
  }
}

/** A host path (e.g. /etc/sysctl.conf) inside the tree at root. */
export function diskPathOf(root: string, hostPath: string): string {
  return join(root, hostPath);
}

/** Linux's limit of symbolic links followed in one lookup (MAXSYMLINKS, include/linux/namei.h). */
export const MAX_LINK_HOPS = 40;

export type InRoot = { readonly path: string } | { readonly missing: true } | { readonly loop: true };

/**
 * Resolves a host path the way the host's kernel would with root as `/`: every component, and
 * every hop of every link (absolute targets from root, `..` never above root), so no chain of
 * links — a file's or a directory's — leads out of the tree. More than MAX_LINK_HOPS hops is a loop.
 */
export async function resolveInRoot(root: string, hostPath: string): Promise<InRoot> {
  let pending = hostPath.split('/').filter((c) => c !== '');
  let done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '.') continue;
    if (name === '..') {
      done.pop();
      continue;
    }
    const disk = join(root, ...done, name);
    let info;
    try {
      info = await lstat(disk);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { missing: true };
      throw new InputError(`${disk}: ${describeFsError(err)}`);
    }
    if (info.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) return { loop: true };
      const target = await readlink(disk);
      if (target.startsWith('/')) done = [];
      pending = [...target.split('/').filter((c) => c !== ''), ...pending];
      continue;
    }
    done.push(name);
  }
  return { path: `/${done.join('/')}` };
}

/** Every sysctl file the loaders would consider, under root (symlinks resolved inside root). */
export async function collectSysctlFiles(root: string): Promise<SysctlFile[]> {
  const out: SysctlFile[] = [];
  const hostPaths = [SYSCTL_CONF];
  // On merged-/usr systems /lib is a link to /usr/lib: list each real directory once.
  const seen = new Set<string>();
  for (const dir of ALL_SYSCTL_DIRS) {
    const real = await resolveInRoot(root, dir);
    if (!('path' in real) || seen.has(real.path)) continue;
    seen.add(real.path);
    for (const name of await listDir(diskPathOf(root, real.path))) hostPaths.push(`${dir}/${name}`);
  }
  for (const hostPath of hostPaths) {
    const file = await readHostFile(root, hostPath);
    if (file) out.push(file);
  }
  return out;
}

/** What a path that is not a regular file is, for the message. */
function kindOf(info: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads one host path under root; undefined when it does not exist or is a directory. Links are
 * followed hop by hop inside root only. A link loop, a FIFO, a device or a socket is returned
 * with `unreadable` (a finding of its own), never opened: reading a FIFO would block the run.
 */
export async function readHostFile(root: string, hostPath: string): Promise<SysctlFile | undefined> {
  const disk = diskPathOf(root, hostPath);
  let info;
  try {
    info = await lstat(disk);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new InputError(`${disk}: ${describeFsError(err)}`);
  }
  let linkTarget: string | undefined;
  if (info.isSymbolicLink()) {
    linkTarget = await readlink(disk);
    // A mask: the loaders skip the name (they compare the link's target with /dev/null).
    if (resolveLink(hostPath, linkTarget) === '/dev/null') return { path: hostPath, linkTarget, content: '' };
  }
  const real = await resolveInRoot(root, hostPath);
  const link = linkTarget !== undefined ? { linkTarget } : {};
  if ('loop' in real) return { path: hostPath, ...link, unreadable: `a loop of symbolic links (more than ${MAX_LINK_HOPS} hops)` };
  if ('missing' in real) return linkTarget !== undefined ? { path: hostPath, linkTarget, content: undefined } : undefined;
  const realDisk = diskPathOf(root, real.path);
  const target = await lstat(realDisk);
  if (target.isDirectory()) return linkTarget !== undefined ? { path: hostPath, linkTarget, content: undefined } : undefined;
  if (!target.isFile()) return { path: hostPath, ...link, unreadable: kindOf(target) };
  const content = await readTextFile(realDisk).catch((err: unknown) => {
    if (linkTarget !== undefined) return undefined;
    throw err;
  });
  return { path: hostPath, ...link, content };
}

export async function collectBootFacts(root: string): Promise<BootFacts> {
  const read = async (dirs: readonly string[], extra: readonly string[], counts: (path: string) => boolean): Promise<ConfigFile[]> => {
    const files: ConfigFile[] = [];
    const paths = [...extra];
    for (const dir of dirs) for (const name of await listDir(diskPathOf(root, dir))) if (counts(`${dir}/${name}`)) paths.push(`${dir}/${name}`);
    for (const p of paths) {
      const f = await readHostFile(root, p);
      if (f?.content !== undefined) files.push({ path: p, content: f.content });
    }
    return files;
  };
  return { modulesLoad: await read(MODULES_LOAD_DIRS, [ETC_MODULES], isModuleListFile), modprobe: await read(MODPROBE_DIRS, [], (p) => p.endsWith('.conf')) };
}

export function absolute(p: string): string {
  return resolve(p);
}
