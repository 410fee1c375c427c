/**
 * Issue 13: Cancel of the Full Count on a large table (200,000 entries, under the global
 * nf_conntrack_max 262144, held shared so nobody lowers it meanwhile). The exact summary is
 * cancelled once the host shows its pipeline running: the promise rejects as aborted at once,
 * no process of the summary (sh, cat, conntrack, awk, head) is left on the host, and the session
 * still works. The same for the CLI's `entries --exact` interrupted with SIGINT.
 *
 * The host shares the machine's pid namespace: its processes are the ones whose network
 * namespace is the host's (/proc/PID/ns/net), read from here without SSH.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { globalConntrackLock, type HeldLock } from '../../harness/conntrackLock';
import { retryUntil } from '../../harness/poll';
import { useHost, type TestHost } from '../../harness/host/testHost';
import { isIoError } from '../../src/io/errors';
import { CLI, ensureCliBuilt, openSession, scratchDir, writeSshConfig, type Session } from './helpers';

const dir = scratchDir('full-count-cancel');
const FLOWS = 200_000;
/** What the summary script runs (entryScripts.ts): the shell, the source, the filter, the summariser. */
const SUMMARY_PROGRAMS = new Set(['sh', 'cat', 'conntrack', 'awk', 'mawk', 'gawk', 'head', 'sudo']);

let lock: HeldLock | undefined;
let s: Session | undefined;
let sOps: Session | undefined;
before(async () => {
  lock = await globalConntrackLock('shared');
});
after(async () => {
  await s?.session.close();
  await sOps?.session.close();
  await lock?.release();
});
const h = useHost(`c13${process.pid % 10000}`);

interface HostProcess {
  readonly pid: number;
  readonly comm: string;
  readonly args: string;
}

