/**
 * Where a sysctl document lives and what surrounds it: the other files the boot loaders read
 * (for "which file wins"), the boot files (modules-load.d, modprobe.d) and, when the document is
 * this machine's own system file, the live values from /proc/sys. Remote documents get the same
 * from their host's snapshot (HostContextSource).
 */
import { readlink } from 'node:fs/promises';
import * as vscode from 'vscode';
import { ALL_SYSCTL_DIRS, SYSCTL_CONF, isLoaderPath, type SysctlFile } from '../../core/sysctl/loaders';
import { ETC_MODULES, MODPROBE_DIRS, MODULES_LOAD_DIRS, isModuleListFile, type BootFacts, type ConfigFile } from '../../core/sysctl/boot';
import { keyToProcPath } from '../../core/sysctl/keys';
import type { HostContext } from '../../core/sysctl/lint';

export interface DocumentContext {
  /** The document's path on its host (e.g. /etc/sysctl.d/90-x.conf), or its workspace path. */
  readonly hostPath: string;
  /** Other files of the same host (context for precedence), without the document itself. */
  readonly siblings: readonly SysctlFile[];
  readonly boot?: BootFacts;
  readonly host?: HostContext;
  /** Reads a live value (for hovers and inline hints); undefined when unknown. */
  readonly liveValue?: (key: string) => Promise<string | undefined>;
  /** Host label for hovers ("this machine", "web-1"). */
  readonly hostLabel?: string;
  /** Turns a host path into a URI to open (related locations, created files). */
  readonly uriFor: (hostPath: string) => vscode.Uri;
}

/** Context providers for other schemes (the remote file system registers one). */
export interface ContextSource {
  readonly scheme: string;
  context(doc: vscode.TextDocument): Promise<DocumentContext>;
}

const sources = new Map<string, ContextSource>();

export function registerContextSource(source: ContextSource): vscode.Disposable {
  sources.set(source.scheme, source);
  return new vscode.Disposable(() => sources.delete(source.scheme));
}

async function readText(uri: vscode.Uri): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await vscode.workspace.fs.readDirectory(vscode.Uri.file(dir))).map(([name]) => `${dir}/${name}`).sort();
  } catch {
    return [];
  }
}

async function readLocalFile(path: string): Promise<SysctlFile | undefined> {
  const uri = vscode.Uri.file(path);
  let stat: vscode.FileStat;
  try {
    stat = await vscode.workspace.fs.stat(uri);
  } catch {
    return undefined;
  }
  if (stat.type & vscode.FileType.Directory) return undefined;
  const content = await readText(uri);
  // vscode.workspace.fs follows links; the link target of 99-sysctl.conf matters for precedence.
  if (stat.type & vscode.FileType.SymbolicLink) {
    const target = await readlink(path).catch(() => undefined);
    return { path, content, ...(target !== undefined ? { linkTarget: target } : {}) };
  }
  return { path, content };
}

/** This machine's own system files (documents under /etc/sysctl.d, /usr/lib/sysctl.d …). */
async function localContext(doc: vscode.TextDocument): Promise<DocumentContext> {
  const hostPath = doc.uri.fsPath;
  const uriFor = (p: string): vscode.Uri => vscode.Uri.file(p);
  if (!isLoaderPath(hostPath)) return { hostPath, siblings: [], uriFor };
  const paths = [SYSCTL_CONF];
  for (const d of ALL_SYSCTL_DIRS) paths.push(...(await list(d)));
  const siblings: SysctlFile[] = [];
  for (const p of paths) {
    if (p === hostPath) continue;
    const f = await readLocalFile(p);
    if (f) siblings.push(f);
  }
  const readConfigs = async (dirs: readonly string[], extra: readonly string[], counts: (path: string) => boolean): Promise<ConfigFile[]> => {
    const out: ConfigFile[] = [];
    const all = [...extra];
    for (const d of dirs) all.push(...(await list(d)).filter(counts));
    for (const p of all) {
      const c = await readText(vscode.Uri.file(p));
      if (c !== undefined) out.push({ path: p, content: c });
    }
    return out;
  };
  const builtin = await readText(vscode.Uri.file('/sys/module/nf_conntrack/initstate')).then((x) => x === undefined);
  const boot: BootFacts = { modulesLoad: await readConfigs(MODULES_LOAD_DIRS, [ETC_MODULES], isModuleListFile), modprobe: await readConfigs(MODPROBE_DIRS, [], (p) => p.endsWith('.conf')), conntrackBuiltin: builtin };
  const liveValue = async (key: string): Promise<string | undefined> => (await readText(vscode.Uri.file(keyToProcPath(key))))?.trim();
  return { hostPath, siblings, boot, liveValue, hostLabel: 'this machine', uriFor };
}

export async function documentContext(doc: vscode.TextDocument): Promise<DocumentContext> {
  const source = sources.get(doc.uri.scheme);
  if (source) return source.context(doc);
  if (doc.uri.scheme === 'file') return localContext(doc);
  return { hostPath: doc.uri.path, siblings: [], uriFor: (p) => doc.uri.with({ path: p }) };
}
