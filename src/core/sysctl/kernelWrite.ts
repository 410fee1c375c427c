/**
 * What the kernel does with one line's value: whether the write is accepted and which value
 * it applies. Integer keys are read number by number (values.ts kernelReadInts); string keys
 * store the text as written, inline "comments" included (kernel/sysctl.c _proc_do_string).
 * Keys of unknown shape are assumed to take the text as it is.
 */
import { CATALOG, canonicalKey } from './catalog';
import { lookupSysctl, type ValueKind } from './keyCatalog';
import { kernelReadInts } from './values';

export interface ValueShape {
  readonly kind: ValueKind;
  /** Numbers one write takes (integer keys). */
  readonly count: number;
  /** Accepted range, where the catalogue knows it (conntrack keys). */
  readonly range?: { readonly min: number; readonly max: number };
}

/** Shapes by key: every line of every loader's precedence asks, so a large file asks thousands of times. */
const shapes = new Map<string, ValueShape | null>();
/** Bound on the memo (distinct keys seen); past it the memo starts over. */
const SHAPE_MEMO_MAX = 20_000;

export function valueShape(key: string): ValueShape | undefined {
  const memo = shapes.get(key);
  if (memo !== undefined) return memo ?? undefined;
  const canon = canonicalKey(key);
  const conntrack = CATALOG.get(canon);
  const known = conntrack ? undefined : lookupSysctl(canon);
  const shape = conntrack ? { kind: 'int' as const, count: 1, range: { min: conntrack.min, max: conntrack.max } } : known ? { kind: known.kind, count: known.count } : undefined;
  if (shapes.size >= SHAPE_MEMO_MAX) shapes.clear();
  shapes.set(key, shape ?? null);
  return shape;
}

export type KernelWrite =
  | { readonly accepted: true; /** The value as the kernel holds it afterwards (numbers in decimal, space-separated). */ readonly applied: string; /** Text the kernel never read. */ readonly ignored: string }
  | { readonly accepted: false };

export function kernelWrite(key: string, text: string): KernelWrite {
  const shape = valueShape(key);
  if (shape?.kind !== 'int') return { accepted: true, applied: text.trim(), ignored: '' };
  const read = kernelReadInts(text, shape.count);
  if (!read.ok) return { accepted: false };
  const range = shape.range;
  if (range && read.values.some((v) => v.value < range.min || v.value > range.max)) return { accepted: false };
  return { accepted: true, applied: read.values.map((v) => String(v.value)).join(' '), ignored: read.ignored };
}

const PLAIN_DECIMAL = /^[1-9]\d{0,14}$|^0$/;

/** Only whether the kernel accepts the value (precedence asks this of every line, per loader). */
export function writeAccepted(key: string, text: string): boolean {
  const shape = valueShape(key);
  if (shape?.kind !== 'int') return true;
  // Most lines hold one plain decimal: accepted unless a range says otherwise (no parse needed).
  if (!shape.range && PLAIN_DECIMAL.test(text)) return true;
  const read = kernelReadInts(text, shape.count);
  if (!read.ok) return false;
  const range = shape.range;
  return !range || read.values.every((v) => v.value >= range.min && v.value <= range.max);
}

/** Whitespace-normalised form of a value as /proc/sys prints it (tabs between numbers). */
export function normalizeLiveValue(value: string): string {
  return value.trim().split(/\s+/).join(' ');
}
