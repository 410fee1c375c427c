/**
 * The extension's two flows every feature shares: refreshing a host (with progress; a failure
 * offers Retry), and the one path of a remote change: build (pure, in the core) → preview →
 * modal confirmation → apply with progress (cancellable) → read back → refresh.
 */
import * as vscode from 'vscode';
import type { Fix } from '../core/fix/model';
import { confirmationFor, typedConfirms } from '../core/fix/confirm';
import { renderPreview } from '../core/fix/preview';
import { buildHostFix, connectionsDropOnDelete, type FixParams } from '../core/host/fixes';
import { applyFix } from '../io/apply';
import { EXPORT_ANSIBLE_COMMAND, EXPORT_ANSIBLE_TITLE } from './ansible';
import type { HostEntry, HostManager } from './hosts';
import { log, showError, showInfoWithLog } from './log';
import { closeReadOnly, showReadOnly } from './readOnlyDocs';

/** Progress for anything that may take more than a second; cancellable (an AbortSignal) unless the work must not stop half-way. */
export async function withProgress<T>(title: string, fn: (signal: AbortSignal) => Promise<T>, cancellable = true): Promise<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable }, (_p, token) => {
    const abort = new AbortController();
    const sub = token.onCancellationRequested(() => abort.abort());
    return fn(abort.signal).finally(() => {
      sub.dispose();
    });
  });
}

/** A new snapshot and diagnosis of the host (connecting first when needed); a failure is shown with Retry. */
export async function refreshHost(hosts: HostManager, h: HostEntry): Promise<void> {
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Conntrack: reading ${h.label}`, cancellable: true }, (_p, token) => hosts.refresh(h, token));
  } catch (err) {
    // Not awaited: the command is done; the notification's buttons act later.
    void showError(`refreshing ${h.label}`, `Conntrack: ${h.label}`, err, 'Retry').then((action) => (action === 'Retry' ? refreshHost(hosts, h) : undefined));
  }
}

/** Preview → modal confirmation → apply with progress → read back → refresh. True when applied and verified. */
export async function previewAndApply(hosts: HostManager, h: HostEntry, fix: Fix): Promise<boolean> {
  const session = h.session;
  if (!session) return false;
  if (fix.needsInitialNetns && h.snapshot?.initialNetns === false) {
    void vscode.window.showErrorMessage(`${fix.title}: ${h.label} is not the initial network namespace. nf_conntrack_max and buckets are global and can only be changed on the host itself (here the kernel refuses the write while sysctl still exits 0).`, { modal: true });
    return false;
  }
  // Beside the user's editor, not over it (a preview tab would replace the file they had open),
  // and closed once the question is answered.
  const preview = await showReadOnly(`Preview ${fix.title.replace(/[/\\]/g, '_')}.md`, renderPreview(fix, h.label), 'markdown', { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.Beside });
  let answer: 'apply' | 'ansible' | undefined;
  try {
    answer = await confirmFix(fix, h.label);
  } finally {
    await closeReadOnly(preview.document.uri);
  }
  if (answer === 'ansible') {
    await vscode.commands.executeCommand(EXPORT_ANSIBLE_COMMAND, { host: h, fix });
    return false;
  }
  if (answer !== 'apply') {
    log.info(`not applied (not confirmed): ${fix.title} on ${h.label}`);
    return false;
  }
  try {
    const record = await withProgress(`Conntrack: ${fix.title}`, (signal) =>
      applyFix(session.runner, fix, { host: h.label, confirm: () => Promise.resolve(true), signal, onProgress: (l) => log.info(`[${h.label}] ${l}`) }),
    );
    const observed = record.verification.map((v) => v.observed).join(', ') || 'done';
    showInfoWithLog(record.unchanged ? `${fix.title}: already in place (${observed}); nothing was changed.` : `${fix.title}: applied and verified (${observed}).`);
    await refreshHost(hosts, h);
    return true;
  } catch (err) {
    void showError(`applying ${fix.title} on ${h.label}`, fix.title, err);
    return false;
  }
}

/**
 * Asks before a fix runs (core/fix/confirm.ts decides how): a destructive fix is never one
 * Enter away — the host's name typed into an input box (Enter on anything else does nothing),
 * or a pick whose first, selected answer keeps the entries. Others: the modal with Apply.
 */
async function confirmFix(fix: Fix, host: string): Promise<'apply' | 'ansible' | undefined> {
  const c = confirmationFor(fix, host);
  const undo = fix.rollback.length > 0 || fix.fileEdits.length > 0 ? 'It can be rolled back (Conntrack: Roll Back Last Change).' : 'It cannot be undone.';
  if (c.kind === 'type-host') {
    // Empty: the prompt (the question) stays visible and Enter cancels; a wrong name: Enter is refused.
    const typed = await vscode.window.showInputBox({
      title: `${fix.title} on ${host}`,
      prompt: `${c.question} ${c.prompt}; Enter on an empty box or Escape cancels.`,
      placeHolder: host,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' || typedConfirms(c, v) ? undefined : { message: `${c.prompt} exactly; nothing runs until it matches.`, severity: vscode.InputBoxValidationSeverity.Error }),
    });
    return typedConfirms(c, typed) ? 'apply' : undefined;
  }
  if (c.kind === 'default-no') {
    const keep = { label: 'Cancel', description: 'keep the entries', answer: undefined };
    const items = [keep, { label: c.action, description: undo, answer: 'apply' as const }, { label: EXPORT_ANSIBLE_TITLE, answer: 'ansible' as const }];
    const picked = await vscode.window.showQuickPick(items, { title: c.question, placeHolder: 'Enter keeps the entries', ignoreFocusOut: true });
    return picked?.answer;
  }
  const go = 'Apply';
  const answer = await vscode.window.showWarningMessage(c.question, { modal: true, detail: `${fix.summary}\n\nThe exact commands and file changes are shown in the preview. ${undo}` }, go, EXPORT_ANSIBLE_TITLE);
  return answer === go ? 'apply' : answer === EXPORT_ANSIBLE_TITLE ? 'ansible' : undefined;
}

/** Builds a named fix from the host's snapshot (reading it first when there is none), then previewAndApply. */
export async function buildAndApply(hosts: HostManager, h: HostEntry, id: string, params: FixParams = {}): Promise<boolean> {
  if (!h.snapshot) await refreshHost(hosts, h);
  if (!h.snapshot) return false;
  let fix: Fix;
  try {
    if (id === 'delete-entries' || id === 'flush-table') {
      // The session's own entry is kept (read now: a reconnect changes the tuple), and a host
      // where deleting cuts established connections is asked about once more, with the reason.
      const ownConnection = await h.session?.ownConnection();
      const why = connectionsDropOnDelete(h.snapshot);
      if (why !== undefined) {
        const go = 'Delete anyway';
        const answer = await vscode.window.showWarningMessage(`Established connections on ${h.label} will be dropped`, { modal: true, detail: `${why}.\n\n${ownConnection ? 'This session is kept.' : 'This session could not be identified and may be cut before the change is read back and recorded.'} Setting nf_conntrack_tcp_loose to 1 first avoids this.` }, go);
        if (answer !== go) return false;
      }
      params = { ...params, ...(ownConnection ? { ownConnection } : {}), ...(why !== undefined ? { evenIfConnectionsDrop: true } : {}) };
    }
    fix = buildHostFix(h.snapshot, id, params);
  } catch (err) {
    void showError(`building ${id} for ${h.label}`, 'Conntrack', err);
    return false;
  }
  return previewAndApply(hosts, h, fix);
}
