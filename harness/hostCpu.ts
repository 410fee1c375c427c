/**
 * The host CPU a script costs, measured on the host itself: the script runs as a child of a
 * shell inside the test host (ctd-host exec), and that shell's /proc/PID/stat gives the user +
 * system time of its reaped children (cutime + cstime: the script and everything it ran). For
 * benchmarks and the notes of tests, never for timed assertions.
 */
import type { TestHost } from './host/testHost';

export interface HostCost {
  /** user + system CPU of the script and its children, ms (clock-tick resolution, 10 ms) */
  readonly cpuMs: number;
  readonly wallMs: number;
  /** bytes the script printed (what would travel over SSH) */
  readonly stdoutBytes: number;
}

/** Runs `sh -s -- ARGS…` with `script` on stdin inside the host; its output is counted, not kept. */
export async function measureOnHost(host: TestHost, script: string, args: readonly string[]): Promise<HostCost> {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // the ticks per second come from the host (getconf CLK_TCK), the counts from the parent shell's stat
  const wrapper = `sh -s -- ${quoted} | wc -c; read -r stat < /proc/$$/stat; echo "$stat"; getconf CLK_TCK`;
  const t0 = performance.now();
  const out = await host.execOk(['sh', '-c', wrapper], { input: script, timeoutMs: 600_000 });
  const wallMs = performance.now() - t0;
  const [bytes, stat, tck] = out.trim().split('\n');
  const fields = (stat ?? '').slice((stat ?? '').lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ": state is field 3, so field N is fields[N - 3]; cutime 16, cstime 17
  const ticks = Number(fields[16 - 3]) + Number(fields[17 - 3]);
  const hz = Number(tck) || 100;
  if (!Number.isFinite(ticks)) throw new Error(`cannot read the CPU times from: ${out}`);
  return { cpuMs: (ticks * 1000) / hz, wallMs, stdoutBytes: Number(bytes) };
}
