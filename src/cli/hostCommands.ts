/**
 * `diagnose`, `entries`, `apply` and `rollback` against a host (SSH target or `local`).
 * Exit status: 0 ok (diagnose: no warning or worse), 1 findings at warning or worse / a fix
 * that failed its read-back, 2 usage error, 3 connection or host error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { computeRates, diagnose } from '../core/host/diagnose';
import { usagePercent } from '../core/host/snapshot';
import { renderDiagnosis, renderEntrySummary, renderFleetSummary, type FleetRow } from '../core/host/report';
import { diagnosisJson, warnings, type Diagnosis, type FleetJson } from '../core/host/diagnosis';
import { assertFixRunnable, buildHostFix, FIX_IDS } from '../core/host/fixes';
import { renderPreview, renderRollbackPreview } from '../core/fix/preview';
import { filterArgs, listArgv, type EntryFilter } from '../core/fix/entriesFixes';
import { ValidationError } from '../core/fix/validate';
import { renderCommand } from '../core/fix/quote';
import { openHost, type HostSession } from '../io/host';
import { applyFix, ApplyError, rollbackLast, rollbackTarget } from '../io/apply';
import { isIoError } from '../io/errors';
import { listConfiguredHosts, type StrictHostKeyChecking } from '../io/ssh/config';
import { describeCommand, type CommandLogEntry } from '../io/runner';
import { describeSshEvent, type SshLogEvent } from '../io/ssh/connection';
import { askLine, confirmOnTerminal, terminalPrompter } from './prompt';
import { confirmationFor, typedConfirms } from '../core/fix/confirm';
import type { CliIO } from './io';
import { errorMessage, formatPercent, formatRate, formatUsage } from '../core/format';
import { DEFAULT_SAMPLE_SIZE, entryEstimates } from '../core/sampling';
import { DEFAULT_HOST_CPU_BUDGET_PERCENT } from '../core/host/cpuBudget';

export const common = {
  'ssh-config': { type: 'string' },
  'host-key-check': { type: 'string' },
  sudo: { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export const filterOptions = {
  src: { type: 'string' },
  dst: { type: 'string' },
  proto: { type: 'string' },
  sport: { type: 'string' },
  dport: { type: 'string' },
  state: { type: 'string' },
  family: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const HOST_USAGE = `Host commands (TARGET: an ~/.ssh/config alias, user@host[:port], or "local" for this machine):
  diagnose TARGET [--json] [--interval S] [--no-entries] [--sample K]
                                                           snapshot(s), diagnosis, fixes; who fills the table from
                                                           the first K entries listed (default ${DEFAULT_SAMPLE_SIZE}; 0: every entry)
  diagnose TARGET... | --all [--parallel N] [--summary]   many hosts at once: an overview table (worst first), then each report
  entries TARGET [--top N] [--sample K | --exact] [--list] [--offset N] [--limit N] [filter]
                                                           who fills the table (computed on the host): sampled
                                                           (K default ${DEFAULT_SAMPLE_SIZE}), or --exact (every entry, at nice 19 / idle I/O;
                                                           a filter always counts exactly)
  watch TARGET [--interval S] [--count N] [--json]          one line (or JSON object) per refresh: time, count, max,
                                                           percent, counter rates (the extension's periodic refresh)
  apply TARGET FIX [--value V] [--key K] [--path FILE] [filter] [--ipv6] [--even-if-connections-drop] [--dry-run] [--yes]
                                                           preview, apply, read back, record (FIX: ${FIX_IDS.join(', ')})
  rollback TARGET [--id ID] [--yes]                        undo the newest recorded change
Filter: --src IP[/len] --dst IP[/len] --proto P --sport N --dport N --state S --family ipv4|ipv6
Common: --ssh-config FILE  --host-key-check yes|accept-new|ask  --sudo (may ask for a sudo password)  -v (log every command)
Host keys are verified before authenticating; a changed key is always refused.`;

export type Values = Record<string, string | boolean | undefined>;

export function filterFrom(v: Values): EntryFilter | undefined {
  const f: Record<string, string> = {};
  for (const k of Object.keys(filterOptions)) {
    const x = v[k];
    if (typeof x === 'string') f[k] = x;
  }
  return Object.keys(f).length > 0 ? (f) : undefined;
}

/** `interactive: false` for many hosts at once: questions from parallel connections cannot share one terminal. */
export async function open(target: string, v: Values, io: CliIO, allowPrompts = true): Promise<HostSession> {
  const check = v['host-key-check'];
  if (check !== undefined && !['yes', 'accept-new', 'ask'].includes(String(check))) throw new ValidationError('--host-key-check', 'must be yes, accept-new or ask');
  const interactive = allowPrompts && Boolean(process.stdin.isTTY);
  const verbose = Boolean(v['verbose']);
  return openHost({
    target,
    ...(typeof v['ssh-config'] === 'string' ? { resolve: { configFile: v['ssh-config'] } } : {}),
    hostKeys: {
      ...(check !== undefined ? { mode: check as StrictHostKeyChecking } : {}),
      // like OpenSSH: accept-new (and "save" at the question) adds the key to the host's first
      // UserKnownHostsFile, hashed when HashKnownHosts says so
      allowWrite: true,
      ...(interactive
        ? {
            ask: async (q) => {
              io.stderr(`The authenticity of host '${q.name}' can't be established.\n${q.keyType} key fingerprint is ${q.fingerprint}.\n`);
              if (q.saveTo === undefined) return (await confirmOnTerminal('Trust this key for this session?')) ? 'accept-once' : 'reject';
              const a = await askLine(`Trust this key? [s]ave to ${q.saveTo} / [o]nly this session / [N]o: `, true);
              return a === undefined ? 'reject' : /^s(ave)?$/i.test(a.trim()) ? 'accept-and-save' : /^o(nce|nly)?$/i.test(a.trim()) ? 'accept-once' : 'reject';
            },
          }
        : {}),
    },
    // Secrets come from the terminal only; sudo passwords only with --sudo.
    prompt: async (req) => (req.kind === 'sudo-password' && !v['sudo'] ? undefined : interactive ? terminalPrompter(req) : undefined),
    ...(verbose ? { log: (e: CommandLogEntry) => io.stderr(`${describeCommand(e)}\n`), events: (e: SshLogEvent) => io.stderr(`${describeSshEvent(e)}\n`) } : {}),
  });
}

