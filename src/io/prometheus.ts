/**
 * Asking a Prometheus server: instant and range queries over HTTP(S) with Node's own http/https
 * (no client library: a typed wrapper over two endpoints, validated in core/fleet/api.ts).
 * node:https rather than fetch because Node 20's fetch takes neither a custom CA nor "insecure"
 * per request, and because VS Code's proxy support patches node's http/https for extensions.
 *
 * - auth: basic or bearer (the secret is passed in; it never reaches a log or a message);
 *   custom headers (tenant ids, or a secret header from a secret store);
 * - TLS: the system CAs, or a given CA; `insecure` (self-signed) only when asked;
 * - proxies from the environment (core/fleet/proxy.ts): an http URL through the proxy with an
 *   absolute request line, an https URL through a CONNECT tunnel;
 * - one time budget for the whole exchange; redirects are not followed (they would carry the
 *   credentials elsewhere; the API never redirects);
 * - queries are POSTed as a form, so long selectors and instance lists fit.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { asMatrix, asVector, readAnswer, sampleValue, type Matrix, type QueryResult, type RawAnswer, type Vector } from '../core/fleet/api';
import { PrometheusError } from '../core/fleet/errors';
import { proxyFor, type ProxyEnv } from '../core/fleet/proxy';
import { fleetQueries, RATE_COUNTERS, usageHistoryQuery, type FleetQueryOptions, type RateCounter } from '../core/fleet/promql';
import { rankFleet, type FleetAnswers, type RankOptions } from '../core/fleet/ranking';
import type { FleetError, FleetReport } from '../core/fleet/report';
import { renderSelector, type LabelMatcher } from '../core/fleet/selector';
import { DEFAULT_THRESHOLDS } from '../core/host/thresholds';

export type PrometheusAuth = { readonly kind: 'basic'; readonly username: string; readonly password: string } | { readonly kind: 'bearer'; readonly token: string };

export interface PrometheusSource {
  /** Base URL: `http(s)://host:9090`, with a path prefix when Prometheus has one. No user:password. */
  readonly url: string;
  readonly auth?: PrometheusAuth;
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM of the CA(s) to trust instead of the system's. */
  readonly ca?: string;
  /** Accept any certificate (self-signed). Off unless asked for. */
  readonly insecure?: boolean;
  /** The whole exchange, connect to last byte; default 10 s. */
  readonly timeoutMs?: number;
  /** Where proxies come from: the environment (default process.env); `false`: connect directly. */
  readonly proxyEnv?: ProxyEnv | false;
  /** Largest answer accepted; default 256 MiB. */
  readonly maxBytes?: number;
}

const USER_AGENT = 'conntrack-doctor/0.1.0';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The base URL, checked: http(s) only, no credentials (they would end up in argv, settings or logs). */
export function checkSourceUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new PrometheusError('config', `${JSON.stringify(raw)} is not a URL (expected http(s)://host:9090)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PrometheusError('config', `${url.protocol} URLs are not supported: use http:// or https://`);
  if (url.username || url.password) throw new PrometheusError('config', 'the Prometheus URL contains a user name or password: give credentials through the environment, a file or the secret store instead');
  if (url.search || url.hash) throw new PrometheusError('config', `the Prometheus URL must not have a query or fragment: ${url.origin}${url.pathname}`);
  return url;
}

/** The URL as shown in messages and JSON. */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function nodeErrorKind(err: NodeJS.ErrnoException): PrometheusError['kind'] {
  const code = err.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME_MISMATCH/.test(code) || /SSL|TLS|certificate/i.test(err.message)) return 'tls';
  return 'unreachable';
}

export class PrometheusClient {
  readonly url: URL;
  private readonly timeoutMs: number;

  constructor(private readonly source: PrometheusSource) {
    this.url = checkSourceUrl(source.url);
    this.timeoutMs = source.timeoutMs ?? 10_000;
    for (const name of Object.keys(source.headers ?? {})) if (!HEADER_NAME.test(name)) throw new PrometheusError('config', `${JSON.stringify(name)} is not an HTTP header name`);
    for (const v of Object.values(source.headers ?? {})) if (/[\r\n\0]/.test(v)) throw new PrometheusError('config', 'a header value contains a line break');
  }

  get displayUrl(): string {
    return displayUrl(this.url);
  }

  async query(query: string, time?: Date, signal?: AbortSignal): Promise<QueryResult<Vector>> {
    const form: Record<string, string> = { query, ...(time ? { time: (time.getTime() / 1000).toFixed(3) } : {}) };
    const raw = await this.post('api/v1/query', form, signal);
    return this.readInTurn(() => {
      const { data, warnings } = readAnswer(raw);
      return { result: asVector(data, query), warnings };
    });
  }

