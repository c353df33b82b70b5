import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeBadModelInputs } from '../support/bad-model-inputs.js';
import type { Browser } from 'playwright-core';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable } from '../support/browser.js';
import { requirePart, sharedModel } from '../support/system.js';
import { AppShell } from './pages/app-shell.js';
import { ModelsPageObject } from './pages/models-page.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const VAD = sharedModel('silero-vad/silero_vad.onnx');
let serve: ServeHandle | undefined;
let browser: Browser | undefined;
let home = '';

beforeAll(async () => {
  if (!chromiumAvailable()) return;
  home = tempHome();
  serve = await startServe({ AIMA_HOME: home });
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

  it('shows each row of the bad-input table as the core words it (problem and fix) and lists nothing new', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF) && existsSync(VAD));
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(serve!.loginUrl);
    await new AppShell(page).open('models');
    const models = new ModelsPageObject(page);
    const api = async (name: string, params: unknown) => {
      const res = await fetch(`${serve!.url}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${serve!.token}`, 'content-type': 'application/json' }, body: JSON.stringify(params) });
      return (await res.json()) as { result?: { name: string }[]; error?: { message: string; fix?: string } };
    };
    const listed = async () => (await api('models.list', {})).result!.map((m) => m.name).sort();
    // The duplicate rows need the GGUF imported under the name "dup": drop the earlier test's import.
    if ((await listed()).includes('stories')) await api('models.remove', { name: 'stories' });
    await page.reload();
    for (const row of makeBadModelInputs(path.join(home, '..'), GGUF, VAD)) {
      if (row.afterDup && !(await listed()).includes('dup')) {
        await models.importPath(GGUF, { name: 'dup' });
        await models.row('dup').waitFor();
      }
      const before = await listed();
      // Model rows only: an empty library also shows the starter set's rows, which load on their own.
      const modelRows = page.locator('tr[data-model]');
      // The table lists every model (after the reload above it may not have rendered yet).
      await expect.poll(() => modelRows.count(), { message: row.row, timeout: 10_000 }).toBe(before.length);
      const rowsBefore = before.length;
      await models.importPath(row.path, { name: row.name });
      // The core's words for this input (the problem, then what to do) ...
      const { error } = await api('models.import', { path: row.path, ...(row.name ? { name: row.name } : {}) });
      expect(error?.message, row.row).toMatch(row.problem);
      // ... are what the page shows (polled: the previous row's banner may still be up).
      const words = `${error!.message} ${error!.fix}`;
      await expect.poll(async () => ((await models.error().count()) ? (await models.error().innerText()).trim() : ''), { message: row.row, timeout: 10_000 }).toBe(words);
      expect(await modelRows.count(), row.row).toBe(rowsBefore);
      expect(await listed(), row.row).toEqual(before);
    }
  }, 120_000);
});
