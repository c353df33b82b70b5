/**
 * Downloads in the real UI (Chromium against `aima serve` with HF_ENDPOINT at a fake Hub and
 * MODELSCOPE_ENDPOINT at a fake ModelScope): starter models on an empty library, search, the
 * quantization table, download, pause, resume, and the model showing up in the library; the
 * source selector switching to ModelScope, a download from there with progress, and "Make default".
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
import { FakeModelScope } from '../support/fake-modelscope.js';
import { AppShell } from './pages/app-shell.js';
import { DownloadsPanelObject } from './pages/downloads-panel.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const REPO = 'aima-test/stories260K-GGUF';
let serve: ServeHandle | undefined;
let browser: Browser | undefined;
let hub: FakeHub | undefined;
let ms: FakeModelScope | undefined;

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
  ms = await FakeModelScope.start({ 'aima-ms/stories-GGUF': [{ path: 'stories-Q6_K.gguf', content: Buffer.concat([model, randomBytes(3 * 1024 * 1024)]), lfs: true }] });
  serve = await startServe({ AIMA_HOME: tempHome(), HF_ENDPOINT: hub.url, MODELSCOPE_ENDPOINT: ms.url });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  await hub?.close();
  await ms?.close();
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

  it('switches the source to ModelScope, downloads from there with progress, and makes it the default', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(serve!.loginUrl);
    await new AppShell(page).open('models');
    const panel = new DownloadsPanelObject(page);
    const call = (name: string, params: unknown) =>
      page.evaluate(async ([n, p]) => {
        const r = await fetch(`/api/call/${n}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(p), credentials: 'same-origin' });
        return ((await r.json()) as { result?: unknown }).result;
      }, [name, params] as const);
    // The same checkpoint as the first test's model has the same detected name: move that one aside.
    for (const m of (await call('models.list', {})) as Array<{ name: string }>) await call('models.rename', { name: m.name, newName: `hf-${m.name}` });

    // The downloadSource setting (huggingface) preselects the hub.
    expect(await page.locator('select[name="hub-source"]').inputValue()).toBe('huggingface');
    await panel.chooseSource('modelscope');
    await page.getByRole('heading', { name: 'Download from ModelScope' }).waitFor();
    await panel.search('stories');
    await panel.openRepo('aima-ms/stories-GGUF');
    expect(await page.getByTestId('repo-files').locator('h3').innerText()).toMatch(/aima-ms\/stories-GGUF \(ModelScope, 4\.1 MiB in 1 files\)/);

    ms!.faults.throttleBps = 256 * 1024;
    await panel.download('Q6_K');
    const row = page.locator('[data-download][data-source="modelscope"]');
    await row.waitFor();
    expect(await row.locator('[data-field="source"]').innerText()).toBe('(ModelScope)');
    // Progress while it runs: bytes above zero and a speed, before it completes.
    await row.locator('[data-field="bytes"]', { hasText: /^(?!0\.0 KiB)/ }).waitFor();
    await row.locator('[data-field="speed"]').waitFor();
    ms!.faults.throttleBps = null;
    await page.locator('[data-download][data-source="modelscope"]:is([data-state="completed"], [data-state="failed"])').waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-state'), await row.innerText()).toBe('completed');
    expect(ms!.rangeStarts('stories-Q6_K.gguf').length).toBeGreaterThan(0);
    expect(hub!.log.some((l) => l.path.includes('aima-ms'))).toBe(false);

    // "Make default" stores the downloadSource setting; the button goes once it is the default.
    await page.click('button[name="make-default-source"]');
    await page.locator('button[name="make-default-source"]').waitFor({ state: 'detached' });
    expect(await call('settings.get', {})).toMatchObject({ downloadSource: 'modelscope' });
    await page.screenshot({ path: path.join(tmpdir(), 'aima-downloads-modelscope.png') }).catch(() => undefined);
  });
});
