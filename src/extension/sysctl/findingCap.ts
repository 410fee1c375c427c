/**
 * How many of a file's findings the editor shows (pure: no vscode, unit-tested with plain Node).
 * VS Code turns every diagnostic into a marker, a squiggle and a Problems row, and sends them to
 * the window on every keystroke's lint: a mistake-heavy 10,000-line file has 11,000 findings.
 * The editor shows the most severe MAX_SHOWN_FINDINGS (errors, then warnings, then info; in
 * file order within each) and one more line saying how many are not shown. Fix-all and the CLI
 * still see every finding.
 */
import type { Severity } from '../../core/types';
import { formatInt } from '../../core/format';

export const MAX_SHOWN_FINDINGS = 500;

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export interface ShownFindings<T> {
  /** In the order given (file order). */
  readonly shown: readonly T[];
  readonly hidden: number;
}

export function capFindings<T extends { readonly severity: Severity }>(findings: readonly T[], max = MAX_SHOWN_FINDINGS): ShownFindings<T> {
  if (findings.length <= max) return { shown: findings, hidden: 0 };
  // Array.prototype.sort is stable: within a severity the file order stays.
  const chosen = findings.map((f, i) => ({ f, i })).sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity]).slice(0, max);
  chosen.sort((a, b) => a.i - b.i);
  return { shown: chosen.map((c) => c.f), hidden: findings.length - max };
}

/** The text of the editor's one line about the findings it does not show. */
export function hiddenFindingsMessage(total: number, hidden: number, max = MAX_SHOWN_FINDINGS): string {
  return `${formatInt(hidden)} more finding${hidden === 1 ? '' : 's'} not shown: the editor shows the ${formatInt(max)} most severe of ${formatInt(total)}. Fix these (Fix all fixes every finding) or run \`conntrack-doctor lint\` on the file for the full list.`;
}
