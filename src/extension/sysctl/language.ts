/**
 * The sysctl language features, all adapters over the core linter and catalog:
 * diagnostics as you type (debounced), hovers, inline live values, quick fixes,
 * "disable for this line" and source.fixAll; completion, outline and folding live in
 * editorProviders.ts.
 */
import * as vscode from 'vscode';
import { lintFiles, type LintFinding } from '../../core/sysctl/lint';
import type { LintFix } from '../../core/fix/model';
import { changedAssignmentLines } from '../../core/fix/applyFile';
import { applyTextEdits } from '../../core/textEdits';
import { lintFixFileContent } from '../../core/fix/lintFixFiles';
import { EXPORT_ANSIBLE_COMMAND, EXPORT_ANSIBLE_TITLE } from '../ansible';
import { assignments, parseSysctl, suppressedCodes } from '../../core/sysctl/syntax';
import { CATALOG, LEGACY_KEYS, canonicalKey, kernelDocUrl } from '../../core/sysctl/catalog';
import { lookupSysctl } from '../../core/sysctl/keyCatalog';
import { describeKey } from '../../core/sysctl/editorModel';
import { kernelWrite, normalizeLiveValue } from '../../core/sysctl/kernelWrite';
import type { Range as CoreRange, Severity } from '../../core/types';
import { documentContext, type DocumentContext } from './context';
import { registerEditorProviders } from './editorProviders';
import { capFindings, hiddenFindingsMessage } from './findingCap';
import { readSettings } from '../settings';
import type { CommandSpec } from '../commands';
import { log } from '../log';

export const LANGUAGE_ID = 'sysctl';
export const DIAGNOSTIC_SOURCE = 'conntrack-doctor';
const DEBOUNCE_MS = 250;

function toRange(r: CoreRange): vscode.Range {
  return new vscode.Range(r.startLine, r.startCol, r.endLine, r.endCol);
}

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

interface LintState {
  readonly version: number;
  readonly findings: readonly LintFinding[];
  readonly ctx: DocumentContext;
}

