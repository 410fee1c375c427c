/**
 * Applying a fix on a host: the one path every remote change takes.
 *   preview (pure, core/fix/preview.ts) → confirm (destructive fixes) → record the change ahead
 *   (changeRecord.ts: "in-progress", what will be written and where the backups go) → write
 *   files atomically with a backup, refusing a file that changed since it was read → run the
 *   runtime steps → verify by reading back, updating the record after every step.
 * Faults: a Cancel takes effect between steps, never inside one; the record is saved with its
 * own deadline (not the cancelled signal); "recorded" is said only when it was. A rollback is
 * idempotent and resumable: a file already back to its original is left alone.
 * Every command goes through the CommandRunner (quoting, timeout, cancellation, log).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CommandStep, Fix, Verification } from '../core/fix/model';
import { alreadyUndone, checkVerification, expandHandleStep, shouldSkip, stepSucceeded, sysctlWriteOf } from '../core/fix/steps';
import { renderCommand } from '../core/fix/quote';
import { conntrackSummaryLine } from '../core/kernel/conntrackCommands';
import type { CommandRunner, RunResult } from './runner';
import { errorMessage } from '../core/format';
import { isIoError } from './errors';
import { BACKUP_DIR, CHANGES_DIR, parseChangeRecord, RECORD_VERSION, type ChangeRecord, type FileReport, type StepReport, type VerifyReport } from './changeRecord';

export { BACKUP_DIR, CHANGES_DIR, STATE_DIR } from './changeRecord';
export type { ChangeRecord, FileReport, StepReport, VerifyReport } from './changeRecord';

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

/** Prints the sha256 of $1, or nothing when it does not exist. */
const SHA_SCRIPT = 'if [ -e "$1" ]; then sha256sum -- "$1" | cut -d" " -f1; fi';

/** A record is saved with its own deadline: a step's timeout or a Cancel must not keep what already happened from being recorded. */
const RECORD_TIMEOUT_MS = 30_000;

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
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
  /** Cancel: before the first change it stops everything; afterwards it takes effect between steps. */
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

async function run(runner: CommandRunner, argv: readonly string[], privileged: boolean, o: ApplyOptions, stdin?: string | Buffer): Promise<RunResult> {
  return runner.run(argv, {
    privileged,
    timeoutMs: o.timeoutMs ?? 60_000,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(stdin !== undefined ? { stdin } : {}),
  });
}

/** Reads a file on the host (privileged): content, or undefined when it does not exist. */
export async function readRemoteFile(runner: CommandRunner, path: string, o: ApplyOptions = {}): Promise<string | undefined> {
  const bytes = await readRemoteBytes(runner, path, o);
  if (bytes === undefined) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ApplyError(`${path} is not UTF-8 text (${bytes.length} bytes): Conntrack Doctor edits only UTF-8 files — nothing was changed`);
  }
}

/**
 * The file's bytes (base64 on the wire: the runner's output is text, and a file in another
 * encoding must come back unchanged — backups are restored from these bytes).
 */
