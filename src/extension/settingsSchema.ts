/**
 * The extension's settings as one zod schema: their types, ranges, enums and defaults, in one
 * place. Pure (no vscode), so test/unit/extension/settings.test.ts checks package.json's
 * `contributes.configuration` against it: same keys, defaults, bounds and enums. The usage
 * thresholds and the memory budget take their defaults from the core (DEFAULT_THRESHOLDS).
 */
import { z } from 'zod';
import { DEFAULT_THRESHOLDS } from '../core/host/thresholds';
import { DEFAULT_SAMPLE_SIZE } from '../core/sampling';
import { DEFAULT_HOST_CPU_BUDGET_PERCENT } from '../core/host/cpuBudget';

export const SETTINGS_SECTION = 'conntrackDoctor';

export const settingsSchema = z.object({
  refreshIntervalSeconds: z.number().int().min(0).max(3600).default(30),
  warnPercent: z.number().min(1).max(100).default(DEFAULT_THRESHOLDS.warnPercent),
  highPercent: z.number().min(1).max(100).default(DEFAULT_THRESHOLDS.highPercent),
  criticalPercent: z.number().min(1).max(100).default(DEFAULT_THRESHOLDS.criticalPercent),
  memoryBudgetPercent: z.number().min(0.1).max(50).default(DEFAULT_THRESHOLDS.memoryBudgetPercent),
  /** Entries read for the top talkers on connect and Refresh (0: every entry): core/sampling.ts. */
  entrySampleSize: z.number().int().min(0).max(10_000_000).default(DEFAULT_SAMPLE_SIZE),
  /** Host CPU (% of one CPU) that what runs by itself may take: core/host/cpuBudget.ts. */
  hostCpuBudgetPercent: z.number().min(0.1).max(100).default(DEFAULT_HOST_CPU_BUDGET_PERCENT),
  lintLoader: z.enum(['both', 'systemd', 'procps']).default('both'),
  sshConfigFile: z.string().optional(),
  hostKeyChecking: z.enum(['ask', 'yes', 'accept-new']).default('ask'),
  hosts: z.array(z.object({ name: z.string().min(1), target: z.string().min(1) })).default([]),
});
export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;

/** Keys only ever taken from the user's (global) settings: they decide which hosts are contacted and how. */
export const MACHINE_ONLY: ReadonlySet<SettingKey> = new Set(['sshConfigFile', 'hostKeyChecking', 'hosts']);

export interface InvalidSetting {
  readonly key: SettingKey;
  readonly value: unknown;
  readonly why: string;
}

/**
 * The settings from raw values (undefined: not set). A value that does not fit its setting is
 * replaced by the default and reported in `invalid`, never dropped silently.
 */
export function parseSettings(raw: Readonly<Record<string, unknown>>): { settings: Settings; invalid: InvalidSetting[] } {
  const invalid: InvalidSetting[] = [];
  const checked: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(settingsSchema.shape) as [SettingKey, z.ZodType][]) {
    const value = raw[key];
    const r = schema.safeParse(value);
    if (r.success) checked[key] = r.data;
    else invalid.push({ key, value, why: r.error.issues.map((i) => i.message).join('; ') });
  }
  return { settings: settingsSchema.parse(checked), invalid };
}

/**
 * conntrackDoctor.prometheus.* (the Fleet view): an invalid value falls back to its default
 * (catch), as the view must still open.
 */
export const prometheusSchema = z.object({
  url: z.string().trim().catch(''),
  selector: z.string().catch(''),
  auth: z.enum(['none', 'basic', 'bearer']).catch('none'),
  username: z.string().catch(''),
  headers: z.record(z.string(), z.string()).catch({}),
  caFile: z.string().catch(''),
  insecureSkipVerify: z.boolean().catch(false),
  timeoutSeconds: z.number().int().min(1).max(600).catch(10),
  sshTargetLabel: z.string().regex(/^$|^[A-Za-z_][A-Za-z0-9_]*$/).catch(''),
  sshTargets: z.record(z.string(), z.string()).catch({}),
  sshUser: z.string().regex(/^$|^[A-Za-z0-9._][A-Za-z0-9._-]*$/).catch(''),
});
export type PrometheusSettings = z.infer<typeof prometheusSchema>;
