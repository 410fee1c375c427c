/**
 * Persisting one sysctl key so that the new value WINS at boot under both loaders
 * (systemd-sysctl and procps `sysctl --system`, see loaders.ts):
 *  1. set the key in the target file (a dedicated drop-in by default, or the file the user edits;
 *     a `99-sysctl.conf -> ../sysctl.conf` link is followed to /etc/sysctl.conf);
 *  2. compute the precedence for both loaders; while another file's line wins, neutralise it:
 *     - a file under /etc: its assignments of the key are commented out in place;
 *     - a vendor/runtime file (/usr/lib, /lib, /usr/local/lib, /run): a same-named copy without
 *       the key is written to /etc/sysctl.d, which shadows it for both loaders (editing the vendor
 *       file would be undone by the next package update, /run by the next boot);
 *  3. report, per loader, which file and line wins afterwards (FileEdit.winsAfter).
 */
import type { FileEdit, WinningLine } from './model';
import { LOADERS, computePrecedence, isLoaderPath, loaderLabel, parseFiles, resolveLink, winner, SYSCTL_CONF, type Loader, type SysctlFile } from '../sysctl/loaders';
import { canonicalKey } from '../sysctl/catalog';
import { ValidationError, validateHostPath } from './validate';
import { planCommentOutKey, planSetKey, type SetKeyOptions } from './sysctlEdit';

/** Where conntrack settings go unless the user is editing another sysctl file. */
export const SYSCTL_DROP_IN = '/etc/sysctl.d/90-conntrack-doctor.conf';

export interface PersistSysctlInput {
  /** Canonical dotted key (validated by the caller). */
  readonly key: string;
  readonly value: string;
  /** The host's sysctl files (every loader directory plus /etc/sysctl.conf). */
  readonly files: readonly SysctlFile[];
  /** The file to write; default SYSCTL_DROP_IN. */
  readonly targetPath?: string | undefined;
  readonly comment?: SetKeyOptions['comment'];
}

