/**
 * `npm run demo -- --check`: what a user does with the demo, done by headless Chromium through
 * the UI only. Logs in on code-server's login page, opens the Conntrack view, clicks the demo
 * host so that it connects, waits (on what the page shows, with generous deadlines) for the
 * usage row and the findings, takes screenshots (the sidebar, the findings with a finding's
 * evidence, the remote /etc/sysctl.conf with its squiggles and problems), prints the sidebar as an indented
 * tree and checks that it shows the demo's trouble.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, type Browser, type Page } from '../../harness/vscode/browser';
import type { InstalledPaths } from '../../harness/vscode/paths';
import { collapseViewSection, runPaletteCommand, waitForActivityBarItem, waitForWorkbench } from '../../harness/vscode/workbenchUi';
import {
  collapseTreeRowWhere, expandTreeRowWhere, clickTreeRowWhere, formatTreeRows, hoverTreeRowWhere, moveMouseOffTree, readWholeTree,
  treeListSelector, treeRowsUnder, waitForWholeTree, type TreeRowText,
} from '../../harness/vscode/workbenchTree';

export interface DemoCheckOptions {
  readonly paths: InstalledPaths;
  /** The workbench URL (with ?folder=). */
  readonly url: string;
  readonly password: string;
  /** The ssh alias of the demo host (its label in the Hosts tree). */
  readonly host: string;
  /** The source address that dominates the demo host's table. */
  readonly dominant: string;
  readonly screenshots: string;
  /** Holds the Chromium profile (removed by the caller). */
  readonly stateDir: string;
  readonly print: (line: string) => void;
}

export const SCREENSHOTS = { sidebar: 'demo-sidebar.png', findings: 'demo-findings.png', sysctl: 'demo-sysctl.png', failure: 'failure.png' } as const;

const VIEW = 'Hosts';
const PERCENT = /^(\d+\.\d) %$/;
const USAGE = /^[\d,]+ \/ [\d,]+ \((\d+\.\d) %\)$/;

/** One expectation on the sidebar: what must be shown, and how it is found in the rows. */
interface Expectation {
  readonly what: string;
  readonly holds: (rows: readonly TreeRowText[]) => boolean;
}

function under(rows: readonly TreeRowText[], parent: TreeRowText | undefined): TreeRowText[] {
  return parent ? treeRowsUnder(rows, parent) : [];
}

/** The cause row `cause` under Findings under the host, and the finding rows under it. */
function findingsOf(rows: readonly TreeRowText[], host: string, cause: string): TreeRowText[] {
  const hostRow = rows.find((r) => r.level === 1 && r.label === host);
  const group = under(rows, hostRow).find((r) => r.level === 2 && r.label === 'Findings');
  const causeRow = under(rows, group).find((r) => r.level === 3 && r.label === cause);
  return causeRow ? treeRowsUnder(rows, causeRow, true) : [];
}

function percentOver90(text: string | undefined, pattern: RegExp): boolean {
  const m = text === undefined ? null : pattern.exec(text);
  const value = m?.[1] === undefined ? NaN : Number(m[1]);
  return value >= 90 && value < 100;
}

export function expectations(host: string, dominant: string): Expectation[] {
  const finding = (cause: string, title: RegExp) => (rows: readonly TreeRowText[]): boolean => findingsOf(rows, host, cause).some((r) => title.test(r.label));
  const escaped = dominant.replace(/\./g, '\\.');
  return [
    { what: `host "${host}" connected, its row showing usage above 90 %`, holds: (rows) => percentOver90(rows.find((r) => r.level === 1 && r.label === host)?.description, PERCENT) },
    { what: 'Usage › entries: "N / M (9x.x %)"', holds: (rows) => percentOver90(under(rows, rows.find((r) => r.level === 2 && r.label === 'Usage')).find((r) => r.label === 'entries')?.description, USAGE) },
    { what: 'too-many-connections: "Conntrack table 9x.x % full"', holds: finding('too-many-connections', /^Conntrack table 9\d\.\d % full$/) },
    { what: `stale-entries: "≈N % from ${dominant}" (the dominant source; ≈ when the summary is a sample)`, holds: finding('stale-entries', new RegExp(`^≈?[\\d.]+ % from ${escaped}$`)) },
    { what: 'invalid-packets: "N/s INVALID, not dropped"', holds: finding('invalid-packets', /INVALID, not dropped$/) },
    { what: 'iptables-backend: "Legacy iptables + nft active"', holds: finding('iptables-backend', /^Legacy iptables \+ nft active$/) },
    { what: 'long-timeouts: "ESTABLISHED kept 5 days"', holds: finding('long-timeouts', /^ESTABLISHED kept 5 days$/) },
  ];
}

