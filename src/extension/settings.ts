/**
 * Settings, read and validated in one place. Settings that decide where commands run (hosts,
 * ssh config, host-key policy) are application-scoped in package.json and read here from the
 * global value only, so a workspace (trusted or not) can never inject a host or a command.
 */
import * as vscode from 'vscode';
import { z } from 'zod';

const SECTION = 'conntrackDoctor';

const settingsSchema = z.object({
  refreshIntervalSeconds: z.number().int().min(0).max(3600).catch(30),
  warnPercent: z.number().min(1).max(100).catch(75),
  highPercent: z.number().min(1).max(100).catch(90),
  criticalPercent: z.number().min(1).max(100).catch(95),
  memoryBudgetPercent: z.number().min(0.1).max(50).catch(5),
  lintLoader: z.enum(['both', 'systemd', 'procps']).catch('both'),
  sshConfigFile: z.string().optional().catch(undefined),
  hostKeyChecking: z.enum(['ask', 'yes', 'accept-new']).catch('ask'),
  hosts: z.array(z.object({ name: z.string().min(1), target: z.string().min(1) })).catch([]),
});
export type Settings = z.infer<typeof settingsSchema>;

/** Keys only ever taken from the user's (global) settings. */
const MACHINE_ONLY = new Set(['sshConfigFile', 'hostKeyChecking', 'hosts']);

export function readSettings(scope?: vscode.ConfigurationScope): Settings {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope);
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    if (MACHINE_ONLY.has(key)) raw[key] = cfg.inspect(key)?.globalValue;
    else if (!vscode.workspace.isTrusted) raw[key] = cfg.inspect(key)?.globalValue ?? cfg.inspect(key)?.defaultValue;
    else raw[key] = cfg.get(key);
  }
  return settingsSchema.parse(raw);
}

export function onSettingsChanged(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) listener();
  });
}

// --- conntrackDoctor.prometheus.* (the Fleet view) -------------------------------------------
// The URL, credentials' kind, TLS trust and the instance → SSH mapping decide what is contacted:
// application-scoped, taken from the user's settings only. The password or token itself is in
// SecretStorage, never here.

const PROMETHEUS = `${SECTION}.prometheus`;

const prometheusSchema = z.object({
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

/** Keys a workspace may set (when trusted): they only narrow or time what the user's Prometheus is asked. */
const PROMETHEUS_WORKSPACE_OK = new Set(['selector', 'timeoutSeconds']);

export function readPrometheusSettings(): PrometheusSettings {
  const cfg = vscode.workspace.getConfiguration(PROMETHEUS);
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(prometheusSchema.shape)) {
    const i = cfg.inspect(key);
    raw[key] = PROMETHEUS_WORKSPACE_OK.has(key) && vscode.workspace.isTrusted ? cfg.get(key) : (i?.globalValue ?? i?.defaultValue);
  }
  return prometheusSchema.parse(raw);
}

export async function updatePrometheusSetting(key: keyof PrometheusSettings, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration(PROMETHEUS).update(key, value, vscode.ConfigurationTarget.Global);
}

export function onPrometheusSettingsChanged(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(PROMETHEUS) || e.affectsConfiguration(`${SECTION}.warnPercent`) || e.affectsConfiguration(`${SECTION}.highPercent`) || e.affectsConfiguration(`${SECTION}.criticalPercent`) || e.affectsConfiguration(`${SECTION}.refreshIntervalSeconds`)) listener();
  });
}
