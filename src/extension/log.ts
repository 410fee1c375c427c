/** The one LogOutputChannel: every remote command run (secrets redacted by the runner) and every error. */
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function initLog(context: vscode.ExtensionContext): vscode.LogOutputChannel {
  channel = vscode.window.createOutputChannel('Conntrack Doctor', { log: true });
  context.subscriptions.push(channel);
  return channel;
}

export const log = {
  info: (msg: string): void => channel?.info(msg),
  warn: (msg: string): void => channel?.warn(msg),
  error: (msg: string, err?: unknown): void => channel?.error(err instanceof Error ? `${msg}: ${err.stack ?? err.message}` : err === undefined ? msg : `${msg}: ${JSON.stringify(err)}`),
  show: (): void => channel?.show(true),
};