/** Opens a host, runs `fn` with it and closes it, whatever happens (errors go on to the caller). */
async function withSession<T>(opened: Promise<HostSession>, fn: (host: HostSession) => Promise<T>): Promise<T> {
  const host = await opened;
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}

/**
 * Ctrl-C (SIGINT) during a read that may run long on the host (the exact summary of a large
 * table): the read is aborted, so the runner kills the host's command and its pipeline, and the
 * session closes once the kill has arrived; exit 130. Without it Node dies at once and the pass
 * runs on on the host to its end. A second Ctrl-C exits without waiting.
 */
async function onInterrupt(io: CliIO, fn: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const abort = new AbortController();
  const interrupted = (): void => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', interrupted);
  try {
    return await fn(abort.signal);
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    io.stderr('conntrack-doctor: interrupted; the command on the host was stopped\n');
    return 130;
  } finally {
    process.removeListener('SIGINT', interrupted);
  }
}

/** An error as the exit status: 2 bad input, 3 connection or host trouble, 1 a fix that failed. */
export function fail(io: CliIO, err: unknown): number {
  if (err instanceof ValidationError) {
    io.stderr(`conntrack-doctor: ${err.message}\n`);
    return 2;
  }
  if (isIoError(err)) {
    io.stderr(`conntrack-doctor: ${err.message}\n`);
    return 3;
  }
  if (err instanceof ApplyError) {
    io.stderr(`conntrack-doctor: ${err.message}\n`);
    return 1;
  }
  io.stderr(`conntrack-doctor: ${errorMessage(err)}\n`);
  return 3;
}

