import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable, screenshotPath } from '../support/browser.js';
import { requirePart, repoRoot } from '../support/system.js';
import { AppShell, PAGE_IDS, SettingsPageObject } from './pages/app-shell.js';

let serve: ServeHandle | undefined;
let browser: Browser | undefined;
let home = '';

beforeAll(async () => {
  if (chromiumAvailable()) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
// Each attempt (vitest retries once) gets its own data directory and core; a core that ends
// under a test is recorded by startServe and named in `npm test`'s summary.
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
});

describe('web UI through aima serve', () => {
  it('logs in through the printed URL, visits every page, and keeps a changed setting across a reload', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    expect(existsSync(path.join(repoRoot, 'out/renderer/index.html')), 'run `npm run build` first').toBe(true);
    home = tempHome();
    serve = await startServe({ AIMA_HOME: home });
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
    // Container limits per Docker engine: saved on leaving the field; a bad value is refused by name.
    await settings.engineLimit('vllm', 'memory').fill('48g');
    await settings.engineLimit('vllm', 'cpus').click();
    await settings.waitSaved();
    await page.screenshot({ path: screenshotPath('screenshot.png') });
    await settings.engineLimit('vllm', 'cpus').fill('lots');
    await settings.engineLimit('vllm', 'gpus').click();
    await settings.engineLimitError().waitFor();
    expect(await settings.engineLimitError().innerText()).toMatch(/vLLM.*CPUs "lots" is not valid — use a positive number of cores/);
    expect(await settings.engineLimit('vllm', 'cpus').inputValue()).toBe('');

    // The scheduler's settings: a memory cap beyond the machine is refused with the core's message.
    await settings.scheduler('antiThrashSeconds').fill('45');
    await settings.scheduler('antiThrashSeconds').press('Enter');
    await settings.waitSaved();
    await settings.scheduler('servicesMemoryCapMiB').fill('999999999');
    await settings.scheduler('servicesMemoryCapMiB').press('Enter');
    await settings.status().getByText(/servicesMemoryCapMiB 999999999 is more than this machine has \(\d+ MiB of RAM\)/).waitFor();

    await page.reload();
    await expect.poll(() => settings.onQuit().inputValue()).toBe('keep-running');
    await expect.poll(() => settings.scheduler('antiThrashSeconds').inputValue()).toBe('45');
    expect(await settings.scheduler('servicesMemoryCapMiB').inputValue()).toBe('');
    expect(await settings.startAtLogin().isChecked()).toBe(true);
    await expect.poll(() => settings.engineLimit('vllm', 'memory').inputValue()).toBe('48g');
    const stored = await runAima(['settings', 'get', '--json'], { AIMA_HOME: home });
    expect(JSON.parse(stored.stdout).engineResources).toEqual({ vllm: { memory: '48g' } });
    expect(errors).toEqual([]);
  });
});
