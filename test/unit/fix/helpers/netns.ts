/**
 * Test helper: a fresh network namespace held open by `unshare -n sleep`, in which commands run
 * through `nsenter --net` (argv only, no shell), plus a small executor that runs a Fix's steps
 * the way the I/O layer must, using the pure semantics of steps.ts. FileEdits are not applied
 * (they would touch /etc); `stdoutTo` paths are written under a given root directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CommandStep, Fix } from '../../../../src/core/fix/model';
import { checkVerification, expandHandleStep, shouldSkip, stepSucceeded } from '../../../../src/core/fix/steps';

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StepReport {
  readonly argv: readonly string[];
  readonly skipped: boolean;
  readonly exitCode: number;
  readonly ok: boolean;
  readonly stderr: string;
}

export interface VerificationReport {
  readonly description: string;
  readonly ok: boolean;
  readonly observed: string;
}

export class Netns {
  private constructor(private readonly holder: ChildProcess) {}

  /** Starts a namespace holder and waits until it is inside its own netns. */
  static open(): Netns {
    const holder = spawn('unshare', ['-n', '--', 'sleep', '600'], { stdio: 'ignore' });
    const pid = holder.pid;
    if (pid === undefined) throw new Error('could not start unshare (needs root and util-linux)');
    const ns = new Netns(holder);
    // unshare execs sleep once the namespace exists: wait until the holder's netns differs from ours.
    const own = spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim();
    for (let i = 0; i < 500; i++) {
      const r = spawnSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' });
      if (r.status === 0 && r.stdout.trim() !== own && r.stdout.trim() !== '') return ns;
      spawnSync('sleep', ['0.01']);
    }
    ns.close();
    throw new Error('unshare -n did not create a network namespace (needs root)');
  }

  run(argv: readonly string[]): RunResult {
    const r = spawnSync('nsenter', ['-t', String(this.holder.pid), '--net', '--', ...argv], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
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

  runSteps(steps: readonly CommandStep[], stdoutRoot?: string): StepReport[] {
    const out: StepReport[] = [];
    for (const original of steps) {
      const concrete = original.handleFrom ? expandHandleStep(original, this.run(original.handleFrom.argv).stdout) : [original];
      for (const step of concrete) {
        if (step.skipIf && shouldSkip(step, this.run(step.skipIf))) {
          out.push({ argv: step.argv, skipped: true, exitCode: 0, ok: true, stderr: '' });
          continue;
        }
        const r = this.run(step.argv);
        const ok = stepSucceeded(step, r.exitCode);
        if (ok && step.stdoutTo !== undefined) {
          if (stdoutRoot === undefined) throw new Error(`step writes ${step.stdoutTo} but no stdoutRoot was given`);
          const path = join(stdoutRoot, step.stdoutTo);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, r.stdout);
        }
        out.push({ argv: step.argv, skipped: false, exitCode: r.exitCode, ok, stderr: r.stderr });
      }
    }
    return out;
  }

  apply(fix: Fix, stdoutRoot?: string): StepReport[] {
    return this.runSteps(fix.runtime, stdoutRoot);
  }

  rollback(fix: Fix): StepReport[] {
    return this.runSteps(fix.rollback);
  }

  verify(fix: Fix): VerificationReport[] {
    return fix.verify.map((v) => ({ description: v.description, ...checkVerification(v, this.run(v.argv)) }));
  }

  close(): void {
    this.holder.kill('SIGKILL');
  }
}