function parse(argv: readonly string[], options: ParseArgsConfig['options'], io: CliIO): { values: Values; positionals: string[] } | number {
  try {
    const r = parseArgs({ args: [...argv], allowPositionals: true, options: { ...common, ...options } });
    if (r.values['help']) {
      io.stdout(`${HOST_USAGE}\n`);
      return 0;
    }
    return { values: r.values, positionals: r.positionals };
  } catch (err) {
    io.stderr(`conntrack-doctor: ${errorMessage(err)}\n${HOST_USAGE}\n`);
    return 2;
  }
}

/** parse(), then the positionals a command needs (TARGET, FIX …); a missing one prints `usage` (exit 2). */
function parseWith(argv: readonly string[], options: ParseArgsConfig['options'], io: CliIO, needed: number, usage: string): { values: Values; args: [string, ...string[]] } | number {
  const p = parse(argv, options, io);
  if (typeof p === 'number') return p;
  const [first, ...rest] = p.positionals;
  if (first === undefined || p.positionals.length < needed || p.positionals.slice(0, needed).some((x) => x === '')) {
    io.stderr(`${usage}\n`);
    return 2;
  }
  return { values: p.values, args: [first, ...rest] };
}

function int(v: Values, name: string, def: number, min: number, max: number): number {
  const raw = v[name];
  if (raw === undefined) return def;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new ValidationError(`--${name}`, `must be an integer from ${min} to ${max}`);
  return Number(raw);
}

/** Two snapshots `interval` seconds apart in one connection (rates), then the diagnosis. */
async function diagnoseTarget(target: string, v: Values, io: CliIO, interval: number, allowPrompts: boolean): Promise<Diagnosis> {
  return withSession(open(target, v, io, allowPrompts), async (host) => {
    const sample = int(v, 'sample', DEFAULT_SAMPLE_SIZE, 0, 100_000_000);
    const first = await host.snapshot({ entries: !v['no-entries'], ...(sample > 0 ? { sample } : {}) });
    let current = first;
    let previous;
    if (interval > 0) {
      await sleep(interval * 1000);
      const second = await host.snapshot({ entries: false });
      // The entry summary is taken once: its result, or why there is none, comes from the first.
      const summaryGap = (first.unavailable ?? []).filter((u) => u.what === 'entry summary');
      current = { ...second, ...(first.entrySummary ? { entrySummary: first.entrySummary } : {}), unavailable: [...(second.unavailable ?? []), ...summaryGap] };
      previous = first;
    }
    return diagnose(current, { previous, observedPeak: Math.max(first.count ?? 0, current.count ?? 0) });
  });
}

