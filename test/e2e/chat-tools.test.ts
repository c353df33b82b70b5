/**
 * The Chat page with tools and structured output: request options sent as they are, a tool call
 * shown as its name with pretty-printed arguments, a JSON answer pretty-printed in monospace.
 */
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
  // 2048 tokens: the chat wrapper's documentation of a tool alone is over 512 of this model's tokens.
  await runAima(['service', 'create', 'story', '--model', 'stories', '--engine', 'aima-llm', '--ctx-size', '2048'], { AIMA_HOME: home });
  await runAima(['service', 'start', 'story', '--wait'], { AIMA_HOME: home });
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

describe('Chat page: tool calls and JSON answers', () => {
  it('shows a tool call (name, pretty arguments) and a JSON answer (pretty, monospace) asked for through the request options', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(serve!.loginUrl);
    await page.goto(`${serve!.url}/?#/chat`);
    await new AppShell(page).open('chat');
    await expect.poll(() => page.locator('select[name="model"]').inputValue()).toBe('stories');
    await page.fill('textarea[name="system"]', '');
    await page.click('details.request-options summary');

    const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { enum: ['Paris', 'Rome'] }, rain: { type: 'boolean' } }, required: ['city', 'rain'] } } };
    await page.fill('textarea[name="options"]', JSON.stringify({ tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } }, max_tokens: 80, seed: 3 }));
    await page.fill('input[name="message"]', 'Weather in Paris?');
    await page.click('form button[type="submit"]');
    const call = page.getByTestId('tool-call');
    await page.getByTestId('timings').waitFor({ timeout: 30_000 });
    expect(await call.locator('.tool-name').innerText()).toBe('get_weather');
    const args = await call.locator('pre').innerText();
    expect(args).toMatch(/^\{\n {2}"city": "(Paris|Rome)",\n {2}"rain": (true|false)\n\}$/);

    await page.click('text=New chat');
    const mood = { type: 'json_schema', json_schema: { name: 'mood', schema: { type: 'object', properties: { mood: { enum: ['happy', 'sad'] }, ok: { type: 'boolean' } }, required: ['mood', 'ok'] } } };
    await page.fill('textarea[name="options"]', JSON.stringify({ response_format: mood, max_tokens: 60, seed: 5 }));
    await page.fill('input[name="message"]', 'How are you?');
    await page.click('form button[type="submit"]');
    await page.getByTestId('timings').waitFor({ timeout: 30_000 });
    const answer = page.getByTestId('json-answer');
    expect(await answer.innerText()).toMatch(/^\{\n {2}"mood": "(happy|sad)",\n {2}"ok": (true|false)\n\}$/);
    expect(await answer.evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).fontFamily)).toMatch(/mono|Menlo|Consolas/i);
    expect(errors).toEqual([]);
  });
});
