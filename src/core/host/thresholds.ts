/**
 * Usage thresholds (percent of max) and the other limits findings are judged by. The defaults
 * follow the field: node-mixin warns at 75 %, netdata at 90/95, GitLab at 95. The extension's
 * settings take their defaults from here (test/unit/extension/settings.test.ts checks the
 * manifest against them).
 */
import { DEFAULT_MEMORY_BUDGET_PERCENT } from '../sizing';
import type { UsageLevel } from './diagnosis';

export interface Thresholds {
  readonly warnPercent: number;
  readonly highPercent: number;
  readonly criticalPercent: number;
  /** INVALID packets per second above which they are worth a finding. */
  readonly invalidPerSecond: number;
  /** Share of entries that are UNREPLIED above which they are stale-entry evidence. */
  readonly unrepliedShare: number;
  /** Share of entries from one source above which it is named a dominant talker. */
  readonly topSourceShare: number;
  /** Entries below which shares are not judged (a tiny table says nothing). */
  readonly minEntriesForShares: number;
  readonly memoryBudgetPercent: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  warnPercent: 75,
  highPercent: 90,
  criticalPercent: 95,
  invalidPerSecond: 1,
  unrepliedShare: 0.3,
  topSourceShare: 0.2,
  minEntriesForShares: 1000,
  memoryBudgetPercent: DEFAULT_MEMORY_BUDGET_PERCENT,
};

/** The one place a usage percentage becomes a level (host view, status bar, fleet view). */
export function usageLevel(percent: number | undefined, t: Pick<Thresholds, 'warnPercent' | 'highPercent' | 'criticalPercent'> = DEFAULT_THRESHOLDS): UsageLevel {
  if (percent === undefined) return 'unknown';
  return percent >= t.criticalPercent ? 'critical' : percent >= t.highPercent ? 'high' : percent >= t.warnPercent ? 'elevated' : 'ok';
}
