/**
 * The one poll loop of the tests and scripts: retries `attempt` until it returns a value other
 * than undefined, or throws after the deadline with `what` and the last error. For what has no
 * event to wait for (a row in a browser page, a line in a log); each attempt bounds its own waits.
 */
/** The first line of an error's message (for messages built around it). */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** `pauseMs`: shorter for a probe that is cheap and must catch something short-lived (a process). */
export async function retryUntil<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined> | T | undefined, pauseMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${lastError !== undefined ? ` (${firstLine(lastError)})` : ''}`);
    // A pause between attempts so the probe does not spin, not a wait for the result.
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
