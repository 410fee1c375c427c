/**
 * A sysctl file on the real test host, in the editor: diagnostics with the host's context,
 * hovers with the live value, CodeLens, and a quick fix that — once applied on the host —
 * changes the live value (checked independently with `ctd-host exec`, inside the host's own
 * namespaces, not through the extension). Modal and notification answers are given by
 * replacing window.showWarningMessage / showInformationMessage (the API corner the
 * smoke-test driver hides); everything else is the real extension against the real host.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { after, before, describe, it } from './harness';
import { waitForEvent } from './waitFor';
import type { ConntrackDoctorApi } from '../../../src/extension/extension';
import type { HostEntry } from '../../../src/extension/hosts';

import { extensionWithTestHost, onHost } from './testHost';

const EST = 'net.netfilter.nf_conntrack_tcp_timeout_established';
const PATH = '/etc/sysctl.d/90-ctd-editor-test.conf';
const CONTENT = [
  '# written by test/vscode/suite/remote.spec.ts',
  'net.netfilter.nf_conntrack_max = 262144 # raised after the outage',
  'net.netfilter.nf_conntrack_tcp_timeout_establised = 3600',
  'net.netfilter.nf_conntrack_udp_timeout = 30',
  '',
].join('\n');

/** Runs a command inside the host (sshd's mount + net namespaces), independently of the product. */
const inHost = (args: string[], input?: string): string => onHost(args, input);

const codeOf = (d: vscode.Diagnostic): string => (typeof d.code === 'object' ? String(d.code.value) : String(d.code));

async function diagnosticsOf(uri: vscode.Uri, accept: (d: readonly vscode.Diagnostic[]) => boolean): Promise<readonly vscode.Diagnostic[]> {
  const current = (): readonly vscode.Diagnostic[] => vscode.languages.getDiagnostics(uri);
  if (accept(current())) return current();
  await waitForEvent(vscode.languages.onDidChangeDiagnostics, (e) => e.uris.some((u) => u.toString() === uri.toString()) && accept(current()), { what: `diagnostics of ${uri.toString()}`, timeoutMs: 30_000 });
  return current();
}

