/**
 * Tree views of the VS Code web workbench, read and driven like a user does, including the rows
 * scrolled out of view: a tree renders only the rows in its viewport, so reading the whole tree
 * scrolls it with the mouse wheel (as a user would) and puts it back at the top afterwards.
 *
 * A view is named by its title ("Hosts"): the pane whose header is labelled "<title> Section".
 * Every wait is on the page's state with a deadline; nothing sleeps a fixed time.
 */
import type { Page } from './browser';

/** One row of a tree view, as shown. */
export interface TreeRowText {
  /** Position in the tree's flattened list (data-index), 0 at the top. */
  readonly index: number;
  /** 1 for the roots. */
  readonly level: number;
  readonly label: string;
  readonly description: string;
  /** undefined: the row cannot be expanded. */
  readonly expanded: boolean | undefined;
}

/** CSS selector of the list element of the tree in view `view`. */
export function treeListSelector(view: string): string {
  return `.pane:has(> .pane-header[aria-label=${JSON.stringify(`${view} Section`)}]) .monaco-list`;
}

/** Page-side JavaScript: the list element of view `view`, or null. */
function listJs(view: string): string {
  return `document.querySelector(${JSON.stringify(treeListSelector(view))})`;
}

interface Rendered {
  readonly found: boolean;
  /** The list's box in the page (viewport coordinates). */
  readonly box: { x: number; y: number; width: number; height: number };
  readonly rows: (TreeRowText & { top: number; bottom: number; last: boolean })[];
}

/** The rows the tree renders now (sticky-scroll copies excluded), with their boxes. */
async function rendered(page: Page, view: string): Promise<Rendered> {
  return await page.evaluate<Rendered>(`(() => {
    const list = ${listJs(view)};
    if (!list) return { found: false, box: { x: 0, y: 0, width: 0, height: 0 }, rows: [] };
    const b = list.getBoundingClientRect();
    const rows = [...list.querySelectorAll('.monaco-list-rows > .monaco-list-row')].map((r) => {
      const rb = r.getBoundingClientRect();
      return {
        index: Number(r.getAttribute('data-index')),
        level: Number(r.getAttribute('aria-level') ?? '1'),
        label: (r.querySelector('.label-name')?.textContent ?? '').trim(),
        description: (r.querySelector('.label-description')?.textContent ?? '').trim(),
        expanded: r.hasAttribute('aria-expanded') ? r.getAttribute('aria-expanded') === 'true' : undefined,
        top: rb.top, bottom: rb.bottom,
        last: r.getAttribute('data-last-element') === 'true',
      };
    }).sort((a, c) => a.index - c.index);
    return { found: true, box: { x: b.x, y: b.y, width: b.width, height: b.height }, rows };
  })()`);
}

function strip(row: TreeRowText & { top?: number; bottom?: number; last?: boolean }): TreeRowText {
  return { index: row.index, level: row.level, label: row.label, description: row.description, expanded: row.expanded };
}

/** The rows the tree of `view` renders now (its viewport only), top to bottom; none when it is not shown. */
export async function readRenderedRows(page: Page, view: string): Promise<TreeRowText[]> {
  return (await rendered(page, view)).rows.map(strip);
}

async function wheel(page: Page, r: Rendered, deltaY: number): Promise<void> {
  await page.mouse.move(r.box.x + r.box.width / 2, r.box.y + Math.min(r.box.height / 2, 40));
  await page.mouse.wheel(0, deltaY);
}

/** Page-side condition: the first row is at the top of the list (the tree is scrolled to the top). */
function atTopJs(view: string): string {
  return `(() => {
    const list = ${listJs(view)};
    const first = list?.querySelector('.monaco-list-rows > .monaco-list-row[data-index="0"]');
    return !list || !first || first.getBoundingClientRect().top >= list.getBoundingClientRect().top - 0.5;
  })()`;
}

