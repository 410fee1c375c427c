/**
 * Evidence (not a test): what the product does TODAY on every host variant of test/host
 * (`ctd-host up --variant`), run as a user runs it — the built CLI (dist/cli.js, rebuilt when
 * stale) with an ssh config, no terminal — plus the collection script's sections as the host
 * answers them. Prints a compact report per variant and account; the raw outputs go to --out.
 *   node --import tsx scripts/variant-evidence.ts [--out DIR] [--only name,name] [--big N]
 *
 * Needs root (test hosts). Asserts nothing: it records. --big N (default 250000) is the table
 * size at which the entry summary is timed on the default host and the busybox host.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openHost } from '../src/io/host';
import { collectionScript, parseCollectionOutput } from '../src/core/host/collect';
import { startHost, type HostUser, type HostVariant, type TestHost } from '../harness/host/testHost';
import { cli, writeSshConfig } from '../test/integration/helpers';

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const OUT = argValue('--out') ?? join(tmpdir(), 'ctd-variant-evidence');
const ONLY = argValue('--only')?.split(',');
const BIG = Number(argValue('--big') ?? '250000');

interface Case {
  readonly name: string;
  readonly variants: readonly HostVariant[];
  readonly users: readonly HostUser[];
  /** extra CLI runs (args after the alias), e.g. apply dry-runs */
  readonly extra?: readonly (readonly string[])[];
  /** keep INVALID packets arriving while diagnose runs (so invalid-drop-rule is offered) */
  readonly invalidFlow?: boolean;
  /** time the entry summary at BIG entries */
  readonly big?: boolean;
}

const INVALID_FIX = ['apply', 'invalid-drop-rule', '--dry-run'];
const CASES: readonly Case[] = [
  { name: 'baseline', variants: [], users: ['root', 'audit'], invalidFlow: true, extra: [INVALID_FIX], big: true },
  { name: 'nopriv', variants: ['nopriv'], users: ['audit', 'guest'] },
  { name: 'no-conntrack-tools', variants: ['no-conntrack-tools'], users: ['root', 'audit'], extra: [['entries', '--list', '--limit', '3', '--json'], ['apply', 'delete-entries', '--src', '198.18.0.5', '--dry-run'], ['apply', 'flush-table', '--dry-run']] },
  { name: 'no-procfs', variants: ['no-procfs'], users: ['root', 'audit'] },
  { name: 'neither (no-conntrack-tools,no-procfs)', variants: ['no-conntrack-tools', 'no-procfs'], users: ['root'] },
  { name: 'no-conntrack', variants: ['no-conntrack'], users: ['root', 'audit'] },
  { name: 'busybox', variants: ['busybox', 'nopriv'], users: ['root', 'ops', 'guest'], invalidFlow: true, extra: [INVALID_FIX], big: true },
  { name: 'fw-nft-only', variants: ['fw-nft-only'], users: ['root'], invalidFlow: true, extra: [INVALID_FIX] },
  { name: 'fw-legacy-only', variants: ['fw-legacy-only'], users: ['root'], invalidFlow: true, extra: [INVALID_FIX] },
  { name: 'fw-iptables-nft', variants: ['fw-iptables-nft'], users: ['root'], invalidFlow: true, extra: [INVALID_FIX] },
  { name: 'fw-none', variants: ['fw-none'], users: ['root'], invalidFlow: true, extra: [INVALID_FIX] },
  { name: 'locale-de', variants: ['locale-de'], users: ['root', 'audit'], extra: [['entries', '--list', '--limit', '400', '--json'], ['entries', '--family', 'ipv6', '--json'], ['entries', '--family', 'ipv6', '--proto', 'tcp', '--json']] },
];

const lines: string[] = [];
function say(s: string): void {
  lines.push(s);
  console.log(s);
}

function slug(s: string): string {
  return s.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');
}

/** stderr minus the -v command log, and the logged commands that did not exit 0 */
function splitStderr(stderr: string): { message: string; failed: string[]; logged: number } {
  const failed: string[] = [];
  const rest: string[] = [];
  let logged = 0;
  for (const l of stderr.split('\n')) {
    const m = /^\[[^\]]+\] [$#] (.*) → (\S+) \((\d+) ms\)$/.exec(l);
    if (m) {
      logged++;
      if (m[2] !== '0') failed.push(`${m[1]?.slice(0, 160)} → ${m[2]}`);
    } else if (l.trim()) rest.push(l);
  }
  return { message: rest.join('\n'), failed, logged };
}

