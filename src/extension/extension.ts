/**
 * VS Code entry point: a wiring table. Every feature lives in its own module and is an adapter
 * over the pure core (src/core) and the I/O layer (src/io).
 */
import * as vscode from 'vscode';
import { initLog, log } from './log';
import { onSettingsChanged } from './settings';
import { SysctlLanguage } from './sysctl/language';

export function activate(context: vscode.ExtensionContext): void {
  initLog(context);
  const language = new SysctlLanguage(context.extensionUri);
  context.subscriptions.push(
    language,
    onSettingsChanged(() => language.refreshAll()),
    vscode.commands.registerCommand('conntrack-doctor.showLog', () => log.show()),
  );
  log.info(`Conntrack Doctor activated (VS Code ${vscode.version})`);
}

export function deactivate(): void {
  // Disposables registered in context.subscriptions are released by VS Code.
}
