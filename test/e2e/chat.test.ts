import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable } from '../support/browser.js';
import { requirePart, sharedModel } from '../support/system.js';
import { AppShell } from './pages/app-shell.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
let serve: ServeHandle | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromiumAvailable() || !existsSync(GGUF)) return;
  const home = tempHome();
  serve = await startServe({ AIMA_HOME: home });
  await runAima(['model', 'import', GGUF, '--name', 'stories'], { AIMA_HOME: home });
  await runAima(['service', 'create', 'story', '--model', 'stories', '--engine', 'aima-llm'], { AIMA_HOME: home });
  await runAima(['service', 'start', 'story', '--wait'], { AIMA_HOME: home });
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

describe('Chat page', () => {
  it('streams a reply from the embedded LLM through the gateway, with timings, and lists the request', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(serve!.loginUrl);
    // A full load straight onto the Chat page.
    await page.goto(`${serve!.url}/?#/chat`);
    await new AppShell(page).open('chat');
    await expect.poll(() => page.locator('select[name="model"]').inputValue()).toBe('stories');
    await page.fill('textarea[name="system"]', '');
    await page.fill('input[name="message"]', 'Once upon a time');
    await page.click('form button[type="submit"]');
    const timings = page.getByTestId('timings');
    await timings.waitFor({ timeout: 30_000 }).catch(async (err: unknown) => {
      await page.screenshot({ path: 'test-results/chat-failure.png' });
      throw new Error(`${(err as Error).message}\npage errors: ${errors.join(' | ')}`);
    });
    expect(await timings.innerText()).toMatch(/first token \d+ ms · \d+ tokens/);
    const reply = await page.locator('.msg.assistant .bubble').innerText();
    expect(reply.trim().length).toBeGreaterThan(0);
    const row = page.getByTestId('requests-table').locator('tbody tr', { hasText: '/v1/chat/completions' });
    await row.first().waitFor();
    expect(await row.first().innerText()).toContain('stories');
    expect(errors).toEqual([]);
  });
});
