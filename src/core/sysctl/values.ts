/**
 * How the kernel reads a number written to /proc/sys (proc_get_long → strtoul with base 0):
 * decimal, `0x` hex, and — a classic trap — a leading `0` means octal.
 */

export interface KernelInt {
  readonly value: number;
  readonly form: 'decimal' | 'hex' | 'octal';
}

export function parseKernelInt(text: string): KernelInt | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
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

/** Whether the kernel accepts this value for an integer key with the given range. */
export function kernelAccepts(range: { min: number; max: number }, text: string): boolean {
  const n = parseKernelInt(text.trim());
  return n !== undefined && n.value >= range.min && n.value <= range.max;
}
