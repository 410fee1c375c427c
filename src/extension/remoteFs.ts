/**
 * Remote sysctl files: `conntrack://<host id>/etc/sysctl.conf`. Only the locations the product
 * manages (core/fix/managedPaths.ts; a symlink is followed only when its target is one too) —
 * the reads run as root and a URI can come from anywhere. Reads over the host's SSH connection;
 * a save is a fix (`edit-file`) through applyFix: atomic write, refused when the file changed on
 * the host since it was read, a backup and a change record that `rollback` restores.
 * Also the linter's context for these documents: the host's other files, boot files, live values.
 */
import * as vscode from 'vscode';
import { applyFix, readRemoteFile } from '../io/apply';
import { editFile, managedPathRefusal, type PathAccess } from '../core/fix/managedPaths';
import type { HostManager, HostEntry } from './hosts';
import type { ContextSource, DocumentContext } from './sysctl/context';
import { bootFacts, lintHostContext } from '../core/host/adapters';
import { log } from './log';
import { errorMessage } from '../core/format';

export const REMOTE_SCHEME = 'conntrack';

export function remoteUri(hostId: string, path: string): vscode.Uri {
  return vscode.Uri.from({ scheme: REMOTE_SCHEME, authority: encodeURIComponent(hostId), path });
}

/** The host id of a `conntrack://` URI (the inverse of remoteUri); undefined for other schemes. */
export function remoteHostId(uri: vscode.Uri): string | undefined {
  return uri.scheme === REMOTE_SCHEME ? decodeURIComponent(uri.authority) : undefined;
}

export class RemoteFileSystem implements vscode.FileSystemProvider, ContextSource {
  readonly scheme = REMOTE_SCHEME;
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  /** What was last read (or saved), per URI: the save is refused if the host's file differs. */
  private readonly readContents = new Map<string, string>();

  constructor(private readonly hosts: HostManager) {}

  private async host(uri: vscode.Uri): Promise<HostEntry> {
    const h = this.hosts.get(remoteHostId(uri) ?? '');
    if (!h) throw vscode.FileSystemError.Unavailable(`unknown host ${uri.authority}`);
    if (!h.session) await this.hosts.connect(h);
    return h;
  }

  /** Refuses a path outside the managed locations, before anything runs on the host. */
  private guard(uri: vscode.Uri, access: PathAccess, path = uri.path): void {
    const why = managedPathRefusal(path, access);
    if (why !== undefined) throw vscode.FileSystemError.NoPermissions(`conntrack://${uri.authority}: ${why}`);
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    this.guard(uri, 'stat');
    const h = await this.host(uri);
    const r = await h.session?.runner.run(['sh', '-c', 'stat -L -c "%s %Y %F" -- "$1"', 'conntrack-doctor-stat', uri.path], { privileged: true, timeoutMs: 30_000 });
    if (!r || r.exitCode !== 0) {
      if (r && !/No such file/.test(r.stderr)) log.warn(`stat ${uri.path} on ${h.label}: exit ${r.exitCode}: ${r.stderr.trim()}`);
      throw vscode.FileSystemError.FileNotFound(uri);
    }
    const [size, mtime, ...kind] = r.stdout.trim().split(' ');
    return { type: kind.join(' ').includes('directory') ? vscode.FileType.Directory : vscode.FileType.File, ctime: 0, mtime: Number(mtime) * 1000, size: Number(size) };
  }

  async readDirectory(uri: vscode.Uri): Promise<[string, vscode.FileType][]> {
    this.guard(uri, 'list');
    const h = await this.host(uri);
    const r = await h.session?.runner.run(['sh', '-c', 'for f in "$1"/* "$1"/.[!.]*; do [ -e "$f" ] || continue; if [ -d "$f" ]; then echo "d ${f##*/}"; else echo "f ${f##*/}"; fi; done', 'conntrack-doctor-ls', uri.path], { privileged: true, timeoutMs: 30_000 });
    if (!r || r.exitCode !== 0) throw vscode.FileSystemError.FileNotFound(uri);
    return r.stdout.split('\n').filter(Boolean).map((l) => [l.slice(2), l.startsWith('d') ? vscode.FileType.Directory : vscode.FileType.File]);
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    this.guard(uri, 'read');
    const h = await this.host(uri);
    if (!h.session) throw vscode.FileSystemError.Unavailable(uri);
    // A managed name may be a symlink (Debian: sysctl.d/99-sysctl.conf → ../sysctl.conf): its target must be managed too.
    const real = await h.session.runner.run(['readlink', '-f', '--', uri.path], { privileged: true, timeoutMs: 30_000 });
    if (real.exitCode === 0 && real.stdout.trim() !== uri.path) this.guard(uri, 'read', real.stdout.trim());
    const content = await readRemoteFile(h.session.runner, uri.path);
    if (content === undefined) throw vscode.FileSystemError.FileNotFound(uri);
    this.readContents.set(uri.toString(), content);
    return new TextEncoder().encode(content);
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { create: boolean; overwrite: boolean }): Promise<void> {
    this.guard(uri, 'write');
    const h = await this.host(uri);
    if (!h.session) throw vscode.FileSystemError.Unavailable(uri);
    const text = new TextDecoder().decode(content);
    try {
      // Never read in this window: compare with what is there now (a new file: must not exist).
      const before = this.readContents.get(uri.toString()) ?? (options.create ? undefined : await readRemoteFile(h.session.runner, uri.path));
      const record = await applyFix(h.session.runner, editFile({ path: uri.path, before, after: text }), {
        host: h.label,
        confirm: () => Promise.resolve(true), // the user saved
        onProgress: (l) => log.info(`[${h.label}] ${l}`),
      });
      this.readContents.set(uri.toString(), text);
      if (!record.unchanged) log.info(`[${h.label}] saved ${uri.path} (change ${record.id}; undo with Roll Back Last Change)`);
    } catch (err) {
      log.error(`saving ${uri.path} on ${h.label}`, err);
      throw vscode.FileSystemError.NoPermissions(`${uri.path} on ${h.label}: ${errorMessage(err)}`);
    }
    this.emitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
    this.hosts.markStale(h);
  }

  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('creating directories on a host is not supported');
  }

  delete(): void {
    throw vscode.FileSystemError.NoPermissions('deleting files on a host is not supported');
  }

  rename(): void {
    throw vscode.FileSystemError.NoPermissions('renaming files on a host is not supported');
  }

  async context(doc: vscode.TextDocument): Promise<DocumentContext> {
    const h = await this.host(doc.uri);
    if (!h.snapshot) await this.hosts.refresh(h);
    const s = h.snapshot;
    const uriFor = (p: string): vscode.Uri => remoteUri(h.id, p);
    if (!s) return { hostPath: doc.uri.path, siblings: [], uriFor, hostLabel: h.label };
    const live = new Map(Object.entries(s.sysctl ?? {}));
    const boot = bootFacts(s);
    return {
      hostPath: doc.uri.path,
      siblings: (s.sysctlFiles ?? []).filter((f) => f.path !== doc.uri.path),
      ...(boot ? { boot } : {}),
      host: lintHostContext(s, h.diagnosis?.usage.percent),
      liveValue: (key) => Promise.resolve(live.get(key)),
      hostLabel: h.label,
      uriFor,
    };
  }
}
