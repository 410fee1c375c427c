/**
 * Completion, outline and folding for sysctl documents: thin adapters over
 * core/sysctl/editorModel.ts. On a host's file (`conntrack://`) keys come from the host's own
 * key list and values include the live value; offline from the key catalogue.
 */
import * as vscode from 'vscode';
import { commentBlocks, completeKeys, completeValues, completionSlot, outline } from '../../core/sysctl/editorModel';
import { canonicalKey } from '../../core/sysctl/catalog';
import { normalizeKey } from '../../core/sysctl/keys';
import { parseSysctl } from '../../core/sysctl/syntax';
import { documentContext } from './context';

async function provideCompletion(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.CompletionItem[]> {
  const text = doc.lineAt(pos.line).text;
  const slot = completionSlot(text, pos.character);
  if (!slot) return [];
  const ctx = await documentContext(doc);
  if (slot.slot === 'key') {
    const range = new vscode.Range(pos.line, slot.start, pos.line, Math.max(pos.character, wordEnd(text, pos.character)));
    return completeKeys(normalizeKey(slot.typed), ctx.host).map((k) => {
      const item = new vscode.CompletionItem({ label: k.key, description: k.detail }, vscode.CompletionItemKind.Property);
      item.range = range;
      item.documentation = new vscode.MarkdownString(k.documentation);
      item.insertText = k.key;
      item.filterText = k.key;
      return item;
    });
  }
  const key = canonicalKey(normalizeKey(slot.key));
  const live = ctx.liveValue ? await ctx.liveValue(key) : ctx.host?.liveValues?.get(key);
  const range = new vscode.Range(pos.line, slot.start, pos.line, slot.end);
  return completeValues(key, ctx.host, live).map((v, i) => {
    const item = new vscode.CompletionItem({ label: v.value, description: v.label }, vscode.CompletionItemKind.Value);
    item.range = range;
    item.insertText = v.value;
    item.detail = v.detail;
    item.sortText = String(i).padStart(3, '0');
    item.preselect = v.preselect;
    return item;
  });
}

function wordEnd(text: string, col: number): number {
  let end = col;
  while (end < text.length && /[\w.\-/]/.test(text[end] ?? '')) end++;
  return end;
}

function provideSymbols(doc: vscode.TextDocument): vscode.DocumentSymbol[] {
  return outline(parseSysctl(doc.getText())).map((g) => {
    const first = g.entries[0];
    const last = g.entries[g.entries.length - 1];
    const groupRange = new vscode.Range(first?.line ?? 0, 0, last?.line ?? 0, last?.lineLength ?? 0);
    const group = new vscode.DocumentSymbol(g.name, `${g.entries.length} key${g.entries.length === 1 ? '' : 's'}`, vscode.SymbolKind.Namespace, groupRange, new vscode.Range(first?.line ?? 0, 0, first?.line ?? 0, 0));
    group.children = g.entries.map((e) => new vscode.DocumentSymbol(
      e.key.slice(g.name.length + 1) || e.key,
      e.value,
      vscode.SymbolKind.Property,
      new vscode.Range(e.line, 0, e.line, e.lineLength),
      new vscode.Range(e.line, e.keyStart, e.line, e.keyEnd),
    ));
    return group;
  });
}

function provideFolding(doc: vscode.TextDocument): vscode.FoldingRange[] {
  return commentBlocks(parseSysctl(doc.getText())).map((r) => new vscode.FoldingRange(r.start, r.end, vscode.FoldingRangeKind.Comment));
}

export function registerEditorProviders(selector: vscode.DocumentSelector): vscode.Disposable[] {
  return [
    // `.` opens the next segment's keys, `=` the values.
    vscode.languages.registerCompletionItemProvider(selector, { provideCompletionItems: (d, p) => provideCompletion(d, p) }, '.', '='),
    vscode.languages.registerDocumentSymbolProvider(selector, { provideDocumentSymbols: (d) => provideSymbols(d) }, { label: 'sysctl' }),
    vscode.languages.registerFoldingRangeProvider(selector, { provideFoldingRanges: (d) => provideFolding(d) }),
  ];
}
