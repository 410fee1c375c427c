/**
 * The real test host the suite runs against (scripts/vscode/test.sh brings it up and passes
 * CTD_TEST_SSH_CONFIG, CTD_TEST_HOST, CTD_TEST_HOST_NAME, CTD_TEST_HOST_UNKNOWN_KEY), and
 * independent checks on it: commands run inside the host's own namespaces with
 * `harness/host/ctd-host exec`, never through the product.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as vscode from 'vscode';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import type { HostEntry } from '../../../src/extension/hosts';

export const EXTENSION_ID = 'conntrack-doctor.conntrack-doctor';

export interface TestHostEnv {
  readonly sshConfig: string;
  /** The ssh config alias of the host (known host key). */
  readonly alias: string;
  /** The ctd-host name (for `ctd-host exec`). */
  readonly hostName: string;
  /** A second alias of the same host whose known_hosts is empty. */
  readonly unknownAlias: string;
}

/** The test host's settings; fails loudly when the suite is not run through scripts/vscode/test.sh. */
export function testHostEnv(): TestHostEnv {
  const e = process.env;
  const env = { sshConfig: e['CTD_TEST_SSH_CONFIG'], alias: e['CTD_TEST_HOST'], hostName: e['CTD_TEST_HOST_NAME'], unknownAlias: e['CTD_TEST_HOST_UNKNOWN_KEY'] };
  assert.ok(env.sshConfig && env.alias && env.hostName && env.unknownAlias, 'CTD_TEST_* variables missing: run through scripts/vscode/test.sh');
  return { sshConfig: env.sshConfig, alias: env.alias, hostName: env.hostName, unknownAlias: env.unknownAlias };
}

/** `ctd-host ARGS…` (e.g. `full NAME`); fails the test when it fails. */
export function ctdHost(args: readonly string[], input?: string): string {
  const r = spawnSync('harness/host/ctd-host', args, { encoding: 'utf8', cwd: process.env['CTD_REPO'] ?? process.cwd(), maxBuffer: 64 * 1024 * 1024, ...(input !== undefined ? { input } : {}) });
  assert.equal(r.status, 0, `ctd-host ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A command run inside the test host (sshd's mount + net namespaces); its stdout. */
export function onHost(cmd: readonly string[], input?: string): string {
  return ctdHost(['exec', testHostEnv().hostName, ...cmd], input);
}

/** The extension activated with the test host's ssh config, and the host's entry (not yet connected). */
export async function extensionWithTestHost(): Promise<{ api: ConntrackDoctorApi; host: HostEntry }> {
  const env = testHostEnv();
  const ext = vscode.extensions.getExtension<ConntrackDoctorApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed`);
  const api = await ext.activate();
  await vscode.workspace.getConfiguration('conntrackDoctor').update('sshConfigFile', env.sshConfig, vscode.ConfigurationTarget.Global);
  await api.hosts.reload();
  const host = api.hosts.get(env.alias);
  assert.ok(host, `host ${env.alias} not listed: ${api.hosts.list().map((x) => x.id).join(', ')}`);
  return { api, host };
}
