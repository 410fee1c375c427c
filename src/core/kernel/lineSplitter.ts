/**
 * Turns arbitrary string chunks (as they arrive from an SSH channel) into whole lines, with
 * memory bounded by the longest line allowed, never by the size of the stream.
 *
 * Chunks must be strings: decode bytes with a streaming decoder (`TextDecoder` with
 * `{ stream: true }` or `setEncoding('utf8')`) so a multi-byte character split between two
 * chunks is not mangled.
 */

export interface LineSplitterOptions {
  /** Longest line kept, in characters (default 65536). Longer lines are reported, not kept. */
  readonly maxLineLength?: number;
  /** Called once per overlong line with its first `maxLineLength` characters and its full length. */
  readonly onOverlongLine?: (prefix: string, length: number) => void;
}

export interface LineSplitter {
  /** Feeds a chunk; complete lines go to `onLine` before this returns. */
  push(chunk: string): void;
  /** Flushes the last line when the stream did not end with a newline. */
  end(): void;
}

export const DEFAULT_MAX_LINE_LENGTH = 65536;

export function createLineSplitter(onLine: (line: string) => void, options: LineSplitterOptions = {}): LineSplitter {
  const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  let kept = ''; // prefix of the current line, at most max + 1 characters (room for a trailing \r)
  let seen = 0; // characters of the current line so far

  const finishLine = (): void => {
    let line = kept;
    let length = seen;
    if (length === line.length && line.endsWith('\r')) {
      line = line.slice(0, -1);
      length--;
    }
    kept = '';
    seen = 0;
    if (length > max) options.onOverlongLine?.(line.slice(0, max), length);
    else onLine(line);
  };

  return {
    push(chunk: string): void {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf('\n', start);
        const end = nl === -1 ? chunk.length : nl;
        seen += end - start;
        if (kept.length <= max) kept += chunk.slice(start, Math.min(end, start + max + 1 - kept.length));
        if (nl === -1) return;
        finishLine();
        start = nl + 1;
      }
    },
    end(): void {
      if (seen > 0) finishLine();
    },
  };
}