/** Runs fn over items with at most `limit` at a time; results in the order of items. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const hasFindings = (d: Diagnosis): boolean => warnings(d.findings) > 0;

export async function runDiagnose(argv: readonly string[], io: CliIO): Promise<number> {
  const p = parse(argv, { json: { type: 'boolean', default: false }, interval: { type: 'string' }, 'no-entries': { type: 'boolean', default: false }, sample: { type: 'string' }, all: { type: 'boolean', default: false }, parallel: { type: 'string' }, summary: { type: 'boolean', default: false } }, io);
  if (typeof p === 'number') return p;
  try {
    const interval = int(p.values, 'interval', 2, 0, 300);
    int(p.values, 'sample', DEFAULT_SAMPLE_SIZE, 0, 100_000_000); // a bad value is refused before connecting
    const parallel = int(p.values, 'parallel', 8, 1, 64);
    const targets = [...p.positionals];
    if (p.values['all']) {
      const configFile = p.values['ssh-config'];
      for (const h of await listConfiguredHosts(typeof configFile === 'string' ? { configFile } : {})) if (!targets.includes(h.alias)) targets.push(h.alias);
    }
    if (targets.length === 0) {
      io.stderr(`usage: conntrack-doctor diagnose TARGET... | --all [--json] [--interval S] [--sample K] [--parallel N] [--summary]\n`);
      return 2;
    }
    if (targets.length === 1 && !p.values['all']) {
      const d = await diagnoseTarget(targets[0] ?? '', p.values, io, interval, true);
      io.stdout(p.values['json'] ? `${JSON.stringify(diagnosisJson(d), null, 2)}\n` : renderDiagnosis(d));
      return hasFindings(d) ? 1 : 0;
    }
    // Many hosts: connections in parallel, no questions (an unknown host key is refused unless
    // --host-key-check accept-new; passwords come from the agent or keys only).
    const rows = await mapLimit(targets, parallel, async (target): Promise<FleetRow> => {
      try {
        return { target, diagnosis: await diagnoseTarget(target, p.values, io, interval, false) };
      } catch (err) {
        if (err instanceof ValidationError) throw err;
        return { target, error: errorMessage(err) };
      }
    });
    if (p.values['json']) {
      const json: FleetJson = rows.map((r) => ('error' in r ? { target: r.target, error: r.error } : { target: r.target, diagnosis: diagnosisJson(r.diagnosis) }));
      io.stdout(`${JSON.stringify(json, null, 2)}\n`);
    } else {
      io.stdout(renderFleetSummary(rows));
      if (!p.values['summary']) for (const r of rows) if (!('error' in r)) io.stdout(`\n== ${r.target}\n${renderDiagnosis(r.diagnosis)}`);
    }
    return rows.some((r) => 'error' in r) ? 3 : rows.some((r) => 'diagnosis' in r && hasFindings(r.diagnosis)) ? 1 : 0;
  } catch (err) {
    return fail(io, err);
  }
}

export async function runEntries(argv: readonly string[], io: CliIO): Promise<number> {
  const p = parseWith(argv, { ...filterOptions, top: { type: 'string' }, sample: { type: 'string' }, exact: { type: 'boolean', default: false }, list: { type: 'boolean', default: false }, offset: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean', default: false } }, io, 1, 'usage: conntrack-doctor entries TARGET [--top N] [--sample K | --exact] [--list] [filter]');
  if (typeof p === 'number') return p;
  const [target] = p.args;
  try {
    const filter = filterFrom(p.values) ?? {};
    const top = int(p.values, 'top', 10, 1, 1000);
    if (p.values['exact'] && p.values['sample'] !== undefined) throw new ValidationError('--exact', 'cannot be combined with --sample');
    const sample = int(p.values, 'sample', DEFAULT_SAMPLE_SIZE, 1, 100_000_000);
    const filtered = Object.keys(filter).length > 0;
    // Exact: every entry, at the lowest priority (the host may be in trouble); a filter's
    // matches are counted exactly (their share of the table is unknown, so a sample could not be scaled).
    const exact = Boolean(p.values['exact']) || filtered;
    // Refuse a bad (or hostile) filter before connecting: nothing runs on the host for it.
    if (Object.keys(filter).length > 0) filterArgs(filter);
    return await onInterrupt(io, (signal) => withSession(open(target, p.values, io), async (host) => {
      if (p.values['list']) {
        const page = await host.entryPage(int(p.values, 'offset', 0, 0, Number.MAX_SAFE_INTEGER), int(p.values, 'limit', 50, 1, 10000), { filter, signal });
        if (p.values['json']) io.stdout(`${JSON.stringify(page, null, 2)}\n`);
        else {
          for (const e of page.entries) {
            io.stdout(`${e.proto.padEnd(5)} ${(e.state ?? '').padEnd(12)} ${e.orig.src}${e.orig.sport !== undefined ? `:${e.orig.sport}` : ''} -> ${e.orig.dst}${e.orig.dport !== undefined ? `:${e.orig.dport}` : ''}  ${e.timeout}s${e.assured ? ' [ASSURED]' : ''}${e.unreplied ? ' [UNREPLIED]' : ''}\n`);
          }
          io.stderr(`${page.entries.length} shown of ${page.total} matching entries\n`);
        }
        return 0;
      }
      const summary = await host.entrySummary({ topN: top, filter, signal, ...(exact ? { lowPriority: true } : { sample }) });
      io.stdout(p.values['json'] ? `${JSON.stringify({ ...summary, estimates: entryEstimates(summary, undefined) }, null, 2)}\n` : renderEntrySummary(summary, target));
      return 0;
    }));
  } catch (err) {
    return fail(io, err);
  }
}

/** The counters a watch line shows a rate of (the ones that tell the story of a full table). */
const WATCHED = ['drop', 'early_drop', 'insert_failed', 'invalid', 'search_restart'] as const;

