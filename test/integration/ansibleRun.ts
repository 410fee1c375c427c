/**
 * Running the real Ansible (Debian's ansible-core 2.14) and ansible-lint on the playbooks the CLI
 * exports, against the real test hosts: OpenSSH as Ansible's transport, host keys verified
 * (the ssh config's known_hosts, StrictHostKeyChecking yes), `become` through the host's sudo.
 *
 * Each test file gets its own Ansible home, config and control sockets in its scratch dir, so
 * nothing of this machine's Ansible set-up is read or written; the control masters are closed
 * by closeAnsibleConnections().
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type ExecResult, type TestHost } from '../../harness/host/testHost';

const INSTALL_HINT = 'run harness/host/install-deps.sh as root (scripts/setup.sh does)';

/** Throws with the install hint unless ansible-playbook (with ansible.posix) and ansible-lint are here. */
export function requireAnsible(): void {
  for (const tool of ['ansible-playbook', 'ansible-lint']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${tool} is missing: ${INSTALL_HINT}`);
  }
  const v = spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
  assert.match(v.stdout, /ansible-playbook \[core 2\.\d+/, `ansible-playbook --version: ${v.stdout}${v.stderr}`);
}

/** The Python that runs Ansible (its scripts' `#!` line), not whichever `python3` is first on PATH. */
export function ansiblePython(): string {
  const where = spawnSync('sh', ['-c', 'command -v ansible-playbook'], { encoding: 'utf8' }).stdout.trim();
  const interpreter = /^#!\s*(\S+)/.exec(readFileSync(where, 'utf8').split('\n')[0] ?? '')?.[1];
  assert.ok(interpreter, `no #! line in ${where}`);
  return interpreter;
}

/** The environment of every Ansible command of a test file (its own home, config and sockets). */
export function ansibleEnv(dir: string): NodeJS.ProcessEnv {
  const home = join(dir, 'ansible-home');
  mkdirSync(join(home, 'tmp'), { recursive: true });
  mkdirSync(join(dir, 'cp'), { recursive: true });
  const cfg = join(dir, 'ansible.cfg');
  if (!existsSync(cfg)) writeFileSync(cfg, '[defaults]\nretry_files_enabled = false\ninterpreter_python = /usr/bin/python3\n');
  return {
    ...process.env,
    HOME: home,
    ANSIBLE_CONFIG: cfg,
    ANSIBLE_LOCAL_TEMP: join(home, 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_STDOUT_CALLBACK: 'default',
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
    // Connections are reused within a run and close themselves soon after.
    ANSIBLE_SSH_ARGS: '-C -o ControlMaster=auto -o ControlPersist=20s',
  };
}

export interface Recap {
  readonly ok: number;
  readonly changed: number;
  readonly unreachable: number;
  readonly failed: number;
  readonly skipped: number;
}

export interface PlaybookRun extends ExecResult {
  /** PLAY RECAP per host. */
  readonly recap: ReadonlyMap<string, Recap>;
  readonly output: string;
}

function parseRecap(output: string): Map<string, Recap> {
  const recap = new Map<string, Recap>();
  const at = output.lastIndexOf('PLAY RECAP');
  if (at === -1) return recap;
  for (const line of output.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)/.exec(line);
    if (m) recap.set(m[1] ?? '', { ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]), skipped: Number(m[6]) });
  }
  return recap;
}

/** `ansible-playbook ARGS` in `dir`; the whole output is also kept as dir/NAME.log for a failing test. */
export async function ansiblePlaybook(dir: string, args: readonly string[], logName: string): Promise<PlaybookRun> {
  const r = await run('ansible-playbook', args, { env: ansibleEnv(dir), timeoutMs: 300_000 });
  const output = `${r.stdout}${r.stderr}`;
  writeFileSync(join(dir, `${logName}.log`), output);
  return { ...r, output, recap: parseRecap(r.stdout) };
}

/** The recap of one host, failing with the run's output when it is missing. */
export function recapOf(r: PlaybookRun, host: string): Recap {
  const x = r.recap.get(host);
  assert.ok(x, `no PLAY RECAP line for ${host}:\n${r.output.slice(-4000)}`);
  return x;
}

/** Runs `ansible-playbook` and expects success with changes (or none) on `host`. */
export async function playbookOk(dir: string, args: readonly string[], logName: string, host: string, changed: 'some' | 'none'): Promise<PlaybookRun> {
  const r = await ansiblePlaybook(dir, args, logName);
  assert.equal(r.code, 0, `ansible-playbook ${args.join(' ')} exited ${r.code}:\n${r.output.slice(-6000)}`);
  const x = recapOf(r, host);
  assert.equal(x.failed, 0);
  assert.equal(x.unreachable, 0);
  if (changed === 'none') assert.equal(x.changed, 0, `expected changed=0 on ${host}:\n${r.output.slice(-6000)}`);
  else assert.ok(x.changed > 0, `expected changes on ${host}:\n${r.output.slice(-6000)}`);
  return r;
}

/** ansible-lint (default profile, no network) on the files; resolves with its result. */
export async function ansibleLint(dir: string, files: readonly string[]): Promise<ExecResult> {
  return run('ansible-lint', ['--offline', '--nocolor', '--project-dir', dir, ...files], { env: ansibleEnv(dir), timeoutMs: 180_000 });
}

/** Closes the control masters Ansible left in dir/cp (they would otherwise linger for ControlPersist). */
export async function closeAnsibleConnections(dir: string): Promise<void> {
  const cp = join(dir, 'cp');
  if (!existsSync(cp)) return;
  for (const socket of readdirSync(cp)) {
    await run('ssh', ['-o', `ControlPath=${join(cp, socket)}`, '-O', 'exit', 'control-master'], { timeoutMs: 10_000 });
  }
}