interface DiagJson {
  usage: { count?: number; max?: number; percent?: number; level: string };
  counterSource: string | null;
  counters: Record<string, number> | null;
  rates: { perSecond: Record<string, number> } | null;
  findings: { code: string; severity: string; title: string; fixes: { id: string }[] }[];
  unavailable: { what: string; why: string }[];
}

async function runCli(dir: string, label: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const r = await cli(args, { timeoutMs: 600_000 });
  const ms = Math.round(performance.now() - t0);
  writeFileSync(join(dir, `${slug(label)}.out`), `$ conntrack-doctor ${args.join(' ')}\n# exit ${r.code}, ${ms} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return { ...r, ms };
}

function reportDiagnose(r: { code: number; stdout: string; stderr: string; ms: number }): void {
  const { message, failed } = splitStderr(r.stderr);
  say(`    exit ${r.code} (${r.ms} ms)${message ? `; stderr: ${message.split('\n').join(' | ')}` : ''}`);
  if (failed.length) say(`    commands not exiting 0: ${failed.join(' ; ')}`);
  let d: DiagJson | undefined;
  try {
    d = JSON.parse(r.stdout) as DiagJson;
  } catch {
    return;
  }
  say(`    usage: count ${d.usage.count ?? '-'} / max ${d.usage.max ?? '-'} (${d.usage.percent ?? '-'} %, ${d.usage.level}); counters: ${d.counterSource ?? 'none'}${d.counters ? ` (${Object.keys(d.counters).length} keys, invalid=${d.counters['invalid'] ?? '-'})` : ''}; rates: ${d.rates ? Object.entries(d.rates.perSecond).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}/s`).join(' ') || 'all 0' : 'none'}`);
  for (const f of d.findings) say(`    finding ${f.severity} ${f.code}: ${f.title}${f.fixes.length ? ` [fixes: ${f.fixes.map((x) => x.id).join(', ')}]` : ''}`);
  for (const u of d.unavailable) say(`    unavailable: ${u.what} — ${u.why}`);
}

function reportEntries(r: { code: number; stdout: string; stderr: string; ms: number }): void {
  const { message, failed } = splitStderr(r.stderr);
  say(`    exit ${r.code} (${r.ms} ms)${message ? `; stderr: ${message.split('\n').join(' | ')}` : ''}`);
  if (failed.length) say(`    commands not exiting 0: ${failed.join(' ; ')}`);
  try {
    const s = JSON.parse(r.stdout) as { entries?: unknown; malformedLines?: number; byL3?: Record<string, number>; byProtocol?: Record<string, number>; topSources?: { items: { key: string; count: number }[] }; total?: number; unparsed?: number };
    if (Array.isArray(s.entries)) {
      const kinds = new Set(s.entries.map((e: { l3?: string; proto?: string; zone?: number; mark?: number }) => `${e.l3}/${e.proto}${e.zone ? ` zone=${e.zone}` : ''}${e.mark ? ` mark=${e.mark}` : ''}`));
      say(`    page: ${s.entries.length} of total ${s.total}, unparsed ${s.unparsed}; kinds: ${[...kinds].join(', ')}`);
    } else if (typeof s.entries === 'number') {
      say(`    summary: ${s.entries} entries, ${s.malformedLines} malformed, byL3 ${JSON.stringify(s.byL3)}, byProtocol ${JSON.stringify(s.byProtocol)}, top source ${s.topSources?.items[0]?.key ?? '-'} (${s.topSources?.items[0]?.count ?? 0})`);
    }
  } catch {
    // not JSON (an error or a preview): the text is in the raw file
    if (r.stdout.trim()) say(`    stdout: ${r.stdout.trim().split('\n').slice(0, 12).join(' | ')}`);
  }
}

