/**
 * The change record: what a fix did on a host, kept there as CHANGES_DIR/<id>.json so that any
 * client can roll it back. Written AHEAD of the change (state "in-progress", the planned files
 * with their backups and shas) and updated after every step, so a fault at any moment leaves a
 * record that says what may have changed (docs/change-records.md).
 *
 * Records are read back from the host and drive root commands on rollback: every record is
 * validated here against the fix model before it is used — paths absolute and normalised,
 * backups where the writer puts them, rollback commands only the programs the fix builders
 * use for rollbacks, no output redirection. A record that fails is never used or guessed at.
 */
import { z } from 'zod';
import type { CommandStep } from '../core/fix/model';

export const STATE_DIR = '/var/lib/conntrack-doctor';
export const CHANGES_DIR = `${STATE_DIR}/changes`;
export const BACKUP_DIR = '/var/backups/conntrack-doctor';
/** The current format; records without `version` were written before write-ahead (format 1). */
export const RECORD_VERSION = 2;

const CHANGE_ID = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$/;
/** Programs the fix builders' rollbacks run (core/fix: sysctlFixes, applyFile, invalidRule). */
const ROLLBACK_PROGRAM = /^(sysctl|nft|ip6?tables(-nft|-legacy)?)$/;

// Control characters never appear in a path or argument the builders produce.
// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const hostPath = z
  .string()
  .regex(/^\//, 'an absolute path')
  .regex(NO_CONTROL, 'no control characters')
  .refine((p) => !p.split('/').some((seg) => seg === '..' || seg === '.'), 'no . or .. segments');
const arg = z.string().max(4096).regex(NO_CONTROL, 'no control characters');

const stepReport = z.object({
  command: z.string(),
  description: z.string(),
  exitCode: z.number().int(),
  ok: z.boolean(),
  skipped: z.boolean().optional(),
  readOnly: z.boolean().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
});

const sha = z.string().regex(/^[0-9a-f]{64}$/);

const fileReport = z.object({
  path: hostPath,
  existed: z.boolean(),
  backup: hostPath.optional(),
  /** sha256 of the file before the change (format 2; format 1: the backup's) */
  beforeSha: sha.optional(),
  /** sha256 of what the fix writes (rollback refuses a file that has neither this nor beforeSha) */
  writtenSha: sha,
  /** format 2: false while the write was started but not confirmed (it may or may not have happened) */
  written: z.boolean().optional(),
});

const rollbackStep = z
  .object({
    argv: z.array(arg).min(1),
    description: z.string(),
    privileged: z.boolean(),
    skipIf: z.array(arg).min(1).optional(),
    okExitCodes: z.array(z.number().int()).optional(),
    skipIfContains: z.string().optional(),
    skipUnless: z.array(arg).min(1).optional(),
    handleFrom: z.object({ argv: z.array(arg).min(1), lineContains: z.string() }).optional(),
  })
  .strict() // no stdoutTo: a rollback never writes a command's output to a file
  .refine((s) => [s.argv, s.handleFrom?.argv, s.skipUnless].every((a) => a === undefined || ROLLBACK_PROGRAM.test(a[0] ?? '')), 'a rollback runs only sysctl, nft or iptables');

const verifyReport = z.object({ description: z.string(), command: z.string(), ok: z.boolean(), observed: z.string() });

export const ChangeRecordSchema = z
  .object({
    version: z.literal(RECORD_VERSION).optional(),
    id: z.string().regex(CHANGE_ID),
    host: z.string(),
    fixId: z.string(),
    title: z.string(),
    appliedAt: z.string(),
    /** format 2: in-progress (being applied, or the client was cut off), applied, failed, unchanged */
    state: z.enum(['in-progress', 'applied', 'failed', 'unchanged']).optional(),
    /** what went wrong (failed), or that it was cancelled */
    error: z.string().optional(),
    /** format 2: what the fix was going to do, written before the first change */
    planned: z.object({ files: z.array(hostPath), steps: z.array(z.string()) }).optional(),
    files: z.array(fileReport),
    steps: z.array(stepReport),
    verification: z.array(verifyReport),
    rollback: z.array(rollbackStep),
    ok: z.boolean(),
    /** a rollback started (files are restored idempotently; steps before rollbackStepsDone are not run again) */
    rollbackStartedAt: z.string().optional(),
    rollbackStepsDone: z.number().int().min(0).optional(),
    rolledBackAt: z.string().optional(),
    unchanged: z.boolean().optional(),
  })
  .superRefine((r, ctx) => {
    for (const f of r.files) {
      if (f.backup !== undefined && f.backup !== `${BACKUP_DIR}/${r.id}${f.path}`) {
        ctx.addIssue({ code: 'custom', message: `backup of ${f.path} must be ${BACKUP_DIR}/${r.id}${f.path}, not ${f.backup}` });
      }
    }
  });

/** A record as the schema reads it, with its rollback typed as the fix model's steps (a parsed
 *  object carries no key set to undefined, so the schema's output is one). */
export type ChangeRecord = Omit<z.infer<typeof ChangeRecordSchema>, 'rollback'> & { readonly rollback: readonly CommandStep[] };
export type FileReport = z.infer<typeof fileReport>;
export type StepReport = z.infer<typeof stepReport>;
export type VerifyReport = z.infer<typeof verifyReport>;

/** Parses a record read from a host: the record, or why it cannot be used. */
export function parseChangeRecord(text: string): { record: ChangeRecord } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const r = ChangeRecordSchema.safeParse(json);
  if (!r.success) return { error: r.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ') };
  return { record: r.data as ChangeRecord };
}
