/** Applies LSP-style text edits (zero-based lines/columns, end exclusive) to a string. */
import type { Range } from './types';

export interface RangeEdit {
  readonly range: Range;
  readonly newText: string;
}

function offsetOf(lineStarts: readonly number[], length: number, line: number, col: number): number {
  if (line >= lineStarts.length) return length;
  const start = lineStarts[line] ?? length;
  const next = lineStarts[line + 1];
  const lineEnd = next === undefined ? length : next;
  return Math.min(start + col, lineEnd);
}

/** Edits must not overlap; they are applied from last to first so offsets stay valid. */
export function applyTextEdits(content: string, edits: readonly RangeEdit[]): string {
  const lineStarts = [0];
  for (let i = 0; i < content.length; i++) if (content[i] === '\n') lineStarts.push(i + 1);
  if (content.endsWith('\n')) lineStarts.pop(); // no line after the final newline
  const located = edits
    .map((e) => ({
      start: offsetOf(lineStarts, content.length, e.range.startLine, e.range.startCol),
      end: offsetOf(lineStarts, content.length, e.range.endLine, e.range.endCol),
      text: e.newText,
    }))
    .sort((a, b) => b.start - a.start || b.end - a.end);
  let out = content;
  let lastStart = Infinity;
  for (const e of located) {
    if (e.end > lastStart) throw new Error('overlapping text edits');
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
    lastStart = e.start;
  }
  return out;
}