  async queryRange(query: string, start: Date, end: Date, stepSeconds: number, signal?: AbortSignal): Promise<QueryResult<Matrix>> {
    const form = { query, start: (start.getTime() / 1000).toFixed(3), end: (end.getTime() / 1000).toFixed(3), step: String(stepSeconds) };
    const raw = await this.post('api/v1/query_range', form, signal);
    return this.readInTurn(() => {
      const { data, warnings } = readAnswer(raw);
      return { result: asMatrix(data, query), warnings };
    });
  }

  /**
   * Answers are read (JSON.parse + validation) one per event-loop turn. Parallel queries tend to
   * finish together, and reading them all in one go held the VS Code extension host for the sum
   * of them (hundreds of ms for 5,000 hosts on a busy machine); this way timers and other
   * extensions get a turn between answers.
   */
  private reading: Promise<unknown> = Promise.resolve();
  private readInTurn<T>(read: () => T): Promise<T> {
    const next = this.reading.then(() => new Promise<void>((r) => setImmediate(r))).then(read);
    this.reading = next.catch(() => undefined);
    return next;
  }

  private endpoint(path: string): URL {
    const base = this.url.pathname.endsWith('/') ? this.url.pathname : `${this.url.pathname}/`;
    return new URL(`${this.url.origin}${base}${path}`);
  }