/** The processes in the host's network namespace that belong to a summary (not sshd, not the generator). */
function summaryProcesses(host: TestHost): HostProcess[] {
  const ns = `net:[${host.info.netnsInode}]`;
  const found: HostProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/net`) !== ns) continue;
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      if (!SUMMARY_PROGRAMS.has(comm)) continue;
      found.push({ pid: Number(name), comm, args: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Until the summary's pass runs on the host: `conntrack | awk`, or (every entry from /proc) awk
 * reading /proc/net/nf_conntrack itself.
 */
async function pipelineRunning(host: TestHost, source: 'proc' | 'conntrack'): Promise<HostProcess[]> {
  return retryUntil(
    source === 'conntrack' ? `the summary's conntrack | awk on ${host.name}` : `the summary's awk reading /proc/net/nf_conntrack on ${host.name}`,
    120_000,
    () => {
      const seen = summaryProcesses(host);
      const awk = seen.filter((p) => /awk$/.test(p.comm));
      const reading = source === 'conntrack' ? seen.some((p) => p.comm === 'conntrack') && awk.length > 0 : awk.some((p) => p.args.endsWith('/proc/net/nf_conntrack'));
      return reading ? seen : undefined;
    },
    10,
  );
}

/** A pid that still exists, how /proc shows it (a zombie counts: its parent has not reaped it yet). */
function stillThere(p: HostProcess): string | undefined {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return `${p.pid} ${p.args} (state ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '?'})`;
  } catch {
    return undefined;
  }
}

/**
 * What is left on the host of a summary once things settle: any summary process in its netns, and
 * any of the pids seen running (until gone; generous: the host is a loaded shared machine). With
 * `pipelineGone`: when the last live summary process left (a zombie is not running any more).
 */
async function leftovers(host: TestHost, seen: readonly HostProcess[]): Promise<{ left: string[]; pipelineGoneAt: number }> {
  let pipelineGoneAt = 0;
  const left = (): string[] => {
    const live = summaryProcesses(host);
    if (live.length === 0 && pipelineGoneAt === 0) pipelineGoneAt = Date.now();
    return [...live.map((p) => `${p.pid} ${p.args}`), ...seen.map(stillThere).filter((x) => x !== undefined)];
  };
  try {
    await retryUntil('no summary process on the host', 30_000, () => (left().length === 0 ? true : undefined), 10);
  } catch {
    // the assertion below names what is left
  }
  return { left: left(), pipelineGoneAt };
}

/** How long an uncancelled exact pass takes, per source (the measure a cancel is compared with). */
const passMs = new Map<string, number>();

describe('Full Count cancelled on a 200,000-entry table', () => {
  before(async () => {
    const fill = await h.host.fill({ assured: FLOWS });
    assert.ok(fill.countAfter - fill.countBefore >= FLOWS, JSON.stringify(fill));
    assert.deepEqual(summaryProcesses(h.host), [], 'nothing of a summary runs before');
    s = await openSession(dir, h.host);
  });

  // ops reads through sudo (NOPASSWD): the pid killed is root's shell under sudo, killed with sudo too
  // streamed: what Full Count in the extension runs (its output read as it comes, for the progress bar)
  const cases = [
    { user: 'root', source: undefined, streamed: false },
    { user: 'root', source: 'conntrack', streamed: false },
    { user: 'ops', source: undefined, streamed: false },
    { user: 'root', source: undefined, streamed: true },
  ] as const;
  for (const { user, source, streamed } of cases) {
    const key = `${user}/${source ?? 'default'}${streamed ? '/streamed' : ''}`;
    const progress: { read: number; tableCount: number | undefined }[] = [];
    const onProgress = streamed ? { onProgress: (read: number, tableCount: number | undefined): void => void progress.push({ read, tableCount }) } : {};
    test(`the exact summary as ${user} (${source ?? 'default source: /proc/net/nf_conntrack'}${streamed ? ', streamed with progress' : ''}) stops at once and leaves nothing on the host`, async () => {
      const host = h.host;
      if (user === 'ops') sOps ??= await openSession(dir, host, { user: 'ops', alias: `${host.name}-ops` });
      const session = (user === 'ops' ? sOps : s)?.session;
      assert.ok(session);
      // the whole pass, uncancelled: what the cancel must cut short
      const t0 = Date.now();
      const uncancelled = await session.entrySummary({ lowPriority: true, ...(source ? { source } : {}), ...onProgress });
      passMs.set(key, Date.now() - t0);
      assert.ok(uncancelled.entries >= FLOWS, `${uncancelled.entries} entries`);
      if (streamed) {
        // every 65,536 lines while it ran, then the end; against the count when the pass began
        const reads = progress.map((p) => p.read);
        assert.ok(reads.length >= 4, `progress: ${JSON.stringify(progress)}`);
        assert.deepEqual(reads.slice(0, 3), [65_536, 131_072, 196_608]);
        assert.equal(reads[reads.length - 1], uncancelled.entries + uncancelled.malformedLines, 'the last report is every line read');
        assert.ok(progress.every((p) => p.tableCount !== undefined && Math.abs(p.tableCount - uncancelled.entries) <= 50), `the table's count beside each report: ${JSON.stringify(progress.slice(0, 2))}`);
        const plain = await session.entrySummary({ lowPriority: true });
        // the same summary as without progress (the timers, and so both histograms, move between the two passes)
        const stable = (x: typeof plain): unknown => ({ entries: x.entries, byProtocol: x.byProtocol, byTcpState: x.byTcpState, assured: x.assured, unreplied: x.unreplied, top: [x.topSources, x.topDestinations, x.topDestinationPorts] });
        assert.deepEqual(stable(uncancelled), stable(plain));
        progress.length = 0;
      }
      assert.deepEqual(summaryProcesses(host), [], 'nothing of the summary is left after it ended');

      const ac = new AbortController();
      const started = Date.now();
      const run = session.entrySummary({ lowPriority: true, signal: ac.signal, ...(source ? { source } : {}), ...onProgress });
      const outcome = run.then(
        (v) => ({ ok: true as const, v, at: Date.now() }),
        (e: unknown) => ({ ok: false as const, e, at: Date.now() }),
      );
      const running = await pipelineRunning(host, source === 'conntrack' ? 'conntrack' : 'proc');
      const abortedAt = Date.now();
      ac.abort();
      // watched from the abort on, while the promise settles
      const settled = leftovers(host, running);
      const r = await outcome;
      assert.ok(!r.ok, `the summary finished before the cancel (${JSON.stringify(r.ok ? r.v.entries : '')} entries)`);
      assert.ok(isIoError(r.e, 'command-aborted'), `rejected as aborted: ${String(r.e)}`);
      // promptly: the runner rejects on the abort itself, not when the host's pass ends
      assert.ok(r.at - abortedAt < 5_000, `rejected ${r.at - abortedAt} ms after the abort`);
      const { left, pipelineGoneAt } = await settled;
      assert.deepEqual(left, [], `left on the host: ${left.join(' | ')}`);
      // stopped, not finished: gone well before a whole pass
      const whole = passMs.get(key) ?? 0;
      console.log(`# ${key}: whole pass ${whole} ms; cancelled: pipeline seen after ${abortedAt - started} ms (${running.map((p) => p.comm).join(', ')}), rejected ${r.at - abortedAt} ms and the pipeline gone ${pipelineGoneAt - abortedAt} ms after the abort`);
      // (half the pass: left to run on, it would have ended about a whole pass after it was seen)
      assert.ok(pipelineGoneAt - abortedAt < whole / 2, `the pipeline ended ${pipelineGoneAt - abortedAt} ms after the abort, the whole pass takes ${whole} ms: it was not stopped`);

      const after = await session.snapshot({ sample: 1000 });
      assert.ok((after.count ?? 0) >= FLOWS, `the session still reads the host: count ${after.count}`);
      assert.equal(after.entrySummary?.sample?.limit, 1000);
    });
  }

  test('`entries --exact` interrupted with SIGINT leaves nothing on the host', async () => {
    const host = h.host;
    ensureCliBuilt();
    const config = writeSshConfig(dir, host);
    const child = spawn(process.execPath, [CLI, 'entries', host.name, '--exact', '--ssh-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('close', (code, signal) => done({ code, signal })));
    try {
      const running = await pipelineRunning(host, 'proc');
      const interruptedAt = Date.now();
      child.kill('SIGINT');
      // watched from the interrupt on, while the CLI closes its session and exits
      const settled = leftovers(host, running);
      const exit = await exited;
      assert.equal(exit.code, 130, `exit ${exit.code} ${exit.signal ?? ''}\n${stdout}\n${stderr}`);
      assert.match(stderr, /interrupted/, stderr);
      assert.equal(stdout, '', 'no summary printed');
      const { left, pipelineGoneAt } = await settled;
      assert.deepEqual(left, [], `left on the host: ${left.join(' | ')}`);
      const whole = passMs.get('root/default');
      assert.ok(whole !== undefined, 'the default source\'s whole pass was measured by the first test');
      console.log(`# CLI: exit ${exit.code}; pipeline gone ${pipelineGoneAt - interruptedAt} ms after SIGINT (whole pass ${whole} ms)`);
      assert.ok(pipelineGoneAt - interruptedAt < whole / 2, 'the pass was stopped, not left to finish');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
