/**
 * The small outputs of `conntrack -C`, `-D`, `-F` and the `-L` summary line, and how to read
 * them together with the exit code. Observed with conntrack-tools 1.4.7 (samples/netns-lo/):
 * - `-L` writes `N flow entries have been shown.` to stderr.
 * - `-D` writes each deleted entry to stdout and `N flow entries have been deleted.` to stderr;
 *   deleting nothing exits 1 with `0 flow entries have been deleted.` — not an error.
 * - `-F` writes `connection tracking table has been emptied.` to stderr.
 * - Without CAP_NET_ADMIN, `-C` falls back to /proc/sys/net/netfilter/nf_conntrack_count: it
 *   prints the real count on stdout, then `Operation failed: sorry, you must be root or get
 *   CAP_NET_ADMIN capability to do this` on stderr, and exits 1.
 */
import { type Parsed, failure, parseConntrackToolMessage, parseDecimal, parseFlowEntriesMessage, splitLines, success } from './result';

/** Exit codes shells use when the command could not be run at all. */
const NOT_FOUND_EXIT = 127;
const NOT_EXECUTABLE_EXIT = 126;

const PERMISSION_MESSAGE_RE = /must be root|CAP_NET_ADMIN|Operation not permitted/i;

function toolMessages(text: string): string[] {
  const out: string[] = [];
  for (const line of splitLines(text)) {
    const m = parseConntrackToolMessage(line);
    if (m !== undefined) out.push(m.message);
  }
  return out;
}

function notRunnable(exitCode: number, stderr: string): Parsed<never> | undefined {
  const shellSaysMissing = exitCode !== 0 && toolMessages(stderr).length === 0 && /command not found/.test(stderr);
  if (exitCode === NOT_FOUND_EXIT || shellSaysMissing) {
    return failure('tool-error', `conntrack could not be run (exit ${exitCode}): ${stderr.trim() || 'command not found'}`);
  }
  if (exitCode === NOT_EXECUTABLE_EXIT) return failure('tool-error', `conntrack is not executable: ${stderr.trim()}`);
  return undefined;
}

/** `conntrack -C` stdout → the entry count of the namespace. */
export function parseConntrackCount(stdout: string): Parsed<number> {
  const text = stdout.trim();
  if (text === '') return failure('empty', 'conntrack -C printed nothing');
  const n = parseDecimal(text);
  if (n === undefined) return failure('malformed', 'conntrack -C did not print a single integer', text);
  return success(n);
}

/** `conntrack -C` with its stderr and exit code (see the module note on the procfs fallback). */
export function interpretConntrackCount(stdout: string, stderr: string, exitCode: number): Parsed<number> {
  const cannot = notRunnable(exitCode, stderr);
  if (cannot !== undefined) return cannot;
  const messages = toolMessages(stderr);
  const count = parseConntrackCount(stdout);
  if (exitCode === 0) return count;
  if (count.ok && messages.length > 0 && messages.every((m) => PERMISSION_MESSAGE_RE.test(m))) {
    return success(count.value, [`conntrack -C read /proc/sys/net/netfilter/nf_conntrack_count after netlink refused: ${messages.join('; ')}`]);
  }
  return failure('tool-error', messages.length > 0 ? messages.join('; ') : `conntrack -C exited ${exitCode}: ${stderr.trim()}`);
}

/** The `N flow entries have been shown.` line of `conntrack -L` (stderr) → N. */
export function parseConntrackListSummary(stderr: string): number | undefined {
  for (const message of toolMessages(stderr)) {
    const flow = parseFlowEntriesMessage(message);
    if (flow?.verb === 'shown') return flow.count;
  }
  return undefined;
}

/** The `N flow entries have been deleted.` line of `conntrack -D` → N. */
export function parseConntrackDeleteCount(stderr: string): number | undefined {
  for (const message of toolMessages(stderr)) {
    const flow = parseFlowEntriesMessage(message);
    if (flow?.verb === 'deleted') return flow.count;
  }
  return undefined;
}

export interface ConntrackDeleteOutcome {
  readonly deleted: number;
}

/** `conntrack -D …`: 0 deleted with exit 1 is a success that deleted nothing. */
export function interpretConntrackDelete(stdout: string, stderr: string, exitCode: number): Parsed<ConntrackDeleteOutcome> {
  const cannot = notRunnable(exitCode, stderr);
  if (cannot !== undefined) return cannot;
  // The summary normally goes to stderr; accept it from stdout too when the streams were merged.
  const deleted = parseConntrackDeleteCount(stderr) ?? parseConntrackDeleteCount(stdout);
  if (deleted !== undefined && (exitCode === 0 || (exitCode === 1 && deleted === 0))) return success({ deleted });
  const messages = toolMessages(stderr).filter((m) => parseFlowEntriesMessage(m) === undefined);
  if (messages.length > 0) return failure('tool-error', messages.join('; '));
  if (deleted === undefined) return failure('malformed', `conntrack -D exited ${exitCode} without a "flow entries have been deleted" line`, stderr.trim());
  return failure('tool-error', `conntrack -D exited ${exitCode} after deleting ${deleted} entries`);
}

/** `conntrack -F`: succeeded when the tool says the table has been emptied and exited 0. */
export function interpretConntrackFlush(stdout: string, stderr: string, exitCode: number): Parsed<{ readonly emptied: true }> {
  const cannot = notRunnable(exitCode, stderr);
  if (cannot !== undefined) return cannot;
  const messages = [...toolMessages(stderr), ...toolMessages(stdout)];
  const emptied = messages.some((m) => /^connection tracking table has been emptied\.?$/.test(m));
  if (emptied && exitCode === 0) return success({ emptied: true });
  const others = messages.filter((m) => !/has been emptied/.test(m));
  return failure('tool-error', others.length > 0 ? others.join('; ') : `conntrack -F exited ${exitCode}: ${stderr.trim()}`);
}

/**
 * The last message conntrack printed (`N flow entries have been deleted.`, `connection tracking
 * table has been emptied.`), for the progress of a step that runs it; undefined when none.
 */
export function conntrackSummaryLine(stderr: string): string | undefined {
  return toolMessages(stderr).at(-1);
}
