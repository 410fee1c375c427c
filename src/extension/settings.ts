/**
 * Settings, read in one place (their schema and defaults: settingsSchema.ts). Settings that
 * decide where commands run (hosts, ssh config, host-key policy) are application-scoped in
 * package.json and read here from the global value only, so a workspace (trusted or not) can
 * never inject a host or a command. An invalid value is logged (once) and its default used.
 */
import * as vscode from 'vscode';
import { MACHINE_ONLY, SETTINGS_SECTION, parseSettings, settingsSchema, type Settings } from './settingsSchema';
import { log } from './log';

export type { Settings } from './settingsSchema';

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

export function onSettingsChanged(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SETTINGS_SECTION)) listener();
  });
}
