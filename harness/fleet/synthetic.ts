/**
 * A generated fleet for the scale checks (5,000 instances and more): the answers Prometheus
 * would give to the fleet's queries, in its own JSON, served by a small local HTTP server that
 * speaks the two endpoints the product uses. Used by the benchmark (npm run bench:fleet), the
 * unit tests of the ranking and the VS Code view's scale test. Deterministic for a seed.
 *
 * The fleet: most hosts healthy (1–60 %), a few elevated/high/critical, a few dropping, some
 * without counters (old kernels), some down (last value kept), in three clusters.
 */
import { createServer, type Server } from 'node:http';
import { fleetQueries, RATE_COUNTERS } from '../../src/core/fleet/promql';

export interface SyntheticHost {
  readonly instance: string;
  readonly labels: Record<string, string>;
  readonly count: number;
  readonly max: number;
  readonly peak: number;
  readonly up: boolean;
  readonly counters: boolean;
  readonly rates: Record<string, number>;
}

/** xorshift32: the same fleet for the same seed. */
function random(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

export function syntheticHosts(n: number, seed = 42): SyntheticHost[] {
  const rnd = random(seed);
  const clusters = ['eu-1', 'us-1', 'ap-1'];
  const hosts: SyntheticHost[] = [];
  for (let i = 0; i < n; i++) {
    const max = [65536, 262144, 1048576][i % 3] ?? 262144;
    const r = rnd();
    const share = r < 0.004 ? 0.96 + rnd() * 0.04 : r < 0.01 ? 0.9 + rnd() * 0.05 : r < 0.03 ? 0.75 + rnd() * 0.15 : 0.01 + rnd() * 0.59;
    const count = Math.round(max * share);
    const dropping = share >= 0.99;
    const counters = rnd() > 0.05;
    hosts.push({
      instance: `node-${String(i).padStart(5, '0')}.${clusters[i % 3] ?? 'eu-1'}.example.net:9100`,
      labels: { cluster: clusters[i % 3] ?? 'eu-1', env: i % 10 === 0 ? 'staging' : 'prod' },
      count,
      max,
      peak: Math.min(max, Math.round(count * (1 + rnd() * 0.1))),
      up: rnd() > 0.01,
      counters,
      rates: { drop: dropping ? 5 + rnd() * 100 : 0, early_drop: dropping ? rnd() * 50 : 0, insert_failed: rnd() < 0.02 ? rnd() : 0, invalid: rnd() * 3 },
    });
  }
  return hosts;
}

type Series = { metric: Record<string, string>; value: [number, string] };

const vectorBody = (series: readonly Series[]): string => JSON.stringify({ status: 'success', data: { resultType: 'vector', result: series } });

/** The JSON body Prometheus would answer for each fleet query (empty selector), at time `t`. */
export function syntheticAnswers(hosts: readonly SyntheticHost[], t = Date.now() / 1000): Map<string, string> {
  const q = fleetQueries([]);
  const m = (h: SyntheticHost): Record<string, string> => ({ instance: h.instance, job: 'node', ...h.labels });
  // What `max by (job, instance)` leaves of a series (every query but the entries).
  const j = (h: SyntheticHost): Record<string, string> => ({ instance: h.instance, job: 'node' });
  const v = (x: number): [number, string] => [t, String(x)];
  const answers = new Map<string, string>();
  answers.set(q.entries, vectorBody(hosts.map((h) => ({ metric: m(h), value: v(h.count) }))));
  answers.set(q.limit, vectorBody(hosts.map((h) => ({ metric: j(h), value: v(h.max) }))));
  answers.set(q.peak, vectorBody(hosts.map((h) => ({ metric: j(h), value: v(h.peak) }))));
  answers.set(q.up, vectorBody(hosts.map((h) => ({ metric: j(h), value: v(h.up ? 1 : 0) }))));
  answers.set(q.collectorSuccess, vectorBody(hosts.filter((h) => h.up).map((h) => ({ metric: j(h), value: v(h.counters ? 1 : 0) }))));
  for (const c of RATE_COUNTERS) answers.set(q.rates[c], vectorBody(hosts.filter((h) => h.counters && h.up).map((h) => ({ metric: j(h), value: v(h.rates[c] ?? 0) }))));
  return answers;
}

/** Instances named in `instance=~"a|b"` of a history query (the regex escapes undone). */
function instancesOf(query: string): string[] {
  const m = /instance=~("(?:[^"\\]|\\.)*")/.exec(query);
  if (!m?.[1]) return [];
  return (JSON.parse(m[1]) as string).split(/(?<!\\)\|/).map((s) => s.replace(/\\(.)/g, '$1'));
}

export interface SyntheticPrometheus {
  readonly url: string;
  readonly hosts: readonly SyntheticHost[];
  /** Requests answered, by endpoint. */
  readonly requests: { query: number; range: number };
  close(): Promise<void>;
}

/** Serves the generated answers on 127.0.0.1 like Prometheus's /api/v1/query and /query_range. */
export async function serveSyntheticFleet(n: number, seed = 42): Promise<SyntheticPrometheus> {
  const hosts = syntheticHosts(n, seed);
  const byInstance = new Map(hosts.map((h) => [h.instance, h]));
  const requests = { query: 0, range: 0 };
  let cached: { t: number; answers: Map<string, string> } | undefined;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const query = form.get('query') ?? '';
      const send = (status: number, text: string): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(text);
      };
      if (req.url?.endsWith('/api/v1/query')) {
        requests.query++;
        const t = Number(form.get('time') ?? Date.now() / 1000);
        // The fleet's queries share one evaluation time: generate the answers once per time.
        if (cached?.t !== t) cached = { t, answers: syntheticAnswers(hosts, t) };
        const answer = cached.answers.get(query);
        return answer ? send(200, answer) : send(400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: `not in the generated fleet: ${query}` }));
      }
      if (req.url?.endsWith('/api/v1/query_range')) {
        requests.range++;
        const start = Number(form.get('start'));
        const end = Number(form.get('end'));
        const step = Number(form.get('step'));
        const result = instancesOf(query).flatMap((instance) => {
          const h = byInstance.get(instance);
          if (!h) return [];
          const values: [number, string][] = [];
          for (let t = start, i = 0; t <= end + 1e-6; t += step, i++) values.push([t, String((100 * h.count * (0.7 + 0.3 * Math.abs(Math.sin(i / 5)))) / h.max)]);
          return [{ metric: { instance, job: 'node', ...h.labels }, values }];
        });
        return send(200, JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } }));
      }
      send(404, '404 page not found\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    hosts,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

