/**
 * Debian's Chromium (or, on Ubuntu, the one install.sh fetched) driven by playwright-core, a
 * devDependency (never `npx playwright install` here: it downloads a browser, which this
 * network refuses).
 */
import { chromium } from 'playwright-core';
import type { InstalledPaths } from './paths';

export type { Locator, Page } from 'playwright-core';
import type { Page } from 'playwright-core';

export interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Flags from the reference: the closed network refuses Chromium's background connections. */
const chromiumFlags = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/**
 * A fresh headless Chromium profile in profileDir (the caller removes the folder). The window is
 * 1280 × 800 unless `viewport` says otherwise.
 */
export async function launchBrowser(paths: InstalledPaths, profileDir: string, viewport: { width: number; height: number } = { width: 1280, height: 800 }): Promise<Browser> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: paths.chromium,
    headless: true,
    args: chromiumFlags,
    viewport,
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
