/**
 * Proves the harness runs inside a real VS Code with this extension loaded for development.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { describe, it, note } from './harness';
import { waitForEvent } from './waitFor';

const extensionId = 'conntrack-doctor.conntrack-doctor';

describe('VS Code smoke', () => {
  it('reports the VS Code version it runs in', () => {
    assert.match(vscode.version, /^\d+\.\d+\.\d+/);
    note(`VS Code ${vscode.version} (${vscode.env.appName}, ${vscode.UIKind[vscode.env.uiKind]} UI, remote: ${vscode.env.remoteName ?? 'none'})`);
  });

  it('has the extension under development and activates it', async () => {
    const ext = vscode.extensions.getExtension(extensionId);
    assert.ok(ext, `${extensionId} is not loaded: is extensionDevelopmentPath the repository root?`);
    assert.equal((ext.packageJSON as { name?: unknown }).name, 'conntrack-doctor');
    await ext.activate();
    assert.equal(ext.isActive, true);
    // In code-server it runs where the SSH code needs it: the server's Node extension host.
    if (vscode.env.remoteName) assert.equal(ext.extensionKind, vscode.ExtensionKind.Workspace);
  });

  it('runs a command registered by the test', async () => {
    const disposable = vscode.commands.registerCommand('conntrack-doctor.test.echo', (a: number, b: number) => a + b);
    try {
      const all = await vscode.commands.getCommands(true);
      assert.ok(all.includes('conntrack-doctor.test.echo'));
      assert.equal(await vscode.commands.executeCommand<number>('conntrack-doctor.test.echo', 2, 3), 5);
    } finally {
      disposable.dispose();
    }
  });

  it('opens a .txt file from the workspace as plaintext in an editor', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the runner opens a workspace folder');
    const uri = folder.uri.with({ path: join(folder.uri.path, 'notes.txt') });
    const shown = waitForEvent(vscode.window.onDidChangeActiveTextEditor, (e) => e?.document.uri.toString() === uri.toString(), { what: 'notes.txt to become the active editor', already: () => vscode.window.activeTextEditor });
    const document = await vscode.workspace.openTextDocument(uri);
    assert.equal(document.languageId, 'plaintext');
    await vscode.window.showTextDocument(document);
    const editor = await shown;
    assert.match(editor?.document.getText() ?? '', /smoke tests/);
  });
});
