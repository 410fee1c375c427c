/**
 * What a snapshot could not read, as data: a stable reason code (scripts tell "needs root" from
 * "not on this kernel" from "program missing" without parsing prose), what is missing, why, and
 * the way to get it when there is one. docs/findings.md lists the codes (a test keeps them in
 * step), docs/cli.md shows them in `diagnose --json`.
 */
import { z } from 'zod';

export const UNAVAILABLE_CODES = [
  /** only root may read it; the account is not root and could not become root */
  'needs-root',
  /** a program the reading needs is not installed on the host */
  'program-missing',
  /** this kernel does not provide it (built without the option, e.g. CONFIG_NF_CONNTRACK_PROCFS) */
  'not-in-kernel',
  /** connection tracking is not active on the host (nf_conntrack not loaded) */
  'conntrack-inactive',
  /** a file exists but could not be read */
  'unreadable',
  /** a command ran and failed for another reason (its words are in `why`) */
  'failed',
  /** the output stopped before the end (timeout, dropped connection) */
  'cut-off',
] as const;
export type UnavailableCode = (typeof UNAVAILABLE_CODES)[number];

export const unavailableItemSchema = z.strictObject({
  code: z.enum(UNAVAILABLE_CODES),
  what: z.string(),
  why: z.string(),
  /** how to get it (a flag, an action, a package to install), when there is a way */
  remedy: z.string().optional(),
});
export type Unavailable = z.infer<typeof unavailableItemSchema>;

/** How an account that is not root gets the root-only parts (CLI and extension). */
export function rootRemedy(account: string): string {
  return `run diagnose with --sudo on a terminal (it asks for ${account}'s sudo password), give the password when the extension asks for it, or connect as root`;
}
