/**
 * Remote sysctl files: `conntrack://<host id>/etc/sysctl.conf`. Reads over the host's SSH
 * connection; writes through the apply layer's atomic writer (temp file, fsync, rename, mode and
 * owner kept, timestamped backup), refused when the file changed on the host since it was read.
 * Also the linter's context for these documents: the host's other files, boot files, live values.
 */
import * as vscode from 'vscode';
import { BACKUP_DIR, readRemoteFile, sha256, writeRemoteFile } from '../io/apply';
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
  /** sha256 of what was last read, per URI: the write is refused if the host's file differs. */
  private readonly readHashes = new Map<string, string | undefined>();

  constructor(private readonly hosts: HostManager) {}

  private async host(uri: vscode.Uri): Promise<HostEntry> {
    const h = this.hosts.get(remoteHostId(uri) ?? '');
    if (!h) throw vscode.FileSystemError.Unavailable(`unknown host ${uri.authority}`);
    if (!h.session) await this.hosts.connect(h);
    return h;
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
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
    const h = await this.host(uri);
    const r = await h.session?.runner.run(['sh', '-c', 'for f in "$1"/* "$1"/.[!.]*; do [ -e "$f" ] || continue; if [ -d "$f" ]; then echo "d ${f##*/}"; else echo "f ${f##*/}"; fi; done', 'conntrack-doctor-ls', uri.path], { privileged: true, timeoutMs: 30_000 });
    if (!r || r.exitCode !== 0) throw vscode.FileSystemError.FileNotFound(uri);
    return r.stdout.split('\n').filter(Boolean).map((l) => [l.slice(2), l.startsWith('d') ? vscode.FileType.Directory : vscode.FileType.File]);
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const h = await this.host(uri);
    if (!h.session) throw vscode.FileSystemError.Unavailable(uri);
    const content = await readRemoteFile(h.session.runner, uri.path);
    if (content === undefined) throw vscode.FileSystemError.FileNotFound(uri);
    this.readHashes.set(uri.toString(), sha256(content));
    return new TextEncoder().encode(content);
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { create: boolean; overwrite: boolean }): Promise<void> {
    const h = await this.host(uri);
    if (!h.session) throw vscode.FileSystemError.Unavailable(uri);
    const known = this.readHashes.get(uri.toString());
    const expect = known ?? (options.create ? '-' : 'any');
    const text = new TextDecoder().decode(content);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    try {
      const sha = await writeRemoteFile(h.session.runner, uri.path, text, expect, `${BACKUP_DIR}/edit-${stamp}`, 0o644, {});
      this.readHashes.set(uri.toString(), sha);
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
