/**
 * The host CPU budget (issue 13): what the product runs BY ITSELF on a host (the periodic
 * refresh's full re-read when the files' fingerprint changed, with its sampled entry summary)
 * may take at most `budgetPercent` % of one CPU over time. The measured host CPU of the last
 * such run sets the pause before the next: cost / budget. What the user asks for (connect,
 * Refresh, Full Count) is not governed.
 *
 * The cost is measured on the host by the scripts themselves: they end with the shell's `times`
 * on stderr (the shell's and its reaped children's user + system time: every process the run
 * started), after a `@@times` line.
 */

/** 1 % of one CPU: a full re-read of ~0.5 s host CPU at most every 50 s. */
export const DEFAULT_HOST_CPU_BUDGET_PERCENT = 1;

/** The last automatic run's host CPU (ms) and when it ended (ms since the epoch). */
export interface HostCpuCost {
  readonly hostCpuMs: number;
  readonly endedAt: number;
}

/** The least time between two automatic runs that keeps a run of `hostCpuMs` within `budgetPercent` % of one CPU. */
export function minimumIntervalMs(hostCpuMs: number, budgetPercent: number): number {
  if (!Number.isFinite(hostCpuMs) || hostCpuMs < 0) throw new Error(`a host CPU cost must be a non-negative number of ms (got ${hostCpuMs})`);
  if (!Number.isFinite(budgetPercent) || budgetPercent <= 0 || budgetPercent > 100) throw new Error(`a host CPU budget must be a percentage above 0 and at most 100 (got ${budgetPercent})`);
  return (hostCpuMs * 100) / budgetPercent;
}

/** When the next automatic run may start (ms since the epoch); at once when nothing ran yet. */
export function nextAutomaticRunAt(last: HostCpuCost | undefined, budgetPercent: number): number {
  return last === undefined ? 0 : last.endedAt + minimumIntervalMs(last.hostCpuMs, budgetPercent);
}

/** The shell line scripts end with: `times` on stderr after a marker (a trap on EXIT runs it on every way out). */
export const REPORT_HOST_CPU = `trap 'echo @@times >&2; times >&2' EXIT`;

/**
 * The host CPU (ms) in a script's stderr: the two lines `times` prints after `@@times` (the
 * shell's own user/system time, then its children's), as dash, bash and busybox ash write them
 * ("0m0.012000s 0m0.004000s"). Undefined when the lines are missing.
 */
export function parseHostCpuMs(stderr: string): number | undefined {
  const m = /^@@times\r?\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\r?\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/m.exec(stderr);
  if (!m) return undefined;
  const s = (min: string | undefined, sec: string | undefined): number => Number(min) * 60 + Number(sec);
  const total = s(m[1], m[2]) + s(m[3], m[4]) + s(m[5], m[6]) + s(m[7], m[8]);
  return Number.isFinite(total) ? Math.round(total * 1000) : undefined;
}

/** stderr without the `@@times` report, for messages that quote it. */
export function withoutHostCpu(stderr: string): string {
  return stderr.replace(/^@@times\r?\n(?:\d+m[\d.]+s \d+m[\d.]+s(?:\r?\n|$)){0,2}/m, '');
}

/** A full re-read a periodic refresh put off: the files changed, the budget said not yet. */
export interface DeferredRead {
  /** when the periodic refresh may read everything again (ms since the epoch) */
  readonly until: number;
  readonly budgetPercent: number;
  /** the last full read's measured host CPU, which set the pause */
  readonly lastCostMs?: number;
}

/**
 * How the host's row shows a put-off re-read: a short description ("files changed · re-read at
 * 21:14:05 (CPU budget 1 %)") and the tooltip's paragraph. `timeOfDay` renders a time (the
 * caller's clock and locale).
 */
export function describeDeferredRead(d: DeferredRead, timeOfDay: (ms: number) => string): { description: string; tooltip: string } {
  const at = timeOfDay(d.until);
  const budget = `${d.budgetPercent} %`;
  return {
    description: `files changed · re-read at ${at} (CPU budget ${budget})`,
    tooltip:
      `**Files changed**: the sysctl files' fingerprint changed; what is shown was read before. ` +
      `${d.lastCostMs !== undefined ? `The last full read took ${d.lastCostMs} ms of host CPU, so ` : ''}the host CPU budget of ${budget} of one CPU ` +
      `(conntrackDoctor.hostCpuBudgetPercent) puts the next one at ${at}. Refresh reads everything now.`,
  };
}
