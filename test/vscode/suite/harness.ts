/**
 * A tiny describe/it runner for tests inside the VS Code extension host. node:test cannot be
 * relied on there (its runner reports to the process it was started by, which is not ours),
 * and mocha would be one more dependency for the few features needed: nested describes,
 * async tests with timeouts, before/after hooks, a grep, pass/fail counts.
 *
 * Spec files call describe/it at import time; `runRegistered()` runs what they registered.
 */
import { writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { grepEnv, reportPrefix, resultsFileEnv, type SuiteResults, type TestResult } from '../protocol';

type Body = () => unknown;

export interface TestOptions {
  /** Default 20 s: activation of a real extension on a busy 2-core machine takes a while. */
  readonly timeoutMs?: number;
}

interface TestCase {
  readonly kind: 'test';
  readonly name: string;
  readonly fn: Body;
  readonly timeoutMs: number;
}

interface Block {
  readonly kind: 'block';
  readonly name: string;
  readonly children: (Block | TestCase)[];
  readonly before: Hook[];
  readonly after: Hook[];
}

/** A before/after hook and how long it may take. */
interface Hook {
  readonly fn: Body;
  readonly timeoutMs: number;
}

const defaultTimeoutMs = 20_000;
const root: Block = { kind: 'block', name: '', children: [], before: [], after: [] };
let current = root;

export function describe(name: string, body: () => void): void {
  const block: Block = { kind: 'block', name, children: [], before: [], after: [] };
  current.children.push(block);
  const parent = current;
  current = block;
  try {
    body();
  } finally {
    current = parent;
  }
}

export function it(name: string, fn: Body, options: TestOptions = {}): void {
  current.children.push({ kind: 'test', name, fn, timeoutMs: options.timeoutMs ?? defaultTimeoutMs });
}

/** Prints a line into the test report (plain console.log goes only to the full log). */
export function note(message: string): void {
  console.log(`${reportPrefix}      ${message}`);
}

/** Runs once before the tests of the enclosing describe (or of the whole suite). */
export function before(fn: Body, options: TestOptions = {}): void {
  current.before.push({ fn, timeoutMs: options.timeoutMs ?? defaultTimeoutMs });
}

/** Runs once after the tests of the enclosing describe, even if some failed. */
export function after(fn: Body, options: TestOptions = {}): void {
  current.after.push({ fn, timeoutMs: options.timeoutMs ?? defaultTimeoutMs });
}

async function withTimeout(fn: Body, timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(fn), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : inspect(err);
}

function hasMatchingTest(block: Block, prefix: string, grep: RegExp | undefined): boolean {
  return block.children.some((child) => {
    const full = `${prefix}${child.name}`;
    return child.kind === 'test' ? !grep || grep.test(full) : hasMatchingTest(child, `${full} \u203a `, grep);
  });
}

export interface RunOptions {
  readonly vscodeVersion: string;
  /** Where report lines go; defaults to console.log with the report prefix. */
  readonly print?: (line: string) => void;
  readonly grep?: RegExp;
}

/** Runs every registered test; never throws for test failures (they are counted). */
export async function runRegistered(options: RunOptions): Promise<SuiteResults> {
  const print = options.print ?? ((line: string) => console.log(`${reportPrefix}${line}`));
  const grepSource = process.env[grepEnv];
  const grep = options.grep ?? (grepSource ? new RegExp(grepSource) : undefined);
  const results: TestResult[] = [];

  const fail = (name: string, shortName: string, durationMs: number, err: unknown, indent: string): void => {
    const error = describeError(err);
    results.push({ name, status: 'failed', durationMs, error });
    print(`${indent}✗ ${shortName} (${durationMs} ms)`);
    for (const line of error.split('\n')) print(`${indent}    ${line}`);
  };

  // A failing before hook fails every test under it (never silently skips them).
  const runBlock = async (block: Block, prefix: string, depth: number, inheritedError?: unknown): Promise<void> => {
    if (!hasMatchingTest(block, prefix, grep)) return;
    const indent = '  '.repeat(depth);
    if (block.name) print(`${indent}${block.name}`);
    const inner = block.name ? '  '.repeat(depth + 1) : indent;
    let hookError = inheritedError;
    for (const hook of hookError === undefined ? block.before : []) {
      try {
        await withTimeout(hook.fn, hook.timeoutMs, `before hook of "${block.name || 'suite'}"`);
      } catch (err) {
        hookError = err;
        break;
      }
    }
    for (const child of block.children) {
      const full = `${prefix}${child.name}`;
      if (child.kind === 'block') {
        await runBlock(child, `${full} \u203a `, depth + (block.name ? 1 : 0), hookError);
        continue;
      }
      if (grep && !grep.test(full)) continue;
      if (hookError !== undefined) {
        fail(full, child.name, 0, hookError, inner);
        continue;
      }
      const started = Date.now();
      try {
        await withTimeout(child.fn, child.timeoutMs, `"${child.name}"`);
        const durationMs = Date.now() - started;
        results.push({ name: full, status: 'passed', durationMs });
        print(`${inner}✓ ${child.name} (${durationMs} ms)`);
      } catch (err) {
        fail(full, child.name, Date.now() - started, err, inner);
      }
    }
    if (inheritedError !== undefined) return;
    for (const hook of block.after) {
      try {
        await withTimeout(hook.fn, hook.timeoutMs, `after hook of "${block.name || 'suite'}"`);
      } catch (err) {
        fail(`${prefix}(after hook)`, '(after hook)', 0, err, inner);
      }
    }
  };

  await runBlock(root, '', 0);
  const passed = results.filter((r) => r.status === 'passed').length;
  const failed = results.length - passed;
  print(`${passed} passed, ${failed} failed`);
  const summary: SuiteResults = { passed, failed, vscodeVersion: options.vscodeVersion, tests: results };
  const resultsFile = process.env[resultsFileEnv];
  if (resultsFile) writeFileSync(resultsFile, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/**
 * The extensionTestsPath contract: VS Code calls `run()` and exits the extension host with
 * 0 if it resolves, 1 if it rejects. Zero tests is a failure, not a silent pass.
 */
export async function runSuite(vscodeVersion: string): Promise<void> {
  const { passed, failed } = await runRegistered({ vscodeVersion });
  if (failed > 0) throw new Error(`${failed} VS Code test(s) failed`);
  if (passed === 0) throw new Error(`no VS Code tests ran${process.env[grepEnv] ? ` (${grepEnv}=${process.env[grepEnv]})` : ''}`);
}