  private post(path: string, form: Record<string, string>, signal?: AbortSignal): Promise<RawAnswer> {
    const target = this.endpoint(path);
    const shown = `${displayUrl(this.url)}/${path}`;
    const body = new URLSearchParams(form).toString();
    const headers: Record<string, string> = {
      ...this.source.headers,
      'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': String(Buffer.byteLength(body)),
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
    };
    const auth = this.source.auth;
    if (auth?.kind === 'basic') headers['Authorization'] = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    if (auth?.kind === 'bearer') headers['Authorization'] = `Bearer ${auth.token}`;
    const credentialsSent = auth !== undefined || Object.keys(this.source.headers ?? {}).some((h) => /^(authorization|cookie|x-api-key)$/i.test(h));
    const proxy = this.source.proxyEnv === false ? undefined : proxyFor(target, this.source.proxyEnv ?? process.env);
    const tlsOptions: tls.ConnectionOptions = { ...(this.source.ca ? { ca: this.source.ca } : {}), rejectUnauthorized: this.source.insecure !== true };
    const maxBytes = this.source.maxBytes ?? 256 * 1024 * 1024;

    return new Promise<RawAnswer>((resolve, reject) => {
      let settled = false;
      // Both requests are destroyed on failure; the tunnel exists only behind a proxy.
      const open: { req?: http.ClientRequest; tunnel?: http.ClientRequest } = {};
      let viaProxy = proxy !== undefined;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        open.req?.destroy();
        open.tunnel?.destroy();
        if (err instanceof PrometheusError) return reject(err);
        const e = err as NodeJS.ErrnoException;
        const kind = viaProxy && (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ECONNRESET') ? 'proxy' : nodeErrorKind(e);
        const where = viaProxy && kind === 'proxy' ? `the proxy ${proxy?.host ?? ''}` : shown;
        reject(new PrometheusError(kind, `${where}: ${kind === 'refused' ? 'connection refused (nothing listens on that port)' : kind === 'dns' ? 'the host name does not resolve' : e.message}`, { url: shown }, { cause: err }));
      };
      const timer = setTimeout(() => fail(new PrometheusError('timeout', `${shown}: no answer within ${(this.timeoutMs / 1000).toFixed(1)} s`, { url: shown })), this.timeoutMs);
      const onAbort = (): void => fail(new PrometheusError('timeout', `${shown}: cancelled`, { url: shown }));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });

      const onResponse = (res: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) fail(new PrometheusError('not-prometheus', `${shown}: the answer is larger than ${maxBytes} bytes`, { url: shown }));
          else chunks.push(c);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const location = res.headers.location;
          resolve({ url: shown, status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8'), credentialsSent, ...(location ? { location } : {}) });
        });
      };
      const send = (options: http.RequestOptions | https.RequestOptions, secure: boolean): void => {
        const req = (secure ? https : http).request(options, onResponse);
        open.req = req;
        req.on('error', fail);
        req.end(body);
      };
      const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
      const hostname = target.hostname.replace(/^\[|\]$/g, '');
      const proxyAuth = proxy && (proxy.username || proxy.password) ? { 'Proxy-Authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` } : undefined;

      if (!proxy) {
        send({ method: 'POST', hostname, port, path: target.pathname, headers, agent: false, ...tlsOptions, servername: isIP(hostname) ? '' : hostname }, target.protocol === 'https:');
        return;
      }
      const proxyPort = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
      const proxyHost = proxy.hostname.replace(/^\[|\]$/g, '');
      if (target.protocol === 'http:') {
        // Plain HTTP through the proxy: the absolute URL on the request line.
        send({ method: 'POST', hostname: proxyHost, port: proxyPort, path: target.href, headers: { ...headers, Host: target.host, ...proxyAuth }, agent: false }, false);
        return;
      }
      const tunnel = http.request({ method: 'CONNECT', hostname: proxyHost, port: proxyPort, path: `${target.hostname}:${port}`, headers: { Host: `${target.hostname}:${port}`, ...proxyAuth }, agent: false });
      open.tunnel = tunnel;
      tunnel.on('error', fail);
      tunnel.on('connect', (res: http.IncomingMessage, socket: Duplex) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          fail(new PrometheusError('proxy', `the proxy ${proxy.host} refused to connect to ${target.host}: HTTP ${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim(), { url: shown }));
          return;
        }
        viaProxy = false; // from here on, errors are the server's (TLS, HTTP)
        const secure = tls.connect({ socket, ...tlsOptions, servername: isIP(hostname) ? '' : hostname });
        secure.on('error', fail);
        // No agent: with one (even `agent: false`) node would open its own connection, not use the tunnel.
        send({ method: 'POST', hostname, port, path: target.pathname, headers, createConnection: () => secure }, true);
      });
      tunnel.end();
    });
  }
}

export interface ReadFleetOptions extends RankOptions, FleetQueryOptions {
  readonly matchers?: readonly LabelMatcher[];
  /** Evaluation time of every query; default now. */
  readonly time?: Date;
  readonly signal?: AbortSignal;
}

/**
 * The fleet, ranked: the queries in parallel at one evaluation time. The entries query must
 * succeed; any other failing only blanks its fact (listed in `errors`).
 */
export async function readFleet(client: PrometheusClient, options: ReadFleetOptions = {}): Promise<FleetReport> {
  const matchers = options.matchers ?? [];
  const q = fleetQueries(matchers, options);
  const time = options.time ?? new Date();
  const errors: FleetError[] = [];
  const optional = async (name: string, query: string): Promise<Vector | undefined> => {
    try {
      const r = await client.query(query, time, options.signal);
      for (const w of r.warnings) errors.push({ query: name, message: `warning: ${w}` });
      return r.result;
    } catch (err) {
      // Without an answer at all, the entries query fails the same way and says it once.
      if (err instanceof PrometheusError && err.kind !== 'api' && err.kind !== 'timeout') throw err;
      errors.push({ query: name, message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  };
  const [entries, limit, peak, up, collectorSuccess, ...rates] = await Promise.all([
    client.query(q.entries, time, options.signal),
    optional('limit', q.limit),
    optional('peak', q.peak),
    optional('up', q.up),
    optional('collectorSuccess', q.collectorSuccess),
    ...RATE_COUNTERS.map((c) => optional(`rates.${c}`, q.rates[c])),
  ]);
  for (const w of entries.warnings) errors.push({ query: 'entries', message: `warning: ${w}` });
  const rateAnswers: Partial<Record<RateCounter, Vector>> = {};
  RATE_COUNTERS.forEach((c, i) => {
    const v = rates[i];
    if (v) rateAnswers[c] = v;
  });
  const answers: FleetAnswers = {
    entries: entries.result,
    ...(limit ? { limit } : {}),
    ...(peak ? { peak } : {}),
    ...(up ? { up } : {}),
    ...(collectorSuccess ? { collectorSuccess } : {}),
    rates: rateAnswers,
  };
  const hosts = rankFleet(answers, options);
  for (const h of hosts) if (h.sshTargetError) errors.push({ instance: h.instance, message: `no SSH target: ${h.sshTargetError}` });
  return {
    source: { url: client.displayUrl, selector: renderSelector(matchers) },
    queriedAt: time.toISOString(),
    thresholds: { ...DEFAULT_THRESHOLDS, ...options.thresholds },
    hosts,
    errors,
  };
}

/** Usage percent over the last `hours` in `points` steps, per job + instance (`job\0instance`). */
export async function readUsageHistory(client: PrometheusClient, matchers: readonly LabelMatcher[], instances: readonly string[], options: { end?: Date; hours?: number; points?: number; signal?: AbortSignal } = {}): Promise<Map<string, (number | null)[]>> {
  const end = options.end ?? new Date();
  const hours = options.hours ?? 24;
  const points = options.points ?? 48;
  const step = Math.max(1, Math.round((hours * 3600) / points));
  const start = new Date(end.getTime() - step * (points - 1) * 1000);
  const r = await client.queryRange(usageHistoryQuery(matchers, instances), start, end, step, options.signal);
  const out = new Map<string, (number | null)[]>();
  const t0 = start.getTime() / 1000;
  for (const s of r.result) {
    const line: (number | null)[] = new Array<number | null>(points).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t - t0) / step);
      if (i >= 0 && i < points) line[i] = sampleValue(v);
    }
    out.set(`${s.metric['job'] ?? ''}\u0000${s.metric['instance'] ?? ''}`, line);
  }
  return out;
}