/** code-server's login page: the password, then the workbench it redirects to. */
async function logIn(page: Page, password: string, timeoutMs: number): Promise<void> {
  const field = page.locator('.login-form input[name="password"]').first();
  await field.waitFor({ state: 'visible', timeout: timeoutMs });
  await field.fill(password, { timeout: timeoutMs });
  await page.locator('.login-form input[type="submit"]').first().click({ timeout: timeoutMs });
  // Either the workbench loads, or the login page says why not.
  await page.waitForFunction(`!!document.querySelector('.monaco-workbench') || !!document.querySelector('.login-form .error')`, undefined, { timeout: timeoutMs });
  const error = await page.evaluate<string>(`document.querySelector('.login-form .error')?.textContent ?? ''`);
  if (error) throw new Error(`code-server refused the password: ${error.trim()}`);
}

/** Shows the Conntrack view container (clicking its activity bar entry unless it is shown already). */
async function openConntrackView(page: Page, timeoutMs: number): Promise<void> {
  await waitForActivityBarItem(page, 'Conntrack', timeoutMs);
  const shown = `!!document.querySelector(${JSON.stringify(treeListSelector(VIEW))}) || !!document.querySelector('.part.sidebar .pane-header[aria-label="Hosts Section"]')`;
  if (!(await page.evaluate(shown))) await page.locator('.part.activitybar .action-item a[aria-label^="Conntrack"]').first().click({ timeout: timeoutMs });
  await page.waitForFunction(shown, undefined, { timeout: timeoutMs });
}

