/**
 * Palette / tree / editor commands (category "Conntrack"). Each one asks for what it needs
 * with quick picks when called from the palette. Every remote change goes through the one
 * path: build → preview → confirm → apply (atomic, backed up) → read back → log.
 */
import * as vscode from 'vscode';
import type { Fix } from '../core/fix/model';
import { renderPreview } from '../core/fix/preview';
import { countArgv, type EntryFilter } from '../core/fix/entries-fixes';
import { buildHostFix } from '../core/host/fixes';
import { renderDiagnosis } from '../core/host/report';
import { CATALOG } from '../core/sysctl/catalog';
import { applyFix, rollbackLast } from '../io/apply';
import type { HostEntry, HostManager } from './hosts';
import type { Node } from './tree';
import { log } from './log';
import { showReadOnly } from './readOnlyDocs';
import { EXPORT_ANSIBLE_COMMAND, EXPORT_ANSIBLE_TITLE } from './ansible';

async function pickHost(hosts: HostManager, arg: unknown, connectedOnly = false): Promise<HostEntry | undefined> {
  if (arg && typeof arg === 'object' && 'host' in arg) return (arg as { host: HostEntry }).host;
  if (arg && typeof arg === 'object' && 'target' in arg && 'status' in arg) return arg as HostEntry;
  const list = hosts.list().filter((h) => !connectedOnly || h.status === 'connected');
  if (list.length === 1) return list[0];
  const pick = await vscode.window.showQuickPick(list.map((h) => ({ label: h.label, description: `${h.target} — ${h.status}`, host: h })), { title: 'Conntrack: pick a host', ignoreFocusOut: true });
  return pick?.host;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Progress for anything that may take more than a second; cancellable unless the work must not stop half-way. */
async function withHostProgress<T>(title: string, fn: (token: vscode.CancellationToken) => Promise<T>, cancellable = true): Promise<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable }, (_p, token) => fn(token));
}

export async function refreshHost(hosts: HostManager, h: HostEntry): Promise<void> {
  try {
    await withHostProgress(`Conntrack: reading ${h.label}`, (token) => hosts.refresh(h, token));
  } catch (err) {
    log.error(`refreshing ${h.label}`, err);
    // Not awaited: the command is done; the notification's buttons act later.
    void vscode.window.showErrorMessage(`Conntrack: ${h.label}: ${errorMessage(err)}`, 'Show Log', 'Retry').then((action) => {
      if (action === 'Show Log') log.show();
      if (action === 'Retry') return refreshHost(hosts, h);
      return undefined;
    });
  }
}

/** Preview → modal confirmation → apply with progress → read back → refresh. Returns true when applied and verified. */
export async function previewAndApply(hosts: HostManager, h: HostEntry, fix: Fix): Promise<boolean> {
  const session = h.session;
  if (!session) return false;
  if (fix.needsInitialNetns && h.snapshot?.initialNetns === false) {
    void vscode.window.showErrorMessage(`${fix.title}: ${h.label} is not the initial network namespace. nf_conntrack_max and buckets are global and can only be changed on the host itself (here the kernel refuses the write while sysctl still exits 0).`, { modal: true });
    return false;
  }
  await showReadOnly(`Preview ${fix.title.replace(/[/\\]/g, '_')}.md`, renderPreview(fix, h.label), 'markdown', { preview: true, preserveFocus: false });
  const go = fix.destructive ? 'Delete' : 'Apply';
  const answer = await vscode.window.showWarningMessage(
    fix.destructive ? (fix.confirmation ?? fix.title) : `${fix.title} on ${h.label}?`,
    { modal: true, detail: `${fix.summary}\n\nThe exact commands and file changes are shown in the preview. ${fix.rollback.length > 0 || fix.fileEdits.length > 0 ? 'It can be rolled back (Conntrack: Roll Back Last Change).' : 'It cannot be undone.'}` },
    go,
    EXPORT_ANSIBLE_TITLE,
  );
  if (answer === EXPORT_ANSIBLE_TITLE) {
    await vscode.commands.executeCommand(EXPORT_ANSIBLE_COMMAND, { host: h, fix });
    return false;
  }
  if (answer !== go) {
    log.info(`not applied (not confirmed): ${fix.title} on ${h.label}`);
    return false;
  }
  try {
    const record = await withHostProgress(`Conntrack: ${fix.title}`, async (token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return applyFix(session.runner, fix, { host: h.label, confirm: () => Promise.resolve(true), signal: abort.signal, onProgress: (l) => log.info(`[${h.label}] ${l}`) });
    });
    const observed = record.verification.map((v) => v.observed).join(', ') || 'done';
    void vscode.window.showInformationMessage(record.unchanged ? `${fix.title}: already in place (${observed}); nothing was changed.` : `${fix.title}: applied and verified (${observed}).`, 'Show Log').then((a) => (a ? log.show() : undefined));
    await refreshHost(hosts, h);
    return true;
  } catch (err) {
    log.error(`applying ${fix.title} on ${h.label}`, err);
    void vscode.window.showErrorMessage(`${fix.title}: ${errorMessage(err)}`, 'Show Log').then((a) => (a ? log.show() : undefined));
    return false;
  }
}

