/**
 * Reads sysctl files (and the boot files that decide whether net.netfilter keys survive a
 * reboot) from a directory that stands for a host's filesystem root. I/O lives here so the
 * core stays pure.
 */
import { lstat, readFile, readdir, readlink, realpath, stat } from 'node:fs/promises';
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

/** Every sysctl file the loaders would consider, under root (symlinks resolved inside root). */
export async function collectSysctlFiles(root: string): Promise<SysctlFile[]> {
  const out: SysctlFile[] = [];
  const hostPaths = [SYSCTL_CONF];
  // On merged-/usr systems /lib is a link to /usr/lib: list each real directory once.
  const seen = new Set<string>();
  for (const dir of ALL_SYSCTL_DIRS) {
    const real = await realpath(diskPathOf(root, dir)).catch(() => undefined);
    if (real !== undefined && seen.has(real)) continue;
    if (real !== undefined) seen.add(real);
    for (const name of await listDir(diskPathOf(root, dir))) hostPaths.push(`${dir}/${name}`);
  }
  for (const hostPath of hostPaths) {
    const file = await readHostFile(root, hostPath);
    if (file) out.push(file);
  }
  return out;
}

/** Reads one host path under root; undefined when it does not exist. Links are followed inside root only. */
export async function readHostFile(root: string, hostPath: string): Promise<SysctlFile | undefined> {
  const disk = diskPathOf(root, hostPath);
  let info;
  try {
    info = await lstat(disk);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw new InputError(`${disk}: ${describeFsError(err)}`);
  }
  if (info.isSymbolicLink()) {
    const target = await readlink(disk);
    const hostTarget = resolveLink(hostPath, target);
    if (hostTarget === '/dev/null') return { path: hostPath, linkTarget: target, content: '' };
    const content = await readTextFile(diskPathOf(root, hostTarget)).catch(() => undefined);
    return { path: hostPath, linkTarget: target, content };
  }
  if (info.isDirectory()) return undefined;
  return { path: hostPath, content: await readTextFile(disk) };
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
