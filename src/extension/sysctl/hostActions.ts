/**
 * sysctl files of a connected host, from the editor: CodeLens "Apply on <host>" / "Compare with
 * live", and the offer to apply a line on the host after a quick fix changed it. Every change
 * goes through the one path (preview → modal confirmation → run → read back → log), built by
 * the core's applySysctlFile.
 */
import * as vscode from 'vscode';
import { applySysctlFile, liveVersionOf } from '../../core/fix/applyFile';
import { parseSysctl } from '../../core/sysctl/syntax';
import { ValidationError } from '../../core/fix/validate';
import type { HostEntry, HostManager } from '../hosts';
import type { CommandSpec } from '../commands';
import { previewAndApply } from '../flows';
import { REMOTE_SCHEME, remoteHostId } from '../remoteFs';
import { LANGUAGE_ID } from './language';
import { log, showError } from '../log';

export const LIVE_SCHEME = 'conntrack-live';

function hostOfUri(hosts: HostManager, uri: vscode.Uri): HostEntry | undefined {
  const id = remoteHostId(uri);
  return id === undefined ? undefined : hosts.get(id);
}

async function documentFor(arg: unknown): Promise<vscode.TextDocument | undefined> {
  if (arg instanceof vscode.Uri || typeof arg === 'string') {
    const uri = typeof arg === 'string' ? vscode.Uri.parse(arg) : arg;
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString()) ?? vscode.workspace.openTextDocument(uri);
  }
  return vscode.window.activeTextEditor?.document;
}

/** Saves a dirty host file first (through the atomic, backed-up writer); false if that failed or was declined. */
async function savedForApply(doc: vscode.TextDocument, h: HostEntry, ask: boolean): Promise<boolean> {
  if (!doc.isDirty) return true;
  if (ask) {
    const go = 'Save and Apply';
    const answer = await vscode.window.showWarningMessage(`${doc.uri.path} has unsaved changes.`, { modal: true, detail: `They are saved to ${h.label} first (atomically, with a backup), then applied.` }, go);
    if (answer !== go) return false;
  }
  log.info(`saving ${doc.uri.path} on ${h.label} before applying it (version ${doc.version})`);
  let saved = await doc.save();
  if (!saved && doc.isDirty) {
    // Seen once under heavy load with no error shown by VS Code: one more try before giving up.
    log.warn(`saving ${doc.uri.path} on ${h.label}: TextDocument.save() returned false; trying once more`);
    saved = await doc.save();
  }
  if (!saved && doc.isDirty) {
    log.warn(`saving ${doc.uri.path} on ${h.label} failed (TextDocument.save() returned false twice)`);
    void vscode.window.showErrorMessage(`${doc.uri.path} could not be saved on ${h.label}: nothing was applied. See Conntrack: Show Log.`);
    return false;
  }
  return true;
}

function buildFix(doc: vscode.TextDocument, h: HostEntry, line?: number): ReturnType<typeof applySysctlFile> {
  return applySysctlFile({ path: doc.uri.path, content: doc.getText(), live: h.snapshot?.sysctl ?? {}, initialNetns: h.snapshot?.initialNetns, ...(line !== undefined ? { line } : {}) });
}

