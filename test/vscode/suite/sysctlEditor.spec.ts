/**
 * The sysctl editor's completion, outline and folding inside a real VS Code, through the same
 * commands the editor uses (vscode.executeCompletionItemProvider, …): on a file of the
 * workspace (offline: the key catalogue) and on a file of the real test host (`conntrack://`:
 * the host's own key list and live values, checked independently with `ctd-host exec`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { after, before, describe, it } from './harness';
import { extensionWithTestHost, onHost } from './testHost';

const EST = 'net.netfilter.nf_conntrack_tcp_timeout_established';
const UDP = 'net.netfilter.nf_conntrack_udp_timeout';

const labelOf = (i: vscode.CompletionItem): string => (typeof i.label === 'string' ? i.label : i.label.label);
const descriptionOf = (i: vscode.CompletionItem): string => (typeof i.label === 'string' ? '' : i.label.description ?? '');
const docOf = (i: vscode.CompletionItem | undefined): string => (i?.documentation instanceof vscode.MarkdownString ? i.documentation.value : String(i?.documentation ?? ''));

/** Completion at the end of `prefix` on the line of `doc` that starts with it. */
async function completeAt(doc: vscode.TextDocument, line: number, col: number): Promise<vscode.CompletionItem[]> {
  const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, new vscode.Position(line, col));
  return list.items;
}

function lineStarting(doc: vscode.TextDocument, prefix: string): number {
  for (let i = 0; i < doc.lineCount; i++) if (doc.lineAt(i).text.startsWith(prefix)) return i;
  assert.fail(`no line starts with ${prefix}`);
}

async function symbolsOf(uri: vscode.Uri): Promise<vscode.DocumentSymbol[]> {
  return vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', uri);
}

/** A local file of this spec's own (the workspace fixture is edited by other specs). */
const LOCAL = [
  '# conntrack tuning',
  'net.netfilter.nf_conntrack_max = 131072',
  'net.netfilter.nf_conntrack_max = 262144 # raised after the outage',
  'net.netfilter.nf_conntrack_tcp_timeout_establised = 3600',
  'net.ipv4.netfilter.ip_conntrack_max = 65536',
  'vm.swappiness = 10',
  '',
].join('\n');

describe('sysctl editor: completion, outline and folding on a local file (key catalogue)', () => {
  let doc: vscode.TextDocument;
  let dir = '';
  before(async () => {
    await vscode.extensions.getExtension('conntrack-doctor.conntrack-doctor')?.activate();
    dir = mkdtempSync(join(tmpdir(), 'ctd-editor-spec-'));
    mkdirSync(join(dir, 'sysctl.d'));
    writeFileSync(join(dir, 'sysctl.d', '90-conntrack.conf'), LOCAL);
    doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(dir, 'sysctl.d', '90-conntrack.conf')));
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'sysctl');
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('typing net.netfilter.nf_conntrack_t offers the timeouts with meaning, unit and default', async () => {
    const line = lineStarting(doc, 'net.netfilter.nf_conntrack_tcp_timeout_establised');
    const items = await completeAt(doc, line, 'net.netfilter.nf_conntrack_t'.length);
    const est = items.find((i) => labelOf(i) === EST);
    assert.ok(est, items.map(labelOf).slice(0, 10).join(', '));
    assert.match(descriptionOf(est), /seconds · default 432,000 \(5 days\)/);
    assert.match(docOf(est), /Idle timeout for ESTABLISHED TCP entries/);
    // the completion replaces the whole key being typed
    assert.ok(est.range instanceof vscode.Range && est.range.start.character === 0, 'range starts at the key');
    assert.ok(!items.some((i) => labelOf(i) === 'net.netfilter.nf_conntrack_helper'), 'a removed key is not offered');
  });

  it('keys of other subsystems come from the catalogue too', async () => {
    const line = lineStarting(doc, 'vm.swappiness');
    const items = await completeAt(doc, line, 'vm.sw'.length);
    assert.ok(items.some((i) => labelOf(i) === 'vm.swappiness' && /rough relative IO cost/.test(docOf(i))), items.map(labelOf).slice(0, 10).join(', '));
  });

  it('after `=` the values: the recommendation and the kernel default (no host here, so no live value)', async () => {
    const untitled = await vscode.workspace.openTextDocument({ language: 'sysctl', content: `${EST} = \nnet.netfilter.nf_conntrack_tcp_timeout_establised = \n` });
    const items = await completeAt(untitled, 0, untitled.lineAt(0).text.length);
    assert.deepEqual(items.map((i) => `${labelOf(i)} ${descriptionOf(i)}`), ['86400 recommended', '432000 kernel default']);
    assert.equal(items[0]?.preselect, true);
    assert.deepEqual((await completeAt(untitled, 1, untitled.lineAt(1).text.length)).map(labelOf), [], 'a misspelled key offers no values');
  });

  it('the outline groups the keys by subsystem', async () => {
    const symbols = await symbolsOf(doc.uri);
    assert.deepEqual(symbols.map((s) => s.name), ['net.netfilter', 'net.ipv4', 'vm']);
    const nf = symbols[0];
    assert.deepEqual(nf?.children.map((c) => c.name), ['nf_conntrack_max', 'nf_conntrack_max', 'nf_conntrack_tcp_timeout_establised']);
    assert.equal(nf?.children[0]?.detail, '131072');
  });

  it('comment blocks fold', async () => {
    const untitled = await vscode.workspace.openTextDocument({ language: 'sysctl', content: '# conntrack sizing\n# for 16 GiB hosts\nnet.netfilter.nf_conntrack_max = 524288\n' });
    const ranges = await vscode.commands.executeCommand<vscode.FoldingRange[]>('vscode.executeFoldingRangeProvider', untitled.uri);
    assert.ok(ranges.some((r) => r.start === 0 && r.end === 1 && r.kind === vscode.FoldingRangeKind.Comment), JSON.stringify(ranges));
    const values = await completeAt(untitled, 2, untitled.lineAt(2).text.length);
    assert.ok(values.length === 0 || values.every((v) => descriptionOf(v) !== 'live value'), 'no live value without a host');
  });
});

