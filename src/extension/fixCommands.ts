/**
 * The commands that change a host (category "Conntrack"): apply a finding's fix from the tree,
 * raise max, set a timeout, delete entries, flush the table, add the INVALID drop rule, roll back
 * the last change. Each asks for what it needs when called from the palette; every change goes
 * through the one path of flows.ts (build → preview → confirm → apply → read back → refresh).
 */
import * as vscode from 'vscode';
import type { Fix } from '../core/fix/model';
import { MAX_KEY } from '../core/facts';
import { CATALOG } from '../core/sysctl/catalog';
import { rollbackLast, rollbackTarget } from '../io/apply';
import { renderRollbackPreview } from '../core/fix/preview';
import { closeReadOnly, showReadOnly } from './readOnlyDocs';
import { assertFixRunnable } from '../core/host/fixes';
import { hostCommand, hostOf, type CommandSpec } from './commands';
import { askFilter, filterOf } from './entryCommands';
import { buildAndApply, previewAndApply, refreshHost, withProgress } from './flows';
import type { HostManager } from './hosts';
import { log } from './log';

/** The fix a tree node (or `{ host, fix }`) carries. */
function fixOf(arg: unknown): Fix | undefined {
  return arg !== null && typeof arg === 'object' && 'fix' in arg && arg.fix !== null && typeof arg.fix === 'object' && 'runtime' in arg.fix ? (arg.fix as Fix) : undefined;
}

export function fixCommands(hosts: HostManager): CommandSpec[] {
  return [
    {
      id: 'applyFix',
      run: async (arg: unknown) => {
        const h = hostOf(arg);
        const fix = fixOf(arg);
        if (h && fix) await previewAndApply(hosts, h, fix);
      },
    },
    hostCommand(hosts, 'raiseMax', { connected: true }, async (h) => {
      const rec = h.diagnosis?.findings.find((f) => f.recommendation?.key === MAX_KEY)?.recommendation;
      const value = await vscode.window.showInputBox({ title: `Raise nf_conntrack_max on ${h.label}`, value: String(rec?.value ?? (h.snapshot?.max ?? 262144) * 2), prompt: rec ? rec.steps.join(' · ') : 'new maximum (entries)', ignoreFocusOut: true, validateInput: (v) => (/^[1-9]\d{0,9}$/.test(v) ? undefined : 'a whole number') });
      if (value) await buildAndApply(hosts, h, 'raise-max', { value });
    }),
    hostCommand(hosts, 'setTimeout', { connected: true }, async (h) => {
      const keys = [...CATALOG.values()].filter((k) => k.unit === 'seconds' && h.snapshot?.sysctl?.[k.key] !== undefined);
      const pick = await vscode.window.showQuickPick(keys.map((k) => ({ label: k.key.replace('net.netfilter.nf_conntrack_', ''), description: `now ${h.snapshot?.sysctl?.[k.key] ?? '?'} s, default ${k.defaultValue ?? '?'}`, detail: k.summary, key: k.key })), { title: `Set a conntrack timeout on ${h.label}`, ignoreFocusOut: true });
      if (!pick) return;
      const value = await vscode.window.showInputBox({ title: pick.label, prompt: 'seconds', value: h.snapshot?.sysctl?.[pick.key] ?? '', ignoreFocusOut: true, validateInput: (v) => (/^\d{1,9}$/.test(v) ? undefined : 'whole seconds') });
      if (value) await buildAndApply(hosts, h, 'set-timeout', { key: pick.key, value });
    }),
    hostCommand(hosts, 'deleteEntries', { connected: true }, async (h, arg) => {
      const session = h.session;
      if (!session) return;
      // From the Entries tree: { host, filter } of the row; from the palette: asked for.
      const filter = filterOf(arg) ?? (await askFilter(h, undefined, `Delete entries of ${h.label} by…`));
      if (!filter) return;
      if (h.snapshot) assertFixRunnable(h.snapshot, 'delete-entries'); // before counting: the count needs the program too
      const expectedCount = await withProgress(`Conntrack: counting the matching entries on ${h.label}`, (signal) => session.countEntries(filter, { signal }));
      if (expectedCount === 0) {
        void vscode.window.showInformationMessage('No entries match: nothing to delete.');
        return;
      }
      await buildAndApply(hosts, h, 'delete-entries', { filter, expectedCount });
    }),
    hostCommand(hosts, 'flushTable', { connected: true }, (h) => buildAndApply(hosts, h, 'flush-table')),
    hostCommand(hosts, 'addInvalidDropRule', { connected: true }, (h) => buildAndApply(hosts, h, 'invalid-drop-rule')),
    hostCommand(hosts, 'rollback', { connected: true }, async (h) => {
      const session = h.session;
      if (!session) return;
      // The preview beside first (what is restored and run), then the modal, as for a fix.
      const record = await withProgress(`Conntrack: reading the change records on ${h.label}`, (signal) => rollbackTarget(session.runner, { signal }));
      const preview = await showReadOnly(`Preview roll back ${record.title.replace(/[/\\]/g, '_')}.md`, renderRollbackPreview(record, h.label), 'markdown', { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.Beside });
      const ok = await vscode.window.showWarningMessage(`Roll back change ${record.id} (${record.title}) on ${h.label}?`, { modal: true, detail: 'The preview beside shows what is restored and run. Files are restored from their backups and the previous runtime values are set again, then read back.' }, 'Roll Back');
      await closeReadOnly(preview.document.uri);
      if (ok !== 'Roll Back') return;
      // Not cancellable: a rollback stopped half-way would leave files and live values out of step.
      const r = await withProgress(`Conntrack: rolling back on ${h.label}`, () => rollbackLast(session.runner, { host: h.label, id: record.id, onProgress: (l) => log.info(`[${h.label}] ${l}`) }), false);
      void vscode.window.showInformationMessage(`Rolled back: ${r.record.title}`);
      await refreshHost(hosts, h);
    }),
  ];
}