export async function readRemoteBytes(runner: CommandRunner, path: string, o: ApplyOptions = {}): Promise<Buffer | undefined> {
  const r = await run(runner, ['sh', '-c', 'if [ -e "$1" ]; then base64 -- "$1"; else exit 44; fi', 'conntrack-doctor-read', path], true, o);
  if (r.exitCode === 44) return undefined;
  if (r.exitCode !== 0) throw new ApplyError(`cannot read ${path}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return Buffer.from(r.stdout, 'base64');
}

async function remoteSha(runner: CommandRunner, path: string, o: ApplyOptions): Promise<string | undefined> {
  const r = await run(runner, ['sh', '-c', SHA_SCRIPT, 'conntrack-doctor-sha', path], true, o);
  if (r.exitCode !== 0) throw new ApplyError(`cannot read ${path}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout.trim() || undefined;
}

/** Writes content atomically; `expect` is the sha256 the current file must have ('-': must not exist; 'any'). */
export async function writeRemoteFile(
  runner: CommandRunner, path: string, content: string | Buffer, expect: string, backupRoot: string, createMode: number, o: ApplyOptions,
): Promise<string> {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const argv = ['sh', '-c', WRITE_SCRIPT, 'conntrack-doctor-write', path, backupRoot, expect, createMode.toString(8), String(bytes.length), sha256(bytes)];
  const r = await run(runner, argv, true, o, bytes);
  if (r.exitCode === 3 || r.exitCode === 4 || r.exitCode === 5) throw new ApplyError(r.stderr.trim());
  if (r.exitCode !== 0) throw new ApplyError(`writing ${path} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  const written = r.stdout.trim();
  if (written !== sha256(bytes)) throw new ApplyError(`read-back of ${path} does not match what was written (sha256 ${written})`);
  return written;
}

/** The options for commands once writing has started: a Cancel is looked at between steps, never inside one. */
function withoutSignal(o: ApplyOptions): ApplyOptions {
  const { signal: _cancel, ...rest } = o;
  return rest;
}

/** Thrown between steps when the user cancelled after writing started. */
class Cancelled extends Error {}

/** What runStep needs besides the step: options for commands, the record's hooks. */
interface StepContext {
  readonly o: ApplyOptions;
  readonly reports: StepReport[];
  readonly backupRoot: string;
  readonly files: FileReport[];
  /** saves the record (after each command, before each file write) */
  readonly persist: () => Promise<void>;
  /** throws Cancelled when a Cancel arrived (between commands) */
  readonly between: () => void;
}

async function runStep(runner: CommandRunner, step: CommandStep, c: StepContext): Promise<boolean> {
  const { o, reports } = c;
  let steps: CommandStep[] = [step];
  if (step.handleFrom) {
    const listing = await run(runner, step.handleFrom.argv, step.privileged, o);
    reports.push({ command: renderCommand(step.handleFrom.argv), description: 'find the rule handle', exitCode: listing.exitCode, ok: listing.exitCode === 0, readOnly: true });
    steps = listing.exitCode === 0 ? expandHandleStep(step, listing.stdout) : [];
  }
  for (const s of steps) {
    c.between();
    if (s.skipIf) {
      const check = await run(runner, s.skipIf, s.privileged, o);
      if (shouldSkip(s, { exitCode: check.exitCode, stdout: check.stdout })) {
        reports.push({ command: renderCommand(s.argv), description: `${s.description} (already in place: \`${renderCommand(s.skipIf)}\` succeeded)`, exitCode: check.exitCode, ok: true, skipped: true });
        o.onProgress?.(`skip  ${renderCommand(s.argv)} (already in place)`);
        continue;
      }
    }
    if (s.skipUnless) {
      const check = await run(runner, s.skipUnless, s.privileged, o);
      if (alreadyUndone(s, { exitCode: check.exitCode, stdout: check.stdout })) {
        reports.push({ command: renderCommand(s.argv), description: `${s.description} (already done: \`${renderCommand(s.skipUnless)}\` finds nothing)`, exitCode: check.exitCode, ok: true, skipped: true });
        o.onProgress?.(`skip  ${renderCommand(s.argv)} (already done)`);
        continue;
      }
    }
    o.onProgress?.(`run   ${renderCommand(s.argv)}${s.stdoutTo ? ` > ${s.stdoutTo}` : ''}`);
    const r = await run(runner, s.argv, s.privileged, o);
    const ok = stepSucceeded(s, r.exitCode);
    // e.g. `250000 flow entries have been deleted.` (the listing itself stays on the host)
    const summary = conntrackSummaryLine(r.stderr);
    if (summary !== undefined) o.onProgress?.(`      ${summary}`);
    reports.push({ command: renderCommand(s.argv), description: s.description, exitCode: r.exitCode, ok, stdout: tail(r.stdout), stderr: tail(r.stderr) });
    await c.persist();
    if (!ok) return false;
    if (s.stdoutTo) {
      c.between();
      const before = await readRemoteBytes(runner, s.stdoutTo, o);
      const existed = before !== undefined;
      if (before?.equals(Buffer.from(r.stdout, 'utf8')) === true) {
        // A read-only listing (iptables-save) whose file already says the same: nothing changes.
        reports[reports.length - 1] = { ...(reports[reports.length - 1] as StepReport), description: `${s.description} (${s.stdoutTo} already up to date)`, skipped: true };
        o.onProgress?.(`skip  writing ${s.stdoutTo} (already up to date)`);
        continue;
      }
      // Write-ahead: the file is in the record (not yet confirmed) before its write starts.
      const planned: FileReport = { path: s.stdoutTo, existed, ...(existed ? { backup: c.backupRoot + s.stdoutTo, beforeSha: sha256(before) } : {}), writtenSha: sha256(r.stdout), written: false };
      c.files.push(planned);
      await c.persist();
      await writeRemoteFile(runner, s.stdoutTo, r.stdout, 'any', c.backupRoot, 0o644, o);
      c.files[c.files.indexOf(planned)] = { ...planned, written: true };
      await c.persist();
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

function recordPath(id: string): string {
  return `${CHANGES_DIR}/${id}.json`;
}

async function saveRecord(runner: CommandRunner, record: ChangeRecord): Promise<void> {
  await writeRemoteFile(runner, recordPath(record.id), `${JSON.stringify(record, null, 2)}\n`, 'any', '-', 0o600, { timeoutMs: RECORD_TIMEOUT_MS });
}

/** Applies a fix. Throws ApplyError (with the record when something may have changed). */
export async function applyFix(runner: CommandRunner, fix: Fix, o: ApplyOptions = {}): Promise<ChangeRecord> {
  if (fix.destructive) {
    if (!o.confirm || !(await o.confirm(fix))) throw new ApplyError(`not confirmed: ${fix.confirmation ?? fix.title} — nothing was changed`);
  }
  const now = (o.now ?? (() => new Date()))();
  const id = newId(now);
  const backupRoot = `${BACKUP_DIR}/${id}`;

  // Refuse before touching anything when a file changed since the fix was computed.
  for (const e of fix.fileEdits) {
    const current = await readRemoteFile(runner, e.path, o).catch((err: unknown) => {
      throw isIoError(err) && err.kind === 'command-aborted' ? new ApplyError('cancelled — nothing was changed') : err;
    });
    if (current !== e.before) {
      throw new ApplyError(`${e.path} changed since it was read (${current === undefined ? 'it no longer exists' : 'its content differs'}): refresh and preview the fix again — nothing was changed`);
    }
  }
  const edits = fix.fileEdits.filter((e) => {
    if (e.before !== e.after) return true;
    o.onProgress?.(`skip  writing ${e.path} (already up to date)`);
    return false;
  });
  const files: FileReport[] = edits.map((e) => ({
    path: e.path,
    existed: e.before !== undefined,
    ...(e.before !== undefined ? { backup: backupRoot + e.path, beforeSha: sha256(e.before) } : {}),
    writtenSha: sha256(e.after),
    written: false,
  }));
  const steps: StepReport[] = [];
  let record: ChangeRecord = {
    version: RECORD_VERSION, id, host: o.host ?? runner.description, fixId: fix.id, title: fix.title, appliedAt: now.toISOString(),
    state: 'in-progress',
    planned: { files: edits.map((e) => e.path), steps: fix.runtime.map((s) => renderCommand(s.argv)) },
    files, steps, verification: [], rollback: fix.rollback, ok: false,
  };
  const snapshot = (patch: Partial<ChangeRecord> = {}): ChangeRecord => ({ ...record, files: [...files], steps: [...steps], ...patch });
  let saveError: unknown;
  const persist = async (patch: Partial<ChangeRecord> = {}): Promise<void> => {
    record = snapshot(patch);
    try {
      await saveRecord(runner, record);
      saveError = undefined;
    } catch (err) {
      saveError = err;
      throw err;
    }
  };

  if (o.signal?.aborted === true) throw new ApplyError(`cancelled — nothing was changed`);
  try {
    await persist();
  } catch (err) {
    throw new ApplyError(`cannot record the change on the host before making it (${errorMessage(err)}) — nothing was changed`);
  }
  // From here on the commands run without the Cancel signal: it is looked at between steps.
  const inStep = withoutSignal(o);
  const between = (): void => {
    if (o.signal?.aborted === true) throw new Cancelled('cancelled');
  };
  try {
    for (const [i, e] of edits.entries()) {
      between();
      o.onProgress?.(`write ${e.path}`);
      const expect = e.before === undefined ? '-' : sha256(e.before);
      await writeRemoteFile(runner, e.path, e.after, expect, backupRoot, e.createMode ?? 0o644, inStep);
      files[i] = { ...(files[i] as FileReport), written: true };
      await persist();
    }
    const ctx: StepContext = { o: inStep, reports: steps, backupRoot, files, persist: () => persist(), between };
    for (const s of fix.runtime) {
      between();
      if (!(await runStep(runner, s, ctx))) {
        const last = steps[steps.length - 1];
        const why = `step failed: ${last?.command ?? ''} (exit ${last?.exitCode ?? '?'}): ${last?.stderr?.trim() ?? ''}`;
        await persist({ state: 'failed', error: why });
        throw new ApplyError(`${why} — recorded as ${id}; roll it back with the change id ${id}`, record);
      }
    }
    between();
    const verification = await verifyAll(runner, fix.verify, inStep);
    const ok = verification.every((v) => v.ok);
    const ran = steps.filter((r) => !r.skipped && !r.readOnly);
    if (ok && files.length === 0 && ran.length === 0 && steps.length > 0) {
      // Nothing changed: the record written ahead goes, so that "roll back" undoes the change that really did it.
      o.onProgress?.('already in place: nothing changed, nothing recorded');
      const unchanged = snapshot({ verification, ok: true, state: 'unchanged', unchanged: true });
      const rm = await runner.run(['rm', '-f', '--', recordPath(id)], { privileged: true, timeoutMs: RECORD_TIMEOUT_MS }).catch(() => undefined);
      if (rm?.exitCode !== 0) await saveRecord(runner, unchanged).catch(() => undefined);
      return unchanged;
    }
    if (!ok) {
      const bad = verification.filter((v) => !v.ok).map((v) => `${v.description}: got "${v.observed}"`).join('; ');
      await persist({ verification, ok: false, state: 'failed', error: `read-back failed: ${bad}` });
      throw new ApplyError(`read-back failed: ${bad} — the change is recorded as ${id}; roll back or investigate`, record);
    }
    await persist({ verification, ok: true, state: 'applied' });
    return record;
  } catch (err) {
    if (err instanceof ApplyError) throw err;
    const cancelled = err instanceof Cancelled;
    const why = cancelled ? 'cancelled between steps' : errorMessage(err);
    const failedRecord = snapshot({ ok: false, state: 'failed', error: why });
    // What happened is recorded unless the record itself is what failed (then the one saved before stands).
    let recorded: string;
    if (saveError !== undefined) {
      recorded = `the change record ${id} could not be updated (${errorMessage(saveError)}): the host has it as "in progress" from before the last step; roll it back with the change id ${id}`;
    } else {
      try {
        await saveRecord(runner, failedRecord);
        recorded = `what was done is recorded as ${id}; roll it back with the change id ${id}`;
      } catch (saveErr) {
        recorded = `the change record ${id} could not be updated (${errorMessage(saveErr)}): the host has it as "in progress" from before the last step; roll it back with the change id ${id}`;
      }
    }
    throw new ApplyError(`${cancelled ? 'cancelled' : why} — ${recorded}`, failedRecord);
  }
}

export interface ChangeListing {
  readonly records: ChangeRecord[];
  /** records on the host that cannot be used (not JSON, or not a valid record): file and why */
  readonly invalid: readonly { readonly file: string; readonly error: string }[];
}

/** The recorded changes on the host, newest first, each validated (changeRecord.ts). */
export async function listChangeRecords(runner: CommandRunner, o: ApplyOptions = {}): Promise<ChangeListing> {
  const r = await run(runner, ['sh', '-c', 'for f in "$1"/*.json; do [ -f "$f" ] && { printf "%s\\n" "$f"; cat -- "$f"; printf "\\n\\036\\n"; }; done; exit 0', 'conntrack-doctor-list', CHANGES_DIR], true, o);
  if (r.exitCode !== 0) throw new ApplyError(`cannot read ${CHANGES_DIR}: ${r.stderr.trim()}`);
  const records: ChangeRecord[] = [];
  const invalid: { file: string; error: string }[] = [];
  for (const chunk of r.stdout.split('\n\u001e\n')) {
    if (!chunk.trim()) continue;
    const nl = chunk.indexOf('\n');
    const file = chunk.slice(0, nl);
    const parsed = parseChangeRecord(chunk.slice(nl + 1));
    if ('record' in parsed) records.push(parsed.record);
    else invalid.push({ file, error: parsed.error });
  }
  // Newest first by appliedAt (milliseconds): ids carry whole seconds only, so two changes made
  // within one second would otherwise be ordered by their random suffix.
  records.sort((a, b) => (a.appliedAt !== b.appliedAt ? (a.appliedAt < b.appliedAt ? 1 : -1) : a.id < b.id ? 1 : -1));
  return { records, invalid };
}

/** The recorded changes on the host, newest first (invalid records left out: listChangeRecords says which). */
export async function listChanges(runner: CommandRunner, o: ApplyOptions = {}): Promise<ChangeRecord[]> {
  return (await listChangeRecords(runner, o)).records;
}

export interface RollbackReport {
  readonly record: ChangeRecord;
  readonly restored: readonly string[];
  readonly steps: readonly StepReport[];
  readonly verification: readonly VerifyReport[];
}

/** Puts one file of a record back: idempotent (a file already as before is left alone). Returns whether it acted. */
async function restoreFile(runner: CommandRunner, f: FileReport, o: ApplyOptions): Promise<boolean> {
  const current = await remoteSha(runner, f.path, o);
  if (f.existed) {
    const backup = f.backup === undefined ? undefined : await readRemoteBytes(runner, f.backup, o);
    const beforeSha = f.beforeSha ?? (backup === undefined ? undefined : sha256(backup));
    if (current !== undefined && current === beforeSha) {
      o.onProgress?.(`ok    ${f.path} is already as before the change`);
      return false;
    }
    if (current !== f.writtenSha) {
      throw new ApplyError(`${f.path} changed since the change wrote it (sha256 now ${current ?? 'absent'}): not restored — look at it, then restore ${f.backup ?? 'it'} by hand`);
    }
    if (backup === undefined) throw new ApplyError(`backup ${f.backup ?? '(none)'} is missing: ${f.path} not restored`);
    if (f.beforeSha !== undefined && sha256(backup) !== f.beforeSha) throw new ApplyError(`backup ${f.backup ?? ''} is not what ${f.path} was (sha256 differs): not restored`);
    o.onProgress?.(`restore ${f.path} from ${f.backup ?? ''}`);
    await writeRemoteFile(runner, f.path, backup, f.writtenSha, '-', 0o644, o);
    return true;
  }
  if (current === undefined) {
    o.onProgress?.(`ok    ${f.path} does not exist (as before the change)`);
    return false;
  }
  o.onProgress?.(`remove ${f.path} (created by the change)`);
  const r = await run(runner, ['sh', '-c', REMOVE_SCRIPT, 'conntrack-doctor-remove', f.path, f.writtenSha], true, o);
  if (r.exitCode !== 0) throw new ApplyError(r.stderr.trim() || `removing ${f.path} failed`);
  return true;
}

/**
 * The record `rollbackLast` with the same options would roll back (read only: for the preview
 * shown before the rollback is confirmed; pass its id on to rollbackLast).
 */
export async function rollbackTarget(runner: CommandRunner, o: ApplyOptions & { id?: string } = {}): Promise<ChangeRecord> {
  const { records, invalid } = await listChangeRecords(runner, o);
  const candidates = records.filter((c) => c.state !== 'unchanged' && c.unchanged !== true);
  const record = o.id ? records.find((c) => c.id === o.id) : candidates.find((c) => c.rolledBackAt === undefined);
  if (!record) {
    const bad = invalid.find((i) => o.id === undefined || i.file.endsWith(`/${o.id}.json`));
    if (bad) throw new ApplyError(`change record ${bad.file} cannot be used (${bad.error}): not rolled back`);
    throw new ApplyError(o.id ? `no change ${o.id} on this host` : 'nothing to roll back on this host');
  }
  if (record.rolledBackAt) throw new ApplyError(`change ${record.id} was already rolled back at ${record.rolledBackAt}`);
  return record;
}

/**
 * Rolls back the newest change not yet rolled back (or the given id) — including one still "in
 * progress" because its client was cut off: files from backups (idempotent), then the runtime
 * steps not yet run by an earlier, interrupted rollback. Resumable after any interruption.
 */
export async function rollbackLast(runner: CommandRunner, o: ApplyOptions & { id?: string } = {}): Promise<RollbackReport> {
  let record = await rollbackTarget(runner, o);
  const nowIso = (): string => (o.now ?? (() => new Date()))().toISOString();
  const inStep = withoutSignal(o);
  const between = (): void => {
    if (o.signal?.aborted === true) throw new ApplyError(`rollback of ${record?.id ?? ''} cancelled between steps: run the rollback again to finish it`);
  };
  record = { ...record, rollbackStartedAt: record.rollbackStartedAt ?? nowIso(), rollbackStepsDone: record.rollbackStepsDone ?? 0 };
  await saveRecord(runner, record);
  const restored: string[] = [];
  for (const f of [...record.files].reverse()) {
    between();
    if (await restoreFile(runner, f, inStep)) restored.push(f.path);
  }
  const steps: StepReport[] = [];
  let done = record.rollbackStepsDone ?? 0;
  const ctx: StepContext = { o: inStep, reports: steps, backupRoot: '-', files: [], persist: () => Promise.resolve(), between };
  for (const [i, s] of record.rollback.entries()) {
    if (i < done) {
      o.onProgress?.(`skip  ${renderCommand(s.argv)} (done by an earlier rollback)`);
      continue;
    }
    between();
    if (!(await runStep(runner, s, ctx))) {
      const last = steps[steps.length - 1];
      throw new ApplyError(`rollback step failed: ${last?.command ?? ''} (exit ${last?.exitCode ?? '?'}): ${last?.stderr?.trim() ?? ''}`);
    }
    done = i + 1;
    record = { ...record, rollbackStepsDone: done };
    await saveRecord(runner, record);
  }
  // Read back what the rollback set (sysctl -w key=value → sysctl -n key).
  const verify: Verification[] = record.rollback.flatMap((s) => {
    const w = sysctlWriteOf(s);
    return w ? [{ description: `${w.key} is back to ${w.value}`, argv: ['sysctl', '-n', w.key], privileged: false, expect: { kind: 'equals', value: w.value } } satisfies Verification] : [];
  });
  const verification = await verifyAll(runner, verify, inStep);
  const finished: ChangeRecord = { ...record, rolledBackAt: nowIso() };
  await saveRecord(runner, finished);
  if (!verification.every((v) => v.ok)) throw new ApplyError(`rollback read-back failed: ${verification.filter((v) => !v.ok).map((v) => `${v.description}: got "${v.observed}"`).join('; ')}`);
  return { record: finished, restored, steps, verification };
}
