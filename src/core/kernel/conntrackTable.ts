/**
 * A conntrack listing (`conntrack -L [-o extended]`, `/proc/net/nf_conntrack`) read as a stream:
 * chunks in, one {@link ConntrackLine} per line out. Memory stays bounded by one line; a bad line
 * yields an `error` result and the stream goes on.
 */
import { type ConntrackLine, conntrackEntrySchema, parseConntrackLine } from './conntrackEntries';
import { createLineSplitter, DEFAULT_MAX_LINE_LENGTH } from './lineSplitter';

export interface ConntrackTableOptions {
  /** Longest line accepted (default 65536 characters); longer lines become `error` results. */
  readonly maxLineLength?: number;
  /**
   * Also check every entry against {@link conntrackEntrySchema} (default false). The line parser
   * builds entries field by field and the tests hold it to the schema; zod on every line would
   * more than double the cost of reading a 1M-entry table.
   */
  readonly validate?: boolean;
}

function checked(line: ConntrackLine, raw: string): ConntrackLine {
  if (line.kind !== 'entry') return line;
  const result = conntrackEntrySchema.safeParse(line.entry);
  if (result.success) return line;
  return { kind: 'error', line: raw, message: `entry failed validation: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
}

/** Incremental reader: push chunks, get the parsed lines of each chunk back. */
export interface ConntrackTableReader {
  push(chunk: string): ConntrackLine[];
  end(): ConntrackLine[];
}

export function createConntrackTableReader(options: ConntrackTableOptions = {}): ConntrackTableReader {
  let out: ConntrackLine[] = [];
  const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const validate = options.validate ?? false;
  const splitter = createLineSplitter((line) => out.push(validate ? checked(parseConntrackLine(line), line) : parseConntrackLine(line)), {
    maxLineLength: max,
    onOverlongLine: (prefix, length) => out.push({ kind: 'error', line: prefix, message: `line of ${length} characters exceeds the ${max}-character limit` }),
  });
  const take = (): ConntrackLine[] => {
    const lines = out;
    out = [];
    return lines;
  };
  return {
    push(chunk) {
      splitter.push(chunk);
      return take();
    },
    end() {
      splitter.end();
      return take();
    },
  };
}

/** Parses a listing given as chunks (a string array, a generator…). */
export function* parseConntrackTable(chunks: Iterable<string>, options: ConntrackTableOptions = {}): Generator<ConntrackLine> {
  const reader = createConntrackTableReader(options);
  for (const chunk of chunks) yield* reader.push(chunk);
  yield* reader.end();
}

/** Same, for an async source such as an SSH channel decoded to strings. */
export async function* parseConntrackTableAsync(chunks: AsyncIterable<string>, options: ConntrackTableOptions = {}): AsyncGenerator<ConntrackLine> {
  const reader = createConntrackTableReader(options);
  for await (const chunk of chunks) yield* reader.push(chunk);
  yield* reader.end();
}