/**
 * `watch`: the extension's periodic refresh (HostSession.periodicSnapshot: the frequent fields,
 * everything again only when the files' fingerprint changed), one line or JSON object each.
 */
export async function runWatch(argv: readonly string[], io: CliIO): Promise<number> {
  const p = parseWith(argv, { interval: { type: 'string' }, count: { type: 'string' }, json: { type: 'boolean', default: false } }, io, 1, 'usage: conntrack-doctor watch TARGET [--interval S] [--count N] [--json]');
  if (typeof p === 'number') return p;
  const [target] = p.args;
  try {
    const interval = int(p.values, 'interval', 5, 1, 3600);
    const count = int(p.values, 'count', 0, 0, Number.MAX_SAFE_INTEGER); // 0: until interrupted
    return await withSession(open(target, p.values, io), async (host) => {
      // the first snapshot has no rates (totals since boot only): it is the baseline, not a line
      let previous = await host.snapshot({ entries: false });
      for (let n = 0; count === 0 || n < count; n++) {
        await sleep(Math.max(0, previous.takenAt + interval * 1000 - Date.now()));
        const snap = await host.periodicSnapshot(previous, { hostCpuBudgetPercent: DEFAULT_HOST_CPU_BUDGET_PERCENT });
        const rates = computeRates(previous, snap)?.perSecond ?? {};
        const percent = usagePercent(snap);
        const picked = Object.fromEntries(WATCHED.filter((k) => rates[k] !== undefined).map((k) => [k, rates[k] ?? 0]));
        if (p.values['json']) {
          io.stdout(`${JSON.stringify({ time: new Date(snap.takenAt).toISOString(), count: snap.count ?? null, max: snap.max ?? null, percent: percent ?? null, rates: picked })}\n`);
        } else {
          const r = WATCHED.filter((k) => picked[k] !== undefined).map((k) => `${k} ${formatRate(picked[k] ?? 0)}/s`).join('  ');
          io.stdout(`${new Date(snap.takenAt).toISOString()}  ${formatUsage(snap)}  ${percent !== undefined ? formatPercent(percent) : '?'}  ${r || 'rates unavailable'}\n`);
        }
        previous = snap;
      }
      return 0;
    });
  } catch (err) {
    return fail(io, err);
  }
}

