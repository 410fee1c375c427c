/**
 * Driving the VS Code web workbench like a user: the command palette, views, editors.
 * Every step waits for what it needs with a deadline; nothing sleeps a fixed time.
 */
import type { Locator, Page } from './browser';
import { clickTreeRowWhere, expandTreeRowWhere, readRenderedRows, treeRowsUnder, type TreeRowText } from './workbenchTree';
import { firstLine, retryUntil } from '../poll';

/** Playwright selector text for an exact, quoted string. */
function quoted(text: string): string {
  return JSON.stringify(text);
}

export async function waitForWorkbench(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForSelector('.monaco-workbench .part.activitybar', { timeout: timeoutMs });
}

/**
 * Runs a command from the command palette: types its label ("Category: Title") and picks the
 * entry of exactly that command id. Retries until the command is listed: contributions of
 * installed extensions register some seconds after the first paint, and a key press can
 * land while focus is moving.
 */
export async function runPaletteCommand(page: Page, command: { id: string; label: string }, timeoutMs = 60_000): Promise<void> {
  const { id, label } = command;
  const deadline = Date.now() + timeoutMs;
  const input = page.locator('.quick-input-widget input.input');
  const row = page.locator(`.quick-input-list .quick-input-list-entry[data-quick-input-id=${quoted(id)}]`).first();
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(`>${label}`, { timeout: 5000 });
      await row.waitFor({ state: 'visible', timeout: 5000 });
      await row.click({ timeout: 5000 });
      // Done when the palette closed, or the command reused the quick input for its own
      // quick pick (then the input no longer holds the ">" command filter).
      await page.waitForFunction(`(() => {
        const i = document.querySelector('.quick-input-widget input.input');
        return !i || i.offsetParent === null || !i.value.startsWith('>');
      })()`, undefined, { timeout: 5000 });
      return;
    } catch (err) {
      lastError = err;
    }
  }
  await page.keyboard.press('Escape');
  throw new Error(`command palette: "${label}" (${id}) not found within ${timeoutMs} ms (${lastError instanceof Error ? lastError.message.split('\n')[0] : String(lastError)})`);
}

/** The activity bar entry of a view container, by its title. */
export async function waitForActivityBarItem(page: Page, title: string, timeoutMs: number): Promise<void> {
  await page.locator(`.part.activitybar .action-item a[aria-label^=${quoted(title)}]`).first().waitFor({ state: 'visible', timeout: timeoutMs });
}

