/**
 * VS Code entry point. The adapters (sidebar, sysctl language, fixes from the editor) are
 * wired here by the extension issue; until then activation registers nothing.
 */
import type * as vscode from 'vscode';

export function activate(_context: vscode.ExtensionContext): void {
  // Intentionally empty: see the comment above.
}

export function deactivate(): void {
  // Nothing to release yet.
}
