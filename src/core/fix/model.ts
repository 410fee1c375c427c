/**
 * The fix model. A fix is data, built by pure code and executed by the I/O layer through one
 * path: preview → run → verify (read back) → log, with a rollback.
 */
import type { Range } from '../types';

/** A text edit inside the file a lint finding is about. */
export interface TextEdit {
  readonly range: Range;
  readonly newText: string;
}

/** A quick fix for a lint finding: edits to the linted file, and files to create beside it. */
export interface LintFix {
  readonly title: string;
  /** At most one preferred fix per finding. */
  readonly preferred: boolean;
  readonly edits: readonly TextEdit[];
  /** Files to create or replace (host paths), e.g. /etc/modules-load.d/nf_conntrack.conf. */
  readonly files?: readonly { readonly path: string; readonly content: string }[];
}

/** Which line sets a key after an edit, for one loader. */
export interface WinningLine {
  readonly key: string;
  readonly loader: 'systemd' | 'procps';
  readonly path: string;
  readonly line: number; // 0-based
  readonly value: string;
}

/** A whole-file change on a host (written atomically, with a backup, by the I/O layer). */
export interface FileEdit {
  readonly path: string;
  readonly description: string;
  /** The content the edit was computed from; undefined when the file does not exist yet. The
   *  I/O layer refuses to write when the file on the host no longer matches it. */
  readonly before: string | undefined;
  readonly after: string;
  /** Mode for a file that does not exist yet (existing files keep mode and owner). */
  readonly createMode?: number;
  /** Which file wins for the edited keys afterwards (empty when not a sysctl file). */
  readonly winsAfter: readonly WinningLine[];
}

/** One command, as an argv array; rendered for the remote shell by quote.ts only. */
export interface CommandStep {
  readonly argv: readonly string[];
  readonly description: string;
  /** Needs root (run directly as root, else through sudo). */
  readonly privileged: boolean;
  /** Run this check first and skip the step when it exits 0 (e.g. `iptables -C` before `-I`). */
  readonly skipIf?: readonly string[];
  /** Exit codes that mean success (default [0]); e.g. `conntrack -D` exits 1 when nothing matched. */
  readonly okExitCodes?: readonly number[];
  /** With skipIf: skip only when the check exits 0 AND its stdout contains this text. For checks
   *  that have no "exists" exit code (`nft list chain …` lists; it cannot test one rule), so
   *  that no `sh -c … | grep` is ever needed. Checks (skipIf, handleFrom.argv) run with the
   *  step's own privileges. Interpreted by steps.ts `shouldSkip`. */
  readonly skipIfContains?: string;
  /** The opposite check, for undo steps that must be idempotent (`iptables -C` before `-D`):
   *  exit 1 = already undone, the step is skipped (a rollback re-run after its own
   *  interruption); exit 0 or any other code = the step runs (and reports its own error).
   *  Interpreted by steps.ts `shouldSkip`. */
  readonly skipUnless?: readonly string[];
  /** The I/O layer writes this step's stdout to this host path (atomically, after a backup; the
   *  backup is what a rollback restores), e.g. `iptables-save` → /etc/iptables/rules.v4.
   *  Replaces a shell redirection, which an argv cannot express. Non-zero exit → nothing written. */
  readonly stdoutTo?: string;
  /** For commands that need a handle known only on the host (`nft delete rule … handle N`): the
   *  I/O layer first runs `argv` (a listing with handles, `nft -a list chain …`), then runs this
   *  step once per line that contains `lineContains` and ends in `# handle N`, with the argv
   *  element equal to HANDLE_PLACEHOLDER (steps.ts) replaced by N; no such line → nothing to do.
   *  Pure helper: steps.ts `expandHandleStep`. */
  readonly handleFrom?: { readonly argv: readonly string[]; readonly lineContains: string };
}

export type Expectation =
  | { readonly kind: 'equals'; readonly value: string } // trimmed stdout equals value
  | { readonly kind: 'integer-at-most'; readonly value: number }
  | { readonly kind: 'integer-at-least'; readonly value: number }
  | { readonly kind: 'exit-zero' }
  | { readonly kind: 'contains'; readonly value: string };

