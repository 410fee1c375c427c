/** The settings' one schema (src/extension/settingsSchema.ts) against package.json, and invalid values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SETTINGS_SECTION, parseSettings, prometheusSchema, settingsSchema, type SettingKey } from '../../../src/extension/settingsSchema';
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
const prometheusKeys = Object.keys(prometheusSchema.shape) as (keyof typeof prometheusSchema.shape)[];

test('package.json contributes exactly the settings of the schemas (conntrackDoctor.*, conntrackDoctor.prometheus.*)', () => {
  assert.deepEqual(Object.keys(properties).sort(), [...keys.map((k) => `${SETTINGS_SECTION}.${k}`), ...prometheusKeys.map((k) => `${SETTINGS_SECTION}.prometheus.${k}`)].sort());
});

test('conntrackDoctor.prometheus.*: package.json\'s defaults and types are the schema\'s; an invalid value falls back to the default', () => {
  const defaults = prometheusSchema.parse({});
  for (const key of prometheusKeys) {
    const p = properties[`${SETTINGS_SECTION}.prometheus.${key}`];
    assert.ok(p, key);
    assert.deepEqual(p.default, defaults[key], `${key}: default`);
    const json = z.toJSONSchema(prometheusSchema.shape[key], { io: 'input', unrepresentable: 'any' }) as { type?: string; minimum?: number; maximum?: number; enum?: string[] };
    assert.equal(p.type, json.type, `${key}: type`);
    assert.equal(p.minimum, json.minimum, `${key}: minimum`);
    assert.equal(p.maximum, json.maximum, `${key}: maximum`);
    assert.deepEqual(p.enum, json.enum, `${key}: enum`);
  }
  const parsed = prometheusSchema.parse({ url: ' http://p:9090 ', timeoutSeconds: 0, auth: 'kerberos', sshUser: 'a b' });
  assert.equal(parsed.url, 'http://p:9090');
  assert.equal(parsed.timeoutSeconds, 10);
  assert.equal(parsed.auth, 'none');
  assert.equal(parsed.sshUser, '');
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
