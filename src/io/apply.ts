/**
 * Applying a fix on a host: the one path every remote change takes.
 *   preview (pure, core/fix/preview.ts) → confirm (destructive fixes) → write files atomically
 *   with a backup, refusing a file that changed since it was read → run the runtime steps →
 *   verify by reading back → record the change on the host (so any client can roll it back).
 * Every command goes through the CommandRunner (quoting, timeout, cancellation, log).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CommandStep, Fix, FileEdit, Verification } from '../core/fix/model';
import { checkVerification, expandHandleStep, shouldSkip, stepSucceeded, sysctlWriteOf } from '../core/fix/steps';
import { renderCommand } from '../core/fix/quote';
import type { CommandRunner, RunResult } from './runner';
import { errorMessage } from '../core/format';

export const STATE_DIR = '/var/lib/conntrack-doctor';
export const CHANGES_DIR = `${STATE_DIR}/changes`;
export const BACKUP_DIR = '/var/backups/conntrack-doctor';

/** Writes stdin to $1 atomically (temp file in the same directory, fsync, rename), keeping mode
 *  and owner, after copying the current file to the backup directory. $3 is the sha256 the file
 *  must still have ('-' = must not exist, 'any' = whatever is there); exit 3 = changed since read.
 *  $5/$6 are the length and sha256 of the content: a transfer cut off mid-way ends stdin early
 *  (sshd closes it when the connection drops), so what arrived is checked HERE, before the
 *  rename; exit 5 = incomplete, the target untouched. */
const WRITE_SCRIPT = `set -eu
p="$1"; bdir="$2"; expect="$3"; cmode="$4"; want_len="$5"; want_sha="$6"
d=$(dirname -- "$p")
if [ -L "$p" ]; then echo "conntrack-doctor: $p is a symbolic link: refusing to replace it" >&2; exit 4; fi
if [ -e "$p" ]; then
  cur=$(sha256sum -- "$p" | cut -d' ' -f1)
  if [ "$expect" != any ] && [ "$cur" != "$expect" ]; then echo "conntrack-doctor: $p changed since it was read (sha256 now $cur)" >&2; exit 3; fi
  if [ "$bdir" != - ]; then mkdir -p -- "$bdir$d"; cp -p -- "$p" "$bdir$p"; fi
  meta=$(stat -c '%a %u %g' -- "$p")
else
  if [ "$expect" != - ] && [ "$expect" != any ]; then echo "conntrack-doctor: $p was removed since it was read" >&2; exit 3; fi
  meta="$cmode 0 0"
  mkdir -p -- "$d"
fi
t=$(mktemp "$d/.conntrack-doctor.XXXXXX")
trap 'rm -f -- "$t"' EXIT
trap 'exit 129' HUP; trap 'exit 141' PIPE; trap 'exit 143' TERM; trap 'exit 130' INT
cat > "$t"
got_len=$(wc -c < "$t")
got_sha=$(sha256sum -- "$t" | cut -d' ' -f1)
if [ "$got_len" -ne "$want_len" ] || [ "$got_sha" != "$want_sha" ]; then echo "conntrack-doctor: received $got_len of $want_len bytes for $p (sha256 $got_sha): incomplete transfer, $p left unchanged" >&2; exit 5; fi
set -- $meta
chmod "$1" "$t"
chown "$2:$3" "$t"
sync "$t" 2>/dev/null || sync
mv -f -- "$t" "$p"
trap - EXIT
sync "$d" 2>/dev/null || true
sha256sum -- "$p" | cut -d' ' -f1
`;

/** Removes $1 if it still has sha256 $2 (rollback of a file the fix created). */
const REMOVE_SCRIPT = `set -eu
p="$1"; expect="$2"
[ -e "$p" ] || exit 0
cur=$(sha256sum -- "$p" | cut -d' ' -f1)
if [ "$cur" != "$expect" ]; then echo "conntrack-doctor: $p changed since the fix wrote it (sha256 now $cur)" >&2; exit 3; fi
rm -f -- "$p"
`;

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface StepReport {
  readonly command: string;
  readonly description: string;
  readonly exitCode: number;
  readonly ok: boolean;
  readonly skipped?: boolean;
  /** A lookup that changes nothing (a handle listing). */
  readonly readOnly?: boolean;
  readonly stdout?: string;
  readonly stderr?: string;
}

export interface FileReport {
  readonly path: string;
  readonly existed: boolean;
  /** Host path of the backup (when the file existed). */
  readonly backup?: string;
  /** sha256 of what the fix wrote (rollback refuses if the file changed since). */
  readonly writtenSha: string;
}

export interface VerifyReport {
  readonly description: string;
  readonly command: string;
  readonly ok: boolean;
  readonly observed: string;
}

