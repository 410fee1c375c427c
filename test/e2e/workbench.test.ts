/**
 * End to end, like a user: headless Chromium drives code-server (no smoke-test driver: toasts
 * and modal dialogs are real DOM that gets clicked) with Conntrack Doctor installed from this
 * working tree, against a real test host in trouble (harness/host/ctd-host, name `e2e`). What the
 * extension claims is checked on the host itself — `ctd-host exec e2e …` (inside the namespace)
 * or the system ssh client — never through the extension.
 *
 *   node scripts/run-node-tests.mjs test/e2e
 *   CTD_E2E_DOC_IMAGES=1 node scripts/run-node-tests.mjs test/e2e   # also refresh docs/images/e2e-*.png
 *
 * Screenshots of every step: test-output/e2e/NN-name.png (NN-name-failure.png, code-server.log
 * and workbench-console.log when a step fails). Needs root and `bash scripts/vscode/install.sh`.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { CAUSES } from '../../src/core/host/diagnosis';
import { repoRoot } from '../../harness/vscode/paths';
import {
  activeEditorLines, activeEditorText, clickDialogButton, clickNotificationButton, clickTreeRow, collapseViewSection, dismissHover, expandTreeRow, hoverEditorText,
  notificationMessages, openQuickFixMenu, openViewContainer, pickCodeAction, pickQuickPickItem, quickPickLabels, readTreeRows,
  runPaletteCommand, squigglesByLine, treeChildren, waitForActiveEditorTab, waitForDialog, waitForNotification,
  waitForOutputChannel, waitForOutputText, waitForQuickPick, waitForTreeRow, webviewAttribute, webviewText, type TreeRow,
} from '../../harness/vscode/workbenchUi';
import { retryUntil } from '../../harness/poll';
import { ARTIFACTS, HOST_ALIAS, startE2e, type E2eEnv } from './env';

const VIEW = 'Hosts';
const ESTABLISHED = 'net.netfilter.nf_conntrack_tcp_timeout_established';
const TYPO_KEY = 'net.netfilter.nf_conntrack_tcp_timeout_establised';
const FIX_TITLE = `Change to ${ESTABLISHED}`;
/** Entries that come and go on their own (our SSH connections) between two readings. */
const COUNT_SLACK = 5;

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

let env: E2eEnv | undefined;
const started = Date.now();

function theEnv(): E2eEnv {
  if (!env) throw new Error('the end-to-end environment did not start (see the before hook)');
  return env;
}

/** Runs a flow; saves test-output/e2e/<name>.png after it, <name>-failure.png and the logs if it fails. */
async function flow(t: TestContext, name: string, fn: (e: E2eEnv) => Promise<void>): Promise<void> {
  const e = theEnv();
  const begun = Date.now();
  try {
    await fn(e);
    await e.screenshot(name);
  } catch (err) {
    await e.screenshot(`${name}-failure`).catch(() => undefined);
    e.saveLogs();
    throw err;
  } finally {
    const ms = Date.now() - begun;
    t.diagnostic(`${name}: ${ms} ms`);
    log(`e2e: flow ${name}: ${ms} ms`);
  }
}

const palette = (id: string, title: string): { id: string; label: string } => ({ id, label: `Conntrack: ${title}` });

/** "3,003 / 262,144 (1.1 %)" → numbers. */
function parseUsage(description: string): { count: number; max: number; percent: number } {
  const m = /^([\d,]+) \/ ([\d,]+) \(([\d.]+) %\)$/.exec(description);
  assert.ok(m, `the entries row reads "${description}", expected "N / M (x %)"`);
  const int = (s: string | undefined): number => Number((s ?? '').replace(/,/g, ''));
  return { count: int(m[1]), max: int(m[2]), percent: Number(m[3]) };
}

function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= COUNT_SLACK, `${what}: ${actual}, the host says ${expected} (±${COUNT_SLACK})`);
}

async function hostMax(e: E2eEnv): Promise<number> {
  return Number((await e.host.execOk(['cat', '/proc/sys/net/netfilter/nf_conntrack_max'])).trim());
}

/** The rows of the Usage group's "entries" leaf (the Entries group further down has other rows). */
async function usageEntriesRow(e: E2eEnv, accept: (row: TreeRow) => boolean, timeoutMs = 60_000): Promise<TreeRow> {
  return retryUntil('Usage › entries row', timeoutMs, async () => {
    const row = treeChildren(await readTreeRows(e.page, VIEW), 'Usage').find((r) => r.label === 'entries');
    return row && accept(row) ? row : undefined;
  });
}

