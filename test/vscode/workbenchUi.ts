/**
 * Driving the VS Code web workbench like a user: the command palette, views, editors.
 * Every step waits for what it needs with a deadline; nothing sleeps a fixed time.
 */
import type { Page } from './browser';

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
      await input.waitFor({ state: 'hidden', timeout: 5000 });
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