export interface PersistSysctlResult {
  readonly fileEdits: readonly FileEdit[];
  readonly winsAfter: readonly WinningLine[];
  readonly notes: readonly string[];
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function checkTarget(path: string): string {
  const p = validateHostPath('targetPath', path);
  if (!isLoaderPath(p)) {
    throw new ValidationError('targetPath', `${p} is not read by any sysctl loader (use /etc/sysctl.conf or a *.conf file in a sysctl.d directory)`);
  }
  if (p !== SYSCTL_CONF && !p.endsWith('.conf')) throw new ValidationError('targetPath', `${p}: the loaders only read *.conf files in sysctl.d directories`);
  return p;
}

export function persistSysctlKey(input: PersistSysctlInput): PersistSysctlResult {
  const key = canonicalKey(input.key);
  const target = checkTarget(input.targetPath ?? SYSCTL_DROP_IN);
  const byPath = new Map(input.files.map((f) => [f.path, f] as const));

  // 1. The file to edit (following a link such as 99-sysctl.conf -> ../sysctl.conf).
  let editPath = target;
  const targetFile = byPath.get(target);
  if (targetFile?.linkTarget !== undefined) {
    editPath = resolveLink(target, targetFile.linkTarget);
    if (editPath === '/dev/null') throw new ValidationError('targetPath', `${target} is masked (a link to /dev/null): it is never applied`);
    editPath = validateHostPath('targetPath', editPath);
  }
  const original = new Map<string, string | undefined>();
  const current = new Map<string, string>();
  const descriptions = new Map<string, string>();
  const contentOf = (path: string): string | undefined => current.get(path) ?? byPath.get(path)?.content;

  const editFile = byPath.get(editPath);
  const editBefore = editFile?.content ?? (editPath !== target ? targetFile?.content : undefined);
  if ((editFile || targetFile) && editBefore === undefined) {
    throw new ValidationError('targetPath', `${editPath} exists but could not be read, so it cannot be edited safely`);
  }
  const plan = planSetKey(editBefore, key, input.value, input.comment === undefined ? {} : { comment: input.comment });
  original.set(editPath, editBefore);
  current.set(editPath, plan.content);
  descriptions.set(editPath, `Set ${key} = ${input.value} in ${editPath}`);

  const fileSet = (): SysctlFile[] => {
    const list: SysctlFile[] = input.files.map((f) => (current.has(f.path) ? { ...f, content: current.get(f.path) } : f));
    for (const [path, content] of current) if (!byPath.has(path)) list.push({ path, content });
    return list;
  };
  const isOurs = (loader: Loader): boolean => {
    const w = winner(computePrecedence(loader, parseFiles(fileSet())), key);
    return w !== undefined && w.contentPath === editPath && w.assignment.line === plan.line;
  };

  // 2. Neutralise every later line that still wins, loader by loader, until nothing changes.
  const notes: string[] = [];
  for (let round = 0; round <= input.files.length + 1; round++) {
    let changed = false;
    for (const loader of LOADERS) {
      const w = winner(computePrecedence(loader, parseFiles(fileSet())), key);
      if (!w || (w.contentPath === editPath && w.assignment.line === plan.line)) continue;
      if (w.contentPath === editPath) continue; // same file applied twice (procps reads sysctl.conf again): same line wins
      const why = `disabled so that ${editPath} sets this key`;
      const label = loaderLabel[loader];
      // Never write through a link's own path (an atomic rename would replace the link).
      const link = byPath.get(w.contentPath)?.linkTarget;
      const holder = link === undefined ? w.contentPath : resolveLink(w.contentPath, link);
      if (holder.startsWith('/etc/')) {
        const before = contentOf(holder) ?? contentOf(w.contentPath) ?? '';
        const cut = planCommentOutKey(before, key, why);
        if (!original.has(holder)) original.set(holder, byPath.get(holder)?.content ?? byPath.get(w.contentPath)?.content);
        current.set(holder, cut.content);
        if (holder !== w.contentPath) current.set(w.contentPath, cut.content); // the link shows its target
        descriptions.set(holder, `Comment out ${key} in ${holder} (line ${w.assignment.line + 1} overrode ${editPath} under ${label})`);
      } else {
        const shadow = `/etc/sysctl.d/${baseName(w.path)}`;
        const cut = planCommentOutKey(contentOf(w.contentPath) ?? '', key, why);
        original.set(shadow, undefined);
        current.set(shadow, cut.content);
        descriptions.set(shadow, `Shadow ${w.path} with ${shadow}: the same file without ${key} (line ${w.assignment.line + 1} overrode ${editPath} under ${label}; a vendor file would be restored by package updates)`);
      }
      changed = true;
    }
    if (!changed) break;
  }

  // 3. Who wins now, per loader.
  const winsAfter: WinningLine[] = [];
  for (const loader of LOADERS) {
    const w = winner(computePrecedence(loader, parseFiles(fileSet())), key);
    if (w) winsAfter.push({ key, loader, path: w.contentPath, line: w.assignment.line, value: w.assignment.value.text });
    if (!isOurs(loader)) {
      notes.push(
        w
          ? `Under ${loaderLabel[loader]} ${w.contentPath}:${w.assignment.line + 1} still sets ${key} = ${w.assignment.value.text}; the new value will not survive a reboot on a host booting with that loader.`
          : `${editPath} is not applied by ${loaderLabel[loader]} (${editPath === SYSCTL_CONF ? 'systemd-sysctl reads /etc/sysctl.conf only through a /etc/sysctl.d/99-sysctl.conf link' : 'the file is shadowed or masked'}); on a host booting with that loader the value is not persisted.`,
      );
    }
  }
  const unreadable = input.files.filter((f) => f.content === undefined && f.linkTarget === undefined).map((f) => f.path);
  if (unreadable.length > 0) notes.push(`Could not read ${unreadable.join(', ')}: lines in them were not checked and may still override ${key}.`);
  if (dirOf(editPath) !== '/etc/sysctl.d' && editPath !== SYSCTL_CONF) {
    notes.push(`${editPath} is outside /etc: it may be replaced by a package update or at reboot.`);
  }

  const fileEdits: FileEdit[] = [];
  for (const [path, after] of current) {
    if (byPath.get(path)?.linkTarget !== undefined) continue; // edited through its target
    const before = original.get(path);
    if (before === after) continue;
    fileEdits.push({
      path,
      description: descriptions.get(path) ?? `Edit ${path}`,
      before,
      after,
      ...(before === undefined ? { createMode: 0o644 } : {}),
      winsAfter,
    });
  }
  return { fileEdits, winsAfter, notes };
}