/** The CodeLens and live-values providers (disposables) and the commands (rows of the command table). */
export function hostFileActions(hosts: HostManager): { disposables: vscode.Disposable[]; commands: CommandSpec[] } {
  const lensChanged = new vscode.EventEmitter<void>();
  const liveChanged = new vscode.EventEmitter<vscode.Uri>();
  const liveDocs = new Set<string>();

  const lenses: vscode.CodeLensProvider = {
    onDidChangeCodeLenses: lensChanged.event,
    provideCodeLenses: (doc) => {
      const h = hostOfUri(hosts, doc.uri);
      if (!h || h.status !== 'connected') return [];
      const top = new vscode.Range(0, 0, 0, 0);
      return [
        new vscode.CodeLens(top, { title: `$(play) Apply conntrack settings on ${h.label}`, command: 'conntrack-doctor.applyFile', arguments: [doc.uri], tooltip: 'sysctl -w for each conntrack key of this file whose live value differs (previewed, confirmed, read back, undoable)' }),
        new vscode.CodeLens(top, { title: '$(diff) Compare with live', command: 'conntrack-doctor.compareWithLive', arguments: [doc.uri], tooltip: `This file next to the values the running kernel on ${h.label} has` }),
      ];
    },
  };

  const live: vscode.TextDocumentContentProvider = {
    onDidChange: liveChanged.event,
    provideTextDocumentContent: async (uri) => {
      const fileUri = vscode.Uri.parse(decodeURIComponent(uri.query));
      const h = hostOfUri(hosts, fileUri);
      if (!h) return `# ${fileUri.toString()} is not a file of a known host\n`;
      const doc = await vscode.workspace.openTextDocument(fileUri);
      return liveVersionOf(doc.getText(), h.snapshot?.sysctl ?? {});
    },
  };

  const disposables = [
    lensChanged,
    liveChanged,
    vscode.languages.registerCodeLensProvider({ scheme: REMOTE_SCHEME, language: LANGUAGE_ID }, lenses),
    vscode.workspace.registerTextDocumentContentProvider(LIVE_SCHEME, live),
    hosts.onDidChange(() => {
      lensChanged.fire();
      for (const u of liveDocs) liveChanged.fire(vscode.Uri.parse(u));
    }),
    vscode.workspace.onDidCloseTextDocument((d) => liveDocs.delete(d.uri.toString())),
  ];

  const applyFile = async (arg?: unknown): Promise<boolean> => {
    const doc = await documentFor(arg);
    const h = doc ? hostOfUri(hosts, doc.uri) : undefined;
    if (!doc || !h) {
      void vscode.window.showErrorMessage('Conntrack: open a sysctl file of a connected host first (Conntrack: Open Remote sysctl File…).');
      return false;
    }
    if (!(await savedForApply(doc, h, true))) return false;
    try {
      return await previewAndApply(hosts, h, buildFix(doc, h));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      void vscode.window.showInformationMessage(`Conntrack: ${err.message}`);
      return false;
    }
  };

  const compareWithLive = async (arg?: unknown): Promise<void> => {
    const doc = await documentFor(arg);
    const h = doc ? hostOfUri(hosts, doc.uri) : undefined;
    if (!doc || !h) {
      void vscode.window.showErrorMessage('Conntrack: open a sysctl file of a connected host first (Conntrack: Open Remote sysctl File…).');
      return;
    }
    const left = vscode.Uri.from({ scheme: LIVE_SCHEME, path: doc.uri.path, query: encodeURIComponent(doc.uri.toString()) });
    liveDocs.add(left.toString());
    await vscode.commands.executeCommand('vscode.diff', left, doc.uri, `${doc.uri.path.split('/').pop() ?? doc.uri.path}: live on ${h.label} ↔ file`);
  };

  /** After a quick fix on a host file: offer to apply the changed line (not in the palette). */
  const offerApplyLines = async (uriText: unknown, lines: unknown): Promise<void> => {
    if (typeof uriText !== 'string' || !Array.isArray(lines)) return;
    const doc = await documentFor(uriText);
    const h = doc ? hostOfUri(hosts, doc.uri) : undefined;
    if (!doc || !h || h.status !== 'connected') return;
    for (const line of lines) {
      if (typeof line !== 'number' || line >= doc.lineCount) continue;
      try {
        buildFix(doc, h, line);
      } catch (err) {
        if (err instanceof ValidationError) {
          log.info(`not offering to apply line ${line + 1} of ${doc.uri.path}: ${err.message}`);
          continue;
        }
        throw err;
      }
      const parsed = parseSysctl(doc.lineAt(line).text).lines[0];
      const what = parsed?.kind === 'assignment' ? `${parsed.normalizedKey} = ${parsed.value.text.trim()}` : doc.lineAt(line).text.trim();
      const go = 'Save and Apply on Host…';
      // Not awaited by the quick fix: the notification stays until the user answers.
      void vscode.window.showInformationMessage(`Apply ${what} on ${h.label}?`, go).then(async (answer) => {
        if (answer !== go) return;
        try {
          if (!(await savedForApply(doc, h, false))) return;
          await previewAndApply(hosts, h, buildFix(doc, h, line));
        } catch (err) {
          void showError(`applying line ${line + 1} of ${doc.uri.path}`, 'Conntrack', err);
        }
      });
      return;
    }
  };

  return {
    disposables,
    commands: [
      { id: 'applyFile', run: applyFile },
      { id: 'compareWithLive', run: compareWithLive },
      { id: 'offerApplyLines', run: offerApplyLines },
    ],
  };
}
