/**
 * The sysctl language inside a real VS Code: what the user sees in the editor — diagnostics
 * (with source, linked code, Unnecessary tag), hovers, quick fixes that edit the file, and
 * fix-all. Waits for diagnostics events; never sleeps.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { describe, it } from './harness';
import { waitForEvent } from './waitFor';
import { MAX_SHOWN_FINDINGS } from '../../../src/extension/sysctl/findingCap';
import { lintText } from '../../../src/core/sysctl/lint';
import { mistakeHeavySysctlFile } from '../../../harness/sysctl/largeFiles';

const extensionId = 'conntrack-doctor.conntrack-doctor';

/**
 * The workspace fixture, copied once into a temporary sysctl.d: the quick-fix tests edit it, and
 * an edit that reached the disk must never change the tracked fixture.
 */
let fixtureCopy: vscode.Uri | undefined;
async function openFixture(): Promise<vscode.TextDocument> {
  if (!fixtureCopy) {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder);
    const dir = join(mkdtempSync(join(tmpdir(), 'ctd-sysctl-spec-')), 'etc', 'sysctl.d');
    mkdirSync(dir, { recursive: true });
    fixtureCopy = vscode.Uri.file(join(dir, '90-conntrack.conf'));
    await vscode.workspace.fs.copy(vscode.Uri.joinPath(folder.uri, 'etc', 'sysctl.d', '90-conntrack.conf'), fixtureCopy);
  }
  const doc = await vscode.workspace.openTextDocument(fixtureCopy);
  await vscode.window.showTextDocument(doc);
  return doc;
}

async function diagnosticsOf(doc: vscode.TextDocument, accept: (d: readonly vscode.Diagnostic[]) => boolean): Promise<readonly vscode.Diagnostic[]> {
  const current = (): readonly vscode.Diagnostic[] => vscode.languages.getDiagnostics(doc.uri);
  if (accept(current())) return current();
  await waitForEvent(vscode.languages.onDidChangeDiagnostics, (e) => e.uris.some((u) => u.toString() === doc.uri.toString()) && accept(current()), { what: `diagnostics of ${doc.uri.path}`, timeoutMs: 15_000 });
  return current();
}

const codeOf = (d: vscode.Diagnostic): string => (typeof d.code === 'object' ? String(d.code.value) : String(d.code));