/** What to read back after a fix, and what it must say. */
export interface Verification {
  readonly description: string;
  readonly argv: readonly string[];
  readonly privileged: boolean;
  readonly expect: Expectation;
  /** What the expectation is checked against: trimmed stdout (default), or 'line-count' = the
   *  number of non-empty stdout lines as an integer (`conntrack -L <filter>` prints one entry per
   *  line and its summary on stderr; no `| wc -l` needed). See steps.ts `checkVerification`. */
  readonly measure?: 'line-count';
}

export type FixId =
  | 'raise-max'
  | 'set-buckets'
  | 'set-timeout'
  | 'set-sysctl'
  | 'load-module-at-boot'
  | 'delete-entries'
  | 'flush-table'
  | 'invalid-drop-rule'
  | 'apply-file'
  | 'edit-file';

export interface Fix {
  readonly id: FixId;
  readonly title: string;
  /** What it does and why, with the trade-off when there is one. */
  readonly summary: string;
  /** Flush/delete: the UI must ask first and say what will be touched. */
  readonly destructive: boolean;
  /** Text for the confirmation of a destructive fix (names what is touched). */
  readonly confirmation?: string;
  /** A destructive fix: how many entries it deletes, as counted when it was built (sizes the confirmation, confirm.ts). */
  readonly affectedEntries?: number;
  /** max/buckets are global: they can only be changed from the initial network namespace. */
  readonly needsInitialNetns: boolean;
  readonly fileEdits: readonly FileEdit[];
  readonly runtime: readonly CommandStep[];
  readonly verify: readonly Verification[];
  /** Runtime steps that restore the previous live state (files are restored from backups). */
  readonly rollback: readonly CommandStep[];
  readonly notes: readonly string[];
  /** The sysctl this fix changes (raise-max, set-timeout, set-sysctl): what its impact is computed from. */
  readonly change?: { readonly key: string; readonly from: number; readonly to: number };
  /** delete-entries: the entries it selects (validated). */
  readonly filter?: EntryFilterSpec;
  /** What it frees, from the live table (host/impact.ts); absent when it was built without a snapshot. */
  readonly impact?: FixImpact;
}

/** An entry filter as given (fix/entriesFixes.ts validates it). */
export interface EntryFilterSpec {
  readonly src?: string;
  readonly dst?: string;
  readonly proto?: string | number;
  readonly sport?: string | number;
  readonly dport?: string | number;
  readonly state?: string;
  readonly family?: string;
}

/** A count of entries in the whole table: exact, or estimated from a sample with 95 % bounds. */
export interface EntryEstimate {
  readonly value: number;
  readonly low: number;
  readonly high: number;
  readonly exact: boolean;
}

/** What applying a fix does to the table, in numbers (host/impact.ts computes it). */
export interface FixImpact {
  /** Entries freed at once. 0: none at once (say why in `text`). Absent: not known. */
  readonly freesNow?: EntryEstimate;
  /** set-timeout: entries of that state idle longer than the new timeout (freed only as their old timers run out, or when deleted). */
  readonly idleBeyond?: EntryEstimate;
  /** set-timeout: the idle entries' old timers have all run out within this many seconds. */
  readonly freedWithinSeconds?: number;
  /** raise-max: slots gained. */
  readonly headroomEntries?: number;
  /** raise-max: how long the new free slots last at the observed growth (absent: no growth observed). */
  readonly headroomSeconds?: number;
  /** raise-max: kernel memory a full table may take at the new max, and the budget. */
  readonly memoryBytes?: number;
  readonly memoryBudgetBytes?: number;
  /** delete: entries of the same selection created per second (net growth between two snapshots), when known. */
  readonly returnPerSecond?: number;
  /** Where the numbers come from: `exact: all 12,000 entries` / `sampled: 10,000 of 250,000 entries`. */
  readonly basis: string;
  /** One line: what it frees and when (the tooltip, the report). */
  readonly text: string;
  /** When the effect arrives, what comes back, the risks. */
  readonly notes: readonly string[];
}