/** What a playbook may change on a host, read inside the host (ctd-host exec: no SSH, no Ansible). */
export interface HostState {
  readonly files: Readonly<Record<string, string | null>>;
  readonly values: Readonly<Record<string, string>>;
  readonly extra: Readonly<Record<string, string>>;
}

export async function readHostState(host: TestHost, paths: readonly string[], keys: readonly string[], extra: Readonly<Record<string, readonly string[]>> = {}): Promise<HostState> {
  const files: Record<string, string | null> = {};
  for (const p of paths) {
    const r = await host.exec(['cat', p]);
    files[p] = r.code === 0 ? r.stdout : null;
  }
  const values: Record<string, string> = {};
  for (const k of keys) values[k] = (await host.execOk(['sysctl', '-n', k])).trim();
  const out: Record<string, string> = {};
  for (const [name, argv] of Object.entries(extra)) {
    const r = await host.exec(argv);
    out[name] = `exit ${r.code}\n${r.stdout}`;
  }
  return { files, values, extra: out };
}

/** The id in the first lines of an exported playbook (it names the record and backups on hosts). */
export function playbookId(text: string): string {
  const m = /^# Conntrack Doctor (?:rollback )?playbook (\S+)$/m.exec(text);
  assert.ok(m?.[1], 'no playbook id in the header');
  return m[1];
}

export interface Exercise {
  readonly dir: string;
  /** The host the play runs on, and its inventory name. */
  readonly host: TestHost;
  readonly inventoryName: string;
  readonly inventory: string;
  readonly playbook: string;
  readonly rollback: string;
  /** What the playbook may change: files (compared byte for byte), sysctl keys, other reads. */
  readonly paths: readonly string[];
  readonly keys: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  /** Extra arguments of every run (e.g. -e conntrack_doctor_confirm=true). */
  readonly runArgs?: readonly string[];
  /** What `--check --diff` must show. */
  readonly preview: readonly RegExp[];
  /** Checks after the real run (the diagnosis, the verification's output). */
  readonly applied: (before: HostState, after: HostState, run: PlaybookRun) => Promise<void> | void;
  /** Checks after the rollback, besides "everything as before". */
  readonly rolledBack?: (state: HostState, run: PlaybookRun) => Promise<void> | void;
  /** Destructive fixes: what cannot come back is not compared after the rollback. */
  readonly irreversible?: boolean;
}

/**
 * One exported fix, the whole way: ansible-lint and --syntax-check of both playbooks, --check
 * --diff (shows the change, changes nothing), the real run, a second run (changed=0), the
 * rollback (everything as before: files byte for byte, values value for value) and a second
 * rollback (nothing to do).
 */
export async function exercise(e: Exercise): Promise<void> {
  const lint = await ansibleLint(e.dir, [e.playbook, e.rollback]);
  assert.equal(lint.code, 0, `ansible-lint:\n${lint.stdout}${lint.stderr}`);
  assert.match(`${lint.stdout}${lint.stderr}`, /Passed with production profile: 0 failure\(s\), 0 warning\(s\) on 2 files/);
  for (const p of [e.playbook, e.rollback]) {
    const syntax = await ansiblePlaybook(e.dir, ['-i', e.inventory, '--syntax-check', p], 'syntax');
    assert.equal(syntax.code, 0, syntax.output);
    assert.match(syntax.output, /playbook: /);
  }
  const id = playbookId(readFileSync(e.playbook, 'utf8'));
  const stateDir = `/var/lib/conntrack-doctor/ansible/${id}`;
  const backupDir = `/var/backups/conntrack-doctor/ansible/${id}`;
  const read = (): Promise<HostState> => readHostState(e.host, e.paths, e.keys, { ...e.extra, state: ['ls', '-A', stateDir], backups: ['sh', '-c', `test -e ${backupDir} && echo present || echo absent`] });
  const limit = ['-i', e.inventory, '-e', `conntrack_doctor_hosts=${e.inventoryName}`, ...(e.runArgs ?? [])];
  const before = await read();
  assert.match(before.extra['state'] ?? '', /^exit 2\n/, 'no record before the first run');

  const preview = await playbookOk(e.dir, [...limit, '--check', '--diff', e.playbook], 'check', e.inventoryName, 'some');
  for (const re of e.preview) assert.match(preview.output, re);
  assert.deepEqual(await read(), before, '--check --diff changed something on the host');

  const applied = await playbookOk(e.dir, [...limit, e.playbook], 'apply', e.inventoryName, 'some');
  const after = await read();
  assert.match(after.extra['state'] ?? '', /^exit 0\n/, 'the record exists after the run');
  await e.applied(before, after, applied);

  await playbookOk(e.dir, [...limit, e.playbook], 'apply-again', e.inventoryName, 'none');

  const back = await playbookOk(e.dir, [...limit, e.rollback], 'rollback', e.inventoryName, 'some');
  const restored = await read();
  // A flush or a delete cannot be undone: there is nothing of it to compare.
  if (!e.irreversible) assert.deepEqual(restored, before, 'the rollback restores files byte for byte and values value for value');
  assert.match(restored.extra['state'] ?? '', /^exit 2\n/, 'the record is removed');
  assert.equal(restored.extra['backups'], 'exit 0\nabsent\n', 'the backups are removed');
  await e.rolledBack?.(restored, back);
  const again = await playbookOk(e.dir, [...limit, e.rollback], 'rollback-again', e.inventoryName, 'none');
  assert.match(again.output, new RegExp(`No record of ${id} on ${e.inventoryName}: the playbook did not change this host, or it was rolled back already`));
}
