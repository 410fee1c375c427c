/**
 * Settings, read in one place (their schema and defaults: settingsSchema.ts). Settings that
 * decide where commands run (hosts, ssh config, host-key policy) are application-scoped in
 * package.json and read here from the global value only, so a workspace (trusted or not) can
 * never inject a host or a command. An invalid value is logged (once) and its default used.
 */
import * as vscode from 'vscode';
import { MACHINE_ONLY, SETTINGS_SECTION, parseSettings, prometheusSchema, settingsSchema, type PrometheusSettings, type Settings } from './settingsSchema';
import { log } from './log';

export type { PrometheusSettings, Settings } from './settingsSchema';

const reported = new Set<string>();

export function readSettings(scope?: vscode.ConfigurationScope): Settings {
  const cfg = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(settingsSchema.shape) as (keyof Settings)[]) {
    if (MACHINE_ONLY.has(key)) raw[key] = cfg.inspect(key)?.globalValue;
    else if (!vscode.workspace.isTrusted) raw[key] = cfg.inspect(key)?.globalValue;
    else raw[key] = cfg.get(key);
  }
  const { settings, invalid } = parseSettings(raw);
  for (const i of invalid) {
    const text = `${SETTINGS_SECTION}.${i.key} = ${JSON.stringify(i.value)} is not valid (${i.why}): the default ${JSON.stringify(settings[i.key])} is used`;
    if (!reported.has(text)) {
      reported.add(text);
      log.warn(text);
    }
  }
  return settings;
}

/**
 * conntrackDoctor.hostKeyChecking only when the user set it (an invalid value counts as not
 * set): otherwise the host's own StrictHostKeyChecking from the ssh config decides, and "ask"
 * where that says nothing. The setting's default must not override a host's `yes`.
 */
export function hostKeyCheckingSetByUser(): Settings['hostKeyChecking'] | undefined {
  const value = vscode.workspace.getConfiguration(SETTINGS_SECTION).inspect('hostKeyChecking')?.globalValue;
  const r = settingsSchema.shape.hostKeyChecking.safeParse(value);
  return value !== undefined && r.success ? r.data : undefined;
}

export function onSettingsChanged(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SETTINGS_SECTION)) listener();
  });
}

// --- conntrackDoctor.prometheus.* (the Fleet view) -------------------------------------------
// The URL, credentials' kind, TLS trust and the instance → SSH mapping decide what is contacted:
// application-scoped, taken from the user's settings only. The password or token itself is in
// SecretStorage, never here.

const PROMETHEUS = `${SETTINGS_SECTION}.prometheus`;

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
    if (e.affectsConfiguration(PROMETHEUS) || e.affectsConfiguration(`${SETTINGS_SECTION}.warnPercent`) || e.affectsConfiguration(`${SETTINGS_SECTION}.highPercent`) || e.affectsConfiguration(`${SETTINGS_SECTION}.criticalPercent`) || e.affectsConfiguration(`${SETTINGS_SECTION}.refreshIntervalSeconds`)) listener();
  });
}
