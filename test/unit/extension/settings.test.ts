/** The settings' one schema (src/extension/settingsSchema.ts) against package.json, and invalid values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SETTINGS_SECTION, parseSettings, settingsSchema, type SettingKey } from '../../../src/extension/settingsSchema';
import { DEFAULT_THRESHOLDS } from '../../../src/core/host/thresholds';

interface Contributed {
  readonly type: string;
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly string[];
  readonly scope?: string;
}
const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, Contributed> } } };
const properties = manifest.contributes.configuration.properties;
const keys = Object.keys(settingsSchema.shape) as SettingKey[];

test('package.json contributes exactly the settings of the schema', () => {
  assert.deepEqual(Object.keys(properties).sort(), keys.map((k) => `${SETTINGS_SECTION}.${k}`).sort());
});

test('every default in package.json is the schema\'s default (and the thresholds\' are the core\'s)', () => {
  const defaults = settingsSchema.parse({});
  for (const key of keys) assert.deepEqual(properties[`${SETTINGS_SECTION}.${key}`]?.default, defaults[key], key);
  assert.equal(defaults.warnPercent, DEFAULT_THRESHOLDS.warnPercent);
  assert.equal(defaults.highPercent, DEFAULT_THRESHOLDS.highPercent);
  assert.equal(defaults.criticalPercent, DEFAULT_THRESHOLDS.criticalPercent);
  assert.equal(defaults.memoryBudgetPercent, DEFAULT_THRESHOLDS.memoryBudgetPercent);
});

test('bounds, enums and types in package.json are the schema\'s', () => {
  for (const key of keys) {
    const p = properties[`${SETTINGS_SECTION}.${key}`];
    assert.ok(p, key);
    const json = z.toJSONSchema(settingsSchema.shape[key], { io: 'input', unrepresentable: 'any' }) as { type?: string; minimum?: number; maximum?: number; enum?: string[] };
    assert.equal(p.type, json.type, `${key}: type`);
    assert.equal(p.minimum, json.minimum, `${key}: minimum`);
    assert.equal(p.maximum, json.maximum, `${key}: maximum`);
    assert.deepEqual(p.enum, json.enum, `${key}: enum`);
  }
});

test('an invalid value is reported with its reason and replaced by the default; valid ones are kept', () => {
  const { settings, invalid } = parseSettings({ warnPercent: 150, refreshIntervalSeconds: 'often', lintLoader: 'systemd', hosts: [{ name: 'a' }] });
  assert.equal(settings.warnPercent, DEFAULT_THRESHOLDS.warnPercent);
  assert.equal(settings.refreshIntervalSeconds, 30);
  assert.equal(settings.lintLoader, 'systemd');
  assert.deepEqual(settings.hosts, []);
  assert.deepEqual(invalid.map((i) => i.key).sort(), ['hosts', 'refreshIntervalSeconds', 'warnPercent']);
  assert.match(invalid.find((i) => i.key === 'warnPercent')?.why ?? '', /100/);
  assert.deepEqual(parseSettings({}).invalid, [], 'unset is not invalid');
});
