/**
 * The result shape every parser in this folder returns. A parser never throws on bad input and
 * never turns missing data into zeros: it returns `ok: false` with the reason (and the line).
 */
import { z } from 'zod';

export type ParseErrorKind =
  /** The tool itself reported a failure (e.g. `conntrack v1.4.7 (conntrack-tools): Operation failed: …`). */
  | 'tool-error'
  /** The input is not in the expected format. */
  | 'malformed'
  /** Nothing to parse (empty output). */
  | 'empty'
  /** The thing looked for is not in the output (e.g. no `nf_conntrack` line in slabinfo). */
  | 'not-found';

export interface ParseError {
  readonly kind: ParseErrorKind;
  readonly message: string;
  /** The offending line, when one line is to blame. */
  readonly line?: string;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: ParseError };

export const parseErrorSchema = z.object({
  kind: z.enum(['tool-error', 'malformed', 'empty', 'not-found']),
  message: z.string(),
  line: z.string().optional(),
});

export function success<T>(value: T, warnings: readonly string[] = []): Parsed<T> {
  return { ok: true, value, warnings };
}

export function failure<T = never>(kind: ParseErrorKind, message: string, line?: string): Parsed<T> {
  return { ok: false, error: line === undefined ? { kind, message } : { kind, message, line } };
}

/**
 * Runs a zod schema over a value a parser built, so a parser bug surfaces as a `malformed`
 * result instead of a wrongly-shaped value reaching the diagnosis layer.
 */
export function validated<T>(schema: z.ZodType<T>, value: unknown, warnings: readonly string[] = []): Parsed<T> {
  const checked = schema.safeParse(value);
  if (!checked.success) {
    return failure('malformed', `parsed value failed validation: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return success(checked.data, warnings);
}

/** Splits text into lines, accepting \n and \r\n; a trailing newline does not add an empty line. */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Non-negative decimal integer, or undefined. Rejects '', '1e3', '0x10', '-1', '1.5'. */
export function parseDecimal(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Record keys come from the input: refuse the ones that would reach Object.prototype. */
export function isSafeKey(key: string): boolean {
  return key !== '__proto__' && key !== 'constructor' && key !== 'prototype';
}

const toolMessageRe = /^conntrack v(\S+) \(conntrack-tools\): (.*)$/;

/** A `conntrack v1.4.7 (conntrack-tools): …` line (conntrack writes these to stderr). */
export interface ConntrackToolMessage {
  readonly version: string;
  readonly message: string;
}

export function parseConntrackToolMessage(line: string): ConntrackToolMessage | undefined {
  const m = toolMessageRe.exec(line.trim());
  if (m === null) return undefined;
  return { version: m[1] ?? '', message: (m[2] ?? '').trim() };
}

const flowEntriesRe = /^(\d+) flow entries have been (shown|deleted|updated)\.?$/;

/** `213 flow entries have been shown.` and friends, from a tool message. */
export function parseFlowEntriesMessage(message: string): { readonly count: number; readonly verb: 'shown' | 'deleted' | 'updated' } | undefined {
  const m = flowEntriesRe.exec(message);
  if (m === null) return undefined;
  const count = parseDecimal(m[1] ?? '');
  const verb = m[2];
  if (count === undefined || (verb !== 'shown' && verb !== 'deleted' && verb !== 'updated')) return undefined;
  return { count, verb };
}