/** Drags the sash right of the side bar so that the bar is `width` px wide (long finding titles fit). */
async function widenSidebar(page: Page, width: number): Promise<void> {
  const geometry = await page.evaluate<{ x: number; y: number; left: number; right: number } | null>(`(() => {
    const bar = document.querySelector('.part.sidebar');
    if (!bar) return null;
    const b = bar.getBoundingClientRect();
    const sash = [...document.querySelectorAll('.monaco-sash.vertical')].map((s) => s.getBoundingClientRect())
      .filter((s) => s.height > b.height / 2 && Math.abs(s.x + s.width / 2 - b.right) < 8)[0];
    return sash ? { x: sash.x + sash.width / 2, y: sash.y + sash.height / 2, left: b.left, right: b.right } : null;
  })()`);
  if (!geometry || geometry.right - geometry.left >= width) return;
  await page.mouse.move(geometry.x, geometry.y);
  await page.mouse.down();
  await page.mouse.move(geometry.left + width, geometry.y, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(`(document.querySelector('.part.sidebar')?.getBoundingClientRect().width ?? 0) >= ${width - 20}`, undefined, { timeout: 10_000 }).catch(() => undefined);
}

/** Waits until a hover (a tree row's tooltip) containing `text` is shown and fully faded in. */
async function waitForSettledHover(page: Page, text: string, timeoutMs: number): Promise<boolean> {
  return page.waitForFunction(`[...document.querySelectorAll('.workbench-hover, .monaco-hover')].some((h) => {
    if (h.getBoundingClientRect().height === 0 || !(h.textContent ?? '').includes(${JSON.stringify(text)})) return false;
    for (let e = h; e && e !== document.body; e = e.parentElement) {
      if (getComputedStyle(e).opacity !== '1') return false;
      if (e.getAnimations().some((a) => a.playState === 'running')) return false;
    }
    return true;
  })`, undefined, { timeout: timeoutMs }).then(() => true, () => false);
}

export function runDemoCheck(o: DemoCheckOptions): { done: Promise<number>; abort(): Promise<void> } {
  const { print } = o;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let aborted = false;
  const shot = async (name: string): Promise<string | undefined> => {
    if (!page || page.isClosed()) return undefined;
    const path = join(o.screenshots, name);
    try {
      await page.screenshot({ path });
      return path;
    } catch {
      return undefined;
    }
  };

  const done = (async (): Promise<number> => {
    const started = Date.now();
    const at = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    mkdirSync(o.screenshots, { recursive: true });
    for (const name of Object.values(SCREENSHOTS)) rmSync(join(o.screenshots, name), { force: true });
    let step = '';
    const setStep = (what: string): void => {
      step = what;
      print(`   [${at()}] ${what}…`);
    };
    setStep('starting Chromium');
    try {
      // Tall enough for the whole Hosts tree of the demo host (about 30 rows).
      browser = await launchBrowser(o.paths, join(o.stateDir, 'chromium-profile'), { width: 1280, height: 1280 });
      page = await browser.newPage();
      setStep('logging in on code-server\'s login page');
      await page.goto(o.url, { waitUntil: 'domcontentloaded', timeout: 120_000 });
      await logIn(page, o.password, 120_000);
      setStep('waiting for the workbench');
      await waitForWorkbench(page, 180_000);
      print(`   [${at()}] logged in; the workbench is painted`);

      setStep('opening the Conntrack view');
      await openConntrackView(page, 120_000);
      // The Fleet view (whose ranking the demo printed above) is folded so that the Hosts view
      // gets the side bar's height: the whole tree is read at once, never scrolled while the
      // extension refreshes it.
      await collapseViewSection(page, 'Fleet');
      const isHost = (r: TreeRowText): boolean => r.level === 1 && r.label === o.host;
      setStep(`waiting for "${o.host}" in the Hosts tree (from the ssh config in the user settings)`);
      await waitForWholeTree(page, VIEW, (rows) => rows.some(isHost), 120_000);
      await widenSidebar(page, 480);
      setStep(`clicking "${o.host}" in the Hosts tree`);
      await clickTreeRowWhere(page, VIEW, isHost);
      print(`   [${at()}] clicked "${o.host}" in the Hosts tree`);

      setStep(`waiting for "${o.host}" to connect`);
      let rows = await waitForWholeTree(page, VIEW, (all) => {
        const h = all.find(isHost);
        return h !== undefined && (PERCENT.test(h.description) || h.description === 'error');
      }, 180_000);
      const hostRow = rows.find(isHost);
      if (hostRow?.description === 'error') {
        // The command's error message is in a notification toast ("Conntrack: …").
        const p = page; // `page` is reassigned elsewhere: the callback below needs a const
        const toasts = await p.waitForFunction(`[...document.querySelectorAll('.notifications-toasts .notification-list-item-message')].some((m) => (m.textContent ?? '').includes('Conntrack:'))`, undefined, { timeout: 20_000 })
          .then(async () => p.evaluate<string[]>(`[...document.querySelectorAll('.notifications-toasts .notification-list-item-message')].map((m) => (m.textContent ?? '').trim())`), () => [] as string[]);
        throw new Error(`the extension could not connect to "${o.host}" (its row shows "error")${toasts.length > 0 ? `; VS Code says: ${toasts.join(' | ')}` : ''}`);
      }
      print(`   [${at()}] connected: "${o.host}" shows ${hostRow?.description ?? '?'}`);
      // The host row keeps the collapsed state it had while disconnected: open it as a user would.
      await expandTreeRowWhere(page, VIEW, isHost);

      setStep('waiting for the usage row and the findings');
      const expected = expectations(o.host, o.dominant);
      let unmet: Expectation[] = expected;
      try {
        // INVALID needs a rate, i.e. a second snapshot: the view refreshes every 10 s.
        rows = await waitForWholeTree(page, VIEW, (all) => {
          unmet = expected.filter((e) => !e.holds(all));
          return unmet.length === 0;
        }, 180_000);
      } catch (err) {
        rows = await readWholeTree(page, VIEW).catch(() => rows);
        unmet = expected.filter((e) => !e.holds(rows));
        if (unmet.length === 0) throw err;
      }
      print(`   [${at()}] the sidebar shows the usage row and the findings`);
      print('');
      print('Sidebar (Conntrack › Hosts):');
      for (const line of formatTreeRows(rows).split('\n')) print(`   ${line}`);
      print('');
      for (const e of expected) print(`${unmet.includes(e) ? 'FAIL' : 'PASS'} ${e.what}`);
      const sidebarShot = await shot(SCREENSHOTS.sidebar);

      setStep('the findings screenshot');
      // Usage folded away so the findings fill the side bar; the dominant source's finding hovered: its evidence.
      await collapseTreeRowWhere(page, VIEW, (r) => r.level === 2 && r.label === 'Usage');
      const dominantFinding = (r: TreeRowText): boolean => r.level === 4 && r.label.endsWith(`% from ${o.dominant}`);
      await expandTreeRowWhere(page, VIEW, dominantFinding).catch(() => false);
      await hoverTreeRowWhere(page, VIEW, dominantFinding);
      const tooltip = await waitForSettledHover(page, `from ${o.dominant}`, 20_000);
      const findingsShot = await shot(SCREENSHOTS.findings);
      if (!tooltip) print('note: the finding\'s tooltip (evidence) did not show for the screenshot');
      await moveMouseOffTree(page);

      setStep('opening the remote /etc/sysctl.conf');
      await runPaletteCommand(page, { id: 'conntrack-doctor.openRemoteFile', label: 'Conntrack: Open Remote sysctl File…' }, 120_000);
      await page.locator('.quick-input-widget input.input').first().fill('/etc/sysctl.conf', { timeout: 60_000 });
      await page.locator('.quick-input-widget .quick-input-list .monaco-list-row[aria-label^="/etc/sysctl.conf"]').first().click({ timeout: 60_000 });
      const editor = '.part.editor .editor-group-container.active .monaco-editor';
      await page.waitForFunction(`[...document.querySelectorAll('.part.editor .tab.active')].some((t) => (t.getAttribute('aria-label') ?? '').startsWith('sysctl.conf'))`, undefined, { timeout: 60_000 });
      setStep('waiting for squiggles in the remote /etc/sysctl.conf');
      await page.waitForFunction(`document.querySelectorAll(${JSON.stringify(`${editor} .view-overlays .squiggly-error, ${editor} .view-overlays .squiggly-warning`)}).length >= 3`, undefined, { timeout: 120_000 });
      const squiggles = await page.evaluate<{ errors: number; warnings: number }>(`(() => {
        const ed = document.querySelector(${JSON.stringify(editor)});
        return { errors: ed.querySelectorAll('.view-overlays .squiggly-error').length, warnings: ed.querySelectorAll('.view-overlays .squiggly-warning').length };
      })()`);
      print(`PASS remote /etc/sysctl.conf opened (conntrack://${o.host}/etc/sysctl.conf): ${squiggles.errors} error and ${squiggles.warnings} warning squiggles`);
      // The Problems panel under the editor: every diagnostic of the file with its message and rule.
      await page.keyboard.press('Control+Shift+M');
      const problems = await page.waitForFunction(`document.querySelectorAll('.part.panel .markers-panel .monaco-list-row').length >= 3`, undefined, { timeout: 30_000 }).then(() => true, () => false);
      if (!problems) print('note: the Problems panel did not open for the screenshot');
      const sysctlShot = await shot(SCREENSHOTS.sysctl);

      for (const s of [sidebarShot, findingsShot, sysctlShot]) if (s) print(`screenshot ${s}`);
      const ok = unmet.length === 0;
      print(`demo check: ${ok ? 'the extension connected to the demo host and shows the expected findings' : `${unmet.length} expectation(s) not met`} (${at()})`);
      if (!ok) await shot(SCREENSHOTS.failure);
      return ok ? 0 : 1;
    } catch (err) {
      if (aborted) return 130;
      print(`FAIL ${step}: ${err instanceof Error ? err.message : String(err)}`);
      const failure = await shot(SCREENSHOTS.failure);
      const rows = page && !page.isClosed() ? await readWholeTree(page, VIEW, 10_000).catch(() => undefined) : undefined;
      if (rows) {
        print('Sidebar (Conntrack › Hosts) at the failure:');
        for (const line of formatTreeRows(rows).split('\n')) print(`   ${line}`);
      }
      if (failure) print(`screenshot ${failure}`);
      return 1;
    } finally {
      await browser?.close().catch(() => undefined);
    }
  })();

  return {
    done,
    abort: async () => {
      aborted = true;
      await browser?.close().catch(() => undefined);
      await done.catch(() => undefined);
    },
  };
}