/** The collection script's sections as the product gets them (privileged as it would be). */
async function sections(configFile: string, alias: string, dir: string, label: string): Promise<void> {
  const session = await openHost({ target: alias, resolve: { configFile, env: {} }, connection: { connectTimeoutMs: 10_000 } });
  try {
    const priv = await session.privileges();
    const nonce = randomBytes(12).toString('hex');
    // sudo with a password and no way to ask: what the account itself can read
    const privileged = priv === 'root' || priv === 'sudo-nopasswd';
    const r = await session.runner.run(['sh', '-s', '--', nonce], { stdin: collectionScript(), privileged, timeoutMs: 60_000 });
    writeFileSync(join(dir, `${slug(label)}.sections`), `privilege ${priv}, exit ${r.exitCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    const out = parseCollectionOutput(r.stdout, nonce);
    const bad = [...out.sections].filter(([, s]) => s.exitCode !== 0 || s.body.startsWith('@missing')).map(([n, s]) => `${n}=${s.exitCode}${s.body.trim() ? ` "${s.body.trim().split('\n')[0]?.slice(0, 100)}"` : ''}`);
    say(`    privilege ${priv}; collection${privileged ? '' : ' (unprivileged)'} exit ${r.exitCode}; sections not ok: ${bad.join('; ') || 'none'}`);
    const tools = out.sections.get('tools')?.body.trim().split('\n').filter((l) => l.endsWith('=-')).map((l) => l.slice(0, -2));
    if (tools?.length) say(`    tools missing: ${tools.join(' ')}`);
  } catch (err) {
    say(`    collection: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await session.close();
  }
}

/** INVALID packets arriving until stop() (ctd-host invalid in a loop). */
function invalidFlow(host: TestHost): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) await host.invalid(400);
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function runCase(c: Case, root: string): Promise<void> {
  const dir = join(root, slug(c.name));
  mkdirSync(dir, { recursive: true });
  say(`\n## ${c.name}  (variants: ${c.variants.join(',') || 'none'})`);
  const t0 = performance.now();
  const host = await startHost(`ev${process.pid % 100000}${slug(c.name).slice(0, 6).replace(/-/g, '')}`, { variants: c.variants });
  say(`  up: ${Math.round(performance.now() - t0)} ms`);
  try {
    await host.fill({ assured: 2000 });
    await host.fill({ unreplied: 500, src: '203.0.113.7' });
    if (c.variants.includes('locale-de')) await host.fill({ assured: 2000, ipv6: true });
    await host.invalid(1000);
    for (const user of c.users) {
      const alias = `${c.name.split(' ')[0]}-${user}`;
      const configFile = writeSshConfig(dir, host, { alias, user });
      say(`  ### as ${user}`);
      await sections(configFile, alias, dir, `${user}-collection`);
      const flow = c.invalidFlow ? invalidFlow(host) : undefined;
      try {
        say('  diagnose --json:');
        reportDiagnose(await runCli(dir, `${user}-diagnose`, ['diagnose', alias, '--ssh-config', configFile, '--json', '-v']));
      } finally {
        await flow?.stop();
      }
      say('  entries --json:');
      reportEntries(await runCli(dir, `${user}-entries`, ['entries', alias, '--ssh-config', configFile, '--json', '-v']));
      for (const extra of c.extra ?? []) {
        const args = [extra[0] ?? '', alias, '--ssh-config', configFile, ...extra.slice(1), '-v'];
        say(`  ${extra.join(' ')}:`);
        reportEntries(await runCli(dir, `${user}-${extra.join('-')}`, args));
      }
    }
    if (c.big) {
      const before = await host.conntrackCount();
      await host.fill({ assured: Math.max(0, BIG - before) });
      const configFile = writeSshConfig(dir, host, { alias: 'big', user: 'root' });
      const n = await host.conntrackCount();
      say(`  entries at ${n} entries (root):`);
      reportEntries(await runCli(dir, 'big-entries', ['entries', 'big', '--ssh-config', configFile, '--json', '-v']));
    }
  } finally {
    await host.stop();
  }
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  try {
    for (const c of CASES) {
      if (ONLY && !ONLY.some((o) => c.name.startsWith(o))) continue;
      await runCase(c, OUT);
    }
  } finally {
    writeFileSync(join(OUT, 'report.txt'), `${lines.join('\n')}\n`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