async function buildAndApply(hosts: HostManager, h: HostEntry, id: string, params: Parameters<typeof buildHostFix>[2] = {}): Promise<boolean> {
  if (!h.snapshot) await refreshHost(hosts, h);
  if (!h.snapshot) return false;
  let fix: Fix;
  try {
    fix = buildHostFix(h.snapshot, id, params);
  } catch (err) {
    void vscode.window.showErrorMessage(`Conntrack: ${errorMessage(err)}`);
    return false;
  }
  return previewAndApply(hosts, h, fix);
}

async function askFilter(): Promise<EntryFilter | undefined> {
  const by = await vscode.window.showQuickPick([
    { label: 'Source address', key: 'src' as const },
    { label: 'Destination address', key: 'dst' as const },
    { label: 'Destination port (TCP)', key: 'dport' as const },
    { label: 'TCP state', key: 'state' as const },
  ], { title: 'Delete entries by…', ignoreFocusOut: true });
  if (!by) return undefined;
  if (by.key === 'state') {
    const st = await vscode.window.showQuickPick(['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE'], { title: 'TCP state' });
    return st ? { proto: 'tcp', state: st } : undefined;
  }
  const value = await vscode.window.showInputBox({ title: by.label, prompt: by.key === 'dport' ? '1–65535' : 'IPv4 or IPv6 address, optionally /prefix', ignoreFocusOut: true });
  if (!value) return undefined;
  return by.key === 'dport' ? { proto: 'tcp', dport: value } : { [by.key]: value };
}

