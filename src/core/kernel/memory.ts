/**
 * Memory facts for sizing advice: `/proc/meminfo` and `free -b`.
 */
import { z } from 'zod';
import { type Parsed, failure, isSafeKey, splitLines, validated } from './result';

const n = z.number().int().nonnegative();

export const memInfoSchema = z.object({
  /** Fields printed in kB, converted to bytes (× 1024), e.g. `MemTotal`, `MemAvailable`, `SUnreclaim`. */
  bytes: z.record(z.string(), n),
  /** Fields printed without a unit (page counts such as `HugePages_Total`), as printed. */
  counts: z.record(z.string(), n),
});
export type MemInfo = z.infer<typeof memInfoSchema>;

const memInfoLineRe = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$/;

/** `/proc/meminfo` → bytes and counts by field name. Requires `MemTotal`. */
export function parseMemInfo(text: string): Parsed<MemInfo> {
  const bytes: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const warnings: string[] = [];
  for (const line of splitLines(text)) {
    if (line.trim() === '') continue;
    const m = memInfoLineRe.exec(line.trim());
    if (m === null) {
      warnings.push(`unrecognized line: ${line}`);
      continue;
    }
    const name = m[1] ?? '';
    if (!isSafeKey(name)) continue;
    const value = Number(m[2]);
    if (m[3] === 'kB') bytes[name] = value * 1024;
    else counts[name] = value;
  }
  if (Object.keys(bytes).length === 0 && Object.keys(counts).length === 0) {
    return failure(text.trim() === '' ? 'empty' : 'malformed', 'no `Name: value kB` line in meminfo', text.trim().split('\n')[0]);
  }
  if (bytes['MemTotal'] === undefined) return failure('malformed', 'meminfo without MemTotal');
  return validated(memInfoSchema, { bytes, counts }, warnings);
}

export const freeOutputSchema = z.object({
  /** Row label without the colon (`Mem`, `Swap`, `Total`, `-/+ buffers/cache`) → column → value as printed (bytes with `-b`). */
  rows: z.record(z.string(), z.record(z.string(), n)),
  memTotal: n.optional(),
  memAvailable: n.optional(),
  swapTotal: n.optional(),
});
export type FreeOutput = z.infer<typeof freeOutputSchema>;

/**
 * `free -b` (or `free -b -w`, `-t`). Columns are taken from the header row. The old procps row
 * `-/+ buffers/cache:` has only used and free; they are mapped to those two columns.
 */
export function parseFree(text: string): Parsed<FreeOutput> {
  const lines = splitLines(text).filter((l) => l.trim() !== '');
  const headerLine = lines[0];
  if (headerLine === undefined) return failure('empty', 'free printed nothing');
  const header = headerLine.trim().split(/\s+/);
  if (header.some((h) => h.endsWith(':') || /^\d+$/.test(h))) return failure('malformed', 'first line is not a header of column names', headerLine);
  const rows: Record<string, Record<string, number>> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return failure('malformed', 'row without a `Label:`', line);
    const label = line.slice(0, colon).trim();
    const cells = line.slice(colon + 1).trim().split(/\s+/).filter((c) => c !== '');
    if (!cells.every((c) => /^\d+$/.test(c))) return failure('malformed', 'non-numeric value', line);
    let names: readonly string[];
    if (cells.length === header.length) names = header;
    else if (label === '-/+ buffers/cache' && cells.length === 2) names = ['used', 'free'];
    else if (cells.length < header.length && (label === 'Swap' || label === 'Total')) names = header.slice(0, cells.length);
    else return failure('malformed', `row has ${cells.length} values, header has ${header.length} columns`, line);
    const row: Record<string, number> = {};
    names.forEach((name, i) => {
      if (isSafeKey(name)) row[name] = Number(cells[i]);
    });
    if (isSafeKey(label)) rows[label] = row;
  }
  const mem = rows['Mem'];
  if (mem === undefined) return failure('malformed', 'free output without a Mem: row');
  const memTotal = mem['total'];
  const memAvailable = mem['available'];
  const swapTotal = rows['Swap']?.['total'];
  return validated(freeOutputSchema, {
    rows,
    ...(memTotal === undefined ? {} : { memTotal }),
    ...(memAvailable === undefined ? {} : { memAvailable }),
    ...(swapTotal === undefined ? {} : { swapTotal }),
  });
}