export async function runApply(argv: readonly string[], io: CliIO): Promise<number> {
  const p = parseWith(argv, { ...filterOptions, value: { type: 'string' }, key: { type: 'string' }, path: { type: 'string' }, ipv6: { type: 'boolean', default: false }, 'even-if-connections-drop': { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false }, yes: { type: 'boolean', short: 'y', default: false } }, io, 2, `usage: conntrack-doctor apply TARGET FIX [options]   (FIX: ${FIX_IDS.join(', ')})`);
  if (typeof p === 'number') return p;
  const [target, fixId = ''] = p.args;
  if (!(FIX_IDS as readonly string[]).includes(fixId)) {
    io.stderr(`conntrack-doctor: unknown fix "${fixId}"; one of: ${FIX_IDS.join(', ')}\n`);
    return 2;
  }
  try {
    const filter = filterFrom(p.values);
    if (fixId === 'delete-entries') {
      // Refuse a missing, bad (or hostile) filter before connecting: nothing runs on the host for it.
      if (!filter) throw new ValidationError('filter', 'delete-entries needs a filter (--src, --dst, --proto, --dport, --state …); use flush-table to empty the table');
      filterArgs(filter);
    }
    return await withSession(open(target, p.values, io), async (host) => {
      // set-timeout's impact needs the entries' idle times (the entry summary); the others do not
      const snap = await host.snapshot({ entries: fixId === 'set-timeout' });
      let expectedCount: number | undefined;
      assertFixRunnable(snap, fixId);
      // The session's own entry is kept by a delete or flush (read now: a reconnect changes it).
      const ownConnection = fixId === 'delete-entries' || fixId === 'flush-table' ? await host.ownConnection() : undefined;
      if (fixId === 'delete-entries' && filter) {
        expectedCount = await host.countEntries(filter);
        if (expectedCount === 0) {
          io.stdout(`No entries match (${renderCommand(listArgv(filter))}): nothing to delete.\n`);
          return 0;
        }
      }
      const fix = buildHostFix(snap, fixId, {
        ...(typeof p.values['value'] === 'string' ? { value: p.values['value'] } : {}),
        ...(typeof p.values['key'] === 'string' ? { key: p.values['key'] } : {}),
        ...(typeof p.values['path'] === 'string' ? { path: p.values['path'] } : {}),
        ...(filter ? { filter } : {}),
        ...(expectedCount !== undefined ? { expectedCount } : {}),
        ...(p.values['ipv6'] ? { ipv6: true } : {}),
        ...(ownConnection ? { ownConnection } : {}),
        ...(p.values['even-if-connections-drop'] ? { evenIfConnectionsDrop: true } : {}),
    });
    io.stdout(renderPreview(fix, target));
    if (fix.needsInitialNetns && snap.initialNetns === false) {
      io.stderr(`conntrack-doctor: ${target} is not the initial network namespace: ${fix.title} can only be applied on the host itself (the write would be refused while sysctl still exits 0)\n`);
      return 1;
    }
    if (p.values['dry-run']) return 0;
    const yes = Boolean(p.values['yes']);
    if (!yes) {
      if (!process.stdin.isTTY) {
        io.stderr('conntrack-doctor: not applied: confirm with --yes when not running on a terminal\n');
        return 1;
      }
      // Never a bare Enter for a flush or a large delete: the host's name typed, as in the extension.
      const c = confirmationFor(fix, target);
      const confirmed = c.kind === 'type-host' ? typedConfirms(c, await askLine(`${c.question}\n${c.prompt} (anything else cancels): `, true)) : await confirmOnTerminal(c.question);
      if (!confirmed) {
        io.stderr('Not applied.\n');
        return 1;
      }
    }
    const record = await applyFix(host.runner, fix, {
      host: target,
      confirm: () => Promise.resolve(true), // asked above (or --yes)
      onProgress: (line) => io.stderr(`${line}\n`),
    });
    if (record.unchanged) io.stdout(`Already in place and verified: ${record.title} (nothing changed, so nothing was recorded)\n`);
    else io.stdout(`Applied and verified: ${record.title} (change ${record.id}; undo with: conntrack-doctor rollback ${target})\n`);
    for (const v of record.verification) io.stdout(`  read back: ${v.description}: ${v.observed}\n`);
    return 0;
    });
  } catch (err) {
    return fail(io, err);
  }
}

export async function runRollback(argv: readonly string[], io: CliIO): Promise<number> {
  const p = parseWith(argv, { id: { type: 'string' }, yes: { type: 'boolean', short: 'y', default: false } }, io, 1, 'usage: conntrack-doctor rollback TARGET [--id ID] [--yes]');
  if (typeof p === 'number') return p;
  const [target] = p.args;
  try {
    return await withSession(open(target, p.values, io), async (host) => {
      // The preview first, as for apply: what will be restored and run, then the confirmation.
      const record = await rollbackTarget(host.runner, typeof p.values['id'] === 'string' ? { id: p.values['id'] } : {});
      io.stdout(renderRollbackPreview(record, target));
      if (!p.values['yes']) {
        if (!process.stdin.isTTY) {
          io.stderr('conntrack-doctor: not rolled back: confirm with --yes when not running on a terminal\n');
          return 1;
        }
        if (!(await confirmOnTerminal(`Roll back change ${record.id} (${record.title}) on ${target}?`))) {
          io.stderr('Not rolled back.\n');
          return 1;
        }
      }
      const r = await rollbackLast(host.runner, { host: target, id: record.id, onProgress: (line) => io.stderr(`${line}\n`) });
      io.stdout(`Rolled back: ${r.record.title} (change ${r.record.id}); restored ${r.restored.length ? r.restored.join(', ') : 'no files'}\n`);
      for (const v of r.verification) io.stdout(`  read back: ${v.description}: ${v.observed}\n`);
      return 0;
    });
  } catch (err) {
    return fail(io, err);
  }
}
