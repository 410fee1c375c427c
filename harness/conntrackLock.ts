/**
 * The one lock around the machine's global conntrack settings. nf_conntrack_max (and the
 * buckets) is one value for every network namespace: whoever changes it takes this lock
 * exclusively (the initial-netns integration test, scripts/bench-entries.ts for a large fill),
 * whoever relies on it takes it shared (a full table, "max unchanged"), so work running in
 * parallel never sees another's change. An --initial-netns test host records the machine's
 * values when it comes up and writes them back when it goes down: only start one under the
 * exclusive lock.
 *
 * A `flock -o` child process holds the lock: release() ends it; releaseSync() kills it (signal
 * and exit handlers); if this process dies, the child sees EOF on its stdin and goes with it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const CONNTRACK_LOCK_FILE = join(process.env['CTD_HOSTS_ROOT'] ?? '/tmp/ctd-hosts', '.global-conntrack.lock');

export interface HeldLock {
  release(): Promise<void>;
  /** For 'exit' and signal handlers: the lock is free when this returns. */
  releaseSync(): void;
}

export async function globalConntrackLock(mode: 'shared' | 'exclusive', o: { timeoutS?: number } = {}): Promise<HeldLock> {
  mkdirSync(join(CONNTRACK_LOCK_FILE, '..'), { recursive: true });
  const args = ['-o', ...(o.timeoutS !== undefined ? ['-w', String(o.timeoutS)] : []), mode === 'shared' ? '-s' : '-x', CONNTRACK_LOCK_FILE, 'sh', '-c', 'echo locked; exec cat >/dev/null'];
  const child = spawn('flock', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('locked')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`flock exited (${code}) before taking ${CONNTRACK_LOCK_FILE}${o.timeoutS !== undefined ? ` (waited at most ${o.timeoutS} s)` : ''}`)));
  });
  child.removeAllListeners('exit');
  return {
    release: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.stdin.end();
      }),
    releaseSync: () => {
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
