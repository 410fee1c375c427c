/**
 * Debian's Chromium driven by playwright-core (never `npx playwright install`: it downloads a
 * browser, which this network refuses). playwright-core is loaded from the install script's
 * tools folder, so only the few calls used here are typed.
 */
import { requireTool, type InstalledPaths } from './paths';

export interface Page {
  goto(url: string, options?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' | 'commit' }): Promise<unknown>;
  exposeFunction<A extends unknown[]>(name: string, fn: (...args: A) => unknown): Promise<void>;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<Buffer>;
  waitForSelector(selector: string, options?: { timeout?: number; state?: 'attached' | 'visible' }): Promise<unknown>;
  keyboard: { press(key: string): Promise<void>; type(text: string): Promise<void> };
  locator(selector: string): Locator;
  on(event: 'console', fn: (message: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', fn: (error: Error) => void): void;
  evaluate<T>(fn: () => T | Promise<T>): Promise<T>;
  /** `expression` is JavaScript evaluated in the page until it is truthy. */
  waitForFunction(expression: string, arg?: undefined, options?: { timeout?: number; polling?: number | 'raf' }): Promise<unknown>;
  isClosed(): boolean;
}

export interface Locator {
  first(): Locator;
  click(options?: { timeout?: number }): Promise<void>;
  fill(text: string, options?: { timeout?: number }): Promise<void>;
  waitFor(options?: { timeout?: number; state?: 'attached' | 'visible' | 'hidden' }): Promise<void>;
  textContent(options?: { timeout?: number }): Promise<string | null>;
  inputValue(options?: { timeout?: number }): Promise<string>;
  locator(selector: string): Locator;
  count(): Promise<number>;
}

export interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

interface BrowserContext {
  pages(): Page[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

interface PlaywrightCore {
  chromium: {
    launchPersistentContext(userDataDir: string, options: Record<string, unknown>): Promise<BrowserContext>;
  };
}

/** Flags from the reference: the closed network refuses Chromium's background connections. */
const chromiumFlags = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/** A fresh headless Chromium profile in profileDir (the caller removes the folder). */
export async function launchBrowser(paths: InstalledPaths, profileDir: string): Promise<Browser> {
  const playwright = requireTool('playwright-core', paths) as PlaywrightCore;
  const context = await playwright.chromium.launchPersistentContext(profileDir, {
    executablePath: paths.chromium,
    headless: true,
    args: chromiumFlags,
    viewport: { width: 1280, height: 800 },
    // VS Code's web workbench needs the clipboard for some commands; harmless otherwise.
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  let first = true;
  return {
    // A persistent context opens with one blank page: use it rather than leave it around.
    newPage: async () => {
      const existing = context.pages()[0];
      if (first && existing) {
        first = false;
        return existing;
      }
      first = false;
      return context.newPage();
    },
    close: () => context.close(),
  };
}
