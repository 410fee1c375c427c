/**
 * A quick fix on a host's sysctl file, as a Fix the playbook export takes: the file as the quick
 * fix leaves it (and the files the quick fix creates or extends beside it), then the runtime half
 * of that file — `sysctl -w` for each conntrack key whose live value differs, read back, undone
 * with the previous value — built by the same applySysctlFile the editor's "Apply on host" uses.
 */
import type { FileEdit, Fix, LintFix } from '../fix/model';
import { applySysctlFile } from '../fix/applyFile';
import { lintFixFileContent } from '../fix/lintFixFiles';
import { ValidationError, validateHostPath } from '../fix/validate';
import { applyTextEdits } from '../textEdits';

export interface HostFileFixInput {
  /** The edited file's path on the host. */
  readonly path: string;
  /** The file as the host has it (undefined: it does not exist there). */
  readonly hostContent: string | undefined;
  /** The text the quick fix applies to (the editor's, with any unsaved edits). */
  readonly text: string;
  readonly fix: LintFix;
  /** The host's current content of another file (for the files the quick fix extends). */
  readonly contentOf: (path: string) => string | undefined;
  /** Live values (dotted keys) and the namespace, as applySysctlFile takes them. */
  readonly live: Readonly<Record<string, string>>;
  readonly initialNetns: boolean | undefined;
}

export function fixFromLintFix(input: HostFileFixInput): Fix {
  const path = validateHostPath('path', input.path);
  const after = applyTextEdits(input.text, input.fix.edits);
  const fileEdits: FileEdit[] = [];
  if (after !== input.hostContent) {
    fileEdits.push({ path, description: `${input.fix.title} (${path})`, before: input.hostContent, after, ...(input.hostContent === undefined ? { createMode: 0o644 } : {}), winsAfter: [] });
  }
  for (const f of input.fix.files ?? []) {
    const other = validateHostPath('files.path', f.path);
    const existing = input.contentOf(other);
    const content = lintFixFileContent(existing, f.content);
    if (content !== undefined) fileEdits.push({ path: other, description: `${input.fix.title} (${other})`, before: existing, after: content, ...(existing === undefined ? { createMode: 0o644 } : {}), winsAfter: [] });
  }
  // The runtime half: nothing when the file sets no conntrack key whose live value differs.
  let runtime: Fix | undefined;
  try {
    runtime = applySysctlFile({ path, content: after, live: input.live, initialNetns: input.initialNetns, fileAlreadySaved: false });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
  }
  if (fileEdits.length === 0 && !runtime) throw new ValidationError('fix', `"${input.fix.title}" changes nothing on the host`);
  return {
    id: 'apply-file',
    title: input.fix.title,
    summary: `${input.fix.title} in ${path}${runtime ? `, then ${runtime.summary.charAt(0).toLowerCase()}${runtime.summary.slice(1)}` : ''}`,
    destructive: false,
    needsInitialNetns: runtime?.needsInitialNetns ?? false,
    fileEdits,
    runtime: runtime?.runtime ?? [],
    verify: runtime?.verify ?? [],
    rollback: runtime?.rollback ?? [],
    notes: [`The playbook writes ${path} as the quick fix leaves it${runtime ? ', then sets the conntrack keys whose live value differs from it' : ''}.`, ...(runtime?.notes ?? [])],
  };
}