describe('sysctl editor: completion and outline on a host file (conntrack://, the host\'s keys and live values)', () => {
  const PATH = '/etc/sysctl.d/91-ctd-editor-completion.conf';
  const CONTENT = ['# written by test/vscode/suite/sysctlEditor.spec.ts', 'net.netfilter.nf_conntrack_t', `${UDP} = `, 'vm.swappiness = 10', ''].join('\n');
  let uri: vscode.Uri;

  before(async () => {
    const { host: h } = await extensionWithTestHost();
    onHost(['sh', '-c', `cat > ${PATH}`], CONTENT);
    await vscode.commands.executeCommand('conntrack-doctor.refresh', h);
    assert.equal(h.status, 'connected', h.error);
    uri = vscode.Uri.from({ scheme: 'conntrack', authority: encodeURIComponent(h.id), path: PATH });
  });

  after(() => {
    onHost(['rm', '-f', PATH]);
  });

  it('key completion offers exactly the host\'s keys, with their live values', async () => {
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const items = await completeAt(doc, 1, doc.lineAt(1).text.length);
    const offered = items.map(labelOf).filter((k) => k.startsWith('net.netfilter.')).sort();
    // every file under /proc/sys/net/netfilter, as a dotted key (a '.' inside a name becomes '/')
    const onTheHost = onHost(['find', '/proc/sys/net/netfilter', '-type', 'f']).trim().split('\n')
      .map((p) => p.replace('/proc/sys/', '').split('/').map((seg) => seg.replace(/\./g, '/')).join('.')).sort();
    assert.deepEqual(offered, onTheHost);
    const live = onHost(['sysctl', '-n', EST]).trim();
    assert.ok(docOf(items.find((i) => labelOf(i) === EST)).includes(`| live | ${live} |`), docOf(items.find((i) => labelOf(i) === EST)));
  }, { timeoutMs: 60_000 });

  it('after `=` the host\'s live value is offered next to the default', async () => {
    const doc = await vscode.workspace.openTextDocument(uri);
    const items = await completeAt(doc, 2, doc.lineAt(2).text.length);
    const live = onHost(['sysctl', '-n', UDP]).trim();
    const liveItem = items.find((i) => labelOf(i) === live);
    assert.ok(liveItem, items.map((i) => `${labelOf(i)} (${descriptionOf(i)})`).join(' | '));
    assert.match(descriptionOf(liveItem), /live value/);
  }, { timeoutMs: 60_000 });

  it('the outline works on the host file', async () => {
    const symbols = await symbolsOf(uri);
    assert.deepEqual(symbols.map((s) => s.name), ['net.netfilter', 'vm']);
  });
});