/** What happened, kept on the host as CHANGES_DIR/<id>.json. */
export interface ChangeRecord {
  readonly id: string;
  readonly host: string;
  readonly fixId: string;
  readonly title: string;
  readonly appliedAt: string;
  readonly files: readonly FileReport[];
  readonly steps: readonly StepReport[];
  readonly verification: readonly VerifyReport[];
  readonly rollback: readonly CommandStep[];
  readonly ok: boolean;
  readonly rolledBackAt?: string;
  /** Everything was already in place (every step skipped, no file changed): verified, but not
   *  recorded on the host, so that "roll back" undoes the change that really did it. */
  readonly unchanged?: boolean;
}

export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(message: string, readonly record?: ChangeRecord) {
    super(message);
  }
}

export interface ApplyOptions {
  /** Asked before a destructive fix; without it (or when it says no) nothing runs. */
  readonly confirm?: (fix: Fix) => Promise<boolean>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Name of the host for the record. */
  readonly host?: string;
  /** Progress lines for the user (each step as it happens). */
  readonly onProgress?: (line: string) => void;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

function newId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

async function run(runner: CommandRunner, argv: readonly string[], privileged: boolean, o: ApplyOptions, stdin?: string): Promise<RunResult> {
  return runner.run(argv, {
    privileged,
    timeoutMs: o.timeoutMs ?? 60_000,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(stdin !== undefined ? { stdin } : {}),
  });
}

/** Reads a file on the host (privileged): content, or undefined when it does not exist. */
export async function readRemoteFile(runner: CommandRunner, path: string, o: ApplyOptions = {}): Promise<string | undefined> {
  const r = await run(runner, ['sh', '-c', 'if [ -e "$1" ]; then cat -- "$1"; else exit 44; fi', 'conntrack-doctor-read', path], true, o);
  if (r.exitCode === 44) return undefined;
  if (r.exitCode !== 0) throw new ApplyError(`cannot read ${path}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout;
}

/** Writes content atomically; `expect` is the sha256 the current file must have ('-': must not exist; 'any'). */
export async function writeRemoteFile(
  runner: CommandRunner, path: string, content: string, expect: string, backupRoot: string, createMode: number, o: ApplyOptions,
): Promise<string> {
  const bytes = Buffer.from(content, 'utf8');
  const argv = ['sh', '-c', WRITE_SCRIPT, 'conntrack-doctor-write', path, backupRoot, expect, createMode.toString(8), String(bytes.length), sha256(bytes)];
  const r = await run(runner, argv, true, o, content);
  if (r.exitCode === 3 || r.exitCode === 4 || r.exitCode === 5) throw new ApplyError(r.stderr.trim());
  if (r.exitCode !== 0) throw new ApplyError(`writing ${path} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  const written = r.stdout.trim();
  if (written !== sha256(content)) throw new ApplyError(`read-back of ${path} does not match what was written (sha256 ${written})`);
  return written;
}

async function runStep(runner: CommandRunner, step: CommandStep, o: ApplyOptions, reports: StepReport[], backupRoot: string, files: FileReport[]): Promise<boolean> {
  let steps: CommandStep[] = [step];
  if (step.handleFrom) {
    const listing = await run(runner, step.handleFrom.argv, step.privileged, o);
    reports.push({ command: renderCommand(step.handleFrom.argv), description: 'find the rule handle', exitCode: listing.exitCode, ok: listing.exitCode === 0, readOnly: true });
    steps = listing.exitCode === 0 ? expandHandleStep(step, listing.stdout) : [];
  }
  for (const s of steps) {
    if (s.skipIf) {
      const check = await run(runner, s.skipIf, s.privileged, o);
      if (shouldSkip(s, { exitCode: check.exitCode, stdout: check.stdout })) {
        reports.push({ command: renderCommand(s.argv), description: `${s.description} (already in place: \`${renderCommand(s.skipIf)}\` succeeded)`, exitCode: check.exitCode, ok: true, skipped: true });
        o.onProgress?.(`skip  ${renderCommand(s.argv)} (already in place)`);
        continue;
      }
    }
    o.onProgress?.(`run   ${renderCommand(s.argv)}${s.stdoutTo ? ` > ${s.stdoutTo}` : ''}`);
    const r = await run(runner, s.argv, s.privileged, o);
    const ok = stepSucceeded(s, r.exitCode);
    reports.push({ command: renderCommand(s.argv), description: s.description, exitCode: r.exitCode, ok, stdout: tail(r.stdout), stderr: tail(r.stderr) });
    if (!ok) return false;
    if (s.stdoutTo) {
      const before = await readRemoteFile(runner, s.stdoutTo, o);
      const existed = before !== undefined;
      if (before === r.stdout) {
        // A read-only listing (iptables-save) whose file already says the same: nothing changes.
        reports[reports.length - 1] = { ...(reports[reports.length - 1] as StepReport), description: `${s.description} (${s.stdoutTo} already up to date)`, skipped: true };
        o.onProgress?.(`skip  writing ${s.stdoutTo} (already up to date)`);
        continue;
      }
      const writtenSha = await writeRemoteFile(runner, s.stdoutTo, r.stdout, 'any', backupRoot, 0o644, o);
      files.push({ path: s.stdoutTo, existed, ...(existed ? { backup: backupRoot + s.stdoutTo } : {}), writtenSha });
    }
  }
  return true;
}

function tail(s: string, max = 4000): string {
  return s.length > max ? `…${s.slice(-max)}` : s;
}

/** Runs read-backs (a fix's `verify`) and reports what each observed. */
export async function verifyAll(runner: CommandRunner, verify: readonly Verification[], o: ApplyOptions = {}): Promise<VerifyReport[]> {
  const out: VerifyReport[] = [];
  for (const v of verify) {
    const r = await run(runner, v.argv, v.privileged, o);
    const outcome = checkVerification(v, { exitCode: r.exitCode, stdout: r.stdout });
    out.push({ description: v.description, command: renderCommand(v.argv), ok: outcome.ok, observed: outcome.observed || r.stderr.trim() });
    o.onProgress?.(`${outcome.ok ? 'ok   ' : 'FAIL '} ${v.description}: ${outcome.observed}`);
  }
  return out;
}

async function saveRecord(runner: CommandRunner, record: ChangeRecord, o: ApplyOptions): Promise<void> {
  await writeRemoteFile(runner, `${CHANGES_DIR}/${record.id}.json`, `${JSON.stringify(record, null, 2)}\n`, 'any', '-', 0o600, o);
}

/** Applies a fix. Throws ApplyError (with the record when something already changed). */
export async function applyFix(runner: CommandRunner, fix: Fix, o: ApplyOptions = {}): Promise<ChangeRecord> {
  if (fix.destructive) {
    if (!o.confirm || !(await o.confirm(fix))) throw new ApplyError(`not confirmed: ${fix.confirmation ?? fix.title} — nothing was changed`);
  }
  const now = (o.now ?? (() => new Date()))();
  const id = newId(now);
  const backupRoot = `${BACKUP_DIR}/${id}`;
  const files: FileReport[] = [];
  const steps: StepReport[] = [];
  const record = (ok: boolean, verification: VerifyReport[]): ChangeRecord => ({
    id, host: o.host ?? runner.description, fixId: fix.id, title: fix.title, appliedAt: now.toISOString(),
    files, steps, verification, rollback: fix.rollback, ok,
  });

  // Refuse before touching anything when a file changed since the fix was computed.
  for (const e of fix.fileEdits) {
    const current = await readRemoteFile(runner, e.path, o);
    if (current !== e.before) {
      throw new ApplyError(`${e.path} changed since it was read (${current === undefined ? 'it no longer exists' : 'its content differs'}): refresh and preview the fix again — nothing was changed`);
    }
  }
  try {
    for (const e of fix.fileEdits) await writeEdit(runner, e, backupRoot, files, o);
    for (const s of fix.runtime) {
      if (!(await runStep(runner, s, o, steps, backupRoot, files))) {
        const rec = record(false, []);
        await saveRecord(runner, rec, o);
        const last = steps[steps.length - 1];
        throw new ApplyError(`step failed: ${last?.command ?? ''} (exit ${last?.exitCode ?? '?'}): ${last?.stderr?.trim() ?? ''} — roll back with the change id ${id}`, rec);
      }
    }
    const verification = await verifyAll(runner, fix.verify, o);
    const ok = verification.every((v) => v.ok);
    const rec = record(ok, verification);
    const ran = steps.filter((r) => !r.skipped && !r.readOnly);
    if (ok && files.length === 0 && ran.length === 0 && steps.length > 0) {
      o.onProgress?.('already in place: nothing changed, nothing recorded');
      return { ...rec, unchanged: true };
    }
    await saveRecord(runner, rec, o);
    if (!ok) {
      const bad = verification.filter((v) => !v.ok).map((v) => `${v.description}: got "${v.observed}"`).join('; ');
      throw new ApplyError(`read-back failed: ${bad} — the change is recorded as ${id}; roll back or investigate`, rec);
    }
    return rec;
  } catch (err) {
    if (err instanceof ApplyError) throw err;
    const rec = record(false, []);
    if (files.length > 0 || steps.length > 0) await saveRecord(runner, rec, o).catch(() => undefined);
    throw new ApplyError(`${errorMessage(err)}${files.length > 0 || steps.length > 0 ? ` — partial change recorded as ${id}` : ''}`, rec);
  }
}

async function writeEdit(runner: CommandRunner, e: FileEdit, backupRoot: string, files: FileReport[], o: ApplyOptions): Promise<void> {
  if (e.before === e.after) {
    o.onProgress?.(`skip  writing ${e.path} (already up to date)`);
    return;
  }
  o.onProgress?.(`write ${e.path}`);
  const expect = e.before === undefined ? '-' : sha256(e.before);
  const writtenSha = await writeRemoteFile(runner, e.path, e.after, expect, backupRoot, e.createMode ?? 0o644, o);
  files.push({ path: e.path, existed: e.before !== undefined, ...(e.before !== undefined ? { backup: backupRoot + e.path } : {}), writtenSha });
}

/** The recorded changes on the host, newest first. */
export async function listChanges(runner: CommandRunner, o: ApplyOptions = {}): Promise<ChangeRecord[]> {
  const r = await run(runner, ['sh', '-c', 'for f in "$1"/*.json; do [ -f "$f" ] && { cat -- "$f"; printf "\\n\\036\\n"; }; done; exit 0', 'conntrack-doctor-list', CHANGES_DIR], true, o);
  if (r.exitCode !== 0) throw new ApplyError(`cannot read ${CHANGES_DIR}: ${r.stderr.trim()}`);
  const out: ChangeRecord[] = [];
  for (const chunk of r.stdout.split('\n\u001e\n')) {
    if (!chunk.trim()) continue;
    try {
      out.push(JSON.parse(chunk) as ChangeRecord);
    } catch {
      // a record we cannot read is skipped, never guessed at
    }
  }
  // Newest first by appliedAt (milliseconds): ids carry whole seconds only, so two changes made
  // within one second would otherwise be ordered by their random suffix.
  return out.sort((a, b) => (a.appliedAt !== b.appliedAt ? (a.appliedAt < b.appliedAt ? 1 : -1) : a.id < b.id ? 1 : -1));
}

export interface RollbackReport {
  readonly record: ChangeRecord;
  readonly restored: readonly string[];
  readonly steps: readonly StepReport[];
  readonly verification: readonly VerifyReport[];
}

/** Rolls back the newest change not yet rolled back (or the given id): files from backups, then the runtime steps. */
export async function rollbackLast(runner: CommandRunner, o: ApplyOptions & { id?: string } = {}): Promise<RollbackReport> {
  const changes = await listChanges(runner, o);
  const record = o.id ? changes.find((c) => c.id === o.id) : changes.find((c) => c.rolledBackAt === undefined);
  if (!record) throw new ApplyError(o.id ? `no change ${o.id} on this host` : 'nothing to roll back on this host');
  if (record.rolledBackAt) throw new ApplyError(`change ${record.id} was already rolled back at ${record.rolledBackAt}`);
  const restored: string[] = [];
  for (const f of [...record.files].reverse()) {
    if (f.existed && f.backup) {
      const content = await readRemoteFile(runner, f.backup, o);
      if (content === undefined) throw new ApplyError(`backup ${f.backup} is missing: ${f.path} not restored`);
      o.onProgress?.(`restore ${f.path} from ${f.backup}`);
      await writeRemoteFile(runner, f.path, content, f.writtenSha, '-', 0o644, o);
    } else {
      o.onProgress?.(`remove ${f.path} (created by the change)`);
      const r = await run(runner, ['sh', '-c', REMOVE_SCRIPT, 'conntrack-doctor-remove', f.path, f.writtenSha], true, o);
      if (r.exitCode !== 0) throw new ApplyError(r.stderr.trim() || `removing ${f.path} failed`);
    }
    restored.push(f.path);
  }
  const steps: StepReport[] = [];
  for (const s of record.rollback) {
    if (!(await runStep(runner, s, o, steps, '-', []))) {
      const last = steps[steps.length - 1];
      throw new ApplyError(`rollback step failed: ${last?.command ?? ''} (exit ${last?.exitCode ?? '?'}): ${last?.stderr?.trim() ?? ''}`);
    }
  }
  // Read back what the rollback set (sysctl -w key=value → sysctl -n key).
  const verify: Verification[] = record.rollback.flatMap((s) => {
    const w = sysctlWriteOf(s);
    return w ? [{ description: `${w.key} is back to ${w.value}`, argv: ['sysctl', '-n', w.key], privileged: false, expect: { kind: 'equals', value: w.value } } satisfies Verification] : [];
  });
  const verification = await verifyAll(runner, verify, o);
  const done: ChangeRecord = { ...record, rolledBackAt: (o.now ?? (() => new Date()))().toISOString() };
  await saveRecord(runner, done, o);
  if (!verification.every((v) => v.ok)) throw new ApplyError(`rollback read-back failed: ${verification.filter((v) => !v.ok).map((v) => `${v.description}: got "${v.observed}"`).join('; ')}`);
  return { record: done, restored, steps, verification };
}
