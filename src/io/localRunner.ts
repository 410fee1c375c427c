/**
 * Runs commands on this machine with execa: no shell, argv goes to execve as is; each command
 * in its own process group, so a kill reaches its children too.
 */
import { BaseRunner, KILL_GRACE_MS, type RunnerOptions, type SpawnContext, type Spawned } from './runner';
import { IoError } from './errors';

export interface LocalRunnerOptions extends RunnerOptions {
  /** extra environment variables (the rest is inherited) */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export class LocalRunner extends BaseRunner {
  readonly description = 'local';

  constructor(private readonly lopts: LocalRunnerOptions = {}) {
    super(lopts);
  }

  protected accountLabel(): string {
    return process.env['USER'] ?? 'this user';
  }

  protected async spawn(argv: readonly string[], _ctx: SpawnContext): Promise<Spawned> {
    const [file, ...args] = argv;
    if (file === undefined) throw new IoError('command-failed', 'empty command');
    // execa is ESM-only: a dynamic import works from CommonJS tests (tsx) and bundles (esbuild)
    const { execa } = await import('execa');
    const sub = execa(file, args, {
      shell: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      encoding: 'buffer',
      stripFinalNewline: false,
      // own process group, so a kill reaches the children too (sh -c '…; sleep 30')
      detached: true,
      ...(this.lopts.env === undefined ? {} : { env: this.lopts.env }),
      ...(this.lopts.cwd === undefined ? {} : { cwd: this.lopts.cwd }),
    });
    let exited = false;
    const done = sub.then((r) => {
      exited = true;
      const code = (r as { code?: string }).code;
      if (r.failed && (code === 'ENOENT' || code === 'EACCES') && r.exitCode === undefined) {
        // no shell here: report like one would, so callers see the same thing locally and remotely
        return { code: code === 'ENOENT' ? 127 : 126, signal: null };
      }
      const sig = r.signal === undefined ? null : r.signal.replace(/^SIG/, '');
      return { code: r.exitCode ?? null, signal: sig };
    });
    return {
      stdin: sub.stdin,
      stdout: sub.stdout,
      stderr: sub.stderr,
      done,
      kill: () => {
        const group = (sig: NodeJS.Signals): void => {
          try {
            if (sub.pid !== undefined) process.kill(-sub.pid, sig);
            else sub.kill(sig);
          } catch {
            sub.kill(sig);
          }
        };
        group('SIGTERM');
        setTimeout(() => {
          if (exited) return;
          group('SIGKILL');
          sub.stdout.destroy();
          sub.stderr.destroy();
        }, KILL_GRACE_MS).unref();
      },
    };
  }
}