describe('sysctl files in the editor', () => {
  it('sysctl.d/*.conf opens in the sysctl language mode', async () => {
    await vscode.extensions.getExtension(extensionId)?.activate();
    const doc = await openFixture();
    assert.equal(doc.languageId, 'sysctl');
  });

  it('shows the expected diagnostics with source, linked code and the Unnecessary tag', async () => {
    const doc = await openFixture();
    const diags = await diagnosticsOf(doc, (d) => d.length >= 4);
    const byCode = new Map(diags.map((d) => [codeOf(d), d]));
    for (const code of ['inline-comment', 'unknown-key', 'legacy-key']) assert.ok(byCode.has(code), `missing ${code}: ${[...byCode.keys()].join(', ')}`);
    const inline = byCode.get('inline-comment');
    // a one-number key: the kernel applies 262144 and ignores the comment (an accident: a warning)
    assert.equal(inline?.severity, vscode.DiagnosticSeverity.Warning);
    assert.equal(inline?.source, 'conntrack-doctor');
    assert.equal(inline?.range.start.line, 2);
    const target = typeof inline?.code === 'object' ? inline.code.target : undefined;
    assert.match(target?.toString() ?? '', /docs\/rules\.md#inline-comment$/);
    assert.match(byCode.get('unknown-key')?.message ?? '', /Did you mean `net\.netfilter\.nf_conntrack_tcp_timeout_established`/);
    // the earlier of two lines for the same key is dead: faded (Unnecessary)
    const dup = byCode.get('duplicate-key');
    assert.equal(dup?.range.start.line, 5);
    assert.deepEqual(dup?.tags, [vscode.DiagnosticTag.Unnecessary]);
    // vm.swappiness is never called unknown offline
    assert.ok(!diags.some((d) => d.range.start.line === 6));
  });

  it('hover on a key explains it: default, unit, scope', async () => {
    const doc = await openFixture();
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(1, 20));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /net\.netfilter\.nf_conntrack_max/);
    assert.match(text, /initial \(host\) network namespace/);
    assert.match(text, /Maximum number of entries/);
  });

  it('the preferred quick fix edits the file and the diagnostic goes away', async () => {
    const doc = await openFixture();
    const diags = await diagnosticsOf(doc, (d) => d.some((x) => codeOf(x) === 'unknown-key'));
    const typo = diags.find((d) => codeOf(d) === 'unknown-key');
    assert.ok(typo);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, typo.range, vscode.CodeActionKind.QuickFix.value);
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, actions.map((a) => `${a.title}${a.isPreferred ? ' (preferred)' : ''}`).join(' | '));
    assert.equal(preferred[0]?.title, 'Change to net.netfilter.nf_conntrack_tcp_timeout_established');
    assert.ok(actions.some((a) => a.title === 'Disable unknown-key for this line'));
    const edit = preferred[0]?.edit;
    assert.ok(edit);
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(doc.lineAt(3).text, 'net.netfilter.nf_conntrack_tcp_timeout_established = 3600');
    await diagnosticsOf(doc, (d) => !d.some((x) => codeOf(x) === 'unknown-key'));
  });

  it('fix-all applies every preferred fix in one edit', async () => {
    const doc = await openFixture();
    await diagnosticsOf(doc, (d) => d.some((x) => codeOf(x) === 'legacy-key'));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), vscode.CodeActionKind.SourceFixAll.value);
    const all = actions.find((a) => a.kind?.value.startsWith('source.fixAll'));
    assert.ok(all?.edit, actions.map((a) => a.title).join(' | '));
    assert.ok(await vscode.workspace.applyEdit(all.edit));
    assert.match(doc.getText(), /# raised after the outage\nnet\.netfilter\.nf_conntrack_max = 262144\n/);
    assert.match(doc.getText(), /^net\.netfilter\.nf_conntrack_max = 65536$/m);
    await diagnosticsOf(doc, (d) => !d.some((x) => ['inline-comment', 'legacy-key'].includes(codeOf(x))));
    // leave the copy as it was on disk: revert this document (made the active editor first, since
    // the revert command acts on the active one), and check it took
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.equal(doc.isDirty, false, 'the fixture is still dirty after the revert');
  });

  it('a mistake-heavy 10,000-line file: the most severe findings shown, one line counting the rest, fix-all over all', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ctd-sysctl-big-')), 'etc', 'sysctl.d');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, '90-big.conf');
    const text = mistakeHeavySysctlFile();
    writeFileSync(path, text);
    try {
      const all = lintText('/etc/sysctl.d/90-big.conf', text);
      assert.ok(all.length > MAX_SHOWN_FINDINGS);
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
      await vscode.window.showTextDocument(doc);
      const diags = await diagnosticsOf(doc, (d) => d.length > 0);
      assert.equal(diags.length, MAX_SHOWN_FINDINGS + 1);
      const more = diags.filter((d) => d.message.includes('not shown'));
      assert.equal(more.length, 1);
      assert.equal(more[0]?.severity, vscode.DiagnosticSeverity.Information);
      assert.equal(more[0]?.source, 'conntrack-doctor');
      assert.match(more[0]?.message ?? '', new RegExp(`^${(all.length - MAX_SHOWN_FINDINGS).toLocaleString('en-US')} more findings not shown: the editor shows the ${MAX_SHOWN_FINDINGS} most severe of ${all.length.toLocaleString('en-US')}\\.`));
      // The shown ones are errors (the file has more errors than the cap), the first in the file.
      const shown = diags.filter((d) => d !== more[0]);
      assert.ok(shown.every((d) => d.severity === vscode.DiagnosticSeverity.Error));
      const firstErrors = all.filter((f) => f.severity === 'error').slice(0, MAX_SHOWN_FINDINGS);
      assert.deepEqual(shown.map((d) => `${d.range.start.line} ${codeOf(d)}`), firstErrors.map((f) => `${f.range.startLine} ${f.code}`));
      // Fix-all still works on every finding, shown or not.
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), vscode.CodeActionKind.SourceFixAll.value);
      const fixAll = actions.find((a) => a.kind?.value.startsWith('source.fixAll'));
      const count = Number(/\((\d+)\)$/.exec(fixAll?.title ?? '')?.[1]);
      assert.ok(count > MAX_SHOWN_FINDINGS, fixAll?.title);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    } finally {
      rmSync(join(dir, '..', '..'), { recursive: true, force: true });
    }
  }, { timeoutMs: 90_000 });
});
