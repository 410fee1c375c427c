/**
 * What a fix will do, as the user reads it before saying yes: file diffs, the exact commands
 * (rendered with the one quoting function), what is read back, and how to undo it.
 */
import type { CommandStep, Fix, FileEdit } from './model';
import { renderCommand } from './quote';

/** Unified diff of two texts (line based, LCS), 3 lines of context. */
export function unifiedDiff(path: string, before: string | undefined, after: string): string {
  const a = before === undefined ? [] : splitKeep(before);
  const b = splitKeep(after);
  const n = a.length;
  const m = b.length;
  // LCS table (files here are small: sysctl/modprobe/nftables configs).
  const dp: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const row = dp[i] as Uint32Array;
      row[j] = a[i] === b[j] ? (dp[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(dp[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  type Op = { kind: ' ' | '-' | '+'; text: string; ai: number; bi: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', text: a[i++] ?? '', ai: i, bi: ++j });
    else if (i < n && (j === m || (dp[i + 1]?.[j] ?? 0) >= (dp[i]?.[j + 1] ?? 0))) ops.push({ kind: '-', text: a[i++] ?? '', ai: i, bi: j });
    else ops.push({ kind: '+', text: b[j++] ?? '', ai: i, bi: j });
  }
  const header = `--- ${before === undefined ? '/dev/null' : `a${path}`}\n+++ b${path}\n`;
  const changed = ops.map((o, k) => (o.kind !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return `${header}(no change)\n`;
  const hunks: string[] = [];
  let k = 0;
  while (k < changed.length) {
    const first = changed[k] ?? 0;
    let last = first;
    while (k + 1 < changed.length && (changed[k + 1] ?? 0) - last <= 6) last = changed[++k] ?? last;
    k++;
    const from = Math.max(0, first - 3);
    const to = Math.min(ops.length - 1, last + 3);
    const slice = ops.slice(from, to + 1);
    const aStart = slice.find((o) => o.kind !== '+')?.ai ?? 0;
    const bStart = slice.find((o) => o.kind !== '-')?.bi ?? 0;
    const aLen = slice.filter((o) => o.kind !== '+').length;
    const bLen = slice.filter((o) => o.kind !== '-').length;
    const body = slice.map((o) => `${o.kind}${o.text.replace(/\r?\n$/, '')}${/\n$/.test(o.text) ? '' : '\n\\ No newline at end of file'}`).join('\n');
    hunks.push(`@@ -${aLen === 0 ? aStart : aStart},${aLen} +${bLen === 0 ? bStart : bStart},${bLen} @@\n${body}\n`);
  }
  return header + hunks.join('');
}

function splitKeep(text: string): string[] {
  if (text === '') return [];
  const parts = text.split(/(?<=\n)/);
  return parts;
}

export function describeFileEdit(e: FileEdit): string {
  const wins = e.winsAfter.length > 0
    ? `\n  afterwards: ${e.winsAfter.map((w) => `${w.key} = ${w.value} wins under ${w.loader === 'systemd' ? 'systemd-sysctl' : 'sysctl --system'} (${w.path}:${w.line + 1})`).join('; ')}`
    : '';
  return `${e.description}${wins}\n${unifiedDiff(e.path, e.before, e.after)}`;
}

/** The whole preview as text (CLI `apply --dry-run`, the extension's preview document). */
export function renderPreview(fix: Fix, host?: string): string {
  const out: string[] = [];
  out.push(`# ${fix.title}${host ? ` on ${host}` : ''}`);
  out.push(fix.summary);
  if (fix.destructive && fix.confirmation) out.push(`\nDESTRUCTIVE: ${fix.confirmation}`);
  if (fix.needsInitialNetns) out.push('\nMust run in the initial (host) network namespace.');
  if (fix.impact) {
    out.push(`\n## Impact (${fix.impact.basis})\n${fix.impact.text}`);
    for (const n of fix.impact.notes) out.push(`- ${n}`);
  }
  if (fix.fileEdits.length > 0) {
    out.push('\n## Files (written atomically; a timestamped backup is kept; refused if the file changed since it was read)');
    for (const e of fix.fileEdits) out.push(describeFileEdit(e));
  }
  if (fix.runtime.length > 0) {
    out.push('## Commands');
    for (const s of fix.runtime) {
      const pre = s.skipIf ? `  (skipped when \`${renderCommand(s.skipIf)}\` succeeds${s.skipIfContains ? ` and prints "${s.skipIfContains}"` : ''})\n` : '';
      const to = s.stdoutTo ? ` > ${s.stdoutTo} (atomic, with backup)` : '';
      out.push(`${pre}${s.privileged ? '# ' : '$ '}${renderCommand(s.argv)}${to}\n  ${s.description}`);
    }
  }
  if (fix.verify.length > 0) {
    out.push('\n## Read back');
    for (const v of fix.verify) out.push(`$ ${renderCommand(v.argv)}\n  ${v.description}`);
  }
  out.push('\n## Roll back');
  if (fix.fileEdits.length > 0) out.push(`restore ${fix.fileEdits.map((e) => e.path).join(', ')} from the backups${fix.fileEdits.some((e) => e.before === undefined) ? ' (files that did not exist are removed)' : ''}`);
  for (const s of fix.rollback) out.push(`${s.privileged ? '# ' : '$ '}${renderCommand(s.argv)}\n  ${s.description}`);
  if (fix.rollback.length === 0 && fix.fileEdits.length === 0) out.push(fix.destructive ? 'not possible: deleted entries cannot be restored' : 'nothing to undo');
  if (fix.notes.length > 0) out.push(`\n## Notes\n${fix.notes.map((n) => `- ${n}`).join('\n')}`);
  return `${out.join('\n')}\n`;
}

/** What a rollback preview needs of a change record (io/changeRecord.ts has the full one). */
export interface RollbackPlan {
  readonly id: string;
  readonly title: string;
  readonly appliedAt: string;
  readonly state?: string | undefined;
  readonly files: readonly { readonly path: string; readonly existed: boolean; readonly backup?: string | undefined }[];
  readonly rollback: readonly CommandStep[];
  readonly rollbackStepsDone?: number | undefined;
  readonly rollbackStartedAt?: string | undefined;
}

/** What `rollback` will do, shown before it is confirmed (CLI, the extension's preview document). */
export function renderRollbackPreview(r: RollbackPlan, host?: string): string {
  const out: string[] = [`# Roll back: ${r.title}${host ? ` on ${host}` : ''}`];
  out.push(`change ${r.id}, applied ${r.appliedAt}${r.state && r.state !== 'applied' ? ` (state: ${r.state})` : ''}`);
  if (r.rollbackStartedAt) out.push(`An earlier rollback started ${r.rollbackStartedAt} and did not finish: this one resumes it.`);
  if (r.files.length > 0) {
    out.push('\n## Files (each left alone when it is already as before the change; refused when it changed since)');
    for (const f of [...r.files].reverse()) out.push(f.existed ? `restore ${f.path} from ${f.backup ?? '(no backup)'}` : `remove ${f.path} (created by the change)`);
  }
  if (r.rollback.length > 0) {
    out.push('\n## Commands');
    for (const [i, s] of r.rollback.entries()) {
      const done = i < (r.rollbackStepsDone ?? 0) ? ' (already done by the earlier rollback: skipped)' : '';
      const handle = s.handleFrom ? `\n  (once per rule whose line contains "${s.handleFrom.lineContains}" in \`${renderCommand(s.handleFrom.argv)}\`, with its handle)` : '';
      out.push(`${s.privileged ? '# ' : '$ '}${renderCommand(s.argv)}${done}\n  ${s.description}${handle}`);
    }
  }
  if (r.files.length === 0 && r.rollback.length === 0) out.push('\nNothing to undo on the host (the change is only marked as rolled back).');
  return `${out.join('\n')}\n`;
}