export class SysctlLanguage implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection(DIAGNOSTIC_SOURCE);
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly state = new Map<string, LintState>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri) {
    const selector: vscode.DocumentSelector = { language: LANGUAGE_ID };
    this.disposables.push(
      this.collection,
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document, DEBOUNCE_MS)),
      vscode.workspace.onDidCloseTextDocument((d) => this.forget(d)),
      vscode.languages.registerHoverProvider(selector, { provideHover: (d, p) => this.hover(d, p) }),
      vscode.languages.registerInlayHintsProvider(selector, { provideInlayHints: (d, r) => this.inlayHints(d, r) }),
      vscode.languages.registerCodeActionsProvider(selector, { provideCodeActions: (d, r, c) => this.codeActions(d, r, c) }, {
        providedCodeActionKinds: [vscode.CodeActionKind.QuickFix, vscode.CodeActionKind.SourceFixAll],
      }),
      ...registerEditorProviders(selector),
    );
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  /** Rows of the command table: Show Rule Documentation (the quick fix "Show documentation for …"). */
  commands(): CommandSpec[] {
    return [{ id: 'showRuleDoc', run: (code: unknown) => (typeof code === 'string' ? this.showDoc(code) : undefined) }];
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }

  /** Re-lint every open sysctl document (host context changed, settings changed). */
  refreshAll(): void {
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  private schedule(doc: vscode.TextDocument, delay: number): void {
    if (doc.languageId !== LANGUAGE_ID) return;
    const key = doc.uri.toString();
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      void this.lint(doc).catch((err: unknown) => log.error(`linting ${doc.uri.toString()}`, err));
    }, delay));
  }

  private forget(doc: vscode.TextDocument): void {
    this.collection.delete(doc.uri);
    this.state.delete(doc.uri.toString());
  }

  private docUri(code: string): vscode.Uri {
    return vscode.Uri.joinPath(this.extensionUri, 'docs', 'rules.md').with({ fragment: code });
  }

  async lint(doc: vscode.TextDocument): Promise<readonly LintFinding[]> {
    const version = doc.version;
    const ctx = await documentContext(doc);
    const text = doc.getText();
    const settings = readSettings(doc.uri);
    // Live values of the keys this file sets (drift), when the host is known.
    let liveValues: Map<string, string> | undefined;
    if (ctx.host?.liveValues) liveValues = new Map(ctx.host.liveValues);
    else if (ctx.liveValue) {
      liveValues = new Map();
      for (const a of assignments(parseSysctl(text))) {
        if (a.glob) continue;
        const v = await ctx.liveValue(canonicalKey(a.normalizedKey));
        if (v !== undefined) liveValues.set(canonicalKey(a.normalizedKey), v);
      }
    }
    const findings = lintFiles([...ctx.siblings, { path: ctx.hostPath, content: text }], {
      targets: [ctx.hostPath],
      ...(settings.lintLoader === 'both' ? {} : { loaders: [settings.lintLoader] }),
      ...(ctx.boot ? { boot: ctx.boot } : {}),
      context: { ...(ctx.host ?? {}), ...(liveValues ? { liveValues } : {}) },
      memoryBudgetPercent: settings.memoryBudgetPercent,
    });
    if (doc.isClosed || doc.version !== version) return findings; // a newer run will publish
    this.state.set(doc.uri.toString(), { version, findings, ctx });
    // Every finding stays in the state (fix-all, quick fixes); the window gets the most severe few hundred.
    const { shown, hidden } = capFindings(findings);
    const diagnostics = shown.map((f) => this.toDiagnostic(f, ctx));
    if (hidden > 0) {
      const more = new vscode.Diagnostic(new vscode.Range(0, 0, 0, doc.lineAt(0).text.length), hiddenFindingsMessage(findings.length, hidden), vscode.DiagnosticSeverity.Information);
      more.source = DIAGNOSTIC_SOURCE;
      diagnostics.push(more);
    }
    this.collection.set(doc.uri, diagnostics);
    return findings;
  }

  private toDiagnostic(f: LintFinding, ctx: DocumentContext): vscode.Diagnostic {
    const d = new vscode.Diagnostic(toRange(f.range), f.message, SEVERITY[f.severity]);
    d.source = DIAGNOSTIC_SOURCE;
    d.code = { value: f.code, target: this.docUri(f.code) };
    if (f.unnecessary) d.tags = [vscode.DiagnosticTag.Unnecessary];
    if (f.related.length > 0) {
      d.relatedInformation = f.related.map((r) => new vscode.DiagnosticRelatedInformation(new vscode.Location(ctx.uriFor(r.path), toRange(r.range)), r.message));
    }
    return d;
  }

  private findingsFor(doc: vscode.TextDocument): LintState | undefined {
    const s = this.state.get(doc.uri.toString());
    return s && s.version === doc.version ? s : undefined;
  }

  async hover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const line = parseSysctl(doc.lineAt(pos.line).text).lines[0];
    if (line?.kind !== 'assignment' || pos.character < line.key.start || pos.character > line.key.end) return undefined;
    const key = line.normalizedKey;
    const legacy = LEGACY_KEYS.get(key);
    const canonical = canonicalKey(legacy ?? key);
    const known = CATALOG.has(canonical) || lookupSysctl(canonical) !== undefined;
    const md = new vscode.MarkdownString();
    if (legacy) md.appendMarkdown(`**${key}** — removed; the key today is \`${legacy}\`.\n\n`);
    if (!known) {
      md.appendMarkdown(`**${key}** — not a known sysctl key.\n`);
      return new vscode.Hover(md, new vscode.Range(pos.line, line.key.start, pos.line, line.key.end));
    }
    const ctx = this.findingsFor(doc)?.ctx ?? (await documentContext(doc));
    const live = ctx.liveValue ? await ctx.liveValue(canonical) : ctx.host?.liveValues?.get(canonical);
    const d = describeKey(canonical);
    md.appendMarkdown(`**${canonical}**${key !== canonical && !legacy ? ` (alias \`${key}\`)` : ''}\n\n`);
    if (d.summary) md.appendMarkdown(`${d.summary}\n\n`);
    if (d.rows.length > 0) md.appendMarkdown(`| | |\n|---|---|\n${d.rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`).join('\n')}\n`);
    if (live !== undefined) md.appendMarkdown(`\nLive value on ${ctx.hostLabel ?? 'the host'}: \`${live}\`${live.trim() !== line.value.text.trim() ? ' (differs from this line)' : ''}\n`);
    md.appendMarkdown(`\n[Kernel documentation](${kernelDocUrl(canonical)})`);
    return new vscode.Hover(md, new vscode.Range(pos.line, line.key.start, pos.line, line.key.end));
  }

  async inlayHints(doc: vscode.TextDocument, range: vscode.Range): Promise<vscode.InlayHint[]> {
    const ctx = this.findingsFor(doc)?.ctx ?? (await documentContext(doc));
    if (!ctx.liveValue && !ctx.host?.liveValues) return [];
    const hints: vscode.InlayHint[] = [];
    for (const a of assignments(parseSysctl(doc.getText()))) {
      if (a.glob || a.line < range.start.line || a.line > range.end.line) continue;
      const key = canonicalKey(a.normalizedKey);
      if (!CATALOG.has(key)) continue;
      const live = ctx.liveValue ? await ctx.liveValue(key) : ctx.host?.liveValues?.get(key);
      if (live === undefined) continue;
      // `7200 # note` holds 7200: compare what the kernel would hold, not the text.
      const written = kernelWrite(key, a.value.text);
      if (written.accepted && normalizeLiveValue(written.applied) === normalizeLiveValue(live)) continue;
      const hint = new vscode.InlayHint(new vscode.Position(a.line, a.text.length), `  live: ${live}`, vscode.InlayHintKind.Parameter);
      hint.tooltip = `The live value on ${ctx.hostLabel ?? 'the host'} differs from this line.`;
      hint.paddingLeft = true;
      hints.push(hint);
    }
    return hints;
  }

  async codeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): Promise<vscode.CodeAction[]> {
    const state = this.findingsFor(doc);
    if (!state) return [];
    const actions: vscode.CodeAction[] = [];
    const wantsFixAll = context.only?.contains(vscode.CodeActionKind.SourceFixAll) ?? false;
    if (wantsFixAll || context.only === undefined || vscode.CodeActionKind.Source.contains(context.only)) {
      const all = this.fixAll(doc, state);
      if (all) actions.push(all);
      if (wantsFixAll) return actions;
    }
    for (const diag of context.diagnostics) {
      if (diag.source !== DIAGNOSTIC_SOURCE) continue;
      const code = typeof diag.code === 'object' ? String(diag.code.value) : String(diag.code);
      const finding = state.findings.find((f) => f.code === code && toRange(f.range).isEqual(diag.range));
      if (!finding) continue;
      for (const fx of finding.fixes) {
        const action = new vscode.CodeAction(fx.title, vscode.CodeActionKind.QuickFix);
        action.edit = await this.toWorkspaceEdit(doc, fx, state.ctx);
        action.diagnostics = [diag];
        action.isPreferred = fx.preferred;
        // A file of a connected host: once the line is fixed, offer to apply it there too.
        if (state.ctx.host && doc.uri.scheme !== 'file' && fx.edits.length > 0) {
          const lines = changedAssignmentLines(doc.getText(), applyTextEdits(doc.getText(), fx.edits));
          if (lines.length > 0) action.command = { command: 'conntrack-doctor.offerApplyLines', title: 'Offer to apply on the host', arguments: [doc.uri.toString(), lines] };
        }
        actions.push(action);
        if (state.ctx.host && doc.uri.scheme !== 'file') {
          const exportAction = new vscode.CodeAction(`${fx.title}: ${EXPORT_ANSIBLE_TITLE}`, vscode.CodeActionKind.QuickFix);
          exportAction.diagnostics = [diag];
          exportAction.command = { command: EXPORT_ANSIBLE_COMMAND, title: EXPORT_ANSIBLE_TITLE, arguments: [{ kind: 'lint-fix', uri: doc.uri.toString(), fix: fx }] };
          actions.push(exportAction);
        }
      }
      actions.push(this.disableAction(doc, diag, code));
      const docAction = new vscode.CodeAction(`Show documentation for ${code}`, vscode.CodeActionKind.QuickFix);
      docAction.command = { command: 'conntrack-doctor.showRuleDoc', title: 'Show rule documentation', arguments: [code] };
      docAction.diagnostics = [diag];
      actions.push(docAction);
    }
    return actions;
  }

  private disableAction(doc: vscode.TextDocument, diag: vscode.Diagnostic, code: string): vscode.CodeAction {
    const action = new vscode.CodeAction(`Disable ${code} for this line`, vscode.CodeActionKind.QuickFix);
    action.diagnostics = [diag];
    const edit = new vscode.WorkspaceEdit();
    const lineNo = diag.range.start.line;
    const above = lineNo > 0 ? parseSysctl(doc.lineAt(lineNo - 1).text).lines[0] : undefined;
    const existing = above ? suppressedCodes(above) : new Set<string>();
    if (above && existing.size > 0 && lineNo > 0) {
      edit.replace(doc.uri, doc.lineAt(lineNo - 1).range, `${/^\s*/.exec(doc.lineAt(lineNo - 1).text)?.[0] ?? ''}# conntrack-doctor: disable=${[...existing, code].join(',')}`);
    } else {
      const indent = /^\s*/.exec(doc.lineAt(lineNo).text)?.[0] ?? '';
      edit.insert(doc.uri, new vscode.Position(lineNo, 0), `${indent}# conntrack-doctor: disable=${code}${doc.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n'}`);
    }
    action.edit = edit;
    return action;
  }

  private async toWorkspaceEdit(doc: vscode.TextDocument, fx: LintFix, ctx: DocumentContext): Promise<vscode.WorkspaceEdit> {
    const edit = new vscode.WorkspaceEdit();
    for (const e of fx.edits) edit.replace(doc.uri, toRange(e.range), e.newText);
    for (const f of fx.files ?? []) {
      const uri = ctx.uriFor(f.path);
      const existing = await this.existingContent(uri, f.path, ctx);
      const after = lintFixFileContent(existing, f.content);
      if (after === undefined) continue;
      if (existing === undefined) {
        edit.createFile(uri, { ignoreIfExists: true, contents: new TextEncoder().encode(after) });
      } else {
        const lines = existing.split('\n');
        const last = lines.length - 1;
        edit.insert(uri, new vscode.Position(last, lines[last]?.length ?? 0), after.slice(existing.length));
      }
    }
    return edit;
  }

  /**
   * The current content of a file a fix creates or extends. The host's snapshot already holds
   * every file of the boot directories, so a code action on a host file costs no round trip
   * (the lightbulb must not wait for SSH); other files are read.
   */
  private async existingContent(uri: vscode.Uri, path: string, ctx: DocumentContext): Promise<string | undefined> {
    const known = [...(ctx.boot?.modulesLoad ?? []), ...(ctx.boot?.modprobe ?? []), ...ctx.siblings].find((f) => f.path === path);
    if (known) return known.content;
    if (ctx.host && ctx.boot && /^\/etc\/(modules-load|modprobe)\.d\//.test(path)) return undefined;
    try {
      return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      return undefined;
    }
  }

  /** Every preferred fix whose edits do not overlap another's (one action). */
  private fixAll(doc: vscode.TextDocument, state: LintState): vscode.CodeAction | undefined {
    const chosen: LintFix[] = [];
    // Taken ranges by every line they touch: two ranges that meet share a line, so a fix is checked
    // against its own lines only (VS Code asks on each cursor move; a 10,000-line file has 10,000 fixes).
    const taken = new Map<number, vscode.Range[]>();
    const onLines = (r: vscode.Range): vscode.Range[] => {
      const out: vscode.Range[] = [];
      for (let l = r.start.line; l <= r.end.line; l++) out.push(...(taken.get(l) ?? []));
      return out;
    };
    for (const f of state.findings) {
      const fx = f.fixes.find((x) => x.preferred && (x.files ?? []).length === 0);
      if (!fx) continue;
      const ranges = fx.edits.map((e) => toRange(e.range));
      if (ranges.some((r) => onLines(r).some((t) => editsConflict(t, r)))) continue;
      for (const r of ranges) {
        for (let l = r.start.line; l <= r.end.line; l++) {
          const list = taken.get(l);
          if (list) list.push(r);
          else taken.set(l, [r]);
        }
      }
      chosen.push(fx);
    }
    if (chosen.length === 0) return undefined;
    const action = new vscode.CodeAction(`Fix all conntrack-doctor problems (${chosen.length})`, vscode.CodeActionKind.SourceFixAll.append('conntrack-doctor'));
    const edit = new vscode.WorkspaceEdit();
    for (const fx of chosen) for (const e of fx.edits) edit.replace(doc.uri, toRange(e.range), e.newText);
    action.edit = edit;
    return action;
  }

  private async showDoc(code: string): Promise<void> {
    const uri = vscode.Uri.joinPath(this.extensionUri, 'docs', 'rules.md');
    const doc = await vscode.workspace.openTextDocument(uri);
    const line = doc.getText().split('\n').findIndex((l) => l === `## ${code}`);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(Math.max(0, line), 0, Math.max(0, line), 0), preview: true });
  }
}

/**
 * Two edits of one fix-all conflict when they overlap, when an insertion lands strictly inside
 * the other's range, or when both insert at the same place. Edits that only touch (deleting a
 * line up to the start of the next, and inserting at that start) do not.
 */
function editsConflict(a: vscode.Range, b: vscode.Range): boolean {
  const i = a.intersection(b);
  if (!i) return false;
  if (!i.isEmpty) return true;
  if (a.isEmpty && b.isEmpty) return a.isEqual(b);
  const [insert, other] = a.isEmpty ? [a, b] : b.isEmpty ? [b, a] : [undefined, undefined];
  return insert !== undefined && other !== undefined && insert.start.isAfter(other.start) && insert.start.isBefore(other.end);
}