/** Scrolls the tree of `view` to its top (mouse wheel) and waits until it is there. */
export async function scrollTreeToTop(page: Page, view: string, timeoutMs = 10_000): Promise<void> {
  if (await page.evaluate(atTopJs(view))) return;
  await wheel(page, await rendered(page, view), -100_000);
  await page.waitForFunction(atTopJs(view), undefined, { timeout: timeoutMs });
}

/** Moves the mouse off the tree (to the middle of the editor area), so no row hover or tooltip stays. */
export async function moveMouseOffTree(page: Page): Promise<void> {
  const box = await page.evaluate<{ x: number; y: number }>(`(() => {
    const e = document.querySelector('.part.editor') ?? document.body;
    const b = e.getBoundingClientRect();
    return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  })()`);
  await page.mouse.move(box.x, box.y);
}

/**
 * Scrolls down from the top of the tree until `match` accepts a rendered row, and leaves that row
 * entirely inside the viewport. Returns the row, or undefined if no row of the tree matches.
 */
export async function revealTreeRow(page: Page, view: string, match: (row: TreeRowText) => boolean, timeoutMs = 30_000): Promise<TreeRowText | undefined> {
  const deadline = Date.now() + timeoutMs;
  await scrollTreeToTop(page, view, timeoutMs);
  for (;;) {
    const r = await rendered(page, view);
    if (!r.found) throw new Error(`no tree view "${view}" is shown`);
    const hit = r.rows.find((row) => match(strip(row)));
    const listBottom = r.box.y + r.box.height;
    if (hit && hit.bottom <= listBottom + 0.5 && hit.top >= r.box.y - 0.5) return strip(hit);
    const lastRow = r.rows[r.rows.length - 1];
    if (!hit && (!lastRow || lastRow.last)) return undefined;
    if (Date.now() > deadline) throw new Error(`tree "${view}": could not scroll to the row within ${timeoutMs} ms`);
    // Scroll by most of a page, or just enough to bring the hit fully into view.
    const delta = hit ? Math.ceil(hit.bottom - listBottom) + 2 : Math.max(22, Math.floor(r.box.height * 0.8));
    const before = JSON.stringify(r.rows.map((row) => [row.index, Math.round(row.top)]));
    await wheel(page, r, delta);
    await page.waitForFunction(`(() => {
      const list = ${listJs(view)};
      if (!list) return true;
      return JSON.stringify([...list.querySelectorAll('.monaco-list-rows > .monaco-list-row')]
        .map((row) => [Number(row.getAttribute('data-index')), Math.round(row.getBoundingClientRect().top)])
        .sort((a, b) => a[0] - b[0])) !== ${JSON.stringify(before)};
    })()`, undefined, { timeout: Math.max(1000, deadline - Date.now()) });
  }
}

/**
 * Every row of the tree in view `view`, top to bottom (rows scrolled out of view included: the
 * tree is scrolled through and left at its top).
 */
export async function readWholeTree(page: Page, view: string, timeoutMs = 30_000): Promise<TreeRowText[]> {
  const deadline = Date.now() + timeoutMs;
  await scrollTreeToTop(page, view, timeoutMs);
  const seen = new Map<number, TreeRowText>();
  for (;;) {
    const r = await rendered(page, view);
    if (!r.found) throw new Error(`no tree view "${view}" is shown`);
    for (const row of r.rows) seen.set(row.index, strip(row));
    const lastRow = r.rows[r.rows.length - 1];
    if (!lastRow || lastRow.last) break;
    if (Date.now() > deadline) throw new Error(`tree "${view}": not read to its end within ${timeoutMs} ms`);
    await wheel(page, r, Math.max(22, Math.floor(r.box.height * 0.8)));
    await page.waitForFunction(`(() => {
      const list = ${listJs(view)};
      return !list || [...list.querySelectorAll('.monaco-list-rows > .monaco-list-row')].some((row) => Number(row.getAttribute('data-index')) > ${lastRow.index});
    })()`, undefined, { timeout: Math.max(1000, deadline - Date.now()) });
  }
  await scrollTreeToTop(page, view, Math.max(1000, deadline - Date.now()));
  await moveMouseOffTree(page);
  const rows = [...seen.values()].sort((a, b) => a.index - b.index);
  // A refresh while we scrolled can re-render rows: only a gapless list is a whole tree.
  if (rows.some((row, i) => row.index !== i)) throw new Error(`tree "${view}" changed while it was read`);
  return rows;
}

