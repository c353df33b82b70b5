import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable } from '../support/browser.js';
import { requirePart, repoRoot } from '../support/system.js';
import { AppShell, PAGE_IDS, SettingsPageObject } from './pages/app-shell.js';

let serve: ServeHandle | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromiumAvailable()) return;
  serve = await startServe({ AIMA_HOME: tempHome() });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

describe('web UI through aima serve', () => {
  it('logs in through the printed URL, visits every page, and keeps a changed setting across a reload', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    expect(existsSync(path.join(repoRoot, 'out/renderer/index.html')), 'run `npm run build` first').toBe(true);
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    // Without the cookie the UI says how to log in.
    await page.goto(serve!.url + '/');
    await page.getByText('not logged in').waitFor();

    await page.goto(serve!.loginUrl);
    expect(new URL(page.url()).pathname).toBe('/');
    const shell = new AppShell(page);
    for (const id of PAGE_IDS) {
      await shell.open(id);
      expect((await shell.heading()).toLowerCase()).toBe(id);
      // Something beyond the heading rendered (a card: the page's content or what will fill it).
      await page.locator('main .card').first().waitFor();
    }

    const settings = new SettingsPageObject(page);
    await expect.poll(() => settings.onQuit().inputValue()).toBe('stop-services');
    await settings.onQuit().selectOption('keep-running');
    await settings.waitSaved();
    await settings.startAtLogin().check();
    await settings.waitSaved();
    await page.screenshot({ path: path.join(repoRoot, 'docs', 'screenshot.png') });

    await page.reload();
    await expect.poll(() => settings.onQuit().inputValue()).toBe('keep-running');
    expect(await settings.startAtLogin().isChecked()).toBe(true);
    expect(errors).toEqual([]);
  });
});
