// Reads captured outputs from test/fixtures/samples/ (see samples/capture/ for how netns-lo/ was made).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Parsed } from '../../../src/core/kernel/result';

const root = fileURLToPath(new URL('../../fixtures/samples/', import.meta.url));

export function sample(name: string): string {
  return readFileSync(root + name, 'utf8');
}

/** stdout, stderr and exit code of a command captured by capture-netns.sh. */
export function captured(name: string): { stdout: string; stderr: string; exitCode: number } {
  const read = (suffix: string): string => {
    try {
      return readFileSync(`${root}netns-lo/${name}${suffix}`, 'utf8');
    } catch {
      return '';
    }
  };
  return { stdout: read('.txt'), stderr: read('.stderr.txt'), exitCode: Number(read('.rc.txt').trim()) };
}

export function ok<T>(result: Parsed<T>): T {
  if (!result.ok) assert.fail(`expected ok, got ${result.error.kind}: ${result.error.message}`);
  return result.value;
}

export function err<T>(result: Parsed<T>): Extract<Parsed<T>, { ok: false }>['error'] {
  if (result.ok) assert.fail(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}