/** Waits until the Output panel shows the channel `name`; false if it does not in time. */
export async function waitForOutputChannel(page: Page, name: string, timeoutMs: number): Promise<boolean> {
  try {
    await page.waitForFunction(`document.querySelector('.part.panel select.monaco-select-box')?.value === ${quoted(name)}`, undefined, { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/**
 * "Developer: Show Running Extensions": the activation line ("Activation: 812ms",
 * "Startup Activation: …") of the extension named `name` (package.json "name"), or
 * undefined if the extension host does not list it.
 */
export async function runningExtensionActivation(page: Page, name: string, timeoutMs: number): Promise<string | undefined> {
  await runPaletteCommand(page, { id: 'workbench.action.showRuntimeExtensions', label: 'Developer: Show Running Extensions' }, timeoutMs);
  const row = page.locator(`.runtime-extensions-editor .monaco-list-row[aria-label=${quoted(name)}]`).first();
  try {
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    return undefined;
  }
  const time = row.locator('.activation-time');
  return (await time.count()) > 0 ? ((await time.first().textContent({ timeout: 5000 })) ?? '').trim() : '';
}

// ---------------------------------------------------------------------------------------------
// Views, trees, quick picks, notifications, dialogs and editors (used by test/e2e).
// The workbench DOM of VS Code 1.139 (code-server 4.139.1). Selectors are in one place each.
// ---------------------------------------------------------------------------------------------

/** A regular expression matching exactly `text`. */
function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}


/**
 * Shows the view container `title` (its activity bar entry, e.g. "Conntrack") in the side bar.
 * Clicking an entry that is already shown would hide the side bar, so it is clicked only when
 * the side bar's title does not name the container.
 */
export async function openViewContainer(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const item = page.locator(`.part.activitybar .action-item a[aria-label^=${quoted(title)}]`).first();
  const sidebarTitle = page.locator('.part.sidebar .composite.title .title-label h2').first();
  await retryUntil(`view container "${title}"`, timeoutMs, async () => {
    await item.waitFor({ state: 'visible', timeout: 5000 });
    const shown = (await sidebarTitle.isVisible()) ? await sidebarTitle.innerText({ timeout: 2000 }) : '';
    if (shown.toLowerCase().startsWith(title.toLowerCase())) return true;
    await item.click({ timeout: 5000 });
    await page.waitForFunction(`(document.querySelector('.part.sidebar .composite.title .title-label h2')?.textContent ?? '').toLowerCase().startsWith(${quoted(title.toLowerCase())})`, undefined, { timeout: 5000 });
    return true;
  });
}

/**
 * Collapses the view section titled `title` (e.g. "Fleet") in the open view container, as a user
 * clicks its header, so the other sections get its height. No-op when it is already collapsed.
 */
export async function collapseViewSection(page: Page, title: string, timeoutMs = 30_000): Promise<void> {
  const header = page.locator(`.part.sidebar .pane-header[aria-label=${quoted(`${title} Section`)}]`).first();
  await retryUntil(`collapse view "${title}"`, timeoutMs, async () => {
    await header.waitFor({ state: 'visible', timeout: 5000 });
    if ((await header.getAttribute('aria-expanded', { timeout: 2000 })) === 'false') return true;
    await header.click({ timeout: 5000 });
    return (await header.getAttribute('aria-expanded', { timeout: 2000 })) === 'false' ? true : undefined;
  });
}

// Tree views: harness/vscode/workbenchTree.ts does the reading, scrolling and clicking; these are
// the label-based shorthands the end-to-end flows use.

/** One row of a tree view, as shown. */
export type TreeRow = TreeRowText;

/** The rows tree view `view` renders now (the viewport), in tree order. */
export async function readTreeRows(page: Page, view: string): Promise<TreeRow[]> {
  return readRenderedRows(page, view);
}

/** The rows under the first row labelled `parent` (deeper levels, until the tree climbs back). */
export function treeChildren(rows: readonly TreeRow[], parent: string, directOnly = true): TreeRow[] {
  const p = rows.find((r) => r.label === parent);
  return p ? treeRowsUnder(rows, p, directOnly) : [];
}

/**
 * Waits for the row labelled `label` in tree view `view` (optionally until `accept` likes it,
 * e.g. its description shows a percentage) and returns it.
 */
export async function waitForTreeRow(page: Page, view: string, label: string, timeoutMs: number, accept: (row: TreeRow) => boolean = () => true): Promise<TreeRow> {
  let last: TreeRow | undefined;
  try {
    return await retryUntil(`tree "${view}": row "${label}"`, timeoutMs, async () => {
      last = (await readTreeRows(page, view)).find((r) => r.label === label);
      return last && accept(last) ? last : undefined;
    });
  } catch (err) {
    throw new Error(`${firstLine(err)}${last ? `; last seen: "${last.label}" — "${last.description}"` : ''}`, { cause: err });
  }
}

/** Clicks the row labelled `label` (runs its command, selects it). */
export async function clickTreeRow(page: Page, view: string, label: string, timeoutMs = 30_000): Promise<void> {
  await clickTreeRowWhere(page, view, (r) => r.label === label, timeoutMs);
}

/** Expands the row labelled `label` if it is collapsed, and waits until it is expanded. */
export async function expandTreeRow(page: Page, view: string, label: string, timeoutMs = 30_000): Promise<void> {
  await retryUntil(`tree "${view}": expand "${label}"`, timeoutMs, async () => ((await expandTreeRowWhere(page, view, (r) => r.label === label, timeoutMs)) ? true : undefined));
}

/**
 * Picks the quick pick entry whose label is exactly `label` (waiting for the quick pick and the
 * entry to appear). Codicons ($(x)) in labels are not part of the text compared.
 */
export async function pickQuickPickItem(page: Page, label: string, timeoutMs = 30_000): Promise<void> {
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name').filter({ hasText: exactly(label) }) }).first();
  try {
    await row.click({ timeout: timeoutMs });
  } catch (err) {
    throw new Error(`quick pick: no entry "${label}" (shown: ${JSON.stringify(await quickPickLabels(page))}): ${firstLine(err)}`, { cause: err });
  }
}

/** Labels of the entries the quick pick shows now ([] when none is open). */
export async function quickPickLabels(page: Page): Promise<string[]> {
  return (await page.locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name').allInnerTexts()).map((t) => t.trim());
}

/** Waits until a quick pick is open; returns its title (or placeholder when untitled). */
export async function waitForQuickPick(page: Page, timeoutMs = 30_000): Promise<string> {
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ state: 'visible', timeout: timeoutMs });
  const title = page.locator('.quick-input-widget .quick-input-title');
  return (await title.isVisible()) ? (await title.innerText({ timeout: 2000 })).trim() : '';
}

function toastLocator(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
}

/** Waits for a notification toast containing `text`; returns its whole message. */
export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = 60_000): Promise<string> {
  const toast = toastLocator(page, text);
  try {
    await toast.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch (err) {
    throw new Error(`no notification containing ${String(text)} (shown: ${JSON.stringify(await notificationMessages(page))}): ${firstLine(err)}`, { cause: err });
  }
  return (await toast.locator('.notification-list-item-message').innerText({ timeout: 5000 })).trim();
}

/** The messages of the notification toasts shown now. */
export async function notificationMessages(page: Page): Promise<string[]> {
  return (await page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allInnerTexts()).map((t) => t.trim());
}

/** Clicks the button `button` of the notification containing `text` (waits for both). */
export async function clickNotificationButton(page: Page, text: string | RegExp, button: string, timeoutMs = 60_000): Promise<void> {
  await waitForNotification(page, text, timeoutMs);
  const toast = toastLocator(page, text);
  await toast.locator('.notification-list-item-buttons-container .monaco-button').filter({ hasText: exactly(button) }).first().click({ timeout: 10_000 });
}

/** The lines the Output panel shows now (the newest, as it scrolls to the end). */
export async function outputPanelLines(page: Page): Promise<string[]> {
  return await page.evaluate<string[]>(`[...document.querySelectorAll('.part.panel .monaco-editor .view-lines .view-line')]
    .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
    .map((l) => (l.textContent ?? '').replace(/\\u00a0/g, ' '))`);
}

/** Waits until the Output panel's visible text matches `text` (wrapped lines joined); returns that text. */
export async function waitForOutputText(page: Page, text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  let last = '';
  try {
    return await retryUntil(`output panel text ${String(text)}`, timeoutMs, async () => {
      last = (await outputPanelLines(page)).join('\n');
      const flat = last.replace(/\n/g, '');
      return (typeof text === 'string' ? flat.includes(text) || last.includes(text) : text.test(flat) || text.test(last)) ? last : undefined;
    });
  } catch (err) {
    throw new Error(`${firstLine(err)}; shown: ${JSON.stringify(last.slice(-600))}`, { cause: err });
  }
}

/** A modal dialog as shown (`.monaco-dialog-box`). */
export interface DialogInfo {
  readonly message: string;
  readonly detail: string;
  readonly buttons: string[];
}

/** Waits for a modal dialog whose message contains `text`. */
export async function waitForDialog(page: Page, text: string | RegExp, timeoutMs = 60_000): Promise<DialogInfo> {
  const box = page.locator('.monaco-dialog-box').filter({ hasText: text }).first();
  try {
    await box.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch (err) {
    const shown = await page.locator('.monaco-dialog-box .dialog-message-text').allInnerTexts();
    throw new Error(`no dialog containing ${String(text)} (shown: ${JSON.stringify(shown)}; notifications: ${JSON.stringify(await notificationMessages(page))}): ${firstLine(err)}`, { cause: err });
  }
  const detail = box.locator('.dialog-message-detail');
  return {
    message: (await box.locator('.dialog-message-text').innerText({ timeout: 5000 })).trim(),
    detail: (await detail.count()) > 0 ? (await detail.first().innerText({ timeout: 5000 })).trim() : '',
    buttons: (await box.locator('.dialog-buttons .monaco-button').allInnerTexts()).map((t) => t.trim()),
  };
}

/** Clicks `button` of the open modal dialog and waits until the dialog is gone. */
export async function clickDialogButton(page: Page, button: string, timeoutMs = 30_000): Promise<void> {
  const box = page.locator('.monaco-dialog-box').first();
  await box.locator('.dialog-buttons .monaco-button').filter({ hasText: exactly(button) }).first().click({ timeout: timeoutMs });
  await box.waitFor({ state: 'hidden', timeout: timeoutMs });
}

/** The editor of the active editor group. */
function activeEditor(page: Page): Locator {
  return page.locator('.part.editor .editor-group-container.active .editor-container .monaco-editor').first();
}

/**
 * Waits until the active editor tab's title (its aria-label up to ", preview" / ", modified" …)
 * is `title` or matches it; returns the title.
 */
export async function waitForActiveEditorTab(page: Page, title: string | RegExp, timeoutMs = 60_000): Promise<string> {
  const tab = page.locator('.part.editor .editor-group-container.active .tab.active').first();
  let last = '';
  try {
    return await retryUntil(`active editor tab ${String(title)}`, timeoutMs, async () => {
      last = ((await tab.getAttribute('aria-label', { timeout: 2000 })) ?? '').split(', ')[0] ?? '';
      return (typeof title === 'string' ? last === title : title.test(last)) ? last : undefined;
    });
  } catch (err) {
    throw new Error(`${firstLine(err)}; active tab: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Page-side: the rendered lines of the active editor, top to bottom. */
const editorLinesJs = `[...(document.querySelector('.part.editor .editor-group-container.active .editor-container .monaco-editor')?.querySelectorAll('.view-lines .view-line') ?? [])]
  .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))`;

/** The text of the lines the active editor renders (top to bottom; spaces normalised). */
export async function activeEditorLines(page: Page): Promise<string[]> {
  return await page.evaluate<string[]>(`${editorLinesJs}.map((l) => (l.textContent ?? '').replace(/\\u00a0/g, ' '))`);
}

/**
 * The whole text of the active editor (the DOM holds only the lines scrolled into view): select
 * all, copy, read the clipboard; the cursor goes back to the start of the document.
 */
export async function activeEditorText(page: Page): Promise<string> {
  await activeEditor(page).locator('.view-lines').click({ timeout: 10_000, position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+C');
  const text = await page.evaluate<string>('navigator.clipboard.readText()');
  await page.keyboard.press('Control+Home');
  return text;
}

export interface SquiggleCount {
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
}

/** Error/warning/info squiggles drawn in the active editor now. */
export async function countSquiggles(page: Page): Promise<SquiggleCount> {
  const editor = activeEditor(page);
  return {
    errors: await editor.locator('.view-overlays .squiggly-error').count(),
    warnings: await editor.locator('.view-overlays .squiggly-warning').count(),
    infos: await editor.locator('.view-overlays .squiggly-info').count(),
  };
}

/** The squiggles of one rendered line of the active editor. */
export interface LineSquiggles {
  /** 1-based, as the gutter shows it. */
  readonly line: number;
  readonly text: string;
  readonly severities: ('error' | 'warning' | 'info')[];
}

/** Per rendered line of the active editor: its number, text and the squiggles drawn on it. */
export async function squigglesByLine(page: Page): Promise<LineSquiggles[]> {
  return await page.evaluate<LineSquiggles[]>(`(() => {
    const editor = document.querySelector('.part.editor .editor-group-container.active .editor-container .monaco-editor');
    if (!editor) return [];
    const byTop = (sel) => new Map([...editor.querySelectorAll(sel)].map((el) => [el.style.top, el]));
    const numbers = byTop('.margin-view-overlays > div');
    const overlays = byTop('.view-overlays > div');
    return [...editor.querySelectorAll('.view-lines .view-line')].map((l) => {
      const overlay = overlays.get(l.style.top);
      const severities = [];
      for (const s of ['error', 'warning', 'info']) if (overlay?.querySelector('.squiggly-' + s)) severities.push(s);
      return { line: Number((numbers.get(l.style.top)?.textContent ?? '').trim()), text: (l.textContent ?? '').replace(/\\u00a0/g, ' '), severities };
    }).sort((a, b) => a.line - b.line);
  })()`);
}

/** Waits until the active editor shows at least the given squiggles; returns what it shows. */
export async function waitForSquiggles(page: Page, atLeast: Partial<SquiggleCount>, timeoutMs = 60_000): Promise<SquiggleCount> {
  let last: SquiggleCount | undefined;
  try {
    return await retryUntil('squiggles', timeoutMs, async () => {
      last = await countSquiggles(page);
      const l = last;
      return l.errors >= (atLeast.errors ?? 0) && l.warnings >= (atLeast.warnings ?? 0) && l.infos >= (atLeast.infos ?? 0) ? l : undefined;
    });
  } catch (err) {
    throw new Error(`${firstLine(err)}: wanted at least ${JSON.stringify(atLeast)}, shown ${JSON.stringify(last)}`, { cause: err });
  }
}

/**
 * Where `text` is drawn in the active editor (the first rendered line containing it): the
 * centre of its first `chars` characters, in page pixels.
 */
async function textPosition(page: Page, text: string, chars = text.length): Promise<{ x: number; y: number } | undefined> {
  const found = await page.evaluate(`((text, chars) => {
    for (const line of ${editorLinesJs}) {
      const full = (line.textContent ?? '').replace(/\\u00a0/g, ' ');
      const at = full.indexOf(text);
      if (at < 0) continue;
      // Walk the text nodes to the characters [at, at + chars) and measure them.
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      const range = document.createRange();
      let offset = 0;
      let started = false;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const len = node.textContent?.length ?? 0;
        if (!started && at < offset + len) {
          range.setStart(node, at - offset);
          started = true;
        }
        if (started && at + chars <= offset + len) {
          range.setEnd(node, at + chars - offset);
          const r = range.getBoundingClientRect();
          return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
        }
        offset += len;
      }
    }
    return null;
  })(${JSON.stringify(text)}, ${chars})`);
  return (found as { x: number; y: number } | null) ?? undefined;
}

/** Clicks into the active editor on `text` (puts the cursor there). */
export async function clickEditorText(page: Page, text: string, timeoutMs = 30_000): Promise<void> {
  const pos = await retryUntil(`editor text "${text}"`, timeoutMs, () => textPosition(page, text, Math.min(3, text.length)));
  await page.mouse.click(pos.x, pos.y);
}

/**
 * Hovers the mouse over `text` in the active editor and returns the hover's text once it
 * contains `expect`. The mouse leaves and comes back between attempts (a hover shows on a
 * move).
 */
export async function hoverEditorText(page: Page, text: string, expect: string | RegExp, timeoutMs = 60_000): Promise<string> {
  const hover = page.locator('.monaco-editor .monaco-hover:not(.hidden) .monaco-hover-content').first();
  let last = '';
  try {
    return await retryUntil(`hover over "${text}"`, timeoutMs, async () => {
      const pos = await textPosition(page, text);
      if (!pos) return undefined;
      await page.mouse.move(pos.x - 40, pos.y + 200);
      await page.mouse.move(pos.x, pos.y, { steps: 4 });
      await hover.waitFor({ state: 'visible', timeout: 5000 });
      // The hover fills in as its providers answer: wait for the expected part.
      return await retryUntil('hover content', 10_000, async () => {
        last = (await hover.innerText({ timeout: 2000 })).trim();
        return (typeof expect === 'string' ? last.includes(expect) : expect.test(last)) ? last : undefined;
      });
    });
  } catch (err) {
    throw new Error(`${firstLine(err)}; last hover text: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Moves the mouse away from any hover, and presses Escape. */
export async function dismissHover(page: Page): Promise<void> {
  await page.mouse.move(5, 5);
  await page.keyboard.press('Escape');
}

const codeActionRows = '.action-widget .monaco-list .monaco-list-row';

/**
 * Puts the cursor on `text` in the active editor, opens the quick-fix menu (Ctrl+.) and returns
 * the titles it offers once one matches `expect`.
 */
export async function openQuickFixMenu(page: Page, text: string, expect: string | RegExp, timeoutMs = 60_000): Promise<string[]> {
  let titles: string[] = [];
  try {
    return await retryUntil(`quick fix menu on "${text}"`, timeoutMs, async () => {
      await page.keyboard.press('Escape');
      await clickEditorText(page, text, 10_000);
      await page.keyboard.press('Control+Period');
      await page.locator(codeActionRows).first().waitFor({ state: 'visible', timeout: 10_000 });
      titles = (await page.locator(`${codeActionRows} .title`).allInnerTexts()).map((t) => t.trim());
      return titles.some((t) => (typeof expect === 'string' ? t === expect : expect.test(t))) ? titles : undefined;
    });
  } catch (err) {
    throw new Error(`${firstLine(err)}; offered: ${JSON.stringify(titles)}`, { cause: err });
  }
}

/** Picks the action titled exactly `title` in the open quick-fix menu; waits until the menu closes. */
export async function pickCodeAction(page: Page, title: string, timeoutMs = 30_000): Promise<void> {
  await page.locator(codeActionRows).filter({ has: page.locator('.title').filter({ hasText: exactly(title) }) }).first().click({ timeout: timeoutMs });
  await page.locator('.action-widget').first().waitFor({ state: 'hidden', timeout: timeoutMs });
}

/**
 * The text of the first element matching `selector` in the webview shown now (a webview panel's
 * document lives in an iframe inside the workbench's webview iframe); waits for it.
 */
export async function webviewText(page: Page, selector: string, timeoutMs = 60_000): Promise<string> {
  const el = page.frameLocator('iframe.webview.ready:visible').first().frameLocator('iframe#active-frame').locator(selector).first();
  await el.waitFor({ state: 'visible', timeout: timeoutMs });
  return (await el.innerText({ timeout: 5000 })).trim();
}

/** An attribute of the first element matching `selector` in the webview shown now (waits for it). */
export async function webviewAttribute(page: Page, selector: string, name: string, timeoutMs = 60_000): Promise<string | null> {
  const el = page.frameLocator('iframe.webview.ready:visible').first().frameLocator('iframe#active-frame').locator(selector).first();
  await el.waitFor({ state: 'attached', timeout: timeoutMs });
  return el.getAttribute(name, { timeout: 5000 });
}

/** Every open editor tab: its group (left to right as the DOM lists them), title, whether it is that group's active tab. */
export interface EditorTab {
  readonly group: number;
  readonly title: string;
  readonly active: boolean;
  readonly groupActive: boolean;
}

export async function editorTabs(page: Page): Promise<EditorTab[]> {
  return await page.evaluate<EditorTab[]>(`(() => [...document.querySelectorAll('.part.editor .editor-group-container')].flatMap((g, group) =>
    [...g.querySelectorAll('.tab')].map((t) => ({
      group,
      title: (t.getAttribute('aria-label') ?? '').split(', ')[0] ?? '',
      active: t.classList.contains('active'),
      groupActive: g.classList.contains('active'),
    }))))()`);
}

/** An input box (window.showInputBox) as shown: its title, the message under it (prompt or validation), its value. */
export interface InputBoxInfo {
  readonly title: string;
  readonly message: string;
  readonly value: string;
}

const inputWidget = (page: Page): Locator => page.locator('.quick-input-widget');

/** The input box shown now, or undefined when none is. */
export async function inputBoxInfo(page: Page): Promise<InputBoxInfo | undefined> {
  return await page.evaluate<InputBoxInfo | undefined>(`(() => {
    const w = document.querySelector('.quick-input-widget');
    if (!w || w.offsetParent === null || w.style.display === 'none') return undefined;
    const text = (sel) => (w.querySelector(sel)?.textContent ?? '').trim();
    return { title: text('.quick-input-title'), message: text('.quick-input-message'), value: w.querySelector('input.input')?.value ?? '' };
  })()`);
}

/** Waits for an input box whose title contains `title`. */
export async function waitForInputBox(page: Page, title: string | RegExp, timeoutMs = 60_000): Promise<InputBoxInfo> {
  let last: InputBoxInfo | undefined;
  try {
    return await retryUntil(`input box ${String(title)}`, timeoutMs, async () => {
      last = await inputBoxInfo(page);
      return last && (typeof title === 'string' ? last.title.includes(title) : title.test(last.title)) ? last : undefined;
    });
  } catch (err) {
    throw new Error(`${firstLine(err)}; shown: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Types `text` into the open input box (replacing what is there), as keystrokes. */
export async function typeInInputBox(page: Page, text: string): Promise<void> {
  const input = inputWidget(page).locator('input.input');
  await input.fill('', { timeout: 5000 });
  await input.pressSequentially(text, { timeout: 10_000 });
}

/** Presses `key` (e.g. "Enter", "Escape") in the open input box. */
export async function pressInInputBox(page: Page, key: string): Promise<void> {
  await inputWidget(page).locator('input.input').press(key, { timeout: 5000 });
}

/** Waits until no input box or quick pick is shown. */
export async function waitForInputBoxClosed(page: Page, timeoutMs = 30_000): Promise<void> {
  await retryUntil('the input box to close', timeoutMs, async () => ((await inputBoxInfo(page)) === undefined ? true : undefined));
}

/** The text of the status bar entries (codicons are not text). */
export async function statusBarTexts(page: Page): Promise<string[]> {
  return (await page.locator('.part.statusbar .statusbar-item').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => t !== '');
}
