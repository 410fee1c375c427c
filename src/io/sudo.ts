/**
 * Running a command as root: what the runner's account may do (detected once per runner and
 * shared by everything above it), and how a privileged command is started:
 *   root           as is;
 *   sudo-nopasswd  `sudo -n -- argv…`;
 *   sudo-password  `sudo -k -S -p <random prompt> -- sh -c '<marker>; exec "$@"' sh argv…`:
 *                  the password line is written only when sudo prints the prompt on stderr,
 *                  the command's own stdin only once the marker shows the command started
 *                  (runner.ts). A sudoers rule that lets the command run without a password
 *                  therefore never gets the password as its first stdin line;
 *   doas-nopasswd  `doas -n -- env PATH=… argv…` where sudo is absent (Alpine, OpenWrt-like
 *                  hosts): a `permit nopass` rule in doas.conf. opendoas looks the command up in
 *                  the caller's PATH, which on such hosts often lacks the sbin directories, so
 *                  the command gets root's PATH through env;
 *   none           refused (privilege-unavailable).
 * The password is asked once through the prompt callback, checked once with
 * `sudo -k -S -p '' -v` (so a wrong password is a clear `sudo-refused` error and the command's
 * stdin is never eaten by password retries), kept in memory only, and never put in argv, the
 * environment or a log. `-k` makes sudo ignore cached credentials, so it always reads the
 * password line and the line never reaches the command. The prompt string and the marker are
 * random per runner, so neither a command's output nor a host's text can fake them. Under sudo
 * the command runs through `sh` (the marker): an account in sudo-password mode may run `true`,
 * i.e. in practice anything, with its password, and a NOPASSWD rule for `sh` is honoured.
 */
import { randomBytes } from 'node:crypto';
import { IoError } from './errors';
import type { Prompter } from './ssh/auth';

export type Privilege = 'root' | 'sudo-nopasswd' | 'sudo-password' | 'doas-nopasswd' | 'none';

/** root's PATH for a command started through doas (the caller's PATH may have no sbin). */
const ROOT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** sudo's answer to a wrong password (C locale). */
export const SUDO_REFUSED = /incorrect password|Sorry, try again|no password was provided|authentication failure/i;
const SUDO_NOT_ALLOWED = /not in the sudoers|is not allowed to|may not run sudo/i;

/**
 * What the runner's account may do: root, passwordless sudo, sudo with a password, or nothing.
 * Runs `id -u`, then `sudo -n true` (C locale, so messages can be recognised); where there is
 * no sudo, `doas -n true` (only a `nopass` doas rule is used: doas with a password is `none`).
 */
export async function detectPrivilege(
  runner: { run(argv: readonly string[], opts: { timeoutMs: number }): Promise<{ exitCode: number; stdout: string; stderr: string }> },
  opts: { timeoutMs?: number } = {},
): Promise<Privilege> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const id = await runner.run(['id', '-u'], { timeoutMs });
  if (id.exitCode === 0 && id.stdout.trim() === '0') return 'root';
  const s = await runner.run(['env', 'LC_ALL=C', 'sudo', '-n', 'true'], { timeoutMs });
  if (s.exitCode === 0) return 'sudo-nopasswd';
  if (s.exitCode === 127 || s.exitCode === 126) {
    const d = await runner.run(['env', 'LC_ALL=C', 'doas', '-n', 'true'], { timeoutMs });
    return d.exitCode === 0 ? 'doas-nopasswd' : 'none';
  }
  if (SUDO_NOT_ALLOWED.test(s.stderr)) return 'none';
  if (/password is required|a terminal is required/i.test(s.stderr)) return 'sudo-password';
  return 'none';
}

/** A command ready to start: argv (with the sudo prefix) and what goes to stdin before the caller's input. */
export interface Prepared {
  readonly argv: readonly string[];
  readonly stdinPrefix: Buffer | undefined;
  /** sudo may ask for the password (a refusal then clears it) */
  readonly sudoPassword: boolean;
  /** sudo-password mode: answer `prompt` on stderr with `line`; the command's stdin waits for `marker` */
  readonly sudoDialog?: SudoDialog;
  readonly privileged: boolean;
}

export interface SudoDialog {
  /** what sudo prints (no newline) when it reads the password */
  readonly prompt: string;
  /** the password line */
  readonly line: Buffer;
  /** the line (with its newline) the command prints on stderr first, once sudo let it run */
  readonly marker: string;
}

/** What Sudo needs from its runner. */
export interface SudoHost {
  /** `user@host:port` or `local`, for messages */
  readonly description: string;
  /** the login account's name, for the prompt */
  account(): string;
  /** detectPrivilege over the runner */
  detect(): Promise<Privilege>;
  /** runs `argv` as one of the runner's own helper commands, with `stdin`; its exit code and stderr */
  check(argv: readonly string[], stdin: Buffer, timeoutMs: number): Promise<{ exitCode: number; stderr: string }>;
}