/** The tree as indented text: one row a line, two spaces per level, the description after "—". */
export function formatTreeRows(rows: readonly TreeRowText[]): string {
  return rows.map((r) => {
    const twistie = r.expanded === undefined ? '  ' : r.expanded ? '▾ ' : '▸ ';
    return `${'  '.repeat(Math.max(0, r.level - 1))}${twistie}${r.label}${r.description ? ` — ${r.description}` : ''}`;
  }).join('\n');
}

/** The rows below `parent` (deeper levels until the tree climbs back to its level). */
export function treeRowsUnder(rows: readonly TreeRowText[], parent: TreeRowText, directOnly = false): TreeRowText[] {
  const out: TreeRowText[] = [];
  for (const r of rows.filter((x) => x.index > parent.index)) {
    if (r.level <= parent.level) break;
    if (!directOnly || r.level === parent.level + 1) out.push(r);
  }
  return out;
}

function rowSelector(view: string, index: number): string {
  return `${treeListSelector(view)} .monaco-list-rows > .monaco-list-row[data-index="${index}"]`;
}

/**
 * Clicks the first row `match` accepts (scrolled into view first), i.e. runs its command or
 * toggles it. Returns the row clicked.
 */
export async function clickTreeRowWhere(page: Page, view: string, match: (row: TreeRowText) => boolean, timeoutMs = 30_000): Promise<TreeRowText> {
  const row = await revealTreeRow(page, view, match, timeoutMs);
  if (!row) throw new Error(`tree "${view}": no such row to click`);
  await page.locator(`${rowSelector(view, row.index)} .monaco-tl-contents`).first().click({ timeout: timeoutMs });
  return row;
}

/**
 * Expands the first row `match` accepts if it is collapsed (clicks its twistie) and waits until
 * the tree shows it expanded. Returns false when no row matches.
 */
export async function expandTreeRowWhere(page: Page, view: string, match: (row: TreeRowText) => boolean, timeoutMs = 30_000): Promise<boolean> {
  const row = await revealTreeRow(page, view, match, timeoutMs);
  if (!row) return false;
  if (row.expanded === undefined) throw new Error(`tree "${view}": "${row.label}" cannot be expanded`);
  if (row.expanded) return true;
  await page.locator(`${rowSelector(view, row.index)} .monaco-tl-twistie`).first().click({ timeout: timeoutMs });
  const label = JSON.stringify(row.label);
  await page.waitForFunction(`[...document.querySelectorAll(${JSON.stringify(`${treeListSelector(view)} .monaco-list-rows > .monaco-list-row[aria-expanded="true"]`)})]
    .some((r) => (r.querySelector('.label-name')?.textContent ?? '').trim() === ${label})`, undefined, { timeout: timeoutMs });
  return true;
}

/** Collapses the first row `match` accepts if it is expanded. Returns false when no row matches. */
export async function collapseTreeRowWhere(page: Page, view: string, match: (row: TreeRowText) => boolean, timeoutMs = 30_000): Promise<boolean> {
  const row = await revealTreeRow(page, view, match, timeoutMs);
  if (!row) return false;
  if (row.expanded !== true) return true;
  await page.locator(`${rowSelector(view, row.index)} .monaco-tl-twistie`).first().click({ timeout: timeoutMs });
  const label = JSON.stringify(row.label);
  await page.waitForFunction(`![...document.querySelectorAll(${JSON.stringify(`${treeListSelector(view)} .monaco-list-rows > .monaco-list-row[aria-expanded="true"]`)})]
    .some((r) => (r.querySelector('.label-name')?.textContent ?? '').trim() === ${label})`, undefined, { timeout: timeoutMs });
  return true;
}

