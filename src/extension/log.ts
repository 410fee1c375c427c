/**
 * The one LogOutputChannel (every remote command run, secrets redacted by the runner, and every
 * error) and the one way a failure reaches the user: showError logs it with its stack and
 * shows it once, with "Show Log" (and any other action the caller offers).
 */
import * as vscode from 'vscode';
import { errorMessage, safeForTerminal } from '../core/format';

let channel: vscode.LogOutputChannel | undefined;

export function initLog(context: vscode.ExtensionContext): vscode.LogOutputChannel {
  channel = vscode.window.createOutputChannel('Conntrack Doctor', { log: true });
  context.subscriptions.push(channel);
  return channel;
}

// Log lines carry host-provided text (remote stderr in errors): control characters escaped.
export const log = {
  info: (msg: string): void => channel?.info(safeForTerminal(msg)),
  warn: (msg: string): void => channel?.warn(safeForTerminal(msg)),
  error: (msg: string, err?: unknown): void => channel?.error(safeForTerminal(err instanceof Error ? `${msg}: ${err.stack ?? err.message}` : err === undefined ? msg : `${msg}: ${JSON.stringify(err)}`)),
  show: (): void => channel?.show(true),
};

const SHOW_LOG = 'Show Log';

/**
 * Logs `err` (with its stack, under `what`) and shows `title: message` with "Show Log" and the
 * given actions. Not awaited by callers that are done: the notification's buttons act later.
 * Resolves with the action chosen (after "Show Log" has opened the log).
 */
export function showError(what: string, title: string, err: unknown, ...actions: string[]): Promise<string | undefined> {
  log.error(what, err);
  return Promise.resolve(vscode.window.showErrorMessage(safeForTerminal(`${title}: ${errorMessage(err)}`), SHOW_LOG, ...actions)).then((action) => {
    if (action === SHOW_LOG) log.show();
    return action;
  });
}

/** An information message with "Show Log" (the log has the commands that ran). */
export function showInfoWithLog(message: string): void {
  void Promise.resolve(vscode.window.showInformationMessage(message, SHOW_LOG)).then((a) => (a === SHOW_LOG ? log.show() : undefined));
}
