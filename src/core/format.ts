/**
 * How numbers are shown to a person, in one place for every front end (CLI report, the
 * extension's tree, status bar, chart, hovers): counts, bytes, durations, rates, usage
 * percentages and "count / max"; and an error's message. Pure; unit-tested in
 * test/unit/format.test.ts.
 */

/** The message of an error (anything thrown), for a person; stacks belong in logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * C0 controls except tab and newline, DEL, C1 controls (U+0080–U+009F: 8-bit CSI/OSC), and the
 * bidirectional and invisible marks that reorder or hide what a person reads.
 */
// eslint-disable-next-line no-control-regex
const TERMINAL_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/gu;

/**
 * Host-provided text made safe to print (a keyboard-interactive prompt, a command's stderr in an
 * error): a terminal escape from the host could move the cursor, rewrite what was printed, set
 * the window title or fake a prompt. Each unsafe character is shown as `\uXXXX` (nothing is
 * lost, and inside a JSON string the result is still valid JSON); CRLF becomes LF.
 */
export function safeForTerminal(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(TERMINAL_UNSAFE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u] ?? 'B'}`;
}

/** Seconds in the largest unit that divides them exactly: `5 days`, `2 h`, `90 s` (a configured timeout). */
export function formatDuration(seconds: number): string {
  if (seconds % 86400 === 0 && seconds >= 86400) return `${seconds / 86400} day${seconds === 86400 ? '' : 's'}`;
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** Seconds in their two largest units, rounded down: `4 d 23 h`, `3 min 20 s` (a timer counting down). */
export function formatDurationShort(seconds: number): string {
  const units: [string, number][] = [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = seconds;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n} ${name}`);
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0 ')).join(' ') || '0 s';
}

/** A per-second rate without its unit: whole numbers from 10 up, two decimals below, `0` for none. */
export function formatRate(perSecond: number): string {
  return perSecond >= 10 ? String(Math.round(perSecond)) : perSecond === 0 ? '0' : perSecond.toFixed(2);
}

/**
 * A percentage, as every front end shows it (the tree, the status bar, the chart, hovers, the
 * CLI, the fleet): one decimal everywhere, so one fact is one number (`87.5 %`, not `88 %` in
 * one place and `87.5 %` in another).
 */
export function formatPercent(percent: number): string {
  return `${percent.toFixed(1)} %`;
}

/** A share of a whole as a percentage (`0.0 %` when the whole is 0). */
export function formatShare(part: number, whole: number): string {
  return formatPercent(whole > 0 ? (100 * part) / whole : 0);
}

/** nf_conntrack_max as shown: `262,144`, `unlimited` for 0, `?` when unknown. */
export function formatMax(max: number | undefined): string {
  return max === undefined ? '?' : max === 0 ? 'unlimited' : formatInt(max);
}

/** `240,007 / 262,144` — the table's count against its max (`?` for what is unknown). */
export function formatUsage(u: { readonly count?: number | undefined; readonly max?: number | undefined }): string {
  return `${u.count === undefined ? '?' : formatInt(u.count)} / ${formatMax(u.max)}`;
}
