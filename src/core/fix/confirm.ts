/**
 * How a person confirms a fix, the same in the extension and the CLI. A destructive fix is never
 * one keystroke away (Enter is how people dismiss a dialog): a flush, or a delete of more than
 * a few entries, works only once the host's name is typed, as consoles that delete databases
 * ask; a smaller delete is a question whose default answer is No. Other fixes are a plain
 * question (they are previewed and can be rolled back).
 */
import type { Fix } from './model';

/** A delete of more entries than this asks for the host's name; a flush always does (it drops whatever is there when it runs). */
export const TYPED_CONFIRMATION_ABOVE = 10;

export type Confirmation =
  /** Type `host` exactly; anything else (an empty Enter included) does nothing. */
  | { readonly kind: 'type-host'; readonly host: string; readonly question: string; readonly prompt: string }
  /** Destructive but small: the safe answer is the default. */
  | { readonly kind: 'default-no'; readonly question: string; readonly action: string }
  | { readonly kind: 'yes-no'; readonly question: string };

export function confirmationFor(fix: Fix, host: string): Confirmation {
  if (!fix.destructive) return { kind: 'yes-no', question: `${fix.title} on ${host}?` };
  const question = fix.confirmation ?? `${fix.title} on ${host}?`;
  const typed = fix.id === 'flush-table' || fix.affectedEntries === undefined || fix.affectedEntries > TYPED_CONFIRMATION_ABOVE;
  if (typed) return { kind: 'type-host', host, question, prompt: `Type ${host} to confirm` };
  const n = fix.affectedEntries ?? 0;
  return { kind: 'default-no', question, action: `Delete ${n} ${n === 1 ? 'entry' : 'entries'} on ${host}` };
}

/** Whether what was typed confirms a type-host confirmation: the name exactly (surrounding spaces aside). */
export function typedConfirms(c: Confirmation, typed: string | undefined): boolean {
  return c.kind === 'type-host' && typed !== undefined && typed.trim() === c.host;
}
