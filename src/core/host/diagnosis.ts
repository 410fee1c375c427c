/**
 * The shape of a diagnosis, defined once as zod schemas with the types inferred from them:
 * what diagnose() returns and every front end reads (the CLI report, the extension's tree,
 * status bar and badge), and what `diagnose --json` prints (diagnosisJsonSchema: the same
 * fields, fixes summarised; docs/cli.md is checked against it by
 * test/unit/host/diagnosis.test.ts). The causes a finding can name are listed in
 * docs/findings.md.
 */
import { z } from 'zod';
import type { Fix } from '../fix/model';
import { unavailableItemSchema } from './unavailable';
import { entryEstimatesSchema } from '../sampling';

/** Every cause a finding can name, in the order the diagnosis checks them (causes/index.ts). */
export const CAUSES = [
  'too-many-connections', 'long-timeouts', 'stale-entries', 'invalid-packets', 'memory', 'hash-buckets', 'iptables-backend',
  'nat-race', 'boot-persistence', 'config-drift', 'netns-limits', 'external-owner',
] as const;
export const causeSchema = z.enum(CAUSES);
export type Cause = z.infer<typeof causeSchema>;

export const findingSeveritySchema = z.enum(['critical', 'warning', 'info']);
export type FindingSeverity = z.infer<typeof findingSeveritySchema>;

export const usageLevelSchema = z.enum(['unknown', 'ok', 'elevated', 'high', 'critical']);
export type UsageLevel = z.infer<typeof usageLevelSchema>;

export const evidenceSchema = z.strictObject({ label: z.string(), value: z.string() }).readonly();
export type Evidence = z.infer<typeof evidenceSchema>;

/** A recommended value with its arithmetic, one step per line, and the trade-offs to know first. */
export const recommendationSchema = z.strictObject({
  key: z.string(),
  value: z.number(),
  steps: z.array(z.string()).readonly(),
  caveats: z.array(z.string()).readonly(),
}).readonly();
export type Recommendation = z.infer<typeof recommendationSchema>;

/** What a finding says, without its fixes (those are Fix objects here, summaries in JSON). */
export const findingFields = {
  /** stable code, e.g. `table-full` (docs/findings.md) */
  code: z.string(),
  cause: causeSchema,
  severity: findingSeveritySchema,
  title: z.string(),
  detail: z.string(),
  /** the numbers the finding was decided on */
  evidence: z.array(evidenceSchema).readonly(),
};

export const findingSchema = z.object({
  ...findingFields,
  fixes: z.array(z.custom<Fix>()).readonly(),
  recommendation: recommendationSchema.optional(),
  /** Why a fix could not be built (e.g. an input failed validation). */
  fixErrors: z.array(z.string()).readonly().optional(),
}).readonly();
export type Finding = z.infer<typeof findingSchema>;

export const usageSchema = z.strictObject({
  /** entries in this network namespace */
  count: z.number().optional(),
  /** nf_conntrack_max (global; 0 = unlimited) */
  max: z.number().optional(),
  buckets: z.number().optional(),
  /** count / max × 100; absent when either is unknown or max is 0 */
  percent: z.number().optional(),
  level: usageLevelSchema,
  /** false: connection tracking is not active on the host (nf_conntrack not loaded); level is then `ok` */
  active: z.literal(false).optional(),
}).readonly();
export type Usage = z.infer<typeof usageSchema>;

/** Per-second rates between the previous snapshot and this one. */
export const ratesSchema = z.strictObject({
  intervalSeconds: z.number(),
  perSecond: z.record(z.string(), z.number()).readonly(),
}).readonly();
export type Rates = z.infer<typeof ratesSchema>;

export const timeoutRowSchema = z.strictObject({
  key: z.string(),
  value: z.number().optional(),
  defaultValue: z.number().optional(),
  differsFromDefault: z.boolean(),
}).readonly();
export type TimeoutRow = z.infer<typeof timeoutRowSchema>;

export const unavailableSchema = unavailableItemSchema.readonly();
/** In `diagnose --json`: every field present, `remedy` null when there is no way to get it. */
export const unavailableJsonSchema = unavailableItemSchema.extend({ remedy: z.string().nullable() }).readonly();

