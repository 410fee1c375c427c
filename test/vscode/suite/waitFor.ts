/**
 * Waiting for VS Code events instead of sleeping: tests stay fast on a fast machine and
 * correct on a slow one.
 */
import type * as vscode from 'vscode';

/**
 * Resolves with the first event for which `accept` returns true (checked also against the
 * current state through `already`, so an event that fired before the call is not missed).
 */
export function waitForEvent<T>(
  event: vscode.Event<T>,
  accept: (value: T) => boolean,
  options: { timeoutMs?: number; what?: string; already?: () => T | undefined } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<T>((resolve, reject) => {
    const current = options.already?.();
    if (current !== undefined && accept(current)) {
      resolve(current);
      return;
    }
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`waited ${timeoutMs} ms for ${options.what ?? 'an event'}`));
    }, timeoutMs);
    const subscription = event((value) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      subscription.dispose();
      resolve(value);
    });
  });
}