/** Cause rows under Findings, with their finding titles. */
async function findingsByCause(e: E2eEnv): Promise<Map<string, string[]>> {
  const rows = await readTreeRows(e.page, VIEW);
  const out = new Map<string, string[]>();
  for (const cause of treeChildren(rows, 'Findings')) out.set(cause.label, treeChildren(rows, cause.label).map((r) => r.label));
  return out;
}

function copyDocImage(from: string, to: string): void {
  const target = join(repoRoot, 'docs/images', to);
  mkdirSync(join(repoRoot, 'docs/images'), { recursive: true });
  copyFileSync(join(ARTIFACTS, from), target);
  const kb = statSync(target).size / 1024;
  assert.ok(kb < 300, `${target} is ${kb.toFixed(0)} KB (keep README images under 300 KB)`);
  log(`e2e: docs/images/${to} (${kb.toFixed(0)} KB)`);
}

describe('Conntrack Doctor in a real VS Code against a real host', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    env = await startE2e(log);
  }, { timeout: 6 * 60_000 });

  after(async () => {
    if (process.env['CTD_E2E_DOC_IMAGES'] === '1') {
      copyDocImage('03-quickfix-menu.png', 'e2e-quickfix.png');
      copyDocImage('04-flush-confirm.png', 'e2e-flush-confirm.png');
    }
    await env?.close();
    env = undefined;
    log(`e2e: total ${Date.now() - started} ms`);
  }, { timeout: 2 * 60_000 });

  test('1. the Conntrack view lists the host; it connects and shows usage and findings', { timeout: 4 * 60_000 }, async (t) => {
    await flow(t, '01-conntrack-view', async (e) => {
      await openViewContainer(e.page, 'Conntrack', 120_000);
      // The Fleet view (no Prometheus here) is collapsed, as a user without one would: the
      // Hosts view then shows the whole host (the flows read the rows on screen).
      await collapseViewSection(e.page, 'Fleet');
      const row = await waitForTreeRow(e.page, VIEW, HOST_ALIAS, 60_000);
      assert.equal(row.description, 'disconnected');
      await clickTreeRow(e.page, VIEW, HOST_ALIAS);
      const connected = await waitForTreeRow(e.page, VIEW, HOST_ALIAS, 90_000, (r) => /^[\d.]+ %$/.test(r.description));
      // The host's children (Usage, Findings, …) are shown once the row is expanded.
      await expandTreeRow(e.page, VIEW, HOST_ALIAS);
      const entries = await usageEntriesRow(e, () => true);
      const usage = parseUsage(entries.description);
      const [count, max, stats] = await Promise.all([e.conntrackCount(), hostMax(e), e.host.conntrackStats()]);
      near(usage.count, count, 'Usage › entries count');
      assert.equal(usage.max, max, 'Usage › entries max = nf_conntrack_max');
      assert.ok(Math.abs(usage.percent - (100 * usage.count) / usage.max) < 0.06, `percent ${usage.percent} of ${usage.count}/${usage.max}`);
      assert.equal(connected.description, `${usage.percent.toFixed(1)} %`, 'the host row shows the same usage');
      t.diagnostic(`entries row "${entries.description}"; host: conntrack -C ${count}, nf_conntrack_max ${max}`);

      const findings = await retryUntil('Findings group', 30_000, async () => {
        const f = await findingsByCause(e);
        return f.size > 0 ? f : undefined;
      });
      t.diagnostic(`findings: ${JSON.stringify(Object.fromEntries(findings))}`);
      for (const cause of findings.keys()) assert.ok((CAUSES as readonly string[]).includes(cause), `"${cause}" is not a cause of diagnose.ts`);
      // What this host really has: INVALID packets and no drop rule (first snapshot: the total),
      // a legacy iptables table next to the nft ruleset, sysctl lines the kernel refuses, and it
      // is a network namespace whose files set global keys.
      const invalid = findings.get('invalid-packets') ?? [];
      const invalidTitle = invalid.find((title) => /INVALID packets/.test(title));
      assert.ok(invalidTitle, `invalid-packets: ${JSON.stringify(invalid)}`);
      const m = /^([\d,]+) INVALID packets since boot$/.exec(invalidTitle);
      if (m) assert.equal(Number((m[1] ?? '').replace(/,/g, '')), stats['invalid'], 'the INVALID total is the host\'s conntrack -S invalid');
      assert.deepEqual(findings.get('iptables-backend'), ['Legacy iptables tables and nftables rules are both active']);
      assert.ok((findings.get('config-drift') ?? []).some((title) => /conntrack lines? (is|are) refused by the kernel/.test(title)), `config-drift: ${JSON.stringify(findings.get('config-drift'))}`);
      assert.ok((findings.get('netns-limits') ?? []).length > 0, 'netns-limits');
    });
  });

  test('2. the remote /etc/sysctl.conf opens with squiggles and a hover with the live value', { timeout: 4 * 60_000 }, async (t) => {
    await flow(t, '02-remote-sysctl', async (e) => {
      await runPaletteCommand(e.page, palette('conntrack-doctor.openRemoteFile', 'Open Remote sysctl File…'));
      let title = await waitForQuickPick(e.page);
      if (/Open a sysctl file on/.test(title)) {
        // More than one connected host: pick ours first.
        await pickQuickPickItem(e.page, HOST_ALIAS);
        title = await retryUntil('the file quick pick', 30_000, async () => {
          const now = await waitForQuickPick(e.page, 10_000);
          return /sysctl files on/.test(now) ? now : undefined;
        });
      }
      assert.match(title, new RegExp(`sysctl files on ${HOST_ALIAS}`));
      const files = await quickPickLabels(e.page);
      assert.ok(files.includes('/etc/sysctl.conf') && files.includes('/etc/sysctl.d/99-zzz-vendor.conf'), `files offered: ${JSON.stringify(files)}`);
      await pickQuickPickItem(e.page, '/etc/sysctl.conf');
      await waitForActiveEditorTab(e.page, 'sysctl.conf');

      const onHost = (await e.ssh('cat /etc/sysctl.conf')).split('\n');
      const shown = await retryUntil('the file content', 30_000, async () => {
        const lines = await activeEditorLines(e.page);
        return lines.length >= onHost.length ? lines : undefined;
      });
      // Rendered lines may carry inlay hints ("  live: 262144") after the text.
      onHost.forEach((line, i) => assert.ok((shown[i] ?? '').startsWith(line), `line ${i + 1}: editor "${shown[i]}", host "${line}"`));

      const squiggles = await retryUntil('squiggles on the inline-comment, typo and duplicate lines', 60_000, async () => {
        const s = await squigglesByLine(e.page);
        const on = (text: string): string[] => s.find((l) => l.text.includes(text))?.severities ?? [];
        // `262144 # raised…` is applied by the kernel (a warning); `1024 # widened…` on a two-number key is refused (an error)
        const ok = on('# raised after the outage').includes('warning') && on('# widened for the proxy').includes('error') && on(TYPO_KEY).includes('warning') && on('net.netfilter.nf_conntrack_max = 131072').includes('warning');
        return ok ? s : undefined;
      });
      const errors = squiggles.filter((l) => l.severities.includes('error')).length;
      const warnings = squiggles.filter((l) => l.severities.includes('warning')).length;
      t.diagnostic(`lines with error squiggles: ${errors}, with warning squiggles: ${warnings}`);
      assert.ok(errors >= 1);

      const max = await hostMax(e);
      const hover = await hoverEditorText(e.page, 'net.netfilter.nf_conntrack_max', 'Maximum number of entries');
      assert.match(hover, new RegExp(`Live value on ${HOST_ALIAS}: ${max}`), hover);
    });
  });

  test('3. a quick fix, saved and confirmed, changes the live value on the host', { timeout: 4 * 60_000 }, async (t) => {
    await flow(t, '03-quickfix-apply', async (e) => {
      assert.equal(await e.sysctl(ESTABLISHED), '432000', 'the established timeout before the fix (kernel default)');
      await dismissHover(e.page);
      const titles = await openQuickFixMenu(e.page, TYPO_KEY, FIX_TITLE);
      // VS Code lists preferred quick fixes first.
      assert.equal(titles[0], FIX_TITLE, `offered: ${JSON.stringify(titles)}`);
      await e.screenshot('03-quickfix-menu');
      await pickCodeAction(e.page, FIX_TITLE);
      await retryUntil('the corrected line in the editor', 30_000, async () => ((await activeEditorLines(e.page)).some((l) => l.startsWith(`${ESTABLISHED} = 3600`)) ? true : undefined));

      const question = `Apply ${ESTABLISHED} = 3600 on ${HOST_ALIAS}?`;
      await waitForNotification(e.page, question, 60_000);
      await e.screenshot('03-quickfix-notification');
      await clickNotificationButton(e.page, question, 'Save and Apply on Host…');
      const dialog = await waitForDialog(e.page, `Set nf_conntrack_tcp_timeout_established to 3600 on ${HOST_ALIAS}?`, 90_000);
      assert.ok(dialog.buttons.includes('Apply') && dialog.buttons.includes('Cancel'), `buttons: ${JSON.stringify(dialog.buttons)}`);
      // Saved before the confirmation, previewed, and nothing applied yet.
      const saved = await e.ssh('cat /etc/sysctl.conf');
      assert.match(saved, new RegExp(`^${ESTABLISHED.replace(/\./g, '\\.')} = 3600$`, 'm'));
      assert.doesNotMatch(saved, /establised/);
      assert.equal(await e.sysctl(ESTABLISHED), '432000', 'nothing applied before "Apply"');
      // The preview: a read-only Markdown document named after the fix.
      await waitForActiveEditorTab(e.page, /^Preview Set nf_conntrack_tcp_timeout_establish/, 10_000);
      await e.screenshot('03-quickfix-confirm');

      await clickDialogButton(e.page, 'Apply');
      const done = await waitForNotification(e.page, 'applied and verified', 90_000);
      t.diagnostic(done);
      assert.equal(await e.sysctl(ESTABLISHED), '3600', 'the live value on the host');
      assert.match(await e.ssh('cat /etc/sysctl.conf'), new RegExp(`^${ESTABLISHED.replace(/\./g, '\\.')} = 3600$`, 'm'));
    });
  });

  test('4. "Flush Table…": Cancel leaves the table, Delete empties it, the session survives', { timeout: 4 * 60_000 }, async (t) => {
    await flow(t, '04-flush', async (e) => {
      const before = await e.conntrackCount();
      assert.ok(before >= 1000, `the table holds ${before} entries before the flush`);
      const askFlush = async (): Promise<number> => {
        await runPaletteCommand(e.page, palette('conntrack-doctor.flushTable', 'Flush Table…'));
        const dialog = await waitForDialog(e.page, `Flush the whole conntrack table on ${HOST_ALIAS}?`, 90_000);
        const m = /All (\d+) tracked entries will be deleted/.exec(dialog.message);
        assert.ok(m, dialog.message);
        assert.ok(dialog.buttons.includes('Delete') && dialog.buttons.includes('Cancel'), `buttons: ${JSON.stringify(dialog.buttons)}`);
        return Number(m[1]);
      };

      const named = await askFlush();
      near(named, before, 'the count the dialog names');
      await e.screenshot('04-flush-confirm');
      await clickDialogButton(e.page, 'Cancel');
      // The extension logs the refusal: once it did, the host must still hold its entries.
      await runPaletteCommand(e.page, palette('conntrack-doctor.showLog', 'Show Log'));
      assert.ok(await waitForOutputChannel(e.page, 'Conntrack Doctor', 30_000), 'the Output panel shows "Conntrack Doctor"');
      await waitForOutputText(e.page, `not applied (not confirmed): Flush the conntrack table on ${HOST_ALIAS}`, 30_000);
      const afterCancel = await e.conntrackCount();
      near(afterCancel, before, 'conntrack -C after Cancel');
      assert.ok(!(await notificationMessages(e.page)).some((m) => /Flush the conntrack table: applied/.test(m)), 'no flush was applied');

      await askFlush();
      await clickDialogButton(e.page, 'Delete');
      const done = await waitForNotification(e.page, 'Flush the conntrack table: applied and verified', 90_000);
      const afterDelete = await e.conntrackCount();
      t.diagnostic(`${done}; conntrack -C: ${before} before, ${afterCancel} after Cancel, ${afterDelete} after Delete`);
      assert.ok(afterDelete < before / 10, `conntrack -C after Delete: ${afterDelete} (before: ${before})`);
      // The refresh after the flush runs over the same SSH connection, whose entry was flushed too.
      const row = await usageEntriesRow(e, (r) => parseUsage(r.description).count < before / 10, 90_000);
      t.diagnostic(`entries row after the flush: "${row.description}"`);
      const host = await waitForTreeRow(e.page, VIEW, HOST_ALIAS, 10_000);
      assert.match(host.description, /^[\d.]+ %$/, `the host row after the flush: "${host.description}"`);
    });
  });

  test('5. palette commands: Refresh, Diagnose Host, Show Log, Show Usage Chart', { timeout: 5 * 60_000 }, async (t) => {
    // One subtest per command, so that one failing does not hide how the others do.
    await t.test('Conntrack: Refresh shows the host\'s new count and INVALID rate', async (st) => {
      await flow(st, '05a-refresh', async (e) => {
        await e.host.fill({ assured: 1000 });
        await e.host.invalid(500);
        const count = await e.conntrackCount();
        await runPaletteCommand(e.page, palette('conntrack-doctor.refresh', 'Refresh'));
        const row = await usageEntriesRow(e, (r) => Math.abs(parseUsage(r.description).count - count) <= COUNT_SLACK, 90_000);
        const findings = await retryUntil('the invalid-packets finding', 30_000, async () => {
          const f = await findingsByCause(e);
          return (f.get('invalid-packets') ?? []).some((title) => /INVALID packets and no rule drops them/.test(title)) ? f : undefined;
        });
        st.diagnostic(`entries "${row.description}" (conntrack -C ${count}); invalid-packets: ${JSON.stringify(findings.get('invalid-packets'))}`);
      });
    });

    await t.test('Conntrack: Diagnose Host opens a report naming the findings', async (st) => {
      await flow(st, '05b-diagnose', async (e) => {
        await runPaletteCommand(e.page, palette('conntrack-doctor.diagnose', 'Diagnose Host'));
        await waitForActiveEditorTab(e.page, new RegExp(`^Conntrack on ${HOST_ALIAS}`), 90_000);
        const text = await activeEditorText(e.page);
        for (const cause of ['iptables-backend', 'config-drift', 'netns-limits']) assert.ok(text.includes(`[${cause}]`), `the report names [${cause}]:\n${text}`);
        const usage = /usage\s+([\d,]+) \/ ([\d,]+)/.exec(text);
        assert.ok(usage, text);
        near(Number((usage[1] ?? '').replace(/,/g, '')), await e.conntrackCount(), 'the report\'s count');
        st.diagnostic(text.split('\n').slice(0, 2).join(' | '));
      });
    });

    await t.test('Conntrack: Show Log shows the remote commands', async (st) => {
      await flow(st, '05c-show-log', async (e) => {
        await runPaletteCommand(e.page, palette('conntrack-doctor.showLog', 'Show Log'));
        assert.ok(await waitForOutputChannel(e.page, 'Conntrack Doctor', 30_000), 'the Output panel shows "Conntrack Doctor"');
        const address = e.host.info.address.replace(/\./g, '\\.');
        const text = await waitForOutputText(e.page, new RegExp(`\\[root@${address}:${e.host.info.port}\\] [#$] \\S+.* → 0 \\(\\d+ ms\\)`), 30_000);
        st.diagnostic(text.split('\n').slice(-2).join(' | '));
      });
    });

    await t.test('Conntrack: Show Usage Chart opens the chart', async (st) => {
      await flow(st, '05d-usage-chart', async (e) => {
        await runPaletteCommand(e.page, palette('conntrack-doctor.showUsageChart', 'Show Usage Chart'));
        await waitForActiveEditorTab(e.page, `Conntrack usage — ${HOST_ALIAS}`, 60_000);
        // The chart itself: both SVG charts, and the latest sample's count is the host's.
        assert.equal(await webviewText(e.page, 'h1', 60_000), `Conntrack usage — ${HOST_ALIAS}`);
        const samples = Number(await webviewAttribute(e.page, 'body', 'data-samples'));
        assert.ok(samples >= 2, `the chart has ${samples} samples (every refresh so far is one)`);
        await webviewAttribute(e.page, 'svg#count-chart', 'viewBox');
        await webviewAttribute(e.page, 'svg#rate-chart', 'viewBox');
        const latest = Number((await webviewText(e.page, 'td[data-field="count"]')).replace(/,/g, ''));
        near(latest, await e.conntrackCount(), 'the chart\'s latest count');
        st.diagnostic(`chart: ${samples} samples, latest count ${latest}`);
      });
    });
  });
});