describe('a sysctl file on the host, in the editor', () => {
  let api: ConntrackDoctorApi;
  let uri: vscode.Uri;
  let liveBefore = '';
  const warnings: string[] = [];
  const infos: string[] = [];
  const originalWarning = vscode.window.showWarningMessage;
  const originalInfo = vscode.window.showInformationMessage;
  let answerWarning: (message: string) => string | undefined = () => undefined;
  let answerInfo: (message: string) => string | undefined = () => undefined;
  const infoShown = new vscode.EventEmitter<string>();

  let alias = '';

  before(async () => {
    let h: HostEntry;
    ({ api, host: h } = await extensionWithTestHost());
    alias = h.label;
    (vscode.window as { showWarningMessage: unknown }).showWarningMessage = (message: string, ...rest: unknown[]) => {
      const opts = rest[0] as { detail?: string } | undefined;
      warnings.push(`${message}\n${opts?.detail ?? ''}`);
      return Promise.resolve(answerWarning(message));
    };
    (vscode.window as { showInformationMessage: unknown }).showInformationMessage = (message: string) => {
      infos.push(message);
      infoShown.fire(message);
      return Promise.resolve(answerInfo(message));
    };
    inHost(['sh', '-c', `cat > ${PATH}`], CONTENT);
    liveBefore = inHost(['sysctl', '-n', EST]).trim();
    await vscode.commands.executeCommand('conntrack-doctor.refresh', h);
    assert.equal(h.status, 'connected', h.error);
    uri = vscode.Uri.from({ scheme: 'conntrack', authority: encodeURIComponent(h.id), path: PATH });
  });

  after(() => {
    (vscode.window as { showWarningMessage: unknown }).showWarningMessage = originalWarning;
    (vscode.window as { showInformationMessage: unknown }).showInformationMessage = originalInfo;
    infoShown.dispose();
    onHost(['rm', '-f', PATH]);
  });

  it('opens over SSH in the sysctl language with the expected diagnostics', async () => {
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'sysctl');
    assert.equal(doc.getText(), CONTENT);
    const diags = await diagnosticsOf(uri, (d) => d.some((x) => codeOf(x) === 'inline-comment') && d.some((x) => codeOf(x) === 'unknown-key'));
    const inline = diags.find((d) => codeOf(d) === 'inline-comment');
    // a one-number key: the kernel applies 262144 and ignores the comment (an accident: a warning)
    assert.equal(inline?.severity, vscode.DiagnosticSeverity.Warning);
    assert.match(inline?.message ?? '', /applies 262144/);
    assert.equal(inline?.range.start.line, 1);
    const typo = diags.find((d) => codeOf(d) === 'unknown-key');
    assert.equal(typo?.range.start.line, 2);
    assert.match(typo?.message ?? '', /Did you mean `net\.netfilter\.nf_conntrack_tcp_timeout_established`/);
  });

  it('hovers show the live value on the host', async () => {
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(3, 20));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    const live = inHost(['sysctl', '-n', 'net.netfilter.nf_conntrack_udp_timeout']).trim();
    assert.match(text, /net\.netfilter\.nf_conntrack_udp_timeout/);
    assert.ok(text.includes(`Live value on ${alias}: \`${live}\``), text);
  });

  it('CodeLens offers to apply the file on the host and to compare it with the live values', async () => {
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.includes(`$(play) Apply conntrack settings on ${alias}`), titles.join(' | '));
    assert.ok(titles.includes('$(diff) Compare with live'), titles.join(' | '));
    await vscode.commands.executeCommand('conntrack-doctor.compareWithLive', uri);
    const left = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'conntrack-live' && d.uri.path === PATH);
    assert.ok(left, 'the live side of the diff was not opened');
    // the udp line shows the live value; the file's own text is on the right
    assert.ok(left.getText().includes(`net.netfilter.nf_conntrack_udp_timeout = ${inHost(['sysctl', '-n', 'net.netfilter.nf_conntrack_udp_timeout']).trim()}`), left.getText());
  });

  it('the quick fix edits the file; applied on the host, the live value changes (checked over the host, not the extension)', async () => {
    assert.notEqual(liveBefore, '3600', 'the host already has the value this test sets');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const typo = (await diagnosticsOf(uri, (d) => d.some((x) => codeOf(x) === 'unknown-key'))).find((d) => codeOf(d) === 'unknown-key');
    assert.ok(typo);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, typo.range, vscode.CodeActionKind.QuickFix.value);
    const fix = actions.find((a) => a.isPreferred);
    assert.equal(fix?.title, `Change to ${EST}`);
    assert.ok(fix.edit && fix.command, 'the quick fix must edit the file and offer to apply it');
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    assert.equal(doc.lineAt(2).text, `${EST} = 3600`);

    // The offer, answered like a user: "Save and Apply on Host…", then "Apply" in the modal.
    answerInfo = (m) => (m.startsWith('Apply ') ? 'Save and Apply on Host…' : undefined);
    answerWarning = (m) => (m === `Set nf_conntrack_tcp_timeout_established to 3600 on ${alias}?` ? 'Apply' : undefined);
    const applied = waitForEvent(infoShown.event, (m) => /applied and verified|Conntrack:/.test(m), { what: 'the applied-and-verified notification', timeoutMs: 60_000 });
    await vscode.commands.executeCommand(fix.command.command, ...((fix.command.arguments ?? []) as unknown[]));
    assert.ok(infos.includes(`Apply ${EST} = 3600 on ${alias}?`), infos.join(' | '));
    assert.match(await applied, /applied and verified \(3600\)/);
    assert.ok(warnings.some((w) => w.startsWith(`Set nf_conntrack_tcp_timeout_established to 3600 on ${alias}?`)), warnings.join(' | '));

    assert.equal(inHost(['sysctl', '-n', EST]).trim(), '3600');
    assert.ok(inHost(['cat', PATH]).includes(`\n${EST} = 3600\n`), 'the fixed line was not saved on the host');
    assert.equal(doc.isDirty, false);
  }, { timeoutMs: 90_000 });

  it('the editor save left a change record with a backup; files outside the managed locations are refused (issue 11 item 7)', async () => {
    // Read on the host, not through the extension: the newest records, one of them the save.
    const records = inHost(['sh', '-c', 'for f in /var/lib/conntrack-doctor/changes/*.json; do cat "$f"; echo; done']);
    const saves = records.split('\n}\n').filter((r) => r.includes('"fixId": "edit-file"') && r.includes(`"path": "${PATH}"`));
    assert.equal(saves.length, 1, records);
    assert.match(saves[0] ?? '', /"state": "applied"/);
    const backup = /"backup": "([^"]+)"/.exec(saves[0] ?? '')?.[1] ?? '';
    assert.equal(inHost(['cat', backup]), CONTENT, 'the backup is the file as it was before the save');

    const shadow = uri.with({ path: '/etc/shadow' });
    await assert.rejects(Promise.resolve(vscode.workspace.openTextDocument(shadow)), (e: unknown) => /is not a location Conntrack Doctor manages \(sysctl\.conf, sysctl\.d, modprobe\.d, modules-load\.d/.test(String(e)));
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uri.with({ path: '/root/x' }), new TextEncoder().encode('x'))), /is not a location Conntrack Doctor manages/);
    assert.equal(inHost(['sh', '-c', 'test -e /root/x && echo yes || echo no']).trim(), 'no');
    // A managed name that is a symlink to an unmanaged file is refused too.
    inHost(['ln', '-sf', '/etc/shadow', '/etc/sysctl.d/91-ctd-link.conf']);
    try {
      await assert.rejects(Promise.resolve(vscode.workspace.openTextDocument(uri.with({ path: '/etc/sysctl.d/91-ctd-link.conf' }))), (e: unknown) => /"\/etc\/shadow" is not a location Conntrack Doctor manages/.test(String(e)));
    } finally {
      inHost(['rm', '-f', '/etc/sysctl.d/91-ctd-link.conf']);
    }
  }, { timeoutMs: 90_000 });

  it('Roll Back Last Change restores the live value', async () => {
    const h = api.hosts.get(alias);
    // The modal names the change, with the preview of what is restored and run open beside it.
    let previewAtModal: string | undefined;
    answerWarning = (m) => {
      if (!m.startsWith('Roll back change ')) return undefined;
      previewAtModal = vscode.window.visibleTextEditors.map((e) => e.document.getText()).find((t) => t.startsWith('# Roll back: '));
      return 'Roll Back';
    };
    const done = waitForEvent(infoShown.event, (m) => m.startsWith('Rolled back'), { what: 'the rolled-back notification', timeoutMs: 60_000 });
    await vscode.commands.executeCommand('conntrack-doctor.rollback', h);
    assert.match(await done, /Rolled back: Set nf_conntrack_tcp_timeout_established to 3600/);
    assert.ok(warnings.some((w) => /^Roll back change \d{8}T\d{6}Z-[0-9a-f]{6} \(Set nf_conntrack_tcp_timeout_established to 3600/.test(w)), warnings.join(' | '));
    assert.match(previewAtModal ?? '', new RegExp(`^# Roll back: Set nf_conntrack_tcp_timeout_established to 3600.* on ${alias}\n`), previewAtModal);
    assert.match(previewAtModal ?? '', new RegExp(`sysctl -w ${EST.replace(/\./g, '\\.')}=${liveBefore}`), previewAtModal);
    assert.equal(inHost(['sysctl', '-n', EST]).trim(), liveBefore);
  }, { timeoutMs: 90_000 });
});
