/**
 * The `nf_conntrack` cache in `/proc/slabinfo` (root-only): how much kernel memory one entry
 * costs. Columns are read by the names of the `# name <active_objs> …` header.
 *
 * Kernels before 4.x made one cache per netns, named `nf_conntrack_<address>`; when there is no
 * plain `nf_conntrack` line those caches are added up (object size etc. from the first).
 * With SLUB cache merging the cache may not be listed at all: the result is then `undefined`.
 */
import { z } from 'zod';
import { type Parsed, failure, splitLines, success, validated } from './result';

/** The slabinfo 2.x header, used when the input has the version line but lost the header. */
const SLABINFO_2_HEADER =
  '# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>';

/** Columns that count things, added up over per-netns caches; the others describe the cache layout. */
const SUMMED_COLUMNS = new Set(['active_objs', 'num_objs', 'active_slabs', 'num_slabs']);

const n = z.number().int().nonnegative();

export const slabCacheSchema = z.object({
  /** The cache name(s) the numbers come from. */
  caches: z.array(z.string()).min(1),
  activeObjs: n,
  numObjs: n,
  /** Bytes per object. */
  objSize: n,
  objPerSlab: n,
  pagesPerSlab: n,
  activeSlabs: n.optional(),
  numSlabs: n.optional(),
  /** Every numeric column by its header name (object and slab counts summed over caches, the rest from the first). */
  columns: z.record(z.string(), n),
});
export type SlabCache = z.infer<typeof slabCacheSchema>;

interface Header {
  readonly tokens: readonly string[];
}

function parseHeader(line: string): Header | undefined {
  const tokens = line.replace(/^#\s*/, '').trim().split(/\s+/);
  if (tokens[0] !== 'name') return undefined;
  return { tokens: tokens.map((t) => (t.startsWith('<') && t.endsWith('>') ? t.slice(1, -1) : t)) };
}

function readLine(header: Header, line: string): Map<string, number> | string {
  const cells = line.trim().split(/\s+/);
  if (cells.length !== header.tokens.length) return `line has ${cells.length} fields, header has ${header.tokens.length}`;
  const out = new Map<string, number>();
  for (let i = 1; i < cells.length; i++) {
    const name = header.tokens[i] ?? '';
    const cell = cells[i] ?? '';
    if (name === ':' || name === 'tunables' || name === 'slabdata') {
      if (cell !== name) return `expected '${name}', found '${cell}'`;
      continue;
    }
    if (!/^\d+$/.test(cell)) return `${name} is not a number: '${cell}'`;
    out.set(name, Number(cell));
  }
  return out;
}

/**
 * `/proc/slabinfo` (whole, or its first two lines plus the `nf_conntrack` lines).
 * ok + undefined: the file parsed but has no nf_conntrack cache.
 */
export function parseSlabinfoConntrack(text: string, cacheName = 'nf_conntrack'): Parsed<SlabCache | undefined> {
  const lines = splitLines(text);
  if (lines.every((l) => l.trim() === '')) return failure('empty', 'slabinfo is empty');
  const denied = lines.find((l) => /Permission denied|Operation not permitted/i.test(l));
  if (denied !== undefined) return failure('tool-error', '/proc/slabinfo is readable by root only', denied);
  let header: Header | undefined;
  const exact: { name: string; line: string }[] = [];
  const perNetns: { name: string; line: string }[] = [];
  const perNetnsRe = new RegExp(`^${cacheName}_[0-9a-f]{8,16}$`);
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) {
      header = parseHeader(trimmed) ?? header;
      continue;
    }
    if (/^slabinfo - version: 2\./.test(trimmed)) {
      header ??= parseHeader(SLABINFO_2_HEADER);
      continue;
    }
    const name = trimmed.split(/\s+/, 1)[0] ?? '';
    if (name === cacheName) exact.push({ name, line: trimmed });
    else if (perNetnsRe.test(name)) perNetns.push({ name, line: trimmed });
  }
  if (header === undefined) return failure('malformed', 'no `# name <active_objs> …` header (nor a `slabinfo - version: 2.x` line)');
  const chosen = exact.length > 0 ? exact : perNetns;
  if (chosen.length === 0) return success(undefined);
  const columns: Record<string, number> = {};
  let firstRow: Map<string, number> | undefined;
  for (const { line } of chosen) {
    const row = readLine(header, line);
    if (typeof row === 'string') return failure('malformed', row, line);
    firstRow ??= row;
    for (const [k, v] of row) {
      if (SUMMED_COLUMNS.has(k)) columns[k] = (columns[k] ?? 0) + v;
      else columns[k] ??= v;
    }
  }
  const get = (name: string): number | undefined => columns[name];
  const first = (name: string): number | undefined => firstRow?.get(name);
  const activeObjs = get('active_objs');
  const numObjs = get('num_objs');
  const objSize = first('objsize');
  const objPerSlab = first('objperslab');
  const pagesPerSlab = first('pagesperslab');
  if (activeObjs === undefined || numObjs === undefined || objSize === undefined || objPerSlab === undefined || pagesPerSlab === undefined) {
    return failure('malformed', 'header lacks one of active_objs, num_objs, objsize, objperslab, pagesperslab');
  }
  const activeSlabs = get('active_slabs');
  const numSlabs = get('num_slabs');
  return validated(slabCacheSchema, {
    caches: chosen.map((c) => c.name),
    activeObjs,
    numObjs,
    objSize,
    objPerSlab,
    pagesPerSlab,
    ...(activeSlabs === undefined ? {} : { activeSlabs }),
    ...(numSlabs === undefined ? {} : { numSlabs }),
    columns,
  });
}
