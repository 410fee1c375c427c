/**
 * How the kernel reads a number written to /proc/sys (proc_get_long → strtoul with base 0):
 * decimal, `0x` hex, and — a classic trap — a leading `0` means octal. Only `-` may precede the
 * digits (kernel/sysctl.c proc_get_long, 6.12 lines 345-387: `if (!isdigit(*p)) return -EINVAL`).
 */

export interface KernelInt {
  readonly value: number;
  readonly form: 'decimal' | 'hex' | 'octal';
}

export function parseKernelInt(text: string): KernelInt | undefined {
  // The common case, a plain decimal, without a regex.
  if (text.length > 0 && text.length < 16 && text.charCodeAt(0) > 48 && text.charCodeAt(0) <= 57 && isDigits(text)) return { value: Number(text), form: 'decimal' };
  const m = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2] ?? '';
  let value: number;
  let form: KernelInt['form'];
  if (/^0[xX]/.test(body)) {
    value = parseInt(body.slice(2), 16);
    form = 'hex';
  } else if (body.length > 1 && body.startsWith('0')) {
    value = parseInt(body.slice(1), 8);
    form = 'octal';
  } else {
    value = parseInt(body, 10);
    form = 'decimal';
  }
  if (!Number.isSafeInteger(value)) return undefined;
  return { value: sign * value, form };
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * What the kernel does with a value written to an integer key that takes `count` numbers
 * (__do_proc_dointvec / __do_proc_doulongvec_minmax, kernel/sysctl.c 6.12 lines 475-545): it skips
 * blanks, reads one number at a time — each must end at a blank (space, tab, newline) or at the
 * end (`proc_wspace_sep`) — and stops once it has `count` numbers. Whatever follows them is
 * never parsed: with sysctl_writes_strict=1 (the default) the short write's remainder is
 * ignored. So `7200 # raised` on a one-number key applies 7200, `45#glued` is refused, and
 * `20000 # x` on a two-number key is refused because `#` is read as the second number.
 */
export type KernelRead =
  | { readonly ok: true; readonly values: readonly KernelInt[]; /** Text after the last number read (never parsed). */ readonly ignored: string }
  | { readonly ok: false; readonly reason: 'empty' | 'not-a-number' | 'glued' | 'too-large'; /** Numbers read before the failure (0-based index of the bad one). */ readonly at: number };

const isKernelSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v';
/** proc_get_long parses at most TMPBUFLEN - 1 = 21 characters (sign included). */
const KERNEL_NUMBER_MAX_CHARS = 21;

/** One number as proc_get_long reads it, matched in place (sticky) so a 10,000-line file allocates little. */
const KERNEL_NUMBER = /-?(?:0[xX][0-9a-fA-F]*|\d+)/y;

export function kernelReadInts(text: string, count: number): KernelRead {
  const values: KernelInt[] = [];
  let i = 0;
  while (values.length < count) {
    while (i < text.length && isKernelSpace(text[i])) i++;
    if (i >= text.length) break;
    KERNEL_NUMBER.lastIndex = i;
    const m = KERNEL_NUMBER.exec(text);
    if (!m) return { ok: false, reason: 'not-a-number', at: values.length };
    if (m[0].length >= KERNEL_NUMBER_MAX_CHARS) return { ok: false, reason: 'too-large', at: values.length };
    const next = text[i + m[0].length];
    if (next !== undefined && next !== ' ' && next !== '\t' && next !== '\n') {
      return { ok: false, reason: /[\w.,]/.test(next) ? 'not-a-number' : 'glued', at: values.length };
    }
    const n = parseKernelInt(m[0]);
    if (!n) return { ok: false, reason: 'not-a-number', at: values.length };
    values.push(n);
    i += m[0].length;
  }
  if (values.length === 0) return { ok: false, reason: 'empty', at: 0 };
  return { ok: true, values, ignored: text.slice(i).trim() };
}

/** Reads a human shorthand some people write (`256k`, `1M`, `1e6`, `262,144`) so a fix can offer the number. */
export function readShorthand(text: string): number | undefined {
  const t = text.trim();
  let m = /^(\d+)([kKmMgG])$/.exec(t);
  if (m) {
    const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? 'k').toLowerCase() as 'k' | 'm' | 'g'];
    return Number(m[1]) * mult;
  }
  m = /^(\d+(?:\.\d+)?)[eE](\d+)$/.exec(t);
  if (m) {
    const v = Number(t);
    return Number.isSafeInteger(v) ? v : undefined;
  }
  if (/^\d{1,3}(?:[,_]\d{3})+$/.test(t)) return Number(t.replace(/[,_]/g, ''));
  return undefined;
}

/** Unit-aware reading of shorthand: `30s`/`2h`/`5d` for seconds keys, `256k`/`1M`/`1e6`/`262,144` for counts. */
export function readShorthandFor(unit: string, text: string): number | undefined {
  if (unit === 'seconds') {
    const m = /^(\d+)\s*(s|sec|m|min|h|d)$/i.exec(text.trim());
    if (m) {
      const mult = { s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 }[(m[2] ?? 's').toLowerCase() as 's'];
      return Number(m[1]) * mult;
    }
    return /^(\d+)(?:\.0+)?$/.test(text.trim()) ? Math.trunc(Number(text)) : undefined;
  }
  return readShorthand(text);
}

/** Whether the kernel accepts this value for an integer key taking `count` numbers within the range. */
export function kernelAccepts(range: { min: number; max: number }, text: string, count = 1): boolean {
  const r = kernelReadInts(text, count);
  return r.ok && r.values.every((v) => v.value >= range.min && v.value <= range.max);
}
