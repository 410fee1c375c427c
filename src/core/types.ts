/** Shared vocabulary of the pure core. */

export type Severity = 'error' | 'warning' | 'info';

export const severityRank: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** A place in the docs/ folder of this project; adapters turn it into a link (file, URL or VS Code Uri). */
export interface DocRef {
  readonly page: string; // e.g. 'rules.md'
  readonly anchor: string; // e.g. 'inline-comment'
}

/** Zero-based, end-exclusive character range on one or more lines (LSP style). */
export interface Range {
  readonly startLine: number;
  readonly startCol: number;
  readonly endLine: number;
  readonly endCol: number;
}
