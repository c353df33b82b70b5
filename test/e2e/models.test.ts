import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable } from '../support/browser.js';
import { requirePart, sharedModel } from '../support/system.js';
import { AppShell } from './pages/app-shell.js';
import { ModelsPageObject } from './pages/models-page.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
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

describe('Models page', () => {
  it('imports stories260K, shows its metadata, keeps it across a reload, and shows the error for a bad path', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(serve!.loginUrl);
    await new AppShell(page).open('models');
    const models = new ModelsPageObject(page);

    await models.importPath(GGUF, { name: 'stories' });
    await models.row('stories').waitFor();
    await models.row('stories').click();
    expect(await models.fact('architecture').innerText()).toBe('llama');
    expect(await models.fact('contextLength').innerText()).toBe('512');
    expect(await models.fact('layerCount').innerText()).toBe('5');
    expect(await models.fact('vocabSize').innerText()).toBe('512');

    await page.reload();
    await models.row('stories').waitFor();
    expect(await models.row('stories').innerText()).toContain('llama');

    await models.importPath('/no/such/model.gguf');
    await models.error().waitFor();
    expect(await models.error().innerText()).toContain('"/no/such/model.gguf" does not exist');
    expect(await page.locator('tbody tr').count()).toBe(1);
  });
});
