/**
 * The monitoring stack of stack.ts for shell scripts (scripts/vscode/test.sh, the demo): starts
 * node_exporter in each given network namespace and a Prometheus scraping them, writes
 * DIR/stack.json ({ url, instances }) once Prometheus has scraped every exporter, then holds
 * them until SIGTERM/SIGINT (or stdin closes, with --until-stdin-closes) and stops them all by pid.
 *
 *   node --import tsx harness/fleet/stackCli.ts --dir DIR \
 *        --exporter ctd-NAME=10.231.1.2[:PORT][,cluster=eu,hide-stats] [--exporter …]
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { promQuery, startNodeExporter, startPrometheus, until, type NodeExporter, type PrometheusServer } from './stack';

interface ExporterSpec {
  readonly netns: string;
  readonly address: string;
  readonly port?: number;
  readonly labels: Record<string, string>;
  readonly hideStats: boolean;
}

function parseExporter(text: string): ExporterSpec {
  const [head = '', ...opts] = text.split(',');
  const [netns, where] = head.split('=');
  const [address, port] = (where ?? '').split(':');
  if (!netns || !address || (port !== undefined && !/^\d+$/.test(port))) throw new Error(`--exporter ${text}: expected NETNS=ADDRESS[:PORT][,label=value…][,hide-stats]`);
  const labels: Record<string, string> = {};
  let hideStats = false;
  for (const o of opts) {
    if (o === 'hide-stats') hideStats = true;
    else {
      const [k, v] = o.split('=');
      if (!k || v === undefined) throw new Error(`--exporter ${text}: ${o} is not label=value`);
      labels[k] = v;
    }
  }
  return { netns, address, labels, hideStats, ...(port !== undefined ? { port: Number(port) } : {}) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, exporter: { type: 'string', multiple: true }, 'until-stdin-closes': { type: 'boolean', default: false } } });
  if (!values.dir || !values.exporter?.length) throw new Error('usage: stackCli.ts --dir DIR --exporter NETNS=ADDRESS[,label=value][,hide-stats] …');
  const dir = values.dir;
  const specs = values.exporter.map(parseExporter);
  const exporters: NodeExporter[] = [];
  let prom: PrometheusServer | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      await prom?.stop();
      await Promise.allSettled(exporters.map((e) => e.stop()));
      rmSync(join(dir, 'stack.json'), { force: true });
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  try {
    for (const s of specs) exporters.push(await startNodeExporter({ netns: s.netns, address: s.address }, { dir, hideStats: s.hideStats, ...(s.port !== undefined ? { port: s.port } : {}) }));
    prom = await startPrometheus({ dir: join(dir, 'prometheus'), targets: exporters.map((e, i) => ({ instance: e.instance, labels: specs[i]?.labels ?? {} })) });
    const url = prom.url;
    await until('Prometheus to scrape every exporter', async () => ((await promQuery(url, 'up == 1')).length === exporters.length ? true : undefined), 60_000);
    writeFileSync(join(dir, 'stack.json'), `${JSON.stringify({ url, instances: exporters.map((e) => e.instance), pids: [prom.pid, ...exporters.map((e) => e.pid)] })}\n`);
    process.stdout.write(`${url}\n`);
  } catch (err) {
    process.stderr.write(`stackCli: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
  }
  if (values['until-stdin-closes']) {
    process.stdin.resume();
    process.stdin.on('end', () => void stop(0));
  }
  // Otherwise held until a signal.
  setInterval(() => undefined, 1 << 30);
}

void main();
