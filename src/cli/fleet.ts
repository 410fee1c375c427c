/**
 * `conntrack-doctor fleet`: every instance exporting node_nf_conntrack_entries, from the
 * Prometheus the team already runs, ranked worst first; `--diagnose N` then diagnoses the N
 * worst over SSH with `diagnose` itself. Secrets (password, token, secret headers) come from the
 * environment or files, never from argv. Exit: 0 all fine, 1 a host at warning or above (or
 * dropping), 2 usage error, 3 Prometheus could not be queried (or, with --diagnose, a host
 * could not be diagnosed).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isPrometheusError, prometheusHint } from '../core/fleet/errors';
import { inTrouble } from '../core/fleet/ranking';
import { fleetJson, renderFleetTable } from '../core/fleet/report';
import { parseSelector } from '../core/fleet/selector';
import type { SshMapping } from '../core/fleet/sshTarget';
import { ValidationError } from '../core/fix/validate';
import { PrometheusClient, readFleet, type PrometheusAuth } from '../io/prometheus';
import { runDiagnose } from './hostCommands';
import type { CliIO } from './io';

export const FLEET_USAGE = `Fleet (from Prometheus: node_exporter's conntrack metrics):
  fleet --prometheus URL [--selector SEL] [--top N] [--json] [--diagnose N]
        every instance ranked worst first: usage, level, 24 h peak, drop/early_drop/insert_failed/invalid per second, up
    --prometheus URL      base URL (or CONNTRACK_DOCTOR_PROMETHEUS_URL); no user:password in it
    --selector SEL        label matchers, e.g. '{job="node",cluster="eu"}'
    --user NAME           basic auth; the password from CONNTRACK_DOCTOR_PROMETHEUS_PASSWORD or --password-file FILE
    --token-file FILE     bearer token (or CONNTRACK_DOCTOR_PROMETHEUS_TOKEN)
    --header 'N: V'       a header that is not secret (repeatable); secret ones: --headers-file FILE ('Name: value' lines)
    --ca FILE | --insecure  a CA for its certificate | accept a self-signed one
    --timeout S           per request (default 10)
    --ssh-label LABEL | --ssh-map FILE | --ssh-user USER   instance → SSH target (default: the instance without its port)
    --diagnose N          then diagnose the N worst over SSH (diagnose's options apply: --ssh-config, --host-key-check, --interval, --parallel)
  Proxies: HTTPS_PROXY / http_proxy / NO_PROXY. Exit 1 when a host is at warning or above, 3 when Prometheus cannot be queried.`;

const ENV_URL = 'CONNTRACK_DOCTOR_PROMETHEUS_URL';
const ENV_PASSWORD = 'CONNTRACK_DOCTOR_PROMETHEUS_PASSWORD';
const ENV_TOKEN = 'CONNTRACK_DOCTOR_PROMETHEUS_TOKEN';

async function secretFile(path: string, what: string): Promise<string> {
  try {
    // One trailing newline is the file's, not the secret's.
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new ValidationError(what, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function headerLine(line: string, where: string): [string, string] {
  const i = line.indexOf(':');
  if (i <= 0) throw new ValidationError(where, `expected "Name: value", got ${JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line)}`);
  return [line.slice(0, i).trim(), line.slice(i + 1).trim()];
}

function count(raw: string | undefined, name: string, def: number | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new ValidationError(`--${name}`, `must be an integer from ${min} to ${max}`);
  return Number(raw);
}

export async function runFleet(argv: readonly string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let p;
  try {
    p = parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        prometheus: { type: 'string' },
        selector: { type: 'string' },
        top: { type: 'string' },
        json: { type: 'boolean', default: false },
        diagnose: { type: 'string' },
        user: { type: 'string' },
        'password-file': { type: 'string' },
        'token-file': { type: 'string' },
        header: { type: 'string', multiple: true },
        'headers-file': { type: 'string' },
        ca: { type: 'string' },
        insecure: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        'ssh-label': { type: 'string' },
        'ssh-map': { type: 'string' },
        'ssh-user': { type: 'string' },
        // passed on to diagnose
        'ssh-config': { type: 'string' },
        'host-key-check': { type: 'string' },
        interval: { type: 'string' },
        parallel: { type: 'string' },
        verbose: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.stderr(`conntrack-doctor: ${err instanceof Error ? err.message : String(err)}\n${FLEET_USAGE}\n`);
    return 2;
  }
  const v = p.values;
  if (v.help) {
    io.stdout(`${FLEET_USAGE}\n`);
    return 0;
  }
  let client: PrometheusClient;
  let report;
  try {
    const url = v.prometheus ?? env[ENV_URL];
    if (!url) throw new ValidationError('--prometheus', `the Prometheus URL is needed (or ${ENV_URL})`);
    const matchers = parseSelector(v.selector ?? '', '--selector');
    const top = count(v.top, 'top', undefined, 1, 1_000_000);
    const timeout = count(v.timeout, 'timeout', 10, 1, 600) ?? 10;
    let auth: PrometheusAuth | undefined;
    const tokenFromEnv = env[ENV_TOKEN];
    if (v['token-file'] !== undefined || tokenFromEnv) {
      if (v.user !== undefined) throw new ValidationError('--user', 'basic auth and a bearer token exclude each other');
      const token = v['token-file'] !== undefined ? await secretFile(v['token-file'], '--token-file') : (tokenFromEnv ?? '');
      if (!token) throw new ValidationError('--token-file', 'the token is empty');
      auth = { kind: 'bearer', token };
    } else if (v.user !== undefined) {
      const password = v['password-file'] !== undefined ? await secretFile(v['password-file'], '--password-file') : env[ENV_PASSWORD];
      if (password === undefined) throw new ValidationError('--user', `the password comes from ${ENV_PASSWORD} or --password-file FILE (never from the command line)`);
      auth = { kind: 'basic', username: v.user, password };
    } else if (v['password-file'] !== undefined) throw new ValidationError('--password-file', 'needs --user');
    const headers: Record<string, string> = {};
    for (const h of v.header ?? []) {
      const [name, value] = headerLine(h, '--header');
      if (/^(authorization|proxy-authorization|cookie)$/i.test(name)) throw new ValidationError('--header', `${name} carries a secret: put it in --headers-file FILE, or use --user / --token-file`);
      headers[name] = value;
    }
    if (v['headers-file'] !== undefined) {
      for (const line of (await secretFile(v['headers-file'], '--headers-file')).split(/\r?\n/)) {
        if (line.trim() && !line.trimStart().startsWith('#')) {
          const [name, value] = headerLine(line, '--headers-file');
          headers[name] = value;
        }
      }
    }
    const ca = v.ca !== undefined ? await secretFile(v.ca, '--ca') : undefined;
    if (v.ca !== undefined && v.insecure) throw new ValidationError('--insecure', 'give either --ca or --insecure');
    const ssh: SshMapping = {
      ...(v['ssh-label'] !== undefined ? { label: v['ssh-label'] } : {}),
      ...(v['ssh-user'] !== undefined ? { user: v['ssh-user'] } : {}),
      ...(v['ssh-map'] !== undefined ? { targets: parseSshMap(await secretFile(v['ssh-map'], '--ssh-map'), v['ssh-map']) } : {}),
    };
    const diagnoseCount = count(v.diagnose, 'diagnose', undefined, 1, 1000);
    client = new PrometheusClient({ url, ...(auth ? { auth } : {}), headers, ...(ca !== undefined ? { ca } : {}), insecure: v.insecure, timeoutMs: timeout * 1000 });
    report = await readFleet(client, { matchers, ssh });
    const hostsShown = top !== undefined ? report.hosts.slice(0, top) : report.hosts;
    let code = report.hosts.some(inTrouble) ? 1 : 0;
    let diagnoses: unknown;
    if (diagnoseCount !== undefined) {
      const targets = [...new Set(report.hosts.filter((h) => h.sshTarget !== null).slice(0, diagnoseCount).map((h) => h.sshTarget ?? ''))];
      const pass = (['ssh-config', 'host-key-check', 'interval', 'parallel'] as const).flatMap((k) => (v[k] !== undefined ? [`--${k}`, String(v[k])] : []));
      if (v.verbose) pass.push('-v');
      if (targets.length === 0) {
        io.stderr('conntrack-doctor: --diagnose: no instance has an SSH target\n');
        code = Math.max(code, 3);
      } else if (v.json) {
        const captured = await diagnoseCaptured(targets, pass, io);
        diagnoses = captured.json;
        code = Math.max(code, captured.code);
      } else {
        io.stdout(`${renderFleetTable(report, top)}\n== diagnose ${targets.join(' ')}\n`);
        const c = await runDiagnose([...targets, ...pass], io);
        return Math.max(code, c);
      }
    }
    if (v.json) {
      const json = fleetJson({ ...report, hosts: hostsShown }) as Record<string, unknown>;
      io.stdout(`${JSON.stringify(diagnoses !== undefined ? { ...json, diagnoses } : json, null, 2)}\n`);
    } else io.stdout(renderFleetTable(report, top));
    return code;
  } catch (err) {
    if (err instanceof ValidationError) {
      io.stderr(`conntrack-doctor: ${err.message}\n`);
      return 2;
    }
    if (isPrometheusError(err)) {
      io.stderr(`conntrack-doctor: ${err.kind === 'config' ? '' : 'cannot query Prometheus: '}${err.message}\n  ${prometheusHint(err.kind)}\n`);
      return err.kind === 'config' ? 2 : 3;
    }
    io.stderr(`conntrack-doctor: ${err instanceof Error ? err.message : String(err)}\n`);
    return 3;
  }
}

function parseSshMap(text: string, path: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError('--ssh-map', `${path} is not JSON (expected {"instance": "ssh target", …})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((t) => typeof t === 'string')) {
    throw new ValidationError('--ssh-map', `${path}: expected {"instance": "ssh target", …}`);
  }
  return value as Record<string, string>;
}

/**
 * `diagnose TARGET… --json` run as is, its JSON kept for the fleet's JSON: the many-host array
 * of { target, diagnosis } / { target, error }. One target prints one diagnosis; it is wrapped
 * the same way so the shape does not depend on N.
 */
async function diagnoseCaptured(targets: readonly string[], pass: readonly string[], io: CliIO): Promise<{ json: unknown; code: number }> {
  let out = '';
  let err = '';
  const code = await runDiagnose([...targets, '--json', ...pass], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  if (err) io.stderr(err);
  const only = targets[0] ?? '';
  if (!out.trim()) return { json: [{ target: only, error: err.trim().replace(/^conntrack-doctor: /, '') || `exit ${code}` }], code };
  const parsed = JSON.parse(out) as unknown;
  return { json: Array.isArray(parsed) ? parsed : [{ target: only, diagnosis: parsed }], code };
}