export class Sudo {
  private level: Privilege | undefined;
  private levelPending: Promise<Privilege> | undefined;
  private password: string | undefined;
  private passwordPending: Promise<string> | undefined;
  /** random per runner: a command's output cannot fake them */
  private readonly sudoPrompt = `[conntrack-doctor-sudo-${randomBytes(9).toString('hex')}]`;
  private readonly startMarker = `conntrack-doctor-started-${randomBytes(9).toString('hex')}`;

  constructor(
    private readonly host: SudoHost,
    private readonly prompt: Prompter | undefined,
    known?: Privilege,
  ) {
    this.level = known;
  }

  /** The account's privilege level, detected once (concurrent callers share the detection). */
  privilege(): Promise<Privilege> {
    if (this.level !== undefined) return Promise.resolve(this.level);
    this.levelPending ??= this.host.detect().then(
      (p) => {
        this.level = p;
        return p;
      },
      (e: unknown) => {
        this.levelPending = undefined;
        throw e;
      },
    );
    return this.levelPending;
  }

  /** The password in memory (to be redacted from anything logged). */
  get secret(): string | undefined {
    return this.password;
  }

  /** sudo refused the remembered password: ask again next time. */
  forget(): void {
    this.password = undefined;
  }

  async prepare(argv: readonly string[], opts: { readonly privileged?: boolean; readonly timeoutMs: number }): Promise<Prepared> {
    if (argv.length === 0) throw new IoError('command-failed', 'empty command');
    if (opts.privileged !== true) return { argv, stdinPrefix: undefined, sudoPassword: false, privileged: false };
    switch (await this.privilege()) {
      case 'root':
        return { argv, stdinPrefix: undefined, sudoPassword: false, privileged: true };
      case 'sudo-nopasswd':
        return { argv: ['sudo', '-n', '--', ...argv], stdinPrefix: undefined, sudoPassword: false, privileged: true };
      case 'doas-nopasswd':
        return { argv: ['doas', '-n', '--', 'env', ROOT_PATH, ...argv], stdinPrefix: undefined, sudoPassword: false, privileged: true };
      case 'sudo-password': {
        const pw = await this.ensurePassword(opts.timeoutMs);
        return {
          argv: ['sudo', '-k', '-S', '-p', this.sudoPrompt, '--', 'sh', '-c', 'echo "$0" >&2 && exec "$@"', this.startMarker, ...argv],
          stdinPrefix: undefined,
          sudoPassword: true,
          sudoDialog: { prompt: this.sudoPrompt, line: Buffer.from(`${pw}\n`, 'utf8'), marker: `${this.startMarker}\n` },
          privileged: true,
        };
      }
      case 'none':
        throw new IoError('privilege-unavailable', `this command needs root on ${this.host.description}, but ${this.host.account()} is not root and cannot use sudo`);
    }
  }

  private ensurePassword(timeoutMs: number): Promise<string> {
    if (this.password !== undefined) return Promise.resolve(this.password);
    this.passwordPending ??= this.askPassword(timeoutMs).finally(() => {
      this.passwordPending = undefined;
    });
    return this.passwordPending;
  }

  private async askPassword(timeoutMs: number): Promise<string> {
    const description = this.host.description;
    const prompt = this.prompt;
    if (prompt === undefined) {
      throw new IoError('sudo-password-required', `this command needs root on ${description}: sudo asks for a password and no way to ask the user was given`);
    }
    for (let attempt = 1; attempt <= 3; attempt++) {
      const pw = await prompt({ kind: 'sudo-password', target: description, message: `[sudo] password for ${this.host.account()} on ${description}`, echo: false, attempt });
      if (pw === undefined) throw new IoError('sudo-password-required', `this command needs root on ${description}: sudo needs a password and none was given`);
      if (pw.includes('\n')) throw new IoError('sudo-refused', 'a sudo password cannot contain a newline');
      const r = await this.host.check(['env', 'LC_ALL=C', 'sudo', '-k', '-S', '-p', '', '-v'], Buffer.from(`${pw}\n`, 'utf8'), Math.max(timeoutMs, 15_000));
      if (r.exitCode === 0) {
        this.password = pw;
        return pw;
      }
      if (SUDO_NOT_ALLOWED.test(r.stderr)) {
        throw new IoError('privilege-unavailable', `${this.host.account()} may not use sudo on ${description}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
      }
    }
    throw new IoError('sudo-refused', `sudo refused the password for ${this.host.account()} on ${description} (3 attempts)`);
  }
}
