/**
 * Host snapshot(s) → diagnosis: usage, counters with their rates, timeouts against their
 * defaults, and the findings of every cause check (causes/index.ts), worst first. Each finding
 * names its cause, the evidence it was decided on, and the fixes that address it. The shape
 * is diagnosis.ts; the thresholds are thresholds.ts.
 */
import { CATALOG } from '../sysctl/catalog';
import { liveInt } from './adapters';
import { CAUSE_CHECKS } from './causes';
import { causeContext } from './causes/context';
import { SEVERITY_ORDER, type Diagnosis, type Finding, type Rates, type TimeoutRow } from './diagnosis';
import { usagePercent, type HostSnapshot } from './snapshot';
import { DEFAULT_THRESHOLDS, usageLevel, type Thresholds } from './thresholds';
import { withImpact } from './impact';

export interface DiagnoseOptions {
  readonly previous?: HostSnapshot | undefined;
  readonly thresholds?: Partial<Thresholds>;
  /** Highest count seen in earlier snapshots (the extension keeps polling history). */
  readonly observedPeak?: number;
}

export function computeRates(previous: HostSnapshot, current: HostSnapshot): Rates | undefined {
  const a = previous.counters?.totals;
  const b = current.counters?.totals;
  if (!a || !b) return undefined;
  const dt = (current.takenAt - previous.takenAt) / 1000;
  if (!(dt > 0)) return undefined;
  if (previous.uptimeSeconds !== undefined && current.uptimeSeconds !== undefined && current.uptimeSeconds < previous.uptimeSeconds) return undefined; // rebooted
  const perSecond: Record<string, number> = {};
  for (const [name, value] of Object.entries(b)) {
    const before = a[name];
    if (before === undefined || value < before) continue; // new counter, or reset (module reload)
    perSecond[name] = (value - before) / dt;
  }
  return { intervalSeconds: dt, perSecond };
}

/** Diagnoses one snapshot (and the previous one, for rates). */
export function diagnose(s: HostSnapshot, options: DiagnoseOptions = {}): Diagnosis {
  const thresholds: Thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const percent = usagePercent(s);
  // Not tracking at all is healthy: nothing can fill a table that does not exist.
  const inactive = s.conntrackModule === 'absent';
  const level = inactive ? 'ok' : usageLevel(percent, thresholds);
  const rates = options.previous ? computeRates(options.previous, s) : undefined;
  const ctx = causeContext(s, { thresholds, percent, level, rates, observedPeak: options.observedPeak });
  // every fix says what it frees, from the same snapshot (impact.ts)
  const findings: Finding[] = CAUSE_CHECKS.flatMap(({ check }) => check(s, ctx)).map((f) => ({ ...f, fixes: f.fixes.map((x) => withImpact(x, { snapshot: s, previous: options.previous, rates })) }));
  findings.sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  const totals = s.counters?.totals;
  return {
    ...(s.host ? { host: s.host } : {}),
    usage: {
      ...(s.count !== undefined ? { count: s.count } : {}),
      ...(s.max !== undefined ? { max: s.max } : {}),
      ...(s.buckets !== undefined ? { buckets: s.buckets } : {}),
      ...(percent !== undefined ? { percent } : {}),
      level,
      ...(inactive ? { active: false } : {}),
    },
    ...(totals ? { counters: totals } : {}),
    ...(s.counters ? { counterSource: s.counters.source } : {}),
    ...(rates ? { rates } : {}),
    timeouts: timeoutRows(s),
    ...(ctx.entries ? { entries: ctx.entries } : {}),
    findings,
    unavailable: s.unavailable ?? [],
  };
}

function timeoutRows(s: HostSnapshot): TimeoutRow[] {
  const rows: TimeoutRow[] = [];
  for (const info of CATALOG.values()) {
    if (info.unit !== 'seconds') continue;
    const value = liveInt(s, info.key);
    if (value === undefined && s.sysctl !== undefined) continue; // key absent on this kernel
    rows.push({
      key: info.key,
      ...(value !== undefined ? { value } : {}),
      ...(info.defaultValue !== undefined ? { defaultValue: info.defaultValue } : {}),
      differsFromDefault: value !== undefined && info.defaultValue !== undefined && value !== info.defaultValue,
    });
  }
  return rows;
}
