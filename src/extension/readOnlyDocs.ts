/**
 * Read-only documents for previews and reports (`conntrack-doc:` URIs): they never ask to be
 * saved when closed, and can be reopened from the editor history while the window lives.
 */
import * as vscode from 'vscode';

export const READONLY_SCHEME = 'conntrack-doc';
const MAX_KEPT = 50;
const contents = new Map<string, string>();
let counter = 0;

export function registerReadOnlyDocs(): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(READONLY_SCHEME, {
    provideTextDocumentContent: (uri) => contents.get(uri.toString()) ?? '(this preview is no longer available)',
  });
}

/** Opens `content` in a read-only editor titled by `name` (e.g. "preview.md", "diagnosis.txt"). */
export async function showReadOnly(name: string, content: string, language: string, options: vscode.TextDocumentShowOptions = {}): Promise<vscode.TextEditor> {
  const uri = vscode.Uri.from({ scheme: READONLY_SCHEME, path: `/${++counter}/${name}` });
  contents.set(uri.toString(), content);
  if (contents.size > MAX_KEPT) contents.delete(contents.keys().next().value ?? '');
  const doc = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(uri), language);
  return vscode.window.showTextDocument(doc, options);
}

/** Closes every tab showing `uri` (a preview once its question is answered). */
export async function closeReadOnly(uri: vscode.Uri): Promise<void> {
  const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === uri.toString());
  if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
}