export const diagnosisSchema = z.object({
  host: z.string().optional(),
  usage: usageSchema,
  /** Counters summed over CPUs (by name). */
  counters: z.record(z.string(), z.number()).readonly().optional(),
  counterSource: z.string().optional(),
  rates: ratesSchema.optional(),
  timeouts: z.array(timeoutRowSchema).readonly(),
  /** Who fills the table: exact, or estimated from a sample with bounds (sampling.ts). */
  entries: entryEstimatesSchema.optional(),
  findings: z.array(findingSchema).readonly(),
  unavailable: z.array(unavailableSchema).readonly(),
}).readonly();
export type Diagnosis = z.infer<typeof diagnosisSchema>;

const estimateSchema = z.strictObject({ value: z.number(), low: z.number(), high: z.number(), exact: z.boolean() }).readonly();

/** What a fix frees, from the live table (impact.ts; the same shape as model.ts FixImpact). */
export const fixImpactSchema = z.strictObject({
  freesNow: estimateSchema.optional(),
  idleBeyond: estimateSchema.optional(),
  freedWithinSeconds: z.number().optional(),
  headroomEntries: z.number().optional(),
  headroomSeconds: z.number().optional(),
  memoryBytes: z.number().optional(),
  memoryBudgetBytes: z.number().optional(),
  returnPerSecond: z.number().optional(),
  basis: z.string(),
  text: z.string(),
  notes: z.array(z.string()).readonly(),
}).readonly();

/** A fix as `diagnose --json` shows it: the id `apply TARGET FIX` takes, what it is, and what it frees (null: nothing can be said). */
export const fixSummarySchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  destructive: z.boolean(),
  needsInitialNetns: z.boolean(),
  impact: fixImpactSchema.nullable(),
}).readonly();

/** `diagnose --json`: the diagnosis with nulls for what is unknown (never missing, never zero). */
export const diagnosisJsonSchema = z.strictObject({
  host: z.string().optional(),
  usage: usageSchema,
  counters: z.record(z.string(), z.number()).readonly().nullable(),
  counterSource: z.string().nullable(),
  rates: ratesSchema.nullable(),
  timeouts: z.array(timeoutRowSchema).readonly(),
  entries: entryEstimatesSchema.nullable(),
  findings: z.array(z.strictObject({
    ...findingFields,
    recommendation: recommendationSchema.nullable(),
    fixes: z.array(fixSummarySchema).readonly(),
    fixErrors: z.array(z.string()).readonly(),
  }).readonly()).readonly(),
  unavailable: z.array(unavailableJsonSchema).readonly(),
}).readonly();
export type DiagnosisJson = z.infer<typeof diagnosisJsonSchema>;

/** `diagnose HOST… --json`: one element per target, a diagnosis or why there is none. */
export const fleetJsonSchema = z.array(z.union([
  z.strictObject({ target: z.string(), diagnosis: diagnosisJsonSchema }),
  z.strictObject({ target: z.string(), error: z.string() }),
])).readonly();
export type FleetJson = z.infer<typeof fleetJsonSchema>;

export function diagnosisJson(d: Diagnosis): DiagnosisJson {
  return {
    ...(d.host !== undefined ? { host: d.host } : {}),
    usage: d.usage,
    counters: d.counters ?? null,
    counterSource: d.counterSource ?? null,
    rates: d.rates ?? null,
    timeouts: d.timeouts,
    entries: d.entries ?? null,
    findings: d.findings.map((f) => ({
      code: f.code,
      cause: f.cause,
      severity: f.severity,
      title: f.title,
      detail: f.detail,
      evidence: f.evidence,
      recommendation: f.recommendation ?? null,
      fixes: f.fixes.map((x) => ({ id: x.id, title: x.title, destructive: x.destructive, needsInitialNetns: x.needsInitialNetns, impact: x.impact ?? null })),
      fixErrors: f.fixErrors ?? [],
    })),
    unavailable: d.unavailable.map((u) => ({ code: u.code, what: u.what, why: u.why, remedy: u.remedy ?? null })),
  };
}

/** Findings at warning or above: what the badge, the status bar and the exit status count. */
export function warnings(findings: readonly Pick<Finding, 'severity'>[]): number {
  return findings.filter((f) => f.severity !== 'info').length;
}

export const SEVERITY_ORDER: readonly FindingSeverity[] = ['critical', 'warning', 'info'];

/** The worst severity among findings (`info` when there are none). */
export function worstSeverity(findings: readonly Pick<Finding, 'severity'>[]): FindingSeverity {
  return SEVERITY_ORDER.find((s) => findings.some((f) => f.severity === s)) ?? 'info';
}
