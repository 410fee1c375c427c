/**
 * Test helper: a fresh network namespace with a private mount namespace, held open by
 * `unshare -n -m sleep`. /etc, /var/lib and /var/backups are overlays there, so what a fix
 * writes (persisted rules, the change record, backups) stays in the namespace and goes with it.
 * `runner` runs commands inside through `nsenter` for the product's own apply and rollback
 * (src/io/apply.ts: the one executor); `run` is the test's independent, synchronous read.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRunner } from '../../../../src/io/localRunner';
import type { CommandRunner, CommandStream, RunOptions, RunResult, StreamOptions } from '../../../../src/io/runner';
import type { Privilege } from '../../../../src/io/sudo';

export interface RunResultSync {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const OVERLAID = ['/etc', '/var/lib', '/var/backups'];

/** Commands in the namespaces of `pid`, as root (the tests run as root). */
class NamespaceRunner implements CommandRunner {
  readonly description: string;
  private readonly local = new LocalRunner({ privilege: 'root' });
  constructor(private readonly pid: number) {
    this.description = `netns of ${pid}`;
  }
  private argv(argv: readonly string[]): string[] {
    return ['nsenter', '-t', String(this.pid), '--net', '--mount', '--', ...argv];
  }
  run(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
    return this.local.run(this.argv(argv), opts);
  }
  stream(argv: readonly string[], opts: StreamOptions): CommandStream {
    return this.local.stream(this.argv(argv), opts);
  }
  privilege(): Promise<Privilege> {
    return Promise.resolve('root');
  }
}

export class Netns {
  readonly runner: CommandRunner;

  private constructor(
    private readonly holder: ChildProcess,
    private readonly scratch: string,
  ) {
    this.runner = new NamespaceRunner(holder.pid ?? 0);
  }

  /** Starts a namespace holder and waits until its overlays are mounted. */
  static open(): Netns {
    const scratch = mkdtempSync(join(tmpdir(), 'ctd-netns-'));
    const mounts = OVERLAID.map((d, i) => `mkdir -p "$1/${i}/up" "$1/${i}/work" && mount -t overlay overlay -o "lowerdir=${d},upperdir=$1/${i}/up,workdir=$1/${i}/work" ${d}`).join(' && ');
    const holder = spawn('unshare', ['-n', '-m', '--propagation', 'private', '--', 'sh', '-c', `${mounts} && touch "$1/ready" && exec sleep 600`, 'netns-holder', scratch], { stdio: 'ignore' });
    if (holder.pid === undefined) throw new Error('could not start unshare (needs root and util-linux)');
    const ns = new Netns(holder, scratch);
    for (let i = 0; i < 500; i++) {
      if (spawnSync('test', ['-e', join(scratch, 'ready')]).status === 0) return ns;
      if (holder.exitCode !== null) break;
      spawnSync('sleep', ['0.01']);
    }
    ns.close();
    throw new Error('unshare -n -m did not set up the namespaces (needs root, util-linux and overlayfs)');
  }

  run(argv: readonly string[]): RunResultSync {
    const r = spawnSync('nsenter', ['-t', String(this.holder.pid), '--net', '--mount', '--', ...argv], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (r.error) return { exitCode: 127, stdout: '', stderr: r.error.message };
    return { exitCode: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs setup commands, failing loudly. */
  setup(commands: readonly (readonly string[])[]): void {
    for (const argv of commands) {
      const r = this.run(argv);
      if (r.exitCode !== 0) throw new Error(`setup ${argv.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
    }
  }

  close(): void {
    this.holder.kill('SIGKILL');
    // the overlays go with the namespace, once the holder is gone
    for (let i = 0; i < 500 && spawnSync('kill', ['-0', String(this.holder.pid)]).status === 0; i++) spawnSync('sleep', ['0.01']);
    rmSync(this.scratch, { recursive: true, force: true });
  }
}
