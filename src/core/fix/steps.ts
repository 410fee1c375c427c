/**
 * The meaning of the CommandStep / Verification fields that need the host's output
 * (skipIf + skipIfContains, okExitCodes, handleFrom, measure), in one pure place, so the I/O
 * layer only runs argv arrays and feeds the results back here.
 */
import type { CommandStep, Verification } from './model';

/** The argv element that expandHandleStep replaces with an nft rule handle. */
export const HANDLE_PLACEHOLDER = '{handle}';

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
}

/** True when the step is already undone, given the result of running its `skipUnless` check (exit 1 = absent). */
export function alreadyUndone(step: CommandStep, check: CommandResult | undefined): boolean {
  return step.skipUnless !== undefined && check !== undefined && check.exitCode === 1;
}

/** True when the step must be skipped, given the result of running its `skipIf` check. */
export function shouldSkip(step: CommandStep, check: CommandResult | undefined): boolean {
  if (!step.skipIf || !check || check.exitCode !== 0) return false;
  return step.skipIfContains === undefined || check.stdout.includes(step.skipIfContains);
}

/** The key and value of a `sysctl -w KEY=VALUE` step (a runtime write or its undo), else undefined. */
export function sysctlWriteOf(step: Pick<CommandStep, 'argv'>): { key: string; value: string } | undefined {
  if (step.argv.length !== 3 || step.argv[0] !== 'sysctl' || step.argv[1] !== '-w') return undefined;
  const m = /^([^=]+)=(.*)$/.exec(step.argv[2] ?? '');
  return m?.[1] && m[2] !== undefined ? { key: m[1], value: m[2] } : undefined;
}

/** True when the step's exit code means success. */
export function stepSucceeded(step: CommandStep, exitCode: number): boolean {
  return (step.okExitCodes ?? [0]).includes(exitCode);
}

/** Handles (`# handle N`, from `nft -a list …`) of the lines that contain `lineContains`. */
export function findHandles(listing: string, lineContains: string): number[] {
  const out: number[] = [];
  for (const line of listing.split('\n')) {
    if (!line.includes(lineContains)) continue;
    const m = /#\s*handle\s+([0-9]+)\s*$/.exec(line.trimEnd());
    if (m?.[1]) out.push(Number(m[1]));
  }
  return out;
}

/**
 * The concrete steps for a step with `handleFrom`, given the stdout of its listing: one step
 * per matching handle (none when the rule is already gone). Steps without handleFrom come
 * back unchanged.
 */
export function expandHandleStep(step: CommandStep, listing: string): CommandStep[] {
  if (!step.handleFrom) return [step];
  const { handleFrom: _drop, ...rest } = step;
  return findHandles(listing, step.handleFrom.lineContains).map((h) => ({
    ...rest,
    argv: step.argv.map((a) => (a === HANDLE_PLACEHOLDER ? String(h) : a)),
  }));
}

function measured(v: Verification, stdout: string): string {
  if (v.measure === 'line-count') return String(stdout.split('\n').filter((l) => l.trim().length > 0).length);
  return stdout.trim();
}

export interface VerificationOutcome {
  readonly ok: boolean;
  /** What was compared (trimmed stdout or the line count), for the log and the UI. */
  readonly observed: string;
}

/** Whether a read-back satisfies its expectation. */
export function checkVerification(v: Verification, result: CommandResult): VerificationOutcome {
  const observed = measured(v, result.stdout);
  const e = v.expect;
  if (e.kind === 'exit-zero') return { ok: result.exitCode === 0, observed };
  if (result.exitCode !== 0) return { ok: false, observed };
  switch (e.kind) {
    case 'equals':
      return { ok: observed === e.value, observed };
    case 'contains':
      return { ok: result.stdout.includes(e.value), observed };
    case 'integer-at-most':
    case 'integer-at-least': {
      if (!/^-?[0-9]+$/.test(observed)) return { ok: false, observed };
      const n = Number(observed);
      return { ok: e.kind === 'integer-at-most' ? n <= e.value : n >= e.value, observed };
    }
  }
}
