/**
 * Downloads in the real UI (Chromium against `aima serve` with HF_ENDPOINT at a fake Hub): starter
 * models on an empty library, search, the quantization table, download, pause, resume, and the
 * model showing up in the library.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable } from '../support/browser.js';
import { requirePart, sharedModel } from '../support/system.js';
import { FakeHub } from '../support/fake-hub.js';
import { AppShell } from './pages/app-shell.js';
import { DownloadsPanelObject } from './pages/downloads-panel.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const REPO = 'aima-test/stories260K-GGUF';
let serve: ServeHandle | undefined;
let browser: Browser | undefined;
let hub: FakeHub | undefined;

beforeAll(async () => {
  if (!chromiumAvailable() || !existsSync(GGUF)) return;
  const model = readFileSync(GGUF);
  hub = await FakeHub.start({
    [REPO]: [
      { path: 'stories260K-Q8_0.gguf', content: Buffer.concat([model, randomBytes(5 * 1024 * 1024)]), lfs: true },
      { path: 'stories260K-Q4_K_M.gguf', content: model, lfs: true },
      { path: 'README.md', content: Buffer.from('# stories\n'), lfs: false },
    ],
  });
  serve = await startServe({ AIMA_HOME: tempHome(), HF_ENDPOINT: hub.url });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  await hub?.close();
});

describe('Downloads panel', () => {
  it('searches the Hub, downloads a quantization, pauses, resumes, and the model appears in the library', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(serve!.loginUrl);
    await new AppShell(page).open('models');
    const panel = new DownloadsPanelObject(page);

    // An empty library offers the starter set (data from resources/starter-models.json).
    await panel.starters().waitFor();
    expect(await panel.starters().locator('tr[data-starter]').count()).toBe(3);

    await panel.search('stories');
    await panel.openRepo(REPO);
    expect(await panel.quantRow('Q8_0').innerText()).toMatch(/stories260K-Q8_0\.gguf\s+6\.1 MiB/);
    expect(await panel.quantRow('Q4_K_M').innerText()).toMatch(/1\.1 MiB\s+fits/);

    hub!.faults.throttleBps = 1024 * 1024;
    await panel.download('Q8_0');
    await panel.waitState('downloading');
    // Pause once bytes are on disk (the transfer thread takes a moment to start): a pause mid-file.
    await page.locator('[data-download] [data-field="bytes"]', { hasText: /^(?!0\.0 KiB)/ }).waitFor();
    await panel.click('Pause');
    await panel.waitState('paused');
    const pausedAt = await panel.row().locator('[data-field="bytes"]').innerText();
    expect(pausedAt).not.toMatch(/^0\.0 KiB/);

    hub!.faults.throttleBps = null;
    const before = hub!.log.length;
    await panel.click('Resume');
    await panel.waitState('completed');
    // The resume asked only for the bytes not yet on disk.
    const starts = hub!.log.slice(before).filter((l) => l.method === 'GET' && l.range).map((l) => Number(/bytes=(\d+)-/.exec(l.range!)![1]));
    expect(Math.min(...starts)).toBeGreaterThan(0);

    await page.locator('[data-testid="models-table"] tbody tr').first().waitFor();
    const row = await page.locator('[data-testid="models-table"] tbody tr').first().innerText();
    expect(row).toMatch(/llm\s+gguf\s+6\.1 MiB/);
    expect(await panel.starters().count()).toBe(0);
    await page.screenshot({ path: path.join(tmpdir(), 'aima-downloads-panel.png') }).catch(() => undefined);
  });
});