/** Hovers the first row `match` accepts (scrolled into view first): shows its tooltip after the hover delay. */
export async function hoverTreeRowWhere(page: Page, view: string, match: (row: TreeRowText) => boolean, timeoutMs = 30_000): Promise<TreeRowText> {
  const row = await revealTreeRow(page, view, match, timeoutMs);
  if (!row) throw new Error(`tree "${view}": no such row to hover`);
  await page.locator(`${rowSelector(view, row.index)} .label-name`).first().hover({ timeout: timeoutMs });
  return row;
}

/**
 * Reads the whole tree until `accept` returns true for it (it changes as the extension refreshes)
 * and returns those rows; between reads it waits for the tree to change rather than sleeping.
 * Throws after the deadline with the last rows read.
 */
export async function waitForWholeTree(page: Page, view: string, accept: (rows: readonly TreeRowText[]) => boolean, timeoutMs: number): Promise<TreeRowText[]> {
  const deadline = Date.now() + timeoutMs;
  let last: TreeRowText[] = [];
  let lastError: unknown;
  for (;;) {
    let snapshot = '';
    try {
      last = await readWholeTree(page, view, Math.max(5000, deadline - Date.now()));
      if (accept(last)) return last;
      snapshot = JSON.stringify(last.map((r) => [r.label, r.description, r.expanded]));
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (${lastError.message.split('\n')[0] ?? ''})` : '';
      throw new Error(`tree "${view}": not as expected within ${timeoutMs} ms${why}; it shows:\n${formatTreeRows(last)}`);
    }
    // Wait for the rendered rows to change (a refresh, a row expanded), or a short while at most.
    await page.waitForFunction(`(() => {
      const list = ${listJs(view)};
      if (!list) return false;
      const now = [...list.querySelectorAll('.monaco-list-rows > .monaco-list-row')].map((r) => [
        (r.querySelector('.label-name')?.textContent ?? '').trim(),
        (r.querySelector('.label-description')?.textContent ?? '').trim(),
        r.hasAttribute('aria-expanded') ? r.getAttribute('aria-expanded') === 'true' : null,
      ]);
      const before = ${snapshot ? snapshot : '[]'};
      return JSON.stringify(now) !== JSON.stringify(before.slice(0, now.length));
    })()`, undefined, { timeout: Math.max(500, Math.min(5000, deadline - Date.now())) }).catch(() => undefined);
  }
}

/** Whether a rendered row's label fits its row (measured, not guessed from its length). */
export interface RowLabelFit {
  readonly label: string;
  readonly level: number;
  /** The label runs past the row's label area: the workbench cuts it with an ellipsis. */
  readonly cut: boolean;
  /** The label's rendered width and the room it has (from its left edge to the label area's right edge), px. */
  readonly labelPx: number;
  readonly roomPx: number;
  /** The tree's width, px (the sidebar's, less nothing: the list spans the pane). */
  readonly listPx: number;
}

/** Measures the label of every row the tree of `view` renders now. */
export async function rowLabelFits(page: Page, view: string): Promise<RowLabelFit[]> {
  return await page.evaluate<RowLabelFit[]>(`(() => {
    const list = ${listJs(view)};
    if (!list) return [];
    const listPx = list.getBoundingClientRect().width;
    return [...list.querySelectorAll('.monaco-list-rows > .monaco-list-row')].flatMap((r) => {
      const name = r.querySelector('.label-name');
      const area = r.querySelector('.monaco-icon-label-container');
      if (!name || !area) return [];
      const n = name.getBoundingClientRect();
      const a = area.getBoundingClientRect();
      return [{ label: (name.textContent ?? '').trim(), level: Number(r.getAttribute('aria-level') ?? '1'), cut: n.right > a.right + 0.5, labelPx: n.width, roomPx: a.right - n.left, listPx }];
    });
  })()`);
}
