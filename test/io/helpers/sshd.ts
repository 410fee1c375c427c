/**
 * Real OpenSSH servers for the integration tests: `/usr/sbin/sshd -D -e -f <tmp config> -p PORT`
 * on 127.0.0.1, host keys from ssh-keygen in a temp folder, AuthorizedKeysFile and PidFile in the
 * same folder, StrictModes no, root login with a generated key only. Every instance is stopped
 * by its pid (never by name).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const SSHD = '/usr/sbin/sshd';

export function sshdAvailable(): boolean {
  return existsSync(SSHD) && existsSync('/usr/bin/ssh-keygen');
}

export function keygen(file: string, type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519', passphrase = ''): void {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', passphrase, '-C', 'conntrack-doctor-test', '-f', file], { stdio: 'ignore' });
}

/** SHA256 fingerprint as ssh-keygen prints it (`SHA256:…`). */
export function keygenFingerprint(pubFile: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' });
  const m = /(SHA256:[A-Za-z0-9+/]+)/.exec(out);
  if (m?.[1] === undefined) throw new Error(`no fingerprint in ${out}`);
  return m[1];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Sshd {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  readonly hostKey: string;
  pid(): number;
  /** everything sshd printed on stderr so far (LogLevel VERBOSE) */
  log(): string;
  /** the known_hosts line for this server's current host key */
  knownHostsLine(): string;
  stop(): Promise<void>;
  /** stops, optionally replaces the host key, starts again on the same port */
  restart(opts?: { newHostKey?: boolean }): Promise<void>;
}

export async function startSshd(name: string, baseDir: string, authorizedKeys: string, extraConfig = ''): Promise<Sshd> {
  const dir = path.join(baseDir, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // privilege separation directory sshd insists on
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  keygen(hostKey);
  writeFileSync(path.join(dir, 'authorized_keys'), authorizedKeys, { mode: 0o600 });
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'AllowTcpForwarding yes',
      'LogLevel VERBOSE',
      'MaxStartups 100',
      'MaxSessions 20',
      'PrintMotd no',
      // bash sources ~/.bashrc for commands run by sshd unless SHLVL says it is nested; root's
      // .bashrc on the dev/CI machines runs pyenv init (~2 s per command). Test-server only.
      'SetEnv SHLVL=1',
      extraConfig,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output += `--- start ${new Date().toISOString()}\n`;
    const c = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (d: string) => {
      output += d;
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`sshd ${name} exited (${c.exitCode}): ${output}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.once('data', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
        setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 1000);
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`sshd ${name} did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    process.kill(c.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (c.exitCode === null && c.signalCode === null) {
      process.kill(c.pid, 'SIGKILL');
      await exited;
    }
  };

  await start();
  return {
    name,
    port,
    dir,
    hostKey,
    pid: () => child?.pid ?? -1,
    log: () => output,
    knownHostsLine: () => {
      const [type, b64] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
      return `[127.0.0.1]:${port} ${type ?? ''} ${b64 ?? ''}`;
    },
    stop,
    restart: async (opts = {}) => {
      await stop();
      if (opts.newHostKey === true) keygen(hostKey);
      await start();
    },
  };
}