export function registerCommands(hosts: HostManager): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: unknown[]) => Promise<unknown>): vscode.Disposable =>
    vscode.commands.registerCommand(`conntrack-doctor.${id}`, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        log.error(id, err);
        void vscode.window.showErrorMessage(`Conntrack: ${errorMessage(err)}`);
        return undefined;
      }
    });
  return [
    reg('connect', async (arg) => {
      const h = await pickHost(hosts, arg);
      if (h) await refreshHost(hosts, h);
    }),
    reg('addHost', async () => {
      const target = await vscode.window.showInputBox({ title: 'Conntrack: Add Host', prompt: 'user@host[:port] or an alias from your ssh config', ignoreFocusOut: true, validateInput: (v) => (/^[\w.@:[\]-]+$/.test(v.trim()) ? undefined : 'Only user@host[:port] or an ssh config alias') });
      if (!target) return;
      const h = await hosts.add(target.trim(), target.trim(), true);
      await refreshHost(hosts, h);
    }),
    reg('useSshConfig', async () => {
      await hosts.reload();
      if (hosts.list().length === 0) void vscode.window.showInformationMessage('No concrete Host entries were found in your ssh config.');
    }),
    reg('disconnect', async (arg) => {
      const h = await pickHost(hosts, arg, true);
      if (h) await hosts.disconnect(h);
    }),
    reg('refresh', async (arg) => {
      const h = await pickHost(hosts, arg, true);
      if (h) await refreshHost(hosts, h);
    }),
    reg('diagnose', async (arg) => {
      const h = await pickHost(hosts, arg);
      if (!h) return;
      await refreshHost(hosts, h);
      if (!h.diagnosis) return;
      await showReadOnly(`Conntrack on ${h.label.replace(/[/\\]/g, '_')} (diagnosis).txt`, renderDiagnosis(h.diagnosis), 'plaintext', { preview: false });
    }),
    reg('applyFix', async (arg) => {
      const n = arg as Extract<Node, { kind: 'fix' }> | undefined;
      const fix = n?.finding.fixes[n.fixIndex];
      if (n && fix) await previewAndApply(hosts, n.host, fix);
    }),
    reg('raiseMax', async (arg) => {
      const h = await pickHost(hosts, arg, true);
      if (!h) return;
      const rec = h.diagnosis?.findings.find((f) => f.recommendation?.key === 'net.netfilter.nf_conntrack_max')?.recommendation;
      const value = await vscode.window.showInputBox({ title: `Raise nf_conntrack_max on ${h.label}`, value: String(rec?.value ?? (h.snapshot?.max ?? 262144) * 2), prompt: rec ? rec.steps.join(' · ') : 'new maximum (entries)', ignoreFocusOut: true, validateInput: (v) => (/^[1-9]\d{0,9}$/.test(v) ? undefined : 'a whole number') });
      if (value) await buildAndApply(hosts, h, 'raise-max', { value });
    }),
    reg('setTimeout', async (arg) => {
      const h = await pickHost(hosts, arg, true);
      if (!h) return;
      const keys = [...CATALOG.values()].filter((k) => k.unit === 'seconds' && h.snapshot?.sysctl?.[k.key] !== undefined);
      const pick = await vscode.window.showQuickPick(keys.map((k) => ({ label: k.key.replace('net.netfilter.nf_conntrack_', ''), description: `now ${h.snapshot?.sysctl?.[k.key] ?? '?'} s, default ${k.defaultValue ?? '?'}`, detail: k.summary, key: k.key })), { title: `Set a conntrack timeout on ${h.label}`, ignoreFocusOut: true });
      if (!pick) return;
      const value = await vscode.window.showInputBox({ title: pick.label, prompt: 'seconds', value: h.snapshot?.sysctl?.[pick.key] ?? '', ignoreFocusOut: true, validateInput: (v) => (/^\d{1,9}$/.test(v) ? undefined : 'whole seconds') });
      if (value) await buildAndApply(hosts, h, 'set-timeout', { key: pick.key, value });
    }),
    reg('deleteEntries', async (arg) => {
      const h = await pickHost(hosts, arg, true);
      if (!h?.session) return;
      // From the Entries tree: { host, filter } of the row; from the palette: asked for.
      const given = arg && typeof arg === 'object' && 'filter' in arg ? (arg as { filter: EntryFilter }).filter : undefined;
      const filter = given ?? (await askFilter());
      if (!filter) return;
      const session = h.session;
      const counted = await withHostProgress(`Conntrack: counting the matching entries on ${h.label}`, (token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return session.runner.run(countArgv(filter), { privileged: true, timeoutMs: 300_000, signal: abort.signal });
      });
      if (counted.exitCode !== 0) throw new Error(`counting the matching entries failed (exit ${counted.exitCode}): ${counted.stderr.trim()}`);
      const expectedCount = counted.stdout.split('\n').filter((l) => l.trim()).length;
      if (expectedCount === 0) {
        void vscode.window.showInformationMessage('No entries match: nothing to delete.');
        return;
      }
      await buildAndApply(hosts, h, 'delete-entries', { filter, expectedCount });
    }),
    reg('flushTable', async (arg) => {
      const h = await pickHost(hosts, arg, true);
      if (h) await buildAndApply(hosts, h, 'flush-table');
    }),
    reg('addInvalidDropRule', async (arg) => {
      const h = await pickHost(hosts, arg, true);
      if (h) await buildAndApply(hosts, h, 'invalid-drop-rule');
    }),
    reg('rollback', async (arg) => {
      const h = await pickHost(hosts, arg, true);
      if (!h?.session) return;
      const ok = await vscode.window.showWarningMessage(`Roll back the newest recorded change on ${h.label}?`, { modal: true, detail: 'Files are restored from their backups and the previous runtime values are set again, then read back.' }, 'Roll Back');
      if (ok !== 'Roll Back') return;
      const session = h.session;
      // Not cancellable: a rollback stopped half-way would leave files and live values out of step.
      const r = await withHostProgress(`Conntrack: rolling back on ${h.label}`, () => rollbackLast(session.runner, { host: h.label, onProgress: (l) => log.info(`[${h.label}] ${l}`) }), false);
      void vscode.window.showInformationMessage(`Rolled back: ${r.record.title}`);
      await refreshHost(hosts, h);
    }),
    reg('forgetSecrets', async (arg) => {
      const h = await pickHost(hosts, arg);
      if (h) await hosts.forgetSecrets(h);
    }),
  ];
}
